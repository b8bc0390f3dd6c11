"""Sweeps on a Dask cluster: the :class:`DaskExecutor` and what runs on each worker.

Dask is an optional extra (``pip install 'cairn[dask]'``), imported only here and only
when ``--executor=dask`` is asked for. With a scheduler address (``--scheduler=tcp://HOST:PORT``,
else ``CAIRN_DASK_SCHEDULER``, else ``scheduler-address`` in Dask's own configuration file)
the points go to that cluster; without one a ``LocalCluster`` of ``--workers`` processes
starts on 127.0.0.1 and stops with the sweep.

Each worker runs points in its **own** cairn home (``<worker's local directory>/cairn-home``;
never SQLite or file locks over a network file system), unless ``--shared_home`` says the
client's home is on a file system every worker can safely use. Before its first point a
worker makes the client's repositories available in its home, once (a marker per set of
repositories): by path when the worker sees the same folder at the client's commit (or with
the same files), as on the same machine or a shared file system; else by cloning its Git
remote at the client's commit; else from a packed copy sent by the client
(:class:`RepoSpec`).

A point runs in a scratch folder of the worker's home; its log, lock and result file come
home in the :class:`~cairn.experiment.tasks.PointOutcome` (``files``), with its run record
(``record``) and the worker's name: the sweep writes them into the point's step folder and
the client's run records. Upstream cache entries are built once per worker and reused by
every later point on it.

A point whose worker dies is run again elsewhere (Dask's own rescheduling, then up to
``--retries`` more submissions); when every try failed it is recorded as failed and the
sweep goes on. Ctrl-C cancels the futures and sets a Dask ``Event`` the workers watch, which
stops the points' processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cairn.dialect import of_repo_dir
from cairn.errors import CairnError, InvalidInput
from cairn.experiment import results, tasks
from cairn.experiment.executor import Started
from cairn.experiment.tasks import PointOutcome, PointTask
from cairn.record import Defaulted, replace

K = TypeVar("K")
SCHEDULER_ENV = "CAIRN_DASK_SCHEDULER"
MAX_FILE_BYTES = 64 * 1024 * 1024
"""A file of a point's folder larger than this stays on the worker (its name is reported)."""
_STOP_POLL_S = 0.5
POINT_PREFIX = "point-"


class RepoSpec(Defaulted):
    """One repository of the client, as a worker can get it."""

    alias: str
    uid: str | None = None
    path: str = ""
    url: str | None = None
    commit: str | None = None
    pack: bytes | None = None  # a zip of the repository, when it has no Git remote


def missing_dask() -> InvalidInput:
    return InvalidInput(
        "--executor=dask needs Dask distributed, which is not installed",
        hint="pip install 'cairn[dask]'",
    )


def repo_specs(registry: Any) -> list[RepoSpec]:
    """The client's registered repositories (not the built-in or local ones)."""
    from cairn.runs import gitstate
    from cairn.store import git

    specs = []
    for repo in registry.repos():
        if repo.alias in ("builtin", "local"):
            continue
        state = gitstate.state(repo.path) or {}
        origin = git.origin(repo.path) if (repo.path / ".git").exists() else None
        url, commit = (
            (origin, state.get("commit")) if origin and not state.get("dirty") else (None, None)
        )
        pack = None if url else _packed(repo.path)
        specs.append(
            RepoSpec(
                alias=repo.alias,
                uid=repo.uid,
                path=str(repo.path),
                url=url,
                commit=commit,
                pack=pack,
            )
        )
    return specs


