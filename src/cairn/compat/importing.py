"""Make ``import cmind`` and ``import mlc`` resolve to cairn's shims: in ``customize.py``
hooks, and in native scripts.

The shim packages live in ``compat/shim/cmind`` and ``compat/shim/mlc``. In cairn's own
process, :func:`active` puts their parent folder first on ``sys.path`` -- and for an MLCFlow
script's hooks also ``compat/shim/mlc/toplevel``, which holds the top-level ``utils`` module
MLCFlow's hooks import -- and, on the way out, restores ``sys.path`` and whatever ``cmind``,
``mlc`` and ``utils`` modules were imported before, so code outside hooks (including a real
``cmind`` or ``mlc``) never sees the shims. Native scripts get the folder at the *end* of
``PYTHONPATH`` (:func:`native_prefix_lines`); there a shim hands over to the real package
when the script's Python has one (see ``shim/cmind/__init__.py``).
"""

from __future__ import annotations

import contextlib
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

from cairn.dialect import CM, MLC, Dialect

SHIM_ROOT = str(Path(__file__).resolve().parent / "shim")
MLC_TOPLEVEL = str(Path(SHIM_ROOT) / "mlc" / "toplevel")
"""Where MLCFlow hooks find ``utils`` (MLCFlow puts its script automation's folder there)."""
CAIRN_ROOT = str(Path(__file__).resolve().parent.parent.parent)
"""The folder holding the ``cairn`` package: how a native script's shim reaches cairn."""
ROOT_VARIABLE = "CAIRN_PACKAGE_ROOT"

_active = 0
"""How many :func:`active` blocks are open (the shim reads it to know it serves a hook)."""


SHIM_MODULES = ("cmind", "mlc")
MLC_MODULES = ("utils",)
"""Top-level module names the shims provide (``utils`` for MLCFlow hooks only)."""


def _shim_modules(names: tuple[str, ...]) -> dict[str, object]:
    dotted = tuple(f"{n}." for n in names)
    return {k: v for k, v in sys.modules.items() if k in names or k.startswith(dotted)}


def in_hook() -> bool:
    """Whether an :func:`active` block is open in this process."""
    return _active > 0


@contextlib.contextmanager
def active(dialect: Dialect = CM) -> Iterator[None]:
    """While the block runs, ``import cmind`` and ``import mlc`` give the shims (and, for a
    script of MLCFlow's dialect, ``import utils`` gives MLCFlow's helpers)."""
    global _active
    names = SHIM_MODULES + (MLC_MODULES if dialect == MLC else ())
    saved_path = list(sys.path)
    saved = _shim_modules(names)
    for name in saved:
        del sys.modules[name]
    sys.path[:0] = [SHIM_ROOT, MLC_TOPLEVEL] if dialect == MLC else [SHIM_ROOT]
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        sys.path[:] = saved_path
        for name in _shim_modules(names):
            del sys.modules[name]
        sys.modules.update(saved)  # type: ignore[arg-type]


def native_prefix_lines() -> list[str]:
    """Wrapper lines that let a native script's Python ``import cmind``/``mlc`` (shims last on
    the path)."""
    shim = shlex.quote(SHIM_ROOT)
    return [
        f'export PYTHONPATH="${{PYTHONPATH:+${{PYTHONPATH}}:}}"{shim}',
        f"export {ROOT_VARIABLE}={shlex.quote(CAIRN_ROOT)}",
    ]
