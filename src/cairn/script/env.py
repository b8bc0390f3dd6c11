"""Env and state operations of a script run, as small pure functions on plain dicts.

An env is ``dict[str, Any]``: values are strings, except ``+KEY`` entries, which hold lists
(``+PATH``, ``+LD_LIBRARY_PATH``, ``+ CFLAGS``; see :mod:`cairn.script.native` for how they
are exported). Bools and numbers given on the command line or in meta may appear too.

No function here mutates its arguments; each returns new dicts. Nested values of the
inputs may be shared with the results, except where a function says otherwise.

The rules follow CM (cm-script.md §1.1, §1.3, §2.3 and §2.5):

* ``<<<KEY>>>`` placeholders are replaced from the env (:func:`substitute`);
* ``enable_if_env``/``skip_if_env`` use CM's loose truth words (:func:`matches_env`);
* local keys are hidden from dependencies (:func:`hide_local`);
* ``new_env_keys``/``new_state_keys`` select what a script exports (:func:`filter_new`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from cairn import meta
from cairn.errors import InvalidInput

Env = dict[str, Any]


TRUE_WORDS = frozenset({"yes", "on", "true", "1"})
FALSE_WORDS = frozenset({"no", "off", "false", "0"})

_PLACEHOLDER = re.compile(r"<<<(.*?)>>>")
_WILDCARD = re.compile(r"[*?\[]")


def text(value: Any) -> str:
    """The string CM shows for a scalar env value: bools are ``True``/``False``, numbers ``str``."""
    return value if isinstance(value, str) else str(value)


# --- <<<KEY>>> substitution ---------------------------------------------------------------


def substitute(env: Mapping[str, Any]) -> Env:
    """Replace ``<<<KEY>>>`` in string values and in the string items of lists.

    * A placeholder is replaced by the value of ``KEY``, itself substituted first, so chains
      (``A=<<<B>>>``, ``B=<<<C>>>``) resolve in one call whatever the key order. CM resolves
      one level per call and relies on being called again; the final result is the same.
    * A placeholder that cannot be resolved stays as it is: ``KEY`` is missing, holds a list,
      a dict or ``None``, or refers back to a key being resolved (``A=x<<<A>>>`` stays
      ``x<<<A>>>``; in a cycle, the placeholder that closes it stays). Nothing loops.
    * Compatibility choice: bool values become the strings ``"True"``/``"False"`` (and a bool
      placeholder is replaced by them), exactly as CM does before ``preprocess`` and at export,
      because real ``customize.py`` code and shell scripts compare against those strings.
      Numbers are left as numbers (CM does too) and only stringified when substituted or
      exported.
    * A ``+KEY`` that does not hold a list is an error (:class:`~cairn.errors.InvalidInput`).
    """
    check_plus_lists(env)
    resolve = _resolver(env)
    return {key: _substitute_value(key, value, resolve) for key, value in env.items()}


def expand_text(value: str, env: Mapping[str, Any]) -> str:
    """``value`` with its ``<<<KEY>>>`` placeholders replaced from ``env``, as :func:`substitute`
    does for the values of an env (unresolvable placeholders stay)."""
    return _resolver(env)(value, "")


def check_plus_lists(env: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidInput` naming the first ``+KEY`` whose value is not a list."""
    for key, value in env.items():
        if key.startswith("+") and not isinstance(value, list):
            raise InvalidInput(
                f"env key {key!r} must hold a list, not {type(value).__name__} {value!r}",
                hint="'+' keys are path-like lists such as +PATH",
            )


def _substitute_value(key: str, value: Any, resolve: Callable[[str, str], str]) -> Any:
    if isinstance(value, bool):
        return text(value)
    if isinstance(value, str):
        return resolve(value, key)
    if isinstance(value, list):
        return [resolve(item, key) if isinstance(item, str) else item for item in value]
    return value


def _resolver(env: Mapping[str, Any]) -> Callable[[str, str], str]:
    """A function expanding the placeholders of a string held by ``owner``.

    Each key's own expansion is computed once; a key being expanded is never looked up
    again from inside its own expansion, which is what stops self-references and cycles.
    """
    done: dict[str, str | None] = {}
    active: set[str] = set()

    def key_text(name: str) -> str | None:
        if name not in done:
            value = env.get(name)
            if name in active or not _is_scalar(value):
                return None
            done[name] = expand(value, name) if isinstance(value, str) else text(value)
        return done[name]

    def expand(value: str, owner: str) -> str:
        if "<<<" not in value:
            return value
        active.add(owner)
        try:
            return _PLACEHOLDER.sub(lambda m: _or_placeholder(key_text(m.group(1)), m), value)
        finally:
            active.discard(owner)

    return expand


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool | int | float)


def _or_placeholder(found: str | None, match: re.Match[str]) -> str:
    return match.group(0) if found is None else found


# --- +KEY lists -----------------------------------------------------------------------------


