"""The two dialects of the script world: CM's (``cmind``) and MLCFlow's (``mlc``).

A repository speaks one dialect, told by its top file: ``cmr.yaml``/``cmr.json`` is CM's,
``meta.yaml``/``meta.json`` (with ``alias`` and ``uid``, and no ``cmr.*``) is MLCFlow's. The
dialect says what the artifacts' meta files are called, which module the hooks of its
scripts import, and the prefix of the engine's own environment variables (``CM_VERSION``
in one, ``MLC_VERSION`` in the other). Everything else (meta keys, the automation uids,
the script grammar) the two share.

=============  =================  ======================
               CM                 MLCFlow
=============  =================  ======================
repository     ``cmr.yaml``       ``meta.yaml``
artifact meta  ``_cm.yaml``       ``meta.yaml``
hook module    ``cmind``          ``mlc``
engine vars    ``CM_*``           ``MLC_*``
mapped inputs  env and const      env only
=============  =================  ======================

*Mapped inputs*: a flag an ``input_mapping`` maps sets its env key in both; CM also forces it
as a ``const`` (a hook cannot change it), mlcflow 1.3.8 does not (set-sqlite-dir's
postprocess replaces its ``--path`` with the entry's folder).
"""

from __future__ import annotations

from pathlib import Path

from cairn.record import FrozenRecord, init


class Dialect(FrozenRecord):
    """One dialect: its name, engine-variable prefix, meta file stems and hook module."""

    _fields = ("name", "prefix", "repo_meta", "artifact_meta", "module", "inputs_const")
    __slots__ = _fields
    name: str
    prefix: str
    repo_meta: str
    artifact_meta: str
    module: str
    inputs_const: bool

    def __init__(
        self,
        name: str,
        prefix: str,
        repo_meta: str,
        artifact_meta: str,
        module: str,
        inputs_const: bool,
    ) -> None:
        init(self, name, prefix, repo_meta, artifact_meta, module, inputs_const)

    def var(self, suffix: str) -> str:
        """The engine variable ``suffix`` in this dialect: ``VERSION`` -> ``MLC_VERSION``."""
        return self.prefix + suffix

    def __str__(self) -> str:
        return self.name


CM = Dialect("cm", "CM_", "cmr", "_cm", "cmind", inputs_const=True)
MLC = Dialect("mlc", "MLC_", "meta", "meta", "mlc", inputs_const=False)
DIALECTS = (CM, MLC)
"""In the order a repository's top file is looked for: ``cmr.*`` wins over ``meta.*``."""


def named(name: str) -> Dialect:
    """The dialect called ``name`` (``cm`` or ``mlc``)."""
    for dialect in DIALECTS:
        if dialect.name == name:
            return dialect
    raise ValueError(f"unknown dialect {name!r}: expected cm or mlc")


def of_repo_dir(path: Path) -> Dialect | None:
    """The dialect of the repository at ``path`` by its top file, or ``None`` if it has none."""
    for dialect in DIALECTS:
        stem = dialect.repo_meta
        if (path / f"{stem}.yaml").is_file() or (path / f"{stem}.json").is_file():
            return dialect
    return None
