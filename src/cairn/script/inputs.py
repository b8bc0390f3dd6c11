"""Inputs nobody takes: a ``--flag`` to ``run script`` that the script neither maps nor reads.

A run's inputs (``--epochs=50``) reach a script through ``input_mapping`` (of its meta, of a
variation that is on, of its version) or through ``customize.py`` reading ``i['input']``;
CM's generic inputs (``--input``, ``--output``, ``--name``, ``--path``, ...) become
the engine's env values in the script's dialect (``CM_NAME``, ``MLC_NAME``). Inputs are not
passed to dependencies, so only the top script can take them. An input it does not take is
most likely a typo (``--epoch=50``): the run warns, naming it and the closest input the
script does take; with ``--strict`` it is an error and nothing runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cairn.errors import InvalidInput


def taken(meta: Any, steps: Iterable[Any], version_payload: Any) -> set[str]:
    """The inputs the script's mappings take, with the variations and version that are on."""
    names = set(meta.input_mapping)
    for step in steps:
        names.update(step.payload.input_mapping)
    if version_payload is not None:
        names.update(version_payload.input_mapping)
    return names


def untaken(
    inputs: Mapping[str, Any], mapped: set[str], named: frozenset[str], generic: Iterable[str]
) -> list[str]:
    """The inputs neither mapped, nor named in the script's files, nor generic."""
    known = mapped | set(generic)
    return sorted(k for k in inputs if k not in known and k not in named)


def message(script: str, name: str, choices: Iterable[str]) -> str:
    """``--epoch is taken by no script of this run (evaluate ...); did you mean --epochs?``"""
    import difflib  # only when an input is untaken

    close = difflib.get_close_matches(name, sorted(set(choices)), n=1, cutoff=0.6)
    guess = f"; did you mean --{close[0]}?" if close else ""
    return (
        f"--{name} is taken by no script of this run ({script} does not map it in "
        f"input_mapping nor name it in its files){guess}"
    )


def check(script: str, names: list[str], choices: Iterable[str], *, strict: bool) -> list[str]:
    """The warnings for ``names``; with ``strict``, an error for the first one instead."""
    texts = [message(script, n, choices) for n in names]
    if strict and texts:
        raise InvalidInput(texts[0], hint="fix the flag, or drop --strict to run anyway")
    return texts
