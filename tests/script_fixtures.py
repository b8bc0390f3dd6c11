"""Small fixture repositories of scripts for the end-to-end engine tests.

``ScriptRepo`` writes a repository (``cmr.yaml`` with a quoted uid) and scripts in it
(``script/<alias>/_cm.yaml`` with quoted uids, ``run.sh``, ``customize.py``, other files),
registers it with ``cairn.access``, and runs scripts through the dict API.
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import yaml

import cairn

SCRIPT_UID = "5b4e0237da074764"


def uid_for(name: str) -> str:
    """A stable 16-hex uid for ``name`` (sometimes all digits: quoting matters)."""
    return hashlib.sha256(name.encode()).hexdigest()[:16]


class ScriptRepo:
    """A repository of test scripts in ``root``, registered on first use."""

    def __init__(self, root: Path, alias: str = "t") -> None:
        self.root = root
        self.alias = alias
        root.mkdir(parents=True, exist_ok=True)
        (root / "cmr.yaml").write_text(f'alias: {alias}\nuid: "{uid_for("repo-" + alias)}"\n')
        self.registered = False

    def add(
        self,
        alias: str,
        meta: dict[str, Any] | None = None,
        *,
        run: str | None = None,
        customize: str | None = None,
        files: dict[str, str] | None = None,
        tags: list[str] | None = None,
    ) -> Path:
        """Write script ``alias``; ``tags`` default to ``[alias]``; returns its directory."""
        path = self.root / "script" / alias
        path.mkdir(parents=True, exist_ok=True)
        head = (
            f"alias: {alias}\n"
            f'uid: "{uid_for(alias)}"\n'
            "automation_alias: script\n"
            f'automation_uid: "{SCRIPT_UID}"\n'
        )
        body = {"tags": tags or [alias], **(meta or {})}
        (path / "_cm.yaml").write_text(head + yaml.safe_dump(body, sort_keys=False))
        if run is not None:
            (path / "run.sh").write_text(textwrap.dedent(run).lstrip())
        if customize is not None:
            (path / "customize.py").write_text(textwrap.dedent(customize).lstrip())
        for name, content in (files or {}).items():
            (path / name).write_text(textwrap.dedent(content).lstrip())
        self.register()
        return path

    def register(self) -> None:
        if self.registered:
            return
        r = cairn.access({"action": "add", "automation": "repo", "artifact": str(self.root)})
        assert r["return"] == 0, r.get("error")
        self.registered = True


def run(tags: str | None = None, **kw: Any) -> dict[str, Any]:
    """``cairn.access`` run of a script; returns CM's result dict."""
    i: dict[str, Any] = {"action": "run", "automation": "script", **kw}
    if tags is not None:
        i["tags"] = tags
    return cairn.access(i)


def ok(tags: str | None = None, **kw: Any) -> dict[str, Any]:
    """Like :func:`run`, but the run must succeed."""
    r = run(tags, **kw)
    assert r["return"] == 0, r.get("error")
    return r


def fails(tags: str | None = None, **kw: Any) -> dict[str, Any]:
    """Like :func:`run`, but the run must fail."""
    r = run(tags, **kw)
    assert r["return"] > 0, r
    return r


def cache_entries(home: Path) -> list[dict[str, Any]]:
    """The ``_cm.json`` of every complete cache entry in ``home``."""
    folder = home / "local" / "cache"
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.iterdir()):
        meta = entry / "_cm.json"
        if entry.is_dir() and not entry.name.startswith(".") and meta.is_file():
            found.append({**json.loads(meta.read_text()), "path": str(entry)})
    return found


def tree(path: Path) -> dict[str, int]:
    """Every file under ``path`` with its size and mtime (to see that nothing changed)."""
    found = {}
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            file = Path(dirpath, name)
            stat = file.stat()
            found[str(file.relative_to(path))] = stat.st_mtime_ns ^ stat.st_size
    return found


def counter(path: Path) -> str:
    """A ``run.sh`` line that counts executions in ``path`` (outside any work dir)."""
    return f"echo x >> {path}\n"


def count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def bench_pipeline(root: Path, counter: Path, *, sleep: float = 0.0) -> ScriptRepo:
    """``prepare data`` (cached; appends ``$CAIRN_HOME`` to ``counter`` each time it really
    runs) -> ``app bench`` (inputs batch_size, threads; exports THROUGHPUT and LATENCY; fails
    for batch size 4 with 3 threads), for the experiment tests."""
    repo = ScriptRepo(root)
    repo.add(
        "prepare-data",
        {"cache": True, "new_env_keys": ["DATA_PATH"]},
        tags=["prepare", "data"],
        run=f"""
            echo "$CAIRN_HOME" >> {counter}
            mkdir -p data && echo x > data/f
            echo "DATA_PATH=$PWD/data" > tmp-run-env.out
        """,
    )
    repo.add(
        "bench",
        {
            "deps": [{"tags": "prepare,data"}],
            "input_mapping": {"batch_size": "BS", "threads": "THREADS"},
            "new_env_keys": ["THROUGHPUT", "LATENCY"],
        },
        tags=["app", "bench"],
        run=f"""
            test -f "$DATA_PATH/f" || exit 5
            sleep {sleep}
            if [ "$BS" = 4 ] && [ "$THREADS" = 3 ]; then echo "out of memory" >&2; exit 1; fi
            echo "THROUGHPUT=$((BS * THREADS * 10))" > tmp-run-env.out
            echo "LATENCY=$((BS * 3 + 1))" >> tmp-run-env.out
        """,
    )
    return repo
