"""Pulling repositories from local Git remotes and archives; dependencies; freeze/restore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cairn.errors import AlreadyExists, CairnError, InvalidInput, MetaError, NotFound, Refused
from cairn.home import Home
from cairn.store import archive, git
from cairn.store.registry import Registry
from cairn.store.sources import PullRequest, Sources, alias_for, url_for
from tests.conftest import TOKEN, commit_change, sh_git
from tests.mlc_fixtures import make_mlc_repo


@pytest.fixture
def sources(cairn_home: Path) -> Sources:
    return Sources(Registry(Home(cairn_home)))


def test_url_and_alias_rules() -> None:
    assert url_for("owner@name") == "https://github.com/owner/name"
    assert alias_for("https://github.com/owner/name.git") == "owner@name"
    assert alias_for("git@github.com:owner/name.git") == "owner@name"
    assert alias_for("file:///tmp/remotes/demo.git") == "demo"
    assert alias_for("/tmp/x/my-repo.tar.gz") == "my-repo"
    with pytest.raises(InvalidInput):
        url_for("no-owner")


def test_url_template_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_REPO_URL_TEMPLATE", "file:///srv/{owner}/{name}.git")
    assert url_for("a@b") == "file:///srv/a/b.git"


def test_clone_registers_and_update_pulls(sources: Sources, remote: Any, cairn_home: Path) -> None:
    url, work = remote("alpha")
    [result] = sources.pull(PullRequest(url=url))
    assert result.action == "cloned"
    assert result.repo.path == cairn_home / "repos" / "alpha"
    assert result.repo.alias == "alpha"
    assert result.commit == sh_git("rev-parse", "HEAD", cwd=work)
    assert str(result.repo.path) in (cairn_home / "repos.json").read_text()
    new_head = commit_change(work, ["v2"])
    [again] = sources.pull(PullRequest(url=url))
    assert again.action == "updated" and again.commit == new_head


def test_checkout_pins_and_restore_reproduces(sources: Sources, remote: Any) -> None:
    url, work = remote("beta")
    first = sh_git("rev-parse", "HEAD", cwd=work)
    commit_change(work, ["v2"])
    [pinned] = sources.pull(PullRequest(url=url, checkout=first))
    assert pinned.commit == first
    frozen = sources.freeze()
    assert frozen["repos"][0]["commit"] == first and frozen["repos"][0]["url"] == url
    sources.pull(PullRequest(url=url, checkout="main"))
    assert git.head(pinned.repo.path) != first
    lock = pinned.repo.path.parent / "repos.lock"
    lock.write_text(json.dumps(frozen))
    [restored] = sources.restore(lock)
    assert restored.commit == first


@pytest.mark.parametrize(
    "url",
    [
        "--upload-pack=touch /tmp/pwned",
        "file:///tmp/x;touch /tmp/pwned",
        "https://example.invalid/$(touch /tmp/pwned)",
        "ext::sh -c touch% /tmp/pwned",
        "https://example.invalid/a`id`",
    ],
)
def test_smuggled_urls_are_refused(sources: Sources, url: str, cairn_home: Path) -> None:
    with pytest.raises(InvalidInput):
        sources.pull(PullRequest(url=url))
    assert not (cairn_home / "repos.json").exists()


def test_smuggled_branch_is_refused(sources: Sources, remote: Any) -> None:
    url, _ = remote("gamma")
    for branch in ("--upload-pack=x", "a;b", "$(id)", "a..b"):
        with pytest.raises(InvalidInput):
            sources.pull(PullRequest(url=url, branch=branch))


def test_failed_clone_leaves_nothing(sources: Sources, remote: Any, cairn_home: Path) -> None:
    url, _ = remote("delta")
    with pytest.raises(CairnError, match="git"):
        sources.pull(PullRequest(url=url, branch="no-such-branch"))
    with pytest.raises(CairnError, match="git"):
        sources.pull(PullRequest(url=url, checkout="0123456789abcdef"))
    with pytest.raises(CairnError):
        sources.pull(PullRequest(url=f"file://{cairn_home}/missing.git"))
    assert not list((cairn_home / "repos").iterdir())
    assert not (cairn_home / "repos.json").exists()


def test_clone_without_cmr_yaml_is_refused(
    sources: Sources, tmp_path: Path, cairn_home: Path
) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    (work / "README").write_text("x")
    sh_git("init", "-q", "-b", "main", cwd=work)
    sh_git("add", "-A", cwd=work)
    sh_git("commit", "-q", "-m", "x", cwd=work)
    with pytest.raises(NotFound, match=r"no cmr\.yaml"):
        sources.pull(PullRequest(url=str(work)))
    assert not list((cairn_home / "repos").iterdir())


def test_same_alias_or_uid_is_refused(sources: Sources, remote: Any, make_repo: Any) -> None:
    url, _ = remote("eps", uid="00000000000000ee")
    sources.registry.register(make_repo("eps", uid="11111111111111ee"))
    with pytest.raises(AlreadyExists, match="alias 'eps'"):
        sources.pull(PullRequest(url=url, alias="eps-clone"))
    other = make_repo("other", uid="00000000000000ee")
    registry = sources.registry
    registry.unregister(registry.one("eps"))
    registry.register(other)
    with pytest.raises(AlreadyExists, match="uid"):
        sources.pull(PullRequest(url=url))


def test_dependencies_are_pulled_and_conflicts_refused(
    sources: Sources, remote: Any, cairn_home: Path
) -> None:
    dep_url, _ = remote("dep")
    top_url, _ = remote("top", {"deps": [{"alias": "dep", "url": dep_url}]})
    results = sources.pull(PullRequest(url=top_url))
    assert [r.repo.alias for r in results] == ["top", "dep"]
    bad_url, _ = remote("bad", {"deps": [{"alias": "dep", "conflict": True}]})
    with pytest.raises(Refused, match="conflicts"):
        sources.pull(PullRequest(url=bad_url))
    assert not (cairn_home / "repos" / "bad").exists()


def test_import_archive_and_pack_round_trip(
    sources: Sources, make_repo: Any, tmp_path: Path, cairn_home: Path
) -> None:
    path = make_repo("packed", artifacts={"dataset/a": {"alias": "a", "tags": ["x"]}})
    original = sources.registry.register(path)
    archive_path = tmp_path / "packed.tar.gz"
    assert sources.pack(original, archive_path) == 2
    sources.registry.unregister(original)
    result = sources.import_archive(archive_path)
    assert result.repo.alias == "packed" and result.repo.uid == original.uid
    assert (result.repo.path / "dataset" / "a" / "_cm.yaml").is_file()
    with pytest.raises(AlreadyExists):
        sources.import_archive(archive_path)


def test_import_archive_without_cmr_writes_nothing(
    sources: Sources, tmp_path: Path, cairn_home: Path
) -> None:
    src = tmp_path / "src"
    (src / "x").mkdir(parents=True)
    (src / "x" / "f").write_text("f")
    archive.pack(src, tmp_path / "none.zip")
    with pytest.raises(NotFound, match=r"cmr\.yaml"):
        sources.import_archive(tmp_path / "none.zip")
    assert not [p for p in (cairn_home / "repos").iterdir()]


def test_credentials_in_urls_are_redacted_and_split_off() -> None:
    secret = "http://user:TOKEN@host/x.git"
    assert git.redact(secret) == "http://***@host/x.git"
    assert git.redact("https://TOKEN@host/x.git") == "https://***@host/x.git"
    assert git.redact("ssh://git:pw@host/x.git") == "ssh://***@host/x.git"
    for plain in ("ssh://git@host/x.git", "git@host:x.git", "file:///srv/x.git", "/srv/x"):
        assert git.redact(plain) == plain
        assert git.split_credentials(plain) == (plain, None)
    assert git.split_credentials(secret) == ("http://host/x.git", "user:TOKEN")
    assert git.split_credentials("https://***@host/x.git") == ("https://host/x.git", None)
    assert git.split_credentials("ssh://git:pw@host/x.git") == ("ssh://git@host/x.git", None)
    message = f"fatal: unable to access '{secret}/': 403; and 'https://a:b@c/d'"
    assert "TOKEN" not in git.redact_text(message)
    assert git.redact_text(message).count("***@") == 2


def test_a_refused_url_is_named_without_its_credentials() -> None:
    with pytest.raises(InvalidInput) as caught:
        git.check_url("https://user:TOKEN@host/x.git;rm")
    assert "TOKEN" not in str(caught.value) and "***@host" in str(caught.value)


def test_clone_over_http_uses_the_token_but_never_stores_or_shows_it(
    sources: Sources, http_remote: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, work = http_remote("alpha")
    argvs: list[list[str]] = []
    real_run = git.subprocess.run

    def spy(args: list[str], **kwargs: Any) -> Any:
        argvs.append(args)
        return real_run(args, **kwargs)

    monkeypatch.setattr(git.subprocess, "run", spy)
    [result] = sources.pull(PullRequest(url=url))

    assert result.action == "cloned"
    assert argvs and not any(TOKEN in " ".join(a) for a in argvs)  # never on a command line
    config = (result.repo.path / ".git" / "config").read_text()
    assert TOKEN not in config and "http://127.0.0.1:" in config
    assert TOKEN not in json.dumps([result.to_json(), sources.freeze()])
    new_head = commit_change(work, ["v2"])
    [again] = sources.pull(PullRequest(url=url))  # the same URL, with its token, updates
    assert again.action == "updated" and again.commit == new_head
    [(_, failed)] = sources.pull_all()  # the stored URL has no token: the server says 401
    assert isinstance(failed, CairnError) and TOKEN not in str(failed)


def test_an_old_clone_with_a_token_in_its_origin_is_shown_redacted(
    sources: Sources, remote: Any
) -> None:
    url, _ = remote("alpha")
    [result] = sources.pull(PullRequest(url=url))
    sh_git("remote", "set-url", "origin", "http://user:TOKEN@host/x.git", cwd=result.repo.path)
    assert sources.freeze()["repos"][0]["url"] == "http://***@host/x.git"


def test_import_archive_refuses_a_truncated_tar_gz_naming_it(
    sources: Sources, make_repo: Any, tmp_path: Path, cairn_home: Path
) -> None:
    path = make_repo("cut", artifacts={"dataset/a": {"alias": "a", "blob": "x" * 1000}})
    whole = tmp_path / "whole.tar.gz"
    archive.pack(path, whole)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[:-40])
    with pytest.raises(InvalidInput, match="truncated or corrupt") as info:
        sources.import_archive(cut)
    assert str(cut) in str(info.value)
    assert not [p for p in (cairn_home / "repos").iterdir()]


def test_import_archive_over_the_size_limit_is_refused(
    sources: Sources,
    make_repo: Any,
    tmp_path: Path,
    cairn_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = make_repo("big", artifacts={"dataset/a": {"alias": "a", "blob": "x" * 2000}})
    packed = tmp_path / "big.zip"
    archive.pack(path, packed)
    monkeypatch.setenv("CAIRN_ARCHIVE_MAX_SIZE", "1000")
    with pytest.raises(InvalidInput, match="CAIRN_ARCHIVE_MAX_SIZE"):
        sources.import_archive(packed)
    assert not [p for p in (cairn_home / "repos").iterdir()]


def test_an_mlcflow_repository_is_imported_as_it_is(
    sources: Sources, tmp_path: Path, cairn_home: Path
) -> None:
    src = make_mlc_repo(tmp_path / "src", artifacts={"script/s": {"alias": "s", "tags": ["x"]}})
    archive.pack(src, tmp_path / "mlc.zip")
    result = sources.import_archive(tmp_path / "mlc.zip", alias="mine")
    assert (result.repo.alias, result.repo.dialect.name) == ("mine", "mlc")
    assert sorted(p.name for p in result.repo.path.iterdir()) == ["meta.yaml", "script"]


def test_a_tree_without_either_repository_file_is_named_so(
    sources: Sources, tmp_path: Path, cairn_home: Path
) -> None:
    src = tmp_path / "src"
    (src / "x").mkdir(parents=True)
    (src / "x" / "f").write_text("f")
    archive.pack(src, tmp_path / "none.zip")
    with pytest.raises(NotFound) as info:
        sources.import_archive(tmp_path / "none.zip")
    assert "no cmr.yaml (CM) nor meta.yaml (MLCFlow)" in str(info.value)


def test_a_meta_yaml_without_uid_is_named_when_imported(
    sources: Sources, tmp_path: Path, cairn_home: Path
) -> None:
    src = tmp_path / "src"
    (src / "script").mkdir(parents=True)
    (src / "meta.yaml").write_text("alias: half\n")
    archive.pack(src, tmp_path / "half.zip")
    with pytest.raises(MetaError) as info:
        sources.import_archive(tmp_path / "half.zip")
    assert "meta.yaml: key 'uid' is missing" in str(info.value)
    assert not [p for p in (cairn_home / "repos").iterdir()]


def test_an_mlcflow_repository_is_cloned_as_it_is(
    sources: Sources, tmp_path: Path, cairn_home: Path
) -> None:
    work = make_mlc_repo(
        tmp_path / "work" / "mlc",
        alias="mlcommons@mini",
        artifacts={"script/s": {"alias": "s", "automation_alias": "script", "tags": ["x"]}},
    )
    sh_git("init", "-q", "-b", "main", cwd=work)
    sh_git("add", "-A", cwd=work)
    sh_git("commit", "-q", "-m", "mlc", cwd=work)
    [result] = sources.pull(PullRequest(url=f"file://{work}"))
    assert result.action == "cloned"
    assert (result.repo.alias, result.repo.dialect.name) == ("mlcommons@mini", "mlc")
    assert not (result.repo.path / "cmr.yaml").exists()
