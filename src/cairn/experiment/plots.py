"""Pictures of experiment results: a scatter of two result keys with the Pareto front drawn.

The experiment's result and Pareto code builds a :class:`Scatter` of :class:`PlotPoint`
records (which points are on the front is decided there); this module draws it:

* :func:`write_image` -- a PNG or an SVG, chosen by the file's suffix, drawn with matplotlib
  (the ``plot`` extra, imported only here); the same scatter gives the same bytes;
* :func:`write_html` -- one self-contained page that works offline, readable without
  JavaScript and interactive with it (:mod:`cairn.experiment.page`).

What both draw:

* one colour per legend group (groups in the order they first appear; ``""`` is "no group");
  points on the front are larger, solid and outlined, the others faint;
* each group's front as a line through its front points, sorted by x. With both senses
  known it is a staircase bounding the region the front dominates: where x is maximised a
  step goes vertically first, then across; where x is minimised, across first. Without
  both senses it is a straight line;
* axis labels that say the sense: ``Power (lower is better ↓)``;
* the notes as a caption. Points that cannot be placed (a coordinate that is not a finite
  number, or not above 0 on a log axis) are left out and a note counts them.

A scatter with no points is not an error: the picture is an empty frame saying "no points
to show" above its notes (which say why, e.g. every run failed), so a sweep always gets its
page and its caption.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidInput
from cairn.record import Defaulted, field

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.text import Annotation
    from matplotlib.transforms import Bbox

MAX, MIN = "max", "min"
SENSES = (MAX, MIN, None)
IMAGE_FORMATS = {".png": "png", ".svg": "svg"}
NO_POINTS = "no points to show"
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#000000")
"""Okabe and Ito's colour-blind-safe palette (yellow swapped for brown), reused in turn."""
NO_GROUP = "(no group)"
"""The legend's name for points whose group is ``""`` when other points have one."""


class PlotPoint(Defaulted):
    """One point: its coordinates, a short label, its legend group and what a hover shows."""

    x: float
    y: float
    label: str
    group: str = ""
    on_front: bool = False
    info: dict[str, str] = field(default_factory=dict)


class Scatter(Defaulted):
    """What to draw: two result keys, their senses (``"max"``/``"min"``/None), log axes,
    the points and the notes shown as a caption."""

    title: str
    x_key: str
    y_key: str
    x_sense: str | None = None
    y_sense: str | None = None
    x_log: bool = False
    y_log: bool = False
    points: list[PlotPoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, sense in (("x_sense", self.x_sense), ("y_sense", self.y_sense)):
            if sense not in SENSES:
                raise InvalidInput(
                    f"plot {name}={sense!r} is not a sense",
                    hint="use 'max', 'min' or None",
                )


# ---- what both pictures share ----------------------------------------------------------


def axis_label(key: str, sense: str | None, axis: str) -> str:
    """``key`` with its sense: ``(higher is better →)`` on x, ``(lower is better ↓)`` on y."""
    if sense is None:
        return key
    arrows = {("x", MAX): "→", ("x", MIN): "←", ("y", MAX): "↑", ("y", MIN): "↓"}
    word = "higher" if sense == MAX else "lower"
    return f"{key} ({word} is better {arrows[axis, sense]})"


def placeable(scatter: Scatter) -> tuple[list[PlotPoint], list[str]]:
    """The points that can be drawn, and the notes: the scatter's, then one per reason a
    point was left out."""
    kept: list[PlotPoint] = []
    left_out: dict[str, int] = {}
    for point in scatter.points:
        why = _unplaceable(scatter, point)
        if why:
            left_out[why] = left_out.get(why, 0) + 1
        else:
            kept.append(point)
    notes = list(scatter.notes)
    for why, count in left_out.items():
        notes.append(f"{count} point{'s' if count > 1 else ''} left out: {why}")
    return kept, notes


def _unplaceable(scatter: Scatter, point: PlotPoint) -> str:
    axes = ((scatter.x_key, point.x, scatter.x_log), (scatter.y_key, point.y, scatter.y_log))
    for key, value, log in axes:
        if not isinstance(value, int | float) or not math.isfinite(value):
            return f"{key} is not a finite number"
        if log and value <= 0:
            return f"{key} is not above 0 on a log axis"
    return ""


def group_names(points: list[PlotPoint]) -> list[str]:
    """The legend groups in the order they first appear."""
    return list(dict.fromkeys(p.group for p in points))


def group_title(name: str) -> str:
    """A group's name in a legend."""
    return name or NO_GROUP


def colour(index: int) -> str:
    """The colour of the ``index``-th group."""
    return COLOURS[index % len(COLOURS)]


def front_path(
    front: list[PlotPoint], x_sense: str | None, y_sense: str | None
) -> list[tuple[float, float]]:
    """The vertices of the line through ``front``'s points (see the module docstring)."""
    ordered = sorted(front, key=lambda p: (p.x, p.y))
    if not ordered:
        return []
    if x_sense is None or y_sense is None:
        return [(p.x, p.y) for p in ordered]
    path = [(ordered[0].x, ordered[0].y)]
    for here, there in itertools.pairwise(ordered):
        corner = (here.x, there.y) if x_sense == MAX else (there.x, here.y)
        path += [corner, (there.x, there.y)]
    return path


# ---- the image (matplotlib) ------------------------------------------------------------

_RC: dict[Any, Any] = {
    "svg.hashsalt": "cairn",
    "svg.fonttype": "none",
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.8,
}
"""Settings for our drawing only (applied over matplotlib's defaults, so the user's style
files change nothing and every machine with the same matplotlib draws the same bytes)."""
_FIGSIZE = (8.0, 5.2)
_DPI = 120
_MAX_FRONT_LABELS = 12
"""Front points are labelled on the image only up to this many (beyond it, labels pile up)."""


def write_image(scatter: Scatter, path: Path) -> Path:
    """Draw ``scatter`` to ``path``, a PNG or an SVG by its suffix, atomically; ``path``."""
    fmt = image_format(path)
    data = _render(scatter, fmt)
    _replace(path, data)
    return path


def image_format(path: Path) -> str:
    """``png`` or ``svg`` from ``path``'s suffix (any case); a clear error otherwise."""
    fmt = IMAGE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"{path}: cannot draw a {path.suffix or 'suffix-less'} file",
            hint="name the image *.png or *.svg, or write an interactive page with write_html",
        )
    return fmt


