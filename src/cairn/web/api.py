"""The JSON API: each endpoint is a CLI command with ``--out=json``, run through
:mod:`cairn.web.answers` with the same input dict, so the shapes cannot drift.

=========================================  ============================================
``GET /api/find/{automation}``             ``cairn find AUTOMATION [NAME] --tags=..``
``GET /api/load/{automation}/{name}``      ``cairn load AUTOMATION NAME``
``GET /api/repos``                         ``cairn list repo``
``GET /api/experiment/{name}``             ``cairn show experiment NAME --filter --sort``
``GET /api/file/{automation}/{name}/{p}``  a file inside the artifact (text or bytes)
=========================================  ============================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cairn.web import answers, security
from cairn.web.openapi import DOCUMENT

Handler = Callable[[Request], dict[str, Any]]


def _json(handler: Handler) -> Callable[[Request], Response]:
    """An endpoint answering ``handler``'s document, or its failure with a 4xx/5xx status."""

    def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(handler(request))
        except Exception as exc:
            status, document = answers.failure(exc)
            return JSONResponse(document, status_code=status)

    return endpoint


def _param(request: Request, key: str) -> str | None:
    value = request.query_params.get(key)
    return value if value else None


def find_input(automation: str, name: str | None, tags: str | None) -> dict[str, Any]:
    """``cairn find AUTOMATION [NAME] [--tags=TAGS]`` as an input dict."""
    i: dict[str, Any] = {"action": "find", "automation": automation}
    if name:
        i["artifact"] = name
    if tags:
        i["tags"] = security.tag_list(tags)
    return i


def load_input(automation: str, name: str) -> dict[str, Any]:
    """``cairn load AUTOMATION NAME`` as an input dict."""
    return {"action": "load", "automation": automation, "artifact": name}


def show_input(name: str, filter_: str | None, sort: str | None) -> dict[str, Any]:
    """``cairn show experiment NAME [--filter=..] [--sort=..]`` as an input dict."""
    i: dict[str, Any] = {"action": "show", "automation": "experiment", "artifact": name}
    i.update({k: v for k, v in (("filter", filter_), ("sort", sort)) if v})
    return i


def _automation(request: Request) -> str:
    value = request.path_params["automation"]
    return security.path_value(value, security.AUTOMATION_PATTERN, "the kind")


def _name(request: Request) -> str:
    return security.path_value(request.path_params["name"], security.NAME_PATTERN, "the name")


def find(request: Request) -> dict[str, Any]:
    automation = _automation(request)
    tags = _param(request, "tags")
    return answers.run(find_input(automation, _param(request, "name"), tags))


def load(request: Request) -> dict[str, Any]:
    return answers.run(load_input(_automation(request), _name(request)))


def repos(request: Request) -> dict[str, Any]:
    return answers.run({"action": "list", "automation": "repo"})


def experiment(request: Request) -> dict[str, Any]:
    name = _name(request)
    return answers.run(show_input(name, _param(request, "filter"), _param(request, "sort")))


def artifact_file(request: Request) -> Response:
    """A file inside an artifact: UTF-8 text as ``text/plain``, anything else as bytes."""
    params = request.path_params
    try:
        loaded = answers.run(load_input(_automation(request), _name(request)))
        from pathlib import Path

        path = security.safe_file(Path(loaded["path"]), params["path"])
        data = path.read_bytes()
    except Exception as exc:
        status, document = answers.failure(exc)
        return JSONResponse(document, status_code=status)
    try:
        return Response(data.decode("utf-8"), media_type="text/plain; charset=utf-8")
    except UnicodeDecodeError:
        return Response(data, media_type="application/octet-stream")


def openapi(request: Request) -> Response:
    return JSONResponse(DOCUMENT)


ROUTES = [
    Route("/api/find/{automation}", _json(find), name="api_find"),
    Route("/api/load/{automation}/{name}", _json(load), name="api_load"),
    Route("/api/repos", _json(repos), name="api_repos"),
    Route("/api/experiment/{name}", _json(experiment), name="api_experiment"),
    Route("/api/file/{automation}/{name}/{path:path}", artifact_file, name="api_file"),
    Route("/openapi.json", openapi, name="openapi"),
]
