"""Sweeps on a real Dask cluster: a scheduler and two workers started as separate processes
on 127.0.0.1, each worker with its own cairn home; and a LocalCluster started by cairn."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import json_out, process_alive
from tests.conftest import sh_git as git
from tests.script_fixtures import ScriptRepo, bench_pipeline

pytestmark = pytest.mark.cluster
Cli = Callable[..., subprocess.CompletedProcess[str]]
BIN = Path(sys.executable).parent


def _dask_or_skip() -> None:
    pytest.importorskip("distributed", reason="Dask is not installed (pip install 'cairn[dask]')")
    if not (BIN / "dask").exists():
        pytest.skip(f"the dask command is not in {BIN}")


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    """The bench pipeline (tests/script_fixtures.py); its upstream step's run counter."""
    counter = tmp_path / "prepared.txt"
    bench_pipeline(tmp_path / "pipe", counter, sleep=0.3)
    return counter


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.address = ""

    def start(self, workers: int) -> None:
        info = self.root / "scheduler.json"
        self._spawn(
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
        self.address = json.loads(_wait_for(info).read_text())["address"]
        for n in range(workers):
            folder = self.root / f"w{n}"
            folder.mkdir()
            self._spawn(
                f"w{n}",
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--name",
                f"w{n}",
                "--local-directory",
                str(folder),
                "--host",
                "127.0.0.1",
                "--no-nanny",
            )
        self._wait_workers(workers)

    def _spawn(self, name: str, *words: str) -> None:
        log = (self.root / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            [str(BIN / "dask"), *words],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _wait_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(count, timeout=60)

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def stop(self) -> None:
        """Kill each process group (a worker with its points): a graceful close of workers
        whose scheduler is closing too waits on time-outs, for nothing a test needs."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs.values():
            proc.wait(15)


def _wait_for(path: Path, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.stat().st_size:
            return path
        time.sleep(0.1)
    raise AssertionError(f"{path} did not appear")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    _dask_or_skip()
    started = Cluster(tmp_path / "cluster")
    started.root.mkdir()
    try:
        started.start(2)
        yield started
    finally:
        started.stop()


SWEEP = [
    "run",
    "experiment",
    "dist",
    "--script=app bench",
    "--explore.batch_size=1,2,4",
    "--explore.threads=1..4",
    "--executor=dask",
    "--out=json",
]


def _rows(done: subprocess.CompletedProcess[str]) -> dict[tuple[int, int], dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    return {(r["batch_size"], r["threads"]): r for r in json_out(done)["rows"]}


def test_a_sweep_on_two_real_workers_brings_everything_home(
    cli: Cli, pipeline: Path, cluster: Cluster, cairn_home: Path
) -> None:
    done, screen = _on_a_terminal(cairn_home, *SWEEP, f"--scheduler={cluster.address}")
    rows = _rows(done)
    assert len(rows) == 12 and rows[(4, 3)]["status"] == "failed"
    assert re.search(r"worker w[01]: 1 running, 0 done", screen)  # the live bar, per worker
    final = [line for line in screen.split("\r") if "] 12/12" in line][-1]
    counts = re.findall(r"worker (w[01]): 0 running, (\d+) done(?:, (\d) failed)?", final)
    assert sum(int(n) for _, n, _ in counts) == 12 and "1 failed" in final
    by_worker = {w: int(n) for w, n, _ in counts}
    assert by_worker == {
        w: [r["worker"] for r in rows.values()].count(f"worker {w}") for w in by_worker
    }
    assert {r["worker"] for r in rows.values()} <= {"worker w0", "worker w1"}
    for row in rows.values():  # every record came home, under its own uid
        (run,) = row["runs"]
        record = json.loads((cairn_home / "local" / "run" / run / "cairn-run.json").read_text())
        assert record["status"] == row["status"]
    homes = pipeline.read_text().split()
    workers = {r["worker"] for r in rows.values()}
    assert len(homes) == len(set(homes)) == len(workers)  # the upstream entry: once per worker
    assert all(h.startswith(str(cluster.root)) for h in homes)  # in the workers' own homes
    folder = next((cairn_home / "local" / "experiment" / "dist").glob("*/cm-result.json")).parent
    logs = list(folder.glob("*/cairn-point.log"))
    locks = list(folder.glob("*/cairn-lock.json"))
    assert len(logs) == 12 and len(locks) == 11
    shown = cli("show", "experiment", "dist").stdout.splitlines()
    header = shown[1].split()
    assert "worker" in header  # the table says where each point ran
    column = header.index("worker")
    assert {line.split()[column] + " " + line.split()[column + 1] for line in shown[3:15]} == {
        r["worker"] for r in rows.values()
    }


def _on_a_terminal(home: Path, *words: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run cairn with its stderr on a pseudo-terminal (so it draws its live bar)."""
    import pty

    main, side = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cairn", *words],
        stdout=subprocess.PIPE,
        stderr=side,
        text=True,
        env={**os.environ, "CAIRN_HOME": str(home)},
    )
    os.close(side)
    screen = bytearray()
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        screen += chunk
    os.close(main)
    out = proc.stdout.read() if proc.stdout else ""
    proc.wait(60)
    text = screen.decode("utf-8", "replace")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, text), text


