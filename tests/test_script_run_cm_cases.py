"""CM scripts found wanting by a new user (issue 17, CM side): extra words after the tags are
artifacts for the script, ``preprocess`` may hand the run to another script even with
``skip``, a hook that changes directory leaves no cairn file among the user's, and a missing
``CM_GET_DEPENDENT_CACHED_PATH`` is no reason to drop a cache entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import json_out
from tests.script_fixtures import ScriptRepo, cache_entries, count, counter, ok

SEEN_ARTIFACTS = """
def preprocess(i):
    i['env']['SEEN'] = ','.join(i['input'].get('artifacts', []))
    i['env']['SEEN_TAGS'] = i['input']['tags']
    return {'return': 0}
"""


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


def _venv(repo: ScriptRepo) -> None:
    repo.add(
        "set-venv",
        {"new_env_keys": ["SEEN*"], "variations": {"v1": {}}},
        tags=["set", "venv"],
        customize=SEEN_ARTIFACTS,
    )


def test_words_after_the_tags_are_artifacts_for_the_script(repo: ScriptRepo, cli: Any) -> None:
    _venv(repo)
    out = json_out(cli("run", "script", "set venv", "tvenv2", "--out=json"))
    assert out["new_env"] == {"SEEN": "tvenv2", "SEEN_TAGS": "set,venv"}
    out = json_out(cli("run", "script", "set-venv", "_v1", "a", "b", "--out=json"))
    assert out["new_env"]["SEEN"] == "a,b"
    assert out["variations"] == ["_v1"]


def test_api_artifacts_without_an_artifact_are_for_the_script(repo: ScriptRepo) -> None:
    _venv(repo)
    r = ok("set,venv", artifacts=["tvenv3"])
    assert r["new_env"]["SEEN"] == "tvenv3"
    assert ok(None, artifact="set-venv", artifacts=["x"])["new_env"]["SEEN"] == "x"


DEPENDENT = 'echo "CM_GET_DEPENDENT_CACHED_PATH={path}" > tmp-run-env.out\n'


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_dependent_path_that_is_no_folder_keeps_the_entry(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path, kind: str
) -> None:
    runs, target = tmp_path / "runs", tmp_path / "not-a-folder"
    if kind == "file":
        target.write_text("x")
    repo.add("dep-path", {"cache": True}, run=counter(runs) + DEPENDENT.format(path=target))
    assert ok("dep-path")["cache"] == "miss"
    assert ok("dep-path")["cache"] == "hit"
    assert count(runs) == 1
    assert "dependent_cached_path" not in cache_entries(cairn_home)[0]


def test_a_dependent_folder_is_recorded_and_its_removal_reruns(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path
) -> None:
    runs, folder = tmp_path / "runs", tmp_path / "model"
    folder.mkdir()
    repo.add("dep-dir", {"cache": True}, run=counter(runs) + DEPENDENT.format(path=folder))
    ok("dep-dir")
    assert cache_entries(cairn_home)[0]["dependent_cached_path"] == str(folder)
    assert ok("dep-dir")["cache"] == "hit"
    folder.rmdir()
    assert ok("dep-dir")["cache"] == "miss"
    assert count(runs) == 2


SKIP_TO_INSTALLER = """
def preprocess(i):
    if i['env'].get('FOUND'):
        return {'return': 0, 'skip': True}
    return {'return': 0, 'skip': True, 'script': {'tags': 'install,tool', 'flavor': 'big'}}

def postprocess(i):
    raise RuntimeError('postprocess must not run after a skip')
"""


def test_skip_with_a_script_runs_that_script_in_its_place(repo: ScriptRepo, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    repo.add(
        "install-tool",
        {
            "cache": True,
            "input_mapping": {"flavor": "TOOL_FLAVOR"},
            "new_env_keys": ["TOOL_BIN"],
        },
        tags=["install", "tool"],
        run=counter(runs) + 'echo "TOOL_BIN=/opt/$TOOL_FLAVOR/$PARENT_SET" > tmp-run-env.out\n',
    )
    repo.add(
        "get-tool",
        {"cache": True, "default_env": {"PARENT_SET": "p"}},
        tags=["get", "tool"],
        customize=SKIP_TO_INSTALLER,
        run="exit 3\n",
    )
    r = ok("get,tool")
    assert r["new_env"] == {"TOOL_BIN": "/opt/big/p"}
    assert [d["script"] for d in r["deps"]] == ["install-tool"]
    assert ok("get,tool")["new_env"] == {"TOOL_BIN": "/opt/big/p"}
    assert count(runs) == 1  # the installer's own entry serves the second time
    assert ok("get,tool", env={"FOUND": "1"})["new_env"] == {}


MOVE_TO = """
import os

def preprocess(i):
    os.makedirs(i['input']['to'], exist_ok=True)
    os.chdir(i['input']['to'])
    return {'return': 0}
"""


@pytest.mark.parametrize("cached", [True, False])
def test_a_hook_that_moves_leaves_no_cairn_file_among_the_users(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path, cached: bool
) -> None:
    dest = tmp_path / "dest"
    repo.add(
        "unpack",
        {"cache": cached, "new_env_keys": ["WHERE"]},
        customize=MOVE_TO,
        run='echo unpacking\necho data > made.txt\necho "WHERE=$PWD" > tmp-run-env.out\n',
    )
    r = ok("unpack", to=str(dest))
    assert r["new_env"]["WHERE"] == str(dest)  # the native script ran where the hook moved
    assert sorted(p.name for p in dest.iterdir()) == ["made.txt"]
    if cached:
        entry = Path(cache_entries(cairn_home)[0]["path"])
        assert (entry / "cairn-run.log").read_text() == "unpacking\n"
