"""A repository on disk: a directory with ``cmr.yaml`` (alias, uid, optional prefix, deps).

A directory without ``cmr.yaml``/``cmr.json`` whose ``meta.yaml``/``meta.json`` holds the same
keys is an MLCFlow repository (:mod:`cairn.dialect`): read as it is, its dialect kept on the
:class:`Repo`. Repositories cairn creates are CM's.
"""

from __future__ import annotations

from pathlib import Path

from cairn import ids, meta
from cairn.dialect import CM, MLC, Dialect, of_repo_dir
from cairn.errors import AlreadyExists, InvalidInput, InvalidName, MetaError, NotFound
from cairn.record import FrozenRecord, init

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from typing import Any


class RepoDep(FrozenRecord):
    """A dependency on another repository, from ``cmr.yaml`` ``deps``."""

    _fields = ("alias", "uid", "url", "branch", "checkout", "conflict")
    __slots__ = _fields
    alias: str | None
    uid: str | None
    url: str | None
    branch: str | None
    checkout: str | None
    conflict: bool

    def __init__(
        self,
        alias: str | None,
        uid: str | None,
        url: str | None = None,
        branch: str | None = None,
        checkout: str | None = None,
        conflict: bool = False,
    ) -> None:
        init(self, alias, uid, url, branch, checkout, conflict)


class Repo(FrozenRecord):
    """A loaded repository: identity, where its artifacts live, and its raw meta."""

    _fields = ("path", "alias", "uid", "prefix", "deps", "meta", "dialect")
    __slots__ = _fields
    _hidden = frozenset({"meta"})
    path: Path
    alias: str
    uid: str
    prefix: str
    deps: tuple[RepoDep, ...]
    meta: dict[str, Any]
    dialect: Dialect

    def __init__(
        self,
        path: Path,
        alias: str,
        uid: str,
        prefix: str = "",
        deps: tuple[RepoDep, ...] = (),
        meta: dict[str, Any] | None = None,
        dialect: Dialect = CM,
    ) -> None:
        init(self, path, alias, uid, prefix, deps, {} if meta is None else meta, dialect)

    @property
    def root(self) -> Path:
        """The directory that holds the automation folders (``path/prefix``)."""
        return self.path / self.prefix if self.prefix else self.path

    @property
    def meta_file(self) -> Path:
        """The repository's own meta file (``cmr.yaml`` in CM's dialect, ``meta.yaml`` in
        MLCFlow's; the JSON one when there is no YAML one)."""
        stem = self.dialect.repo_meta
        yaml_path, json_path = meta.meta_paths(self.path, stem)
        return yaml_path or json_path or self.path / f"{stem}.yaml"

    @property
    def artifact_meta(self) -> str:
        """The stem of its artifacts' meta files: ``_cm`` (CM) or ``meta`` (MLCFlow)."""
        return self.dialect.artifact_meta

    def __str__(self) -> str:
        return f"{self.alias},{self.uid}"


def is_repo(path: Path) -> bool:
    """Whether ``path`` is a repository: it has ``cmr.yaml``/``cmr.json`` (valid or not), or
    MLCFlow's ``meta.yaml``/``meta.json`` naming an alias and a uid (a project's own
    ``meta.yaml`` without them does not make its folder a repository)."""
    found = of_repo_dir(path)
    if found is None or found is CM:
        return found is CM
    try:
        data = meta.read_dir(path, found.repo_meta).meta
    except MetaError:
        return False
    return "alias" in data and "uid" in data


def load(path: Path) -> Repo:
    """Load and validate the repository at ``path``, in the dialect its top file tells."""
    path = path.absolute()
    if not path.is_dir():
        raise NotFound(f"repository directory {path} does not exist")
    dialect = of_repo_dir(path)
    if dialect is None:
        raise NotFound(
            f"{path} is not a repository: it has no cmr.yaml (CM) nor meta.yaml (MLCFlow)",
            hint=f"register the folder that holds one, or make this one a repository with: "
            f"cairn init repo {path}",
        )
    files = meta.read_dir(path, dialect.repo_meta)
    return from_meta(path, files.meta, files.paths[-1], dialect)


