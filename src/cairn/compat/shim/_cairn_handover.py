"""What cairn's stand-ins for ``cmind`` and ``mlc`` share: serving a hook, or handing over.

While cairn runs a hook (:func:`cairn.compat.importing.active`), ``import cmind`` or
``import mlc`` gives cairn's stand-in. Anywhere else (a native script's Python, where this
folder is last on ``PYTHONPATH``), a real package of that name elsewhere on ``sys.path`` wins:
:func:`real_package` finds it and :func:`hand_over` puts it in the stand-in's place.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.realpath(os.path.dirname(__file__))


def serving_a_hook() -> bool:
    importing = sys.modules.get("cairn.compat.importing")
    return bool(importing is not None and importing.in_hook())


def real_package(name: str) -> importlib.machinery.ModuleSpec | None:
    """The real package ``name`` on ``sys.path`` outside this folder, unless a hook runs."""
    if serving_a_hook():
        return None
    others = [p for p in sys.path if os.path.realpath(p or os.curdir) != HERE]
    return importlib.machinery.PathFinder.find_spec(name, others)


def hand_over(name: str, spec: importlib.machinery.ModuleSpec) -> None:
    """Replace the stand-in by the real package (``import`` returns ``sys.modules[name]``)."""
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    assert spec.loader is not None
    spec.loader.exec_module(module)
