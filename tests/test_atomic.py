"""Crash-safe writes and inter-process locks (``cairn.atomic``)."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cairn import atomic
from cairn.errors import CairnError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- write_text -----------------------------------------------------------------------


def test_write_text_creates_file_and_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "f.txt"
    atomic.write_text(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert _names(target.parent) == ["f.txt"]


def test_write_text_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("a much longer old content\n" * 10)
    atomic.write_text(target, "new")
    assert target.read_text() == "new"


def test_write_text_writes_lf_newlines(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    atomic.write_text(target, "a\nb\n")
    assert target.read_bytes() == b"a\nb\n"


@pytest.mark.parametrize("mode", [0o600, 0o755, 0o640])
def test_write_text_keeps_file_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "f.sh"
    target.write_text("old")
    target.chmod(mode)
    atomic.write_text(target, "new")
    assert _mode(target) == mode
    assert target.read_text() == "new"


def test_new_file_is_readable_by_others(tmp_path: Path) -> None:
    # mkstemp makes 0600 files; a new meta file must not stay private to the writer.
    target = tmp_path / "f.txt"
    atomic.write_text(target, "x")
    assert _mode(target) == 0o644


def test_write_text_replaces_the_inode(tmp_path: Path) -> None:
    # Readers holding the old file keep seeing the old content: the file is renamed over.
    target = tmp_path / "f.txt"
    target.write_text("old")
    with target.open() as reader:
        atomic.write_text(target, "new")
        assert reader.read() == "old"
    assert target.read_text() == "new"


def test_write_text_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("old")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    atomic.write_text(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"
    assert link.read_text() == "new"


def test_no_temp_file_left_when_replace_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        atomic.write_text(target, "new")
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["f.txt"]


def test_no_temp_file_left_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError("no space left")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="no space left"):
        atomic.write_text(tmp_path / "f.txt", "new")
    assert _names(tmp_path) == []


def test_no_temp_file_left_on_interrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_text(target, "new")
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["f.txt"]


def test_unencodable_text_leaves_old_file(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        atomic.write_text(target, "bad \ud800 surrogate")
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["f.txt"]


def test_no_temp_file_left_on_success(tmp_path: Path) -> None:
    for i in range(3):
        atomic.write_text(tmp_path / "f.txt", str(i))
    assert _names(tmp_path) == ["f.txt"]


# --- lock -----------------------------------------------------------------------------

_LOCK_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cairn import atomic
    from cairn.errors import CairnError

    lock, log, name, hold, timeout = sys.argv[1:6]
    try:
        with atomic.lock(Path(lock), timeout=float(timeout)):
            with open(log, "a") as f:
                f.write(f"start {name}\\n")
                f.flush()
                time.sleep(float(hold))
                f.write(f"end {name}\\n")
    except CairnError as exc:
        print(exc)
        sys.exit(3)
    """
)


def _locker(lock: Path, log: Path, name: str, hold: float, timeout: float) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", _LOCK_SCRIPT, str(lock), str(log), name, str(hold), str(timeout)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_lock_serializes_two_processes(tmp_path: Path) -> None:
    lock, log = tmp_path / "x.lock", tmp_path / "log"
    procs = [_locker(lock, log, name, 0.3, 20) for name in ("a", "b")]
    for proc in procs:
        assert proc.wait(timeout=30) == 0, proc.communicate()
    lines = log.read_text().splitlines()
    assert len(lines) == 4
    # Never "start a, start b": each process finishes before the other starts.
    first = lines[0].split()[1]
    second = "b" if first == "a" else "a"
    assert lines == [f"start {first}", f"end {first}", f"start {second}", f"end {second}"]


def test_lock_times_out_with_a_cairn_error_in_another_process(tmp_path: Path) -> None:
    lock, log = tmp_path / "x.lock", tmp_path / "log"
    with atomic.lock(lock):
        proc = _locker(lock, log, "late", 0, 0.2)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 3
    assert "could not lock" in out
    assert str(lock) in out
    assert not log.exists()


