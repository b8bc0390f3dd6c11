"""The ``repo`` actions that bring repositories in and out: pull, import, pack, freeze."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cairn import ids
from cairn.automations.base import Automation
from cairn.automations.contract import Call, Flag, Outcome, action
from cairn.errors import CairnError, InvalidInput
from cairn.store import archive
from cairn.store.sources import PullRequest, PullResult, Sources, describe, url_for


class RepoSourceActions(Automation):
    """Pull from Git or archives, import, pack and pin repositories."""

    @action(
        "pull",
        summary="clone or update a repository from Git or an archive (no name: update all)",
        usage=(
            "cairn pull repo [OWNER@NAME | --url=URL|FILE.zip|FILE.tar.gz] [--alias=A] "
            "[--branch=B] [--checkout=SHA-or-tag] [--depth=N] | --from=repos.lock | --lock=run.lock"
        ),
        example="cairn pull repo --url=https://example.org/team/recipes.git --checkout=v1.2",
        flags=(
            Flag("url", "str", "a Git URL (https, ssh, file://, a local path) or an archive"),
            Flag(
                "alias",
                "str",
                "the directory name under $CAIRN_HOME/repos (an archive: also its alias)",
            ),
            Flag("branch", "str", "the branch to clone or switch to"),
            Flag("checkout", "str", "pin a commit or tag"),
            Flag("depth", "str", "shallow clone depth"),
            Flag("from", "str", "restore every repository of a freeze file at its commit"),
            Flag("lock", "str", "bring the repositories of a run's lock file to its commits"),
            Flag("sha256", "str", "an HTTP export: the listing's digest that export repo printed"),
        ),
    )
    def pull(self, call: Call) -> Outcome:
        sources = self._sources()
        if call.flag("from"):
            return _pulled(sources.restore(Path(call.flag("from")).expanduser()))
        if call.flag("lock"):
            from cairn.runs import lock

            entries = lock.repo_entries(lock.read(Path(call.flag("lock")).expanduser()))
            return _pulled(sources.restore_entries(entries))
        request = _pull_request(call)
        if request is None:
            return _pulled_all(sources.pull_all())
        return self._new(_pulled(sources.pull(request)))

    @action(
        "import",
        summary="unpack a repository archive (.zip, .tar, .tar.gz, .tgz) and register it",
        usage="cairn import repo ARCHIVE [--alias=A]",
        example="cairn import repo recipes.zip",
        flags=(Flag("alias", "str", "the alias to register it under (and its folder's name)"),),
    )
    def import_(self, call: Call) -> Outcome:
        if not call.artifacts:
            raise InvalidInput("give the archive to import: cairn import repo FILE.zip")
        path = Path(call.artifacts[0]).expanduser()
        return self._new(_pulled([self._sources().import_archive(path, call.flag("alias"))]))

    def _new(self, outcome: Outcome) -> Outcome:
        """Say which scripts of the repositories just registered take requests over."""
        from cairn.automations.repo import with_takeovers

        fresh = [
            r["alias"] for r in outcome.data["list"] if r.get("action") in ("cloned", "imported")
        ]
        repos = [r for r in self.catalog.registry.repos() if r.alias in fresh]
        return with_takeovers(self.catalog, outcome, repos)

    @action(
        "pack",
        summary="write a repository to an archive (no .git, no caches) for `import repo`",
        usage="cairn pack repo ALIAS [--to=FILE.zip|FILE.tar.gz]",
        example="cairn pack repo my-project --to=my-project.tar.gz",
        flags=(Flag("to", "str", "the archive to write (default: ALIAS.zip here)"),),
    )
    def pack(self, call: Call) -> Outcome:
        if not call.artifacts:
            raise InvalidInput("name the repository to pack: cairn pack repo ALIAS")
        repo = self.catalog.registry.one(call.artifacts[0])
        target = Path(call.flag("to") or f"{repo.alias}.zip").expanduser().absolute()
        if not archive.is_archive(target.name):
            raise InvalidInput(f"--to={target.name}: use .zip, .tar, .tar.gz or .tgz")
        count = self._sources().pack(repo, target)
        return Outcome({"path": str(target), "files": count}, [f"Packed {count} files to {target}"])

    @action(
        "export",
        summary="write a repository as a static, content-addressed copy any web server can host",
        usage="cairn export repo ALIAS DIR",
        example="cairn export repo my-project /srv/www/my-project"
        " && cairn pull repo http://host/my-project",
    )
    def export(self, call: Call) -> Outcome:
        if len(call.artifacts) != 2:
            raise InvalidInput("name the repository and the folder: cairn export repo ALIAS DIR")
        from cairn.store import export

        repo = self.catalog.registry.one(call.artifacts[0])
        target = Path(call.artifacts[1]).expanduser().absolute()
        document, digest = export.export(repo, target)
        count = len(document["files"])
        data = {"path": str(target), "files": count, "sha256": digest, "repo": repo.alias}
        lines = [f"Exported {count} files of {repo.alias} to {target}", f"listing sha256 {digest}"]
        return Outcome(data, lines)

    @action(
        "freeze",
        summary="print every Git repository's origin and commit (JSON) for pull --from",
        usage="cairn freeze repo > repos.lock",
        example="cairn freeze repo > repos.lock && cairn pull repo --from=repos.lock",
    )
    def freeze(self, call: Call) -> Outcome:
        frozen = self._sources().freeze()
        return Outcome(frozen, json.dumps(frozen, indent=2).splitlines())

    def _sources(self) -> Sources:
        return Sources(self.catalog.registry, progress=sys.stderr.isatty())


def _pull_request(call: Call) -> PullRequest | None:
    name = call.artifacts[0] if call.artifacts else None
    url = call.flag("url")
    if name and url:
        raise InvalidInput("give either OWNER@NAME or --url, not both")
    alias = call.flag("alias")
    if name:
        is_url = "://" in name or archive.is_archive(name) or name.startswith("git@")
        url = name if is_url else url_for(name)
        alias = alias or (None if is_url else name)
    if not url:
        return None
    if alias:
        ids.check_alias(alias, "repository alias")
    return PullRequest(
        url, alias, call.flag("branch"), call.flag("checkout"), _depth(call), _sha256(call)
    )


def _sha256(call: Call) -> str | None:
    value = call.flag("sha256")
    if value is None:
        return None
    text = str(value).strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise InvalidInput(f"--sha256={str(value)[:80]!r} must be 64 hex digits")
    return text


def _depth(call: Call) -> int | None:
    value = call.flag("depth")
    if value is None:
        return None
    if not str(value).isdigit() or int(value) < 1:
        raise InvalidInput(f"--depth={value!r} must be a positive whole number")
    return int(value)


def _pulled(results: list[PullResult]) -> Outcome:
    lines = [f"{r.action:<8} {r.repo.alias} at {r.repo.path} ({_short(r.commit)})" for r in results]
    return Outcome({"list": [r.to_json() for r in results]}, lines)


def _pulled_all(outcomes: list[tuple[Any, PullResult | CairnError]]) -> Outcome:
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    for repo, result in outcomes:
        if isinstance(result, CairnError):
            rows.append({**describe(repo), "action": "failed", "error": str(result)})
            lines.append(f"failed   {repo.alias}: {result}")
        else:
            rows.append(result.to_json())
            lines.append(f"{result.action:<8} {repo.alias} ({_short(result.commit)})")
    failed = [r for r in rows if r["action"] == "failed"]
    if failed:
        raise CairnError(
            f"{len(failed)} of {len(rows)} repositories failed to update: " + "; ".join(lines)
        )
    return Outcome({"list": rows}, lines or ["no Git repositories are registered"])


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "no commit"
