"""What the page of a cache entry or a run record shows above the common artifact page.

A cache entry: the script that made it (linked), its version, the entries it came from
(linked) and what it hands back (``new_env``; ``new_state`` keys). A run record: when, how
long, its status and error, the command, the script and cache status of each node of its
tree (linked to the scripts and the entries it used), and the top script's outputs. Values
are cut at :data:`MAX_VALUE` characters and lists at :data:`MAX_ROWS` rows; everything is
escaped by the template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

MAX_VALUE = 300
MAX_ROWS = 200
MAX_BYTES = 4 * 1024 * 1024


def _cut(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _read(path: Path) -> dict[str, Any]:
    """A JSON file of the artifact (``{}`` when missing, too large or broken)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _link(kind: str, name: str) -> str:
    return f"/a/{kind}/{quote(name, safe='')}"


def _pairs(values: Any) -> list[tuple[str, str]]:
    if not isinstance(values, dict):
        return []
    return [(str(k), _cut(v)) for k, v in sorted(values.items())[:MAX_ROWS]]


def cache_entry(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The summary of the cache entry in ``folder`` (``meta``: its ``_cm.json``)."""
    state = _read(folder / "cm-cached-state.json")
    script = meta.get("associated_script_artifact_uid") or meta.get("associated_script_artifact")
    deps = [str(u) for u in meta.get("cairn_dep_entries") or [] if isinstance(u, str)]
    return {
        "kind": "cache",
        "script": (str(script), _link("script", str(script))) if script else None,
        "version": meta.get("version"),
        "deps": [(u, _link("cache", f"local:{u}")) for u in deps[:MAX_ROWS]],
        "new_env": _pairs(state.get("new_env")),
        "new_state": sorted(str(k) for k in (state.get("new_state") or {}))[:MAX_ROWS],
    }


def run_record(folder: Path) -> dict[str, Any]:
    """The summary of the run record in ``folder``."""
    record = _read(folder / "cairn-run.json")
    nodes = [_node(n) for n in _walk(record.get("tree"))][:MAX_ROWS]
    outputs = _mapping(record.get("outputs"))
    return {
        "kind": "run",
        "started": record.get("started"),
        "seconds": record.get("seconds"),
        "status": record.get("status"),
        "error": _cut(record.get("error")) if record.get("error") else None,
        "command": _cut(record.get("command") or {}),
        "nodes": nodes,
        "new_env": _pairs(outputs.get("new_env")),
    }


def _walk(node: Any) -> list[dict[str, Any]]:
    if not isinstance(node, dict):
        return []
    found = [node]
    for child in node.get("deps") or []:
        found += _walk(child)
    return found


def _node(node: dict[str, Any]) -> dict[str, Any]:
    script = _mapping(node.get("script"))
    name = str(script.get("uid") or script.get("alias") or "")
    entry = Path(str(node["entry"])).name if node.get("entry") else None
    return {
        "where": _cut(node.get("where") or ""),
        "script": (str(script.get("alias") or name), _link("script", name)) if name else None,
        "cache": node.get("cache"),
        "entry": (str(entry), _link("cache", f"local:{entry}")) if entry else None,
        "seconds": node.get("seconds"),
    }
