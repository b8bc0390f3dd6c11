"""Bringing repositories in and out: pull from Git, import and pack archives, freeze and restore.

Every way in follows the same steps: fetch into a hidden staging directory under
``$CAIRN_HOME/repos``, check it holds a valid ``cmr.yaml`` (or, for an MLCFlow repository, a
``meta.yaml`` naming its alias and uid) whose alias and uid are free and whose ``deps`` do not
conflict, rename it into place, register it, then pull its missing dependencies.
Any failure removes the staging directory and leaves ``repos.json`` unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cairn import atomic, errors, ids, report, staging
from cairn.dialect import of_repo_dir
from cairn.errors import AlreadyExists, CairnError, InvalidInput, MetaError, NotFound, Refused
from cairn.store import archive, export, git
from cairn.store import repo as repo_mod
from cairn.store.registry import Registry
from cairn.store.repo import Repo, RepoDep

URL_TEMPLATE_ENV = "CAIRN_REPO_URL_TEMPLATE"
DEFAULT_URL_TEMPLATE = "https://github.com/{owner}/{name}"
_OWNER_NAME = re.compile(r"([A-Za-z0-9_.-]+)@([A-Za-z0-9_.-]+)")


@dataclass(frozen=True)
class PullRequest:
    """What to pull: a URL (or archive) with an optional alias, branch, pinned commit, depth."""

    url: str
    alias: str | None = None
    branch: str | None = None
    checkout: str | None = None
    depth: int | None = None
    sha256: str | None = None
    """For a static export (``cairn export repo``): the listing's pinned digest."""


@dataclass(frozen=True)
class PullResult:
    repo: Repo
    action: str  # "cloned", "updated", "imported", "pinned"
    commit: str | None

    def to_json(self) -> dict[str, Any]:
        return {**describe(self.repo), "action": self.action}


def url_for(name: str) -> str:
    """``OWNER@NAME`` expanded with the URL template (``$CAIRN_REPO_URL_TEMPLATE``)."""
    match = _OWNER_NAME.fullmatch(name)
    if match is None:
        raise InvalidInput(f"{name!r} is not OWNER@NAME", hint="or give --url=URL")
    template = os.environ.get(URL_TEMPLATE_ENV) or DEFAULT_URL_TEMPLATE
    return template.format(owner=match[1], name=match[2])


def alias_for(url: str) -> str:
    """A directory alias derived from a URL: ``owner@name`` for hosted repos, else the name."""
    text = url.rstrip("/")
    for suffix in (".git", *archive.ZIP_SUFFIXES, *archive.TAR_SUFFIXES):
        text = text.removesuffix(suffix)
    if "://" in text and not text.startswith("file://"):
        parts = [p for p in text.split("://", 1)[1].split("/")[1:] if p]
    elif ":" in text and "@" in text.split(":", 1)[0]:
        parts = [p for p in text.split(":", 1)[1].split("/") if p]
    else:
        parts = [Path(text.removeprefix("file://")).name]
    alias = "@".join(parts[-2:]) if len(parts) >= 2 else (parts[0] if parts else "repo")
    return re.sub(r"[^A-Za-z0-9_.@+-]+", "-", alias).strip("-.") or "repo"


def describe(repo: Repo) -> dict[str, Any]:
    """Identity, path, dialect (``cm`` or ``mlc``), origin URL (credentials redacted) and
    checked-out commit of a repository."""
    origin = git.origin(repo.path)
    return {
        "alias": repo.alias,
        "uid": repo.uid,
        "path": str(repo.path),
        "prefix": repo.prefix,
        "dialect": repo.dialect.name,
        "url": git.redact(origin) if origin else None,
        "commit": git.head(repo.path),
    }


