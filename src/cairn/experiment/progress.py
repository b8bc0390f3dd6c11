"""A sweep's progress for a person: runs done and failed, and the time left.

On a terminal one bar is redrawn in place (``[#####-----] 5/12  1 failed  0:42 left``);
elsewhere (a log, CI) each finished run is one line with its point's values. Only the edge
installs a :class:`Bar` (the CLI, or the API with ``out='con'``); the sweep itself only
calls its listener.
"""

from __future__ import annotations

from typing import Any, TextIO

from cairn.experiment.sweep import Progress

WIDTH = 24
_VALUE_CHARS = 60


class Bar:
    """Draws :class:`~cairn.experiment.sweep.Progress` on ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = _isatty(stream)

    def __call__(self, progress: Progress) -> None:
        if self.tty:
            end = "\n" if progress.done >= progress.total else ""
            self.stream.write("\r" + bar_text(progress) + end)
        elif progress.last:
            self.stream.write(line_text(progress) + "\n")
        self.stream.flush()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def bar_text(progress: Progress) -> str:
    filled = WIDTH * progress.done // progress.total if progress.total else WIDTH
    bar = "#" * filled + "-" * (WIDTH - filled)
    return f"[{bar}] {progress.done}/{progress.total}{_failed(progress)}{_left(progress)}"


def line_text(progress: Progress) -> str:
    row = progress.last
    values = " ".join(f"{k}={v}" for k, v in row.items() if k in _inputs(row))
    if len(values) > _VALUE_CHARS:
        values = values[: _VALUE_CHARS - 3] + "..."
    seconds = row.get("seconds") or 0.0
    where = f" on {row['worker']}" if row.get("worker") else ""
    head = (
        f"[{progress.done}/{progress.total}] {row.get('status')} {values} ({seconds:.2f} s)" + where
    )
    return head + _failed(progress) + _left(progress)


def _inputs(row: dict[str, Any]) -> list[str]:
    """The keys before the bookkeeping ones: the point's values and results."""
    keys = list(row)
    return keys[: keys.index("point")] if "point" in keys else []


def _failed(progress: Progress) -> str:
    return f"  {progress.failed} failed" if progress.failed else ""


def _left(progress: Progress) -> str:
    eta = progress.eta
    if eta is None or progress.done >= progress.total:
        return ""
    minutes, seconds = divmod(int(eta + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    return f"  {text} left"
