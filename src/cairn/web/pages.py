"""The HTML pages: Jinja2 templates (autoescaped) over the same answers as the JSON API.

=================================  ==================================================
``/``                              repositories, kinds with counts, a search box
``/find?automation=&tags=&name=``  a results table
``/a/{automation}/{name}``         an artifact: identity, meta, files, README.md;
                                   a script's usage, an experiment's table
``/plot/experiment/{name}?x=&y=``  the experiment's Pareto front as an interactive page
=================================  ==================================================

Pages read without JavaScript; only the plot page runs the script it embeds.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from cairn.web import answers, api, security

MAX_FILES = 500
MAX_ROWS = 1000  # search results shown on one page (the API answers every one)
MAX_README = 256 * 1024
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self';"
    " frame-ancestors 'none'"
)
PLOT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:;"
    " frame-ancestors 'none'"
)
_QUERY_KEYS = ("automation", "tags", "name", "filter", "sort", "x", "y")


@functools.cache
def _templates() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def _render(request: Request, name: str, status: int = 200, **values: Any) -> Response:
    query = {k: request.query_params.get(k) for k in _QUERY_KEYS}
    values.setdefault("error", None)
    text = _templates().get_template(name).render(query=query, **values)
    return HTMLResponse(text, status, headers={"content-security-policy": PAGE_POLICY})


def _page(name: str, build: Any) -> Any:
    """An endpoint rendering ``name`` with what ``build(request)`` gives; a failure is shown
    on the page with its HTTP status."""

    def endpoint(request: Request) -> Response:
        try:
            values = build(request)
        except Exception as exc:
            status, document = answers.failure(exc)
            return _render(request, "base.html", status, error=document["error"])
        return _render(request, name, **values)

    return endpoint


def home(request: Request) -> dict[str, Any]:
    repos = answers.run({"action": "list", "automation": "repo"})["list"]
    kinds: dict[str, int] = {}
    for repo in repos:
        info = answers.run({"action": "info", "automation": "repo", "artifact": repo["uid"]})
        repo["artifacts"] = info["artifacts"]
        for kind, count in info["artifacts"].items():
            kinds[kind] = kinds.get(kind, 0) + count
    return {"repos": repos, "kinds": sorted(kinds.items())}


def handle(artifact: dict[str, Any]) -> str:
    """The identifier a link names one artifact by: ``repo:alias,uid``."""
    name = ",".join(x for x in (artifact.get("alias"), artifact.get("uid")) if x)
    return f"{artifact['repo']}:{name}"


def find(request: Request) -> dict[str, Any]:
    params = request.query_params
    automation = params.get("automation")
    if not automation:
        return {"found": [], "total": 0}
    i = api.find_input(automation, params.get("name") or None, params.get("tags") or None)
    found = answers.run(i)["list"]
    shown = [{**a, "handle": handle(a)} for a in found[:MAX_ROWS]]
    return {"found": shown, "total": len(found)}


def not_found(request: Request, exc: Exception) -> Response:
    """A page or endpoint that does not exist: JSON under ``/api/``, ``/repos/`` and
    ``/cache/`` (what programs read), else a page."""
    error = f"nothing at {request.url.path}"
    if request.url.path.startswith(("/api/", "/repos/", "/cache/")):
        from starlette.responses import JSONResponse

        return JSONResponse({"return": 16, "error": error}, status_code=404)
    return _render(request, "base.html", 404, error=error)


def artifact(request: Request) -> dict[str, Any]:
    automation, name = request.path_params["automation"], request.path_params["name"]
    loaded = answers.run(api.load_input(automation, name))
    found = loaded["artifact"]
    path = Path(loaded["path"])
    files, more = _files(path)
    values: dict[str, Any] = {
        "automation": automation,
        "artifact": found,
        "handle": handle(found),
        "meta_text": _json_text(loaded["meta"]),
        "files": files,
        "more_files": more,
        "readme": _readme(path),
        "usage": _usage(found) if found["automation"] == "script" else None,
        "graph": _graph(found) if found["automation"] == "script" else None,
        "experiment": None,
        "plot_link": None,
    }
    if found["automation"] == "experiment":
        values.update(_experiment(request, handle(found)))
    values["summary"] = _summary(found["automation"], path, loaded["meta"])
    return values


def _summary(kind: str, path: Path, meta: dict[str, Any]) -> dict[str, Any] | None:
    """A cache entry's or a run record's own section (:mod:`cairn.web.records`)."""
    from cairn.web import records

    if kind == "cache":
        return records.cache_entry(path, meta)
    if kind == "run":
        return records.run_record(path)
    return None


def _json_text(data: Any) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)


def _files(root: Path) -> tuple[list[str], int]:
    """The files under ``root`` (relative, sorted; symlinked folders not entered) and how many
    more there are beyond :data:`MAX_FILES`."""
    found: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".cairn-tmp"))
        base = Path(folder).relative_to(root)
        found += [(base / n).as_posix() for n in names]
    found.sort()
    return found[:MAX_FILES], max(0, len(found) - MAX_FILES)


def _readme(root: Path) -> str | None:
    try:
        path = security.safe_file(root, "README.md")
    except Exception:
        return None
    with path.open("rb") as handle_:
        return handle_.read(MAX_README).decode("utf-8", "replace")


def _usage(found: dict[str, Any]) -> str:
    from cairn import report
    from cairn.script import usage
    from cairn.store.catalog import Catalog

    with report.using(report.Reporter()):
        return usage.page(Catalog.open(), None, handle(found))


def _graph(found: dict[str, Any]) -> Markup:
    """The script's dependency graph as inline SVG (every text in it escaped)."""
    from cairn import report
    from cairn.script import select
    from cairn.store.catalog import Catalog
    from cairn.web import graph

    catalog = Catalog.open()
    with report.using(report.Reporter()):
        request = select.split_request(None, handle(found))
        chosen = select.choose(select.find_candidates(catalog, request), quiet=True).candidate
        return Markup(graph.svg(graph.build(catalog, chosen)))


