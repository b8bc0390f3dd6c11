"""An experiment's rows as a table: one line per point, repeats aggregated.

Rows that share a sweep and a ``point`` id (the repeats of one point) become one line: a
numeric result is their **median**, with its spread (``min``, ``max``, ``n``) kept beside it;
any other result is the value most runs gave; ``status`` is ``ok``, ``failed``, or
``2/3 ok``; ``seconds`` is the median duration; ``runs`` lists the run records. Rows with no
``point`` (CM's own rows) are lines as they are.

Columns: for a cairn sweep, the explored inputs, then the results, then ``status``,
``seconds`` (and ``n`` with repeats, ``sweep`` with several sweeps). For rows written by CM,
whose inputs are not known, the keys whose values differ between rows, short values
first, as many as are readable (``--columns`` names them exactly).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from cairn.experiment import results
from cairn.record import Defaulted, FrozenRecord, field, init

SWEEP = "sweep"
N = "repeats"
RUNS = "runs"
MAX_DEFAULT_COLUMNS = 8
_LONG = 48
_NAME_LONG = 80
_SKIP_DEFAULT = frozenset({"uid", "iso_datetime", "url", "git_url", "Location", "notes", "error"})


class Line(FrozenRecord):
    """One point (or one CM row): its values and the spread of each aggregated number.
    (A hand-written record: one is made per row, 100,000 for a large experiment.)"""

    _fields = ("values", "spread")
    __slots__ = _fields
    values: dict[str, Any]
    spread: dict[str, tuple[float, float, int]]

    def __init__(
        self, values: dict[str, Any], spread: dict[str, tuple[float, float, int]] | None = None
    ) -> None:
        init(self, values, {} if spread is None else spread)


class Table(Defaulted):
    """Lines and the columns to show (``inputs`` and ``results`` name what they are)."""

    lines: list[Line]
    columns: list[str]
    inputs: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # every key of the lines


def aggregate(rows: Sequence[dict[str, Any]], inputs: Sequence[str] = ()) -> Table:
    """The table of ``rows`` (each may carry ``sweep``): repeats folded, columns chosen."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for i, row in enumerate(rows):
        key = (row.get(SWEEP), row["point"]) if row.get("point") else ("row", i)
        groups.setdefault(key, []).append(row)
    lines = [_fold(group) for group in groups.values()]
    keys = _keys(rows)
    result_keys = [k for k in keys if k not in inputs and k not in NOT_RESULTS]
    if inputs:
        columns = [*inputs, *result_keys, "status", "seconds"]
        if any(line.values.get("error") for line in lines):
            columns.append("error")
        if any(row.get("worker") for row in rows):
            columns.insert(len(columns) - ("error" in columns), "worker")
        if any(len(g) > 1 for g in groups.values()):
            columns.append(N)
    else:
        columns = default_columns(lines, keys)
    if len({r.get(SWEEP) for r in rows}) > 1:
        columns.insert(0, SWEEP)
    every = _keys(line.values for line in lines)
    return Table(lines=lines, columns=columns, inputs=list(inputs), results=result_keys, keys=every)


NOT_RESULTS = frozenset({*results.RESERVED, SWEEP, N, RUNS})


