"""The ``run`` automation: the records every ``run script`` leaves (:mod:`cairn.runs`).

``cairn show run [ID]`` shows a record (the newest without an ID) as a readable summary and
tree; ``cairn find run --tags=...`` and ``cairn rm run ID -f`` are the common actions;
``cairn gc run`` removes old records beyond a limit or an age.
"""

from __future__ import annotations

from typing import Any

from cairn.automations.common import TAGS, CommonAutomation
from cairn.automations.contract import Call, Flag, Outcome, action
from cairn.errors import CairnError, InvalidInput, NotFound
from cairn.runs import records

KEEP = Flag("keep", "str", "how many of the newest records to keep (default: the limit)")
OLDER = Flag("older_than", "str", "also remove records older than this many days")
TOLERANCE = Flag("tolerance", "str", "relative difference allowed for numbers: 5% or 0.05")
KEYS = Flag("keys", "list", "the outputs to compare (default: every output naming no file)")


class RunAutomation(CommonAutomation):
    """Run records: what each ``run script`` did, where, with what inputs and outputs."""

    summary = "records of script runs: show, find, rm, gc"

    @action(
        "show",
        summary="show a run record (the newest without an ID): command, host, tree, outputs",
        usage="cairn show run [ID] [--tags=a,b]",
        example="cairn show run --tags=status-failed",
        flags=(TAGS,),
    )
    def show(self, call: Call) -> Outcome:
        path = self._one(call)
        record = records.load(path)
        return Outcome({"record": record, "path": str(path)}, summary_lines(record, path))

    @action(
        "gc",
        summary="remove old run records: beyond --keep (default: the limit) or --older_than days",
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
        return Outcome({"removed": removed}, lines)

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


def _tree_lines(node: dict[str, Any], depth: int) -> list[str]:
    script = node.get("script") or {}
    label = " ".join([str(script.get("alias")), *node.get("variations", [])])
    version = f" {node['version']}" if node.get("version") else ""
    out = [f"{'  ' * depth}{label}{version} ({node.get('cache')}, {node.get('seconds', 0):.3f} s)"]
    for dep in node.get("deps") or []:
        out += _tree_lines(dep, depth + 1)
    return out
