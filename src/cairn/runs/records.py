"""Run records: every ``run script`` (hit or miss, success or failure) leaves one.

A record is an artifact of kind ``run`` in the ``local`` repository,
``<local>/run/<uid>/``: ``_cm.json`` (identity and tags, so ``cairn find run --tags=...``
works) and ``cairn-run.json`` (the record). The uid starts with the time in milliseconds, so
records sort by date. Tags: the script's alias, ``status-ok`` or ``status-failed``, the top
script's cache status (``cache-hit``...), ``date-YYYY-MM-DD``.

The record (format 1): ``uid``, ``started`` (UTC, ISO 8601), ``seconds``, ``status``,
``error`` and ``log`` (for a failure), ``command`` (the input dict), ``cwd``, ``host``
(:func:`cairn.runs.host.facts`), ``repos`` (alias -> path, uid, Git commit and dirty flag),
``tree`` (one node per script run: where in the tree, script alias/uid/repository/content
digest, variations, version, cache status and entry, the static and full keys, the env and
state items read with their values, exports, seconds, and its dependencies) and ``outputs``
(the top script's ``new_env``/``new_state``). A notebook step's node names its executed
copy (``notebook``): in its cache entry, or for a step that is not cached, a copy kept in the
record's folder.

Records are kept up to a limit (:data:`KEEP`, or ``CAIRN_KEEP_RUNS``; 0 turns recording
off); the oldest beyond it are removed when a record is written, and ``cairn gc run``
removes more on demand.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cairn.kinds import KNOWN
from cairn.runs import gitstate, host

FORMAT = 1
KIND = KNOWN["run"]  # its uid is also in cairn.script.replay (start-up path)
FOLDER = KIND.alias
META_FILE = "_cm.json"
RECORD_FILE = "cairn-run.json"
KEEP = 1000
"""Records kept by default; older ones are removed as new ones are written."""
_TMP = ".cairn-tmp-"


def new_uid(now_ns: int | None = None) -> str:
    """16 hex digits: the time in milliseconds (11 digits), then 5 random ones."""
    millis = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    return f"{millis:011x}"[-11:] + os.urandom(3).hex()[:5]


def started_text(now: float) -> str:
    """``now`` (seconds since the epoch) in UTC, ISO 8601 with milliseconds."""
    millis = int(now * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{millis:03d}+00:00"


def node(result: Any) -> dict[str, Any]:
    """One script run of the tree, as the record keeps it."""
    return {
        "where": result.where,
        "script": {
            "alias": result.alias,
            "uid": result.uid,
            "repo": result.repo,
            "path": str(result.path),
            "content": result.content,
        },
        "tags": result.tags,
        "variations": [f"_{v}" for v in result.variations],
        "version": result.version,
        "cache": result.cache,
        "entry": str(result.entry) if result.entry else None,
        "static_key": result.static_key,
        "key": result.key,
        "reads": result.read_values,
        "read_items": list(result.reads),
        "new_env": result.new_env,
        "new_state": result.new_state,
        "seconds": result.seconds,
        **({"notebook": result.notebook} if result.notebook else {}),
        "deps": [node(d) for d in result.deps],
    }


def repos_of(result: Any) -> dict[str, Any]:
    """The repositories of every script in the tree, with their Git state."""
    found: dict[str, Any] = {}
    for item in walk(result):
        if item.repo in found or item.repo_path is None:
            continue
        path = item.repo_path
        found[item.repo] = {"path": str(path), "uid": item.repo_uid, **(gitstate.state(path) or {})}
    return found


def walk(result: Any) -> Iterator[Any]:
    yield result
    for dep in result.deps:
        yield from walk(dep)


def walk_json(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a record's ``tree``, top first."""
    yield node
    for dep in node.get("deps") or []:
        yield from walk_json(dep)


def build(
    command: dict[str, Any],
    *,
    started: float,
    seconds: float,
    result: Any = None,
    error: BaseException | None = None,
) -> dict[str, Any]:
    """The record of one ``run script``: of its result, or of the error that ended it."""
    record: dict[str, Any] = {
        "format": FORMAT,
        "started": started_text(started),
        "seconds": round(seconds, 6),
        "status": "ok" if error is None else "failed",
        "error": None if error is None else str(error),
        "log": _log_of(error),
        "command": command,
        "cwd": os.getcwd(),
        "host": host.facts(),
    }
    if result is not None:
        record["repos"] = repos_of(result)
        record["tree"] = node(result)
        record["outputs"] = {"new_env": result.new_env, "new_state": result.new_state}
    return record


