"""Experiments as artifacts: found by name or tags, made on first use, their rows loaded.

An experiment is an artifact of kind ``experiment`` (CM's uid ``a0a2d123ef064bcb``) whose
folder holds one dated folder per sweep (:mod:`cairn.experiment.sweep`). CM's experiments
(``cm-result.json`` only) and cairn's (with ``cairn-sweep.json`` too) are read alike; each
row is given the key ``sweep`` (its folder's name) so rows of several sweeps stay apart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cairn.errors import InvalidInput, NotFound
from cairn.experiment import results, sweep
from cairn.kinds import KNOWN
from cairn.record import Defaulted, field
from cairn.store.artifact import Artifact
from cairn.store.catalog import Catalog, Query, Target

KIND = KNOWN["experiment"]


class Loaded(Defaulted):
    """An experiment's rows (of the chosen sweeps) and what is known of their shape."""

    artifact: Artifact
    sweeps: list[Path]
    rows: list[dict[str, Any]]
    inputs: list[str] = field(default_factory=list)  # explored keys (cairn sweeps)


def find(catalog: Catalog, name: str | None, tags: Any = None) -> Artifact:
    """The one experiment named ``name`` (``[repo:]alias|uid``) or matching ``tags``."""
    query = Query.parse(KIND, name, tags)
    if query.is_empty:
        raise InvalidInput(
            "which experiment? give its name or --tags",
            hint="see: cairn find experiment",
        )
    return catalog.find_one(query)


def find_or_add(catalog: Catalog, name: str | None, tags: Sequence[str]) -> Artifact:
    """The experiment ``name`` (or with ``tags``), made in the local repository if none."""
    query = Query.parse(KIND, name, list(tags) if tags else None)
    if query.is_empty:
        raise InvalidInput(
            "name the experiment: cairn run experiment NAME ... (or give --tags)",
            hint="it is made on first use and found by its name or tags afterwards",
        )
    found = catalog.find(query)
    if len(found) == 1:
        return found[0]
    if found:
        return catalog.find_one(query)  # raises Ambiguous, listing them
    alias = query.name.alias if query.name else None
    data = {"tags": list(tags)}
    return catalog.add(KIND, Target(catalog.registry.local(), alias, None), data, "json")


def load(artifact: Artifact, which: str | None = None) -> Loaded:
    """The rows of ``artifact``'s sweeps: all, ``latest``, or the one named ``which``."""
    folders = sweep.sweep_folders(artifact.path)
    chosen = _chosen(folders, which, artifact)
    rows: list[dict[str, Any]] = []
    inputs: dict[str, None] = {}
    for folder in chosen:
        order = _point_order(folder)
        found = results.read(folder / results.RESULT_FILE)
        if order:
            found.sort(key=lambda r: (order.get(str(r.get("point")), len(order)), _repeat(r)))
        name = folder.name
        rows += [{**row, "sweep": name} for row in found]
        inputs.update(dict.fromkeys(_inputs_of(folder)))
    return Loaded(artifact=artifact, sweeps=chosen, rows=rows, inputs=list(inputs))


def _chosen(folders: list[Path], which: str | None, artifact: Artifact) -> list[Path]:
    if not which:
        return folders
    if which == "latest":
        return folders[-1:]
    picked = [f for f in folders if f.name == which or f.name.startswith(which)]
    if len(picked) != 1:
        names = ", ".join(f.name for f in folders) or "none"
        raise NotFound(
            f"experiment {artifact.alias or artifact.uid}:"
            f" {'no' if not picked else 'several'} sweeps match {which!r}",
            hint=f"its sweeps: {names}; or --sweep=latest",
        )
    return picked


def _points(folder: Path) -> list[dict[str, Any]]:
    """The points a cairn sweep lists (none for CM's)."""
    try:
        data = json.loads((folder / sweep.SWEEP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    points = data.get("points") if isinstance(data, dict) else None
    return [p for p in points or [] if isinstance(p, dict)]


def _inputs_of(folder: Path) -> list[str]:
    keys: dict[str, None] = {}
    for point in _points(folder):
        keys.update(dict.fromkeys(point.get("values") or {}))
    return list(keys)


def _point_order(folder: Path) -> dict[str, int]:
    """Each point's place in its sweep (rows are written as runs finish, in any order)."""
    return {str(p.get("id")): i for i, p in enumerate(_points(folder))}


def _repeat(row: dict[str, Any]) -> int:
    value = row.get("repeat")
    return value if isinstance(value, int) else 0
