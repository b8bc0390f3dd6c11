"""CM's ``i`` dict for ``customize.py`` hooks, built from a narrow :class:`HookContext`.

The engine fills a :class:`HookContext`; this module turns it into the dict CM scripts expect
(cm-script.md §2.2): ``env``, ``state``, ``meta``, ``input``, ``os_info``, ``run_script_input``,
``automation``, ``artifact``, ``script_tags``, ``variation_tags``, ``customize``. ``env``,
``state`` and ``meta`` are the live dicts: what a hook writes there is what the run uses.

The engine keys the helpers read and write are the script's dialect's (``names``, see
:mod:`cairn.engine_vars`). An MLCFlow script's hooks also get ``i['const']`` and MLCFlow's
automation object (:mod:`cairn.compat.mlc_automation`).
"""

from __future__ import annotations

import logging
import os
import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cairn.dialect import MLC
from cairn.engine_vars import CM_VARS, EngineVars
from cairn.errors import CairnError
from cairn.record import MutableDefaulted, field

Result = dict[str, Any]
NativeRunner = Callable[[str, dict[str, Any]], int]
HookCaller = Callable[[str], dict[str, Any]]
VersionCheck = Callable[[str], str | None]
"""Returns None when a version satisfies the run's constraints, else why not."""


class HookContext(MutableDefaulted):
    """What a hook may see and touch of one script run."""

    env: dict[str, Any]
    state: dict[str, Any]
    meta: dict[str, Any]
    input: dict[str, Any]
    const: dict[str, Any]
    const_state: dict[str, Any]
    script_path: Path
    work_path: Path
    artifact_meta: dict[str, Any]
    script_tags: list[str]
    variation_tags: list[str]
    variation_tags_string: str
    customize: dict[str, Any]
    run_native: NativeRunner
    call_hook: HookCaller | None = None
    check_version: VersionCheck | None = None
    names: EngineVars = CM_VARS
    """The engine variables in the script's dialect."""
    extra: dict[str, Any] = field(default_factory=dict)


def os_info(names: EngineVars = CM_VARS) -> dict[str, Any]:
    """CM's ``os_info`` for the host (Linux/macOS values; Windows ones on Windows)."""
    bits = "64" if sys.maxsize > 2**32 else "32"
    common = {"bits": bits, "python_bits": str(struct.calcsize("P") * 8), "env": {}}
    if os.name == "nt":
        return {**common, **_WINDOWS, "env": {names.windows: "yes"}}
    platform = "darwin" if sys.platform == "darwin" else "linux"
    return {**common, **_POSIX, "platform": platform}


_POSIX = {
    "bat_ext": ".sh",
    "set_env": 'export ${key}="${value}"',
    "env_separator": ":",
    "env_var": "${env_var}",
    "run_bat": ". ${bat_file}",
    "run_local_bat_from_python": 'bash -c ". ./${bat_file}"',
    "start_script": ["#!/bin/bash", ""],
    "set_exec_file": 'chmod 755 "${file_name}"',
}
_WINDOWS = {
    "platform": "windows",
    "bat_ext": ".bat",
    "set_env": "set ${key}=${value}",
    "env_separator": ";",
    "env_var": "%env_var%",
    "run_bat": "call ${bat_file}",
    "run_local_bat_from_python": "call ${bat_file}",
    "start_script": ["@echo off", ""],
    "set_exec_file": "",
}


def build(ctx: HookContext) -> dict[str, Any]:
    """The ``i`` dict of ``preprocess``/``postprocess``/``detect_version``."""
    info = os_info(ctx.names)
    run_input = _run_script_input(ctx, info)
    mlc = ctx.names.dialect == MLC
    i = {
        "env": ctx.env,
        "state": ctx.state,
        "meta": ctx.meta,
        "input": dict(ctx.input),
        "os_info": info,
        "run_script_input": run_input,
        "automation": _automation(ctx) if mlc else AutomationShim(ctx),
        "artifact": SimpleNamespace(path=str(ctx.script_path), meta=ctx.artifact_meta),
        "script_tags": list(ctx.script_tags),
        "variation_tags": list(ctx.variation_tags),
        "customize": ctx.customize,
        "recursion_spaces": "",
        **ctx.extra,
    }
    if mlc:
        i["const"] = ctx.const
    return i


def _automation(ctx: HookContext) -> AutomationShim:
    from cairn.compat.mlc_automation import MLCAutomation

    return MLCAutomation(ctx)


