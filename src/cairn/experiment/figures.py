"""From an experiment's table to the pictures: which lines become points, their labels and
what hovering over one shows, and the files written (PNG, SVG or an HTML page).

A point's label is its explored inputs (``batch_size=4 threads=2``) or, for rows CM wrote,
the values of the table's default columns that are not plotted; hovering shows the label's
values, the two plotted values, every other result, the status and the run record (uid and
folder) when there is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cairn.errors import InvalidInput
from cairn.experiment import table
from cairn.record import Defaulted

SUFFIXES = (".png", ".svg", ".html", ".htm")
_INFO_VALUE = 80


class Axis(Defaulted):
    """A plotted key, with its sense when it is an objective (``max``/``min``)."""

    key: str
    sense: str | None = None
    log: bool = False


def scatter(
    title: str,
    data: table.Table,
    lines: Sequence[table.Line],
    x: Axis,
    y: Axis,
    *,
    on_front: Sequence[bool] = (),
    group_by: Sequence[str] = (),
    records: Path | None = None,
    labels: Sequence[str] = (),
) -> Any:
    """The :class:`cairn.experiment.plots.Scatter` of ``lines`` (front flags in order)."""
    from cairn.experiment.plots import PlotPoint, Scatter

    label_keys = list(labels) or _label_keys(data, lines, (x.key, y.key))
    points, skipped = [], 0
    for i, line in enumerate(lines):
        xv, yv = _number(line.values.get(x.key)), _number(line.values.get(y.key))
        if xv is None or yv is None:
            skipped += 1
            continue
        points.append(
            PlotPoint(
                x=xv,
                y=yv,
                label=_label(line, label_keys),
                group=" ".join(str(line.values.get(k, "")) for k in group_by),
                on_front=bool(on_front[i]) if i < len(on_front) else False,
                info=_info(line, data, records),
            )
        )
    notes = [f"{skipped} points left out: no number for {x.key} or {y.key}"] if skipped else []
    return Scatter(
        title=title,
        x_key=x.key,
        y_key=y.key,
        x_sense=x.sense,
        y_sense=y.sense,
        x_log=x.log,
        y_log=y.log,
        points=points,
        notes=notes,
    )


def _label_keys(
    data: table.Table, lines: Sequence[table.Line], plotted: tuple[str, str]
) -> list[str]:
    """The explored inputs; for rows CM wrote, the key that names a line best."""
    if data.inputs:
        return [k for k in data.inputs if k not in plotted]
    return [k for k in table.naming_keys(lines, data.keys) if k not in plotted][:1]


def _number(value: Any) -> float | None:
    from cairn.experiment.results import number

    return number(value)


def _label(line: table.Line, keys: Sequence[str]) -> str:
    parts = [f"{k}={line.values[k]}" for k in keys[:4] if line.values.get(k) is not None]
    return _short(" ".join(parts), 60)


def _info(line: table.Line, data: table.Table, records: Path | None) -> dict[str, str]:
    keys = [*data.inputs, *data.columns, *data.results, "status", "seconds"]
    info = {k: table.cell(line, k) for k in dict.fromkeys(keys) if line.values.get(k) is not None}
    runs = line.values.get(table.RUNS) or []
    if runs:
        info["run record"] = str(runs[0])
        if records is not None:
            info["run folder"] = str(records / str(runs[0]))
    return {k: _short(v, _INFO_VALUE) for k, v in info.items()}


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def check_files(files: Sequence[str]) -> list[Path]:
    """The picture files asked for, refused before any work when a suffix is unknown."""
    paths = [Path(f).expanduser() for f in files]
    for path in paths:
        if path.suffix.lower() not in SUFFIXES:
            raise InvalidInput(
                f"cannot draw {path.name}: unknown picture format {path.suffix or '(none)'!r}",
                hint="name files ending in .png, .svg or .html",
            )
    return paths


def write(scatter_: Any, paths: Sequence[Path], rows: list[dict[str, Any]]) -> list[str]:
    """Write every picture; returns their paths."""
    from cairn.experiment import plots

    written = []
    for path in paths:
        if path.suffix.lower() in (".html", ".htm"):
            plots.write_html(scatter_, path, table=rows)
        else:
            plots.write_image(scatter_, path)
        written.append(str(path))
    return written
