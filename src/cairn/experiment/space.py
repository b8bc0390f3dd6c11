"""The space a sweep explores: which values each key takes, and the points they make.

A *point* is an ordered mapping ``KEY -> value`` (str, int, float or bool). Keys are free text
(``batch_size``, ``env.OMP_NUM_THREADS``, ``variations``): the space does not interpret them.
Nothing here runs anything, and no user text is ever evaluated: CM's list literals are read
with :func:`ast.literal_eval` and everything else by the grammar below.

One key's values
----------------

On the command line, ``--explore.KEY=TEXT``; in a file, ``explore: {KEY: ...}``. TEXT is::

    fast                  one value
    a, b, c               a list; items are stripped; an item that reads as an int (``4``,
                          ``-2``) or a float (``0.5``, ``1e-3``) becomes one, anything else
                          stays text (``007``, ``true``, ``../data`` are text)
    1..8                  the integers 1 to 8, both ends included (step 1)
    8..1:-2               START..STOP:STEP, STOP included when the steps reach it: 8, 6, 4, 2
    0.1..0.5:0.1          floats too: 0.1, 0.2, 0.3, 0.4, 0.5 (computed in decimal, so no
                          0.30000000000000004 and no end lost to rounding)
    1..64:x2              START..STOP:xFACTOR, geometric: 1, 2, 4, 8, 16, 32, 64
    range(4)              CM's forms, for ``@explore.yaml`` files: Python's ``range`` with
    range(2, 10, 3)       one to three integers, the end excluded (0..3 and 2, 5, 8)
    [1, 2, 4]             a list or tuple literal of str, int, float or bool items

A list item cannot be a range (``1..4,8`` is an error), and a text that starts like a range
(``1..x4``) must be one. Values that come from JSON/YAML keep their types: a list is a list of
values, a number or a bool is one value. In a file a key may also take one of these mappings::

    {values: [fp32, int8]}                 a list
    {range: [0.001, 0.01, 0.003]}          start, stop (included), step (default 1)
    {geometric: [1e-5, 1e-2, 10]}          start, stop (included), factor
    {uniform: [0.0, 0.5]}                  a float drawn between low and high  (sample only)
    {loguniform: [1e-5, 1e-1]}             a float drawn log-uniformly (low > 0) (sample only)
    {randint: [2, 8]}                      an integer drawn, both ends included (sample only)

(PyYAML reads ``1e-5`` without a dot as text; the numbers of these mappings accept such text.)
An empty list, a range that yields nothing, a value given twice in one list (``1`` and ``"1"``
are two values) or more than :data:`LIMIT` values in one key are errors.

A space file (YAML or JSON; also the ``explore``, ``zip`` and ``sample`` keys of an input file)::

    explore:                     # crossed: every combination (a grid)
      batch_size: [1, 2, 4]
      threads: "1..8:x2"
      lr: {loguniform: [1e-5, 1e-1]}
    zip:                         # each group's keys advance together (equal lengths)
      - {model: [resnet50, bert], dataset: [imagenet, squad]}
    sample: {count: 20, seed: 7} # or `sample: 20` (seed 0)
    constant: {mode: fast}       # the same in every point

On the command line the zip groups and the sample are controls of their own
(:meth:`Space.from_cli`), and :meth:`Space.merged` lets its keys replace a file's. A space is
checked when it is built (forms, types, zip lengths, the limit of one key) and when it is
counted (:attr:`Space.size`, :meth:`Space.points`: the limit of points, a distribution or a
seed without a sample), so a file may hold a distribution whose sample the command line gives.

Points
------

Without a sample the points are the product of the dimensions: the crossed keys in the order
given, then the zip groups in the order given, the last varying fastest; each point's values
are in that order, then the constant keys. More than :data:`LIMIT` points is an error (counted,
never built).

With ``sample: {count: N, seed: S}`` each crossed list or range and each zip group picks one of
its elements, ``randint`` one of its integers, and ``uniform``/``loguniform`` draw a float
(rounded to 12 significant digits). The keys that pick (everything but the two continuous
distributions) make a finite space; N points are drawn from it without replacement, and when
N reaches its size every point is returned, in grid order. With ``uniform`` or ``loguniform``
keys, the finite part is used as evenly as possible (each combination ``N // size`` times, the
remainder drawn without replacement). Sampled points come in grid order of their picks. The
distributions need a sample; so does a seed.

What a seed guarantees: the same space (the same keys, forms and values, in the same order)
and the same seed give the same points on every machine and every Python release. All draws
come from :meth:`random.Random.random` seeded with the integer, the one sequence Python
promises not to change; integers are made from its 53-bit outputs by rejection (no
``randrange`` or ``sample``, whose algorithms may change), and ``loguniform`` values, which go
through the C library's ``log``/``exp``, are rounded to 12 significant digits so that a last-bit
difference between libraries does not show (unless a value falls exactly on a rounding
boundary). Changing the space (adding a value, reordering keys, another count) changes the
draws. Without a seed the seed is 0; a negative seed draws as its absolute value.

Each point has an id (:func:`point_id`): the first 16 hex digits of the sha256 of its canonical
JSON (sorted keys, no spaces, typed values: ``1``, ``1.0``, ``"1"`` and ``true`` differ), so a
resumed sweep recognises the points it has done. Repeating a point is the runner's business.
"""

