"""Sweeps on disk: points run through the local executor, rows recorded, failures kept,
interrupted sweeps resumed without redoing finished runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from cairn.errors import CairnError, InvalidInput, NotFound
from cairn.experiment import results, sweep, tasks
from cairn.experiment.executor import LocalExecutor
from cairn.experiment.sweep import PointSpec, SweepSpec, Tally
from cairn.experiment.target import Target

# A command that writes its results (n squared) to cm-output.json; n == 3 fails.
WRITER = (
    "import json, os, sys\n"
    "n = int(sys.argv[1])\n"
    "if n == 3: sys.exit('three is not allowed')\n"
    "json.dump({'square': n * n, 'env_n': os.environ['n'], 'nested': {'k': 1}},"
    " open('cm-output.json', 'w'))\n"
)


def command_spec(values: list[int], repeat: int = 1, argv: tuple[str, ...] = ()) -> SweepSpec:
    points = tuple(PointSpec(id=f"p{n:015d}", values={"n": n}) for n in values)
    target = Target(kind=tasks.COMMAND, argv=argv or (sys.executable, "-c", WRITER, "{{n}}"))
    return SweepSpec(experiment="e", target=target, points=points, repeat=repeat)


def test_a_command_sweep_records_every_point_and_keeps_the_failed_one(tmp_path: Path) -> None:
    folder = sweep.create(tmp_path / "e", command_spec([1, 2, 3, 4]))
    seen: list[int] = []
    progress = sweep.run(folder, LocalExecutor(2), listener=lambda p: seen.append(p.done))
    rows = results.read(folder / results.RESULT_FILE)
    assert progress.done == 4 and progress.failed == 1
    by_n = {r["n"]: r for r in rows}
    assert by_n[2]["square"] == 4 and by_n[2]["env_n"] == "2" and by_n[2]["nested.k"] == 1
    assert by_n[3]["status"] == "failed" and "three is not allowed" in by_n[3]["error"]
    assert by_n[3]["error"].startswith("the command exited with code 1")
    assert all((folder / r["uid"] / results.INPUT_FILE).is_file() for r in rows)
    assert seen[0] == 0 and seen[-1] == 4
    assert sweep.status(folder) == sweep.DONE


def test_repeats_are_rows_of_their_own(tmp_path: Path) -> None:
    folder = sweep.create(tmp_path / "e", command_spec([1, 2], repeat=3))
    sweep.run(folder, LocalExecutor(1))
    rows = results.read(folder / results.RESULT_FILE)
    assert sorted((r["n"], r["repeat"]) for r in rows) == [
        (n, k) for n in (1, 2) for k in (1, 2, 3)
    ]


def test_resume_runs_only_what_has_no_row_and_removes_orphan_steps(tmp_path: Path) -> None:
    folder = sweep.create(tmp_path / "e", command_spec([1, 2, 4]))
    spec, _ = sweep.load(folder)
    first = sweep.make_row(
        spec.points[0],
        1,
        tasks.PointOutcome(status="ok", seconds=0.1, results={"square": -1}),
        uid="a" * 16,
        started="t",
        run=None,
    )
    results.write(folder / results.RESULT_FILE, [first])
    (folder / ("a" * 16)).mkdir()
    orphan = folder / ("b" * 16)
    orphan.mkdir()  # a run that was killed before its row was written
    progress = sweep.run(folder, LocalExecutor(1))
    rows = results.read(folder / results.RESULT_FILE)
    assert progress.skipped == 1 and progress.done == 3
    assert [r["n"] for r in rows] == [1, 2, 4]
    assert rows[0]["square"] == -1  # not run again
    assert not orphan.exists()


def test_an_interrupted_sweep_is_marked_and_its_executor_cancelled(tmp_path: Path) -> None:
    folder = sweep.create(tmp_path / "e", command_spec([1, 2, 4]))
    executor = _Interrupted()
    with pytest.raises(KeyboardInterrupt):
        sweep.run(folder, executor)
    assert executor.cancelled
    assert sweep.status(folder) == sweep.INTERRUPTED
    assert results.read(folder / results.RESULT_FILE) == []


class _Interrupted:
    """An executor interrupted (Ctrl-C) before any run finished."""

    cancelled = False

    def run(self, work: Any, started: Any = None) -> Any:
        raise KeyboardInterrupt
        yield  # a generator, as executors are

    def cancel(self) -> None:
        self.cancelled = True


def test_a_sweep_being_run_elsewhere_is_refused(tmp_path: Path) -> None:
    from cairn import atomic
    from cairn.home import Home

    folder = sweep.create(tmp_path / "e", command_spec([1]))
    import hashlib

    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    lock = Home.from_env().root / "locks" / f"sweep-{digest}.lock"
    import threading

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with atomic.lock(lock):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        with pytest.raises(CairnError, match="being run by another process"):
            sweep.run(folder, LocalExecutor(1))
    finally:
        release.set()
        thread.join()


def test_an_unknown_placeholder_is_refused_before_anything_runs(tmp_path: Path) -> None:
    spec = command_spec([1], argv=("echo", "{{m}}"))
    folder = sweep.create(tmp_path / "e", spec)
    with pytest.raises(InvalidInput, match=r"\{\{m\}\}.*not an explored key"):
        sweep.run(folder, LocalExecutor(1))
    assert not [p for p in folder.iterdir() if p.is_dir()]


def test_a_timeout_fails_the_point(tmp_path: Path) -> None:
    points = (PointSpec(id="p" * 16, values={"n": 1}),)
    target = Target(
        kind=tasks.COMMAND, argv=(sys.executable, "-c", "import time; time.sleep(20)"), timeout=0.3
    )
    folder = sweep.create(tmp_path / "e", SweepSpec(experiment="e", target=target, points=points))
    sweep.run(folder, LocalExecutor(1))
    (row,) = results.read(folder / results.RESULT_FILE)
    assert row["status"] == "failed" and "timed out after 0.3 s" in row["error"]


def test_a_result_file_that_is_not_an_object_fails_the_point(tmp_path: Path) -> None:
    code = "open('cm-output.json', 'w').write('[1, 2]')"
    spec = command_spec([1], argv=(sys.executable, "-c", code))
    folder = sweep.create(tmp_path / "e", spec)
    sweep.run(folder, LocalExecutor(1))
    (row,) = results.read(folder / results.RESULT_FILE)
    assert row["status"] == "failed" and "expected a JSON object" in row["error"]


def test_a_result_named_like_a_bookkeeping_key_is_kept_apart(tmp_path: Path) -> None:
    code = "import json; json.dump({'status': 'warm', 'x': 1}, open('cm-output.json', 'w'))"
    folder = sweep.create(tmp_path / "e", command_spec([1], argv=(sys.executable, "-c", code)))
    sweep.run(folder, LocalExecutor(1))
    (row,) = results.read(folder / results.RESULT_FILE)
    assert row["status"] == "ok" and row["result.status"] == "warm"


def test_command_points_leave_run_records(tmp_path: Path) -> None:
    from cairn.runs import records

    runs = tmp_path / "runs"
    folder = sweep.create(tmp_path / "e", command_spec([2, 3]))
    sweep.run(folder, LocalExecutor(1), records=runs)
    rows = {r["n"]: r for r in results.read(folder / results.RESULT_FILE)}
    ok = records.load(runs / rows[2]["run"])
    assert ok["status"] == "ok" and ok["outputs"]["new_env"]["square"] == 4
    assert ok["command"]["automation"] == "experiment" and ok["command"]["values"] == {"n": 2}
    failed = records.load(runs / rows[3]["run"])
    assert failed["status"] == "failed" and "three" in failed["error"]


def test_load_refuses_a_folder_cm_wrote(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / results.RESULT_FILE).write_text("[]")
    with pytest.raises(NotFound, match="not written by a cairn sweep"):
        sweep.load(tmp_path / "s")


def test_a_broken_sweep_file_names_itself(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / sweep.SWEEP_FILE).write_text(json.dumps({"format": 1, "points": []}))
    with pytest.raises(InvalidInput, match=r"cairn-sweep\.json: a broken sweep description"):
        sweep.load(tmp_path / "s")


def test_sweep_folders_are_named_as_cm_names_them(tmp_path: Path) -> None:
    import datetime
    import re

    now = datetime.datetime(2026, 12, 3, 14, 5, 9, 123456)
    first = sweep.new_folder(tmp_path, now)
    assert first.name == "2026-12-03.14-05-09.123456"
    first.mkdir()
    assert sweep.new_folder(tmp_path, now).name == "2026-12-03.14-05-09.123456.1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d\.\d\d-\d\d-\d\d\.\d{6}", sweep.new_folder(tmp_path).name)


def test_progress_counts_runs_running_done_and_failed_per_worker(tmp_path: Path) -> None:
    folder = sweep.create(tmp_path / "e", command_spec([1, 2, 3, 4]))
    seen: list[sweep.Progress] = []
    sweep.run(folder, _TwoWorkers(), listener=seen.append)
    running = [p.workers for p in seen if any(t.running for t in p.workers.values())]
    assert running and running[0] == {"worker b": Tally(running=1)}  # the first start
    assert seen[-1].workers == {
        "worker a": Tally(done=2, failed=1),  # n == 3 failed there
        "worker b": Tally(done=2),
    }  # the run started on b and again on a (a retry) counts once, on a


class _TwoWorkers:
    """Runs each task here one at a time, telling the sweep it starts on worker a or b;
    the first task starts on b, then (its worker died, say) again on a."""

    def run(self, work: Any, started: Any = None) -> Any:
        for n, (key, task) in enumerate(work):
            if n == 0:
                started(key, "worker b")
            started(key, "worker a" if n % 2 == 0 else "worker b")
            yield key, tasks.execute(task)

    def cancel(self) -> None:
        pass
