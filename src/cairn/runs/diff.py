"""Comparing two runs, node by node: what differs between two run records or lock files.

Each side is a run record (:mod:`cairn.runs.records`) or a lock file (:mod:`cairn.runs.lock`),
already loaded; :func:`record_side` and :func:`lock_side` bring both to one shape, a
:class:`Side`, keeping what both formats can carry. :func:`compare` then matches the nodes of
the two trees by their ``where`` path and returns a :class:`Diff`. Nothing here reads a file.

What is compared (each difference is a :class:`Change`: ``what``, A's value, B's value):

``run``
    the command's inputs (per key; the raw words ``cmd`` and ``unparsed_cmd`` and the flags
    that only change how a run is shown or checked, :data:`NOT_INPUTS`, are left out),
    ``status`` and ``error`` (records only: a lock keeps neither);
``host``
    every host fact both sides carry (a lock keeps :data:`cairn.runs.lock.HOST_KEYS`);
``repos``
    per repository alias: its Git ``commit`` and ``dirty`` flag, and its ``uid`` and ``url``
    where both sides carry them (a lock keeps both, a record the uid); a repository on one
    side only is one change;
``nodes``
    per ``where`` path: the script's ``uid``, ``alias``, ``repo`` and ``content`` digest, the
    ``variations``, ``version``, ``static key`` and ``key``; then per item, ``read ITEM``
    (the env and state values the node read: two records only), ``output KEY`` (its
    ``new_env``) and ``tool KEY`` (the digests of exported files: two locks only). A node on
    one side only counts as one difference, unless the other side did not run below one of
    its ancestors (a cache ``hit`` or a ``reused`` result stands for the dependencies; the
    ancestor's own keys are compared).

Not compared: uids, start times, seconds, the working directory, log files, paths of
scripts, repositories and cache entries (they name places, not contents) and ``new_state``.
The cache status of a node (``hit``, ``miss``...) is expected to differ between a run and its
rerun, so it is compared only when asked (``cache=True``) and never counted
(``counted`` is false). A value absent on one side is :data:`ABSENT` (left out of the JSON).
"""

from __future__ import annotations

from typing import Any

from cairn.record import Defaulted, field
from cairn.runs import lock

NOT_INPUTS = lock.NOT_INPUTS
"""Command keys not compared: how the run was typed (the raw words), shown or checked; a
lock leaves the same ones out of its ``command``."""
SCRIPT_KEYS = ("uid", "alias", "repo", "content")
REPO_KEYS = ("commit", "dirty")
REPO_EXTRA_KEYS = ("uid", "url")
"""Compared where both sides carry them (a lock has both, a record its uid)."""
SERVED = ("hit", "reused")
"""Cache statuses of a node whose dependencies did not run: the cache entry, or the same
script run earlier in the tree, stands for them."""
PATH_SEP = " -> "
"""Between the steps of a ``where`` path."""


