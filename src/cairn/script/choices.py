"""Which script served each request last, so that a change of choice is said once.

Adding a repository can change which script serves a request without a word: its
``get python3`` ties with the built-in one and, being the user's, wins; every cache key below
changes with it. cairn remembers, per request (and per repository of the script that asked,
since a dependency prefers its own repository's scripts), the folder of the script chosen,
in ``$CAIRN_HOME/choices.json``: ``{"format": 1, "chosen": {request: folder}}``. When a choice
between scripts of several repositories falls on another repository's script than last time,
the run warns once, naming both and how to keep the old one; then the new choice is the one
remembered. The file is read once per run tree and written only when a choice is new or
changed; a broken file is treated as empty (it only costs a missed warning).

When a repository is registered (``add``, ``import``, a first ``pull``), :func:`takeovers`
says at once which of its scripts will serve requests another repository's script served:
two scripts meet when the tags of one are all tags of the other, so a request for the
smaller set matches both. Over a built-in script the new one wins (built-in scripts are
fallbacks); beside another repository's, such a request matches both.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from cairn import atomic
from cairn.errors import CairnError

SHOWN = 10
"""Takeovers listed when a repository is registered; the rest are counted."""

FILE = "choices.json"
FORMAT = 1


class Choices:
    """The remembered choices of one cairn home."""

    def __init__(self, home_root: Path) -> None:
        self.file = home_root / FILE
        self.lock = home_root / "locks" / "choices.lock"
        self._chosen: dict[str, str] | None = None

    def note(
        self, request: str, chosen: Any, found: list[Any], pin_tags: str | None = None
    ) -> str | None:
        """Remember ``chosen`` (a :class:`~cairn.script.select.Candidate`) for ``request``;
        a warning when another repository's script served it before and still could (saying
        how to pin it back: by ``pin_tags`` when the request is by tags)."""
        path = str(chosen.artifact.path)
        before = self._known().get(request)
        if before == path:
            return None
        self._remember(request, path)
        old = next((c for c in found if str(c.artifact.path) == before), None)
        if old is None or old.artifact.repo.path == chosen.artifact.repo.path:
            return None
        back = old.artifact.repo.alias
        pin = f"cairn pin script {pin_tags} {back}, " if pin_tags else ""
        return (
            f"{request}: now served by {chosen.handle} ({chosen.artifact.path}), not by "
            f"{old.handle} as before: repository {chosen.artifact.repo.alias} has a matching "
            f"script that takes precedence; to keep {old.handle}, pin it ({pin}or for one "
            f"dependency --adr.NAME.repo={back}) or name it (cairn run script {old.handle})"
        )

    def _known(self) -> dict[str, str]:
        if self._chosen is None:
            self._chosen = _read(self.file)
        return self._chosen

    def _remember(self, request: str, path: str) -> None:
        """Write the new choice; a home that cannot be written only costs a later warning."""
        self._known()[request] = path
        with contextlib.suppress(OSError, CairnError):
            self.lock.parent.mkdir(parents=True, exist_ok=True)
            with atomic.lock(self.lock):
                chosen = {**_read(self.file), request: path}
                text = json.dumps({"format": FORMAT, "chosen": chosen}, indent=1, sort_keys=True)
                atomic.write_text(self.file, text + "\n", durable=False)


def _read(file: Path) -> dict[str, str]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    chosen = data.get("chosen") if isinstance(data, dict) else None
    if not isinstance(chosen, dict):
        return {}
    return {k: v for k, v in chosen.items() if isinstance(k, str) and isinstance(v, str)}


def takeovers(catalog: Any, repo: Any) -> list[str]:
    """Lines naming the scripts of the newly registered ``repo`` that meet scripts of other
    repositories (the same requests match both), with how to keep the old one."""
    from cairn.kinds import KNOWN
    from cairn.script.select import is_builtin
    from cairn.store.catalog import Query

    scripts = catalog.find(Query(KNOWN["script"]))
    mine = [a for a in scripts if a.repo.path == repo.path]
    others = [a for a in scripts if a.repo.path != repo.path and a.tags]
    lines = [
        _takeover(new, old, is_builtin(old))
        for new in mine
        if new.tags
        for old in others
        if set(new.tags) <= set(old.tags) or set(old.tags) <= set(new.tags)
    ]
    more = [f"... and {len(lines) - SHOWN} more"] if len(lines) > SHOWN else []
    return lines[:SHOWN] + more


def _takeover(new: Any, old: Any, over_builtin: bool) -> str:
    common = sorted(set(new.tags) & set(old.tags))
    tags = ",".join(common)
    if over_builtin:
        return (
            f"{new.qualified} now serves requests for {tags} that {old.qualified} served "
            f"(to keep it: cairn pin script {tags} {old.repo.alias})"
        )
    return (
        f"{new.qualified} and {old.qualified} both match requests for {tags}: the lower sort "
        "wins, a tie is asked on a terminal, else the first registered is taken with a "
        f"warning (cairn pin script {tags} REPO decides)"
    )
