"""Which folders lie on a network file system, where inotify cannot see every change.

A change made on another machine (an NFS server, an SMB share, an sshfs host) sends no
inotify event here, so the watcher never vouches for a folder on such a mount.

The mount table is ``/proc/self/mountinfo`` (``proc(5)``): one mount per line,
    ``ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS``
with space, tab, newline and backslash in paths written as octal escapes (``\\040``...).
The mount of a path is the one with the longest mount point that contains it (the last
such line wins: a later mount hides an earlier one at the same point). A file system type
is a network one when its name is in ``NETWORK`` or starts with ``fuse.`` followed by one
of ``NETWORK_FUSE`` (the types whose kernel magic numbers, ``NFS_SUPER_MAGIC``,
``CIFS_SUPER_MAGIC``, ``SMB2_SUPER_MAGIC``..., name a network file system).
"""

from __future__ import annotations

import os

MOUNTINFO = "/proc/self/mountinfo"
NETWORK = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "ncpfs", "afs", "coda",
        "ceph", "glusterfs", "lustre", "gpfs", "9p", "ocfs2", "gfs2", "orangefs", "beegfs",
        "davfs", "fuse.davfs",
    }
)  # fmt: skip
NETWORK_FUSE = frozenset(
    {"sshfs", "glusterfs", "s3fs", "rclone", "gcsfuse", "cephfs", "ceph", "juicefs", "davfs2"}
)


def is_network(fstype: str) -> bool:
    """Whether ``fstype`` (as ``mountinfo`` names it) is a network file system."""
    if fstype in NETWORK:
        return True
    kind, _, sub = fstype.partition(".")
    return kind in ("fuse", "fuseblk") and sub in NETWORK_FUSE


def mounts(text: str) -> list[tuple[str, str]]:
    """``(mount point, file system type)`` of each line of a ``mountinfo`` text, in order."""
    found = []
    for line in text.splitlines():
        fields, sep, tail = line.partition(" - ")
        parts = fields.split()
        if not sep or len(parts) < 5 or not tail.split():
            continue
        found.append((_unescape(parts[4]), tail.split()[0]))
    return found


def fstype_of(path: str, table: list[tuple[str, str]]) -> str | None:
    """The file system type of the mount holding ``path`` (absolute) in ``table``."""
    best: tuple[int, str] | None = None
    for point, fstype in table:
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= best[0]):
            best = (len(point), fstype)
    return best[1] if best is not None else None


def network_type(path: str, mountinfo: str = MOUNTINFO) -> str | None:
    """The network file system type ``path`` lies on; ``None`` when local (or unknown)."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as f:
            table = mounts(f.read())
    except OSError:
        return None
    fstype = fstype_of(os.path.realpath(path), table)
    return fstype if fstype is not None and is_network(fstype) else None


def _unescape(field: str) -> str:
    """A mountinfo path with its octal escapes (``\\040`` for a space...) decoded."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and all(c in "01234567" for c in code):
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)
