"""Which reads scope a script run's key: where they come from, and the run tree's memo.

:mod:`cairn.script.reads` says what a read item is; this module says which items one run
collects (see docs/scripts.md, "What goes into a cache key"):

* every identifier in the script's own files and meta (:func:`static_reads`): a native
  script may read any env key it names (``customize.py`` is left out: a hook's reads are
  seen as they happen);
* the engine's own uses on the script's behalf: the export filters (``new_env_keys``,
  ``new_state_keys``, with ``<<<VAR>>>`` indirection), ``env_key_mappings`` prefixes, the
  dependency entries' conditions as they are after ``adr``/``add_deps`` updates, the host OS
  keys that choose a native script (:func:`native_reads`);
* ``cache_key_env`` in the meta (or ``--cache_key_env``): names or patterns declared read;
* what ``customize.py`` read through its tracked dicts (:func:`hook_reads`);
* what every dependency run read (:func:`from_child`), since its env came from this run's.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any

from cairn.engine_vars import EngineVars
from cairn.script import reads as reads_mod
from cairn.script.model import DEP_LISTS, dep_to_dict

PROCESS_ENV_KEYS = (
    "PATH",
    "LD_LIBRARY_PATH",
    "LIBRARY_PATH",
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "CC",
    "CXX",
    "FC",
    "CFLAGS",
    "CXXFLAGS",
    "CPPFLAGS",
    "LDFLAGS",
    "OMP_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
)
"""What every native program may read without naming it: the search paths, the compiler
variables, thread and device counts (each with the ``+NAME`` lists that extend it)."""
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER = re.compile(r"<<<(.*?)>>>")


def static_reads(
    scan: Any,
    eff: Any,
    meta: Any,
    view: reads_mod.View,
    names: EngineVars,
    exports: Iterable[str] | None = None,
) -> set[str]:
    """What a run reads before any hook runs: names in its files, the engine's uses (in the
    script's dialect, ``names``). ``exports`` replaces the export filter (a dependency's
    ``force_new_env_keys``)."""
    env = reads_mod.ENV
    items = {env + name for name in scan.env_names}
    items.update(env + k for k in names.engine_reads)
    for name in DEP_LISTS:
        for dep in eff.deps[name]:
            items.update(env + n for n in _NAME.findall(repr(dep_to_dict(dep))))
    exported = eff.new_env_keys if exports is None else exports
    items |= _filter_reads(env, [p for p in exported if not reads_mod.is_pattern(p)], view)
    items |= _filter_reads(reads_mod.STATE, eff.new_state_keys, view)
    items.update(env + f"{prefix}*" for prefix in meta.env_key_mappings)
    items.update(env + k for k in meta.cache_key_env)
    return items


def export_pattern_reads(
    patterns: Iterable[str], view: reads_mod.View, final: dict[str, Any], const: dict[str, Any]
) -> set[str]:
    """What an export filter's wildcard patterns read, known once the run is done: the
    caller's values of the matching keys the run did *not* write, since those pass through
    into its exports. A key the run created or changed is its own output (a function of
    what it read), so the caller's value of it is left out: ``env:X_HOST_OS_*!X_HOST_OS_TYPE``
    reads every ``X_HOST_OS_*`` key except ``X_HOST_OS_TYPE``."""
    items = set()
    for pattern in patterns:
        if not reads_mod.is_pattern(pattern) or _PLACEHOLDER.fullmatch(pattern):
            continue
        written = sorted(k for k in {*final, *const} if _own(k, pattern, view, final, const))
        suffix = reads_mod.EXCEPT + ",".join(written) if written else ""
        items.add(reads_mod.ENV + pattern + suffix)
    return items


def _own(
    key: str, pattern: str, view: reads_mod.View, final: dict[str, Any], const: dict[str, Any]
) -> bool:
    from fnmatch import fnmatchcase

    if not fnmatchcase(key, pattern) or reads_mod.EXCEPT in key or "," in key:
        return False
    before = view.const.get(key, view.env.get(key, _ABSENT))
    after = const.get(key, final.get(key, _ABSENT))
    return before is _ABSENT or _text(before) != _text(after)


_ABSENT = object()


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _filter_reads(space: str, patterns: Iterable[str], view: reads_mod.View) -> set[str]:
    """An export filter reads what it exports: a name, a pattern, or ``<<<VAR>>>`` (VAR, and
    the key VAR names)."""
    items = set()
    for pattern in patterns:
        found = _PLACEHOLDER.fullmatch(pattern)
        if found:
            var = found.group(1)
            items.add(reads_mod.ENV + var)
            target = view.const.get(var, view.env.get(var))
            if target:
                items.add(space + str(target))
        else:
            items.add(space + pattern)
    return items


def native_reads(scan: Any, name: str, names: EngineVars) -> set[str]:
    """What running native script ``name`` reads besides the names in its files: the process
    env every program may read (:data:`PROCESS_ENV_KEYS`), the host OS keys when they choose
    among OS-specific files, the state's ``script_prefix`` lines, and the whole state when
    the files name the state file."""
    items = {reads_mod.STATE + "script_prefix"}
    items.update(reads_mod.ENV + k for k in PROCESS_ENV_KEYS)
    if scan.has_os_variants(name):
        items.update(reads_mod.ENV + k for k in names.native_reads)
    if scan.reads_state:
        items.add(reads_mod.STATE + reads_mod.ALL)
    return items


def hook_reads(eff: Any, caller: Any) -> set[str]:
    """What ``customize.py`` read through the tracked ``env``/``const``/``state`` of the run
    and the caller's env (``i['input']['env']``)."""
    items: set[str] = set()
    for space, value in (
        (reads_mod.ENV, eff.env),
        (reads_mod.ENV, eff.const),
        (reads_mod.STATE, eff.state),
        (reads_mod.CALLER, caller),
    ):
        if isinstance(value, reads_mod.Tracked):
            items |= reads_mod.tracked_items(space, value)
    return items


