"""store/catalog.py: queries over every repository and atomic changes to artifacts."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cairn import kinds, report
from cairn.dialect import MLC
from cairn.errors import AlreadyExists, Ambiguous, CairnError, InvalidInput, MetaError, NotFound
from cairn.home import Home
from cairn.store.catalog import Catalog, Query, Target
from cairn.store.repo import Repo
from tests.mlc_fixtures import make_mlc_repo

DATASET = kinds.resolve("dataset")
UID_A = "aaaaaaaaaaaaaaaa"
UID_B = "bbbbbbbbbbbbbbbb"


def ds(alias: str, uid: str, *tags: str, **extra: Any) -> dict[str, Any]:
    meta = {"alias": alias, "uid": uid, "automation_alias": "dataset", "tags": list(tags)}
    return {**meta, **extra}


@pytest.fixture
def catalog(cairn_home: Path, make_repo: Callable[..., Path]) -> Catalog:
    """Two registered repositories: r1 (mnist, cifar) and r2 with a prefix (mnist, imagenet)."""
    r1 = make_repo(
        "r1",
        artifacts={
            "dataset/mnist": ds("mnist", UID_A, "images", "digits"),
            "dataset/cifar": ds("cifar", "cccccccccccccccc", "images", "color"),
            "model/resnet": {"alias": "resnet", "automation_alias": "model"},
        },
    )
    r2 = make_repo(
        "r2",
        prefix="cm",
        artifacts={
            "dataset/mnist": ds("mnist", UID_B, "images", "digits", "big"),
            "dataset/imagenet": ds("imagenet", "dddddddddddddddd", "images"),
        },
    )
    cat = Catalog.open(Home(cairn_home))
    cat.registry.register(r1)
    cat.registry.register(r2)
    return cat


def names(found: list[Any]) -> list[str]:
    return [f"{a.repo.alias}:{a.alias}" for a in found]


def query(identifier: str | None = None, tags: Any = None) -> Query:
    return Query.parse(DATASET, identifier, tags)


@pytest.mark.parametrize(
    ("identifier", "tags", "expected"),
    [
        (None, None, ["r1:cifar", "r1:mnist", "r2:imagenet", "r2:mnist"]),
        ("mnist", None, ["r1:mnist", "r2:mnist"]),
        ("MNIST", None, ["r1:mnist", "r2:mnist"]),
        ("*net", None, ["r2:imagenet"]),
        ("?ifar", None, ["r1:cifar"]),
        (UID_B, None, ["r2:mnist"]),
        (f"mnist,{UID_A}", None, ["r1:mnist"]),
        (f"{UID_A},mnist", None, ["r1:mnist"]),
        ("r2:", None, ["r2:imagenet", "r2:mnist"]),
        ("r2:mnist", None, ["r2:mnist"]),
        ("r*:cifar", None, ["r1:cifar"]),
        (None, "images,digits", ["r1:mnist", "r2:mnist"]),
        (None, "images,-digits", ["r1:cifar", "r2:imagenet"]),
        (None, ["digits", "-big"], ["r1:mnist"]),
        ("mnist", "color", []),
        ("nothing", None, []),
    ],
)
def test_find(catalog: Catalog, identifier: str | None, tags: Any, expected: list[str]) -> None:
    assert names(catalog.find(query(identifier, tags))) == expected


def test_prefix_repo_keeps_artifacts_under_it(catalog: Catalog, tmp_path: Path) -> None:
    (found,) = catalog.find(query("imagenet"))
    assert found.path == tmp_path / "repos" / "r2" / "cm" / "dataset" / "imagenet"


def test_other_automations_and_foreign_meta_are_not_found(catalog: Catalog, tmp_path: Path) -> None:
    stray = tmp_path / "repos" / "r1" / "dataset" / "stray"
    stray.mkdir()
    (stray / "_cm.yaml").write_text(yaml.safe_dump({"alias": "stray", "automation_alias": "x"}))
    (tmp_path / "repos" / "r1" / "dataset" / "no-meta").mkdir()
    assert names(catalog.find(query("st*"))) == []
    assert names(catalog.find(query("no-meta"))) == []
    assert [a.alias for a in catalog.find(Query.parse(kinds.resolve("model")))] == ["resnet"]


def test_broken_meta_is_skipped_with_a_warning_naming_it(catalog: Catalog, tmp_path: Path) -> None:
    folder = tmp_path / "repos" / "r1" / "dataset"
    (folder / "broken").mkdir()
    (folder / "broken" / "_cm.yaml").write_text("alias: broken\ntags: [a\n")
    (folder / "numuid").mkdir()
    (folder / "numuid" / "_cm.yaml").write_text("alias: numuid\nuid: 1234567890123456\n")
    collected = report.Reporter()
    with report.using(collected):
        found = names(catalog.find(query()))
    assert found == ["r1:cifar", "r1:mnist", "r2:imagenet", "r2:mnist"]
    text = "\n".join(collected.warnings)
    assert str(folder / "broken" / "_cm.yaml") in text
    assert str(folder / "numuid" / "_cm.yaml") in text and "must be a string" in text


def test_find_one_explains_none_and_several(catalog: Catalog) -> None:
    with pytest.raises(NotFound, match="no artifact matches: dataset nothing"):
        catalog.find_one(query("nothing"))
    with pytest.raises(Ambiguous) as info:
        catalog.find_one(query("mnist"))
    message = str(info.value)
    assert "r1:mnist" in message and "r2:mnist" in message
    assert "qualify the name with its repository, e.g. r1:mnist" in message
    with pytest.raises(Ambiguous, match="name it by uid"):
        catalog.find_one(query("r1:", "images"))
    assert catalog.find_one(query("r2:mnist")).uid == UID_B


def test_add_writes_identity_first_and_refuses_duplicates(catalog: Catalog) -> None:
    r1 = catalog.registry.one("r1")
    added = catalog.add(DATASET, Target(r1, "new", None), {"tags": ["x"], "size": 3})
    data = yaml.safe_load((added.path / "_cm.yaml").read_text())
    assert list(data) == ["alias", "uid", "automation_alias", "tags", "size"]
    assert added.path == r1.path / "dataset" / "new"

    with pytest.raises(AlreadyExists, match="already exists in repository 'r1'"):
        catalog.add(DATASET, Target(r1, "NEW", None), {})
    with pytest.raises(AlreadyExists):
        catalog.add(DATASET, Target(r1, "other", added.uid), {})
    assert sorted(p.name for p in (r1.path / "dataset").iterdir()) == ["cifar", "mnist", "new"]


def test_add_json_and_uid_only(catalog: Catalog) -> None:
    local = catalog.registry.local()
    added = catalog.add(DATASET, Target(local, None, UID_A.upper()), {}, fmt="json")
    assert added.path.name == UID_A
    assert json.loads((added.path / "_cm.json").read_text())["uid"] == UID_A


def test_add_checks_meta_before_writing(catalog: Catalog) -> None:
    local = catalog.registry.local()
    with pytest.raises(MetaError, match="tags"):
        catalog.add(DATASET, Target(local, "x", None), {"tags": [None]})
    with pytest.raises(InvalidInput, match="must be a string"):
        catalog.add(DATASET, Target(local, "x", None), {"uid": 1234567890123456})
    with pytest.raises(InvalidInput, match="name given is 'x'"):
        catalog.add(DATASET, Target(local, "x", None), {"alias": "y"})
    assert not (local.path / "dataset").exists() or not any((local.path / "dataset").iterdir())
    by_meta = catalog.add(DATASET, Target(local, None, None), {"alias": "m", "uid": UID_B})
    assert (by_meta.alias, by_meta.uid, by_meta.path.name) == ("m", UID_B, "m")


def test_update_keeps_formats_and_identity(catalog: Catalog, tmp_path: Path) -> None:
    (mnist,) = catalog.find(query("r1:mnist"))
    (mnist.path / "_cm.json").write_text('{"size": 1}')
    mnist = catalog.find_one(query("r1:mnist"))
    updated = catalog.update(mnist, lambda m: {**m, "size": 2, "note": "n"})
    assert json.loads((mnist.path / "_cm.json").read_text()) == {"size": 2}
    assert yaml.safe_load((mnist.path / "_cm.yaml").read_text())["note"] == "n"
    assert updated.meta["size"] == 2
    with pytest.raises(InvalidInput, match="cannot change 'uid'"):
        catalog.update(updated, lambda m: {**m, "uid": UID_B})


def test_remove_deletes_the_directory(catalog: Catalog) -> None:
    cifar = catalog.find_one(query("cifar"))
    catalog.remove(cifar)
    assert not cifar.path.exists()
    assert not list(cifar.path.parent.glob(".cairn-tmp-*"))


def test_move_renames_changes_uid_and_moves(catalog: Catalog) -> None:
    cifar = catalog.find_one(query("cifar"))
    renamed = catalog.move(cifar, Target(cifar.repo, "cifar10", None))
    assert renamed.path.name == "cifar10" and renamed.uid == cifar.uid
    assert not cifar.path.exists()

    new_uid = catalog.move(renamed, Target(renamed.repo, None, "eeeeeeeeeeeeeeee"))
    assert (new_uid.path, new_uid.uid) == (renamed.path, "eeeeeeeeeeeeeeee")

    r2 = catalog.registry.one("r2")
    moved = catalog.move(new_uid, Target(r2, None, None))
    assert moved.path == r2.root / "dataset" / "cifar10"
    assert moved.meta["alias"] == "cifar10"


def test_move_and_copy_refuse_to_overwrite(catalog: Catalog) -> None:
    r1_mnist = catalog.find_one(query("r1:mnist"))
    r2 = catalog.registry.one("r2")
    cifar = catalog.find_one(query("cifar"))
    before = (cifar.path / "_cm.yaml").read_text()
    with pytest.raises(AlreadyExists):
        catalog.move(cifar, Target(cifar.repo, "mnist", None))
    with pytest.raises(AlreadyExists):
        catalog.copy(cifar, Target(cifar.repo, "mnist", None), [])
    with pytest.raises(AlreadyExists):
        catalog.move(r1_mnist, Target(r2, None, None))
    with pytest.raises(InvalidInput, match="already there"):
        catalog.move(cifar, Target(cifar.repo, None, None))
    assert (cifar.path / "_cm.yaml").read_text() == before
    assert r1_mnist.path.is_dir()


def test_copy_gets_a_new_uid_and_tags(catalog: Catalog) -> None:
    cifar = catalog.find_one(query("cifar"))
    (cifar.path / "data.txt").write_text("payload")
    copied = catalog.copy(cifar, Target(catalog.registry.local(), None, None), ["copy"])
    assert copied.alias == "cifar" and copied.uid != cifar.uid
    assert copied.tags == ("images", "color", "copy")
    assert (copied.path / "data.txt").read_text() == "payload"
    assert cifar.tags == ("images", "color")


def test_query_is_empty_and_prints_back() -> None:
    assert query().is_empty
    assert not query(None, "-x").is_empty
    assert str(query("r1:mn*", "a,-b")) == "dataset r1:mn* --tags=a,-b"
    with pytest.raises(CairnError):
        query("a:b:c")


def _add_keys(home: str, worker: int) -> None:
    import os as _os

    _os.environ["CAIRN_HOME"] = home
    import cairn

    art = cairn.load("dataset", "shared")
    for n in range(5):
        art = cairn.update(art, {f"w{worker}_{n}": n})


def test_concurrent_updates_lose_nothing(cairn_home: Path) -> None:
    import multiprocessing

    import cairn

    cairn.add("dataset", "shared")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_keys, args=(str(cairn_home), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    data = cairn.load("dataset", "shared").meta
    assert {k for k in data if k.startswith("w")} == {
        f"w{w}_{n}" for w in range(4) for n in range(5)
    }


def test_new_artifact_folders_honour_the_umask(cairn_home: Path) -> None:
    import os

    import cairn

    old = os.umask(0o022)
    try:
        made = cairn.add("dataset", "shared-one")
        copied = cairn.access(
            {"action": "copy", "automation": "dataset", "artifacts": ["shared-one", "shared-two"]}
        )
    finally:
        os.umask(old)
    assert copied["return"] == 0, copied
    assert made.path.stat().st_mode & 0o777 == 0o755
    assert (made.path.parent / "shared-two").stat().st_mode & 0o777 == 0o755


# --- failures of the file system name the artifact (issue 18, item 10) -------------------------


def _leftovers(root: Path) -> list[str]:
    """Staging folders and temporary meta files anywhere under ``root``."""
    return [
        str(p) for p in root.rglob("*") if p.name.startswith(".cairn-tmp") or p.suffix == ".tmp"
    ]


def test_a_full_disk_names_the_artifact_and_changes_nothing(
    cli: Any, cli_fsize: Any, cairn_home: Path, tmp_path: Path
) -> None:
    assert cli("add", "dataset", "small").returncode == 0
    small = cairn_home / "local" / "dataset" / "small"
    (small / "data").write_bytes(b"y" * 300_000)
    before = (small / "_cm.yaml").read_text()
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"meta": {"blob": "x" * 300_000}}))
    for argv, named in [
        (("add", "dataset", "big", f"@{big}"), "cannot create {local}/big: File too large: "),
        (("copy", "dataset", "small", "twin"), "cannot create {local}/twin: File too large: "),
        (("update", "dataset", "small", f"@{big}"), "File too large: {local}/small/_cm.yaml"),
    ]:
        done = cli_fsize(200_000, *argv)
        assert done.returncode == 1, done.stderr
        assert named.format(local=small.parent) in done.stderr
        assert "raise the limit or free space" in done.stderr
        assert ".cairn-tmp" not in done.stderr and ".tmp" not in done.stderr
    assert sorted(p.name for p in small.parent.iterdir()) == ["small"]
    assert (small / "_cm.yaml").read_text() == before
    assert _leftovers(cairn_home) == []


def test_no_space_left_while_writing_a_meta_names_it(
    cairn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    import cairn

    assert cairn.access("add dataset d")["return"] == 0
    meta_file = cairn_home / "local" / "dataset" / "d" / "_cm.yaml"
    before = meta_file.read_text()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    r = cairn.access("update dataset d --meta.x=1")
    assert r["return"] == 1
    assert r["error"].startswith(f"No space left on device: {meta_file} (the disk is full")
    assert meta_file.read_text() == before and _leftovers(cairn_home) == []


def test_a_read_only_repository_is_named_with_what_to_do(
    cli: Any, cli_read_only: Any, make_repo: Callable[..., Path]
) -> None:
    repo = make_repo("ro", artifacts={"dataset/d": ds("d", UID_A)})
    assert cli("add", "repo", str(repo)).returncode == 0
    folder = repo / "dataset"
    for argv, named in [
        (("add", "dataset", "ro:new"), f"cannot create {folder}/new: "),
        (("update", "dataset", "ro:d", "--meta.x=1"), f"{folder}/d/_cm.yaml"),
        (("rm", "dataset", "ro:d", "-f"), f"cannot remove {folder}/d: "),
        (("copy", "dataset", "ro:d", "ro:twin"), f"cannot create {folder}/twin: "),
        (("mv", "dataset", "ro:d", "moved"), f"cannot move {folder}/d to {folder}/moved: "),
    ]:
        done = cli_read_only(repo, *argv)
        assert done.returncode == 1, done.stderr
        assert named in done.stderr
        assert "work on a writable copy" in done.stderr or "fix its permissions" in done.stderr
        assert ".cairn-tmp" not in done.stderr and ".tmp" not in done.stderr
    copied = cli("copy", "dataset", "ro:d", "local:d")  # the way out the hint gives
    assert copied.returncode == 0, copied.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["d"]


def test_another_user_s_repository_is_named_with_what_to_do(
    cli_as_nobody: Any, shared_dir: Path
) -> None:
    """A repository another user owns, registered in one's own home (run as ``nobody``):
    each change fails naming the artifact or meta file and what to do, and changes nothing
    (issue 18, item 10: no temporary twin, lock file or staging folder is named)."""
    repo = shared_dir / "theirs"
    (repo / "dataset" / "d").mkdir(parents=True)
    (repo / "cmr.yaml").write_text(f"alias: theirs\nuid: {UID_B}\n")
    (repo / "dataset" / "d" / "_cm.yaml").write_text(yaml.safe_dump(ds("d", UID_A)))
    subprocess.run(["chmod", "-R", "a-w", str(repo)], check=True)
    home = shared_dir / "mine"
    home.mkdir()
    home.chmod(0o777)
    assert cli_as_nobody(home, "add", "repo", str(repo)).returncode == 0
    folder = repo / "dataset"
    mine = home / "local" / "dataset"
    for argv, named in [
        (("add", "dataset", "theirs:new"), f"cannot create {folder}/new: "),
        (("update", "dataset", "theirs:d", "--meta.x=1"), f"{folder}/d/_cm.yaml"),
        (("rm", "dataset", "theirs:d", "-f"), f"cannot remove {folder}/d: "),
        (("copy", "dataset", "theirs:d", "theirs:twin"), f"cannot create {folder}/twin: "),
        (("mv", "dataset", "theirs:d", "moved"), f"cannot move {folder}/d to {folder}/moved: "),
        (("mv", "dataset", "theirs:d", "local:d"), f"cannot move {folder}/d to {mine}/d: "),
    ]:
        done = cli_as_nobody(home, *argv)
        assert done.returncode == 1, done.stderr
        assert named in done.stderr and "Permission denied" in done.stderr
        assert "fix its permissions, or work on a copy you own" in done.stderr
        assert ".cairn-tmp" not in done.stderr and ".tmp" not in done.stderr
        assert ".lock" not in done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["d"]
    assert not (mine / "d").exists()
    copied = cli_as_nobody(home, "copy", "dataset", "theirs:d", "local:d")  # the hint's way out
    assert copied.returncode == 0, copied.stderr


def test_a_denied_write_names_the_meta_file_not_its_temporary_twin(
    cairn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root no permission stops a write: the denial is simulated in ``mkstemp``."""
    import errno
    import tempfile

    import cairn

    assert cairn.access("add dataset d")["return"] == 0
    meta_file = cairn_home / "local" / "dataset" / "d" / "_cm.yaml"

    def denied(*args: Any, dir: str = "", **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/._cm.yaml.x1y2.tmp")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    r = cairn.access("update dataset d --meta.x=1")
    assert r["return"] == 1
    assert r["error"].startswith(f"Permission denied: {meta_file} (you may not change it")


# -- MLCFlow repositories and names CM reads (issue 17) ------------------------------------------


@pytest.fixture
def mlc(catalog: Catalog, tmp_path: Path) -> Repo:
    """An MLCFlow repository (``meta.yaml`` files) registered beside r1 and r2."""
    path = make_mlc_repo(
        tmp_path / "mlc", artifacts={"dataset/coco": ds("coco", "eeeeeeeeeeeeeeee", "images")}
    )
    return catalog.registry.register(path)


def test_an_mlcflow_repository_s_artifacts_are_found_and_changed_in_meta_yaml(
    catalog: Catalog, mlc: Repo
) -> None:
    coco = catalog.find_one(query("mlcommons@mini:coco"))
    assert coco.repo.dialect is MLC and coco.tags == ("images",)
    updated = catalog.update(coco, lambda m: {**m, "tags": ["images", "big"]})
    assert updated.tags == ("images", "big")
    assert sorted(p.name for p in coco.path.iterdir()) == ["meta.yaml"]


def test_adding_into_an_mlcflow_repository_writes_meta_yaml(catalog: Catalog, mlc: Repo) -> None:
    added = catalog.add(DATASET, Target(mlc, "kits", None), {"tags": ["med"]})
    assert sorted(p.name for p in added.path.iterdir()) == ["meta.yaml"]
    assert names(catalog.find(query(tags="med"))) == ["mlcommons@mini:kits"]
    folder = mlc.root / "dataset" / "own"
    folder.mkdir()
    adopted = catalog.adopt(DATASET, folder, {"tags": ["own"]}, fmt="json")
    assert sorted(p.name for p in adopted.path.iterdir()) == ["meta.json"]
    here = catalog.here(DATASET, folder)
    assert here.alias == "own"


def test_copying_between_dialects_renames_the_meta_files(catalog: Catalog, mlc: Repo) -> None:
    mnist = catalog.find_one(query("r1:mnist"))
    copied = catalog.copy(mnist, Target(mlc, "mnist2", None), [])
    assert sorted(p.name for p in copied.path.iterdir()) == ["meta.yaml"]
    r1 = catalog.registry.one("r1")
    coco = catalog.find_one(query("coco"))
    moved = catalog.move(coco, Target(r1, None, None))
    assert sorted(p.name for p in moved.path.iterdir()) == ["_cm.yaml"]
    assert names(catalog.find(query("coco"))) == ["r1:coco"]


def test_a_name_cm_reads_is_found_but_never_given(catalog: Catalog, tmp_path: Path) -> None:
    r1 = catalog.registry.one("r1")
    folder = r1.root / "dataset" / "spaced"
    folder.mkdir()
    (folder / "_cm.yaml").write_text(yaml.safe_dump(ds("Open Images", "ffffffffffffffff")))
    found = catalog.find_one(query("Open Images"))
    assert found.path == folder
    with pytest.raises(InvalidInput, match="unsafe alias 'Open Images'") as info:
        catalog.copy(found, Target(r1, None, None), [])
    assert "give it a new name" in str(info.value)
    assert catalog.copy(found, Target(r1, "open-images", None), []).alias == "open-images"
    with pytest.raises(InvalidInput, match="unsafe alias"):
        catalog.add(DATASET, Target(r1, "Open Images 2", None), {})


_FULL_DISK_DRIVER = """
import json, os, subprocess, sys
disk = sys.argv[1]
home = os.path.join(disk, "home")
env = {**os.environ, "CAIRN_HOME": home}

def cairn(*argv):
    done = subprocess.run([sys.executable, "-m", "cairn", *argv], env=env, capture_output=True,
                          text=True)
    return [done.returncode, done.stdout, done.stderr]

out = {"made": cairn("add", "dataset", "d1")}
for name in os.listdir(home):
    if name.startswith("index.sqlite"):
        os.unlink(os.path.join(home, name))
fd = os.open(os.path.join(disk, "fill"), os.O_WRONLY | os.O_CREAT)
try:
    while True:
        os.write(fd, bytes(65536))
except OSError:
    pass
out["find"] = cairn("find", "dataset")
out["add"] = cairn("add", "dataset", "d2")
out["update"] = cairn("update", "dataset", "d1", "--meta.x=" + "y" * 20000)
out["listing"] = sorted(os.listdir(os.path.join(home, "local", "dataset")))
print(json.dumps(out))
"""
_TMPFS = 'mount -t tmpfs -o size=512k tmpfs "$1" && exec "$0" -c "$2" "$1"'


def test_a_full_disk_names_the_user_s_files(tmp_path: Path) -> None:
    """A real full disk (a 512 KiB tmpfs, mounted in a private mount namespace): find still
    answers (the index cannot grow: one warning), add and update fail naming the artifact or
    its meta file and saying to free space, and nothing half-made is left (issue 18, item 10)."""
    import os
    import shutil
    import sys

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("mounting a small file system needs root and unshare")
    disk = tmp_path / "disk"
    disk.mkdir()
    command = ["unshare", "--mount", "sh", "-c", _TMPFS, sys.executable, str(disk)]
    done = subprocess.run(
        [*command, _FULL_DISK_DRIVER], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0 and "mount" in done.stderr:
        pytest.skip(f"a tmpfs cannot be mounted here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    home = disk / "home"
    folder = home / "local" / "dataset"
    assert out["made"][0] == 0, out["made"]
    code, found, warned = out["find"]
    assert code == 0 and found.split() == [str(folder / "d1")]
    assert f"the index {home / 'index.sqlite'} cannot be written" in warned
    for key, named in (("add", f"cannot create {folder / 'd2'}: "), ("update", "")):
        code, _, err = out[key]
        assert code == 1, err
        assert "No space left on device" in err and "free some space, then retry" in err
        assert str(folder / ("d2" if key == "add" else "d1")) in err
        assert named in err and ".cairn-tmp" not in err and ".tmp" not in err
    assert f"{folder / 'd1' / '_cm.yaml'}" in out["update"][2]
    assert out["listing"] == ["d1"]
