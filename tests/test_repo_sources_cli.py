"""End to end: `cairn pull/import/pack/freeze repo` through the real command."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import TOKEN, commit_change, sh_git


def test_pull_by_url_find_at_once_then_update(cli: Any, remote: Any, cairn_home: Path) -> None:
    url, work = remote("alpha")
    done = cli("pull", "repo", f"--url={url}")
    assert done.returncode == 0, done.stderr
    assert "cloned" in done.stdout
    found = cli("find", "dataset", "--tags=v1")
    assert found.stdout.strip() == str(cairn_home / "repos" / "alpha" / "dataset" / "alpha-data")
    commit_change(work, ["v2"])
    assert cli("pull", "repo").returncode == 0  # no name: update every Git repository
    assert cli("find", "dataset", "--tags=v2").stdout.strip().endswith("alpha-data")
    listing = json.loads(cli("list", "repo", "--out=json").stdout)["list"]
    alpha = next(r for r in listing if r["alias"] == "alpha")
    assert alpha["url"] == url and alpha["commit"] == sh_git("rev-parse", "HEAD", cwd=work)


def test_owner_name_uses_the_url_template(cli: Any, remote: Any, tmp_path: Path) -> None:
    remote("beta")
    template = f"file://{tmp_path}/remotes/{{name}}.git"
    done = cli("pull", "repo", "someone@beta", env={"CAIRN_REPO_URL_TEMPLATE": template})
    assert done.returncode == 0, done.stderr
    assert "someone@beta" in done.stdout


def test_freeze_and_restore(cli: Any, remote: Any, tmp_path: Path) -> None:
    url, work = remote("gamma")
    first = sh_git("rev-parse", "HEAD", cwd=work)
    assert cli("pull", "repo", f"--url={url}").returncode == 0
    frozen = cli("freeze", "repo")
    assert frozen.returncode == 0
    lock = tmp_path / "repos.lock"
    lock.write_text(frozen.stdout)
    commit_change(work, ["v2"])
    assert cli("pull", "repo").returncode == 0
    restored = cli("pull", "repo", f"--from={lock}")
    assert restored.returncode == 0, restored.stderr
    assert first[:12] in restored.stdout


def test_pack_and_import(cli: Any, make_repo: Callable[..., Path], tmp_path: Path) -> None:
    path = make_repo("packme", artifacts={"model/m": {"alias": "m", "tags": ["net"]}})
    assert cli("add", "repo", str(path)).returncode == 0
    out = tmp_path / "packme.tar.gz"
    assert cli("pack", "repo", "packme", f"--to={out}").returncode == 0
    assert cli("rm", "repo", "packme").returncode == 0
    done = cli("import", "repo", str(out))
    assert done.returncode == 0, done.stderr
    assert cli("find", "model", "--tags=net").stdout.strip().endswith("/model/m")


def test_bad_inputs_fail_cleanly(cli: Any, remote: Any, cairn_home: Path) -> None:
    url, _ = remote("delta")
    cases = [
        ("pull", "repo", "--url=--upload-pack=touch /tmp/x"),
        ("pull", "repo", f"--url={url};touch /tmp/x"),
        ("pull", "repo", f"--url={url}", "--branch=$(id)"),
        ("pull", "repo", f"--url={url}", "--branch=nope"),
        ("pull", "repo", f"--url={url}", "--depth=-1"),
        ("import", "repo", "/nonexistent.zip"),
        ("pull", "repo", "--from=/nonexistent.lock"),
    ]
    for argv in cases:
        done = cli(*argv)
        assert done.returncode != 0, argv
        assert done.stderr.startswith("cairn error:"), (argv, done.stderr)
        assert "Traceback" not in done.stderr
    assert not (cairn_home / "repos.json").exists()
    assert (
        not [p for p in (cairn_home / "repos").glob("*")]
        if (cairn_home / "repos").exists()
        else True
    )


def test_a_token_in_a_pull_url_is_never_printed_or_stored(
    cli: Any, http_remote: Any, cairn_home: Path
) -> None:
    url, work = http_remote("alpha")
    pulled = cli("pull", "repo", f"--url={url}", "--out=json")
    assert pulled.returncode == 0, pulled.stderr
    shown = [
        pulled,
        cli("list", "repo"),
        cli("list", "repo", "--out=json"),
        cli("info", "repo", "alpha"),
        cli("freeze", "repo"),
    ]
    assert all(done.returncode == 0 for done in shown)
    assert all(TOKEN not in done.stdout + done.stderr for done in shown)
    assert f"http://127.0.0.1:{url.rsplit(':', 1)[1]}" in cli("freeze", "repo").stdout
    assert TOKEN not in (cairn_home / "repos" / "alpha" / ".git" / "config").read_text()

    new_head = commit_change(work, ["v2"])
    refused = cli("pull", "repo")  # the stored URL has no token and nothing supplies one
    assert refused.returncode == 1 and TOKEN not in refused.stdout + refused.stderr
    helper = f"!f() {{ echo username=user; echo password={TOKEN}; }}; f"
    with_helper = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "credential.helper"}
    updated = cli("pull", "repo", env={**with_helper, "GIT_CONFIG_VALUE_0": helper})
    assert updated.returncode == 0, updated.stderr  # a credential helper supplies it
    listing = json.loads(cli("list", "repo", "--out=json").stdout)["list"]
    assert next(r for r in listing if r["alias"] == "alpha")["commit"] == new_head


def test_import_with_alias_registers_that_alias(
    cli: Any, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    path = make_repo("packme", artifacts={"model/m": {"alias": "m", "tags": ["net"]}})
    assert cli("add", "repo", str(path)).returncode == 0
    out = tmp_path / "packme.zip"
    assert cli("pack", "repo", "packme", f"--to={out}").returncode == 0
    assert cli("rm", "repo", "packme").returncode == 0
    done = cli("import", "repo", str(out), "--alias=renamed", "--out=json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(cli("list", "repo", "--out=json").stdout)["list"]
    aliases = {r["alias"] for r in listed}
    assert "renamed" in aliases and "packme" not in aliases
    found = cli("find", "model", "renamed:m")
    assert found.returncode == 0 and found.stdout.strip().endswith("/renamed/model/m")
    again = cli("import", "repo", str(out), "--alias=third")
    assert again.returncode == 8
    assert "already registered" in again.stderr and "(alias 'renamed')" in again.stderr
    assert "cairn rm repo renamed" in again.stderr


def test_freeze_names_a_repository_it_cannot_pin(
    cli: Any, remote: Any, make_repo: Callable[..., Path]
) -> None:
    url, _ = remote("pinned")
    assert cli("pull", "repo", f"--url={url}").returncode == 0
    plain = make_repo("plain-folder")
    assert cli("add", "repo", str(plain)).returncode == 0
    frozen = cli("freeze", "repo")
    assert frozen.returncode == 0, frozen.stderr
    assert [r["alias"] for r in json.loads(frozen.stdout)["repos"]] == ["pinned"]
    assert f"repository plain-folder ({plain}) is not a Git clone" in frozen.stderr
    assert "local" not in frozen.stderr and "builtin" not in frozen.stderr
