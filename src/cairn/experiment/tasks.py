"""One point of a sweep as a self-contained task, and running it.

A :class:`PointTask` says everything needed to run one point once, with no reference to
the sweep or the catalog: the argv (a list, never a shell string), the env it adds, the
folder it runs in, and how its results are read. :func:`execute` runs it in a subprocess
and returns a :class:`PointOutcome`. Both are plain picklable records, so an executor can
run tasks in threads here or ship them to other machines (:mod:`cairn.experiment.executor`).

A script point runs ``python -m cairn run script NAME @cm-input.json --out=json
--lock=cairn-lock.json`` (the run writes its own run record and lock; its JSON answer
gives ``new_env``/``new_state``); a command point runs the user's argv with the point's
values in its env and reads the JSON object it writes to its result file (CM's
``cm-output.json`` in the current folder, by default). A point that times out or is
cancelled is stopped with every process below it (:func:`signal_tree`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cairn.errors import CairnError
from cairn.experiment import results
from cairn.record import Defaulted, field

SCRIPT, COMMAND = "script", "command"
LOG_FILE = "cairn-point.log"
LOCK_FILE = "cairn-lock.json"
_TAIL = 600


class PointTask(Defaulted):
    """One run of one point."""

    kind: str  # SCRIPT or COMMAND
    argv: tuple[str, ...]
    cwd: str  # the point's step folder (created by the caller)
    env: dict[str, str] = field(default_factory=dict)  # added to the process env
    result_keys: tuple[str, ...] = ()  # SCRIPT: which exports are results (() = every one)
    result_file: str = results.OUTPUT_FILE  # COMMAND: read from cwd after the run
    timeout: float | None = None
    files: dict[str, str] = field(default_factory=dict)  # written into cwd before the run


class PointOutcome(Defaulted):
    """What one run of a point gave."""

    status: str  # results.OK or results.FAILED
    seconds: float
    results: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    run: str | None = None  # the run record's uid (script points)
    log: str | None = None
    drift: list[str] = field(default_factory=list)  # a run pinned to a lock: what differed
    worker: str | None = None  # where it ran, when not here
    files: dict[str, bytes] = field(default_factory=dict)  # brought back from another machine
    run_record: dict[str, Any] | None = None  # its run record, written on another machine
    cache_export: bytes | None = None  # the cache entries it made there (--fetch-cache)
    answer: dict[str, Any] | None = None  # a script point: run script's whole JSON answer


class Running:
    """The processes of tasks in flight, so that a cancelled sweep can stop them."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._procs: set[subprocess.Popen[bytes]] = set()
        self.stopped = False

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        with self._guard:
            self._procs.add(proc)
            if self.stopped:
                signal_tree(proc, signal.SIGTERM)

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        with self._guard:
            self._procs.discard(proc)

    def stop(self) -> None:
        """Terminate every process in flight, with what it started (and any from now on)."""
        with self._guard:
            self.stopped = True
            for proc in self._procs:
                signal_tree(proc, signal.SIGTERM)


