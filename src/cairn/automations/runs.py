"""The ``run`` automation: the records every ``run script`` leaves (:mod:`cairn.runs`).

``cairn show run [ID]`` shows a record (the newest without an ID) as a readable summary and
tree; ``cairn find run --tags=...`` and ``cairn rm run ID -f`` are the common actions;
``cairn gc run`` removes old records beyond a limit or an age; ``cairn diff run A B`` compares
two runs (records or lock files) node by node (:mod:`cairn.runs.diff`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeGuard

from cairn.automations.common import TAGS, CommonAutomation
from cairn.automations.contract import Call, Flag, Outcome, action
from cairn.errors import Ambiguous, CairnError, InvalidInput, NotFound
from cairn.runs import diff as run_diff
from cairn.runs import lock, records

KEEP = Flag("keep", "str", "how many of the newest records to keep (default: the limit)")
OLDER = Flag(
    "older_than", "str", "also remove records (and kept work folders) older than this many days"
)
WORK_DAYS = 7
"""Days a work folder kept by a failed or ``--dirty`` run stays before ``gc run`` removes it."""
TOLERANCE = Flag("tolerance", "str", "relative difference allowed for numbers: 5% or 0.05")
KEYS = Flag("keys", "list", "the outputs to compare (default: every output naming no file)")
CACHE = Flag("cache", "bool", "also show where a node's cache status differs (never counted)")
LOG = Flag("log", "bool", "show the run's whole captured output, not only its last lines")
OUTPUT_LINES = 20
"""Lines of a run's captured output ``show run`` shows without ``--log``."""
SIDES = ("A (the first run)", "B (the second run)")
WHERE_SIDES = "a run record's uid (or the start of one), its folder, or a lock file"


