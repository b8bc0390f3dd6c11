"""Crash-safe file replacement and inter-process locks.

A write goes to a temporary file in the same directory, is flushed to disk, then renamed
over the target: readers see the old file or the new one, never half of one. Writers that
can race take a :func:`lock` on a sibling ``.lock`` file first.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOCK_TIMEOUT_S = 60.0
# One lock object per path in this process, so nested use of the same lock re-enters it.
_HELD: dict[str, Any] = {}


def write_text(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text`` (UTF-8), keeping its permissions if it exists."""
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


@contextlib.contextmanager
def lock(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``path`` for the block (re-entrant in a thread)."""
    from filelock import FileLock, Timeout

    from cairn.errors import CairnError

    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.absolute())
    held = _HELD.get(key)
    if held is None:
        held = _HELD[key] = FileLock(key, timeout=timeout)
    try:
        with held:
            yield
    except Timeout as exc:
        raise CairnError(
            f"could not lock {path} within {timeout:.0f} s",
            hint="another cairn process holds it; retry, or remove the file if no cairn runs",
        ) from exc
