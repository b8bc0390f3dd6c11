"""The watcher killed (``kill -9``) at random points of a churn of hand edits and queries, and
restarted with and without a tiny queue: every answer equals a fresh reading of the files.

Seeded, a bounded number of rounds: a failure names its seed and round, and repeats."""

from __future__ import annotations

import os
import random
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from cairn.home import Home
from cairn.store import daemon
from cairn.store.catalog import Catalog

pytest.importorskip("inotify_simple")

from tests.watch_fixtures import ds, find

TAGS = ("t0", "t1", "t2", "t3")  # one length: an edit in place keeps the file's size
ROUNDS = 40


def truth(repo: Path, tag: str) -> list[str]:
    """The aliases of ``repo``'s datasets tagged ``tag``, read from the files (no cairn)."""
    found = []
    for folder in sorted((repo / "dataset").iterdir()):
        meta = yaml.safe_load((folder / "_cm.yaml").read_text())
        if tag in meta["tags"]:
            found.append(meta["alias"])
    return sorted(found)


def write(path: Path, alias: str, tag: str) -> None:
    path.write_text(yaml.safe_dump(ds(alias, "x", tag)))


class Churn:
    """Random hand edits of one repository (each kind the watcher must see)."""

    def __init__(self, repo: Path, rng: random.Random) -> None:
        self.repo, self.rng, self.made = repo, rng, 0

    def folders(self) -> list[Path]:
        return sorted((self.repo / "dataset").iterdir())

    def edit(self) -> None:
        step = self.rng.choice([self.in_place, self.rename_over, self.new, self.remove, self.move])
        step()

    def in_place(self) -> None:
        meta = self.rng.choice(self.folders()) / "_cm.yaml"
        text = meta.read_text()
        old = next(t for t in TAGS if t in text)
        with open(meta, "r+") as f:
            f.write(text.replace(old, self.rng.choice(TAGS)))

    def rename_over(self) -> None:
        folder = self.rng.choice(self.folders())
        alias = yaml.safe_load((folder / "_cm.yaml").read_text())["alias"]
        write(folder / "_cm.yaml.new", alias, self.rng.choice(TAGS))
        os.replace(folder / "_cm.yaml.new", folder / "_cm.yaml")

    def new(self) -> None:
        self.made += 1
        folder = self.repo / "dataset" / f"n{self.made}"
        folder.mkdir()
        write(folder / "_cm.yaml", f"n{self.made}", self.rng.choice(TAGS))

    def remove(self) -> None:
        if len(self.folders()) > 3:
            shutil.rmtree(self.rng.choice(self.folders()))

    def move(self) -> None:
        self.made += 1
        os.rename(self.rng.choice(self.folders()), self.repo / "dataset" / f"m{self.made}")


class Killer:
    """Kills the watcher after a random delay (so during an edit or a query), and restarts
    it, sometimes with a tiny queue, when asked."""

    def __init__(self, home: Home, rng: random.Random, monkeypatch: pytest.MonkeyPatch) -> None:
        self.home, self.rng, self.monkeypatch = home, rng, monkeypatch
        self.pid: int | None = None
        self.kills = 0

    def start(self) -> None:
        tiny = self.rng.random() < 0.3
        if tiny:
            self.monkeypatch.setenv("CAIRN_WATCH_MAX_EVENTS", "4")
        else:
            self.monkeypatch.delenv("CAIRN_WATCH_MAX_EVENTS", raising=False)
        self.pid = int(daemon.start(self.home)["pid"])

    def kill_soon(self) -> threading.Timer:
        pid = self.pid

        def kill() -> None:
            if pid is not None:
                os.kill(pid, signal.SIGKILL)

        self.pid = None
        self.kills += 1
        timer = threading.Timer(self.rng.uniform(0.0, 0.03), kill)
        timer.start()
        return timer


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Iterator[Path]:
    path = make_repo("r1", artifacts={f"dataset/d{i}": ds(f"d{i}", "x", TAGS[i % 4])
                                      for i in range(8)})  # fmt: skip
    Catalog.open().registry.register(path)
    yield path
    daemon.stop(Home.from_env())


@pytest.mark.parametrize("seed", [19, 1919])
def test_every_answer_stays_exact_while_the_watcher_is_killed_at_random(
    repo: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    churn, killer = Churn(repo, rng), Killer(Home.from_env(), rng, monkeypatch)
    killer.start()
    for round_ in range(ROUNDS):
        timer = killer.kill_soon() if killer.pid is not None and rng.random() < 0.25 else None
        for _ in range(rng.randint(0, 3)):
            churn.edit()
        tag = rng.choice(TAGS)
        assert find(tag) == truth(repo, tag), f"seed {seed}, round {round_}, tag {tag}"
        assert find(tag) == truth(repo, tag), f"seed {seed}, round {round_}, again"
        if timer is not None:
            timer.join()
        if killer.pid is None and rng.random() < 0.5:
            killer.start()
    assert killer.kills >= 3


@pytest.mark.parametrize("seed", [7, 707])
def test_the_watcher_s_own_answers_stay_exact_through_edits_overflows_and_restarts(
    repo: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the watcher's own process (``cli/lean.py``'s set-up: its indexes ask it directly and
    keep each folder's answer while it vouches, ``folder_memo.py``): a churn of hand edits,
    changes elsewhere in the home, queue overflows (a tiny queue) and restarts. Every answer
    equals a fresh reading of the files, and answers are kept on the way."""
    from cairn.cli import lean
    from cairn.store import folder_memo, watch_client
    from cairn.store.watcher import Watcher

    monkeypatch.setattr(watch_client, "in_process", None)
    monkeypatch.setattr(folder_memo, "current", None)
    rng, home = random.Random(seed), Home.from_env()
    churn, hits = Churn(repo, rng), (0, 0)
    watcher = Watcher(str(home.root))
    lean._in_process(watcher)
    try:
        for round_ in range(ROUNDS):
            if rng.random() < 0.1:  # a restart: a new session, and a new memo
                hits = _plus(hits, _hits())
                watcher.close()
                watcher = Watcher(str(home.root), max_events=rng.choice([0, 2]))
                lean._in_process(watcher)
            for _ in range(rng.choice([0, 0, 1, 2])):
                churn.edit()
            if rng.random() < 0.3:
                (home.root / "elsewhere").write_text(str(round_))
            tag = rng.choice(TAGS)
            for again in range(2):
                assert find(tag) == truth(repo, tag), f"seed {seed}, round {round_}, {again}"
    finally:
        watcher.close()
    whole, partly = _plus(hits, _hits())
    assert whole >= 5 and partly >= 2, (whole, partly)


def _hits() -> tuple[int, int]:
    """The folder answers given again: whole, and but for the artifacts changed."""
    from cairn.store import folder_memo

    memo = folder_memo.current
    return (memo.hits, memo.partly) if memo is not None else (0, 0)


def _plus(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return a[0] + b[0], a[1] + b[1]
