"""``--explain`` predicts, node by node, what the run straight after does.

Each test plans a fixture tree, runs it, and compares the plan's statuses with the run's
(``hit``, ``miss``, ``not cached``, ``reused``). A node the plan leaves to the run
(``decided at run time``) is not compared, and nothing after it among its siblings is
(whether it runs can shift them); each test says how many such nodes it expects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.script_fixtures import ScriptRepo, count, counter, fails, ok
from tests.test_script_scope import pipeline

RUN_TIME = "decided at run time"


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


def compare(plan: dict[str, Any], run: dict[str, Any]) -> tuple[list[str], int]:
    """(mismatches, number of nodes left to the run) between a plan and a run result."""
    if plan["cache"] == RUN_TIME:
        return [], sum(1 for _ in _walk(plan))
    bad = []
    if (plan["alias"], plan["cache"]) != (run["script"], run["cache"]):
        bad.append(f"{plan['where']}: plan {plan['cache']}, run {run['script']} {run['cache']}")
    left = 0
    runs = list(run["deps"])
    for index, child in enumerate(plan["deps"]):
        if child["cache"] == RUN_TIME:
            left += sum(sum(1 for _ in _walk(c)) for c in plan["deps"][index:])
            break
        if index >= len(runs):
            bad.append(f"{child['where']}: planned, but the run did not run it")
            break
        sub_bad, sub_left = compare(child, runs[index])
        bad += sub_bad
        left += sub_left
    else:
        if len(runs) > len(plan["deps"]):
            bad.append(f"{plan['where']}: the run ran {len(runs) - len(plan['deps'])} more")
    return bad, left


def _walk(node: dict[str, Any]) -> Any:
    yield node
    for dep in node["deps"]:
        yield from _walk(dep)


def predicted(tags: str, **kw: Any) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Plan, then run; assert they agree; return both and the nodes left to the run."""
    plan = ok(tags, explain=True, **kw)["plan"]
    result = ok(tags, **kw)
    bad, left = compare(plan, result)
    assert not bad, "\n".join(bad)
    return plan, result, left


def statuses(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["alias"], n["cache"]) for n in _walk(plan)]


def test_the_pipeline_sweep_is_predicted_exactly(repo: ScriptRepo, tmp_path: Path) -> None:
    pipeline(repo, tmp_path)
    plan, _, left = predicted("evaluate")
    assert statuses(plan) == [("evaluate", "miss"), ("train", "miss"), ("get-data", "miss")]
    plan, _, left = predicted("evaluate", epochs="2")
    assert left == 0
    assert statuses(plan) == [("evaluate", "miss"), ("train", "miss"), ("get-data", "hit")]
    train = plan["deps"][0]
    assert train["differs"] == ["env:TRAIN_EPOCHS"]
    assert "nearest entry" in train["why"]
    assert "inputs" in plan["why"]  # evaluate: no entry with the same inputs
    plan, _, left = predicted("evaluate", min_acc="0.9")
    assert statuses(plan)[1:] == [("train", "hit")]  # below a hit only dynamic deps
    assert left == 0
    assert count(tmp_path / "data") == 1


def test_an_explain_runs_nothing(repo: ScriptRepo, tmp_path: Path) -> None:
    pipeline(repo, tmp_path)
    ok("evaluate", explain=True)
    ok("evaluate", epochs="3", explain=True)
    assert not (tmp_path / "data").exists() and not (tmp_path / "train").exists()


def sibling_tree(repo: ScriptRepo, runs: Path) -> None:
    repo.add(
        "sib-one",
        {"cache": True, "new_env_keys": ["SIB_*"]},
        run=counter(runs / "one") + 'echo "SIB_FLAG=on" > tmp-run-env.out\n',
    )
    repo.add(
        "sib-two",
        {"cache": True, "new_env_keys": ["TWO"]},
        run=counter(runs / "two") + 'echo "TWO=$SIB_FLAG" > tmp-run-env.out\n',
    )
    repo.add(
        "sib-top",
        {
            "deps": [
                {"tags": "sib-one"},
                {"tags": "sib-two", "enable_if_env": {"SIB_FLAG": ["on"]}},
                {"tags": "sib-two", "skip_if_env": {"SIB_FLAG": ["on"]}, "names": ["never"]},
            ]
        },
    )


def test_sibling_exports_decide_later_edges(repo: ScriptRepo, tmp_path: Path) -> None:
    sibling_tree(repo, tmp_path)
    plan, _, left = predicted("sib-top")
    assert statuses(plan)[:2] == [("sib-top", "not cached"), ("sib-one", "miss")]
    assert left == 2  # both sib-two edges read SIB_FLAG, which sib-one will export
    assert "SIB_FLAG" in plan["deps"][1]["why"]
    plan, result, left = predicted("sib-top")
    assert left == 0
    assert statuses(plan) == [("sib-top", "not cached"), ("sib-one", "hit"), ("sib-two", "hit")]
    assert plan["skipped"] == ["deps[2] (sib-two): condition not met"]
    assert result["deps"][1]["new_env"] == {"TWO": "on"}


