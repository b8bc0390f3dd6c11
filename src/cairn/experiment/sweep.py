"""A sweep: every point of a space run ``repeat`` times, each outcome recorded as it arrives.

On disk a sweep is a dated folder of its experiment (CM's layout,
``<experiment>/2026-12-03.14-05-09.123456/``) holding:

``cm-input.json``
    the command that started the sweep (as CM keeps it);
``cairn-sweep.json``
    what :func:`resume` needs: the target, the space, the points (id and values), the
    number of repeats, the status (``running``, ``interrupted``, ``done``);
``cm-result.json``
    one flat row per finished run of a point (:mod:`cairn.experiment.results`), failed
    ones included, rewritten atomically after each;
``<uid>/``
    one step folder per run of a point (the row's ``uid``): its ``cm-input.json``, its log
    ``cairn-point.log``, for a script its lock ``cairn-lock.json``, for a command whatever it
    wrote (``cm-output.json``).

A point that fails is recorded with its error and the sweep goes on. A sweep stopped
midway (Ctrl-C, a crash, a kill) is continued by :func:`resume`: the runs that have a row
are done (failed ones too), step folders without a row are removed, the rest run. One
process at a time runs a sweep (a lock under ``$CAIRN_HOME/locks``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cairn import atomic, ids
from cairn.errors import Busy, CairnError, InvalidInput, NotFound, describe_os_error
from cairn.experiment import results, tasks
from cairn.experiment.executor import Executor
from cairn.experiment.target import Step, Target
from cairn.experiment.target import task as make_task
from cairn.record import Defaulted, field

SWEEP_FILE = "cairn-sweep.json"
FORMAT = 1
RUNNING, INTERRUPTED, DONE = "running", "interrupted", "done"


class PointSpec(Defaulted):
    """One point of the space: its id and values."""

    id: str
    values: dict[str, Any]


class SweepSpec(Defaulted):
    """What a sweep runs (kept in ``cairn-sweep.json``)."""

    experiment: str
    target: Target
    points: tuple[PointSpec, ...]
    space: dict[str, Any] = field(default_factory=dict)
    repeat: int = 1
    command: dict[str, Any] = field(default_factory=dict)

    def to_json(self, status: str) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "experiment": self.experiment,
            "status": status,
            "target": self.target.to_json(),
            "space": self.space,
            "repeat": self.repeat,
            "points": [{"id": p.id, "values": p.values} for p in self.points],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: Path) -> SweepSpec:
        if data.get("format") != FORMAT:
            raise InvalidInput(f"{where}: unknown sweep format {data.get('format')!r}")
        try:
            points = tuple(PointSpec(id=p["id"], values=dict(p["values"])) for p in data["points"])
            return cls(
                experiment=str(data["experiment"]),
                target=Target.from_json(data["target"]),
                points=points,
                space=dict(data.get("space") or {}),
                repeat=int(data.get("repeat") or 1),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{where}: a broken sweep description ({exc!r})") from None

    @property
    def keys(self) -> list[str]:
        """The explored keys, in the order of the first point."""
        seen: dict[str, None] = {}
        for point in self.points:
            seen.update(dict.fromkeys(point.values))
        return list(seen)


class Tally(Defaulted):
    """One worker's share of a sweep: runs running there now, done (ok or failed), failed."""

    running: int = 0
    done: int = 0
    failed: int = 0


class Progress(Defaulted):
    """How far a sweep is: runs done (ok or failed) of the total, and the time left; on a
    cluster, the tally of each worker (``""``: this machine)."""

    total: int
    done: int = 0
    failed: int = 0
    skipped: int = 0  # done by an earlier (interrupted) process
    elapsed: float = 0.0
    last: dict[str, Any] = field(default_factory=dict)  # the row just recorded
    workers: dict[str, Tally] = field(default_factory=dict)

    @property
    def eta(self) -> float | None:
        ran = self.done - self.skipped
        left = self.total - self.done
        if ran <= 0 or left <= 0:
            return None if left else 0.0
        return self.elapsed / ran * left


Listener = Callable[[Progress], None]


def new_folder(experiment: Path, now: datetime.datetime | None = None) -> Path:
    """A fresh dated folder for a sweep, named as CM names them."""
    stamp = (now or datetime.datetime.now()).isoformat(timespec="microseconds")
    name = stamp.replace(":", "-").replace("T", ".")
    folder, n = experiment / name, 1
    while folder.exists():
        folder, n = experiment / f"{name}.{n}", n + 1
    return folder


def create(experiment: Path, spec: SweepSpec) -> Path:
    """Write a new sweep's folder (no runs yet) and return it."""
    folder = new_folder(experiment)
    folder.mkdir(parents=True)
    _write_json(folder / results.INPUT_FILE, spec.command)
    _write_json(folder / SWEEP_FILE, spec.to_json(RUNNING))
    results.write(folder / results.RESULT_FILE, [])
    return folder