def signal_tree(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send ``sig`` to ``proc`` and to every process it started, and they started (what a
    point's script runs goes too). The point stays in the sweep's process group, so a
    signal to the whole group (Ctrl-C, ``kill -- -PGID``) still reaches it."""
    for pid in [proc.pid, *descendants(proc.pid)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def descendants(root: int) -> list[int]:
    """The processes below ``root`` (from ``/proc``: Linux; none found elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        parent = int(stat.rpartition(")")[2].split()[1])  # the name may hold spaces
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    waiting = [root]
    while waiting:
        below = children.get(waiting.pop(), [])
        found += below
        waiting += below
    return found


def execute(task: PointTask, running: Running | None = None) -> PointOutcome:
    """Run ``task`` once; failures are outcomes, never exceptions."""
    start = time.monotonic()
    log = Path(task.cwd) / LOG_FILE
    try:
        _write_files(task)
        code, stdout = _spawn(task, log, running)
        outcome = _read(task, code, stdout, log)
    except subprocess.TimeoutExpired:
        error = f"timed out after {task.timeout:g} s (--timeout)"
        outcome = PointOutcome(status=results.FAILED, seconds=0.0, error=error)
    except (OSError, CairnError) as exc:
        outcome = PointOutcome(status=results.FAILED, seconds=0.0, error=str(exc))
    seconds = round(time.monotonic() - start, 6)
    if task.kind == SCRIPT and outcome.run is None:
        outcome = _with(outcome, run=run_of(task))
    return _with(outcome, seconds=seconds, log=str(log))


def run_of(task: PointTask, newest: int = 50) -> str | None:
    """The run record a script point left when its answer did not name it (a failed run):
    the newest record made in the point's folder."""
    from cairn.home import Home
    from cairn.runs import records

    home = Path(task.env["CAIRN_HOME"]) if "CAIRN_HOME" in task.env else Home.from_env().root
    folder = home / "local" / records.FOLDER
    for uid in reversed(records.uids(folder)[-newest:]):
        try:
            if records.load(folder / uid).get("cwd") == task.cwd:
                return uid
        except (OSError, ValueError):
            continue
    return None


def _write_files(task: PointTask) -> None:
    for name, text in task.files.items():
        path = Path(task.cwd) / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def _with(outcome: PointOutcome, **changes: Any) -> PointOutcome:
    from cairn.record import replace

    return replace(outcome, **changes)


def _spawn(task: PointTask, log: Path, running: Running | None) -> tuple[int, bytes]:
    if running is not None and running.stopped:
        raise CairnError("cancelled before it started")
    env = {**os.environ, **task.env}
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            list(task.argv),
            cwd=task.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if task.kind == SCRIPT else sink,
            stderr=sink,
        )
        if running is not None:
            running.add(proc)
        try:
            stdout, _ = proc.communicate(timeout=task.timeout)
        except subprocess.TimeoutExpired:
            signal_tree(proc, signal.SIGKILL)
            proc.communicate()
            raise
        finally:
            if running is not None:
                running.discard(proc)
    return proc.returncode, stdout or b""


def _read(task: PointTask, code: int, stdout: bytes, log: Path) -> PointOutcome:
    if task.kind == SCRIPT:
        return _script_outcome(task, code, stdout, log)
    if code != 0:
        return _failed(f"the command exited with {_exit_text(code)}", log)
    found = results.read_output(Path(task.cwd) / task.result_file)
    return PointOutcome(status=results.OK, seconds=0.0, results=found)


def _exit_text(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"code {code}"


def _script_outcome(task: PointTask, code: int, stdout: bytes, log: Path) -> PointOutcome:
    try:
        answer = json.loads(stdout.decode("utf-8", "replace") or "null")
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return _failed(f"cairn run script exited with {_exit_text(code)} and no answer", log)
    if answer.get("return", 1) != 0:
        error = str(answer.get("error") or f"exit {_exit_text(code)}")
        return PointOutcome(status=results.FAILED, seconds=0.0, error=error)
    found = _chosen(answer, task.result_keys)
    run = answer.get("run_record")
    drift = [str(d) for d in answer.get("drift") or []]
    return PointOutcome(
        status=results.OK, seconds=0.0, results=found, run=run, drift=drift, answer=answer
    )


def _chosen(answer: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The results of a script point: ``keys`` of its exports (``new_env``, then flattened
    ``new_state``), else those its meta names (``experiment_results``), else every export
    that names no file."""
    env = dict(answer.get("new_env") or {})
    state = results.flatten(answer.get("new_state") or {})
    keys = keys or tuple(str(k) for k in answer.get("experiment_results") or ())
    if not keys:
        return {k: v for k, v in env.items() if not _names_file(v)}
    pool = {**state, **env}
    return {k: pool[k] for k in keys if k in pool}


def _names_file(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("/")


def _failed(error: str, log: Path) -> PointOutcome:
    tail = _tail(log)
    text = f"{error}\n{tail}" if tail else error
    return PointOutcome(status=results.FAILED, seconds=0.0, error=text)


def _tail(log: Path) -> str:
    try:
        data = log.read_bytes()[-_TAIL:]
    except OSError:
        return ""
    return data.decode("utf-8", "replace").strip()


def brought_back(task: PointTask) -> tuple[str, ...]:
    """The files of a point's folder worth bringing home from another machine."""
    return (LOG_FILE, LOCK_FILE, task.result_file, *task.files)


def cairn_argv(*words: str) -> tuple[str, ...]:
    """The argv of a cairn command run by the interpreter running now."""
    return (sys.executable, "-m", "cairn", *words)
