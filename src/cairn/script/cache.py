"""The script cache: entries found by a key computed from everything that changes a result.

Key (two parts, as ccache's manifests)
    The *static key* (:func:`key_of` of a :class:`KeyInput`) is the SHA-256 of the canonical
    JSON of what is fixed before the run: the script uid, its resolved variations (sorted),
    the version constraints, the script's explicit inputs, the content of the script and of
    every script its dependency tree can select, its effective dependency lists, the
    platform (``sys.platform``, machine) and :data:`FORMAT`. The env, const and state are
    *not* in it: a run records which of their values it read (:mod:`cairn.script.reads`),
    and the entry's full key (:meth:`Scope.key`) is the digest of the static key, those
    names and their values. A *manifest* per static key lists the read sets seen, so a
    lookup computes the values of each read set in the env it has now and finds the entry
    whose values are all the same. A value the run never read does not split entries; one
    it read always does.

Storage (CM's format)
    An entry is an artifact of automation ``cache`` in the ``local`` repository, in
    ``<local>/cache/<uid>/`` where ``uid`` is the first 16 hex digits of a *slot key*: the
    digest of the static key and the whole starting env (known before the run, because
    scripts record absolute paths into their entry). Manifests live in
    ``$CAIRN_HOME/cache-manifests/<ab>/<static key>.json``; a lookup
    reads one manifest and stats one entry per read set (O(1)), and never searches. Entries
    of format 1 (whole-env keys) are never listed in a manifest: they are misses, never
    served. ``_cm.json`` holds CM's keys
    (``uid``, ``automation_alias``/``automation_uid``, CM-style ``tags``, ``version``,
    ``associated_script_artifact[_uid]``, ``dependent_cached_path``) plus ``cairn_key`` and
    ``cairn_inputs`` (the key input, so a user can see why two entries differ), and
    ``cairn_dep_entries``: the uids of the entries its outputs came from (every cached
    dependency below it, however deep), and ``expires`` when the script says how long its
    entries stay good (an expired entry is a miss, made again in its place).
    ``cm-cached-state.json`` holds
    ``{new_env, new_state, deps, version}``.

Removed dependencies
    An entry whose recorded dependency entries no longer all exist (``cairn rm cache``, or a
    dependency made again with ``--new``) is a miss: its outputs may name files of the
    removed entry, so the script runs again (:meth:`Cache.find` says which were removed).

Creation
    :meth:`Cache.create` holds an inter-process lock on the entry and checks the lookup again
    inside it, so of two concurrent runs one executes and the other is handed the result
    (:attr:`Pending.existing`). Around it, :meth:`Cache.running` holds a lock on the static
    key: two runs whose starting env differs only in values the script does not read (two
    points of a sweep, say) name different entry folders, and only after the first has run
    is it known that the second can be served by its entry; so runs of one static key wait
    for each other, and each looks again before it runs. The script runs in the final
    directory (scripts record absolute paths); :meth:`Pending.commit` writes the state file
    and then ``_cm.json``, each atomically, so an entry is visible only when complete. A run
    that leaves the block without committing leaves no entry; a failed renewal puts the old
    entry back.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from cairn import atomic, meta, report, staging
from cairn.errors import Busy, CairnError, MetaError
from cairn.kinds import KNOWN
from cairn.record import Defaulted, FrozenRecord, MutableDefaulted, field, init
from cairn.script import expiry
from cairn.script import reads as reads_mod
from cairn.store.registry import Registry

FORMAT = 2
KIND = KNOWN["cache"]
FOLDER = KIND.alias
META_FILE = "_cm.json"
STATE_FILE = "cm-cached-state.json"
UID_DIGITS = 16
WAIT_S = 6 * 3600.0  # how long a run waits for another run creating the same entry
MANIFESTS = "cache-manifests"
MAX_ROWS = 256
"""Rows kept per manifest (newest first); older rows are forgotten, their entries stay."""


def host_platform() -> tuple[str, str]:
    """This machine's platform as it enters a key: (``sys.platform``, machine)."""
    if hasattr(os, "uname"):
        return (sys.platform, os.uname().machine)
    import platform

    return (sys.platform, platform.machine())


