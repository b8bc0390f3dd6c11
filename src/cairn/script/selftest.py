"""A script's own tests (MLCFlow's ``tests`` meta key), as ``cairn test script NAME`` runs them.

The key, as MLCFlow's collection writes it::

    tests:
      needs_pat: true            # the cases need a GitHub token: all are skipped
      run_inputs:                # one item per set of inputs
      - variations_list:         # one case per item: its variations, comma-separated
        - set,no-new-logins
        - unset,no-new-logins
        env:                     # env values of every case of the item
          MLC_X: '1'
      - env: {MLC_SUDO: sudo}    # no variations_list: one case with the default variations
      - docker: 'yes'            # runs in a container: skipped (cairn runs no containers)
        test-all-variations: 'yes'   # one case per plain variation of the script
      - {}                       # one case, as the script is

Every other key of an item (``fail_safe``, ``ignore_missing``, ...) is an input of its cases,
as ``--KEY=VALUE`` would be. A case passes when its run succeeds. Cases run one after the
other, each in its own run tree, so a failure does not stop the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from cairn.errors import InvalidInput
from cairn.record import Defaulted, field
from cairn.script.model import ScriptMeta

_OWN_KEYS = frozenset({"variations_list", "env", "docker", "test-all-variations"})
_TRUE = frozenset({"yes", "true", "on", "1"})


class Case(Defaulted):
    """One run a script's tests ask for."""

    variations: tuple[str, ...] = ()
    env: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, Any] = field(default_factory=dict)
    skip: str | None = None
    """Why the case is not run (``None``: it is)."""
    where: str = ""
    """The item of ``tests.run_inputs`` it comes from: ``run_inputs[2]``."""

    @property
    def label(self) -> str:
        return " ".join(f"_{v}" for v in self.variations) or "(default variations)"


def cases(meta: ScriptMeta) -> list[Case]:
    """The cases of the script's ``tests`` (an error naming the file and key when malformed)."""
    if not meta.tests:
        raise InvalidInput(
            f"script {meta.display_name} declares no tests ({meta.source} has no 'tests')",
            hint="add tests: {run_inputs: [...]} to its meta",
        )
    items = meta.tests.get("run_inputs")
    if not isinstance(items, list):
        _bad(meta, "tests.run_inputs", "a list of input sets")
    skip = "needs a GitHub token (needs_pat)" if _yes(meta.tests.get("needs_pat")) else None
    found: list[Case] = []
    for index, item in enumerate(items):
        for case in _item_cases(meta, f"run_inputs[{index}]", item):
            found.append(case if skip is None or case.skip else _skipped(case, skip))
    return found


def _item_cases(meta: ScriptMeta, where: str, item: Any) -> list[Case]:
    if item is None:
        item = {}
    if not isinstance(item, dict):
        _bad(meta, f"tests.{where}", "a mapping of inputs")
    env = item.get("env") or {}
    if not isinstance(env, dict):
        _bad(meta, f"tests.{where}.env", "a mapping of env values")
    inputs = {k: v for k, v in item.items() if k not in _OWN_KEYS}
    skip = (
        "runs in a container (docker), which cairn does not run"
        if _yes(item.get("docker"))
        else None
    )
    combos = _combinations(meta, where, item)
    return [
        Case(variations=combo, env=dict(env), inputs=inputs, skip=skip, where=where)
        for combo in combos
    ]


def _combinations(meta: ScriptMeta, where: str, item: dict[str, Any]) -> list[tuple[str, ...]]:
    if _yes(item.get("test-all-variations")):
        plain = [v for v in meta.variations.values() if not v.is_combined and not v.is_dynamic]
        return [(v.name,) for v in plain] or [()]
    listed = item.get("variations_list")
    if listed is None or listed == []:
        return [()]
    if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
        _bad(meta, f"tests.{where}.variations_list", "a list of 'a,b' variation strings")
    return [tuple(v.strip().lstrip("_") for v in text.split(",") if v.strip()) for text in listed]


def _skipped(case: Case, why: str) -> Case:
    from cairn.record import replace

    return replace(case, skip=why)


def _yes(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)


def _bad(meta: ScriptMeta, key: str, expected: str) -> NoReturn:
    raise InvalidInput(
        f"{meta.source}: key '{key}' must be {expected}",
        hint="docs/scripts.md shows the shape of 'tests'",
    )