def _render(scatter: Scatter, fmt: str) -> bytes:
    with _matplotlib_context():
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=_FIGSIZE, dpi=_DPI)
        FigureCanvasAgg(figure)  # the canvas attaches itself; pyplot is never involved
        _draw(figure, scatter)
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {}
        figure.savefig(buffer, format=fmt, bbox_inches="tight", metadata=metadata)
    return buffer.getvalue()


@contextlib.contextmanager
def _matplotlib_context() -> Iterator[None]:
    """matplotlib's defaults plus :data:`_RC` for the block; the global settings after it
    are what they were; a clear error when matplotlib is not installed."""
    try:
        import matplotlib
        import matplotlib.style
    except ImportError:
        raise InvalidInput(
            "drawing a PNG or SVG needs matplotlib, which is not installed",
            hint="pip install 'cairn[plot]'",
        ) from None
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        yield


def _draw(figure: Figure, scatter: Scatter) -> None:
    axes = figure.add_subplot()
    points, notes = placeable(scatter)
    axes.set_title(_plain(scatter.title), loc="left")
    axes.set_xlabel(_plain(axis_label(scatter.x_key, scatter.x_sense, "x")))
    axes.set_ylabel(_plain(axis_label(scatter.y_key, scatter.y_sense, "y")))
    if points:
        _draw_points(axes, scatter, points)
    else:
        _draw_empty(axes)
    if notes:
        _caption(axes, notes)


def _plain(text: str) -> str:
    """``text`` shown as it is (a ``$`` would start matplotlib's math mode)."""
    return text.replace("$", r"\$")


def _draw_points(axes: Axes, scatter: Scatter, points: list[PlotPoint]) -> None:
    if scatter.x_log:
        axes.set_xscale("log")
    if scatter.y_log:
        axes.set_yscale("log")
    names = group_names(points)
    for index, name in enumerate(names):
        members = [p for p in points if p.group == name]
        _draw_group(axes, scatter, members, colour(index))
    axes.autoscale_view()
    for axis, log in ((axes.xaxis, scatter.x_log), (axes.yaxis, scatter.y_log)):
        if log:
            _plain_log_ticks(axis)
    front = [p for p in points if p.on_front]
    if len(front) <= _MAX_FRONT_LABELS:
        _label_front(axes, front, points)
    _legend(axes, names)


def _draw_group(axes: Axes, scatter: Scatter, members: list[PlotPoint], hue: str) -> None:
    others = [p for p in members if not p.on_front]
    front = [p for p in members if p.on_front]
    if others:
        axes.scatter(*_xy(others), s=26, color=hue, alpha=0.35, linewidths=0, zorder=2)
    path = front_path(front, scatter.x_sense, scatter.y_sense)
    if len(path) > 1:
        axes.plot(
            [x for x, _ in path],
            [y for _, y in path],
            color=hue,
            linewidth=1.8,
            alpha=0.9,
            zorder=3,
        )
    if front:
        axes.scatter(*_xy(front), s=64, color=hue, edgecolors="#1a1a1a", linewidths=0.9, zorder=4)


def _plain_log_ticks(axis: Axis) -> None:
    """Log tick labels as plain numbers (``100``, not ``10²``), at 2 and 5 too when the axis
    spans less than two decades."""
    from matplotlib import ticker

    axis.set_major_formatter(ticker.FuncFormatter(tick_text))
    low, high = sorted(axis.get_view_interval())
    if high / low < 100:
        axis.set_minor_locator(ticker.LogLocator(subs=(2.0, 5.0)))
        axis.set_minor_formatter(ticker.FuncFormatter(tick_text))
    else:
        axis.set_minor_formatter(ticker.NullFormatter())


