"""cli/lean.py: ``cairn find`` answered by the running watcher, with the client importing
neither the index nor ``sqlite3``, and the same output, warnings and exit code as a query
run in the process itself (also right after a hand edit)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cairn.cli.lean import servable
from cairn.home import Home
from cairn.store import daemon

pytest.importorskip("inotify_simple")

from tests import watch_fixtures
from tests.watch_fixtures import ds, meta_file

repo = watch_fixtures.repo
PROBE = (
    "import sys; from cairn.cli.main import main; code = main(sys.argv[1:]);"
    " print('LEAN' if 'sqlite3' not in sys.modules else 'FULL', file=sys.stderr);"
    " sys.exit(code)"
)


def cli(*words: str, **env: str) -> tuple[int, str, str, bool]:
    """``cairn WORDS`` in a new process: exit code, stdout, stderr, whether it stayed lean."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *words],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    err, _, mark = done.stderr.rstrip("\n").rpartition("\n")
    mark = mark if mark in ("LEAN", "FULL") else done.stderr
    return done.returncode, done.stdout, err + ("\n" if err else ""), mark == "LEAN"


@pytest.fixture
def running(repo: Path) -> Iterator[dict[str, Any]]:
    home = Home.from_env()
    yield daemon.start(home)
    daemon.stop(home)


@pytest.mark.parametrize(
    ("words", "ok"),
    [
        (["find", "dataset", "--tags=x,even"], True),
        (["find", "dataset", "d1"], True),
        (["find", "dataset", "r1:d*"], True),
        (["find", "dataset", "."], False),  # the current directory
        (["find", "dataset", "--tags=x", "--out=json"], False),
        (["find", "dataset", "@input.yaml"], False),
        (["find", "dataset", "../x"], False),
        (["find"], False),
        (["load", "dataset", "d1"], False),
    ],
)
def test_only_a_plain_find_is_sent_to_the_watcher(words: list[str], ok: bool) -> None:
    assert servable(words) is ok


def test_find_is_answered_by_the_watcher_exactly_as_by_the_walk(
    repo: Path, running: dict[str, Any]
) -> None:
    served = cli("find", "dataset", "--tags=x,even")
    assert served[3], served  # the client imported no sqlite3: the watcher answered
    walked = cli("find", "dataset", "--tags=x,even", CAIRN_LEAN="0")
    assert not walked[3]
    assert served[:3] == walked[:3]
    assert served[1].splitlines() == [str(repo / "dataset" / f"d{i}") for i in (0, 2, 4)]


def test_a_hand_edit_right_before_is_seen_by_the_watcher_s_answer(
    repo: Path, running: dict[str, Any]
) -> None:
    cli("find", "dataset", "--tags=x,odd")
    meta_file(repo, "d3").write_text(yaml.safe_dump(ds("d3", "x", "even")))
    code, out, _, lean = cli("find", "dataset", "--tags=x,odd")
    assert lean and code == 0
    assert out.splitlines() == [str(repo / "dataset" / f"d{i}") for i in (1, 5)]


def test_warnings_and_errors_come_back_as_the_walk_gives_them(
    repo: Path, running: dict[str, Any]
) -> None:
    meta_file(repo, "d5").write_text("alias: [broken\n")
    served = cli("find", "dataset", "--tags=x")
    walked = cli("find", "dataset", "--tags=x", CAIRN_LEAN="0")
    assert served[3] and "d5" in served[2] and "cairn warning" in served[2]
    assert served[:3] == walked[:3]
    missing = cli("find", "dataset", "a:b:c")
    assert missing[3] and missing[0] != 0
    assert missing[:3] == cli("find", "dataset", "a:b:c", CAIRN_LEAN="0")[:3]


def test_without_a_watcher_the_command_runs_as_always(repo: Path) -> None:
    code, out, _, lean = cli("find", "dataset", "--tags=x,even")
    assert code == 0 and not lean and len(out.splitlines()) == 3


def test_another_cairn_environment_is_not_served(repo: Path, running: dict[str, Any]) -> None:
    code, out, _, lean = cli("find", "dataset", "--tags=x,even", CAIRN_SOMETHING="1")
    assert code == 0 and not lean and len(out.splitlines()) == 3


def test_the_watcher_keeps_no_files_open_from_the_finds_it_answered(
    repo: Path, running: dict[str, Any]
) -> None:
    def open_files() -> int:
        return len(os.listdir(f"/proc/{running['pid']}/fd"))

    for _ in range(2):
        assert cli("find", "dataset", "--tags=x")[3]
    before = open_files()
    for _ in range(6):
        assert cli("find", "dataset", "--tags=x")[3]
    assert open_files() == before


def _kept(home: Home) -> int:
    found = daemon.status(home)
    assert found is not None
    return int(found["kept_answers"])


def test_an_answer_is_given_again_only_while_nothing_changed(
    repo: Path, running: dict[str, Any], make_repo: Any
) -> None:
    """The same find twice with nothing changed: the second answer is the first, kept. Any
    change -- an edit in place, a new artifact, a newly registered repository -- makes a new
    answer, which sees it."""
    home = Home.from_env()
    even = [str(repo / "dataset" / f"d{i}") for i in (0, 2, 4)]
    for _ in range(2):  # the first of these may walk what the watcher has not seen yet
        assert cli("find", "dataset", "--tags=x,even")[1].splitlines() == even
    before = _kept(home)
    assert cli("find", "dataset", "--tags=x,even")[1].splitlines() == even
    assert _kept(home) == before + 1
    meta_file(repo, "d1").write_text(yaml.safe_dump(ds("d1", "x", "even")))
    code, out, _, lean = cli("find", "dataset", "--tags=x,even")
    assert lean and code == 0 and str(repo / "dataset" / "d1") in out.splitlines()
    assert _kept(home) == before + 1
    (repo / "dataset" / "d9").mkdir()
    meta_file(repo, "d9").write_text(yaml.safe_dump(ds("d9", "x", "even")))
    assert str(repo / "dataset" / "d9") in cli("find", "dataset", "--tags=x,even")[1]
    other = make_repo("r2", artifacts={"dataset/e1": ds("e1", "x", "even")})
    assert cli("add", "repo", str(other), CAIRN_LEAN="0")[0] == 0
    assert str(other / "dataset" / "e1") in cli("find", "dataset", "--tags=x,even")[1]
    assert _kept(home) == before + 1


