"""Run records: every ``run script`` leaves one (hit or miss, success or failure, replayed
from the command line too); ``show``/``find``/``rm``/``gc run`` work on them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import cairn
from tests.script_fixtures import ScriptRepo, fails, ok, uid_for
from tests.test_script_replay import backdate, traced
from tests.test_script_scope import pipeline


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


def records(home: Path) -> list[dict[str, Any]]:
    folder = home / "local" / "run"
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not path.name.startswith("."):
            record = json.loads((path / "cairn-run.json").read_text())
            meta = json.loads((path / "_cm.json").read_text())
            found.append({**record, "_tags": meta["tags"]})
    return found


def git(*args: str, cwd: Path) -> str:
    """Run git in ``cwd`` as a test user; its output."""
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def git_repo(root: Path) -> str:
    """Make ``root`` a Git work tree with everything committed; the commit."""
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "scripts", cwd=root)
    return git("rev-parse", "HEAD", cwd=root)


def test_a_run_leaves_a_record_of_its_tree_host_and_outputs(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path
) -> None:
    pipeline(repo, tmp_path)
    commit = git_repo(repo.root)
    r = ok("evaluate", epochs="3")
    [record] = records(cairn_home)
    assert r["run_record"] == record["uid"]
    assert record["status"] == "ok" and record["error"] is None
    assert record["command"]["epochs"] == "3"
    assert record["host"]["cpus"] == os.cpu_count() and record["host"]["python"]
    assert record["repos"]["t"] == {
        "path": str(repo.root),
        "uid": uid_for("repo-t"),
        "commit": commit,
        "dirty": False,
    }
    tree = record["tree"]
    assert tree["script"]["alias"] == "evaluate" and tree["cache"] == "miss"
    assert len(tree["script"]["content"]) == 64 and len(tree["static_key"]) == 64
    train = tree["deps"][0]
    assert train["where"] == "evaluate -> deps[0] train"
    assert train["reads"]["env:TRAIN_EPOCHS"][0] == "3"
    assert train["deps"][0]["script"]["alias"] == "get-data"
    assert record["outputs"]["new_env"] == r["new_env"]
    assert {"evaluate", "status-ok", "cache-miss"} <= set(record["_tags"])
    assert any(t.startswith("date-") for t in record["_tags"])


def test_hits_and_failures_are_recorded_and_found_by_tags(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path
) -> None:
    pipeline(repo, tmp_path)
    repo.add("broken", {}, run="echo about to fail\nexit 3\n")
    ok("evaluate")
    ok("evaluate")
    failed = fails("broken")
    found = cairn.access({"action": "find", "automation": "run", "tags": "status-failed"})
    assert found["return"] == 0 and len(found["list"]) == 1
    [record] = [r for r in records(cairn_home) if r["status"] == "failed"]
    assert "exit code 3" in record["error"] and record["error"] in failed["error"]
    assert record["log"] and "about to fail" in Path(record["log"]).read_text()
    hits = cairn.access({"action": "find", "automation": "run", "tags": "evaluate,cache-hit"})
    assert len(hits["list"]) == 1


def test_show_gc_and_rm_run(repo: ScriptRepo, tmp_path: Path, cairn_home: Path, cli: Any) -> None:
    pipeline(repo, tmp_path)
    for epochs in ("1", "2", "3"):
        ok("evaluate", epochs=epochs)
    shown = cli("show", "run")
    assert shown.returncode == 0, shown.stderr
    assert "evaluate (miss" in shown.stdout and "train (miss" in shown.stdout
    assert "EVAL_RESULT=model-3-0.1>=0.5" in shown.stdout
    newest = records(cairn_home)[-1]["uid"]
    as_json = json.loads(cli("show", "run", newest, "--out=json").stdout)
    assert as_json["record"]["uid"] == newest
    assert cli("gc", "run", "--keep=abc").returncode != 0
    gc = cli("gc", "run", "--keep=1")
    assert gc.returncode == 0 and "Removed 2 run records; 1 kept" in gc.stdout
    assert [r["uid"] for r in records(cairn_home)] == [newest]
    assert cli("rm", "run", newest, "-f").returncode == 0
    assert records(cairn_home) == []
    missing = cli("show", "run")
    assert missing.returncode == 16 and "no run records yet" in missing.stderr


def test_records_beyond_the_limit_are_removed_as_new_ones_come(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline(repo, tmp_path)
    monkeypatch.setenv("CAIRN_KEEP_RUNS", "2")
    for epochs in ("1", "2", "3", "4"):
        ok("evaluate", epochs=epochs)
    kept = records(cairn_home)
    assert [r["command"]["epochs"] for r in kept] == ["3", "4"]


def test_a_replayed_run_is_recorded_too(tmp_path: Path, cairn_home: Path) -> None:
    repo = ScriptRepo(tmp_path / "repo")
    repo.add("rec-leaf", {"cache": True, "new_env_keys": ["L"]}, run="echo L=1 > tmp-run-env.out\n")
    first = traced(cairn_home, tmp_path, "run", "script", "rec-leaf", "--out=json")
    assert first.returncode == 0, first.stderr
    backdate(repo.root, cairn_home)
    second = traced(cairn_home, tmp_path, "run", "script", "rec-leaf", "--out=json")
    assert second.returncode == 0 and '"cache": "hit"' in second.stdout
    third = traced(cairn_home, tmp_path, "run", "script", "rec-leaf", "--out=json")
    assert "cairn.script.run\n" not in third.stderr + "\n"  # replayed: no engine
    assert "cairn.script.run\n" in second.stderr + "\n"  # the engine answered it
    kept = records(cairn_home)
    assert len(kept) == 3
    assert kept[2]["tree"] == kept[1]["tree"] and kept[2]["uid"] != kept[1]["uid"]
    assert "cache-hit" in kept[2]["_tags"]


def test_keep_runs_zero_turns_recording_off(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline(repo, tmp_path)
    monkeypatch.setenv("CAIRN_KEEP_RUNS", "0")
    r = ok("evaluate")
    assert "run_record" not in r and records(cairn_home) == []
