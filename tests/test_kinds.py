"""Automation kinds: CM's built-in aliases and uids, and unknown kinds (``cairn.kinds``)."""

from __future__ import annotations

import pytest

from cairn import kinds
from cairn.errors import InvalidName

BUILTIN = {
    "script": "5b4e0237da074764",
    "cache": "541d6f712a6b464e",
    "repo": "55c3e27e8a140e48",
    "automation": "bbeb15d8f0a944a4",
    "experiment": "a0a2d123ef064bcb",
    "run": "c41f5e2a9b7d3086",
}


@pytest.mark.parametrize(("alias", "uid"), BUILTIN.items())
def test_resolve_known_kinds_by_alias_uid_or_both(alias: str, uid: str) -> None:
    expected = kinds.Kind(alias, uid)
    assert kinds.resolve(alias) == expected
    assert kinds.resolve(uid) == expected
    assert kinds.resolve(uid.upper()) == expected
    assert kinds.resolve(alias.upper()) == expected
    assert kinds.resolve(f"{alias},{uid}") == expected
    assert kinds.resolve(f"{uid},{alias}") == expected


def test_known_kinds_print_as_alias_comma_uid() -> None:
    assert str(kinds.resolve("script")) == "script,5b4e0237da074764"
    assert kinds.resolve(str(kinds.resolve("cache"))) == kinds.resolve("cache")


@pytest.mark.parametrize("name", ["dataset", "model", "my-thing", "Dataset"])
def test_unknown_names_give_a_kind_without_uid(name: str) -> None:
    kind = kinds.resolve(name)
    assert kind == kinds.Kind(name)
    assert kind.uid is None
    assert str(kind) == name


def test_unknown_alias_with_its_own_uid() -> None:
    kind = kinds.resolve("dataset,0123456789ABCDEF")
    assert kind == kinds.Kind("dataset", "0123456789abcdef")


def test_unknown_uid_alone_is_an_error() -> None:
    with pytest.raises(InvalidName, match="unknown automation uid 0123456789abcdef"):
        kinds.resolve("0123456789abcdef")


def test_known_alias_with_a_wrong_uid_is_an_error() -> None:
    with pytest.raises(InvalidName, match="'script' has uid 5b4e0237da074764"):
        kinds.resolve("script,0123456789abcdef")


def test_a_known_uid_wins_over_the_alias() -> None:
    assert kinds.resolve("whatever,541d6f712a6b464e") == kinds.resolve("cache")


@pytest.mark.parametrize("name", ["", "../x", "a/b", "a b", "scr*", "a,b", "r:script"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidName):
        kinds.resolve(name)


def test_owns_by_uid_first() -> None:
    script = kinds.resolve("script")
    assert script.owns("script", "5b4e0237da074764")
    assert script.owns(None, "5B4E0237DA074764")
    assert script.owns("renamed", "5b4e0237da074764")
    assert not script.owns("script", "541d6f712a6b464e")


def test_owns_by_alias_without_uid() -> None:
    script = kinds.resolve("script")
    assert script.owns("script", None)
    assert script.owns("Script", None)
    assert not script.owns("cache", None)
    assert not script.owns(None, None)


def test_kind_without_uid_owns_by_alias_only() -> None:
    dataset = kinds.resolve("dataset")
    assert dataset.owns("dataset", "0123456789abcdef")
    assert dataset.owns("DataSet", None)
    assert not dataset.owns("model", None)
    assert not dataset.owns(None, "0123456789abcdef")


def test_known_table_is_consistent() -> None:
    for alias, kind in kinds.KNOWN.items():
        assert kind.alias == alias
        assert kind.uid == BUILTIN[alias]
