"""Built-in scripts never shadow a repository's script of the same tags: in runs, in
dependencies and in searches made by hooks (:mod:`cairn.compat.searches`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cairn
from cairn.compat.searches import is_script_search
from tests.script_fixtures import ScriptRepo, ok

OWN_DETECT = 'echo "CM_HOST_OS_FLAVOR=mine" > tmp-run-env.out\n'

SEARCH = """
import cmind, json

def preprocess(i):
    found = {
        'shim': cmind.access({'action': 'find', 'automation': 'script', 'tags': 'detect,os'}),
        'automation': i['automation'].cmind.access(
            {'action': 'search', 'automation': 'script,5b4e0237da074764', 'tags': 'detect,os'}),
    }
    paths = {k: [str(a.path) for a in r['list']] for k, r in found.items()}
    with open(i['env']['OUT_FILE'], 'w') as f:
        json.dump(paths, f)
    return {'return': 0}
"""


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    r = ScriptRepo(tmp_path / "repo")
    r.add(
        "detect-os",
        {"new_env_keys": ["CM_HOST_OS_*"], "sort": 5000},
        tags=["detect-os", "detect", "os"],
        run=OWN_DETECT,
    )
    return r


def test_a_run_takes_the_repository_script_even_with_a_higher_sort(repo: ScriptRepo) -> None:
    r = ok("detect,os")
    assert r["new_env"]["CM_HOST_OS_FLAVOR"] == "mine"
    repo.add("user", {"deps": [{"tags": "detect,os"}]})
    assert ok("user")["deps"][0]["path"] == str(repo.root / "script" / "detect-os")


def test_naming_the_built_in_script_still_runs_it(repo: ScriptRepo) -> None:
    r = ok(artifact="builtin:detect-os")
    assert r["new_env"]["CM_HOST_OS_FLAVOR"] != "mine"


def test_hook_searches_leave_the_built_in_fallback_out(repo: ScriptRepo, tmp_path: Path) -> None:
    out = tmp_path / "found.json"
    repo.add("searcher", {"default_env": {"OUT_FILE": str(out)}}, customize=SEARCH)
    ok("searcher")

    own = str(repo.root / "script" / "detect-os")
    assert json.loads(out.read_text()) == {"shim": [own], "automation": [own]}


def test_hook_searches_keep_the_built_in_script_when_it_is_the_only_one(
    tmp_path: Path,
) -> None:
    out = tmp_path / "found.json"
    ScriptRepo(tmp_path / "other").add(
        "searcher", {"default_env": {"OUT_FILE": str(out)}}, customize=SEARCH
    )
    ok("searcher")

    found = json.loads(out.read_text())
    assert [Path(p).name for p in found["shim"]] == ["detect-os"]
    assert found["shim"] == found["automation"]


def test_a_user_find_lists_both(repo: ScriptRepo) -> None:
    r = cairn.access({"action": "find", "automation": "script", "tags": "detect,os"})
    assert len(r["list"]) == 2


@pytest.mark.parametrize(
    ("i", "expected"),
    [
        ({"action": "find", "automation": "script"}, True),
        ({"action": "ls", "automation": "5b4e0237da074764"}, True),
        ({"action": "find", "automation": "cache"}, False),
        ({"action": "run", "automation": "script"}, False),
    ],
)
def test_which_inputs_are_script_searches(i: dict[str, str], expected: bool) -> None:
    assert is_script_search(i) is expected
