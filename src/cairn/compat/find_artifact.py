"""CM's ``i['automation'].find_artifact``: find a tool's file on the search path.

Where to look (the keys in the script's dialect, :mod:`cairn.engine_vars`): the file
``env[INPUT]`` alone when it is set; else every folder of ``env[TMP_PATH]`` (``--path``; each
must exist unless ``TMP_PATH_IGNORE_NON_EXISTANT=yes``); else the folders of the process
environment's ``default_path_env_key`` (usually ``PATH``). In each folder the file name is
tried as it is and with version-like suffixes (``python3.11``, ``gcc-12``...); the same file
reached twice counts once. With ``detect_version`` every candidate is tried:
``env[env_path_key]`` is set to it, the script's native script and its ``detect_version(i)``
hook run, and only candidates whose version satisfies the run's constraints stay. Several left:
the first one is taken (cairn never asks). None: return 16. Found: ``env[env_path_key]`` is the
file, its folder is prepended to ``env['+<default_path_env_key>']`` unless it is a default
folder, and the result carries ``found_path``, ``found_file_path``, ``found_file_name`` and
``default_path_list``.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from typing import Any

from cairn.engine_vars import EngineVars

Result = dict[str, Any]
SUFFIXES = (
    "",
    ".[0-9]",
    ".[0-9][0-9]",
    "-[0-9]",
    "-[0-9][0-9]",
    "[0-9]",
    "[0-9][0-9]",
    "[0-9].[0-9]",
    "[0-9].[0-9][0-9]",
    "-[0-9].[0-9]",
    "-[0-9].[0-9][0-9]",
)


def search_folders(
    i: dict[str, Any], env: dict[str, Any], names: EngineVars
) -> tuple[list[str], str | None]:
    """The folders to search (or an error text)."""
    given = str(env.get(names.tmp_path) or "")
    default_key = str(i.get("default_path_env_key") or "PATH")
    if not given:
        return [p for p in os.environ.get(default_key, "").split(os.pathsep) if p], None
    folders = [p for p in given.split(os.pathsep) if p]
    ignore = str(env.get(names.tmp_path_ignore_non_existant, "")).lower() in ("yes", "true", "1")
    missing = [p for p in folders if not os.path.isdir(p)]
    if missing and not ignore:
        return [], f"path {missing[0]} given by --path does not exist"
    return [p for p in folders if os.path.isdir(p)], None


def candidates(name: str, folders: list[str]) -> list[str]:
    """Files named ``name`` (or with a version suffix) in ``folders``, each real file once."""
    found: list[str] = []
    seen: set[str] = set()
    for folder in folders:
        for suffix in SUFFIXES:
            for path in sorted(glob.glob(os.path.join(glob.escape(folder), name + suffix))):
                real = os.path.realpath(path)
                if os.path.isfile(path) and real not in seen:
                    seen.add(real)
                    found.append(path)
    return found


def find_artifact(
    i: dict[str, Any],
    env: dict[str, Any],
    probe: Callable[[str], str | None] | None,
    names: EngineVars,
) -> Result:
    """CM's ``find_artifact``; ``probe(path)`` returns why a candidate's version is unusable
    (or None) after detecting it; it is given only when ``i['detect_version']`` is set."""
    name = str(i.get("file_name") or "")
    if not name:
        return {"return": 1, "error": "find_artifact needs file_name"}
    forced = str(env.get(names.input) or "")
    if forced:
        found = [forced] if os.path.isfile(forced) else []
    else:
        folders, error = search_folders(i, env, names)
        if error:
            return {"return": 1, "error": error}
        found = candidates(name, folders)
    found = [f for f in found if not _skipped(i, f)]
    if probe is not None and i.get("detect_version"):
        found = _first_usable(found, probe)
    if not found:
        return {"return": 16, "error": f"{name} not found (looked in the search path)"}
    return _chosen(i, env, found[0])


def _first_usable(found: list[str], probe: Callable[[str], str | None]) -> list[str]:
    """Probe in order and stop at the first usable candidate, so the env keeps its version."""
    for path in found:
        if probe(path) is None:
            return [path]
    return []


def _skipped(i: dict[str, Any], path: str) -> bool:
    hook = i.get("hook")
    if not callable(hook):
        return False
    result = hook({"file": path})
    return isinstance(result, dict) and bool(result.get("skip"))


def _chosen(i: dict[str, Any], env: dict[str, Any], path: str) -> Result:
    key = str(i.get("env_path_key") or "")
    if key:
        env[key] = path
    folder = os.path.dirname(os.path.abspath(path))
    default_key = str(i.get("default_path_env_key") or "PATH")
    defaults = [p for p in os.environ.get(default_key, "").split(os.pathsep) if p]
    if folder not in defaults:
        plus = env.setdefault(f"+{default_key}", [])
        if isinstance(plus, list) and folder not in plus:
            plus.insert(0, folder)
    return {
        "return": 0,
        "found_path": folder,
        "found_file_path": path,
        "found_file_name": os.path.basename(path),
        "default_path_list": defaults,
    }
