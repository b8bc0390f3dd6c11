"""The JSON API of ``cairn serve``: shapes equal to the CLI's, errors, files and limits."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # Starlette >= 1.x prefers `httpx2`; `httpx` still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import cairn
from cairn.web.app import build_app

EXPERIMENT_UID = "a0a2d123ef064bcb"
ROWS = [
    {"Model": "a", "Latency": 1.0, "Result": 10.0},
    {"Model": "b", "Latency": 2.0, "Result": 30.0},
    {"Model": "c", "Latency": 3.0, "Result": 20.0},
]


def make_home(make_repo: Callable[..., Path], hostile: str = "plain") -> Path:
    """A registered repository ``web`` with two datasets, one with files, and an experiment."""
    exp = {"alias": "bench", "uid": "00000000000000e1", "automation_alias": "experiment"}
    repo = make_repo(
        "web",
        artifacts={
            "dataset/mnist": {
                "alias": "mnist",
                "uid": "00000000000000a1",
                "automation_alias": "dataset",
                "tags": ["images", "digits"],
                "note": hostile,
            },
            "dataset/cifar": {
                "alias": "cifar",
                "uid": "00000000000000a2",
                "automation_alias": "dataset",
                "tags": ["images", "colour"],
            },
            "experiment/bench": {**exp, "automation_uid": EXPERIMENT_UID, "tags": ["bench"]},
        },
    )
    mnist = repo / "dataset" / "mnist"
    (mnist / "README.md").write_text("# MNIST\n<script>alert(1)</script>\n")
    (mnist / "data").mkdir()
    (mnist / "data" / "labels.txt").write_text("0 1 2\n")
    (mnist / "blob.bin").write_bytes(b"\xff\xfe\x00\x01")
    sweep = repo / "experiment" / "bench" / "2026-01-01T00.00.00"
    sweep.mkdir()
    (sweep / "cm-result.json").write_text(json.dumps(ROWS))
    (repo.parent / "secret.txt").write_text("TOP-SECRET-CONTENT\n")
    added = cairn.access({"action": "add", "automation": "repo", "artifact": str(repo)})
    assert added["return"] == 0, added
    return repo


def as_json(value: Any) -> Any:
    """What ``--out=json`` prints for ``value`` (records through ``to_json``)."""
    return json.loads(json.dumps(value, default=lambda v: v.to_json()))


@pytest.fixture
def client(make_repo: Callable[..., Path]) -> TestClient:
    make_home(make_repo)
    return TestClient(build_app())


def test_find_answers_what_cairn_find_answers(client: TestClient) -> None:
    got = client.get("/api/find/dataset", params={"tags": "images,-colour"})
    assert got.status_code == 200
    expected = cairn.access({"action": "find", "automation": "dataset", "tags": "images,-colour"})
    assert got.json() == as_json(expected)
    assert [a["alias"] for a in got.json()["list"]] == ["mnist"]
    by_name = client.get("/api/find/dataset", params={"name": "web:c*"}).json()
    assert [a["alias"] for a in by_name["list"]] == ["cifar"]


def test_load_answers_what_cairn_load_answers(client: TestClient) -> None:
    got = client.get("/api/load/dataset/web:mnist")
    assert got.status_code == 200
    expected = cairn.access({"action": "load", "automation": "dataset", "artifact": "web:mnist"})
    assert got.json() == as_json(expected)
    assert got.json()["meta"]["tags"] == ["images", "digits"]


def test_repos_and_experiment_answer_as_the_cli(client: TestClient) -> None:
    repos = client.get("/api/repos").json()
    assert [r["alias"] for r in repos["list"]] == ["local", "builtin", "web"]
    shown = client.get("/api/experiment/bench", params={"filter": "Result>=20", "sort": "-Result"})
    assert shown.status_code == 200
    expected = cairn.access(
        {"action": "show", "automation": "experiment", "artifact": "bench", "out": "json"}
        | {"filter": "Result>=20", "sort": "-Result"}
    )
    assert shown.json() == as_json(expected)
    assert [r["Model"] for r in shown.json()["rows"]] == ["b", "c"]


def test_errors_are_json_with_an_http_status(client: TestClient, make_repo: Any) -> None:
    missing = client.get("/api/load/dataset/nothing-here")
    assert missing.status_code == 404 and missing.json()["return"] == 16
    assert "nothing-here" in missing.json()["error"]
    bad = client.get("/api/load/dataset/a,b,c")  # no identifier: three parts
    assert bad.status_code == 400 and bad.json()["return"] == 1
    assert client.get("/api/load/dataset/odd..name").status_code == 404  # a name CM reads
    several = client.get("/api/load/dataset/web:*")
    assert several.status_code == 409 and "2 artifacts match" in several.json()["error"]
    bad_filter = client.get("/api/experiment/bench", params={"filter": "Result >>> 3"})
    assert bad_filter.status_code == 400


@pytest.mark.parametrize(
    "url", ["/api/find/%09R", "/api/find/-x", "/api/load/data%20set/a", "/api/load/dataset/a%01b"]
)
def test_kinds_and_names_outside_the_described_patterns_are_refused(
    client: TestClient, url: str
) -> None:
    answer = client.get(url)
    assert answer.status_code == 400 and "is not a valid name" in answer.json()["error"]


def test_a_file_of_an_artifact_is_served_as_text_or_bytes(client: TestClient) -> None:
    text = client.get("/api/file/dataset/web:mnist/data/labels.txt")
    assert text.status_code == 200 and text.text == "0 1 2\n"
    assert text.headers["content-type"].startswith("text/plain")
    assert text.headers["x-content-type-options"] == "nosniff"
    readme = client.get("/api/file/dataset/web:mnist/README.md")
    assert readme.headers["content-type"].startswith("text/plain")  # never text/html
    blob = client.get("/api/file/dataset/web:mnist/blob.bin")
    assert blob.content == b"\xff\xfe\x00\x01"
    assert blob.headers["content-type"] == "application/octet-stream"
    assert client.get("/api/file/dataset/web:mnist/nope.txt").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/file/dataset/web:mnist/%2e%2e/%2e%2e/secret.txt",
        "/api/file/dataset/web:mnist/..%2f..%2fsecret.txt",
        "/api/file/dataset/web:mnist/data/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/api/file/dataset/web:mnist//etc/passwd",
        "/api/file/dataset/web:mnist/%2fetc%2fpasswd",
        "/api/file/dataset/web:mnist/data%5c..%5c..%5csecret.txt",
        "/api/file/dataset/web:mnist/README.md%00.txt",
    ],
)
def test_paths_leaving_the_artifact_are_refused(client: TestClient, path: str) -> None:
    got = client.get(path)
    assert got.status_code in (400, 404), got.text
    assert "TOP-SECRET-CONTENT" not in got.text and "root:" not in got.text


def test_a_symlink_out_of_the_artifact_is_refused(
    client: TestClient, make_repo: Any, tmp_path: Path
) -> None:
    mnist = tmp_path / "repos" / "web" / "dataset" / "mnist"
    os.symlink(tmp_path / "repos" / "secret.txt", mnist / "escape.txt")
    os.symlink(tmp_path / "repos", mnist / "up")
    os.symlink(mnist / "data" / "labels.txt", mnist / "inside.txt")
    assert client.get("/api/file/dataset/web:mnist/escape.txt").status_code == 400
    assert client.get("/api/file/dataset/web:mnist/up/secret.txt").status_code == 400
    assert client.get("/api/file/dataset/web:mnist/inside.txt").text == "0 1 2\n"


def test_an_oversized_file_is_not_served(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cairn.web import security

    monkeypatch.setattr(security, "MAX_FILE", 3)
    got = client.get("/api/file/dataset/web:mnist/data/labels.txt")
    assert got.status_code == 400 and "over 3 bytes" in got.json()["error"]


def test_oversized_queries_are_refused(client: TestClient) -> None:
    long = client.get("/api/find/dataset", params={"name": "x" * 5000})
    assert long.status_code == 414
    tags = ",".join(f"t{n}" for n in range(101))
    many = client.get("/api/find/dataset", params={"tags": tags})
    assert many.status_code == 400 and "too many tags" in many.json()["error"]


def test_the_openapi_description_names_every_endpoint(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/find/{automation}",
        "/api/load/{automation}/{name}",
        "/api/repos",
        "/api/experiment/{name}",
        "/api/file/{automation}/{name}/{path}",
        "/repos/{alias}/cairn-repo.json",
        "/repos/{alias}/objects/{head}/{tail}",
        "/cache/keys/{name}",
        "/cache/entries/{name}",
        "/cache/entries/{uid}/{path}",
    }
    find = document["paths"]["/api/find/{automation}"]["get"]
    assert {p["name"] for p in find["parameters"]} == {"automation", "tags", "name"}


def test_only_read_only_actions_are_run() -> None:
    from cairn.errors import Refused
    from cairn.web import answers

    with pytest.raises(Refused, match="read-only"):
        answers.run({"action": "rm", "automation": "dataset", "artifact": "x", "force": True})
