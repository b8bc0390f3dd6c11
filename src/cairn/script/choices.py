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
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from cairn import atomic
from cairn.errors import CairnError

FILE = "choices.json"
FORMAT = 1


class Choices:
    """The remembered choices of one cairn home."""

    def __init__(self, home_root: Path) -> None:
        self.file = home_root / FILE
        self.lock = home_root / "locks" / "choices.lock"
        self._chosen: dict[str, str] | None = None

    def note(self, request: str, chosen: Any, found: list[Any]) -> str | None:
        """Remember ``chosen`` (a :class:`~cairn.script.select.Candidate`) for ``request``;
        a warning when another repository's script served it before and still could."""
        path = str(chosen.artifact.path)
        before = self._known().get(request)
        if before == path:
            return None
        self._remember(request, path)
        old = next((c for c in found if str(c.artifact.path) == before), None)
        if old is None or old.artifact.repo.path == chosen.artifact.repo.path:
            return None
        return (
            f"{request}: now served by {chosen.handle} ({chosen.artifact.path}), not by "
            f"{old.handle} as before: repository {chosen.artifact.repo.alias} has a matching "
            f"script that takes precedence; to keep {old.handle}, name it (cairn run script "
            f"{old.handle}) or pin the dependency (--adr.NAME.repo={old.artifact.repo.alias})"
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
