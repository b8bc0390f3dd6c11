"""Pins: the repository whose script serves a request by tags, whatever else matches.

Adding a repository can change which script serves a request (its ``get python3`` over the
built-in one; :mod:`cairn.script.choices` says so once). A pin keeps the choice::

    pin   := TAGS "=" REPO
    TAGS  := tag ("," tag)*     script tags, in any order; no variations, no excluded tags
    REPO  := alias | uid        a registered repository

A pin applies to every request (the top one or a dependency's, at any depth) that asks by
tags for script tags all among ``TAGS`` -- a pin ``get,get-python3,python,python3`` (a
script's whole tag set) covers ``get,python3``, ``python3,get`` and ``get,python``;
variations and excluded tags do not count -- unless the dependency names its own ``repo``.
When several pins cover a request, the one with the fewest tags wins (then the first in
order). Only the pinned repository's scripts are candidates then, and when none matches the
run fails naming the scripts that do. A request by name (``run script builtin:get-python3``)
needs no pin.

Pins come from ``$CAIRN_HOME/pins.json`` (``{"format": 1, "pins": {"get,python3":
"builtin"}}``), written by ``cairn pin script TAGS REPO`` (listed by ``cairn pin script``,
removed with ``--remove``), and from the run flag ``--pin.TAGS=REPO``, which wins for one run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cairn import atomic, ids
from cairn.errors import InvalidInput

FILE = "pins.json"
FORMAT = 1


def key_of(tags: str | Iterable[str]) -> str:
    """The canonical ``TAGS`` of a pin: its tags sorted and unique, comma-separated."""
    words = ids.split_list(tags.replace(" ", ",") if isinstance(tags, str) else tags)
    bad = [w for w in words if w.startswith(("_", "-"))]
    if bad or not words:
        raise InvalidInput(
            f"pin tags {','.join(words) or '(none)'!r}: a pin names script tags only"
            + (f" ({', '.join(bad)} is not one)" if bad else ""),
            hint="e.g. cairn pin script get,python3 builtin",
        )
    return ",".join(sorted(set(words)))


def repo_of(value: Any, where: str) -> str:
    """A pin's repository (alias or uid), checked."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{where}: a pin names a repository (alias or uid), got {value!r}")
    ids.parse_part(value.strip(), patterns=False, what="repository")
    return value.strip()


def from_flag(given: Mapping[str, Any]) -> dict[str, str]:
    """``--pin.TAGS=REPO`` (each key canonical)."""
    return {key_of(k): repo_of(v, f"--pin.{k}") for k, v in given.items()}


def tags_of(request: Any) -> str | None:
    """The ``TAGS`` of a :class:`~cairn.script.select.ScriptRequest` (sorted, unique), the
    smallest pin that covers it; None for a request by name (it needs no pin)."""
    if request.name is not None or not request.tags.include:
        return None
    return ",".join(sorted(set(request.tags.include)))


def covering(pins: Mapping[str, str], request: Any) -> str | None:
    """The pin (its ``TAGS``) that applies to ``request``: of those whose tags include all
    the request's, the one with the fewest tags."""
    wanted = tags_of(request)
    if wanted is None or not pins:
        return None
    asked = set(wanted.split(","))
    found = [k for k in pins if asked <= set(k.split(","))]
    return min(found, key=lambda k: (k.count(","), k)) if found else None


def read(home_root: Path) -> dict[str, str]:
    """The pins of a home (none without the file); a broken file is an error naming it."""
    file = home_root / FILE
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
        found = data["pins"] if isinstance(data, dict) else None
        if not isinstance(found, dict):
            raise ValueError("no 'pins' mapping")
        return {key_of(k): repo_of(v, f"{file}: pin {k!r}") for k, v in found.items()}
    except (ValueError, KeyError, InvalidInput) as exc:
        raise InvalidInput(
            f"{file} is not a pins file: {exc}",
            hint=f"fix it, or remove it to drop every pin (format: {example()})",
        ) from exc


def change(home_root: Path, tags: str, repo: str | None) -> dict[str, str]:
    """Pin ``tags`` to ``repo`` (``None``: unpin) in a home's file, read and written under
    its lock; returns the pins now."""
    file = home_root / FILE
    with atomic.lock(home_root / "locks" / "pins.lock"):
        pins = read(home_root)
        if repo is None:
            pins.pop(tags, None)
        else:
            pins[tags] = repo
        text = json.dumps({"format": FORMAT, "pins": dict(sorted(pins.items()))}, indent=1)
        atomic.write_text(file, text + "\n")
    return pins


def example() -> str:
    return json.dumps({"format": FORMAT, "pins": {"get,python3": "builtin"}})