from __future__ import annotations

import ast
import decimal
import hashlib
import itertools
import json
import math
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from cairn.errors import InvalidInput
from cairn.record import Defaulted, field

Scalar = str | int | float | bool
Number = int | float

LIMIT = 1_000_000
"""Most values one key may take, most points a space may have, largest sample."""
FORMS = ("values", "range", "geometric", "uniform", "loguniform", "randint")
DRAWN = ("uniform", "loguniform", "randint")
"""The forms that need a sample (distributions)."""
CONTINUOUS = ("uniform", "loguniform")
FILE_KEYS = ("explore", "zip", "sample", "constant")
TEXT_FORMS = (
    "accepted: a value; a,b,c; START..STOP; START..STOP:STEP; START..STOP:xFACTOR; "
    "range(STOP); range(START,STOP[,STEP]); [a, b, ...]"
)
DIGITS = 12
"""Significant digits of a drawn float."""

_NUM = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"({_NUM})\.\.({_NUM})(?::(x?)({_NUM}))?")
_RANGE_START = re.compile(rf"{_NUM}\.\.")
_PY_RANGE = re.compile(r"range\s*\((.*)\)", re.DOTALL)
_PY_RANGE_START = re.compile(r"range\s*\(")
_INT = re.compile(r"[-+]?\d+")
_LEADING_ZERO = re.compile(r"[-+]?0\d+")
_PRECISION = 60
"""Decimal digits for range arithmetic (inputs have at most 17 significant digits)."""
_TWO_53 = 9007199254740992.0
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


class Axis(Defaulted):
    """One key's values: ``form`` (one of :data:`FORMS`) and its ``args`` (the values, or
    start/stop/step, start/stop/factor, low/high); ``size`` is how many values it takes
    (``None`` for ``uniform``/``loguniform``)."""

    key: str
    form: str
    args: tuple[Scalar, ...]
    size: int | None

    @property
    def drawn(self) -> bool:
        return self.form in DRAWN

    def value(self, i: int) -> Scalar:
        """The ``i``-th value (0-based) of a finite form."""
        if self.form == "values":
            return self.args[i]
        if self.form == "randint":
            return int(self.args[0]) + i
        if self.form == "range":
            return _nth_step(self.args, i)
        return _nth_power(self.args, i)

    def values(self) -> list[Scalar]:
        """Every value of a finite form, in order."""
        if self.form == "values":
            return list(self.args)
        assert self.size is not None
        if all(isinstance(a, int) for a in self.args) and self.form in ("range", "randint"):
            start, step = int(self.args[0]), int(self.args[2]) if self.form == "range" else 1
            return list(range(start, start + self.size * step, step))
        return [self.value(i) for i in range(self.size)]

    def draw(self, rng: random.Random) -> float:
        """A ``uniform`` or ``loguniform`` value."""
        low, high = float(self.args[0]), float(self.args[1])
        u = rng.random()
        if self.form == "uniform":
            drawn = low + (high - low) * u
        else:
            drawn = math.exp(math.log(low) + (math.log(high) - math.log(low)) * u)
        return min(max(float(f"{drawn:.{DIGITS}g}"), low), high)

    def to_json(self) -> Any:
        return list(self.args) if self.form == "values" else {self.form: list(self.args)}


