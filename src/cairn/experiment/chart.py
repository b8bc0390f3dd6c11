"""The scatter drawn as inline SVG, without matplotlib: what the HTML page shows before (and
without) JavaScript, and the geometry its script redraws on zoom and pan.

Coordinates: the chart is :data:`WIDTH` x :data:`HEIGHT` user units (a ``viewBox``; the page
scales it); the data sit in the :class:`Frame`. An axis maps a value ``v`` through
``t(v) = log10(v)`` on a log axis, ``v`` otherwise, and its :class:`Span` (``low``, ``high``
in ``t`` units) onto the frame. Ticks are 1, 2 or 5 times a power of ten on a linear axis;
on a log axis whole decades (every few decades on a wide axis), with 2 and 5 in between on
an axis under three decades, and linear ticks on one under a decade. The page's script
(``page.js``) implements the same rules; keep the two in step.

Every text is escaped here; the element classes (``mark``, ``front-line``, ``front-no``,
``ticks``) are what the script and the stylesheet look for.
"""

from __future__ import annotations

import math
from html import escape

from cairn.experiment.plots import (
    NO_POINTS,
    PlotPoint,
    Scatter,
    axis_label,
    colour,
    front_path,
    group_names,
    tick_text,
)
from cairn.record import Defaulted

WIDTH, HEIGHT = 720, 450
PAD = 0.05
"""The room left around the points, as a fraction of each axis' span."""
FRONT_RADIUS, OTHER_RADIUS = 6.0, 4.0


class Frame(Defaulted):
    """The rectangle the data are drawn in."""

    left: float = 72.0
    top: float = 14.0
    width: float = WIDTH - 72.0 - 16.0
    height: float = HEIGHT - 14.0 - 54.0


class Span(Defaulted):
    """One axis: its visible range in ``t`` units and whether it is logarithmic."""

    low: float
    high: float
    log: bool = False

    def t(self, value: float) -> float:
        return math.log10(value) if self.log else value

    def fraction(self, value: float) -> float:
        """Where ``value`` falls, 0 at ``low`` and 1 at ``high``."""
        return (self.t(value) - self.low) / (self.high - self.low)


FRAME = Frame()


def span(values: list[float], log: bool) -> Span:
    """The range that shows ``values`` with :data:`PAD` around them (a whole unit, or a
    decade on a log axis, around a single value; 0..1 for no value)."""
    if not values:
        return Span(0.0, 1.0, log)
    ts = [math.log10(v) if log else v for v in values]
    low, high = min(ts), max(ts)
    if high == low:
        half = 0.5 if log else max(abs(low) * 0.1, 1.0)
        return Span(low - half, high + half, log)
    pad = (high - low) * PAD
    return Span(low - pad, high + pad, log)


def ticks(axis: Span) -> list[float]:
    """The tick values (data units, not ``t``) inside ``axis`` (see the module docstring)."""
    if not axis.log:
        return linear_ticks(axis.low, axis.high)
    decades = axis.high - axis.low
    if decades < 1:
        return linear_ticks(10**axis.low, 10**axis.high)
    every = max(1, math.ceil(decades / 8))
    first, last = math.ceil(axis.low), math.floor(axis.high)
    found = [10.0**d for d in range(first, last + 1) if d % every == 0]
    if decades < 3:
        between = [m * 10.0**d for d in range(first - 1, last + 1) for m in (2, 5)]
        found += [v for v in between if axis.low <= math.log10(v) <= axis.high]
    return sorted(found)


_SLACK = 1e-9
"""How far past a bound (in steps) a tick still counts as on it: 0.7 / 0.1 is 6.999..."""


def linear_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """About ``count`` round values between ``low`` and ``high``."""
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - _SLACK)
    last = math.floor(high / step + _SLACK)
    return [float(f"{k * step:.12g}") for k in range(first, last + 1)]


def render(scatter: Scatter, points: list[PlotPoint], xs: Span, ys: Span) -> str:
    """The ``<svg>`` element of the chart: frame, ticks, axis labels, lines, marks."""
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="group" '
        f'aria-label="{_attr(scatter.x_key)} against {_attr(scatter.y_key)}">',
        _defs(),
        f'<rect class="frame" x="{FRAME.left}" y="{FRAME.top}" '
        f'width="{FRAME.width}" height="{FRAME.height}"/>',
        _tick_group(xs, ys),
        _axis_labels(scatter),
        _data_group(scatter, points, xs, ys) if points else _empty(),
        "</svg>",
    ]
    return "\n".join(parts)


def _defs() -> str:
    box = f'x="{FRAME.left}" y="{FRAME.top}" width="{FRAME.width}" height="{FRAME.height}"'
    return f'<defs><clipPath id="cairn-clip"><rect {box}/></clipPath></defs>'