class KeyInput(FrozenRecord):
    """Everything that can change the result of a cached script run.

    ``inputs`` defaults to a new empty mapping, ``platform`` to :func:`host_platform`.
    """

    _fields = ("script_uid", "variations", "version", "inputs", "deps", "platform", "format")
    __slots__ = _fields
    script_uid: str
    variations: tuple[str, ...]
    version: str | None
    inputs: Mapping[str, Any]
    deps: tuple[str, ...]
    platform: tuple[str, str]
    format: int

    def __init__(
        self,
        script_uid: str,
        variations: tuple[str, ...] = (),
        version: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        deps: tuple[str, ...] = (),
        platform: tuple[str, str] | None = None,
        format: int = FORMAT,
    ) -> None:
        inputs = {} if inputs is None else inputs
        platform = host_platform() if platform is None else platform
        init(self, script_uid, variations, version, inputs, deps, platform, format)

    def to_json(self) -> dict[str, Any]:
        """The key input as plain JSON values (what ``cairn_inputs`` records)."""
        return {
            "format": self.format,
            "script_uid": self.script_uid,
            "variations": sorted(set(self.variations)),
            "version": self.version,
            "inputs": dict(self.inputs),
            "deps": list(self.deps),
            "platform": list(self.platform),
        }


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no whitespace, paths as strings, no NaN."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_value,
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"a cache key input must be JSON data, not {type(value).__name__} {value!r}")


def key_of(key_input: KeyInput) -> str:
    """The cache key of ``key_input``: 64 lowercase hex digits."""
    return hashlib.sha256(canonical_json(key_input.to_json()).encode()).hexdigest()


def uid_of(key: str) -> str:
    """The uid (and directory name) of the entry for ``key``."""
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a cache key (64 lowercase hex digits): {key!r}")
    return key[:UID_DIGITS]


def entry_tags(
    *,
    script_uid: str,
    requested: Sequence[str] = (),
    script_tags: Sequence[str] = (),
    variations: Sequence[str] = (),
    version: str | None = None,
    extra: Sequence[str] = (),
    deps_tags: Sequence[str] = (),
) -> tuple[str, ...]:
    """CM-style tags of an entry, in CM's order and without repeats.

    The requested tags, the script's tags, ``_<variation>`` for each resolved variation,
    ``version-<v>``, the extra cache tags, ``deps-...`` tags, ``script-artifact-<uid>``.
    """
    marked = [v if v.startswith("_") else f"_{v}" for v in variations]
    versioned = [f"version-{version}"] if version else []
    every = [*requested, *script_tags, *marked, *versioned, *extra, *deps_tags]
    return tuple(dict.fromkeys(t for t in [*every, f"script-artifact-{script_uid}"] if t))


class Scope(FrozenRecord):
    """The scoped part of a key: the static key, the read items and their values."""

    _fields = ("static", "items", "values")
    __slots__ = _fields
    static: str
    items: tuple[str, ...]
    values: Mapping[str, Any]

    def __init__(self, static: str, items: Sequence[str], values: Mapping[str, Any]) -> None:
        init(self, static, tuple(sorted(set(items))), values)

    @classmethod
    def of(cls, static: str, items: Sequence[str], view: reads_mod.View) -> Scope:
        return cls(static, items, reads_mod.values(items, view))

    @property
    def values_digest(self) -> str:
        return hashlib.sha256(canonical_json(self.values).encode()).hexdigest()

    def key(self) -> str:
        """The entry's full key: static key, read items and their values."""
        text = canonical_json([FORMAT, self.static, list(self.items), self.values_digest])
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {"items": list(self.items), "values": dict(self.values)}


def slot_key(static: str, view: reads_mod.View, volatile: Sequence[str] = ()) -> str:
    """Where a run with this static key and this whole starting view makes its entry."""
    text = canonical_json([FORMAT, "slot", static, view.full_digest(volatile)])
    return hashlib.sha256(text.encode()).hexdigest()


class CachedState(Defaulted):
    """The outputs of a run kept in ``cm-cached-state.json``."""

    new_env: dict[str, Any] = field(default_factory=dict)
    new_state: dict[str, Any] = field(default_factory=dict)
    deps: list[Any] = field(default_factory=list)
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "new_env": self.new_env,
            "new_state": self.new_state,
            "deps": self.deps,
            "version": self.version,
        }


