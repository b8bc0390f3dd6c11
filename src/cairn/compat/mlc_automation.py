"""``i['automation']`` for the hooks of MLCFlow scripts.

MLCFlow's hooks use what CM's had (``run_native_script``, ``find_artifact``, ``update_deps``,
``detect_version_using_script``, ``clean_some_tmp_files``, ..., from
:class:`cairn.compat.hook_input.AutomationShim`) and a few more: ``logger``;
``action_object`` (``.access`` runs an MLCFlow-style action through cairn, ``.logger``,
``.repos_path``: the folder holding the script's repository); ``cache_action`` (``.access``
for cache actions); ``find_file_deep``, ``find_file_back`` and ``_available_variations``.
"""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace
from typing import Any

from cairn.compat.hook_input import AutomationShim, HookContext, Result

LOGGER = "cairn.customize"


class _Stderr(logging.Handler):
    """Writes to ``sys.stderr`` as it is when a record comes (it may be replaced meanwhile)."""

    def emit(self, record: logging.LogRecord) -> None:
        import sys

        try:
            sys.stderr.write(self.format(record) + "\n")
        except (OSError, ValueError):
            self.handleError(record)


def hook_logger() -> logging.Logger:
    """The logger MLCFlow hooks write to: INFO and above on stderr (``cairn: message``), as
    mlcflow prints them; set up once, never passed to the root logger."""
    logger = logging.getLogger(LOGGER)
    if not logger.handlers:
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("cairn: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


class MLCAutomation(AutomationShim):
    """The automation object MLCFlow hooks get."""

    def __init__(self, ctx: HookContext) -> None:
        super().__init__(ctx)
        self.logger = hook_logger()
        self.action_object = SimpleNamespace(
            access=_mlc_access,
            logger=self.logger,
            repos_path=str(ctx.script_path.parent.parent.parent),
        )
        self.cache_action = SimpleNamespace(access=_cache_access, logger=self.logger)

    def find_file_deep(self, i: dict[str, Any]) -> Result:
        """Folders under ``paths`` holding ``file_name``, kept only when the folder ends with
        one of ``restrict_paths`` (if given): ``found_paths``."""
        name = str(i.get("file_name") or "")
        endings = [os.path.normpath(p) for p in i.get("restrict_paths") or []]
        found: list[str] = []
        for top in i.get("paths") or []:
            for folder, _dirs, files in os.walk(str(top)):
                if name in files and (not endings or folder.endswith(tuple(endings))):
                    found.append(folder)
        return {"return": 0, "found_paths": found}

    def find_file_back(self, i: dict[str, Any]) -> Result:
        """The nearest folder at or above ``path`` holding ``file_name`` (``found_path``, empty
        when none does)."""
        folder = os.path.abspath(str(i.get("path") or os.getcwd()))
        name = str(i.get("file_name") or "")
        while True:
            if name and os.path.isfile(os.path.join(folder, name)):
                return {"return": 0, "found_path": folder}
            parent = os.path.dirname(folder)
            if parent == folder:
                return {"return": 0, "found_path": ""}
            folder = parent

    def _available_variations(self, i: dict[str, Any]) -> Result:
        """The failure a hook returns when a needed variation was not given: the script's
        variations listed."""
        meta = i.get("meta") or {}
        names = sorted((meta.get("variations") or {}).keys())
        alias = meta.get("alias") or self._ctx.script_path.name
        listed = ", ".join(f"_{n}" for n in names) or "none"
        return {"return": 1, "error": f"script {alias} needs a variation; it has: {listed}"}


def _mlc_access(i: dict[str, Any]) -> Result:
    from cairn.compat.shim.mlc.action import access

    return access(i)


def _cache_access(i: dict[str, Any]) -> Result:
    return _mlc_access({**i, "target": "cache"})
