"""store/watcher.py, watch_client.py, daemon.py: with a watcher running, a query skips its
stat walk only while the watcher vouches, and every hand edit is seen by the very next query
(also after the watcher was killed, and after its queue overflowed)."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cairn.errors import CairnError, InvalidInput
from cairn.home import Home
from cairn.store import daemon
from cairn.store import index as index_mod
from cairn.store.catalog import Catalog

pytest.importorskip("inotify_simple")

from tests import watch_fixtures
from tests.watch_fixtures import ds, find, meta_file

repo, watcher, walks = watch_fixtures.repo, watch_fixtures.watcher, watch_fixtures.walks


def test_a_vouched_folder_is_not_walked_until_it_changes(
    repo: Path, watcher: dict[str, Any], walks: list[str]
) -> None:
    assert find("x,even") == ["d0", "d2", "d4"]  # walked: the token is stored
    walks.clear()
    assert find("x,even") == ["d0", "d2", "d4"]
    assert str(repo / "dataset") not in walks
    meta_file(repo, "d1").write_text(yaml.safe_dump(ds("d1", "x", "even")))
    assert find("x,even") == ["d0", "d1", "d2", "d4"]
    assert str(repo / "dataset") in walks


def test_an_edit_in_place_is_seen_by_the_next_query(repo: Path, watcher: dict[str, Any]) -> None:
    assert find("x,odd") == ["d1", "d3", "d5"]
    find("x,odd")
    text = meta_file(repo, "d3").read_text()
    with open(meta_file(repo, "d3"), "r+") as f:  # same size, same inode
        f.write(text.replace("odd", "ddd"))
    assert find("x,odd") == ["d1", "d5"]
    assert find("x,ddd") == ["d3"]


def test_a_meta_file_renamed_over_is_seen(repo: Path, watcher: dict[str, Any]) -> None:
    find("x")
    find("x")
    new = meta_file(repo, "d0").with_name("_cm.yaml.new")
    new.write_text(yaml.safe_dump(ds("d0", "x", "fresh")))
    os.replace(new, meta_file(repo, "d0"))
    assert find("fresh") == ["d0"]


def test_a_new_and_a_removed_folder_are_seen(repo: Path, watcher: dict[str, Any]) -> None:
    find("x")
    find("x")
    shutil.rmtree(repo / "dataset" / "d2")
    assert find("x,even") == ["d0", "d4"]
    (repo / "dataset" / "n1").mkdir()
    meta_file(repo, "n1").write_text(yaml.safe_dump(ds("n1", "x", "even")))
    assert find("x,even") == ["d0", "d4", "n1"]
    meta_file(repo, "n1").write_text(yaml.safe_dump(ds("n1", "x", "odd")))  # watched since
    assert find("x,even") == ["d0", "d4"]


def test_a_folder_renamed_over_another_is_seen(repo: Path, watcher: dict[str, Any]) -> None:
    find("x")
    find("x")
    shutil.rmtree(repo / "dataset" / "d1")
    os.rename(repo / "dataset" / "d0", repo / "dataset" / "d1")
    assert find("x,even") == ["d0", "d2", "d4"]  # d0's meta, now in the folder d1
    assert [p.name for p in sorted((repo / "dataset").iterdir())][:1] == ["d1"]
    assert find("x,odd") == ["d3", "d5"]


def test_a_replaced_automation_folder_is_walked(repo: Path, watcher: dict[str, Any]) -> None:
    find("x")
    find("x")
    shutil.copytree(repo / "dataset", repo / "other")
    (repo / "other" / "d5" / "_cm.yaml").write_text(yaml.safe_dump(ds("d5", "x", "swapped")))
    shutil.rmtree(repo / "dataset")
    os.rename(repo / "other", repo / "dataset")
    assert find("swapped") == ["d5"]


def test_edits_after_a_kill_are_seen_and_a_new_watcher_starts(
    repo: Path, watcher: dict[str, Any]
) -> None:
    find("x")
    find("x")
    os.kill(int(watcher["pid"]), signal.SIGKILL)
    meta_file(repo, "d4").write_text(yaml.safe_dump(ds("d4", "x", "odd")))
    assert find("x,even") == ["d0", "d2"]
    assert daemon.status(Home.from_env()) is None
    again = daemon.start(Home.from_env())  # the stale socket is replaced
    assert again["pid"] != watcher["pid"]
    find("x")
    meta_file(repo, "d4").write_text(yaml.safe_dump(ds("d4", "x", "even")))
    assert find("x,even") == ["d0", "d2", "d4"]
    daemon.stop(Home.from_env())


def test_answers_stay_exact_when_the_queue_overflows(
    repo: Path, monkeypatch: pytest.MonkeyPatch, walks: list[str]
) -> None:
    monkeypatch.setenv("CAIRN_WATCH_MAX_EVENTS", "3")  # a tiny queue: more events overflow
    home = Home.from_env()
    daemon.start(home)
    try:
        find("x")
        find("x")
        for i in range(6):
            meta_file(repo, f"d{i}").write_text(yaml.safe_dump(ds(f"d{i}", "x", "new")))
        walks.clear()
        assert find("new") == [f"d{i}" for i in range(6)]
        assert str(repo / "dataset") in walks  # a new session vouches for nothing old
        state = daemon.status(home)
        assert state is not None and state["resets"] >= 1
    finally:
        daemon.stop(home)


def test_a_kernel_overflow_event_starts_a_new_session(repo: Path) -> None:
    import inotify_simple

    from cairn.store.watcher import Watcher

    watcher = Watcher(str(Home.from_env().root))
    try:
        session = watcher.session
        assert str(repo / "dataset") in watcher.folders
        overflow = inotify_simple.Event(-1, inotify_simple.flags.Q_OVERFLOW, 0, "")
        watcher.handle([overflow])
        assert watcher.session != session and watcher.resets == 1
        assert str(repo / "dataset") in watcher.folders
    finally:
        watcher.close()


def test_a_repository_registered_later_is_found(
    make_repo: Callable[..., Path], watcher: dict[str, Any]
) -> None:
    assert find("late") == []
    path = make_repo("r2", artifacts={"dataset/l1": ds("l1", "late")})
    Catalog.open().registry.register(path)
    assert find("late") == ["l1"]
    meta_file(path, "l1").write_text(yaml.safe_dump(ds("l1", "later")))
    assert find("late") == []


def test_start_status_stop(repo: Path) -> None:
    home = Home.from_env()
    assert daemon.status(home) is None
    started = daemon.start(home)
    assert daemon.start(home)["pid"] == started["pid"]  # one watcher per home
    data, lines = daemon.command("status", home)
    assert data["running"] and data["pid"] == started["pid"] and data["folders"] >= 1
    assert str(home.root / "watch.log") in lines[1]
    assert daemon.stop(home) == started["pid"]
    assert daemon.status(home) is None
    assert not (home.root / "watch.sock").exists()
    assert daemon.command("stop", home)[0] == {"stopped": False, "pid": None}


def test_the_socket_is_for_its_owner_only(watcher: dict[str, Any]) -> None:
    mode = (Home.from_env().root / "watch.sock").stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_a_dead_socket_file_means_the_walk(repo: Path, walks: list[str]) -> None:
    home = Home.from_env()
    home.root.mkdir(parents=True, exist_ok=True)
    (home.root / "watch.sock").write_text("")  # not a socket: connecting fails
    assert find("x,odd") == ["d1", "d3", "d5"]
    assert find("x,odd") == ["d1", "d3", "d5"]
    assert walks.count(str(repo / "dataset")) == 2


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(InvalidInput, match="start\\|status\\|stop"):
        daemon.command("restart")


def test_a_missing_binding_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "inotify_simple" else real(name, *a),
    )
    with pytest.raises(CairnError) as raised:
        daemon.start(Home.from_env())
    assert "cairn[watch]" in raised.value.hint


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The artifact directories each stat check looked at (each ``_FolderView.stale``)."""
    seen: list[list[str]] = []
    stale = index_mod._FolderView.stale

    def counted(view: Any, known: Any) -> Any:
        known = list(known)
        seen.append(sorted(row[0] for row in known))
        return stale(view, known)

    monkeypatch.setattr(index_mod._FolderView, "stale", counted)
    return seen


