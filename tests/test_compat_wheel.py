"""tests/compat without the package index: skipped with the reason, not failed (and failed
when ``CAIRN_REQUIRE_COMPAT=1`` says they must run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEAD_INDEX = "http://127.0.0.1:9/simple"  # nothing listens on port 9: refused at once


def run_compat(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """One compatibility test module in a child pytest, with an index that cannot answer."""
    left_out = ("CAIRN_CMX4MLOPS_WHEEL", "CAIRN_HOME", "CAIRN_REQUIRE_COMPAT")
    env = {k: v for k, v in os.environ.items() if k not in left_out}
    env.update(PIP_INDEX_URL=DEAD_INDEX, PIP_FIND_LINKS="", PYTHONPATH=str(ROOT / "src"), **extra)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-rs"]
    cmd += ["--basetemp", str(tmp_path / "base"), "tests/compat/test_print.py"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_compat_tests_are_skipped_with_the_reason_without_the_index(tmp_path: Path) -> None:
    done = run_compat(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"=* ?\d+ skipped in [^,]* ?=*", summary), summary
    assert "could not be fetched (pip download exited" in done.stdout
    assert "-m 'not compat'" in done.stdout


def test_require_compat_turns_the_skip_into_a_failure(tmp_path: Path) -> None:
    done = run_compat(tmp_path, CAIRN_REQUIRE_COMPAT="1")
    assert done.returncode != 0
    assert "could not be fetched" in done.stdout
