"""``cmind.automation.Automation``: the base of repository automations' ``CAutomation``.

The common actions (``search``/``find``, ``load``, ``add``, ``update``, ``delete``/``rm``,
``move``/``mv``, ``copy``/``cp``, ``info``) are served by cairn through ``cmind.access``.
"""

from __future__ import annotations

import os
from typing import Any

_CM_ONLY_KEYS = ("parsed_automation", "parsed_artifact", "parsed_artifacts", "control", "cmd")


class Automation:
    """What CM sets on an automation object: ``cmind``, ``automation_file_path``, ``path``,
    ``meta``, ``full_path`` and ``artifact``."""

    def __init__(self, cmind: Any, automation_file: str) -> None:
        self.cmind = cmind
        self.automation_file_path = automation_file
        self.path = os.path.dirname(automation_file)
        self.meta: dict[str, Any] = {}
        self.full_path = ""
        self.artifact = ""

    def _common(self, action: str, i: dict[str, Any]) -> dict[str, Any]:
        request = {k: v for k, v in i.items() if k not in _CM_ONLY_KEYS}
        name = ",".join(str(self.meta[k]) for k in ("alias", "uid") if self.meta.get(k))
        request.update(action=action, automation=name)
        result: dict[str, Any] = self.cmind.access(request)
        return result

    def search(self, i: dict[str, Any]) -> dict[str, Any]:
        return self._common("find", i)

    find = search

    def load(self, i: dict[str, Any]) -> dict[str, Any]:
        return self._common("load", i)

    def add(self, i: dict[str, Any]) -> dict[str, Any]:
        return self._common("add", i)

    def update(self, i: dict[str, Any]) -> dict[str, Any]:
        return self._common("update", i)

    def delete(self, i: dict[str, Any]) -> dict[str, Any]:
        return self._common("rm", i)

    rm = delete

    def move(self, i: dict[str, Any]) -> dict[str, Any]:
        return self._common("mv", i)

    mv = move

    def copy(self, i: dict[str, Any]) -> dict[str, Any]:
        return self._common("copy", i)

    cp = copy

    def info(self, i: dict[str, Any]) -> dict[str, Any]:
        return self._common("info", i)
