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
import re
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


_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
HOOKS_FILE = "customize.py"
STATE_FILE_NAME = b"tmp-state.json"
"""A script whose files name this reads the whole state (the native script's copy of it)."""


def content_digest(script_dir: Path, meta: Mapping[str, Any]) -> str:
    """The meta and the files of a script directory (small files, bounded count)."""
    return scan(script_dir, meta).digest


class Scan:
    """What a script directory's files say: their digest and every name they mention."""

    __slots__ = ("digest", "env_names", "files", "names", "reads_state")

    def __init__(
        self,
        digest: str,
        names: frozenset[str],
        reads_state: bool,
        files: tuple[str, ...] = (),
        env_names: frozenset[str] | None = None,
    ) -> None:
        self.digest = digest
        self.names = names
        """Every identifier in the meta and the files."""
        self.env_names = names if env_names is None else env_names
        """The identifiers outside ``customize.py``: what a native script may read. A hook's
        reads are seen as they happen (tracked dicts), so naming a key there (often to set
        it) is no read."""
        self.reads_state = reads_state
        self.files = files
        """The script's files, relative to its directory."""

    def has_os_variants(self, name: str) -> bool:
        """Whether native script ``name`` has OS-specific files (``run-ubuntu.sh``...), whose
        choice reads the host OS keys."""
        return any(f.startswith(name + "-") and f.endswith(".sh") for f in self.files)


def scan(script_dir: Path, meta: Mapping[str, Any]) -> Scan:
    """One pass over the meta and the files: the content digest, and the identifiers they
    mention (any of which may be an env key the script reads)."""
    text = canonical(meta).encode("utf-8", "surrogateescape")
    h = hashlib.sha256(text)
    names = set(_NAME.findall(text))
    hook_only: set[bytes] = set()
    reads_state = False
    files = []
    for rel, path in _files(script_dir):
        files.append(rel)
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        size = path.stat().st_size
        data = path.read_bytes() if size <= MAX_BYTES else b""
        if rel.endswith(NOTEBOOK_SUFFIX) and data:
            data = notebook_code(path)
        h.update(data if size <= MAX_BYTES else f"size:{size}".encode())
        if data and b"\0" not in data[:1024]:
            found = set(_NAME.findall(data))
            if rel == HOOKS_FILE:
                hook_only |= found
            else:
                names |= found
                reads_state = reads_state or STATE_FILE_NAME in data
    env_names = frozenset(n.decode("ascii") for n in names)
    every = env_names | {n.decode("ascii") for n in hook_only}
    return Scan(h.hexdigest(), every, reads_state, tuple(files), env_names)


NOTEBOOK_SUFFIX = ".ipynb"


def notebook_code(path: Path) -> bytes:
    """What of a notebook enters its script's key: the code cells without their outputs, its
    kernel, and what that kernel runs on (:func:`cairn.notebook.kernel.fingerprint`: its
    command, and for a Python kernel the interpreter and the packages installed for it)."""
    from cairn.errors import InvalidInput
    from cairn.notebook import kernel, nbfile

    try:
        data = nbfile.load(path)
    except InvalidInput:
        return path.read_bytes()  # not a notebook: its bytes, as any file
    code = nbfile.code_of(data)
    environment = kernel.fingerprint(nbfile.kernel_of(data))
    return f"{code}\n{environment}".encode("utf-8", "surrogateescape")


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
    """The directories and files whose change changes :func:`content_digest` of ``root``
    (for a notebook, also its kernel's spec and the folders its Python imports from)."""
    dirs = {root}
    files = []
    for _rel, path in _files(root):
        files.append(path)
        dirs.update(p for p in path.parents if p == root or root in p.parents)
    kernels = [p for p in files if p.suffix == NOTEBOOK_SUFFIX]
    return [*sorted(dirs), *files, *_kernel_paths(kernels)]


def _kernel_paths(notebooks: list[Path]) -> list[Path]:
    """What the keys of ``notebooks`` take from their kernels' installations."""
    if not notebooks:
        return []
    from cairn.errors import InvalidInput
    from cairn.notebook import kernel, nbfile

    names = set()
    for path in notebooks:
        try:
            names.add(nbfile.kernel_of(nbfile.load(path)))
        except InvalidInput:
            continue
    return [p for name in sorted(names) for p in kernel.watched(name)]


Selector = Callable[
    [tuple[str, ...], Path, str | None], tuple[Path, ScriptMeta, dict[str, Any]] | None
]
"""Selects the script a dependency's tags (and its pinned repository) name: (directory, meta,
raw meta), or None."""


class Fingerprints:
    """Memoised fingerprints of scripts and dependencies for one run."""

    def __init__(self, select: Selector) -> None:
        self._select = select
        self._scripts: dict[Path, str] = {}
        self._scans: dict[Path, Scan] = {}
        self._names: dict[Path, frozenset[str]] = {}
        self._active: set[Path] = set()

    def dirs(self) -> list[Path]:
        """The script directories whose content entered a fingerprint so far."""
        return list(self._scripts)

    def scan(self, script_dir: Path, raw: Mapping[str, Any]) -> Scan:
        """The script directory's :func:`scan` (once per run)."""
        found = self._scans.get(script_dir)
        if found is None:
            found = self._scans[script_dir] = scan(script_dir, raw)
        return found

    def dep_names(self, script_dir: Path) -> frozenset[str]:
        """The ``names`` of every dependency in the tree below a fingerprinted script (what an
        ``add_deps_recursive`` entry can change)."""
        return self._names.get(script_dir, frozenset())

    def script(self, script_dir: Path, meta: ScriptMeta, raw: Mapping[str, Any]) -> str:
        """The content of a script and, recursively, of the scripts its dependencies select."""
        if script_dir in self._scripts:
            return self._scripts[script_dir]
        if script_dir in self._active:
            return "cycle:" + str(script_dir)
        self._active.add(script_dir)
        names: set[str] = set()
        try:
            own = [d for name in DEP_LISTS for d in getattr(meta, name)]
            own += [d for v in meta.variations.values() for d in _payload_deps(v)]
            deps = [self.dep(d, script_dir, names) for d in own]
            value = digest([self.scan(script_dir, raw).digest, deps])
        finally:
            self._active.discard(script_dir)
        self._scripts[script_dir] = value
        self._names[script_dir] = frozenset(names)
        return value

    def dep(self, dep: Dep, parent_dir: Path, names: set[str] | None = None) -> str:
        """A dependency entry as written, plus the fingerprint of the script it selects (from
        the script in ``parent_dir``: its own repository is preferred, as in a run)."""
        chosen = self._select(tuple(dep.tags), parent_dir, dep.repo)
        target = self.script(*chosen) if chosen else "unresolved"
        if names is not None:
            names.update(dep.names)
            if chosen:
                names.update(self._names.get(chosen[0], ()))
        return digest([dep_to_dict(dep), target])


def _payload_deps(variation: Any) -> list[Dep]:
    payload = variation.payload
    return [d for name in DEP_LISTS for d in getattr(payload, name)]
