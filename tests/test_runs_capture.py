"""runs/capture.py: a run's output (native scripts and hook prints) kept, bounded, in its run
record; shown by ``cairn show run``, returned with ``--return_output``, printed by the API
only with ``out='con'``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cairn.runs.capture import Capture
from tests.script_fixtures import ScriptRepo, fails, ok
from tests.test_runs import records

HOOK = """
def preprocess(i):
    print("hook: detected version 1.2")
    return {"return": 0}
"""


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    repo = ScriptRepo(tmp_path / "repo")
    repo.add("talker", {}, run="echo native: working\necho native: to stderr >&2\n", customize=HOOK)
    repo.add("loud-then-broken", {}, run="echo native: about to fail\nexit 3\n", customize=HOOK)
    return repo


def test_the_api_prints_nothing_and_the_record_keeps_the_output(
    repo: ScriptRepo, cairn_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ok("talker")
    assert "output" not in result  # only when asked
    shown = capsys.readouterr()
    assert "hook:" not in shown.out + shown.err and "native:" not in shown.out + shown.err
    [record] = records(cairn_home)
    assert record["output"] == ("hook: detected version 1.2\nnative: working\nnative: to stderr\n")


def test_return_output_gives_the_output_in_the_result(repo: ScriptRepo) -> None:
    result = ok("talker", return_output=True)
    assert result["output"].splitlines() == [
        "hook: detected version 1.2",
        "native: working",
        "native: to stderr",
    ]


def test_a_failed_runs_record_keeps_what_it_printed(repo: ScriptRepo, cairn_home: Path) -> None:
    fails("loud-then-broken")
    [record] = records(cairn_home)
    assert record["status"] == "failed"
    assert "hook: detected version 1.2\nnative: about to fail" in record["output"]


def test_a_failed_run_returns_its_record_and_when_asked_its_output(
    repo: ScriptRepo, cairn_home: Path
) -> None:
    plain = fails("loud-then-broken")
    assert "output" not in plain
    [record] = records(cairn_home)
    assert plain["run_record"] == record["uid"]
    asked = fails("loud-then-broken", return_output=True)
    assert asked["output"].startswith("hook: detected version 1.2\nnative: about to fail\n")
    assert "exit code 3" in asked["error"]


def test_show_run_shows_the_last_lines_and_log_shows_all(repo: ScriptRepo, cli: Any) -> None:
    many = "".join(f"echo line {n}\n" for n in range(30))
    repo.add("chatty", {}, run=many)
    assert cli("run", "script", "chatty", "-s").returncode == 0
    shown = cli("show", "run")
    assert shown.returncode == 0, shown.stderr
    assert "output (last 20 lines; --log shows all):" in shown.stdout
    assert "  | line 29" in shown.stdout and "  | line 9\n" not in shown.stdout
    full = cli("show", "run", "--log")
    assert "  | line 0\n" in full.stdout and "  | line 29" in full.stdout


def test_the_console_still_shows_the_output_once(repo: ScriptRepo, cli: Any) -> None:
    done = cli("run", "script", "talker", "-s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("hook: detected version 1.2") == 1
    assert done.stdout.count("native: working") == 1


def test_the_kept_output_is_bounded_head_and_tail(
    repo: ScriptRepo, cairn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.add(
        "flood", {}, run="echo FIRST\nfor i in $(seq 1 5000); do echo filler-$i; done\necho LAST\n"
    )
    monkeypatch.setenv("CAIRN_RUN_OUTPUT_MAX", "4096")
    ok("flood")
    [record] = records(cairn_home)
    text = record["output"]
    assert text.startswith("FIRST\n") and text.endswith("LAST\n")
    assert "bytes of output left out ...]" in text
    assert len(text.encode()) < 4096 + 100


def test_capture_keeps_head_and_tail_and_counts_the_gap() -> None:
    capture = Capture(8)
    for chunk in (b"ab", b"cdefgh", b"ijklmnop", b"qr"):
        capture.write(chunk)
    assert capture.text() == "ab\n[... 10 bytes of output left out ...]\nmnopqr"
    small = Capture(100)
    small.write(b"all of it\n")
    assert small.text() == "all of it\n"
    nothing = Capture(0)
    nothing.write(b"gone")
    assert nothing.text() == "\n[... 4 bytes of output left out ...]\n"


def test_tee_writes_to_both() -> None:
    seen: list[bytes] = []
    capture = Capture(100)
    write = capture.tee(seen.append)
    write(b"x")
    write(b"y")
    assert seen == [b"x", b"y"] and capture.text() == "xy"
