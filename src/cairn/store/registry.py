"""The registry of repositories: ``$CAIRN_HOME/repos.json`` and the search order.

Search order (stable, documented for users): the ``local`` repository, the built-in
repository shipped with cairn, then registered repositories in the order they were added.
``repos.json`` holds ``{"format": 1, "repos": [absolute paths]}`` (a plain CM-style list of
paths is read too); it is written atomically under a lock.

Reading it is strict where a guess could lose registrations: an empty (0-byte) file is an error
(cairn writes the file atomically, so it never leaves one; something else truncated it), and so
is a format newer than this cairn's. Entries are normalised: a relative path is taken relative to
``$CAIRN_HOME`` (never the current directory), ``/p/`` and ``/p/../p`` are ``/p``, and an entry
listed twice is used once with a warning.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from cairn import atomic, ids, report
from cairn.errors import AlreadyExists, CairnError, MetaError, NotFound, Refused
from cairn.home import (
    BUILTIN_REPO_ALIAS,
    LOCAL_REPO_ALIAS,
    LOCAL_REPO_UID,
    Home,
    builtin_repo_path,
    may_write,
)
from cairn.store import repo as repo_mod
from cairn.store.repo import Repo

PROTECTED = (LOCAL_REPO_ALIAS, BUILTIN_REPO_ALIAS)
FORMAT = 1
"""The ``repos.json`` format this cairn writes; it reads this one and older (plain lists)."""


class Registry:
    """The repositories cairn knows, loaded once per instance, in search order."""

    def __init__(
        self,
        home: Home,
        loader: Callable[[Path], Repo] = repo_mod.load,
        on_register: Callable[[Repo], None] | None = None,
    ) -> None:
        self.home = home
        self._load = loader  # the index passes a loader that caches parsed cmr files
        self._on_register = on_register  # and indexes a repository as soon as it is added
        self._repos: list[Repo] | None = None

    def paths(self) -> list[Path]:
        """The registered repository paths, normalised and without duplicates, in file order."""
        file = self.home.repos_file
        if not file.exists():
            return []
        unique: list[Path] = []
        for entry in _read_entries(file):
            path = normalise(self.home.root, entry)
            if path in unique:
                report.warn(f"{file} lists {path} more than once; using it once")
            else:
                unique.append(path)
        return unique

    def _save(self, paths: list[Path]) -> None:
        text = json.dumps({"format": FORMAT, "repos": [str(p) for p in paths]}, indent=2) + "\n"
        atomic.write_text(self.home.repos_file, text)
        self._repos = None

    def local(self) -> Repo:
        """The user's ``local`` repository, created on first use."""
        path = self.home.local_repo
        if not repo_mod.is_repo(path):
            with atomic.lock(self.home.repos_lock, guards=self.home.repos_file):
                if not repo_mod.is_repo(path):
                    repo_mod.create(path, LOCAL_REPO_ALIAS, LOCAL_REPO_UID)
        return self._load(path)

    def repos(self) -> list[Repo]:
        """Every usable repository in search order; broken ones are skipped with a warning.

        A ``local`` repository that does not exist yet in a home cairn may not write is left
        out (it has nothing to find), so reading such a home needs no write access.
        """
        if self._repos is None:
            found = [self._load(builtin_repo_path())]
            if repo_mod.is_repo(self.home.local_repo) or may_write(self.home.local_repo):
                found.insert(0, self.local())
            for path in self.paths():
                loaded = _load_or_warn(path, self._load)
                if loaded is not None:
                    found.append(loaded)
            self._repos = found
        return self._repos

    def match(self, part: ids.NamePart | None) -> list[Repo]:
        """The repositories whose alias/uid match ``part`` (all of them for ``None``)."""
        repos = self.repos()
        return repos if part is None else [r for r in repos if part.matches(r.alias, r.uid)]

    def one(self, text: str) -> Repo:
        """The one repository named ``text`` (alias, uid or ``alias,uid``)."""
        part = ids.parse_part(text, patterns=False, what="repository")
        found = self.match(part)
        if not found:
            raise NotFound(f"repository {text!r} is not registered", hint="see: cairn list repo")
        if len(found) > 1:
            paths = ", ".join(str(r.path) for r in found)
            raise CairnError(f"repository name {text!r} is ambiguous: {paths}", hint="use its uid")
        return found[0]

    def register(self, path: Path) -> Repo:
        """Add an existing repository directory to ``repos.json``."""
        new = repo_mod.load(normalise(Path.cwd(), str(path)))
        with atomic.lock(self.home.repos_lock, guards=self.home.repos_file):
            self.check_free(new)
            self._save([*self.paths(), new.path])
        if self._on_register is not None:
            self._on_register(new)
        return new

    def check_free(self, new: Repo, alias_hint: str = "") -> None:
        """Refuse ``new`` if its path, alias or uid is already taken by a known repository;
        ``alias_hint`` replaces the hint of an alias taken (which names both ``cmr.yaml``)."""
        self._repos = None
        for other in self.repos():
            _check_clash(new, other, alias_hint)

    def unregister(self, target: Repo) -> None:
        """Remove a repository from ``repos.json`` (its files stay)."""
        if target.alias in PROTECTED and target.path in (self.home.local_repo, builtin_repo_path()):
            raise Refused(
                f"the {target.alias!r} repository is always present and cannot be removed"
            )
        self.unregister_path(target.path)

    def unregister_path(self, path: Path) -> None:
        """Remove ``path`` from ``repos.json``, even when it is no longer a usable repository."""
        with atomic.lock(self.home.repos_lock, guards=self.home.repos_file):
            paths = self.paths()
            gone = normalise(self.home.root, str(path))
            kept = [p for p in paths if p != gone]
            if len(kept) == len(paths):
                raise NotFound(
                    f"{path} is not a registered repository", hint="see: cairn list repo"
                )
            self._save(kept)


