"""How the Python API's results look in Jupyter: rich HTML representations.

:class:`Rows` (a list of dicts: an experiment's table) renders as an HTML table;
:class:`Front` (the dict ``pareto`` returns) renders its front as a table followed by the
pictures it wrote: an ``.svg``/``.png`` inline, an ``.html`` page in an ``iframe`` (its
zoom and hover work inside the notebook). Outside Jupyter they are a plain ``list`` and
``dict``.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

MAX_COLUMNS = 12
MAX_ROWS = 200
_IMAGES = {".svg": "image/svg+xml", ".png": "image/png"}


def table_html(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """Rows as an HTML table (at most :data:`MAX_ROWS` rows, :data:`MAX_COLUMNS` columns)."""
    keys = list(columns or dict.fromkeys(k for row in rows for k in row if k != "spread"))
    keys = keys[:MAX_COLUMNS]
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(k)))}</td>" for k in keys) + "</tr>"
        for row in rows[:MAX_ROWS]
    )
    more = f"<p>{len(rows) - MAX_ROWS} more rows</p>" if len(rows) > MAX_ROWS else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def picture_html(path: Path) -> str:
    """A written picture, shown in place."""
    if path.suffix in _IMAGES and path.is_file():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return (
            f'<img alt="{html.escape(path.name)}" src="data:{_IMAGES[path.suffix]};base64,{data}">'
        )
    if path.suffix in (".html", ".htm") and path.is_file():
        page = html.escape(path.read_text(encoding="utf-8"), quote=True)
        return f'<iframe srcdoc="{page}" style="width:100%;height:760px;border:0"></iframe>'
    return ""


class Rows(list[dict[str, Any]]):
    """An experiment's table: a list of dicts that Jupyter shows as a table (``columns``:
    the ones ``cairn show experiment`` shows)."""

    columns: list[str] | None = None

    def _repr_html_(self) -> str:
        return table_html(list(self), self.columns)


class Front(dict[str, Any]):
    """What ``pareto`` returns: a dict that Jupyter shows as the front and its pictures."""

    def _repr_html_(self) -> str:
        parts = [f"<p>{len(self.get('front', []))} of {self.get('points')} points on the front</p>"]
        parts.append(table_html(list(self.get("front", [])), self.get("columns")))
        parts += [picture_html(Path(p)) for p in self.get("pictures", [])]
        return "".join(parts)
