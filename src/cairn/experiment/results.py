"""Result rows: the flat records of an experiment, in CM's ``cm-result.json`` format.

CM's experiment automation keeps, in each sweep folder, ``cm-result.json``: a JSON list of
flat rows (``{"Result": 270891, "Accuracy": 76.078, "uid": ..., "iso_datetime": ...}``).
cairn reads those as they are and writes its own rows in the same file and shape, so CM
reads cairn's experiments and cairn reads CM's.

A row cairn writes holds, besides CM's ``uid`` (the row's step folder) and ``iso_datetime``:
the point's explored inputs under their own names, its results under their own names, and
the bookkeeping keys :data:`BOOKKEEPING`: ``point`` (the point's id), ``repeat`` (1..N),
``status`` (``ok`` or ``failed``), ``seconds``, ``error`` and ``run`` (the run record's
uid), and ``worker`` (where it ran, when not on this machine). A result whose name is one
of those is kept as ``result.NAME``.

Nested results are flattened with ``.`` between keys (``{"a": {"b": 1}}`` -> ``a.b``);
lists stay values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cairn import atomic
from cairn.errors import InvalidInput
from cairn.experiment.query import number as number  # one rule for tables, fronts, filters

RESULT_FILE = "cm-result.json"
INPUT_FILE = "cm-input.json"
OUTPUT_FILE = "cm-output.json"
CM_KEYS = ("uid", "iso_datetime")
BOOKKEEPING = ("point", "repeat", "status", "seconds", "error", "run", "worker")
RESERVED = frozenset((*CM_KEYS, *BOOKKEEPING))
OK, FAILED = "ok", "failed"


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level, keys joined by ``.``."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def result_name(key: str) -> str:
    """The row key of result ``key`` (``result.KEY`` when it would hide a bookkeeping key)."""
    return f"result.{key}" if key in RESERVED else key


def read(path: Path) -> list[dict[str, Any]]:
    """The rows of one ``cm-result.json``; a file that is no list of objects is an error
    naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"{path}: not readable as JSON ({exc})",
            hint="fix or remove the file; cairn writes it atomically, so this is a hand edit",
        ) from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InvalidInput(f"{path}: expected a JSON list of result rows (objects)")
    return data


def write(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Replace ``path`` with ``rows`` atomically (a reader sees the old list or the new)."""
    text = json.dumps(list(rows), indent=2, sort_keys=False, default=str, ensure_ascii=False)
    atomic.write_text(path, text + "\n")


def read_output(path: Path) -> dict[str, Any]:
    """The results a command wrote to ``path`` (a JSON object, flattened); an error when it
    is not one, so the point is recorded as failed with the reason."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"result file {path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"result file {path}: expected a JSON object of results")
    return flatten(data)
