"""Pictures of experiment results: PNG/SVG through matplotlib, and the self-contained HTML
page, checked as files and (``-m browser``) in a real headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from cairn.errors import InvalidInput
from cairn.experiment import chart, page
from cairn.experiment.plots import (
    PlotPoint,
    Scatter,
    axis_label,
    front_path,
    placeable,
    write_html,
    write_image,
)
from cairn.record import replace
from tests.conftest import dump

HOSTILE = "</script><img src=x onerror=alert(1)>"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def point(x: float, y: float, label: str = "", **kw: Any) -> PlotPoint:
    return PlotPoint(x=x, y=y, label=label or f"p{x:g},{y:g}", **kw)


def sweep(*, groups: tuple[str, ...] = ("a", "b"), log: bool = False) -> Scatter:
    """Two groups of five points each; in each group the three on the staircase of
    maximum throughput / minimum power are on the front."""
    points = []
    for shift, group in enumerate(groups):
        for i, (x, y, front) in enumerate(
            [(1, 10, True), (10, 20, True), (100, 40, True), (5, 30, False), (50, 80, False)]
        ):
            info = {"inputs": f"batch_size={i}", "status": "ok", "uid": f"{shift}{i:015x}"}
            label = f"batch_size={i}"
            at = (x * (shift + 1), y + shift)
            points.append(point(*at, label, group=group, on_front=front, info=info))
    return Scatter(
        title="throughput against power",
        x_key="Throughput",
        y_key="Power",
        x_sense="max",
        y_sense="min",
        x_log=log,
        y_log=log,
        points=points,
        notes=["2 points left out: no numeric Power"],
    )


def png_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# ---- shared geometry ---------------------------------------------------------------------


def test_axis_labels_say_which_way_is_better() -> None:
    assert axis_label("Throughput", "max", "x") == "Throughput (higher is better →)"
    assert axis_label("Latency", "min", "x") == "Latency (lower is better ←)"
    assert axis_label("Accuracy", "max", "y") == "Accuracy (higher is better ↑)"
    assert axis_label("Power", "min", "y") == "Power (lower is better ↓)"
    assert axis_label("Power", None, "y") == "Power"


def test_a_sense_that_is_not_max_or_min_is_refused() -> None:
    with pytest.raises(InvalidInput, match="x_sense='up'"):
        Scatter(title="t", x_key="a", y_key="b", x_sense="up")


def test_front_staircase_turns_the_way_the_x_sense_says() -> None:
    front = [point(3, 30), point(1, 10), point(2, 20)]
    # x maximised (y minimised): from each point up first, then across to the next
    assert front_path(front, "max", "min") == [
        (1, 10), (1, 20), (2, 20), (2, 30), (3, 30)
    ]  # fmt: skip
    # x minimised, y maximised: across first, then up
    assert front_path(front, "min", "max") == [
        (1, 10), (2, 10), (2, 20), (3, 20), (3, 30)
    ]  # fmt: skip
    assert front_path(front, "max", None) == [(1, 10), (2, 20), (3, 30)]
    assert front_path([], "max", "max") == []


def test_points_that_cannot_be_placed_are_left_out_with_a_note() -> None:
    scatter = Scatter(
        title="t",
        x_key="Throughput",
        y_key="Power",
        x_log=True,
        points=[point(1, 1), point(0, 2), point(-3, 2), point(2, float("nan")), point(3, 3)],
        notes=["given note"],
    )
    kept, notes = placeable(scatter)
    assert [p.x for p in kept] == [1, 3]
    assert notes == [
        "given note",
        "2 points left out: Throughput is not above 0 on a log axis",
        "1 point left out: Power is not a finite number",
    ]


# ---- images ------------------------------------------------------------------------------


def test_png_is_written_with_a_png_signature_and_a_sane_size(tmp_path: Path) -> None:
    target = tmp_path / "out" / "front.png"
    assert write_image(sweep(), target) == target
    data = target.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = png_size(data)
    assert 700 <= width <= 2000 and 450 <= height <= 1400
    assert 10_000 < len(data) < 2_000_000
    assert [p.name for p in target.parent.iterdir()] == ["front.png"]  # no temp file left


def test_svg_parses_as_xml_and_carries_its_labels(tmp_path: Path) -> None:
    target = write_image(sweep(), tmp_path / "front.SVG")
    text = target.read_text(encoding="utf-8")
    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    for words in ("throughput against power", "Throughput (higher is better →)",
                  "Power (lower is better ↓)", "2 points left out: no numeric Power",
                  "batch_size=2", "on the Pareto front"):  # fmt: skip
        assert words in text


def test_images_are_the_same_bytes_every_time(tmp_path: Path) -> None:
    for suffix in (".png", ".svg"):
        first = write_image(sweep(), tmp_path / f"one{suffix}").read_bytes()
        second = write_image(sweep(), tmp_path / f"two{suffix}").read_bytes()
        assert first == second, suffix
    assert "<dc:date>" not in (tmp_path / "one.svg").read_text()


def test_the_users_matplotlib_settings_neither_change_nor_are_changed(tmp_path: Path) -> None:
    import matplotlib

    plain = write_image(sweep(), tmp_path / "plain.svg").read_bytes()
    with matplotlib.rc_context({"axes.facecolor": "black", "lines.linewidth": 9}):
        styled = write_image(sweep(), tmp_path / "styled.svg").read_bytes()
        assert matplotlib.rcParams["axes.facecolor"] == "black"
    assert styled == plain
    assert matplotlib.rcParams["svg.hashsalt"] is None


def test_an_existing_image_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "front.png"
    target.write_bytes(b"old")
    write_image(sweep(), target)
    assert target.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("name", ["front.jpg", "front", "front.html"])
def test_a_suffix_that_is_not_png_or_svg_is_a_clear_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        write_image(sweep(), tmp_path / name)
    assert name in str(caught.value) and "*.png or *.svg" in str(caught.value)
    assert not (tmp_path / name).exists()


def test_missing_matplotlib_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(InvalidInput) as caught:
        write_image(sweep(), tmp_path / "front.png")
    assert "matplotlib" in caught.value.message
    assert caught.value.hint == "pip install 'cairn[plot]'"
    assert not list(tmp_path.glob("*front*"))


X_TICK = re.compile(r'text-anchor: middle" x="([\d.]+)"[^>]*>(\d[^<]*)</text>')
"""An x tick label in matplotlib's SVG (text kept as text): its x and its text."""


