"""The dependencies an image runs while it is built, so it carries their cache entries.

The script's plan (:mod:`cairn.script.plan`) is made as for ``--explain``, keeping the run
input of every step. Each cached dependency (a hit, a miss, or decided at run time; never the
top script, a step not cached, or one reused) becomes a request ``prerun/N.json`` for
``cairn run script @prerun/N.json``, in the order a run meets them (a dependency before the
script that needs it); the plan goes below this machine's cache hits too, since the image
starts with an empty cache. The image runs each in its own layer; the run at start is then a cache
hit for them when it gives them the same values (its plan says so).

A request carries what a dependency is given: its tags, env (its own ``env`` over the one it
sees), state, const, version bounds, extra cache tags and the inputs its entry names. A step
that a request cannot describe (``add_deps_recursive`` from above, ``force_new_env_keys``, a
``repo`` restriction, a value that is not JSON) is not pre-run: it runs at start as before.
"""

from __future__ import annotations

import json
from typing import Any

from cairn.script.context import VERSION_FIELDS, RunInput
from cairn.script.plan import HIT, MISS, RUN_TIME, PlanFailed, Planner, PlanNode
from cairn.script.run import Session

_CACHED = (HIT, MISS, RUN_TIME)


class _Recording(Planner):
    """A planner that keeps each step's run input, dependencies before their parent."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.steps: list[tuple[RunInput, PlanNode]] = []

    def node(
        self, inp: RunInput, stage: str, where: str, unknown: set[str]
    ) -> tuple[PlanNode, Any]:
        node, exports = super().node(inp, stage, where, unknown)
        self.steps.append((inp, node))
        return node, exports

    def _children(self, run: Any, node: PlanNode, unknown: set[str]) -> None:
        """Below a hit too: the image has none of this machine's cache entries."""
        if node.cache != HIT:
            super()._children(run, node, unknown)
            return
        node.cache = MISS
        try:
            super()._children(run, node, unknown)
        finally:
            node.cache = HIT


def plan(session: Session, inp: RunInput) -> tuple[PlanNode, list[dict[str, Any]]]:
    """The plan of ``inp`` and the requests of the dependencies to pre-run, in order."""
    recording = _Recording(session)
    top = recording.node(inp, "main", "", set())[0]
    for sub in top.walk():
        if sub.error is not None:
            raise PlanFailed(f"{sub.where}: {sub.error}")
    requests = []
    for step, node in recording.steps[:-1]:
        request = _request(step) if node.cache in _CACHED else None
        if request is not None:
            requests.append(request)
    return top, requests


def _request(inp: RunInput) -> dict[str, Any] | None:
    """The ``run script`` request a step's input is, or None when one cannot say it."""
    if inp.adr or inp.force_new_env_keys is not None or inp.repo or not inp.tags:
        return None
    tags = inp.tags if isinstance(inp.tags, list) else str(inp.tags).split(",")
    request: dict[str, Any] = {
        **inp.inputs,
        "action": "run",
        "automation": "script",
        "tags": ",".join(tags),
        "env": {**inp.env, **inp.local_env},
        "state": inp.state,
        "const": inp.const,
        "const_state": inp.const_state,
        **{f: inp.versions[f] for f in VERSION_FIELDS if inp.versions.get(f)},
    }
    if inp.extra_cache_tags:
        request["extra_cache_tags"] = ",".join(inp.extra_cache_tags)
    if inp.force_cache:
        request["force_cache"] = True
    try:
        json.dumps(request)
    except (TypeError, ValueError):
        return None
    return request
