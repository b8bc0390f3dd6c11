"""The Python API: CM's dict API :func:`access`, and a typed facade that raises.

``access`` takes a CM input (a dict, a command string or an argv list) and always returns
a dict with ``return`` (0 on success; 1, 2, 4, 8 or 16 as in CM; 3 for an internal error,
a bug in cairn) and ``error`` on failure: it never raises.
It prints nothing unless ``out="con"`` is given. The facade functions (``find``, ``load``,
``add``...) return :class:`Artifact` objects and raise :class:`cairn.errors.CairnError`.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
from collections.abc import Iterable, Iterator
from typing import Any

from cairn import dispatch, ids, kinds, report
from cairn.errors import (
    INTERNAL_ERROR,
    CairnError,
    InvalidInput,
    describe_os_error,
    internal_error_message,
)
from cairn.store.artifact import Artifact
from cairn.store.catalog import Catalog, Query, Target

_log = logging.getLogger("cairn")
_log.addHandler(logging.NullHandler())


def access(i: dict[str, Any] | str | list[str], out: str | None = None) -> dict[str, Any]:
    """Run one CM-style action and return CM's result dict (never raises).

    Nothing is printed unless ``out`` (the argument, or the ``out`` key of the input) is
    ``"con"`` (the console lines and warnings) or ``"json"`` (the result as one JSON document).
    """
    reporter = report.Reporter()
    with report.using(reporter):
        try:
            request = _as_dict(i)
            out = out or _out_of(request)
            if out:
                request["out"] = out
            reporter.echo = out == "con"
            outcome = dispatch.run(request)
            result: dict[str, Any] = {"return": 0, **outcome.data}
            _show(outcome.lines, result, out)
        except CairnError as exc:
            result = {**exc.result, "return": exc.code, "error": str(exc)}
        except OSError as exc:
            result = {"return": 1, "error": describe_os_error(exc)}
        except Exception as exc:  # a bug in cairn: reported, never raised (CM's contract)
            _log.debug("internal error in access()", exc_info=exc)
            result = {"return": INTERNAL_ERROR, "error": internal_error_message(exc)}
    if reporter.warnings:
        result["warnings"] = list(reporter.warnings)
    return result


def _out_of(request: dict[str, Any]) -> str | None:
    value = request.get("out")
    return value if isinstance(value, str) else None


def _show(lines: list[str], result: dict[str, Any], out: str | None) -> None:
    if out == "con" and lines:
        print("\n".join(lines))
    elif out == "csv":
        print(result.get("csv", ""), end="")
    elif out == "json":
        import json

        print(json.dumps(result, indent=2, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    return to_json() if callable(to_json) else str(value)


def _as_dict(i: dict[str, Any] | str | list[str]) -> dict[str, Any]:
    from cairn.cli import args

    if isinstance(i, str):
        return args.parse(shlex.split(i))
    if isinstance(i, list):
        return args.parse(list(i))
    if not isinstance(i, dict):
        raise InvalidInput(f"access() takes a dict, a command string or a list, not {i!r}")
    return dict(i)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Send warnings of the typed facade to the ``cairn`` logger instead of stderr."""
    with report.using(report.Reporter(echo=True, sink=_log.warning)):
        yield


def _query(automation: str, name: str | None, tags: str | Iterable[str] | None) -> Query:
    return Query.parse(kinds.resolve(automation), name, tags)


def find(
    automation: str, name: str | None = None, *, tags: str | Iterable[str] | None = None
) -> list[Artifact]:
    """Every artifact of ``automation`` matching ``[repo:]name`` (wildcards allowed) and tags."""
    with _quiet():
        return Catalog.open().find(_query(automation, name, tags))


def load(
    automation: str, name: str | None = None, *, tags: str | Iterable[str] | None = None
) -> Artifact:
    """The one artifact matching; raises NotFound or Ambiguous otherwise."""
    with _quiet():
        return Catalog.open().find_one(_query(automation, name, tags))


def add(
    automation: str,
    name: str | None = None,
    *,
    tags: str | Iterable[str] = (),
    meta: dict[str, Any] | None = None,
    fmt: str = "yaml",
) -> Artifact:
    """Create an artifact ``[repo:]alias[,uid]`` (in the ``local`` repository by default)."""
    from cairn.automations.common import merge_tags

    if fmt not in ("yaml", "json"):
        raise InvalidInput(f"fmt={fmt!r} is not a meta format", hint="use 'yaml' or 'json'")
    with _quiet():
        catalog = Catalog.open()
        ident = (
            ids.parse_identifier(name, patterns=False) if name else ids.Identifier(ids.NamePart())
        )
        repo = catalog.registry.one(str(ident.repo)) if ident.repo else catalog.registry.local()
        data = dict(meta or {})
        dispatch.check_data(data, "meta")
        data["tags"] = merge_tags(data.get("tags"), ids.split_list(tags))
        target = Target(repo, ident.name.alias, ident.name.uid)
        return catalog.add(kinds.resolve(automation), target, data, fmt)


