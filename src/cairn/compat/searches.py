"""Script searches made by repository code: cairn's built-in scripts are fallbacks there too.

A hook, a repository automation or a native script's Python that asks ``find`` (or ``search``,
``ls``, ``list``) for scripts by tags sees a repository's world: when a script of a registered
or local repository is among the matches, cairn's built-in scripts of the same tags are left
out, as a run would leave them out (:func:`cairn.script.select.choose`). CM code that stops on
"more than one script found" (build-dockerfile's ``--script_tags=detect,os``) then finds the
repository's one. Searches of other kinds, and a user's ``cairn find script``, list everything.
"""

from __future__ import annotations

from typing import Any

from cairn.kinds import KNOWN

FIND_ACTIONS = frozenset({"find", "search", "ls", "list"})


def access(i: Any) -> dict[str, Any]:
    """``cairn.access(i)`` for repository code: a script search drops shadowed fallbacks."""
    from cairn.api import access as cairn_access

    result: dict[str, Any] = cairn_access(i)
    if isinstance(i, dict) and is_script_search(i) and isinstance(result.get("list"), list):
        from cairn.script.select import without_fallbacks

        result["list"] = without_fallbacks(result["list"])
    return result


def is_script_search(i: dict[str, Any]) -> bool:
    """Whether the input dict asks to find artifacts of the ``script`` kind."""
    if str(i.get("action") or "") not in FIND_ACTIONS:
        return False
    script = KNOWN["script"]
    names = {p.strip().lower() for p in str(i.get("automation") or "").split(",")}
    return bool(names & {script.alias, script.uid})
