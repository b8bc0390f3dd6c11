"""The OpenAPI 3 description of the JSON API, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from cairn.web.security import AUTOMATION_PATTERN, NAME_PATTERN


def _path_param(name: str, description: str, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if pattern:
        schema["pattern"] = pattern
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _query_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


_DOCUMENT_SCHEMA = {"type": "object", "properties": {"return": {"type": "integer"}}}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["return", "error"],
    "properties": {"return": {"type": "integer"}, "error": {"type": "string"}},
}


def _answers(what: str, media: str = "application/json") -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": _ERROR_SCHEMA}}}
    schema = _DOCUMENT_SCHEMA if media == "application/json" else {"type": "string"}
    return {
        "200": {"description": what, "content": {media: {"schema": schema}}},
        "400": {"description": "bad input", **error},
        "401": {"description": "a token is needed", **error},
        "404": {"description": "not found", **error},
        "409": {"description": "several artifacts match", **error},
        "414": {"description": "the request is too long", **error},
    }


def _get(summary: str, parameters: list[dict[str, Any]], media: str = "application/json") -> Any:
    answers = _answers(summary, media)
    return {"get": {"summary": summary, "parameters": parameters, "responses": answers}}


AUTOMATION = _path_param(
    "automation",
    "the kind of artifact: script, dataset, experiment...",
    AUTOMATION_PATTERN,
)
NAME = _path_param("name", "[repo:]alias|uid[,uid] as in the CLI", NAME_PATTERN)

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "cairn",
        "version": "1",
        "description": "A read-only view of a cairn home; each answer is the document the CLI"
        " prints with --out=json.",
    },
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
    },
    "paths": {
        "/api/find/{automation}": _get(
            "artifacts matching a name pattern and tags (cairn find)",
            [
                AUTOMATION,
                _query_param("tags", "tags that must all match; -TAG excludes: a,-b"),
                _query_param("name", "[repo:]name, wildcards allowed"),
            ],
        ),
        "/api/load/{automation}/{name}": _get(
            "the merged meta of one artifact (cairn load)", [AUTOMATION, NAME]
        ),
        "/api/repos": _get("the registered repositories in search order (cairn list repo)", []),
        "/api/experiment/{name}": _get(
            "an experiment's table (cairn show experiment)",
            [
                NAME,
                _query_param("filter", "rows to keep: 'Accuracy>=75.9 and Model~resnet'"),
                _query_param("sort", "sort keys: -Result,Model"),
            ],
        ),
        "/api/file/{automation}/{name}/{path}": _get(
            "a file inside an artifact's folder",
            [AUTOMATION, NAME, _path_param("path", "the file's path inside the artifact")],
            media="text/plain",
        ),
        "/repos/{alias}/cairn-repo.json": _get(
            "a registered repository's export listing (cairn pull repo URL reads it)",
            [_path_param("alias", "the repository's alias", AUTOMATION_PATTERN)],
        ),
        "/repos/{alias}/objects/{head}/{tail}": _get(
            "a file of the repository by its sha256 (2 + 62 hex digits)",
            [
                _path_param("alias", "the repository's alias", AUTOMATION_PATTERN),
                _path_param("head", "the first 2 hex digits of the sha256"),
                _path_param("tail", "the other 62"),
            ],
            media="application/octet-stream",
        ),
        "/cache/keys/{name}": _get(
            "the cache entries of one static key, newest first (serve --cache only)",
            [_path_param("name", "STATIC-KEY.json")],
        ),
        "/cache/entries/{name}": _get(
            "one cache entry's listing (serve --cache only)", [_path_param("name", "UID.json")]
        ),
        "/cache/entries/{uid}/{path}": _get(
            "a file of a cache entry that its listing names (serve --cache only)",
            [_path_param("uid", "the entry's uid"), _path_param("path", "the file's path")],
            media="application/octet-stream",
        ),
    },
}
