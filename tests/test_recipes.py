"""Helpers of the shipped scripts' hooks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cairn.script import recipes


@pytest.mark.parametrize(
    ("version", "wanted", "ok"),
    [
        ("3.10.0", {"version": "3.10"}, True),
        ("3.10.1", {"version": "3.10"}, False),
        ("3.11.7", {"version_min": "3.8", "version_max": "3.12"}, True),
        ("3.7", {"version_min": "3.8"}, False),
        ("v2.0rc1", {"version_max": "2.0"}, True),
    ],
)
def test_satisfies_compares_leading_numbers(version: str, wanted: dict[str, str], ok: bool) -> None:
    assert recipes.satisfies(version, wanted) is ok


def test_result_dir_and_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = tmp_path / "cache" / "abc"
    entry.mkdir(parents=True)
    monkeypatch.chdir(entry)
    assert recipes.result_dir({"CM_TMP_CURRENT_PATH": "/caller"}) == str(entry)
    monkeypatch.chdir(tmp_path)
    assert recipes.result_dir({"CM_TMP_CURRENT_PATH": "/caller"}) == "/caller"
    assert recipes.result_dir({}) == os.getcwd()
    assert recipes.fail("no") == {"return": 1, "error": "no"}
