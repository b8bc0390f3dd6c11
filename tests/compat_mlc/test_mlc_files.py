"""MLCFlow scripts that run programs and make files, archives, checkouts and patches: the
results on disk are checked (contents, digests, hashes), not only the env they report."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
from pathlib import Path

from tests.compat_mlc.conftest import Mlc, which

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def bare_upstream(tmp_path: Path) -> Path:
    """A bare repository with one commit (``a.txt``), as a server would hold it."""
    which("git")
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    (work / "a.txt").write_text("first\n")
    git("add", "a.txt", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    bare = tmp_path / "upstream.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return bare


def payload(tmp_path: Path) -> Path:
    source = tmp_path / "payload"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("a\n")
    (source / "sub" / "b.txt").write_text("b\n")
    return source


def test_run_python_runs_the_command_with_the_detected_python(mlc: Mlc) -> None:
    run = mlc.run("run,python", "--command=-c print(6*7)", alias="run-python")
    assert "42" in run.proc.stdout.splitlines() + run.log.splitlines()
    assert run.dep("get-python3")["new_env"]["MLC_PYTHON_BIN_WITH_PATH"]


def test_get_git_repo_clones_a_local_bare_repository(mlc: Mlc, tmp_path: Path) -> None:
    bare = bare_upstream(tmp_path)
    head = git("rev-parse", "HEAD", cwd=bare)
    url = f"--env.MLC_GIT_URL=file://{bare}"
    run = mlc.run("get,git,repo", url, alias="get-git-repo")
    env = run.env
    checkout = Path(env["MLC_GIT_REPO_CHECKOUT_PATH"])
    assert checkout.is_relative_to(Path(run.result["cache_entry"]))
    assert (checkout / "a.txt").read_text() == "first\n"
    assert env["MLC_GIT_CHECKOUT_PATH"] == str(checkout)
    assert git("rev-parse", "HEAD", cwd=checkout) == head
    assert env["MLC_GIT_REPO_URL"] == f"file://{bare}"
    assert env["MLC_GIT_REPO_NAME"] == "upstream.git"
    assert env["MLC_GIT_REPO_CHECKOUT"] == "main"
    assert f"g{head[:7]}" in env["MLC_GIT_REPO_VERSION_STRING"]
    mlc.assert_reference_keys("get-git-repo", run)
    again = mlc.run("get,git,repo", url, alias="get-git-repo")
    assert again.result["cache"] == "hit"


def test_tar_my_folder_packs_the_folder(mlc: Mlc, tmp_path: Path) -> None:
    source = payload(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    args = (f"--input_dir={source}", f"--output_dir={out}")
    run = mlc.run("run,tar", *args, alias="tar-my-folder")
    archive = out / "payload.tar.gz"
    with tarfile.open(archive) as tar:
        names = {Path(n).as_posix().removeprefix("./") for n in tar.getnames()}
        assert {"payload/a.txt", "payload/sub/b.txt"} <= names
        member = tar.extractfile("payload/sub/b.txt")
        assert member is not None and member.read() == b"b\n"
    mlc.assert_reference_keys("tar-my-folder", run)


def test_extract_file_unpacks_a_local_archive(mlc: Mlc, tmp_path: Path) -> None:
    archive = tmp_path / "payload.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(payload(tmp_path), arcname="payload")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run = mlc.run("extract,file", f"--input={archive}", alias="extract-file", cwd=cwd)
    env = run.env
    extracted = Path(env["MLC_EXTRACT_EXTRACTED_PATH"])
    assert extracted == cwd
    assert env["MLC_EXTRACT_EXTRACTED_SUBDIR_PATH"] == str(cwd / "payload")
    assert (extracted / "payload" / "sub" / "b.txt").read_text() == "b\n"
    assert (extracted / "payload" / "a.txt").read_text() == "a\n"
    mlc.assert_reference_keys("extract-file", run)


def test_download_file_of_a_local_url_with_curl(mlc: Mlc, tmp_path: Path) -> None:
    """``file://`` through curl (mlcflow's default downloader, Python's requests, cannot
    fetch ``file://`` URLs: "No connection adapters were found")."""
    which("curl", mlc.env)
    source = tmp_path / "data.txt"
    source.write_text("hello from a local file\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    url = f"--url=file://{source}"
    run = mlc.run("download,file,_curl", url, alias="download-file", cwd=cwd)
    downloaded = Path(run.env["MLC_DOWNLOAD_DOWNLOADED_PATH"])
    assert downloaded == cwd / "data.txt"
    digest = hashlib.sha256(downloaded.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()
    mlc.assert_reference_keys("download-file", run)


def test_create_patch_writes_a_unified_diff_of_two_folders(mlc: Mlc, tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "f.txt").write_text("one\ntwo\n")
    (new / "f.txt").write_text("one\nthree\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run = mlc.run("create,patch", f"--old={old}", f"--new={new}", alias="create-patch", cwd=cwd)
    expected = subprocess.run(["diff", "-Naur", str(old), str(new)], capture_output=True).stdout
    patch = (cwd / "patch.patch").read_bytes()
    assert patch == expected
    assert b"-two\n" in patch and b"+three\n" in patch
    mlc.assert_reference_keys("create-patch", run)


def test_benchmark_program_runs_the_command_and_keeps_its_output(mlc: Mlc, tmp_path: Path) -> None:
    rundir = tmp_path / "bench"
    rundir.mkdir()
    run = mlc.run(
        "benchmark-program",
        "--env.MLC_RUN_CMD=echo bench-ok",
        f"--env.MLC_RUN_DIR={rundir}",
        alias="benchmark-program",
    )
    assert "echo bench-ok" in run.env["MLC_RUN_CMD"]
    assert "bench-ok" in (rundir / "console.out").read_text()
    mlc.assert_reference_keys("benchmark-program", run)
