"""store/folder_memo.py: a folder's answer is given again only while the watcher vouches for
the folder since the answer was read, for the same repository and query, and only when the
query warned of nothing there; the memo holds a bounded number of artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cairn import kinds, report
from cairn.store import folder_memo
from cairn.store.artifact import Artifact
from cairn.store.repo import Repo
from cairn.store.watch_client import Answer

DATASET = kinds.resolve("dataset")


class Watcher:
    """A stand-in for the watcher's word on folders: what changed when (the real one is
    tested through the CLI in tests/test_cli_lean.py)."""

    def __init__(self, folder: Path) -> None:
        st = folder.stat()
        self.ident = (st.st_dev, st.st_ino)
        self.session, self.gen, self.changed = "s1", 5, 3
        self.watched = True
        self.asked: list[tuple[str, int | None]] = []
        self.names: list[str] | None = None  # the artifact directories changed, if only they

    def answer(self, since: int | None = None) -> Answer:
        data: dict[str, Any] = {"session": self.session, "gen": self.gen}
        if self.watched:
            data.update(changed=self.changed, dev=self.ident[0], ino=self.ident[1])
            if since is not None and self.changed > since:
                data["names"] = self.names
        return Answer(data)

    def ask(self, path: str, since: int | None) -> Answer | None:
        self.asked.append((path, since))
        return self.answer(since)

    def change(self, *names: str) -> None:
        self.gen += 1
        self.changed = self.gen
        self.names = list(names) if names else None


def artifacts(folder: Path, repo: Repo, count: int) -> list[tuple[str, Artifact]]:
    return [
        (f"d{i}", Artifact(folder / f"d{i}", repo, DATASET, f"d{i}", None, ("x",), {}))
        for i in range(count)
    ]


def kept(memo: folder_memo.FolderMemo, folder: Path, repo: Repo, query: str, ask: Any) -> Any:
    """What the memo gives again whole (``None``: not all of it)."""
    reuse = memo.get(str(folder), repo, query, ask)
    return reuse.found if reuse is not None and reuse.changed is None else None


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "repo" / "dataset"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def repo(folder: Path) -> Repo:
    return Repo(folder.parent, "r1", "0123456789abcdef", meta={"alias": "r1"})


def test_an_answer_is_given_again_until_anything_under_the_folder_changes(
    folder: Path, repo: Repo
) -> None:
    memo, watcher = folder_memo.FolderMemo(), Watcher(folder)
    found = artifacts(folder, repo, 3)
    assert kept(memo, folder, repo, "q", watcher.ask) is None  # nothing kept yet
    memo.put(str(folder), repo, "q", watcher.answer(), found, report.warned())
    assert kept(memo, folder, repo, "q", watcher.ask) == found
    assert watcher.asked[-1] == (str(folder), 5)  # since the generation it was read at
    assert kept(memo, folder, repo, "another query", watcher.ask) is None
    assert memo.hits == 1
    watcher.change()
    assert kept(memo, folder, repo, "q", watcher.ask) is None


def test_another_session_another_directory_or_another_repository_is_a_miss(
    folder: Path, repo: Repo, tmp_path: Path
) -> None:
    memo, watcher = folder_memo.FolderMemo(), Watcher(folder)
    memo.put(str(folder), repo, "q", watcher.answer(), artifacts(folder, repo, 2), report.warned())
    moved = Repo(folder.parent, "r1", "0123456789abcdef", meta={"alias": "r1", "x": 1})
    assert memo.get(str(folder), moved, "q", watcher.ask) is None  # its meta changed
    renamed = Repo(folder.parent, "r2", "0123456789abcdef", meta={"alias": "r1"})
    assert memo.get(str(folder), renamed, "q", watcher.ask) is None
    watcher.ident = (watcher.ident[0], watcher.ident[1] + 1)  # the watcher saw another folder
    assert kept(memo, folder, repo, "q", watcher.ask) is None
    watcher.ident = (folder.stat().st_dev, folder.stat().st_ino)
    watcher.session = "s2"  # a restart, a queue overflow
    assert kept(memo, folder, repo, "q", watcher.ask) is None
    folder.rmdir()
    watcher.session = "s1"
    assert kept(memo, folder, repo, "q", watcher.ask) is None  # the folder is gone


def test_nothing_is_kept_when_the_query_warned_or_the_folder_was_not_watched_whole(
    folder: Path, repo: Repo
) -> None:
    memo, watcher = folder_memo.FolderMemo(), Watcher(folder)
    before = report.warned()
    with report.using(report.Reporter()):
        report.warn("ignoring broken artifact: d5")
    memo.put(str(folder), repo, "q", watcher.answer(), artifacts(folder, repo, 1), before)
    assert kept(memo, folder, repo, "q", watcher.ask) is None
    watcher.watched = False  # a network file system, a folder left unwatched
    memo.put(str(folder), repo, "q", watcher.answer(), [], report.warned())
    watcher.watched = True
    assert kept(memo, folder, repo, "q", watcher.ask) is None
    memo.put(str(folder), repo, "q", None, [], report.warned())  # no watcher answered
    assert kept(memo, folder, repo, "q", watcher.ask) is None


def test_a_warning_said_twice_counts_twice() -> None:
    before = report.warned()
    with report.using(report.Reporter()):
        report.warn("the same")
        report.warn("the same")
    assert report.warned() == before + 2


def test_the_memo_holds_at_most_its_bound_dropping_the_oldest(folder: Path, repo: Repo) -> None:
    memo, watcher = folder_memo.FolderMemo(max_artifacts=5), Watcher(folder)
    memo.put(str(folder), repo, "a", watcher.answer(), artifacts(folder, repo, 3), report.warned())
    memo.put(str(folder), repo, "b", watcher.answer(), artifacts(folder, repo, 2), report.warned())
    memo.put(str(folder), repo, "c", watcher.answer(), artifacts(folder, repo, 2), report.warned())
    assert kept(memo, folder, repo, "a", watcher.ask) is None  # dropped: the oldest
    assert kept(memo, folder, repo, "b", watcher.ask) is not None
    assert kept(memo, folder, repo, "c", watcher.ask) is not None
    memo.put(str(folder), repo, "d", watcher.answer(), artifacts(folder, repo, 6), report.warned())
    assert kept(memo, folder, repo, "d", watcher.ask) is None  # more than it may hold
    memo.put(str(folder), repo, "b", watcher.answer(), artifacts(folder, repo, 3), report.warned())
    assert kept(memo, folder, repo, "c", watcher.ask) is not None  # b replaced, not added


def test_a_kept_answer_is_a_copy(folder: Path, repo: Repo) -> None:
    memo, watcher = folder_memo.FolderMemo(), Watcher(folder)
    memo.put(str(folder), repo, "q", watcher.answer(), artifacts(folder, repo, 2), report.warned())
    first = kept(memo, folder, repo, "q", watcher.ask)
    assert first is not None
    first.clear()
    assert len(kept(memo, folder, repo, "q", watcher.ask) or []) == 2


def test_when_only_some_artifact_directories_changed_the_others_are_given_again(
    folder: Path, repo: Repo
) -> None:
    memo, watcher = folder_memo.FolderMemo(), Watcher(folder)
    found = artifacts(folder, repo, 3)
    memo.put(str(folder), repo, "q", watcher.answer(), found, report.warned())
    watcher.change("d1")
    reuse = memo.get(str(folder), repo, "q", watcher.ask)
    assert reuse is not None and reuse.changed == {"d1"} and reuse.found == found
    assert reuse.answer.gen == watcher.gen  # what the caller keeps the new answer under
    watcher.change()  # the folder's own entries changed: no names
    assert memo.get(str(folder), repo, "q", watcher.ask) is None
    watcher.change(*(f"d{i}" for i in range(folder_memo.MAX_CHANGED + 1)))
    assert memo.get(str(folder), repo, "q", watcher.ask) is None  # too many: read anew
