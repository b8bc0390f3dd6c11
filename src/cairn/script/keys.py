"""Fingerprints for cache keys: a script's content, and the dependency tree below it.

A script's *content digest* covers its merged meta and the bytes of its files (``customize.py``,
native scripts, helpers), so editing any of them changes every cache key that depends on it.
A dependency's *fingerprint* covers the dependency entry as written and the fingerprint of the
script its tags select, recursively (cycles are cut), so a change anywhere below a cached
script gives it a new key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from cairn.script.model import DEP_LISTS, Dep, ScriptMeta, dep_to_dict

MAX_FILES = 400
MAX_BYTES = 4 * 1024 * 1024
_SKIP_DIRS = {".git", "__pycache__", ".cairn-tmp"}


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, anything unknown as its ``str``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode("utf-8", "surrogateescape")).hexdigest()


def content_digest(script_dir: Path, meta: Mapping[str, Any]) -> str:
    """The meta and the files of a script directory (small files, bounded count)."""
    h = hashlib.sha256(canonical(meta).encode("utf-8", "surrogateescape"))
    for rel, path in _files(script_dir):
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        size = path.stat().st_size
        h.update(path.read_bytes() if size <= MAX_BYTES else f"size:{size}".encode())
    return h.hexdigest()


def _files(root: Path) -> Iterable[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(("tmp-", ".")) or name.endswith(".pyc"):
                continue
            path = Path(dirpath, name)
            found.append((path.relative_to(root).as_posix(), path))
            if len(found) >= MAX_FILES:
                return found
    return found


def watched(root: Path) -> list[Path]:
    """The directories and files whose change changes :func:`content_digest` of ``root``."""
    dirs = {root}
    files = []
    for _rel, path in _files(root):
        files.append(path)
        dirs.update(p for p in path.parents if p == root or root in p.parents)
    return [*sorted(dirs), *files]


Selector = Callable[[tuple[str, ...], Path], tuple[Path, ScriptMeta, dict[str, Any]] | None]
"""Selects the script a dependency's tags name: (directory, meta, raw meta), or None."""


class Fingerprints:
    """Memoised fingerprints of scripts and dependencies for one run."""

    def __init__(self, select: Selector) -> None:
        self._select = select
        self._scripts: dict[Path, str] = {}
        self._active: set[Path] = set()

    def dirs(self) -> list[Path]:
        """The script directories whose content entered a fingerprint so far."""
        return list(self._scripts)

    def script(self, script_dir: Path, meta: ScriptMeta, raw: Mapping[str, Any]) -> str:
        """The content of a script and, recursively, of the scripts its dependencies select."""
        if script_dir in self._scripts:
            return self._scripts[script_dir]
        if script_dir in self._active:
            return "cycle:" + str(script_dir)
        self._active.add(script_dir)
        try:
            deps = [self.dep(d, script_dir) for name in DEP_LISTS for d in getattr(meta, name)]
            deps += [
                self.dep(d, script_dir) for v in meta.variations.values() for d in _payload_deps(v)
            ]
            value = digest([content_digest(script_dir, raw), deps])
        finally:
            self._active.discard(script_dir)
        self._scripts[script_dir] = value
        return value

    def dep(self, dep: Dep, parent_dir: Path) -> str:
        """A dependency entry as written, plus the fingerprint of the script it selects (from
        the script in ``parent_dir``: its own repository is preferred, as in a run)."""
        chosen = self._select(tuple(dep.tags), parent_dir)
        target = self.script(*chosen) if chosen else "unresolved"
        return digest([dep_to_dict(dep), target])


def _payload_deps(variation: Any) -> list[Dep]:
    payload = variation.payload
    return [d for name in DEP_LISTS for d in getattr(payload, name)]
