"""``make bench``: cairn and cmind side by side on synthetic repositories.

    .venv/bin/python bench/run.py [--sizes 1000,10000,100000] [--runs 7] [--no-cmind]

For each size it builds (or reuses) ``bench/.work/repos/synth-N``, registers it in a fresh
cairn home (``bench/.work/cairn-home-N``) and a fresh CM home (``bench/.work/cm-home-N``,
``CM_REPOS``, by writing its ``repos.json``; ``cm reindex repo`` builds CM's index), and times
the whole ``cairn``/``cm`` processes. cmind is installed from PyPI into its own venv,
``bench/.work/cmind-venv``. Each figure is the median of several runs; the table is printed
and written to ``bench/.work/results.md``.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import measure
import synth
from measure import Tool

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work"
QUERY = f"--tags={','.join(synth.QUERY_TAGS)}"
SETTLE_S = 2.1  # cairn does not trust a stat younger than 2 s; let new files settle first
SLOW_SIZE = 100_000  # one cmind query by tags takes minutes here: run it once
SKIPPED = "skipped (minutes per query)"


@dataclass(frozen=True)
class Setup:
    """One size: its repository and the two tools, each with its own home."""

    size: int
    repo: Path
    matches: int
    cairn: Tool
    cm: Tool | None
    runs: int
    cm_times: dict[str, float] = field(default_factory=dict)  # cmind's medians, for the watcher

    def cm_runs(self) -> int:
        return 1 if self.size >= SLOW_SIZE else self.runs


@dataclass(frozen=True)
class Row:
    task: str
    size: int
    cairn: str
    cmind: str
    compare: str
    target: str
    met: str


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    cm_bin = None if args.no_cmind else _ensure_cmind()
    rows: list[Row] = []
    for size in args.sizes:
        setup = _prepare(size, cm_bin, args.runs)
        for task in TASKS:
            rows.append(task(setup))
            print(_format_row(rows[-1]), flush=True)
        for row in watched(setup):
            rows.append(row)
            print(_format_row(row), flush=True)
    report = _report(rows, cm_bin, argv)
    (WORK / "results.md").write_text(report)
    print("\n" + report)
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", type=_sizes)
    parser.add_argument("--runs", default=7, type=int, help="runs per figure (median)")
    parser.add_argument("--no-cmind", action="store_true", help="measure cairn alone")
    return parser.parse_args(argv)


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


# -- set-up ------------------------------------------------------------------------------


def _ensure_cmind() -> Path:
    """``cm`` from PyPI in ``bench/.work/cmind-venv`` (created on first use)."""
    venv = WORK / "cmind-venv"
    cm = venv / "bin" / "cm"
    if not cm.exists():
        print(f"installing cmind into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "cmind"]
        subprocess.run(pip, check=True)
    return cm


def _prepare(size: int, cm_bin: Path | None, runs: int) -> Setup:
    repo = (WORK / "repos" / f"synth-{size}").absolute()
    print(f"preparing {size:,} artifacts in {repo} ...", flush=True)
    matches = synth.build(repo, size)
    cairn = _cairn_tool(size)
    cm = _cm_tool(size, cm_bin, repo) if cm_bin is not None else None
    measure.run(cairn, "add", "repo", str(repo))
    time.sleep(SETTLE_S)
    return Setup(size, repo, matches, cairn, cm, runs)


def _cairn_tool(size: int) -> Tool:
    home = _fresh(WORK / f"cairn-home-{size}")
    cairn = Path(sys.executable).with_name("cairn")
    return Tool("cairn", (str(cairn),), measure.child_env(CAIRN_HOME=str(home)))


def _cm_tool(size: int, cm_bin: Path, repo: Path) -> Tool:
    home = _fresh(WORK / f"cm-home-{size}")
    (home / "repos.json").write_text(f'["{repo}"]\n')
    return Tool("cmind", (str(cm_bin),), measure.child_env(CM_REPOS=str(home)))


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# -- tasks -------------------------------------------------------------------------------


def index_build(s: Setup) -> Row:
    """From scratch: ``cairn reindex`` and ``cm reindex repo``, as artifacts per second."""
    cairn = measure.median_time(s.cairn, ["reindex"], min(s.runs, 3))
    cm = (
        measure.median_time(s.cm, ["reindex", "repo"], 1 if s.size >= SLOW_SIZE else 3)
        if s.cm
        else None
    )
    _warm(s)
    target = ">= 5,000/s" if s.size >= SLOW_SIZE else ""
    met = _verdict(s.size / cairn >= 5000) if target else ""
    return Row(
        "index build",
        s.size,
        _rate(s.size, cairn),
        _rate(s.size, cm),
        _speed(cairn, cm),
        target,
        met,
    )


def version(s: Setup) -> Row:
    cairn = measure.median_time(s.cairn, ["version"], s.runs)
    cm = measure.median_time(s.cm, ["version"], s.cm_runs()) if s.cm else None
    ok = cairn <= 0.060 and (cm is None or cm / cairn >= 5)
    return Row(
        "version", s.size, _ms(cairn), _ms(cm), _speed(cairn, cm), "<= 60 ms, >= 5x", _verdict(ok)
    )


def find_tags(s: Setup) -> Row:
    args = ["find", "dataset", QUERY]
    found = measure.lines(measure.run(s.cairn, *args)[1])
    assert found == s.matches, f"cairn found {found}, expected {s.matches}"
    cairn = measure.median_time(s.cairn, args, s.runs)
    cm = measure.median_time(s.cm, args, s.cm_runs()) if s.cm else None
    _note_cm(s, "tags", cm)
    target, ok = _find_target(s.size, cairn, cm)
    return Row(
        f"find by 2 tags ({found} hits)", s.size, _ms(cairn), _ms(cm), _speed(cairn, cm), target, ok
    )


def find_alias(s: Setup) -> Row:
    args = ["find", "dataset", synth.alias_of(s.size // 2)]
    assert measure.lines(measure.run(s.cairn, *args)[1]) == 1
    cairn = measure.median_time(s.cairn, args, s.runs)
    cm = measure.median_time(s.cm, args, s.cm_runs()) if s.cm else None
    _note_cm(s, "alias", cm)
    target = "<= 60 ms" if s.size == 10_000 else ""
    return Row(
        "find by alias",
        s.size,
        _ms(cairn),
        _ms(cm),
        _speed(cairn, cm),
        target,
        _verdict(cairn <= 0.060) if target else "",
    )


def after_edit(s: Setup) -> Row:
    """Append both query tags to one artifact by hand, then time the 2-tag query at once."""
    tools = [t for t in (s.cairn, _cm_unless_slow(s)) if t is not None]
    times: dict[str, list[float]] = {t.name: [] for t in tools}
    seen = {t.name: 0 for t in tools}
    for meta in _edit_candidates(s.repo, s.runs):
        results = _edit_round(tools, meta, s.matches + 1)
        for tool, (elapsed, saw) in zip(tools, results, strict=True):
            times[tool.name].append(elapsed)
            seen[tool.name] += saw
    cairn = _median(times["cairn"])
    cm = _median(times["cmind"]) if "cmind" in times else None
    _note_cm(s, "edit", cm)
    note = ", ".join(f"{name} {seen[name]}/{len(times[name])}" for name in times)
    target = "<= 100 ms" if s.size == 10_000 else ""
    met = _verdict(cairn <= 0.100) if target else ""
    cm_text = _ms(cm) if cm is not None or s.cm is None else SKIPPED
    task = f"first query after a hand edit (saw it: {note})"
    return Row(task, s.size, _ms(cairn), cm_text, _speed(cairn, cm), target, met)


def _edit_round(tools: list[Tool], meta: Path, expected: int) -> list[tuple[float, bool]]:
    """One hand edit: time each tool's query, then restore the file (and query, untimed)."""
    original = meta.read_text()
    with open(meta, "a") as handle:
        handle.write("".join(f"- {tag}\n" for tag in synth.QUERY_TAGS))
    try:
        results = []
        for tool in tools:
            elapsed, out = measure.run(tool, "find", "dataset", QUERY)
            results.append((elapsed, measure.lines(out) == expected))
    finally:
        meta.write_text(original)
    for tool in tools:
        measure.run(tool, "find", "dataset", QUERY)
    return results


