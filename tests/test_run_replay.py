"""``cairn replay run ID``: the recorded run again, pinned to its lock, and whether its result
reproduced (numbers within ``--tolerance``, the outputs ``--keys`` names)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.script_fixtures import ScriptRepo, ok


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


def scored(repo: ScriptRepo, score: str) -> None:
    repo.add(
        "bench-score",
        {"cache": True, "new_env_keys": ["SCORE", "MODEL", "OUT_FILE"]},
        run=f'printf "SCORE={score}\\nMODEL=tiny\\nOUT_FILE=$PWD/out\\n" > tmp-run-env.out\n',
    )


def test_replay_reproduces_then_tolerates_or_not(
    repo: ScriptRepo, tmp_path: Path, cli: Any
) -> None:
    scored(repo, "100")
    uid = ok("bench-score")["run_record"]
    same = cli("replay", "run", uid)
    assert same.returncode == 0, same.stderr
    assert "reproduced" in same.stdout and "SCORE" in same.stdout
    assert "OUT_FILE" not in same.stdout  # a path: not compared by default
    scored(repo, "110")  # the script changed: its output moved by 10 %
    strict = cli("replay", "run", uid, "--tolerance=5%")
    assert strict.returncode == 1
    assert "did not reproduce" in strict.stderr and "SCORE" in strict.stderr
    assert "script content changed" in strict.stderr  # the drift in the inputs is named
    loose = cli("replay", "run", uid, "--tolerance=20%", "--out=json")
    assert loose.returncode == 0, loose.stderr
    data = json.loads(loose.stdout)
    assert data["reproduced"] is True
    [score] = [r for r in data["outputs"] if r["key"] == "SCORE"]
    assert score["status"] == "within tolerance" and round(score["difference"], 3) == 0.091
    only_model = cli("replay", "run", uid, "--keys=MODEL")
    assert only_model.returncode == 0 and "SCORE" not in only_model.stdout


def test_replay_errors(repo: ScriptRepo, cli: Any) -> None:
    scored(repo, "1")
    uid = ok("bench-score")["run_record"]
    bad = cli("replay", "run", uid, "--tolerance=lots")
    assert bad.returncode != 0 and "--tolerance='lots'" in bad.stderr
    missing = cli("replay", "run", "0123456789abcdef")
    assert missing.returncode == 16
