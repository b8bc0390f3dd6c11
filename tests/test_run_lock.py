"""Lock files: ``--lock`` pins a resolved run; ``--locked`` lists what no longer matches, node
by node, before anything runs, and refuses unless ``--allow_drift``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.script_fixtures import ScriptRepo, count, counter, fails, ok
from tests.test_runs import git, git_repo


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


def tool(folder: Path, version: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "mytool"
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return path


def locked_pipeline(repo: ScriptRepo, tmp_path: Path) -> None:
    tool(tmp_path / "bin", "1.0")
    repo.add(
        "get-tool",
        {"new_env_keys": ["TOOL_BIN"], "default_env": {"TOOL_DIR": str(tmp_path / "bin")}},
        run=counter(tmp_path / "detect")
        + 'printf "TOOL_BIN=$TOOL_DIR/mytool\\nCM_DETECTED_VERSION=$($TOOL_DIR/mytool)\\n"'
        " > tmp-run-env.out\n",
    )
    repo.add(
        "compute",
        {"cache": True, "new_env_keys": ["RESULT"]},
        run=counter(tmp_path / "compute") + 'echo "RESULT=42" > tmp-run-env.out\n',
    )
    repo.add("top", {"deps": [{"tags": "get-tool"}, {"tags": "compute"}], "new_env_keys": ["*"]})


def test_lock_then_locked_names_each_drifted_node_and_refuses(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    locked_pipeline(repo, tmp_path)
    lock_file = tmp_path / "run.lock.yaml"
    ok("top", lock=str(lock_file))
    lock = yaml.safe_load(lock_file.read_text())
    assert lock["cairn_lock"] == 1
    nodes = {n["where"]: n for n in lock["nodes"]}
    assert set(nodes) == {"top", "top -> deps[0] get-tool", "top -> deps[1] compute"}
    assert nodes["top -> deps[0] get-tool"]["version"] == "1.0"
    assert nodes["top -> deps[0] get-tool"]["tools"]["TOOL_BIN"]["sha256"]
    again = ok("top", locked=str(lock_file))
    assert "drift" not in again
    (repo.root / "script" / "compute" / "run.sh").write_text('echo "RESULT=43" > tmp-run-env.out\n')
    tool(tmp_path / "bin", "2.0")
    runs = (count(tmp_path / "detect"), count(tmp_path / "compute"))
    error = fails("top", locked=str(lock_file))["error"]
    assert (count(tmp_path / "detect"), count(tmp_path / "compute")) == runs  # nothing ran
    drifted = [line for line in error.splitlines() if line.startswith("  - ")]
    assert len(drifted) == 2, error
    assert "top -> deps[1] compute: script content changed" in drifted[0] + drifted[1]
    assert "top -> deps[0] get-tool: tool TOOL_BIN" in error and "changed" in error
    assert "--allow_drift" in error
    allowed = ok("top", locked=str(lock_file), allow_drift=True)
    assert allowed["new_env"]["RESULT"] == "43"
    assert "top -> deps[0] get-tool: version 2.0, locked 1.0" in allowed["drift"]
    assert any("drift (before anything ran)" in w for w in allowed.get("warnings", []))


def test_a_lock_in_json_and_a_repository_at_another_commit(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    locked_pipeline(repo, tmp_path)
    git_repo(repo.root)
    lock_file = tmp_path / "run.lock.json"
    ok("top", lock=str(lock_file))
    lock = json.loads(lock_file.read_text())
    assert lock["repos"]["t"]["commit"] and lock["repos"]["t"]["dirty"] is False
    (repo.root / "notes.txt").write_text("new\n")
    git("add", "-A", cwd=repo.root)
    git("commit", "-qm", "more", cwd=repo.root)
    error = fails("top", locked=str(lock_file))["error"]
    assert "repo t: at commit" in error and "locked at" in error


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "is not valid"),
        ('{"nodes": []}', "is not a cairn lock file of format 1"),
        ('{"cairn_lock": 1, "nodes": [{}], "repos": {}, "host": {}, "command": {}}', "'where'"),
    ],
)
def test_a_bad_lock_file_is_a_clear_error(
    repo: ScriptRepo, tmp_path: Path, text: str, says: str
) -> None:
    locked_pipeline(repo, tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    error: Any = fails("top", locked=str(bad))["error"]
    assert str(bad) in error and says in error
    assert count(tmp_path / "detect") == 0
    assert "cannot read lock file" in fails("top", locked=str(tmp_path / "nope.json"))["error"]


def test_a_lock_replays_on_a_fresh_home_with_repositories_pulled_at_their_commits(
    tmp_path: Path, cli: Any
) -> None:
    """Home one pulls a repository from a local bare remote, runs and locks; the remote moves
    on; home two pulls the lock's commits and replays the lock: same outputs, no drift."""
    import os

    work = tmp_path / "work"
    scripts = ScriptRepo(work, alias="shared")
    scripts.add(
        "answer",
        {"cache": True, "new_env_keys": ["ANSWER"]},
        run='echo "ANSWER=42" > tmp-run-env.out\n',
    )
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "one", cwd=work)
    bare = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    home_one, home_two = tmp_path / "home-one", tmp_path / "home-two"

    def in_home(home: Path, *argv: str) -> Any:
        return cli(*argv, env={**os.environ, "CAIRN_HOME": str(home)})

    assert (
        in_home(home_one, "pull", "repo", f"--url=file://{bare}", "--alias=shared").returncode == 0
    )
    lock_file = tmp_path / "answer.lock.yaml"
    first = in_home(home_one, "run", "script", "answer", f"--lock={lock_file}", "--out=json")
    assert first.returncode == 0, first.stderr
    (work / "script" / "answer" / "run.sh").write_text('echo "ANSWER=43" > tmp-run-env.out\n')
    git("commit", "-qam", "two", cwd=work)
    git("push", "-q", str(bare), "main", cwd=work)
    pulled = in_home(home_two, "pull", "repo", f"--lock={lock_file}")
    assert pulled.returncode == 0, pulled.stderr
    replayed = in_home(home_two, "replay", "run", str(lock_file), "--out=json")
    assert replayed.returncode == 0, replayed.stderr
    data = json.loads(replayed.stdout)
    assert data["reproduced"] is True and data["drift"] == []
    assert [r["now"] for r in data["outputs"]] == ["42"]


