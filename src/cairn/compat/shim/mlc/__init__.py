"""cairn's stand-in for MLCFlow's ``mlc`` package, for the ``customize.py`` hooks of MLCFlow
scripts (and, last on ``PYTHONPATH``, for native scripts' Python).

``mlc.access({...})`` takes MLCFlow's input dict (``target`` names the automation, ``search``
is ``find``) and runs the cairn action, returning the CM-style result dict MLCFlow returns;
``mlc.utils`` holds the helpers hooks call (:mod:`mlc.utils`); ``mlc.action`` is there for
hooks that reload it. Outside a hook, a real ``mlc`` elsewhere on ``sys.path`` wins.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys


def _serving_a_hook() -> bool:
    importing = sys.modules.get("cairn.compat.importing")
    return bool(importing is not None and importing.in_hook())


def _real_mlc() -> importlib.machinery.ModuleSpec | None:
    here = os.path.realpath(os.path.dirname(os.path.dirname(__file__)))
    others = [p for p in sys.path if os.path.realpath(p or os.curdir) != here]
    return importlib.machinery.PathFinder.find_spec("mlc", others)


def _hand_over(spec: importlib.machinery.ModuleSpec) -> None:
    """Replace this module by the real ``mlc`` (``import`` returns ``sys.modules['mlc']``)."""
    module = importlib.util.module_from_spec(spec)
    sys.modules["mlc"] = module
    assert spec.loader is not None
    spec.loader.exec_module(module)


_spec = None if _serving_a_hook() else _real_mlc()
if _spec is not None:
    _hand_over(_spec)
else:
    from . import action, utils
    from .action import access

    __version__ = "1.3.8"
    __all__ = ["access", "action", "logger", "utils"]
    logger = logging.getLogger("cairn.mlc")
