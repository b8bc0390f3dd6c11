"""The records that cross the boundaries of a script run: its input, its result, its options."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cairn.record import Defaulted, MutableDefaulted
from cairn.script.model import Dep

VERSION_FIELDS = ("version", "version_min", "version_max", "version_max_usable")


class RunOptions(Defaulted):
    """Flags that hold for a whole run tree."""

    _defaults = {
        "quiet": False,
        "silent": False,
        "verbose": False,
        "dirty": False,
        "fake_deps": False,
        "print_env": False,
        "chooser": None,
        "echo": None,
        "output": None,
        "cache_key_env": (),
    }
    _fields = (*_defaults,)
    __slots__ = _fields
    quiet: bool
    silent: bool
    verbose: bool
    dirty: bool
    fake_deps: bool
    print_env: bool
    chooser: Callable[[list[Any]], int] | None
    echo: Callable[[str], None] | None
    output: Callable[[bytes], None] | None
    cache_key_env: tuple[str, ...]
    """Env names or patterns every script of the run counts as read (widens cache keys)."""


class RunInput(MutableDefaulted):
    """What one script run is asked to do (the top-level request, or one dependency)."""

    _defaults = {
        "tags": None,
        "name": None,
        "env": dict,
        "state": dict,
        "const": dict,
        "const_state": dict,
        "local_env": dict,
        "inputs": dict,
        "flags": dict,
        "versions": dict,
        "add_deps": dict,
        "adr": dict,
        "extra_cache_tags": (),
        "force_cache": False,
        "skip_cache": False,
        "new": False,
        "ignore_script_error": False,
        "fake_run": False,
        "force_new_env_keys": None,
        "parent": "",
        "parent_repo": None,
    }
    _fields = (*_defaults,)
    __slots__ = _fields
    tags: str | list[str] | None
    name: str | None
    env: dict[str, Any]
    state: dict[str, Any]
    const: dict[str, Any]
    const_state: dict[str, Any]
    local_env: dict[str, Any]
    inputs: dict[str, Any]
    flags: dict[str, Any]
    """The run flags as given (``--new=DIR``): ``input_mapping`` may map them, as in CM; they
    are no input of the cache key (only what a mapping puts into the env is)."""
    versions: dict[str, str]
    add_deps: dict[str, Dep]
    adr: dict[str, Dep]
    extra_cache_tags: tuple[str, ...]
    force_cache: bool
    skip_cache: bool
    new: bool
    ignore_script_error: bool
    fake_run: bool
    force_new_env_keys: tuple[str, ...] | None
    parent: str
    parent_repo: Path | None
    """The repository of the script whose dependency this is: preferred among equal choices."""


class RunResult(MutableDefaulted):
    """What a script run gives back (CM's result keys, plus the tree and the cache status)."""

    _defaults = {
        "deps": list,
        "work": None,
        "key": "",
        "reads": (),
    }
    _fields = (
        "alias",
        "uid",
        "path",
        "tags",
        "variations",
        "version",
        "cache",
        "entry",
        "new_env",
        "new_state",
        *_defaults,
    )
    __slots__ = _fields
    alias: str
    uid: str
    path: Path
    tags: str
    variations: tuple[str, ...]
    version: str | None
    cache: str  # "hit", "miss", "not cached", "reused", "skipped"
    entry: Path | None
    new_env: dict[str, Any]
    new_state: dict[str, Any]
    deps: list[RunResult]
    work: Path | None
    key: str
    reads: tuple[str, ...]
    """What the run read of the env and state it started with (:mod:`cairn.script.reads`)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "script": self.alias or self.uid,
            "uid": self.uid,
            "path": str(self.path),
            "tags": self.tags,
            "variations": [f"_{v}" for v in self.variations],
            "version": self.version,
            "cache": self.cache,
            "cache_entry": str(self.entry) if self.entry else None,
            "new_env": self.new_env,
            "new_state": self.new_state,
            "deps": [d.to_json() for d in self.deps],
        }
