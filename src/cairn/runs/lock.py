"""Lock files: a resolved run pinned node by node, and what no longer matches it.

A lock (``cairn run script ... --lock=FILE``) is made from the run's record
(:mod:`cairn.runs.records`). Format 1, written as YAML (``.yaml``/``.yml``) or JSON (any other
name), keys sorted, one node per script run in a flat list (diff-friendly):

``cairn_lock``
    the format (1);
``created``, ``command``
    when, and the run's input (``--lock``/``--locked`` left out);
``host``
    ``os``, ``os_release``, ``machine``, ``kernel``, ``cpu``, ``cpus``, ``python``, ``cairn``;
``repos``
    alias -> ``path``, ``commit`` and ``dirty`` (Git repositories), ``url`` (its origin);
``nodes``
    each: ``where`` (the path from the top, unique), ``script`` (``alias``, ``uid``, ``repo``,
    ``content``: the digest of its meta and files), ``variations``, ``version``, ``cache``,
    ``static_key``, ``key``, ``tools`` (exported env values naming existing files: ``path``,
    ``sha256``, ``size``) and ``outputs`` (its ``new_env``).

:func:`drift` compares a lock with what is there now, before anything runs: the repositories'
commits, the host, and for each node of the plan the script, its content and variations,
the version of what the cache will serve, and every locked tool file. :func:`version_drift`
compares the versions a run found with the lock, after it ran.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cairn.errors import CairnError, InvalidInput

FORMAT = 1
HOST_KEYS = ("os", "os_release", "machine", "kernel", "cpu", "cpus", "python", "cairn")
MUST_MATCH_HOST = ("os", "machine")
"""Host facts whose change is drift (another OS or architecture); the rest are shown."""
MAX_TOOL_BYTES = 256 * 1024 * 1024


class Drift(CairnError):
    """The run does not match its lock."""

    code = 1


def from_record(record: dict[str, Any]) -> dict[str, Any]:
    """The lock of a recorded run."""
    command = {k: v for k, v in (record.get("command") or {}).items() if k not in NOT_INPUTS}
    host = record.get("host") or {}
    return {
        "cairn_lock": FORMAT,
        "created": record.get("started"),
        "command": command,
        "host": {k: host.get(k) for k in HOST_KEYS},
        "repos": {a: _repo(r) for a, r in (record.get("repos") or {}).items()},
        "nodes": [_node(n) for n in walk(record["tree"])] if record.get("tree") else [],
    }


NOT_INPUTS = frozenset({"cmd", "unparsed_cmd", "out", "debug", "lock", "locked", "allow_drift"})
"""Keys of a run's input that only say how it is shown or checked: no part of what it does."""


def _repo(repo: dict[str, Any]) -> dict[str, Any]:
    from cairn.store import git

    path = Path(repo["path"])
    origin = git.origin(path) if (path / ".git").exists() else None
    return {**repo, "url": git.redact(origin) if origin else None}


def repo_entries(lock: dict[str, Any]) -> list[dict[str, Any]]:
    """The lock's Git repositories as ``pull repo`` restores them (url, commit, alias, uid);
    a repository with no remote or no commit cannot be pulled: a clear error says so."""
    entries = []
    for alias, repo in sorted(lock["repos"].items()):
        if not repo.get("url") or not repo.get("commit"):
            raise InvalidInput(
                f"repository {alias} of the lock has no Git remote and commit to pull from",
                hint="pack it (cairn pack repo) and import it, or register it by hand",
            )
        entries.append(
            {"url": repo["url"], "commit": repo["commit"], "alias": alias, "uid": repo.get("uid")}
        )
    return entries


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for dep in node.get("deps") or []:
        yield from walk(dep)


def _node(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "where": node["where"],
        "script": node["script"],
        "variations": node.get("variations") or [],
        "version": node.get("version"),
        "cache": node.get("cache"),
        "static_key": node.get("static_key"),
        "key": node.get("key"),
        "tools": tools_of(_own_exports(node)),
        "outputs": node.get("new_env") or {},
    }


def _own_exports(node: dict[str, Any]) -> dict[str, Any]:
    """What a node exports that none of its dependencies exported as such (a tool is pinned
    where it was found, not again by every script that passes it on)."""
    below = [d.get("new_env") or {} for d in node.get("deps") or []]
    env = node.get("new_env") or {}
    return {k: v for k, v in env.items() if not any(b.get(k) == v for b in below)}


def tools_of(env: dict[str, Any]) -> dict[str, Any]:
    """Exported values that name existing files (a detected tool, a downloaded file), each
    with its digest."""
    found = {}
    for key, value in sorted(env.items()):
        if isinstance(value, str) and value.startswith("/") and os.path.isfile(value):
            found[key] = {"path": value, **file_digest(Path(value))}
    return found


