"""A notebook file as data: what of it is code (for cache keys), and parameters put in.

Papermill's convention is kept so that parameterised notebooks work as they are: the cell
tagged ``parameters`` holds defaults, and a new cell tagged ``injected-parameters`` placed
right after it (at the top when there is none) sets the given values, here as string
variables named after the env keys that are Python identifiers.

:func:`code_of` is what a cache key covers: each cell's type, source and tags, the notebook
format and its kernel -- not outputs, execution counts or other metadata, so re-saving a
notebook with new outputs changes nothing and editing a code cell changes the key.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cairn.errors import InvalidInput

PARAMETERS = "parameters"
INJECTED = "injected-parameters"


def load(path: Path) -> dict[str, Any]:
    """The notebook's JSON; a clear error naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: not a readable notebook ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise InvalidInput(
            f"{path}: not a notebook (no list of cells)",
            hint="a notebook of format 4, as Jupyter saves it (older ones: open and save it)",
        )
    return data


def kernel_of(data: Mapping[str, Any]) -> str:
    spec = (data.get("metadata") or {}).get("kernelspec") or {}
    return str(spec.get("name") or "python3")


def source(cell: Mapping[str, Any]) -> str:
    text = cell.get("source") or ""
    return "".join(text) if isinstance(text, list) else str(text)


def tags(cell: Mapping[str, Any]) -> list[str]:
    found = (cell.get("metadata") or {}).get("tags") or []
    return [str(t) for t in found] if isinstance(found, list) else []


def code_of(data: Mapping[str, Any]) -> str:
    """The parts of a notebook that change what it does, as canonical JSON."""
    cells = [
        {"type": c.get("cell_type"), "source": source(c), "tags": tags(c)}
        for c in data.get("cells") or []
        if isinstance(c, dict)
    ]
    kept = {"nbformat": data.get("nbformat"), "kernel": kernel_of(data), "cells": cells}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"))


def inject(data: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with a cell setting ``params`` after the ``parameters`` cell."""
    lines = [f"{k} = {str(v)!r}" for k, v in sorted(params.items()) if _identifier(k)]
    cell: dict[str, Any] = {
        "id": INJECTED,
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": [INJECTED]},
        "outputs": [],
        "source": "# Parameters injected by cairn\n" + "\n".join(lines) + "\n",
    }
    cells = [c for c in data["cells"] if INJECTED not in tags(c)]
    where = next((i + 1 for i, c in enumerate(cells) if PARAMETERS in tags(c)), 0)
    return {**data, "cells": [*cells[:where], cell, *cells[where:]]}


def _identifier(key: str) -> bool:
    return key.isidentifier() and not keyword.iskeyword(key)
