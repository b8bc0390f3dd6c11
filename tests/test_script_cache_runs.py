"""End-to-end runs of cached scripts: hits and misses, what makes a new entry, failures, races."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cairn
from tests.script_fixtures import ScriptRepo, cache_entries, count, counter, fails, ok


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def add_cached(repo: ScriptRepo, runs: Path, **meta: Any) -> Path:
    return repo.add(
        "cached",
        {
            "cache": True,
            "tags": ["get", "cached-thing"],
            "new_env_keys": ["THING_*"],
            "input_mapping": {"flavor": "THING_FLAVOR"},
            "variations": {"small": {"env": {"THING_SIZE": "small"}}, "big": {}},
            "versions": {"1.0": {}, "2.0": {}},
            **meta,
        },
        run=counter(runs) + ': "$CM_TMP_OPTION"\necho "THING_PATH=$PWD" > tmp-run-env.out\n',
    )


def test_cached_script_runs_once_then_hits(repo: ScriptRepo, runs: Path, cairn_home: Path) -> None:
    path = add_cached(repo, runs)
    first = ok("get,cached-thing")
    assert first["cache"] == "miss"
    entry = Path(first["cache_entry"])
    assert first["new_env"] == {"THING_PATH": str(entry)}  # the script ran in its entry
    second = ok("get,cached-thing")
    assert second["cache"] == "hit"
    assert second["new_env"] == first["new_env"]
    assert count(runs) == 1
    [meta] = cache_entries(cairn_home)
    assert Path(meta["path"]) == entry
    assert {
        "get",
        "cached-thing",
        f"script-artifact-{meta['associated_script_artifact_uid']}",
    } <= set(meta["tags"])
    assert meta["associated_script_artifact"].startswith("cached,")
    state = json.loads((entry / "cm-cached-state.json").read_text())
    assert state["new_env"] == {"THING_PATH": str(entry)}
    assert not (path / "tmp-run.sh").exists()


def test_entries_are_found_by_cm_tags(repo: ScriptRepo, runs: Path) -> None:
    add_cached(repo, runs)
    ok("get,cached-thing,_small")
    found = cairn.access({"action": "find", "automation": "cache", "tags": "cached-thing,_small"})
    assert found["return"] == 0, found.get("error")
    assert len(found["list"]) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"env": {"THING_OTHER": "1"}},
        {"env": {"CM_TMP_OPTION": "1"}},
        {"tags": "get,cached-thing,_small"},
        {"version": "1.0"},
        {"flavor": "mint"},
        {"const": {"THING_C": "1"}},
        {"extra_cache_tags": "mine"},
    ],
)
def test_a_different_input_makes_another_entry(
    repo: ScriptRepo, runs: Path, cairn_home: Path, change: dict[str, Any]
) -> None:
    add_cached(repo, runs)
    request: dict[str, Any] = {"tags": "get,cached-thing", **change}
    tags = request.pop("tags")
    ok("get,cached-thing")
    assert ok(tags, **request)["cache"] == "miss"
    assert ok(tags, **request)["cache"] == "hit"
    assert ok("get,cached-thing")["cache"] == "hit"
    assert count(runs) == 2
    assert len(cache_entries(cairn_home)) == 2


@pytest.mark.parametrize(
    "change",
    [{"env": {"OTHER": "1"}}, {"env": {"CM_TMP_OTHER": "1"}}, {"const": {"C": "1"}}],
)
def test_a_value_the_script_never_reads_reuses_the_entry(
    repo: ScriptRepo, runs: Path, cairn_home: Path, change: dict[str, Any]
) -> None:
    add_cached(repo, runs)
    ok("get,cached-thing")
    assert ok("get,cached-thing", **change)["cache"] == "hit"
    assert count(runs) == 1
    assert len(cache_entries(cairn_home)) == 1


def test_where_the_run_happens_is_no_input(
    repo: ScriptRepo, runs: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    add_cached(repo, runs)
    assert ok("get,cached-thing")["cache"] == "miss"
    assert ok("get,cached-thing", quiet=True, verbose=True)["cache"] == "hit"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = cli("run", "script", "get,cached-thing", "--out=json", cwd=elsewhere)
    assert json.loads(proc.stdout)["cache"] == "hit"
    assert count(runs) == 1


def test_entry_records_version_and_extra_tags(
    repo: ScriptRepo, runs: Path, cairn_home: Path
) -> None:
    repo.add(
        "tagged",
        {"cache": True},
        run='echo "CM_DETECTED_VERSION=3.1.4" > tmp-run-env.out\n',
        customize="""
            def postprocess(i):
                return {'return': 0, 'add_extra_cache_tags': ['from-hook']}
            """,
    )
    r = ok("tagged", extra_cache_tags="mine")
    assert r["version"] == "3.1.4"
    [meta] = cache_entries(cairn_home)
    assert meta["version"] == "3.1.4"
    assert {"version-3.1.4", "mine", "from-hook"} <= set(meta["tags"])


def test_new_replaces_the_entry(repo: ScriptRepo, runs: Path, cairn_home: Path) -> None:
    add_cached(repo, runs)
    first = ok("get,cached-thing")
    renewed = ok("get,cached-thing", new=True)
    assert renewed["cache"] == "miss"
    assert renewed["cache_entry"] != first["cache_entry"]  # made beside it, then swapped in
    assert not Path(first["cache_entry"]).exists()
    assert count(runs) == 2
    assert len(cache_entries(cairn_home)) == 1
    again = ok("get,cached-thing")
    assert (again["cache"], again["cache_entry"]) == ("hit", renewed["cache_entry"])
    assert ok("get,cached-thing", new=True)["cache_entry"] == first["cache_entry"]


def test_a_renewal_killed_halfway_leaves_the_old_entry(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path
) -> None:
    slow, started = tmp_path / "slow", tmp_path / "started"
    repo.add(
        "slow-renewal",
        {"cache": True, "new_env_keys": ["DONE"]},
        run=f"if [ -e {slow} ]; then touch {started}; sleep 30; fi\n"
        "echo DONE=1 > tmp-run-env.out\n",
    )
    first = ok("slow-renewal")
    slow.touch()
    environ = {**os.environ, "CAIRN_HOME": str(cairn_home)}
    argv = [sys.executable, "-m", "cairn", "run", "script", "slow-renewal", "--new"]
    proc = subprocess.Popen(argv, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(400):
            if started.exists():
                break
            time.sleep(0.05)
        assert started.exists()
    finally:
        proc.kill()
        proc.wait()
    slow.unlink()
    again = ok("slow-renewal")
    assert (again["cache"], again["cache_entry"]) == ("hit", first["cache_entry"])


def test_a_broken_state_file_or_a_stray_file_is_made_again(
    repo: ScriptRepo, runs: Path, cairn_home: Path
) -> None:
    add_cached(repo, runs)
    first = ok("get,cached-thing")
    (Path(first["cache_entry"]) / "cm-cached-state.json").write_bytes(b"\xff\xfe not json")
    again = ok("get,cached-thing")
    assert again["cache"] == "miss"
    assert any("ignoring cache entry" in w for w in again.get("warnings", []))
    assert ok("get,cached-thing")["cache"] == "hit"
    entry = Path(again["cache_entry"])
    shutil.rmtree(entry)
    entry.write_text("a stray file where the entry was")
    assert ok("get,cached-thing")["cache"] == "miss"
    assert ok("get,cached-thing")["cache"] == "hit"


def test_failed_renewal_keeps_the_old_entry(tmp_path: Path, repo: ScriptRepo) -> None:
    broken = tmp_path / "broken"
    repo.add("renewed", {"cache": True}, run=f"test -e {broken} && exit 1\ntrue\n")
    first = ok("renewed")
    broken.touch()
    assert fails("renewed", new=True)["return"] == 2
    again = ok("renewed")
    assert (again["cache"], again["cache_entry"]) == ("hit", first["cache_entry"])


def test_skip_cache_runs_without_an_entry(repo: ScriptRepo, runs: Path, cairn_home: Path) -> None:
    add_cached(repo, runs)
    r = ok("get,cached-thing", skip_cache=True)
    assert r["cache"] == "not cached"
    assert cairn_home / "local" not in Path(r["new_env"]["THING_PATH"]).parents
    ok("get,cached-thing", skip_cache=True)
    assert count(runs) == 2
    assert cache_entries(cairn_home) == []


def test_force_cache_needs_can_force_cache(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path
) -> None:
    able, unable = tmp_path / "able", tmp_path / "unable"
    repo.add("forceable", {"can_force_cache": True}, run=counter(able) + ': "$X"\n')
    repo.add("unforceable", {}, run=counter(unable))
    assert ok("forceable")["cache"] == "not cached"
    assert ok("forceable", force_cache=True)["cache"] == "miss"
    assert ok("forceable", force_cache=True)["cache"] == "hit"
    assert ok("unforceable", force_cache=True)["cache"] == "not cached"
    repo.add("forcing", {"deps": [{"tags": "forceable", "force_cache": True}]})
    assert ok("forcing")["deps"][0]["cache"] == "hit"  # a dep's force_cache, same inputs
    repo.add("forcing2", {"deps": [{"tags": "forceable", "force_cache": True, "env": {"X": "1"}}]})
    assert ok("forcing2")["deps"][0]["cache"] == "miss"
    assert ok("forcing2")["deps"][0]["cache"] == "hit"
    assert (count(able), count(unable)) == (3, 1)
    assert len(cache_entries(cairn_home)) == 2


def test_failed_script_leaves_no_entry(repo: ScriptRepo, cairn_home: Path, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    path = repo.add("flaky", {"cache": True}, run=f"test -e {flag} || exit 4\n")
    r = fails("flaky")
    assert "exit code 4" in r["error"]
    assert cache_entries(cairn_home) == []
    assert not [p for p in (cairn_home / "local" / "cache").iterdir()]
    flag.touch()
    assert ok("flaky")["cache"] == "miss"
    assert len(cache_entries(cairn_home)) == 1
    assert not (path / "cairn-run.log").exists()


def test_failed_customize_leaves_no_entry(repo: ScriptRepo, cairn_home: Path) -> None:
    repo.add(
        "bad-post",
        {"cache": True},
        run="true\n",
        customize="""
            def postprocess(i):
                raise RuntimeError('postprocess broke')
            """,
    )
    assert "postprocess broke" in fails("bad-post")["error"]
    assert cache_entries(cairn_home) == []


def test_skipped_run_leaves_no_entry(repo: ScriptRepo, cairn_home: Path) -> None:
    repo.add(
        "skips",
        {"cache": True},
        customize="""
            def preprocess(i):
                return {'return': 0, 'skip': True}
            """,
    )
    assert ok("skips")["cache"] == "skipped"
    assert ok("skips")["cache"] == "skipped"
    assert cache_entries(cairn_home) == []


def test_editing_a_dependency_invalidates_its_parent(repo: ScriptRepo, tmp_path: Path) -> None:
    parent_runs = tmp_path / "parent-runs"
    child = repo.add("cached-child", {"cache": True}, run="true\n")
    repo.add(
        "cached-parent",
        {"cache": True, "deps": [{"tags": "cached-child"}]},
        run=counter(parent_runs),
    )
    ok("cached-parent")
    assert ok("cached-parent")["cache"] == "hit"
    (child / "run.sh").write_text("true # changed\n")
    r = ok("cached-parent")
    assert (r["cache"], r["deps"][0]["cache"]) == ("miss", "miss")
    assert count(parent_runs) == 2


def test_removed_dependent_path_invalidates_the_entry(repo: ScriptRepo, tmp_path: Path) -> None:
    installed = tmp_path / "installed"
    installed.mkdir()
    repo.add(
        "installs",
        {"cache": True},
        run=f'echo "CM_GET_DEPENDENT_CACHED_PATH={installed}" > tmp-run-env.out\n',
    )
    ok("installs")
    assert ok("installs")["cache"] == "hit"
    installed.rmdir()
    assert ok("installs")["cache"] == "miss"


def test_removed_entry_runs_again(repo: ScriptRepo, runs: Path, cairn_home: Path) -> None:
    add_cached(repo, runs)
    ok("get,cached-thing")
    r = cairn.access({"action": "rm", "automation": "cache", "tags": "cached-thing", "force": True})
    assert r["return"] == 0, r.get("error")
    assert cache_entries(cairn_home) == []
    assert ok("get,cached-thing")["cache"] == "miss"
    assert count(runs) == 2


def test_concurrent_runs_execute_once(repo: ScriptRepo, tmp_path: Path, cairn_home: Path) -> None:
    runs = tmp_path / "runs"
    repo.add(
        "slow-cached",
        {"cache": True, "new_env_keys": ["SLOW"]},
        run=counter(runs) + 'sleep 0.4\necho "SLOW=$PWD" > tmp-run-env.out\n',
    )
    environ = {**os.environ, "CAIRN_HOME": str(cairn_home)}
    argv = [sys.executable, "-m", "cairn", "run", "script", "slow-cached", "--out=json"]
    procs = [
        subprocess.Popen(
            argv,
            env=environ,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    results = [json.loads(out) for out, _ in outputs]
    assert sorted(r["cache"] for r in results) == ["hit", "miss"]
    assert results[0]["new_env"] == results[1]["new_env"]
    assert count(runs) == 1
    assert len(cache_entries(cairn_home)) == 1


def test_cli_show_and_rm_cache(repo: ScriptRepo, runs: Path, cli: Callable[..., Any]) -> None:
    add_cached(repo, runs)
    assert cli("run", "script", "get cached-thing _small").returncode == 0
    shown = cli("show", "cache", "--tags=cached-thing")
    assert shown.returncode == 0, shown.stderr
    assert "_small" in shown.stdout
    removed = cli("rm", "cache", "--tags=cached-thing", "-f")
    assert removed.returncode == 0, removed.stderr
    again = cli("run", "script", "get cached-thing _small", "--out=json")
    assert json.loads(again.stdout)["cache"] == "miss"


def test_explain_below_a_hit_lists_only_dynamic_deps(repo: ScriptRepo, tmp_path: Path) -> None:
    repo.add("plain-below", {})
    repo.add("dynamic-below", {})
    repo.add(
        "cached-above",
        {
            "cache": True,
            "deps": [{"tags": "plain-below"}, {"tags": "dynamic-below", "dynamic": True}],
        },
    )
    before = ok("cached-above", explain=True)["plan"]
    assert before["cache"] == "miss"
    assert [d["alias"] for d in before["deps"]] == ["plain-below", "dynamic-below"]
    ok("cached-above")
    after = ok("cached-above", explain=True)["plan"]
    assert after["cache"] == "hit"
    assert [d["alias"] for d in after["deps"]] == ["dynamic-below"]


def test_a_relative_path_input_in_another_directory_is_another_entry(
    repo: ScriptRepo, runs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_cached(repo, runs)
    for name in ("d1", "d2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "in.txt").write_text(name)
    monkeypatch.chdir(tmp_path / "d1")
    first = ok("get,cached-thing", flavor="in.txt")
    assert ok("get,cached-thing", flavor="in.txt")["cache"] == "hit"
    monkeypatch.chdir(tmp_path / "d2")
    second = ok("get,cached-thing", flavor="in.txt")
    assert second["cache"] == "miss" and second["cache_entry"] != first["cache_entry"]
    monkeypatch.chdir(tmp_path)
    ok("get,cached-thing", flavor="not-a-file-here")
    monkeypatch.chdir(tmp_path / "d1")
    assert ok("get,cached-thing", flavor="not-a-file-here")["cache"] == "hit"


def test_key_follows_the_dependency_its_own_repository_provides(tmp_path: Path, runs: Path) -> None:
    other = ScriptRepo(tmp_path / "other", alias="other")
    other.add("tool", {"tags": ["get", "tool"]}, run="echo other\n")
    mine = ScriptRepo(tmp_path / "mine", alias="mine")
    mine.add("tool", {"tags": ["get", "tool"]}, run="echo mine\n")
    mine.add("top", {"cache": True, "deps": [{"tags": "get,tool"}]}, run=counter(runs))
    assert ok("top")["cache"] == "miss"
    (other.root / "script" / "tool" / "run.sh").write_text("echo other, edited\n")
    assert ok("top")["cache"] == "hit"  # the other repository's tool is not top's dependency
    (mine.root / "script" / "tool" / "run.sh").write_text("echo mine, edited\n")
    assert ok("top")["cache"] == "miss"
    assert count(runs) == 2


def test_new_with_a_value_renews_and_reaches_an_input_mapping(repo: ScriptRepo, runs: Path) -> None:
    repo.add(
        "patcher",
        {"cache": True, "input_mapping": {"new": "NEW_DIR"}, "new_env_keys": ["SAW"]},
        run=counter(runs) + 'echo "SAW=$NEW_DIR" > tmp-run-env.out\n',
    )
    first = ok("patcher")
    assert first["cache"] == "miss" and first["new_env"] == {"SAW": ""}
    renewed = ok("patcher", new="/some/dir")
    assert renewed["new_env"] == {"SAW": "/some/dir"} and count(runs) == 2
    assert (
        fails("patcher", skip_cache="maybe")["error"]
        == "flag --skip_cache: expected yes/no, got 'maybe'"
    )


def add_data_and_train(repo: ScriptRepo, tmp_path: Path) -> Path:
    trains = tmp_path / "trains"
    repo.add(
        "get-data",
        {"cache": True, "tags": ["get", "data"], "new_env_keys": ["DATA_CSV"]},
        run='echo "a,b" > data.csv\necho "DATA_CSV=$PWD/data.csv" > tmp-run-env.out\n',
    )
    repo.add(
        "train",
        {"cache": True, "deps": [{"tags": ["get", "data"]}], "new_env_keys": ["DATA_CSV"]},
        run=counter(trains),
    )
    return trains


def test_removing_a_dependency_entry_makes_its_dependants_run_again(
    repo: ScriptRepo, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    trains = add_data_and_train(repo, tmp_path)
    assert cli("run", "script", "train").returncode == 0
    hit = cli("run", "script", "train", "--out=json")  # recorded for the fast replay too
    assert json.loads(hit.stdout)["cache"] == "hit"
    removed = cli("rm", "cache", "--tags=get,data", "-f")
    assert removed.returncode == 0, removed.stderr
    plan = cli("run", "script", "train", "--explain")
    assert "train [t] cache: miss" in plan.stdout
    assert "came from cache entries since removed" in plan.stdout
    again = cli("run", "script", "train", "--out=json")
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert (result["cache"], result["deps"][0]["cache"]) == ("miss", "miss")
    assert Path(result["new_env"]["DATA_CSV"]).read_text() == "a,b\n"
    assert "came from removed cache entries" in again.stderr
    assert count(trains) == 2


def test_a_dependency_made_again_with_new_makes_its_dependants_run_again(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    trains = add_data_and_train(repo, tmp_path)
    first = ok("train")["new_env"]["DATA_CSV"]
    renewed = ok("get,data", new=True)["new_env"]["DATA_CSV"]
    assert not Path(first).exists() and Path(renewed).exists()
    again = ok("train")
    assert again["cache"] == "miss" and again["new_env"]["DATA_CSV"] == renewed
    assert ok("train")["cache"] == "hit" and count(trains) == 2


def test_an_entry_whose_outputs_point_into_a_removed_entry_is_a_miss(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path
) -> None:
    """An entry that does not list the entries it came from (made by CM, or by an older
    cairn) is still no hit once a path it exports points into a removed entry."""
    trains = add_data_and_train(repo, tmp_path)
    first = ok("train")
    [train_meta] = [m for m in cache_entries(cairn_home) if "train" in m["tags"]]
    meta_file = Path(train_meta["path"]) / "_cm.json"
    written = json.loads(meta_file.read_text())
    del written["cairn_dep_entries"]
    meta_file.write_text(json.dumps(written))
    shutil.rmtree(Path(first["new_env"]["DATA_CSV"]).parent)
    again = ok("train")
    assert again["cache"] == "miss" and Path(again["new_env"]["DATA_CSV"]).is_file()
    assert count(trains) == 2


def test_rm_cache_names_the_dependants_it_invalidates(
    repo: ScriptRepo, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    add_data_and_train(repo, tmp_path)
    repo.add("plain", {"cache": True}, run="echo plain\n")
    train = ok("train")
    ok("plain")
    removed = cli("rm", "cache", "--tags=get,data", "-f", "--out=json")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["invalidated_list"] == [train["cache_entry"]]
    shown = cli("show", "cache", "--tags=train")
    assert "Invalidated: came from deleted entries" in shown.stdout
    ok("train")
    again = cli("rm", "cache", "--tags=get,data", "-f")
    assert f"Invalidated {train['cache_entry']} (train): it came from a deleted entry" in (
        again.stdout
    )
    quiet = cli("rm", "cache", "--tags=plain", "-f")
    assert quiet.returncode == 0 and "Invalidated" not in quiet.stdout
