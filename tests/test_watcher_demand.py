"""The watcher started by a query when the home wants it, its idle exit, a long-lived index
finding a watcher started after it, the repeated-fallback hint, and ``load``, script selection
and alias lookups answered through the watcher (store/daemon.py, watch_client.py,
watch_hint.py, index.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cairn import api, kinds, report
from cairn.errors import InvalidInput
from cairn.home import Home
from cairn.script.select import find_candidates, split_request
from cairn.store import daemon, watch_hint
from cairn.store import index as index_mod
from cairn.store.catalog import Catalog, Query

pytest.importorskip("inotify_simple")

from tests import watch_fixtures
from tests.watch_fixtures import ds, find, gone, meta_file

repo, watcher, walks = watch_fixtures.repo, watch_fixtures.watcher, watch_fixtures.walks
SCRIPT = kinds.KNOWN["script"]


def wait_for(check: Callable[[], Any], seconds: float = 60.0) -> Any:
    """``check()`` once it is true (polling; the test fails after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"still false after {seconds} s: {check}")


@pytest.fixture
def home() -> Iterator[Home]:
    """The test's home; whatever watcher runs in it is stopped at the end."""
    found = Home.from_env()
    yield found
    daemon.stop(found)


def vouched_twice(tags: str) -> list[str]:
    """Query twice: the first walk stores the watcher's token, the second uses it."""
    find(tags)
    return find(tags)


# -- starting on demand, exiting when idle ---------------------------------------------------


def test_by_default_a_query_starts_no_watcher(repo: Path, home: Home) -> None:
    assert find("x,even") == ["d0", "d2", "d4"]
    assert not (home.root / "watch.sock").exists()
    assert not (home.root / "watch.spawned").exists()


def test_an_enabled_home_starts_its_watcher_on_demand_and_it_exits_when_idle(
    repo: Path, home: Home, walks: list[str]
) -> None:
    daemon.enable(home, 1.5)
    assert find("x,even") == ["d0", "d2", "d4"]  # answered by the walk meanwhile
    assert str(repo / "dataset") in walks
    running = wait_for(lambda: daemon.status(home))
    pid = int(running["pid"])
    wait_for(lambda: gone(pid))  # idle for 1.5 s: it exits
    assert not (home.root / "watch.sock").exists()
    assert "idle for 1.5 s" in (home.root / "watch.log").read_text()
    assert find("x,even") == ["d0", "d2", "d4"]


def test_cairn_watch_turns_starting_on_demand_on_and_off(
    repo: Path, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon.enable(home, 60)
    monkeypatch.setenv("CAIRN_WATCH", "0")
    find("x")
    assert not (home.root / "watch.spawned").exists()
    assert daemon.command("disable", home)[0] == {"enabled": False, "was_enabled": True}
    monkeypatch.setenv("CAIRN_WATCH", "1")
    find("x")
    assert wait_for(lambda: daemon.status(home))["pid"]


def test_two_starters_make_one_watcher(repo: Path, home: Home) -> None:
    daemon.enable(home, 60)
    find("x")  # starts one in the background
    started = daemon.start(home)  # waits for it (or starts its own: only one survives)
    time.sleep(0.5)
    assert wait_for(lambda: daemon.status(home))["pid"] == started["pid"]
    log = (home.root / "watch.log").read_text()
    assert log.count("watching ") == 1


def test_the_idle_time_is_checked(home: Home) -> None:
    with pytest.raises(InvalidInput, match="--idle=soon"):
        daemon.command("start", home, {"idle": "soon"})
    with pytest.raises(InvalidInput, match="--idle=-1"):
        daemon.command("enable", home, {"idle": -1})
    data, lines = daemon.command("enable", home, {"idle": "120"})
    assert data == {"enabled": True, "idle": 120.0} and "after 120 s" in lines[0]
    assert daemon.command("status", home)[0] == {"running": False, "enabled": True}


# -- a long-lived index ----------------------------------------------------------------------


def test_a_long_lived_index_finds_a_watcher_started_after_it(
    repo: Path, home: Home, walks: list[str]
) -> None:
    catalog = Catalog.open()  # as `cairn serve` or an API process keeps one
    query = Query.parse(watch_fixtures.DATASET, None, "x,odd")
    assert len(catalog.find(query)) == 3  # no watcher: walked
    first = daemon.start(home)
    catalog.find(query)  # walked, the token stored
    walks.clear()
    assert len(catalog.find(query)) == 3
    assert walks == []  # vouched for by the watcher started after the index opened
    os.kill(int(first["pid"]), 9)
    wait_for(lambda: gone(int(first["pid"])))
    meta_file(repo, "d1").write_text(yaml.safe_dump(ds("d1", "x", "even")))
    assert len(catalog.find(query)) == 2  # the dead watcher: walked
    daemon.start(home)  # a new socket file: the same index connects to it
    catalog.find(query)
    walks.clear()
    assert len(catalog.find(query)) == 2
    assert walks == []


# -- load, script selection and aliases through the watcher ----------------------------------


def test_load_sees_a_hand_edit_made_right_before(
    repo: Path, watcher: dict[str, Any], walks: list[str]
) -> None:
    api.load("dataset", "d2")
    walks.clear()
    assert list(api.load("dataset", "d2").tags) == ["x", "even"]
    assert walks == []  # vouched
    meta_file(repo, "d2").write_text(yaml.safe_dump(ds("d2", "x", "edited")))
    assert list(api.load("dataset", "d2").tags) == ["x", "edited"]


def script_meta(alias: str, *tags: str) -> dict[str, Any]:
    return {"alias": alias, "automation_alias": "script", "automation_uid": SCRIPT.uid,
            "tags": list(tags)}  # fmt: skip


def test_script_selection_sees_a_hand_edit_made_right_before(
    make_repo: Callable[..., Path], home: Home, walks: list[str]
) -> None:
    path = make_repo("s", artifacts={"script/s1": script_meta("s1", "zz-one", "zz-pick"),
                                     "script/s2": script_meta("s2", "zz-two")})  # fmt: skip
    Catalog.open().registry.register(path)
    daemon.start(home)

    def chosen() -> list[str]:
        request = split_request("zz-pick", None)
        return sorted(str(c.artifact.alias) for c in find_candidates(Catalog.open(), request))

    chosen()
    walks.clear()
    assert chosen() == ["s1"]
    assert str(path / "script") not in walks
    (path / "script" / "s2" / "_cm.yaml").write_text(
        yaml.safe_dump(script_meta("s2", "zz-two", "zz-pick"))
    )
    assert chosen() == ["s1", "s2"]


def test_an_alias_lookup_is_an_index_lookup_and_stays_exact_after_renames(
    repo: Path, watcher: dict[str, Any], walks: list[str]
) -> None:
    def by_alias(name: str) -> list[str]:
        catalog = Catalog.open()
        found = catalog.find(Query.parse(watch_fixtures.DATASET, name))
        return [str(a.path.relative_to(repo)) for a in found]

    by_alias("d3")
    walks.clear()
    assert by_alias("d3") == ["dataset/d3"]
    assert walks == []  # no stat walk of the kind
    meta_file(repo, "d3").write_text(yaml.safe_dump(ds("e3", "x")))  # the alias renamed
    assert by_alias("d3") == []
    assert by_alias("e3") == ["dataset/d3"]
    os.rename(repo / "dataset" / "d4", repo / "dataset" / "moved")  # the folder renamed
    assert by_alias("d4") == ["dataset/moved"]
    by_alias("d4")
    walks.clear()
    assert by_alias("d4") == ["dataset/moved"] and walks == []


def test_the_alias_statement_uses_the_alias_index(repo: Path) -> None:
    find("x")
    db = index_mod.Index(Home.from_env())._conn()
    for name in ("d3", "5e5e5e5e5e5e5e5e"):
        select = index_mod._Select(watch_fixtures.DATASET, Query.parse(
            watch_fixtures.DATASET, name).name, index_mod.ids.TagQuery())  # fmt: skip
        sql, args = select.sql(1)
        plan = " ".join(str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + sql, args))
        assert "USING INDEX artifacts_alias" in plan or "USING INDEX artifacts_uid" in plan
        assert "SCAN" not in plan.replace("SCAN CONSTANT", "")


