"""The Python API: CM's dict API :func:`access`, and a typed facade that raises.

``access`` takes a CM input (a dict, a command string or an argv list) and always returns
a dict with ``return`` (0 on success; 1, 2, 4, 8 or 16 as in CM) and ``error`` on failure.
It prints nothing unless ``out="con"`` is given. The facade functions (``find``, ``load``,
``add``...) return :class:`Artifact` objects and raise :class:`cairn.errors.CairnError`.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import Any

from cairn import dispatch, ids, kinds, report
from cairn.errors import CairnError
from cairn.store.artifact import Artifact
from cairn.store.catalog import Catalog, Query, Target


def access(i: dict[str, Any] | str | list[str], out: str | None = None) -> dict[str, Any]:
    """Run one CM-style action and return CM's result dict (never raises a CairnError)."""
    reporter = report.Reporter(echo=out == "con")
    with report.using(reporter):
        try:
            request = _as_dict(i)
            outcome = dispatch.run(request)
            result: dict[str, Any] = {"return": 0, **outcome.data}
            if out == "con":
                print("\n".join(outcome.lines))
        except CairnError as exc:
            result = {"return": exc.code, "error": str(exc)}
    if reporter.warnings:
        result["warnings"] = list(reporter.warnings)
    return result


def _as_dict(i: dict[str, Any] | str | list[str]) -> dict[str, Any]:
    from cairn.cli import args

    if isinstance(i, str):
        return args.parse(shlex.split(i))
    if isinstance(i, list):
        return args.parse(list(i))
    return dict(i)


def _query(automation: str, name: str | None, tags: str | Iterable[str] | None) -> Query:
    return Query.parse(kinds.resolve(automation), name, tags)


def find(
    automation: str, name: str | None = None, *, tags: str | Iterable[str] | None = None
) -> list[Artifact]:
    """Every artifact of ``automation`` matching ``[repo:]name`` (wildcards allowed) and tags."""
    return Catalog.open().find(_query(automation, name, tags))


def load(
    automation: str, name: str | None = None, *, tags: str | Iterable[str] | None = None
) -> Artifact:
    """The one artifact matching; raises NotFound or Ambiguous otherwise."""
    return Catalog.open().find_one(_query(automation, name, tags))


def add(
    automation: str,
    name: str | None = None,
    *,
    tags: Iterable[str] = (),
    meta: dict[str, Any] | None = None,
    fmt: str = "yaml",
) -> Artifact:
    """Create an artifact ``[repo:]alias[,uid]`` (in the ``local`` repository by default)."""
    catalog = Catalog.open()
    ident = ids.parse_identifier(name, patterns=False) if name else ids.Identifier(ids.NamePart())
    repo = catalog.registry.one(str(ident.repo)) if ident.repo else catalog.registry.local()
    data = dict(meta or {})
    data["tags"] = list(dict.fromkeys([*(data.get("tags") or []), *tags]))
    target = Target(repo, ident.name.alias, ident.name.uid)
    return catalog.add(kinds.resolve(automation), target, data, fmt)


def update(artifact: Artifact, changes: dict[str, Any], *, replace_lists: bool = False) -> Artifact:
    """Merge ``changes`` into the artifact's meta (lists appended unless ``replace_lists``)."""
    from cairn import meta as meta_mod

    new = meta_mod.merge(artifact.meta, changes, append_lists=not replace_lists)
    return Catalog.open().update(artifact, new)


def remove(artifact: Artifact) -> None:
    """Delete one artifact."""
    Catalog.open().remove(artifact)
