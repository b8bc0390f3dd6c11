"""Pareto-front benchmark: ``cairn.experiment.pareto.front`` on seeded synthetic points.

Cases (``n`` points x ``d`` objectives, objective ``j`` maximised for even ``j`` and minimised
for odd ``j``, every value uniform in [1, 1000) from ``random.Random(seed)``): 100,000 x 3,
100,000 x 2 and 10,000 x 5; then two cases where every point is on the front (all maximised,
the last two values of each point add up to 1,000): the worst case for the staircase of the
3-objective sweep (100,000 x 3) and for the generic path (2,000 x 5). Each is timed exact and
with a 2 % margin, as the median of ``--runs`` calls in this process (the points are made
once, outside the timing).

The O(n²) definition (``reference_front``) is timed at 2,000 x 3 beside ``front`` on the same
points (``front`` the median of 3 calls, the reference one call), and both answers are checked
to be equal. Last, the whole command: ``cairn pareto experiment`` (a new process: start-up,
reading the rows, the table, the front, the output) on an experiment of 100,000 synthetic rows
in CM's format (``cm-result.json``), 3 objectives, timed as the median of ``--runs`` runs, wall
and CPU. cmind and mlcflow have no Pareto front to compare with (the line printed at the end
says what was looked at).

    PYTHONPATH=src .venv/bin/python bench/pareto.py [--runs 3] [--seed 1]   # make bench-pareto
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from cairn.experiment import pareto
from cairn.experiment.pareto import Objective

Points = list[tuple[float, ...]]
UNIFORM = ((100_000, 3), (100_000, 2), (10_000, 5))
ALL_ON_FRONT = ((100_000, 3), (2_000, 5))
REFERENCE = (2_000, 3)
MARGIN = 0.02
PEERS = (
    "peers: cmind 4.2.0 and mlcflow 1.3.8 have no Pareto front (neither package has the word"
    " 'pareto'; cmx4mlops 1.0.1 mentions Pareto-efficient systems only in prose): nothing to time"
)


def uniform(n: int, width: int, seed: int) -> Points:
    rng = random.Random(seed)
    return [tuple(rng.uniform(1.0, 1000.0) for _ in range(width)) for _ in range(n)]


def opposed(n: int, width: int, seed: int) -> Points:
    """Points whose last two values add up to 1,000 (the first ones uniform): with every
    objective maximised, none dominates, and every pair of the last two values is on the
    staircase the 3-objective sweep keeps (so it grows to ``n`` pairs)."""
    rng = random.Random(seed)
    points = []
    for _ in range(n):
        head = [rng.uniform(1.0, 1000.0) for _ in range(width - 2)]
        last = rng.uniform(0.0, 1000.0)
        points.append((*head, last, 1000.0 - last))
    return points


def alternating(width: int) -> list[Objective]:
    return [Objective(key=f"k{j}", sense="min" if j % 2 else "max") for j in range(width)]


def maximised(width: int) -> list[Objective]:
    return [Objective(key=f"k{j}", sense="max") for j in range(width)]


def median_seconds(call: Callable[[], list[bool]], runs: int) -> tuple[float, list[bool]]:
    times: list[float] = []
    result: list[bool] = []
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def shown(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def row(label: str, points: Points, goals: Sequence[Objective], runs: int) -> str:
    exact, on_exact = median_seconds(partial(pareto.front, points, goals), runs)
    relaxed, on_relaxed = median_seconds(partial(pareto.front, points, goals, MARGIN), runs)
    sizes = f"{sum(on_exact):,} / {sum(on_relaxed):,}"
    cells = (f"{len(points):,} x {len(goals)}", label, sizes, shown(exact), shown(relaxed))
    return "| " + " | ".join(cells) + " |"


def reference_rows(seed: int) -> list[str]:
    n, width = REFERENCE
    points, goals = uniform(n, width, seed), alternating(width)
    out = []
    for margin, label in ((None, "exact"), (MARGIN, "2 % margin")):
        fast, answer = median_seconds(partial(pareto.front, points, goals, margin), 3)
        slow, expected = median_seconds(partial(pareto.reference_front, points, goals, margin), 1)
        if answer != expected:
            raise SystemExit(f"front() and reference_front() disagree ({label})")
        out.append(
            f"| {n:,} x {width} | {label} | {shown(slow)} | {shown(fast)} | {slow / fast:,.0f}x |"
        )
    return out


COMMAND_ROWS = 100_000


def synthetic_experiment(root: Path, seed: int) -> Path:
    """A repository with one experiment in CM's format: 100,000 rows, k0..k2 uniform."""
    rows = [
        {"uid": f"{i:016x}", "name": f"p{i}", **{f"k{j}": v for j, v in enumerate(point)}}
        for i, point in enumerate(uniform(COMMAND_ROWS, 3, seed))
    ]
    repo = root / "synth"
    sweep = repo / "experiment" / "big" / "2026-01-01.00-00-00.000000"
    sweep.mkdir(parents=True)
    (sweep / "cm-result.json").write_text(json.dumps(rows))
    meta = {"alias": "big", "uid": "0123456789abcdef", "automation_alias": "experiment"}
    meta |= {"automation_uid": "a0a2d123ef064bcb", "tags": ["synthetic"]}
    (repo / "experiment" / "big" / "_cm.json").write_text(json.dumps(meta))
    (repo / "cmr.yaml").write_text('alias: synth\nuid: "fedcba9876543210"\n')
    return repo


def cairn(env: dict[str, str], *argv: str) -> str:
    command = [sys.executable, "-m", "cairn", *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def command_row(seed: int, runs: int) -> str:
    """``cairn pareto experiment`` on 100,000 rows: front size, median wall and CPU."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CAIRN_HOME": str(Path(tmp) / "home")}
        cairn(env, "add", "repo", str(synthetic_experiment(Path(tmp), seed)))
        argv = ("pareto", "experiment", "big", "--objective=k0:max,k1:min,k2:max", "--out=json")
        walls, cpus, front = [], [], 0
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            front = len(json.loads(cairn(env, *argv))["front"])
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return f"| {COMMAND_ROWS:,} x 3 | {front:,} | {shown(wall)} | {shown(cpu)} |"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed calls per cell (median)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"cairn from {pareto.__file__}; Python {platform.python_version()} ({sys.platform})")
    print()
    print("| points | values | front (exact / 2 %) | exact | 2 % margin |")
    print("|---|---|---|---|---|")
    for n, width in UNIFORM:
        points = uniform(n, width, args.seed)
        print(row("uniform, max/min alternating", points, alternating(width), args.runs))
    for n, width in ALL_ON_FRONT:
        points = opposed(n, width, args.seed)
        print(row("all on the front (worst case)", points, maximised(width), args.runs))
    print()
    print("| points | front | reference_front, O(n²) | front() | gap |")
    print("|---|---|---|---|---|")
    for line in reference_rows(args.seed):
        print(line)
    print()
    print("| cairn pareto experiment (a new process) | front | wall | CPU |")
    print("|---|---|---|---|")
    print(command_row(args.seed, args.runs))
    print()
    print(PEERS)


if __name__ == "__main__":
    main()
