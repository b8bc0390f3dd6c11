"""The records that cross the boundaries of a script run: its input, its result, its options."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cairn.record import Defaulted, MutableDefaulted, field
from cairn.script.model import Dep

VERSION_FIELDS = ("version", "version_min", "version_max", "version_max_usable")


class RunOptions(Defaulted):
    """Flags that hold for a whole run tree."""

    quiet: bool = False
    silent: bool = False
    verbose: bool = False
    dirty: bool = False
    fake_deps: bool = False
    print_env: bool = False
    chooser: Callable[[list[Any]], int] | None = None
    echo: Callable[[str], None] | None = None
    output: Callable[[bytes], None] | None = None
    strict: bool = False
    """Inputs no script takes are errors, not warnings."""
    cache_key_env: tuple[str, ...] = ()
    """Env names or patterns every script of the run counts as read (widens cache keys)."""
    cache_from: tuple[str, ...] = ()
    """Shared caches (``cairn serve --cache`` URLs) a miss is taken from before running."""
    pins: dict[str, str] = field(default_factory=dict)
    """``--pin.TAGS=REPO``: repositories pinned for requests by tags (over the home's pins)."""


class RunInput(MutableDefaulted):
    """What one script run is asked to do (the top-level request, or one dependency)."""

    tags: str | list[str] | None = None
    name: str | None = None
    env: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    const: dict[str, Any] = field(default_factory=dict)
    const_state: dict[str, Any] = field(default_factory=dict)
    local_env: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    """The run flags as given (``--new=DIR``): ``input_mapping`` may map them, as in CM; they
    are no input of the cache key (only what a mapping puts into the env is)."""
    versions: dict[str, str] = field(default_factory=dict)
    add_deps: dict[str, Dep] = field(default_factory=dict)
    adr: dict[str, Dep] = field(default_factory=dict)
    extra_cache_tags: tuple[str, ...] = ()
    force_cache: bool = False
    skip_cache: bool = False
    new: bool = False
    ignore_script_error: bool = False
    fake_run: bool = False
    force_new_env_keys: tuple[str, ...] | None = None
    cache_expiration: int | None = None
    """Seconds the parent's entries live, for a dependency with ``inherit_cache_expiration``
    (used when the child's meta gives none)."""
    parent: str = ""
    parent_repo: Path | None = None
    """The repository of the script whose dependency this is: preferred among equal choices."""
    repo: str | None = None
    """The repository (alias or uid) the chosen script must come from (a dependency's
    ``repo``)."""
    parent_work: Path | None = None
    """Where the script whose dependency this is runs: a dependency that is not cached runs
    there too (None: the current directory)."""
    where: str = ""
    """The path from the top to this dependency: ``evaluate -> deps[0] train -> deps[2]``."""


class RunResult(MutableDefaulted):
    """What a script run gives back (CM's result keys, plus the tree and the cache status)."""

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
    deps: list[RunResult] = field(default_factory=list)
    work: Path | None = None
    key: str = ""
    reads: tuple[str, ...] = ()
    """What the run read of the env and state it started with (:mod:`cairn.script.reads`)."""
    read_values: dict[str, Any] = field(default_factory=dict)
    """The values of ``reads`` in the env and state the run started with."""
    static_key: str = ""
    where: str = ""
    """The path from the top of the run tree: ``evaluate -> deps[0] train``."""
    content: str = ""
    """The digest of the script's meta and files."""
    repo: str = ""
    """The alias of the script's repository."""
    repo_path: Path | None = None
    repo_uid: str | None = None
    seconds: float = 0.0
    """How long the run took, its dependencies included."""
    results: tuple[str, ...] = ()
    """The exports an experiment records as results (the meta's ``experiment_results``)."""
    uses: tuple[str, ...] = ()
    """The uids of the cache entries its outputs came from: its own (a hit or a miss) and
    those of every cached dependency below it."""
    notebook: str | None = None
    """A notebook step's executed copy (in the cache entry, or under ``$CAIRN_HOME``)."""

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
            "experiment_results": list(self.results),
            "deps": [d.to_json() for d in self.deps],
        }
