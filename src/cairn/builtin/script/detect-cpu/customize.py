"""detect-cpu: CPU count, model, architecture and memory of the host (Linux and macOS).

Linux reads ``lscpu`` (when installed), ``/proc/cpuinfo`` and ``/proc/meminfo``; macOS asks
``sysctl``. Every value that cannot be found is left out rather than guessed.
"""

import os
import platform
import subprocess

LSCPU_KEYS = {
    "Architecture": "CM_HOST_CPU_ARCHITECTURE",
    "Model name": "CM_HOST_CPU_MODEL_NAME",
    "Vendor ID": "CM_HOST_CPU_VENDOR_ID",
    "CPU family": "CM_HOST_CPU_FAMILY",
    "Thread(s) per core": "CM_HOST_CPU_THREADS_PER_CORE",
    "Core(s) per socket": "CM_HOST_CPU_PHYSICAL_CORES_PER_SOCKET",
    "Socket(s)": "CM_HOST_CPU_SOCKETS",
    "L1d cache": "CM_HOST_CPU_L1D_CACHE_SIZE",
    "L1i cache": "CM_HOST_CPU_L1I_CACHE_SIZE",
    "L2 cache": "CM_HOST_CPU_L2_CACHE_SIZE",
    "L3 cache": "CM_HOST_CPU_L3_CACHE_SIZE",
}
SYSCTL_KEYS = {
    "machdep.cpu.brand_string": "CM_HOST_CPU_MODEL_NAME",
    "machdep.cpu.vendor": "CM_HOST_CPU_VENDOR_ID",
    "hw.physicalcpu": "CM_HOST_CPU_TOTAL_PHYSICAL_CORES",
    "hw.packages": "CM_HOST_CPU_SOCKETS",
    "hw.memsize": "CM_HOST_MEMORY_CAPACITY_BYTES",
}


def preprocess(i):
    env = i["env"]
    found = {
        "CM_HOST_CPU_ARCHITECTURE": platform.machine(),
        "CM_HOST_CPU_TOTAL_LOGICAL_CORES": str(os.cpu_count() or ""),
    }
    if env.get("CM_HOST_OS_TYPE", platform.system().lower()) == "darwin":
        found.update(_macos())
    else:
        found.update(_linux())
    _derive(found)
    env.update({key: value for key, value in found.items() if value})
    return {"return": 0}


def _linux():
    found = {}
    for line in _output(["lscpu"]).splitlines():
        name, _, value = line.partition(":")
        if name.strip() in LSCPU_KEYS and value.strip():
            found[LSCPU_KEYS[name.strip()]] = value.strip()
    if "CM_HOST_CPU_MODEL_NAME" not in found:
        found["CM_HOST_CPU_MODEL_NAME"] = _field("/proc/cpuinfo", "model name")
    memory_kib = _field("/proc/meminfo", "MemTotal").split(" ")[0]
    if memory_kib.isdigit():
        found["CM_HOST_MEMORY_CAPACITY_BYTES"] = str(int(memory_kib) * 1024)
    return found


def _macos():
    found = {}
    for name, key in SYSCTL_KEYS.items():
        value = _output(["sysctl", "-n", name]).strip()
        if value:
            found[key] = value
    return found


def _derive(found):
    """The totals CM scripts read, computed from what was found."""
    logical = found.get("CM_HOST_CPU_TOTAL_LOGICAL_CORES", "")
    found["CM_HOST_CPU_TOTAL_CORES"] = logical
    sockets = found.get("CM_HOST_CPU_SOCKETS", "")
    per_socket = found.get("CM_HOST_CPU_PHYSICAL_CORES_PER_SOCKET", "")
    if sockets.isdigit() and per_socket.isdigit():
        found["CM_HOST_CPU_TOTAL_PHYSICAL_CORES"] = str(int(sockets) * int(per_socket))
    physical = found.get("CM_HOST_CPU_TOTAL_PHYSICAL_CORES", "")
    if logical.isdigit() and physical.isdigit() and "CM_HOST_CPU_THREADS_PER_CORE" not in found:
        found["CM_HOST_CPU_THREADS_PER_CORE"] = str(int(logical) // max(int(physical), 1))
    memory = found.get("CM_HOST_MEMORY_CAPACITY_BYTES", "")
    if memory.isdigit():
        found["CM_HOST_MEMORY_CAPACITY"] = f"{round(int(memory) / 2**30)}G"


def _output(argv):
    """The standard output of ``argv`` in the C locale; empty when it cannot run."""
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "LC_ALL": "C"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def _field(path, name):
    """The value of the first ``name: value`` line of a /proc file, or ``''``."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return ""
