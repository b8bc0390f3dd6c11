"""Which class serves an automation name: built-in automations, else the common actions."""

from __future__ import annotations

from cairn import kinds
from cairn.automations.base import Automation
from cairn.automations.cache import CacheAutomation
from cairn.automations.common import CommonAutomation
from cairn.automations.repo import RepoAutomation
from cairn.kinds import Kind

BUILTIN: dict[str, type[Automation]] = {"repo": RepoAutomation, "cache": CacheAutomation}
ALIASES = {"repos": "repo"}


def resolve(name: str) -> tuple[Kind, type[Automation]]:
    """The kind named ``name`` and the automation class that serves it."""
    kind = kinds.resolve(ALIASES.get(name, name))
    return kind, BUILTIN.get(kind.alias, CommonAutomation)


def listing() -> dict[str, type[Automation]]:
    """Built-in automations by name, with ``*`` standing for every other kind."""
    return {**BUILTIN, "*": CommonAutomation}
