"""The cost per point of running a sweep on Dask instead of the local pool.

One command: ``make bench-dask`` (= ``.venv/bin/python bench/dask_overhead.py``).

A sweep of ``--points`` trivial points (the command ``true``: no work, so what is timed is
cairn's and the executor's own cost) runs three ways, each in a fresh cairn home, as whole
``cairn run experiment`` processes (the median of ``--runs`` runs):

* ``local``: ``--jobs=2``, the local pool of subprocesses;
* ``dask (LocalCluster)``: ``--executor=dask --workers=2``, the cluster started and stopped
  by the command (its start-up is part of the time);
* ``dask (running scheduler)``: ``--executor=dask --scheduler=...`` against a scheduler and
  two workers started beforehand (not timed), as on a real cluster.

The peers have nothing to compare: cmind's and mlcflow's experiment commands run points one
after the other in the calling process and have no remote executor.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def sweep(home: Path, points: int, *extra: str) -> float:
    argv = [
        sys.executable,
        "-m",
        "cairn",
        "run",
        "experiment",
        "bench",
        f"--explore.n=1..{points}",
        "--out=json",
        *extra,
        "--",
        "true",
    ]
    env = {**os.environ, "CAIRN_HOME": str(home), "CAIRN_KEEP_RUNS": "0"}
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or json.loads(done.stdout)["done"] != points:
        raise SystemExit(f"the sweep failed: {done.stderr[-2000:]}")
    return seconds


def timed(points: int, runs: int, *extra: str) -> float:
    found = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="cairn-bench-dask-") as tmp:
            found.append(sweep(Path(tmp), points, *extra))
    return statistics.median(found)


class Scheduler:
    """A scheduler and two workers on 127.0.0.1, started outside the timed runs."""

    def __init__(self, root: Path) -> None:
        info = root / "scheduler.json"
        self.procs = [
            self._spawn(
                root,
                "scheduler",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(info),
            )
        ]
        while not (info.is_file() and info.stat().st_size):
            time.sleep(0.1)
        self.address = json.loads(info.read_text())["address"]
        for n in range(2):
            self.procs.append(
                self._spawn(
                    root,
                    f"w{n}",
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--local-directory",
                    str(root / f"w{n}"),
                )
            )
        from distributed import Client

        with Client(self.address) as client:
            client.wait_for_workers(2, timeout=60)

    @staticmethod
    def _spawn(root: Path, name: str, *words: str) -> subprocess.Popen[bytes]:
        log = (root / f"{name}.log").open("wb")
        return subprocess.Popen([str(BIN / "dask"), *words], stdout=log, stderr=log)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = [("local --jobs=2", timed(args.points, args.runs, "--jobs=2"))]
    rows.append(
        (
            "dask (LocalCluster, 2 workers)",
            timed(args.points, args.runs, "--executor=dask", "--workers=2"),
        )
    )
    root = Path(tempfile.mkdtemp(prefix="cairn-bench-scheduler-"))
    scheduler = Scheduler(root)
    try:
        rows.append(
            (
                "dask (running scheduler, 2 workers)",
                timed(
                    args.points, args.runs, "--executor=dask", f"--scheduler={scheduler.address}"
                ),
            )
        )
    finally:
        scheduler.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"{args.points} trivial points, median of {args.runs} runs, Python {sys.version.split()[0]}"
    )
    print()
    print("| executor | sweep | per point | overhead per point vs local |")
    print("|---|---|---|---|")
    local = rows[0][1]
    for name, seconds in rows:
        each = seconds / args.points * 1000
        extra = (seconds - local) / args.points * 1000
        print(f"| {name} | {seconds:.2f} s | {each:.1f} ms | {extra:+.1f} ms |")
    print()
    print("peers: cmind and mlcflow have no remote or parallel executor for experiments")


if __name__ == "__main__":
    main()