def tick_text(value: float, _position: object = None) -> str:
    """A tick's number, short: ``0.5``, ``2000``, ``1e+06``."""
    return f"{value:.6g}"


def _xy(points: list[PlotPoint]) -> tuple[list[float], list[float]]:
    return [p.x for p in points], [p.y for p in points]


def _label_front(axes: Axes, front: list[PlotPoint], points: list[PlotPoint]) -> None:
    """Each front point's label beside it, on the first side where it stays in the frame and
    covers no point and no label already placed; where no side is free, none (the page and
    its table have every label)."""
    renderer = axes.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = axes.get_window_extent(renderer)
    taken = [_mark_box(axes, p) for p in points]
    for point in sorted(front, key=lambda p: (p.x, p.y)):
        label = _place_label(axes, point, renderer, frame, taken)
        if label is not None:
            taken.append(label.get_window_extent(renderer))


_SIDES: tuple[tuple[int, int, str, str], ...] = (
    (7, 4, "left", "bottom"),
    (7, -4, "left", "top"),
    (-7, 4, "right", "bottom"),
    (-7, -4, "right", "top"),
)
"""Label offsets from a point (points), and the label's alignment, in order of preference."""


def _place_label(
    axes: Axes, point: PlotPoint, renderer: Any, frame: Bbox, taken: list[Bbox]
) -> Annotation | None:
    for side in _SIDES:
        label = _annotate(axes, point, side)
        box = label.get_window_extent(renderer)
        inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
        if inside and not any(box.overlaps(other) for other in taken):
            return label
        label.remove()
    return None


def _annotate(axes: Axes, point: PlotPoint, side: tuple[int, int, str, str]) -> Annotation:
    dx, dy, ha, va = side
    return axes.annotate(
        _plain(point.label),
        (point.x, point.y),
        xytext=(dx, dy),
        textcoords="offset points",
        ha=ha,
        va=va,
        fontsize=8,
        color="#333333",
        zorder=5,
    )


def _mark_box(axes: Axes, point: PlotPoint) -> Bbox:
    """The display box a point's marker covers (as large as a front point's)."""
    from matplotlib.transforms import Bbox

    x, y = axes.transData.transform((point.x, point.y))
    half = 4.5 * _DPI / 72  # a front marker's radius and outline, in points
    return Bbox.from_extents(x - half, y - half, x + half, y + half)


def _legend(axes: Axes, names: list[str]) -> None:
    """Outside the frame, on the right, so it never covers a point: the groups (a line and a
    front point each), or, without groups, what a front point and another point look like."""
    handles: list[Line2D] = []
    if names != [""]:
        handles = [_key(colour(i), group_title(n), solid=True) for i, n in enumerate(names)]
    front_key = _key("#777777" if handles else colour(0), "on the Pareto front", solid=True)
    other_key = _key("#777777" if handles else colour(0), "other points", solid=False)
    handles += [front_key, other_key]
    axes.legend(
        handles=handles,
        labels=[_plain(str(h.get_label())) for h in handles],
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
        fontsize=9,
    )


def _key(hue: str, label: str, *, solid: bool) -> Line2D:
    from matplotlib.lines import Line2D

    if solid:
        style: dict[str, Any] = {"markersize": 7.5, "linewidth": 1.8, "markeredgecolor": "#1a1a1a"}
    else:
        style = {"markersize": 5.5, "linewidth": 0, "alpha": 0.35, "markeredgewidth": 0}
    return Line2D([], [], color=hue, marker="o", label=label, **style)


def _draw_empty(axes: Axes) -> None:
    axes.set_xticks([])
    axes.set_yticks([])
    centre: dict[str, Any] = {"ha": "center", "va": "center"}
    axes.text(0.5, 0.5, NO_POINTS, transform=axes.transAxes, fontsize=13, color="#777", **centre)


def _caption(axes: Axes, notes: list[str]) -> None:
    """The notes under the x label, left-aligned with the frame."""
    axes.annotate(
        "\n".join(_plain(n) for n in notes),
        xy=(0.0, 0.0),
        xycoords=("axes fraction", axes.xaxis.label),
        xytext=(0, -8),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=8.5,
        color="#444444",
    )


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed over it (as
    :func:`cairn.atomic.write_text` does for text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    from cairn.atomic import umask

    return umask()


# ---- the page --------------------------------------------------------------------------


def write_html(scatter: Scatter, path: Path, *, table: list[dict[str, Any]] | None = None) -> Path:
    """Write ``scatter`` (and ``table``'s rows, if given) as one self-contained HTML page to
    ``path``, atomically; ``path``. See :mod:`cairn.experiment.page`."""
    from cairn.experiment.page import write_page

    return write_page(scatter, path, table=table)