def _packed(path: Path) -> bytes:
    """The repository as a zip (its files, without ``.git``)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in sorted(path.rglob("*")):
            relative = item.relative_to(path)
            if ".git" in relative.parts or not item.is_file() or item.is_symlink():
                continue
            archive.write(item, str(Path(path.name) / relative))
    return buffer.getvalue()


# --- on the worker ------------------------------------------------------------------------------


def worker_home(shared: str | None) -> Path:
    """The cairn home points use on this worker."""
    if shared:
        return Path(shared)
    from distributed import get_worker

    return Path(get_worker().local_directory) / "cairn-home"


def provision(home: Path, specs: Sequence[RepoSpec]) -> None:
    """Make ``specs`` available in ``home``, once per set (a marker file records it)."""
    from cairn import atomic

    described = [[s.alias, s.uid, s.path, s.url, s.commit, _digest(s.pack)] for s in specs]
    digest = hashlib.sha256(json.dumps(described).encode()).hexdigest()[:16]
    marker = home / f".cairn-provisioned-{digest}"
    with atomic.lock(home / "locks" / "provision.lock", timeout=600):
        if marker.exists():
            return
        for spec in specs:
            _provide(home, spec)
        marker.write_text("\n".join(s.alias for s in specs) + "\n", encoding="utf-8")


def _provide(home: Path, spec: RepoSpec) -> None:
    if _seen(spec):
        _registered(home, spec.alias, Path(spec.path))
    elif spec.url:
        _cairn(home, "pull", "repo", f"--url={spec.url}", f"--checkout={spec.commit}")
    elif spec.pack is not None:
        _unpacked(home, spec.alias, spec.pack)
    else:
        raise CairnError(f"repository {spec.alias}: neither its folder, a Git remote nor a copy")


def _seen(spec: RepoSpec) -> bool:
    """Whether this machine has the client's repository as the client has it: its folder
    (CM's or MLCFlow's) at the same path, at the same commit, or with the same files."""
    path = Path(spec.path) if spec.path else None
    if path is None or of_repo_dir(path) is None:
        return False
    if spec.commit:
        from cairn.runs import gitstate

        state = gitstate.state(path) or {}
        return state.get("commit") == spec.commit and not state.get("dirty")
    if spec.pack is not None:  # another machine's folder at the same path is not the same
        return _digest(_packed(path)) == _digest(spec.pack)
    return True


def _registered(home: Path, alias: str, folder: Path) -> None:
    """``folder`` registered in ``home`` as ``alias``, in place of another folder so named."""
    from cairn.home import Home
    from cairn.store.registry import Registry

    for repo in Registry(Home(home)).repos():
        if repo.alias == alias and repo.path != folder:
            _cairn(home, "rm", "repo", alias)
    _cairn(home, "add", "repo", str(folder))


def _digest(pack: bytes | None) -> str | None:
    return hashlib.sha256(pack).hexdigest()[:16] if pack is not None else None


def _unpacked(home: Path, alias: str, pack: bytes) -> None:
    """A packed copy unpacked into a folder named by its digest and registered, in place of
    an older copy (the client's repository changed since the last sweep)."""
    from cairn.store import archive

    folder = home / "packed" / f"{alias}-{_digest(pack)}"
    if not folder.is_dir():
        with tempfile.TemporaryDirectory(prefix="cairn-pack-") as tmp:
            source = Path(tmp) / f"{alias}.zip"
            source.write_bytes(pack)
            archive.unpack_into(source, folder, strip=1)
    _registered(home, alias, folder)


def _cairn(home: Path, *words: str) -> None:
    env = {**os.environ, "CAIRN_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "cairn", *words],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0 and "already" not in done.stderr:
        raise CairnError(f"worker set-up: cairn {' '.join(words)}: {done.stderr.strip()}")


def run_on_worker(
    task: PointTask,
    specs: Sequence[RepoSpec],
    stop: str,
    shared_home: str | None,
    fetch_cache: bool = False,
) -> PointOutcome:
    """Run one point on this worker (the function Dask ships)."""
    from distributed import get_worker

    worker = get_worker()
    name = f"worker {worker.name}" if worker.name is not None else str(worker.address)
    worker.log_event(started_topic(stop), {"key": worker.get_current_task(), "name": name})
    home = worker_home(shared_home)
    provision(home, specs)
    from cairn import staging

    points = home / "points"
    points.mkdir(parents=True, exist_ok=True)
    staging.clean(points, POINT_PREFIX)  # those of workers that died midway
    scratch = staging.make(points, POINT_PREFIX)
    env = {**task.env, "CAIRN_HOME": str(home), "CM_EXPERIMENT_PATH3": str(scratch)}
    here = replace(task, cwd=str(scratch), env=env)
    running = tasks.Running()
    watching = _watch(stop, running)
    try:
        outcome = tasks.execute(here, running)
        files = _collected(scratch, tasks.brought_back(task))
        record = _record(home, outcome.run or tasks.run_of(here))
        made = _made_entries(home, record, scratch) if fetch_cache and record else None
    finally:
        watching.set()
        shutil.rmtree(scratch, ignore_errors=True)
    return replace(
        outcome, worker=name, files=files, run_record=record, log=None, cache_export=made
    )


def started_topic(stop: str) -> str:
    """The Dask event topic on which a sweep's workers say which point they start."""
    return f"{stop}-started"


def _made_entries(home: Path, record: dict[str, Any], scratch: Path) -> bytes | None:
    """The cache entries the run made (its ``miss`` nodes), exported as a ``.tar.gz``."""
    from cairn.runs.records import walk_json
    from cairn.script import transfer
    from cairn.script.cache import Cache
    from cairn.store.registry import Registry

    made = [Path(n["entry"]) for n in walk_json(record["tree"]) if n.get("cache") == "miss"]
    made = [path for path in made if path.is_dir()]
    if not made:
        return None
    from cairn.home import Home

    target = scratch / "cache-export.tar.gz"
    transfer.export(Cache(Registry(Home(home))), made, target)
    return target.read_bytes()


def _watch(name: str, running: tasks.Running) -> threading.Event:
    """Stop the point's processes when the client sets the Dask event ``name``."""
    from distributed import Event, get_client

    done = threading.Event()
    stop = Event(name, client=get_client())  # made here: the poller thread has no worker

    def poll() -> None:
        while not done.is_set():
            try:
                if stop.is_set():
                    running.stop()
                    return
            except Exception:  # the scheduler went away: nothing to listen to
                return
            done.wait(_STOP_POLL_S)

    threading.Thread(target=poll, daemon=True, name="cairn-stop-watch").start()
    return done


def _collected(folder: Path, names: Sequence[str]) -> dict[str, bytes]:
    found = {}
    for name in dict.fromkeys(names):
        path = folder / name
        if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
            found[Path(name).name] = path.read_bytes()
    return found


def _record(home: Path, uid: str | None) -> dict[str, Any] | None:
    if not uid:
        return None
    from cairn.runs import records

    try:
        return records.load(home / "local" / records.FOLDER / uid)
    except (OSError, ValueError):
        return None


# --- on the client ------------------------------------------------------------------------------

_INTEGERS = ("cores", "processes", "memory_limit_mb", "death_timeout")


def slurm_cluster(options: dict[str, Any]) -> Any:
    """A ``dask_jobqueue.SLURMCluster`` from ``--slurm.KEY=VALUE`` options (its keyword
    arguments: ``queue``, ``account``, ``cores``, ``memory``, ``walltime``,
    ``job_extra_directives``...); its workers run this Python, so cairn must be installed
    where the jobs run. Jobs are submitted when the sweep scales it (``--workers`` jobs)."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise InvalidInput(
            "--cluster=slurm needs dask-jobqueue, which is not installed",
            hint="pip install 'cairn[slurm]'",
        ) from None
    given = {k: int(v) if k in _INTEGERS and str(v).isdigit() else v for k, v in options.items()}
    given.setdefault("cores", 1)
    given.setdefault("memory", "4GB")
    given.setdefault("python", sys.executable)
    try:
        return SLURMCluster(**given)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"--slurm options: {exc}", hint="see dask-jobqueue's SLURMCluster"
        ) from None


def configured_scheduler() -> str | None:
    """The scheduler named in Dask's own configuration (``scheduler-address`` in a YAML file
    under ``~/.config/dask`` or ``$DASK_CONFIG``, or ``DASK_SCHEDULER_ADDRESS``), if any."""
    import dask.config

    found = dask.config.get("scheduler-address", default=None)
    return str(found) if found else None


class DaskExecutor:
    """Points on a Dask cluster: the scheduler at ``scheduler``, else a local one."""

    def __init__(
        self,
        specs: Sequence[RepoSpec],
        *,
        scheduler: str | None = None,
        workers: int = 2,
        retries: int = 1,
        shared_home: str | None = None,
        on_cache: Callable[[bytes], None] | None = None,
        make_cluster: Callable[[], Any] | None = None,
    ) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise missing_dask() from None
        self.specs = list(specs)
        self.scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
        self.workers = max(1, workers)
        self.retries = max(0, retries)
        self.shared_home = shared_home
        self.on_cache = on_cache
        self.make_cluster = make_cluster
        self.stop = f"cairn-stop-{uuid.uuid4().hex}"
        self._client: Any = None

    def run(
        self, work: Sequence[tuple[K, PointTask]], started: Started[K] | None = None
    ) -> Iterator[tuple[K, PointOutcome]]:
        from distributed import as_completed

        finished = False
        with self._connected() as client:
            specs = client.scatter(self.specs, broadcast=True) if self.specs else []
            tries: dict[Any, tuple[K, PointTask, int]] = {}
            self._listen(client, tries, started)
            pending = as_completed()
            for key, task in work:
                future = self._submit(client, task, specs)
                tries[future] = (key, task, 0)
                pending.add(future)
            try:
                for future in pending:
                    key, task, used = tries.pop(future)
                    outcome = self._outcome(future, used)
                    if outcome is None:
                        again = self._submit(client, task, specs)
                        tries[again] = (key, task, used + 1)
                        pending.add(again)
                        continue
                    yield key, self._cached(outcome)
                finished = True
            finally:
                if not finished:
                    self._cancel(client, list(tries))

    def _listen(
        self, client: Any, tries: dict[Any, tuple[K, PointTask, int]], started: Started[K] | None
    ) -> None:
        """Tell ``started`` which point each worker starts (the workers' events)."""
        if started is None:
            return
        told = started

        def heard(event: tuple[float, Any]) -> None:
            message = event[1]
            found = [k for f, (k, _, _) in list(tries.items()) if f.key == message.get("key")]
            if found:
                told(found[0], str(message.get("name") or ""))

        client.subscribe_topic(started_topic(self.stop), heard)

    def _submit(self, client: Any, task: PointTask, specs: Any) -> Any:
        fetch = self.on_cache is not None and not self.shared_home
        return client.submit(
            run_on_worker, task, specs, self.stop, self.shared_home, fetch, pure=False
        )

    def _outcome(self, future: Any, used: int) -> PointOutcome | None:
        """The point's outcome; None when it should be tried again."""
        try:
            outcome: PointOutcome = future.result()
            return outcome
        except Exception as exc:  # the worker died, or the set-up failed there
            if used < self.retries:
                return None
            error = f"failed on the cluster after {used + 1} tries: {type(exc).__name__}: {exc}"
            return PointOutcome(status=results.FAILED, seconds=0.0, error=error)

    def _cached(self, outcome: PointOutcome) -> PointOutcome:
        """Hand the entries a point made to ``on_cache`` (they are not kept in the row)."""
        if outcome.cache_export is not None and self.on_cache is not None:
            self.on_cache(outcome.cache_export)
        return replace(outcome, cache_export=None)

    def _cancel(self, client: Any, futures: list[Any]) -> None:
        from distributed import Event

        try:
            Event(self.stop, client=client).set()
            client.cancel(futures)
        except Exception:  # the cluster is gone already
            return
        time.sleep(_STOP_POLL_S * 3)  # the workers' watchers stop the points' processes

    def cancel(self) -> None:
        if self._client is not None:
            self._cancel(self._client, [])

    def _connected(self) -> Any:
        import contextlib

        return contextlib.contextmanager(self._connection)()

    def _connection(self) -> Iterator[Any]:
        from distributed import Client, LocalCluster

        address = self.scheduler or configured_scheduler()
        if address:
            client = Client(address, timeout="30s")
            cluster = None
        elif self.make_cluster is not None:
            cluster = self.make_cluster()
            cluster.scale(jobs=self.workers)
            client = Client(cluster)
        else:
            cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,
            )
            client = Client(cluster)
        self._client = client
        try:
            yield client
        finally:
            self._client = None
            client.close()
            if cluster is not None:
                cluster.close()
