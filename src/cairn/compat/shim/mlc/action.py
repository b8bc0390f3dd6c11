"""``mlc.action``: MLCFlow's dict API served by cairn.

MLCFlow's input dicts name the automation ``target`` (``{'action': 'search', 'target':
'script', 'tags': ...}``); cairn's name it ``automation`` and call ``search`` ``find``.
:func:`access` translates and runs the action through cairn (the ``utils`` actions cairn
serves itself, like ``system``, are answered here); found artifacts come back with ``path``
and ``meta`` as MLCFlow's do.
"""

from __future__ import annotations

import os
import sys
from typing import Any

ACTION_NAMES = {"search": "find"}
"""MLCFlow's action names that cairn spells otherwise."""


def as_cairn_input(i: dict[str, Any]) -> dict[str, Any]:
    """MLCFlow's input dict as cairn's: ``target`` -> ``automation``, ``search`` -> ``find``."""
    request = dict(i)
    target = request.pop("target", None)
    if target and not request.get("automation"):
        request["automation"] = target
    action = str(request.get("action") or "")
    request["action"] = ACTION_NAMES.get(action, action)
    return request


def access(i: Any) -> dict[str, Any]:
    """Run an MLCFlow-style action with cairn and return the result dict."""
    _ensure_cairn()
    from cairn.compat.shim.cmind import _bridge
    from cairn.compat.shim.cmind import utils as cm_utils

    request = as_cairn_input(i) if isinstance(i, dict) else i
    if isinstance(request, dict) and cm_utils.serves(request):
        return cm_utils.run_action(request)
    return _bridge.cairn_access(request)


def _ensure_cairn() -> None:
    """Make ``import cairn`` work (a native script's Python: through ``CAIRN_PACKAGE_ROOT``)."""
    try:
        import cairn  # noqa: F401
    except ImportError:
        root = os.environ.get("CAIRN_PACKAGE_ROOT", "")
        if not root or root in sys.path:
            raise
        sys.path.append(root)