def read_state(path: Path) -> CachedState:
    """Read and check ``cm-cached-state.json`` (``path`` is the file)."""
    data = meta.load_file(path)
    return CachedState(
        new_env=_typed(data, "new_env", dict, path) or {},
        new_state=_typed(data, "new_state", dict, path) or {},
        deps=_typed(data, "deps", list, path) or [],
        version=meta.require_str(data, "version", path),
    )


def _typed(data: meta.Meta, key: str, kind: type, path: Path) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise MetaError(f"{path}: key {key!r} must be a {kind.__name__}, not {value!r}")
    return value


class EntryFields(Defaulted):
    """What a finished run tells the cache about its entry (besides the outputs)."""

    inputs: KeyInput
    script_alias: str | None
    tags: tuple[str, ...] = ()
    version: str | None = None
    dependent_cached_path: str | None = None
    scope: Scope | None = None
    """The reads that scope the entry's key (None: the key is :func:`key_of` the inputs)."""
    dep_entries: tuple[str, ...] = ()
    """The uids of the cache entries the outputs came from (the cached dependencies)."""
    expires: str | None = None
    """When the entry stops being used (MLCFlow's ``cache_expiration``; :mod:`.expiry`)."""

    def to_meta(self, uid: str, key: str) -> meta.Meta:
        """The ``_cm.json`` of the entry, identity keys first (no alias, as in CM)."""
        script = self.inputs.script_uid
        data: meta.Meta = {
            "uid": uid,
            "automation_alias": KIND.alias,
            "automation_uid": KIND.uid,
            "tags": list(self.tags),
        }
        if self.version is not None:
            data["version"] = self.version
        named = f"{self.script_alias},{script}" if self.script_alias else script
        data["associated_script_artifact"] = named
        data["associated_script_artifact_uid"] = script
        if self.dependent_cached_path is not None:
            data["dependent_cached_path"] = self.dependent_cached_path
        data = {**data, "cairn_key": key, "cairn_inputs": self.inputs.to_json()}
        if self.scope is not None:
            data["cairn_reads"] = self.scope.to_json()
        if self.dep_entries:
            data["cairn_dep_entries"] = list(self.dep_entries)
        if self.expires is not None:
            data[expiry.EXPIRES_KEY] = self.expires
        return data

    def key(self) -> str:
        """The key this entry is found by."""
        return key_of(self.inputs) if self.scope is None else self.scope.key()


class Entry(FrozenRecord):
    """A complete cache entry; its outputs are read from disk on first use."""

    _fields = ("path", "uid", "key", "tags", "version", "meta")
    __slots__ = (*_fields, "_state")
    _hidden = frozenset({"meta"})
    path: Path
    uid: str
    key: str
    tags: tuple[str, ...]
    version: str | None
    meta: dict[str, Any]
    _state: CachedState

    def __init__(
        self,
        path: Path,
        uid: str,
        key: str,
        tags: tuple[str, ...],
        version: str | None,
        meta: dict[str, Any],
    ) -> None:
        init(self, path, uid, key, tags, version, meta)

    def load_state(self) -> CachedState:
        """The entry's ``cm-cached-state.json`` (read once)."""
        try:
            return self._state
        except AttributeError:
            state = read_state(self.path / STATE_FILE)
            object.__setattr__(self, "_state", state)
            return state

    @property
    def new_env(self) -> dict[str, Any]:
        return self.load_state().new_env

    @property
    def new_state(self) -> dict[str, Any]:
        return self.load_state().new_state

    @property
    def deps(self) -> list[Any]:
        return self.load_state().deps

    @property
    def dep_entries(self) -> tuple[str, ...]:
        """The uids of the entries its outputs came from (``cairn_dep_entries``)."""
        found = self.meta.get("cairn_dep_entries")
        if not isinstance(found, list):
            return ()
        return tuple(u for u in found if isinstance(u, str) and len(u) == UID_DIGITS)

    def removed_deps(self) -> list[str]:
        """The dependency entries it came from that are gone (their folder or ``_cm.json``):
        those it lists, and those a path it exports points into (an entry made by an older
        cairn lists none)."""
        folder = self.path.parent
        return [u for u in self.came_from() if not (folder / u / META_FILE).is_file()]

    def came_from(self) -> tuple[str, ...]:
        """The uids of the entries it lists, then of those its exported paths point into."""
        return tuple(dict.fromkeys([*self.dep_entries, *self._entries_named()]))

    def _entries_named(self) -> list[str]:
        """The other entries of this cache that the paths of its ``new_env`` point into."""
        root = str(self.path.parent) + os.sep
        try:
            env = self.new_env
        except CairnError:
            return []
        texts = [
            v for value in env.values() for v in (value if isinstance(value, list) else [value])
        ]
        named = [
            t[len(root) :].split(os.sep, 1)[0]
            for t in texts
            if isinstance(t, str) and t.startswith(root)
        ]
        return [u for u in named if u != self.uid and len(u) == UID_DIGITS]


