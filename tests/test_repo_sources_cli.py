"""End to end: `cairn pull/import/pack/freeze repo` through the real command."""

from __future__ import annotations

import json
import os
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


# --- issue 18: failures name the user's file, never a staging path --------------------------------


def _no_leftovers(cairn_home: Path) -> None:
    repos = cairn_home / "repos"
    assert not repos.exists() or not [p for p in repos.iterdir() if p.name.startswith(".")]


def test_an_archive_with_a_repeated_entry_names_it(
    cli: Any, tmp_path: Path, cairn_home: Path
) -> None:
    import warnings
    import zipfile

    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zf.writestr("repo/cmr.yaml", "alias: dup\nuid: '1111111111111111'\n")
        zf.writestr("repo/a", "x")
        zf.writestr("repo/a", "y")
    done = cli("import", "repo", str(path))
    assert done.returncode == 1
    assert f"{path}: entry 'repo/a' appears twice; nothing was extracted" in done.stderr
    assert ".cairn-tmp" not in done.stderr
    _no_leftovers(cairn_home)


def test_a_full_disk_during_import_names_the_entry(
    cli_fsize: Any, tmp_path: Path, cairn_home: Path
) -> None:
    import zipfile

    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("repo/cmr.yaml", "alias: big\nuid: '9999999999999999'\n")
        zf.writestr("repo/dataset/d/blob", os.urandom(300_000))
    done = cli_fsize(200_000, "import", "repo", str(path))
    assert done.returncode == 1
    assert f"{path}: cannot extract entry 'repo/dataset/d/blob': File too large" in done.stderr
    assert "raise the limit or free space" in done.stderr and ".cairn-tmp" not in done.stderr
    _no_leftovers(cairn_home)


def test_a_bad_cmr_yaml_in_an_archive_is_named_inside_the_archive(
    cli: Any, tmp_path: Path, cairn_home: Path
) -> None:
    import zipfile

    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("repo/cmr.yaml", "alias: bad\nuid: 1234\n")
    done = cli("import", "repo", str(path))
    assert done.returncode == 1
    assert f"{path}/repo/cmr.yaml: key 'uid' must be a string" in done.stderr
    assert ".cairn-tmp" not in done.stderr
    _no_leftovers(cairn_home)


def test_parallel_imports_of_one_archive_register_it_once(
    cli: Any, make_repo: Callable[..., Path], tmp_path: Path, cairn_home: Path
) -> None:
    import shutil
    import subprocess
    import sys

    repo = make_repo("race", artifacts={f"dataset/d{i}": {"alias": f"d{i}"} for i in range(50)})
    packed = shutil.make_archive(str(tmp_path / "race"), "zip", repo.parent, "race")
    environ = {**os.environ, "CAIRN_HOME": str(cairn_home)}
    command = [sys.executable, "-m", "cairn", "import", "repo", packed]
    procs = [
        subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(8)
    ]
    results = [(p.wait(timeout=120), p.communicate()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0] + [8] * 7, results
    for code, (_, err) in results:
        if code:
            assert b"is already registered" in err, err
            assert b".cairn-tmp" not in err and b"cairn rm repo race" in err, err
    again = cli("import", "repo", packed)
    assert again.returncode == 8 and "remove it first (cairn rm repo race)" in again.stderr
    assert cli("find", "dataset", "d4").stdout.strip().endswith("/repos/race/dataset/d4")
    _no_leftovers(cairn_home)


def test_a_clone_whose_alias_is_taken_never_names_its_staging_copy(
    cli: Any, remote: Any, make_repo: Callable[..., Path]
) -> None:
    assert cli("add", "repo", str(make_repo("taken"))).returncode == 0
    url, _ = remote("other", uid="0123456789abcdef", cmr={"alias": "taken"})
    done = cli("pull", "repo", f"--url={url}")
    assert done.returncode == 8, done.stderr
    assert "a repository with alias 'taken' is already registered" in done.stderr
    assert "remove the other: cairn rm repo taken" in done.stderr
    assert ".cairn-tmp" not in done.stderr and "--alias" not in done.stderr


def test_a_bad_dependency_url_names_the_repository_that_wants_it(cli: Any, tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "withdep.zip"
    with zipfile.ZipFile(path, "w") as zf:
        cmr = "alias: withdep\nuid: 'bbbbbbbbbbbbbbbb'\ndeps:\n- alias: other\n  url: 'h;x'\n"
        zf.writestr("repo/cmr.yaml", cmr)
    done = cli("pull", "repo", f"--url={path}")
    assert done.returncode == 1
    assert "repository 'withdep' (" in done.stderr
    assert "/repos/withdep/cmr.yaml) needs repository other, which cannot be pulled" in done.stderr


def test_add_repo_names_a_dependency_that_is_not_registered(
    cli: Any, make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    path = make_repo("needy")
    cmr = (
        "alias: needy\nuid: 'cccccccccccccccc'\ndeps:\n- alias: other\n  url: https://h/other.git\n"
    )
    (path / "cmr.yaml").write_text(cmr + "- alias: local\n- alias: gone\n  conflict: true\n")
    done = cli("add", "repo", str(path))
    assert done.returncode == 0, done.stderr
    said = f"repository needy ({path / 'cmr.yaml'}) needs repository other, which is not registered"
    assert said in done.stderr and "cairn pull repo --url=https://h/other.git" in done.stderr
    assert "local" not in done.stderr and "gone" not in done.stderr


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
