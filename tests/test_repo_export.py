"""Static repository exports (``cairn export repo``) and pulls over HTTP, checked by digest:
from a plain static web server, and from ``cairn serve`` between two homes."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static web server over ``tmp_path/www`` on loopback: (base URL, its folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def exported(
    make_repo: Callable[..., Path], cli: Cli, static_server: tuple[str, Path]
) -> tuple[str, Path, str]:
    """Repository ``r1`` (a file, an executable, a link) exported under the static server:
    (its URL, the export folder, the listing's digest)."""
    repo = make_repo("r1", artifacts={"dataset/mnist": {"alias": "mnist", "tags": ["digits"]}})
    mnist = repo / "dataset" / "mnist"
    (mnist / "data").mkdir()
    (mnist / "data" / "labels.txt").write_text("0 1 2\n")
    (mnist / "get.sh").write_text("#!/bin/sh\necho hi\n")
    (mnist / "get.sh").chmod(0o755)
    os.symlink("data/labels.txt", mnist / "labels")
    assert cli("add", "repo", str(repo)).returncode == 0
    base, root = static_server
    done = cli("export", "repo", "r1", str(root / "r1"), "--out=json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["files"] == 5  # cmr.yaml, _cm.yaml, two files, a link
    return f"{base}/r1", root / "r1", answer["sha256"]


def other_home(cli: Cli, tmp_path: Path, name: str = "home2") -> Callable[..., Any]:
    env = {"CAIRN_HOME": str(tmp_path / name)}
    return lambda *argv: cli(*argv, env=env)


def test_a_static_export_is_pulled_over_http_and_found(
    exported: tuple[str, Path, str], cli: Cli, tmp_path: Path
) -> None:
    url, _, digest = exported
    second = other_home(cli, tmp_path)
    pulled = second("pull", "repo", url, f"--sha256={digest}")
    assert pulled.returncode == 0, pulled.stderr
    found = json.loads(second("find", "dataset", "--tags=digits", "--out=json").stdout)
    (artifact,) = found["list"]
    folder = Path(artifact["path"])
    assert (folder / "data" / "labels.txt").read_text() == "0 1 2\n"
    assert os.access(folder / "get.sh", os.X_OK)
    assert os.readlink(folder / "labels") == "data/labels.txt"


def test_the_listing_is_content_addressed(exported: tuple[str, Path, str]) -> None:
    _, root, digest = exported
    data = (root / "cairn-repo.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest
    for entry in json.loads(data)["files"]:
        if "sha256" in entry:
            stored = root / "objects" / entry["sha256"][:2] / entry["sha256"][2:]
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == entry["sha256"]


def assert_nothing_registered(second: Callable[..., Any], tmp_path: Path) -> None:
    repos = json.loads(second("list", "repo", "--out=json").stdout)["list"]
    assert [r["alias"] for r in repos] == ["local", "builtin"]
    leftovers = list((tmp_path / "home2" / "repos").glob("*"))
    assert leftovers == [], leftovers


def test_a_tampered_file_refuses_the_whole_pull(
    exported: tuple[str, Path, str], cli: Cli, tmp_path: Path
) -> None:
    url, root, _ = exported
    listing = json.loads((root / "cairn-repo.json").read_text())
    labels = next(e for e in listing["files"] if e["path"].endswith("labels.txt"))
    (root / "objects" / labels["sha256"][:2] / labels["sha256"][2:]).write_text("9 9 9\n")
    second = other_home(cli, tmp_path)
    pulled = second("pull", "repo", url)
    assert pulled.returncode != 0
    assert "dataset/mnist/data/labels.txt" in pulled.stderr
    assert "nothing was registered" in pulled.stderr
    assert_nothing_registered(second, tmp_path)


def test_a_listing_that_is_not_the_pinned_one_is_refused(
    exported: tuple[str, Path, str], cli: Cli, tmp_path: Path
) -> None:
    url, _, digest = exported
    second = other_home(cli, tmp_path)
    wrong = "0" * 64
    pulled = second("pull", "repo", url, f"--sha256={wrong}")
    assert pulled.returncode != 0 and f"sha256 is {digest}" in pulled.stderr
    assert_nothing_registered(second, tmp_path)
    bad = second("pull", "repo", url, "--sha256=xyz")
    assert bad.returncode != 0 and "64 hex digits" in bad.stderr


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ({"path": "../evil", "sha256": "0" * 64, "size": 1}, "unsafe path"),
        ({"path": "/etc/evil", "sha256": "0" * 64, "size": 1}, "unsafe path"),
        ({"path": ".git/hooks/post-checkout", "sha256": "0" * 64, "size": 1}, "inside .git"),
        ({"path": "dataset/x", "link": "../../../etc/passwd"}, "leaves the repository"),
        ({"path": "dataset/y", "sha256": "nothex", "size": 1}, "no valid sha256"),
    ],
)
def test_hostile_listings_are_refused(
    exported: tuple[str, Path, str], cli: Cli, tmp_path: Path, entry: dict[str, Any], said: str
) -> None:
    url, root, _ = exported
    listing = json.loads((root / "cairn-repo.json").read_text())
    listing["files"].append(entry)
    (root / "cairn-repo.json").write_text(json.dumps(listing))
    second = other_home(cli, tmp_path)
    pulled = second("pull", "repo", url)
    assert pulled.returncode != 0 and said in pulled.stderr, pulled.stderr
    assert_nothing_registered(second, tmp_path)


def test_exporting_again_keeps_what_is_there_and_adds_what_changed(
    exported: tuple[str, Path, str], cli: Cli, tmp_path: Path
) -> None:
    _, root, digest = exported
    objects = {p.name for p in (root / "objects").rglob("*") if p.is_file()}
    labels = tmp_path / "repos" / "r1" / "dataset" / "mnist" / "data" / "labels.txt"
    labels.write_text("3 4 5\n")
    again = json.loads(cli("export", "repo", "r1", str(root), "--out=json").stdout)
    assert again["sha256"] != digest
    now = {p.name for p in (root / "objects").rglob("*") if p.is_file()}
    assert objects < now and len(now) == len(objects) + 1


def test_export_needs_a_repository_and_a_folder(cli: Cli) -> None:
    answer = cli("export", "repo", "local")
    assert answer.returncode != 0 and "cairn export repo ALIAS DIR" in answer.stderr


def test_a_repository_is_pulled_from_cairn_serve_into_a_second_home(
    make_repo: Callable[..., Path], cli: Cli, tmp_path: Path, cairn_home: Path
) -> None:
    pytest.importorskip("uvicorn")
    from tests.test_web_serve import started_on

    repo = make_repo("r1", artifacts={"dataset/mnist": {"alias": "mnist", "tags": ["digits"]}})
    (repo / "dataset" / "mnist" / "big.bin").write_bytes(os.urandom(1 << 16))
    assert cli("add", "repo", str(repo)).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "cairn", "serve", "--port=0"],
        env={**os.environ, "CAIRN_HOME": str(cairn_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = started_on(proc)
        second = other_home(cli, tmp_path)
        pulled = second("pull", "repo", f"{base}/repos/r1")
        assert pulled.returncode == 0, pulled.stderr
        found = json.loads(second("find", "dataset", "mnist", "--out=json").stdout)["list"]
        copy = Path(found[0]["path"]) / "big.bin"
        assert copy.read_bytes() == (repo / "dataset" / "mnist" / "big.bin").read_bytes()
        missing = second("pull", "repo", f"{base}/repos/nothing")
        assert missing.returncode != 0
    finally:
        proc.kill()
        proc.communicate()
