"""The one-line hint when queries keep falling back to the stat walk although a watcher is
expected (watching enabled, or a watcher's socket left in the home).

Each process whose query could not use the watcher counts once in ``HOME/watch.fallback``
(``FIRST COUNT HINTED``: when the count began, how many, when the hint was last given).
After ``AFTER`` such queries within ``WINDOW_S`` seconds the hint is given (a warning, on
stderr for the command line), then not again for ``EVERY_S`` seconds. Why it fell back
picks the hint: the watcher does not answer, it answers for a new session each time (its
queue overflows), or it does not watch the folder (the watch limit, a network file
system). A folder that simply changed is not a fallback. Counting is best effort: a home
cairn may not write counts nothing.
"""

from __future__ import annotations

import os
import time

from cairn import report

STAMP = "watch.fallback"
AFTER = 3
WINDOW_S = 600.0
EVERY_S = 3600.0
DOWN, RESTARTED, UNWATCHED = "down", "restarted", "unwatched"
_HINTS = {
    DOWN: "queries keep falling back to the stat walk: the watcher of {home} does not answer"
    " (see {home}/watch.log); start it with: cairn daemon start, or stop asking for it:"
    " cairn daemon disable",
    RESTARTED: "queries keep falling back to the stat walk: the watcher of {home} keeps losing"
    " events (its inotify queue overflows); raise the queue: sudo sysctl"
    " fs.inotify.max_queued_events=65536, then: cairn daemon stop; cairn daemon start",
    UNWATCHED: "queries keep falling back to the stat walk: the watcher of {home} does not"
    " watch some folders (the inotify watch limit, or a network file system); cairn daemon"
    " status says which and what to do",
}


def note(home_root: str, reason: str, now: float | None = None) -> bool:
    """Count one query that fell back for ``reason``; whether the hint was given now."""
    now = time.time() if now is None else now
    path = os.path.join(home_root, STAMP)
    first, count, hinted = _read(path)
    if now - first > WINDOW_S:
        first, count = now, 0
    count += 1
    given = count >= AFTER and now - hinted > EVERY_S
    if given:
        report.warn(_HINTS[reason].format(home=home_root))
        first, count, hinted = now, 0, now
    try:
        with open(path, "w", encoding="ascii") as f:
            f.write(f"{first:.0f} {count} {hinted:.0f}\n")
    except OSError:
        pass
    return given


def _read(path: str) -> tuple[float, int, float]:
    try:
        with open(path, encoding="ascii") as f:
            first, count, hinted = f.read().split()
        return float(first), int(count), float(hinted)
    except (OSError, ValueError):
        return 0.0, 0, 0.0
