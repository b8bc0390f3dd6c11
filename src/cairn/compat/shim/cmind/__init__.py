"""cairn's stand-in for the ``cmind`` package, for ``customize.py`` hooks and native scripts.

``cmind.access({...})`` runs a cairn action and returns CM's result dict; ``cmind.utils``
holds the helpers real scripts call. Outside a cairn hook (a native script's Python finds this
package at the end of ``PYTHONPATH``), a real ``cmind`` elsewhere on ``sys.path`` wins: this
module then loads it in its own place.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys
from typing import Any


def _serving_a_hook() -> bool:
    importing = sys.modules.get("cairn.compat.importing")
    return bool(importing is not None and importing.in_hook())


def _real_cmind() -> importlib.machinery.ModuleSpec | None:
    here = os.path.realpath(os.path.dirname(os.path.dirname(__file__)))
    others = [p for p in sys.path if os.path.realpath(p or os.curdir) != here]
    return importlib.machinery.PathFinder.find_spec("cmind", others)


def _hand_over(spec: importlib.machinery.ModuleSpec) -> None:
    """Replace this module by the real ``cmind`` (``import`` returns ``sys.modules['cmind']``)."""
    module = importlib.util.module_from_spec(spec)
    sys.modules["cmind"] = module
    assert spec.loader is not None
    spec.loader.exec_module(module)


_spec = None if _serving_a_hook() else _real_cmind()
if _spec is not None:
    _hand_over(_spec)
else:
    from . import utils

    __version__ = "4.2.0"
    __all__ = ["access", "error", "utils", "x"]

    def access(i: Any) -> dict[str, Any]:
        """Run a cairn action with CM's dict API (``utils`` actions cairn knows are served here)."""
        if isinstance(i, dict) and utils.serves(i):
            return utils.run_action(i)
        from ._bridge import cairn_access

        return cairn_access(i)

    x = access

    cfg: dict[str, Any] = {
        "artifact_keys": [
            *("automation", "parsed_automation", "artifact", "parsed_artifact"),
            *("artifacts", "parsed_artifacts"),
        ],
        "file_cmeta": "_cm",
        "file_meta_repo": "cmr",
    }
    """The few ``CM.cfg`` keys repository automations read."""
    logger = logging.getLogger("cairn.cmind")

    def error(r: dict[str, Any]) -> dict[str, Any]:
        """Print a failed result's error (CM's ``cmind.error``) and return it."""
        if r.get("return", 0) > 0:
            print(f"CM error: {r.get('error', '')}!")
        return r
