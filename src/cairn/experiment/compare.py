"""Two experiments (or two points) side by side: result deltas next to what differed in the
environment that produced them.

Lines of A and B are matched by the values of the ``by`` keys (default: the explored inputs
both experiments share). For every matched pair and every result both carry as a number,
a :class:`Delta` gives A, B, B - A and the relative change. Lines on one side only are
counted. The environment of each side is read from one of its points' run (its lock, kept
in the point's step folder, or its run record) and compared with
:func:`cairn.runs.diff.compare`: host, repositories, inputs, script versions and content.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cairn.errors import InvalidInput
from cairn.experiment import results, table, tasks
from cairn.record import Defaulted, field

_BOOK = table.NOT_RESULTS


class Delta(Defaulted):
    """One result of a matched pair of lines."""

    key: str
    a: Any
    b: Any
    change: float | None = None  # b - a, when both are numbers
    relative: float | None = None  # (b - a) / |a|

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "a": self.a,
            "b": self.b,
            "change": self.change,
            "relative": self.relative,
        }


class Pair(Defaulted):
    """Lines of A and B with equal ``by`` values, and their result deltas."""

    match: dict[str, Any]
    deltas: list[Delta] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"match": self.match, "deltas": [d.to_json() for d in self.deltas]}


class Comparison(Defaulted):
    by: list[str]
    pairs: list[Pair]
    only_a: int = 0
    only_b: int = 0
    environment: Any = None  # a cairn.runs.diff.Diff, or None when a side has no run to read
    notes: list[str] = field(default_factory=list)


def match_keys(a: table.Table, b: table.Table, by: Sequence[str]) -> list[str]:
    """The keys lines are matched by: ``by``, else the inputs both sides explored."""
    if by:
        return list(by)
    shared = [k for k in a.inputs if k in b.inputs]
    if shared:
        return shared
    raise InvalidInput(
        "the two sides have no explored inputs in common to match their points by",
        hint="name the keys that identify a point: --by=SystemName,Model",
    )


def pairs(a: table.Table, b: table.Table, by: Sequence[str]) -> tuple[list[Pair], int, int]:
    """Matched lines with their deltas, and how many lines of A and of B had no match.
    Lines with equal ``by`` values on one side are matched in order (first with first)."""
    index: dict[str, list[table.Line]] = {}
    for line in b.lines:
        index.setdefault(_key(line, by), []).append(line)
    found, unmatched_a = [], 0
    for line in a.lines:
        waiting = index.get(_key(line, by))
        if not waiting:
            unmatched_a += 1
            continue
        other = waiting.pop(0)
        match = {k: line.values.get(k) for k in by}
        found.append(Pair(match=match, deltas=deltas(line, other, by)))
    return found, unmatched_a, sum(len(v) for v in index.values())


def ambiguous(t: table.Table, by: Sequence[str]) -> int:
    """How many lines of ``t`` share their ``by`` values with an earlier line."""
    keys = [_key(line, by) for line in t.lines]
    return len(keys) - len(set(keys))


def _key(line: table.Line, by: Sequence[str]) -> str:
    return json.dumps([line.values.get(k) for k in by], default=str)


def deltas(a: table.Line, b: table.Line, by: Sequence[str] = ()) -> list[Delta]:
    """Every result key either line has (inputs and bookkeeping left out)."""
    keys = [k for k in {**a.values, **b.values} if k not in by and k not in _SKIP]
    return [_delta(k, a.values.get(k), b.values.get(k)) for k in keys]


_SKIP = _BOOK - {"seconds"}


def _delta(key: str, a: Any, b: Any) -> Delta:
    x, y = results.number(a), results.number(b)
    if x is None or y is None:
        return Delta(key=key, a=a, b=b)
    relative = (y - x) / abs(x) if x else None
    return Delta(key=key, a=a, b=b, change=y - x, relative=relative)


def run_side(row: dict[str, Any], sweep_folder: Path, records: Path, label: str) -> Any:
    """A row's run as :mod:`cairn.runs.diff` reads it: the lock in its step folder, else its
    run record; None when neither is there (a CM row)."""
    from cairn.runs import diff, lock
    from cairn.runs import records as run_records

    step = sweep_folder / str(row.get("uid") or "-")
    if (step / tasks.LOCK_FILE).is_file():
        return diff.lock_side(lock.read(step / tasks.LOCK_FILE), label)
    run = row.get("run")
    if run and (records / str(run) / run_records.RECORD_FILE).is_file():
        return diff.record_side(run_records.load(records / str(run)), label)
    return None


def lines(result: Comparison, a_name: str, b_name: str) -> list[str]:
    """The comparison for a person: one block per matched point, then the environment."""
    by = ", ".join(result.by) or "(the two points)"
    out = [f"A: {a_name}", f"B: {b_name}", f"matched by: {by}"]
    for pair in result.pairs:
        shown = [d for d in pair.deltas if d.a != d.b]
        head = " ".join(f"{k}={v}" for k, v in pair.match.items()) or "A and B"
        out.append("")
        out.append(f"{head}: " + ("same results" if not shown else f"{len(shown)} differ"))
        out += [f"  {_delta_text(d)}" for d in shown]
    if result.only_a or result.only_b:
        out += ["", f"points only in A: {result.only_a}; only in B: {result.only_b}"]
    out += result.notes
    return out


def _delta_text(d: Delta) -> str:
    text = f"{d.key}: {_value(d.a)} -> {_value(d.b)}"
    if d.change is not None:
        text += f" ({d.change:+.6g}"
        text += f", {d.relative:+.1%})" if d.relative is not None else ")"
    return text


def _value(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."
