"""``cairn replay run ID``: run a recorded run again from its lock, then say whether its
result reproduced.

The recorded command runs again pinned to the lock made from its record (drift in the inputs
is listed, never refused: a replay is there to find out). Then the outputs are compared:
the top script's exports (``new_env``), or the keys ``--keys`` names. Numbers (both values
read as numbers) agree when their relative difference is within ``--tolerance`` (``5%`` or
``0.05``; default: exactly equal); anything else must be equal. By default outputs that
name files (absolute paths) are not compared: they differ from one home to another.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from cairn.errors import InvalidInput

SAME, WITHIN, DIFFERS, MISSING = "same", "within tolerance", "differs", "missing"


def tolerance(text: Any) -> float:
    """``5%`` -> 0.05; ``0.05`` -> 0.05; a clear error for anything else."""
    if text is None:
        return 0.0
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InvalidInput(f"--tolerance={raw!r}: give a percentage (5%) or a fraction") from None
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"--tolerance={raw!r} must be a finite, non-negative number")
    return value


def chosen_keys(recorded: Mapping[str, Any], keys: list[str] | None) -> list[str]:
    """The outputs to compare: ``keys``, else every recorded output that names no file."""
    if keys:
        return list(keys)
    return sorted(k for k, v in recorded.items() if not _is_path(v))


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("/")


def compare(
    recorded: Mapping[str, Any], now: Mapping[str, Any], keys: list[str], tol: float
) -> list[dict[str, Any]]:
    """One row per key: ``{key, recorded, now, status, difference}``."""
    return [_row(k, recorded, now, tol) for k in keys]


def _row(
    key: str, recorded: Mapping[str, Any], now: Mapping[str, Any], tol: float
) -> dict[str, Any]:
    row: dict[str, Any] = {"key": key, "recorded": recorded.get(key), "now": now.get(key)}
    if key not in recorded or key not in now:
        return {**row, "status": MISSING, "difference": None}
    a, b = _number(recorded[key]), _number(now[key])
    if a is None or b is None:
        same = recorded[key] == now[key]
        return {**row, "status": SAME if same else DIFFERS, "difference": None}
    diff = _relative(a, b)
    status = SAME if diff == 0 else WITHIN if diff <= tol else DIFFERS
    return {**row, "status": status, "difference": diff}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _relative(a: float, b: float) -> float:
    if a == b:
        return 0.0
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else 0.0


def reproduced(rows: list[dict[str, Any]]) -> bool:
    return all(r["status"] in (SAME, WITHIN) for r in rows)


def lines(rows: list[dict[str, Any]], drift: list[str], ok: bool) -> list[str]:
    """The comparison as a readable table, the drift, and the verdict."""
    out = [f"{'output':<28} {'recorded':<20} {'now':<20} status"]
    for row in rows:
        diff = f" ({row['difference']:.1%})" if row.get("difference") else ""
        out.append(
            f"{_short(row['key'], 28)} {_short(row['recorded'], 20)} "
            f"{_short(row['now'], 20)} {row['status']}{diff}"
        )
    out += [f"drift: {line}" for line in drift]
    out.append("reproduced" if ok else "did not reproduce")
    return out


def _short(value: Any, width: int) -> str:
    text = "-" if value is None else str(value)
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)
