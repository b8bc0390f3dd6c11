"""``cairn serve`` driven in a real headless Chromium (Debian's ``chromium``) by Playwright:
search with the form, open an artifact, open a script's page and follow its dependency
graph, open an experiment's Pareto plot and hover a point. Screenshots of each page are
written to ``$CAIRN_SCREENSHOTS`` (``make screenshots`` writes those of docs/serve.md) or the
test's folder, and checked to be real pictures of the page."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("playwright.sync_api")

from tests.conftest import CHROMIUM_FLAGS
from tests.script_fixtures import ScriptRepo
from tests.test_web_api import make_home
from tests.test_web_serve import started_on

playwright_api: Any = __import__("playwright.sync_api", fromlist=["sync_playwright"])

pytestmark = pytest.mark.browser


@pytest.fixture
def browser() -> Iterator[Any]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("Debian's `chromium` is not installed (apt-get install chromium; CI does)")
    with playwright_api.sync_playwright() as driver:
        args = [f for f in CHROMIUM_FLAGS if f != "--headless"]
        launched = driver.chromium.launch(executable_path=binary, args=args)
        yield launched
        launched.close()


@pytest.fixture
def site(make_repo: Any, cairn_home: Path, tmp_path: Path) -> Iterator[str]:
    """``cairn serve`` over a home with datasets, an experiment and scripts with deps."""
    make_home(make_repo)
    scripts = ScriptRepo(tmp_path / "apps", alias="apps")
    scripts.add(
        "train-model",
        {
            "cache": True,
            "deps": [
                {"tags": "get,dataset", "names": ["data"]},
                {"tags": "get,python", "enable_if_env": {"USE_SYSTEM_PYTHON": ["no"]}},
            ],
            "input_mapping": {"epochs": "EPOCHS"},
            "variations": {"small": {"group": "size", "default": True}, "large": {"group": "size"}},
        },
        tags=["train", "model"],
    )
    scripts.add("get-dataset", {"deps": [{"tags": "get,python"}]}, tags=["get", "dataset"])
    scripts.add("get-python", {}, tags=["get", "python"])
    scripts.register()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cairn", "serve", "--port=0"],
        env={**os.environ, "CAIRN_HOME": str(cairn_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield started_on(proc)
    finally:
        proc.kill()
        proc.communicate()


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CAIRN_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def assert_picture(path: Path, width: int) -> None:
    """A PNG of the expected width whose size says it holds more than a blank page."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    shown_width, height = struct.unpack(">II", data[16:24])
    assert shown_width == width and height >= 300
    assert len(data) > 15_000, f"{path} looks blank ({len(data)} bytes)"


def test_search_then_open_an_artifact(browser: Any, site: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 700})
    page.goto(site + "/")
    assert page.locator("#repos").is_visible()
    page.fill("input[name=automation]", "dataset")
    page.fill("input[name=tags]", "images,-colour")
    page.click("button[type=submit]")
    page.wait_for_url("**/find?**")
    assert page.locator("h1").inner_text() == "1 dataset artifact"
    page.screenshot(path=str(shots(tmp_path) / "serve-search.png"))
    page.click("#results a")
    assert page.locator("h1").inner_text() == "dataset mnist"
    assert "<script>" in page.locator("#readme").inner_text()  # shown as text, never run
    page.screenshot(path=str(shots(tmp_path) / "serve-artifact.png"), full_page=True)
    assert_picture(shots(tmp_path) / "serve-artifact.png", 1100)


def test_a_script_page_and_its_dependency_graph(browser: Any, site: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(site + "/find?automation=script&tags=train")
    page.click("#results a")
    assert page.locator("h1").inner_text() == "script train-model"
    assert "Variations" in page.locator("#usage").inner_text()
    graph = page.locator("#dep-graph")
    assert graph.is_visible()
    assert graph.locator("text").all_text_contents() == [
        "train-model",
        "get-dataset",
        "get-python",
        "get-python",
    ]
    picture = shots(tmp_path) / "serve-script.png"
    page.screenshot(path=str(picture), full_page=True)
    assert_picture(picture, 1100)
    graph.locator("a").first.click()
    page.wait_for_url("**/a/script/apps%3Aget-dataset*")
    assert page.locator("h1").inner_text() == "script get-dataset"


def test_an_experiment_pareto_plot_with_a_hovered_point(
    browser: Any, site: str, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(site + "/find?automation=experiment")
    page.click("#results a")
    assert page.locator("#table tr").count() == 4  # a header and three points
    page.fill("#plot-form input[name=x]", "Latency:min")
    page.fill("#plot-form input[name=y]", "Result:max")
    page.click("#plot-form button")
    page.wait_for_url("**/plot/experiment/**")
    marks = page.locator("svg .mark")
    assert marks.count() == 3
    page.locator("svg .mark.front").first.hover()
    tip = page.locator(".tooltip")
    assert tip.is_visible() and "Pareto front" in tip.inner_text()
    picture = shots(tmp_path) / "serve-pareto.png"
    page.screenshot(path=str(picture))
    assert_picture(picture, 1100)
