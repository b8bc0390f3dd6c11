"""store/netfs.py: which folders lie on a network file system (from a ``mountinfo`` text),
and the watcher refusing to vouch for a repository there (said by ``cairn daemon status``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.home import Home
from cairn.store import daemon, netfs
from cairn.store.catalog import Catalog

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:40 / /srv/nfs rw,relatime shared:20 - nfs4 server:/export rw,vers=4.2
31 30 8:2 / /srv/nfs/local rw,relatime shared:21 - ext4 /dev/sda2 rw
32 22 0:41 / /mnt/my\\040share rw,relatime - cifs //host/share rw
33 22 0:42 / /home/u/remote rw,nosuid - fuse.sshfs u@host:/data rw
34 22 0:43 / /home/u/local-fuse rw - fuse.gocryptfs /x rw
35 22 0:44 / /tmp rw - tmpfs tmpfs rw
bad line without separator
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/srv/nfs/repo/script", "nfs4"),
        ("/srv/nfs", "nfs4"),
        ("/srv/nfs/local/repo", None),  # a local mount inside the NFS one
        ("/srv/nfsother", None),  # a prefix of the name is not inside
        ("/mnt/my share/repo", "cifs"),  # \040 in mountinfo is a space
        ("/home/u/remote/r", "fuse.sshfs"),
        ("/home/u/local-fuse/r", None),
        ("/tmp/r", None),
        ("/var/r", None),
    ],
)
def test_the_mount_holding_a_path_is_found(tmp_path: Path, path: str, expected: str | None) -> None:
    table = netfs.mounts(MOUNTINFO)
    fstype = netfs.fstype_of(path, table)
    assert (fstype if fstype is not None and netfs.is_network(fstype) else None) == expected


def test_a_missing_mount_table_means_local(tmp_path: Path) -> None:
    assert netfs.network_type("/srv/nfs/x", str(tmp_path / "nothing")) is None


def test_the_watcher_does_not_vouch_for_a_repository_on_a_network_mount(
    tmp_path: Path, make_repo: Callable[..., Path]
) -> None:
    pytest.importorskip("inotify_simple")
    from cairn.store.watcher import Watcher

    remote = make_repo("remote", artifacts={"dataset/a": {"alias": "a", "tags": ["t"]}})
    local = make_repo("near", artifacts={"dataset/b": {"alias": "b", "tags": ["t"]}})
    for path in (remote, local):
        Catalog.open().registry.register(path)
    table = tmp_path / "mountinfo"
    table.write_text(f"{MOUNTINFO}40 22 0:50 / {remote} rw - nfs srv:/r rw\n")
    watcher = Watcher(str(Home.from_env().root), mountinfo=str(table))
    try:
        assert str(local / "dataset") in watcher.folders
        assert str(remote / "dataset") not in watcher.folders
        reply = watcher.answer({"op": "ask", "path": str(remote / "dataset")})
        assert "changed" not in reply  # the query walks it
        status = watcher.answer({"op": "status"})
        assert status["network"] == {str(remote): "nfs"}
    finally:
        watcher.close()
    lines = daemon._lines(status, Home.from_env())
    assert any("network file system nfs" in line and str(remote) in line for line in lines)
