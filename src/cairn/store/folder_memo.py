"""The watcher process's answers per automation folder, kept while nothing under it changed.

Inside the watcher's own process (``cli/lean.py`` installs a :class:`FolderMemo` as
``current``), the index keeps what it answered for one query (its kind, name and tags) in one
automation folder of one repository, with the watcher's ``(session, gen)`` from *before* the
folder was checked. Asked again, it asks the watcher (which drains its inotify queue first)
whether anything under that folder changed since that generation: when nothing did, in the
same session, and the folder is still the same directory (device and inode), the artifacts
are given again without touching the database or the disk. Any change -- one meta file edited
in place, an artifact directory added or removed -- is an event under the folder. When the
watcher names the only artifact directories that changed (nothing in the folder's own entries
did), the index checks and reads just those and the others are given again; otherwise the
folder is read as without the memo.

An answer is kept only when it is exact as of that generation and has nothing else to say:
the watcher watched the folder whole when asked, and the query warned of nothing there (a
broken meta, an artifact of another automation: those are said by every query, so such a
folder is read every time). At most ``MAX_ARTIFACTS`` artifacts are kept in all; when a new
answer would pass that, the oldest are dropped. Other processes have no memo (``current`` is
``None``): each of their queries checks the folder as before.
"""

from __future__ import annotations

import os

from cairn import report

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from collections.abc import Callable, Hashable

    from cairn.store.artifact import Artifact
    from cairn.store.repo import Repo
    from cairn.store.watch_client import Answer

    Ask = Callable[[str, int | None], Answer | None]

MAX_ARTIFACTS = 20_000
MAX_CHANGED = 500  # more artifact directories changed than this: the folder is read anew


Found = list[tuple[str, "Artifact"]]  # (artifact directory name, artifact), by name


class _Kept:
    __slots__ = ("found", "gen", "repo", "session")

    def __init__(self, repo: Repo, session: str, gen: int, found: Found) -> None:
        self.repo, self.session, self.gen, self.found = repo, session, gen, found


class Reuse:
    """What the memo holds for a query: the artifacts it found, and ``changed``: ``None``
    when they are all still exact, else the artifact directories changed since (to be read
    again; the others are exact), with the watcher's ``answer`` this was decided on."""

    __slots__ = ("answer", "changed", "found")

    def __init__(self, found: Found, changed: set[str] | None, answer: Answer) -> None:
        self.found, self.changed, self.answer = found, changed, answer


class FolderMemo:
    """Answers per ``(folder, query)``, each kept with the watcher's generation it is exact at."""

    def __init__(self, max_artifacts: int = MAX_ARTIFACTS) -> None:
        self.max_artifacts = max_artifacts
        self._kept: dict[tuple[str, Hashable], _Kept] = {}
        self._held = 0
        self.hits = 0  # answers given again whole
        self.partly = 0  # answers given again but for the artifact directories changed

    def get(self, path: str, repo: Repo, query: Hashable, ask: Ask) -> Reuse | None:
        """The artifacts kept for ``query`` in the folder ``path`` of ``repo``: all exact when
        the watcher says nothing under the folder changed since they were read, or all but
        the artifact directories it names as changed (at most ``MAX_CHANGED``, nothing else
        in the folder changed); else ``None``."""
        kept = self._kept.get((path, query))
        if kept is None or kept.repo != repo or kept.repo.meta != repo.meta:
            return None
        answer = ask(path, kept.gen)
        try:
            st = os.stat(path)
        except OSError:
            return None
        if answer is None:
            return None
        if answer.vouches(kept.session, kept.gen, st.st_dev, st.st_ino):
            self.hits += 1
            return Reuse(list(kept.found), None, answer)
        changed = answer.only(kept.session, kept.gen, st.st_dev, st.st_ino)
        if changed is None or len(changed) > MAX_CHANGED:
            return None
        self.partly += 1
        return Reuse(list(kept.found), changed, answer)

    def put(
        self,
        path: str,
        repo: Repo,
        query: Hashable,
        answer: Answer | None,
        found: Found,
        warned_before: int,
    ) -> None:
        """Keep ``found``, exact as of ``answer`` (read after it), unless the watcher did not
        watch the folder whole or the query warned since ``warned_before``
        (``report.warned()``)."""
        self._drop((path, query))
        if answer is None or answer.changed is None or report.warned() != warned_before:
            return
        if len(found) > self.max_artifacts:
            return
        while self._held + len(found) > self.max_artifacts:
            self._drop(next(iter(self._kept)))
        self._kept[(path, query)] = _Kept(repo, answer.session, answer.gen, list(found))
        self._held += len(found)

    def _drop(self, key: tuple[str, Hashable]) -> None:
        kept = self._kept.pop(key, None)
        if kept is not None:
            self._held -= len(kept.found)


current: FolderMemo | None = None
"""The memo of this process: set only in the watcher's own process (``cli/lean.py``)."""