class Sources:
    """Pulls, imports, packs and pins the repositories of one registry."""

    def __init__(self, registry: Registry, *, progress: bool = False) -> None:
        self.registry = registry
        self.progress = progress
        self._pulling: set[str] = set()

    # -- pull ----------------------------------------------------------------------------

    def pull(self, request: PullRequest) -> list[PullResult]:
        """Clone or update one repository, then pull its missing dependencies."""
        if archive.is_archive(request.url):
            results = [
                self.import_archive(Path(request.url.removeprefix("file://")), request.alias)
            ]
        elif request.sha256 or export.is_export_url(request.url):
            results = [self.fetch_export(request)]
        else:
            existing = self._registered_clone(request)
            results = [self._update(existing, request) if existing else self._clone(request)]
        return results + self._pull_deps(results[0].repo)

    def pull_all(self) -> list[tuple[Repo, PullResult | CairnError]]:
        """Update every Git-backed registered repository; each result or error is reported."""
        outcomes: list[tuple[Repo, PullResult | CairnError]] = []
        for repo in self.registry.repos():
            if not git.is_git(repo.path):
                continue
            try:
                outcomes.append((repo, self._update(repo, PullRequest(url=""))))
            except CairnError as exc:
                outcomes.append((repo, exc))
        return outcomes

    def _registered_clone(self, request: PullRequest) -> Repo | None:
        wanted = request.alias or alias_for(request.url)
        for repo in self.registry.repos():
            if not git.is_git(repo.path):
                continue
            same_url = _plain(git.origin(repo.path)) == _plain(request.url)
            if same_url or repo.path.name == wanted or repo.alias == request.alias:
                return repo
        return None

    def _clone(self, request: PullRequest) -> PullResult:
        url = git.check_url(request.url)
        dest = self.registry.home.repos_dir / (request.alias or alias_for(_plain(url) or url))
        self._check_dest(dest)
        with _staging(self.registry.home.repos_dir) as stage:
            clone_dir = stage / "clone"
            git.clone(
                url, clone_dir, branch=request.branch, depth=request.depth, progress=self.progress
            )
            if request.checkout:
                git.checkout(clone_dir, request.checkout)
            repo = self._admit(clone_dir, dest, git.redact(url))
        return PullResult(repo, "cloned", git.head(dest))

    def _update(self, repo: Repo, request: PullRequest) -> PullResult:
        """Bring a registered clone up to date; credentials in ``request.url`` are used for
        this fetch only (the clone's stored URL has none)."""
        credentials = git.split_credentials(request.url)[1]
        if request.checkout:
            git.fetch(repo.path, credentials)
            git.checkout(repo.path, request.checkout)
            action = "pinned"
        elif request.branch:
            git.fetch(repo.path, credentials)
            git.checkout(repo.path, request.branch)
            git.pull(repo.path, credentials)
            action = "updated"
        elif git.detached(repo.path):
            git.fetch(repo.path, credentials)
            report.warn(f"{repo.alias} is pinned to a commit; fetched but not moved")
            action = "pinned"
        else:
            git.pull(repo.path, credentials)
            action = "updated"
        refreshed = repo_mod.load(repo.path)
        return PullResult(refreshed, action, git.head(repo.path))

    def _pull_deps(self, repo: Repo) -> list[PullResult]:
        results: list[PullResult] = []
        self._pulling.add(repo.uid)
        for dep in repo.deps:
            if dep.conflict or self._installed(dep) or (dep.uid or "") in self._pulling:
                continue
            if not dep.url:
                report.warn(f"{repo.alias} needs repository {dep.alias or dep.uid}: pull it")
                continue
            request = PullRequest(url=dep.url, branch=dep.branch, checkout=dep.checkout)
            try:
                results += self.pull(request)
            except CairnError as exc:
                exc.message = (
                    f"repository {repo.alias!r} ({repo.meta_file}) needs repository "
                    f"{dep.alias or dep.uid}, which cannot be pulled: {exc.message}"
                )
                raise
        return results

    def _installed(self, dep: RepoDep) -> Repo | None:
        for repo in self.registry.repos():
            if (dep.uid and repo.uid == dep.uid.lower()) or (dep.alias and repo.alias == dep.alias):
                return repo
        return None

    def _admit(self, source: Path, dest: Path, origin: str, renames: bool = False) -> Repo:
        """Check the fetched tree is a valid, free, non-conflicting repository; move it in and
        register it. ``origin`` names the fetched tree in messages (never its staging path);
        ``renames`` says whether ``--alias`` renames the copy (import, export) or only its
        folder (a clone, whose files are not edited).

        One lock covers the checks, the move and the registration, so of several processes
        bringing in one repository the first registers it and the others are told so.
        """
        if of_repo_dir(source) is None:  # a meta.yaml without alias or uid: load says so
            raise NotFound(
                f"{origin} has no cmr.yaml (CM) nor meta.yaml (MLCFlow) at its top; it is not a "
                "cairn, CM or MLCFlow repository",
                hint="bring in the repository itself, not a folder above or inside it",
            )
        with atomic.lock(self.registry.home.repos_lock, guards=self.registry.home.repos_file):
            candidate = _renamed(lambda: repo_mod.load(source), source, origin)
            self.registry.check_free(candidate, _taken_alias_hint(candidate.alias, renames))
            self._check_conflicts(candidate)
            self._check_dest(dest)
            try:
                os.rename(source, dest)
            except OSError as exc:
                raise errors.os_error(exc, "move the repository to", dest) from exc
            return self._register_new(dest)

    def _check_dest(self, dest: Path) -> None:
        """Refuse to bring a repository into ``dest`` when something is there already."""
        if not dest.exists():
            return
        for repo in self.registry.repos():
            if repo.path == dest:
                raise AlreadyExists(
                    f"repository {repo.alias!r} is already registered at {dest}",
                    hint=f"to bring it in again, remove it first (cairn rm repo {repo.alias}); "
                    "--alias=NEW brings a different repository into another folder",
                )
        raise AlreadyExists(
            f"{dest} already exists but is not a registered repository",
            hint=f"register it with: cairn add repo {dest}, or move it away",
        )

    def _check_conflicts(self, candidate: Repo) -> None:
        for dep in candidate.deps:
            installed = self._installed(dep) if dep.conflict else None
            if installed is not None:
                raise Refused(
                    f"repository {candidate.alias!r} conflicts with installed repository "
                    f"{installed.alias!r} ({installed.path})",
                    hint=f"remove it first: cairn rm repo {installed.alias}",
                )

    def _register_new(self, dest: Path) -> Repo:
        """Register a freshly admitted directory; if that fails, remove it again."""
        try:
            return self.registry.register(dest)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise

    # -- static exports over HTTP -------------------------------------------------------

    def fetch_export(self, request: PullRequest) -> PullResult:
        """Bring in the static export at ``request.url`` (``cairn export repo``), every file
        checked against the listing's sha256 before anything is registered."""
        origin = export.redacted(request.url)
        with _staging(self.registry.home.repos_dir) as stage:
            fetched = stage / "fetched"
            fetched.mkdir()
            document = export.fetch_into(request.url, fetched, request.sha256)
            export.check_links(fetched)
            alias = request.alias or str(document.get("alias") or alias_for(origin))
            if request.alias and repo_mod.is_repo(fetched):
                repo_mod.rename(fetched, request.alias)
            dest = self.registry.home.repos_dir / ids.check_alias(alias, "repository alias")
            self._check_dest(dest)
            repo = self._admit(fetched, dest, origin, renames=True)
        return PullResult(repo, "fetched", None)

    # -- archives ------------------------------------------------------------------------

    def import_archive(self, path: Path, alias: str | None = None) -> PullResult:
        """Unpack a repository archive under ``$CAIRN_HOME/repos`` and register it; ``alias``
        names both the folder and the registered repository (the copy's ``cmr.yaml``, or an MLCFlow
        repository's ``meta.yaml``)."""
        if not path.is_file():
            raise NotFound(f"archive {git.redact(str(path))} not found")
        dest = self.registry.home.repos_dir / (alias or alias_for(path.name))
        self._check_dest(dest)
        with _staging(self.registry.home.repos_dir) as stage:
            unpacked = stage / "unpacked"
            root = archive.extract(path, unpacked)
            if alias and repo_mod.is_repo(root):
                repo_mod.rename(root, alias)
            repo = self._admit(root, dest, str(path / root.relative_to(unpacked)), renames=True)
        return PullResult(repo, "imported", None)

    def pack(self, repo: Repo, target: Path) -> int:
        """Write ``repo`` to an archive (no ``.git``, no caches); return the file count."""
        return archive.pack(repo.path, target)

    # -- pinning -------------------------------------------------------------------------

    def freeze(self) -> dict[str, Any]:
        """Every Git-backed repository with its origin and commit, for ``--from`` restores;
        a registered repository that is not a Git clone is left out with a warning."""
        registered = set(self.registry.paths())
        entries = []
        for repo in self.registry.repos():
            if git.is_git(repo.path):
                entries.append(describe(repo))
            elif repo.path in registered:
                report.warn(
                    f"freeze: repository {repo.alias} ({repo.path}) is not a Git clone; "
                    "it is left out, so restoring the lock will not bring it back"
                )
        return {"format": 1, "repos": entries}

    def restore(self, lock_file: Path) -> list[PullResult]:
        """Bring every repository of a freeze file to exactly the recorded commit."""
        return self.restore_entries(_lock_entries(lock_file))

    def restore_entries(self, entries: list[dict[str, Any]]) -> list[PullResult]:
        """Bring each repository (``url``, ``commit``, optional ``alias``/``uid``) to its
        commit: updated where it is registered, cloned where it is not."""
        results: list[PullResult] = []
        for entry in entries:
            request = PullRequest(
                url=entry["url"], alias=entry.get("alias"), checkout=entry["commit"]
            )
            existing = self._by_uid(entry.get("uid")) or self._registered_clone(request)
            if existing is not None:
                results.append(self._update(existing, request))
            else:
                results.append(self._clone(request))
        return results

    def _by_uid(self, uid: str | None) -> Repo | None:
        return next((r for r in self.registry.repos() if uid and r.uid == uid), None)