@pytest.mark.parametrize("named_max", [index_mod.NAMED_MAX, 1])  # selected by name, or not
def test_after_an_edit_only_the_changed_artifact_is_checked(
    repo: Path,
    watcher: dict[str, Any],
    checked: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
    named_max: int,
) -> None:
    monkeypatch.setattr(index_mod, "NAMED_MAX", named_max)
    find("x")
    find("x")
    meta_file(repo, "d3").write_text(yaml.safe_dump(ds("d3", "x", "even")))
    new = meta_file(repo, "d4").with_name("_cm.yaml.new")
    new.write_text(yaml.safe_dump(ds("d4", "x", "odd")))
    os.replace(new, meta_file(repo, "d4"))
    checked.clear()
    assert find("x,even") == ["d0", "d2", "d3"]
    assert checked == [["d3", "d4"]]  # not the other four
    shutil.rmtree(repo / "dataset" / "d0")  # the folder's own entries changed: all checked
    checked.clear()
    assert find("x,even") == ["d2", "d3"]
    assert checked == [["d1", "d2", "d3", "d4", "d5"]]


def test_an_artifact_made_while_the_watcher_is_asked_is_seen(
    repo: Path, watcher: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new artifact directory made after a query took the folder's signature but before the
    watcher answered: the generation the query keeps includes it, so the folder is listed
    again after the answer (its signature taken anew), not trusted from before."""
    time.sleep(2.1)  # the folder's signature settles: a younger one is always listed again
    assert find("x") == [f"d{i}" for i in range(6)]
    assert find("x") == [f"d{i}" for i in range(6)]  # the watcher's token is stored
    ask = index_mod.Index._ask

    def made_meanwhile(index: index_mod.Index, folder: str, since: int | None) -> Any:
        if folder == str(repo / "dataset") and not (repo / "dataset" / "d9").exists():
            (repo / "dataset" / "d9").mkdir()
            meta_file(repo, "d9").write_text(yaml.safe_dump(ds("d9", "x")))
        return ask(index, folder, since)

    monkeypatch.setattr(index_mod.Index, "_ask", made_meanwhile)
    assert "d9" in find("x")
    monkeypatch.setattr(index_mod.Index, "_ask", ask)
    assert "d9" in find("x")
