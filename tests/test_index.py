"""store/index.py: the SQLite index answers exactly what a walk of the disk would, at once."""

from __future__ import annotations

import json
import marshal
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cairn import kinds, report
from cairn.dialect import CM, MLC
from cairn.errors import CairnError
from cairn.home import Home
from cairn.store import index as index_mod
from cairn.store.catalog import Catalog, Query
from tests.mlc_fixtures import corpus_copy, make_mlc_repo, mlc_script

DATASET = kinds.resolve("dataset")
SCRIPT = kinds.resolve("script")


def ds(alias: str, *tags: str, **extra: Any) -> dict[str, Any]:
    return {"alias": alias, "automation_alias": "dataset", **extra, "tags": list(tags)}


@pytest.fixture
def repo(cairn_home: Path, make_repo: Callable[..., Path]) -> Path:
    """One registered repository with three datasets and a model."""
    path = make_repo(
        "r1",
        artifacts={
            "dataset/mnist": ds("mnist", "images", "digits"),
            "dataset/cifar": ds("cifar", "images", "color"),
            "dataset/audio": ds("audio", "sound"),
            "model/resnet": {"alias": "resnet", "automation_alias": "model"},
        },
    )
    Catalog.open().registry.register(path)
    return path


def find(identifier: str | None = None, tags: Any = None, kind: Any = DATASET) -> list[str]:
    """A fresh catalog (as a new process would have) answering one query: ``repo:alias`` list."""
    found = Catalog.open().find(Query.parse(kind, identifier, tags))
    return [f"{a.repo.alias}:{a.alias}" for a in found]


def write_meta(directory: Path, data: dict[str, Any], name: str = "_cm.yaml") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data, sort_keys=False)
    (directory / name).write_text(text)


