"""What a script run read: the part of its env and state that scopes its cache key.

A cache entry is reused when every value its run *read* is the same now (ccache's manifests,
Bazel's declared inputs). A :class:`ReadSet` names those values; each item is one string:

``env:NAME``
    the env value ``NAME`` (its const value too: ``--const``/``input_mapping`` force it, and
    the ``+NAME`` lists that extend it in a native script's environment);
``env:PATTERN``, ``env:PATTERN!A,B``
    every env key matching an ``fnmatch`` pattern (``env:X_PYTHON_*``, from ``new_env_keys``),
    except the keys after ``!`` (those the run wrote itself);
``env:#keys``
    the set of env key names (a hook iterated the env); ``env:*`` is the whole env;
``state:NAME``, ``state:PATTERN``, ``state:*``
    top-level state keys (``state:*``: all of it);
``caller:NAME``
    the env exactly as the caller passed it (``i['input']['env']`` in a hook).

Where reads come from (see :mod:`cairn.script.run`): names found in the script's own files
(its meta, ``customize.py``, ``run.sh`` and friends), the engine's own uses (dependency
conditions, export filters), reads a ``customize.py`` makes through :class:`Tracked` dicts,
``cache_key_env`` (meta or ``--cache_key_env``), and everything its dependencies read.

:func:`values` takes the values of a read set from a :class:`View` (the env, const and state
a run starts with); :func:`digest` makes one hex digest of them. Absent keys are simply not
in the values, so "absent" and "present" always differ.

This module has no dependencies beyond the standard library's lightest parts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

EXCEPT = "!"
"""``env:PATTERN!A,B``: the keys matching PATTERN except A and B (an export filter's keys the
run wrote itself)."""
ENV = "env:"
STATE = "state:"
CALLER = "caller:"
KEYS = "#keys"
ALL = "*"
_WILD = frozenset("*?[")


class View:
    """The env, const, state and caller env a run starts with (a snapshot, never changed)."""

    __slots__ = ("_plus", "caller", "const", "env", "state")

    def __init__(
        self,
        env: Mapping[str, Any],
        const: Mapping[str, Any],
        state: Mapping[str, Any],
        caller: Mapping[str, Any],
    ) -> None:
        self.env = _frozen_copy(env)
        self.const = _frozen_copy(const)
        self.state = _frozen_copy(state)
        self.caller = _frozen_copy(caller)
        self._plus: dict[str, list[Any]] | None = None

    def plus(self, name: str) -> list[Any]:
        """The ``+NAME`` lists (``+PATH``, ``'+ CFLAGS'``) that extend env variable ``name``
        when the native script runs: ``[[key, env value, const value], ...]``."""
        if self._plus is None:
            found: dict[str, list[Any]] = {}
            for key in sorted({*self.env, *self.const}):
                if key.startswith("+") and len(key) > 1:
                    var = key[2:] if not key[1].isalnum() else key[1:]
                    found.setdefault(var, []).append([key, self.env.get(key), self.const.get(key)])
            self._plus = found
        return self._plus.get(name, [])

    def full_digest(self, volatile: Iterable[str] = ()) -> str:
        """A digest of everything in the view (except ``volatile`` env keys)."""
        skip = tuple(volatile)
        env = {k: v for k, v in self.env.items() if not _matches(k, skip)}
        return _hash([env, self.const, self.state, self.caller])


def _frozen_copy(value: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy as plain JSON data (values a caller passed that are not JSON: as text)."""
    loaded: dict[str, Any] = json.loads(json.dumps(plain(value), default=str))
    return loaded


def _matches(key: str, patterns: tuple[str, ...]) -> bool:
    return any(key == p or fnmatchcase(key, p) for p in patterns)


def is_pattern(name: str) -> bool:
    return not _WILD.isdisjoint(name)


def values(items: Iterable[str], view: View) -> dict[str, Any]:
    """The value of each item of a read set in ``view`` (absent ones left out)."""
    out: dict[str, Any] = {}
    for item in items:
        found = _value(item, view)
        if found is not None:
            out[item] = found
    return out


