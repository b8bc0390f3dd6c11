"""Hidden staging folders, and the leftovers of processes that died while they staged.

A change is made in a hidden folder beside its target and renamed into place (see
``ARCHITECTURE.md``); a process killed half-way leaves that folder behind. So that leftovers
can be told from folders still in use, a staging folder's name says who made it::

    <prefix>p<PID>[t<START>].<HOST>.<random>   e.g.  .cairn-tmp-p4242t91377.1f0c9a2e.k3j_x8a1

``PID`` is the creating process and ``START`` its start time (clock ticks after boot, from
``/proc/<PID>/stat``; left out where there is no ``/proc``); ``HOST`` is 8 hex digits naming
the kernel boot and the PID namespace (``/proc/sys/kernel/random/boot_id``,
``/proc/self/ns/pid``; elsewhere the host name), so PIDs are compared only where they mean
the same process. A folder is **abandoned** when its ``HOST`` is this one's and no process
``PID`` is alive, or the process ``PID`` started at another time than ``START`` (the PID was
reused). A folder whose owner cannot be checked -- made on another machine or in another
container sharing the folder, or named without an owner (by an older cairn) -- is abandoned
only when untouched for :data:`UNCHECKED_AGE_S`. When the start time cannot be read, a reused
PID keeps a leftover until that process ends, never the other way round: a folder in use is
never removed.

:func:`clean` removes the abandoned folders directly inside one folder; ``cairn reindex``
calls it for every place cairn stages in (see :mod:`cairn.store.catalog`). Folders kept on
purpose (a failed run's work folder, with its log) are left to :func:`clean_kept`, which
``cairn gc run`` calls with an age.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from cairn.errors import STAGING_PREFIX

UNCHECKED_AGE_S = 24 * 3600.0
"""How long a staging folder whose owner cannot be checked must be untouched to be removed."""

_OWNED = re.compile(r"p(\d+)(?:t(\d+))?\.([0-9a-f]{8})\.")
_TAG: list[str] = []
_START: list[str] = []


def host_tag() -> str:
    """8 hex digits naming the kernel boot and PID namespace this process runs in."""
    if not _TAG:
        import hashlib
        import socket

        parts = [socket.gethostname()]
        try:
            with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
                parts.append(boot.read().strip())
            namespace = os.stat("/proc/self/ns/pid")
            parts.append(f"{namespace.st_dev}:{namespace.st_ino}")
        except OSError:
            pass
        _TAG.append(hashlib.sha1("\0".join(parts).encode()).hexdigest()[:8])
    return _TAG[0]


def owned_prefix(prefix: str = STAGING_PREFIX) -> str:
    """``prefix`` followed by this process's owner mark (a ``mkdtemp`` prefix)."""
    pid = os.getpid()
    if not _START or _START[0] != str(pid):  # a forked child has its own start
        _START[:] = [str(pid), _started(pid) or ""]
    start = f"t{_START[1]}" if _START[1] else ""
    return f"{prefix}p{pid}{start}.{host_tag()}."


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks after boot), or ``None`` when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return fields[19].decode("ascii")  # field 22 of the file; the fields here start at 3
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def make(parent: Path, prefix: str = STAGING_PREFIX) -> Path:
    """A new, empty staging folder in ``parent`` (mode 0700), named after this process."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=owned_prefix(prefix), dir=parent))


def abandoned(
    path: Path, prefix: str = STAGING_PREFIX, unchecked_age_s: float | None = UNCHECKED_AGE_S
) -> bool:
    """Whether the folder ``path`` (named ``prefix...``) belongs to no live process (see the
    module doc); one whose owner cannot be checked only after ``unchecked_age_s`` untouched
    (``None``: never)."""
    match = _OWNED.match(path.name[len(prefix) :])
    if match is not None and match[3] == host_tag():
        return not _alive(int(match[1]), match[2])
    if unchecked_age_s is None:
        return False
    try:
        changed = os.lstat(path).st_mtime
    except OSError:
        return False
    return time.time() - changed > unchecked_age_s


def _alive(pid: int, start: str | None) -> bool:
    """Whether process ``pid`` that started at ``start`` (``None``: not recorded) runs."""
    if pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except (PermissionError, OverflowError):
            pass  # another user's process (or no such number): its start time may tell
    if start is None:
        return True
    now = _started(pid)
    return now is None or now == start


def clean(
    folder: Path,
    prefix: str = STAGING_PREFIX,
    *,
    kept_mark: str = "",
    unchecked_age_s: float | None = UNCHECKED_AGE_S,
) -> list[Path]:
    """Remove the abandoned folders named ``prefix...`` directly in ``folder``; return them.

    One holding a file named ``kept_mark`` was kept on purpose and stays. Folders that vanish
    meanwhile or cannot be removed (no permission) are left quietly.
    """
    import shutil

    removed: list[Path] = []
    for path in _candidates(folder, prefix):
        if kept_mark and os.path.lexists(path / kept_mark):
            continue
        if not abandoned(path, prefix, unchecked_age_s):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            removed.append(path)
    return removed


def clean_kept(folder: Path, prefix: str, kept_mark: str, older_than_s: float) -> list[Path]:
    """Remove the folders named ``prefix...`` in ``folder`` that were kept on purpose (they
    hold ``kept_mark``), once their process has ended and the mark is older than
    ``older_than_s``; return them (``cairn gc run``, for the work folders of failed runs)."""
    import shutil

    removed: list[Path] = []
    now = time.time()
    for path in _candidates(folder, prefix):
        try:
            marked = os.lstat(path / kept_mark).st_mtime
        except OSError:
            continue
        if now - marked <= older_than_s or not abandoned(path, prefix, older_than_s):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            removed.append(path)
    return removed


def _candidates(folder: Path, prefix: str) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return sorted(
                Path(e.path)
                for e in entries
                if e.name.startswith(prefix) and e.is_dir(follow_symlinks=False)
            )
    except OSError:
        return []
