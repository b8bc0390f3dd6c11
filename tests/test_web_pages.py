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


def test_a_script_page_draws_its_dependency_graph(client: TestClient, tmp_path: Path) -> None:
    from tests.script_fixtures import ScriptRepo

    repo = ScriptRepo(tmp_path / "graph", alias="graph")
    repo.add(
        "app",
        {
            "deps": [
                {"tags": "get,lib", "names": ["lib"]},
                {"tags": "get,tool", "enable_if_env": {"USE_TOOL": ["yes"]}},
                {"tags": "nothing,answers,<this>"},
            ]
        },
        tags=["app"],
    )
    repo.add("lib", {"deps": [{"tags": "get,tool"}]}, tags=["get", "lib"])
    repo.add("tool", {"deps": [{"tags": "app"}]}, tags=["get", "tool"])  # a cycle back to app
    repo.register()
    page = client.get("/a/script/graph:app")
    assert page.status_code == 200
    svg = page.text.split('<div id="graph">')[1].split("</svg>")[0]
    boxes = re.findall(r"<text[^>]*>([^<]*)</text><title>([^<]*)</title>", svg)
    labels = [label for label, _ in boxes]
    assert labels[0] == "app" and labels.count("tool") == 2 and "lib" in labels
    assert "nothing,answers,&lt;this&gt;" in labels  # no script answers: escaped, drawn red
    assert 'stroke="#c00"' in svg and 'stroke-dasharray="5,4"' in svg
    assert "/a/script/graph%3Alib" in svg and "deps: get,lib [lib]" in svg
    assert labels.count("app") == 3  # the cycle: app drawn again below each tool, not expanded


def test_cache_entry_and_run_record_pages_link_what_they_came_from(
    client: TestClient, tmp_path: Path
) -> None:
    from tests.script_fixtures import ScriptRepo, run

    repo = ScriptRepo(tmp_path / "made", alias="made")
    repo.add(
        "data",
        {"cache": True, "new_env_keys": ["DATA"]},
        tags=["get", "data"],
        run='echo "DATA=<b>$PWD</b>" > tmp-run-env.out\n',
    )
    repo.add("use", {"cache": True, "deps": [{"tags": "get,data"}]}, tags=["use"])
    repo.register()
    assert run("use")["return"] == 0
    entries = client.get("/api/find/cache").json()["list"]
    data = next(e for e in entries if "data" in e["tags"])
    use = next(e for e in entries if "use" in e["tags"])
    page = client.get(f"/a/cache/local:{use['uid']}").text
    summary = page.split('id="summary">')[1].split("</table>")[0]
    assert f'href="/a/cache/local%3A{data["uid"]}"' in summary and "script " in summary
    shown = client.get(f"/a/cache/local:{data['uid']}").text
    assert "<td>DATA</td>" in shown and "&lt;b&gt;" in shown and "<b>/" not in shown
    (record,) = client.get("/api/find/run").json()["list"]
    run_page = client.get(f"/a/run/local:{record['uid']}")
    assert run_page.status_code == 200
    nodes = run_page.text.split('id="nodes">')[1].split("</table>")[0]
    assert nodes.count("<tr><td>") == 2 and "miss" in nodes
    assert f'href="/a/cache/local%3A{use["uid"]}"' in nodes
    for link in links(run_page.text):
        if link.startswith("/a/"):
            assert client.get(link).status_code == 200, link
