"""``cairn serve``'s rules: bind addresses, the token, and the flags of the command."""

from __future__ import annotations

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

from cairn.errors import InvalidInput, NotFound
from cairn.web import app, security
from tests.test_web_api import make_home

TOKEN = "t0ken-for-tests"


@pytest.fixture
def guarded(make_repo: Callable[..., Path]) -> TestClient:
    make_home(make_repo)
    return TestClient(app.build_app(TOKEN))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_token(host: str) -> None:
    security.check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_another_address_needs_a_token(host: str) -> None:
    with pytest.raises(InvalidInput, match="without a token") as refused:
        security.check_bind(host, None)
    assert "--token" in refused.value.hint
    security.check_bind(host, TOKEN)


def test_every_request_needs_the_token(guarded: TestClient) -> None:
    for path in ("/api/repos", "/", "/openapi.json", "/api/find/dataset", "/nowhere"):
        missing = guarded.get(path)
        assert missing.status_code == 401, path
        assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = guarded.get("/api/repos", headers={"Authorization": "Bearer nope-nope-nope"})
    assert wrong.status_code == 401 and "token" in wrong.json()["error"]
    assert guarded.get("/api/repos", params={"token": "wrong-token"}).status_code == 401
    right = guarded.get("/api/repos", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200 and right.json()["return"] == 0


def test_a_token_in_the_query_opens_pages_and_their_links(guarded: TestClient) -> None:
    page = guarded.get("/", params={"token": TOKEN})
    assert page.status_code == 200 and "Repositories" in page.text
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    followed = guarded.get("/find", params={"automation": "dataset"})  # the cookie is sent
    assert followed.status_code == 200 and "mnist" in followed.text
    guarded.cookies.clear()
    assert guarded.get("/find", params={"automation": "dataset"}).status_code == 401


def test_read_token_from_a_flag_or_a_file(tmp_path: Path) -> None:
    assert security.read_token(None, None) is None
    assert security.read_token(TOKEN, None) == TOKEN
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n")
    assert security.read_token(None, str(token_file)) == TOKEN
    with pytest.raises(InvalidInput, match="not both"):
        security.read_token(TOKEN, str(token_file))
    with pytest.raises(InvalidInput, match="at least 8 letters"):
        security.read_token("short", None)
    with pytest.raises(InvalidInput, match="at least 8 letters"):
        security.read_token("semi;colon+plus", None)
    with pytest.raises(InvalidInput, match="needs a value"):
        security.read_token(True, None)
    with pytest.raises(NotFound, match="token file"):
        security.read_token(None, str(tmp_path / "missing"))
    token_file.write_text("")
    with pytest.raises(InvalidInput, match="at least 8 letters"):
        security.read_token(None, str(token_file))


def test_settings_check_host_port_and_token() -> None:
    assert app.settings({}) == ("127.0.0.1", 8000, None)
    assert app.settings({"host": "0.0.0.0", "port": "9000", "token": TOKEN}) == (
        "0.0.0.0",
        9000,
        TOKEN,
    )
    with pytest.raises(InvalidInput, match="not a port"):
        app.settings({"port": "http"})
    with pytest.raises(InvalidInput, match="not a port"):
        app.settings({"port": "70000"})


def test_the_cli_refuses_a_public_address_without_a_token(cli: Any) -> None:
    done = cli("serve", "--host=0.0.0.0", "--port=0")
    assert done.returncode == 1
    assert "refusing to serve on 0.0.0.0 without a token" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_the_web_extra_serve_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "uvicorn" else real(name)
    )
    with pytest.raises(InvalidInput, match="uvicorn") as refused:
        app.serve_command({})
    assert "pip install 'cairn[web]'" in refused.value.hint


def test_a_port_in_use_is_a_clear_error(cli: Any) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        done = cli("serve", f"--port={taken.getsockname()[1]}")
    assert done.returncode == 1
    assert "cairn error: Address already in use" in done.stderr
    assert "Traceback" not in done.stderr
