"""The shared cache of ``cairn serve --cache``: entries offered by key, in the layout of
:mod:`cairn.script.shared` (served only when ``--cache`` is given).

==================================  =====================================================
``GET /cache/keys/{static}.json``   the complete entries of one static key, newest first
``GET /cache/entries/{uid}.json``   one entry
``GET /cache/entries/{uid}/{path}`` a file of an entry that its listing names
==================================  =====================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from cairn.errors import NotFound
from cairn.web import answers, security


def _cache() -> Any:
    from cairn.script.cache import Cache
    from cairn.store.catalog import Catalog

    return Cache(Catalog.open().registry)


def _answer(make: Callable[[], Any]) -> Response:
    try:
        made = make()
    except Exception as exc:
        status, error = answers.failure(exc)
        return JSONResponse(error, status_code=status)
    return made if isinstance(made, Response) else JSONResponse(made)


def _stem(name: str) -> str:
    if not name.endswith(".json"):
        raise NotFound(f"no {name[:80]!r} here")
    return name[: -len(".json")]


def key(request: Request) -> Response:
    from cairn.script import shared

    name = request.path_params["name"]
    return _answer(lambda: shared.key_listing(_cache(), _stem(name)))


def entry(request: Request) -> Response:
    from cairn.script import shared

    name = request.path_params["name"]
    return _answer(lambda: shared.entry_listing(_cache(), _stem(name)))


def entry_file(request: Request) -> Response:
    from cairn.script import shared

    uid, path = request.path_params["uid"], request.path_params["path"]

    def found() -> Response:
        cache = _cache()
        listed = shared.entry_file(cache, uid, path)
        safe = security.safe_file(listed.parent.parent / uid, path, limited=False)
        return FileResponse(safe, media_type="application/octet-stream")

    return _answer(found)


ROUTES = [
    Route("/cache/keys/{name}", key, name="cache_key"),
    Route("/cache/entries/{name}", entry, name="cache_entry"),
    Route("/cache/entries/{uid}/{path:path}", entry_file, name="cache_file"),
]
