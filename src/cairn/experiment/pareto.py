"""Pareto fronts over several objectives, optionally relaxed by ε-margins for noisy results.

Objectives are written ``KEY:SENSE[:MARGIN]``::

    Result:max          larger is better
    Power:min           smaller is better
    Latency:min:5%      a relative margin: 5 % of each point's own value
    Latency:min:0.3     an absolute margin: 0.3 in the key's own unit

The sense is required: there is no default, ``Result`` alone is refused. The last one or two
``:``-parts are the sense and the margin, so a key cannot contain ``:``.

Definitions (``p[j]`` is point ``p``'s value for objective ``j``):

* ``q`` *dominates* ``p`` when ``q`` is at least as good as ``p`` in every objective and
  strictly better in at least one. Identical points never dominate each other (both stay).
* The *exact front* is the set of points no other point dominates.
* Each objective has a margin: its own (``5%`` or ``0.3``), else the global relative
  ``margin`` given to :func:`front` or :func:`select` (``0.02`` for 2 %), else none.
  ``p`` *improved* is ``p`` with each ``p[j]`` moved in objective ``j``'s good direction (up
  for ``max``, down for ``min``) by ``|p[j]| * relative`` or by the absolute margin.
* With margins, ``p`` stays on the front unless some point dominates ``p`` improved: a point
  is dropped only when another one beats it by more than the margins allow. Without margins
  this is the exact front; with them it contains the exact front (whatever dominates ``p``
  improved also dominates ``p``), so noisy near-ties are kept rather than dropped unfairly.

How it is computed (pure Python). Objectives are turned into maximisations (``min`` values
negated). When ``q`` dominates ``p`` improved (call it ``t``), ``q >= t`` in every objective
and ``q != t``, so ``q`` comes before ``t`` in descending lexicographic order. Points and
the improved points are both sorted that way, and each improved point is asked about after
inserting exactly the points lexicographically greater than it: all of those have a first
value at least ``t[0]``, so what is left to ask is about the other objectives:

* 2 objectives: is the largest second value inserted so far ``>= t[1]``? O(n log n).
* 3 objectives: a staircase of the inserted (second, third) values (the pairs no other pair
  is at least as good as, in two lists searched with :mod:`bisect`) says whether some pair
  is ``>= (t[1], t[2])``. O(n log n) plus list moves that stay small unless most points
  are on the front.
* 1 or 4+ objectives: each point (in that order) is compared with the exact front found so
  far; then each dropped point's improved point with the exact front (any point dominating
  ``t`` is itself on the exact front or dominated by a point there). O(n * front size).

:func:`reference_front` is the definition written out in O(n²), to check the above against.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import ge
from typing import Any

from cairn.errors import InvalidInput
from cairn.experiment.query import number, text
from cairn.record import Defaulted, field

SENSES = ("max", "min")
OBJECTIVE_HINT = (
    "write KEY:max or KEY:min (which way is better), optionally with a margin: "
    "KEY:min:5% (relative) or KEY:min:0.3 (absolute, in the key's unit)"
)
MARGIN_HINT = "a margin is a fraction >= 0: 0.02 for 2 %"

Point = tuple[float, ...]


class Objective(Defaulted):
    """One objective: a key, its sense (``max`` or ``min``) and at most one own margin."""

    key: str
    sense: str
    relative: float | None = None
    absolute: float | None = None

    @classmethod
    def parse(cls, source: str) -> Objective:
        """Parse ``KEY:SENSE[:MARGIN]`` (see the module's docstring)."""
        if not isinstance(source, str):
            raise InvalidInput(f"objective {source!r} is not text", hint=OBJECTIVE_HINT)
        parts = [part.strip() for part in source.split(":")]
        if len(parts) == 1:
            raise InvalidInput(
                f"objective {source!r} has no sense: is larger or smaller better?",
                hint=OBJECTIVE_HINT,
            )
        if len(parts) > 3:
            raise InvalidInput(
                f"objective {source!r} has too many ':' (a key cannot contain ':')",
                hint=OBJECTIVE_HINT,
            )
        if not parts[0]:
            raise InvalidInput(f"objective {source!r} has no key", hint=OBJECTIVE_HINT)
        sense = parts[1].lower()
        if sense not in SENSES:
            raise InvalidInput(
                f"objective {source!r}: the sense {parts[1]!r} is neither max nor min",
                hint=OBJECTIVE_HINT,
            )
        relative, absolute = _own_margin(source, parts[2]) if len(parts) == 3 else (None, None)
        return cls(key=parts[0], sense=sense, relative=relative, absolute=absolute)

    @property
    def maximize(self) -> bool:
        return self.sense == "max"

    def __str__(self) -> str:
        if self.relative is not None:
            return f"{self.key}:{self.sense}:{self.relative * 100:.12g}%"
        if self.absolute is not None:
            return f"{self.key}:{self.sense}:{self.absolute!r}"
        return f"{self.key}:{self.sense}"


def _own_margin(source: str, raw: str) -> tuple[float | None, float | None]:
    """``5%`` -> relative 0.05; ``0.3`` -> absolute 0.3."""
    relative = raw.endswith("%")
    value = number(raw[:-1] if relative else raw)
    if value is None or value < 0:
        raise InvalidInput(
            f"objective {source!r}: the margin {raw!r} is not a number >= 0", hint=OBJECTIVE_HINT
        )
    return (value / 100, None) if relative else (None, value)


def _global_margin(margin: float | None) -> float:
    if margin is None:
        return 0.0
    value = None if isinstance(margin, bool) else number(margin)
    if value is None or value < 0:
        raise InvalidInput(f"margin={margin!r} is not a fraction >= 0", hint=MARGIN_HINT)
    return value


def _shifts(objectives: Sequence[Objective], margin: float) -> list[tuple[float, float]]:
    """Per objective, its (relative, absolute) margin: its own, else the global relative."""
    shifts = []
    for objective in objectives:
        if objective.relative is None and objective.absolute is None:
            shifts.append((margin, 0.0))
        else:
            shifts.append((objective.relative or 0.0, objective.absolute or 0.0))
    return shifts


# --- the front of points ------------------------------------------------------------------


def front(
    values: Sequence[Sequence[float]],
    objectives: Sequence[Objective],
    margin: float | None = None,
) -> list[bool]:
    """Per point, whether it is on the Pareto front (with margins: see the module's docstring).

    ``values[i][j]`` is point ``i``'s value for ``objectives[j]``; every value must be a
    finite number. ``margin`` is the relative margin of the objectives without their own.
    """
    objectives = _checked_objectives(objectives)
    shifts = _shifts(objectives, _global_margin(margin))
    if not values:
        return []
    columns = _columns(values, objectives)
    points: list[Point] = list(zip(*columns, strict=True))
    improved = _improved(columns, shifts)
    queries = points if improved is None else list(zip(*improved, strict=True))
    dominated = _SWEEPS.get(len(objectives), _dominated_generic)(points, queries)
    return [not d for d in dominated]


def _checked_objectives(objectives: Iterable[Objective]) -> tuple[Objective, ...]:
    checked = tuple(objectives)
    if not checked:
        raise InvalidInput("a Pareto front needs at least one objective", hint=OBJECTIVE_HINT)
    for objective in checked:
        if not isinstance(objective, Objective):
            raise InvalidInput(f"{objective!r} is not an Objective", hint="use Objective.parse")
    return checked


def _columns(values: Sequence[Sequence[float]], objectives: Sequence[Objective]) -> list[list[Any]]:
    """The values per objective, all turned into maximisations (``min`` values negated)."""
    width = len(objectives)
    for i, point in enumerate(values):
        if len(point) != width:
            raise InvalidInput(f"point {i} has {len(point)} values for {width} objectives")
    columns = [list(column) for column in zip(*values, strict=True)]
    for j, objective in enumerate(objectives):
        _check_finite(columns[j], objective)
        if not objective.maximize:
            columns[j] = [-v for v in columns[j]]
    return columns


def _check_finite(column: list[Any], objective: Objective) -> None:
    try:
        if all(map(math.isfinite, column)):
            return
    except (TypeError, OverflowError):
        pass
    for i, value in enumerate(column):
        if number(value) is None or isinstance(value, str):
            raise InvalidInput(
                f"point {i}: {objective.key} = {value!r} is not a finite number",
                hint="leave such points out (select() does, and counts them)",
            )


def _improved(columns: list[list[Any]], shifts: list[tuple[float, float]]) -> list[Any] | None:
    """The columns with each value moved up by its margin; None when no margin is set."""
    if not any(relative or absolute for relative, absolute in shifts):
        return None
    improved = []
    for column, (relative, absolute) in zip(columns, shifts, strict=True):
        if relative:
            column = [v + abs(v) * relative for v in column]
        if absolute:
            column = [v + absolute for v in column]
        improved.append(column)
    return improved


def _orders(points: list[Point], queries: list[Point]) -> tuple[list[Point], list[int]]:
    """The points in descending lexicographic order, and the queries' indices in that order."""
    asked = sorted(range(len(queries)), key=queries.__getitem__, reverse=True)
    if queries is points:
        return [points[i] for i in asked], asked
    return sorted(points, reverse=True), asked


def _dominated_2(points: list[Point], queries: list[Point]) -> list[bool]:
    """Two objectives: a running maximum of the second value."""
    inserted, asked = _orders(points, queries)
    dominated = [False] * len(queries)
    best, k, n = -math.inf, 0, len(inserted)
    for i in asked:
        query = queries[i]
        while k < n and inserted[k] > query:
            if inserted[k][1] > best:
                best = inserted[k][1]
            k += 1
        dominated[i] = best >= query[1]
    return dominated


def _dominated_3(points: list[Point], queries: list[Point]) -> list[bool]:
    """Three objectives: a staircase of the second and third values."""
    inserted, asked = _orders(points, queries)
    dominated = [False] * len(queries)
    ys: list[float] = []  # second values, ascending
    nzs: list[float] = []  # third values, negated: ascending too (they descend along ys)
    k, n = 0, len(inserted)
    for i in asked:
        query = queries[i]
        while k < n and inserted[k] > query:
            _climb(ys, nzs, inserted[k][1], inserted[k][2])
            k += 1
        j = bisect_left(ys, query[1])
        dominated[i] = j < len(ys) and nzs[j] <= -query[2]
    return dominated


def _climb(ys: list[float], nzs: list[float], y: float, z: float) -> None:
    """Add (y, z) to the staircase unless a pair there is at least as good in both; drop
    the pairs it is at least as good as."""
    i = bisect_left(ys, y)
    if i < len(ys) and nzs[i] <= -z:
        return
    end = i + 1 if i < len(ys) and ys[i] == y else i
    start = bisect_left(nzs, -z, 0, i)
    ys[start:end] = [y]
    nzs[start:end] = [-z]


def _dominated_generic(points: list[Point], queries: list[Point]) -> list[bool]:
    """Any number of objectives: compare with the exact front, O(n * front size)."""
    exact, dominated = _exact_front(points)
    if queries is not points:
        for i, query in enumerate(queries):
            if dominated[i]:
                dominated[i] = any(all(map(ge, f, query)) and f != query for f in exact)
    return dominated


def _exact_front(points: list[Point]) -> tuple[list[Point], list[bool]]:
    """The distinct points of the exact front, and per point whether it is dominated."""
    dominated = [False] * len(points)
    exact: list[Point] = []
    previous: Point | None = None
    beaten = False
    for i in sorted(range(len(points)), key=points.__getitem__, reverse=True):
        point = points[i]
        if point != previous:
            previous = point
            beaten = any(all(map(ge, f, point)) for f in exact)
            if not beaten:
                exact.append(point)
        dominated[i] = beaten
    return exact, dominated


_SWEEPS: dict[int, Callable[[list[Point], list[Point]], list[bool]]] = {
    2: _dominated_2,
    3: _dominated_3,
}


def reference_front(
    values: Sequence[Sequence[float]],
    objectives: Sequence[Objective],
    margin: float | None = None,
) -> list[bool]:
    """The definition point by point, O(n²): what :func:`front` is checked against."""
    objectives = _checked_objectives(objectives)
    shifts = _shifts(objectives, _global_margin(margin))
    stays = []
    for i, point in enumerate(values):
        target = [_improve(v, o, s) for v, o, s in zip(point, objectives, shifts, strict=True)]
        others = (q for k, q in enumerate(values) if k != i)
        stays.append(not any(_dominates(q, target, objectives) for q in others))
    return stays


def _improve(value: float, objective: Objective, shift: tuple[float, float]) -> float:
    step = abs(value) * shift[0] + shift[1]
    return value + step if objective.maximize else value - step


def _dominates(q: Sequence[float], p: Sequence[float], objectives: Sequence[Objective]) -> bool:
    no_worse, better = True, False
    for qj, pj, objective in zip(q, p, objectives, strict=True):
        if qj == pj:
            continue
        if (qj > pj) != objective.maximize:
            no_worse = False
        else:
            better = True
    return no_worse and better


# --- the front of rows --------------------------------------------------------------------


class FrontResult(Defaulted):
    """Which rows are on the front of their group, and which were left out (no number)."""

    on_front: tuple[bool, ...] = ()
    left_out: tuple[int, ...] = ()
    missing: dict[str, int] = field(default_factory=dict)
    groups: int = 0

    @property
    def indices(self) -> tuple[int, ...]:
        """The indices of the rows on the front."""
        return tuple(i for i, on in enumerate(self.on_front) if on)

    def warning(self) -> str:
        """One line for the caller to show when rows were left out ("" when none were)."""
        if not self.left_out:
            return ""
        keys = ", ".join(f"{key} ({n})" for key, n in self.missing.items())
        return (
            f"{len(self.left_out)} of {len(self.on_front)} rows left out of the Pareto front:"
            f" no number for {keys}"
        )


def select(
    rows: Iterable[Mapping[str, Any]],
    objectives: Sequence[Objective],
    *,
    margin: float | None = None,
    group_by: Sequence[str] = (),
) -> FrontResult:
    """The front of each group of rows (rows with the same text for the ``group_by`` keys;
    no such key is a group of its own). Values that read as numbers count (see
    :func:`cairn.experiment.query.number`); a row without one for some objective is left out
    and counted per key."""
    objectives = _checked_objectives(objectives)
    _global_margin(margin)
    members: dict[tuple[str | None, ...], list[int]] = {}
    points: dict[int, list[float]] = {}
    left_out: list[int] = []
    missing = dict.fromkeys((o.key for o in objectives), 0)
    keys = [o.key for o in objectives]
    count = 0
    for index, row in enumerate(rows):
        count += 1
        values = [_number(row.get(key)) for key in keys]
        if None in values:
            left_out.append(index)
            for objective, value in zip(objectives, values, strict=True):
                missing[objective.key] += value is None
            continue
        points[index] = [v for v in values if v is not None]
        members.setdefault(_group(row, group_by) if group_by else (), []).append(index)
    return FrontResult(
        on_front=_flags(count, members, points, objectives, margin),
        left_out=tuple(left_out),
        missing={key: n for key, n in missing.items() if n},
        groups=len(members),
    )


def _number(value: Any) -> float | None:
    """:func:`cairn.experiment.query.number`, with a float read at once (most values are)."""
    if value.__class__ is float and math.isfinite(value):
        return value
    return number(value)


def _group(row: Mapping[str, Any], group_by: Sequence[str]) -> tuple[str | None, ...]:
    return tuple(None if row.get(k) is None else text(row.get(k)) for k in group_by)


def _flags(
    count: int,
    members: Mapping[tuple[str | None, ...], list[int]],
    points: Mapping[int, list[float]],
    objectives: Sequence[Objective],
    margin: float | None,
) -> tuple[bool, ...]:
    flags = [False] * count
    for indices in members.values():
        on = front([points[i] for i in indices], objectives, margin)
        for index, flag in zip(indices, on, strict=True):
            flags[index] = flag
    return tuple(flags)
