"""automations/cache.py: show, find and rm of cache entries, through the API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cairn
from cairn.home import Home
from cairn.script.cache import Cache, CachedState, Entry, EntryFields, KeyInput, entry_tags, key_of
from cairn.store.registry import Registry

PYTHON_UID = "1111111111111111"
GIT_UID = "2222222222222222"

Cli = Callable[..., Any]


def ok(**i: Any) -> dict[str, Any]:
    r = cairn.access(i)
    assert r["return"] == 0, r
    return r


def fails(code: int, **i: Any) -> str:
    r = cairn.access(i)
    assert r["return"] == code, r
    return str(r["error"])


def add_entry(
    cache: Cache, script: tuple[str, str], tags: list[str], variation: str, version: str
) -> Entry:
    alias, uid = script
    ki = KeyInput(uid, (variation,), version, {"variation": variation})
    all_tags = entry_tags(
        script_uid=uid, requested=tags, variations=[variation], version=version, extra=["zz"]
    )
    with cache.create(key_of(ki)) as pending:
        env = {"CM_PATH": str(pending.path), "CM_LIST": ["a", "b"]}
        return pending.commit(EntryFields(ki, alias, all_tags, version), CachedState(env))


@pytest.fixture
def entries(cairn_home: Path) -> dict[str, Entry]:
    cache = Cache(Registry(Home(cairn_home)))
    python = ("get-python3", PYTHON_UID)
    return {
        "py311": add_entry(cache, python, ["get", "python"], "v1", "3.11"),
        "py312": add_entry(cache, python, ["get", "python"], "v2", "3.12"),
        "git": add_entry(cache, ("get-git-repo", GIT_UID), ["get", "git", "repo"], "v1", "1"),
    }


def paths(result: dict[str, Any]) -> set[str]:
    return {str(a.path) for a in result["list"]}


def test_find_cache_by_tags_and_by_a_name_with_spaces(entries: dict[str, Entry]) -> None:
    py = {str(entries["py311"].path), str(entries["py312"].path)}
    assert paths(ok(action="find", automation="cache", tags="get,python")) == py
    assert paths(ok(action="find", automation="cache", artifact="get python")) == py
    one = ok(action="find", automation="cache", artifact="get python _v1")
    assert paths(one) == {str(entries["py311"].path)}
    some = ok(action="search", automation="cache", artifact="get  -python", tags="repo")
    assert paths(some) == {str(entries["git"].path)}
    by_uid = ok(action="find", automation="cache", artifact=entries["git"].uid)
    assert paths(by_uid) == {str(entries["git"].path)}
    assert len(ok(action="find", automation="cache")["list"]) == 3


def test_show_gives_tags_path_version_and_script(entries: dict[str, Entry]) -> None:
    shown = ok(action="show", automation="cache", artifact="python _v1")["list"]
    entry = entries["py311"]
    assert shown == [
        {
            "uid": entry.uid,
            "path": str(entry.path),
            "tags": [
                "get",
                "python",
                f"script-artifact-{PYTHON_UID}",
                "version-3.11",
                "zz",
                "_v1",
            ],
            "version": "3.11",
            "script": f"get-python3,{PYTHON_UID}",
            "key": entry.key,
        }
    ]
    with_env = ok(action="show", automation="cache", tags="git", env=True)["list"]
    assert with_env[0]["new_env"] == {"CM_PATH": str(entries["git"].path), "CM_LIST": ["a", "b"]}


def test_show_of_an_entry_without_state_warns(entries: dict[str, Entry]) -> None:
    (entries["git"].path / "cm-cached-state.json").unlink()
    r = ok(action="show", automation="cache", tags="git", env=True)
    assert r["list"][0]["new_env"] == {}
    assert any("cannot show the env" in w for w in r["warnings"])


def test_show_on_the_console_and_as_json(entries: dict[str, Entry], cli: Cli) -> None:
    done = cli("show", "cache", "--tags=git", "--env")
    assert done.returncode == 0, done.stderr
    path = entries["git"].path
    assert done.stdout.splitlines() == [
        f"* Tags: get,git,repo,script-artifact-{GIT_UID},version-1,zz,_v1",
        f"  Path: {path}",
        "  Version: 1",
        f"  Script: get-git-repo,{GIT_UID}",
        "  New env:",
        '    CM_LIST=["a", "b"]',
        f"    CM_PATH={path}",
    ]
    as_json = cli("show", "cache", "get python", "--out=json")
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)["list"]
    assert sorted(r["version"] for r in rows) == ["3.11", "3.12"]


def test_find_on_the_console_with_a_spaced_name(entries: dict[str, Entry], cli: Cli) -> None:
    done = cli("find", "cache", "get python")
    assert done.returncode == 0, done.stderr
    expected = {str(entries["py311"].path), str(entries["py312"].path)}
    assert set(done.stdout.split()) == expected


def test_rm_without_a_selector_is_refused(entries: dict[str, Entry], cli: Cli) -> None:
    done = cli("rm", "cache", "-f")
    assert done.returncode != 0
    assert "refusing to delete every cache" in done.stderr
    assert all(e.path.exists() for e in entries.values())


def test_rm_by_tags_and_by_uid(entries: dict[str, Entry]) -> None:
    fails(1, action="rm", automation="cache", tags="python")  # not confirmed without -f
    assert entries["py311"].path.exists()
    r = ok(action="rm", automation="cache", tags="python,_v1", force=True)
    assert r["deleted_list"] == [str(entries["py311"].path)]
    ok(action="rm", automation="cache", artifact=entries["git"].uid, f=True)
    left = ok(action="find", automation="cache")["list"]
    assert [a.path for a in left] == [entries["py312"].path]


def test_rm_all_deletes_every_entry(entries: dict[str, Entry], cli: Cli) -> None:
    assert "not confirmed" in fails(1, action="rm", automation="cache", all=True)
    error = fails(1, action="rm", automation="cache", all=True, tags="git", force=True)
    assert "leave out the name and --tags" in error
    assert all(e.path.exists() for e in entries.values())
    done = cli("rm", "cache", "-f", "--all")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    assert not any(e.path.exists() for e in entries.values())
    again = ok(action="rm", automation="cache", all=True, force=True)
    assert again["deleted_list"] == []


def test_help_lists_the_cache_actions_and_flags(cli: Cli) -> None:
    overview = cli("help", "cache")
    assert overview.returncode == 0, overview.stderr
    assert "show" in overview.stdout and "rm" in overview.stdout
    rm_help = cli("rm", "cache", "--help")
    assert rm_help.returncode == 0, rm_help.stderr
    assert "--all" in rm_help.stdout
    show_help = cli("show", "cache", "--help")
    assert "--env" in show_help.stdout and "--tags" in show_help.stdout
