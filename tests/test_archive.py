"""Safe extraction and packing of repository archives."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from cairn.errors import AlreadyExists, CairnError, InvalidInput, NotFound
from cairn.store import archive


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info in members:
            payload = (data or {}).get(info.name)
            if payload is not None:
                info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_zip_with_single_top_folder_returns_that_folder(tmp_path: Path) -> None:
    src = _zip(tmp_path / "r.zip", {"top/cmr.yaml": "alias: r\n", "top/dataset/a/_cm.yaml": "{}"})
    root = archive.extract(src, tmp_path / "out")
    assert root == tmp_path / "out" / "top"
    assert (root / "dataset" / "a" / "_cm.yaml").read_text() == "{}"


def test_zip_without_top_folder_returns_destination(tmp_path: Path) -> None:
    src = _zip(tmp_path / "r.zip", {"cmr.yaml": "alias: r\n", "x/y.txt": "y"})
    assert archive.extract(src, tmp_path / "out") == tmp_path / "out"


@pytest.mark.parametrize("name", ["/etc/evil", "a/../../evil", "..", "a/..", "C:/x"])
def test_zip_with_escaping_entry_writes_nothing(tmp_path: Path, name: str) -> None:
    src = _zip(tmp_path / "bad.zip", {"ok/cmr.yaml": "alias: r\n", name: "x"})
    with pytest.raises(InvalidInput, match=r"nothing was extracted|absolute"):
        archive.extract(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.zip"]


@pytest.mark.parametrize(
    "member",
    [
        _link("top/evil", "/etc/passwd"),
        _link("top/evil", "../../outside"),
        _link("top/sub/evil", "../../x"),
        _link("top/hard", "../x", tarfile.LNKTYPE),
    ],
)
def test_tar_links_leaving_the_root_are_refused(tmp_path: Path, member: tarfile.TarInfo) -> None:
    src = _tar(tmp_path / "bad.tgz", [_file("top/cmr.yaml"), member], {"top/cmr.yaml": b"a"})
    with pytest.raises(InvalidInput):
        archive.extract(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_tar_link_through_shallower_link_is_refused(tmp_path: Path) -> None:
    # "a" points at the root, so "a/b -> .." would point above it although it looks harmless.
    members = [_link("a", "."), _link("a/b", "..")]
    src = _tar(tmp_path / "bad.tar.gz", members)
    with pytest.raises(InvalidInput):
        archive.extract(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_tar_links_inside_the_root_are_kept(tmp_path: Path) -> None:
    members = [
        _file("r/cmr.yaml"),
        _link("r/alias.yaml", "cmr.yaml"),
        _link("r/h", "r/cmr.yaml", tarfile.LNKTYPE),
    ]
    src = _tar(tmp_path / "ok.tgz", members, {"r/cmr.yaml": b"alias: r\n"})
    root = archive.extract(src, tmp_path / "out")
    assert os.readlink(root / "alias.yaml") == "cmr.yaml"
    assert (root / "h").read_text() == "alias: r\n"


def test_tar_device_entry_is_refused(tmp_path: Path) -> None:
    fifo = tarfile.TarInfo("top/fifo")
    fifo.type = tarfile.FIFOTYPE
    with pytest.raises(InvalidInput, match="device or fifo"):
        archive.extract(_tar(tmp_path / "d.tgz", [fifo]), tmp_path / "out")


def test_missing_corrupt_and_unknown_archives(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        archive.extract(tmp_path / "none.zip", tmp_path / "out")
    (tmp_path / "bad.zip").write_text("not a zip")
    with pytest.raises(InvalidInput, match="not a valid zip"):
        archive.extract(tmp_path / "bad.zip", tmp_path / "out")
    (tmp_path / "x.rar").write_text("?")
    with pytest.raises(InvalidInput, match="neither a zip nor a tar archive"):
        archive.extract(tmp_path / "x.rar", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_archive_without_a_known_suffix_is_read_by_its_content(tmp_path: Path) -> None:
    named = _zip(tmp_path / "data.bin", {"top/a.txt": "a"})
    assert (archive.extract(named, tmp_path / "z") / "a.txt").read_text() == "a"
    with tarfile.open(tmp_path / "data.tbz2", "w:bz2") as tar:
        info = tarfile.TarInfo("b.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"b"))
    archive.unpack_into(tmp_path / "data.tbz2", tmp_path / "t")
    assert (tmp_path / "t" / "b.txt").read_text() == "b"


def test_extract_refuses_existing_destination(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(AlreadyExists):
        archive.extract(_zip(tmp_path / "r.zip", {"a": "b"}), tmp_path / "out")


@pytest.mark.parametrize("name", ["repo.zip", "repo.tar.gz", "repo.tgz", "repo.tar"])
def test_pack_round_trip_skips_git_and_caches(tmp_path: Path, name: str) -> None:
    repo = tmp_path / "repo"
    (repo / "dataset" / "a").mkdir(parents=True)
    (repo / "cmr.yaml").write_text("alias: r\n")
    (repo / "dataset" / "a" / "_cm.yaml").write_text("alias: a\n")
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref")
    (repo / "dataset" / "__pycache__").mkdir()
    (repo / "dataset" / "__pycache__" / "m.pyc").write_text("x")
    assert archive.pack(repo, tmp_path / name) == 2
    root = archive.extract(tmp_path / name, tmp_path / "back")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["cmr.yaml", "dataset/a/_cm.yaml"]


def test_pack_refuses_to_overwrite_and_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "cmr.yaml").write_text("alias: r\n")
    (tmp_path / "exists.zip").write_text("keep")
    with pytest.raises(AlreadyExists):
        archive.pack(tmp_path / "r", tmp_path / "exists.zip")
    assert (tmp_path / "exists.zip").read_text() == "keep"
    with pytest.raises(InvalidInput):
        archive.pack(tmp_path / "r", tmp_path / "r.rar")
    assert not list(tmp_path.glob(".r.rar*"))


def test_unpack_into_merges_and_strips_folders(tmp_path: Path) -> None:
    archive_path = _tar(
        tmp_path / "a.tar",
        [_file("top/new.txt"), _file("top/sub/x.txt"), _link("top/l", "new.txt")],
        {"top/new.txt": b"new", "top/sub/x.txt": b"x"},
    )
    dest = tmp_path / "dest"
    (dest / "sub").mkdir(parents=True)
    (dest / "sub" / "kept.txt").write_text("kept")
    (dest / "new.txt").write_text("old")
    archive.unpack_into(archive_path, dest, strip=1)
    assert (dest / "new.txt").read_text() == "new"
    assert (dest / "sub" / "x.txt").read_bytes() == b"x"
    assert (dest / "sub" / "kept.txt").read_text() == "kept"
    assert os.readlink(dest / "l") == "new.txt"
    assert sorted(p.name for p in dest.iterdir()) == ["l", "new.txt", "sub"]


def test_unpack_into_refuses_a_link_that_escapes_once_stripped(tmp_path: Path) -> None:
    archive_path = _tar(tmp_path / "a.tar", [_file("top/ok.txt"), _link("top/l", "../x")])
    dest = tmp_path / "dest"
    with pytest.raises(InvalidInput, match="leaves the repository"):
        archive.unpack_into(archive_path, dest, strip=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar"]
    with pytest.raises(NotFound):
        archive.unpack_into(tmp_path / "none.zip", dest)


def test_unpack_into_an_existing_folder_stages_inside_it(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    bad = _zip(tmp_path / "bad.zip", {"ok.txt": "ok", "../evil.txt": "x"})
    with pytest.raises(InvalidInput):
        archive.unpack_into(bad, dest)
    assert list(dest.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip", "dest"]
    archive.unpack_into(_zip(tmp_path / "good.zip", {"ok.txt": "ok"}), dest)
    assert [p.name for p in dest.iterdir()] == ["ok.txt"]


# --- hostile archives -------------------------------------------------------------------


def _zip_symlink(path: Path, name: str, target: bytes) -> Path:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16) | 0x20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(info, target)
    return path


def _zeros_zip(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("top/zeros.bin", bytes(size))
    return path


def test_a_zip_symlink_target_longer_than_4096_bytes_is_refused(tmp_path: Path) -> None:
    bomb = _zip_symlink(tmp_path / "bomb.zip", "top/l", b"a" * 100_000)
    with pytest.raises(InvalidInput, match="4096") as info:
        archive.extract(bomb, tmp_path / "out")
    assert str(bomb) in str(info.value) and len(str(info.value)) < 400
    assert not (tmp_path / "out").exists()


def test_a_zip_symlink_target_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    bad = _zip_symlink(tmp_path / "bad.zip", "top/l", b"\xff\xfe")
    with pytest.raises(InvalidInput, match="UTF-8") as info:
        archive.extract(bad, tmp_path / "out")
    assert str(bad) in str(info.value)


def test_a_zip_symlink_within_the_limit_is_kept(tmp_path: Path) -> None:
    ok = _zip_symlink(tmp_path / "ok.zip", "top/l", b"a.txt")
    assert os.readlink(archive.extract(ok, tmp_path / "out") / "l") == "a.txt"


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_archive_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("CAIRN_ARCHIVE_MAX_SIZE", "1000")
    path = tmp_path / f"big.{kind}"
    if kind == "zip":
        _zip(path, {"top/a.txt": "a" * 600, "top/b.txt": "b" * 600})
    else:
        _tar(
            path,
            [_file("top/a.txt"), _file("top/b.txt")],
            {"top/a.txt": b"a" * 600, "top/b.txt": b"b" * 600},
        )
    with pytest.raises(InvalidInput) as info:
        archive.extract(path, tmp_path / "out")
    message = str(info.value)
    assert str(path) in message and "1000" in message and "CAIRN_ARCHIVE_MAX_SIZE" in message
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv("CAIRN_ARCHIVE_MAX_SIZE", "1200")
    assert (archive.extract(path, tmp_path / "out") / "a.txt").stat().st_size == 600


def test_a_tar_hard_link_counts_the_size_of_its_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_ARCHIVE_MAX_SIZE", "1000")
    members = [_file("top/a.txt"), _link("top/b.txt", "top/a.txt", tarfile.LNKTYPE)]
    path = _tar(tmp_path / "links.tar.gz", members, {"top/a.txt": b"a" * 600})
    with pytest.raises(InvalidInput, match="CAIRN_ARCHIVE_MAX_SIZE"):
        archive.extract(path, tmp_path / "out")


def test_a_highly_compressed_archive_is_refused_by_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zeros = _zeros_zip(tmp_path / "zeros.zip", 1_000_000)  # about 1000 times smaller
    with pytest.raises(InvalidInput) as info:
        archive.extract(zeros, tmp_path / "out")
    message = str(info.value)
    assert str(zeros) in message and "CAIRN_ARCHIVE_MAX_RATIO" in message
    monkeypatch.setenv("CAIRN_ARCHIVE_MAX_RATIO", "2000")
    assert (archive.extract(zeros, tmp_path / "out") / "zeros.bin").stat().st_size == 1_000_000


@pytest.mark.parametrize("name", ["CAIRN_ARCHIVE_MAX_SIZE", "CAIRN_ARCHIVE_MAX_RATIO"])
def test_a_bad_limit_setting_is_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "lots")
    path = _zip(tmp_path / "a.zip", {"top/a.txt": "a"})
    with pytest.raises(InvalidInput, match=name):
        archive.extract(path, tmp_path / "out")


def _halved(path: Path, whole: Path) -> Path:
    """``path`` holding the first half of the archive ``whole`` (random data, so it is big)."""
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _random_tree(root: Path) -> Path:
    (root / "top").mkdir(parents=True)
    (root / "top" / "data.bin").write_bytes(os.urandom(20_000))
    return root


@pytest.mark.parametrize("name", ["repo.zip", "repo.tar.gz", "repo.tar.bz2", "repo.tar.xz"])
def test_a_truncated_archive_is_a_user_error_naming_it(tmp_path: Path, name: str) -> None:
    whole = tmp_path / f"whole-{name}"
    if name.endswith(".zip"):
        archive.pack(_random_tree(tmp_path / "src"), whole)
    else:
        with tarfile.open(whole, f"w:{name.rsplit('.', 1)[1]}") as tar:  # type: ignore[call-overload]
            tar.add(_random_tree(tmp_path / "src") / "top", "top")
    cut = _halved(tmp_path / name, whole)
    with pytest.raises(InvalidInput) as info:
        archive.extract(cut, tmp_path / "out")
    assert str(cut) in str(info.value)
    assert not (tmp_path / "out").exists()


def test_a_tar_link_target_longer_than_4096_bytes_is_refused(tmp_path: Path) -> None:
    path = _tar(tmp_path / "long.tar.gz", [_link("top/l", "a/" * 3000)])
    with pytest.raises(InvalidInput, match="4096") as info:
        archive.extract(path, tmp_path / "out")
    assert str(path) in str(info.value) and len(str(info.value)) < 400


# --- entries that cannot all be written (issue 18, item 10) -------------------------------------


def _zip_entries(path: Path, entries: list[tuple[str, str]]) -> Path:
    """A zip with ``entries`` in order, repeated names included."""
    import warnings

    with zipfile.ZipFile(path, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name
        for name, text in entries:
            zf.writestr(name, text)
    return path


@pytest.mark.parametrize(
    ("entries", "says"),
    [
        ([("top/a", "x"), ("top/a", "y")], "'top/a' appears twice"),
        ([("top/a/", ""), ("top/a", "y")], "'top/a' is both a folder and a file"),
        ([("top/a", "y"), ("top/a/", "")], "'top/a/' is both a folder and a file"),
        ([("top/a", "y"), ("top/a/b", "y")], "'top/a/b' lies below 'top/a', which is a file"),
        ([("top/a/b", "y"), ("top/a", "y")], "'top/a/b' lies below 'top/a', which is a file"),
    ],
)
def test_entries_that_clash_are_refused_naming_the_entry(
    tmp_path: Path, entries: list[tuple[str, str]], says: str
) -> None:
    path = _zip_entries(tmp_path / "clash.zip", entries)
    with pytest.raises(InvalidInput) as info:
        archive.extract(path, tmp_path / "out")
    message = str(info.value)
    assert says in message and str(path) in message and "nothing was extracted" in message
    assert ".cairn-tmp" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clash.zip"]


def test_a_folder_entry_may_repeat(tmp_path: Path) -> None:
    path = _zip_entries(tmp_path / "dirs.zip", [("top/d/", ""), ("top/d/", ""), ("top/d/f", "x")])
    assert (archive.extract(path, tmp_path / "out") / "d" / "f").read_text() == "x"


def test_an_entry_name_longer_than_the_file_system_allows_is_refused(tmp_path: Path) -> None:
    name = "top/" + "n" * 300
    path = _zip_entries(tmp_path / "long.zip", [(name, "x")])
    with pytest.raises(InvalidInput, match="longer than 255 bytes") as info:
        archive.extract(path, tmp_path / "out")
    assert len(str(info.value)) < 400  # the name is cut in the message
    assert ".cairn-tmp" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_a_hard_link_to_a_symbolic_link_is_that_link(tmp_path: Path) -> None:
    members = [
        _file("top/f"),
        _link("top/s", "f"),
        _link("top/h", "top/s", tarfile.LNKTYPE),
        _link("top/dangling", "nothing"),
        _link("top/h2", "top/dangling", tarfile.LNKTYPE),
    ]
    root = archive.extract(_tar(tmp_path / "l.tar.gz", members, {"top/f": b"x"}), tmp_path / "o")
    assert os.readlink(root / "h") == "f" and (root / "h").read_text() == "x"
    assert os.readlink(root / "h2") == "nothing"


@pytest.mark.parametrize("target", ["top/d", "top/missing", "top/later"])
def test_a_hard_link_to_no_earlier_file_is_refused(tmp_path: Path, target: str) -> None:
    folder = _file("top/d")
    folder.type = tarfile.DIRTYPE
    members = [folder, _link("top/h", target, tarfile.LNKTYPE), _file("top/later")]
    path = _tar(tmp_path / "h.tar.gz", members, {"top/later": b"x"})
    with pytest.raises(InvalidInput, match=f"hard link 'top/h' points to '{target}'") as info:
        archive.extract(path, tmp_path / "out")
    assert ".cairn-tmp" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.tar.gz"]


def test_a_write_that_fails_names_the_archive_and_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (simulated: ENOSPC from the copy) names the entry, not the staging path."""
    import errno
    import shutil

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".cairn-tmp-x/a"))

    monkeypatch.setattr(shutil, "copyfileobj", full)
    path = _zip(tmp_path / "a.zip", {"top/a.txt": "x"})
    with pytest.raises(CairnError) as info:
        archive.extract(path, tmp_path / "out")
    message = str(info.value)
    assert f"{path}: cannot extract entry 'top/a.txt': No space left on device" in message
    assert "the disk is full" in message and ".cairn-tmp" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


