"""Serving a home that cannot be written, through a scratch home linking to it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cairn
from cairn.automations.contract import Outcome
from cairn.web import app, scratch
from tests.test_web_api import as_json, make_home


def snapshot(root: Path) -> dict[str, Any]:
    """The home's files; its SQLite index by content (rows), not bytes: when the last
    connection of this process closes (at a garbage collection), SQLite folds the write-ahead
    log into the main file, which changes bytes but no row."""
    import gc
    import sqlite3

    gc.collect()
    files: dict[str, Any] = {}
    for p in sorted(root.rglob("*")):
        name = str(p.relative_to(root))
        if name.startswith("index.sqlite"):
            continue
        files[name] = p.read_bytes() if p.is_file() else b"<dir>"
    with sqlite3.connect(f"file:{root / 'index.sqlite'}?mode=ro", uri=True) as db:
        files["index rows"] = list(db.iterdump())
    return files


def test_a_scratch_home_answers_as_the_real_one_and_leaves_it_alone(
    make_repo: Callable[..., Path], cairn_home: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    make_home(make_repo)
    query = {"action": "find", "automation": "dataset", "tags": "images"}
    expected = as_json(cairn.access(query))
    before = snapshot(cairn_home)
    shadow = scratch.make(cairn_home, tmp_path / "scratch" / "home")
    assert (shadow / "repos.json").is_symlink() and (shadow / "local").is_symlink()
    assert (shadow / "index.sqlite").is_file() and not (shadow / "index.sqlite").is_symlink()
    monkeypatch.setenv("CAIRN_HOME", str(shadow))
    (tmp_path / "repos" / "web" / "dataset" / "mnist" / "_cm.yaml").touch()  # a re-read
    assert as_json(cairn.access(query)) == expected
    assert snapshot(cairn_home) == before


def test_writable_says_whether_the_index_can_be_refreshed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert scratch.writable(tmp_path / "not-yet" / "home")
    assert scratch.writable(tmp_path)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert not scratch.writable(tmp_path)


def test_serve_uses_a_scratch_home_when_the_home_cannot_be_written(
    cairn_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    cairn_home.mkdir()
    (cairn_home / "repos.json").write_text('{"format": 1, "repos": []}\n')
    seen: list[str] = []

    def run(served: Any, host: str, port: int) -> Outcome:
        seen.append(os.environ["CAIRN_HOME"])
        return Outcome({}, [])

    monkeypatch.setattr(scratch, "writable", lambda root: False)
    monkeypatch.setattr(app, "_run", run)
    app.serve_command({})
    (served,) = seen
    assert served != str(cairn_home) and "cairn-serve-home-" in served
    assert os.environ["CAIRN_HOME"] == str(cairn_home)
    assert not Path(served).exists()  # removed when serving stops
    assert "cannot be written: serving it through" in capsys.readouterr().out
