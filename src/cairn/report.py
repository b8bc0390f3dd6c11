"""The one channel for warnings and progress below the edges.

Library code calls :func:`warn`; it never prints. The edge in charge (the CLI or
``api.access``) decides where warnings go by installing a :class:`Reporter`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from cairn.record import Record


class Reporter(Record):
    """Collects warnings; with ``echo`` set, also writes each one to stderr at once."""

    _fields = ("echo", "warnings", "sink")
    __slots__ = _fields

    def __init__(
        self,
        echo: bool = False,
        warnings: list[str] | None = None,
        sink: Callable[[str], None] | None = None,
    ) -> None:
        self.echo = echo
        self.warnings: list[str] = [] if warnings is None else warnings
        self.sink = sink

    def warn(self, message: str) -> None:
        if message in self.warnings:
            return
        self.warnings.append(message)
        if self.echo:
            (self.sink or _stderr)(f"cairn warning: {message}")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


_current: ContextVar[Reporter | None] = ContextVar("cairn_reporter", default=None)


def current() -> Reporter:
    """The reporter in charge; with none installed, a throw-away one that writes to stderr.

    The throw-away reporter keeps nothing, so a long-lived process that never installs one
    neither grows a list of old warnings nor hides a warning it already showed once.
    """
    return _current.get() or Reporter(echo=True)


_calls = [0]  # every warn() of this process, said or already said


def warn(message: str) -> None:
    """Report a non-fatal problem to whoever is listening."""
    _calls[0] += 1
    current().warn(message)


def warned() -> int:
    """How many warnings this process has raised so far (a repeated one counts again)."""
    return _calls[0]


@contextlib.contextmanager
def using(reporter: Reporter) -> Iterator[Reporter]:
    """Route warnings to ``reporter`` for the duration of the block."""
    token = _current.set(reporter)
    try:
        yield reporter
    finally:
        _current.reset(token)