def _kept_folders(home: Home) -> int:
    found = daemon.status(home)
    assert found is not None
    return int(found["kept_folders"])


def test_a_change_elsewhere_keeps_the_folder_s_answer_and_each_hand_edit_in_it_is_seen(
    repo: Path, running: dict[str, Any]
) -> None:
    """A file written elsewhere in the home drops the whole kept answer, but the folder's own
    answer is given again (nothing under it changed); an edit in place, a file renamed over,
    a new and a removed artifact directory in it are each seen, as the walk sees them."""
    home = Home.from_env()

    def served() -> list[str]:
        (home.root / "elsewhere").write_text(str(os.urandom(4)))  # the whole answer goes
        code, out, err, lean = cli("find", "dataset", "--tags=x")
        assert lean and code == 0, err
        assert (code, out, err) == cli("find", "dataset", "--tags=x", CAIRN_LEAN="0")[:3]
        return [Path(line).name for line in out.splitlines()]

    assert served() == [f"d{i}" for i in range(6)]
    before = _kept_folders(home)
    assert served() == [f"d{i}" for i in range(6)]
    assert _kept_folders(home) > before
    text = meta_file(repo, "d1").read_text()
    with open(meta_file(repo, "d1"), "r+") as f:  # same size, same inode
        f.write(text.replace("- x", "- y"))
    assert served() == ["d0", "d2", "d3", "d4", "d5"]
    new = meta_file(repo, "d2").with_name("_cm.yaml.new")
    new.write_text(yaml.safe_dump(ds("d2", "z")))
    os.replace(new, meta_file(repo, "d2"))
    assert served() == ["d0", "d3", "d4", "d5"]
    (repo / "dataset" / "d9").mkdir()
    meta_file(repo, "d9").write_text(yaml.safe_dump(ds("d9", "x")))
    assert served() == ["d0", "d3", "d4", "d5", "d9"]
    shutil.rmtree(repo / "dataset" / "d0")
    assert served() == ["d3", "d4", "d5", "d9"]


def test_a_folder_with_a_broken_artifact_warns_in_every_answer(
    repo: Path, running: dict[str, Any]
) -> None:
    home = Home.from_env()
    meta_file(repo, "d5").write_text("alias: [broken\n")
    for i in range(3):
        (home.root / "elsewhere").write_text(str(i))
        code, out, err, lean = cli("find", "dataset", "--tags=x")
        assert lean and code == 0 and len(out.splitlines()) == 5
        assert "cairn warning" in err and "d5" in err


FAKE_WATCHER = r"""
import marshal, socket, sys, time
path, mode, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen(1)
print("ready", flush=True)
conn, _ = server.accept()
conn.recv(1 << 20)
if mode != "silent":
    conn.sendall(b"A")
time.sleep(delay)
if mode == "slow":
    payload = marshal.dumps({"code": 0, "stdout": "answered\n", "stderr": ""})
    conn.sendall(b"M" + len(payload).to_bytes(4, "big") + payload)
time.sleep(60)
"""


@pytest.fixture
def fake_watcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start a stand-in watcher process (``mode``: answers after ``delay``, never takes the
    question, or takes it and never answers); short timeouts."""
    from cairn.cli import lean

    monkeypatch.setattr(lean, "ACK_TIMEOUT_S", 0.5)
    monkeypatch.setattr(lean, "POLL_S", 0.05)
    started: list[subprocess.Popen[str]] = []

    def start(mode: str, delay: float) -> tuple[str, subprocess.Popen[str]]:
        path = str(tmp_path / f"w{len(started)}.sock")
        argv = [sys.executable, "-c", FAKE_WATCHER, path, mode, str(delay)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        return path, proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def _timed_ask(path: str) -> tuple[Any, float]:
    from cairn.cli import lean

    start = time.monotonic()
    reply = lean._ask(path, {"op": "cli", "ack": True})
    return reply, time.monotonic() - start


def test_a_slow_answer_is_waited_for_while_the_watcher_runs(fake_watcher: Any) -> None:
    path, _ = fake_watcher("slow", 1.0)  # 20 times the polling interval, twice the ack's wait
    reply, took = _timed_ask(path)
    assert reply == {"code": 0, "stdout": "answered\n", "stderr": ""}
    assert took >= 1.0


def test_a_watcher_that_does_not_take_the_question_is_not_waited_for(fake_watcher: Any) -> None:
    path, _ = fake_watcher("silent", 0)
    reply, took = _timed_ask(path)
    assert reply is None and took < 5


@pytest.mark.parametrize("sig", [signal.SIGSTOP, signal.SIGKILL])
def test_a_watcher_stopped_or_killed_after_taking_the_question_is_left(
    fake_watcher: Any, sig: signal.Signals
) -> None:
    path, proc = fake_watcher("hang", 60)
    timer = threading.Timer(0.3, os.kill, (proc.pid, sig))
    timer.start()
    try:
        reply, took = _timed_ask(path)
    finally:
        timer.join()
        os.kill(proc.pid, signal.SIGCONT)
    assert reply is None and 0.3 <= took < 5
