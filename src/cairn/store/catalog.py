"""Queries and changes over every artifact of every registered repository.

A :class:`Query` names a kind, an optional ``[repo:]name`` and a tag query. The catalog
answers from the index (:mod:`cairn.store.index`), which checks ``<repo root>/<kind alias or
uid>/*/`` against the disk before every answer, in repository search order; a broken meta
is reported as a warning naming the file and skipped, never allowed to hide its neighbours.
Changes are made under a lock, in a temporary directory that is renamed into place, so a
crash leaves the old artifact or the new one.

An artifact's meta files are named by its repository's dialect (``_cm.yaml`` in CM's,
``meta.yaml`` in MLCFlow's): an artifact added to an MLCFlow repository gets ``meta.yaml``, and
one moved or copied into a repository of the other dialect has its meta files renamed.
Names are looked up by the loose rule reading accepts (``Grigori Fursin``); a name cairn gives
to a folder (add, adopt, move, copy) must pass the strict one (:mod:`cairn.ids`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from cairn import atomic, errors, ids, meta
from cairn.errors import (
    AlreadyExists,
    Ambiguous,
    CairnError,
    InvalidInput,
    NotFound,
    Refused,
)
from cairn.home import WORK_KEPT, WORK_PREFIX, Home, builtin_repo_path
from cairn.kinds import Kind
from cairn.record import FrozenRecord, init
from cairn.store import artifact as art_mod
from cairn.store import repo as repo_mod
from cairn.store.artifact import Artifact
from cairn.store.index import Index, folder_names
from cairn.store.registry import Registry
from cairn.store.repo import Repo

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any


class Query(FrozenRecord):
    """Which artifacts to find: a kind, an optional name and repository, and tags."""

    _fields = ("kind", "name", "repo", "tags")
    __slots__ = _fields
    kind: Kind
    name: ids.NamePart | None
    repo: ids.NamePart | None
    tags: ids.TagQuery

    def __init__(
        self,
        kind: Kind,
        name: ids.NamePart | None = None,
        repo: ids.NamePart | None = None,
        tags: ids.TagQuery | None = None,
    ) -> None:
        init(self, kind, name, repo, ids.TagQuery() if tags is None else tags)

    @classmethod
    def parse(cls, kind: Kind, identifier: str | None = None, tags: Any = None) -> Query:
        ident = ids.parse_identifier(identifier, strict=False) if identifier else None
        name = ident.name if ident and (ident.name.alias or ident.name.uid) else None
        return cls(kind, name, ident.repo if ident else None, ids.parse_tags(tags))

    @property
    def is_empty(self) -> bool:
        """True when the query names nothing: it would select every artifact of the kind."""
        return self.name is None and not self.tags

    def __str__(self) -> str:
        parts = [self.kind.alias]
        if self.name or self.repo:
            parts.append(str(ids.Identifier(self.name or ids.NamePart(), self.repo)))
        if self.tags:
            parts.append(f"--tags={self.tags}")
        return " ".join(parts)

    def matches(self, artifact: Artifact) -> bool:
        if self.name is not None and not self.name.matches(artifact.alias, artifact.uid):
            return False
        return self.tags.matches(artifact.tags)


class Target(FrozenRecord):
    """Where a moved, copied or new artifact goes: a repository and a new alias/uid."""

    _fields = ("repo", "alias", "uid")
    __slots__ = _fields
    repo: Repo
    alias: str | None
    uid: str | None

    def __init__(self, repo: Repo, alias: str | None, uid: str | None) -> None:
        init(self, repo, alias, uid)


class Catalog:
    """Finds, creates, changes and removes artifacts across the registry's repositories."""

    def __init__(self, registry: Registry, index: Index | None = None) -> None:
        self.registry = registry
        self.index = index or Index(registry.home)

    @classmethod
    def open(cls, home: Home | None = None) -> Catalog:
        """The catalog of ``home`` (default: ``$CAIRN_HOME``), checked against the disk."""
        home = home or Home.from_env()
        index = Index(home)
        return cls(Registry(home, loader=index.load_repo, on_register=index.added), index)

    # -- queries -------------------------------------------------------------------------

    def find(self, query: Query) -> list[Artifact]:
        """Every artifact matching ``query``, in repository search order, then by directory."""
        return [
            a
            for repo in self.registry.match(query.repo)
            for a in self.index.artifacts(repo, query.kind, query.name, query.tags)
        ]

    def find_one(self, query: Query) -> Artifact:
        """The single artifact matching ``query``; none or several is an error."""
        found = self.find(query)
        if not found:
            raise NotFound(f"no artifact matches: {query}", hint=f"see: cairn find {query.kind}")
        if len(found) > 1:
            listing = "; ".join(f"{a.qualified} ({a.path})" for a in found)
            raise Ambiguous(
                f"{len(found)} artifacts match {query}: {listing}", hint=_how_to_pick(found)
            )
        return found[0]

    def here(self, kind: Kind, directory: Path) -> Artifact:
        """The artifact of ``kind`` whose folder is ``directory`` (CM's ``.`` for "the
        artifact I am standing in")."""
        real = os.path.realpath(directory)
        for repo in self.registry.repos():
            for folder in (repo.root / name for name in folder_names(kind)):
                if os.path.realpath(folder) == os.path.dirname(real):
                    return self._standing_in(Path(real), repo, kind)
        raise InvalidInput(
            f"'.' names the {kind.alias} artifact whose folder is the current directory, but "
            f"{directory} is not a folder REPO/{kind.alias}/NAME of a registered repository",
            hint=f"change into the artifact's folder, or name it; see: cairn find {kind.alias}",
        )

    def _standing_in(self, directory: Path, repo: Repo, kind: Kind) -> Artifact:
        if not repo_mod.has_meta(directory, repo.artifact_meta):
            raise NotFound(
                f"{directory} has no {repo.artifact_meta}.yaml or .json: it is no artifact",
                hint=f"make it one with: cairn add {kind.alias} --path={directory}",
            )
        found, _ = art_mod.read(directory, repo, kind)
        return found

    def scan(self, repo: Repo, kind: Kind) -> Iterator[Artifact]:
        """Every valid artifact of ``kind`` in ``repo``; broken ones are warned about."""
        return iter(self.index.artifacts(repo, kind))

    def reindex(self) -> tuple[int, int]:
        """Rebuild the index from scratch; returns how many valid and broken artifacts it holds."""
        return self.index.rebuild(self.registry.repos())

    def clean_leftovers(self) -> list[Path]:
        """Remove what processes that died left behind (see :mod:`cairn.staging`): staging
        folders in every automation folder of the repositories, and where repositories are
        brought in; work folders of runs, unless a failed or ``--dirty`` run kept them."""
        from cairn import staging

        home = self.registry.home
        removed = staging.clean(home.repos_dir)
        removed += staging.clean(
            home.work_dir, WORK_PREFIX, kept_mark=WORK_KEPT, unchecked_age_s=None
        )
        for repo in self.registry.repos():
            if repo.path != builtin_repo_path():
                removed += [p for f in _folders(repo.root) for p in staging.clean(f)]
        return removed

    # -- changes -------------------------------------------------------------------------

    def add(self, kind: Kind, target: Target, data: meta.Meta, fmt: str = "yaml") -> Artifact:
        """Create a new artifact from ``data`` (identity keys are filled in)."""
        _check_writable(target.repo)
        target = _named_by_meta(target, data)
        uid = target.uid or ids.new_uid()
        full = _identity_first(data, target.alias, uid, kind)
        folder = target.repo.root / kind.alias
        file_name = f"{target.repo.artifact_meta}.{fmt}"
        art_mod.identity(full, folder / (target.alias or uid) / file_name)
        with self._lock(folder):
            self._check_free(kind, target.repo, target.alias, uid)
            final = folder / (target.alias or uid)
            with _staging(folder, final) as stage:
                meta.write_file(stage / file_name, full)
        return self._reload(final, target.repo, kind)

    def adopt(self, kind: Kind, directory: Path, data: meta.Meta, fmt: str = "yaml") -> Artifact:
        """Make the existing ``<repo root>/<kind>/<name>/`` an artifact by writing only its meta."""
        repo = self._repo_holding(kind, directory)
        _check_writable(repo)
        name = ids.check_alias(directory.name)
        target = _named_by_meta(Target(repo, name, None), data)
        if target.alias != name:
            raise InvalidInput(f"alias {target.alias!r} differs from the folder name {name!r}")
        uid = target.uid or ids.new_uid()
        full = _identity_first(data, name, uid, kind)
        with self._lock(directory.parent):
            if repo_mod.has_meta(directory, repo.artifact_meta):
                raise AlreadyExists(f"{directory} already has a meta file; use: cairn update")
            self._check_free(kind, repo, name, uid, allow_path=directory)
            meta.write_file(directory / f"{repo.artifact_meta}.{fmt}", full)
        return self._reload(directory, repo, kind)

    def _repo_holding(self, kind: Kind, directory: Path) -> Repo:
        """The registered repository whose ``<root>/<kind>/`` folder holds ``directory``."""
        if not directory.is_dir():
            raise NotFound(f"folder {directory} does not exist")
        for repo in self.registry.repos():
            if directory.parent == repo.root / kind.alias:
                return repo
        raise InvalidInput(
            f"{directory} is not a folder REPO/{kind.alias}/NAME of a registered repository",
            hint=f"move it under <repository>/{kind.alias}/, or register its repository first",
        )

    def update(self, artifact: Artifact, change: Callable[[meta.Meta], meta.Meta]) -> Artifact:
        """Apply ``change`` to the artifact's current meta under its lock, keeping file formats.

        The meta is re-read inside the lock, so concurrent updates never lose each other.
        """
        _check_writable(artifact.repo)
        stem = artifact.repo.artifact_meta
        with self._lock(artifact.path.parent):
            files = meta.read_dir(artifact.path, stem)
            new_meta = change(files.meta)
            _check_identity_kept(artifact, files.meta, new_meta)
            art_mod.identity(new_meta, artifact.path)
            meta.write_dir(files, new_meta, stem)
        return self._reload(artifact.path, artifact.repo, artifact.kind)

    def remove(self, artifact: Artifact) -> None:
        """Delete the artifact directory (renamed aside first, so it vanishes at once)."""
        _check_writable(artifact.repo)
        import shutil

        from cairn import staging  # only writers need it

        with self._lock(artifact.path.parent):
            try:
                aside = staging.make(artifact.path.parent)
            except OSError as exc:
                raise errors.os_error(exc, "remove", artifact.path) from exc
            try:
                os.replace(artifact.path, aside / artifact.path.name)
            except OSError as exc:
                aside.rmdir()
                raise errors.os_error(exc, "remove", artifact.path) from exc
        shutil.rmtree(aside, ignore_errors=True)

    def move(self, artifact: Artifact, target: Target) -> Artifact:
        """Rename and/or move ``artifact`` into another repository."""
        _check_writable(artifact.repo)
        _check_writable(target.repo)
        alias = _given_name(target.alias or artifact.alias)
        uid = target.uid or artifact.uid or ids.new_uid()
        folder = target.repo.root / artifact.path.parent.name
        final = folder / (alias or uid)
        if final == artifact.path and uid == artifact.uid:
            raise InvalidInput(f"{artifact.qualified} is already there under that name")
        stems = (artifact.repo.artifact_meta, target.repo.artifact_meta)
        with self._lock(folder):
            self._check_free(artifact.kind, target.repo, alias, uid, allow=artifact)
            if final.exists() and final != artifact.path:
                raise AlreadyExists(f"{final} already exists")
            _move_dir(artifact.path, final)
            try:
                _rename_meta(final, alias, uid, stems)
            except BaseException:
                _move_dir(final, artifact.path)
                raise
        return self._reload(final, target.repo, artifact.kind)

    def copy(self, artifact: Artifact, target: Target, new_tags: list[str]) -> Artifact:
        """Copy ``artifact`` under a new uid (and alias), optionally adding tags."""
        _check_writable(target.repo)
        alias = _given_name(target.alias or artifact.alias)
        uid = target.uid or ids.new_uid()
        folder = target.repo.root / artifact.path.parent.name
        final = folder / (alias or uid)
        stems = (artifact.repo.artifact_meta, target.repo.artifact_meta)
        with self._lock(folder):
            self._check_free(artifact.kind, target.repo, alias, uid)
            with _staging(folder, final) as stage:
                _copy_tree(artifact.path, stage, final)
                _rename_meta(stage, alias, uid, stems, new_tags)
        return self._reload(final, target.repo, artifact.kind)

    # -- helpers -------------------------------------------------------------------------

    def _check_free(
        self,
        kind: Kind,
        repo: Repo,
        alias: str | None,
        uid: str,
        allow: Artifact | None = None,
        allow_path: Path | None = None,
    ) -> None:
        """Refuse a name or uid already taken by another artifact of ``kind`` in ``repo``.

        Two index lookups (by alias, by uid), not a scan of every artifact of the kind.
        """
        parts = [ids.NamePart(uid=uid)] + ([ids.NamePart(alias=alias)] if alias else [])
        for other in (a for part in parts for a in self.index.artifacts(repo, kind, part)):
            if allow is not None and other.path == allow.path:
                continue
            clash = (alias and other.alias and other.alias.lower() == alias.lower()) or (
                other.uid == uid
            )
            if clash:
                raise AlreadyExists(
                    f"{kind.alias} {other.name} already exists in repository {repo.alias!r} "
                    f"at {other.path}",
                    hint="choose another name, or remove it first",
                )
        path = repo.root / kind.alias / (alias or uid)
        if path.exists() and path not in (allow.path if allow else None, allow_path):
            raise AlreadyExists(f"{path} already exists")

    def _lock(self, folder: Path) -> contextlib.AbstractContextManager[None]:
        import hashlib  # only writers need it; `find` stays free of it

        digest = hashlib.sha1(str(folder.absolute()).encode()).hexdigest()[:20]
        return atomic.lock(self.registry.home.root / "locks" / f"{digest}.lock", guards=folder)

    def _reload(self, path: Path, repo: Repo, kind: Kind) -> Artifact:
        artifact, _ = art_mod.read(path, repo, kind)
        return artifact


