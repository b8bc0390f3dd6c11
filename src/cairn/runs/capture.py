"""A run's output, kept for its run record: what its native scripts and hooks wrote.

Everything a run tree writes to its output channel (the native scripts' stdout and stderr,
``print`` in ``customize.py``) passes through a :class:`Capture` as well as going where it
goes (the terminal, stderr, or nowhere for the Python API). The capture keeps a bounded
amount: the first quarter and the last three quarters of :data:`LIMIT` bytes
(``CAIRN_RUN_OUTPUT_MAX`` bytes; 0 keeps nothing), with one line saying how much was left
out between them. The run record keeps the text (``output``); ``cairn show run`` shows its
last lines (all of it with ``--log``), and ``run script --return_output`` returns it in the
result.

This module is on the start-up path of ``run script``: standard library only, nothing heavy.
"""

from __future__ import annotations

import os
from collections.abc import Callable

LIMIT = 64 * 1024
"""Bytes of output kept by default."""
ENV = "CAIRN_RUN_OUTPUT_MAX"


def limit() -> int:
    """The bytes kept: ``CAIRN_RUN_OUTPUT_MAX`` (a number), else :data:`LIMIT`."""
    value = os.environ.get(ENV, "").strip()
    return int(value) if value.isdigit() else LIMIT


class Capture:
    """A bounded copy of a stream of bytes: its head and its tail."""

    def __init__(self, size: int | None = None) -> None:
        kept = limit() if size is None else size
        self.head_size = kept // 4
        self.tail_size = kept - self.head_size
        self.head = bytearray()
        self.tail = bytearray()
        self.seen = 0

    def write(self, data: bytes) -> None:
        self.seen += len(data)
        room = self.head_size - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data or not self.tail_size:
            return
        self.tail += data
        if len(self.tail) > 2 * self.tail_size:  # trim now and then, not on every write
            del self.tail[: len(self.tail) - self.tail_size]

    def text(self) -> str:
        """What was kept, decoded leniently; a line says how many bytes were left out."""
        tail = bytes(self.tail[-self.tail_size :]) if self.tail_size else b""
        left_out = self.seen - len(self.head) - len(tail)
        head = bytes(self.head).decode("utf-8", "replace")
        if left_out <= 0:
            return head + tail.decode("utf-8", "replace")
        gap = f"\n[... {left_out} bytes of output left out ...]\n"
        return head + gap + tail.decode("utf-8", "replace")

    def tee(self, shown: Callable[[bytes], None] | None) -> Callable[[bytes], None]:
        """An output channel writing to ``shown`` (if any) and into this capture."""

        def write(data: bytes) -> None:
            self.write(data)
            if shown is not None:
                shown(data)

        return write


def last_lines(text: str, count: int) -> tuple[list[str], int]:
    """The last ``count`` lines of ``text`` and how many lines come before them."""
    lines = text.splitlines()
    return lines[-count:], max(0, len(lines) - count)
