"""Prompts in repository code (``input()`` in ``customize.py`` or an automation module):
without a terminal they are answered, never left to fail or block."""

from __future__ import annotations

import builtins
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from cairn import report


@contextlib.contextmanager
def answers_without_terminal(path: Path) -> Iterator[None]:
    """Without a terminal, ``input()`` in a hook answers ``''`` (the prompt's default) and
    says so, instead of failing with EOFError or blocking (CM would wait for an answer)."""
    if sys.stdin is not None and sys.stdin.isatty():
        yield
        return

    def answer(prompt: object = "") -> str:
        report.warn(f"{path} asked {str(prompt).strip()!r} with no terminal: answered ''")
        return ""

    saved = builtins.input
    builtins.input = answer
    try:
        yield
    finally:
        builtins.input = saved