# -- the repeated-fallback hint --------------------------------------------------------------


def hints(queries: int) -> list[str]:
    warnings: list[str] = []
    for _ in range(queries):
        with report.using(report.Reporter(warnings=warnings)):
            find("x")
    return [w for w in warnings if "keep falling back" in w]


def test_a_dead_watcher_is_hinted_at_once_after_repeated_fallbacks(repo: Path, home: Home) -> None:
    home.root.mkdir(parents=True, exist_ok=True)
    (home.root / "watch.sock").write_text("")  # a watcher's socket left behind, not answering
    assert hints(2) == []
    given = hints(1)
    assert len(given) == 1 and "cairn daemon start" in given[0]
    assert hints(5) == []  # at most once an hour


def test_no_hint_when_no_watcher_was_asked_for(repo: Path) -> None:
    assert hints(5) == []


def test_an_overflowing_queue_is_hinted_with_what_to_raise(
    repo: Path, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_WATCH_MAX_EVENTS", "3")
    daemon.start(home)
    find("x")
    given: list[str] = []
    for round_ in range(4):
        for i in range(5):
            meta_file(repo, f"d{i}").write_text(yaml.safe_dump(ds(f"d{i}", "x", f"r{round_}")))
        given += hints(1)
        assert find(f"r{round_}") == [f"d{i}" for i in range(5)]
    assert len(given) == 1 and "fs.inotify.max_queued_events" in given[0]


def test_the_hint_counts_only_within_its_window(tmp_path: Path) -> None:
    start, later = 10_000.0, 10_000.0 + watch_hint.WINDOW_S
    with report.using(report.Reporter()) as seen:
        assert not watch_hint.note(str(tmp_path), "down", now=start)
        assert not watch_hint.note(str(tmp_path), "down", now=later + 1)  # a new window
        assert not watch_hint.note(str(tmp_path), "unwatched", now=later + 2)
        assert watch_hint.note(str(tmp_path), "unwatched", now=later + 3)
    assert len(seen.warnings) == 1 and "cairn daemon status" in seen.warnings[0]


def test_run_script_picks_the_script_a_hand_edit_made_right_before_names(
    tmp_path: Path, home: Home, walks: list[str]
) -> None:
    from tests.script_fixtures import ScriptRepo, ok

    scripts = ScriptRepo(tmp_path / "scripts")
    for alias, tags in (("w1", ["zz-run"]), ("w2", ["zz-other"])):
        scripts.add(alias, {"default_env": {"WHO": alias}, "new_env_keys": ["WHO"]}, tags=tags)
    daemon.start(home)
    assert ok("zz-run")["new_env"]["WHO"] == "w1"
    walks.clear()
    assert ok("zz-run")["new_env"]["WHO"] == "w1"
    assert str(scripts.root / "script") not in walks  # vouched for by the watcher
    for alias, tags in (("w1", ["zz-old"]), ("w2", ["zz-run"])):
        scripts.add(alias, {"default_env": {"WHO": alias}, "new_env_keys": ["WHO"]}, tags=tags)
    assert ok("zz-run")["new_env"]["WHO"] == "w2"
