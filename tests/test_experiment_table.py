"""Rows as a table: repeats folded into medians with their spread, columns chosen, text,
CSV; and the progress lines a sweep prints."""

from __future__ import annotations

import io
from typing import Any

from cairn.experiment import progress, table
from cairn.experiment.sweep import Progress, Tally
from cairn.record import replace


def row(point: str, repeat: int, **values: Any) -> dict[str, Any]:
    return {
        **values,
        "point": point,
        "repeat": repeat,
        "status": values.pop("status", "ok"),
        "seconds": 1.0 + repeat,
        "error": None,
        "run": f"r{point}{repeat}",
        "uid": "u",
    }


def test_repeats_fold_into_the_median_with_their_spread() -> None:
    rows = [row("p", 1, bs=4, speed=10), row("p", 2, bs=4, speed=14), row("p", 3, bs=4, speed=11)]
    (line,) = table.aggregate(rows, ["bs"]).lines
    assert line.values["bs"] == 4 and line.values["speed"] == 11
    assert line.spread["speed"] == (10, 14, 3)
    assert line.values["repeats"] == 3 and line.values["runs"] == ["rp1", "rp2", "rp3"]
    assert table.cell(line, "speed") == "11 [10..14]"
    assert table.cell(line, "seconds") == "3.000 [2.000..4.000]"


def test_numeric_strings_are_numbers_and_other_text_takes_the_most_common() -> None:
    rows = [
        row("p", 1, v="1.5", tag="a"),
        row("p", 2, v="2.5", tag="b"),
        row("p", 3, v="2", tag="b"),
    ]
    (line,) = table.aggregate(rows, []).lines
    assert line.values["v"] == 2.0 and line.values["tag"] == "b"


def test_status_says_how_many_runs_of_a_point_failed() -> None:
    rows = [row("p", 1, x=1), row("p", 2, x=1, status="failed"), row("q", 1, x=2, status="failed")]
    lines = table.aggregate(rows, ["x"]).lines
    assert [line.values["status"] for line in lines] == ["1/2 ok", "failed"]


def test_columns_for_rows_cm_wrote_name_lines_and_skip_repeating_keys() -> None:
    rows = [
        {
            "SystemName": f"System {i}",
            "Result": i * 10,
            "Result_div_10": i,
            "Units": "s/s",
            "url": "https://example.invalid/" + "x" * 60,
        }
        for i in range(1, 5)
    ]
    data = table.aggregate(rows)
    # Units never differs; url is too long; with every value distinct, Result_div_10 stays
    assert data.columns == ["SystemName", "Result", "Result_div_10"]
    rows = [{"Acc": a, "Acc_div_100": a / 100, "Speed": s} for a, s in ((76, 1), (76, 2), (75, 3))]
    assert table.aggregate(rows).columns == ["Acc", "Speed"]  # Acc_div_100 repeats Acc
    text = table.render(data)
    assert text[0].split() == ["SystemName", "Result", "Result_div_10"]
    assert text[2].split() == ["System", "1", "10", "1"]


def test_csv_has_the_spread_of_aggregated_numbers() -> None:
    rows = [row("p", 1, bs=1, speed=1), row("p", 2, bs=1, speed=3)]
    data = table.aggregate(rows, ["bs"])
    assert table.csv_text(data.lines, ["bs", "speed"]).splitlines() == [
        "bs,speed,speed.min,speed.max",
        "1,2,1,3",
    ]


def test_a_failed_points_cause_is_the_last_line_of_its_error() -> None:
    line = table.Line(
        values={"error": "native script failed\n  | out of memory (full output in /x)"}
    )
    assert table.cell(line, "error") == "out of memory"


def test_progress_bar_and_lines() -> None:
    done = Progress(
        total=4,
        done=2,
        failed=1,
        elapsed=10.0,
        last={"bs": 2, "speed": 3, "point": "p", "status": "ok", "seconds": 1.5},
    )
    assert progress.bar_text(done) == "[############------------] 2/4  1 failed  0:10 left"
    assert progress.line_text(done) == "[2/4] ok bs=2 speed=3 (1.50 s)  1 failed  0:10 left"
    stream = io.StringIO()
    progress.Bar(stream)(done)
    assert stream.getvalue() == progress.line_text(done) + "\n"  # not a terminal: lines


def test_progress_shows_each_workers_tally_and_a_start_adds_no_line() -> None:
    tallies = {"": Tally(done=1), "worker w1": Tally(1, 2, 1), "worker w0": Tally(running=1)}
    last = {"bs": 2, "point": "p", "status": "ok", "seconds": 1.5, "worker": "worker w1"}
    now = Progress(total=6, done=3, failed=1, elapsed=3.0, last=last, workers=tallies)
    assert progress.bar_text(now) == (
        "[############------------] 3/6  1 failed  0:03 left"
        "  | worker w0: 1 running, 0 done; worker w1: 1 running, 2 done, 1 failed"
    )
    assert progress.line_text(now).startswith("[3/6] ok bs=2 (1.50 s) on worker w1  1 failed")
    assert progress.line_text(now).endswith("worker w1: 1 running, 2 done, 1 failed")
    stream = io.StringIO()
    bar = progress.Bar(stream)
    bar(now)
    bar(replace(now, workers={**tallies, "worker w0": Tally(running=2)}))  # a run started
    assert stream.getvalue() == progress.line_text(now) + "\n"


def test_eta_counts_only_runs_done_by_this_process() -> None:
    resumed = Progress(total=10, done=6, skipped=4, elapsed=20.0)
    assert resumed.eta == 40.0  # 2 runs took 20 s, 4 are left
    assert Progress(total=3).eta is None and Progress(total=3, done=3).eta == 0.0
