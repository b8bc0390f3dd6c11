"""Experiments end to end through the real CLI: a 3 x 4 sweep over a fixture pipeline,
failures kept, upstream cache entries reused, resume after a kill, Ctrl-C, and the
MLPerf results CM wrote itself."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dump, json_out, process_alive
from tests.script_fixtures import ScriptRepo, bench_pipeline

MLPERF = Path(__file__).resolve().parent / "data" / "cm4mlperf-results"
"""Three MLPerf experiments CM wrote (see its SOURCE.md)."""
IC_OFFLINE = "mlperf-inference--v4.1--datacenter--closed--image-classification--offline"

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    """The bench pipeline (tests/script_fixtures.py); its upstream step's run counter."""
    counter = tmp_path / "prepared.txt"
    bench_pipeline(tmp_path / "pipe", counter, sleep=0)
    return counter


def test_a_3x4_sweep_records_12_points_reuses_upstream_and_keeps_the_failure(
    cli: Cli, pipeline: Path
) -> None:
    done = cli(
        "run",
        "experiment",
        "bs-sweep",
        "--script=app bench",
        "--explore.batch_size=1,2,4",
        "--explore.threads=1..4",
        "--jobs=2",
        "--result,=THROUGHPUT,LATENCY",
        "--out=json",
    )
    assert done.returncode == 0, done.stderr
    data = json_out(done)
    assert data["runs"] == 12 and data["done"] == 12 and data["failed"] == 1
    rows = {(r["batch_size"], r["threads"]): r for r in data["rows"]}
    assert len(rows) == 12
    assert rows[(2, 3)]["THROUGHPUT"] == "60" and rows[(2, 3)]["LATENCY"] == "7"
    assert rows[(4, 3)]["status"] == "failed" and "exit" in rows[(4, 3)]["error"]
    (failed_run,) = rows[(4, 3)]["runs"]  # a failed point's run record is found too
    shown_run = cli("show", "run", failed_run)
    assert shown_run.returncode == 0 and " failed " in shown_run.stdout.splitlines()[0]
    assert len(pipeline.read_text().split()) == 1  # the upstream entry was reused 11 times
    assert "[12/12]" in done.stderr  # progress, one line per run off a terminal
    cache = json_out(cli("find", "cache", "--tags=prepare", "--out=json"))
    assert len(cache["list"]) == 1
    shown = cli(
        "show",
        "experiment",
        "bs-sweep",
        "--sort=-THROUGHPUT",
        "--columns,=batch_size,threads,THROUGHPUT,status",
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[1].split() == ["batch_size", "threads", "THROUGHPUT", "status"]
    assert lines[3].split() == ["4", "4", "160", "ok"]
    assert lines[-2].split() == ["4", "3", "-", "failed"]
    assert lines[-1].startswith("(8 more keys: LATENCY, point, seconds")


def test_every_script_point_leaves_a_run_record_and_a_lock(cli: Cli, pipeline: Path) -> None:
    done = cli(
        "run",
        "experiment",
        "e1",
        "--script=app bench",
        "--explore.batch_size=1,2",
        "--threads=2",
        "--out=json",
    )
    data = json_out(done)
    home = Path(os.environ.get("CAIRN_HOME", ""))
    assert data["failed"] == 0
    for row in data["rows"]:
        (run,) = row["runs"]
        record = json.loads((home / "local" / "run" / run / "cairn-run.json").read_text())
        assert record["tree"]["script"]["alias"] == "bench"
    folder = Path(data["path"]) / data["sweep"]
    locks = list(folder.glob("*/cairn-lock.json"))
    assert len(locks) == 2


def test_a_command_sweep_with_repeats_shows_medians_and_spread(cli: Cli, tmp_path: Path) -> None:
    code = (
        "import json, os, sys; n = int(sys.argv[1]);"
        " r = int(os.environ['CM_EXPERIMENT_STEP']);"
        " json.dump({'score': n * 100 + r}, open('cm-output.json', 'w'))"
    )
    done = cli(
        "run",
        "experiment",
        "cmd",
        "--explore.n=1,2",
        "--repeat=3",
        "--out=json",
        "--",
        sys.executable,
        "-c",
        code,
        "{{n}}",
    )
    assert done.returncode == 0, done.stderr
    data = json_out(done)
    assert data["runs"] == 6 and data["failed"] == 0
    one = next(r for r in data["rows"] if r["n"] == 1)
    assert one["n"] == 1 and one["n"] and one["spread"]["score"]["n"] == 3
    assert one["spread"]["score"]["min"] < one["score"] < one["spread"]["score"]["max"]
    csv = cli("show", "experiment", "cmd", "--out=csv")
    assert csv.returncode == 0, csv.stderr
    header = csv.stdout.splitlines()[0].split(",")
    assert header[:2] == ["n", "score"] and "score.min" in header and "score.max" in header


def test_resume_after_a_kill_runs_only_what_is_missing(cli: Cli, tmp_path: Path) -> None:
    starts = tmp_path / "starts.txt"
    code = (
        "import json, sys, time; n = sys.argv[1];"
        f" open({str(starts)!r}, 'a').write(n + '\\n'); time.sleep(0.4);"
        " json.dump({'v': int(n)}, open('cm-output.json', 'w'))"
    )
    argv = [
        "run",
        "experiment",
        "slow",
        "--explore.n=1..6",
        "--",
        sys.executable,
        "-c",
        code,
        "{{n}}",
    ]
    proc = _spawn(argv)
    folder = _wait_for_rows(Path(os.environ["CAIRN_HOME"]) / "local" / "experiment" / "slow", 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    before = json.loads((folder / "cm-result.json").read_text())
    assert 2 <= len(before) < 6
    starts.write_text("")
    done = cli("run", "experiment", "slow", "--resume", "--out=json")
    assert done.returncode == 0, done.stderr
    data = json_out(done)
    assert data["done"] == 6 and data["sweep"] == folder.name
    ran = starts.read_text().split()
    assert sorted(ran) == sorted(str(n) for n in range(1, 7) if n not in {r["n"] for r in before})
    after = json.loads((folder / "cm-result.json").read_text())
    assert after[: len(before)] == before
    again = cli("run", "experiment", "slow", "--resume")
    assert again.returncode != 0 and "no unfinished sweep" in again.stderr


def test_a_killed_3x4_script_sweep_with_two_jobs_resumes_only_what_is_missing(
    cli: Cli, tmp_path: Path
) -> None:
    counter = tmp_path / "prepared.txt"
    bench_pipeline(tmp_path / "pipe", counter, sleep=0.5)
    home = Path(os.environ["CAIRN_HOME"])
    proc = _spawn(
        [
            "run",
            "experiment",
            "killed",
            "--script=app bench",
            "--explore.batch_size=1,2,4",
            "--explore.threads=1..4",
            "--jobs=2",
            "--result=THROUGHPUT",
        ]
    )
    folder = _wait_for_rows(home / "local" / "experiment" / "killed", 3)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and the points it runs, no clean-up
    proc.wait(10)
    before = json.loads((folder / "cm-result.json").read_text())
    assert 3 <= len(before) < 12
    records = set((home / "local" / "run").iterdir())
    done = cli("run", "experiment", "killed", "--resume", "--out=json")
    assert done.returncode == 0, done.stderr
    data = json_out(done)
    assert data["sweep"] == folder.name and data["done"] == 12 and data["failed"] == 1
    after = json.loads((folder / "cm-result.json").read_text())
    assert after[: len(before)] == before  # nothing recorded before was run again
    assert len({r["point"] for r in after}) == len(after) == 12
    new_records = set((home / "local" / "run").iterdir()) - records
    assert len(new_records) == 12 - len(before)  # one run per missing point, no more
    assert len(counter.read_text().split()) == 1  # the upstream entry outlived the kill
    failed = [r for r in after if r["status"] == "failed"]
    assert [(r["batch_size"], r["threads"]) for r in failed] == [(4, 3)]


def test_ctrl_c_stops_the_sweep_and_its_points(tmp_path: Path) -> None:
    marker = tmp_path / "pids.txt"
    code = (
        f"import os, time; open({str(marker)!r}, 'a').write(str(os.getpid()) + '\\n');"
        " time.sleep(60)"
    )
    proc = _spawn(
        [
            "run",
            "experiment",
            "stop",
            "--explore.n=1..4",
            "--jobs=2",
            "--",
            sys.executable,
            "-c",
            code,
        ]
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_lines(marker)) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(20) == 130
    pids = [int(p) for p in _lines(marker)]
    deadline = time.monotonic() + 10  # reaping takes a moment on a loaded machine
    while time.monotonic() < deadline and any(process_alive(pid) for pid in pids):
        time.sleep(0.05)
    assert all(not process_alive(pid) for pid in pids)
    experiment = Path(os.environ["CAIRN_HOME"]) / "local" / "experiment" / "stop"
    (sweep,) = [p for p in experiment.iterdir() if p.is_dir()]
    assert json.loads((sweep / "cairn-sweep.json").read_text())["status"] == "interrupted"


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _spawn(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cairn", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        # a shell without job control starts background commands with SIGINT ignored, and
        # Python then never raises KeyboardInterrupt: give the sweep Ctrl-C's default back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_rows(experiment: Path, count: int) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for folder in experiment.glob("*/cm-result.json"):
            if len(json.loads(folder.read_text() or "[]")) >= count:
                return folder.parent
        time.sleep(0.05)
    raise AssertionError("the sweep recorded too few rows in time")


def test_bad_sweeps_are_refused_with_clear_errors(cli: Cli, pipeline: Path) -> None:
    neither = cli("run", "experiment", "x", "--explore.n=1,2")
    assert neither.returncode == 1 and "either a script" in neither.stderr
    nothing = cli("run", "experiment", "x", "--script=app bench")
    assert nothing.returncode == 1 and "no space to explore" in nothing.stderr
    jobs = cli("run", "experiment", "x", "--script=app bench", "--explore.n=1", "--jobs=0")
    assert jobs.returncode == 1 and "--jobs='0' must be at least 1" in jobs.stderr
    unknown = cli("run", "experiment", "x", "--explore.n=1", "--", "echo", "{{m}}")
    assert unknown.returncode == 1 and "{{m}}" in unknown.stderr
    csv = cli("find", "experiment", "--out=csv")
    assert csv.returncode == 1 and "--out='csv' is not offered by find" in csv.stderr


def test_strict_exits_non_zero_when_a_point_failed(cli: Cli, pipeline: Path) -> None:
    done = cli(
        "run",
        "experiment",
        "s",
        "--script=app bench",
        "--explore.batch_size=4",
        "--explore.threads=3",
        "--strict",
    )
    assert done.returncode == 1 and "1 of 1 runs failed" in done.stderr


@pytest.fixture
def mlperf(cli: Cli, tmp_path: Path) -> Path:
    copy = tmp_path / "cm4mlperf-results"
    shutil.copytree(MLPERF, copy)
    added = cli("add", "repo", str(copy))
    assert added.returncode == 0, added.stderr
    return copy


def _cm_rows(copy: Path, name: str) -> list[dict[str, Any]]:
    (result,) = (copy / "experiment" / name).glob("*/cm-result.json")
    rows: list[dict[str, Any]] = json.loads(result.read_text())
    return rows


def test_show_reads_the_experiments_cm_wrote(cli: Cli, mlperf: Path) -> None:
    done = cli(
        "show",
        "experiment",
        IC_OFFLINE,
        "--filter=Accuracy>=75.9 and Model==resnet50",
        "--sort=-Result",
        "--out=json",
    )
    assert done.returncode == 0, done.stderr
    rows = json_out(done)["rows"]
    expected = [r for r in _cm_rows(mlperf, IC_OFFLINE) if r["Accuracy"] >= 75.9]
    assert len(rows) == len(expected) > 10
    assert [r["Result"] for r in rows] == sorted((r["Result"] for r in expected), reverse=True)
    console = cli("show", "experiment", "--tags=image-classification,offline")
    assert console.returncode == 0, console.stderr
    assert "SystemName" in console.stdout and "Result" in console.stdout
    assert "more keys" in console.stdout


def _brute_front(rows: list[dict[str, Any]], keys: tuple[str, str]) -> set[int]:
    """Indices of rows no other row beats: Result higher, accelerators fewer (O(n²))."""
    usable = [
        i for i, r in enumerate(rows) if all(isinstance(r.get(k), (int, float)) for k in keys)
    ]

    def beats(q: dict[str, Any], p: dict[str, Any]) -> bool:
        ge = q[keys[0]] >= p[keys[0]] and q[keys[1]] <= p[keys[1]]
        return ge and (q[keys[0]] > p[keys[0]] or q[keys[1]] < p[keys[1]])

    return {i for i in usable if not any(beats(rows[j], rows[i]) for j in usable)}


def test_pareto_on_mlperf_gives_the_front_a_brute_force_gives(cli: Cli, mlperf: Path) -> None:
    keys = ("Result", "accelerators_per_node")
    for name in (IC_OFFLINE, IC_OFFLINE.replace("image-classification", "object-detection")):
        done = cli(
            "pareto",
            "experiment",
            name,
            "--objective=Result:max",
            "--objective=accelerators_per_node:min",
            "--out=json",
        )
        assert done.returncode == 0, done.stderr
        front = json_out(done)["front"]
        rows = _cm_rows(mlperf, name)
        expected = _brute_front(rows, keys)
        assert {(r["SystemName"], r["Result"]) for r in front} == {
            (rows[i]["SystemName"], rows[i]["Result"]) for i in expected
        }
        results = [r["Result"] for r in front]
        assert results == sorted(results, reverse=True)  # best first objective first
    # checked by hand: the fastest system overall and the best CPU-only one are on it
    front = json_out(
        cli(
            "pareto",
            "experiment",
            IC_OFFLINE,
            "--objective=Result:max",
            "--objective=accelerators_per_node:min",
            "--out=json",
        )
    )["front"]
    assert max(r["Result"] for r in front) == max(r["Result"] for r in _cm_rows(mlperf, IC_OFFLINE))
    assert [r["Organization"] for r in front if r["accelerators_per_node"] == 0] == ["Intel"]


# Fronts checked by hand: an O(n²) script written apart from cairn (no cairn import) over the
# rows CM wrote, its answers copied here. (SystemName, Result, accelerators_per_node).
LP_OFFLINE_BY_MODEL = {
    "bert-99": [
        ("Dell PowerEdge XE9680 (8x H200-SXM-141GB, TensorRT)", 73791, 8),
        ("GX2560M7_H100_SXM_80GBx4 (4x H100-SXM-80GB, TensorRT)", 36110.8, 4),
        ("Dell PowerEdge R760 (2xH100_PCIe_80GB, TensorRT)", 11758.6, 2),
        ("NVIDIA GH200-GraceHopper-Superchip (1x GH200-96GB_aarch64, TensorRT)", 9864.25, 1),
        ("1-node-2S-GNR-PyTorch", 3024.03, 0),
    ],
    "bert-99.9": [
        ("Dell PowerEdge XE9680 (8x H200-SXM-141GB, TensorRT)", 65322.6, 8),
        ("GX2560M7_H100_SXM_80GBx4 (4x H100-SXM-80GB, TensorRT)", 31575.2, 4),
        ("Dell PowerEdge R760 (2xH100_PCIe_80GB, TensorRT)", 10138.8, 2),
        ("NVIDIA GH200-GraceHopper-Superchip (1x GH200-96GB_aarch64, TensorRT)", 8779.27, 1),
    ],
    "gptj-99": [
        ("ThinkSystem SR680a V3 (8x H200-SXM-141GB, TensorRT)", 20552.1, 8),
        ("Dell PowerEdge XE8640 (4x H100-SXM-80GB, TensorRT)", 9966.79, 4),
        ("Dell PowerEdge R760 (2xH100_PCIe_80GB, TensorRT)", 3317.08, 2),
        ("GH200-GraceHopper-Superchip_GH200-96GB_aarch64x1_TRT", 2803.72, 1),
        ("1-node-2S-GNR-PyTorch", 498.316, 0),
    ],
    "gptj-99.9": [
        ("ThinkSystem SR680a V3 (8x H200-SXM-141GB, TensorRT)", 20552.1, 8),
        ("Dell PowerEdge XE8640 (4x H100-SXM-80GB, TensorRT)", 9966.79, 4),
        ("Dell PowerEdge R760 (2xH100_PCIe_80GB, TensorRT)", 3317.08, 2),
        ("GH200-GraceHopper-Superchip_GH200-96GB_aarch64x1_TRT", 2803.72, 1),
    ],
    "llama2-70b-99": [
        ("4x8xH100-SXM-80GB", 82749.6, 8),
        ("NVIDIA B200 (1x B200-SXM-180GB, TensorRT)", 11264.4, 1),
    ],
    "llama2-70b-99.9": [
        ("4x8xH100-SXM-80GB", 82749.6, 8),
        ("NVIDIA B200 (1x B200-SXM-180GB, TensorRT)", 11264.4, 1),
    ],
}
# recommendation, server: Result:max, accelerators_per_node:min, host_processor_core_count:min
# (the two Intel CPU systems were submitted twice, so each is on the front twice)
REC_SERVER_3 = [
    ("GIGABYTE G593-SD1", 585209, 8, 56),
    ("SYS-821GE-TNHR (8x H100-SXM-80GB, TensorRT)", 548900, 8, 48),
    ("SMC H100 (8x H100-SXM-80GB, TensorRT)", 510155, 8, 32),
    ("GX2560M7_H100_SXM_80GBx4 (4x H100-SXM-80GB, TensorRT)", 293303, 4, 48),
    ("D54U_3U_L40S_PCIe_48GBx4_TRT", 84409, 4, 44),
    ("NVIDIA GH200 NVL2 Platform (1x GH200-144GB_aarch64, TensorRT)", 81009.7, 1, 72),
    ("1-node-2S-GNR-PyTorch", 17749.5, 0, 128),
    ("1-node-2S-GNR-PyTorch", 17749.5, 0, 128),
    ("1-node-2S-EMR-PyTorch", 9731.54, 0, 64),
    ("1-node-2S-EMR-PyTorch", 9731.54, 0, 64),
]
# image classification, offline, Accuracy>=76: Result:max:2%, accelerators_per_node:min
# (near-ties within 2 % of the best of their accelerator count stay)
IC_OFFLINE_MARGIN = [
    ("Dell PowerEdge XE9680 (8x H200-SXM-141GB, TensorRT)", 768235, 8),
    ("GIGABYTE G593-SD1", 757446, 8),
    ("NVIDIA H200 (8x H200-SXM-141GB, TensorRT)", 756960, 8),
    ("Dell PowerEdge XE8640 (4x H100-SXM-80GB, TensorRT)", 356320, 4),
    ("GX2560M7_H100_SXM_80GBx4 (4x H100-SXM-80GB, TensorRT)", 351603, 4),
    ("ThinkSystem SR650 V3 (3x NVIDIA L40S, TensorRT)", 132436, 3),
    ("Cisco UCS C245 M8 (2x H100-PCIe-80GB, TensorRT)", 113422, 2),
    ("Dell PowerEdge R760 (2xH100_PCIe_80GB, TensorRT)", 112968, 2),
    ("NVIDIA GH200-GraceHopper-Superchip (1x GH200-96GB_aarch64, TensorRT)", 95104.5, 1),
    ("GH200-GraceHopper-Superchip_GH200-96GB_aarch64x1_TRT", 94990.9, 1),
]


def _front(cli: Cli, name: str, *flags: str) -> dict[str, Any]:
    done = cli("pareto", "experiment", name, *flags, "--out=json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json_out(done)
    return data


def test_hand_checked_mlperf_front_per_model(cli: Cli, mlperf: Path) -> None:
    name = IC_OFFLINE.replace("image-classification", "language-processing")
    keys = ("--objective=Result:max", "--objective=accelerators_per_node:min")
    data = _front(cli, name, *keys, "--group_by=Model")
    found: dict[str, list[tuple[str, Any, Any]]] = {}
    for row in data["front"]:  # best Result first
        found.setdefault(row["Model"], []).append(
            (row["SystemName"], row["Result"], row["accelerators_per_node"])
        )
    assert found == LP_OFFLINE_BY_MODEL
    assert data["points"] == 201 and data["left_out"] == 2
    text = cli("pareto", "experiment", name, *keys, "--group_by=Model").stdout
    assert text.startswith(f"experiment {name}: 22 of 201 points on the front (6 groups)")


def test_hand_checked_mlperf_front_of_three_objectives(cli: Cli, mlperf: Path) -> None:
    name = IC_OFFLINE.replace("image-classification--offline", "recommendation--server")
    data = _front(
        cli,
        name,
        "--objective=Result:max,accelerators_per_node:min,host_processor_core_count:min",
    )
    keys = ("SystemName", "Result", "accelerators_per_node", "host_processor_core_count")
    assert [tuple(row[k] for k in keys) for row in data["front"]] == REC_SERVER_3


def test_hand_checked_mlperf_front_with_a_margin_and_a_constraint(cli: Cli, mlperf: Path) -> None:
    data = _front(
        cli,
        IC_OFFLINE,
        "--objective=Result:max:2%",
        "--objective=accelerators_per_node:min",
        "--constraint=Accuracy>=76",
    )
    keys = ("SystemName", "Result", "accelerators_per_node")
    assert [tuple(row[k] for k in keys) for row in data["front"]] == IC_OFFLINE_MARGIN


def test_pareto_constraints_margins_groups_and_pictures(
    cli: Cli, mlperf: Path, tmp_path: Path
) -> None:
    base = [
        "pareto",
        "experiment",
        IC_OFFLINE,
        "--objective=Result:max",
        "--objective=accelerators_per_node:min",
        "--out=json",
    ]
    exact = json_out(cli(*base))
    relaxed = json_out(cli(*base, "--margin=10%"))
    assert {r["uid"] for r in exact["front"]} < {r["uid"] for r in relaxed["front"]}
    strict = json_out(cli(*base, "--constraint=Accuracy>=76"))
    assert strict["front"] and all(r["Accuracy"] >= 76 for r in strict["front"])
    grouped = json_out(cli(*base, "--group_by=Availability"))
    assert {r["Availability"] for r in grouped["front"]} == {"available", "preview"}
    assert exact["left_out"] == 1
    png, html = tmp_path / "front.png", tmp_path / "front.html"
    drawn = cli(*base[:-1], f"--plot={png},{html}")
    assert drawn.returncode == 0, drawn.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "<svg" in html.read_text()
    csv = cli(*base[:-1], "--out=csv", "--columns=SystemName,Result")
    assert csv.stdout.splitlines()[0] == "SystemName,Result"
    assert len(csv.stdout.splitlines()) == len(exact["front"]) + 1


def test_pareto_and_plot_refuse_bad_requests(cli: Cli, mlperf: Path) -> None:
    no_sense = cli("pareto", "experiment", IC_OFFLINE, "--objective=Result")
    assert no_sense.returncode == 1 and "KEY:max or KEY:min" in no_sense.stderr
    nothing = cli("pareto", "experiment", IC_OFFLINE)
    assert nothing.returncode == 1 and "which objectives?" in nothing.stderr
    jpg = cli("plot", "experiment", IC_OFFLINE, "--x=Result", "--y=Accuracy", "--file=a.jpg")
    assert jpg.returncode == 1 and "unknown picture format '.jpg'" in jpg.stderr
    bad = cli("show", "experiment", IC_OFFLINE, "--filter=Accuracy>>1")
    assert bad.returncode == 1 and "Accuracy>>1" in bad.stderr
    missing = cli("show", "experiment", "no-such-experiment")
    assert missing.returncode == 16


def test_plot_writes_an_interactive_page_chromium_renders(
    cli: Cli, mlperf: Path, tmp_path: Path, chromium: Any
) -> None:
    page = tmp_path / "plot.html"
    done = cli(
        "plot",
        "experiment",
        IC_OFFLINE,
        "--x=Result:max",
        "--y=accelerators_per_node:min",
        "--log=x",
        f"--file={page}",
        "--out=json",
    )
    assert done.returncode == 0, done.stderr
    points = json_out(done)["points"]
    assert points == 39  # one of the 40 rows has no accelerators_per_node
    dom = dump(chromium, page)
    assert 'data-ready="1"' in dom
    assert len(re.findall(r'<circle class="mark', dom)) == points
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page.read_text())


def _bench_run_sh(pipeline: Path, extra: int) -> None:
    """Change the bench script's result (a new version of the code under test)."""
    run_sh = pipeline.parent / "pipe" / "script" / "bench" / "run.sh"
    text = run_sh.read_text().replace("* 10))", f"* 10 + {extra}))")
    run_sh.write_text(text)


def test_replay_says_per_point_whether_results_reproduced(cli: Cli, pipeline: Path) -> None:
    sweep = [
        "run",
        "experiment",
        "rep",
        "--script=app bench",
        "--explore.batch_size=1,2",
        "--threads=2",
        "--result=THROUGHPUT",
    ]
    assert cli(*sweep).returncode == 0
    same = cli("replay", "experiment", "rep", "--out=json")
    assert same.returncode == 0, same.stderr
    data = json_out(same)
    assert data["reproduced"] and len(data["points"]) == 2
    assert all(p["outputs"][0]["status"] == "same" for p in data["points"])
    _bench_run_sh(pipeline, 1)
    changed = cli("replay", "experiment", "rep")
    assert changed.returncode == 1
    assert "did NOT reproduce" in changed.stderr and "THROUGHPUT: 20 -> 21" in changed.stderr
    assert "drift" in changed.stderr and "bench" in changed.stderr  # the script's content
    loose = cli(
        "replay",
        "experiment",
        "rep",
        "--tolerance=10%",
        "--point=" + data["points"][1]["point"][:6],
    )
    assert loose.returncode == 0, loose.stderr
    assert "1 of 1 points reproduced" in loose.stdout


def test_replay_of_a_command_sweep_and_of_cm_data(cli: Cli, mlperf: Path) -> None:
    code = "import json, sys; json.dump({'v': int(sys.argv[1]) * 2}, open('cm-output.json', 'w'))"
    assert (
        cli(
            "run", "experiment", "c", "--explore.n=1,3", "--", sys.executable, "-c", code, "{{n}}"
        ).returncode
        == 0
    )
    done = cli("replay", "experiment", "c", "--out=json")
    assert done.returncode == 0, done.stderr
    assert [p["outputs"][0]["now"] for p in json_out(done)["points"]] == [2, 6]
    cm = cli("replay", "experiment", IC_OFFLINE)
    assert cm.returncode == 16 and "no sweep run by cairn" in cm.stderr


def test_compare_two_sweeps_shows_deltas_and_what_changed(cli: Cli, pipeline: Path) -> None:
    for name in ("before", "after"):
        done = cli(
            "run",
            "experiment",
            name,
            "--script=app bench",
            "--explore.batch_size=1,2",
            "--threads=2",
            "--result=THROUGHPUT",
        )
        assert done.returncode == 0, done.stderr
        _bench_run_sh(pipeline, 5)
    compared = cli("compare", "experiment", "before", "after")
    assert compared.returncode == 0, compared.stderr
    assert "matched by: batch_size" in compared.stdout
    assert "THROUGHPUT: 20 -> 25 (+5, +25.0%)" in compared.stdout
    assert "content" in compared.stdout  # the bench script's code differs between the runs
    data = json_out(cli("compare", "experiment", "before", "after", "--out=json"))
    assert len(data["pairs"]) == 2 and data["environment"] is not None


def test_compare_experiments_cm_wrote_by_a_named_key(cli: Cli, mlperf: Path) -> None:
    server = IC_OFFLINE.replace("offline", "server")
    refused = cli("compare", "experiment", IC_OFFLINE, server)
    assert refused.returncode == 1 and "--by=" in refused.stderr
    done = cli("compare", "experiment", IC_OFFLINE, server, "--by=SystemName", "--out=json")
    assert done.returncode == 0, done.stderr
    data = json_out(done)
    from collections import Counter

    offline = Counter(r["SystemName"] for r in _cm_rows(mlperf, IC_OFFLINE))
    online = Counter(r["SystemName"] for r in _cm_rows(mlperf, server))
    assert len(data["pairs"]) == sum((offline & online).values()) > 5
    first = {r["SystemName"]: r["Result"] for r in reversed(_cm_rows(mlperf, IC_OFFLINE))}
    later = {r["SystemName"]: r["Result"] for r in reversed(_cm_rows(mlperf, server))}
    pair = data["pairs"][0]
    result = next(d for d in pair["deltas"] if d["key"] == "Result")
    name = pair["match"]["SystemName"]
    assert (result["a"], result["b"]) == (first[name], later[name])
    assert data["environment"] is None
    text = cli("compare", "experiment", IC_OFFLINE, server, "--by=SystemName").stdout
    assert "share their SystemName with another; matched in order" in text


def test_spaces_from_files_zip_sample_and_explored_variations_and_env(
    cli: Cli, tmp_path: Path
) -> None:
    repo = ScriptRepo(tmp_path / "vars")
    repo.add(
        "echo-point",
        {
            "variations": {"fast": {"env": {"MODE": "fast"}}, "slow": {"env": {"MODE": "slow"}}},
            "new_env_keys": ["SEEN"],
        },
        tags=["echo", "point"],
        run='echo "SEEN=${MODE}-${LEVEL}" > tmp-run-env.out\n',
    )
    space = tmp_path / "space.yaml"
    space.write_text("explore:\n  variations: [_fast, _slow]\n  env.LEVEL: [1, 2, 3]\n")
    done = cli(
        "run",
        "experiment",
        "v",
        "--script=echo point",
        f"--space={space}",
        "--explore.env.LEVEL=7,8",
        "--out=json",
    )
    assert done.returncode == 0, done.stderr
    seen = sorted(r["SEEN"] for r in json_out(done)["rows"])
    assert seen == ["fast-7", "fast-8", "slow-7", "slow-8"]  # the CLI's LEVEL replaced the file's
    zipped = cli(
        "run",
        "experiment",
        "z",
        "--explore.a=1,2,3",
        "--explore.b=x,y,z",
        "--zip=a+b",
        "--out=json",
        "--",
        sys.executable,
        "-c",
        "import json,sys; json.dump({'ab': sys.argv[1]}, open('cm-output.json','w'))",
        "{{a}}{{b}}",
    )
    assert sorted(r["ab"] for r in json_out(zipped)["rows"]) == ["1x", "2y", "3z"]
    argv = [
        "run",
        "experiment",
        "s",
        "--explore.k=1..100",
        "--sample=5",
        "--seed=3",
        "--out=json",
        "--",
        "true",
    ]
    first, second = json_out(cli(*argv)), json_out(cli(*argv))  # two sweeps, same seed
    assert first["runs"] == 5 and first["sweep"] != second["sweep"]
    assert [r["k"] for r in first["rows"]] == [r["k"] for r in second["rows"]]
    bad = cli("run", "experiment", "b", "--explore.variations=fast", "--script=echo point")
    assert bad.returncode == 1 and "'fast' is not a variation" in bad.stderr


def test_a_command_names_its_result_file(cli: Cli) -> None:
    code = "import json; json.dump({'r': {'deep': 3}}, open('out/res.json', 'w'))"
    done = cli(
        "run",
        "experiment",
        "rf",
        "--explore.n=1",
        "--result_file=out/res.json",
        "--out=json",
        "--",
        "sh",
        "-c",
        f'mkdir out && {sys.executable} -c "{code}"',
    )
    assert done.returncode == 0, done.stderr
    assert json_out(done)["rows"][0]["r.deep"] == 3


def test_a_scripts_meta_names_its_results(cli: Cli, tmp_path: Path) -> None:
    repo = ScriptRepo(tmp_path / "named")
    repo.add(
        "two-outputs",
        {"new_env_keys": ["SCORE", "NOISE"], "experiment_results": ["SCORE"]},
        tags=["two", "outputs"],
        run='echo "SCORE=$((N * 2))" > tmp-run-env.out; echo "NOISE=x" >> tmp-run-env.out\n',
    )
    done = cli(
        "run", "experiment", "m", "--script=two outputs", "--explore.env.N=1,2", "--out=json"
    )
    assert done.returncode == 0, done.stderr
    rows = json_out(done)["rows"]
    assert [r["SCORE"] for r in rows] == ["2", "4"] and all("NOISE" not in r for r in rows)
    chosen = cli(
        "run",
        "experiment",
        "m2",
        "--script=two outputs",
        "--explore.env.N=1",
        "--result=NOISE",
        "--out=json",
    )
    assert (
        "SCORE" not in json_out(chosen)["rows"][0] and json_out(chosen)["rows"][0]["NOISE"] == "x"
    )


def test_a_command_sweep_refuses_flags_it_does_not_take(cli: Cli) -> None:
    typo = cli("run", "experiment", "t", "--explore.n=1,2", "--repat=3", "--", "true")
    assert typo.returncode == 1, typo.stderr
    assert "--repat" in typo.stderr and "did you mean --repeat?" in typo.stderr
    assert "cairn error" in typo.stderr and "Traceback" not in typo.stderr
    home = Path(os.environ["CAIRN_HOME"])
    assert not list((home / "local" / "experiment").glob("t/*/cm-result.json"))  # nothing ran
    cm = cli("run", "experiment", "t", "--rerun", "--explore.n=1", "--", "true")
    assert cm.returncode == 1 and "--resume" in cm.stderr and "replay experiment" in cm.stderr
    quiet = cli("run", "experiment", "t", "--quiet", "--explore.n=1", "--", "true")
    assert quiet.returncode == 0, quiet.stderr  # CM's global flags are harmless


def test_a_script_sweep_warns_about_a_flag_close_to_its_own(cli: Cli, pipeline: Path) -> None:
    done = cli(
        "run",
        "experiment",
        "w",
        "--script=app bench",
        "--explore.batch_size=1",
        "--threads=2",
        "--jobz=2",
    )
    assert done.returncode == 0, done.stderr
    assert "--jobz is passed to every point's script; did you mean --jobs?" in done.stderr
    assert "--threads" not in done.stderr  # a script input, as documented


def test_cms_own_experiment_actions_say_what_cairn_offers(cli: Cli) -> None:
    rerun = cli("rerun", "experiment", "x")
    assert rerun.returncode == 4
    assert "cairn run experiment NAME --resume" in rerun.stderr
    assert "replay experiment" in rerun.stderr


def test_compare_two_points_pairs_them_whatever_their_inputs(cli: Cli, pipeline: Path) -> None:
    done = cli(
        "run",
        "experiment",
        "pts",
        "--script=app bench",
        "--explore.batch_size=1,2",
        "--threads=2",
        "--result=THROUGHPUT",
        "--out=json",
    )
    assert done.returncode == 0, done.stderr
    one, two = (row["point"][:8] for row in json_out(done)["rows"])
    compared = cli("compare", "experiment", f"pts@{one}", f"pts@{two}")
    assert compared.returncode == 0, compared.stderr
    text = compared.stdout
    assert "matched by: (the two points)" in text
    assert "THROUGHPUT: 20 -> 40 (+20, +100.0%)" in text and "batch_size: 1 -> 2" in text
    assert "only in A" not in text
    assert "input batch_size" in text  # the environment part: what their runs were given
    data = json_out(cli("compare", "experiment", f"pts@{one}", f"pts@{two}", "--out=json"))
    assert len(data["pairs"]) == 1 and data["only_a"] == data["only_b"] == 0


def test_a_result_no_point_exported_is_warned_about(cli: Cli, pipeline: Path) -> None:
    done = cli(
        "run",
        "experiment",
        "nope",
        "--script=app bench",
        "--explore.batch_size=1,2",
        "--threads=2",
        "--result=THROUGHPUT,THRUPUT",
    )
    assert done.returncode == 0, done.stderr
    assert "no point exported the result THRUPUT" in done.stderr
    assert "did you mean THROUGHPUT?" not in done.stderr  # THROUGHPUT is there already
    assert "exported the result THROUGHPUT" not in done.stderr
    only_typo = cli(
        "run",
        "experiment",
        "nope2",
        "--script=app bench",
        "--explore.batch_size=1",
        "--threads=2",
        "--result=LATENCYY",
    )
    assert "no point exported the result LATENCYY" in only_typo.stderr
    assert "LATENCY" in only_typo.stderr.split("LATENCYY", 2)[-1]  # what the points did export


def test_repeats_of_a_cached_script_really_run(cli: Cli, pipeline: Path) -> None:
    done = cli(
        "run",
        "experiment",
        "cached",
        "--script=prepare data",
        "--explore.env.X=1,2",
        "--repeat=3",
        "--out=json",
    )
    assert done.returncode == 0, done.stderr
    assert json_out(done)["runs"] == 6
    assert len(pipeline.read_text().split()) == 6  # no repeat served from the cache
    once = cli("run", "experiment", "once", "--script=prepare data", "--explore.env.X=1,2")
    assert once.returncode == 0, once.stderr
    assert len(pipeline.read_text().split()) == 7  # without repeats the cache works as always


def test_replay_of_a_cached_script_runs_it_again(cli: Cli, pipeline: Path) -> None:
    done = cli("run", "experiment", "rc", "--script=prepare data", "--explore.env.X=1,2")
    assert done.returncode == 0, done.stderr
    assert len(pipeline.read_text().split()) == 1  # the second point came from the cache
    replayed = cli("replay", "experiment", "rc", "--out=json")
    assert replayed.returncode == 0, replayed.stderr
    assert json_out(replayed)["reproduced"]
    assert len(pipeline.read_text().split()) == 3  # each point really ran again


def test_a_key_no_point_has_is_warned_about_with_a_close_one(cli: Cli, mlperf: Path) -> None:
    shown = cli("show", "experiment", IC_OFFLINE, "--filter=Acuracy>=75.9", "--sort=-Reslt")
    assert shown.returncode == 0, shown.stderr
    assert "no point has the key Acuracy; did you mean Accuracy?" in shown.stderr
    assert "no point has the key Reslt; did you mean Result?" in shown.stderr
    front = cli(
        "pareto",
        "experiment",
        IC_OFFLINE,
        "--objective=Result:max,acelerators_per_node:min",
        "--group_by=Availabilty",
    )
    assert "did you mean accelerators_per_node?" in front.stderr
    assert "did you mean Availability?" in front.stderr
    plotted = cli(
        "plot",
        "experiment",
        IC_OFFLINE,
        "--x=Result",
        "--y=Acuracy",
        f"--file={mlperf / 'p.svg'}",
    )
    assert plotted.returncode == 0 and "did you mean Accuracy?" in plotted.stderr
    fine = cli("show", "experiment", IC_OFFLINE, "--filter=!errors and Accuracy>=75.9")
    assert "no point has the key" not in fine.stderr  # !KEY of a missing key is a fair test


def _grandchild_code(pids: Path) -> str:
    """A point whose command starts a child of its own (as a script's run.sh does)."""
    return (
        "import subprocess, sys, time;"
        " child = subprocess.Popen(['sleep', '60']);"
        f" open({str(pids)!r}, 'a').write(str(child.pid) + '\\n'); time.sleep(60)"
    )


def _all_gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + 15  # reaping takes a moment on a loaded machine
    while time.monotonic() < deadline and any(process_alive(pid) for pid in pids):
        time.sleep(0.05)
    return not any(process_alive(pid) for pid in pids)


def test_a_timeout_stops_the_points_whole_process_tree(cli: Cli, tmp_path: Path) -> None:
    pids = tmp_path / "children.txt"
    done = cli(
        "run",
        "experiment",
        "slow-tree",
        "--explore.n=1",
        "--timeout=2",
        "--",
        sys.executable,
        "-c",
        _grandchild_code(pids),
    )
    assert done.returncode == 0 and "timed out after 2 s" in done.stdout
    (child,) = [int(p) for p in _lines(pids)]
    assert _all_gone([child])  # not left running after its point was failed


def test_sigterm_stops_the_sweep_and_its_points(tmp_path: Path) -> None:
    pids = tmp_path / "children.txt"
    proc = _spawn(
        [
            "run",
            "experiment",
            "term",
            "--explore.n=1..4",
            "--jobs=2",
            "--",
            sys.executable,
            "-c",
            _grandchild_code(pids),
        ]
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_lines(pids)) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)  # the sweep alone, as a scheduler or `kill` does
    assert proc.wait(20) != 0
    assert _all_gone([int(p) for p in _lines(pids)])
    experiment = Path(os.environ["CAIRN_HOME"]) / "local" / "experiment" / "term"
    (sweep,) = [p for p in experiment.iterdir() if p.is_dir()]
    assert json.loads((sweep / "cairn-sweep.json").read_text())["status"] == "interrupted"
