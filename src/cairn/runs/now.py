"""What is there now, to compare with a lock: the registered repositories' Git state and the
host facts."""

from __future__ import annotations

from typing import Any

from cairn.runs import gitstate
from cairn.runs import host as host_mod


def repos(catalog: Any) -> dict[str, Any]:
    """Every registered repository by alias: path, uid, and Git commit and dirty flag."""
    found = {}
    for repo in catalog.registry.repos():
        state = gitstate.state(repo.path) or {}
        found[repo.alias] = {"path": str(repo.path), "uid": repo.uid, **state}
    return found


def host() -> dict[str, Any]:
    return host_mod.facts()
