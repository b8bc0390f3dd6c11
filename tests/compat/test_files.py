"""Scripts that make files, folders, cache entries and Git checkouts: the results are checked."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

from tests.compat.conftest import Cairn, which

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


def commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git("add", name, cwd=repo)
    git("commit", "-q", "-m", name, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


def upstream(tmp_path: Path) -> Path:
    which("git")
    repo = tmp_path / "upstream"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    commit(repo, "a.txt", "first\n")
    return repo


def test_get_cache_dir_makes_an_entry_and_reuses_it(cairn: Cairn) -> None:
    first = cairn.run("get-cache-dir")
    entry = first.result["cache_entry"]
    assert first.env == {"CM_CACHE_DIR": entry}
    assert Path(entry).is_dir()
    assert Path(entry).is_relative_to(cairn.home)
    second = cairn.run("get-cache-dir")
    assert second.result["cache"] == "hit"
    assert second.env == {"CM_CACHE_DIR": entry}


def test_create_custom_cache_entry_for_an_existing_folder(cairn: Cairn, tmp_path: Path) -> None:
    folder = tmp_path / "my-data"
    run = cairn.run("create-custom-cache-entry", f"--path={folder}", "--extra_cache_tags=my-data")
    assert folder.is_dir()
    assert run.env["CM_CUSTOM_CACHE_ENTRY_PATH"] == str(folder)
    assert run.env["CM_CUSTOM_CACHE_ENTRY_REAL_PATH"] == str(folder)
    assert run.result["cache"] == "miss"
    shown = cairn("find", "cache", "--tags=my-data")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == run.result["cache_entry"]


def test_tar_my_folder(cairn: Cairn, tmp_path: Path) -> None:
    source = tmp_path / "payload"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("a\n")
    (source / "sub" / "b.txt").write_text("b\n")
    out = tmp_path / "out"
    out.mkdir()
    cairn.run("tar-my-folder", f"--input_dir={source}", f"--output_dir={out}")
    with tarfile.open(out / "payload.tar.gz") as tar:
        names = {Path(n).as_posix().removeprefix("./") for n in tar.getnames()}
        assert {"payload/a.txt", "payload/sub/b.txt"} <= names
        member = tar.extractfile("payload/sub/b.txt")
        assert member is not None and member.read() == b"b\n"


def test_set_venv_creates_a_virtual_environment(cairn: Cairn) -> None:
    """set-venv writes into the current directory, where a script that is not cached runs."""
    cairn.run("set-venv", "--name=compat-venv")
    work = cairn.cwd
    python = work / "compat-venv" / "bin" / "python3"
    assert python.exists()
    prefix = subprocess.run(
        [str(python), "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
        capture_output=True,
        text=True,
    )
    assert prefix.stdout.strip() == "True"
    helper = (work / "venv-compat-venv.sh").read_text()
    assert "source bin/activate" in helper


def test_get_git_repo_clones_a_local_repository(cairn: Cairn, tmp_path: Path) -> None:
    source = upstream(tmp_path)
    head = git("rev-parse", "HEAD", cwd=source)
    run = cairn.run("get-git-repo", f"--env.CM_GIT_URL=file://{source}")
    env = run.env
    checkout = Path(env["CM_GIT_REPO_CHECKOUT_PATH"])
    assert checkout.is_relative_to(Path(run.result["cache_entry"]))
    assert (checkout / "a.txt").read_text() == "first\n"
    assert env["CM_GIT_REPO_CURRENT_HASH"] == head
    assert env["CM_GIT_REPO_NAME"] == "upstream"
    assert run.result["variations"] == ["_short-history"]
    again = cairn.run("get-git-repo", f"--env.CM_GIT_URL=file://{source}")
    assert again.result["cache"] == "hit"


def test_pull_git_repo_updates_a_checkout(cairn: Cairn, tmp_path: Path) -> None:
    source = upstream(tmp_path)
    clone = tmp_path / "clone"
    git("clone", "-q", str(source), str(clone), cwd=tmp_path)
    new_head = commit(source, "b.txt", "second\n")
    cairn.run("pull-git-repo", f"--path={clone}")
    assert git("rev-parse", "HEAD", cwd=clone) == new_head
    assert (clone / "b.txt").read_text() == "second\n"


def test_set_sqlite_dir(cairn: Cairn, tmp_path: Path) -> None:
    target = tmp_path / "sqlite"
    run = cairn.run("set-sqlite-dir", f"--path={target}")
    assert run.env == {"CM_SQLITE_PATH": str(target)}


def test_mlperf_results_and_submission_dirs_default_to_cache_entries(cairn: Cairn) -> None:
    results = cairn.run("get-mlperf-inference-results-dir")
    assert results.result["variations"] == ["_version.4_1-dev"]
    assert results.env["CM_MLPERF_INFERENCE_RESULTS_VERSION"] == "4_1-dev"
    assert results.env["CM_MLPERF_INFERENCE_RESULTS_DIR"] == results.result["cache_entry"]
    submission = cairn.run("get-mlperf-inference-submission-dir")
    folder = Path(submission.env["CM_MLPERF_INFERENCE_SUBMISSION_DIR"])
    assert folder == Path(submission.result["cache_entry"]) / "mlperf-inference-submission"
    assert folder.is_dir()


def test_mlperf_scratch_spaces(cairn: Cairn) -> None:
    nvidia = cairn.run("get-mlperf-inference-nvidia-scratch-space")
    entry = nvidia.result["cache_entry"]
    assert nvidia.env["CM_NVIDIA_MLPERF_SCRATCH_PATH"] == nvidia.env["MLPERF_SCRATCH_PATH"] == entry
    intel = cairn.run("get-mlperf-inference-intel-scratch-space")
    assert intel.env["CM_INTEL_MLPERF_SCRATCH_PATH"] == intel.result["cache_entry"]
    abtf = cairn.run("get-mlperf-automotive-scratch-space").env
    assert abtf["CM_ABTF_SCRATCH_PATH_MODELS"] == f"{abtf['CM_ABTF_SCRATCH_PATH']}/models"
    assert Path(abtf["CM_ABTF_SCRATCH_PATH_MODELS"]).is_dir()


def test_get_dataset_imagenet_helper_adds_itself_to_pythonpath(cairn: Cairn) -> None:
    run = cairn.run("get-dataset-imagenet-helper")
    folder = str(cairn.root / "repo" / "script" / "get-dataset-imagenet-helper")
    assert run.env == {"CM_DATASET_IMAGENET_HELPER_PATH": folder, "+PYTHONPATH": [folder]}
    assert (Path(folder) / "imagenet_helper" / "__init__.py").is_file()


def test_dump_pip_freeze_state_matches_pip(cairn: Cairn) -> None:
    run = cairn.run("dump-pip-freeze")
    frozen = run.result["new_state"]["pip_freeze"]
    python = run.dep("get-python3")["new_env"]["CM_PYTHON_BIN_WITH_PATH"]
    code = "import importlib.metadata as m; print(m.version('pip'))"
    pip = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()
    assert frozen["pip"] == pip


def test_compile_program_with_gcc(cairn: Cairn, tmp_path: Path) -> None:
    which("gcc")
    source = tmp_path / "prog"
    source.mkdir()
    (source / "main.c").write_text(
        '#include <stdio.h>\nint main(void){puts("compat-hello");return 0;}\n'
    )
    run = cairn.run(
        "compile-program",
        f"--env.CM_SOURCE_FOLDER_PATH={source}",
        "--env.CM_C_SOURCE_FILES=main.c",
        "--adr.compiler.tags=gcc",
    )
    assert run.dep("get-gcc")["script"] == "get-gcc"
    binary = source / "run.out"
    done = subprocess.run([str(binary)], capture_output=True, text=True)
    assert done.stdout == "compat-hello\n"


def test_benchmark_program_runs_the_command_and_logs_it(cairn: Cairn, tmp_path: Path) -> None:
    run = cairn.run(
        "benchmark-program", f"--env.CM_RUN_DIR={tmp_path}", "--env.CM_RUN_CMD=echo bench-ok"
    )
    assert (tmp_path / "console.out").read_text() == "bench-ok\n"
    assert "bench-ok" in run.log


def test_create_patch_between_two_folders(cairn: Cairn, tmp_path: Path) -> None:
    """create-patch writes patch.patch into the current directory."""
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "f.txt").write_text("before\n")
    (new / "f.txt").write_text("after\n")
    cairn.run(
        "create-patch",
        f"--env.CM_CREATE_PATCH_OLD={old}",
        f"--env.CM_CREATE_PATCH_NEW={new}",
    )
    patch = (cairn.cwd / "patch.patch").read_text()
    assert "-before" in patch
    assert "+after" in patch


def test_create_patch_with_its_documented_new_and_old_inputs(cairn: Cairn, tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (new / "g.txt").write_text("added\n")
    cairn.run("create-patch", f"--new={new}", f"--old={old}")
    assert "+added" in (cairn.cwd / "patch.patch").read_text()


def test_extract_file_into_a_given_folder(cairn: Cairn, tmp_path: Path) -> None:
    archive = tmp_path / "data.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        payload = tmp_path / "f.txt"
        payload.write_text("payload\n")
        tar.add(payload, arcname="f.txt")
    target = tmp_path / "extracted"
    run = cairn.run("extract-file", f"--input={archive}", f"--extract_path={target}")
    assert (target / "f.txt").read_text() == "payload\n"
    assert run.env["CM_EXTRACT_EXTRACTED_PATH"] == str(target)
    assert not archive.exists()  # CM's default: the archive is removed after extraction


def test_get_compiler_flags_with_gcc(cairn: Cairn) -> None:
    which("gcc")
    run = cairn.run("get-compiler-flags", "--adr.compiler.tags=gcc")
    assert run.env["+ CFLAGS"]


def test_get_generic_python_lib_missing_package_goes_to_pip(cairn: Cairn) -> None:
    """Offline (no index) pip then fails: the error must come from the install step."""
    run = cairn.run("get-generic-python-lib,_package.cairn-compat-no-such-package", ok=False)
    assert run.proc.returncode == 2, run.log
    assert "detect_version() failed" not in run.log
    assert "install.sh" in run.log


def test_benchmark_program_reports_a_failing_command(cairn: Cairn, tmp_path: Path) -> None:
    run = cairn.run(
        "benchmark-program", f"--env.CM_RUN_DIR={tmp_path}", "--env.CM_RUN_CMD=false", ok=False
    )
    assert run.proc.returncode == 2, run.log
    assert (tmp_path / "exitstatus").read_text().strip() == "1"