def entry_at(path: Path, key: str) -> Entry | None:
    """The entry in ``path`` when it is complete, is for ``key`` and is still valid."""
    file = path / META_FILE
    try:
        data = meta.load_file(file)
        tags = tuple(meta.tag_list(data, file))
        version = meta.require_str(data, "version", file)
        depends = meta.require_str(data, "dependent_cached_path", file)
    except MetaError as exc:
        if file.exists():
            report.warn(f"ignoring broken cache entry: {exc}")
        return None
    if data.get("cairn_key") != key or not (path / STATE_FILE).is_file():
        return None
    inputs = data.get("cairn_inputs")
    if not isinstance(inputs, dict) or inputs.get("format") != FORMAT:
        return None  # made by another key scheme: a miss, never served
    if depends and not Path(depends).exists():
        return None
    if expiry.is_expired(data):
        return None  # too old: the run makes it again in its place
    return Entry(path, path.name, key, tags, version, data)


class Cache:
    """The cache entries of one cairn home, in its ``local`` repository."""

    def __init__(self, registry: Registry, *, wait: float = WAIT_S) -> None:
        self.registry = registry
        self.wait = wait

    @functools.cached_property
    def folder(self) -> Path:
        """``<local repo>/cache``, where every entry lives."""
        return self.registry.local().root / FOLDER

    def path_of(self, key: str) -> Path:
        """The directory of the entry for ``key`` (whether or not it exists)."""
        return self.folder / uid_of(key)

    def lookup(self, key: str) -> Entry | None:
        """The complete, valid entry for ``key``, or ``None``."""
        return entry_at(self.path_of(key), key)

    # -- scoped keys: a manifest per static key --------------------------------------------

    def manifest_path(self, static: str) -> Path:
        return self.registry.home.root / MANIFESTS / static[:2] / f"{static}.json"

    def manifest(self, static: str) -> Manifest:
        """The manifest of ``static`` (empty when there is none; a broken one is warned about)."""
        return Manifest.read(self.manifest_path(static))

    def find(
        self,
        static: str,
        view: reads_mod.View,
        on_removed: Callable[[Entry, list[str]], None] | None = None,
    ) -> Entry | None:
        """The newest entry for ``static`` whose every read value is the same in ``view``;
        one whose dependency entries were removed is passed over (``on_removed`` is told)."""
        manifest = self.manifest(static)
        for set_id, items in manifest.sets_newest_first():
            scope = Scope.of(static, items, view)
            uid = manifest.uid_for(set_id, scope.values_digest)
            if uid is not None:
                entry = entry_at(self.folder / uid, scope.key())
                if entry is not None and _state_readable(entry) and _whole(entry, on_removed):
                    return entry
        return None

    def renewal_slot(self, slot: str) -> str:
        """Where ``--new`` makes an entry: ``slot`` unless a complete entry is there, else its
        twin, so the entry being replaced stays whole until the new one is committed (a run
        killed halfway leaves the old entry, never an empty folder)."""
        if not (self.path_of(slot) / META_FILE).is_file():
            return slot
        return hashlib.sha256(f"{slot}:renewed".encode()).hexdigest()

    def candidates(self, static: str) -> list[Entry]:
        """Every complete entry listed in the manifest of ``static`` (newest first)."""
        found = []
        for row in self.manifest(static).rows:
            path = self.folder / row["uid"]
            entry = entry_at(path, str(meta_key(path)))
            if entry is not None:
                found.append(entry)
        return found

    def note(self, entry: Entry, scope: Scope, *, renew: bool = False) -> None:
        """List ``entry`` in its manifest (newest first). Rows with the same reads and values
        are superseded; with ``renew`` their entries are removed (``--new`` replaces)."""
        lock_file = self.registry.home.root / "locks" / f"manifest-{scope.static[:16]}.lock"
        path = self.manifest_path(scope.static)
        with atomic.lock(lock_file, timeout=self.wait):
            manifest = Manifest.read(path)
            gone = manifest.add(scope, entry.uid)
            path.parent.mkdir(parents=True, exist_ok=True)
            # a manifest lost in a power cut costs reruns, never a wrong entry: no fsync
            atomic.write_text(path, meta.dump_json(manifest.to_json()), durable=False)
        for uid in gone if renew else ():
            old = self.folder / uid
            if uid != entry.uid and (old / META_FILE).is_file():
                with self.entry_lock(uid):
                    shutil.rmtree(old, ignore_errors=True)

    @contextlib.contextmanager
    def create(
        self,
        key: str,
        *,
        renew: bool = False,
        recheck: Callable[[], Entry | None] | None = None,
    ) -> Iterator[Pending]:
        """Hold the entry's lock and yield a :class:`Pending` to run the script in.

        When another run made the entry meanwhile, ``Pending.existing`` holds it and
        nothing is to be run. Otherwise the script runs in ``Pending.path`` and calls
        :meth:`Pending.commit`; without a commit the directory is removed on leaving.
        ``renew`` replaces an existing entry (put back if the new run fails). ``recheck``
        finds the entry inside the lock (default: :meth:`lookup` of ``key``).
        """
        with self._locked(key):
            found = None if renew else (recheck or (lambda: self.lookup(key)))()
            if found is not None:
                yield Pending(key, found.path, existing=found)
                return
            with self._prepared(key) as pending:
                yield pending

    @contextlib.contextmanager
    def _prepared(self, key: str) -> Iterator[Pending]:
        """An empty final directory for ``key``; the old one is kept aside until commit."""
        path = self.path_of(key)
        aside = _set_aside(path)
        pending = Pending(key, path)
        try:
            path.mkdir(parents=True)
            yield pending
        finally:
            if pending.entry is None:
                shutil.rmtree(path, ignore_errors=True)
                _restore(aside, path)
            elif aside is not None:
                shutil.rmtree(aside.parent, ignore_errors=True)

    @contextlib.contextmanager
    def running(self, static: str) -> Iterator[None]:
        """Hold the lock of static key ``static`` while a run of it looks up and creates."""
        with self._waiting(f"static-{static[:32]}", "another run of the same script"):
            yield

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        with self.entry_lock(uid_of(key)):
            yield

    @contextlib.contextmanager
    def entry_lock(self, uid: str) -> Iterator[None]:
        """The entry's inter-process lock; says so when another run holds it."""
        with self._waiting(f"cache-{uid}", f"another run creating {self.folder / uid}"):
            yield

    @contextlib.contextmanager
    def _waiting(self, name: str, holder: str) -> Iterator[None]:
        """Lock ``name`` under ``$CAIRN_HOME/locks``; a warning says whom it waits for."""
        lock_file = self.registry.home.root / "locks" / f"{name}.lock"
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(atomic.lock(lock_file, timeout=0, guards=self.folder))
            except Busy:
                report.warn(f"waiting for {holder}")
                stack.enter_context(atomic.lock(lock_file, timeout=self.wait, guards=self.folder))
            yield


