"""How long a cache entry may be used: MLCFlow's ``cache_expiration`` meta key.

A script (or one of its variations) may say how long its cache entry stays good; an entry
older than that is not used, and the run makes it again in its place. ``cairn rm cache
--expired`` removes the expired entries, and ``cairn show cache`` shows when each expires.

Duration grammar (MLCFlow's collection writes ``1h``, ``1d``, ``5d``, ``500d``)::

    duration := NUMBER [SPACE] UNIT
    NUMBER   := digits, optionally with a decimal part (``1.5h``)
    UNIT     := s | m | h | d | w     (seconds, minutes, hours, days, weeks)

The unit is required (``30`` alone is refused: seconds or days?), the number must be
greater than zero, and letters may be upper-case (``1H``). An entry records its expiry as
an absolute UTC time (``expires`` in its ``_cm.json``, ``2026-12-03T18:00:00Z``), so a
later change of the meta does not change entries made before it.
"""

from __future__ import annotations

import re
import time

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
EXPIRES_KEY = "expires"
"""The key of an entry's ``_cm.json`` holding when it expires."""
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


def parse(text: str) -> int:
    """The seconds ``text`` (``1h``, ``5d``, ``30m``) stands for; ``ValueError`` when it is not
    a duration of the grammar above (the message says what is expected)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: expected a number and a unit, e.g. 30m, 1h, 7d"
        )
    seconds = round(float(match.group(1)) * UNITS[match.group(2)])
    if seconds <= 0:
        raise ValueError(f"{text!r} is no time at all: give a duration above zero")
    return seconds


def stamp(seconds: float) -> str:
    """The UTC time ``seconds`` after the epoch, as an entry records it."""
    return time.strftime(_STAMP, time.gmtime(seconds))


def expires_at(lifetime: int, now: float | None = None) -> str:
    """When an entry made now (or at ``now``) with ``lifetime`` seconds to live expires."""
    return stamp((time.time() if now is None else now) + lifetime)


def read_stamp(value: object) -> float | None:
    """The epoch seconds of a recorded expiry, or ``None`` when there is none (or it is not
    one of cairn's stamps: such an entry never expires)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = time.strptime(value, _STAMP)
    except ValueError:
        return None
    import calendar  # only for entries that record an expiry

    return float(calendar.timegm(parsed))


def is_expired(entry_meta: dict[str, object], now: float | None = None) -> bool:
    """Whether the entry whose ``_cm.json`` is ``entry_meta`` has expired."""
    at = read_stamp(entry_meta.get(EXPIRES_KEY))
    return at is not None and (time.time() if now is None else now) >= at