def _tick_group(xs: Span, ys: Span) -> str:
    """Grid lines and tick labels of both axes (the script rebuilds this group)."""
    lines = ['<g class="ticks">']
    bottom, right = FRAME.top + FRAME.height, FRAME.left + FRAME.width
    for value in ticks(xs):
        x = _px(xs, value)
        lines.append(f'<line class="grid" x1="{x}" y1="{FRAME.top}" x2="{x}" y2="{bottom}"/>')
        lines.append(f'<text class="tick x" x="{x}" y="{bottom + 18}">{tick_text(value)}</text>')
    for value in ticks(ys):
        y = _py(ys, value)
        lines.append(f'<line class="grid" x1="{FRAME.left}" y1="{y}" x2="{right}" y2="{y}"/>')
        lines.append(
            f'<text class="tick y" x="{FRAME.left - 8}" y="{y + 4}">{tick_text(value)}</text>'
        )
    lines.append("</g>")
    return "\n".join(lines)


def _axis_labels(scatter: Scatter) -> str:
    x_text = escape(axis_label(scatter.x_key, scatter.x_sense, "x"))
    y_text = escape(axis_label(scatter.y_key, scatter.y_sense, "y"))
    centre_x = FRAME.left + FRAME.width / 2
    centre_y = FRAME.top + FRAME.height / 2
    return (
        f'<text class="axis-label" x="{centre_x}" y="{HEIGHT - 12}">{x_text}</text>\n'
        f'<text class="axis-label" transform="translate(18 {centre_y}) rotate(-90)">'
        f"{y_text}</text>"
    )


def _data_group(scatter: Scatter, points: list[PlotPoint], xs: Span, ys: Span) -> str:
    """Faint marks first, then the front lines, then the front marks and their numbers."""
    names = group_names(points)
    numbers = front_numbers(points)
    parts = ['<g class="data" clip-path="url(#cairn-clip)">']
    for i, point in enumerate(points):
        if not point.on_front:
            parts.append(_mark(i, point, names, 0, xs, ys))
    for g, name in enumerate(names):
        front = [p for p in points if p.group == name and p.on_front]
        parts.append(_front_line(g, front_path(front, scatter.x_sense, scatter.y_sense), xs, ys))
    for i, point in enumerate(points):
        if point.on_front:
            parts.append(_mark(i, point, names, numbers[i], xs, ys))
    parts.append("</g>")
    return "\n".join(parts)


def front_numbers(points: list[PlotPoint]) -> dict[int, int]:
    """Each front point's number (1, 2, ... by x, then y) by its index in ``points``; the
    page's front table lists them in that order."""
    front = sorted((p.x, p.y, i) for i, p in enumerate(points) if p.on_front)
    numbers = {i: n for n, (_x, _y, i) in enumerate(front, 1)}
    return {i: numbers.get(i, 0) for i in range(len(points))}


def _mark(index: int, point: PlotPoint, names: list[str], number: int, xs: Span, ys: Span) -> str:
    g = names.index(point.group)
    x, y = _px(xs, point.x), _py(ys, point.y)
    kind = "mark front" if point.on_front else "mark"
    radius = FRONT_RADIUS if point.on_front else OTHER_RADIUS
    mark = (
        f'<circle class="{kind}" data-i="{index}" data-g="{g}" cx="{x}" cy="{y}" r="{radius}" '
        f'fill="{colour(g)}" tabindex="0" aria-label="{_attr(point.label)}">'
        f"<title>{escape(hover_text(point))}</title></circle>"
    )
    if not number:
        return mark
    return mark + (
        f'\n<text class="front-no" data-i="{index}" x="{x + 8}" y="{y - 8}">{number}</text>'
    )


def hover_text(point: PlotPoint) -> str:
    """What a point's ``<title>`` says without JavaScript: its label, then its info."""
    lines = [point.label] + [f"{key}: {value}" for key, value in point.info.items()]
    return "\n".join(lines)


def _front_line(group: int, path: list[tuple[float, float]], xs: Span, ys: Span) -> str:
    if len(path) < 2:
        return ""
    steps = " L".join(f"{_px(xs, x)},{_py(ys, y)}" for x, y in path)
    return f'<path class="front-line" data-g="{group}" d="M{steps}" stroke="{colour(group)}"/>'


def _empty() -> str:
    x = FRAME.left + FRAME.width / 2
    y = FRAME.top + FRAME.height / 2
    return f'<text class="empty" x="{x}" y="{y}">{NO_POINTS}</text>'


def _px(xs: Span, value: float) -> float:
    return round(FRAME.left + xs.fraction(value) * FRAME.width, 2)


def _py(ys: Span, value: float) -> float:
    return round(FRAME.top + (1 - ys.fraction(value)) * FRAME.height, 2)


def _attr(text: str) -> str:
    return escape(text, quote=True)
