"""Make ``import cmind`` resolve to cairn's shim, only while a ``customize.py`` hook runs.

The shim package lives in ``compat/shim/cmind``. :func:`active` puts its parent folder first
on ``sys.path`` and, on the way out, restores ``sys.path`` and whatever ``cmind`` modules were
imported before, so code outside hooks (including a real ``cmind``) never sees the shim.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

SHIM_ROOT = str(Path(__file__).resolve().parent / "shim")


def _cmind_modules() -> dict[str, object]:
    return {k: v for k, v in sys.modules.items() if k == "cmind" or k.startswith("cmind.")}


@contextlib.contextmanager
def active() -> Iterator[None]:
    """While the block runs, ``import cmind`` gives the shim."""
    saved_path = list(sys.path)
    saved = _cmind_modules()
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, SHIM_ROOT)
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in _cmind_modules():
            del sys.modules[name]
        sys.modules.update(saved)  # type: ignore[arg-type]