class _Absent:
    """The value of an item one side does not have."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


class Node(Defaulted):
    """One script run of a side. ``reads`` is None for a lock, ``tools`` for a record."""

    where: str
    script: dict[str, Any] = field(default_factory=dict)
    variations: list[str] = field(default_factory=list)
    version: Any = None
    cache: Any = None
    static_key: Any = None
    key: Any = None
    reads: dict[str, Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    tools: dict[str, Any] | None = None


class Side(Defaulted):
    """One run to compare, from a record (``kind`` "record") or a lock file ("lock")."""

    kind: str
    name: str
    started: Any = None
    status: str | None = None
    error: str | None = None
    seconds: float | None = None
    command: dict[str, Any] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    repos: dict[str, Any] = field(default_factory=dict)
    nodes: tuple[Node, ...] = ()

    def about(self) -> dict[str, Any]:
        """What the side is, for a header: kind, name, start, status, seconds."""
        keys = ("kind", "name", "started", "status", "seconds")
        return {k: getattr(self, k) for k in keys}


class Change(Defaulted):
    """One compared item that differs; ``counted`` is false for what is only shown."""

    what: str
    a: Any = ABSENT
    b: Any = ABSENT
    counted: bool = True

    def to_json(self) -> dict[str, Any]:
        sides = {k: v for k, v in (("a", self.a), ("b", self.b)) if v is not ABSENT}
        return {"what": self.what, **sides, "counted": self.counted}


class NodeDiff(Defaulted):
    """A node matched by its ``where`` path: ``side`` is "both", "a" or "b" (only there).

    A node on one side only because the other side's run did not go below an ancestor (its
    cache status was :data:`SERVED`) names that ancestor in ``served_by`` and its status in
    ``served_as``, and is not counted.
    """

    where: str
    side: str
    changes: tuple[Change, ...] = ()
    served_by: str | None = None
    served_as: str | None = None

    @property
    def differences(self) -> int:
        if self.side == "both":
            return _counted(self.changes)
        return 0 if self.served_by else 1

    def to_json(self) -> dict[str, Any]:
        changes = [c.to_json() for c in self.changes]
        served = {"served_by": self.served_by, "served_as": self.served_as}
        return {"where": self.where, "in": self.side, "changes": changes, **served}


class Diff(Defaulted):
    """The comparison of two sides, section by section."""

    a: Side
    b: Side
    run: tuple[Change, ...] = ()
    host: tuple[Change, ...] = ()
    repos: tuple[Change, ...] = ()
    nodes: tuple[NodeDiff, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def differences(self) -> int:
        top = _counted((*self.run, *self.host, *self.repos))
        return top + sum(n.differences for n in self.nodes)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape (see docs/reproducibility.md)."""
        return {
            "a": self.a.about(),
            "b": self.b.about(),
            "differ": self.differences > 0,
            "differences": self.differences,
            **{s: [c.to_json() for c in getattr(self, s)] for s in ("run", "host", "repos")},
            "nodes": [n.to_json() for n in self.nodes],
            "notes": list(self.notes),
        }


def _counted(changes: tuple[Change, ...]) -> int:
    return sum(1 for c in changes if c.counted)


# --- one shape for records and locks ---------------------------------------------------------


def record_side(record: dict[str, Any], name: str) -> Side:
    """A run record (``cairn-run.json``) as a side."""
    return Side(
        kind="record",
        name=name,
        started=record.get("started"),
        status=record.get("status"),
        error=record.get("error"),
        seconds=record.get("seconds"),
        command=record.get("command") or {},
        host=record.get("host") or {},
        repos=record.get("repos") or {},
        nodes=tuple(_record_nodes(record.get("tree"))),
    )


def _record_nodes(tree: dict[str, Any] | None) -> list[Node]:
    if not tree:
        return []
    nodes = [_node(tree, reads=tree.get("reads") or {}, outputs=tree.get("new_env"))]
    for dep in tree.get("deps") or []:
        nodes += _record_nodes(dep)
    return nodes


def lock_side(lock: dict[str, Any], name: str) -> Side:
    """A lock file's content (as :func:`cairn.runs.lock.read` returns it) as a side."""
    nodes = [_node(n, outputs=n.get("outputs"), tools=n.get("tools") or {}) for n in lock["nodes"]]
    return Side(
        kind="lock",
        name=name,
        started=lock.get("created"),
        command=lock.get("command") or {},
        host=lock.get("host") or {},
        repos=lock.get("repos") or {},
        nodes=tuple(nodes),
    )


def _node(
    raw: dict[str, Any],
    *,
    outputs: Any,
    reads: dict[str, Any] | None = None,
    tools: dict[str, Any] | None = None,
) -> Node:
    return Node(
        where=str(raw["where"]),
        script=raw.get("script") or {},
        variations=list(raw.get("variations") or []),
        version=raw.get("version"),
        cache=raw.get("cache"),
        static_key=raw.get("static_key"),
        key=raw.get("key"),
        reads=reads,
        outputs=outputs or {},
        tools=tools,
    )


# --- the comparison --------------------------------------------------------------------------


def compare(a: Side, b: Side, *, cache: bool = False) -> Diff:
    """Everything that differs between ``a`` and ``b``; with ``cache``, the nodes' cache
    status too (shown, never counted)."""
    return Diff(
        a=a,
        b=b,
        run=tuple(_run_changes(a, b)),
        host=tuple(_host_changes(a.host, b.host)),
        repos=tuple(_repo_changes(a.repos, b.repos)),
        nodes=tuple(_node_diffs(a.nodes, b.nodes, cache=cache)),
        notes=tuple(_notes(a, b)),
    )


