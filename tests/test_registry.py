"""store/registry.py: repos.json, the search order, registering and unregistering."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn import report
from cairn.errors import AlreadyExists, CairnError, MetaError, NotFound, Refused
from cairn.home import Home
from cairn.store import repo as repo_mod
from cairn.store.registry import Registry


@pytest.fixture
def registry(cairn_home: Path) -> Registry:
    return Registry(Home(cairn_home))


def test_fresh_home_has_local_then_builtin(registry: Registry, cairn_home: Path) -> None:
    repos = registry.repos()
    assert [r.alias for r in repos] == ["local", "builtin"]
    assert repos[0].path == cairn_home / "local"
    assert (cairn_home / "local" / "cmr.yaml").is_file()
    assert not registry.home.repos_file.exists()
    assert registry.paths() == []


def test_register_appends_in_order_and_writes_json(
    registry: Registry, make_repo: Callable[..., Path]
) -> None:
    first, second = make_repo("r1"), make_repo("r2")
    registry.register(first)
    registry.register(second)

    assert [r.alias for r in registry.repos()] == ["local", "builtin", "r1", "r2"]
    data = json.loads(registry.home.repos_file.read_text())
    assert data == {"format": 1, "repos": [str(first), str(second)]}
    assert not list(registry.home.root.glob(".repos.json.*"))  # no temp files left


def test_cm_style_plain_list_is_read(registry: Registry, make_repo: Callable[..., Path]) -> None:
    path = make_repo("r1")
    registry.home.root.mkdir(parents=True, exist_ok=True)
    registry.home.repos_file.write_text(json.dumps([str(path)]))
    assert registry.one("r1").path == path


def test_clashes_are_refused_and_nothing_changes(
    registry: Registry, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    registry.register(make_repo("r1", uid="0011223344556677"))
    before = registry.home.repos_file.read_text()
    same_alias = make_repo("r1b")
    (same_alias / "cmr.yaml").write_text("alias: r1\nuid: '1111111111111111'\n")
    same_uid = make_repo("r2", uid="0011223344556677")
    named_local = make_repo("r3")
    (named_local / "cmr.yaml").write_text("alias: local\nuid: '2222222222222222'\n")

    with pytest.raises(AlreadyExists, match="alias 'r1' is already registered"):
        registry.register(same_alias)
    with pytest.raises(AlreadyExists, match="uid 0011223344556677"):
        registry.register(same_uid)
    with pytest.raises(AlreadyExists, match="alias 'local'"):
        registry.register(named_local)
    with pytest.raises(AlreadyExists, match="already registered"):
        registry.register(tmp_path / "repos" / "r1")
    twin = make_repo("twin", uid="0011223344556677")
    (twin / "cmr.yaml").write_text("alias: r1\nuid: '0011223344556677'\n")
    with pytest.raises(AlreadyExists, match="'r1' \\(uid 0011223344556677\\) is already") as caught:
        registry.register(twin)
    assert "remove the other first: cairn rm repo r1" in caught.value.hint
    assert registry.home.repos_file.read_text() == before


def test_one_by_alias_uid_or_both(registry: Registry, make_repo: Callable[..., Path]) -> None:
    registry.register(make_repo("r1", uid="0011223344556677"))
    assert registry.one("r1").uid == "0011223344556677"
    assert registry.one("0011223344556677").alias == "r1"
    assert registry.one("r1,0011223344556677").alias == "r1"
    with pytest.raises(NotFound, match="'nope' is not registered"):
        registry.one("nope")


def test_unregister_keeps_files_and_protects_builtins(
    registry: Registry, make_repo: Callable[..., Path]
) -> None:
    path = make_repo("r1")
    registry.unregister(registry.register(path))
    assert [r.alias for r in registry.repos()] == ["local", "builtin"]
    assert (path / "cmr.yaml").is_file()
    for alias in ("local", "builtin"):
        with pytest.raises(Refused, match="always present"):
            registry.unregister(registry.one(alias))


def test_broken_registered_repo_is_skipped_with_a_warning_and_can_be_forgotten(
    registry: Registry, make_repo: Callable[..., Path]
) -> None:
    good, bad = make_repo("good"), make_repo("bad")
    registry.register(good)
    registry.register(bad)
    (bad / "cmr.yaml").write_text("alias: bad\nuid: 1234567890123456\n")
    collected = report.Reporter()

    with report.using(collected):
        aliases = [r.alias for r in Registry(registry.home).repos()]

    assert aliases == ["local", "builtin", "good"]
    assert any(str(bad / "cmr.yaml") in w and "rm repo" in w for w in collected.warnings)
    registry.unregister_path(bad)
    assert registry.paths() == [good]
    with pytest.raises(NotFound):
        registry.unregister_path(bad)


def test_malformed_repos_json_is_a_clear_error(registry: Registry) -> None:
    registry.home.root.mkdir(parents=True)
    registry.home.repos_file.write_text("{oops")
    with pytest.raises(MetaError, match=r"repos\.json is malformed"):
        registry.paths()
    registry.home.repos_file.write_text('{"repos": [1]}')
    with pytest.raises(MetaError, match="list of paths"):
        registry.paths()


def test_check_free_sees_a_repo_not_yet_written(
    registry: Registry, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    registry.register(make_repo("r1"))
    planned = repo_mod.new(tmp_path / "fresh", "r1")
    with pytest.raises(CairnError, match="alias 'r1'"):
        registry.check_free(planned)
    assert not (tmp_path / "fresh").exists()


def test_empty_repos_json_is_a_clear_error_and_is_not_overwritten(
    registry: Registry, make_repo: Callable[..., Path]
) -> None:
    registry.home.root.mkdir(parents=True)
    registry.home.repos_file.write_text("")
    with pytest.raises(MetaError, match=r"repos\.json is empty") as caught:
        registry.paths()
    assert "delete it" in str(caught.value)
    with pytest.raises(MetaError):
        registry.register(make_repo("r1"))
    assert registry.home.repos_file.read_text() == ""


def test_newer_format_is_refused_and_not_rewritten(
    registry: Registry, make_repo: Callable[..., Path]
) -> None:
    registry.home.root.mkdir(parents=True)
    text = json.dumps({"format": 99, "repos": []})
    registry.home.repos_file.write_text(text)
    with pytest.raises(MetaError, match="written by a newer cairn"):
        registry.paths()
    with pytest.raises(MetaError):
        registry.register(make_repo("r1"))
    assert registry.home.repos_file.read_text() == text
    registry.home.repos_file.write_text(json.dumps({"format": "one", "repos": []}))
    with pytest.raises(MetaError, match="format"):
        registry.paths()


def test_duplicate_entries_are_listed_once_with_a_warning(
    registry: Registry, make_repo: Callable[..., Path]
) -> None:
    path = make_repo("r1")
    registry.home.root.mkdir(parents=True, exist_ok=True)
    entries = [str(path), f"{path}/", f"{path}/../{path.name}"]
    registry.home.repos_file.write_text(json.dumps({"format": 1, "repos": entries}))
    collected = report.Reporter()

    with report.using(collected):
        assert registry.paths() == [path]
        assert [r.alias for r in registry.repos()] == ["local", "builtin", "r1"]

    assert any("more than once" in w and str(path) in w for w in collected.warnings)
    registry.unregister_path(path)
    assert registry.paths() == []


def test_relative_entries_resolve_against_the_home_not_the_cwd(
    registry: Registry,
    make_repo: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry.home.root.mkdir(parents=True, exist_ok=True)
    inside = make_repo("r1")
    moved = registry.home.repos_dir / "r1"
    moved.parent.mkdir(parents=True)
    inside.rename(moved)
    registry.home.repos_file.write_text(json.dumps({"format": 1, "repos": ["repos/r1"]}))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "repos").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)

    assert registry.paths() == [moved]
    assert registry.one("r1").path == moved
    registry.unregister_path(moved)
    assert registry.paths() == []
