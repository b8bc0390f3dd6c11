"""Replaying a run served wholly from the cache: same answer, engine not loaded, and any
change to what the answer depends on makes the command run for real again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.script_fixtures import ScriptRepo


def backdate(*roots: Path) -> None:
    """Make every file look settled (older than the replay's 2 s threshold)."""
    old = os.stat(roots[0]).st_mtime - 100
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in [*files, "."]:
                os.utime(os.path.join(dirpath, name), (old, old), follow_symlinks=False)


def traced(home: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The real command under ``-X importtime``: stderr tells whether the engine loaded."""
    env = {**os.environ, "CAIRN_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cairn", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def chain(tmp_path: Path) -> ScriptRepo:
    repo = ScriptRepo(tmp_path / "repo")
    repo.add(
        "leaf", {"cache": True, "new_env_keys": ["LEAF"]}, run="echo LEAF=1 > tmp-run-env.out\n"
    )
    repo.add(
        "top",
        {"cache": True, "deps": [{"tags": "leaf"}], "new_env_keys": ["LEAF", "TOP"]},
        run='echo "TOP=$LEAF+2" > tmp-run-env.out\n',
    )
    return repo


def settled_hit(home: Path, cwd: Path, chain: ScriptRepo) -> str:
    first = traced(home, cwd, "run", "script", "top", "--out=json")
    assert first.returncode == 0, first.stderr
    backdate(chain.root, home)
    second = traced(home, cwd, "run", "script", "top", "--out=json")
    assert second.returncode == 0 and '"cache": "hit"' in second.stdout
    assert list((home / "replay").iterdir())
    return second.stdout


def test_a_cached_run_is_replayed_without_the_engine(
    chain: ScriptRepo, cairn_home: Path, tmp_path: Path
) -> None:
    expected = settled_hit(cairn_home, tmp_path, chain)
    again = traced(cairn_home, tmp_path, "run", "script", "top", "--out=json")
    assert again.returncode == 0
    assert again.stdout == expected
    assert "cairn.script.run" not in again.stderr
    assert "load top from cache" in again.stderr


@pytest.mark.parametrize("change", ["edit-dep", "new-script", "rm-cache", "rm-dep-entry", "cwd"])
def test_any_change_runs_for_real(
    change: str, chain: ScriptRepo, cairn_home: Path, tmp_path: Path, cli: Any
) -> None:
    settled_hit(cairn_home, tmp_path, chain)
    cwd = tmp_path
    if change == "edit-dep":
        with (chain.root / "script" / "leaf" / "run.sh").open("a") as f:
            f.write("echo LEAF=3 > tmp-run-env.out\n")
    elif change == "new-script":
        chain.add("top2", {"cache": True}, tags=["top"], run="true\n")
    elif change == "rm-cache":
        assert cli("rm", "cache", "-f", "--all").returncode == 0
    elif change == "rm-dep-entry":
        assert cli("rm", "cache", "-f", "--tags=leaf").returncode == 0
    else:
        cwd = tmp_path / "elsewhere"
        cwd.mkdir()
    after = traced(cairn_home, cwd, "run", "script", "top", "--out=json")
    assert "cairn.script.run" in after.stderr
    if change == "edit-dep":
        assert '"TOP": "3+2"' in after.stdout
    if change in ("rm-cache", "rm-dep-entry"):
        assert '"cache": "miss"' in after.stdout


def test_flags_that_force_work_are_never_replayed(
    chain: ScriptRepo, cairn_home: Path, tmp_path: Path
) -> None:
    settled_hit(cairn_home, tmp_path, chain)
    explained = traced(cairn_home, tmp_path, "run", "script", "top", "--out=json", "--explain")
    assert "cairn.script.plan" in explained.stderr


ENGINE_FREE = ("dataclasses", "inspect", "ast", "dis")


def test_a_real_run_imports_no_dataclasses(
    tmp_path: Path, cairn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dataclasses` (with `inspect`, `ast`...) would cost every run that is not replayed."""
    repo = ScriptRepo(tmp_path / "repo")
    repo.add(
        "hello",
        {"deps": [{"tags": "leaf"}], "variations": {"v": {"env": {"V": "1"}}}},
        run="echo HELLO=$V > tmp-run-env.out\n",
        customize="def preprocess(i):\n    return {'return': 0}\n",
        tags=["hello"],
    )
    repo.add("leaf", {"new_env_keys": ["LEAF"]}, run="echo LEAF=1 > tmp-run-env.out\n")
    monkeypatch.chdir(tmp_path)
    code = (
        "import sys; from cairn.cli.main import main; code = main(sys.argv[1:]);"
        f" print([m for m in ('cairn.script.run', *{ENGINE_FREE!r}) if m in sys.modules])"
    )
    argv = ["run", "script", "hello,_v", "--quiet", "--new_env_keys=HELLO"]
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "['cairn.script.run']", proc.stdout