def _experiment(request: Request, name: str) -> dict[str, Any]:
    params = request.query_params
    shown = answers.run(api.show_input(name, params.get("filter"), params.get("sort")))
    x, y = params.get("x"), params.get("y")
    link = f"/plot/experiment/{_quoted(name)}?{urlencode({'x': x, 'y': y})}" if x and y else None
    return {"experiment": shown, "plot_link": link}


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def plot(request: Request) -> Response:
    """The experiment's Pareto front over ``x`` and ``y`` (``KEY:max``/``KEY:min``), drawn by
    ``cairn pareto experiment NAME --objective=x --objective=y --plot=front.html``."""
    name = request.path_params["name"]
    x, y = request.query_params.get("x"), request.query_params.get("y")
    try:
        text = _front_page(name, x, y)
    except Exception as exc:
        status, document = answers.failure(exc)
        return _render(request, "base.html", status, error=document["error"])
    return HTMLResponse(text, headers={"content-security-policy": PLOT_POLICY})


def _front_page(name: str, x: str | None, y: str | None) -> str:
    import tempfile

    from cairn.errors import InvalidInput

    if not x or not y:
        raise InvalidInput("which keys? give ?x=KEY:max|min&y=KEY:max|min")
    with tempfile.TemporaryDirectory(prefix="cairn-serve-") as scratch:
        picture = Path(scratch) / "front.html"
        i = {"action": "pareto", "automation": "experiment", "artifact": name}
        answers.run({**i, "objective": [x, y], "plot": [str(picture)]})
        return picture.read_text(encoding="utf-8")


ROUTES = [
    Route("/", _page("index.html", home), name="home"),
    Route("/find", _page("find.html", find), name="find"),
    Route("/a/{automation}/{name}", _page("artifact.html", artifact), name="artifact"),
    Route("/plot/experiment/{name}", plot, name="plot"),
]
