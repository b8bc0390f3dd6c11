"""Jupyter notebooks as steps of a script, and the helper a notebook calls to hand results
back: ``cairn.notebook.record(KEY=value, ...)``.

Inside a notebook that runs as a script's step (``run.ipynb``), the kernel's current folder
is the run's work folder. :func:`record` writes there what the engine reads back after the
step, as a native script would: a text, number or bool becomes a ``new_env`` key (as a
string, ``True``/``False`` for bools), anything else JSON can hold becomes a ``new_state``
entry. Called outside a step, it only remembers the values (see :data:`recorded`), so a
notebook also runs by hand.

This module imports nothing heavy: the kernel imports it in every step.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV_OUT = "tmp-run-env.out"
STATE_OUT = "tmp-run-state.json"
STEP_ENV = "CAIRN_NOTEBOOK_STEP"
"""Set (to the work folder) in the kernel's env when the notebook runs as a step."""

recorded: dict[str, Any] = {}
"""Everything :func:`record` was given in this kernel."""


def record(**values: Any) -> None:
    """Hand ``values`` back to the script run (``new_env`` for texts, numbers and bools;
    ``new_state`` for lists, mappings and null)."""
    json.dumps(values)  # refuse what JSON cannot hold, before anything is written
    recorded.update(values)
    folder = os.environ.get(STEP_ENV)
    if not folder:
        return
    env = {k: _text(v) for k, v in values.items() if _scalar(v)}
    state = {k: v for k, v in values.items() if not _scalar(v)}
    if env:
        _append_env(Path(folder) / ENV_OUT, env)
    if state:
        _merge_state(Path(folder) / STATE_OUT, state)


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _text(value: Any) -> str:
    text = str(value)
    if "\n" in text:
        raise ValueError("a recorded env value must be one line; record lists or mappings instead")
    return text


def _append_env(path: Path, env: dict[str, str]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        for key, value in env.items():
            handle.write(f"{key}={value}\n")


def _merge_state(path: Path, state: dict[str, Any]) -> None:
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    current.update(state)
    path.write_text(json.dumps(current), encoding="utf-8")
