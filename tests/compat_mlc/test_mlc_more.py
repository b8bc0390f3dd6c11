"""More of the collection's scripts that run offline: cache entries, folders, venvs, checkouts,
and the generic system-utility detection."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.compat_mlc.conftest import Mlc, tool_output, which
from tests.compat_mlc.test_mlc_files import bare_upstream, git


def test_get_cache_dir_makes_an_entry_and_reuses_it(mlc: Mlc) -> None:
    first = mlc.run("get,cache,dir", alias="get-cache-dir")
    entry = first.result["cache_entry"]
    assert first.env == {"MLC_CACHE_DIR": entry}
    assert Path(entry).is_dir()
    assert Path(entry).is_relative_to(mlc.home)
    second = mlc.run("get,cache,dir", alias="get-cache-dir")
    assert second.result["cache"] == "hit"
    assert second.env == {"MLC_CACHE_DIR": entry}
    mlc.assert_reference_keys("get-cache-dir", first)


def test_create_custom_cache_entry_for_a_folder(mlc: Mlc, tmp_path: Path) -> None:
    folder = tmp_path / "my-data"
    args = (f"--path={folder}", "--extra_cache_tags=my-mlc-data")
    run = mlc.run("create,custom,cache,entry", *args, alias="create-custom-cache-entry")
    assert folder.is_dir()
    assert run.env["MLC_CUSTOM_CACHE_ENTRY_PATH"] == str(folder)
    shown = mlc("find", "cache", "--tags=my-mlc-data")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == run.result["cache_entry"]
    mlc.assert_reference_keys("create-custom-cache-entry", run)


def test_set_venv_takes_its_name_from_the_artifact_word(mlc: Mlc, tmp_path: Path) -> None:
    """``set venv NAME``: the word after the tags is an artifact for the script (its README)."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = mlc("run", "script", "set venv", "mlcvenv", "--quiet", "--out=json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert json.loads(proc.stdout)["path"] == str(mlc.script("set-venv"))
    python = cwd / "mlcvenv" / "bin" / "python3"
    code = "import sys; print(sys.prefix != sys.base_prefix)"
    inside = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    assert inside.stdout.strip() == "True"
    assert "bin/activate" in (cwd / "venv-mlcvenv.sh").read_text()


def test_set_sqlite_dir_is_its_cache_entry(mlc: Mlc, tmp_path: Path) -> None:
    """Its hook sets ``MLC_SQLITE_PATH`` to the work folder, the cache entry (``--path`` is
    overwritten: the same with mlcflow)."""
    run = mlc.run("set,sqlite,dir", f"--path={tmp_path}", alias="set-sqlite-dir")
    assert run.env["MLC_SQLITE_PATH"] == run.result["cache_entry"]
    mlc.assert_reference_keys("set-sqlite-dir", run)


def test_get_generic_sys_util_detects_cmake_without_installing(mlc: Mlc) -> None:
    cmake = which("cmake", mlc.env)
    run = mlc.run("get,generic-sys-util,_cmake", alias="get-generic-sys-util")
    version = re.search(r"cmake version ([\d.]+)", tool_output(cmake, "--version"))
    assert version is not None
    assert run.env["MLC_CMAKE_VERSION"] == version.group(1)
    mlc.assert_reference_keys("get-generic-sys-util", run)


def test_pull_git_repo_fast_forwards_a_checkout(mlc: Mlc, tmp_path: Path) -> None:
    bare = bare_upstream(tmp_path)
    clone = tmp_path / "clone"
    git("clone", "-q", str(bare), str(clone), cwd=tmp_path)
    work = tmp_path / "pusher"
    git("clone", "-q", str(bare), str(work), cwd=tmp_path)
    (work / "b.txt").write_text("second\n")
    git("add", "b.txt", cwd=work)
    git("commit", "-q", "-m", "second", cwd=work)
    git("push", "-q", "origin", "HEAD", cwd=work)
    mlc.run("pull,git,repo", f"--path={clone}", alias="pull-git-repo")
    assert git("rev-parse", "HEAD", cwd=clone) == git("rev-parse", "HEAD", cwd=work)
    assert (clone / "b.txt").read_text() == "second\n"