def meta_key(path: Path) -> str | None:
    """The ``cairn_key`` an entry directory records (None when unreadable)."""
    try:
        found = meta.load_file(path / META_FILE).get("cairn_key")
    except MetaError:
        return None
    return found if isinstance(found, str) else None


class Manifest:
    """The read sets seen for one static key, and which entry holds which values.

    On disk: ``{"format", "sets": {set id: [items]}, "rows": [{"set", "values", "uid"}]}``,
    rows newest first. A set id is the digest of its items, so equal read sets are stored once.
    """

    __slots__ = ("rows", "sets")

    def __init__(self, sets: dict[str, list[str]], rows: list[dict[str, str]]) -> None:
        self.sets = sets
        self.rows = rows

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls({}, [])
        except (OSError, ValueError) as exc:
            report.warn(f"ignoring broken cache manifest {path}: {exc}")
            return cls({}, [])
        if not _well_formed(data):
            report.warn(f"ignoring cache manifest {path}: not of format {FORMAT}")
            return cls({}, [])
        return cls(data["sets"], data["rows"])

    def sets_newest_first(self) -> list[tuple[str, list[str]]]:
        order = dict.fromkeys(row["set"] for row in self.rows)
        return [(set_id, self.sets[set_id]) for set_id in order if set_id in self.sets]

    def uid_for(self, set_id: str, values: str) -> str | None:
        for row in self.rows:
            if row["set"] == set_id and row["values"] == values:
                return row["uid"]
        return None

    def add(self, scope: Scope, uid: str) -> list[str]:
        """Put a row first; return the uids of the rows it supersedes."""
        set_id = hashlib.sha256(canonical_json(list(scope.items)).encode()).hexdigest()[:16]
        self.sets[set_id] = list(scope.items)
        values = scope.values_digest
        same = [r for r in self.rows if r["set"] == set_id and r["values"] == values]
        rest = [r for r in self.rows if r not in same and r["uid"] != uid]
        self.rows = [{"set": set_id, "values": values, "uid": uid}, *rest][:MAX_ROWS]
        used = {r["set"] for r in self.rows}
        self.sets = {k: v for k, v in self.sets.items() if k in used}
        return [r["uid"] for r in same]

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "sets": self.sets, "rows": self.rows}