def rows(cairn_home: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(Home(cairn_home).index_file) as db:
        return db.execute(sql, args).fetchall()


# -- freshness: every hand change is seen by the very next query ----------------------------


def test_an_artifact_added_by_hand_is_found(repo: Path) -> None:
    assert find(tags="images") == ["r1:cifar", "r1:mnist"]
    write_meta(repo / "dataset" / "emnist", ds("emnist", "images"))
    assert find(tags="images") == ["r1:cifar", "r1:emnist", "r1:mnist"]


def test_an_edit_in_place_is_seen(repo: Path) -> None:
    assert find(tags="fresh") == []
    with open(repo / "dataset" / "audio" / "_cm.yaml", "a") as handle:
        handle.write("- fresh\n")  # the tags list is the last key: this appends a tag
    assert find(tags="fresh") == ["r1:audio"]


def test_an_edit_keeping_size_in_the_same_instant_is_seen(repo: Path) -> None:
    meta = repo / "dataset" / "audio" / "_cm.yaml"
    meta.write_text(yaml.safe_dump(ds("audio", "aaaa")))
    assert find(tags="aaaa") == ["r1:audio"]
    size = meta.stat().st_size
    with open(meta, "r+") as handle:  # same inode, same size, same clock tick
        handle.write(yaml.safe_dump(ds("audio", "bbbb")))
    assert meta.stat().st_size == size
    assert find(tags="aaaa") == []
    assert find(tags="bbbb") == ["r1:audio"]


def test_an_edit_within_one_timestamp_tick_is_seen(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system whose timestamps tick once a second, a second same-size edit in
    the same tick keeps every stat field; the index must not trust such a recent stat."""
    real_stat = os.stat

    def coarse_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        st = real_stat(path, *args, **kwargs)
        ticks = {
            f"st_{t}_ns": getattr(st, f"st_{t}_ns") // 10**9 * 10**9
            for t in ("atime", "mtime", "ctime")
        }
        return os.stat_result(tuple(st)[:10], ticks)

    meta = repo / "dataset" / "audio" / "_cm.yaml"
    monkeypatch.setattr(os, "stat", coarse_stat)
    meta.write_text(yaml.safe_dump(ds("audio", "aaaa")))
    assert find(tags="aaaa") == ["r1:audio"]
    with open(meta, "r+") as handle:  # same inode, same size
        handle.write(yaml.safe_dump(ds("audio", "bbbb")))
    assert find(tags="bbbb") == ["r1:audio"]


def test_a_renamed_directory_is_seen(repo: Path) -> None:
    find()
    os.rename(repo / "dataset" / "audio", repo / "dataset" / "zaudio")
    found = Catalog.open().find(Query.parse(DATASET, "audio"))
    assert [a.path.name for a in found] == ["zaudio"]


def test_a_removed_directory_is_gone(repo: Path) -> None:
    assert find("mnist") == ["r1:mnist"]
    shutil.rmtree(repo / "dataset" / "mnist")
    assert find("mnist") == []
    assert find() == ["r1:audio", "r1:cifar"]


def test_a_removed_folder_is_gone(repo: Path, cairn_home: Path) -> None:
    find()
    shutil.rmtree(repo / "dataset")
    assert find() == []
    assert rows(cairn_home, "SELECT count(*) FROM artifacts WHERE alias = 'mnist'") == [(0,)]


def test_a_json_meta_added_beside_the_yaml_is_seen(repo: Path) -> None:
    assert find(tags="extra") == []
    write_meta(repo / "dataset" / "cifar", {"tags": ["extra"]}, "_cm.json")
    assert find(tags="extra") == ["r1:cifar"]


def test_a_directory_that_gains_a_meta_file_is_found(repo: Path) -> None:
    (repo / "dataset" / "later").mkdir()
    assert find("later") == []
    write_meta(repo / "dataset" / "later", ds("later"))
    assert find("later") == ["r1:later"]


def _append_tag(repo: Path) -> None:
    with open(repo / "dataset" / "audio" / "_cm.yaml", "a") as handle:
        handle.write("- fresh\n")  # in place: neither directory's signature changes


def _add_json(repo: Path) -> None:
    write_meta(repo / "dataset" / "audio", {"tags": ["fresh"]}, "_cm.json")


def _replace_yaml(repo: Path) -> None:
    meta = repo / "dataset" / "audio" / "_cm.yaml"
    tmp = meta.with_name(".tmp")
    tmp.write_text(yaml.safe_dump(ds("audio", "fresh")))
    os.replace(tmp, meta)


def _rename_in(repo: Path) -> None:
    shutil.move(repo / "dataset" / "audio", repo / "dataset" / "audio2")
    write_meta(repo / "dataset" / "audio2", ds("audio2", "fresh"))


@pytest.mark.parametrize("change", [_append_tag, _add_json, _replace_yaml, _rename_in])
def test_hand_changes_are_seen_against_settled_signatures(
    repo: Path, cairn_home: Path, monkeypatch: pytest.MonkeyPatch, change: Any
) -> None:
    """The fast path: stored signatures are trusted (not RECHECK), and still every change
    to a meta file is seen, including edits in place that leave the directories alone."""
    monkeypatch.setattr(index_mod, "RACY_NS", 0)
    assert find(tags="fresh") == []
    sigs = rows(
        cairn_home,
        "SELECT yaml_sig FROM artifacts a JOIN folders f ON f.id = a.folder_id"
        " WHERE f.name = 'dataset'",
    )
    assert sigs and index_mod.RECHECK not in {sig for (sig,) in sigs}
    dirs = [repo / "dataset", repo / "dataset" / "audio"]
    before = [d.stat().st_mtime_ns for d in dirs]
    change(repo)
    assert len(find(tags="fresh")) == 1
    if change is _append_tag:
        assert [d.stat().st_mtime_ns for d in dirs] == before


def test_changes_through_cairn_are_seen(repo: Path) -> None:
    catalog = Catalog.open()
    mnist = catalog.find_one(Query.parse(DATASET, "mnist"))
    catalog.update(mnist, lambda meta: {**meta, "tags": ["digits", "handwritten"]})
    assert find(tags="handwritten") == ["r1:mnist"]
    catalog.remove(catalog.find_one(Query.parse(DATASET, "cifar")))
    assert find(tags="images") == []


def test_a_query_in_another_process_sees_a_hand_edit(repo: Path, cli: Any) -> None:
    assert cli("find", "dataset", "--tags=sound").stdout.split() == [str(repo / "dataset/audio")]
    write_meta(repo / "dataset" / "audio", ds("audio", "speech"))
    assert cli("find", "dataset", "--tags=sound").stdout == ""
    assert cli("find", "dataset", "--tags=speech").returncode == 0
    assert cli("find", "dataset", "--tags=speech").stdout.split() == [str(repo / "dataset/audio")]


def test_repository_meta_changes_are_seen(repo: Path) -> None:
    find()
    write_meta(
        repo, {**yaml.safe_load((repo / "cmr.yaml").read_text()), "prefix": "sub"}, "cmr.json"
    )
    assert find() == []
    write_meta(repo / "sub" / "dataset" / "moved", ds("moved"))
    assert find() == ["r1:moved"]


def test_a_registered_repository_is_indexed_at_once(
    cairn_home: Path, make_repo: Callable[..., Path]
) -> None:
    path = make_repo("r2", artifacts={"dataset/one": ds("one", "x"), "model/two": {}})
    Catalog.open().registry.register(path)
    indexed = rows(cairn_home, "SELECT folder, alias FROM artifact_rows ORDER BY folder")
    assert indexed == [("dataset", "one"), ("model", "two")]


# -- the same answers as a walk ----------------------------------------------------------


def test_same_order_and_filtering_as_a_walk(
    cairn_home: Path, make_repo: Callable[..., Path]
) -> None:
    uid = "5b4e0237da074764"
    r1 = make_repo(
        "r1",
        artifacts={
            "script/b": {"alias": "b", "automation_alias": "script", "tags": ["t"]},
            f"{uid}/a": {"alias": "a", "automation_uid": uid, "tags": ["t"]},
            "script/foreign": {"alias": "foreign", "automation_alias": "dataset"},
            "script/Z": {"tags": ["t"]},
            "script/0123456789abcdef": {"tags": ["t"]},
        },
    )
    r2 = make_repo("r2", prefix="p", artifacts={"script/a": {"alias": "a", "tags": ["t"]}})
    catalog = Catalog.open()
    catalog.registry.register(r1)
    catalog.registry.register(r2)
    found = catalog.find(Query.parse(SCRIPT, None, "t"))
    paths = [str(a.path.relative_to(a.repo.path)) for a in found]
    assert paths == ["script/0123456789abcdef", "script/Z", "script/b", f"{uid}/a", "p/script/a"]
    assert [a.uid for a in found][:1] == ["0123456789abcdef"]
    assert [a.alias for a in found][1] == "Z"


def test_duplicate_aliases_are_distinct_rows(
    cairn_home: Path, make_repo: Callable[..., Path]
) -> None:
    catalog = Catalog.open()
    for name in ("r1", "r2"):
        catalog.registry.register(make_repo(name, artifacts={"dataset/mnist": ds("mnist")}))
    assert find("mnist") == ["r1:mnist", "r2:mnist"]
    assert rows(cairn_home, "SELECT repo_alias FROM artifact_rows WHERE alias = 'mnist'") == [
        ("r1",),
        ("r2",),
    ]


def test_broken_meta_warns_every_time_naming_the_file(repo: Path) -> None:
    broken = repo / "dataset" / "broken" / "_cm.yaml"
    broken.parent.mkdir()
    broken.write_text("tags: [unclosed\n")
    for _ in range(2):  # the second answer comes from the index, without reading the file
        with report.using(report.Reporter()) as reporter:
            assert find() == ["r1:audio", "r1:cifar", "r1:mnist"]
        assert len(reporter.warnings) == 1
        assert str(broken) in reporter.warnings[0]


def test_a_yaml_date_is_the_same_text_from_disk_and_from_the_index(repo: Path) -> None:
    (repo / "dataset" / "dated" / "_cm.yaml").parent.mkdir()
    (repo / "dataset" / "dated" / "_cm.yaml").write_text("alias: dated\nwhen: 2024-01-02\n")
    for _ in range(2):
        [found] = Catalog.open().find(Query.parse(DATASET, "dated"))
        assert found.meta["when"] == "2024-01-02"


def test_meta_that_json_cannot_hold_is_read_from_disk(repo: Path) -> None:
    (repo / "dataset" / "nan" / "_cm.yaml").parent.mkdir()
    (repo / "dataset" / "nan" / "_cm.yaml").write_text("alias: nan\nx: .nan\n1: one\n")
    for _ in range(2):
        [found] = Catalog.open().find(Query.parse(DATASET, "nan"))
        assert found.meta[1] == "one" and found.meta["x"] != found.meta["x"]


# -- the database file -------------------------------------------------------------------


def test_a_corrupt_database_is_rebuilt_silently(repo: Path, cairn_home: Path) -> None:
    find()
    index_file = Home(cairn_home).index_file
    for suffix in ("-wal", "-shm"):
        Path(f"{index_file}{suffix}").unlink(missing_ok=True)
    index_file.write_bytes(b"this is not a database" * 100)
    with report.using(report.Reporter()) as reporter:
        assert find(tags="images") == ["r1:cifar", "r1:mnist"]
    assert reporter.warnings == []
    assert rows(cairn_home, "PRAGMA integrity_check") == [("ok",)]


def test_a_deleted_database_is_rebuilt(repo: Path, cairn_home: Path) -> None:
    find()
    Home(cairn_home).index_file.unlink()
    assert find(tags="images") == ["r1:cifar", "r1:mnist"]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{Home(cairn_home).index_file}{suffix}").unlink(missing_ok=True)
    assert find(tags="images") == ["r1:cifar", "r1:mnist"]


def test_an_older_schema_is_replaced(repo: Path, cairn_home: Path) -> None:
    find()
    with sqlite3.connect(Home(cairn_home).index_file) as db:
        db.execute("PRAGMA user_version = 0")
        db.execute("DELETE FROM artifacts")
    assert find(tags="images") == ["r1:cifar", "r1:mnist"]


def test_reindex_rebuilds_everything(repo: Path, cairn_home: Path, cli: Any) -> None:
    find()
    with sqlite3.connect(Home(cairn_home).index_file) as db:
        db.execute("DELETE FROM tags")
    proc = cli("reindex", "--out=json")
    assert proc.returncode == 0, proc.stderr
    valid = rows(cairn_home, "SELECT count(*) FROM artifacts WHERE state = 0")[0][0]
    assert json.loads(proc.stdout)["artifacts"] == valid
    in_r1 = rows(cairn_home, "SELECT count(*) FROM artifact_rows WHERE repo_alias = 'r1'")
    assert in_r1 == [(4,)]  # three datasets and a model
    assert find(tags="images") == ["r1:cifar", "r1:mnist"]
    assert "reindex" in cli("help").stdout


def test_many_artifacts_are_read_in_worker_processes(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(30):
        write_meta(repo / "dataset" / f"bulk{i:02d}", ds(f"bulk{i:02d}", "bulk"))
    monkeypatch.setattr(index_mod, "PARALLEL_MIN", 10)
    monkeypatch.setattr(index_mod, "BATCH", 7)
    read_here: list[str] = []
    real_read = index_mod._FolderView.read

    def counted(view: Any, name: str) -> Any:
        read_here.append(name)
        return real_read(view, name)

    monkeypatch.setattr(index_mod._FolderView, "read", counted)
    assert len(find(tags="bulk")) == 30
    assert read_here == []  # the 30 new directories were read by the workers
    assert len(find(tags="bulk")) == 30


def test_a_worker_that_fails_leaves_its_batches_to_the_caller(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(12):
        write_meta(repo / "dataset" / f"bulk{i:02d}", ds(f"bulk{i:02d}", "bulk"))
    monkeypatch.setattr(index_mod, "PARALLEL_MIN", 10)
    monkeypatch.setattr(index_mod.sys, "executable", sys.executable + "-missing")
    assert len(find(tags="bulk")) == 12


# -- the signature snapshot of each folder ------------------------------------------------


def assert_snapshots_match_rows(cairn_home: Path) -> None:
    """Every folder's ``sigs`` snapshot, with its pending changes, holds exactly its artifact
    rows' signatures."""
    for (folder_id,) in rows(cairn_home, "SELECT id FROM folders"):
        stored = rows(
            cairn_home,
            "SELECT name, yaml_sig, json_sig FROM artifacts WHERE folder_id = ?",
            folder_id,
        )
        with sqlite3.connect(Home(cairn_home).index_file) as db:
            columns = index_mod._snapshot(db, folder_id)
        assert columns is not None and columns[0] == sorted(columns[0])
        assert sorted(zip(*columns, strict=True)) == sorted(stored), folder_id


@pytest.mark.parametrize("patch_max", [index_mod.PATCH_MAX, 0])  # patched, or rebuilt
def test_the_snapshot_follows_every_change(
    repo: Path, cairn_home: Path, monkeypatch: pytest.MonkeyPatch, patch_max: int
) -> None:
    monkeypatch.setattr(index_mod, "RACY_NS", 0)
    monkeypatch.setattr(index_mod, "PATCH_MAX", patch_max)
    find()
    find(kind=kinds.resolve("model"))
    assert_snapshots_match_rows(cairn_home)
    write_meta(repo / "dataset" / "emnist", ds("emnist", "images"))
    write_meta(repo / "dataset" / "aaa", ds("aaa"))
    shutil.rmtree(repo / "dataset" / "mnist")
    _add_json(repo)
    (repo / "dataset" / "empty").mkdir()
    assert find() == ["r1:aaa", "r1:audio", "r1:cifar", "r1:emnist"]
    assert_snapshots_match_rows(cairn_home)
    _append_tag(repo)
    assert find(tags="fresh") == ["r1:audio"]
    assert_snapshots_match_rows(cairn_home)


DATASET_FOLDER = "(SELECT id FROM folders WHERE name = 'dataset')"


def _snapshot_row(cairn_home: Path) -> tuple[Any, ...]:
    """The dataset folder's snapshot and its pending changes."""
    (pending,) = rows(cairn_home, "SELECT sigs_patch FROM folders WHERE name = 'dataset'")[0]
    found = rows(cairn_home, f"SELECT sigs FROM snapshots WHERE folder_id = {DATASET_FOLDER}")
    return (found[0][0] if found else None), pending


@pytest.mark.parametrize("keep", [index_mod.PATCH_KEEP, 1])  # kept pending, or folded at once
def test_a_small_write_adds_pending_changes_and_leaves_the_snapshot(
    repo: Path, cairn_home: Path, monkeypatch: pytest.MonkeyPatch, keep: int
) -> None:
    """A write of a few artifacts stores a few bytes of pending changes (a snapshot of a big
    folder is megabytes); past ``PATCH_KEEP`` of them they are folded into the snapshot."""
    monkeypatch.setattr(index_mod, "RACY_NS", 0)
    monkeypatch.setattr(index_mod, "PATCH_KEEP", keep)
    find()
    first, _ = _snapshot_row(cairn_home)
    assert first is not None
    write_meta(repo / "dataset" / "emnist", ds("emnist", "images"))
    assert "r1:emnist" in find()
    assert_snapshots_match_rows(cairn_home)
    if keep > 1:
        assert _snapshot_row(cairn_home)[0] == first  # pending changes written, not it
    shutil.rmtree(repo / "dataset" / "mnist")
    _append_tag(repo)
    assert find(tags="fresh") == ["r1:audio"] and "r1:mnist" not in find()
    assert_snapshots_match_rows(cairn_home)
    snapshot, pending = _snapshot_row(cairn_home)
    assert (snapshot == first, pending is None) == ((True, False) if keep > 1 else (False, True))


def test_unreadable_pending_changes_rebuild_the_snapshot(
    repo: Path, cairn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_mod, "RACY_NS", 0)
    find()
    with sqlite3.connect(Home(cairn_home).index_file) as db:
        db.execute("UPDATE folders SET sigs_patch = ? WHERE name = 'dataset'", (b"junk",))
    _append_tag(repo)
    assert find(tags="fresh") == ["r1:audio"]
    assert _snapshot_row(cairn_home)[1] is None  # rebuilt from the rows
    assert_snapshots_match_rows(cairn_home)


@pytest.mark.parametrize("blob", [None, b"", b"not marshal", b"\xe9\x00\x00\x00\x00"])
def test_a_missing_or_unreadable_snapshot_falls_back_to_the_rows(
    repo: Path, cairn_home: Path, blob: bytes | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_mod, "RACY_NS", 0)
    find()
    find(kind=kinds.resolve("model"))
    with sqlite3.connect(Home(cairn_home).index_file) as db:
        if blob is None:
            db.execute(f"DELETE FROM snapshots WHERE folder_id = {DATASET_FOLDER}")
        else:
            db.execute(f"UPDATE snapshots SET sigs = ? WHERE folder_id = {DATASET_FOLDER}", (blob,))
    _append_tag(repo)
    assert find(tags="fresh") == ["r1:audio"]  # the fresh stat is compared with the rows
    assert_snapshots_match_rows(cairn_home)  # and the write rebuilt the snapshot
    assert find(tags="images") == ["r1:cifar", "r1:mnist"]


def test_a_snapshot_that_does_not_hold_together_is_not_trusted() -> None:
    columns = (["a", "b"], [1, 2], [None, 3])
    assert index_mod._decode_sigs(index_mod._encode_sigs(columns)) == columns
    assert index_mod._decode_sigs(index_mod._encode_sigs(([], [], []))) == ([], [], [])
    for bad in [
        ("a\0b", 3, [1, 2], [None, None]),  # the count disagrees
        ("a\0b", 2, [1, 2], [None]),  # a column is short
        ("a\0b", 2, (1, 2), [None, None]),  # not the stored shape
        (b"a", 1, [1], [None]),
        ("a", "1", [1], [None]),
        ("a", 1, [1]),
    ]:
        assert index_mod._decode_sigs(marshal.dumps(bad)) is None, bad


# -- start-up ----------------------------------------------------------------------------


def test_find_imports_no_yaml_while_nothing_changed(repo: Path, cli: Any) -> None:
    code = (
        "import sys; from cairn.cli.main import main;"
        " main(sys.argv[1:]); print('yaml' in sys.modules)"
    )

    def yaml_loaded() -> str:
        proc = subprocess.run(
            [sys.executable, "-c", code, "find", "dataset", "--tags=sound"],
            capture_output=True,
            text=True,
            env={**os.environ},
            timeout=60,
        )
        return proc.stdout.split()[-1]

    cli("find", "dataset")
    time.sleep(index_mod.RACY_NS / 1e9)  # let the files settle, then index them once more
    cli("find", "dataset")
    assert yaml_loaded() == "False"
    write_meta(repo / "dataset" / "audio", ds("audio", "sound", "changed"))
    assert yaml_loaded() == "True"


HEAVY = (
    "dataclasses",
    "inspect",
    "ast",
    "typing",
    "tempfile",
    "shutil",
    "threading",
    "copy",
    "hashlib",
    "cairn.script.replay",
)


def test_find_and_load_import_none_of_the_heavy_modules(repo: Path, cli: Any) -> None:
    """`dataclasses` (with `inspect` and `ast`), `typing` and the writers' modules cost
    start-up time that every `find` would pay."""
    code = (
        "import sys; from cairn.cli.main import main; main(sys.argv[1:]);"
        f" print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    for argv in (["find", "dataset", "--tags=sound"], ["load", "dataset", "audio"]):
        proc = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines()[-1] == "[]", argv


# -- concurrency -------------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys
    import cairn

    me = sys.argv[1]
    for i in range(8):
        cairn.add("dataset", f"{me}-{i}", tags=["shared", me])
        mine = cairn.find("dataset", tags=[me])
        assert len(mine) == i + 1, (me, i, [a.alias for a in mine])
        cairn.find("dataset", tags=["shared"])
    """
)


def test_concurrent_processes_never_corrupt_the_index(repo: Path, cairn_home: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, f"p{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert len(find(tags="shared")) == 32
    assert rows(cairn_home, "PRAGMA integrity_check") == [("ok",)]
    assert rows(cairn_home, "SELECT count(*) FROM tags WHERE tag = 'shared'") == [(32,)]
    assert_snapshots_match_rows(cairn_home)


# --- a home cairn may not write (issue 18, item 12) ---------------------------------------------


def test_a_read_only_home_is_still_read(cli: Any, cli_read_only: Any, cairn_home: Path) -> None:
    """Another user's or a mounted home: queries index in memory, nothing is written."""
    assert cli("add", "dataset", "d1", "--tags=a,b").returncode == 0
    before = sorted(p.name for p in cairn_home.iterdir())
    found = cli_read_only(cairn_home, "find", "dataset", "--tags=a")
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == [str(cairn_home / "local" / "dataset" / "d1")]
    loaded = cli_read_only(cairn_home, "load", "dataset", "d1", "--out=json")
    assert loaded.returncode == 0 and json.loads(loaded.stdout)["meta"]["tags"] == ["a", "b"]
    listed = cli_read_only(cairn_home, "list", "repo")
    assert listed.returncode == 0 and "local" in listed.stdout and "builtin" in listed.stdout
    script = cli_read_only(cairn_home, "find", "script", "--tags=detect,os")
    assert script.returncode == 0 and script.stdout.strip().endswith("detect-os")
    assert "readonly database" not in found.stderr + loaded.stderr + listed.stderr
    reindex = cli_read_only(cairn_home, "reindex")
    assert reindex.returncode == 1
    assert "cannot rebuild the index" in reindex.stderr and "indexes in memory" in reindex.stderr
    added = cli_read_only(cairn_home, "add", "dataset", "d2")
    assert added.returncode == 1 and str(cairn_home) in added.stderr
    assert "run: cairn reindex" not in added.stderr
    assert sorted(p.name for p in cairn_home.iterdir()) == before


def test_a_read_only_home_never_used_lists_the_builtin_scripts(
    cli_read_only: Any, cairn_home: Path
) -> None:
    cairn_home.mkdir()
    found = cli_read_only(cairn_home, "find", "script", "--tags=detect,os")
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip().endswith("detect-os")
    assert cli_read_only(cairn_home, "find", "dataset").returncode == 0
    assert list(cairn_home.iterdir()) == []


def test_without_write_access_the_index_is_kept_in_memory(
    repo: Path, cairn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Home(cairn_home).index_file.unlink()
    monkeypatch.setattr(index_mod, "may_write", lambda path: False)
    assert find(tags="images") == ["r1:cifar", "r1:mnist"]
    write_meta(repo / "dataset" / "emnist", ds("emnist", "images"))
    assert find(tags="images") == ["r1:cifar", "r1:emnist", "r1:mnist"]
    assert not Home(cairn_home).index_file.exists()


def test_another_user_s_home_is_read_and_never_written(
    cli_as_nobody: Any, shared_dir: Path
) -> None:
    """A home another user owns (``chmod -R a-w``, read by ``nobody``): find, load and list
    answer from the disk; changes and reindex say what is wrong, never "run: cairn reindex"."""
    home = shared_dir / "home"
    made = subprocess.run(
        [sys.executable, "-m", "cairn", "add", "dataset", "d1", "--tags=a,b"],
        env={**os.environ, "CAIRN_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    for file in home.glob("index.sqlite*"):
        file.unlink()  # its owner never queried it since: answering must index
    subprocess.run(["chmod", "-R", "a-w", str(home)], check=True)
    before = sorted(str(p) for p in home.rglob("*"))
    found = cli_as_nobody(home, "find", "dataset", "--tags=a")
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == [str(home / "local" / "dataset" / "d1")]
    loaded = cli_as_nobody(home, "load", "dataset", "d1", "--out=json")
    assert loaded.returncode == 0 and json.loads(loaded.stdout)["meta"]["alias"] == "d1"
    listed = cli_as_nobody(home, "list", "repo")
    assert listed.returncode == 0 and "local" in listed.stdout
    assert found.stderr == loaded.stderr == listed.stderr == ""
    reindex = cli_as_nobody(home, "reindex")
    assert reindex.returncode == 1 and "cairn may not write there" in reindex.stderr
    for argv in (("add", "dataset", "d2"), ("update", "dataset", "d1", "--meta.x=1")):
        changed = cli_as_nobody(home, *argv)
        assert changed.returncode == 1, changed.stderr
        assert "readonly database" not in changed.stderr
        assert "run: cairn reindex" not in changed.stderr
        assert "CAIRN_HOME set to a folder of your own" in changed.stderr
        assert f"cannot change {home / 'local' / 'dataset'}" in changed.stderr
    ran = cli_as_nobody(home, "run", "script", "--tags=detect,os")
    assert ran.returncode == 1 and f"Permission denied: {home / 'work'}" in ran.stderr
    assert "[Errno" not in ran.stderr and "CAIRN_HOME set to a folder of your own" in ran.stderr
    assert sorted(str(p) for p in home.rglob("*")) == before


def test_an_index_that_cannot_grow_still_answers(
    cli: Any, cli_fsize: Any, cairn_home: Path
) -> None:
    """A full disk or a file size limit (``ulimit -f``): the index file cannot be written, so
    the command reads the repositories without it, with one warning; reindex fails."""
    for number in range(10):
        assert cli("add", "dataset", f"d{number}", "--tags=a").returncode == 0
    for file in cairn_home.glob("index.sqlite*"):
        file.unlink()
    found = cli_fsize(8192, "find", "dataset", "--tags=a")
    assert found.returncode == 0, found.stderr
    assert len(found.stdout.split()) == 10
    assert found.stderr.count("cairn warning: the index") == 1
    assert str(cairn_home / "index.sqlite") in found.stderr and "ulimit -f" in found.stderr
    loaded = cli_fsize(8192, "load", "dataset", "d3", "--out=json")
    assert loaded.returncode == 0 and json.loads(loaded.stdout)["meta"]["alias"] == "d3"
    reindex = cli_fsize(8192, "reindex")
    assert reindex.returncode == 1
    assert f"the index {cairn_home / 'index.sqlite'} cannot be used" in reindex.stderr
    assert cli("find", "dataset", "--tags=a").stdout.count("\n") == 10


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (8, "cairn may not write it"),  # SQLITE_READONLY
        (13, "the disk is full"),  # SQLITE_FULL
        (778, "a file size limit"),  # SQLITE_IOERR_WRITE
        (1, "run: cairn reindex"),  # anything else
    ],
)
def test_an_index_error_says_what_to_do(code: int, says: str) -> None:
    error = sqlite3.OperationalError("boom")
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    assert says in str(index_mod._index_error(Path("/h/index.sqlite"), error))


# --- an artifact no kind finds ------------------------------------------------------------


def test_an_artifact_naming_another_automation_is_warned_about(cli: Any, cairn_home: Path) -> None:
    assert cli("add", "dataset", "d1").returncode == 0
    stray = cairn_home / "local" / "dataset" / "odd"
    stray.mkdir()
    (stray / "_cm.yaml").write_text(
        "alias: odd\nuid: '1234567812345678'\nautomation_alias: model\n"
    )
    for _ in range(2):  # read from disk, then from the index
        done = cli("find", "dataset")
        assert done.stdout.split() == [str(cairn_home / "local" / "dataset" / "d1")]
        assert f"ignoring {stray / '_cm.yaml'}: it names automation 'model'" in done.stderr
        assert "folder 'dataset'" in done.stderr
    assert "ignoring" not in cli("load", "dataset", "d1").stderr


def test_an_artifact_whose_uid_names_another_kind_is_warned_about_by_that_kind(
    cli: Any, cairn_home: Path
) -> None:
    stray = cairn_home / "local" / "script" / "odd"
    stray.mkdir(parents=True)
    (stray / "_cm.yaml").write_text(
        "alias: odd\nuid: '1234567812345678'\nautomation_alias: script\n"
        "automation_uid: 541d6f712a6b464e\n"  # the cache kind's uid: it wins over the alias
    )
    for _ in range(2):  # read from disk, then from the index
        done = cli("find", "script", "odd")
        assert done.stdout == ""
        said = f"ignoring {stray / '_cm.yaml'}: it names automation 'script' with the "
        assert said + "automation_uid of 'cache' (541d6f712a6b464e)" in done.stderr
        assert "move it to a folder 'cache' beside 'script'" in done.stderr


# --- MLCFlow repositories: meta.yaml everywhere (issue 17) ---------------------------------------

MLC_SCRIPTS = {
    "script/detect-os": mlc_script("detect-os", "863735b7db8c44fc", "detect-os", "detect", "os"),
    "script/get-python3": mlc_script("get-python3", "d0b5dd74373f4a62", "get", "python3"),
}


def scripts(identifier: str | None = None, tags: Any = None) -> list[str]:
    found = Catalog.open().find(Query.parse(SCRIPT, identifier, tags))
    return [f"{a.repo.alias}:{a.alias}" for a in found if a.repo.alias != "builtin"]


@pytest.fixture
def mlc_repo(cairn_home: Path, tmp_path: Path) -> Path:
    path = make_mlc_repo(tmp_path / "mlc", artifacts=MLC_SCRIPTS)
    Catalog.open().registry.register(path)
    return path


def test_an_mlcflow_repository_s_scripts_are_found_by_tags_and_alias(mlc_repo: Path) -> None:
    for _ in range(2):  # read from disk, then from the index
        assert scripts(tags="detect,os") == ["mlcommons@mini:detect-os"]
        assert scripts("get-python3") == ["mlcommons@mini:get-python3"]
        assert scripts("mlcommons@mini:detect-os") == ["mlcommons@mini:detect-os"]
    found = Catalog.open().find(Query.parse(SCRIPT, "detect-os"))
    assert [a.repo.dialect for a in found if a.repo.alias != "builtin"] == [MLC]


def test_an_mlcflow_repository_s_meta_files_are_watched(mlc_repo: Path) -> None:
    assert scripts(tags="python3") == ["mlcommons@mini:get-python3"]
    meta_file = mlc_repo / "script" / "get-python3" / "meta.yaml"
    data = yaml.safe_load(meta_file.read_text())
    meta_file.write_text(yaml.safe_dump({**data, "tags": ["get", "python"]}))
    assert scripts(tags="python3") == []
    assert scripts(tags="python") == ["mlcommons@mini:get-python3"]
    (mlc_repo / "script" / "get-python3" / "meta.json").write_text('{"tags": ["py"]}')
    assert scripts(tags="py") == ["mlcommons@mini:get-python3"]
    odd = mlc_repo / "script" / "odd"
    write_meta(odd, mlc_script("odd", "1234567812345678", "odd"))  # a _cm.yaml: not MLCFlow's
    assert scripts(tags="odd") == []


def test_the_index_keeps_each_repository_s_dialect(
    mlc_repo: Path, cairn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_mod, "RACY_NS", 0)  # the files just written are trusted
    scripts(tags="detect,os")
    assert rows(cairn_home, "SELECT dialect FROM repos WHERE path = ?", str(mlc_repo)) == [("mlc",)]
    again = Catalog.open().registry.one("mlcommons@mini")  # loaded from the index
    assert again.dialect is MLC and again.meta_file == mlc_repo / "meta.yaml"
    (mlc_repo / "cmr.yaml").write_text("alias: now-cm\nuid: '9cf241afa6074c00'\n")
    assert Catalog.open().index.load_repo(mlc_repo).dialect is CM


def test_a_folder_of_links_to_scripts_adds_nothing(mlc_repo: Path) -> None:
    """mlperf-automations' ``script/by-category/<category>/<name>``: relative links (or, in a
    copy that lost them, small text files) to script folders, and no meta of its own."""
    links = mlc_repo / "script" / "by-category" / "os"
    links.mkdir(parents=True)
    (links / "detect-os").symlink_to(Path("..", "..", "detect-os"))
    (links / "get-python3").write_text("../../get-python3")
    (links.parent / "README.md").write_text("# by category\n")
    for _ in range(2):
        with report.using(report.Reporter()) as reporter:
            assert scripts(tags="detect,os") == ["mlcommons@mini:detect-os"]
            assert sorted(scripts()) == ["mlcommons@mini:detect-os", "mlcommons@mini:get-python3"]
        assert reporter.warnings == []


def test_a_read_only_home_reads_an_mlcflow_repository(
    cli: Any, cli_read_only: Any, cairn_home: Path, tmp_path: Path
) -> None:
    path = make_mlc_repo(tmp_path / "mlc", artifacts=MLC_SCRIPTS)
    assert cli("add", "repo", str(path)).returncode == 0
    found = cli_read_only(cairn_home, "find", "script", "mlcommons@mini:*")
    assert found.returncode == 0, found.stderr
    assert sorted(found.stdout.split()) == [
        str(path / "script" / "detect-os"),
        str(path / "script" / "get-python3"),
    ]


def test_the_mlcflow_collection_registers_and_is_found(
    cli: Any, cairn_home: Path, tmp_path: Path
) -> None:
    """The real mlperf-automations collection (370 scripts beside ``by-category`` and a folder
    without meta), copied and registered."""
    path = corpus_copy(tmp_path / "mlperf-automations")
    added = cli("add", "repo", str(path))
    assert added.returncode == 0, added.stderr
    warned = added.stderr.splitlines()  # only the built-in scripts it takes over are named
    assert warned and all(" now serves requests for " in line for line in warned), warned
    for _ in range(2):
        by_tags = cli("find", "script", "--tags=detect,os")
        assert str(path / "script" / "detect-os") in by_tags.stdout.split()
        assert by_tags.stderr == ""
    by_alias = cli("find", "script", "mlcommons@mlperf-automations:get-python3")
    assert by_alias.stdout.split() == [str(path / "script" / "get-python3")]
    listed = cli("find", "script", "mlcommons@mlperf-automations:*")
    assert len(listed.stdout.split()) == len(list(path.glob("script/*/meta.yaml"))) == 370
    loaded = cli("load", "script", "mlcommons@mlperf-automations:get-python3", "--out=json")
    assert json.loads(loaded.stdout)["meta"]["uid"] == "d0b5dd74373f4a62"


# --- aliases CM reads but cairn would not give (issue 17) ---------------------------------------

CONTRIBUTOR = kinds.resolve("contributor")


def contributors(identifier: str | None = None) -> list[str | None]:
    return [a.alias for a in Catalog.open().find(Query.parse(CONTRIBUTOR, identifier))]


@pytest.fixture
def people(cairn_home: Path, make_repo: Callable[..., Path]) -> Path:
    """CM's contributors: ``alias: Grigori Fursin`` in ``contributor/grigori-fursin``."""
    path = make_repo(
        "people",
        artifacts={
            "contributor/grigori-fursin": {"alias": "Grigori Fursin", "uid": "0123456789abcdef"},
            "contributor/Arjun Suresh": {"alias": "Arjun Suresh", "uid": "fedcba9876543210"},
            "contributor/someone": {"alias": "someone", "uid": "1111222233334444"},
        },
    )
    Catalog.open().registry.register(path)
    return path


def test_aliases_with_spaces_are_indexed_and_found(people: Path) -> None:
    for _ in range(2):  # read from disk, then from the index
        with report.using(report.Reporter()) as reporter:
            assert contributors() == ["Arjun Suresh", "Grigori Fursin", "someone"]
            assert contributors("Grigori Fursin") == ["Grigori Fursin"]
            assert contributors("grigori fursin") == ["Grigori Fursin"]
            assert contributors("people:Arjun Suresh") == ["Arjun Suresh"]
            assert contributors("* Fursin") == ["Grigori Fursin"]
        assert reporter.warnings == []


def test_an_alias_with_spaces_is_found_and_loaded_by_the_cli(people: Path, cli: Any) -> None:
    found = cli("find", "contributor", "Grigori Fursin")
    assert found.stdout.split("\n")[0] == str(people / "contributor" / "grigori-fursin")
    loaded = cli("load", "contributor", "Grigori Fursin", "--out=json")
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["meta"]["uid"] == "0123456789abcdef"


def test_a_hook_looking_up_an_alias_with_spaces_gets_it(people: Path) -> None:
    """What a repository's script does: ``cmind.access`` with the name it read somewhere."""
    import cairn

    found = cairn.access(
        {"action": "find", "automation": "contributor", "artifact": "Grigori Fursin"}
    )
    assert found["return"] == 0, found
    assert [str(a.path) for a in found["list"]] == [str(people / "contributor" / "grigori-fursin")]


@pytest.mark.parametrize("name", ["a/b", "..", "tab\there"])
def test_a_query_name_no_folder_could_have_is_refused(people: Path, name: str) -> None:
    with pytest.raises(CairnError, match="unreadable name"):
        contributors(name)