def _keys(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every key of ``rows``, in the order they first appear."""
    return list(dict.fromkeys(chain.from_iterable(rows)))


def _fold(group: list[dict[str, Any]]) -> Line:
    if len(group) == 1 and not group[0].get("point"):
        return Line(values=dict(group[0]))
    values: dict[str, Any] = {}
    spread: dict[str, tuple[float, float, int]] = {}
    for key in _keys(group):
        if key in _PER_RUN:
            continue
        found = [r[key] for r in group if r.get(key) is not None]
        if not found:
            continue
        numbers = [results.number(v) for v in found]
        if len({_hashable(v) for v in found}) == 1:
            values[key] = found[0]
        elif all(n is not None for n in numbers):
            nums = [n for n in numbers if n is not None]
            values[key] = statistics.median(nums)
            spread[key] = (min(nums), max(nums), len(nums))
        else:
            values[key] = Counter(map(_hashable, found)).most_common(1)[0][0]
    values.update(_bookkeeping(group))
    return Line(values=values, spread=spread)


_PER_RUN = frozenset({"status", "run", "uid", "repeat", "error", "iso_datetime", "worker"})


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) else repr(value)


def _bookkeeping(group: list[dict[str, Any]]) -> dict[str, Any]:
    ok = sum(1 for r in group if r.get("status") == results.OK)
    status = (
        results.OK if ok == len(group) else results.FAILED if not ok else f"{ok}/{len(group)} ok"
    )
    errors = [r["error"] for r in group if r.get("error")]
    workers = list(dict.fromkeys(str(r["worker"]) for r in group if r.get("worker")))
    return {
        "status": status,
        "error": errors[0] if errors else None,
        **({"worker": ", ".join(workers)} if workers else {}),
        N: len(group),
        RUNS: [r.get("run") for r in group if r.get("run")],
        "uid": group[0].get("uid"),
    }


def default_columns(lines: Sequence[Line], keys: Sequence[str]) -> list[str]:
    """For rows of unknown shape: the naming key first (:func:`naming_keys`), then keys that
    differ between lines, with short values, each saying something the chosen ones do not
    (``Accuracy_div_100`` adds nothing to ``Accuracy``)."""
    naming = naming_keys(lines, keys)[:1]
    chosen: list[str] = list(naming)
    columns: dict[str, list[Any]] = {}
    for key in keys:
        if key in chosen or key in _SKIP_DEFAULT or key in NOT_RESULTS:
            continue
        values = columns[key] = _column(lines, key)
        distinct = set(values)
        if len(distinct) < 2 and len(lines) > 1:
            continue
        if _too_long(distinct):
            continue
        if any(_repeats(values, columns[c]) for c in chosen if c not in naming):
            continue
        chosen.append(key)
    return chosen[:MAX_DEFAULT_COLUMNS]


_PLAIN = frozenset({str, int, float, bool})  # None is shown by _hashable as "None"


def _column(lines: Sequence[Line], key: str) -> list[Any]:
    """The values of ``key``, hashable (:func:`_hashable`), one per line."""
    values = [line.values.get(key) for line in lines]
    return [v if v.__class__ in _PLAIN else _hashable(v) for v in values]


def _too_long(distinct: Iterable[Any]) -> bool:
    """Whether some value is too long to read in a column (a float's text never is)."""
    return any(len(str(v)) > _LONG for v in distinct if v.__class__ is not float)


def naming_keys(lines: Sequence[Line], keys: Sequence[str]) -> list[str]:
    """Keys whose text names a line best: text values (not numbers), short enough to read,
    most distinct values first (``SystemName`` for MLPerf's rows)."""
    scored = []
    for i, key in enumerate(keys):
        if key in _SKIP_DEFAULT or key in NOT_RESULTS:
            continue
        values = [line.values.get(key) for line in lines]
        if not values or not all(v.__class__ is str for v in values):
            continue
        distinct: set[str] = set(values)  # type: ignore[arg-type]  # all text, checked above
        if max(map(len, distinct)) > _NAME_LONG:
            continue
        if any(results.number(t) is not None for t in distinct):
            continue
        scored.append((-len(distinct), i, key))
    return [key for _, _, key in sorted(scored)]


def _repeats(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether column ``a`` says what ``b`` says: values of one kind (numbers or text), each
    value of one going with one value of the other and back, and some values shared by
    several lines (with all values distinct nothing can be told)."""
    if len(set(a)) == len(a):
        return False
    kinds = {isinstance(v, (int, float)) for v in (*a, *b) if v is not None}
    if len(kinds) > 1:
        return False
    return len(set(a)) == len(set(b)) == len(set(zip(a, b, strict=True)))


def cell(line: Line, key: str) -> str:
    """A value as the console table shows it (a median with its range)."""
    value = line.values.get(key)
    if value is None:
        return "-"
    if key == "seconds" and isinstance(value, (int, float)):
        text = f"{value:.3f}"
    elif key == "error":
        text = _error_text(str(value))
    else:
        text = _number_text(value) if isinstance(value, float) else _one_line(value)
    if key in line.spread:
        low, high, _ = line.spread[key]
        shown = (f"{v:.3f}" if key == "seconds" else _number_text(v) for v in (low, high))
        text += " [{}..{}]".format(*shown)
    return text


def _error_text(error: str) -> str:
    """An error in a cell: its last line (a failed script's output ends with the cause),
    without the pointer to the full log."""
    lines = [line for line in error.splitlines() if line.strip()]
    if not lines:
        return "-"
    last = lines[-1].strip(" |")
    cut = last.rfind(" (full output in ")
    return last[:cut] if cut > 0 else last


def _one_line(value: Any) -> str:
    text = str(value)
    return text.splitlines()[0] if "\n" in text else text


def _number_text(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def render(
    table: Table, lines: Sequence[Line] | None = None, columns: Sequence[str] | None = None
) -> list[str]:
    """The table as aligned text."""
    cols = list(columns or table.columns)
    shown = list(table.lines if lines is None else lines)
    grid = [cols] + [[_short(cell(line, c)) for c in cols] for line in shown]
    widths = [max(len(r[i]) for r in grid) for i in range(len(cols))]
    out = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in grid]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def _short(text: str) -> str:
    return text if len(text) <= 48 else text[:45] + "..."


def csv_text(lines: Sequence[Line], columns: Sequence[str]) -> str:
    """The lines as CSV (medians; the spread of each aggregated number in ``KEY.min`` and
    ``KEY.max`` columns)."""
    import csv
    import io

    spread_keys = [c for c in columns if any(c in line.spread for line in lines)]
    header = [*columns, *(f"{k}.{e}" for k in spread_keys for e in ("min", "max"))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for line in lines:
        row = [_csv_value(line.values.get(c)) for c in columns]
        for key in spread_keys:
            low, high, _ = line.spread.get(key, (None, None, 0))
            row += [_csv_value(low), _csv_value(high)]
        writer.writerow(row)
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value)
    return value


def line_json(line: Line) -> dict[str, Any]:
    data = dict(line.values)
    if line.spread:
        data["spread"] = {k: {"min": a, "max": b, "n": n} for k, (a, b, n) in line.spread.items()}
    return data
