"""Which class serves an automation name: built-in automations, else the common actions.

Built-in automation modules are imported only when their name is used, so a command pays
only for the automation it runs. Any other name is a kind of artifact; :func:`close_kind` finds
the known name a typo was meant to be (``scrpt`` -> ``script``).
"""

from __future__ import annotations

import contextlib
import importlib

from cairn import kinds
from cairn.automations.base import Automation
from cairn.automations.common import CommonAutomation
from cairn.kinds import Kind

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from cairn.store.catalog import Catalog

_BUILTIN_PATHS = {
    "repo": "cairn.automations.repo:RepoAutomation",
    "cache": "cairn.automations.cache:CacheAutomation",
    "script": "cairn.automations.script:ScriptAutomation",
    "run": "cairn.automations.runs:RunAutomation",
    "experiment": "cairn.automations.experiment:ExperimentAutomation",
    "notebook": "cairn.automations.notebook:NotebookAutomation",
}
ALIASES = {"repos": "repo"}


def builtin(name: str) -> type[Automation] | None:
    """The class of built-in automation ``name`` (imported on first use), or None."""
    path = _BUILTIN_PATHS.get(name)
    if path is None:
        return None
    module, attr = path.split(":")
    cls: type[Automation] = getattr(importlib.import_module(module), attr)
    return cls


def builtin_names() -> list[str]:
    return list(_BUILTIN_PATHS)


def resolve(name: str) -> tuple[Kind, type[Automation]]:
    """The kind named ``name`` and the automation class that serves it."""
    kind = kinds.resolve(ALIASES.get(name, name))
    return kind, builtin(kind.alias) or CommonAutomation


def listing() -> dict[str, type[Automation]]:
    """Built-in automations by name, with ``*`` standing for every other kind."""
    found = {name: builtin(name) for name in _BUILTIN_PATHS}
    return {**{k: v for k, v in found.items() if v is not None}, "*": CommonAutomation}


def close_kind(name: str, catalog: Catalog) -> str | None:
    """The known automation name closest to ``name`` when ``name`` itself is unknown: the
    built-in ones, the repositories' automation artifacts and their kind folders."""
    import difflib  # only on this path: an empty answer or a missing action

    from cairn.store.catalog import Query

    names = {*_BUILTIN_PATHS, *kinds.KNOWN, *ALIASES}
    if name in names:
        return None
    for repo in catalog.registry.repos():
        with contextlib.suppress(OSError):
            names |= {p.name for p in repo.root.iterdir() if p.is_dir() and p.name[0] != "."}
    names |= {a.alias for a in catalog.find(Query(kinds.KNOWN["automation"])) if a.alias}
    if name in names:
        return None
    close = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.75)
    return close[0] if close else None
