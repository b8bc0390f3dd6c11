"""A sweep's progress for a person: runs done and failed, and the time left.

On a terminal one bar is redrawn in place (``[#####-----] 5/12  1 failed  0:42 left``),
and each time a run starts or ends; on a cluster it ends with each worker's tally
(``| worker w0: 1 running, 3 done; worker w1: 1 running, 2 done, 1 failed``). Elsewhere (a
log, CI) each finished run is one line with its point's values (and the tallies). Only the
edge installs a :class:`Bar` (the CLI, or the API with ``out='con'``); the sweep itself only
calls its listener.
"""

from __future__ import annotations

from typing import Any, TextIO

from cairn.experiment.sweep import Progress

WIDTH = 24
_CLEAR = "\x1b[K"  # the rest of a redrawn line, when it got shorter
_VALUE_CHARS = 60


class Bar:
    """Draws :class:`~cairn.experiment.sweep.Progress` on ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = _isatty(stream)
        self.lines = -1  # runs done when the last line was written (not a terminal)

    def __call__(self, progress: Progress) -> None:
        if self.tty:
            end = "\n" if progress.done >= progress.total else ""
            self.stream.write("\r" + bar_text(progress) + _CLEAR + end)
        elif progress.last and progress.done != self.lines:  # not for a run that starts
            self.lines = progress.done
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
    head = f"[{bar}] {progress.done}/{progress.total}{_failed(progress)}{_left(progress)}"
    return head + tallies_text(progress)


def tallies_text(progress: Progress) -> str:
    """Each worker's runs running, done and failed (nothing for this machine alone)."""
    parts = []
    for name, tally in sorted(progress.workers.items()):
        if name:
            failed = f", {tally.failed} failed" if tally.failed else ""
            parts.append(f"{name}: {tally.running} running, {tally.done} done{failed}")
    return "  | " + "; ".join(parts) if parts else ""


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
    return head + _failed(progress) + _left(progress) + tallies_text(progress)


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
