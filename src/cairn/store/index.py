"""The artifact index: one SQLite database, ``$CAIRN_HOME/index.sqlite``, exact and fast.

Tables
    ``folders``    one row per automation folder ``<repo root>/<automation>`` a query or a
                   reindex has looked at: its path, its repository (path, alias, uid), the
                   folder's directory signature, and ``sigs_patch`` (below).
    ``snapshots``  per folder, ``sigs``: a snapshot of its artifacts' names (sorted) and
                   meta-file signatures (one ``marshal`` blob, which a query reads several
                   times faster than the same rows; in its own table so that writing the
                   folder's row never copies it), and the folder's ``sigs_patch``:
                   the changes made since (a marshalled ``{name: (yaml sig, json sig)}``,
                   ``None`` for a removed artifact), written by every transaction that
                   changes those rows and folded into ``sigs`` past ``PATCH_KEEP`` of them
                   (a small write to a big folder costs a few bytes, not the megabytes of
                   its snapshot); neither while a build is under way.
    ``artifacts``  one row per artifact directory of such a folder: alias, uid, the automation
                   alias/uid its meta names, the merged meta as JSON, the signatures of its
                   ``_cm.yaml`` and ``_cm.json`` (``meta.yaml``/``meta.json`` in an MLCFlow
                   repository: the stem is the repository's dialect's), and the error text
                   when the meta is broken.
                   Duplicate aliases are distinct rows. The view ``artifact_rows`` adds the
                   repository, the automation folder and the path to each artifact.
    ``tags``       ``(tag, artifact_id)``, keyed by tag.
    ``repos``      the parsed ``cmr.yaml``/``cmr.json`` (MLCFlow: ``meta.yaml``/``meta.json``)
                   of each repository, their signatures and its dialect, so that a query
                   needs no YAML parser while they are unchanged.
    ``watched``    per automation folder, the watcher's ``(session, gen)`` at which the walk
                   that last wrote the folder's rows began, and a random ``stamp`` that every
                   write of those rows changes (see below).

Freshness: the index is never stale
    A signature is ``hash((mtime_ns, ctime_ns, size, inode))`` of one ``stat``. Before it
    answers, a query checks exactly what it reads -- the folders of its kind in its
    repositories: a folder whose signature changed is listed again (added, removed and
    renamed artifact directories); then each known artifact's meta file is ``stat``-ed and the
    meta file the index knows to be absent is probed, so an edit in place, a replaced file or
    a new ``_cm.json`` beside a ``_cm.yaml`` is seen. Only what changed is read again. These
    two system calls per artifact are the whole cost of a query on a large folder: an edit
    in place changes neither directory's signature, and a new file changes only its own
    directory's, so no cheaper check is exact.
    A signature is always taken *before* the content it vouches for is read, and one taken
    less than ``RACY_NS`` after the file last changed is stored as ``RECHECK`` (timestamps are
    coarse: a second edit in the same clock tick would keep the signature), so a stored
    signature never vouches for content older than the file.

With a watcher (``cairn daemon``, ``watcher.py``)
    Before checking a folder, a query asks the watcher (which drains its inotify queue first)
    for the generation of the last change under it. A walk stores the generation it began
    at, only if no other process wrote the folder's rows between its checking snapshot and
    its last write (the ``stamp`` is still the one it saw; any other write clears the
    token). While the watcher says nothing changed after that generation, in the same
    session, and the folder is still the same directory (device and inode), the folder's
    rows are used as stored: no ``stat`` at all. When only some artifact directories changed
    since (nothing in the folder's own entries), the watcher names them and only they are
    checked. Any doubt (no watcher, an error, a new session after a queue overflow, a folder
    it does not watch whole) means the walk above.

Concurrency
    WAL mode: readers never wait. A query checks rows and selects its answer in one read
    transaction (one snapshot), reads the changed files outside any transaction, answers from
    the checked snapshot plus what it read, then writes what it read in short ``IMMEDIATE``
    transactions. Each row keeps the signature it was read under, so a slow process that
    writes older content leaves a signature that no longer matches, and it is read again.
    The folder's snapshot (its pending changes) is updated inside each such transaction, from
    the committed one.
    A corrupt database file is deleted and rebuilt under a file lock; ``cairn reindex``
    recreates the tables in one transaction and indexes every repository again.

Building
    A folder with many directories to read (a new repository, a reindex) is read in worker
    processes, since parsing YAML is the cost there, and stored in batches. Rows of folders
    that no query reaches any more (a repository unregistered or given another prefix) stay
    until ``cairn reindex``; no answer ever reads them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import marshal
import os
import sqlite3
import stat
import sys
import time
from pathlib import Path

from cairn import atomic, ids, kinds, meta, report
from cairn.dialect import DIALECTS
from cairn.errors import CairnError
from cairn.home import may_write
from cairn.record import FrozenRecord, Record, init
from cairn.store import artifact as art_mod
from cairn.store import folder_memo, watch_client
from cairn.store import repo as repo_mod
from cairn.store.artifact import Artifact

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    import subprocess  # the worker machinery is imported only when a build needs it
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any, TypeVar

    from cairn.dialect import Dialect
    from cairn.home import Home
    from cairn.kinds import Kind
    from cairn.store.repo import Repo

    T = TypeVar("T")
    SigRow = tuple[str, int | None, int | None]  # (artifact directory name, yaml sig, json sig)
    SigColumns = tuple[list[str], list[int | None], list[int | None]]  # the same, by column
    SigPatch = dict[str, tuple[int | None, int | None] | None]  # changes since: None, removed

SCHEMA_VERSION = 6
RECHECK = -1  # a stored signature that matches nothing: read the file again next time
RACY_NS = 2_000_000_000  # a file changed less than this before its stat is not trusted yet
BATCH = 1000  # artifacts read and written per write transaction
PATCH_MAX = 64  # more changes than this in one write: the snapshot is rebuilt from the rows
PATCH_KEEP = 2048  # more pending changes than this: they are folded into the snapshot
NAMED_MAX = 500  # the stored signatures of at most this many named artifacts are selected
QUIET_S = 10.0  # an index starts a watcher or counts a fallback at most this often
PARALLEL_MIN = 4000  # read at least this many artifacts in worker processes
MAX_WORKERS = 8
CACHE_KIB = 65536  # SQLite page cache of a connection (used only as pages are read)
BUSY_TIMEOUT_S = 60.0
OK, BROKEN, EMPTY = 0, 1, 2  # artifacts.state: valid meta, broken meta, no meta file
_CORRUPT = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
_CORRUPT_TEXT = ("file is not a database", "malformed")
_DIR_FD = (
    os.stat in os.supports_dir_fd
    and os.access in os.supports_dir_fd
    and os.scandir in os.supports_fd
)
_ROW_COLUMNS = (
    "id, folder_id, name, state, alias, alias_lc, uid, automation_alias, automation_uid,"
    " meta, error, yaml_sig, json_sig"
)
_SCHEMA = (
    "CREATE TABLE repos(path TEXT PRIMARY KEY, yaml_sig INTEGER, json_sig INTEGER,"
    " meta TEXT NOT NULL, source TEXT NOT NULL, dialect TEXT NOT NULL)",
    "CREATE TABLE folders(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE,"
    " repo_path TEXT NOT NULL, repo_alias TEXT NOT NULL, repo_uid TEXT NOT NULL,"
    " name TEXT NOT NULL, sig INTEGER NOT NULL, sigs_patch BLOB)",
    "CREATE TABLE snapshots(folder_id INTEGER PRIMARY KEY, sigs BLOB NOT NULL)",
    "CREATE TABLE artifacts(id INTEGER PRIMARY KEY, folder_id INTEGER NOT NULL,"
    " name TEXT NOT NULL, state INTEGER NOT NULL, alias TEXT, alias_lc TEXT, uid TEXT,"
    " automation_alias TEXT, automation_uid TEXT, meta TEXT, error TEXT,"
    " yaml_sig INTEGER, json_sig INTEGER, UNIQUE(folder_id, name))",
    "CREATE INDEX artifacts_sigs ON artifacts(folder_id, name, yaml_sig, json_sig)",
    "CREATE INDEX artifacts_alias ON artifacts(alias_lc)",
    "CREATE INDEX artifacts_uid ON artifacts(uid)",
    "CREATE INDEX artifacts_broken ON artifacts(folder_id) WHERE state = 1",
    "CREATE TABLE tags(tag TEXT NOT NULL, artifact_id INTEGER NOT NULL,"
    " PRIMARY KEY(tag, artifact_id)) WITHOUT ROWID",
    "CREATE INDEX tags_artifact ON tags(artifact_id)",
    "CREATE TABLE watched(path TEXT PRIMARY KEY, session TEXT, gen INTEGER,"
    " stamp INTEGER NOT NULL)",
    "CREATE VIEW artifact_rows AS SELECT a.id, f.repo_path, f.repo_alias, f.repo_uid,"
    " f.name AS folder, a.automation_alias, a.automation_uid, a.alias, a.uid,"
    " f.path || '/' || a.name AS path, a.state, a.meta, a.error, a.yaml_sig, a.json_sig"
    " FROM artifacts a JOIN folders f ON f.id = a.folder_id",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_DROP = (
    "DROP VIEW IF EXISTS artifact_rows",
    *(
        f"DROP TABLE IF EXISTS {t}"
        for t in ("repos", "folders", "snapshots", "artifacts", "tags", "watched")
    ),
)


def folder_names(kind: Kind) -> list[str]:
    """The automation folders that hold artifacts of ``kind``: its alias, then its uid."""
    return list(dict.fromkeys(x for x in (kind.alias, kind.uid) if x))


class Index:
    """The index database of one cairn home; every answer is checked against the disk first."""

    def __init__(self, home: Home) -> None:
        self.file = home.index_file
        self.home_root = str(home.root)
        self._watch: watch_client.Client | None = None
        self._fallback: str | None = None  # why this query could not use the watcher
        self._quiet_until = 0.0  # no watcher started nor fallback counted before this time
        self.lock_file = self.file.with_name(self.file.name + ".lock")
        self._db: sqlite3.Connection | None = None
        self._memory = False  # answering from an index in memory (see _to_memory)
        self._persist = False  # a rebuild: the file must be written, never a memory copy

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- queries -------------------------------------------------------------------------

    def artifacts(
        self,
        repo: Repo,
        kind: Kind,
        name: ids.NamePart | None = None,
        tags: ids.TagQuery | None = None,
    ) -> list[Artifact]:
        """The artifacts of ``kind`` in ``repo`` matching ``name`` and ``tags``.

        They come in folder order (alias, then uid), then by directory name. A broken meta
        is reported as a warning naming its file; an artifact whose meta names another
        automation is left out.
        """
        select = _Select(kind, name, tags or ids.TagQuery())
        found: list[Artifact] = []
        for folder in folder_names(kind):
            found += self._guarded(functools.partial(self._folder, repo, folder, select))
        if self._fallback is not None:
            self._fell_back()
        return found

    def load_repo(self, path: Path) -> Repo:
        """The repository at ``path``, from the index while its top files are unchanged
        (``cmr.*``, else MLCFlow's ``meta.*``: the first dialect whose files are there)."""
        path = path.absolute()
        now = time.time_ns()
        for dialect in DIALECTS:
            stem = f"{path}/{dialect.repo_meta}"
            sigs = (_probe(None, stem + ".yaml", now), _probe(None, stem + ".json", now))
            if sigs != (None, None):
                break
        if sigs == (None, None) or RECHECK in sigs:
            return repo_mod.load(path)
        cached = self._guarded(functools.partial(self._cached_repo, path, sigs, dialect))
        if cached is not None:
            return cached
        loaded = repo_mod.load(path)
        if loaded.dialect is dialect:
            self._guarded(functools.partial(self._keep_repo, loaded, sigs))
        return loaded

    def count(self) -> tuple[int, int]:
        """How many valid and how many broken artifacts the index holds."""
        return self._guarded(self._count)

    # -- building ------------------------------------------------------------------------

    def index_repo(self, repo: Repo) -> None:
        """Bring every automation folder of ``repo`` up to date."""
        for folder in _subfolders(str(repo.root)):
            self._guarded(functools.partial(self._folder, repo, folder, None))

    def added(self, repo: Repo) -> None:
        """Index a newly registered repository at once; a failure is left to the next query."""
        try:
            self.index_repo(repo)
        except CairnError as exc:
            report.warn(f"{repo.alias} will be indexed by the next query: {exc}")

    def rebuild(self, repos: Sequence[Repo]) -> tuple[int, int]:
        """Forget everything and index ``repos`` again; returns (valid, broken) counts."""
        if not may_write(self.file):
            raise CairnError(
                f"cannot rebuild the index {self.file}: cairn may not write there",
                hint="nothing needs it: without write access every command indexes in memory; "
                "to rebuild it, run cairn reindex as a user who may write it",
            )
        self.close()  # a query may have fallen back to memory: the file is the point here
        self._memory, self._persist = False, True
        try:
            with atomic.lock(self.lock_file, guards=self.file):
                self._guarded(self._recreate)
                for repo in repos:
                    self.index_repo(repo)
        finally:
            self._persist = False
        return self.count()

    # -- one automation folder -----------------------------------------------------------

    def _folder(self, repo: Repo, folder: str, select: _Select | None) -> list[Artifact]:
        path = os.path.join(str(repo.root), folder)
        memo = folder_memo.current if select is not None else None
        if memo is None:
            return [found for _, found in self._checked_folder(repo, path, select)[0]]
        kept = memo.get(path, repo, select, self._ask)
        warned = report.warned()
        if kept is None:
            pairs, answer = self._checked_folder(repo, path, select)
        elif kept.changed is None:
            return [found for _, found in kept.found]
        else:  # only these artifact directories changed since: read them, keep the others
            changed, answer = kept.changed, kept.answer
            fresh = self._checked_folder(repo, path, select, changed)[0]
            pairs = [pair for pair in kept.found if pair[0] not in changed]
            pairs = sorted(pairs + [p for p in fresh if p[0] in changed], key=lambda p: p[0])
        memo.put(path, repo, select, answer, pairs, warned)
        return [found for _, found in pairs]

    def _checked_folder(
        self, repo: Repo, path: str, select: _Select | None, names: set[str] | None = None
    ) -> tuple[list[tuple[str, Artifact]], watch_client.Answer | None]:
        """What ``select`` finds in the folder ``path`` of ``repo`` (among the artifact
        directories ``names``, if given), checked against the disk (or vouched for by the
        watcher), by directory name; and the watcher's answer it was checked after."""
        view = _FolderView.open(path, repo.artifact_meta)
        if view is None:
            self._forget_folder(path)
            return [], None
        with view:
            watch = _Watch(None)  # the watcher is asked once the stored token is read
            plan, rows, broken = self._check(view, repo, select, watch, names)
            self._fallback = self._fallback or watch.fallback()
            fresh = self._read_changes(view, repo, plan, select, watch)
        touched = plan.touched
        _warn_broken(error for name, error in broken if name not in touched)
        kept = [
            (row[0], found)
            for row in rows
            if row[0] not in touched
            for found in _row_artifact(row, view, repo, select)
        ]
        return sorted(kept + fresh, key=lambda pair: pair[0]), watch.answer

    def _ask(self, folder: str, since: int | None) -> watch_client.Answer | None:
        """The watcher's word on ``folder`` (``None``: no watcher, or it failed)."""
        if self._watch is None:
            self._watch = (watch_client.in_process or watch_client.Client)(self.home_root)
        return self._watch.ask(folder, since)

    def _fell_back(self) -> None:
        """A folder was walked because the watcher could not vouch: start one if the home
        wants it, else count the fallback (``watch_hint``); at most once per ``QUIET_S``."""
        reason, self._fallback = self._fallback, None
        now = time.monotonic()
        if now < self._quiet_until:
            return
        self._quiet_until = now + QUIET_S
        if reason == "down" and not watch_client.wanted(self.home_root):
            if self._watch is None or self._watch.missing:
                return  # no watcher was asked for: the walk is the normal way
        elif reason == "down":
            from cairn.store import daemon  # only here: it imports subprocess

            if daemon.start_on_demand(self.home_root):
                return
        from cairn.store import watch_hint

        watch_hint.note(self.home_root, reason or "down")

    def _check(
        self,
        view: _FolderView,
        repo: Repo,
        select: _Select | None,
        watch: _Watch,
        names: set[str] | None = None,
    ) -> tuple[_Plan, list[tuple[Any, ...]], list[tuple[str, str]]]:
        """In one snapshot: what changed on disk (nothing, when the watcher vouches for the
        folder since the walk that stored it), and the stored answer for ``select``."""
        with self._transaction("DEFERRED") as db:
            head = db.execute(
                "SELECT id, sig, repo_path, repo_alias, repo_uid FROM folders WHERE path = ?",
                (view.path,),
            ).fetchone()
            watch.seen(db.execute(_WATCHED, (view.path,)).fetchone())
            watch.answer = self._ask(view.path, watch.gen)  # drained first: then stat again
            view.restat()
            if head is None:
                return view.plan(None, lambda names: []), [], []
            if watch.vouched(view):
                plan = _Plan([], [], sig_changed=False)
            else:
                known = functools.partial(_known, db, head[0])
                plan = view.plan(head[1], known, watch.only(view))
            plan.identity_changed = tuple(head[2:5]) != (str(repo.path), repo.alias, repo.uid)
            rows = select.rows(db, head[0], names) if select is not None else []
            broken = db.execute(
                "SELECT name, error FROM artifacts INDEXED BY artifacts_broken"
                " WHERE folder_id = ? AND state = 1 ORDER BY name",
                (head[0],),
            ).fetchall()
        return plan, rows, broken

    def _read_changes(
        self,
        view: _FolderView,
        repo: Repo,
        plan: _Plan,
        select: _Select | None,
        watch: _Watch,
    ) -> list[tuple[str, Artifact]]:
        """Read what changed, store it in batches, and keep what ``select`` accepts."""
        accepted: list[tuple[str, Artifact]] = []
        batches = [plan.reread[i : i + BATCH] for i in range(0, len(plan.reread), BATCH)]
        if not batches and plan.needs_write:
            batches = [[]]
        if not batches and watch.worth_keeping():
            self._keep_token(view.path, watch)
        for number, entries in enumerate(_read_batches(view, batches), start=1):
            last = number == len(batches)
            self._store(view, repo, entries, plan.removed if last else [], last, watch)
            _warn_broken(e.error for e in entries if e.error is not None)
            if select is not None:
                accepted += [(e.name, a) for e in entries for a in select.fresh(e, view, repo)]
        return accepted

    def _store(
        self,
        view: _FolderView,
        repo: Repo,
        entries: list[_Entry],
        removed: list[str],
        last: bool,
        watch: _Watch,
    ) -> None:
        with self._transaction("IMMEDIATE") as db:
            watch.stamp(db, view.path, last)
            db.execute(
                "INSERT INTO folders(path, repo_path, repo_alias, repo_uid, name, sig)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET"
                " repo_path = excluded.repo_path, repo_alias = excluded.repo_alias,"
                " repo_uid = excluded.repo_uid, sig = excluded.sig",
                (
                    view.path,
                    str(repo.path),
                    repo.alias,
                    repo.uid,
                    view.name,
                    view.sig if last else RECHECK,
                ),
            )
            fid = db.execute("SELECT id FROM folders WHERE path = ?", (view.path,)).fetchone()[0]
            _delete_rows(db, fid, [*removed, *(e.name for e in entries)])
            _insert_rows(db, fid, entries)
            if last:
                _update_snapshot(db, fid, entries, removed)
            else:  # a build under way: no snapshot until its last write
                _drop_snapshot(db, fid)

    def _keep_token(self, path: str, watch: _Watch) -> None:
        """After a walk that changed nothing: the watcher's generation it began at."""
        with self._transaction("IMMEDIATE") as db:
            watch.stamp(db, path, True)

    def _forget_folder(self, path: str) -> None:
        db = self._conn()
        if db.execute("SELECT 1 FROM folders WHERE path = ?", (path,)).fetchone() is None:
            return
        with self._transaction("IMMEDIATE") as db:
            _Watch(None).stamp(db, path, True)
            row = db.execute("SELECT id FROM folders WHERE path = ?", (path,)).fetchone()
            if row is not None:
                _delete_folder(db, row[0])

    # -- repositories --------------------------------------------------------------------

    def _cached_repo(
        self, path: Path, sigs: tuple[int | None, int | None], dialect: Dialect
    ) -> Repo | None:
        row = (
            self._conn()
            .execute(
                "SELECT yaml_sig, json_sig, meta, source, dialect FROM repos WHERE path = ?",
                (str(path),),
            )
            .fetchone()
        )
        if row is None or tuple(row[:2]) != sigs or row[4] != dialect.name:
            return None
        return repo_mod.from_meta(path, json.loads(row[2]), Path(row[3]), dialect)

    def _keep_repo(self, repo: Repo, sigs: tuple[int | None, int | None]) -> None:
        text = _as_json(repo.meta)
        if text is None:
            return
        suffix = ".json" if sigs[1] is not None else ".yaml"
        source = repo.path / (repo.dialect.repo_meta + suffix)
        with self._transaction("IMMEDIATE") as db:
            db.execute(
                "INSERT OR REPLACE INTO repos(path, yaml_sig, json_sig, meta, source, dialect)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (str(repo.path), *sigs, text, str(source), repo.dialect.name),
            )

    # -- the database --------------------------------------------------------------------

    def _count(self) -> tuple[int, int]:
        rows = self._conn().execute("SELECT state, count(*) FROM artifacts GROUP BY state")
        counts = dict(rows.fetchall())
        return counts.get(OK, 0), counts.get(BROKEN, 0)

    def _recreate(self) -> None:
        with self._transaction("IMMEDIATE") as db:
            _create_schema(db)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._memory = self._memory or not may_write(self.file)
            self._db = _in_memory() if self._memory else _connect(self.file)
        return self._db

    @contextlib.contextmanager
    def _transaction(self, mode: str) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        db.execute(f"BEGIN {mode}")
        try:
            yield db
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _guarded(self, work: Callable[[], T]) -> T:
        """Run ``work``; a corrupt database is rebuilt silently and ``work`` runs again."""
        try:
            return work()
        except sqlite3.Error as exc:
            if self._to_memory(exc):
                return self._retried(work)
            if not _is_corrupt(exc):
                raise _index_error(self.file, exc) from exc
        self._recover()
        return self._retried(work)

    def _retried(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except sqlite3.Error as exc:
            raise _index_error(self.file, exc) from exc

    def _to_memory(self, exc: sqlite3.Error) -> bool:
        """After an error saying the index file cannot be written (a full disk, a file size
        limit, a read-only file, no permission), keep the index in memory for the rest of this
        process, with a warning, and say so; never during a rebuild, whose point is the file."""
        code = _primary_code(exc)
        if self._persist or self._memory or code not in _UNWRITABLE:
            return False
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        self._memory = True
        report.warn(
            f"the index {self.file} cannot be written ({exc}): this command reads the "
            f"repositories without it ({_HINTS[code]})"
        )
        return True

    def _recover(self) -> None:
        """Delete a corrupt database (unless another process already replaced it)."""
        self.close()
        with atomic.lock(self.lock_file, guards=self.file):
            if _healthy(self.file):
                return
            for suffix in ("-wal", "-shm", ""):
                Path(f"{self.file}{suffix}").unlink(missing_ok=True)


class _Plan(Record):
    """What a folder check found: directories to read again and directories gone."""

    _fields = ("reread", "removed", "sig_changed", "identity_changed")
    __slots__ = _fields

    def __init__(
        self,
        reread: list[str],
        removed: list[str],
        sig_changed: bool,
        identity_changed: bool = False,
    ) -> None:
        self.reread = reread
        self.removed = removed
        self.sig_changed = sig_changed
        self.identity_changed = identity_changed

    @property
    def touched(self) -> set[str]:
        return {*self.reread, *self.removed}

    @property
    def needs_write(self) -> bool:
        return bool(self.reread or self.removed or self.sig_changed or self.identity_changed)


_WATCHED = "SELECT session, gen, stamp FROM watched WHERE path = ?"


class _Watch:
    """The watcher's token of one folder during one query.

    ``watched`` keeps, per folder, the ``(session, gen)`` the watcher had when the walk that
    last wrote the folder's rows began, and a random ``stamp`` that every write of those
    rows changes. A walk stores its token only when the stamp is still the one it saw in
    its checking snapshot (no other process wrote the folder meanwhile, so every row was
    checked or read after ``gen``); any other write clears the token. A later query skips
    the walk only when the watcher says nothing under the folder changed after ``gen``.
    """

    __slots__ = ("answer", "expected", "gen", "session", "trusted")

    def __init__(self, answer: watch_client.Answer | None) -> None:
        self.answer = answer
        self.expected: int | None = None  # the stamp this query's writes may follow
        self.session: str | None = None
        self.gen: int | None = None
        self.trusted = False

    def seen(self, row: tuple[Any, ...] | None) -> None:
        self.session, self.gen, self.expected = row if row is not None else (None, None, None)

    def vouched(self, view: _FolderView) -> bool:
        answer = self.answer
        self.trusted = answer is not None and answer.vouches(
            self.session, self.gen, view.dev, view.ino
        )
        return self.trusted

    def only(self, view: _FolderView) -> set[str] | None:
        """The artifact directories the watcher says may have changed since the token."""
        answer = self.answer
        if answer is None:
            return None
        return answer.only(self.session, self.gen, view.dev, view.ino)

    def fallback(self) -> str | None:
        """Why the watcher could not vouch for the folder (``watch_hint``'s reasons); ``None``
        when it did, the folder changed, or no walk under this watcher stored a token yet."""
        answer = self.answer
        if self.trusted:
            return None
        if answer is None:
            return "down"
        if answer.changed is None:
            return "unwatched"
        same_watcher = (self.session or "").partition("-")[0] == answer.session.partition("-")[0]
        if self.session is not None and self.session != answer.session and same_watcher:
            return "restarted"
        return None

    def worth_keeping(self) -> bool:
        """Whether a walk that changed nothing should store its token (a new one)."""
        answer = self.answer
        if answer is None or answer.changed is None or self.trusted:
            return False
        return (answer.session, answer.gen) != (self.session, self.gen)

    def stamp(self, db: sqlite3.Connection, path: str, last: bool) -> None:
        """Inside a write of ``path``'s rows: a new stamp, and the token or none."""
        row = db.execute("SELECT stamp FROM watched WHERE path = ?", (path,)).fetchone()
        ours = (row[0] if row is not None else None) == self.expected
        stamp = int.from_bytes(os.urandom(8), "little") >> 1
        answer = self.answer
        keep = ours and last and answer is not None and answer.changed is not None
        token = (answer.session, answer.gen) if keep and answer is not None else (None, None)
        db.execute(
            "INSERT OR REPLACE INTO watched(path, session, gen, stamp) VALUES (?, ?, ?, ?)",
            (path, *token, stamp),
        )
        self.expected = stamp if ours else -1


class _Entry(FrozenRecord):
    """One artifact directory as read from disk, ready to be stored."""

    _fields = (
        "name",
        "state",
        "yaml_sig",
        "json_sig",
        "alias",
        "uid",
        "automation",
        "tags",
        "meta",
        "error",
    )
    __slots__ = _fields
    name: str
    state: int
    yaml_sig: int | None
    json_sig: int | None
    alias: str | None
    uid: str | None
    automation: tuple[str | None, str | None]
    tags: tuple[str, ...]
    meta: meta.Meta | None
    error: str | None

    def __init__(
        self,
        name: str,
        state: int,
        yaml_sig: int | None,
        json_sig: int | None,
        alias: str | None = None,
        uid: str | None = None,
        automation: tuple[str | None, str | None] = (None, None),
        tags: tuple[str, ...] = (),
        meta: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        init(self, name, state, yaml_sig, json_sig, alias, uid, automation, tags, meta, error)

    def row(self, row_id: int, folder_id: int) -> tuple[Any, ...]:
        text = _as_json(self.meta) if self.meta is not None else None
        lower = self.alias.lower() if self.alias else None
        return (
            row_id,
            folder_id,
            self.name,
            self.state,
            self.alias,
            lower,
            self.uid,
            *self.automation,
            text,
            self.error,
            self.yaml_sig,
            self.json_sig,
        )


class _FolderView:
    """An open automation folder: its signature, and cheap checks of its artifact directories."""

    def __init__(
        self, path: str, fd: int | None, sig: int, now: int, stem: str, ident: tuple[int, int]
    ) -> None:
        self.path = path
        self.dev, self.ino = ident  # the folder's (st_dev, st_ino), for the watcher's word
        self.name = os.path.basename(path)
        self.fd = fd
        self.sig = sig
        self.now = now
        self.prefix = "" if fd is not None else path + os.sep
        self.stem = stem
        self.yaml_tail = f"/{stem}.yaml"  # the repository's artifact meta files
        self.json_tail = f"/{stem}.json"
        self.base = Path(path)  # parsed once: each artifact's path is a child of it

    def child(self, name: str) -> Path:
        """The path of the artifact folder ``name`` (cheaper than parsing the whole path)."""
        return self.base / name

    def restat(self) -> None:
        """Take the folder's signature again (after the watcher was asked: a change made
        between the first ``stat`` and the question is then in the signature too)."""
        now = time.time_ns()
        st = os.fstat(self.fd) if self.fd is not None else os.stat(self.path)
        self.sig, self.now = _settled_sig(st, now), now
        self.dev, self.ino = st.st_dev, st.st_ino

    @classmethod
    def open(cls, path: str, stem: str) -> _FolderView | None:
        """Open ``path`` (its artifacts' meta files called ``stem``); ``None`` when it is
        missing or not a directory."""
        now = time.time_ns()
        try:
            if _DIR_FD:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
                st = os.fstat(fd)
                return cls(path, fd, _settled_sig(st, now), now, stem, (st.st_dev, st.st_ino))
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISDIR(st.st_mode):
            return None
        return cls(path, None, _settled_sig(st, now), now, stem, (st.st_dev, st.st_ino))

    def __enter__(self) -> _FolderView:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def plan(
        self,
        stored_sig: int | None,
        known: Callable[[set[str] | None], Iterable[SigRow]],
        only: set[str] | None = None,
    ) -> _Plan:
        """Compare the folder and each known artifact with what the index stored (only the
        artifacts in ``only``, when the watcher says no other changed and the folder's
        entries are the same). ``known(names)``: the stored signatures of those artifacts
        (``None``: of all)."""
        if only is not None:  # the watcher's word stands for the folder's signature
            picked = list(known(only))
            if len(picked) == len(only):
                return _Plan(sorted(self.stale(picked)), [], sig_changed=False)
        if stored_sig not in (None, RECHECK) and stored_sig == self.sig:
            return _Plan(sorted(self.stale(known(None))), [], sig_changed=False)
        rows = list(known(None))
        names = {row[0] for row in rows}
        present = self.listing()
        checked = self.stale([row for row in rows if row[0] in present])
        return _Plan(sorted({*checked, *(present - names)}), sorted(names - present), True)

    def listing(self) -> set[str]:
        """The artifact directories: every entry that is a directory and no dot-entry."""
        with os.scandir(self.fd if self.fd is not None else self.path) as entries:
            return {e.name for e in entries if not e.name.startswith(".") and e.is_dir()}

    def stale(self, known: Iterable[SigRow]) -> list[str]:
        """The artifacts whose meta files no longer have the signatures stored for them.

        This loop is the price of freshness (two system calls per artifact), so the common
        shape -- a ``_cm.yaml`` (``meta.yaml``) and no ``_cm.json`` -- is checked inline.
        """
        fd, prefix, stat_, access, exists = self.fd, self.prefix, os.stat, os.access, os.F_OK
        yaml_tail, json_tail = self.yaml_tail, self.json_tail
        stale: list[str] = []
        for name, yaml_sig, json_sig in known:
            base = prefix + name
            if yaml_sig is None or json_sig is not None:
                if _changed(base + yaml_tail, yaml_sig, fd) or _changed(
                    base + json_tail, json_sig, fd
                ):
                    stale.append(name)
                continue
            try:
                st = stat_(base + yaml_tail, dir_fd=fd)
            except OSError:
                stale.append(name)
                continue
            sig = hash((st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino))
            if sig != yaml_sig or access(base + json_tail, exists, dir_fd=fd):
                stale.append(name)
        return stale

    def read(self, name: str) -> _Entry:
        """Read one artifact directory (its signatures first, then its meta)."""
        yaml_tail, json_tail = self.yaml_tail, self.json_tail
        yaml_sig = _probe(self.fd, self.prefix + name + yaml_tail, self.now)
        json_sig = _probe(self.fd, self.prefix + name + json_tail, self.now)
        if yaml_sig is None and json_sig is None:
            return _Entry(name, EMPTY, None, None)
        path = os.path.join(self.path, name)
        pairs = ((yaml_tail, yaml_sig), (json_tail, json_sig))
        files = [path + tail for tail, sig in pairs if sig is not None]
        try:
            data = _merged(files)
            ident = art_mod.identity(data, Path(files[-1]))
        except CairnError as exc:
            return _Entry(name, BROKEN, yaml_sig, json_sig, error=str(exc))
        alias, uid = art_mod.names(ident, Path(path))
        automation = (ident.automation_alias, ident.automation_uid)
        return _Entry(name, OK, yaml_sig, json_sig, alias, uid, automation, ident.tags, data)


class _Select(FrozenRecord):
    """Which artifacts a query wants from a folder: its kind, name and tags."""

    _fields = ("kind", "name", "tags")
    __slots__ = _fields
    kind: Kind
    name: ids.NamePart | None
    tags: ids.TagQuery

    def __init__(self, kind: Kind, name: ids.NamePart | None, tags: ids.TagQuery) -> None:
        init(self, kind, name, tags)

    def rows(
        self, db: sqlite3.Connection, folder_id: int, names: set[str] | None = None
    ) -> list[tuple[Any, ...]]:
        """The stored rows that may match (among the directories ``names``, if given), by
        directory name (``accepts`` decides)."""
        return db.execute(*self.sql(folder_id, names)).fetchall()

    def sql(self, folder_id: int, names: set[str] | None = None) -> tuple[str, list[Any]]:
        """The statement ``rows`` runs: an exact alias, uid or tag is looked up in its own
        index (``artifacts_alias``, ``artifacts_uid``, ``tags``), not by scanning the folder;
        a few named directories are looked up by name (``accepts`` alone decides on them)."""
        if names is not None:
            marks = ", ".join("?" * len(names))
            return (
                "SELECT name, alias, uid, automation_alias, automation_uid, meta FROM artifacts"
                f" WHERE folder_id = ? AND state = 0 AND name IN ({marks}) ORDER BY name",
                [folder_id, *sorted(names)],
            )
        narrow = "+" if self._exact() else ""  # "+": look up the name or tags, not the folder
        sql = [
            "SELECT name, alias, uid, automation_alias, automation_uid, meta FROM artifacts"
            f" WHERE {narrow}folder_id = ? AND {narrow}state = 0"
        ]
        args: list[Any] = [folder_id]
        if self.name is not None and self.name.uid is not None:
            sql.append("AND uid = ?")
            args.append(self.name.uid)
        elif self.name is not None and self.name.alias is not None:
            sql.append("AND alias_lc GLOB ?" if self.name.is_pattern else "AND alias_lc = ?")
            args.append(self.name.alias.lower())
        if self.tags.include:
            each = ["SELECT artifact_id FROM tags WHERE tag = ?"] * len(self.tags.include)
            sql.append(f"AND id IN ({' INTERSECT '.join(each)})")
            args += self.tags.include
        if self.tags.exclude:
            marks = ", ".join("?" * len(self.tags.exclude))
            sql.append(f"AND id NOT IN (SELECT artifact_id FROM tags WHERE tag IN ({marks}))")
            args += self.tags.exclude
        return " ".join([*sql, "ORDER BY name"]), args

    def _exact(self) -> bool:
        """Whether an exact name or a tag narrows the answer better than the folder does."""
        if self.tags.include:
            return True
        name = self.name
        if name is None:
            return False
        return name.uid is not None or (name.alias is not None and not name.is_pattern)

    def owns(self, automation_alias: str | None, automation_uid: str | None) -> bool:
        if automation_alias is None and automation_uid is None:
            return True
        return self.kind.owns(automation_alias, automation_uid)

    def accepts(self, found: Artifact) -> bool:
        if self.name is not None and not self.name.matches(found.alias, found.uid):
            return False
        return self.tags.matches(found.tags)

    def fresh(self, entry: _Entry, view: _FolderView, repo: Repo) -> list[Artifact]:
        """``entry`` as an artifact of this query, if it is valid and matches."""
        if entry.state != OK or entry.meta is None:
            return []
        path = view.child(entry.name)
        found = Artifact(path, repo, self.kind, entry.alias, entry.uid, entry.tags, entry.meta)
        if not self.accepts(found):
            return []
        if not self.owns(*entry.automation):
            _warn_stray(path, view, *entry.automation)
            return []
        return [found]


def _row_artifact(
    row: tuple[Any, ...], view: _FolderView, repo: Repo, select: _Select | None
) -> list[Artifact]:
    """A stored row as an artifact (read from disk when its meta was not stored as JSON)."""
    name, alias, uid, automation_alias, automation_uid, text = row
    if select is None:
        return []
    path = view.child(name)
    if not select.owns(automation_alias, automation_uid):
        _warn_stray(path, view, automation_alias, automation_uid)
        return []
    if text is None:
        try:
            found, _ = art_mod.read(path, repo, select.kind)
        except CairnError as exc:
            report.warn(f"ignoring broken artifact: {exc}")
            return []
    else:
        data = json.loads(text)
        found = Artifact(path, repo, select.kind, alias, uid, tuple(data.get("tags") or ()), data)
    return [found] if select.accepts(found) else []


def _warn_stray(path: Path, view: _FolderView, alias: str | None, uid: str | None) -> None:
    """Warn about an artifact that a query passed over because its meta names another
    automation than the folder it sits in (so no kind finds it). A known kind's uid wins
    over the alias, as in :meth:`Kind.owns`, and the warning says so."""
    folder = view.name
    yaml_path, json_path = meta.meta_paths(path, view.stem)
    file = json_path or yaml_path or path
    owner = next((k for k in kinds.KNOWN.values() if uid and k.uid == uid.lower()), None)
    target = owner.alias if owner else alias or uid
    named = repr(target)
    if owner and alias and alias.lower() != owner.alias:
        named = f"{alias!r} with the automation_uid of {owner.alias!r} ({uid})"
    report.warn(
        f"ignoring {file}: it names automation {named} but sits in the folder {folder!r}, "
        f"so no kind finds it; move it to a folder {target!r} beside {folder!r}, or fix its "
        "automation_alias/automation_uid"
    )


def _warn_broken(errors: Iterable[str]) -> None:
    for error in errors:
        report.warn(f"ignoring broken artifact: {error}")


# -- reading many artifacts -------------------------------------------------------------


def _read_batches(view: _FolderView, batches: list[list[str]]) -> Iterator[list[_Entry]]:
    """Read ``batches`` of artifact directories, in order; in worker processes when many.

    Parsing YAML is what an index build costs, so a build of PARALLEL_MIN artifacts or more
    spreads it over the CPUs; fewer are read here, where a worker would cost more to start.
    """
    workers = _workers(sum(len(names) for names in batches))
    if workers < 2 or not sys.executable:
        return ([view.read(name) for name in names] for names in batches)
    return _read_in_workers(view, batches, workers)


def _workers(count: int) -> int:
    if count < PARALLEL_MIN:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cpus or 1, MAX_WORKERS)


def _read_in_workers(
    view: _FolderView, batches: list[list[str]], workers: int
) -> Iterator[list[_Entry]]:
    """Read in worker processes: fresh interpreters that import only this module.

    Worker ``w`` reads batches ``w``, ``w + workers``, ... and sends each back when done, so
    the batches arrive in order while the workers run in parallel. Plain subprocesses, not
    ``multiprocessing``, which would import the caller's ``__main__`` again in each worker.
    A batch whose worker cannot start or dies is read here instead.
    """
    import pickle

    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.suppress(OSError):
        for w in range(workers):
            procs.append(_start_worker(view, batches[w::workers]))
    try:
        for number, names in enumerate(batches):
            try:
                yield _receive(procs[number % workers])
            except (IndexError, OSError, EOFError, pickle.UnpicklingError):
                yield [view.read(name) for name in names]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _start_worker(view: _FolderView, batches: list[list[str]]) -> subprocess.Popen[bytes]:
    import pickle
    import subprocess

    package_root = str(Path(__file__).resolve().parents[2])
    paths = [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    code = "from cairn.store.index import serve_worker; serve_worker()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdin is not None
    with proc.stdin:
        proc.stdin.write(pickle.dumps((view.path, view.now, view.stem, batches)))
    return proc


def _receive(proc: subprocess.Popen[bytes]) -> list[_Entry]:
    """One batch of entries from a worker: an 8-byte length, then a pickle."""
    import pickle

    assert proc.stdout is not None
    head = proc.stdout.read(8)
    data = proc.stdout.read(int.from_bytes(head, "little")) if len(head) == 8 else b""
    if not data:
        raise EOFError("the worker stopped")
    entries: list[_Entry] = pickle.loads(data)
    return entries


def serve_worker() -> None:
    """A worker process of :func:`_read_in_workers`: read its batches, send each back."""
    import pickle

    path, now, stem, batches = pickle.load(sys.stdin.buffer)
    view = _FolderView(path, None, RECHECK, now, stem, (-1, -1))
    for names in batches:
        data = pickle.dumps([view.read(name) for name in names], pickle.HIGHEST_PROTOCOL)
        sys.stdout.buffer.write(len(data).to_bytes(8, "little") + data)
        sys.stdout.buffer.flush()


# -- signatures --------------------------------------------------------------------------


def _settled_sig(st: os.stat_result, now: int) -> int:
    """The signature of ``st``, or RECHECK when the file changed too recently to trust it."""
    if max(st.st_mtime_ns, st.st_ctime_ns) > now - RACY_NS:
        return RECHECK
    return hash((st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino))


def _probe(fd: int | None, path: str, now: int) -> int | None:
    """The settled signature of the file ``path`` (relative to ``fd``); ``None``: no such file."""
    try:
        st = os.stat(path, dir_fd=fd)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return _settled_sig(st, now) if stat.S_ISREG(st.st_mode) else None


def _merged(files: list[str]) -> meta.Meta:
    """The meta of an artifact: YAML first, JSON merged over it (shallow), as ``meta.read_dir``."""
    data: meta.Meta = {}
    for file in files:
        data.update(meta.load_file(Path(file)))
    return data


def _changed(path: str, sig: int | None, fd: int | None) -> bool:
    """Whether ``path`` no longer has signature ``sig`` (``None``: it was absent)."""
    if sig is None:
        return os.access(path, os.F_OK, dir_fd=fd)
    try:
        st = os.stat(path, dir_fd=fd)
    except OSError:
        return True
    return hash((st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)) != sig


def _subfolders(root: str) -> list[str]:
    try:
        with os.scandir(root) as entries:
            return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _as_json(data: meta.Meta) -> str | None:
    """``data`` as JSON text, or ``None`` when JSON would not give it back unchanged."""
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return text if json.loads(text) == data else None


# -- the signature snapshot of a folder ---------------------------------------------------


def _sig_rows(db: sqlite3.Connection, folder_id: int) -> list[SigRow]:
    rows: list[SigRow] = db.execute(
        "SELECT name, yaml_sig, json_sig FROM artifacts WHERE folder_id = ?", (folder_id,)
    ).fetchall()
    return rows


def _known(
    db: sqlite3.Connection, folder_id: int, names: set[str] | None = None
) -> Iterable[SigRow]:
    """The stored signatures of a folder's artifacts (only of ``names``, when given): a few
    named ones from their rows; all from the snapshot and its pending changes, else the rows."""
    if names is not None and len(names) <= NAMED_MAX:
        marks = ", ".join("?" * len(names))
        sql = "SELECT name, yaml_sig, json_sig FROM artifacts WHERE folder_id = ? AND name IN"
        found: list[SigRow] = db.execute(f"{sql} ({marks})", (folder_id, *names)).fetchall()
        return found
    every = _snapshot(db, folder_id)
    rows = _sig_rows(db, folder_id) if every is None else zip(*every, strict=True)
    return rows if names is None else [row for row in rows if row[0] in names]


def _snapshot(db: sqlite3.Connection, folder_id: int) -> SigColumns | None:
    """The folder's snapshot with its pending changes applied; ``None`` when there is none or
    it cannot be read."""
    row = db.execute(
        "SELECT s.sigs, f.sigs_patch FROM folders f JOIN snapshots s ON s.folder_id = f.id"
        " WHERE f.id = ?",
        (folder_id,),
    ).fetchone()
    if row is None:
        return None
    columns, patch = _decode_sigs(row[0]), _decode_patch(row[1])
    if columns is None or patch is None:
        return None
    return _patched(columns, patch) if patch else columns


def _patched(columns: SigColumns, patch: SigPatch) -> SigColumns:
    """``columns`` with the pending changes of ``patch`` applied (names kept sorted)."""
    rows = [row for row in zip(*columns, strict=True) if row[0] not in patch]
    rows += [(name, *sigs) for name, sigs in patch.items() if sigs is not None]
    rows.sort()
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _encode_sigs(columns: SigColumns) -> bytes:
    """``(names joined by NUL, count, yaml sigs, json sigs)``, marshalled (no name holds a NUL)."""
    names, yaml_sigs, json_sigs = columns
    return marshal.dumps(("\0".join(names), len(names), yaml_sigs, json_sigs))


def _decode_sigs(blob: bytes | None) -> SigColumns | None:
    """The columns of a snapshot; ``None`` when there is none or it cannot be read."""
    if blob is None:
        return None
    try:
        joined, count, yaml_sigs, json_sigs = marshal.loads(blob)
    except (EOFError, ValueError, TypeError):
        return None
    if not (isinstance(joined, str) and type(yaml_sigs) is list and type(json_sigs) is list):
        return None
    names = joined.split("\0") if count else []
    if not len(names) == len(yaml_sigs) == len(json_sigs) == count:
        return None
    return names, yaml_sigs, json_sigs


def _decode_patch(blob: bytes | None) -> SigPatch | None:
    """The pending changes of a snapshot (``{}``: none); ``None`` when they cannot be read."""
    if blob is None:
        return {}
    try:
        patch = marshal.loads(blob)
    except (EOFError, ValueError, TypeError):
        return None
    if type(patch) is not dict or not all(
        type(name) is str and (sigs is None or (type(sigs) is tuple and len(sigs) == 2))
        for name, sigs in patch.items()
    ):
        return None
    return patch


def _update_snapshot(
    db: sqlite3.Connection, folder_id: int, entries: list[_Entry], removed: list[str]
) -> None:
    """After this write: its changes added to the snapshot's pending ones (a few bytes; the
    snapshot itself is rewritten only when they pass ``PATCH_KEEP``), or the snapshot rebuilt
    from the rows (none yet, unreadable, or more than ``PATCH_MAX`` changes at once).

    It runs inside the writing transaction, so it starts from what is committed now
    (another process may have written since this one read), never from an older read.
    """
    pending = db.execute("SELECT sigs_patch FROM folders WHERE id = ?", (folder_id,)).fetchone()
    patch = (
        _decode_patch(pending[0]) if _snapshot_start(db, folder_id) in _SNAPSHOT_STARTS else None
    )
    if patch is None or len(entries) + len(removed) > PATCH_MAX:
        _store_snapshot(db, folder_id, _row_columns(db, folder_id))
        return
    before = dict(patch)
    patch.update(dict.fromkeys(removed))
    patch.update((e.name, (e.yaml_sig, e.json_sig)) for e in entries)
    if len(patch) <= PATCH_KEEP:
        if patch != before:  # a young file read again keeps RECHECK: nothing to rewrite
            blob = marshal.dumps(patch)
            db.execute("UPDATE folders SET sigs_patch = ? WHERE id = ?", (blob, folder_id))
        return
    row = db.execute("SELECT sigs FROM snapshots WHERE folder_id = ?", (folder_id,)).fetchone()
    columns = _decode_sigs(row[0] if row is not None else None)
    _store_snapshot(
        db, folder_id, _row_columns(db, folder_id) if columns is None else _patched(columns, patch)
    )


def _row_columns(db: sqlite3.Connection, folder_id: int) -> SigColumns:
    """The folder's snapshot made from its rows."""
    rows = sorted(_sig_rows(db, folder_id))
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


_SNAPSHOT_STARTS = (b"(", b")", b"\xa8", b"\xa9")  # a marshalled tuple (none: no snapshot)


def _snapshot_start(db: sqlite3.Connection, folder_id: int) -> bytes | None:
    """The first byte of the folder's snapshot (``None``: none), without reading it whole."""
    opener = getattr(db, "blobopen", None)  # Python 3.11
    if opener is None:
        row = db.execute(
            "SELECT substr(sigs, 1, 1) FROM snapshots WHERE folder_id = ?", (folder_id,)
        ).fetchone()
        return None if row is None else bytes(row[0])
    try:
        with opener("snapshots", "sigs", folder_id, readonly=True) as blob:
            return bytes(blob.read(1))
    except sqlite3.OperationalError:  # no such row
        return None


def _store_snapshot(db: sqlite3.Connection, folder_id: int, columns: SigColumns) -> None:
    """The folder's snapshot, kept in its own table: writing the folder's row (its signature,
    its pending changes) then never copies the snapshot's megabytes."""
    db.execute(
        "INSERT OR REPLACE INTO snapshots(folder_id, sigs) VALUES (?, ?)",
        (folder_id, _encode_sigs(columns)),
    )
    db.execute("UPDATE folders SET sigs_patch = NULL WHERE id = ?", (folder_id,))


def _drop_snapshot(db: sqlite3.Connection, folder_id: int) -> None:
    """No snapshot (a build under way, until its last write)."""
    db.execute("DELETE FROM snapshots WHERE folder_id = ?", (folder_id,))
    db.execute("UPDATE folders SET sigs_patch = NULL WHERE id = ?", (folder_id,))


# -- rows ------------------------------------------------------------------------------


def _delete_rows(db: sqlite3.Connection, folder_id: int, names: list[str]) -> None:
    keys = [(folder_id, name) for name in names]
    db.executemany(
        "DELETE FROM tags WHERE artifact_id ="
        " (SELECT id FROM artifacts WHERE folder_id = ? AND name = ?)",
        keys,
    )
    db.executemany("DELETE FROM artifacts WHERE folder_id = ? AND name = ?", keys)


def _insert_rows(db: sqlite3.Connection, folder_id: int, entries: list[_Entry]) -> None:
    if not entries:
        return
    first: int = db.execute("SELECT coalesce(max(id), 0) + 1 FROM artifacts").fetchone()[0]
    rows = [e.row(first + i, folder_id) for i, e in enumerate(entries)]
    marks = ", ".join("?" * len(rows[0]))
    db.executemany(f"INSERT INTO artifacts({_ROW_COLUMNS}) VALUES ({marks})", rows)
    tags = [(tag, first + i) for i, e in enumerate(entries) for tag in dict.fromkeys(e.tags)]
    db.executemany("INSERT INTO tags(tag, artifact_id) VALUES (?, ?)", tags)


def _delete_folder(db: sqlite3.Connection, folder_id: int) -> None:
    db.execute(
        "DELETE FROM tags WHERE artifact_id IN (SELECT id FROM artifacts WHERE folder_id = ?)",
        (folder_id,),
    )
    db.execute("DELETE FROM artifacts WHERE folder_id = ?", (folder_id,))
    db.execute("DELETE FROM snapshots WHERE folder_id = ?", (folder_id,))
    db.execute("DELETE FROM folders WHERE id = ?", (folder_id,))


# -- the database file -------------------------------------------------------------------


def _connect(file: Path) -> sqlite3.Connection:
    """Open the index database in WAL mode, creating or upgrading its schema."""
    file.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(file, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        if _version(db) != SCHEMA_VERSION:
            _upgrade(db)
    except BaseException:
        db.close()
        raise
    return db


def _in_memory() -> sqlite3.Connection:
    """An empty index of this process alone, for a home cairn may not write (another user's,
    or a read-only mount): every answer is still read from the disk, and nothing is written."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    _create_schema(db)
    return db


def _version(db: sqlite3.Connection) -> int:
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    return version


def _upgrade(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        if _version(db) != SCHEMA_VERSION:  # another process may have done it meanwhile
            _create_schema(db)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _create_schema(db: sqlite3.Connection) -> None:
    for statement in (*_DROP, *_SCHEMA):
        db.execute(statement)


def _healthy(file: Path) -> bool:
    try:
        db = _connect(file)
    except sqlite3.Error:
        return False
    try:
        return bool(db.execute("PRAGMA quick_check").fetchone()[0] == "ok")
    except sqlite3.Error:
        return False
    finally:
        db.close()


def _primary_code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code of ``exc`` (``None`` when it carries none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _is_corrupt(exc: sqlite3.Error) -> bool:
    code = _primary_code(exc)
    if code is not None:
        return code in _CORRUPT
    return any(text in str(exc) for text in _CORRUPT_TEXT)


_HINTS = {
    3: "cairn may not write it: make it writable, or use a CAIRN_HOME of your own",
    5: "another cairn process holds it: retry",
    6: "another cairn process holds it: retry",
    8: "cairn may not write it: make it writable, or use a CAIRN_HOME of your own",
    10: "the disk may be full or failing, or a file size limit (`ulimit -f`) was reached: "
    "free space or raise the limit, then retry; if it persists, run: cairn reindex",
    13: "the disk is full: free some space, then retry",
    14: "cairn may not open it: check the permissions of its folder",
}
"""What to do about an SQLite error, by its primary result code (PERM, BUSY, LOCKED,
READONLY, IOERR, FULL, CANTOPEN)."""


_UNWRITABLE = (3, 8, 10, 13, 14)
"""The codes that say the index file cannot be written: a query then indexes in memory."""


def _index_error(file: Path, exc: sqlite3.Error) -> CairnError:
    code = _primary_code(exc)
    hint = _HINTS.get(code) if code is not None else None
    return CairnError(
        f"the index {file} cannot be used: {exc}",
        hint=hint or "retry; if it persists, run: cairn reindex",
    )