def test_log_axes_put_decades_at_equal_distances(tmp_path: Path) -> None:
    points = [point(1, 1), point(30, 1.5), point(1000, 2)]
    scatter = Scatter(title="t", x_key="a", y_key="b", x_log=True, points=points)
    text = write_image(scatter, tmp_path / "log.svg").read_text()
    at = {label: float(x) for x, label in X_TICK.findall(text)}
    assert list(at) == ["1", "10", "100", "1000"]  # plain numbers, not 10^k
    gaps = [at["10"] - at["1"], at["100"] - at["10"], at["1000"] - at["100"]]
    assert max(gaps) - min(gaps) < 0.01, gaps
    linear = write_image(replace(scatter, x_log=False), tmp_path / "linear.svg").read_text()
    labels = [label for _x, label in X_TICK.findall(linear)]
    assert labels == ["0", "200", "400", "600", "800", "1000"]


def test_dollar_signs_in_labels_are_shown_as_they_are(tmp_path: Path) -> None:
    points = [point(1, 2, "price=$5", on_front=True), point(2, 1, "$a$")]
    scatter = Scatter(title="cost in $ and $x$", x_key="$", y_key="b", points=points)
    text = write_image(scatter, tmp_path / "dollars.svg").read_text()
    assert "cost in $ and $x$" in text and "price=$5" in text


def test_an_empty_scatter_draws_a_frame_saying_so(tmp_path: Path) -> None:
    scatter = Scatter(title="nothing yet", x_key="a", y_key="b", notes=["12 runs failed"])
    text = write_image(scatter, tmp_path / "empty.svg").read_text()
    assert "no points to show" in text and "12 runs failed" in text
    assert write_image(scatter, tmp_path / "empty.png").read_bytes().startswith(PNG_SIGNATURE)


# ---- the HTML page -----------------------------------------------------------------------