def test_steps_below_a_cache_hit_are_no_drift(repo: ScriptRepo, tmp_path: Path) -> None:
    """A lock made on a miss has the steps below; a run served from the cache skips them,
    and the other way round: neither is drift."""
    locked_pipeline(repo, tmp_path)
    repo.add("cached-top", {"cache": True, "deps": [{"tags": "compute"}]})
    miss_lock, hit_lock = tmp_path / "miss.json", tmp_path / "hit.json"
    ok("cached-top", lock=str(miss_lock))
    assert "drift" not in ok("cached-top", locked=str(miss_lock))
    ok("cached-top", lock=str(hit_lock))
    assert [n["where"] for n in json.loads(hit_lock.read_text())["nodes"]] == ["cached-top"]
    ok("cached-top", new=True)
    assert "drift" not in ok("cached-top", locked=str(hit_lock))


def test_a_lock_records_a_repository_origin_without_its_credentials(tmp_path: Path) -> None:
    from cairn.runs import lock
    from tests.conftest import sh_git

    clone = tmp_path / "clone"
    clone.mkdir()
    sh_git("init", "-q", cwd=clone)
    sh_git("remote", "add", "origin", "https://user:TOKEN@host/x.git", cwd=clone)

    written = lock.from_record({"repos": {"x": {"path": str(clone), "commit": "c0ffee"}}})

    assert written["repos"]["x"]["url"] == "https://***@host/x.git"
