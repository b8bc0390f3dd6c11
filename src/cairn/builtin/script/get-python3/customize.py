"""get-python3: find a Python 3 interpreter that satisfies the version constraints.

Where it looks, in order: ``CM_PYTHON_BIN_WITH_PATH`` (env or ``_custom-path.#``) or ``--path``
(an interpreter or a directory) -- only there when given; otherwise ``python3`` on ``PATH``,
the interpreter running cairn, then every other ``python3.N`` on ``PATH``. Each candidate is
run once to ask its real path and version; the first one within ``--version``,
``--version_min`` and ``--version_max`` wins. When none does, the error lists what was found.
"""

import os
import re
import shutil
import subprocess
import sys

from cairn.script.recipes import satisfies

PROBE = "import platform, sys; print(sys.executable); print(platform.python_version())"
LIMITS = {"version": "CM_VERSION", "version_min": "CM_VERSION_MIN", "version_max": "CM_VERSION_MAX"}


def preprocess(i):
    env = i["env"]
    wanted = {name: env[key] for name, key in LIMITS.items() if env.get(key)}
    explicit = _explicit(env)
    found = []
    for candidate in explicit or _on_path():
        python, version, problem = _probe(candidate)
        found.append((candidate, version or problem))
        if version and satisfies(version, wanted):
            _export(env, python or candidate, version)
            return {"return": 0, "version": version}
    return {"return": 16, "error": _not_found(found, wanted, explicit)}


def _explicit(env):
    """The interpreter(s) the user named, if any."""
    given = env.get("CM_PYTHON_BIN_WITH_PATH") or env.get("CM_TMP_PATH")
    if not given:
        return []
    given = os.path.expanduser(str(given))
    if os.path.isdir(given):
        return [os.path.join(given, name) for name in ("python3", "python")]
    return [given]


def _on_path():
    """``python3`` on PATH, the interpreter running cairn, then every other ``python3`` and
    ``python3.N`` in the PATH folders (newest minor version first)."""
    others = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if os.path.isdir(folder):
            names = [n for n in os.listdir(folder) if re.fullmatch(r"python3(\.\d+)?", n)]
            others += [os.path.join(folder, n) for n in names]
    others.sort(key=lambda path: -int((path.rsplit("python3", 1)[1] or ".999")[1:]))
    unique = {}
    for path in [shutil.which("python3"), sys.executable, *others]:
        if path and os.path.realpath(path) not in unique:
            unique[os.path.realpath(path)] = path
    return list(unique.values())


def _probe(candidate):
    """Run ``candidate``: (its sys.executable, its version, '') or (None, None, the problem)."""
    if not os.path.isfile(candidate):
        return None, None, "not found"
    try:
        done = subprocess.run(
            [candidate, "-c", PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, None, f"did not run ({exc})"
    lines = done.stdout.split("\n")
    if done.returncode != 0 or len(lines) < 2:
        reason = (done.stderr.strip().splitlines() or ["no output"])[0]
        return None, None, f"did not run: {reason}"
    if not lines[1].startswith("3."):
        return None, None, f"Python {lines[1]}, not Python 3"
    return lines[0].strip(), lines[1].strip(), ""


def _export(env, python, version):
    folder, name = os.path.split(python)
    major, minor, patch = [*version.split("."), "", ""][:3]
    env["CM_PYTHON_BIN_WITH_PATH"] = python
    env["CM_PYTHON_BIN"] = name
    env["CM_PYTHON_BIN_PATH"] = folder
    env["CM_PYTHON_VERSION"] = version
    env["CM_PYTHON_MAJOR_VERSION"] = major
    env["CM_PYTHON_MINOR_VERSION"] = minor
    env["CM_PYTHON_PATCH_VERSION"] = patch
    env["+PATH"] = [folder, *[p for p in env.get("+PATH", []) if p != folder]]
    env["CM_DETECTED_VERSION"] = version
    env["CM_GET_DEPENDENT_CACHED_PATH"] = python


def _not_found(found, wanted, explicit):
    asked = ", ".join(f"{name}={value}" for name, value in wanted.items())
    where = "at the given path" if explicit else "on PATH or running cairn"
    head = f"no Python 3 interpreter {where}"
    head += f" satisfies {asked}" if asked else " could be run"
    lines = [f"  {path}: {what}" for path, what in found] or ["  (no python3 on PATH)"]
    hint = "install a matching Python or point at one with --path=/path/to/python3"
    return "\n".join([head + "; found:", *lines, hint])