class Dimension(Defaulted):
    """One factor of the product: a crossed key (one axis) or a zip group (several axes of
    one size, advancing together)."""

    axes: tuple[Axis, ...]

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.axes]

    @property
    def zipped(self) -> bool:
        return len(self.axes) > 1

    @property
    def continuous(self) -> bool:
        return self.axes[0].form in CONTINUOUS

    @property
    def size(self) -> int | None:
        return self.axes[0].size

    def row(self, i: int) -> tuple[Scalar, ...]:
        return tuple(a.value(i) for a in self.axes)

    def rows(self) -> list[tuple[Scalar, ...]]:
        return list(zip(*(a.values() for a in self.axes), strict=True))


class Point(Defaulted):
    """One point of a space: its :func:`point_id` and its values, in the space's key order."""

    id: str
    values: dict[str, Any]

    @classmethod
    def of(cls, values: dict[str, Any]) -> Point:
        return cls(point_id(values), values)


def point_id(values: Mapping[str, Any]) -> str:
    """The first 16 hex digits of the sha256 of the canonical JSON of ``values``."""
    text = _CANONICAL.encode(dict(values))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Space(Defaulted):
    """The dimensions a sweep crosses, the keys fixed in every point, and the sample."""

    dimensions: tuple[Dimension, ...] = ()
    constant: dict[str, Scalar] = field(default_factory=dict)
    sample: int | None = None
    seed: int | None = None

    @classmethod
    def from_cli(
        cls,
        explore: Mapping[str, Any],
        *,
        zip: Sequence[Sequence[str]] = (),
        sample: int | None = None,
        seed: int | None = None,
    ) -> Space:
        """The space of ``--explore.KEY=VALUES`` (``explore``: KEY -> text, or a list, number
        or mapping from an input file), ``--zip`` groups of those keys, ``--sample``/``--seed``."""
        axes = {k: axis_of(k, v, f"--explore.{k}") for k, v in explore.items()}
        groups = _cli_groups(zip, axes)
        grouped = {k for group in groups for k in group.keys}
        crossed = [Dimension(axes=(a,)) for k, a in axes.items() if k not in grouped]
        return cls(
            dimensions=(*crossed, *groups),
            sample=_count(sample, "--sample"),
            seed=_seed(seed, "--seed"),
        )

    @classmethod
    def from_file(cls, path: Path) -> Space:
        """The space of a YAML or JSON space file."""
        from cairn import meta

        return cls.from_mapping(meta.load_file(path), str(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> Space:
        """The space of a mapping with the keys of a space file (:data:`FILE_KEYS`); ``where``
        names its source in errors (a file name)."""
        if not isinstance(data, Mapping):
            raise InvalidInput(f"{where}: a space must be a mapping, not {type(data).__name__}")
        for key in data:
            if key not in FILE_KEYS:
                raise InvalidInput(
                    f"{where}: unknown key {key!r}; use {', '.join(FILE_KEYS)}",
                    hint="a space file holds only these keys",
                )
        crossed = _mapping_of(data.get("explore"), f"{where}: explore")
        dims = [Dimension(axes=(axis_of(k, v, f"{where}: explore.{k}"),)) for k, v in crossed]
        dims += _file_groups(data.get("zip"), where)
        constant = _constant(data.get("constant"), where)
        _unique([*(k for d in dims for k in d.keys), *constant], where)
        sample, seed = _file_sample(data.get("sample"), where)
        return cls(dimensions=tuple(dims), constant=constant, sample=sample, seed=seed)

    @property
    def keys(self) -> list[str]:
        """The keys of every point, in order."""
        return [*(k for d in self.dimensions for k in d.keys), *self.constant]

    def merged(self, other: Space) -> Space:
        """This space (a file's) with ``other``'s keys (the command line's) replacing keys of
        the same name, and ``other``'s sample and seed where it has them.

        A replaced crossed key keeps its place; a key of a zip group can be replaced by a list
        or range of the group's length (the group keeps zipping), or the whole group by
        giving all its keys."""
        taken = set(other.keys)
        new = {d.axes[0].key: d.axes[0] for d in other.dimensions if not d.zipped}
        crossed: list[Dimension] = []
        zipped: list[Dimension] = []
        for dim in self.dimensions:
            if dim.zipped:
                zipped += _rezipped(dim, taken, new)
            elif dim.axes[0].key not in taken:
                crossed.append(dim)
            elif dim.axes[0].key in new:
                crossed.append(Dimension(axes=(new.pop(dim.axes[0].key),)))
        crossed += [Dimension(axes=(a,)) for a in new.values()]
        zipped += [d for d in other.dimensions if d.zipped]
        constant = {k: v for k, v in self.constant.items() if k not in taken}
        return Space(
            dimensions=(*crossed, *zipped),
            constant={**constant, **other.constant},
            sample=self.sample if other.sample is None else other.sample,
            seed=self.seed if other.seed is None else other.seed,
        )

    @property
    def size(self) -> int:
        """How many points :meth:`points` gives, counted without building them; errors for a
        space that cannot give points (a distribution or seed without a sample, too many)."""
        return self._count()

    def _count(self) -> int:
        self._check_sampling()
        finite = self._finite_size()
        if self.sample is None:
            if finite > LIMIT:
                raise InvalidInput(
                    f"the space has {_amount(finite)} points, more than {LIMIT:,}",
                    hint="explore fewer values, or sample it (sample: {count: N}, --sample=N)",
                )
            return finite
        if any(d.continuous for d in self.dimensions):
            return self.sample
        return min(self.sample, finite)

    def points(self) -> list[Point]:
        """The points, in the order documented at the top of this module."""
        self._count()
        keys = self.keys
        if self.sample is None:
            grid = itertools.product(*(d.rows() for d in self.dimensions))
            return [self._point(keys, rows) for rows in grid]
        return self._sampled(keys)

    def to_json(self) -> dict[str, Any]:
        """A description :meth:`from_mapping` reads back into the same space."""
        out: dict[str, Any] = {}
        crossed = {d.axes[0].key: d.axes[0].to_json() for d in self.dimensions if not d.zipped}
        groups = [{a.key: a.to_json() for a in d.axes} for d in self.dimensions if d.zipped]
        if crossed:
            out["explore"] = crossed
        if groups:
            out["zip"] = groups
        if self.sample is not None or self.seed is not None:
            out["sample"] = {"count": self.sample} if self.sample is not None else {}
            if self.seed is not None:
                out["sample"]["seed"] = self.seed
        if self.constant:
            out["constant"] = dict(self.constant)
        return out

    def _check_sampling(self) -> None:
        if self.sample is not None:
            return
        drawn = [a for d in self.dimensions for a in d.axes if a.drawn]
        if drawn:
            raise InvalidInput(
                f"explore.{drawn[0].key}: a {drawn[0].form} distribution needs a sample",
                hint="add sample: {count: N} to the space, or give --sample=N",
            )
        if self.seed is not None:
            raise InvalidInput(
                f"seed {self.seed} given without a sample",
                hint="give sample: {count: N} (--sample=N), or no seed",
            )

    def _finite_size(self) -> int:
        return math.prod(s for d in self.dimensions if (s := d.size) is not None)

    def _point(self, keys: list[str], rows: Sequence[tuple[Scalar, ...]]) -> Point:
        values = dict(zip(keys, itertools.chain(*rows, self.constant.values()), strict=True))
        return Point.of(values)

    def _sampled(self, keys: list[str]) -> list[Point]:
        assert self.sample is not None
        rng = random.Random(self.seed or 0)
        finite = [d for d in self.dimensions if not d.continuous]
        sizes = [d.size or 0 for d in finite]
        continuous = len(finite) < len(self.dimensions)
        indices = _picks(math.prod(sizes), self.sample, continuous, rng)
        points = []
        for index in indices:
            chosen = iter([d.row(i) for d, i in zip(finite, _digits(index, sizes), strict=True)])
            rows = [
                (d.axes[0].draw(rng),) if d.continuous else next(chosen) for d in self.dimensions
            ]
            points.append(self._point(keys, rows))
        return points


# -- one key's values ---------------------------------------------------------------------


def axis_of(key: str, value: Any, where: str) -> Axis:
    """The axis of ``value`` (text, a list, a scalar or a mapping form); ``where`` names the
    key in errors (``--explore.lr`` or ``space.yaml: explore.lr``)."""
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"{where}: a key must be non-empty text, not {key!r}")
    if isinstance(value, str):
        return _text_axis(key, value, where)
    if isinstance(value, list | tuple):
        return _values(key, list(value), where)
    if isinstance(value, Mapping):
        return _form_axis(key, value, where)
    if value is None:
        raise InvalidInput(f"{where}: no values given", hint=TEXT_FORMS)
    return _values(key, [value], where)


def _text_axis(key: str, text: str, where: str) -> Axis:
    body = text.strip()
    spot = f"{where}={text!r}"
    if not body:
        raise InvalidInput(f"{spot}: no values given", hint=TEXT_FORMS)
    if _PY_RANGE_START.match(body):
        return _python_range(key, body, spot)
    if body[0] in "[(":
        return _literal(key, body, spot)
    if "," in body:
        return _values(key, [_item(part, spot) for part in body.split(",")], spot)
    match = _RANGE.fullmatch(body)
    if match:
        start, stop, times, step = match.groups()
        if times:
            return _geometric(key, _number(start), _number(stop), _number(step), spot)
        return _steps(key, _number(start), _number(stop), _number(step or "1"), spot)
    if _RANGE_START.match(body):
        raise InvalidInput(f"{spot}: not a range", hint=TEXT_FORMS)
    return _values(key, [_item(body, spot)], spot)


def _item(part: str, spot: str) -> Scalar:
    """One item of a list text: an int or a float if it reads as one, else the text."""
    item = part.strip()
    if not item:
        raise InvalidInput(f"{spot}: an empty item", hint="separate values by single commas")
    if _RANGE.fullmatch(item):
        raise InvalidInput(
            f"{spot}: the item {item!r} is a range; a list cannot hold ranges",
            hint="give either a list or one range",
        )
    if _LEADING_ZERO.fullmatch(item) or not re.fullmatch(_NUM, item):
        return item
    return _number(item)


def _number(text: str) -> Number:
    """An int or a float of a text matching ``_NUM``."""
    return int(text) if _INT.fullmatch(text) else float(text)


def _python_range(key: str, body: str, spot: str) -> Axis:
    match = _PY_RANGE.fullmatch(body)
    parts = match.group(1).split(",") if match else []
    if not match or not 1 <= len(parts) <= 3 or not all(_INT.fullmatch(p.strip()) for p in parts):
        raise InvalidInput(f"{spot}: range() takes one to three integers", hint=TEXT_FORMS)
    numbers = [int(p) for p in parts]
    if len(numbers) > 2 and numbers[2] == 0:
        raise InvalidInput(f"{spot}: the step of a range cannot be 0")
    span = range(*numbers)
    if not span:
        raise InvalidInput(f"{spot}: the range is empty", hint="Python's range excludes the end")
    return _sized(key, "range", (span.start, span[-1], span.step), len(span), spot)


def _literal(key: str, body: str, spot: str) -> Axis:
    try:
        value = ast.literal_eval(body)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise InvalidInput(f"{spot}: not a list literal", hint=TEXT_FORMS) from None
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"{spot}: not a list or tuple literal", hint=TEXT_FORMS)
    return _values(key, list(value), spot)