def test_a_partially_cached_tree(repo: ScriptRepo, tmp_path: Path) -> None:
    repo.add("part-a", {"cache": True}, run=counter(tmp_path / "a"))
    repo.add("part-b", {}, run=counter(tmp_path / "b"))
    repo.add("part-c", {"cache": True}, run=counter(tmp_path / "c") + ': "$PART_X"\n')
    deps = [{"tags": "part-a"}, {"tags": "part-b"}, {"tags": "part-c"}]
    repo.add("part-top", {"cache": True, "deps": deps})
    predicted("part-top", env={"PART_X": "1"})
    plan, _, left = predicted("part-top", env={"PART_X": "2"})
    assert left == 0
    assert statuses(plan) == [
        ("part-top", "miss"),
        ("part-a", "hit"),
        ("part-b", "not cached"),
        ("part-c", "miss"),
    ]
    assert plan["deps"][2]["differs"] == ["env:PART_X"]
    assert plan["differs"] == ["env:PART_X"]  # the top's entry read it through part-c


def test_a_script_met_twice_with_the_same_values_is_reused(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    repo.add("twice-leaf", {"cache": True}, run=counter(tmp_path / "leaf"))
    deps = [{"tags": "twice-leaf"}, {"tags": "twice-leaf", "env": {"UNREAD": "1"}}]
    repo.add("twice-top", {"deps": deps})
    ok("twice-leaf")
    plan, _, left = predicted("twice-top")
    assert left == 0
    assert statuses(plan)[1:] == [("twice-leaf", "hit"), ("twice-leaf", "reused")]


def test_adr_overrides_are_planned(repo: ScriptRepo, tmp_path: Path) -> None:
    repo.add(
        "adr-leaf",
        {
            "cache": True,
            "variations": {"one": {"default": True, "group": "g"}, "two": {"group": "g"}},
        },
        run=counter(tmp_path / "leaf"),
    )
    repo.add("adr-mid", {"cache": True, "deps": [{"tags": "adr-leaf", "names": ["leaf"]}]})
    repo.add("adr-top", {"cache": True, "deps": [{"tags": "adr-mid"}]})
    predicted("adr-top")
    plan, result, left = predicted("adr-top", adr={"leaf": {"tags": "_two"}})
    assert left == 0
    assert statuses(plan) == [("adr-top", "miss"), ("adr-mid", "miss"), ("adr-leaf", "miss")]
    assert result["deps"][0]["deps"][0]["variations"] == ["_two"]
    plan, _, _ = predicted("adr-top")
    assert statuses(plan) == [("adr-top", "hit")]


def test_a_hook_before_a_list_leaves_it_to_the_run(repo: ScriptRepo, tmp_path: Path) -> None:
    repo.add("hooked-leaf", {"cache": True}, run=counter(tmp_path / "leaf"))
    repo.add(
        "hooked",
        {"prehook_deps": [{"tags": "hooked-leaf"}]},
        customize="""
            def preprocess(i):
                i['env']['SET_BY_HOOK'] = 'yes'
                return {'return': 0}
            """,
    )
    ok("hooked")
    plan = ok("hooked", explain=True)["plan"]
    [leaf] = plan["deps"]
    assert leaf["cache"] == RUN_TIME and "earlier step may change" in leaf["why"]


def test_explain_json_and_console_show_the_statuses(
    repo: ScriptRepo, tmp_path: Path, cli: Any
) -> None:
    pipeline(repo, tmp_path)
    ok("evaluate")
    proc = cli("run", "script", "evaluate", "--epochs=5", "--explain", "--out=json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)["plan"]
    assert [n["cache"] for n in _walk(plan)] == ["miss", "miss", "hit"]
    text = cli("run", "script", "evaluate", "--epochs=5", "--explain").stdout
    assert "cache: hit" in text and "why: nearest entry" in text


def test_a_missing_dependency_is_shown_where_it_is(repo: ScriptRepo) -> None:
    repo.add("lost-mid", {"deps": [{"tags": "get,python-nowhere"}, {"tags": "get,tokenizer"}]})
    repo.add("lost-top", {"deps": [{"tags": "lost-mid"}]})
    where = "lost-top -> deps[0] lost-mid -> deps[0] (get,python-nowhere)"
    planned = fails("lost-top", explain=True)["error"]
    assert planned.startswith(where + ": ") and "python-nowhere" in planned
    error = fails("lost-top")["error"]
    assert error.startswith(where + ": ")


def test_a_plan_is_serialisable_and_comparable(repo: ScriptRepo, tmp_path: Path) -> None:
    from cairn.script.plan import PlanNode

    pipeline(repo, tmp_path)
    ok("evaluate")
    first = ok("evaluate", epochs="7", explain=True)["plan"]
    node = PlanNode.from_json(json.loads(json.dumps(first)))
    assert node.to_json() == first
    assert node == PlanNode.from_json(first)
    assert node != PlanNode.from_json(ok("evaluate", explain=True)["plan"])
