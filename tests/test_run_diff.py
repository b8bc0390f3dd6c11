"""``cairn diff run A B``: two runs (records or lock files) compared node by node, through the
real CLI and dict API, on the cached pipeline ``evaluate -> train -> get-data``."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

import cairn
from cairn.runs import lock
from tests.script_fixtures import ScriptRepo, counter, fails, ok
from tests.test_runs import records
from tests.test_script_scope import pipeline

TRAIN = "evaluate -> deps[0] train"
DATA = "evaluate -> deps[0] train -> deps[0] get-data"


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    repo = ScriptRepo(tmp_path / "repo")
    pipeline(repo, tmp_path)
    return repo


def diff_json(cli: Any, a: str, b: str, *flags: str) -> dict[str, Any]:
    done = cli("diff", "run", a, b, "--out=json", *flags)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def node(result: dict[str, Any], where: str) -> dict[str, Any]:
    [found] = [n for n in result["nodes"] if n["where"] == where]
    return found


def changes(result: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {c["what"]: c for c in node(result, where)["changes"]}


def row(what: str, a: str, b: str) -> re.Pattern[str]:
    """A table row ``what | A | B`` (cells padded)."""
    return re.compile(rf"^\s+{re.escape(what)}\s+\| {re.escape(a)}\s+\| {re.escape(b)}$", re.M)


def test_runs_with_other_inputs_differ_in_what_they_read_and_output(
    repo: ScriptRepo, cli: Any
) -> None:
    a = ok("evaluate", epochs="3")["run_record"]
    b = ok("evaluate", epochs="5")["run_record"]
    result = diff_json(cli, a, b)
    assert result["differ"] is True
    assert result["a"]["name"] == a and result["b"]["kind"] == "record"
    assert result["run"] == [{"what": "input epochs", "a": "3", "b": "5", "counted": True}]
    train = changes(result, TRAIN)
    assert train["read env:TRAIN_EPOCHS"]["a"][0] == "3"
    assert train["read env:TRAIN_EPOCHS"]["b"][0] == "5"
    assert train["output MODEL_PATH"] == {
        "what": "output MODEL_PATH",
        "a": "model-3-0.1",
        "b": "model-5-0.1",
        "counted": True,
    }
    assert "read env:TRAIN_LR" not in train and "script content" not in train
    assert changes(result, "evaluate")["output EVAL_RESULT"]["b"] == "model-5-0.1>=0.5"
    assert node(result, DATA) == {
        "where": DATA,
        "in": "both",
        "changes": [],
        "served_by": None,
        "served_as": None,
    }  # get-data read nothing that changed (its second run was a cache hit: not counted)
    shown = cli("diff", "run", a, b)
    assert shown.returncode == 0, shown.stderr
    assert row("input epochs", "3", "5").search(shown.stdout)
    assert row("output MODEL_PATH", "model-3-0.1", "model-5-0.1").search(shown.stdout)
    assert f"\nnode {TRAIN}\n" in shown.stdout and f"node {DATA}" not in shown.stdout
    assert shown.stdout.rstrip().endswith(f"\n{result['differences']} differences")


def test_identical_runs_differ_only_in_what_is_not_counted(repo: ScriptRepo, cli: Any) -> None:
    first = ok("evaluate")["run_record"]
    assert cli("rm", "cache", "--all", "-f").returncode == 0
    again = ok("evaluate")["run_record"]  # every step ran again, with the same inputs
    hit = ok("evaluate")["run_record"]  # served from the cache: train and get-data not run
    same = diff_json(cli, first, again)
    assert same["differ"] is False and same["differences"] == 0
    assert all(n["in"] == "both" and n["changes"] == [] for n in same["nodes"])
    assert len(same["nodes"]) == 3 and same["a"]["started"] != same["b"]["started"]
    served = diff_json(cli, first, hit, "--cache")
    assert served["differences"] == 0
    assert changes(served, "evaluate") == {
        "cache": {"what": "cache", "a": "miss", "b": "hit", "counted": False}
    }
    assert node(served, TRAIN)["in"] == "a" and node(served, TRAIN)["served_by"] == "evaluate"
    shown = cli("diff", "run", first, hit, "--cache").stdout
    assert row("cache (not counted)", "miss", "hit").search(shown)
    assert "2 nodes below 'evaluate' only in A: hit in B" in shown
    assert shown.rstrip().endswith("\nno differences")
    plain = cli("diff", "run", first, hit).stdout
    assert "\nnode evaluate\n" not in plain and "miss" not in plain  # cache status: if asked
    assert plain.rstrip().endswith("\nno differences")


def test_a_run_against_its_own_lock_file_and_another_run(
    repo: ScriptRepo, cli: Any, tmp_path: Path, cairn_home: Path
) -> None:
    a = ok("evaluate", epochs="3")["run_record"]
    [record] = records(cairn_home)
    locked = tmp_path / "run.lock.yaml"
    lock.write(lock.from_record(record), locked)
    same = diff_json(cli, a, str(locked))
    assert same["differences"] == 0 and same["b"]["kind"] == "lock"
    assert any("env reads" in n for n in same["notes"])
    b = ok("evaluate", epochs="5")["run_record"]
    other = diff_json(cli, str(locked), b)
    train = changes(other, TRAIN)
    assert train["output MODEL_PATH"]["a"] == "model-3-0.1"
    assert not any(w.startswith("read ") for w in train)  # a lock keeps no reads
    folder = cairn_home / "local" / "run" / b
    assert diff_json(cli, str(folder), b)["differences"] == 0  # a record's folder names it too
    made = cli("run", "script", "evaluate", "--epochs=7", "--lock=made.lock.yaml", "--out=json")
    assert made.returncode == 0, made.stderr  # the lock `run script --lock` writes
    own = diff_json(cli, json.loads(made.stdout)["run_record"], "made.lock.yaml")
    assert own["differences"] == 0 and own["b"]["name"] == "made.lock.yaml"


def test_a_changed_script_shows_its_new_content_and_outputs(
    repo: ScriptRepo, cli: Any, tmp_path: Path
) -> None:
    a = ok("evaluate")["run_record"]
    repo.add(
        "get-data",
        {"cache": True, "default_env": {"DATA_SIZE": "10"}, "new_env_keys": ["DATA_*"]},
        run=counter(tmp_path / "data")
        + 'echo "DATA_PATH=$PWD/data-$DATA_SIZE" > tmp-run-env.out\n'
        + 'echo "DATA_EXTRA=yes" >> tmp-run-env.out\n',
    )
    b = ok("evaluate")["run_record"]
    result = diff_json(cli, a, b)
    data = changes(result, DATA)
    assert data["script content"]["a"] != data["script content"]["b"]
    assert data["output DATA_EXTRA"] == {"what": "output DATA_EXTRA", "b": "yes", "counted": True}
    assert "script uid" not in data
    assert "script content" not in changes(result, "evaluate")
    assert "script content" not in changes(result, TRAIN)
    shown = cli("diff", "run", a, b).stdout
    assert row("output DATA_EXTRA", "(absent)", "yes").search(shown)


def test_a_failed_run_against_a_good_one(repo: ScriptRepo, cli: Any, cairn_home: Path) -> None:
    repo.add(
        "flaky",
        {"input_mapping": {"fail": "FLAKY_FAIL"}, "default_env": {"FLAKY_FAIL": "no"}},
        run='test "$FLAKY_FAIL" != yes\n',
    )
    good = ok("flaky")["run_record"]
    fails("flaky", fail="yes")
    [failed] = [r["uid"] for r in records(cairn_home) if r["status"] == "failed"]
    result = diff_json(cli, good, failed)
    status = {c["what"]: c for c in result["run"]}
    assert status["status"]["a"] == "ok" and status["status"]["b"] == "failed"
    assert "exit code" in status["error"]["b"] and status["input fail"]["b"] == "yes"
    assert node(result, "flaky")["in"] == "a"  # a failed run keeps no tree


def test_each_bad_argument_gets_a_clear_error(
    repo: ScriptRepo, cli: Any, tmp_path: Path, cairn_home: Path
) -> None:
    a = ok("evaluate", epochs="3")["run_record"]
    b = ok("evaluate", epochs="4")["run_record"]
    unknown = cli("diff", "run", "fffff", a)
    assert unknown.returncode == 16
    assert "A (the first run): no run record 'fffff'" in unknown.stderr
    shared = a[: next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)]
    assert shared
    ambiguous = cli("diff", "run", a, shared)
    assert ambiguous.returncode == 1
    assert f"B (the second run): 2 run records start with {shared!r}" in ambiguous.stderr
    (tmp_path / "other.json").write_text('{"some": "json"}\n')
    other = cli("diff", "run", "other.json", a)
    assert other.returncode == 1
    assert "A (the first run): other.json is neither a run record nor a lock file" in other.stderr
    (tmp_path / "empty").mkdir()
    folder = cli("diff", "run", a, "empty")
    assert (
        folder.returncode == 1 and "B (the second run): folder empty holds no run" in folder.stderr
    )
    missing = cli("diff", "run", a, "gone.lock.yaml")
    assert missing.returncode == 16 and "no such file or folder: gone.lock.yaml" in missing.stderr
    for words in ([a], [a, b, "third"]):
        wrong = cli("diff", "run", *words)
        assert wrong.returncode == 1 and "exactly two runs" in wrong.stderr
    api = cairn.access({"action": "diff", "automation": "run", "artifact": a})
    assert api["return"] == 1 and "exactly two runs" in api["error"]


def test_the_dict_api_returns_the_same_result(repo: ScriptRepo) -> None:
    a = ok("evaluate", epochs="3")["run_record"]
    b = ok("evaluate", epochs="5")["run_record"]
    r = cairn.access({"action": "diff", "automation": "run", "artifacts": [a, b]})
    assert r["return"] == 0 and r["differ"] is True
    assert [n["where"] for n in r["nodes"]] == ["evaluate", TRAIN, DATA]


def test_git_state_of_repositories_is_compared(repo: ScriptRepo, cli: Any) -> None:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=repo.root,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def run(epochs: str) -> str:  # a new process: the Git state is read once per process
        done = cli("run", "script", "evaluate", f"--epochs={epochs}", "--out=json")
        assert done.returncode == 0, done.stderr
        return str(json.loads(done.stdout)["run_record"])

    (repo.root / "notes.txt").write_text("one\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "one")
    first = git("rev-parse", "HEAD")
    clean = run("3")
    (repo.root / "notes.txt").write_text("two\n")
    dirty = run("4")
    git("commit", "-qam", "two")
    second = git("rev-parse", "HEAD")
    later = run("5")
    assert diff_json(cli, clean, dirty)["repos"] == [
        {"what": "t dirty", "a": False, "b": True, "counted": True}
    ]
    assert diff_json(cli, clean, later)["repos"] == [
        {"what": "t commit", "a": first, "b": second, "counted": True}
    ]


def test_two_lock_files_compare_their_tool_files(
    repo: ScriptRepo, cli: Any, tmp_path: Path, cairn_home: Path
) -> None:
    ok("evaluate")
    [record] = records(cairn_home)
    here = lock.from_record(record)
    tool = {"path": "/usr/bin/cc", "sha256": "1" * 64, "size": 10}
    here["nodes"][2]["tools"] = {"CC": tool}
    there = json.loads(json.dumps(here))
    there["nodes"][2]["tools"]["CC"]["sha256"] = "2" * 64
    lock.write(here, tmp_path / "here.json")
    lock.write(there, tmp_path / "there.yml")
    result = diff_json(cli, str(tmp_path / "here.json"), str(tmp_path / "there.yml"))
    assert result["differences"] == 1
    assert changes(result, DATA)["tool CC"]["b"]["sha256"] == "2" * 64
    assert not any("tool files" in n for n in result["notes"])


def test_a_run_from_another_machine_shows_its_host_facts_and_repositories(
    repo: ScriptRepo, cli: Any, tmp_path: Path, cairn_home: Path
) -> None:
    uid = ok("evaluate")["run_record"]
    [record] = records(cairn_home)
    elsewhere = tmp_path / "from-another-machine"
    elsewhere.mkdir()
    record["host"] = {**record["host"], "cpus": 512, "hostname": "big-box", "memory_mb": 1}
    record["repos"]["t"]["uid"] = "0123456789abcdef"  # another repository under the same alias
    (elsewhere / "cairn-run.json").write_text(json.dumps(record))
    result = diff_json(cli, uid, str(elsewhere))
    assert [(c["what"], c["b"]) for c in result["repos"]] == [("t uid", "0123456789abcdef")]
    assert {c["what"]: c["b"] for c in result["host"]} == {
        "cpus": 512,
        "hostname": "big-box",
        "memory_mb": 1,
    }
    locked = tmp_path / "elsewhere.lock.json"
    lock.write(lock.from_record(record), locked)
    against_lock = diff_json(cli, uid, str(locked))
    assert [c["what"] for c in against_lock["host"]] == ["cpus"]  # a lock keeps no hostname
    shown = cli("diff", "run", uid, str(locked)).stdout
    assert row("cpus", str(os.cpu_count()), "512").search(shown)
