"""Crash-safe file replacement and inter-process locks.

A write goes to a temporary file in the same directory, is flushed to disk, then renamed
over the target: readers see the old file or the new one, never half of one. Writers that
can race take a :func:`lock` on a sibling ``.lock`` file first.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from filelock import BaseFileLock

LOCK_TIMEOUT_S = 60.0


def write_text(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text`` (UTF-8), keeping its permissions if it exists.

    A symbolic link is written through: its target is replaced, the link stays a link.
    """
    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        _copy_mode(path, Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _copy_mode(source: Path, target: Path) -> None:
    try:
        os.chmod(target, source.stat().st_mode & 0o7777)
    except FileNotFoundError:
        os.chmod(target, 0o644)


# One lock object per (process, path), so a thread that already holds a lock can take it
# again (the lock is re-entrant) instead of waiting for itself until the timeout.
_LOCKS: dict[tuple[int, str], BaseFileLock] = {}
_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> BaseFileLock:
    from filelock import FileLock

    key = (os.getpid(), str(path.absolute()))
    with _LOCKS_GUARD:
        found = _LOCKS.get(key)
        if found is None:
            found = _LOCKS[key] = FileLock(key[1])
        return found


@contextlib.contextmanager
def lock(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``path`` (a ``.lock`` file) for the block.

    The lock is re-entrant within one thread; other threads and processes wait for it.
    """
    from filelock import Timeout

    from cairn.errors import CairnError

    path.parent.mkdir(parents=True, exist_ok=True)
    held = _file_lock(path)
    try:
        held.acquire(timeout=timeout)
    except Timeout as exc:
        raise CairnError(
            f"could not lock {path} within {timeout:g} s",
            hint="another cairn process holds it; retry, or remove the file if no cairn runs",
        ) from exc
    try:
        yield
    finally:
        held.release()