def from_meta(
    path: Path, data: dict[str, Any], source: Path, dialect: Dialect | None = None
) -> Repo:
    """Build a :class:`Repo` from its meta, naming ``source`` in every error.

    The dialect is ``dialect``, else told by the name of ``source`` (``meta.*``: MLCFlow).
    """
    if dialect is None:
        dialect = MLC if source.stem == MLC.repo_meta else CM
    if dialect is not CM:
        _check_mlc_keys(data, source)
    alias = meta.require_str(data, "alias", source, required=True)
    uid = meta.require_str(data, "uid", source, required=True)
    assert alias is not None and uid is not None
    _checked(lambda: ids.check_alias(alias, "repository alias"), source)
    uid = _checked(lambda: ids.check_uid(uid, "repository uid"), source)
    prefix = meta.require_str(data, "prefix", source) or ""
    if prefix and (prefix.startswith("/") or ".." in Path(prefix).parts):
        raise MetaError(
            f"{source}: prefix {prefix!r} must be a relative path inside the repository"
        )
    deps = tuple(_dep(d, source) for d in _dep_list(data, source))
    return Repo(path, alias, uid, prefix, deps, data, dialect)


def _check_mlc_keys(data: dict[str, Any], source: Path) -> None:
    """A ``meta.yaml`` at a folder's top without ``alias`` or ``uid`` is no repository file."""
    missing = [key for key in ("alias", "uid") if data.get(key) is None]
    if missing:
        raise MetaError(
            f"{source}: key {missing[0]!r} is missing: a folder with {source.name} and no "
            "cmr.yaml is read as an MLCFlow repository, whose top meta file names its alias "
            "and uid",
            hint=f"add 'alias: NAME' and 'uid: 16 hex digits' to {source}, or register the "
            "folder that holds the repository",
        )


def _checked(check: Any, source: Path) -> str:
    try:
        result: str = check()
    except InvalidName as exc:
        raise MetaError(f"{source}: {exc}") from exc
    return result


def _dep_list(data: dict[str, Any], source: Path) -> list[Any]:
    deps = data.get("deps") or []
    if not isinstance(deps, list):
        raise MetaError(f"{source}: key 'deps' must be a list of repositories")
    return deps


def _dep(entry: Any, source: Path) -> RepoDep:
    if not isinstance(entry, dict):
        raise MetaError(f"{source}: each entry of 'deps' must be a mapping, not {entry!r}")
    fields = {k: meta.require_str(entry, k, source) for k in ("alias", "uid", "url", "branch")}
    checkout = entry.get("checkout")
    if checkout is not None and not isinstance(checkout, str):
        raise MetaError(f"{source}: deps 'checkout' must be a string, not {checkout!r}")
    return RepoDep(conflict=bool(entry.get("conflict", False)), checkout=checkout, **fields)


def new(path: Path, alias: str, uid: str | None = None, prefix: str = "") -> Repo:
    """Describe a new repository at ``path`` (validated; nothing is written yet)."""
    path = path.absolute()
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{path} is a file, not a directory")
    if is_repo(path):
        held = of_repo_dir(path) or CM
        raise AlreadyExists(f"{path} is already a repository (it has {held.repo_meta}.yaml)")
    data: dict[str, Any] = {
        "alias": ids.check_alias(alias, "repository alias"),
        "uid": ids.check_uid(uid, "repository uid") if uid else ids.new_uid(),
        "git": False,
    }
    if prefix:
        data["prefix"] = prefix
    try:
        return from_meta(path, data, path / "cmr.yaml")
    except MetaError as exc:
        raise InvalidInput(str(exc)) from exc


def write(repo: Repo) -> Repo:
    """Write the ``cmr.yaml`` of a repository described by :func:`new` (and its prefix folder)."""
    repo.path.mkdir(parents=True, exist_ok=True)
    meta.write_file(repo.path / "cmr.yaml", repo.meta)
    repo.root.mkdir(parents=True, exist_ok=True)
    return repo


def create(path: Path, alias: str, uid: str | None = None, prefix: str = "") -> Repo:
    """Make ``path`` a repository by writing only its ``cmr.yaml``."""
    return write(new(path, alias, uid, prefix))


def rename(path: Path, alias: str) -> Repo:
    """Give the repository at ``path`` the alias ``alias`` (its own meta file rewritten, formats
    kept: an MLCFlow repository keeps its ``meta.yaml``)."""
    stem = (of_repo_dir(path) or CM).repo_meta
    files = meta.read_dir(path, stem)
    meta.write_dir(files, {**files.meta, "alias": ids.check_alias(alias, "repository alias")})
    return load(path)


def has_meta(directory: Path, stem: str = meta.ARTIFACT_META) -> bool:
    """Whether ``directory`` holds an artifact meta file (``stem``: the repository's)."""
    yaml_path, json_path = meta.meta_paths(directory, stem)
    return yaml_path is not None or json_path is not None