def from_child(items: Iterable[str]) -> set[str]:
    """A dependency's reads, as reads of its parent: the env a child's caller passed is
    the parent's env."""
    out = set()
    for item in items:
        if item.startswith(reads_mod.CALLER):
            out.add(reads_mod.ENV + item[len(reads_mod.CALLER) :])
        else:
            out.add(item)
    return out


def final(items: Iterable[str], names: EngineVars) -> tuple[str, ...]:
    """The sorted read items of a run, without the keys that are never part of a key (the
    dialect's :attr:`~cairn.engine_vars.EngineVars.unscoped`)."""
    env = reads_mod.ENV
    exact, prefixes = _unscoped(names)
    kept = []
    for item in items:
        name = item[len(env) :] if item.startswith(env) else None
        unscoped = name is not None and (name in exact or name.startswith(prefixes))
        if unscoped and not reads_mod.is_pattern(name or ""):
            continue
        kept.append(item)
    return tuple(sorted(set(kept)))


@functools.cache
def _unscoped(names: EngineVars) -> tuple[frozenset[str], tuple[str, ...]]:
    """The unscoped keys of a dialect as exact names and prefixes (once per dialect)."""
    exact = frozenset(p for p in names.unscoped if not p.endswith("*"))
    return exact, tuple(p[:-1] for p in names.unscoped if p.endswith("*"))


def entry_reads(entry: Any) -> tuple[str, ...]:
    """The read items a cache entry recorded."""
    recorded = entry.meta.get("cairn_reads")
    items = recorded.get("items") if isinstance(recorded, dict) else None
    return tuple(str(i) for i in items) if isinstance(items, list) else ()


class Memo:
    """Runs already made in this run tree, found as the cache finds entries: by static key
    and the values of what each read."""

    def __init__(self) -> None:
        self._runs: dict[str, list[tuple[tuple[str, ...], str, Any]]] = {}

    def find(self, static: str, view: reads_mod.View) -> Any:
        for items, digest, result in self._runs.get(static, ()):
            if reads_mod.digest(items, view) == digest:
                return result
        return None

    def add(self, static: str, view: reads_mod.View, result: Any) -> None:
        items = tuple(result.reads)
        self._runs.setdefault(static, []).insert(0, (items, reads_mod.digest(items, view), result))
