"""The run plan: what a run will do, computed before anything native runs (``--explain``).

:func:`plan` walks the dependency tree with the same planning steps a run takes
(:class:`~cairn.script.run.ScriptRun`: select, resolve variations, layer the env, settle the
version, compute the key) and asks the cache, without running a hook or a native script.
Each node gets one status:

``hit``
    the cache has an entry whose every read value is the same (the entry is named); below
    a hit only ``dynamic`` dependencies run;
``miss``
    it will run; the plan names the nearest entry and the read values that differ, or the
    entry that would have been a hit but came from cache entries since removed, or says
    that no entry has the same script, inputs and dependencies (and which of those differ);
``not cached``
    the script is not cached: it runs;
``reused``
    the same script with the same values ran earlier in this run: it is not run again;
``decided at run time``
    something only the run can tell decides it, and the plan says what: a condition or a
    read value that an earlier step may change (a dependency that runs, a ``customize.py``
    hook, a native script's outputs).

A dependency that runs, or comes from the cache, exports values that later siblings see:
the plan takes a hit's exports from its entry, and for a step that will run it marks the
keys it may export (its ``new_env_keys``) as unknown, so a later node reading them is
decided at run time rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from cairn.errors import CairnError
from cairn.record import MutableDefaulted, field
from cairn.script import deps as deps_mod
from cairn.script import reads as reads_mod
from cairn.script.context import RunInput, RunResult
from cairn.script.model import DEP_LISTS, Dep
from cairn.script.run import ScriptRun, Session

HIT, MISS, NOT_CACHED, REUSED, RUN_TIME = (
    "hit",
    "miss",
    "not cached",
    "reused",
    "decided at run time",
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class PlanNode(MutableDefaulted):
    """One script in the plan."""

    alias: str
    repo: str
    path: str
    where: str
    """The path from the top: ``evaluate -> deps[0] train``."""
    reason: str
    variations: list[str]
    cache: str
    entry: str | None = None
    why: str = ""
    """Why a miss or a decision at run time (empty for hits and scripts not cached)."""
    differs: list[str] = field(default_factory=list)
    """For a miss: the read items whose values differ from the nearest entry."""
    static_key: str = ""
    stage: str = "main"
    deps: list[PlanNode] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Dependencies not run, each with the condition that turned it off."""
    error: str | None = None
    uid: str = ""
    content: str = ""
    """The digest of the script's meta and files."""
    variation_names: list[str] = field(default_factory=list)
    version: str | None = None
    """For a hit: the version its entry holds."""

    def to_json(self) -> dict[str, Any]:
        data = {n: getattr(self, n) for n in self._fields if n != "deps"}
        return {**data, "deps": [d.to_json() for d in self.deps]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanNode:
        """A plan read back from :meth:`to_json` (equal to the one written)."""
        fields = {n: data[n] for n in cls._fields if n in data and n != "deps"}
        return cls(**fields, deps=[cls.from_json(d) for d in data.get("deps", [])])

    def lines(self, indent: int = 0) -> list[str]:
        pad = "  " * indent
        head = f"{pad}{self.stage}: {self.alias} [{self.repo}] cache: {self.cache}"
        out = [head + (f" ({self.entry})" if self.entry else "")]
        if self.error:
            out.append(f"{pad}  error: {self.error}")
        out.append(f"{pad}  chosen: {self.reason}")
        if self.why:
            out.append(f"{pad}  why: {self.why}")
        out += [f"{pad}  {line}" for line in self.variations]
        out += [f"{pad}  skipped: {line}" for line in self.skipped]
        for dep in self.deps:
            out += dep.lines(indent + 1)
        return out

    def walk(self) -> Iterable[PlanNode]:
        yield self
        for dep in self.deps:
            yield from dep.walk()


class Exports(MutableDefaulted):
    """What a planned step hands to its parent: its exports when the plan knows them (a hit,
    or a reuse of a hit), else the keys it may change."""

    known: bool
    new_env: dict[str, Any] = field(default_factory=dict)
    new_state: dict[str, Any] = field(default_factory=dict)
    reads: tuple[str, ...] = ()
    reads_digest: str = ""
    may_change: set[str] = field(default_factory=set)


def plan(session: Session, inp: RunInput) -> PlanNode:
    """The plan of ``inp`` and of every dependency it will run; a step that cannot be
    planned (no script, a cycle, bad input) fails the plan as it would fail the run, naming
    where in the tree it is."""
    node = Planner(session).node(inp, "main", "", set())[0]
    for sub in node.walk():
        if sub.error is not None:
            raise PlanFailed(f"{sub.where}: {sub.error}")
    return node


class PlanFailed(CairnError):
    """A step of the plan cannot be planned."""


class Planner:
    """One plan: the session's selection and fingerprints, and the steps planned so far."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.seen: dict[str, list[tuple[str, Exports]]] = {}

    def node(
        self, inp: RunInput, stage: str, where: str, unknown: set[str]
    ) -> tuple[PlanNode, Exports]:
        run = ScriptRun(self.session, inp)
        with run.planned() as key:
            node = self._node(run, stage, where, key)
            exports = self._decide(run, node, key, unknown)
            if exports.known:
                exports.reads_digest = reads_mod.digest(exports.reads, run.view)
            if node.cache != REUSED and not self.session.options.fake_deps:
                self._children(run, node, unknown)
            self.seen.setdefault(key, []).append((run.view.full_digest(), exports))
            return node, exports

    def _node(self, run: ScriptRun, stage: str, where: str, key: str) -> PlanNode:
        return PlanNode(
            alias=run.alias,
            uid=run.uid,
            content=run.scan().digest,
            variation_names=list(run.resolution.variations),
            repo=run.artifact.repo.alias,
            path=str(run.dir),
            where=f"{where} {run.alias}".strip(),
            reason=run.choice_reason or "the only script matching " + str(run.request),
            variations=run.resolution.explain().splitlines() if run.resolution.variations else [],
            cache=NOT_CACHED,
            static_key=key,
            stage=stage,
        )

    def _decide(self, run: ScriptRun, node: PlanNode, key: str, unknown: set[str]) -> Exports:
        """The node's status, and what it will export as far as the plan knows."""
        earlier = self._earlier(key, run, node)
        if earlier is not None:
            return earlier
        if not run.cacheable:
            node.cache = NOT_CACHED
            return _unknown_exports(run)
        if run.inp.new:
            node.cache, node.why = MISS, "--new: the entry is made again"
            return _unknown_exports(run)
        entry = self.session.cache.find(key, run.view)
        if entry is not None and not _affected(_entry_items(entry), unknown):
            node.cache, node.entry, node.version = HIT, str(entry.path), entry.version
            state = entry.load_state()
            items = tuple(_entry_items(entry))
            return Exports(True, dict(state.new_env), dict(state.new_state), items)
        doubt = _rows_affected(self.session, key, unknown)
        if doubt:
            node.cache = RUN_TIME
            node.why = f"whether an entry matches depends on {', '.join(doubt)}{_from(unknown)}"
            return _unknown_exports(run)
        node.cache = MISS
        node.why, node.differs = _why_miss(self.session, run, key)
        return _unknown_exports(run)

    def _earlier(self, key: str, run: ScriptRun, node: PlanNode) -> Exports | None:
        """A step planned before with the same static key: reused when what it read is the
        same (known for a hit), or when the whole view is the same; else only the run can
        tell (it knows what the earlier step read)."""
        full = run.view.full_digest()
        for digest, exports in self.seen.get(key, ()):
            same = digest == full
            if exports.known:
                same = reads_mod.digest(exports.reads, run.view) == exports.reads_digest
            if same:
                node.cache = REUSED
                return exports
        if any(not exports.known for _digest, exports in self.seen.get(key, ())):
            node.cache = RUN_TIME
            node.why = "reused if it reads the same values as its earlier run, else run again"
            return _unknown_exports(run)
        return None

    def _children(self, run: ScriptRun, node: PlanNode, unknown: set[str]) -> None:
        cached = node.cache == HIT
        unknown = set(unknown)
        for name in DEP_LISTS:
            if not cached:
                unknown |= _before_list(run, name)
                if name in ("prehook_deps", "post_deps"):
                    run.env_with_const()  # as the run does before preprocess, postprocess
            for index, dep in enumerate(list(run.eff.deps[name])):
                self._edge(run, node, name, index, dep, unknown, cached)

    def _edge(
        self,
        run: ScriptRun,
        node: PlanNode,
        name: str,
        index: int,
        dep: Dep,
        unknown: set[str],
        cached: bool,
    ) -> None:
        fake = run.inp.fake_run
        on = deps_mod.enabled(dep, run.eff.env, fake_run=fake, cached=cached)
        doubt = _affected({reads_mod.ENV + n for n in _condition_names(dep)}, unknown)
        if not on and not doubt:
            if dep.tags and not (cached and not dep.dynamic):
                node.skipped.append(f"{name}[{index}] ({','.join(dep.tags)}): condition not met")
            return
        where = f"{node.where} -> {name}[{index}]"
        try:
            child, hidden = run.child_input(dep, name)
            sub, exports = self.node(child, name, where, unknown)
        except CairnError as exc:
            node.deps.append(_failed(dep, name, where, exc))
            return
        if doubt:
            _mark(sub, f"whether it runs depends on {', '.join(sorted(doubt))}{_from(unknown)}")
        node.deps.append(sub)
        if exports.known and not doubt:
            result = RunResult(
                alias=sub.alias,
                uid="",
                path=run.dir,
                tags="",
                variations=(),
                version=None,
                cache=sub.cache,
                entry=None,
                new_env=exports.new_env,
                new_state=exports.new_state,
                reads=exports.reads,
            )
            run.absorb(result, hidden)
        else:
            unknown |= exports.may_change


def _unknown_exports(run: ScriptRun) -> Exports:
    """A step that runs may change what its export filters select."""
    patterns = run.inp.force_new_env_keys or tuple(run.eff.new_env_keys)
    change = {reads_mod.ENV + p for p in patterns if "<<<" not in p}
    if any("<<<" in p for p in patterns):
        change.add(reads_mod.ENV + "*")
    change |= {reads_mod.STATE + p for p in run.eff.new_state_keys}
    return Exports(False, may_change=change)


def _before_list(run: ScriptRun, name: str) -> set[str]:
    """What the steps of the run itself before dependency list ``name`` may change."""
    from cairn.script.hooks import Hooks

    hooks = Hooks.load(run.dir, run.names.dialect)
    has = hooks.has if hooks is not None else (lambda _name: False)
    everything = {reads_mod.ENV + "*", reads_mod.STATE + "*"}
    if name == "deps" and run.meta.predeps and has("predeps"):
        return everything  # MLCFlow's predeps hook runs before the deps
    if name == "prehook_deps" and has("preprocess"):
        return everything
    if name == "posthook_deps" and (has("preprocess") or _has_native(run)):
        return everything
    if name == "post_deps" and (has("postprocess") or has("preprocess") or _has_native(run)):
        return everything
    return set()


def _has_native(run: ScriptRun) -> bool:
    from cairn.script import native

    name = run.eff.script_name or "run"
    return (
        native.pick_script(run.dir, name, native.HostOS.from_env(run.eff.env, run.names))
        is not None
    )


def _condition_names(dep: Dep) -> set[str]:
    """The env keys that decide whether a dependency runs and with which tags."""
    names: set[str] = set()
    for table in (dep.enable_if_env, dep.enable_if_any_env, dep.skip_if_env, dep.skip_if_any_env):
        names.update(table)
    names.update(dep.update_tags_from_env)
    for keys in dep.update_tags_from_env_with_prefix.values():
        names.update(keys)
    return names


def _affected(items: Iterable[str], unknown: set[str]) -> set[str]:
    """The read items whose value an unknown change may touch."""
    if not unknown:
        return set()
    return {i for i in items if any(_overlap(_as_env(i), u) for u in unknown)}


def _as_env(item: str) -> str:
    if item.startswith(reads_mod.CALLER):
        return reads_mod.ENV + item[len(reads_mod.CALLER) :]
    return item


def _overlap(item: str, unknown: str) -> bool:
    space, _, name = item.partition(":")
    name = name.partition(reads_mod.EXCEPT)[0]
    uspace, _, pattern = unknown.partition(":")
    if space != uspace:
        return False
    if name == reads_mod.KEYS:
        return True
    if fnmatchcase(name, pattern) or fnmatchcase(pattern, name):
        return True
    a, b = _literal(name), _literal(pattern)
    wild = reads_mod.is_pattern(name) or reads_mod.is_pattern(pattern)
    return wild and (a.startswith(b) or b.startswith(a))


def _literal(pattern: str) -> str:
    for i, ch in enumerate(pattern):
        if ch in "*?[":
            return pattern[:i]
    return pattern


def _from(unknown: set[str]) -> str:
    shown = sorted(u for u in unknown)[:4]
    return f" (an earlier step may change {', '.join(shown)})" if shown else ""


def _entry_items(entry: Any) -> list[str]:
    from cairn.script import scope

    return list(scope.entry_reads(entry))


def _rows_affected(session: Session, key: str, unknown: set[str]) -> list[str]:
    """The reads of entries for the same static key that an unknown change may touch (then
    whether the run finds one cannot be told now)."""
    if not unknown:
        return []
    found: set[str] = set()
    for _set_id, items in session.cache.manifest(key).sets_newest_first():
        found |= _affected(items, unknown)
    return sorted(found)[:6]


def _why_miss(session: Session, run: ScriptRun, key: str) -> tuple[str, list[str]]:
    """The nearest entry and the read values that differ, or why no entry is comparable."""
    best: tuple[int, str, list[str]] | None = None
    for entry in session.cache.candidates(key):
        recorded = entry.meta.get("cairn_reads") or {}
        old = recorded.get("values") if isinstance(recorded, dict) else None
        items = _entry_items(entry)
        differ = reads_mod.differing(items, old if isinstance(old, dict) else {}, run.view)
        removed = entry.removed_deps()
        if removed and not differ:
            return (
                f"entry {entry.path} came from cache entries since removed "
                f"({', '.join(removed)}): it is made again"
            ), []
        if best is None or len(differ) < best[0]:
            best = (len(differ), str(entry.path), differ)
    if best is not None:
        return f"nearest entry {best[1]}: these values differ", best[2]
    return _no_entry(session, run), []


def _no_entry(session: Session, run: ScriptRun) -> str:
    """No entry has the same static key: say which part differs from another entry of the
    same script, when there is one (found through the index by the entries' CM tag
    ``script-artifact-<uid>``, not by reading every entry)."""
    from cairn import ids
    from cairn.script.cache import FORMAT, KIND
    from cairn.store.catalog import Query

    mine = run.key_input.to_json()
    tags = ids.TagQuery((f"script-artifact-{run.uid}",))
    for artifact in sorted(session.catalog.find(Query(KIND, tags=tags)), key=lambda a: a.path):
        other = artifact.meta.get("cairn_inputs")
        if not isinstance(other, dict) or other.get("format") != FORMAT:
            continue
        parts = _differing_parts(mine, other)
        if parts:
            return f"no entry with the same {', '.join(parts)} (nearest: {artifact.path})"
    return "no entry for this script yet"


def _differing_parts(mine: dict[str, Any], other: dict[str, Any]) -> list[str]:
    parts = [k for k in ("variations", "version", "platform") if mine.get(k) != other.get(k)]
    a, b = mine.get("inputs") or {}, other.get("inputs") or {}
    labels = {"script": "script content", "deps": "dependencies", "inputs": "inputs"}
    parts += [labels.get(k, k) for k in sorted({*a, *b}) if a.get(k) != b.get(k)]
    return parts


def _mark(node: PlanNode, why: str) -> None:
    """A node (and everything below it) decided at run time, for ``why``."""
    for sub in node.walk():
        if sub.cache != RUN_TIME:
            sub.cache, sub.why, sub.entry = RUN_TIME, why, None


def _failed(dep: Dep, name: str, where: str, exc: CairnError) -> PlanNode:
    return PlanNode(
        alias=",".join(dep.tags),
        repo="",
        path="",
        where=f"{where} ({','.join(dep.tags)})",
        reason="",
        variations=[],
        cache="error",
        stage=name,
        error=str(exc),
    )
