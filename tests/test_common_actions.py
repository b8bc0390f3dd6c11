"""automations/common.py: the actions every kind gets, driven through ``cairn.access``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import cairn

UID = "0123456789abcdef"


def ok(**i: Any) -> dict[str, Any]:
    r = cairn.access(i)
    assert r["return"] == 0, r
    return r


def fails(code: int, **i: Any) -> str:
    r = cairn.access(i)
    assert r["return"] == code, r
    return str(r["error"])


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture
def local(cairn_home: Path) -> Path:
    return cairn_home / "local"


@pytest.fixture
def r1(make_repo: Callable[..., Path]) -> Path:
    path = make_repo("r1")
    ok(action="add", automation="repo", artifact=str(path))
    return path


def test_add_creates_yaml_meta_in_local(local: Path) -> None:
    r = ok(
        action="add",
        automation="dataset",
        artifact="mnist",
        tags="images,digits",
        meta={"size": 10},
    )
    path = local / "dataset" / "mnist"
    assert r["path"] == str(path)
    assert read_yaml(path / "_cm.yaml") == {
        "alias": "mnist",
        "uid": r["meta"]["uid"],
        "automation_alias": "dataset",
        "size": 10,
        "tags": ["images", "digits"],
    }
    assert r["artifact"].path == path


def test_add_known_kind_gets_automation_uid_and_json(local: Path) -> None:
    r = ok(action="add", automation="script", artifact=f"hello,{UID}", json=True)
    data = json.loads((local / "script" / "hello" / "_cm.json").read_text())
    assert data["automation_uid"] == "5b4e0237da074764" and data["uid"] == UID
    assert r["meta"] == data


def test_add_to_a_named_repo_and_existing_alias(r1: Path) -> None:
    ok(action="add", automation="dataset", artifact="r1:mnist", tags="a")
    before = (r1 / "dataset" / "mnist" / "_cm.yaml").read_text()
    error = fails(8, action="add", automation="dataset", artifact="r1:mnist", tags="b")
    assert "already exists in repository 'r1'" in error
    assert (r1 / "dataset" / "mnist" / "_cm.yaml").read_text() == before
    assert "not registered" in fails(16, action="add", automation="dataset", artifact="no:x")


@pytest.mark.parametrize("alias", ["a/b", "..", "../x", "a b", "x:y:z", "a\\b"])
def test_add_refuses_unsafe_aliases_and_writes_nothing(alias: str, local: Path) -> None:
    error = fails(1, action="add", automation="dataset", artifact=alias)
    assert repr(alias.split(":")[0]) in error or "not recognized" in error
    assert not (local / "dataset").exists()


def test_add_rejects_bad_tags(local: Path) -> None:
    assert "cannot start with '-'" in fails(
        1, action="add", automation="dataset", artifact="x", tags="-a"
    )
    assert "invalid tag" in fails(1, action="add", automation="dataset", artifact="x", tags=["a b"])
    assert not (local / "dataset").exists()


def test_find_returns_artifacts_and_no_match_is_success() -> None:
    ok(action="add", automation="dataset", artifact="mnist", tags="images,digits")
    ok(action="add", automation="dataset", artifact="cifar", tags="images")
    r = ok(action="find", automation="dataset", tags="images,-digits")
    assert [a.alias for a in r["list"]] == ["cifar"]
    assert r["list"][0].meta["tags"] == ["images"]
    assert [a.alias for a in ok(action="search", automation="dataset", artifact="m*")["list"]] == [
        "mnist"
    ]
    assert ok(action="ls", automation="dataset", artifact="zzz")["list"] == []
    assert ok(action="list", automation="model")["list"] == []


def test_load_none_one_several(r1: Path) -> None:
    ok(action="add", automation="dataset", artifact="mnist", meta={"k": 1})
    ok(action="add", automation="dataset", artifact="r1:mnist")
    assert "no artifact matches" in fails(16, action="load", automation="dataset", artifact="x")
    error = fails(1, action="load", automation="dataset", artifact="mnist")
    assert "local:mnist" in error and "r1:mnist" in error and "repository" in error
    r = ok(action="load", automation="dataset", artifact="local:mnist")
    assert r["meta"]["k"] == 1 and r["path"].endswith("local/dataset/mnist")
    assert "name the dataset" in fails(1, action="load", automation="dataset")


def test_load_merges_json_over_yaml(local: Path) -> None:
    ok(action="add", automation="dataset", artifact="d", meta={"a": 1, "b": 1})
    (local / "dataset" / "d" / "_cm.json").write_text('{"b": 2}')
    meta = ok(action="load", automation="dataset", artifact="d")["meta"]
    assert (meta["a"], meta["b"]) == (1, 2)


def test_update_merges_meta_appends_lists_and_tags(local: Path) -> None:
    ok(action="add", automation="dataset", artifact="d", tags="a", meta={"l": [1], "n": {"x": 1}})
    ok(
        action="update",
        automation="dataset",
        artifact="d",
        tags="b",
        meta={"l": [2], "n": {"y": 2}, "s": "v"},
    )
    data = read_yaml(local / "dataset" / "d" / "_cm.yaml")
    assert data["tags"] == ["a", "b"] and data["l"] == [1, 2]
    assert data["n"] == {"x": 1, "y": 2} and data["s"] == "v"
    assert not (local / "dataset" / "d" / "_cm.json").exists()

    ok(
        action="update",
        automation="dataset",
        artifact="d",
        tags="c",
        meta={"l": [3]},
        replace_lists=True,
    )
    data = read_yaml(local / "dataset" / "d" / "_cm.yaml")
    assert data["tags"] == ["c"] and data["l"] == [3]

    ok(action="update", automation="dataset", artifact="d", meta={"only": 1}, replace=True)
    data = read_yaml(local / "dataset" / "d" / "_cm.yaml")
    assert data == {"alias": "d", "uid": data["uid"], "automation_alias": "dataset", "only": 1}


def test_update_keeps_json_artifacts_json(local: Path) -> None:
    ok(action="add", automation="dataset", artifact="j", json=True, tags="a")
    ok(action="update", automation="dataset", artifact="j", meta={"k": "v"})
    path = local / "dataset" / "j"
    assert sorted(p.name for p in path.iterdir()) == ["_cm.json"]
    assert json.loads((path / "_cm.json").read_text())["k"] == "v"


def test_update_errors(r1: Path, local: Path) -> None:
    ok(action="add", automation="dataset", artifact="d")
    ok(action="add", automation="dataset", artifact="r1:d")
    before = (local / "dataset" / "d" / "_cm.yaml").read_text()
    assert "no artifact" in fails(
        16, action="update", automation="dataset", artifact="x", meta={"a": 1}
    )
    assert "-f" in fails(1, action="update", automation="dataset", artifact="d", meta={"a": 1})
    assert "cannot change 'uid'" in fails(
        1, action="update", automation="dataset", artifact="local:d", meta={"uid": UID}
    )
    assert "name the dataset" in fails(1, action="update", automation="dataset", meta={"a": 1})
    assert (local / "dataset" / "d" / "_cm.yaml").read_text() == before
    r = ok(action="update", automation="dataset", artifact="d", meta={"a": 1}, force=True)
    assert len(r["list"]) == 2


def test_rm_needs_a_selector_and_force(local: Path) -> None:
    ok(action="add", automation="dataset", artifact="d1", tags="t")
    ok(action="add", automation="dataset", artifact="d2", tags="t")
    assert "refusing to delete every" in fails(1, action="rm", automation="dataset", force=True)
    assert "add -f" in fails(1, action="rm", automation="dataset", artifact="d1")
    assert "no artifact" in fails(
        16, action="delete", automation="dataset", artifact="zz", force=True
    )
    assert sorted(p.name for p in (local / "dataset").iterdir()) == ["d1", "d2"]
    r = ok(action="rm", automation="dataset", tags="t", force=True)
    assert r["deleted_list"] == [str(local / "dataset" / "d1"), str(local / "dataset" / "d2")]
    assert list((local / "dataset").iterdir()) == []


def test_mv_renames_and_moves_between_repos(r1: Path, local: Path) -> None:
    uid = ok(action="add", automation="dataset", artifact="d", tags="t")["meta"]["uid"]
    ok(action="mv", automation="dataset", artifacts=["d", "d2"])
    assert read_yaml(local / "dataset" / "d2" / "_cm.yaml")["alias"] == "d2"
    assert not (local / "dataset" / "d").exists()
    r = ok(action="move", automation="dataset", artifacts=["d2", "r1:"])
    assert r["path"] == str(r1 / "dataset" / "d2") and r["meta"]["uid"] == uid
    ok(action="rename", automation="dataset", artifacts=["d2", f"d2,{UID}"])
    assert read_yaml(r1 / "dataset" / "d2" / "_cm.yaml")["uid"] == UID
    assert "no artifact" in fails(16, action="mv", automation="dataset", artifacts=["x", "y"])
    assert "exactly two" in fails(1, action="mv", automation="dataset", artifacts=["d2"])


def test_mv_and_copy_refuse_to_overwrite(local: Path) -> None:
    ok(action="add", automation="dataset", artifact="a", meta={"v": "a"})
    ok(action="add", automation="dataset", artifact="b", meta={"v": "b"})
    snapshot = {p.name: (p / "_cm.yaml").read_text() for p in (local / "dataset").iterdir()}
    assert "already exists" in fails(8, action="mv", automation="dataset", artifacts=["a", "b"])
    assert "already exists" in fails(8, action="cp", automation="dataset", artifacts=["a", "b"])
    assert "unsafe" in fails(1, action="mv", automation="dataset", artifacts=["a", "../b"])
    after = {p.name: (p / "_cm.yaml").read_text() for p in (local / "dataset").iterdir()}
    assert after == snapshot


def test_copy_gives_a_new_uid(r1: Path, local: Path) -> None:
    first = ok(action="add", automation="dataset", artifact="a", tags="t")["meta"]
    r = ok(action="copy", automation="dataset", artifacts=["a", "a2"], new_tags="new")
    assert r["meta"]["uid"] != first["uid"] and r["meta"]["tags"] == ["t", "new"]
    other = ok(action="copy", automation="dataset", artifacts=["a", "r1:"])["meta"]
    assert other["alias"] == "a" and other["uid"] not in (first["uid"], r["meta"]["uid"])
    assert "new alias" in fails(1, action="copy", automation="dataset", artifacts=["local:a", "a"])
    assert "cannot start" in fails(
        1, action="copy", automation="dataset", artifacts=["local:a", "a3"], new_tags="-x"
    )
    assert (local / "dataset" / "a" / "_cm.yaml").is_file()


def test_info(local: Path) -> None:
    ok(action="add", automation="dataset", artifact=f"d,{UID}", tags="x,y")
    r = ok(action="info", automation="dataset", artifact="d")
    assert r["cid"] == f"dataset::d,{UID}" and r["files"] == ["_cm.yaml"]
    assert r["tags"] == ["x", "y"] and r["repo"].startswith("local,")
    assert "no artifact" in fails(16, action="info", automation="dataset", artifact="z")


def test_unknown_action_and_flags() -> None:
    error = fails(4, action="frob", automation="dataset")
    assert "'frob'" in error and "add, copy, find" in error
    assert "needs an automation" in fails(4, action="find")
    assert "unknown action" in fails(4, action="frob")


def test_a_misspelt_action_gets_a_did_you_mean() -> None:
    assert "; did you mean find?" in fails(4, action="fnd", automation="dataset")
    assert "; did you mean load?" in fails(4, action="lod", automation="script")
    assert "; did you mean run?" in fails(4, action="runn", automation="script")
    assert "; did you mean find?" in fails(4, action="fnd")  # no automation named
    assert "did you mean" not in fails(4, action="zzzzzz", automation="dataset")
    r = cairn.access({"action": "find", "automation": "dataset", "tagz": "a"})
    assert r["return"] == 0 and "unknown flag --tagz" in r["warnings"][0]
    assert "--tags" in fails(1, action="find", automation="dataset", tags=True)


def test_malformed_artifact_is_reported_and_others_still_found(local: Path) -> None:
    ok(action="add", automation="dataset", artifact="good")
    broken = local / "dataset" / "broken"
    broken.mkdir()
    (broken / "_cm.yaml").write_text("alias: [broken\n")
    r = ok(action="find", automation="dataset")
    assert [a.alias for a in r["list"]] == ["good"]
    assert str(broken / "_cm.yaml") in r["warnings"][0]


def test_builtin_repository_is_read_only() -> None:
    import cairn

    r = cairn.access({"action": "add", "automation": "dataset", "artifact": "builtin:x"})
    assert r["return"] == 1 and "read-only" in r["error"]
    from cairn.home import builtin_repo_path

    assert not (builtin_repo_path() / "dataset").exists()


def test_a_numeric_tag_is_found_as_text(make_repo: Callable[..., Path]) -> None:
    root = make_repo("nums", artifacts={"dataset/p28": {"alias": "p28", "tags": ["paper", 28]}})
    ok(action="add", automation="repo", artifact=str(root))
    r = ok(action="find", automation="dataset", tags="paper,28")
    assert [a.alias for a in r["list"]] == ["p28"] and r["list"][0].meta["tags"] == ["paper", "28"]
    assert (root / "dataset" / "p28" / "_cm.yaml").read_text().count("- 28") == 1


def test_update_refuses_to_turn_a_list_into_a_mapping(cli: Any, cairn_home: Path) -> None:
    ok(action="add", automation="dataset", artifact="d", meta={"x": ["a", "b"], "n": {"l": [1]}})
    meta_file = cairn_home / "local" / "dataset" / "d" / "_cm.yaml"
    before = meta_file.read_text()
    done = cli("update", "dataset", "d", "--meta.x.y=1")
    assert done.returncode == 1
    assert "meta key 'x' is a list (['a', 'b']): merging a mapping into it" in done.stderr
    assert "--replace_lists" in done.stderr
    error = fails(1, action="update", automation="dataset", artifact="d", meta={"n": {"l": {}}})
    assert "meta key 'n.l' is a list" in error
    with pytest.raises(cairn.errors.InvalidInput, match="'x' is a list"):
        cairn.update(cairn.load("dataset", "d"), {"x": {"y": 1}})
    assert meta_file.read_text() == before
    replaced = cli("update", "dataset", "d", "--meta.x.y=1", "--replace_lists")
    assert replaced.returncode == 0, replaced.stderr
    assert read_yaml(meta_file)["x"] == {"y": "1"}


def test_update_refuses_to_turn_a_mapping_into_a_list(cli: Any, cairn_home: Path) -> None:
    ok(action="add", automation="dataset", artifact="d", meta={"m": {"a": 1}})
    meta_file = cairn_home / "local" / "dataset" / "d" / "_cm.yaml"
    before = meta_file.read_text()
    done = cli("update", "dataset", "d", "--meta.m,=x")
    assert done.returncode == 1
    assert "meta key 'm' is a mapping ({'a': 1}): a list given for it would drop its keys" in (
        done.stderr
    )
    assert "--meta.m.KEY=VALUE" in done.stderr and "--replace_lists" in done.stderr
    assert meta_file.read_text() == before
    assert cli("update", "dataset", "d", "--meta.m,=x", "--replace_lists").returncode == 0
    assert read_yaml(meta_file)["m"] == ["x"]
