"""The pieces of run records and locks alone: Git state without git, host facts, lock files
read back, and drift of tools and hosts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cairn.errors import InvalidInput
from cairn.runs import gitstate, host, lock
from tests.test_runs import git


def test_git_state_from_refs_packed_refs_detached_and_worktrees(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / "f").write_text("1\n")
    git("add", "f", cwd=repo)
    git("commit", "-qm", "one", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo)
    assert gitstate.state(repo) == {"commit": head, "dirty": False}
    (repo / "f").write_text("2\n")
    assert gitstate.state(repo) == {"commit": head, "dirty": True}
    git("pack-refs", "--all", cwd=repo)
    assert gitstate.head_commit(repo / ".git") == head
    git("checkout", "-q", "--detach", cwd=repo)
    assert gitstate.head_commit(repo / ".git") == head
    git("stash", "-q", cwd=repo)
    other = tmp_path / "wt"
    git("worktree", "add", "-q", str(other), "main", cwd=repo)
    assert gitstate.state(other) == {"commit": head, "dirty": False}
    assert gitstate.state(tmp_path) is None


def test_host_facts() -> None:
    facts = host.facts()
    assert facts["cpus"] and facts["python"] and facts["cairn"]
    assert facts["os"] and facts["machine"] and facts["kernel"]


def a_lock(tool: Path) -> dict[str, object]:
    record = {
        "started": "2026-12-03T00:00:00+00:00",
        "command": {"action": "run", "automation": "script", "artifact": "x", "lock": "f"},
        "host": host.facts(),
        "repos": {},
        "tree": {
            "where": "x",
            "script": {"alias": "x", "uid": "1" * 16, "repo": "r", "content": "c" * 64},
            "new_env": {"X_BIN": str(tool)},
            "deps": [],
        },
    }
    return lock.from_record(record)


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_a_lock_reads_back_as_written(tmp_path: Path, suffix: str) -> None:
    tool = tmp_path / "tool"
    tool.write_text("v1")
    made = a_lock(tool)
    assert "lock" not in made["command"]  # type: ignore[operator]
    path = tmp_path / f"x{suffix}"
    lock.write(made, path)
    assert lock.read(path) == json.loads(json.dumps(made))


def test_tool_drift_names_a_changed_or_missing_file(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("v1")
    node = a_lock(tool)["nodes"][0]  # type: ignore[index]
    assert lock._tool_drift("x", node["tools"]) == []
    tool.write_text("v2")
    assert "changed" in lock._tool_drift("x", node["tools"])[0]
    tool.unlink()
    assert "no longer there" in lock._tool_drift("x", node["tools"])[0]


def test_host_drift_only_for_os_and_machine() -> None:
    facts = dict(host.facts())
    assert lock._host_drift(facts, {**facts, "kernel": "other", "cpus": 99}) == []
    assert lock._host_drift(facts, {**facts, "machine": "riscv64"}) == [
        f"host: machine was {facts['machine']!r}, is 'riscv64'"
    ]


def test_repo_entries_need_a_remote(tmp_path: Path) -> None:
    made = a_lock(tmp_path / "none")
    made["repos"] = {"r": {"path": "/x", "commit": "a" * 40, "url": None}}
    with pytest.raises(InvalidInput, match="no Git remote"):
        lock.repo_entries(made)
    made["repos"] = {"r": {"path": "/x", "commit": "a" * 40, "url": "file:///r.git", "uid": None}}
    assert lock.repo_entries(made) == [
        {"url": "file:///r.git", "commit": "a" * 40, "alias": "r", "uid": None}
    ]
