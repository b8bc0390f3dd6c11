"""Facts about the machine a run happened on (a run record's ``host``).

Read from ``os``, ``sys`` and ``/proc`` (where it exists) once per process; nothing here
starts a subprocess or imports ``platform``/``socket`` (slow to import), so recording stays
cheap.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any


@functools.cache
def facts() -> dict[str, Any]:
    """OS, kernel, machine, CPU model and count, memory, Python and cairn versions."""
    from cairn import __version__

    uname = _uname()
    version = sys.version_info
    return {
        "os": sys.platform,
        "os_release": _os_release(),
        "kernel": uname[2],
        "machine": uname[4],
        "hostname": uname[1],
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_mb": _memory_mb(),
        "python": f"{version.major}.{version.minor}.{version.micro}",
        "python_implementation": sys.implementation.name,
        "cairn": __version__,
    }


def _uname() -> tuple[str, str, str, str, str]:
    if hasattr(os, "uname"):
        u = os.uname()
        return (u.sysname, u.nodename, u.release, u.version, u.machine)
    import platform  # Windows

    u2 = platform.uname()
    return (u2.system, u2.node, u2.release, u2.version, u2.machine)


def _os_release() -> str | None:
    """``PRETTY_NAME`` of ``/etc/os-release`` (Linux), else None."""
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def _cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(("model name", "Hardware", "cpu model")):
            return line.split(":", 1)[1].strip()
    return None


def _memory_mb() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return None