def test_a_destination_that_cannot_be_written_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from cairn import staging

    def denied(parent: Path, prefix: str = "") -> Path:
        raise PermissionError(errno.EACCES, "Permission denied", str(parent / ".cairn-tmp-p1.x"))

    monkeypatch.setattr(staging, "make", denied)
    path = _zip(tmp_path / "a.zip", {"top/a.txt": "x"})
    with pytest.raises(CairnError) as info:
        archive.extract(path, tmp_path / "out")
    message = str(info.value)
    assert f"cannot extract {path} into {tmp_path / 'out'}: Permission denied" in message
    assert "fix its permissions" in message and ".cairn-tmp" not in message


def test_an_extraction_removes_what_dead_extractions_left_beside_it(tmp_path: Path) -> None:
    """A killed extract-file leaves a hidden staging folder in the user's folder; the next
    extraction there removes it (its process is gone), never one of a live process
    (issue 18, item 13)."""
    import subprocess
    import sys

    from cairn import staging

    dest = tmp_path / "out"
    dest.mkdir()
    code = (
        "import os, sys; from pathlib import Path; from cairn import staging; "
        "print(staging.make(Path(sys.argv[1]))); sys.stdout.flush(); os._exit(9)"
    )
    died = subprocess.run([sys.executable, "-c", code, str(dest)], capture_output=True, text=True)
    left = Path(died.stdout.strip())
    live = staging.make(dest)  # this process's: alive
    archive.unpack_into(_zip(tmp_path / "a.zip", {"f.txt": "x"}), dest)
    assert (dest / "f.txt").read_text() == "x"
    assert not left.exists() and live.is_dir()
