"""cairn's stand-in for the ``cmind`` package, visible only inside ``customize.py`` hooks.

``cmind.access({...})`` runs a cairn action and returns CM's result dict; ``cmind.utils``
holds the helpers real scripts call.
"""

from __future__ import annotations

from typing import Any

from . import utils

__version__ = "4.2.0"
__all__ = ["access", "error", "utils", "x"]


def access(i: Any) -> dict[str, Any]:
    """Run a cairn action with CM's dict API (``utils`` actions are served locally)."""
    if isinstance(i, dict) and i.get("automation", "").split(",")[0] == "utils":
        return utils.run_action(i)
    from cairn.api import access as cairn_access

    result: dict[str, Any] = cairn_access(i)
    return result


x = access


def error(r: dict[str, Any]) -> dict[str, Any]:
    """Print a failed result's error (CM's ``cmind.error``) and return it."""
    if r.get("return", 0) > 0:
        print(f"CM error: {r.get('error', '')}!")
    return r