def _run_changes(a: Side, b: Side) -> list[Change]:
    changes = _keyed("input", _inputs(a.command), _inputs(b.command))
    if a.kind == b.kind == "record":
        changes = _pair("status", a.status, b.status) + _pair("error", a.error, b.error) + changes
    return changes


def _inputs(command: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in command.items() if k not in NOT_INPUTS}


def _host_changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    shared = [k for k in a if k in b]
    return [c for k in shared for c in _pair(k, a[k], b[k])]


def _repo_changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    changes = []
    for alias in _union(a, b):
        if alias not in a or alias not in b:
            changes += _pair(alias, _pick(a.get(alias)), _pick(b.get(alias)))
        else:
            changes += _repo_pair(alias, a[alias], b[alias])
    return changes


def _repo_pair(alias: str, a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Git state always; a repository's uid and url where both sides carry them."""
    keys = (*REPO_KEYS, *(k for k in REPO_EXTRA_KEYS if k in a and k in b))
    return [c for k in keys for c in _pair(f"{alias} {k}", a.get(k), b.get(k))]


def _pick(repo: dict[str, Any] | None) -> Any:
    return ABSENT if repo is None else {k: repo.get(k) for k in (*REPO_KEYS, *REPO_EXTRA_KEYS)}


def _node_diffs(a: tuple[Node, ...], b: tuple[Node, ...], *, cache: bool) -> list[NodeDiff]:
    in_a, in_b = {n.where: n for n in a}, {n.where: n for n in b}
    diffs = []
    for where in _union(in_a, in_b):
        if where not in in_b:
            diffs.append(_one_sided(where, "a", in_b))
        elif where not in in_a:
            diffs.append(_one_sided(where, "b", in_a))
        else:
            changes = _node_changes(in_a[where], in_b[where], cache=cache)
            diffs.append(NodeDiff(where=where, side="both", changes=tuple(changes)))
    return diffs


def _one_sided(where: str, side: str, other: dict[str, Node]) -> NodeDiff:
    """A node only on ``side``; served by an ancestor if the other side did not run below it."""
    above = _nearest_ancestor(where, other)
    if above is None or above.cache not in SERVED:
        return NodeDiff(where=where, side=side)
    return NodeDiff(where=where, side=side, served_by=above.where, served_as=above.cache)


def _nearest_ancestor(where: str, nodes: dict[str, Node]) -> Node | None:
    steps = where.split(PATH_SEP)
    for n in range(len(steps) - 1, 0, -1):
        found = nodes.get(PATH_SEP.join(steps[:n]))
        if found is not None:
            return found
    return None


def _node_changes(a: Node, b: Node, *, cache: bool) -> list[Change]:
    changes = [
        c for k in SCRIPT_KEYS for c in _pair(f"script {k}", a.script.get(k), b.script.get(k))
    ]
    changes += _pair("variations", a.variations, b.variations)
    changes += _pair("version", a.version, b.version)
    if cache:
        changes += _pair("cache", a.cache, b.cache, counted=False)
    changes += _pair("static key", a.static_key, b.static_key)
    changes += _pair("key", a.key, b.key)
    if a.reads is not None and b.reads is not None:
        changes += _keyed("read", a.reads, b.reads)
    changes += _keyed("output", a.outputs, b.outputs)
    if a.tools is not None and b.tools is not None:
        changes += _keyed("tool", a.tools, b.tools)
    return changes


def _keyed(prefix: str, a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """One change per key whose value differs or that one side lacks, keys sorted."""
    keys = sorted(set(a) | set(b))
    return [c for k in keys for c in _pair(f"{prefix} {k}", a.get(k, ABSENT), b.get(k, ABSENT))]


def _pair(what: str, a: Any, b: Any, *, counted: bool = True) -> list[Change]:
    return [] if a == b else [Change(what=what, a=a, b=b, counted=counted)]


def _union(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The keys of ``a`` in order, then those only in ``b``."""
    return [*a, *(k for k in b if k not in a)]


def _notes(a: Side, b: Side) -> list[str]:
    """What could not be compared because one side does not carry it."""
    kinds = {a.kind, b.kind}
    notes = []
    if "lock" in kinds:
        notes.append("env reads, status and error: only run records carry them (not compared)")
    if kinds == {"lock", "record"}:
        notes.append("tool files: only lock files carry them (not compared)")
    return notes