def _folders(root: Path) -> list[Path]:
    """The automation folders of a repository root (its folders, dot-folders aside)."""
    try:
        with os.scandir(root) as entries:
            return [Path(e.path) for e in entries if e.is_dir() and not e.name.startswith(".")]
    except OSError:
        return []


def _move_dir(source: Path, final: Path) -> None:
    """Move a directory to a new path that does not exist yet (no-op when they are equal)."""
    if source == final:
        return
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(source, final)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _move_across(source, final)
    except OSError as exc:
        raise errors.os_error(exc, f"move {source} to", final) from exc


def _move_across(source: Path, final: Path) -> None:
    """Move a directory to another file system: copy, then remove the source; a copy that
    stops half-way is removed again (even one of read-only files)."""
    import shutil

    try:
        shutil.move(source, final)
    except OSError:
        if source.is_dir() and final.exists():
            for path in (final, *final.rglob("*")):
                if path.is_dir() and not path.is_symlink():
                    path.chmod(0o700)
            shutil.rmtree(final, ignore_errors=True)
        raise


def _how_to_pick(found: Sequence[Artifact]) -> str:
    """Tell how to name one of several matches: by repository when that is enough."""
    repos = [a.repo.path for a in found]
    if len(set(repos)) == len(repos):
        return "qualify the name with its repository, e.g. " + found[0].qualified
    first = found[0]
    return f"name it by uid, e.g. {first.repo.alias}:{first.uid}" if first.uid else "name it by uid"


