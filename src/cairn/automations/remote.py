"""Running elsewhere: the flags that send work to a Dask cluster, shared by ``run experiment``
(a sweep's points) and ``run script`` (one run on a worker, e.g. a machine with a GPU).

Only the flag declarations are made at import; Dask and the executor are imported when
``--executor=dask`` is asked for (:mod:`cairn.experiment.cluster`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from cairn.automations.contract import Call, Flag, Outcome
from cairn.errors import InvalidInput

FLAGS = (
    Flag("executor", "str", "where it runs: local (default) or dask"),
    Flag(
        "scheduler",
        "str",
        "a Dask scheduler: tcp://HOST:PORT (default: CAIRN_DASK_SCHEDULER, else a local cluster)",
    ),
    Flag("workers", "str", "workers of the Dask cluster cairn starts (default 2)"),
    Flag("retries", "str", "submit again this many times when a worker dies (default 1)"),
    Flag("shared_home", "bool", "Dask workers use this cairn home (a safe shared file system)"),
    Flag("fetch_cache", "bool", "bring the cache entries Dask workers made into this home"),
    Flag("cluster", "str", "the Dask cluster to start without --scheduler: local or slurm"),
    Flag("slurm", "dict", "SLURMCluster options: --slurm.queue=gpu --slurm.cores=8 ..."),
)
NAMES = frozenset(f.name for f in FLAGS)


def count(value: Any, name: str, default: int, least: int = 1) -> int:
    """A whole-number flag (``--jobs``, ``--workers``...), checked."""
    if value is None:
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput(f"--{name}={value!r} must be a whole number") from None
    if number < least:
        raise InvalidInput(f"--{name}={value!r} must be at least {least}")
    return number


def executor(call: Call, catalog: Any) -> Any:
    """The Dask executor the flags describe (``--executor=dask``)."""
    kind = call.flag("executor") or "local"
    if kind != "dask":
        raise InvalidInput(f"--executor={kind!r} is not known", hint="use local or dask")
    from cairn.experiment import cluster

    home = str(catalog.registry.home.root) if call.flag("shared_home") else None
    return cluster.DaskExecutor(
        cluster.repo_specs(catalog.registry),
        scheduler=call.flag("scheduler"),
        workers=count(call.flag("workers"), "workers", 2),
        retries=count(call.flag("retries"), "retries", 1, least=0),
        shared_home=home,
        on_cache=cache_importer(catalog) if call.flag("fetch_cache") else None,
        make_cluster=cluster_maker(call),
    )


def cache_importer(catalog: Any) -> Any:
    """Imports the entries a worker sends (checked by digest, once) into this home."""
    from cairn import report
    from cairn.script import transfer
    from cairn.script.cache import Cache

    cache = Cache(catalog.registry)

    def take(data: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="cairn-fetch-") as tmp:
            archive = Path(tmp) / "entries.tar.gz"
            archive.write_bytes(data)
            done = transfer.import_(cache, archive)
        for refused in done.refused:
            report.warn(f"cache entry {refused.uid} from a worker refused: {refused.reason}")

    return take


def cluster_maker(call: Call) -> Any:
    """``--cluster=slurm``: how to start the cluster (None: a local one)."""
    kind = call.flag("cluster") or "local"
    if kind == "local":
        return None
    if kind != "slurm":
        raise InvalidInput(f"--cluster={kind!r} is not known", hint="use local or slurm")
    from cairn.experiment import cluster

    options = dict(call.flag("slurm", {}))
    return lambda: cluster.slurm_cluster(options)


def run_script(call: Call, catalog: Any, inputs: dict[str, Any]) -> Outcome:
    """``run script ... --executor=dask``: the run on a worker; its answer, with its run
    record kept here and the worker named."""
    from cairn import report
    from cairn.errors import CairnError
    from cairn.experiment import tasks
    from cairn.runs import records

    with tempfile.TemporaryDirectory(prefix="cairn-remote-") as tmp:
        task = tasks.PointTask(
            kind=tasks.SCRIPT,
            argv=tasks.cairn_argv("run", "script", "@cm-input.json", "--out=json", "--quiet"),
            cwd=tmp,
            files={"cm-input.json": json.dumps(inputs)},
        )
        ((_, outcome),) = list(executor(call, catalog).run([("run", task)]))
    if outcome.run_record is not None:
        try:
            records.save(
                catalog.registry.local().root / records.FOLDER,
                outcome.run_record,
                uid=outcome.run_record.get("uid"),
            )
        except OSError as exc:
            report.warn(f"could not keep the run record: {exc}")
    if outcome.status != "ok" or outcome.answer is None:
        raise CairnError(f"the run on {outcome.worker or 'the cluster'} failed: {outcome.error}")
    data = {**outcome.answer, "worker": outcome.worker}
    data.pop("return", None)
    lines = [f"ran on {outcome.worker}", *(f"{k}={v}" for k, v in sorted(data["new_env"].items()))]
    return Outcome(data, lines)