def load(folder: Path) -> tuple[SweepSpec, list[dict[str, Any]]]:
    """A sweep's description and rows; a CM sweep (no ``cairn-sweep.json``) is an error."""
    path = folder / SWEEP_FILE
    if not path.is_file():
        raise NotFound(
            f"{folder} was not written by a cairn sweep (no {SWEEP_FILE})",
            hint="only cairn's sweeps can be resumed or replayed; CM's can be shown and compared",
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    return SweepSpec.from_json(data, path), results.read(folder / results.RESULT_FILE)


def status(folder: Path) -> str | None:
    try:
        data = json.loads((folder / SWEEP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = data.get("status") if isinstance(data, dict) else None
    return str(found) if found else None


def outstanding(spec: SweepSpec, rows: list[dict[str, Any]]) -> list[tuple[PointSpec, int]]:
    """The runs (point, repeat) that have no row yet, in point order."""
    done = {(r.get("point"), r.get("repeat")) for r in rows}
    return [
        (point, n)
        for point in spec.points
        for n in range(1, spec.repeat + 1)
        if (point.id, n) not in done
    ]


def run(
    folder: Path,
    executor: Executor,
    *,
    listener: Listener | None = None,
    records: Path | None = None,
) -> Progress:
    """Run what ``folder``'s sweep still lacks; returns the final progress. ``records`` is
    where run records of command points go (None: nowhere)."""
    with _running(folder), _terminate_as_interrupt():
        spec, rows = load(folder)
        _remove_orphans(folder, rows)
        todo = outstanding(spec, rows)
        total = len(spec.points) * spec.repeat
        progress = Progress(total=total, done=total - len(todo), skipped=total - len(todo))
        progress = _counted_failures(progress, rows)
        return _Runner(folder, spec, rows, records, listener).go(todo, executor, progress)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While a sweep runs, SIGTERM (``kill``, a batch scheduler) stops it as Ctrl-C does: the
    points in flight are stopped and the sweep is marked interrupted, so ``--resume`` goes
    on. Left alone outside the main thread, or when someone else handles SIGTERM."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _counted_failures(progress: Progress, rows: list[dict[str, Any]]) -> Progress:
    from cairn.record import replace

    failed = sum(1 for r in rows if r.get("status") == results.FAILED)
    return replace(progress, failed=failed)


class _Runner:
    """Runs the outstanding runs of one sweep and records each outcome."""

    def __init__(
        self,
        folder: Path,
        spec: SweepSpec,
        rows: list[dict[str, Any]],
        records: Path | None,
        listener: Listener | None,
    ) -> None:
        self.folder = folder
        self.spec = spec
        self.rows = rows
        self.records = records
        self.listener = listener or (lambda progress: None)
        self.experiment = folder.parent
        self.guard = threading.Lock()  # executors tell of starts from their own threads
        self.where: dict[str, str] = {}  # the worker each run in flight started on
        self.progress = Progress(total=0)
        self.started = 0.0

    def go(
        self, todo: list[tuple[PointSpec, int]], executor: Executor, progress: Progress
    ) -> Progress:
        self.started = time.monotonic()
        self.spec.target.check(self.spec.keys)
        planned = [self._prepare(point, n, i) for i, (point, n) in enumerate(todo, 1)]
        self.progress = progress
        try:
            self.listener(progress)
            for key, outcome in executor.run([(k, t) for k, t in planned], self._started):
                self._finished(self._record(key, outcome), key[2])
        except BaseException:
            executor.cancel()
            self._set_status(INTERRUPTED)
            raise
        done = self.progress.done == self.progress.total
        self._set_status(DONE if done else INTERRUPTED)
        return self.progress

    def _started(self, key: tuple[PointSpec, int, str, str], worker: str) -> None:
        """A run started on ``worker`` (called from the executor's threads)."""
        with self.guard:
            tallies = dict(self.progress.workers)
            before = self.where.get(key[2])
            if before is not None:  # started again elsewhere: its first worker died
                tallies[before] = _tally(tallies, before, running=-1)
            self.where[key[2]] = worker
            tallies[worker] = _tally(tallies, worker, running=1)
            self._show(workers=tallies)

    def _finished(self, row: dict[str, Any], uid: str) -> None:
        failed = int(row["status"] == results.FAILED)
        with self.guard:
            tallies = dict(self.progress.workers)
            ran = self.where.pop(uid, None)
            if ran is not None:
                tallies[ran] = _tally(tallies, ran, running=-1, done=1, failed=failed)
            self._show(
                done=self.progress.done + 1,
                failed=self.progress.failed + failed,
                elapsed=time.monotonic() - self.started,
                last=row,
                workers=tallies,
            )

    def _show(self, **changes: Any) -> None:
        from cairn.record import replace

        self.progress = replace(self.progress, **changes)
        self.listener(self.progress)

    def _prepare(
        self, point: PointSpec, repeat: int, number: int
    ) -> tuple[tuple[PointSpec, int, str, str], tasks.PointTask]:
        uid = ids.new_uid()
        step_dir = self.folder / uid
        step_dir.mkdir()
        step = Step(number=number, experiment=self.experiment, sweep=self.folder, folder=step_dir)
        recorded, made = make_task(self.spec.target, point.values, step)
        _write_json(step_dir / results.INPUT_FILE, recorded)
        now = datetime.datetime.now().isoformat()
        return (point, repeat, uid, now), made

    def _record(
        self, key: tuple[PointSpec, int, str, str], outcome: tasks.PointOutcome
    ) -> dict[str, Any]:
        point, repeat, uid, started = key
        _bring_home(self.folder / uid, outcome)
        run_uid = outcome.run
        if outcome.run_record is not None and self.records is not None:
            run_uid = _home_record(self.records, outcome.run_record) or run_uid
        elif self.spec.target.kind == tasks.COMMAND and self.records is not None:
            run_uid = _command_record(self.records, self.spec, point, outcome) or run_uid
        row = make_row(point, repeat, outcome, uid=uid, started=started, run=run_uid)
        self.rows.append(row)
        results.write(self.folder / results.RESULT_FILE, self.rows)
        return row

    def _set_status(self, value: str) -> None:
        path = self.folder / SWEEP_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["status"] = value
            _write_json(path, data)
        except (OSError, ValueError):
            pass


def _tally(tallies: Mapping[str, Tally], worker: str, **more: int) -> Tally:
    """``worker``'s tally with ``more`` added to its counts."""
    from cairn.record import replace

    now = tallies.get(worker, Tally())
    return replace(now, **{k: max(0, getattr(now, k) + n) for k, n in more.items()})


def make_row(
    point: PointSpec,
    repeat: int,
    outcome: tasks.PointOutcome,
    *,
    uid: str,
    started: str,
    run: str | None,
) -> dict[str, Any]:
    """The flat row of one run: inputs, results, then bookkeeping (CM's keys last)."""
    row: dict[str, Any] = dict(point.values)
    for key, value in outcome.results.items():
        row[results.result_name(key)] = value
    row.update(
        point=point.id,
        repeat=repeat,
        status=outcome.status,
        seconds=outcome.seconds,
        error=outcome.error,
        run=run,
        uid=uid,
        iso_datetime=started,
    )
    if outcome.worker:
        row["worker"] = outcome.worker
    return row


def _bring_home(step: Path, outcome: tasks.PointOutcome) -> None:
    """Files a point made on another machine, written into its step folder (names only:
    a file name with a folder part is refused, so nothing lands outside the step)."""
    for name, data in outcome.files.items():
        if Path(name).name != name or name in ("", ".", ".."):
            continue
        (step / name).write_bytes(data)


def _home_record(folder: Path, record: dict[str, Any]) -> str | None:
    """A run record written on another machine, kept here under its own uid."""
    from cairn import report
    from cairn.runs import records

    uid = str(record.get("uid") or "")
    try:
        saved = records.save(folder, record, uid=uid if ids.is_uid(uid) else None)
    except OSError as exc:
        report.warn(f"could not keep the run record {uid}: {exc}")
        return None
    return saved.name if saved is not None else None


def _command_record(
    folder: Path, spec: SweepSpec, point: PointSpec, outcome: tasks.PointOutcome
) -> str | None:
    """A run record for a command point (script points write their own)."""
    from cairn import report
    from cairn.runs import records

    command = {
        "action": "run",
        "automation": "experiment",
        "artifact": spec.experiment,
        "point": point.id,
        "argv": list(spec.target.argv),
        "values": point.values,
    }
    error = CairnError(outcome.error) if outcome.error else None
    started = time.time() - outcome.seconds
    record = records.build(command, started=started, seconds=outcome.seconds, error=error)
    record["outputs"] = {"new_env": outcome.results, "new_state": {}}
    try:
        saved = records.save(folder, record)
    except OSError as exc:
        report.warn(f"could not write the run record of point {point.id}: {describe_os_error(exc)}")
        return None
    return saved.name if saved is not None else None


def _remove_orphans(folder: Path, rows: list[dict[str, Any]]) -> None:
    """Step folders of runs that never got a row (the process was stopped): removed."""
    kept = {r.get("uid") for r in rows}
    for entry in folder.iterdir():
        if entry.is_dir() and ids.is_uid(entry.name) and entry.name not in kept:
            shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def _running(folder: Path) -> Iterator[None]:
    from contextlib import ExitStack

    from cairn.home import Home

    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    path = Home.from_env().root / "locks" / f"sweep-{digest}.lock"
    with ExitStack() as stack:
        try:
            stack.enter_context(atomic.lock(path, timeout=0.5, guards=folder))
        except Busy:
            raise CairnError(
                f"the sweep {folder} is being run by another process",
                hint="wait for it, or stop it; then run with --resume",
            ) from None
        yield


def _write_json(path: Path, data: Any) -> None:
    atomic.write_text(path, json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def sweep_folders(experiment: Path) -> list[Path]:
    """The sweep folders of an experiment (cairn's and CM's), oldest first."""
    found = []
    for entry in sorted(os.scandir(experiment), key=lambda e: e.name):
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if (path / results.RESULT_FILE).is_file() or (path / SWEEP_FILE).is_file():
            found.append(path)
    return found