def peak_memory(s: Setup) -> Row:
    args = ["find", "dataset", QUERY]
    cairn = measure.peak_rss_mb(s.cairn, args, min(s.runs, 3))
    cm_tool = _cm_unless_slow(s)
    cm = measure.peak_rss_mb(cm_tool, args, min(s.runs, 3)) if cm_tool else None
    target = "<= 30 MB" if s.size == 10_000 else ""
    met = _verdict(cairn <= 30) if target else ""
    cm_text = f"{cm:.0f} MB" if cm is not None else SKIPPED if s.cm else "-"
    compare = f"{cm / cairn:.1f}x less" if cm is not None else ""
    return Row(
        "peak memory, find by 2 tags", s.size, f"{cairn:.0f} MB", cm_text, compare, target, met
    )


TASKS: list[Callable[[Setup], Row]] = [
    index_build,
    version,
    find_tags,
    find_alias,
    after_edit,
    peak_memory,
]


def _note_cm(s: Setup, task: str, seconds: float | None) -> None:
    if seconds is not None:
        s.cm_times[task] = seconds


# -- with the watcher ----------------------------------------------------------------------


def watched(s: Setup) -> list[Row]:
    """The finds again with ``cairn daemon`` running (answered by the watcher, ``cli/lean.py``),
    beside ``python -c pass`` (the floor) and cmind's figures measured above in this run.

    Interleaved, per run: the floor; each find right after the same find, nothing changed
    between (the watcher gives its answer again); each find right after a file elsewhere in
    the home was written (the answer made anew, the folder's part kept). Then hand edits, as
    above."""
    floor = Tool("python -c pass", (sys.executable, "-c", "pass"), s.cairn.env)
    finds = {"tags": ["find", "dataset", QUERY], "alias": ["find", "dataset", _alias(s)]}
    measure.run(s.cairn, "daemon", "start")
    try:
        for args in finds.values():
            measure.run(s.cairn, *args)  # the first query of a new watcher checks the folder
        times = _interleaved(s, floor, finds)
        rows = [_floor_row(s, times["floor"])]
        for task, label in (
            ("tags", f"find by 2 tags ({s.matches} hits)"),
            ("alias", "find by alias"),
        ):
            for how in ("kept", "anew"):
                rows.append(_watched_row(s, task, label, how, times))
        rows.append(_watched_edit(s, _median(times["floor"])))
    finally:
        measure.run(s.cairn, "daemon", "stop")
    return rows


