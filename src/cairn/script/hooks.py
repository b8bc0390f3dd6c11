"""A script's ``customize.py``: loaded fresh per run, its functions called with CM's ``i``.

The module is executed from its file each time (never cached in ``sys.modules``), with the
``cmind`` shim importable (:mod:`cairn.compat.shim`). An exception in it, at import or in a
hook, becomes a :class:`HookError` carrying the file and the traceback; a hook that returns
``{"return": N, "error": ...}`` with N > 0 becomes a :class:`HookFailed` with CM's code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from cairn.compat import importing
from cairn.errors import CairnError

HOOK_FILE = "customize.py"
HOOKS = ("preprocess", "postprocess", "detect_version", "predeps")


class HookError(CairnError):
    """``customize.py`` raised: the message carries the file and the traceback."""


class HookFailed(CairnError):
    """A hook returned a failure (``return`` > 0): its code and error are kept."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code if code > 0 else 1


@dataclass(frozen=True)
class Hooks:
    """The loaded ``customize.py`` of one script."""

    path: Path
    module: ModuleType

    @classmethod
    def load(cls, script_dir: Path) -> Hooks | None:
        """Execute ``customize.py`` from ``script_dir``, if there is one."""
        path = script_dir / HOOK_FILE
        if not path.is_file():
            return None
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(f"cairn_customize_{digest}", path)
        if spec is None or spec.loader is None:
            raise HookError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        with importing.active():
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                raise HookError(_crash_message(path, "import", exc)) from exc
        return cls(path, module)

    def has(self, name: str) -> bool:
        return callable(getattr(self.module, name, None))

    def call(self, name: str, i: dict[str, Any]) -> dict[str, Any]:
        """Call hook ``name`` with ``i``; a missing hook returns ``{"return": 0}``."""
        func = getattr(self.module, name, None)
        if not callable(func):
            return {"return": 0}
        with importing.active():
            try:
                result = func(i)
            except Exception as exc:
                raise HookError(_crash_message(self.path, name, exc)) from exc
        return _checked(self.path, name, result)


def _crash_message(path: Path, where: str, exc: Exception) -> str:
    lines = traceback.format_exception(exc)
    return f"{path}: {where} raised {type(exc).__name__}: {exc}\n" + "".join(lines).rstrip()


def _checked(path: Path, name: str, result: Any) -> dict[str, Any]:
    if result is None:
        return {"return": 0}
    if not isinstance(result, dict):
        raise HookError(f"{path}: {name}() must return a dict, not {type(result).__name__}")
    code = result.get("return", 0)
    if not isinstance(code, int):
        raise HookError(f"{path}: {name}() returned a non-integer 'return': {code!r}")
    if code > 0:
        raise HookFailed(f"{path}: {name}() failed: {result.get('error', 'no error text')}", code)
    return result
