"""``utils.debug_here``'s result: a remote-debugger session (``debugpy``), or nothing."""

from __future__ import annotations

from typing import Any


class Debugger:
    """``.breakpoint()`` stops in the attached debugger, or does nothing without one."""

    def __init__(self, session: Any) -> None:
        self._session = session

    @classmethod
    def start(cls, module_path: str, host: str, port: int, text: str) -> Debugger:
        try:
            import debugpy
        except ImportError:
            print(f"{module_path}: debugging asked for, but debugpy is not installed; continuing")
            return cls(None)
        debugpy.listen((host, port))
        print(text or f"Waiting for a debugger on {host}:{port} ({module_path}) ...")
        debugpy.wait_for_client()
        return cls(debugpy)

    def breakpoint(self) -> None:
        if self._session is not None:
            self._session.breakpoint()