def _named_by_meta(target: Target, data: meta.Meta) -> Target:
    """Take the alias/uid from the meta when the name does not give them (as CM does).

    A meta alias or uid that differs from the name given is refused rather than dropped.
    """
    alias = _meta_name(data, "alias", target.alias)
    uid = _meta_name(data, "uid", target.uid)
    return Target(
        target.repo,
        ids.check_alias(alias) if alias else None,
        ids.check_uid(uid) if uid else None,
    )


def _meta_name(data: meta.Meta, key: str, given: str | None) -> str | None:
    value = data.get(key)
    if value is None:
        return given
    if not isinstance(value, str):
        raise InvalidInput(
            f"meta key {key!r} must be a string, not {type(value).__name__} {value!r}",
            hint="quote it in YAML",
        )
    if given is not None and value.lower() != given.lower():
        raise InvalidInput(f"meta key {key!r} is {value!r} but the name given is {given!r}")
    return given or value


def _identity_first(data: meta.Meta, alias: str | None, uid: str, kind: Kind) -> meta.Meta:
    head: meta.Meta = {"alias": alias} if alias else {}
    head["uid"] = uid
    head["automation_alias"] = kind.alias
    if kind.uid:
        head["automation_uid"] = kind.uid
    rest = {k: v for k, v in data.items() if k not in art_mod.IDENTITY_KEYS}
    rest.setdefault("tags", [])
    return {**head, **rest}


