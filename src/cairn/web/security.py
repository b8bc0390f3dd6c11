"""What keeps ``cairn serve`` safe: bind rules, the token, request limits and artifact files.

Rules
    * a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``) may be bound without a
      token; any other address needs ``--token=T`` or ``--token_file=F``;
    * with a token, every request carries ``Authorization: Bearer T``, or ``?token=T`` (a page
      opened in a browser: the token is then kept in a ``SameSite=Strict``, ``HttpOnly``
      cookie so the page's links work); a missing or wrong token is answered 401;
    * a query string over :data:`MAX_QUERY` bytes or a path over :data:`MAX_PATH` bytes is
      answered 414 before any work;
    * a file is served only when it lies under its artifact's folder once every symlink is
      resolved: no ``..`` part, no absolute path, no NUL, a regular file of at most
      :data:`MAX_FILE` bytes.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import string
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs

from cairn.errors import InvalidInput, NotFound

MAX_QUERY = 4096
MAX_PATH = 4096
MAX_TAGS = 100
MAX_FILE = 10 * 1024 * 1024
MAX_TOKEN_FILE = 4096
COOKIE = "cairn_token"
TOKEN_CHARACTERS = string.ascii_letters + string.digits + "-_.~"
"""What a token is made of: safe in a header, a query string and a cookie unquoted."""
LOOPBACK_NAMES = ("localhost", "localhost.localdomain")
AUTOMATION_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$"
"""What a kind named in a URL looks like (``script``, ``cache``, ``my.kind``)."""
NAME_PATTERN = r"^[^\x00-\x1f\x7f/\\]+$"
"""What an artifact named in a URL looks like: any name CM reads (spaces too), without
control characters or path separators."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def path_value(value: str, pattern: str, what: str) -> str:
    """``value`` of the URL part ``what`` when it fits ``pattern``, else a 400 answer."""
    if re.fullmatch(pattern, value):
        return value
    raise InvalidInput(
        f"{what} {value[:80]!r} is not a valid name", hint=f"it must match {pattern}"
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts local connections."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to bind a non-loopback ``host`` without a token."""
    if token or is_loopback(host):
        return
    raise InvalidInput(
        f"refusing to serve on {host} without a token: anyone who can reach it could read"
        " every registered repository",
        hint="give --token=SECRET or --token_file=FILE, or serve on 127.0.0.1",
    )


def read_token(token: Any, token_file: Any) -> str | None:
    """The token of ``--token`` or ``--token_file`` (its first line), else ``None``."""
    if token and token_file:
        raise InvalidInput("give --token or --token_file, not both")
    if token_file:
        return _token_from(Path(str(token_file)).expanduser())
    if token is True or (token is not None and not isinstance(token, str)):
        raise InvalidInput("--token needs a value: --token=SECRET")
    return _checked_token(token, "--token") if token else None


def _token_from(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_TOKEN_FILE + 1)
    except OSError as exc:
        raise NotFound(f"cannot read the token file {path}: {exc.strerror}") from None
    if len(raw) > MAX_TOKEN_FILE:
        raise InvalidInput(f"the token file {path} is over {MAX_TOKEN_FILE} bytes")
    lines = raw.decode("utf-8", "replace").strip().splitlines()
    return _checked_token(lines[0].strip() if lines else "", f"the token file {path}")


def _checked_token(token: str, where: str) -> str:
    if len(token) < 8 or token.strip(TOKEN_CHARACTERS):
        raise InvalidInput(
            f"{where}: a token is at least 8 letters, digits, '-', '_', '.' or '~'",
            hint="e.g. python3 -c 'import secrets; print(secrets.token_urlsafe())'",
        )
    return token


def safe_file(root: Path, relative: str, *, limited: bool = True) -> Path:
    """The file ``relative`` inside the artifact folder ``root``; refused otherwise (and,
    when ``limited``, refused over :data:`MAX_FILE` bytes)."""
    parts = PurePosixPath(relative).parts
    if not relative or "\x00" in relative or relative.startswith(("/", "\\")):
        raise InvalidInput(f"{relative!r} is not a path inside the artifact")
    if any(part in ("..", ".") for part in parts) or "\\" in relative:
        raise InvalidInput(f"{relative!r}: '..', '.' and backslashes are not allowed")
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or target == base:
        raise InvalidInput(f"{relative!r} leads outside the artifact's folder")
    if not target.is_file():
        raise NotFound(f"no file {relative!r} in the artifact")
    if limited and target.stat().st_size > MAX_FILE:
        raise InvalidInput(f"{relative!r} is over {MAX_FILE} bytes: not served")
    return target


def tag_list(text: str | None) -> str | None:
    """The ``tags`` query parameter, refused when it lists over :data:`MAX_TAGS` tags."""
    if text is not None and text.count(",") >= MAX_TAGS:
        raise InvalidInput(f"too many tags: at most {MAX_TAGS}")
    return text


class Guard:
    """ASGI middleware: request limits, the token, and headers every answer carries."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if len(query) > MAX_QUERY or len(scope.get("raw_path") or b"") > MAX_PATH:
            await _refuse(send, 414, "the request is too long")
            return
        how = self._authorised(scope, query)
        if how is None:
            await _refuse(send, 401, "a valid token is needed: Authorization: Bearer TOKEN")
            return
        await self.app(scope, receive, _with_headers(send, how == "query" and self.token))

    def _authorised(self, scope: Scope, query: bytes) -> str | None:
        """How the request showed the token (``header``/``query``/``cookie``), else None."""
        if self.token is None:
            return "open"
        headers = dict(scope.get("headers") or [])
        bearer = headers.get(b"authorization", b"").decode("latin-1")
        if bearer.startswith("Bearer ") and self._same(bearer[7:]):
            return "header"
        given = parse_qs(query.decode("latin-1")).get("token", [""])[0]
        if given and self._same(given):
            return "query"
        return "cookie" if self._same(_cookie(headers.get(b"cookie", b""))) else None

    def _same(self, given: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(given.encode(), self.token.encode())


def _cookie(header: bytes) -> str:
    for part in header.decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""


def _with_headers(send: Send, token: str | bool | None) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            headers += [
                (b"x-content-type-options", b"nosniff"),
                (b"x-frame-options", b"DENY"),
                (b"referrer-policy", b"no-referrer"),
            ]
            if isinstance(token, str):
                cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
                headers.append((b"set-cookie", cookie.encode("latin-1")))
            message["headers"] = headers
        await send(message)

    return sending


async def _refuse(send: Send, status: int, error: str) -> None:
    body = json.dumps({"return": 1, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="cairn"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
