"""Running one command of a tool and measuring it: wall time, output, peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_PEAK_RSS = (
    "import resource, subprocess, sys;"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


@dataclass(frozen=True)
class Tool:
    """A command-line tool under test: its argv prefix and the environment it runs in."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(repr=False)

    def command(self, *args: str) -> list[str]:
        return [*self.argv, *args]


def child_env(**extra: str) -> dict[str, str]:
    """The environment a user has: bytecode caches on (the session may have turned them off)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def run(tool: Tool, *args: str) -> tuple[float, str]:
    """Run ``tool args`` once; return its wall time in seconds and its standard output."""
    start = time.perf_counter()
    proc = subprocess.run(tool.command(*args), env=tool.env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{tool.name} {' '.join(args)} failed: {proc.stderr[-800:]}")
    return elapsed, proc.stdout


def median_time(
    tool: Tool, args: list[str], runs: int, before: Callable[[int], None] | None = None
) -> float:
    """The median wall time of ``runs`` runs; ``before(i)`` runs untimed before each one."""
    times = []
    for i in range(runs):
        if before is not None:
            before(i)
        times.append(run(tool, *args)[0])
    return statistics.median(times)


def peak_rss_mb(tool: Tool, args: list[str], runs: int) -> float:
    """The median peak resident memory of ``tool args``, in MiB (children's ru_maxrss)."""
    peaks = []
    for _ in range(runs):
        argv = [sys.executable, "-c", _PEAK_RSS, *tool.command(*args)]
        out = subprocess.run(argv, env=tool.env, capture_output=True, text=True, check=True)
        peaks.append(int(out.stdout.split()[-1]) / 1024)
    return statistics.median(peaks)


def lines(text: str) -> int:
    return len([line for line in text.splitlines() if line.strip()])


def machine() -> str:
    """One line naming the machine: CPU model, CPUs, memory, OS, Python."""
    model = _cpu_model()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = _memory_gib()
    version = sys.version.split()[0]
    return f"{model}, {cpus} CPUs, {memory} GiB RAM, {os.uname().sysname}, Python {version}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return os.uname().machine


def _memory_gib() -> str:
    try:
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        return f"{int(first.split()[1]) / 2**20:.0f}"
    except (OSError, IndexError, ValueError):
        return "?"
