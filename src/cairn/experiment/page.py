"""The interactive HTML page of a scatter: one self-contained file that works offline.

Layout: the title; a toolbar (reset zoom, "front only"; shown by the script); the chart as
inline SVG (:mod:`cairn.experiment.chart`) beside its legend; the notes; the table of the
front's points, numbered as on the chart; the caller's table of results, if any; the data as
JSON in ``<script type="application/json" id="cairn-data">``; the script (``page.js``).

Safety: every text put into the HTML is escaped; in the JSON, ``<``, ``>`` and ``&`` are
written as ``\\u003c``, ``\\u003e``, ``\\u0026``, so no value can close its script element.
The page loads nothing: no URL appears in it, and its Content-Security-Policy allows no
source at all but the page's own style and script, named by their SHA-256 digests.

The script's contract: it reads ``cairn-data`` (``points`` with ``x``, ``y``, ``label``,
``group`` (an index into ``groups``), ``front``, ``info``; ``lines`` per group; the axes),
takes over the marks the SVG already has (``data-i`` is the point's index), and sets
``data-ready="1"`` on ``<html>`` once it is set up.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from cairn import atomic
from cairn.experiment import chart
from cairn.experiment.plots import (
    PlotPoint,
    Scatter,
    colour,
    front_path,
    group_names,
    group_title,
    placeable,
    tick_text,
)


def write_page(scatter: Scatter, path: Path, *, table: list[dict[str, Any]] | None = None) -> Path:
    """Write :func:`render_page` to ``path`` atomically; ``path``."""
    atomic.write_text(path, render_page(scatter, table=table))
    return path


def render_page(scatter: Scatter, *, table: list[dict[str, Any]] | None = None) -> str:
    """The whole page as text."""
    points, notes = placeable(scatter)
    xs = chart.span([p.x for p in points], scatter.x_log)
    ys = chart.span([p.y for p in points], scatter.y_log)
    style, script = _asset("page.css"), _asset("page.js")
    body = [
        f"<h1>{escape(scatter.title)}</h1>",
        _toolbar(),
        '<div class="figure">',
        chart.render(scatter, points, xs, ys),
        '<div class="tooltip" role="tooltip" hidden></div>',
        "</div>",
        _legend(points),
        _notes(notes),
        _front_table(scatter, points),
        _results_table(table) if table else "",
        _data_script(scatter, points, xs, ys),
    ]
    return _document(scatter.title, style, script, "\n".join(b for b in body if b))


def _asset(name: str) -> str:
    return resources.files("cairn.experiment").joinpath(name).read_text(encoding="utf-8")


def _document(title: str, style: str, script: str, body: str) -> str:
    policy = (
        f"default-src 'none'; style-src '{_digest(style)}'; script-src '{_digest(script)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{style}</style>\n</head>\n"
        f'<body>\n<main class="cairn-plot">\n{body}\n</main>\n'
        f"<script>{script}</script>\n</body>\n</html>\n"
    )


def _digest(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _toolbar() -> str:
    return (
        '<div class="toolbar" hidden>'
        '<button type="button" class="reset">Reset zoom</button>'
        '<label><input type="checkbox" class="front-only"> front only</label>'
        '<span class="hint">Wheel to zoom, drag to pan; click a legend entry to hide it.</span>'
        "</div>"
    )


def _legend(points: list[PlotPoint]) -> str:
    """The groups with their colours (the script makes each a toggle), and the mark key."""
    names = group_names(points)
    if not names:
        return ""
    items = []
    if names != [""]:
        for g, name in enumerate(names):
            count = sum(1 for p in points if p.group == name)
            items.append(
                f'<li class="group" data-g="{g}">{_swatch(colour(g))}{escape(group_title(name))} '
                f'<span class="count">({count})</span></li>'
            )
    hue = "#777777" if items else colour(0)
    items.append(f'<li class="key">{_swatch(hue, front=True)}on the Pareto front (numbered)</li>')
    items.append(f'<li class="key">{_swatch(hue, front=False)}other points</li>')
    return '<ul class="legend">' + "".join(items) + "</ul>"


def _swatch(hue: str, *, front: bool = True) -> str:
    kind = "front" if front else "other"
    return (
        f'<svg class="swatch {kind}" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">'
        f'<circle cx="8" cy="8" r="{5.5 if front else 4}" fill="{hue}"/></svg>'
    )


def _notes(notes: list[str]) -> str:
    if not notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"


def _front_table(scatter: Scatter, points: list[PlotPoint]) -> str:
    """The front's points, numbered as on the chart: label, group, both keys, their info."""
    numbers = chart.front_numbers(points)
    front = sorted((numbers[i], p) for i, p in enumerate(points) if p.on_front)
    if not front:
        return ""
    grouped = group_names(points) != [""]
    info_keys = [
        k for k in _keys(p.info for _n, p in front) if k not in (scatter.x_key, scatter.y_key)
    ]
    head = ["#", "label", *(["group"] if grouped else []), scatter.x_key, scatter.y_key, *info_keys]
    rows = []
    for number, point in front:
        cells = [str(number), point.label, *([group_title(point.group)] if grouped else [])]
        cells += [tick_text(point.x), tick_text(point.y)]
        cells += [point.info.get(k, "") for k in info_keys]
        rows.append(cells)
    return f"<h2>Pareto front ({len(front)} of {len(points)} points)</h2>\n" + _table(head, rows)


