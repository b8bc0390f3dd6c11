"""Facts about the machine a run happened on (a run record's ``host``).

Read from the standard library and ``/proc`` (where it exists) once per process; nothing here
starts a subprocess, so recording stays cheap.
"""

from __future__ import annotations

import functools
import os
import platform
import socket
import sys
from pathlib import Path
from typing import Any


@functools.cache
def facts() -> dict[str, Any]:
    """OS, kernel, machine, CPU model and count, memory, Python and cairn versions."""
    from cairn import __version__

    uname = os.uname() if hasattr(os, "uname") else None
    return {
        "os": sys.platform,
        "os_release": _os_release(),
        "kernel": uname.release if uname else platform.release(),
        "machine": uname.machine if uname else platform.machine(),
        "hostname": socket.gethostname(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_mb": _memory_mb(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "cairn": __version__,
    }


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
        return platform.processor() or None
    for line in text.splitlines():
        if line.startswith(("model name", "Hardware", "cpu model")):
            return line.split(":", 1)[1].strip()
    return platform.processor() or None


def _memory_mb() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return None
