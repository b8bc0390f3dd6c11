"""A script's ``customize.py``: loaded fresh per run, its functions called with CM's ``i``.

The module is compiled from its source each time (never cached in ``sys.modules``, and no
``__pycache__`` is written next to it: a script's directory is never written to), with the
``cmind`` and ``mlc`` shims importable (:mod:`cairn.compat.importing`; MLCFlow's hooks also
get its top-level ``utils``). Hooks run with the work directory as
the current directory, as in CM (scripts read ``tmp-ver.out`` by its relative name). An
exception in it, at import or in a hook, becomes a :class:`HookError` carrying the file and
the traceback; a hook that returns ``{"return": N, "error": ...}`` with N != 0 becomes a
:class:`HookFailed` (CM's codes 1, 2, 4, 8, 16 are kept, any other N is 1).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from cairn.compat import importing, prompts
from cairn.dialect import CM, Dialect
from cairn.errors import CairnError, ReportedFailure
from cairn.record import Defaulted

HOOK_FILE = "customize.py"
HOOKS = ("preprocess", "postprocess", "detect_version", "predeps")


class HookError(CairnError):
    """``customize.py`` raised: the message carries the file and the traceback."""


class HookFailed(ReportedFailure):
    """A hook returned a failure (``return`` != 0): its error, and its code if CM's."""


class Hooks(Defaulted):
    """The loaded ``customize.py`` of one script."""

    path: Path
    module: ModuleType
    dialect: Dialect = CM

    @classmethod
    def load(cls, script_dir: Path, dialect: Dialect = CM) -> Hooks | None:
        """Execute ``customize.py`` from ``script_dir``, if there is one, with the modules
        of the script's ``dialect`` importable."""
        path = script_dir / HOOK_FILE
        if not path.is_file():
            return None
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
        module = ModuleType(f"cairn_customize_{digest}")
        module.__file__ = str(path)
        with importing.active(dialect):
            try:
                code = compile(path.read_bytes(), str(path), "exec")
                exec(code, module.__dict__)
            except (Exception, SystemExit) as exc:
                raise HookError(_crash_message(path, "import", exc)) from exc
        return cls(path, module, dialect)

    def has(self, name: str) -> bool:
        return callable(getattr(self.module, name, None))

    def call(self, name: str, i: dict[str, Any], cwd: Path) -> tuple[dict[str, Any], Path]:
        """Call hook ``name`` with ``i`` in ``cwd``; return its result (``{"return": 0}`` for a
        missing hook) and the directory it left as current (CM runs what follows there)."""
        func = getattr(self.module, name, None)
        if not callable(func):
            return {"return": 0}, cwd
        answered = prompts.answers_without_terminal(self.path)
        with importing.active(self.dialect), _working_in(cwd) as left, answered:
            try:
                result = func(i)
            except (Exception, SystemExit) as exc:
                raise HookError(_crash_message(self.path, name, exc)) from exc
        return _checked(self.path, name, result), left[0]


@contextlib.contextmanager
def _working_in(cwd: Path) -> Iterator[list[Path]]:
    """Run the block in ``cwd`` and come back, whatever happens; the yielded list then holds
    the directory the block left as current (``cwd`` unless it moved and that still exists)."""
    old = os.getcwd()
    left = [cwd]
    os.chdir(cwd)
    try:
        yield left
    finally:
        with contextlib.suppress(OSError):
            now = os.getcwd()
            if not os.path.samefile(now, cwd):
                left[0] = Path(now)
        os.chdir(old)


def _crash_message(path: Path, where: str, exc: BaseException) -> str:
    """The file, the exception, and the traceback from the hook's own frames down."""
    import traceback  # only when a hook crashed: it brings linecache and tokenize

    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != str(path):
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb or exc.__traceback__)
    return f"{path}: {where} raised {type(exc).__name__}: {exc}\n" + "".join(lines).rstrip()


def _checked(path: Path, name: str, result: Any) -> dict[str, Any]:
    if result is None:
        return {"return": 0}
    if not isinstance(result, dict):
        raise HookError(f"{path}: {name}() must return a dict, not {type(result).__name__}")
    code = result.get("return", 0)
    if not isinstance(code, int):
        raise HookError(f"{path}: {name}() returned a non-integer 'return': {code!r}")
    if code != 0:
        raise HookFailed(f"{path}: {name}() failed: {result.get('error', 'no error text')}", code)
    return result