def merge_plus(env: Mapping[str, Any], key: str, values: Iterable[Any] | str) -> Env:
    """Append ``values`` to the ``+KEY`` list ``key``, skipping items already present.

    The list is created when missing; a single string counts as one item. ``key`` must start
    with ``+`` and an existing value must be a list, else :class:`InvalidInput`.
    """
    if not key.startswith("+"):
        raise InvalidInput(f"env key {key!r} is not a '+' list key", hint="use e.g. '+PATH'")
    old = env.get(key, [])
    if not isinstance(old, list):
        check_plus_lists({key: old})
    items = [values] if isinstance(values, str) else list(values)
    merged = list(old)
    merged.extend(item for item in _unique(items) if item not in old)
    return {**env, key: merged}


def _unique(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


# --- enable_if_env / skip_if_env -------------------------------------------------------------


def matches_env(
    conditions: Mapping[str, Any], env: Mapping[str, Any], any_of: bool = False
) -> bool:
    """Whether ``env`` satisfies ``{KEY: [values]}`` (``enable_if_env``/``skip_if_env``).

    Each key matches as in cm-mlops: a missing key never matches. When the wanted values
    (compared as lower-case strings, so a YAML ``yes`` read as ``True`` counts as ``true``)
    include one of ``yes``/``on``/``true``/``1``, any value except ``no``/``off``/``false``/``0``
    matches -- so ``[yes]`` accepts ``"7"`` and also ``""``, as in CM. Otherwise, when they
    include one of ``no``/``off``/``false``/``0``, only those false words match. Otherwise the
    match is exact and case-insensitive. A single wanted value may be given without a list.

    Keys combine with AND (``enable_if_env``); with ``any_of`` they combine with OR
    (cm4mlops' ``enable_if_any_env``/``skip_if_any_env``), and an empty mapping then matches
    nothing, while an empty mapping matches everything with AND.
    """
    results = (_key_matches(key, wanted, env) for key, wanted in conditions.items())
    return any(results) if any_of else all(results)


def _key_matches(key: str, wanted: Any, env: Mapping[str, Any]) -> bool:
    if key not in env:
        return False
    items = wanted if isinstance(wanted, list | tuple) else [wanted]
    words = {text(w).lower() for w in items}
    value = text(env[key]).lower()
    if words & TRUE_WORDS:
        return value not in FALSE_WORDS
    if words & FALSE_WORDS:
        return value in FALSE_WORDS
    return value in words


# --- local keys ---------------------------------------------------------------------------


def matches_any(key: str, patterns: Iterable[str]) -> bool:
    """Whether ``key`` equals or ``fnmatch``-es (case-sensitively) one of ``patterns``."""
    return any(key == p or fnmatchcase(key, p) for p in patterns)


def hide_local(
    env: Mapping[str, Any], patterns: Iterable[str], force: Iterable[str] = ()
) -> tuple[Env, Env]:
    """Split ``env`` into (what a dependency may see, what is hidden from it).

    Hidden: keys matching ``patterns`` (exact names or wildcards; callers pass the dialect's
    local keys, :attr:`cairn.engine_vars.EngineVars.local`, plus the script's
    ``local_env_keys``) and every key whose value still contains an unresolved ``<<<``
    placeholder. Keys matching ``force`` (``force_env_keys``, or the version keys for
    ``reuse_version``) stay visible anyway.
    """
    patterns, force = list(patterns), list(force)
    visible: Env = {}
    hidden: Env = {}
    for key, value in env.items():
        local = matches_any(key, patterns) or _has_placeholder(value)
        target = hidden if local and not matches_any(key, force) else visible
        target[key] = value
    return visible, hidden


def _has_placeholder(value: Any) -> bool:
    if isinstance(value, list):
        return any(isinstance(item, str) and "<<<" in item for item in value)
    return isinstance(value, str) and "<<<" in value


# --- new_env_keys / new_state_keys ----------------------------------------------------------


def filter_new(
    values: Mapping[str, Any],
    patterns: Iterable[str],
    names_from: Mapping[str, Any] | None = None,
) -> Env:
    """Keep the entries of ``values`` selected by ``new_env_keys``/``new_state_keys`` patterns.

    A pattern is an exact name (``+PATH`` selects the ``+PATH`` list), an ``fnmatch`` wildcard
    (``X_GCC_*``, case-sensitive), or ``<<<VAR>>>``: the entry whose *name* is the value of
    ``VAR`` in ``names_from`` (default: ``values`` itself), so ``<<<X_ENV_KEY>>>`` with
    ``X_ENV_KEY=X_Y`` exports ``X_Y``. The result keeps the order of ``values``.
    """
    names = values if names_from is None else names_from
    exact: set[str] = set()
    wildcards: list[str] = []
    for pattern in patterns:
        if _PLACEHOLDER.fullmatch(pattern):
            exact.add(text(names.get(pattern[3:-3], "")))
        elif _WILDCARD.search(pattern):
            wildcards.append(pattern)
        else:
            exact.add(pattern)
    return {k: v for k, v in values.items() if k in exact or matches_any(k, wildcards)}


# --- state ------------------------------------------------------------------------------------


def merge_state(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``b`` over ``a``: dicts recurse, lists are appended without duplicates,
    anything else in ``b`` replaces. Returns a new dict sharing nothing mutable with either."""
    return meta.merge(dict(a), dict(b), append_lists=True)