class RunAutomation(CommonAutomation):
    """Run records: what each ``run script`` did, where, with what inputs and outputs."""

    summary = "records of script runs: show, diff, replay, find, rm, gc"

    @action(
        "show",
        summary="show a run record (the newest without an ID): command, host, tree, outputs, "
        "the last lines of its output (--log: all of it)",
        usage="cairn show run [ID] [--tags=a,b] [--log]",
        example="cairn show run --tags=status-failed --log",
        flags=(TAGS, LOG),
    )
    def show(self, call: Call) -> Outcome:
        path = self._one(call)
        record = records.load(path)
        lines = summary_lines(record, path)
        lines += output_lines(record, None if call.flag("log") else OUTPUT_LINES)
        return Outcome({"record": record, "path": str(path)}, lines)

    @action(
        "gc",
        summary="remove old run records: beyond --keep (default: the limit) or --older_than "
        "days; and the work folders failed or --dirty runs kept, after --older_than days "
        f"(default {WORK_DAYS})",
        usage="cairn gc run [--keep=N] [--older_than=DAYS]",
        example="cairn gc run --keep=100",
        flags=(KEEP, OLDER),
    )
    def gc(self, call: Call) -> Outcome:
        keep = _number(call.flag("keep"), "keep", records.keep_limit())
        days = call.flag("older_than")
        age = _number(days, "older_than", 0) * 86400.0 if days is not None else None
        folder = self.catalog.registry.local().root / records.FOLDER
        removed = records.prune(folder, int(keep), older_than=age)
        lines = [f"Removed {len(removed)} run records; {len(records.uids(folder))} kept"]
        work = self._gc_work(WORK_DAYS * 86400.0 if age is None else age)
        lines += [f"Removed {path} (kept by a failed or --dirty run)" for path in work]
        return Outcome({"removed": removed, "work_removed": work}, lines)

    def _gc_work(self, age: float) -> list[str]:
        """Remove work folders kept by runs that ended more than ``age`` seconds ago."""
        from cairn import staging
        from cairn.home import WORK_KEPT, WORK_PREFIX

        work = self.catalog.registry.home.work_dir
        return [str(p) for p in staging.clean_kept(work, WORK_PREFIX, WORK_KEPT, age)]

    @action(
        "replay",
        summary="run a recorded run again from its lock and say whether its result reproduced",
        usage="cairn replay run [ID | LOCK_FILE] [--tolerance=5%] [--keys=A,B]",
        example="cairn replay run 19b2c3d4e5f60718 --tolerance=5%",
        flags=(TAGS, TOLERANCE, KEYS),
    )
    def replay(self, call: Call) -> Outcome:
        from cairn.runs import replaying

        tol = replaying.tolerance(call.flag("tolerance"))
        locked, recorded = self._replayed(call)
        data = _run_again(locked)
        keys = replaying.chosen_keys(recorded, call.flag("keys"))
        rows = replaying.compare(recorded, data.get("new_env") or {}, keys, tol)
        ok = replaying.reproduced(rows)
        drift = list(data.get("drift") or [])
        result = {"reproduced": ok, "outputs": rows, "drift": drift, "run": data.get("run_record")}
        outcome = Outcome(result, replaying.lines(rows, drift, ok))
        if not ok:
            raise NotReproduced(outcome)
        return outcome

    def _replayed(self, call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
        """The lock to run again and the outputs to compare with: from a record (by ID or
        tags), or from a lock file given by path (on another home, say)."""
        from pathlib import Path

        from cairn.runs import lock

        given = Path(call.artifacts[0]).expanduser() if call.artifacts else None
        if given is not None and given.is_file():
            locked = lock.read(given)
            top = locked["nodes"][0] if locked["nodes"] else {}
            return locked, dict(top.get("outputs") or {})
        path = self._one(call)
        record = records.load(path)
        if not record.get("tree"):
            raise InvalidInput(f"run {path.name} failed before it ran a script: nothing to replay")
        return lock.from_record(record), (record.get("outputs") or {}).get("new_env") or {}

    @action(
        "diff",
        summary="compare two runs (records or lock files) node by node; exits 0 either way",
        usage="cairn diff run A B [--cache] [--out=json]  (A, B: a record uid or prefix, "
        "a record folder, or a lock file)",
        example="cairn diff run 19a2f3c run.lock.yaml",
        flags=(CACHE,),
    )
    def diff(self, call: Call) -> Outcome:
        if len(call.artifacts) != 2:
            raise InvalidInput(
                f"diff run compares exactly two runs, got {len(call.artifacts)} argument(s)",
                hint=f"cairn diff run A B, each {WHERE_SIDES}",
            )
        a = self._side(call.artifacts[0], SIDES[0])
        b = self._side(call.artifacts[1], SIDES[1])
        result = run_diff.compare(a, b, cache=bool(call.flag("cache")))
        return Outcome(result.to_json(), diff_lines(result))

    def _side(self, text: str, label: str) -> run_diff.Side:
        """A run named on the command line: an existing file or folder, else a uid prefix."""
        if not text.strip():
            raise InvalidInput(f"{label} is empty", hint=f"give {WHERE_SIDES}")
        path = Path(text).expanduser()
        if path.exists():
            return _side_at(path, label)
        if "/" in text or path.suffix in (".json", ".yaml", ".yml"):
            raise NotFound(f"{label}: no such file or folder: {text}")
        return self._record_by_uid(text, label)

    def _record_by_uid(self, prefix: str, label: str) -> run_diff.Side:
        folder = self.catalog.registry.local().root / records.FOLDER
        matches = [u for u in records.uids(folder) if u.startswith(prefix.lower())]
        if not matches:
            raise NotFound(
                f"{label}: no run record {prefix!r} (by uid or the start of one), nor such a file",
                hint=f"see: cairn find run; or give {WHERE_SIDES}",
            )
        if len(matches) > 1:
            listing = ", ".join(matches[:4]) + (", ..." if len(matches) > 4 else "")
            raise Ambiguous(
                f"{label}: {len(matches)} run records start with {prefix!r}: {listing}",
                hint="give more digits of the uid",
            )
        return _file_side(folder / matches[0] / records.RECORD_FILE, label)

    def _one(self, call: Call) -> Any:
        query = self._query(call)
        if query.is_empty:
            folder = self.catalog.registry.local().root / records.FOLDER
            newest = records.uids(folder)
            if not newest:
                raise NotFound("no run records yet", hint="run a script first")
            return folder / newest[-1]
        found = sorted(self.catalog.find(query), key=lambda a: a.uid or "")
        if not found:
            raise NotFound(f"no run record matches {call.artifacts or call.flag('tags')}")
        return found[-1].path


class NotReproduced(CairnError):
    """A replayed run's outputs differ from the recorded ones beyond the tolerance."""

    def __init__(self, outcome: Outcome) -> None:
        differing = [r["key"] for r in outcome.data["outputs"] if r["status"] != "same"]
        super().__init__(
            "the run did not reproduce:\n" + "\n".join(outcome.lines),
            hint="outputs that differ: " + ", ".join(differing),
        )
        self.outcome = outcome


def _run_again(locked: dict[str, Any]) -> dict[str, Any]:
    """The locked command, pinned to its lock (drift listed, not refused)."""
    import tempfile
    from pathlib import Path

    from cairn import dispatch
    from cairn.runs import lock

    command = {k: v for k, v in locked["command"].items() if k not in ("lock",)}
    with tempfile.TemporaryDirectory(prefix="cairn-replay-") as tmp:
        lock_file = Path(tmp) / "replay.lock.json"
        lock.write(locked, lock_file)
        i = {**command, "locked": str(lock_file), "allow_drift": True, "out": "json"}
        outcome = dispatch.run(i)
    data: dict[str, Any] = outcome.data
    return data


def _number(value: Any, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"--{name} must be a number, not {value!r}") from None
    if number < 0:
        raise InvalidInput(f"--{name} must not be negative")
    return number


def summary_lines(record: dict[str, Any], path: Any) -> list[str]:
    """A record for a person: one line of facts, the host, the tree, the outputs."""
    host = record.get("host") or {}
    lines = [
        f"run {record.get('uid')}  {record.get('started')}  {record.get('status')}"
        f"  {record.get('seconds', 0):.3f} s",
        f"  record: {path}",
        f"  host: {host.get('os_release') or host.get('os')} {host.get('machine')},"
        f" {host.get('cpus')} CPUs, Python {host.get('python')}, cairn {host.get('cairn')}",
    ]
    if record.get("error"):
        lines.append(f"  error: {record['error']}")
    if record.get("log"):
        lines.append(f"  log: {record['log']}")
    for name, repo in (record.get("repos") or {}).items():
        commit = (repo.get("commit") or "")[:12] or "not a Git repository"
        dirty = " (dirty)" if repo.get("dirty") else ""
        lines.append(f"  repo {name}: {commit}{dirty}")
    if record.get("tree"):
        lines += _tree_lines(record["tree"], 1)
    for key, value in sorted(((record.get("outputs") or {}).get("new_env") or {}).items()):
        lines.append(f"  {key}={value}")
    return lines


def output_lines(record: dict[str, Any], count: int | None) -> list[str]:
    """The run's captured output (its last ``count`` lines), each line marked ``| ``."""
    from cairn.runs.capture import last_lines

    text = record.get("output")
    if not isinstance(text, str) or not text:
        return []
    shown, before = last_lines(text, len(text) if count is None else count)
    head = f"  output (last {len(shown)} lines; --log shows all):" if before else "  output:"
    return [head, *(f"  | {line}" for line in shown)]


def _tree_lines(node: dict[str, Any], depth: int) -> list[str]:
    script = node.get("script") or {}
    label = " ".join([str(script.get("alias")), *node.get("variations", [])])
    version = f" {node['version']}" if node.get("version") else ""
    out = [f"{'  ' * depth}{label}{version} ({node.get('cache')}, {node.get('seconds', 0):.3f} s)"]
    if node.get("notebook"):
        out.append(f"{'  ' * depth}  executed notebook: {node['notebook']}")
    for dep in node.get("deps") or []:
        out += _tree_lines(dep, depth + 1)
    return out


# --- diff run: reading a side, showing the result ---------------------------------------------

_SHORT = 40
_YAML = (".yaml", ".yml")


def _side_at(path: Path, label: str) -> run_diff.Side:
    if not path.is_dir():
        return _file_side(path, label)
    if not (path / records.RECORD_FILE).is_file():
        raise InvalidInput(
            f"{label}: folder {path} holds no run record ({records.RECORD_FILE})",
            hint=f"give {WHERE_SIDES}",
        )
    return _file_side(path / records.RECORD_FILE, label)


def _file_side(path: Path, label: str) -> run_diff.Side:
    """A record (JSON with ``format`` and ``command``) or else a lock file (checked)."""
    data = None if path.suffix in _YAML else _json_of(path)
    if _is_record(data):
        return run_diff.record_side(data, str(data.get("uid") or path))
    try:
        return run_diff.lock_side(lock.read(path), str(path))
    except InvalidInput as exc:
        raise InvalidInput(
            f"{label}: {path} is neither a run record nor a lock file: {exc.message}",
            hint=f"give {WHERE_SIDES}",
        ) from None


def _json_of(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # lock.read says what is wrong with it


def _is_record(data: Any) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(data, dict)
        and data.get("format") == records.FORMAT
        and isinstance(data.get("command"), dict)
        and "cairn_lock" not in data
    )


def diff_lines(result: run_diff.Diff) -> list[str]:
    """A diff for a person: which runs, a table per section and node, the count."""
    lines = [_about("A", result.a), _about("B", result.b)]
    for title, changes in (("run", result.run), ("host", result.host), ("repos", result.repos)):
        lines += _section(title, changes)
    for node in result.nodes:
        lines += _node_section(node)
    lines += _served_lines(result.nodes)
    if result.notes:
        lines += ["", *(f"note: {n}" for n in result.notes)]
    count = result.differences
    lines += ["", f"{count} difference{'s' if count != 1 else ''}" if count else "no differences"]
    return lines


def _about(label: str, side: run_diff.Side) -> str:
    facts = [side.kind, side.name, str(side.started or "")]
    if side.status is not None:
        facts.append(side.status)
    if side.seconds is not None:
        facts.append(f"{side.seconds:.3f} s")
    return f"{label}: " + "  ".join(f for f in facts if f)


def _node_section(node: run_diff.NodeDiff) -> list[str]:
    if node.served_by:
        return []  # summed up by _served_lines
    if node.side != "both":
        return ["", f"node {node.where}: only in {node.side.upper()}"]
    return _section(f"node {node.where}", node.changes)


def _served_lines(nodes: tuple[run_diff.NodeDiff, ...]) -> list[str]:
    """One line per ancestor whose cache hit (or reuse) on one side stands for nodes below."""
    groups: dict[tuple[str, str, str], int] = {}
    for node in nodes:
        if node.served_by:
            group = (node.side.upper(), node.served_by, str(node.served_as))
            groups[group] = groups.get(group, 0) + 1
    lines = []
    for (side, where, status), count in groups.items():
        other = "B" if side == "A" else "A"
        nodes_text = f"{count} node{'s' if count != 1 else ''}"
        lines += [
            "",
            f"{nodes_text} below {where!r} only in {side}: {status} in {other},"
            " which did not run them (not counted)",
        ]
    return lines


def _section(title: str, changes: tuple[run_diff.Change, ...]) -> list[str]:
    if not changes:
        return []
    rows = [("what", "A", "B")] + [_row(c) for c in changes]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    rule = "-+-".join("-" * w for w in widths)
    table = [
        " | ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    return ["", title, "  " + table[0], "  " + rule, *("  " + t for t in table[1:])]


def _row(change: run_diff.Change) -> tuple[str, str, str]:
    what = change.what if change.counted else f"{change.what} (not counted)"
    return _short(what), _shown(change.a), _shown(change.b)


def _shown(value: Any) -> str:
    if value is run_diff.ABSENT:
        return "(absent)"
    text = value if isinstance(value, str) and value else json.dumps(value, sort_keys=True)
    return _short(text.replace("\n", "\\n"))


def _short(text: str) -> str:
    """At most :data:`_SHORT` characters, cut in the middle (paths differ at their ends)."""
    if len(text) <= _SHORT:
        return text
    head = (_SHORT - 3) // 2
    return text[:head] + "..." + text[len(text) - (_SHORT - 3 - head) :]