def _given_name(alias: str | None) -> str | None:
    """A name cairn gives a folder must pass the strict rule (one read may not: ``a b``)."""
    if alias is None:
        return None
    try:
        return ids.check_alias(alias)
    except errors.InvalidName as exc:
        exc.hint = f"give it a new name; {exc.hint}" if exc.hint else "give it a new name"
        raise


def _rename_meta(
    directory: Path,
    alias: str | None,
    uid: str,
    stems: tuple[str, str],
    new_tags: Sequence[str] = (),
) -> None:
    """Give the meta in ``directory`` a new alias and uid (and tags); its files, named by the
    stem of the repository it came from, take the stem of the one it goes to."""
    _restem(directory, *stems)
    files = meta.read_dir(directory, stems[1])
    data = dict(files.meta)
    if alias:
        data["alias"] = alias
    data["uid"] = uid
    tags = list(data.get("tags") or [])
    data["tags"] = tags + [t for t in new_tags if t not in tags]
    if not data["tags"] and "tags" not in files.meta:
        del data["tags"]
    meta.write_dir(files, data, stems[1])


def _restem(directory: Path, old: str, new: str) -> None:
    """Rename ``old.yaml``/``old.json`` in ``directory`` to ``new.*`` (another dialect's)."""
    if old == new:
        return
    pairs = [(directory / f"{old}{s}", directory / f"{new}{s}") for s in (".yaml", ".json")]
    for source, dest in pairs:
        if source.is_file() and dest.exists():
            raise AlreadyExists(
                f"{dest} is in the way: the meta file {source.name} takes that name in the "
                "repository it goes to",
                hint=f"rename or remove {dest.name} first",
            )
    for source, dest in pairs:
        if source.is_file():
            os.replace(source, dest)


