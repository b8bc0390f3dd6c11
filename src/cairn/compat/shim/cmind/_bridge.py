"""How the shim reaches cairn: directly in cairn's process, through ``CAIRN_PACKAGE_ROOT`` in a
native script's Python (appended to ``sys.path``, so it never shadows that Python's packages)."""

from __future__ import annotations

import os
import sys


def ensure_cairn() -> None:
    """Make ``import cairn`` work, or raise ImportError saying why it cannot."""
    try:
        import cairn
    except ImportError:
        root = os.environ.get("CAIRN_PACKAGE_ROOT", "")
        if not root or root in sys.path:
            raise
        sys.path.append(root)
        import cairn  # noqa: F401