def _run_script_input(ctx: HookContext, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": str(ctx.script_path),
        "bat_ext": info["bat_ext"],
        "os_info": info,
        "const": ctx.const,
        "state": ctx.state,
        "const_state": ctx.const_state,
        "env": ctx.env,
        "meta": ctx.meta,
        "recursion": False,
        "recursion_spaces": "",
        "variation_tags_string": ctx.variation_tags_string,
        "tmp_file_run": "tmp-run",
        "tmp_file_run_env": "tmp-run-env.out",
        "tmp_file_run_state": "tmp-run-state.json",
        "tmp_file_ver": "tmp-ver.out",
    }


class AutomationShim:
    """``i['automation']``: the helpers real scripts call, with CM's dict conventions."""

    def __init__(self, ctx: HookContext) -> None:
        self._ctx = ctx
        from cairn.compat.searches import access

        self.cmind = SimpleNamespace(
            access=access, x=access, logger=logging.getLogger("cairn.customize")
        )
        self.path = str(ctx.script_path.parent.parent)

    def find_artifact(self, i: dict[str, Any]) -> Result:
        """Find a tool on the search path (see :mod:`cairn.compat.find_artifact`)."""
        from cairn.compat.find_artifact import find_artifact

        env = i.get("env", self._ctx.env)
        key = str(i.get("env_path_key") or "")

        def probe(path: str) -> str | None:
            if key:
                env[key] = path
            env.pop(self._ctx.names.detected_version, None)
            found = self.detect_version_using_script({"env": env, **i})
            return None if found["return"] == 0 else str(found.get("error"))

        return find_artifact(i, env, probe, self._ctx.names)

    def get_default_path_list(self, i: dict[str, Any]) -> list[str]:
        """The folders of the process environment's ``default_path_env_key`` (e.g. ``PATH``)."""
        key = str(i.get("default_path_env_key") or "")
        return [p for p in os.environ.get(key, "").split(os.pathsep) if p] if key else []

    def run_native_script(self, i: dict[str, Any]) -> Result:
        """Run ``<script_name>.sh`` of the script directory with ``i['env']``."""
        name = str(i.get("script_name") or "run")
        env = i.get("env", self._ctx.env)
        try:
            code = self._ctx.run_native(name, env)
        except CairnError as exc:
            return {"return": exc.code, "error": str(exc)}
        if code != 0:
            return {"return": 2, "error": f"native script {name} failed with exit code {code}"}
        return {"return": 0}

    def parse_version(self, i: dict[str, Any]) -> Result:
        """Find a version with ``match_text`` in ``tmp-ver.out``; set ``env[env_key]``."""
        path = self._ctx.work_path / str(i.get("file_name") or "tmp-ver.out")
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {"return": 16, "error": f"version file {path} not found"}
        found = re.search(str(i["match_text"]), text)
        if found is None:
            return {"return": 1, "error": f"version not found in {path}"}
        version = found.group(int(i.get("group_number", 0))).strip()
        env = i.get("env", self._ctx.env)
        if i.get("env_key"):
            env[str(i["env_key"])] = version
        env[self._ctx.names.detected_version] = version
        return {"return": 0, "version": version, "string": text}

    def clean_some_tmp_files(self, i: dict[str, Any]) -> Result:
        """Remove ``tmp-run.bat`` and ``tmp-state.json`` from the run's work directory."""
        env = i.get("env", self._ctx.env)
        work = Path(str(env.get(self._ctx.names.tmp_current_script_work_path) or ""))
        if work.parts:
            for name in ("tmp-run.bat", "tmp-state.json"):
                (work / name).unlink(missing_ok=True)
        return {"return": 0}

    def update_deps(self, i: dict[str, Any]) -> Result:
        """``{'deps': [...], 'update_deps': {name: {key: value}}}``: edit the named entries."""
        for name, changes in (i.get("update_deps") or {}).items():
            for dep in i.get("deps") or []:
                if name in (dep.get("names") or []):
                    dep.update(changes)
        return {"return": 0}

    def detect_version_using_script(self, i: dict[str, Any]) -> Result:
        """Run the native script, then the ``detect_version`` hook; check the constraints.

        Returns ``detected_version``, or 16 when no version was detected or it does not
        satisfy ``version``/``version_min``/``version_max`` (CM's convention).
        """
        env = i.get("env", self._ctx.env)
        try:
            code = self._ctx.run_native(str(i.get("script_name") or "run"), env)
            if code != 0:
                return {"return": 16, "error": f"version was not detected: exit code {code}"}
            found = self._ctx.call_hook("detect_version") if self._ctx.call_hook else {}
        except CairnError as exc:
            return {"return": 16, "error": f"version was not detected: {exc}"}
        version = str(found.get("version") or env.get(self._ctx.names.detected_version) or "")
        if not version:
            return {"return": 16, "error": "version was not detected"}
        why = self._ctx.check_version(version) if self._ctx.check_version else None
        if why:
            return {"return": 16, "error": why}
        return {"return": 0, "detected_version": version}