def _log_of(error: BaseException | None) -> str | None:
    log = getattr(error, "log_file", None)
    return str(log) if log else None


def tags_of(record: dict[str, Any]) -> list[str]:
    tree = record.get("tree") or {}
    script = (tree.get("script") or {}).get("alias") or _requested(record)
    tags = [script, f"status-{record['status']}", f"date-{record['started'][:10]}"]
    if tree.get("cache"):
        tags.append("cache-" + str(tree["cache"]).replace(" ", "-"))
    return [t for t in tags if t]


def _requested(record: dict[str, Any]) -> str:
    command = record.get("command") or {}
    name = command.get("artifact") or command.get("tags") or ""
    return str(name).split(",")[0].split(" ")[0]


def save(
    folder: Path, record: dict[str, Any], *, keep: int | None = None, uid: str | None = None
) -> Path | None:
    """Write ``record`` as a new artifact in ``folder`` (staged, then renamed into place);
    with a limit of 0 (``CAIRN_KEEP_RUNS=0``) nothing is written and None is returned.
    ``uid`` keeps the uid a record got elsewhere (one written on another machine)."""
    limit = keep_limit() if keep is None else keep
    if limit == 0:
        return None
    uid = uid or new_uid()
    record = {**record, "uid": uid}
    meta = {
        "uid": uid,
        "automation_alias": KIND.alias,
        "automation_uid": KIND.uid,
        "tags": tags_of(record),
    }
    folder.mkdir(parents=True, exist_ok=True)
    stage = folder / f"{_TMP}{uid}"
    stage.mkdir()
    try:
        _keep_notebooks(record, stage, folder / uid)
        text = json.dumps(record, indent=1, sort_keys=False, default=str)
        (stage / RECORD_FILE).write_text(text + "\n", encoding="utf-8")
        (stage / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        os.replace(stage, folder / uid)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    prune(folder, limit)
    return folder / uid


def _keep_notebooks(record: dict[str, Any], stage: Path, final: Path) -> None:
    """Copy the executed notebook of each step that is not cached into the record, and name
    the copy in its node: the folder such a step ran in is the next run's too."""
    tree = record.get("tree")
    if not isinstance(tree, dict):
        return
    for number, item in enumerate(walk_json(tree)):
        executed = item.get("notebook")
        if not executed or item.get("entry"):
            continue
        alias = (item.get("script") or {}).get("alias") or "step"
        name = f"{number}-{alias}.{Path(executed).name}"
        try:
            shutil.copyfile(executed, stage / name)
        except OSError:
            continue
        item["notebook"] = str(final / name)


def keep_limit() -> int:
    """How many records to keep: ``CAIRN_KEEP_RUNS`` (a number), else :data:`KEEP`."""
    value = os.environ.get("CAIRN_KEEP_RUNS", "")
    return int(value) if value.isdigit() else KEEP


def uids(folder: Path) -> list[str]:
    """The uids of the records in ``folder``, oldest first."""
    try:
        names = [e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")]
    except OSError:
        return []
    return sorted(names)


def prune(folder: Path, keep: int, *, older_than: float | None = None) -> list[str]:
    """Remove the oldest records beyond ``keep`` (and, with ``older_than`` seconds, every
    record older than that); returns the uids removed."""
    names = uids(folder)
    doomed = names[: max(0, len(names) - keep)]
    if older_than is not None:
        limit_ms = int((time.time() - older_than) * 1000)
        doomed += [n for n in names if n not in doomed and _millis(n) < limit_ms]
    for name in doomed:
        shutil.rmtree(folder / name, ignore_errors=True)
    return doomed


def _millis(uid: str) -> int:
    try:
        return int(uid[:11], 16)
    except ValueError:
        return 0


def load(path: Path) -> dict[str, Any]:
    """The record kept in artifact directory ``path``."""
    data: dict[str, Any] = json.loads((path / RECORD_FILE).read_text(encoding="utf-8"))
    return data
