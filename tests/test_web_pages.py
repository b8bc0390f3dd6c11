"""The HTML pages of ``cairn serve``: links between them, escaping, scripts and experiments."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # Starlette >= 1.x prefers `httpx2`; `httpx` still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from cairn.web.app import build_app
from tests.test_web_api import make_home

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def client(make_repo: Callable[..., Path]) -> TestClient:
    make_home(make_repo, hostile=HOSTILE)
    return TestClient(build_app())


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_home_lists_repositories_and_kinds_with_counts(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "/find?automation=dataset" in links(page.text)
    kinds = page.text.split('id="kinds"')[1]
    assert re.search(r">dataset</a></td><td>2<", kinds)
    assert re.search(r">script</a></td><td>\d+<", kinds)
    assert '<form class="search" method="get" action="/find">' in page.text


def test_search_results_link_to_artifact_pages(client: TestClient) -> None:
    page = client.get("/find", params={"automation": "dataset", "tags": "images,-colour"})
    assert page.status_code == 200
    assert "1 dataset artifact<" in page.text
    assert "/a/dataset/web%3Amnist%2C00000000000000a1" in links(page.text)
    empty = client.get("/find", params={"automation": "dataset", "tags": "nothing"})
    assert "0 dataset artifacts" in empty.text


def test_an_artifact_page_shows_meta_files_and_readme_escaped(client: TestClient) -> None:
    page = client.get("/a/dataset/web%3Amnist%2C00000000000000a1")
    assert page.status_code == 200
    assert HOSTILE not in page.text and "&lt;img src=x onerror=" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text  # the README, escaped
    hrefs = links(page.text)
    prefix = "/api/file/dataset/web%3Amnist%2C00000000000000a1/"
    assert f"{prefix}data/labels.txt" in hrefs and f"{prefix}README.md" in hrefs
    assert client.get(f"{prefix}data/labels.txt").text == "0 1 2\n"
    assert "/find?automation=dataset&amp;tags=digits" in page.text


def test_a_missing_artifact_is_a_404_page(client: TestClient) -> None:
    page = client.get("/a/dataset/nothing-here")
    assert page.status_code == 404 and "no artifact matches" in page.text
    hostile = client.get("/a/dataset/" + "%3Cb%3Ex")  # a name CM could read: looked up
    assert hostile.status_code == 404 and "<b>x" not in hostile.text
    assert "&lt;b&gt;x" in hostile.text
    bad = client.get("/a/dataset/" + "%3Cb%3E,x,y")  # no identifier
    assert bad.status_code == 400 and "<b>" not in bad.text


def test_a_script_page_shows_its_usage(client: TestClient) -> None:
    found = client.get("/api/find/script", params={"name": "detect-cpu"}).json()["list"]
    assert found, "the built-in script detect-cpu is expected"
    page = client.get("/a/script/builtin:detect-cpu")
    assert page.status_code == 200
    usage = page.text.split('id="usage">')[1].split("</pre>")[0]
    assert usage.startswith("Script ") and "tags: " in usage


def test_an_experiment_page_shows_its_table_and_links_its_front(client: TestClient) -> None:
    page = client.get("/a/experiment/bench", params={"sort": "-Result"})
    assert page.status_code == 200
    table = page.text.split('id="table"')[1].split("</table>")[0]
    assert table.index(">b<") < table.index(">c<") < table.index(">a<")
    linked = client.get("/a/experiment/bench", params={"x": "Latency:min", "y": "Result:max"})
    (link,) = re.findall(r'id="plot-link" href="([^"]+)"', linked.text)
    plot_of = "/plot/experiment/web%3Abench%2C00000000000000e1"
    assert link == f"{plot_of}?x=Latency%3Amin&amp;y=Result%3Amax"
    plot = client.get(link.replace("&amp;", "&"))
    assert plot.status_code == 200 and "<svg" in plot.text
    assert "Pareto front" in plot.text
    assert "script-src 'unsafe-inline'" in plot.headers["content-security-policy"]
    bad = client.get("/plot/experiment/bench", params={"x": "Latency:up", "y": "Result:max"})
    assert bad.status_code == 400
    assert client.get("/plot/experiment/bench").status_code == 400


def test_long_results_are_cut_and_unknown_addresses_are_404(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cairn.web import pages

    monkeypatch.setattr(pages, "MAX_ROWS", 1)
    page = client.get("/find", params={"automation": "dataset"})
    assert "2 dataset artifacts" in page.text and "The first 1 are shown" in page.text
    assert page.text.count('href="/a/dataset/') == 1
    api = client.get("/api/nowhere")
    assert api.status_code == 404 and api.json()["return"] == 16
    html = client.get("/nowhere/<b>")
    assert html.status_code == 404 and "nothing at /nowhere/&lt;b&gt;" in html.text