def test_lock_is_free_again_after_the_block(tmp_path: Path) -> None:
    lock, log = tmp_path / "x.lock", tmp_path / "log"
    with atomic.lock(lock):
        pass
    proc = _locker(lock, log, "after", 0, 5)
    assert proc.wait(timeout=30) == 0
    assert log.read_text().split() == ["start", "after", "end", "after"]


def test_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with pytest.raises(ValueError), atomic.lock(lock):
        raise ValueError("boom")
    _assert_free_in_other_thread(lock)


def test_lock_times_out_with_a_cairn_error(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with atomic.lock(lock, timeout=0.1):
                pass
        except BaseException as exc:
            errors.append(exc)

    with atomic.lock(lock):
        start = time.monotonic()
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=10)
        elapsed = time.monotonic() - start
    assert len(errors) == 1
    err = errors[0]
    assert isinstance(err, CairnError)
    assert err.code == 1
    assert str(lock) in str(err)
    assert "0.1 s" in str(err)
    assert "another cairn process" in err.hint
    assert elapsed < 5


def test_lock_is_reentrant_in_one_thread(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    start = time.monotonic()
    with atomic.lock(lock, timeout=2), atomic.lock(lock, timeout=2):
        pass
    assert time.monotonic() - start < 1
    _assert_free_in_other_thread(lock)


def test_errors_inside_the_block_are_not_relabelled(tmp_path: Path) -> None:
    # A lock timeout raised by code inside the block (e.g. a nested lock) stays what it is.
    with pytest.raises(atomic.LockTimeout), atomic.lock(tmp_path / "x.lock"):
        raise atomic.LockTimeout(str(tmp_path / "other.lock"))
    _assert_free_in_other_thread(tmp_path / "x.lock")


def _lock_in_forked_child(lock: str, queue: Any) -> None:
    try:
        with atomic.lock(Path(lock), timeout=5):
            queue.put("locked")
    except BaseException as exc:
        queue.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_lock_works_in_a_forked_child(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with atomic.lock(lock):
        pass  # the parent has used this lock before forking
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_lock_in_forked_child, args=(str(lock), queue))
    child.start()
    child.join(timeout=30)
    assert queue.get(timeout=5) == "locked"


def test_lock_creates_the_parent_directory(tmp_path: Path) -> None:
    lock = tmp_path / "deep" / "er" / "x.lock"
    with atomic.lock(lock):
        assert lock.parent.is_dir()


def _assert_free_in_other_thread(lock: Path) -> None:
    got: list[bool] = []

    def other() -> None:
        with atomic.lock(lock, timeout=2):
            got.append(True)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=10)
    assert got == [True]


def test_a_lock_file_that_cannot_be_made_names_what_it_guards(tmp_path: Path) -> None:
    """No permission, a read-only or full disk, a file where its folder goes: the error names
    the change it stops (issue 18, item 10), and is no timeout."""
    from cairn.errors import Busy

    (tmp_path / "locks").write_text("a file, not a folder")
    guarded = tmp_path / "repo" / "dataset"
    with (
        pytest.raises(CairnError) as caught,
        atomic.lock(tmp_path / "locks" / "x.lock", guards=guarded),
    ):
        pass
    assert not isinstance(caught.value, Busy)
    assert str(caught.value).startswith(f"cannot change {guarded}: cannot create its lock file")
    assert "File exists" in str(caught.value) and "move it away" in caught.value.hint


def test_a_lock_that_is_not_free_in_time_is_busy(tmp_path: Path) -> None:
    from cairn.errors import Busy

    path = tmp_path / "x.lock"
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with atomic.lock(path, timeout=0):
                pass
        except BaseException as exc:
            errors.append(exc)

    with atomic.lock(path):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=10)
    assert len(errors) == 1 and isinstance(errors[0], Busy)