def normalise(home: Path, entry: str) -> Path:
    """An entry of ``repos.json`` as an absolute, normalised path; relative to ``home``."""
    return Path(os.path.normpath(home / Path(entry).expanduser()))


def _read_entries(file: Path) -> list[str]:
    """The path entries of ``repos.json``; an empty, malformed or newer file raises."""
    try:
        text = file.read_text(encoding="utf-8")
        data = json.loads(text) if text.strip() else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetaError(
            f"{file} is malformed: {exc}", hint="fix it or move it away to start afresh"
        ) from exc
    if data is None:
        raise MetaError(
            f"{file} is empty, so the registered repositories are unknown",
            hint="restore it from a backup, or delete it to start with none registered "
            "(their files stay; register them again with: cairn add repo PATH)",
        )
    if isinstance(data, dict):
        _check_format(file, data.get("format", FORMAT))
    items = data.get("repos", []) if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
        raise MetaError(f"{file}: 'repos' must be a list of paths")
    return items


def _check_format(file: Path, version: object) -> None:
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MetaError(f"{file}: 'format' must be a whole number, not {version!r}")
    if version > FORMAT:
        raise MetaError(
            f"{file} has format {version}: it was written by a newer cairn "
            f"(this one reads format {FORMAT})",
            hint="upgrade cairn; cairn leaves the file as it is",
        )


def _load_or_warn(path: Path, load: Callable[[Path], Repo]) -> Repo | None:
    try:
        return load(path)
    except CairnError as exc:
        report.warn(
            f"skipping registered repository {path}: {exc}; to forget it: cairn rm repo {path}"
        )
        return None


def _check_clash(new: Repo, other: Repo, alias_hint: str) -> None:
    if other.path == new.path:
        raise AlreadyExists(f"repository {new.path} is already registered as {other.alias!r}")
    if (other.alias, other.uid) == (new.alias, new.uid):
        raise AlreadyExists(
            f"repository {new.alias!r} (uid {new.uid}) is already registered at {other.path}",
            hint="the same alias and uid: to bring in this copy instead, remove the other "
            f"first: cairn rm repo {other.alias}",
        )
    if other.alias == new.alias:
        raise AlreadyExists(
            f"a repository with alias {new.alias!r} is already registered at {other.path}",
            hint=alias_hint
            or f"change the alias in {new.meta_file} or {other.meta_file}, or remove the "
            "other: cairn rm repo ALIAS",
        )
    if other.uid == new.uid:
        raise AlreadyExists(
            f"a repository with uid {new.uid} is already registered at {other.path} "
            f"(alias {other.alias!r})",
            hint=f"a repository is registered once; remove it first: cairn rm repo {other.alias}",
        )
