"""api.py: the dict API ``access`` (dict, string and list inputs) and the typed facade."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import cairn
from cairn.errors import AlreadyExists, Ambiguous, InvalidInput, NotFound


@pytest.fixture
def two(make_repo: Callable[..., Path]) -> Path:
    """mnist in local and in r1, cifar in local only."""
    cairn.add("dataset", "mnist", tags=["images", "digits"])
    cairn.add("dataset", "cifar", tags="images,color")
    path = make_repo("r1", artifacts={"dataset/mnist": {"alias": "mnist", "tags": ["old"]}})
    assert cairn.access(f"add repo {path}")["return"] == 0
    return path


@pytest.mark.parametrize(
    "request_",
    [
        {"action": "find", "automation": "dataset", "tags": "images,-digits"},
        {"action": "find", "automation": "dataset", "tags": ["images", "-digits"]},
        "find dataset --tags=images,-digits",
        ["search", "dataset", "--tags,=images,-digits"],
    ],
)
def test_access_forms_agree(two: Path, request_: object) -> None:
    r = cairn.access(request_)  # type: ignore[arg-type]
    assert r["return"] == 0
    assert [(a.alias, a.meta["tags"]) for a in r["list"]] == [("cifar", ["images", "color"])]


def test_access_codes(two: Path, tmp_path: Path) -> None:
    assert cairn.access("load dataset mnist")["return"] == 1
    assert cairn.access("load dataset nothing")["return"] == 16
    assert cairn.access("add dataset cifar")["return"] == 8
    assert cairn.access("frob dataset")["return"] == 4
    assert cairn.access({})["return"] == 4
    assert cairn.access("find dataset --tags,")["return"] == 1
    missing = cairn.access(f"update dataset cifar @{tmp_path / 'missing.yaml'}")
    assert missing["return"] == 16 and "missing.yaml" in missing["error"]
    assert cairn.access("version")["version"] == cairn.__version__
    assert cairn.access({"action": "find", "automation": "dataset", "artifacts": "x"})["return"]
    assert cairn.access(42)["return"] == 1  # type: ignore[arg-type]


def test_access_file_input_sets_meta(two: Path, tmp_path: Path) -> None:
    (tmp_path / "in.yaml").write_text("meta:\n  size: 5\ntags: [new]\n")
    r = cairn.access(["update", "dataset", "cifar", f"@{tmp_path / 'in.yaml'}"])
    assert r["return"] == 0
    assert r["meta"]["size"] == 5 and r["meta"]["tags"] == ["images", "color", "new"]


def test_access_is_quiet_unless_asked(
    two: Path, capsys: pytest.CaptureFixture[str], cairn_home: Path
) -> None:
    broken = cairn_home / "local" / "dataset" / "broken"
    broken.mkdir()
    (broken / "_cm.yaml").write_text("tags: [x\n")
    r = cairn.access("find dataset")
    assert r["return"] == 0 and "broken" in r["warnings"][0]
    assert cairn.access("load dataset nothing")["return"] == 16
    assert capsys.readouterr() == ("", "")

    cairn.access({"action": "find", "automation": "dataset", "artifact": "cifar", "out": "con"})
    captured = capsys.readouterr()
    assert captured.out.strip().endswith("dataset/cifar") and "broken" in captured.err

    cairn.access("find dataset cifar", out="json")
    doc = json.loads(capsys.readouterr().out)
    assert doc["return"] == 0 and doc["list"][0]["alias"] == "cifar"


def test_facade_find_and_load(two: Path) -> None:
    assert [a.alias for a in cairn.find("dataset")] == ["cifar", "mnist", "mnist"]
    assert [a.repo.alias for a in cairn.find("dataset", "mnist")] == ["local", "r1"]
    assert [a.alias for a in cairn.find("dataset", tags=["digits"])] == ["mnist"]
    assert cairn.find("dataset", "zzz") == []
    assert cairn.load("dataset", "r1:mnist").path == two / "dataset" / "mnist"
    with pytest.raises(Ambiguous, match="r1:mnist"):
        cairn.load("dataset", "mnist")
    with pytest.raises(NotFound):
        cairn.load("dataset", "zzz")


def test_facade_add_update_remove(two: Path, cairn_home: Path) -> None:
    added = cairn.add("model", "r1:bert", tags="nlp,big", meta={"layers": [1]}, fmt="json")
    assert added.path == two / "model" / "bert"
    assert json.loads((added.path / "_cm.json").read_text())["tags"] == ["nlp", "big"]
    with pytest.raises(AlreadyExists):
        cairn.add("model", "r1:bert")
    with pytest.raises(InvalidInput):
        cairn.add("model", "x", fmt="xml")
    with pytest.raises(cairn.CairnError):
        cairn.add("model", "../x")

    updated = cairn.update(added, {"layers": [2], "tags": ["more"]})
    assert updated.meta["layers"] == [1, 2] and updated.tags == ("nlp", "big", "more")
    replaced = cairn.update(updated, {"layers": [3]}, replace_lists=True)
    assert replaced.meta["layers"] == [3]

    cairn.remove(replaced)
    assert not added.path.exists()
    cifar = yaml.safe_load((cairn_home / "local" / "dataset" / "cifar" / "_cm.yaml").read_text())
    assert cifar["tags"] == ["images", "color"]


def test_facade_warnings_go_to_logging_not_stderr(
    two: Path,
    cairn_home: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = cairn_home / "local" / "dataset" / "broken"
    broken.mkdir()
    (broken / "_cm.yaml").write_text("uid: 1234567890123456\n")
    with caplog.at_level(logging.WARNING, logger="cairn"):
        assert len(cairn.find("dataset")) == 3
    assert capsys.readouterr() == ("", "")
    assert any(str(broken / "_cm.yaml") in rec.getMessage() for rec in caplog.records)


def test_access_turns_file_system_errors_into_return_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from cairn.store.catalog import Catalog

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "/some/dir")

    monkeypatch.setattr(Catalog, "add", denied)
    r = cairn.access("add dataset x")
    assert r["return"] == 1
    assert r["error"].startswith("Permission denied: /some/dir (you may not change it: ")


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            {"action": "run", "automation": "script", "tags": "x", "env": {5: "x"}},
            "env key 5 must be a string",
        ),
        (
            {"action": "run", "automation": "script", "tags": "x", "env": {"A": {"B": "c"}}},
            "env value of 'A' must be a string, a number, a boolean or a list of those",
        ),
        (
            {"action": "run", "automation": "script", "tags": "x", "env": {"A": [None]}},
            "env value of 'A' must be a string, a number, a boolean or a list of those",
        ),
        (
            {"action": "add", "automation": "dataset", "artifact": "d", "meta": {"x": object()}},
            "meta.x must be JSON-like data",
        ),
        (
            {"action": "add", "automation": "dataset", "artifact": "d", "meta": {"a": {1: 2}}},
            "meta.a key 1 must be a string",
        ),
        ({"action": "find", "automation": "dataset", 7: "x"}, "input key 7 must be a string"),
    ],
)
def test_access_refuses_input_that_is_not_json_like_data(
    request_: dict[object, object], message: str, cairn_home: Path
) -> None:
    r = cairn.access(request_)  # type: ignore[arg-type]
    assert r["return"] == 1, r
    assert message in r["error"]
    assert not (cairn_home / "local" / "dataset" / "d").exists()


def test_access_accepts_json_like_data_and_yaml_dates() -> None:
    env = {"A": "a", "B": 1, "C": True, "D": [1.5, "x"]}
    assert cairn.access({"action": "find", "automation": "dataset", "env": env})["return"] == 0
    meta = {"when": datetime.date(2024, 1, 2), "sizes": (1, 2), "none": None}
    r = cairn.access({"action": "add", "automation": "dataset", "artifact": "d", "meta": meta})
    assert r["return"] == 0, r
    assert str(cairn.load("dataset", "d").meta["when"]) == "2024-01-02"  # a date reads as text


def test_facade_refuses_meta_that_is_not_json_like_data(cairn_home: Path) -> None:
    with pytest.raises(InvalidInput, match=r"meta\.x must be JSON-like data"):
        cairn.add("dataset", "d", meta={"x": object()})
    art = cairn.add("dataset", "e")
    with pytest.raises(InvalidInput, match="changes key 1 must be a string"):
        cairn.update(art, {1: "x"})  # type: ignore[dict-item]
    assert not (cairn_home / "local" / "dataset" / "d").exists()


def test_access_turns_an_internal_error_into_return_3(monkeypatch: pytest.MonkeyPatch) -> None:
    from cairn import dispatch

    def broken(*_: object, **__: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(dispatch, "run", broken)
    r = cairn.access("find dataset")
    assert r["return"] == 3
    assert r["error"] == "internal error: ZeroDivisionError: a bug"


def test_access_loads_a_yaml_date_as_text(make_repo: Callable[..., Path]) -> None:
    path = make_repo("dated", artifacts={"dataset/when": {"alias": "when"}})
    (path / "dataset" / "when" / "_cm.yaml").write_text("alias: when\nday: 2024-01-02\n")
    assert cairn.access(f"add repo {path}")["return"] == 0
    r = cairn.access("load dataset when")
    assert r["return"] == 0 and r["meta"]["day"] == "2024-01-02"
    assert any("day" in w and "read as text" in w for w in r["warnings"])
    json.dumps(r["meta"])
