"""Registered repositories served in the static export layout, for ``cairn pull repo URL``.

=======================================  ====================================================
``GET /repos/{alias}/cairn-repo.json``   the listing of :mod:`cairn.store.export` (every file
                                         hashed as it is on disk now)
``GET /repos/{alias}/objects/{aa}/{b}``  a file's bytes by its sha256
=======================================  ====================================================

Objects are found by digest in the listing last computed for the repository (computed now if
there is none), never by a path from the request; the file is then read through
:func:`cairn.web.security.safe_file`, so a file replaced by a link out of the repository
since the listing is refused. The client checks every byte against the listing anyway.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from cairn.errors import NotFound
from cairn.store import export
from cairn.store import repo as repo_mod
from cairn.web import answers, security

_objects: dict[str, dict[str, str]] = {}
"""Per repository path: sha256 -> the file's relative path, from its last listing."""
_lock = threading.Lock()


def _repo(alias: str) -> repo_mod.Repo:
    security.path_value(alias, security.AUTOMATION_PATTERN, "the repository")
    for row in answers.run({"action": "list", "automation": "repo"})["list"]:
        if row["alias"] == alias:
            return repo_mod.load(Path(row["path"]))
    raise NotFound(f"no repository {alias!r} is registered here")


def _listing(repo: repo_mod.Repo) -> dict[str, Any]:
    document = export.listing(repo)
    paths = {e["sha256"]: e["path"] for e in document["files"] if "sha256" in e}
    with _lock:
        _objects[str(repo.path)] = paths
    return document


def listing(request: Request) -> Response:
    try:
        document = _listing(_repo(request.path_params["alias"]))
    except Exception as exc:
        status, error = answers.failure(exc)
        return JSONResponse(error, status_code=status)
    return Response(export.encoded(document), media_type="application/json")


def an_object(request: Request) -> Response:
    params = request.path_params
    digest = params["head"] + params["tail"]
    try:
        repo = _repo(params["alias"])
        with _lock:
            known = _objects.get(str(repo.path))
        if known is None:
            _listing(repo)
            with _lock:
                known = _objects[str(repo.path)]
        if digest not in known:
            raise NotFound(f"no file with sha256 {digest[:80]!r} in repository {repo.alias}")
        path = security.safe_file(repo.path, known[digest], limited=False)
    except Exception as exc:
        status, error = answers.failure(exc)
        return JSONResponse(error, status_code=status)
    return FileResponse(path, media_type="application/octet-stream")


ROUTES = [
    Route(f"/repos/{{alias}}/{export.LISTING}", listing, name="repo_listing"),
    Route("/repos/{alias}/objects/{head}/{tail}", an_object, name="repo_object"),
]
