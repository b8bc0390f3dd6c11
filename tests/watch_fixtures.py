"""Shared by the watcher's tests: a repository of datasets, a running watcher, and a count of
the folders the stat walk checked."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cairn import kinds
from cairn.home import Home
from cairn.store import daemon
from cairn.store import index as index_mod
from cairn.store.catalog import Catalog, Query

DATASET = kinds.resolve("dataset")


def ds(alias: str, *tags: str) -> dict[str, Any]:
    return {"alias": alias, "automation_alias": "dataset", "tags": list(tags)}


def find(tags: str) -> list[str]:
    """A fresh catalog (as a new process would have) answering one query."""
    catalog = Catalog.open()
    try:
        return sorted(str(a.alias) for a in catalog.find(Query.parse(DATASET, None, tags)))
    finally:
        catalog.index.close()


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    path = make_repo(
        "r1",
        artifacts={f"dataset/d{i}": ds(f"d{i}", "x", "even" if i % 2 == 0 else "odd")
                   for i in range(6)},
    )  # fmt: skip
    Catalog.open().registry.register(path)
    return path


@pytest.fixture
def watcher(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A running watcher of the test's home (stopped, or killed, at the end)."""
    home = Home.from_env()
    started = daemon.start(home, idle=300)  # a watcher a failed test leaves ends soon
    yield started
    if daemon.stop(home) is None:
        return
    for _ in range(500):
        if gone(int(started["pid"])):
            break
        time.sleep(0.02)
    assert gone(int(started["pid"]))


def gone(pid: int) -> bool:
    """Whether process ``pid`` ended (a zombie, not yet reaped by this process, counts)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return text.rpartition(")")[2].split()[0] in ("Z", "X")


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders the stat walk checked (each call of ``_FolderView.plan``)."""
    seen: list[str] = []
    plan = index_mod._FolderView.plan

    def counted(view: Any, *args: Any) -> Any:
        seen.append(view.path)
        return plan(view, *args)

    monkeypatch.setattr(index_mod._FolderView, "plan", counted)
    return seen


def meta_file(repo: Path, name: str) -> Path:
    return repo / "dataset" / name / "_cm.yaml"
