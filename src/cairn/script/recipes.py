"""Helpers shared by the ``customize.py`` of the scripts cairn ships (``builtin/script/*``).

CM-style hooks return dicts; these keep the shipped ones short and alike. The shipped
scripts are CM scripts, so they speak CM's dialect (:data:`cairn.engine_vars.CM_VARS`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from cairn.engine_vars import CM_VARS


def fail(message: str) -> dict[str, Any]:
    """A hook's failure result (CM's ``return: 1``)."""
    return {"return": 1, "error": message}


def result_dir(env: Mapping[str, Any]) -> str:
    """Where results stay: the cache entry (the current directory of a cached run's hooks),
    else the caller's directory, as in CM (where an uncached run works, unless a hook moved)."""
    work = os.getcwd()
    if os.path.basename(os.path.dirname(work)) == "cache":
        return work
    return str(env.get(CM_VARS.tmp_current_path) or work)


def satisfies(version: str, wanted: Mapping[str, str]) -> bool:
    """Whether ``version`` meets ``wanted``'s ``version``/``version_min``/``version_max``,
    comparing the leading numeric parts (``3.10`` == ``3.10.0`` < ``3.11``)."""
    if "version" in wanted and _compare(version, wanted["version"]) != 0:
        return False
    if "version_min" in wanted and _compare(version, wanted["version_min"]) < 0:
        return False
    return "version_max" not in wanted or _compare(version, wanted["version_max"]) <= 0


def _compare(a: str, b: str) -> int:
    x, y = _numbers(a), _numbers(b)
    width = max(len(x), len(y))
    x, y = x + [0] * (width - len(x)), y + [0] * (width - len(y))
    return (x > y) - (x < y)


def _numbers(version: str) -> list[int]:
    match = re.match(r"\d+(\.\d+)*", str(version).strip().lstrip("vV"))
    return [int(part) for part in match.group(0).split(".")] if match else []
