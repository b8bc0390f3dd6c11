"""Crash-safe file replacement and inter-process locks.

A write goes to a temporary file in the same directory, is flushed to disk, then renamed
over the target: readers see the old file or the new one, never half of one. Writers that
can race take a :func:`lock` on a sibling ``.lock`` file first: an ``flock`` (POSIX), which
the kernel drops if the holding process dies, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import _thread  # `threading` costs start-up time; its Lock is `_thread`'s lock
import contextlib
import fcntl
import os
import time
from pathlib import Path

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from collections.abc import Iterator

LOCK_TIMEOUT_S = 60.0


def write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Atomically replace ``path`` with ``text`` (UTF-8), keeping its permissions if it exists.

    A symbolic link is written through: its target is replaced, the link stays a link.
    ``durable=False`` skips the ``fsync`` (for files whose loss in a power cut costs only
    work, never a wrong answer: the old or the new content is still all there is).
    """
    import tempfile  # only writers need it (it imports `shutil` and `random`)

    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _naming(exc, path) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        _copy_mode(path, Path(tmp))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from exc
        raise


def _naming(exc: OSError, path: Path) -> OSError:
    """``exc`` naming ``path``, the file being written, rather than its temporary sibling
    (same class and ``errno``, so callers that handle the error still do)."""
    if exc.errno is None:
        return OSError(f"{exc} (writing {path})")
    return type(exc)(exc.errno, exc.strerror, str(path))


def _copy_mode(source: Path, target: Path) -> None:
    try:
        os.chmod(target, source.stat().st_mode & 0o7777)
    except FileNotFoundError:
        os.chmod(target, 0o644)


# One lock object per (process, path), so a thread that already holds a lock can take it
# again (the lock is re-entrant) instead of waiting for itself until the timeout.
_LOCKS: dict[tuple[int, str], _Flock] = {}
_LOCKS_GUARD = _thread.allocate_lock()
_POLL_S = 0.02


class LockTimeout(Exception):
    """The lock was not free within the timeout (turned into a CairnError by :func:`lock`)."""


class _Flock:
    """An exclusive ``flock`` on a file, re-entrant within the thread that holds it.

    Other threads of the process wait on a thread lock first; other processes wait on the
    ``flock``, which the kernel releases if the holder dies.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.threads = _thread.allocate_lock()
        self.owner: int | None = None
        self.depth = 0
        self.fd = -1

    def acquire(self, timeout: float) -> None:
        me = _thread.get_ident()
        if self.owner == me:
            self.depth += 1
            return
        deadline = time.monotonic() + max(timeout, 0.0)
        if not self.threads.acquire(timeout=max(timeout, 0.0)):
            raise LockTimeout(self.path)
        try:
            self.fd = _flock_until(self.path, deadline)
        except BaseException:
            self.threads.release()
            raise
        self.owner, self.depth = me, 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth:
            return
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd, self.owner = -1, None
        self.threads.release()


def _flock_until(path: str, deadline: float) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                os.close(fd)
                raise LockTimeout(path) from None
            time.sleep(min(_POLL_S, left))


def _file_lock(path: Path) -> _Flock:
    key = (os.getpid(), str(path.absolute()))
    with _LOCKS_GUARD:
        found = _LOCKS.get(key)
        if found is None:
            found = _LOCKS[key] = _Flock(key[1])
        return found


@contextlib.contextmanager
def lock(path: Path, timeout: float = LOCK_TIMEOUT_S, *, guards: object = None) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``path`` (a ``.lock`` file) for the block.

    The lock is re-entrant within one thread; other threads and processes wait for it
    (:class:`cairn.errors.Busy` after ``timeout``). A lock file that cannot be made (no
    permission, a read-only or full disk) is a :class:`cairn.errors.CairnError` naming
    ``guards``, what the lock protects, when given.
    """
    from cairn.errors import Busy

    held = _file_lock(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        held.acquire(timeout)
    except LockTimeout as exc:
        raise Busy(
            f"could not lock {path} within {timeout:g} s",
            hint="another cairn process holds it; retry, or remove the file if no cairn runs",
        ) from exc
    except OSError as exc:
        raise _unlockable(exc, path, guards) from exc
    try:
        yield
    finally:
        held.release()


def _unlockable(exc: OSError, path: Path, guards: object) -> Exception:
    """A lock file that cannot be made, told as the change it stops."""
    from cairn.errors import CairnError, os_error_hint

    reason = exc.strerror or str(exc)
    where = f"change {guards}: cannot create its lock file {path}" if guards else f"lock {path}"
    return CairnError(f"cannot {where}: {reason}", hint=os_error_hint(exc))


def umask() -> int:
    """The process umask, read without changing it where ``/proc`` tells (Linux); elsewhere
    set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
