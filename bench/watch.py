"""The watcher's benchmark: find by 2 tags, whole process, with and without ``cairn daemon``.

    python bench/watch.py [--sizes 10000] [--runs 15]      (or: make bench-watch)

Builds the synthetic repository of ``bench/synth.py`` (kept in ``bench/.work``), registers
it in a fresh home, and times -- interleaved, medians -- ``python -c pass`` with this
interpreter (the floor), the query with no watcher (the stat walk), the query with the
watcher running (answered by the watcher: ``cli/lean.py``, both an answer it kept because
nothing changed and one made anew after a file elsewhere in the home was written -- the
queried folder's part kept, ``store/folder_memo.py``; and, with
``CAIRN_LEAN=0``, in the process itself, the watcher only vouching), and the first query
after a hand edit with the watcher running (checked to see the edit every time). The code
measured is this checkout's ``src``. cmind is not run here: ``make bench`` times it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import measure
import synth

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
WORK = BENCH / ".work"
QUERY = f"--tags={','.join(synth.QUERY_TAGS)}"
SETTLE_S = 2.1  # cairn does not trust a stat younger than 2 s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    print(measure.machine())
    for size in [int(s) for s in args.sizes.split(",")]:
        bench_size(size, args.runs)
    return 0


def bench_size(size: int, runs: int) -> None:
    repo = (WORK / "repos" / f"synth-{size}").absolute()
    matches = synth.build(repo, size)
    home = WORK / f"cairn-watch-home-{size}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = measure.child_env(CAIRN_HOME=str(home), PYTHONPATH=str(SRC))
    cairn = measure.Tool("cairn", (sys.executable, "-c", _ENTRY), env)
    own = measure.Tool("cairn", (sys.executable, "-c", _ENTRY), {**env, "CAIRN_LEAN": "0"})
    floor = measure.Tool("python -c pass", (sys.executable, "-c", "pass"), env)
    measure.run(cairn, "add", "repo", str(repo))
    time.sleep(SETTLE_S)
    _check(cairn, matches)
    walk, watched, anew, edited, base, in_process = [], [], [], [], [], []
    try:
        start = time.perf_counter()
        measure.run(cairn, "daemon", "start")
        setup = time.perf_counter() - start
        rss = _watcher_rss(cairn)
        edits = _edits(repo, matches)
        for i in range(runs):
            base.append(measure.run(floor)[0])
            watched.append(_timed_find(cairn, matches))
            (home / "bench-nudge").write_text(str(i))  # an event: the kept answer is dropped
            anew.append(_timed_find(cairn, matches))
            in_process.append(_timed_find(own, matches))
            edited.append(_after_edit(cairn, edits[i % len(edits)], matches))
            measure.run(cairn, "daemon", "stop")
            walk.append(_timed_find(cairn, matches))
            measure.run(cairn, "daemon", "start")
            _timed_find(cairn, matches)  # stores the token under the new session
    finally:
        measure.run(cairn, "daemon", "stop")
    rows = {
        "python -c pass (this interpreter)": base,
        "cairn, no watcher (stat walk)": walk,
        "cairn, watcher running (answer kept: nothing changed)": watched,
        "cairn, watcher running (answer made anew: a change elsewhere)": anew,
        "cairn, watcher running, CAIRN_LEAN=0": in_process,
        "cairn, first query after a hand edit in the folder (watcher)": edited,
    }
    _report(size, matches, (setup, rss), rows)


_ENTRY = "import sys; from cairn.cli.main import main; sys.exit(main())"


def _watcher_rss(cairn: measure.Tool) -> float:
    """The running watcher's resident memory, in MiB."""
    out = measure.run(cairn, "daemon", "status", "--out=json")[1]
    pid = json.loads(out)["pid"]
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed_find(cairn: measure.Tool, matches: int) -> float:
    seconds, out = measure.run(cairn, "find", "dataset", QUERY)
    assert measure.lines(out) == matches, f"found {measure.lines(out)}, expected {matches}"
    return seconds


def _check(cairn: measure.Tool, matches: int) -> None:
    _timed_find(cairn, matches)
    _timed_find(cairn, matches)


def _edits(repo: Path, matches: int) -> list[Path]:
    """Meta files of artifacts that match the query (an edit drops one, then restores it)."""
    found = []
    for meta in sorted(repo.glob("dataset/*/_cm.yaml")):
        if all(t in meta.read_text() for t in synth.QUERY_TAGS):
            found.append(meta)
        if len(found) == 5:
            break
    return found


def _after_edit(cairn: measure.Tool, meta: Path, matches: int) -> float:
    """Drop a query tag in place (same inode), query; put it back. Both must be seen."""
    text = meta.read_text()
    changed = text.replace(synth.QUERY_TAGS[1], "t999")
    with open(meta, "r+") as f:
        f.write(changed)
    seconds = _timed_find(cairn, matches - 1)
    with open(meta, "r+") as f:
        f.write(text)
    _timed_find(cairn, matches)
    return seconds


def _report(
    size: int, matches: int, started: tuple[float, float], rows: dict[str, list[float]]
) -> None:
    base = next(iter(rows.values()))
    floor = statistics.median(base)
    print(f"\nfind by 2 tags at {size:,} artifacts ({matches} hits), medians of {len(base)}:")
    for name, times in rows.items():
        median = statistics.median(times)
        print(f"  {name:<62} {median * 1000:7.1f} ms  {median / floor:5.1f}x the floor")
    setup, rss = started
    print(f"  watcher start (cairn daemon start, whole command): {setup * 1000:.0f} ms")
    print(f"  watcher resident memory: {rss:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
