"""Staging folders named after their process, and the clean-up of those left by dead ones
(``cairn.staging``; issue 18, item 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cairn import staging
from cairn.home import WORK_KEPT


def _left_by_a_dead_process(parent: Path, prefix: str = staging.STAGING_PREFIX) -> Path:
    """A staging folder made by a process that then died without cleaning up (``os._exit``:
    no ``finally`` runs, as under ``kill -9``)."""
    code = (
        "import os, sys; from pathlib import Path; from cairn import staging; "
        "p = staging.make(Path(sys.argv[1]), sys.argv[2]); (p / 'half.txt').write_text('x'); "
        "print(p); sys.stdout.flush(); os._exit(9)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(parent), prefix], capture_output=True, text=True
    )
    assert done.returncode == 9, done.stderr
    return Path(done.stdout.strip())


def _aged(path: Path, days: float) -> Path:
    then = time.time() - days * 86400
    os.utime(path, (then, then))
    return path


def test_a_staging_folder_is_named_after_its_process(tmp_path: Path) -> None:
    import re

    made = staging.make(tmp_path)
    owner = rf"\.cairn-tmp-p{os.getpid()}(t\d+)?\.{staging.host_tag()}\."
    assert re.match(owner, made.name), made.name
    assert made.is_dir() and not staging.abandoned(made)


def test_a_folder_whose_pid_was_reused_is_abandoned(tmp_path: Path) -> None:
    """A folder names its process's start time too: a live process with that PID that
    started at another time is not its owner (the PID was reused)."""
    if staging._started(os.getpid()) is None:
        pytest.skip("no /proc here: process start times cannot be read")
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        tag, pid = staging.host_tag(), sleeper.pid
        reused = _mkdir(tmp_path / f".cairn-tmp-p{pid}t1.{tag}.abcd")
        owned = _mkdir(tmp_path / f".cairn-tmp-p{pid}t{staging._started(pid)}.{tag}.efgh")
        unstarted = _mkdir(tmp_path / f".cairn-tmp-p{pid}.{tag}.ijkl")  # the PID alone decides
        assert staging.clean(tmp_path) == [reused]
        assert owned.is_dir() and unstarted.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert staging.clean(tmp_path) == sorted([owned, unstarted])


def test_a_folder_of_a_dead_process_is_abandoned_a_live_ones_is_not(tmp_path: Path) -> None:
    dead = _left_by_a_dead_process(tmp_path)
    live = staging.make(tmp_path)
    assert staging.abandoned(dead) and not staging.abandoned(live)
    assert staging.clean(tmp_path) == [dead]
    assert not dead.exists() and live.is_dir()


def test_a_folder_whose_owner_cannot_be_checked_waits_a_day(tmp_path: Path) -> None:
    legacy = tmp_path / ".cairn-tmp-k3j_x8a1"  # named by an older cairn: no owner in it
    foreign = tmp_path / f".cairn-tmp-p{os.getpid()}.00000000.abcd"  # another machine's
    for path in (legacy, foreign):
        path.mkdir()
    assert staging.clean(tmp_path) == []
    _aged(legacy, 2)
    _aged(foreign, 2)
    assert staging.clean(tmp_path) == sorted([legacy, foreign])


def test_work_folders_kept_on_purpose_stay(tmp_path: Path) -> None:
    crashed = _left_by_a_dead_process(tmp_path, "run-")
    kept = _left_by_a_dead_process(tmp_path, "run-")
    (kept / WORK_KEPT).touch()
    legacy = _aged(_mkdir(tmp_path / "run-abc123"), 30)  # unowned: maybe a kept one
    removed = staging.clean(tmp_path, "run-", kept_mark=WORK_KEPT, unchecked_age_s=None)
    assert removed == [crashed]
    assert kept.is_dir() and legacy.is_dir()


def test_only_folders_with_the_prefix_are_touched(tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()
    (tmp_path / ".cairn-tmp-file").write_text("not a folder")
    _aged(tmp_path / "mnist", 30)
    assert staging.clean(tmp_path) == []
    assert staging.clean(tmp_path / "missing") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cairn-tmp-file", "mnist"]


# --- end to end: `cairn reindex` and the cheap passes -----------------------------------------


def test_reindex_removes_what_dead_processes_left_and_says_so(
    cli: Any, cairn_home: Path, make_repo: Any
) -> None:
    repo = make_repo("mine", artifacts={"dataset/d": {"alias": "d"}})
    assert cli("add", "repo", str(repo)).returncode == 0
    assert cli("add", "dataset", "x").returncode == 0
    (cairn_home / "local" / "cache").mkdir()
    (cairn_home / "work").mkdir()
    left = [
        _left_by_a_dead_process(cairn_home / "local" / "dataset"),
        _left_by_a_dead_process(cairn_home / "local" / "cache"),
        _left_by_a_dead_process(repo / "dataset"),
        _left_by_a_dead_process(cairn_home / "work", "run-"),
        _aged(_mkdir(cairn_home / "local" / "cache" / ".cairn-tmp-oldstyle"), 2),
    ]
    kept = _left_by_a_dead_process(cairn_home / "work", "run-")
    (kept / WORK_KEPT).touch()
    live = staging.make(cairn_home / "local" / "dataset")  # this test process is alive
    done = cli("reindex")
    assert done.returncode == 0, done.stderr
    for path in left:
        assert not path.exists()
        assert f"Removed {path} (left by a process that died)" in done.stdout
    assert kept.is_dir() and live.is_dir()
    assert str(kept) not in done.stdout and str(live) not in done.stdout
    assert cli("reindex", "--out=json").stdout.count('"removed": []') == 1


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_a_change_in_a_folder_removes_its_leftovers(cli: Any, cairn_home: Path) -> None:
    assert cli("add", "dataset", "a").returncode == 0
    left = _left_by_a_dead_process(cairn_home / "local" / "dataset")
    assert cli("find", "dataset").stdout.split() == [str(cairn_home / "local/dataset/a")]
    assert cli("add", "dataset", "b").returncode == 0
    assert not left.exists()


def test_an_import_removes_leftovers_of_imports(
    cli: Any, cairn_home: Path, make_repo: Any, tmp_path: Path
) -> None:
    (cairn_home / "repos").mkdir(parents=True)
    left = _left_by_a_dead_process(cairn_home / "repos")
    path = make_repo("packme", artifacts={"model/m": {"alias": "m"}})
    import shutil

    packed = shutil.make_archive(str(tmp_path / "packme"), "zip", path)
    assert cli("import", "repo", packed).returncode == 0
    assert not left.exists()


@pytest.mark.parametrize("dirty", [False, True])
def test_a_run_removes_work_folders_of_dead_runs_only(
    cli: Any, cairn_home: Path, tmp_path: Path, dirty: bool
) -> None:
    from tests.script_fixtures import ScriptRepo

    ScriptRepo(tmp_path / "scripts").add("hello", run="echo hi\n")
    (cairn_home / "work").mkdir(parents=True)
    crashed = _left_by_a_dead_process(cairn_home / "work", "run-")
    failed = _left_by_a_dead_process(cairn_home / "work", "run-")
    (failed / WORK_KEPT).touch()
    flags = ["--dirty"] if dirty else []
    done = cli("run", "script", "hello", *flags)
    assert done.returncode == 0, done.stderr
    assert not crashed.exists() and failed.is_dir()
    left = sorted(p for p in (cairn_home / "work").iterdir() if p != failed)
    assert len(left) == (1 if dirty else 0)
    assert all((p / WORK_KEPT).exists() for p in left)


# --- real processes: killed with SIGKILL mid-staging, or alive and staging -------------------


def _cairn(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cairn", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _copy_caught_staging(folder: Path, target: str, signal_number: int) -> Any:
    """Start ``cairn copy dataset big TARGET`` and send it ``signal_number`` as soon as its
    staging folder appears in ``folder``: returns (process, staging folder). A copy that
    finished first (it copies many files, so it rarely does) is undone and tried again."""
    for _ in range(10):
        before = set(folder.iterdir())
        proc = _cairn("copy", "dataset", "big", target)
        while proc.poll() is None:
            found = [
                p
                for p in set(folder.iterdir()) - before
                if p.name.startswith(staging.STAGING_PREFIX)
            ]
            if found:
                os.kill(proc.pid, signal_number)
                return proc, found[0]
        assert proc.communicate() and proc.returncode == 0, proc.stderr
        assert _run("rm", "dataset", target, "-f").returncode == 0
    pytest.fail(f"copying to {target} always finished before its staging folder was seen")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cairn", *argv], capture_output=True, text=True, timeout=300
    )


def test_a_copy_killed_mid_staging_leaves_a_folder_reindex_removes_a_live_one_stays(
    cairn_home: Path,
) -> None:
    """A real ``kill -9`` of ``cairn copy`` half-way: its staging folder is removed by the
    next reindex; the staging folder of a copy that is still alive (stopped half-way by
    SIGSTOP, so it stays half-way) is left alone, and that copy then completes."""
    import signal

    assert _run("add", "dataset", "big").returncode == 0
    folder = cairn_home / "local" / "dataset"
    for number in range(3000):
        (folder / "big" / f"f{number}").write_text(str(number))
    killed, left = _copy_caught_staging(folder, "gone", signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    assert left.is_dir() and not (folder / "gone").exists()
    done = _run("reindex")
    assert done.returncode == 0, done.stderr
    assert f"Removed {left} (left by a process that died)" in done.stdout
    assert not left.exists()
    alive, live = _copy_caught_staging(folder, "copied", signal.SIGSTOP)
    try:
        done = _run("reindex")
        assert done.returncode == 0, done.stderr
        assert live.is_dir() and "Removed" not in done.stdout
    finally:
        os.kill(alive.pid, signal.SIGCONT)
    _, err = alive.communicate(timeout=300)
    assert alive.returncode == 0, err
    assert len(list((folder / "copied").glob("f*"))) == 3000
    assert _run("find", "dataset").stdout.split() == [str(folder / "big"), str(folder / "copied")]
    assert sorted(p.name for p in folder.iterdir()) == ["big", "copied"]


def test_a_run_killed_mid_way_leaves_a_work_folder_reindex_removes_a_live_one_stays(
    cairn_home: Path, tmp_path: Path
) -> None:
    """A real ``kill -9`` of ``cairn run script`` while its script runs: its ``work/run-*``
    folder is removed by the next reindex; that of a run still going is left alone."""
    from tests.script_fixtures import ScriptRepo

    go = tmp_path / "go"
    ScriptRepo(tmp_path / "scripts").add(
        "waiter", run=f"while [ ! -e {go} ]; do sleep 0.05; done\n"
    )
    try:
        _kill_one_run_watch_another(cairn_home / "work", go)
    finally:
        go.touch()  # the scripts' shells (the killed run's too) end


def _kill_one_run_watch_another(work: Path, go: Path) -> None:
    import signal

    killed = _cairn("run", "script", "waiter")
    killed_folder = _started_run(work, killed)
    os.kill(killed.pid, signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    assert killed_folder.is_dir()
    done = _run("reindex")
    assert done.returncode == 0, done.stderr
    assert f"Removed {killed_folder} (left by a process that died)" in done.stdout
    assert not killed_folder.exists()
    alive = _cairn("run", "script", "waiter")
    try:
        live_folder = _started_run(work, alive)
        done = _run("reindex")
        assert done.returncode == 0, done.stderr
        assert live_folder.is_dir() and "Removed" not in done.stdout
    finally:
        go.touch()
    _, err = alive.communicate(timeout=120)
    assert alive.returncode == 0, err
    assert list(work.iterdir()) == []


def _started_run(work: Path, proc: subprocess.Popen[str]) -> Path:
    """The work folder of the run ``proc`` once it has started (its log is there)."""
    while True:
        started = [p.parent for p in work.glob("run-*/*.log")]
        if started:
            return started[0]
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it was seen: {proc.communicate()}")
        time.sleep(0.01)


def test_gc_run_removes_work_folders_kept_by_runs_that_ended_long_ago(
    cli: Any, cairn_home: Path
) -> None:
    """Failed and ``--dirty`` runs keep their work folder (with the log); ``cairn gc run``
    removes those older than ``--older_than`` days (default 7) once their run has ended."""
    work = cairn_home / "work"
    work.mkdir(parents=True)

    def kept(days: float, alive: bool = False) -> Path:
        path = staging.make(work, "run-") if alive else _left_by_a_dead_process(work, "run-")
        (path / WORK_KEPT).touch()
        _aged(path / WORK_KEPT, days)
        return path

    old, recent, live = kept(8), kept(2), kept(30, alive=True)
    done = cli("gc", "run", "--out=json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["work_removed"] == [str(old)]
    assert not old.exists() and recent.is_dir() and live.is_dir()
    done = cli("gc", "run", "--older_than=1")
    assert done.returncode == 0, done.stderr
    assert f"Removed {recent} (kept by a failed or --dirty run)" in done.stdout
    assert not recent.exists() and live.is_dir()