def _well_formed(data: Any) -> bool:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return False
    sets, rows = data.get("sets"), data.get("rows")
    if not isinstance(sets, dict) or not isinstance(rows, list):
        return False
    return all(_good_row(r) for r in rows) and all(isinstance(v, list) for v in sets.values())


def _good_row(row: Any) -> bool:
    if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ROW_KEYS):
        return False
    uid = row["uid"]
    return len(uid) == UID_DIGITS and all(c in "0123456789abcdef" for c in uid)


ROW_KEYS = ("set", "values", "uid")


def _state_readable(entry: Entry) -> bool:
    """Whether an entry's outputs can be read; a broken state file makes it a warned miss
    (the run makes the entry again) instead of failing every run."""
    try:
        entry.load_state()
    except CairnError as exc:
        report.warn(f"ignoring cache entry {entry.path}: {exc}; it is made again")
        return False
    return True


def _whole(entry: Entry, on_removed: Callable[[Entry, list[str]], None] | None) -> bool:
    """Whether every dependency entry ``entry`` came from is still there."""
    removed = entry.removed_deps()
    if removed and on_removed is not None:
        on_removed(entry, removed)
    return not removed


def _set_aside(path: Path) -> Path | None:
    """Clear ``path`` for a new run: a complete entry is moved aside, leftovers deleted (a
    stray file where the entry's folder belongs too)."""
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return None
    if not (path / META_FILE).exists():
        shutil.rmtree(path)
        return None
    holder = staging.make(path.parent)  # named after this process: see cairn.staging
    os.replace(path, holder / path.name)
    return holder / path.name


def _restore(aside: Path | None, path: Path) -> None:
    """Put a set-aside entry back after a failed renewal."""
    if aside is None:
        return
    os.replace(aside, path)
    shutil.rmtree(aside.parent, ignore_errors=True)


class Pending(MutableDefaulted):
    """An entry being made: the directory the script runs in, then :meth:`commit`."""

    key: str
    path: Path
    existing: Entry | None = None
    entry: Entry | None = None

    @property
    def uid(self) -> str:
        return uid_of(self.key)

    def commit(self, fields: EntryFields, state: CachedState) -> Entry:
        """Record the run's outputs: the state file first, ``_cm.json`` last, atomically."""
        self._check_commit(fields)
        key = fields.key()
        data = fields.to_meta(self.uid, key)
        atomic.write_text(self.path / STATE_FILE, meta.dump_json(state.to_json()))
        atomic.write_text(self.path / META_FILE, meta.dump_json(data))
        self.entry = Entry(self.path, self.uid, key, fields.tags, fields.version, data)
        return self.entry

    def _check_commit(self, fields: EntryFields) -> None:
        if self.existing is not None:
            raise RuntimeError(f"{self.path} exists already: use Pending.existing")
        if self.entry is not None:
            raise RuntimeError(f"{self.path} is committed already")
        if fields.scope is None and key_of(fields.inputs) != self.key:
            raise ValueError("the entry's inputs do not give the key it is created under")
        if fields.scope is not None and key_of(fields.inputs) != fields.scope.static:
            raise ValueError("the entry's inputs do not give its static key")
        if not self.path.is_dir():
            raise CairnError(
                f"cache entry {self.path} was removed while its script ran",
                hint="run the script again",
            )
