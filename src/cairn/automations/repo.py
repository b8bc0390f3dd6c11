"""The ``repo`` automation: make, register, list, inspect and unregister repositories."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

from cairn import ids
from cairn.automations.contract import Call, Flag, Outcome, action
from cairn.automations.repo_sources import RepoSourceActions
from cairn.errors import AlreadyExists, InvalidInput, NotFound, Refused
from cairn.store import repo as repo_mod
from cairn.store.registry import PROTECTED, normalise
from cairn.store.repo import Repo
from cairn.store.sources import describe

FORCE = Flag("force", "bool", "do it without asking", aliases=("f",))


class RepoAutomation(RepoSourceActions):
    """Repositories of artifacts."""

    summary = "repositories of artifacts (init, add, pull, import, pack, freeze, list, info, rm)"

    @action(
        "init",
        summary="make a directory a repository (writes only cmr.yaml) and register it",
        usage="cairn init repo [PATH] [--alias=A] [--uid=UID] [--prefix=DIR]",
        example="cairn init repo ~/my-project --alias=my-project",
        flags=(
            Flag("alias", "str", "the repository alias (default: the directory name)"),
            Flag("uid", "str", "the repository uid (default: a new one)"),
            Flag("prefix", "str", "keep artifacts under this subfolder"),
            Flag("path", "str", "the directory (same as the PATH argument)"),
        ),
    )
    def init(self, call: Call) -> Outcome:
        path = Path(call.flag("path") or _arg(call) or os.getcwd()).expanduser().absolute()
        if repo_mod.is_repo(path):
            existing = repo_mod.load(path)
            _check_same(existing, call)
            registered = self.catalog.registry.register(path)
            return _repo_outcome(registered, f"Registered existing repository {registered}")
        alias = call.flag("alias") or _alias_from(path)
        planned = repo_mod.new(path, alias, call.flag("uid"), call.flag("prefix") or "")
        self.catalog.registry.check_free(planned)
        made_dir = not path.exists()
        created = repo_mod.write(planned)
        try:
            self.catalog.registry.register(path)
        except BaseException:
            _undo_init(created, made_dir)
            raise
        return _repo_outcome(created, f"Created repository {created} at {path}")

    @action(
        "add",
        aliases=("register",),
        summary="register an existing repository directory (with cmr.yaml, or MLCFlow's meta.yaml)",
        usage="cairn add repo PATH",
        example="cairn add repo ~/src/my-cm-repo",
        flags=(Flag("path", "str", "the directory (same as the PATH argument)"),),
    )
    def add(self, call: Call) -> Outcome:
        where = call.flag("path") or _arg(call)
        if not where:
            raise InvalidInput("give the path of the repository to register: cairn add repo PATH")
        registered = self.catalog.registry.register(Path(where).expanduser())
        _warn_missing_deps(registered, self.catalog.registry.repos())
        outcome = _repo_outcome(
            registered, f"Registered repository {registered} at {registered.path}"
        )
        return with_takeovers(self.catalog, outcome, [registered])

    @action(
        "find",
        aliases=("list", "ls", "search"),
        summary="list repositories in search order: alias, uid, path",
        usage="cairn list repo [ALIAS-or-PATTERN]",
        example="cairn list repo --out=json",
    )
    def find(self, call: Call) -> Outcome:
        text = _arg(call)
        part = ids.parse_part(text, patterns=True, what="repository") if text else None
        rows = [describe(r) for r in self.catalog.registry.match(part)]
        width = max((len(r["alias"]) for r in rows), default=0)
        lines = [f"{r['alias']:<{width}}  {r['uid']}  {r['path']}{_origin(r)}" for r in rows]
        return Outcome({"list": rows}, lines)

    @action(
        "info",
        aliases=("show",),
        summary="show a repository: identity, paths and artifact counts per automation",
        usage="cairn info repo ALIAS",
        example="cairn info repo local",
    )
    def info(self, call: Call) -> Outcome:
        target = self.catalog.registry.one(_required(call))
        counts = _artifact_counts(target)
        described = describe(target)
        data = {**described, "artifacts": counts}
        lines = [f"{k:<8} {'' if v is None else v}" for k, v in described.items()]
        lines += [f"  {name}: {n}" for name, n in counts.items()]
        return Outcome(data, lines)

    @action(
        "rm",
        aliases=("delete", "remove", "unregister"),
        summary="unregister a repository; with --all -f also delete its files",
        usage="cairn rm repo ALIAS-or-PATH [--all -f]",
        example="cairn rm repo my-project",
        flags=(Flag("all", "bool", "also delete the repository's files"), FORCE),
    )
    def rm(self, call: Call) -> Outcome:
        target = self._named(_required(call))
        if isinstance(target, Path):
            return self._forget(target, call)
        if target.alias in PROTECTED:
            raise Refused(
                f"the {target.alias!r} repository is always present and cannot be removed"
            )
        delete = bool(call.flag("all"))
        if delete and not call.flag("force"):
            question = f"delete {target.path} and all its files"
            if call.confirm is None or not call.confirm(question):
                raise Refused(f"--all deletes {target.path}", hint="add -f to confirm")
        self.catalog.registry.unregister(target)
        if delete:
            shutil.rmtree(target.path)
        verb = "Deleted" if delete else "Unregistered"
        return Outcome({"path": str(target.path)}, [f"{verb} repository {target} at {target.path}"])

    def _named(self, text: str) -> Repo | Path:
        """The repository named by alias, uid or path; a path that no longer loads as itself."""
        if not _looks_like_path(text):
            return self.catalog.registry.one(text)
        path = normalise(Path.cwd(), text)
        if path not in self.catalog.registry.paths():
            raise NotFound(f"{path} is not a registered repository", hint="see: cairn list repo")
        loaded = [r for r in self.catalog.registry.repos() if r.path == path]
        return loaded[0] if loaded else path

    def _forget(self, path: Path, call: Call) -> Outcome:
        if call.flag("all"):
            raise Refused(
                f"{path} is not a usable repository; cairn only unregisters it",
                hint="leave out --all and delete the directory yourself",
            )
        self.catalog.registry.unregister_path(path)
        return Outcome({"path": str(path)}, [f"Unregistered {path}"])


def _undo_init(created: Repo, made_dir: bool) -> None:
    """Take back a repository whose registration failed: its cmr.yaml and new folders."""
    (created.path / "cmr.yaml").unlink(missing_ok=True)
    if made_dir:
        for folder in (created.root, created.path):
            with contextlib.suppress(OSError):
                folder.rmdir()


def _looks_like_path(text: str) -> bool:
    return "/" in text or os.sep in text or text.startswith((".", "~"))


def _arg(call: Call) -> str | None:
    return call.artifacts[0] if call.artifacts else None


def _required(call: Call) -> str:
    text = _arg(call)
    if not text:
        raise InvalidInput("name the repository (see: cairn list repo)")
    return text


def _alias_from(path: Path) -> str:
    alias = re.sub(r"[^A-Za-z0-9_.@+-]+", "-", path.name.lower()).strip("-.")
    return alias or "repo"


def _check_same(existing: Repo, call: Call) -> None:
    for key in ("alias", "uid", "prefix"):
        given = call.flag(key)
        if given is not None and given != getattr(existing, key):
            raise AlreadyExists(
                f"{existing.meta_file} already sets {key} = {getattr(existing, key)!r}, "
                f"not {given!r}",
                hint="edit cmr.yaml, or leave the flag out",
            )


def _origin(row: dict[str, Any]) -> str:
    if not row["url"]:
        return ""
    return f"  {row['url']} @ {(row['commit'] or '?')[:12]}"


def _repo_json(repo: Repo) -> dict[str, Any]:
    return {"alias": repo.alias, "uid": repo.uid, "path": str(repo.path), "prefix": repo.prefix}


def _repo_outcome(repo: Repo, line: str) -> Outcome:
    return Outcome({**_repo_json(repo), "meta": repo.meta}, [line])


def _artifact_counts(repo: Repo) -> dict[str, int]:
    """Artifacts per kind folder: sub-folders holding a meta file (one ``stat`` each, mostly:
    ``cairn serve``'s home page counts every repository)."""
    counts: dict[str, int] = {}
    if not repo.root.is_dir():
        return counts
    names = (f"{repo.artifact_meta}.yaml", f"{repo.artifact_meta}.json")
    for folder in sorted(p for p in repo.root.iterdir() if p.is_dir() and p.name[0] != "."):
        n = sum(1 for d in _subfolders(folder) if any(os.path.isfile(f"{d}/{m}") for m in names))
        if n:
            counts[folder.name] = n
    return counts


def _subfolders(folder: Path) -> list[str]:
    with os.scandir(folder) as entries:
        return [e.path for e in entries if e.is_dir()]


def with_takeovers(catalog: Any, outcome: Outcome, repos: list[Repo]) -> Outcome:
    """Warn about the scripts of newly registered ``repos`` that take requests over from
    other repositories' scripts (:func:`cairn.script.choices.takeovers`); also in the result."""
    from cairn import report
    from cairn.script.choices import takeovers

    found = [line for repo in repos for line in takeovers(catalog, repo)]
    for line in found:
        report.warn(line)
    outcome.data["takeovers"] = found
    return outcome


def _warn_missing_deps(repo: Repo, registered: list[Repo]) -> None:
    """Name each repository ``repo``'s ``cmr.yaml`` needs that is not registered (``add repo``
    registers a folder as it is; ``pull repo`` is what brings dependencies in)."""
    from cairn import report
    from cairn.store import git

    for dep in repo.deps:
        have = any(r.uid == (dep.uid or "").lower() or r.alias == dep.alias for r in registered)
        if dep.conflict or have:
            continue
        how = f"cairn pull repo --url={git.redact(dep.url)}" if dep.url else "pull or add it"
        report.warn(
            f"repository {repo.alias} ({repo.meta_file}) needs repository "
            f"{dep.alias or dep.uid}, which is not registered: {how}"
        )