def _values(key: str, items: list[Any], where: str) -> Axis:
    """A ``values`` axis: scalars, at least one, no value twice."""
    if not items:
        raise InvalidInput(f"{where}: an empty list", hint="give at least one value")
    if len(items) > LIMIT:
        raise InvalidInput(f"{where}: {len(items):,} values, more than {LIMIT:,}")
    seen: set[str] = set()
    for item in items:
        _check_scalar(item, where)
        typed = json.dumps(item)
        if typed in seen:
            raise InvalidInput(f"{where}: the value {item!r} is given twice")
        seen.add(typed)
    return Axis(key=key, form="values", args=tuple(items), size=len(items))


def _check_scalar(item: Any, where: str) -> None:
    if isinstance(item, float) and not math.isfinite(item):
        raise InvalidInput(f"{where}: {item!r} is not a finite number")
    if not isinstance(item, str | int | float):  # bool is an int
        raise InvalidInput(
            f"{where}: {item!r} is a {type(item).__name__}",
            hint="values are text, integers, floats or booleans",
        )


def _form_axis(key: str, value: Mapping[Any, Any], where: str) -> Axis:
    """The axis of a mapping form: ``{values: [...]}``, ``{range: [...]}``..."""
    if len(value) != 1:
        raise InvalidInput(
            f"{where}: a mapping must hold exactly one form, not {list(value)!r}",
            hint=f"use one of {', '.join(FORMS)}",
        )
    form, args = next(iter(value.items()))
    if form not in FORMS:
        raise InvalidInput(f"{where}: unknown form {form!r}; use {', '.join(FORMS)}")
    spot = f"{where}.{form}"
    if form == "values":
        if not isinstance(args, list | tuple):
            raise InvalidInput(f"{spot}: give a list of values, not {args!r}")
        return _values(key, list(args), spot)
    if form in ("range", "geometric"):
        numbers = [_numeric(a, spot) for a in _arg_list(args, spot, 2 if form == "range" else 3, 3)]
        make = _steps if form == "range" else _geometric
        return make(key, numbers[0], numbers[1], numbers[2] if len(numbers) > 2 else 1, spot)
    return _distribution(key, form, [_numeric(a, spot) for a in _arg_list(args, spot, 2, 2)], spot)


