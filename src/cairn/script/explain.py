"""``cairn run script ... --explain``: the plan of a run, without running anything native.

For the chosen script and, recursively, each dependency that is enabled with the env known
before the run: which script was chosen and why, which variations are on and why, and the
cache status (hit, miss, not cached). Below a hit only the ``dynamic`` dependencies are
listed, since only they run. Conditions that depend on what earlier dependencies
will export are evaluated on the env known now; the plan says so.
"""

from __future__ import annotations

from typing import Any

from cairn.record import MutableDefaulted, field
from cairn.script import deps as deps_mod
from cairn.script.context import RunInput
from cairn.script.model import DEP_LISTS, Dep
from cairn.script.run import ScriptRun, Session


class PlanNode(MutableDefaulted):
    """One script in the plan."""

    alias: str
    repo: str
    path: str
    reason: str
    variations: list[str]
    cache: str
    entry: str | None
    stage: str = "main"
    deps: list[PlanNode] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **{n: getattr(self, n) for n in self._fields},
            "deps": [d.to_json() for d in self.deps],
        }

    def lines(self, indent: int = 0) -> list[str]:
        pad = "  " * indent
        head = f"{pad}{self.stage}: {self.alias} [{self.repo}] cache: {self.cache}"
        out = [head + (f" ({self.entry})" if self.entry else "")]
        out.append(f"{pad}  chosen: {self.reason}")
        out += [f"{pad}  {line}" for line in self.variations]
        for dep in self.deps:
            out += dep.lines(indent + 1)
        return out


def plan(session: Session, inp: RunInput, stage: str = "main") -> PlanNode:
    """Plan ``inp`` and its enabled dependencies (a cycle is reported as an error)."""
    run = ScriptRun(session, inp)
    run.select()
    run.resolve()
    with session.entered(run):
        run.layer()
        run.prepare()
        node = _node(run, stage)
        cached = node.cache == "hit"
        for name in DEP_LISTS:
            node.deps += [
                _plan_dep(session, run, d, name)
                for d in run.eff.deps[name]
                if deps_mod.enabled(d, run.eff.env, fake_run=run.inp.fake_run, cached=cached)
            ]
        return node


def _node(run: ScriptRun, stage: str) -> PlanNode:
    key = run.key()
    status, entry = "not cached", None
    if run.cacheable:
        found = run.session.cache.find(key, run.view)
        status, entry = ("hit", str(found.path)) if found else ("miss", None)
    return PlanNode(
        alias=run.alias,
        repo=run.artifact.repo.alias,
        path=str(run.dir),
        reason=run.choice_reason or "the only script matching " + str(run.request),
        variations=run.resolution.explain().splitlines() if run.resolution.variations else [],
        cache=status,
        entry=entry,
        stage=stage,
    )


def _plan_dep(session: Session, parent: ScriptRun, dep: Dep, stage: str) -> PlanNode:
    child, _ = parent.child_input(dep, stage)
    return plan(session, child, stage)
