"""store/repo.py: loading, validating and creating repositories on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from cairn.dialect import CM, MLC
from cairn.errors import AlreadyExists, InvalidInput, InvalidName, MetaError, NotFound
from cairn.store import repo as repo_mod
from tests.mlc_fixtures import make_mlc_repo


def test_load_reads_identity_prefix_and_deps(make_repo: Callable[..., Path]) -> None:
    path = make_repo("r1", uid="00112233445566AA", prefix="cm")
    data = yaml.safe_load((path / "cmr.yaml").read_text())
    data["deps"] = [{"alias": "other", "uid": "ffeeddccbbaa9988", "conflict": True}]
    (path / "cmr.yaml").write_text(yaml.safe_dump(data))

    loaded = repo_mod.load(path)

    assert (loaded.alias, loaded.uid, loaded.prefix) == ("r1", "00112233445566aa", "cm")
    assert loaded.root == path / "cm"
    assert loaded.deps[0].alias == "other" and loaded.deps[0].conflict is True
    assert str(loaded) == "r1,00112233445566aa"


def test_json_meta_is_merged_over_yaml(make_repo: Callable[..., Path]) -> None:
    path = make_repo("r1", uid="0011223344556677")
    (path / "cmr.json").write_text('{"alias": "renamed"}')
    assert repo_mod.load(path).alias == "renamed"


def test_load_of_a_plain_directory_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"no cmr\.yaml") as info:
        repo_mod.load(tmp_path)
    assert "cairn init repo" in str(info.value)
    with pytest.raises(NotFound, match="does not exist"):
        repo_mod.load(tmp_path / "missing")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alias: r\nuid: 1234567890123456\n", "'uid' must be a string, not int"),
        ("alias: r\nuid: 'xyz'\n", "invalid repository uid"),
        ("alias: a/b\nuid: '0011223344556677'\n", "unsafe repository alias"),
        ("uid: '0011223344556677'\n", "'alias' is missing"),
        ("alias: r\nuid: '0011223344556677'\nprefix: ../out\n", "prefix"),
        ("alias: r\nuid: '0011223344556677'\ndeps: x\n", "'deps' must be a list"),
        ("alias: [r\n", "malformed YAML"),
    ],
)
def test_bad_cmr_yaml_names_the_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "cmr.yaml").write_text(text)
    with pytest.raises(MetaError, match=r"cmr\.yaml") as info:
        repo_mod.load(tmp_path)
    assert message in str(info.value)


def test_create_writes_only_cmr_yaml(tmp_path: Path) -> None:
    target = tmp_path / "new"
    created = repo_mod.create(target, "new", prefix="sub")

    assert sorted(p.name for p in target.iterdir()) == ["cmr.yaml", "sub"]
    data = yaml.safe_load((target / "cmr.yaml").read_text())
    assert data == {"alias": "new", "uid": created.uid, "git": False, "prefix": "sub"}
    assert repo_mod.load(target) == created


def test_create_refuses_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidName):
        repo_mod.create(tmp_path / "a", "../x")
    with pytest.raises(InvalidName):
        repo_mod.create(tmp_path / "b", "ok", uid="123")
    with pytest.raises(InvalidInput, match="prefix"):
        repo_mod.create(tmp_path / "c", "ok", prefix="../up")
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidInput, match="is a file"):
        repo_mod.create(tmp_path / "file", "ok")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_create_refuses_an_existing_repository(make_repo: Callable[..., Path]) -> None:
    path = make_repo("r1")
    before = (path / "cmr.yaml").read_text()
    with pytest.raises(AlreadyExists):
        repo_mod.create(path, "other")
    assert (path / "cmr.yaml").read_text() == before


def test_has_meta(tmp_path: Path) -> None:
    assert not repo_mod.has_meta(tmp_path)
    (tmp_path / "_cm.json").write_text("{}")
    assert repo_mod.has_meta(tmp_path)
    assert not repo_mod.has_meta(tmp_path, "meta")
    (tmp_path / "meta.yaml").write_text("{}")
    assert repo_mod.has_meta(tmp_path, "meta")


# -- MLCFlow repositories: meta.yaml at the top ---------------------------------------------


def test_an_mlcflow_repository_is_read_in_its_dialect(tmp_path: Path) -> None:
    path = make_mlc_repo(tmp_path / "mlc", alias="mlcommons@mlperf-automations")

    loaded = repo_mod.load(path)

    assert (loaded.alias, loaded.uid, loaded.dialect) == (
        "mlcommons@mlperf-automations",
        "9cf241afa6074c00",
        MLC,
    )
    assert loaded.meta_file == path / "meta.yaml"
    assert loaded.artifact_meta == "meta"
    assert repo_mod.is_repo(path)


def test_cmr_yaml_wins_over_meta_yaml(make_repo: Callable[..., Path]) -> None:
    path = make_repo("r1")
    (path / "meta.yaml").write_text("alias: other\nuid: '0011223344556677'\n")
    loaded = repo_mod.load(path)
    assert (loaded.alias, loaded.dialect, loaded.meta_file.name) == ("r1", CM, "cmr.yaml")


def test_not_a_repository_names_both_dialects_files(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as info:
        repo_mod.load(tmp_path)
    assert "cmr.yaml (CM)" in str(info.value) and "meta.yaml (MLCFlow)" in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alias: r\n", "key 'uid' is missing"),
        ("uid: '0011223344556677'\n", "key 'alias' is missing"),
        ("tags: [a]\n", "key 'alias' is missing"),
    ],
)
def test_a_meta_yaml_without_alias_or_uid_names_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "meta.yaml").write_text(text)
    with pytest.raises(MetaError) as info:
        repo_mod.load(tmp_path)
    said = str(info.value)
    assert str(tmp_path / "meta.yaml") in said and message in said
    assert "MLCFlow repository" in said and "add 'alias: NAME'" in said


def test_rename_keeps_an_mlcflow_repository_s_own_file(tmp_path: Path) -> None:
    path = make_mlc_repo(tmp_path / "mlc")
    renamed = repo_mod.rename(path, "renamed")
    assert (renamed.alias, renamed.dialect) == ("renamed", MLC)
    assert sorted(p.name for p in path.iterdir()) == ["meta.yaml"]
    with pytest.raises(AlreadyExists, match=r"it has meta\.yaml"):
        repo_mod.create(path, "other")


def test_new_repositories_are_cm_ones(tmp_path: Path) -> None:
    created = repo_mod.create(tmp_path / "new", "new")
    assert created.dialect is CM and (tmp_path / "new" / "cmr.yaml").is_file()


def test_a_project_s_own_meta_yaml_does_not_make_it_a_repository(tmp_path: Path) -> None:
    (tmp_path / "meta.yaml").write_text("title: my project\n")
    assert not repo_mod.is_repo(tmp_path)
    created = repo_mod.create(tmp_path, "proj")
    assert created.dialect is CM and repo_mod.load(tmp_path).alias == "proj"
