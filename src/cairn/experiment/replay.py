"""``cairn replay experiment NAME``: run recorded points again and say, per point, whether
its results reproduced and what drifted.

Each chosen point is run once more from what its first successful run left in its step
folder: a script point through ``run script --locked=cairn-lock.json --allow_drift
--skip_cache`` (so the run is pinned to the lock, drift in repositories, host, scripts and
versions is listed, never refused, and the script really runs: its own cache entry is neither
used nor made; its dependencies come from the cache as usual), a command point with the same
argv and env. Its results are compared with
the recorded median over its repeats (:mod:`cairn.runs.replaying`: numbers within
``--tolerance``, anything else equal). The replays run in a scratch folder; the sweep is
left as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cairn.errors import InvalidInput, NotFound
from cairn.experiment import results, table, tasks
from cairn.experiment.executor import Executor
from cairn.experiment.sweep import SweepSpec
from cairn.record import Defaulted, field
from cairn.runs import replaying


class Verdict(Defaulted):
    """One point replayed."""

    point: str
    values: dict[str, Any]
    reproduced: bool
    outputs: list[dict[str, Any]] = field(default_factory=list)  # replaying.compare rows
    drift: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "point": self.point,
            "values": self.values,
            "reproduced": self.reproduced,
            "outputs": self.outputs,
            "drift": self.drift,
            "error": self.error,
        }


def chosen(
    spec: SweepSpec, rows: Sequence[dict[str, Any]], points: Sequence[str]
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The points to replay (``points``: id prefixes; none: every point with a good run),
    each with its successful rows."""
    good: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("status") == results.OK and row.get("point"):
            good.setdefault(str(row["point"]), []).append(row)
    if not points:
        return [(p.id, good[p.id]) for p in spec.points if p.id in good]
    picked = []
    for prefix in points:
        ids = [p.id for p in spec.points if p.id.startswith(prefix)]
        if len(ids) != 1:
            raise NotFound(
                f"{'no' if not ids else 'more than one'} point of the sweep starts with {prefix!r}",
                hint="see the point ids: cairn show experiment NAME --columns=point",
            )
        if ids[0] not in good:
            raise InvalidInput(f"point {ids[0]} never ran successfully: nothing to replay")
        picked.append((ids[0], good[ids[0]]))
    return picked


def task_of(spec: SweepSpec, folder: Path, row: dict[str, Any], scratch: Path) -> tasks.PointTask:
    """The task that runs ``row``'s point again from its step folder's records."""
    step = folder / str(row["uid"])
    recorded = _json(step / results.INPUT_FILE)
    scratch.mkdir(parents=True)
    if spec.target.kind == tasks.SCRIPT:
        lock = step / tasks.LOCK_FILE
        if not lock.is_file():
            raise NotFound(f"{lock} is missing: the point cannot be replayed from its lock")
        (scratch / results.INPUT_FILE).write_text(json.dumps(recorded), encoding="utf-8")
        argv = tasks.cairn_argv(
            "run",
            "script",
            f"@{scratch / results.INPUT_FILE}",
            f"--locked={lock}",
            "--allow_drift",
            "--skip_cache",  # a cache hit would only read the recorded results back
            "--out=json",
            "--quiet",
        )
        return tasks.PointTask(
            kind=tasks.SCRIPT,
            argv=argv,
            cwd=str(scratch),
            result_keys=spec.target.result_keys,
            timeout=spec.target.timeout,
        )
    return tasks.PointTask(
        kind=tasks.COMMAND,
        argv=tuple(recorded["command"]),
        cwd=str(scratch),
        env=dict(recorded.get("env") or {}),
        result_file=spec.target.result_file,
        timeout=spec.target.timeout,
    )


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotFound(f"{path}: the point's recorded input is not readable ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected a JSON object")
    return data


def replay(
    spec: SweepSpec,
    folder: Path,
    picked: list[tuple[str, list[dict[str, Any]]]],
    executor: Executor,
    tolerance: float,
    keys: Sequence[str] = (),
) -> list[Verdict]:
    """Run each picked point once more and judge it against its recorded results."""
    values = {p.id: p.values for p in spec.points}
    scratch = Path(tempfile.mkdtemp(prefix="cairn-replay-"))
    try:
        work = [(pid, task_of(spec, folder, rows[0], scratch / pid)) for pid, rows in picked]
        recorded = {pid: _recorded(rows, list(values[pid])) for pid, rows in picked}
        verdicts = {
            pid: _judge(pid, values[pid], recorded[pid], outcome, tolerance, keys)
            for pid, outcome in executor.run(work)
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return [verdicts[pid] for pid, _ in picked if pid in verdicts]


def _recorded(rows: list[dict[str, Any]], inputs: list[str]) -> dict[str, Any]:
    """A point's recorded results: the aggregated line of its good runs."""
    line = table.aggregate(rows, inputs).lines[0]
    skip = {*inputs, *table.NOT_RESULTS}
    return {k: v for k, v in line.values.items() if k not in skip}


def _judge(
    pid: str,
    values: dict[str, Any],
    recorded: dict[str, Any],
    outcome: tasks.PointOutcome,
    tolerance: float,
    keys: Sequence[str],
) -> Verdict:
    if outcome.status != results.OK:
        return Verdict(
            point=pid, values=values, reproduced=False, drift=outcome.drift, error=outcome.error
        )
    now = {results.result_name(k): v for k, v in outcome.results.items()}
    chosen_keys = replaying.chosen_keys(recorded, list(keys) or None)
    rows = replaying.compare(recorded, now, chosen_keys, tolerance)
    return Verdict(
        point=pid,
        values=values,
        reproduced=replaying.reproduced(rows),
        outputs=rows,
        drift=outcome.drift,
    )


def lines(verdicts: Sequence[Verdict]) -> list[str]:
    """One block per point: its values, the verdict, what differed and what drifted."""
    out = []
    for v in verdicts:
        head = " ".join(f"{k}={x}" for k, x in v.values.items())
        out.append(
            f"point {v.point[:8]} {head}: {'reproduced' if v.reproduced else 'did NOT reproduce'}"
        )
        if v.error:
            out.append(f"  failed: {v.error.splitlines()[0]}")
        for row in v.outputs:
            if row["status"] != replaying.SAME:
                diff = f" ({row['difference']:.1%})" if row.get("difference") else ""
                out.append(
                    f"  {row['key']}: {row['recorded']} -> {row['now']} {row['status']}{diff}"
                )
        out += [f"  drift: {d}" for d in v.drift]
    good = sum(v.reproduced for v in verdicts)
    out.append(f"{good} of {len(verdicts)} points reproduced")
    return out
