"""A repository on disk: a directory with ``cmr.yaml`` (alias, uid, optional prefix, deps)."""

from __future__ import annotations

from pathlib import Path

from cairn import ids, meta
from cairn.dialect import CM, Dialect
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
        yaml_path, json_path = meta.meta_paths(self.path, meta.REPO_META)
        return yaml_path or json_path or self.path / f"{meta.REPO_META}.yaml"

    def __str__(self) -> str:
        return f"{self.alias},{self.uid}"


def is_repo(path: Path) -> bool:
    yaml_path, json_path = meta.meta_paths(path, meta.REPO_META)
    return yaml_path is not None or json_path is not None


def load(path: Path) -> Repo:
    """Load and validate the repository at ``path``."""
    path = path.absolute()
    if not path.is_dir():
        raise NotFound(f"repository directory {path} does not exist")
    if not is_repo(path):
        raise NotFound(
            f"{path} is not a repository: it has no cmr.yaml",
            hint=f"make it one with: cairn init repo {path}",
        )
    files = meta.read_dir(path, meta.REPO_META)
    return from_meta(path, files.meta, files.paths[-1])


def from_meta(path: Path, data: dict[str, Any], source: Path) -> Repo:
    """Build a :class:`Repo` from its meta, naming ``source`` in every error."""
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
    return Repo(path=path, alias=alias, uid=uid, prefix=prefix, deps=deps, meta=data)


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
        raise AlreadyExists(f"{path} is already a repository (it has cmr.yaml)")
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
    """Give the repository at ``path`` the alias ``alias`` (its meta rewritten, formats kept)."""
    files = meta.read_dir(path, meta.REPO_META)
    meta.write_dir(files, {**files.meta, "alias": ids.check_alias(alias, "repository alias")})
    return load(path)


def has_meta(directory: Path) -> bool:
    """Whether ``directory`` holds an artifact meta file."""
    yaml_path, json_path = meta.meta_paths(directory)
    return yaml_path is not None or json_path is not None
