"""``cairn serve`` for real: the command in a subprocess, answering over loopback HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from tests.test_web_api import make_home

TOKEN = "real-server-token"


def started_on(proc: subprocess.Popen[str]) -> str:
    """The address ``cairn serve --port=0`` names in its first line (it listens by then)."""
    assert proc.stdout is not None
    first = proc.stdout.readline()
    found = re.search(r"serving on (http://127\.0\.0\.1:\d+)/", first)
    if found is None:
        proc.kill()
        raise AssertionError(f"cairn serve did not start: {first!r} {proc.communicate()}")
    return found.group(1)


@pytest.fixture
def server(
    make_repo: Callable[..., Path], cairn_home: Path
) -> Iterator[Callable[..., tuple[str, subprocess.Popen[str]]]]:
    make_home(make_repo)
    started: list[subprocess.Popen[str]] = []

    def start(*flags: str) -> tuple[str, subprocess.Popen[str]]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cairn", "serve", "--port=0", *flags],
            env={**os.environ, "CAIRN_HOME": str(cairn_home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return started_on(proc), proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def fetch(url: str, **headers: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as failed:
        return failed.code, failed.read().decode()


def test_cairn_serve_answers_the_api_and_stops_on_ctrl_c(server: Any) -> None:
    base, proc = server()
    status, body = fetch(f"{base}/api/find/dataset?tags=images,-colour")
    assert status == 200
    assert [a["alias"] for a in json.loads(body)["list"]] == ["mnist"]
    status, body = fetch(f"{base}/api/load/dataset/web:cifar")
    assert status == 200 and json.loads(body)["meta"]["tags"] == ["images", "colour"]
    status, _ = fetch(f"{base}/api/repos", Host="attacker.example")  # DNS rebinding
    assert status == 400
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in out


def test_cairn_serve_with_a_token_file_checks_every_request(server: Any, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    base, _ = server(f"--token_file={token_file}")
    assert fetch(f"{base}/api/repos")[0] == 401
    assert fetch(f"{base}/api/repos", Authorization="Bearer wrong-token")[0] == 401
    status, body = fetch(f"{base}/api/repos", Authorization=f"Bearer {TOKEN}")
    assert status == 200 and json.loads(body)["return"] == 0
    status, page = fetch(f"{base}/find?automation=dataset&token={TOKEN}")
    assert status == 200 and "mnist" in page


@pytest.mark.browser
def test_chromium_searches_opens_an_artifact_and_a_pareto_page(server: Any, chromium: Any) -> None:
    base, _ = server()

    def dom(path: str) -> str:
        return str(chromium("--virtual-time-budget=3000", "--dump-dom", f"{base}{path}"))

    home = dom("/")
    assert 'id="repos"' in home and 'href="/find?automation=dataset"' in home
    found = dom("/find?automation=dataset&tags=images,-colour")
    assert "1 dataset artifact" in found
    link = found.split('href="/a/dataset/')[1].split('"')[0]
    page = dom(f"/a/dataset/{link}")
    assert "<h1>dataset mnist</h1>" in page and "labels.txt" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    front = dom("/plot/experiment/bench?x=Latency:min&y=Result:max")
    assert "<svg" in front and "Pareto front" in front
