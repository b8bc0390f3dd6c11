"""Make ``import cmind`` resolve to cairn's shim: in ``customize.py`` hooks, and in native scripts.

The shim package lives in ``compat/shim/cmind``. In cairn's own process, :func:`active` puts
its parent folder first on ``sys.path`` and, on the way out, restores ``sys.path`` and whatever
``cmind`` modules were imported before, so code outside hooks (including a real ``cmind``) never
sees the shim. Native scripts get the folder at the *end* of ``PYTHONPATH``
(:func:`native_prefix_lines`); there the shim hands over to a real ``cmind`` when the script's
Python has one (see ``shim/cmind/__init__.py``).
"""

from __future__ import annotations

import contextlib
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

SHIM_ROOT = str(Path(__file__).resolve().parent / "shim")
CAIRN_ROOT = str(Path(__file__).resolve().parent.parent.parent)
"""The folder holding the ``cairn`` package: how a native script's shim reaches cairn."""
ROOT_VARIABLE = "CAIRN_PACKAGE_ROOT"

_active = 0
"""How many :func:`active` blocks are open (the shim reads it to know it serves a hook)."""


def _cmind_modules() -> dict[str, object]:
    return {k: v for k, v in sys.modules.items() if k == "cmind" or k.startswith("cmind.")}


def in_hook() -> bool:
    """Whether an :func:`active` block is open in this process."""
    return _active > 0


@contextlib.contextmanager
def active() -> Iterator[None]:
    """While the block runs, ``import cmind`` gives the shim."""
    global _active
    saved_path = list(sys.path)
    saved = _cmind_modules()
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, SHIM_ROOT)
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        sys.path[:] = saved_path
        for name in _cmind_modules():
            del sys.modules[name]
        sys.modules.update(saved)  # type: ignore[arg-type]


def native_prefix_lines() -> list[str]:
    """Wrapper lines that let a native script's Python ``import cmind`` (shim last on the path)."""
    shim = shlex.quote(SHIM_ROOT)
    return [
        f'export PYTHONPATH="${{PYTHONPATH:+${{PYTHONPATH}}:}}"{shim}',
        f"export {ROOT_VARIABLE}={shlex.quote(CAIRN_ROOT)}",
    ]