def test_the_same_sweep_locally_gives_the_same_table(
    cli: Cli, pipeline: Path, cluster: Cluster
) -> None:
    on_cluster = _rows(cli(*SWEEP, f"--scheduler={cluster.address}"))
    local_sweep = [w for w in SWEEP if w != "--executor=dask"]
    local = _rows(cli(*local_sweep, "--executor=local", "--jobs=2"))
    assert len(local) == 12 and _table(on_cluster) == _table(local)
    assert _table(local)[(2, 3)] == {
        "batch_size": 2,
        "threads": 3,
        "THROUGHPUT": "60",
        "LATENCY": "7",
        "repeats": 1,
        "status": "ok",
    }


_BOOKKEEPING = {"point", "seconds", "error", "runs", "uid", "sweep", "worker"}


def _table(rows: dict[tuple[int, int], dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """The result table without what differs from run to run (uids, times, where)."""
    return {k: {c: v for c, v in r.items() if c not in _BOOKKEEPING} for k, r in rows.items()}


def test_a_worker_killed_mid_sweep_loses_no_point(
    cli: Cli, tmp_path: Path, cluster: Cluster, cairn_home: Path
) -> None:
    bench_pipeline(tmp_path / "slow", tmp_path / "slow-prepared.txt", sleep=1.0)
    sweep = subprocess.Popen(
        [sys.executable, "-m", "cairn", *SWEEP, f"--scheduler={cluster.address}", "--retries=2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CAIRN_HOME": str(cairn_home)},
    )
    caught = _running_point(cluster.root / "w1", sweep)
    cluster.kill("w1")  # while it runs that point
    out, err = sweep.communicate(timeout=180)
    assert sweep.returncode == 0, err
    rows = {(r["batch_size"], r["threads"]): r for r in json.loads(out)["rows"]}
    assert len(rows) == 12
    assert [r["status"] for r in rows.values()].count("failed") == 1  # only the designed one
    retried = rows[caught]
    assert retried["worker"] == "worker w0"  # run again on the worker left, not lost
    assert retried["status"] == ("failed" if caught == (4, 3) else "ok")


def _running_point(worker: Path, sweep: subprocess.Popen[str]) -> tuple[int, int]:
    """The values of a point running on the worker whose local directory is ``worker``."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and sweep.poll() is None:
        for found in worker.rglob("points/point-*/cm-input.json"):
            try:
                values = json.loads(found.read_text())
                return int(values["batch_size"]), int(values["threads"])
            except (OSError, ValueError, KeyError):
                continue
        time.sleep(0.05)
    raise AssertionError("no point ran on the worker")


def test_a_point_that_kills_every_worker_is_failed_after_its_retries(cli: Cli) -> None:
    """Also: a LocalCluster cairn starts (no scheduler given) runs the other points."""
    _dask_or_skip()
    code = (
        "import json, os, signal, sys\n"
        "n = int(sys.argv[1])\n"
        "if n == 2: os.kill(os.getppid(), signal.SIGKILL)  # the worker running it\n"
        "json.dump({'sq': n * n}, open('cm-output.json', 'w'))\n"
    )
    done = cli(
        "run",
        "experiment",
        "killer",
        "--explore.n=1..3",
        "--executor=dask",
        "--workers=2",
        "--retries=1",
        "--out=json",
        "--",
        sys.executable,
        "-c",
        code,
        "{{n}}",
        env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"},  # each kill is one try
    )
    assert done.returncode == 0, done.stderr  # a failed point: the sweep went on
    rows = {r["n"]: r for r in json_out(done)["rows"]}
    assert [rows[n]["status"] for n in (1, 2, 3)] == ["ok", "failed", "ok"]
    assert (rows[1]["sq"], rows[3]["sq"]) == (1, 9)  # on the LocalCluster cairn started
    assert rows[1]["worker"].startswith("worker ") and rows[3]["worker"].startswith("worker ")
    assert "failed on the cluster after 2 tries" in rows[2]["error"]


def test_dask_missing_or_misnamed_executor_is_a_clear_error(cli: Cli) -> None:
    wrong = cli("run", "experiment", "x", "--explore.n=1", "--executor=slurm", "--", "true")
    assert wrong.returncode == 1 and "--executor='slurm' is not known" in wrong.stderr
    if shutil.which("true") is None:
        return
    sweep = ["run", "experiment", "x", "--explore.n=1", "--", "true"]
    assert _without_dask(sweep).returncode == 0  # a local sweep never imports Dask
    on_dask = [*sweep[:4], "--executor=dask", *sweep[4:]]
    for words in (on_dask, ["run", "script", "x", "--executor=dask"]):
        blocked = _without_dask(words)
        assert blocked.returncode == 1 and "pip install 'cairn[dask]'" in blocked.stderr


def _without_dask(words: list[str]) -> subprocess.CompletedProcess[str]:
    """cairn run as if Dask were not installed (importing it fails)."""
    code = "import sys; sys.modules['distributed'] = sys.modules['dask'] = None; "
    code += f"from cairn.cli.main import main; sys.exit(main({words!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_fetch_cache_brings_the_workers_entries_home(
    cli: Cli, pipeline: Path, cluster: Cluster, cairn_home: Path
) -> None:
    by_env = {"CAIRN_DASK_SCHEDULER": cluster.address}  # the scheduler named by the env
    rows = _rows(cli(*SWEEP, "--fetch-cache", env=by_env))
    assert len(rows) == 12
    made_on_workers = len(pipeline.read_text().split())
    assert made_on_workers == 2  # the same entry made on each worker...
    entries = json_out(cli("find", "cache", "--tags=prepare", "--out=json"))["list"]
    assert len(entries) == 1  # ...committed here exactly once
    here = cli("run", "script", "app bench", "--batch_size=1", "--threads=1", "--out=json")
    assert here.returncode == 0, here.stderr
    assert json_out(here)["deps"][0]["cache"] == "hit"  # served by an entry a worker made
    assert len(pipeline.read_text().split()) == made_on_workers


def test_a_slurm_cluster_writes_the_job_script_users_expect() -> None:
    """No Slurm here: the job script dask-jobqueue would submit is checked instead."""
    pytest.importorskip("dask_jobqueue", reason="dask-jobqueue is not installed")
    from cairn.errors import InvalidInput
    from cairn.experiment import cluster

    made = cluster.slurm_cluster(
        {
            "queue": "gpu",
            "account": "lab",
            "cores": "8",
            "memory": "32GB",
            "walltime": "02:00:00",
            "scheduler_options": {"host": "127.0.0.1", "dashboard_address": None},
        }
    )
    try:
        script = made.job_script()
    finally:
        made.close()
    assert "#SBATCH -p gpu" in script and "#SBATCH -A lab" in script
    assert "#SBATCH --cpus-per-task=8" in script and "#SBATCH -t 02:00:00" in script
    assert f"{sys.executable} -m distributed.cli.dask_worker tcp://127.0.0.1:" in script
    with pytest.raises(InvalidInput, match="--slurm options"):
        cluster.slurm_cluster({"no_such_option": "1"})


def test_ctrl_c_stops_the_points_running_on_workers(tmp_path: Path, cairn_home: Path) -> None:
    _dask_or_skip()
    marker = tmp_path / "pids.txt"
    code = (
        f"import os, time; open({str(marker)!r}, 'a').write(str(os.getpid()) + '\\n');"
        " time.sleep(60)"
    )
    sweep = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cairn",
            "run",
            "experiment",
            "stop",
            "--explore.n=1..4",
            "--executor=dask",
            "--workers=2",
            "--",
            sys.executable,
            "-c",
            code,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "CAIRN_HOME": str(cairn_home)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_pids(marker)) < 2:
        time.sleep(0.1)
    sweep.send_signal(signal.SIGINT)  # to the sweep alone: the workers must be told
    assert sweep.wait(60) == 130
    time.sleep(0.5)
    assert _pids(marker) and not [pid for pid in _pids(marker) if process_alive(pid)]
    (folder,) = (cairn_home / "local" / "experiment" / "stop").glob("*/cairn-sweep.json")
    assert json.loads(folder.read_text())["status"] == "interrupted"
    assert json.loads((folder.parent / "cm-result.json").read_text()) == []  # whole, empty
    leftovers = [p.name for p in cairn_home.rglob("*") if p.name.startswith(".cairn-tmp")]
    assert leftovers == []  # nothing half-written at home


def _pids(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_one_script_run_on_a_worker(
    cli: Cli, pipeline: Path, cluster: Cluster, cairn_home: Path
) -> None:
    config = cluster.root / "dask-config"  # the scheduler named in Dask's own config file
    config.mkdir()
    (config / "cluster.yaml").write_text(f"scheduler-address: {cluster.address}\n")
    done = cli(
        "run",
        "script",
        "app bench",
        "--batch_size=2",
        "--threads=3",
        "--executor=dask",
        "--out=json",
        env={"DASK_CONFIG": str(config)},
    )
    data = json_out(done)
    assert data["new_env"] == {"THROUGHPUT": "60", "LATENCY": "7"}
    assert data["worker"] in ("worker w0", "worker w1")
    record = cairn_home / "local" / "run" / data["run_record"] / "cairn-run.json"
    assert json.loads(record.read_text())["tree"]["script"]["alias"] == "bench"
    failed = cli(
        "run",
        "script",
        "app bench",
        "--batch_size=4",
        "--threads=3",
        "--executor=dask",
        f"--scheduler={cluster.address}",
    )
    assert failed.returncode == 1 and "the run on worker w" in failed.stderr


def _hello(root: Path, word: str) -> ScriptRepo:
    repo = ScriptRepo(root, alias="far")
    repo.registered = True  # registered by the test where it should be
    repo.add("hello", {"new_env_keys": ["WORD"]}, run=f'echo "WORD={word}" > tmp-run-env.out\n')
    return repo


def _said(home: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cairn", "run", "script", "hello", "--out=json"],
        capture_output=True,
        text=True,
        env={**os.environ, "CAIRN_HOME": str(home)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["new_env"]["WORD"])


def _elsewhere(spec: Any) -> Any:
    """The spec as a worker on another machine gets it: the client's folder is not there."""
    from cairn.record import replace

    return replace(spec, path=str(Path("/nonexistent") / spec.alias))


def test_a_worker_gets_a_repository_from_its_git_remote_at_the_clients_commit(
    tmp_path: Path, cairn_home: Path
) -> None:
    from cairn.experiment import cluster
    from cairn.home import Home
    from cairn.store.registry import Registry

    upstream = _hello(tmp_path / "upstream", "one").root
    git("init", "-q", cwd=upstream)
    git("add", "-A", cwd=upstream)
    git("commit", "-qm", "one", cwd=upstream)
    first = git("rev-parse", "HEAD", cwd=upstream)
    (upstream / "script" / "hello" / "run.sh").write_text('echo "WORD=two" > tmp-run-env.out\n')
    git("commit", "-qam", "two", cwd=upstream)
    mine = tmp_path / "mine"
    git("clone", "-q", str(upstream), str(mine), cwd=tmp_path)
    git("checkout", "-q", first, cwd=mine)  # the client is at the first commit
    assert cli_ok(cairn_home, "add", "repo", str(mine))
    (spec,) = cluster.repo_specs(Registry(Home(cairn_home)))
    assert (spec.url, spec.commit, spec.pack) == (str(upstream), first, None)
    worker = tmp_path / "worker"
    cluster.provision(worker, [_elsewhere(spec)])
    assert _said(worker) == "one"  # pulled from the remote, at the client's commit
    git("checkout", "-q", "-", cwd=mine)  # the client moved on
    (spec,) = cluster.repo_specs(Registry(Home(cairn_home)))
    second = spec.commit
    cluster.provision(worker, [_elsewhere(spec)])
    assert _said(worker) == "two"
    git("checkout", "-q", first, cwd=mine)  # a folder at the client's path, at another commit:
    cluster.provision(tmp_path / "other", [spec])  # not used; the remote at the commit is
    assert spec.commit == second and _said(tmp_path / "other") == "two"


def test_a_worker_gets_a_packed_copy_of_a_repository_without_a_remote_and_a_new_one_when_it_changed(
    tmp_path: Path, cairn_home: Path
) -> None:
    from cairn.experiment import cluster
    from cairn.home import Home
    from cairn.store.registry import Registry

    mine = _hello(tmp_path / "mine", "one").root
    assert cli_ok(cairn_home, "add", "repo", str(mine))
    (spec,) = cluster.repo_specs(Registry(Home(cairn_home)))
    assert spec.url is None and spec.pack is not None
    worker = tmp_path / "worker"
    cluster.provision(worker, [_elsewhere(spec)])
    assert _said(worker) == "one"
    (mine / "script" / "hello" / "run.sh").write_text('echo "WORD=edited" > tmp-run-env.out\n')
    (spec,) = cluster.repo_specs(Registry(Home(cairn_home)))
    cluster.provision(worker, [_elsewhere(spec)])
    assert _said(worker) == "edited"  # not the stale copy of the first sweep
    (mine / "script" / "hello" / "run.sh").write_text('echo "WORD=other" > tmp-run-env.out\n')
    cluster.provision(tmp_path / "other", [spec])  # the folder at that path is not the copy
    assert _said(tmp_path / "other") == "edited"


def cli_ok(home: Path, *words: str) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "cairn", *words],
        capture_output=True,
        text=True,
        env={**os.environ, "CAIRN_HOME": str(home)},
        timeout=120,
    )
    return done.returncode == 0


def test_a_shared_home_is_used_by_every_worker(cli: Cli, pipeline: Path, cairn_home: Path) -> None:
    _dask_or_skip()
    sweep = [w for w in SWEEP if not w.startswith("--explore")]
    small = ["--explore.batch_size=1,2", "--explore.threads=1,2", "--workers=2"]
    rows = _rows(cli(*sweep, *small, "--shared_home"))
    assert len(rows) == 4 and {r["status"] for r in rows.values()} == {"ok"}
    assert pipeline.read_text().split() == [str(cairn_home)]  # built once, in this home
    runs = [run for row in rows.values() for run in row["runs"]]
    kept = [p.name for p in (cairn_home / "local" / "run").iterdir() if p.is_dir()]
    assert sorted(kept) == sorted(runs)
    for run in runs:  # each record once, whole
        record = json.loads((cairn_home / "local" / "run" / run / "cairn-run.json").read_text())
        assert record["status"] == "ok"
    assert not list((cairn_home / "points").glob("point-*"))  # scratch folders cleared
