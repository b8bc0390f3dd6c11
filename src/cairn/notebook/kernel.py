"""A notebook's kernel as a cache key sees it: which program runs the cells, and for a Python
kernel, what is installed where that Python imports from.

The kernel is found as Jupyter finds it: ``NAME/kernel.json`` (the name lowercased) in the
first of Jupyter's data folders (``jupyter --paths``: ``JUPYTER_PATH``, the user's, the
environment's, the system's) that has it; else, for ``python3``, the kernel ipykernel
provides on the Python that runs the notebook. A spec whose program is ``python``,
``python3`` or ``python3.X`` runs on that same Python, as Jupyter does.

:func:`fingerprint` is the text a notebook step's cache key takes from its kernel: the
kernel's name, its command, and for a Python kernel the interpreter's version and the
distributions (``*.dist-info``, ``*.egg-info``) in each folder of its import path, in order.
So installing, removing or upgrading a package where the kernel imports from changes the key.
Nothing of Jupyter is imported; the interpreter is asked once per process for its version
and path (a Python start, about as long as ``python -c pass``).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

NATIVE = "python3"
_MAJOR, _MINOR = sys.version_info[:2]
_SAME_PYTHON = {"python", f"python{_MAJOR}", f"python{_MAJOR}.{_MINOR}"}
_DISTRIBUTIONS = (".dist-info", ".egg-info")


def _spec_files(name: str) -> list[Path]:
    """Where Jupyter looks for kernel ``name``, first place first."""
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return []
    return [Path(folder) / name.lower() / "kernel.json" for folder in jupyter_path("kernels")]


def spec(name: str) -> dict[str, Any] | None:
    """The kernel's ``kernel.json``, or None when no Jupyter data folder has it."""
    for path in _spec_files(name):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return data
    return None


def command(name: str) -> list[str]:
    """What runs the kernel (its ``argv``, the program resolved as Jupyter resolves it)."""
    found = spec(name)
    argv = [str(a) for a in (found or {}).get("argv") or []]
    if not argv:
        return [sys.executable, "-m", "ipykernel_launcher"] if name.lower() == NATIVE else []
    if argv[0] in _SAME_PYTHON:
        argv[0] = sys.executable
    return argv


def fingerprint(name: str) -> str:
    """The kernel's name and command, and a Python kernel's version and distributions."""
    argv = command(name)
    parts = [f"kernel:{name}", f"argv:{json.dumps(argv)}"]
    if argv and _is_python(argv):
        version, paths = _asked(argv[0])
        parts.append(f"python:{argv[0]}:{version}")
        parts += [f"{folder}:{','.join(_distributions(folder))}" for folder in paths]
    return "\n".join(parts)


def watched(name: str) -> list[Path]:
    """The files and folders whose change may change :func:`fingerprint` (a new kernel spec
    in front, an edited one, a package installed where the kernel imports from)."""
    files = _spec_files(name)
    paths = [p for f in files for p in (f.parent.parent, f.parent, f)]
    argv = command(name)
    if argv and _is_python(argv):
        paths += [Path(folder) for folder in _asked(argv[0])[1]]
    return paths


def _is_python(argv: list[str]) -> bool:
    return argv[0] == sys.executable or Path(argv[0]).name.startswith("python")


@functools.lru_cache(maxsize=8)
def _asked(program: str) -> tuple[str, tuple[str, ...]]:
    """An interpreter's version and import path as a kernel started here sees it (asked of
    the interpreter itself, also when it is this one: this process's path has its own
    script's folder and whatever the program added)."""
    probe = "import json, sys; print(json.dumps([sys.version, sys.path]))"
    try:
        done = subprocess.run(
            [program, "-c", probe], capture_output=True, text=True, timeout=60, check=True
        )
        version, paths = json.loads(done.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return "unknown", ()
    return str(version), tuple(_absolute(paths))


def _absolute(paths: list[str]) -> list[str]:
    return [p for p in paths if os.path.isabs(p)]


def _distributions(folder: str) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names if n.endswith(_DISTRIBUTIONS))