def _plain(url: str | None) -> str | None:
    """``url`` without credentials, to compare a request with a clone's stored origin."""
    return git.split_credentials(url)[0] if url else None


def _lock_entries(lock_file: Path) -> list[dict[str, str]]:
    try:
        data = json.loads(lock_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NotFound(f"lock file {lock_file} not found") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise MetaError(f"{lock_file} is not a valid repository lock file: {exc}") from exc
    entries = data.get("repos") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise MetaError(f"{lock_file}: expected a 'repos' list")
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("url") or not entry.get("commit"):
            raise MetaError(f"{lock_file}: every entry needs 'url' and 'commit': {entry!r}")
    return entries


def _taken_alias_hint(alias: str, renames: bool) -> str:
    """What to do when a repository brought in has an alias already registered (the hint never
    names the staged copy's ``cmr.yaml``)."""
    other = f"remove the other: cairn rm repo {alias}"
    return f"pass --alias=NEW to bring it in under another alias, or {other}" if renames else other


def _renamed(load: Callable[[], Repo], source: Path, origin: str) -> Repo:
    """``load()``, its errors naming ``origin`` where they named the staged ``source``."""
    try:
        return load()
    except CairnError as exc:
        exc.message = exc.message.replace(str(source), origin)
        raise


@contextlib.contextmanager
def _staging(parent: Path) -> Iterator[Path]:
    """A hidden staging folder under ``parent``, always removed afterwards; abandoned ones
    of processes that died there are removed first."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging.clean(parent)
        stage = staging.make(parent)
    except OSError as exc:
        raise errors.os_error(exc, "bring a repository into", parent) from exc
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)