def file_digest(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    if size > MAX_TOOL_BYTES:
        return {"size": size, "sha256": None}
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return {"size": size, "sha256": h.hexdigest()}


def write(lock: dict[str, Any], path: Path) -> None:
    """Write a lock file: YAML for ``.yaml``/``.yml``, else JSON; atomically."""
    from cairn import atomic

    if path.suffix in (".yaml", ".yml"):
        import yaml

        text = yaml.safe_dump(lock, sort_keys=True, default_flow_style=False, allow_unicode=True)
    else:
        text = json.dumps(lock, indent=2, sort_keys=True, default=str) + "\n"
    atomic.write_text(path, text)


def read(path: Path) -> dict[str, Any]:
    """Read and check a lock file (a clear error names the file and what is wrong)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read lock file {path}: {exc.strerror}") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # JSON's ValueError, or yaml.YAMLError
        raise InvalidInput(f"lock file {path} is not valid: {exc}") from None
    return _checked(data, path)


def _checked(data: Any, path: Path) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("cairn_lock") != FORMAT:
        raise InvalidInput(
            f"{path} is not a cairn lock file of format {FORMAT} (key 'cairn_lock')",
            hint="write one with: cairn run script ... --lock=FILE",
        )
    nodes = data.get("nodes")
    if not isinstance(nodes, list) or not all(isinstance(n, dict) and "where" in n for n in nodes):
        raise InvalidInput(f"{path}: key 'nodes' must be a list of nodes, each with 'where'")
    for key in ("repos", "host", "command"):
        if not isinstance(data.get(key), dict):
            raise InvalidInput(f"{path}: key {key!r} must be a mapping")
    return data


# --- drift ---------------------------------------------------------------------------------


def drift(
    lock: dict[str, Any], plan: Any, repos_now: dict[str, Any], host_now: dict[str, Any]
) -> list[str]:
    """Everything that cannot be honoured, one line each, before anything runs."""
    lines = _host_drift(lock["host"], host_now)
    lines += _repo_drift(lock["repos"], repos_now)
    planned = {n.where: n for n in plan.walk()}
    locked = {n["where"]: n for n in lock["nodes"]}
    planned_cache = {w: n.cache for w, n in planned.items()}
    locked_cache = {w: n.get("cache") for w, n in locked.items()}
    for where, node in locked.items():
        if where in planned or not _below_a_hit(where, planned_cache):
            lines += _node_drift(node, planned.get(where))
    lines += [
        f"{w}: not in the lock (a new step)"
        for w in planned
        if w not in locked and not _below_a_hit(w, locked_cache)
    ]
    return lines


def _below_a_hit(where: str, cache: dict[str, Any]) -> bool:
    """Whether a step above ``where`` is served from the cache there (so the steps below it
    do not run, and their absence on one side is no drift)."""
    parts = where.split(" -> ")
    for end in range(len(parts) - 1, 0, -1):
        if cache.get(" -> ".join(parts[:end])) in ("hit", "reused"):
            return True
    return False


def _host_drift(locked: dict[str, Any], now: dict[str, Any]) -> list[str]:
    return [
        f"host: {key} was {locked.get(key)!r}, is {now.get(key)!r}"
        for key in MUST_MATCH_HOST
        if locked.get(key) != now.get(key)
    ]


def _repo_drift(locked: dict[str, Any], now: dict[str, Any]) -> list[str]:
    lines = []
    for alias, repo in sorted(locked.items()):
        current = now.get(alias)
        if current is None:
            lines.append(
                f"repo {alias}: not registered here (pull it: cairn pull repo --lock=FILE)"
            )
            continue
        if repo.get("commit") and current.get("commit") != repo.get("commit"):
            was, is_ = str(repo.get("commit"))[:12], str(current.get("commit"))[:12]
            lines.append(f"repo {alias}: at commit {is_}, locked at {was}")
        if repo.get("dirty") is False and current.get("dirty"):
            lines.append(f"repo {alias}: has uncommitted changes (locked clean)")
    return lines


def _node_drift(node: dict[str, Any], planned: Any) -> list[str]:
    where = node["where"]
    if planned is None:
        return [f"{where}: not planned now (the tree changed)"]
    lines = []
    script = node.get("script") or {}
    if script.get("uid") and planned.uid != script.get("uid"):
        lines.append(f"{where}: another script ({planned.uid}, locked {script.get('uid')})")
    elif script.get("content") and planned.content != script.get("content"):
        lines.append(
            f"{where}: script content changed ({planned.path}): digest "
            f"{planned.content[:12]}, locked {str(script['content'])[:12]}"
        )
    now = _marked(planned.variation_names)
    if list(node.get("variations") or []) != now:
        lines.append(f"{where}: variations {now}, locked {node.get('variations')}")
    if planned.cache == "hit" and planned.version != node.get("version"):
        lines.append(
            f"{where}: the cache serves version {planned.version}, locked {node.get('version')}"
        )
    lines += _tool_drift(where, node.get("tools") or {})
    return lines


def _marked(names: Any) -> list[str]:
    return [f"_{n}" for n in names]


def _tool_drift(where: str, tools: dict[str, Any]) -> list[str]:
    lines = []
    for key, tool in sorted(tools.items()):
        path = Path(str(tool.get("path")))
        if not path.is_file():
            lines.append(f"{where}: tool {key} {path} is no longer there")
            continue
        if tool.get("sha256") and file_digest(path).get("sha256") != tool["sha256"]:
            lines.append(f"{where}: tool {key} {path} changed (another build or version)")
    return lines


def version_drift(lock: dict[str, Any], tree: dict[str, Any]) -> list[str]:
    """Versions the run found that differ from the lock's, after it ran."""
    locked = {n["where"]: n.get("version") for n in lock["nodes"]}
    lines = []
    for node in walk(tree):
        was = locked.get(node["where"])
        if node["where"] in locked and was != node.get("version"):
            lines.append(f"{node['where']}: version {node.get('version')}, locked {was}")
    return lines
