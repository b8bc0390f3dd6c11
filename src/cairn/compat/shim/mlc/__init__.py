"""cairn's stand-in for MLCFlow's ``mlc`` package, for the ``customize.py`` hooks of MLCFlow
scripts (and, last on ``PYTHONPATH``, for native scripts' Python).

``mlc.access({...})`` takes MLCFlow's input dict (``target`` names the automation, ``search``
is ``find``) and runs the cairn action, returning the CM-style result dict MLCFlow returns;
``mlc.utils`` holds the helpers hooks call (:mod:`mlc.utils`); ``mlc.action`` is there for
hooks that reload it. Outside a hook, a real ``mlc`` elsewhere on ``sys.path`` wins.
"""

from __future__ import annotations

import logging

from _cairn_handover import hand_over, real_package  # type: ignore[import-not-found]  # the shim folder, on sys.path

_spec = real_package("mlc")
if _spec is not None:
    hand_over("mlc", _spec)
else:
    from . import action, utils
    from .action import access

    __version__ = "1.3.8"
    __all__ = ["access", "action", "logger", "utils"]
    logger = logging.getLogger("cairn.mlc")
