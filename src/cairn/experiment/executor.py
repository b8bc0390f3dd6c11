"""Where a sweep's points run: the executor contract and the local process pool.

An executor takes :class:`~cairn.experiment.tasks.PointTask` records and hands back
:class:`~cairn.experiment.tasks.PointOutcome` records as they finish, in any order. It
never writes the sweep's files: the sweep (:mod:`cairn.experiment.sweep`) records each
outcome as it arrives, so an executor may run tasks anywhere. It may say when a task starts
and where (``started(key, worker)``, from any thread; ``""`` is this machine), for the
progress per worker. :class:`LocalExecutor` runs ``jobs`` tasks at a time on this machine,
each in its own subprocess.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from cairn.experiment.tasks import PointOutcome, PointTask, Running, execute

K = TypeVar("K")
Started = Callable[[K, str], None]
"""Told ``(key, worker)`` when a task starts (again, after a retry) on a worker."""


class Executor(Protocol):
    """Runs tasks and yields ``(key, outcome)`` as each finishes; ``cancel`` stops the rest."""

    def run(
        self, tasks: Sequence[tuple[K, PointTask]], started: Started[K] | None = None
    ) -> Iterator[tuple[K, PointOutcome]]: ...

    def cancel(self) -> None: ...


class LocalExecutor:
    """``jobs`` tasks at a time, each in a subprocess of this machine."""

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = max(1, jobs)
        self.running = Running()

    def run(
        self, tasks: Sequence[tuple[K, PointTask]], started: Started[K] | None = None
    ) -> Iterator[tuple[K, PointOutcome]]:
        pool = cf.ThreadPoolExecutor(self.jobs, thread_name_prefix="cairn-point")
        futures = {pool.submit(self._one, key, task, started): key for key, task in tasks}
        finished = False
        try:
            for future in cf.as_completed(futures):
                yield futures[future], future.result()
            finished = True
        finally:
            if not finished:  # Ctrl-C, or the caller stopped listening: stop what runs
                self.cancel()
                for future in futures:
                    future.cancel()
            pool.shutdown(wait=True)

    def _one(self, key: K, task: PointTask, started: Started[K] | None) -> PointOutcome:
        if started is not None and not self.running.stopped:
            started(key, "")
        return execute(task, self.running)

    def cancel(self) -> None:
        """Stop every task in flight; tasks not started yet never start."""
        self.running.stop()