def update(artifact: Artifact, changes: dict[str, Any], *, replace_lists: bool = False) -> Artifact:
    """Merge ``changes`` into the artifact's meta (lists appended unless ``replace_lists``)."""
    from cairn import meta as meta_mod

    def change(current: dict[str, Any]) -> dict[str, Any]:
        if not replace_lists:
            meta_mod.check_list_merge(current, changes)
        return meta_mod.merge(current, changes, append_lists=not replace_lists)

    dispatch.check_data(changes, "changes")
    with _quiet():
        return Catalog.open().update(artifact, change)


def remove(artifact: Artifact) -> None:
    """Delete one artifact."""
    with _quiet():
        Catalog.open().remove(artifact)


class Experiment:
    """An experiment, for Python and notebooks: the same actions as ``cairn ... experiment``
    (it is made by its first :meth:`run`)::

        exp = cairn.Experiment("bs-sweep")
        exp.run(script="app bench", explore={"batch_size": [1, 2, 4], "threads": "1..4"},
                jobs=2, results=["THROUGHPUT"])
        rows = exp.table(filter="THROUGHPUT>=40", sort="-THROUGHPUT")
        front = exp.pareto(["THROUGHPUT:max", "LATENCY:min"], plot=["front.html"])

    Each method returns the data ``--out=json`` prints (errors raise :class:`CairnError`);
    in Jupyter, ``table`` shows as a table and ``pareto`` as its front and pictures
    (:mod:`cairn.jupyter`).
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def run(
        self,
        *,
        script: str | None = None,
        command: Iterable[str] = (),
        explore: dict[str, Any] | None = None,
        space: str | None = None,
        repeat: int = 1,
        jobs: int = 1,
        results: Iterable[str] = (),
        inputs: dict[str, Any] | None = None,
        resume: bool = False,
        progress: bool = False,
        **options: Any,
    ) -> dict[str, Any]:
        """Run a sweep (or ``resume`` the last unfinished one); ``inputs`` go to the script,
        ``options`` are the other flags of ``run experiment`` (``sample``, ``zip``...)."""
        i: dict[str, Any] = {**(inputs or {}), **options, "repeat": repeat, "jobs": jobs}
        i.update(script=script, explore=explore or {}, space=space, resume=resume or None)
        i.update(result=list(results) or None, unparsed_cmd=list(command) or None)
        return self._call("run", i, progress)

    def table(self, **flags: Any) -> list[dict[str, Any]]:
        """One dict per point (medians over repeats, ``spread``): ``filter``, ``sort``,
        ``columns``, ``sweep`` as on the command line."""
        from cairn.jupyter import Rows

        shown = self._call("show", flags)
        rows = Rows(shown["rows"])
        rows.columns = list(shown["columns"])
        return rows

    def pareto(self, objectives: Iterable[str], **flags: Any) -> dict[str, Any]:
        """The front (``front``: its lines) for ``objectives`` (``KEY:max``, ``KEY:min``);
        ``constraint``, ``margin``, ``group_by``, ``plot`` as on the command line."""
        from cairn.jupyter import Front

        return Front(self._call("pareto", {**flags, "objective": list(objectives)}))

    def plot(self, x: str, y: str, files: Iterable[str], **flags: Any) -> list[str]:
        """Draw ``y`` against ``x`` (``KEY[:max|min]``) into ``files``; their paths."""
        written: list[str] = self._call("plot", {**flags, "x": x, "y": y, "file": list(files)})[
            "pictures"
        ]
        return written

    def compare(self, other: str, **flags: Any) -> dict[str, Any]:
        """Result deltas against experiment ``other`` (or ``NAME@POINT``), and the
        environment's differences."""
        return self._call("compare", {**flags, "artifacts": [other]})

    def replay(self, **flags: Any) -> dict[str, Any]:
        """Run the points again (``point``, ``tolerance``, ``sweep``); raises when a point
        did not reproduce (the verdicts are in the error's ``outcome``)."""
        return self._call("replay", flags)

    def _call(self, action: str, flags: dict[str, Any], progress: bool = False) -> dict[str, Any]:
        i = {k: v for k, v in flags.items() if v is not None}
        i.update(action=action, automation="experiment", artifact=self.name)
        if progress:
            i["out"] = "con"
        with _quiet():
            return dict(dispatch.run(i).data)