WATCHED = {"kept": "answer kept: nothing changed", "anew": "a change elsewhere first"}


def _alias(s: Setup) -> str:
    return synth.alias_of(s.size // 2)


def _interleaved(s: Setup, floor: Tool, finds: dict[str, list[str]]) -> dict[str, list[float]]:
    expected = {"tags": s.matches, "alias": 1}
    times: dict[str, list[float]] = {"floor": []}
    nudge = s.cairn.env["CAIRN_HOME"] + "/bench-nudge"
    for i in range(s.runs):
        times["floor"].append(measure.run(floor)[0])
        for task, args in finds.items():
            for how in WATCHED:
                if how == "kept":
                    measure.run(s.cairn, *args)  # the answer given next is this one, kept
                else:
                    Path(nudge).write_text(str(i))
                elapsed, out = measure.run(s.cairn, *args)
                assert measure.lines(out) == expected[task], f"{task}: {out[:200]}"
                times.setdefault(f"{task} {how}", []).append(elapsed)
    return times


def _floor_row(s: Setup, times: list[float]) -> Row:
    return Row("python -c pass (the floor)", s.size, _ms(_median(times)), "", "", "", "")


def _watched_row(s: Setup, task: str, label: str, how: str, times: dict[str, list[float]]) -> Row:
    cairn, floor = _median(times[f"{task} {how}"]), _median(times["floor"])
    cm = s.cm_times.get(task)
    target_parts, ok = [], True
    if task == "tags" and s.size in (10_000, 100_000):
        target_parts.append("<= 3x the floor")
        ok = ok and cairn <= 3 * floor
    if s.size == 10_000 and cm is not None:
        target_parts.append(">= 15x")
        ok = ok and cm / cairn >= 15
    target = ", ".join(target_parts)
    task_text = f"{label}, watcher ({WATCHED[how]})"
    compare, cm_text = _beside(cairn, cm, floor), _cm_text(s, cm)
    return Row(
        task_text, s.size, _ms(cairn), cm_text, compare, target, _verdict(ok) if target else ""
    )


def _watched_edit(s: Setup, floor: float) -> Row:
    elapsed, seen = [], 0
    for meta in _edit_candidates(s.repo, s.runs):
        ((seconds, saw),) = _edit_round([s.cairn], meta, s.matches + 1)
        elapsed.append(seconds)
        seen += saw
    cairn, cm = _median(elapsed), s.cm_times.get("edit")
    task = f"first query after a hand edit, watcher (saw it: {seen}/{len(elapsed)})"
    return Row(task, s.size, _ms(cairn), _cm_text(s, cm), _beside(cairn, cm, floor), "", "")


def _beside(cairn: float, cm: float | None, floor: float) -> str:
    """cairn against cmind (when measured) and against the floor."""
    return "; ".join(x for x in (_speed(cairn, cm), f"{cairn / floor:.1f}x the floor") if x)


def _cm_text(s: Setup, cm: float | None) -> str:
    return _ms(cm) if cm is not None else SKIPPED if s.cm else "-"


def _warm(s: Setup) -> None:
    """Let the files settle, then query once (``cm reindex repo`` leaves cmind ready)."""
    time.sleep(SETTLE_S)
    measure.run(s.cairn, "find", "dataset", QUERY)


def _cm_unless_slow(s: Setup) -> Tool | None:
    """cmind, unless one query takes minutes at this size (then run once, by find alone)."""
    return None if s.size >= SLOW_SIZE else s.cm


def _edit_candidates(repo: Path, count: int) -> list[Path]:
    """Meta files of artifacts that hold neither query tag (so the edit makes them match)."""
    found: list[Path] = []
    i = 0
    while len(found) < count:
        meta = repo / "dataset" / synth.alias_of(i * 97) / "_cm.yaml"
        if not any(f"- {tag}\n" in meta.read_text() for tag in synth.QUERY_TAGS):
            found.append(meta)
        i += 1
    return found


def _find_target(size: int, cairn: float, cm: float | None) -> tuple[str, str]:
    if size == 10_000:
        return "<= 60 ms, >= 10x", _verdict(cairn <= 0.060 and (cm is None or cm / cairn >= 10))
    if size == 100_000:
        return "<= 150 ms", _verdict(cairn <= 0.150)
    return "", ""


# -- formatting --------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f} ms"


def _rate(size: int, seconds: float | None) -> str:
    return "-" if seconds is None else f"{size / seconds:,.0f}/s ({seconds:.1f} s)"


def _speed(cairn: float, cm: float | None) -> str:
    return "" if cm is None else f"{cm / cairn:.1f}x faster"


def _verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


HEADER = ("task", "artifacts", "cairn", "cmind", "cairn vs cmind", "target", "met")


def _format_row(row: Row) -> str:
    cells = (row.task, f"{row.size:,}", row.cairn, row.cmind, row.compare, row.target, row.met)
    return "| " + " | ".join(cells) + " |"


def _report(rows: list[Row], cm_bin: Path | None, argv: list[str] | None) -> str:
    command = " ".join(["bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    lines = [
        f"Machine: {measure.machine()}",
        f"Command: {command}; cmind {_cm_version(cm_bin)}; {datetime.date.today()}",
        "Figures: medians of whole-process wall times (and peak RSS).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
        *(_format_row(row) for row in rows),
    ]
    return "\n".join(lines) + "\n"


def _cm_version(cm_bin: Path | None) -> str:
    if cm_bin is None:
        return "not run"
    env = measure.child_env(CM_REPOS=str(_fresh(WORK / "cm-home-version")))
    return measure.run(Tool("cm", (str(cm_bin),), env), "version")[1].split()[-1]


if __name__ == "__main__":
    raise SystemExit(main())
