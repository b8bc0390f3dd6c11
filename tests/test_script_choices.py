"""Remembered choices: a script of another repository taking over a request is said once."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cairn.script.choices import Choices


def candidate(root: Path, repo: str, alias: str) -> Any:
    artifact = SimpleNamespace(
        path=root / repo / "script" / alias, repo=SimpleNamespace(path=root / repo, alias=repo)
    )
    return SimpleNamespace(artifact=artifact, handle=f"{repo}:{alias}")


def test_a_change_to_another_repository_is_said_once(tmp_path: Path) -> None:
    builtin, mine = candidate(tmp_path, "builtin", "a"), candidate(tmp_path, "mine", "b")
    assert Choices(tmp_path).note("--tags=x", builtin, [builtin]) is None  # first: remembered
    said = Choices(tmp_path).note("--tags=x", mine, [mine, builtin])
    assert said is not None and "now served by mine:b" in said and "not by builtin:a" in said
    assert Choices(tmp_path).note("--tags=x", mine, [mine, builtin]) is None
    assert Choices(tmp_path).note("--tags=y", mine, [mine, builtin]) is None  # a new request


def test_no_warning_within_one_repository_or_when_the_old_one_is_gone(tmp_path: Path) -> None:
    one, two = candidate(tmp_path, "mine", "a"), candidate(tmp_path, "mine", "b")
    other = candidate(tmp_path, "other", "c")
    choices = Choices(tmp_path)
    choices.note("r", one, [one])
    assert choices.note("r", two, [one, two]) is None
    assert choices.note("r", other, [other]) is None  # mine:b is no candidate any more


def test_a_broken_file_is_read_as_empty_and_rewritten(tmp_path: Path) -> None:
    (tmp_path / "choices.json").write_text("{not json")
    first = candidate(tmp_path, "mine", "a")
    assert Choices(tmp_path).note("r", first, [first]) is None
    assert '"r"' in (tmp_path / "choices.json").read_text()


def test_a_home_that_cannot_be_written_costs_nothing(tmp_path: Path) -> None:
    (tmp_path / "locks").write_text("a file where the lock folder belongs")
    first = candidate(tmp_path, "mine", "a")
    assert Choices(tmp_path).note("r", first, [first]) is None
    assert not (tmp_path / "choices.json").exists()