def _value(item: str, view: View) -> Any:
    space, _, name = item.partition(":")
    if space == "env":
        return _env_value(name, view)
    if space == "state":
        return _plain_value(name, view.state)
    if space == "caller":
        return _plain_value(name, view.caller)
    raise ValueError(f"not a read item: {item!r}")


def _env_value(name: str, view: View) -> Any:
    """An env name's value, const value and presence, and the ``+NAME`` lists that extend it
    for native programs; a pattern's matching keys; ``#keys``: the set of names."""
    env, const = view.env, view.const
    if name == KEYS:
        return sorted({*env, *const})
    if is_pattern(name):
        pattern, _, but = name.partition(EXCEPT)
        left_out = set(but.split(",")) if but else set()
        keys = sorted(k for k in {*env, *const} if fnmatchcase(k, pattern) and k not in left_out)
        return [[k, env.get(k), const.get(k)] for k in keys] or None
    plus = view.plus(name)
    if name not in env and name not in const and not plus:
        return None
    value = [env.get(name), const.get(name), name in env, name in const]
    return [*value, plus] if plus else value


def _plain_value(name: str, values: Mapping[str, Any]) -> Any:
    if name == KEYS:
        return sorted(values)
    if name == ALL:
        return dict(values)
    if is_pattern(name):
        return {k: v for k, v in sorted(values.items()) if fnmatchcase(k, name)} or None
    return [values[name]] if name in values else None


def digest(items: Iterable[str], view: View) -> str:
    """One digest of the values of ``items`` in ``view``."""
    return _hash(values(items, view))


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def differing(items: Iterable[str], old: Mapping[str, Any], view: View) -> list[str]:
    """The items whose value in ``view`` differs from ``old`` (recorded values)."""
    now = values(items, view)
    canon = _canonical
    return sorted(i for i in {*now, *old} if canon(now.get(i)) != canon(old.get(i)))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


# --- reads made by customize.py --------------------------------------------------------------


class Tracked(dict):  # type: ignore[type-arg]
    """A dict that notes which keys were read (for the live ``env``/``state`` of a hook).

    Getting a key (``[]``, ``get``, ``in``, ``setdefault``, ``pop``) reads it; iterating
    the keys (or ``len``) reads the key set; ``items``/``values`` read everything, item by
    item. Copies (``dict(env)``, ``{**env}``) go through ``keys`` and ``[]``, so they read
    every key. :func:`plain` takes the values back without reading anything.
    """

    __slots__ = ("read",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().setdefault(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        self.read.add(key)
        return super().pop(key, *default)

    def __iter__(self) -> Iterator[str]:
        self.read.add(KEYS)
        return super().__iter__()

    def keys(self) -> Any:
        self.read.add(KEYS)
        return super().keys()

    def __len__(self) -> int:
        self.read.add(KEYS)
        return super().__len__()

    def items(self) -> Any:
        self.read.add(ALL)
        return super().items()

    def values(self) -> Any:
        self.read.add(ALL)
        return super().values()

    def copy(self) -> dict[str, Any]:
        self.read.add(ALL)
        return plain(self)

    def __eq__(self, other: object) -> bool:
        self.read.add(ALL)
        return super().__eq__(other)

    __hash__ = None


def plain(value: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict of ``value``'s items; a :class:`Tracked` dict notes no read."""
    # dict.copy() of a subclass that overrides keys()/__getitem__ goes through them (a read
    # of every key); the C-level items view does not.
    return dict(dict.items(value)) if isinstance(value, dict) else dict(value)


def tracked_items(space: str, tracked: Tracked) -> set[str]:
    """The read items a :class:`Tracked` dict noted, in namespace ``space`` (``env:``...)."""
    out = set()
    for key in tracked.read:
        if key == ALL:
            out.add(space + ALL)
        else:
            out.add(space + key)
    return out