def _arg_list(args: Any, spot: str, least: int, most: int) -> list[Any]:
    if not isinstance(args, list | tuple) or not least <= len(args) <= most:
        count = str(least) if least == most else f"{least} to {most}"
        raise InvalidInput(f"{spot}: give a list of {count} items, not {args!r}")
    return list(args)


def _numeric(value: Any, spot: str) -> Number:
    """A number of a mapping form (numeric text such as YAML's ``1e-5`` included)."""
    if isinstance(value, str) and re.fullmatch(_NUM, value.strip()):
        return _number(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{spot}: {value!r} is not a number")
    if not math.isfinite(value):
        raise InvalidInput(f"{spot}: {value!r} is not a finite number")
    return value


def _distribution(key: str, form: str, bounds: list[Number], spot: str) -> Axis:
    low, high = bounds
    if form == "randint":
        if not all(isinstance(b, int) for b in bounds) or low > high:
            raise InvalidInput(f"{spot}: give two integers, low <= high, not {bounds!r}")
        return Axis(key=key, form=form, args=(low, high), size=int(high - low) + 1)
    if not low < high or (form == "loguniform" and low <= 0):
        need = "0 < low < high" if form == "loguniform" else "low < high"
        raise InvalidInput(f"{spot}: give low and high with {need}, not {bounds!r}")
    return Axis(key=key, form=form, args=(low, high), size=None)


def _sized(key: str, form: str, args: tuple[Number, ...], count: int, spot: str) -> Axis:
    """A range-like axis of ``count`` values, refused when empty or too long."""
    if count <= 0:
        raise InvalidInput(
            f"{spot}: the range is empty", hint="the steps must go from start towards stop"
        )
    if count > LIMIT:
        raise InvalidInput(f"{spot}: {_amount(count)} values, more than {LIMIT:,}")
    return Axis(key=key, form=form, args=args, size=count)


def _steps(key: str, start: Number, stop: Number, step: Number, spot: str) -> Axis:
    """``start``, ``start + step``, ... up to ``stop`` included, computed in decimal."""
    if step == 0:
        raise InvalidInput(f"{spot}: the step of a range cannot be 0")
    if all(isinstance(n, int) for n in (start, stop, step)):
        count = (int(stop) - int(start)) // int(step) + 1
    else:
        with decimal.localcontext() as ctx:
            ctx.prec = _PRECISION
            span = (_decimal(stop) - _decimal(start)) / _decimal(step)
            count = int(span.to_integral_value(rounding=decimal.ROUND_FLOOR)) + 1
    return _sized(key, "range", (start, stop, step), count, spot)


def _nth_step(args: tuple[Scalar, ...], i: int) -> Number:
    start, _, step = args
    if all(isinstance(a, int) for a in args):
        return int(start) + i * int(step)
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        return float(_decimal(start) + i * _decimal(step))


def _geometric(key: str, start: Number, stop: Number, factor: Number, spot: str) -> Axis:
    """``start``, ``start * factor``, ... up to ``stop`` (in size) included."""
    if start == 0 or stop == 0 or (start < 0) != (stop < 0):
        raise InvalidInput(f"{spot}: start and stop must be non-zero and of one sign")
    if factor <= 0 or factor == 1:
        raise InvalidInput(f"{spot}: the factor must be positive and not 1, not {factor!r}")
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        count = _power_count(abs(_decimal(start)), abs(_decimal(stop)), _decimal(factor))
    return _sized(key, "geometric", (start, stop, factor), count, spot)


def _power_count(low: Decimal, high: Decimal, factor: Decimal) -> int:
    """How many of ``low * factor**i`` (i = 0, 1, ...) lie between ``low`` and ``high``."""
    grows = factor > 1

    def past(i: int) -> bool:
        value = low * factor**i
        return value > high if grows else value < high

    if past(0):
        return 0
    estimate = (high / low).ln() / factor.ln()
    if estimate > LIMIT:
        return LIMIT + 1
    last = int(estimate)
    while last > 0 and past(last):
        last -= 1
    while not past(last + 1):
        last += 1
    return last + 1


def _nth_power(args: tuple[Scalar, ...], i: int) -> Number:
    start, _, factor = args
    if isinstance(start, int) and isinstance(factor, int):
        return int(start * factor**i)
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        return float(_decimal(start) * _decimal(factor) ** i)


def _decimal(number: Scalar) -> Decimal:
    """A float as the decimal it was written as (its shortest repr), an int exactly."""
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(int(number))


def _amount(count: int) -> str:
    return f"{count:,}" if count < 10**15 else f"about 10^{len(str(count)) - 1}"


# -- the parts of a space -----------------------------------------------------------------


def _mapping_of(value: Any, where: str) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: must be a mapping of keys, not {type(value).__name__}")
    return list(value.items())


def _zipped(axes: list[Axis], where: str) -> Dimension:
    """A zip group: at least two keys, lists or ranges of one length."""
    if len(axes) < 2:
        raise InvalidInput(f"{where}: a zip group needs at least two keys")
    for axis in axes:
        if axis.drawn:
            raise InvalidInput(f"{where}: {axis.key} is a {axis.form} distribution; zip lists")
    if len({a.size for a in axes}) > 1:
        lengths = ", ".join(f"{a.key} has {a.size}" for a in axes)
        raise InvalidInput(
            f"{where}: zipped keys need as many values each: {lengths}",
            hint="give each key of the group the same number of values",
        )
    return Dimension(axes=tuple(axes))


def _cli_groups(groups: Sequence[Sequence[str]], axes: Mapping[str, Axis]) -> list[Dimension]:
    seen: set[str] = set()
    dims = []
    for given in groups:
        group = [k.strip() for k in given.split(",")] if isinstance(given, str) else list(given)
        where = f"--zip {','.join(group)}"
        for key in group:
            if key not in axes:
                raise InvalidInput(f"{where}: {key} is not explored (give --explore.{key}=...)")
            if key in seen:
                raise InvalidInput(f"{where}: {key} is in two zip groups")
            seen.add(key)
        dims.append(_zipped([axes[k] for k in group], where))
    return dims


def _file_groups(value: Any, where: str) -> list[Dimension]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: zip: must be a list of mappings (groups of keys)")
    dims = []
    for n, group in enumerate(value):
        spot = f"{where}: zip[{n}]"
        keys = _mapping_of(group, spot)
        dims.append(_zipped([axis_of(k, v, f"{spot}.{k}") for k, v in keys], spot))
    return dims


def _constant(value: Any, where: str) -> dict[str, Scalar]:
    constant = dict(_mapping_of(value, f"{where}: constant"))
    for key, item in constant.items():
        if not isinstance(key, str) or not key:
            raise InvalidInput(f"{where}: constant: a key must be non-empty text, not {key!r}")
        _check_scalar(item, f"{where}: constant.{key}")
    return constant


def _unique(keys: list[str], where: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise InvalidInput(f"{where}: the key {key!r} is given twice (explore, zip, constant)")
        seen.add(key)


def _file_sample(value: Any, where: str) -> tuple[int | None, int | None]:
    spot = f"{where}: sample"
    if value is None or isinstance(value, int):
        return _count(value, spot), None
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{spot}: give a count or {{count: N, seed: S}}, not {value!r}")
    for key in value:
        if key not in ("count", "seed"):
            raise InvalidInput(f"{spot}: unknown key {key!r}; use count, seed")
    return _count(value.get("count"), f"{spot}.count"), _seed(value.get("seed"), f"{spot}.seed")


def _count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LIMIT:
        raise InvalidInput(f"{where}: the sample count must be an integer from 1 to {LIMIT:,}")
    return value


def _seed(value: Any, where: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidInput(f"{where}: a seed must be an integer, not {value!r}")
    return value


def _rezipped(dim: Dimension, taken: set[str], new: dict[str, Axis]) -> list[Dimension]:
    """A file's zip group after the command line's keys replaced some of its keys."""
    hit = [k for k in dim.keys if k in taken]
    if not hit:
        return [dim]
    if len(hit) == len(dim.keys):
        return []
    axes = [_replacement(a.key, dim, new) if a.key in taken else a for a in dim.axes]
    return [Dimension(axes=tuple(axes))]


def _replacement(key: str, dim: Dimension, new: dict[str, Axis]) -> Axis:
    """The command line's axis for ``key`` of a file's zip group: a list or range of the
    group's length."""
    axis = new.pop(key, None)
    if axis is None or axis.drawn or axis.size != dim.size:
        others = ", ".join(k for k in dim.keys if k != key)
        raise InvalidInput(
            f"explore.{key}: it is zipped with {others} ({dim.size} values each)",
            hint=f"give {key} {dim.size} values, or replace every key of the group",
        )
    return axis


# -- sampling -----------------------------------------------------------------------------


def _picks(total: int, count: int, continuous: bool, rng: random.Random) -> list[int]:
    """The grid indices of a sample of ``count`` points from a finite part of ``total``."""
    if count >= total and not continuous:
        return list(range(total))
    rounds, rest = divmod(count, total)
    every = list(range(total)) * rounds if rounds else []
    return sorted(every + list(_distinct(total, rest, rng)))


def _distinct(total: int, count: int, rng: random.Random) -> set[int]:
    """``count`` distinct integers below ``total`` (Floyd's algorithm: one draw each)."""
    chosen: set[int] = set()
    for top in range(total - count, total):
        pick = _below(rng, top + 1)
        chosen.add(top if pick in chosen else pick)
    return chosen


def _below(rng: random.Random, bound: int) -> int:
    """A uniform integer in ``[0, bound)`` from ``rng.random()`` alone (53 bits a call)."""
    bits = (bound - 1).bit_length()
    calls = -(-bits // 53)
    while True:
        number = 0
        for _ in range(calls):
            number = (number << 53) | int(rng.random() * _TWO_53)
        number >>= calls * 53 - bits
        if number < bound:
            return number


def _digits(index: int, sizes: list[int]) -> Iterator[int]:
    """The index of each dimension of a grid ``index`` (the last dimension varies fastest)."""
    digits = []
    for size in reversed(sizes):
        index, digit = divmod(index, size)
        digits.append(digit)
    return reversed(digits)
