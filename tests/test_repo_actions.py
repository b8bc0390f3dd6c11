"""automations/repo.py: init, add, list, info and rm of repositories through ``cairn.access``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import cairn
from tests.mlc_fixtures import make_mlc_repo


def run(**i: Any) -> dict[str, Any]:
    return cairn.access({"automation": "repo", **i})


def aliases() -> list[str]:
    return [r["alias"] for r in run(action="list")["list"]]


def test_init_writes_cmr_yaml_and_registers(tmp_path: Path, cairn_home: Path) -> None:
    target = tmp_path / "My Project"
    r = run(action="init", artifact=str(target))
    assert r["return"] == 0, r
    data = yaml.safe_load((target / "cmr.yaml").read_text())
    assert data == {"alias": "my-project", "uid": r["uid"], "git": False}
    assert sorted(p.name for p in target.iterdir()) == ["cmr.yaml"]
    assert aliases() == ["local", "builtin", "my-project"]
    assert json.loads((cairn_home / "repos.json").read_text())["repos"] == [str(target)]


def test_init_with_alias_uid_prefix(tmp_path: Path) -> None:
    r = run(
        action="init", path=str(tmp_path / "p"), alias="pr", uid="00112233445566AA", prefix="cm"
    )
    assert (r["return"], r["alias"], r["uid"], r["prefix"]) == (0, "pr", "00112233445566aa", "cm")
    assert (tmp_path / "p" / "cm").is_dir()
    added = cairn.access({"action": "add", "automation": "dataset", "artifact": "pr:d"})
    assert added["path"] == str(tmp_path / "p" / "cm" / "dataset" / "d")


def test_init_registers_an_existing_unregistered_repo(make_repo: Callable[..., Path]) -> None:
    path = make_repo("r1", uid="0011223344556677")
    r = run(action="init", artifact=str(path))
    assert (r["return"], r["alias"]) == (0, "r1")
    assert run(action="init", artifact=str(path))["return"] == 8
    clash = run(action="init", artifact=str(make_repo("r2")), alias="other")
    assert clash["return"] == 8 and "already sets alias = 'r2'" in clash["error"]


def test_init_refusals_leave_nothing_behind(tmp_path: Path, make_repo: Callable[..., Path]) -> None:
    run(action="add", artifact=str(make_repo("taken", uid="0011223344556677")))
    cases = [
        ({"alias": "taken"}, 8, "alias 'taken'"),
        ({"uid": "0011223344556677"}, 8, "uid 0011223344556677"),
        ({"alias": "a/b"}, 1, "unsafe repository alias 'a/b'"),
        ({"alias": "local"}, 8, "alias 'local'"),
        ({"uid": "12"}, 1, "invalid repository uid"),
        ({"prefix": "../out"}, 1, "prefix"),
    ]
    for extra, code, message in cases:
        r = run(action="init", artifact=str(tmp_path / "fresh"), **extra)
        assert r["return"] == code and message in r["error"], (extra, r)
        assert not (tmp_path / "fresh").exists()
    (tmp_path / "afile").write_text("")
    assert "is a file" in run(action="init", artifact=str(tmp_path / "afile"))["error"]
    assert aliases() == ["local", "builtin", "taken"]


def test_add_repo(make_repo: Callable[..., Path], tmp_path: Path) -> None:
    r = run(action="add", artifact=str(make_repo("r1")))
    assert (r["return"], r["alias"]) == (0, "r1")
    plain = tmp_path / "plain"
    plain.mkdir()
    r = run(action="add", artifact=str(plain))
    assert r["return"] == 16 and "no cmr.yaml" in r["error"] and "cairn init repo" in r["error"]
    assert run(action="add", artifact=str(tmp_path / "nope"))["return"] == 16
    assert run(action="add")["return"] == 1
    number_uid = make_repo("r9")
    (number_uid / "cmr.yaml").write_text("alias: r9\nuid: 1234567890123456\n")
    r = run(action="add", artifact=str(number_uid))
    assert r["return"] != 0 and str(number_uid / "cmr.yaml") in r["error"]
    assert aliases() == ["local", "builtin", "r1"]


def test_list_and_info(make_repo: Callable[..., Path]) -> None:
    path = make_repo("r1", artifacts={"dataset/a": {"alias": "a"}, "dataset/b": {"alias": "b"}})
    run(action="add", artifact=str(path))
    assert [r["alias"] for r in run(action="ls", artifact="r*")["list"]] == ["r1"]
    info = run(action="info", artifact="r1")
    assert info["path"] == str(path) and info["artifacts"] == {"dataset": 2}
    assert run(action="info", artifact="nope")["return"] == 16


def test_rm_unregisters_and_keeps_files(make_repo: Callable[..., Path]) -> None:
    path = make_repo("r1")
    run(action="add", artifact=str(path))
    r = run(action="rm", artifact="r1")
    assert r["return"] == 0 and (path / "cmr.yaml").is_file()
    assert aliases() == ["local", "builtin"]
    assert run(action="rm", artifact="r1")["return"] == 16


def test_rm_all_needs_force_and_deletes(make_repo: Callable[..., Path]) -> None:
    path = make_repo("r1")
    run(action="add", artifact=str(path))
    r = run(action="rm", artifact="r1", all=True)
    assert r["return"] == 1 and "-f" in r["error"] and path.is_dir()
    assert aliases() == ["local", "builtin", "r1"]
    assert run(action="rm", artifact="r1", all=True, force=True)["return"] == 0
    assert not path.exists() and aliases() == ["local", "builtin"]


@pytest.mark.parametrize("alias", ["local", "builtin"])
def test_rm_refuses_the_always_present_repos(alias: str) -> None:
    r = run(action="rm", artifact=alias, all=True, f=True)
    assert r["return"] == 1 and "always present" in r["error"]
    assert aliases() == ["local", "builtin"]


def test_rm_by_path_forgets_a_broken_registration(make_repo: Callable[..., Path]) -> None:
    good, broken = make_repo("good"), make_repo("broken")
    run(action="add", artifact=str(good))
    run(action="add", artifact=str(broken))
    (broken / "cmr.yaml").unlink()
    listed = run(action="list")
    assert [r["alias"] for r in listed["list"]] == ["local", "builtin", "good"]
    assert str(broken) in listed["warnings"][0]
    assert run(action="rm", artifact=str(broken), all=True)["return"] == 1
    assert run(action="rm", artifact=str(broken))["return"] == 0
    assert "warnings" not in run(action="list")
    assert run(action="rm", artifact=str(good))["return"] == 0
    assert aliases() == ["local", "builtin"]


def test_info_and_list_tell_an_mlcflow_repository_s_dialect(tmp_path: Path) -> None:
    path = make_mlc_repo(
        tmp_path / "mlc", artifacts={"script/s": {"alias": "s", "automation_alias": "script"}}
    )
    assert run(action="add", artifact=str(path))["return"] == 0
    info = run(action="info", artifact="mlcommons@mini")
    assert info["dialect"] == "mlc" and info["artifacts"] == {"script": 1}
    dialects = {r["alias"]: r["dialect"] for r in run(action="find")["list"]}
    assert dialects["mlcommons@mini"] == "mlc" and dialects["local"] == "cm"