@contextlib.contextmanager
def _staging(folder: Path, final: Path) -> Iterator[Path]:
    """A temporary directory in ``folder`` that becomes ``final`` when the block succeeds."""
    import shutil

    from cairn import staging  # only writers need it

    if final.exists():
        raise AlreadyExists(f"{final} already exists")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging.clean(folder)  # a cheap pass: the folders this one's writers left dying
        stage = staging.make(folder)
    except OSError as exc:
        raise _unstaged(exc, final, Path(str(exc.filename or folder)), folder) from exc
    try:
        os.chmod(stage, 0o777 & ~atomic.umask())  # mkdtemp makes 0700: honour the umask
        yield stage
        os.rename(stage, final)
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _unstaged(exc, final, stage, final) from exc
        raise


def _copy_tree(source: Path, stage: Path, final: Path) -> None:
    """Copy ``source`` into ``stage``, stopping at the first file that cannot be copied."""
    import shutil

    def copy(src: str, dst: str) -> object:
        try:
            return shutil.copy2(src, dst)
        except OSError as exc:  # raised as a CairnError, which copytree does not collect
            raise _unstaged(exc, final, stage, final) from exc

    shutil.copytree(source, stage, dirs_exist_ok=True, symlinks=True, copy_function=copy)
    _owner_writable(stage)


def _owner_writable(root: Path) -> None:
    """Let the owner write every folder and file of a copy (one of a read-only artifact,
    say another user's, would else keep its read-only modes, and could not be changed)."""
    paths = [str(root)]
    for dirpath, dirnames, filenames in os.walk(root):
        paths += [os.path.join(dirpath, name) for name in (*dirnames, *filenames)]
    for path in paths:
        mode = os.lstat(path).st_mode
        if not stat.S_ISLNK(mode) and not mode & stat.S_IWUSR:
            os.chmod(path, stat.S_IMODE(mode) | stat.S_IWUSR)


def _unstaged(exc: OSError, final: Path, stage: Path, shown: Path) -> CairnError:
    """A failure while making ``final`` in ``stage``, told with ``shown`` for the staging
    folder (it is cairn's own and already gone); nothing was changed."""
    if exc.errno is None and exc.args and isinstance(exc.args[0], list):
        reasons = [str(triple[-1]) for triple in exc.args[0][:3]]  # copytree's (src, dst, why)
        reason = "; ".join(reasons)
    else:
        reason = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc.strerror)
    reason = reason.replace(str(stage), str(shown))
    return CairnError(
        f"cannot create {final}: {reason}; nothing was changed", hint=errors.os_error_hint(exc)
    )


def _check_identity_kept(artifact: Artifact, old: meta.Meta, new: meta.Meta) -> None:
    """``update`` never renames: the identity keys must stay as they are."""
    for key in art_mod.IDENTITY_KEYS:
        if key in old and new.get(key) != old[key]:
            raise InvalidInput(
                f"update cannot change {key!r} of {artifact.qualified}",
                hint="use: cairn mv to rename an artifact",
            )


def _check_writable(repo: Repo) -> None:
    """The repository shipped inside the package is read-only."""
    if repo.path == builtin_repo_path():
        raise Refused(
            f"the {repo.alias!r} repository ships with cairn and is read-only",
            hint="add to 'local' or your own repository instead (copy works from builtin)",
        )
