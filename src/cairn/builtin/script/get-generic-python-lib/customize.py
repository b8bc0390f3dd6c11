"""get-generic-python-lib: the version of a package installed in the chosen Python.

The package is looked up by running the target interpreter (``CM_PYTHON_BIN_WITH_PATH``,
from get-python3) -- never in the interpreter running cairn. When it is missing, or its
version is outside ``--version``/``--version_min``/``--version_max``, it is installed with
``python -m pip install`` only if ``--install`` (``CM_PYTHON_LIB_INSTALL=yes``) allows it.
"""

import os
import re
import subprocess

from cairn.script.recipes import fail, satisfies

NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
TRUE_WORDS = ("yes", "true", "on", "1")
LIMITS = {"version": "CM_VERSION", "version_min": "CM_VERSION_MIN", "version_max": "CM_VERSION_MAX"}
# Prints the version, then the metadata file whose removal invalidates the cache entry.
PROBE = """
import sys
from importlib import metadata
try:
    dist = metadata.distribution(sys.argv[1])
except metadata.PackageNotFoundError:
    sys.exit(3)
files = [f for f in dist.files or [] if f.name in ("METADATA", "PKG-INFO")]
print(dist.version)
print(dist.locate_file(files[0]) if files else "")
"""


def preprocess(i):
    env = i["env"]
    name = str(env.get("CM_GENERIC_PYTHON_PACKAGE_NAME", "")).strip()
    if not NAME.fullmatch(name):
        return fail(f"give a valid package name with _package.NAME or --package (got {name!r})")
    python = env.get("CM_PYTHON_BIN_WITH_PATH")
    if not python:
        return fail("CM_PYTHON_BIN_WITH_PATH is not set: the get-python3 dependency did not run")
    wanted = {k: env[v] for k, v in LIMITS.items() if env.get(v)}
    found = _installed(python, name)
    if found.get("error"):
        return fail(found["error"])
    if found.get("version") and satisfies(found["version"], wanted):
        return _export(env, name, found)
    problem = _problem(name, python, found.get("version"), wanted)
    if str(env.get("CM_PYTHON_LIB_INSTALL", "")).lower() not in TRUE_WORDS:
        allow = "add --install (or --env.CM_PYTHON_LIB_INSTALL=yes)"
        yourself = f"{python} -m pip install {name}"
        return fail(f"{problem}; to let cairn install it with pip, {allow}, or run {yourself}")
    error = _pip_install(python, name + _pip_spec(wanted))
    if error:
        return fail(f"{problem}, and pip could not install it:\n{error}")
    found = _installed(python, name)
    if not found.get("version") or not satisfies(found["version"], wanted):
        return fail(_problem(name, python, found.get("version"), wanted) + " after pip install")
    return _export(env, name, found)


def _installed(python, name):
    """``{'version', 'metadata'}`` when installed, ``{}`` when not, ``{'error'}`` on failure."""
    try:
        done = subprocess.run(
            [python, "-c", PROBE, name], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"cannot run {python}: {exc}"}
    if done.returncode == 3:
        return {}
    lines = done.stdout.splitlines()
    if done.returncode != 0 or not lines:
        return {"error": f"{python} could not look up {name}: {done.stderr.strip()[-2000:]}"}
    return {"version": lines[0].strip(), "metadata": lines[1].strip() if len(lines) > 1 else ""}


def _pip_install(python, spec):
    """Run ``python -m pip install spec``; the tail of its output on failure, else ``''``."""
    argv = [python, "-m", "pip", "install", "--disable-pip-version-check", spec]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return ""
    tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
    return "\n".join(f"  | {line}" for line in tail)


def _export(env, name, found):
    key = re.sub(r"[^A-Z0-9]", "_", name.upper())
    env[f"CM_PYTHONLIB_{key}_VERSION"] = found["version"]
    env["CM_DETECTED_VERSION"] = found["version"]
    if found.get("metadata") and os.path.exists(found["metadata"]):
        env["CM_GET_DEPENDENT_CACHED_PATH"] = found["metadata"]
    return {"return": 0, "version": found["version"]}


def _problem(name, python, version, wanted):
    if not version:
        return f"Python package {name!r} is not installed in {python}"
    asked = ", ".join(f"{k}={v}" for k, v in wanted.items())
    return f"{name} {version} is installed in {python}, but {asked} is required"


def _pip_spec(wanted):
    if "version" in wanted:
        return "==" + wanted["version"]
    bounds = [(">=", wanted.get("version_min")), ("<=", wanted.get("version_max"))]
    return ",".join(op + value for op, value in bounds if value)
