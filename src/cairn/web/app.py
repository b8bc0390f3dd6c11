"""The Starlette application of ``cairn serve`` and the server that runs it.

``cairn serve [--host=127.0.0.1] [--port=8000] [--token=T | --token_file=F]`` is a top-level
action (like ``reindex``): :func:`serve_command` checks the flags, refuses a non-loopback
address without a token (:mod:`cairn.web.security`) and runs uvicorn until interrupted.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cairn.automations.contract import Outcome
from cairn.errors import InvalidInput

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOOPBACK_HOSTS = ["127.0.0.1", "localhost"]
INSTALL_HINT = "pip install 'cairn[web]'"


def build_app(
    token: str | None = None, hosts: list[str] | None = None, *, cache: bool = False
) -> Any:
    """The ASGI app: pages and API behind :class:`cairn.web.security.Guard`; with ``hosts``,
    requests naming another ``Host`` are refused (DNS rebinding on loopback); with ``cache``,
    the shared cache (:mod:`cairn.web.cache`) is offered too."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    from cairn.web import api, pages, repos, security

    middleware = [Middleware(security.Guard, token=token)]
    if hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=hosts))
    routes = [*api.ROUTES, *repos.ROUTES, *(_cache_routes() if cache else ()), *pages.ROUTES]
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers={404: pages.not_found}
    )


def _cache_routes() -> list[Any]:
    from cairn.web import cache

    return cache.ROUTES


def _require_web() -> None:
    import importlib.util

    missing = [m for m in ("starlette", "uvicorn", "jinja2") if importlib.util.find_spec(m) is None]
    if missing:
        raise InvalidInput(
            f"cairn serve needs {', '.join(missing)}, which is not installed",
            hint=INSTALL_HINT,
        )


def _port(value: Any) -> int:
    text = str(DEFAULT_PORT if value is None else value)
    if not text.isdigit() or int(text) > 65535:
        raise InvalidInput(f"--port={value!r} is not a port number (0 to 65535)")
    return int(text)


def settings(raw: dict[str, Any]) -> tuple[str, int, str | None]:
    """The host, port and token ``raw`` (the CLI's input dict) asks for; checked."""
    from cairn.web import security

    host = raw.get("host") or DEFAULT_HOST
    if not isinstance(host, str):
        raise InvalidInput(f"--host={host!r} is not an address")
    token = security.read_token(raw.get("token"), raw.get("token_file"))
    security.check_bind(host, token)
    return host, _port(raw.get("port")), token


def serve_command(raw: dict[str, Any]) -> Outcome:
    """``cairn serve``: serve until interrupted."""
    _require_web()
    host, port, token = settings(raw)
    hosts = LOOPBACK_HOSTS if host in LOOPBACK_HOSTS else None
    with _home_to_serve():
        return _run(build_app(token, hosts, cache=bool(raw.get("cache"))), host, port)


def _run(app: Any, host: str, port: int) -> Outcome:
    import uvicorn

    listening = _listen(host, port)
    port = listening.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning")
    print(f"cairn: serving on http://{_shown(host)}:{port}/ (Ctrl-C stops)", flush=True)
    with listening, contextlib.suppress(KeyboardInterrupt):  # uvicorn raises the signal
        uvicorn.Server(config).run(sockets=[listening])
    return Outcome({"host": host, "port": port}, ["cairn: stopped"])


@contextlib.contextmanager
def _home_to_serve() -> Iterator[None]:
    """``$CAIRN_HOME`` as it is, or a scratch home linking to it when it cannot be written."""
    import os
    import tempfile

    from cairn.home import HOME_ENV, Home
    from cairn.web import scratch

    root = Home.from_env().root
    if scratch.writable(root):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="cairn-serve-home-") as folder:
        print(f"cairn: {root} cannot be written: serving it through {folder}", flush=True)
        saved = os.environ.get(HOME_ENV)
        os.environ[HOME_ENV] = str(scratch.make(root, Path(folder) / "home"))
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(HOME_ENV, None)
            else:
                os.environ[HOME_ENV] = saved


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket (port 0: a free one, named in the first line printed)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    if host == "localhost":
        host = "127.0.0.1"
    return socket.create_server((host.strip("[]"), port), family=family)


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