def _results_table(table: list[dict[str, Any]]) -> str:
    head = _keys(table)
    rows = [[_cell(row.get(k)) for k in head] for row in table]
    return f"<h2>Results ({len(table)} rows)</h2>\n" + _table(head, rows)


def _keys(rows: Any) -> list[str]:
    """The keys of ``rows`` (mappings), in the order they first appear."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(str(k) for k in row))
    return list(seen)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return tick_text(value)
    return str(value)


def _table(head: list[str], rows: list[list[str]]) -> str:
    header = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    body = "\n".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return (
        f'<div class="table-wrap"><table>\n<thead><tr>{header}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table></div>"
    )


def _data_script(scatter: Scatter, points: list[PlotPoint], xs: chart.Span, ys: chart.Span) -> str:
    data = page_data(scatter, points, xs, ys)
    return f'<script type="application/json" id="cairn-data">{embed_json(data)}</script>'


def page_data(
    scatter: Scatter, points: list[PlotPoint], xs: chart.Span, ys: chart.Span
) -> dict[str, Any]:
    """What the script needs: the frame, both axes, the groups, the points, the lines."""
    names = group_names(points)
    frame = chart.FRAME
    return {
        "frame": [frame.left, frame.top, frame.width, frame.height],
        "x": {"key": scatter.x_key, "log": xs.log, "span": [xs.low, xs.high]},
        "y": {"key": scatter.y_key, "log": ys.log, "span": [ys.low, ys.high]},
        "groups": [{"name": group_title(n), "colour": colour(g)} for g, n in enumerate(names)],
        "points": [_point_data(p, names) for p in points],
        "lines": [_line_data(scatter, points, name) for name in names],
    }


def _point_data(point: PlotPoint, names: list[str]) -> dict[str, Any]:
    return {
        "x": point.x,
        "y": point.y,
        "label": point.label,
        "group": names.index(point.group),
        "front": point.on_front,
        "info": {str(k): str(v) for k, v in point.info.items()},
    }


def _line_data(scatter: Scatter, points: list[PlotPoint], name: str) -> list[list[float]]:
    front = [p for p in points if p.group == name and p.on_front]
    return [[x, y] for x, y in front_path(front, scatter.x_sense, scatter.y_sense)]


def embed_json(data: Any) -> str:
    """``data`` as JSON that can sit inside a ``<script>`` element: no ``<``, ``>`` or ``&``
    appears in it (they stand only inside strings, where ``\\u003c`` etc. mean the same)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(raw, escaped)
    return text
