"""script/cache.py: cache keys, entries, and their creation under a lock."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cairn import atomic, report
from cairn.errors import Busy, CairnError
from cairn.home import Home
from cairn.record import replace
from cairn.script import cache as cache_mod
from cairn.script.cache import (
    Cache,
    CachedState,
    Entry,
    EntryFields,
    KeyInput,
    Pending,
    canonical_json,
    entry_tags,
    key_of,
    uid_of,
)
from cairn.store.registry import Registry

SCRIPT_UID = "5e1f0a2b3c4d5e6f"
DEP_KEY = "d" * 64


def key_input(**changes: Any) -> KeyInput:
    base = KeyInput(
        script_uid=SCRIPT_UID,
        variations=("v1", "shared"),
        version="1.2",
        inputs={"CM_URL": "file:///a", "opts": {"x": 1, "y": [1, 2]}},
        deps=(DEP_KEY,),
        platform=("linux", "x86_64"),
    )
    return replace(base, **changes)


def open_cache(home: Path) -> Cache:
    return Cache(Registry(Home(home)))


@pytest.fixture
def cache(cairn_home: Path) -> Cache:
    return open_cache(cairn_home)


def fields_for(ki: KeyInput, **extra: Any) -> EntryFields:
    tags = entry_tags(script_uid=ki.script_uid, requested=["get", "thing"], version=ki.version)
    return EntryFields(ki, "get-thing", tags, ki.version, **extra)


def state(**env: Any) -> CachedState:
    return CachedState(new_env=env, new_state={"s": 1}, deps=[{"tags": "dep"}], version="1.2")


def commit(pending: Pending, ki: KeyInput, **extra: Any) -> Entry:
    return pending.commit(fields_for(ki, **extra), state(CM_THING_PATH=str(pending.path)))


def make_entry(cache: Cache, ki: KeyInput, **extra: Any) -> Entry:
    with cache.create(key_of(ki)) as pending:
        assert pending.existing is None
        return commit(pending, ki, **extra)


# -- keys ---------------------------------------------------------------------------------


def test_key_is_the_sha256_of_canonical_json() -> None:
    ki = key_input()
    text = canonical_json(ki.to_json())
    assert text == (
        '{"deps":["' + DEP_KEY + '"],"format":2,'
        '"inputs":{"CM_URL":"file:///a","opts":{"x":1,"y":[1,2]}},'
        '"platform":["linux","x86_64"],"script_uid":"' + SCRIPT_UID + '",'
        '"variations":["shared","v1"],"version":"1.2"}'
    )
    assert key_of(ki) == hashlib.sha256(text.encode()).hexdigest()
    assert key_of(key_input()) == key_of(ki)
    assert uid_of(key_of(ki)) == key_of(ki)[:16]


CHANGES: dict[str, dict[str, Any]] = {
    "script": {"script_uid": "0" * 16},
    "variation added": {"variations": ("v1", "shared", "extra")},
    "variation swapped": {"variations": ("v2", "shared")},
    "version": {"version": "1.3"},
    "no version": {"version": None},
    "input value": {"inputs": {"CM_URL": "file:///b", "opts": {"x": 1, "y": [1, 2]}}},
    "input added": {"inputs": {"CM_URL": "file:///a", "opts": {"x": 1, "y": [1, 2]}, "N": ""}},
    "nested list order": {"inputs": {"CM_URL": "file:///a", "opts": {"x": 1, "y": [2, 1]}}},
    "value type": {"inputs": {"CM_URL": "file:///a", "opts": {"x": "1", "y": [1, 2]}}},
    "dependency key": {"deps": ("e" * 64,)},
    "dependency added": {"deps": (DEP_KEY, "e" * 64)},
    "dependency order": {"deps": ("e" * 64, DEP_KEY)},
    "system": {"platform": ("darwin", "x86_64")},
    "machine": {"platform": ("linux", "aarch64")},
    "format": {"format": 1},
}


def test_every_field_changes_the_key() -> None:
    keys = {name: key_of(key_input(**change)) for name, change in CHANGES.items()}
    keys["base"] = key_of(key_input())
    assert len(set(keys.values())) == len(keys), keys
    assert key_of(key_input(**CHANGES["dependency added"])) != key_of(
        key_input(**CHANGES["dependency order"])
    )


def test_dict_order_and_variation_order_do_not_change_the_key() -> None:
    reordered = key_input(
        inputs={"opts": {"y": [1, 2], "x": 1}, "CM_URL": "file:///a"},
        variations=("shared", "v1", "shared"),
    )
    assert key_of(reordered) == key_of(key_input())


def test_platform_defaults_to_this_host_and_paths_count_as_text() -> None:
    import platform

    assert KeyInput("0" * 16).platform == (sys.platform, platform.machine())
    as_path = key_input(inputs={"CM_URL": Path("/a/b")})
    assert key_of(as_path) == key_of(key_input(inputs={"CM_URL": "/a/b"}))


def test_an_input_that_is_not_json_data_is_refused() -> None:
    with pytest.raises(TypeError, match="JSON data"):
        key_of(key_input(inputs={"x": object()}))
    with pytest.raises(ValueError):
        key_of(key_input(inputs={"x": float("nan")}))
    with pytest.raises(ValueError, match="not a cache key"):
        uid_of("abc")


def test_entry_tags_follow_cms_order_without_repeats() -> None:
    tags = entry_tags(
        script_uid=SCRIPT_UID,
        requested=["get", "python"],
        script_tags=["get", "python", "python3"],
        variations=["v1", "_shared"],
        version="3.11",
        extra=["extra"],
        deps_tags=["deps-python-3.11"],
    )
    assert tags == (
        "get",
        "python",
        "python3",
        "_v1",
        "_shared",
        "version-3.11",
        "extra",
        "deps-python-3.11",
        f"script-artifact-{SCRIPT_UID}",
    )


# -- lookup and creation --------------------------------------------------------------------


def test_lookup_of_an_unknown_key_is_none(cache: Cache) -> None:
    assert cache.lookup(key_of(key_input())) is None


def test_commit_writes_cm_format_and_lookup_finds_it(cache: Cache, cairn_home: Path) -> None:
    ki = key_input()
    key = key_of(ki)
    made = make_entry(cache, ki)
    path = cairn_home / "local" / "cache" / key[:16]
    assert made.path == path and cache.path_of(key) == path
    data = json.loads((path / "_cm.json").read_text())
    assert "alias" not in data
    assert data["uid"] == key[:16] and data["automation_alias"] == "cache"
    assert data["automation_uid"] == "541d6f712a6b464e"
    assert data["tags"] == ["get", "thing", "version-1.2", f"script-artifact-{SCRIPT_UID}"]
    assert data["version"] == "1.2"
    assert data["associated_script_artifact"] == f"get-thing,{SCRIPT_UID}"
    assert data["associated_script_artifact_uid"] == SCRIPT_UID
    assert data["cairn_key"] == key and data["cairn_inputs"] == ki.to_json()
    saved = json.loads((path / "cm-cached-state.json").read_text())
    assert saved == {
        "new_env": {"CM_THING_PATH": str(path)},
        "new_state": {"s": 1},
        "deps": [{"tags": "dep"}],
        "version": "1.2",
    }
    found = cache.lookup(key)
    assert found == made
    assert found is not None and found.uid == key[:16] and found.version == "1.2"
    assert found.new_env == {"CM_THING_PATH": str(path)}
    assert found.new_state == {"s": 1} and found.deps == [{"tags": "dep"}]


def test_the_state_is_read_lazily_and_once(cache: Cache) -> None:
    ki = key_input()
    make_entry(cache, ki)
    found = cache.lookup(key_of(ki))
    assert found is not None
    (found.path / "cm-cached-state.json").write_text("not json")
    found2 = cache.lookup(key_of(ki))  # lookup itself never reads the state
    assert found2 is not None
    with pytest.raises(CairnError, match="malformed JSON"):
        found2.load_state()
    (found.path / "cm-cached-state.json").write_text(json.dumps({"new_env": {"A": "1"}}))
    assert found2.new_env == {"A": "1"}
    (found.path / "cm-cached-state.json").write_text(json.dumps({"new_env": {"A": "2"}}))
    assert found2.load_state().new_env == {"A": "1"}


def test_a_script_without_alias_is_named_by_uid(cache: Cache) -> None:
    ki = key_input()
    with cache.create(key_of(ki)) as pending:
        made = pending.commit(EntryFields(ki, None), CachedState())
    assert made.meta["associated_script_artifact"] == SCRIPT_UID
    assert "version" not in made.meta and made.version is None


def test_the_script_runs_in_the_empty_final_directory(cache: Cache) -> None:
    ki = key_input()
    with cache.create(key_of(ki)) as pending:
        assert pending.path == cache.path_of(key_of(ki))
        assert pending.path.is_dir() and not any(pending.path.iterdir())
        (pending.path / "output.bin").write_text("data")
        assert cache.lookup(key_of(ki)) is None  # not visible before commit
        commit(pending, ki)
    assert (cache.path_of(key_of(ki)) / "output.bin").read_text() == "data"


def test_the_state_file_is_written_before_the_meta(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str] = []
    real = atomic.write_text

    def spy(path: Path, text: str) -> None:
        written.append(path.name)
        real(path, text)

    monkeypatch.setattr(atomic, "write_text", spy)
    make_entry(cache, key_input())
    assert written[-2:] == ["cm-cached-state.json", "_cm.json"]


def test_a_failed_run_leaves_no_entry(cache: Cache) -> None:
    ki = key_input()
    with pytest.raises(RuntimeError, match="script failed"), cache.create(key_of(ki)) as pending:
        (pending.path / "half-written").write_text("x")
        raise RuntimeError("script failed")
    assert not cache.path_of(key_of(ki)).exists()
    assert cache.lookup(key_of(ki)) is None


def test_leaving_without_commit_leaves_no_entry(cache: Cache) -> None:
    ki = key_input()
    with cache.create(key_of(ki)) as pending:
        (pending.path / "file").write_text("x")
    assert not cache.path_of(key_of(ki)).exists()


def test_leftovers_of_a_crashed_run_are_wiped(cache: Cache) -> None:
    ki = key_input()
    leftover = cache.path_of(key_of(ki))
    (leftover / "sub").mkdir(parents=True)
    (leftover / "sub" / "partial.tar").write_text("junk")
    assert cache.lookup(key_of(ki)) is None
    with cache.create(key_of(ki)) as pending:
        assert pending.existing is None
        assert pending.path == leftover and not any(leftover.iterdir())
        commit(pending, ki)
    assert cache.lookup(key_of(ki)) is not None


def test_an_entry_made_meanwhile_is_handed_over_not_rerun(cache: Cache) -> None:
    ki = key_input()
    made = make_entry(cache, ki)
    with cache.create(key_of(ki)) as pending:
        assert pending.existing == made
        with pytest.raises(RuntimeError, match=r"Pending\.existing"):
            commit(pending, ki)
    assert cache.lookup(key_of(ki)) == made


def test_commit_checks_its_inputs_and_commits_once(cache: Cache) -> None:
    ki = key_input()
    with cache.create(key_of(ki)) as pending:
        with pytest.raises(ValueError, match="do not give the key"):
            commit(pending, key_input(version="9"))
        commit(pending, ki)
        with pytest.raises(RuntimeError, match="committed already"):
            commit(pending, ki)


def test_an_entry_removed_while_running_is_not_recreated(cache: Cache) -> None:
    ki = key_input()
    with pytest.raises(CairnError, match="removed while"), cache.create(key_of(ki)) as pending:
        pending.path.rmdir()
        commit(pending, ki)
    assert not cache.path_of(key_of(ki)).exists()


def test_renew_replaces_the_entry(cache: Cache) -> None:
    ki = key_input()
    make_entry(cache, ki)
    (cache.path_of(key_of(ki)) / "old-output").write_text("old")
    with cache.create(key_of(ki), renew=True) as pending:
        assert pending.existing is None
        assert not any(pending.path.iterdir())
        assert cache.lookup(key_of(ki)) is None
        pending.commit(fields_for(ki), state(NEW="yes"))
    found = cache.lookup(key_of(ki))
    assert found is not None and found.new_env == {"NEW": "yes"}
    assert not (found.path / "old-output").exists()
    assert [p.name for p in cache.folder.iterdir()] == [key_of(ki)[:16]]


def test_a_failed_renewal_puts_the_old_entry_back(cache: Cache) -> None:
    ki = key_input()
    made = make_entry(cache, ki)
    (made.path / "old-output").write_text("old")
    with pytest.raises(OSError), cache.create(key_of(ki), renew=True) as pending:
        (pending.path / "new-output").write_text("new")
        raise OSError("disk full")
    found = cache.lookup(key_of(ki))
    assert found == made and found.new_env == made.new_env
    assert sorted(p.name for p in found.path.iterdir()) == [
        "_cm.json",
        "cm-cached-state.json",
        "old-output",
    ]
    assert [p.name for p in cache.folder.iterdir()] == [key_of(ki)[:16]]


def test_a_vanished_dependent_cached_path_invalidates_the_entry(
    cache: Cache, tmp_path: Path
) -> None:
    ki = key_input()
    package = tmp_path / "site-packages" / "numpy"
    package.mkdir(parents=True)
    made = make_entry(cache, ki, dependent_cached_path=str(package))
    assert made.meta["dependent_cached_path"] == str(package)
    assert cache.lookup(key_of(ki)) == made
    package.rmdir()
    assert cache.lookup(key_of(ki)) is None
    with cache.create(key_of(ki)) as pending:
        assert pending.existing is None and not any(pending.path.iterdir())
        commit(pending, ki)
    assert cache.lookup(key_of(ki)) is not None


def test_an_entry_for_another_key_or_without_state_is_a_miss(cache: Cache) -> None:
    ki = key_input()
    made = make_entry(cache, ki)
    meta_file = made.path / "_cm.json"
    data = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**data, "cairn_key": "f" * 64}))
    assert cache.lookup(key_of(ki)) is None
    meta_file.write_text(json.dumps(data))
    assert cache.lookup(key_of(ki)) is not None
    (made.path / "cm-cached-state.json").unlink()
    assert cache.lookup(key_of(ki)) is None


def test_a_broken_entry_is_a_miss_with_a_warning(cache: Cache) -> None:
    ki = key_input()
    made = make_entry(cache, ki)
    (made.path / "_cm.json").write_text("{broken")
    with report.using(report.Reporter()) as reporter:
        assert cache.lookup(key_of(ki)) is None
    assert any("broken cache entry" in w for w in reporter.warnings)
    made2 = make_entry(cache, ki)
    assert cache.lookup(key_of(ki)) == made2


# -- concurrency --------------------------------------------------------------------------


def _create_concurrently(home: str, work: str, name: str) -> None:
    """One process: wait for the start signal, then create the entry (or find it)."""
    root = Path(work)
    (root / f"ready-{name}").touch()
    deadline = time.monotonic() + 30
    while not (root / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    ki = key_input()
    with open_cache(Path(home)).create(key_of(ki)) as pending:
        if pending.existing is not None:
            outcome = "hit"
        else:
            with open(root / "executions", "a") as marker:
                marker.write(f"{name}\n")
            time.sleep(0.3)
            commit(pending, ki)
            outcome = "run"
    (root / f"result-{name}").write_text(outcome)


def test_concurrent_creations_of_one_key_execute_once(cairn_home: Path, tmp_path: Path) -> None:
    work = tmp_path / "race"
    work.mkdir()
    ctx = multiprocessing.get_context("spawn")
    names = ["a", "b", "c"]
    procs = [
        ctx.Process(target=_create_concurrently, args=(str(cairn_home), str(work), n))
        for n in names
    ]
    for proc in procs:
        proc.start()
    try:
        deadline = time.monotonic() + 60
        while len(list(work.glob("ready-*"))) < len(names) and time.monotonic() < deadline:
            time.sleep(0.01)
        (work / "go").touch()
        for proc in procs:
            proc.join(timeout=60)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert len((work / "executions").read_text().split()) == 1
    results = sorted((work / f"result-{n}").read_text() for n in names)
    assert results == ["hit", "hit", "run"]
    assert open_cache(cairn_home).lookup(key_of(key_input())) is not None


def test_a_waiting_run_says_what_it_waits_for(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float] = []
    real = atomic.lock

    def busy_once(path: Path, timeout: float = 60.0, guards: object = None) -> Any:
        if not path.name.startswith("cache-"):
            return real(path, timeout, guards=guards)
        calls.append(timeout)
        if len(calls) == 1:
            raise Busy("could not lock")
        return real(path, timeout, guards=guards)

    monkeypatch.setattr(cache_mod.atomic, "lock", busy_once)
    with report.using(report.Reporter()) as reporter:
        make_entry(cache, key_input())
    assert calls == [0, cache.wait]
    assert any("waiting for another run" in w for w in reporter.warnings)
