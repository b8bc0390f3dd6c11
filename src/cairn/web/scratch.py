"""Serving a home that cannot be written: a scratch home in a temporary folder that links
to every entry of the real one (``repos.json``, ``local``, ``repos``...) and holds its own
copy of the index, so queries refresh the copy and never touch the real home.

cairn refreshes ``$CAIRN_HOME/index.sqlite`` on every query (and makes the ``local``
repository on first use); on a read-only file system or a home owned by someone else that
fails, so :func:`cairn.web.app.serve_command` serves such a home through :func:`make`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

INDEX_FILES = ("index.sqlite", "index.sqlite-wal")
SKIPPED = ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm", "locks")


def writable(root: Path) -> bool:
    """Whether cairn can write in the home ``root`` (its index, or the home to be made)."""
    from cairn.home import may_write

    return may_write(root / "index.sqlite")


def make(root: Path, into: Path) -> Path:
    """A scratch home in ``into`` (made) for the real home ``root``; returns its path."""
    into.mkdir(parents=True, exist_ok=True)
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if entry.name in SKIPPED or entry.name.endswith(".lock"):
            continue
        (into / entry.name).symlink_to(entry)
    for name in INDEX_FILES:  # a head start: the copy is checked against the disk anyway
        if (root / name).is_file():
            shutil.copyfile(root / name, into / name)
    return into
