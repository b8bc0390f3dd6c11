"""cairn's stand-in for the ``cmind`` package, for ``customize.py`` hooks and native scripts.

``cmind.access({...})`` runs a cairn action and returns CM's result dict; ``cmind.utils``
holds the helpers real scripts call. Outside a cairn hook (a native script's Python finds this
package at the end of ``PYTHONPATH``), a real ``cmind`` elsewhere on ``sys.path`` wins: this
module then loads it in its own place.
"""

from __future__ import annotations

import logging
from typing import Any

from _cairn_handover import hand_over, real_package  # type: ignore[import-not-found]  # the shim folder, on sys.path

_spec = real_package("cmind")
if _spec is not None:
    hand_over("cmind", _spec)
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