class _Elements(HTMLParser):
    """Counts start tags and keeps the text of each <script> element."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def count(self, tag: str, cls: str = "") -> int:
        def matches(attrs: dict[str, str | None]) -> bool:
            return not cls or cls in (attrs.get("class") or "").split()

        return sum(1 for t, a in self.tags if t == tag and matches(a))


def parse(text: str) -> _Elements:
    parser = _Elements()
    parser.feed(text)
    return parser


def hostile_scatter() -> Scatter:
    info = {HOSTILE: HOSTILE, "path": "/runs/<b>x</b>"}
    return Scatter(
        title=HOSTILE,
        x_key=f"x{HOSTILE}",
        y_key="y&amp;",
        x_sense="max",
        y_sense="max",
        points=[point(1, 2, HOSTILE, group=HOSTILE, on_front=True, info=info), point(2, 1, "b")],
        notes=[HOSTILE],
    )


def test_the_page_escapes_hostile_text_everywhere(tmp_path: Path) -> None:
    table = [{HOSTILE: HOSTILE, "n": 1.5}]
    text = write_html(hostile_scatter(), tmp_path / "page.html", table=table).read_text()
    found = parse(text)
    assert found.count("script") == 2  # the data and the page's own script
    assert found.count("img") == 0 and found.count("b") == 0
    assert "<img" not in text and "</b>" not in text
    data = json.loads(found.scripts[0])
    assert data["points"][0]["label"] == HOSTILE
    assert data["points"][0]["info"] == {HOSTILE: HOSTILE, "path": "/runs/<b>x</b>"}
    assert data["x"]["key"] == f"x{HOSTILE}"
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in text
    assert "y&amp;amp;" in text


def test_embedded_json_cannot_close_its_element() -> None:
    text = page.embed_json({"a": "</script><!-- & -->"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- & -->"}


def test_the_page_loads_nothing_from_anywhere(tmp_path: Path) -> None:
    text = write_html(sweep(), tmp_path / "page.html", table=[{"a": 1}]).read_text()
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"\b(src|href|srcset|xlink:href)\s*=", text)
    assert "@import" not in text and "url(" not in text.replace("url(#cairn-clip)", "")
    found = parse(text)
    assert found.count("link") == found.count("img") == found.count("iframe") == 0
    assert all("src" not in attrs for tag, attrs in found.tags if tag == "script")


def test_the_pages_policy_allows_exactly_its_own_style_and_script(tmp_path: Path) -> None:
    text = write_html(sweep(), tmp_path / "page.html").read_text()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert policy is not None
    script = re.search(r"<script>(.*?)</script>", text, re.S)
    style = re.search(r"<style>(.*?)</style>", text, re.S)
    assert script and style
    for source in (script.group(1), style.group(1)):
        digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy.group(1)
    assert "default-src 'none'" in policy.group(1)


def test_the_page_reads_without_javascript(tmp_path: Path) -> None:
    scatter = sweep()
    table = [{"run": "r1", "Power": 10.25, "ok": True, "missing": None}, {"run": "r2"}]
    text = write_html(scatter, tmp_path / "page.html", table=table).read_text()
    found = parse(text)
    assert found.count("circle", "mark") == len(scatter.points)
    assert found.count("circle", "front") == 6
    assert found.count("path", "front-line") == 2  # one staircase per group
    assert "<title>batch_size=0\ninputs: batch_size=0\nstatus: ok" in text  # native hover
    assert "Pareto front (6 of 10 points)" in text and "Results (2 rows)" in text
    assert found.count("tr") == 1 + 6 + 1 + 2  # two headers, the front, the results
    assert "<td>10.25</td><td>True</td><td></td>" in text
    assert "2 points left out: no numeric Power" in text


def test_front_numbers_on_the_chart_match_the_table(tmp_path: Path) -> None:
    text = write_html(sweep(), tmp_path / "page.html").read_text()
    numbers = re.findall(r'class="front-no" data-i="(\d+)"[^>]*>(\d+)<', text)
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", text)
    by_number = {n: (label, group, x) for n, label, group, x in rows}
    points = sweep().points
    assert len(numbers) == 6
    for index, number in numbers:
        p = points[int(index)]
        assert by_number[number] == (p.label, p.group, f"{p.x:g}")


def test_log_axes_on_the_page_space_decades_evenly(tmp_path: Path) -> None:
    scatter = Scatter(
        title="t", x_key="a", y_key="b", x_log=True, y_log=True,
        points=[point(1, 1), point(10, 100), point(100, 10_000)],
    )  # fmt: skip
    text = write_html(scatter, tmp_path / "page.html").read_text()
    xs = [float(v) for v in re.findall(r'class="mark"[^>]* cx="([\d.]+)"', text)]
    ys = [float(v) for v in re.findall(r'class="mark"[^>]* cy="([\d.]+)"', text)]
    assert abs((xs[1] - xs[0]) - (xs[2] - xs[1])) < 0.05
    assert abs((ys[0] - ys[1]) - (ys[1] - ys[2])) < 0.05 and ys[0] > ys[2]
    labels = re.findall(r'class="tick x"[^>]*>([^<]+)<', text)
    assert labels == ["1", "2", "5", "10", "20", "50", "100"]  # 2 and 5 under three decades


def test_tick_rules() -> None:
    assert chart.linear_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert chart.linear_ticks(0.1, 0.7) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    assert chart.ticks(chart.Span(0, 2.2, log=True)) == [1, 2, 5, 10, 20, 50, 100]
    assert chart.ticks(chart.Span(-6, 12, log=True)) == [10.0**d for d in range(-6, 13, 3)]
    assert chart.ticks(chart.Span(0.1, 0.6, log=True)) == [1.5, 2, 2.5, 3, 3.5]


def test_an_empty_page_says_so(tmp_path: Path) -> None:
    scatter = Scatter(title="nothing", x_key="a", y_key="b", notes=["every run failed"])
    text = write_html(scatter, tmp_path / "page.html").read_text()
    found = parse(text)
    assert found.count("circle", "mark") == 0
    assert "no points to show" in text and "every run failed" in text
    assert "Pareto front (" not in text


# ---- in a real browser -------------------------------------------------------------------


@pytest.mark.browser
def test_the_page_sets_itself_up_in_chromium(chromium: Any, tmp_path: Path) -> None:
    scatter = sweep()
    dom = dump(chromium, write_html(scatter, tmp_path / "page.html"))
    assert re.search(r'<html[^>]*data-ready="1"', dom)
    assert len(re.findall(r'<circle class="mark', dom)) == len(scatter.points)
    assert '<div class="toolbar">' in dom  # shown by the script


@pytest.mark.browser
def test_hostile_labels_stay_text_in_chromium(chromium: Any, tmp_path: Path) -> None:
    dom = dump(chromium, write_html(hostile_scatter(), tmp_path / "page.html"))
    assert 'data-ready="1"' in dom
    assert "<img" not in dom and "<b>" not in dom


@pytest.mark.browser
def test_a_screenshot_of_the_page_shows_something(chromium: Any, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    page_path = write_html(sweep(log=True), tmp_path / "page.html", table=[{"a": 1}])
    chromium("--virtual-time-budget=5000", f"--screenshot={shot}", "--window-size=1000,700",
             page_path.as_uri())  # fmt: skip
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and png_size(data) == (1000, 700)
    assert len(data) > 20_000


DRIVER = """
(() => {
  const result = {};
  const marks = document.querySelectorAll("circle.mark");
  const first = document.querySelector('circle.mark[data-i="0"]');
  first.dispatchEvent(new PointerEvent("pointerenter"));
  const tip = document.querySelector(".tooltip");
  result.tipShown = !tip.hidden;
  result.tipText = tip.textContent;
  result.titlesLeft = document.querySelectorAll("circle.mark title").length;
  first.dispatchEvent(new PointerEvent("pointerleave"));
  result.tipHiddenAgain = tip.hidden;
  const legend = document.querySelector('.legend li.group[data-g="0"]');
  legend.click();
  result.pressed = legend.getAttribute("aria-pressed");
  result.offAfterLegend = document.querySelectorAll("circle.mark.off").length;
  result.linesOff = document.querySelectorAll("path.front-line.off").length;
  legend.click();
  const box = document.querySelector(".front-only");
  box.click();
  result.offFrontOnly = document.querySelectorAll("circle.mark.off").length;
  box.click();
  const ticksBefore = document.querySelector("g.ticks").textContent;
  const cxBefore = first.getAttribute("cx");
  const svg = document.querySelector("svg.chart");
  const rect = svg.getBoundingClientRect();
  svg.dispatchEvent(new WheelEvent("wheel", {deltaY: -400, clientX: rect.left + rect.width / 2,
    clientY: rect.top + rect.height / 2, bubbles: true, cancelable: true}));
  result.ticksChanged = document.querySelector("g.ticks").textContent !== ticksBefore;
  result.cxChanged = first.getAttribute("cx") !== cxBefore;
  document.querySelector(".toolbar .reset").click();
  result.cxReset = first.getAttribute("cx") === cxBefore;
  const out = document.createElement("pre");
  out.id = "driver-result";
  out.textContent = JSON.stringify(result);
  document.body.append(out);
})();
"""


@pytest.mark.browser
def test_tooltips_legend_front_only_zoom_and_reset_work(chromium: Any, tmp_path: Path) -> None:
    text = page.render_page(sweep())
    digest = base64.b64encode(hashlib.sha256(DRIVER.encode()).digest()).decode()
    text = text.replace("script-src '", f"script-src 'sha256-{digest}' '", 1)
    text = text.replace("</body>", f"<script>{DRIVER}</script>\n</body>")
    target = tmp_path / "driven.html"
    target.write_text(text, encoding="utf-8")
    dom = dump(chromium, target)
    found = re.search(r'<pre id="driver-result">(.*?)</pre>', dom)
    assert found, dom[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert result["tipShown"] and result["tipHiddenAgain"]
    assert "batch_size=0" in result["tipText"] and "status" in result["tipText"]
    assert "0000000000000000" in result["tipText"]  # the run's uid
    assert result["titlesLeft"] == 0
    assert result["pressed"] == "false"
    assert result["offAfterLegend"] == 5 and result["linesOff"] == 1
    assert result["offFrontOnly"] == 4
    assert result["ticksChanged"] and result["cxChanged"] and result["cxReset"]
