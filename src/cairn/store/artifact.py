"""An artifact: a directory ``<repo root>/<automation>/<alias>/`` with ``_cm.yaml``/``_cm.json``
(``meta.yaml``/``meta.json`` in an MLCFlow repository: the stem is the repository's dialect's).

Its core meta keys (``alias``, ``uid``, ``automation_alias``, ``automation_uid``, ``tags``)
are validated once when read; every other key belongs to the automation and is kept as is.
An alias read is held to the loose rule of :func:`cairn.ids.check_name` (CM's contributors
are called ``Grigori Fursin``); names cairn gives are held to the strict one elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from cairn import ids, meta
from cairn.errors import InvalidName, MetaError
from cairn.kinds import Kind
from cairn.record import FrozenRecord, init
from cairn.store.repo import Repo

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from typing import Any

IDENTITY_KEYS = ("alias", "uid", "automation_alias", "automation_uid")


class Artifact(FrozenRecord):
    """One artifact as found in a repository."""

    _fields = ("path", "repo", "kind", "alias", "uid", "tags", "meta")
    __slots__ = _fields
    _hidden = frozenset({"meta"})
    path: Path
    repo: Repo
    kind: Kind
    alias: str | None
    uid: str | None
    tags: tuple[str, ...]
    meta: dict[str, Any]

    def __init__(
        self,
        path: Path,
        repo: Repo,
        kind: Kind,
        alias: str | None,
        uid: str | None,
        tags: tuple[str, ...],
        meta: dict[str, Any],
    ) -> None:
        init(self, path, repo, kind, alias, uid, tags, meta)

    @property
    def name(self) -> str:
        """``alias,uid`` (or whichever of the two it has)."""
        return ",".join(x for x in (self.alias, self.uid) if x)

    @property
    def qualified(self) -> str:
        """``repo:alias`` -- the identifier that names this artifact unambiguously."""
        return f"{self.repo.alias}:{self.alias or self.uid}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "alias": self.alias,
            "uid": self.uid,
            "automation": self.kind.alias,
            "repo": self.repo.alias,
            "repo_uid": self.repo.uid,
            "tags": list(self.tags),
            "meta": self.meta,
        }


class Identity(FrozenRecord):
    """The validated core keys of an artifact meta."""

    _fields = ("alias", "uid", "automation_alias", "automation_uid", "tags")
    __slots__ = _fields
    alias: str | None
    uid: str | None
    automation_alias: str | None
    automation_uid: str | None
    tags: tuple[str, ...]

    def __init__(
        self,
        alias: str | None,
        uid: str | None,
        automation_alias: str | None,
        automation_uid: str | None,
        tags: tuple[str, ...],
    ) -> None:
        init(self, alias, uid, automation_alias, automation_uid, tags)


def identity(data: dict[str, Any], source: Path) -> Identity:
    """Validate the core keys of ``data`` (read from ``source``)."""
    values = {k: meta.require_str(data, k, source) for k in IDENTITY_KEYS}
    for key in ("uid", "automation_uid"):
        value = values[key]
        if value is not None and not ids.is_uid(value):
            raise MetaError(f"{source}: key {key!r} = {value!r} is not a 16-hex-digit uid")
    alias = values["alias"]
    if alias is not None:
        try:
            ids.check_name(alias)
        except InvalidName as exc:
            raise MetaError(f"{source}: key 'alias': {exc}") from exc
    tags = tuple(meta.tag_list(data, source))
    uid = values["uid"]
    return Identity(
        alias=alias,
        uid=uid.lower() if uid else None,
        automation_alias=values["automation_alias"],
        automation_uid=values["automation_uid"],
        tags=tags,
    )


def read(path: Path, repo: Repo, folder_kind: Kind) -> tuple[Artifact, Identity]:
    """Read the artifact in ``path``; the folder it sits in names its kind by default."""
    data, ident = read_meta(path, repo.artifact_meta)
    alias, uid = names(ident, path)
    artifact = Artifact(path, repo, folder_kind, alias, uid, ident.tags, data)
    return artifact, ident


def read_meta(path: Path, stem: str = meta.ARTIFACT_META) -> tuple[meta.Meta, Identity]:
    """Read and validate the merged meta of the artifact directory ``path`` (``stem``: the
    name of its meta files, ``_cm`` or ``meta``)."""
    files = meta.read_dir(path, stem)
    return files.meta, identity(files.meta, files.paths[-1])


def names(ident: Identity, path: Path) -> tuple[str | None, str | None]:
    """The alias and uid of an artifact: from its meta, else from its directory name."""
    if ident.alias is None and ident.uid is None:
        return (None, path.name.lower()) if ids.is_uid(path.name) else (path.name, None)
    return ident.alias, ident.uid
