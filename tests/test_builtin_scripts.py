"""The scripts shipped in the built-in repository, each run through the real ``cairn`` command.

Every test checks what the script reports (env keys and values, files on disk), not only the
exit code. Nothing here uses the network: Git remotes, downloads and archives are made in
``tmp_path``, and pip is pointed at a local folder with ``PIP_NO_INDEX``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import platform
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cairn.home import builtin_repo_path
from tests.conftest import json_out

Cli = Callable[..., subprocess.CompletedProcess[str]]
OFFLINE_PIP = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}
SCRIPTS = builtin_repo_path() / "script"


def run_ok(cli: Cli, tags: str, *flags: str, **kw: Any) -> dict[str, Any]:
    """Run ``cairn run script TAGS FLAGS --out=json``; it must succeed; its JSON result."""
    proc = cli("run", "script", tags, *flags, "--out=json", **kw)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    result: dict[str, Any] = json_out(proc)
    assert result["return"] == 0
    result["stderr"] = proc.stderr
    return result


def run_fails(cli: Cli, tags: str, *flags: str, **kw: Any) -> str:
    """Run it expecting a failure without a traceback; the error text."""
    proc = cli("run", "script", tags, *flags, **kw)
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr
    assert "cairn error:" in proc.stderr
    return proc.stderr


def cache_dirs(home: Path) -> list[Path]:
    folder = home / "local" / "cache"
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def python_says(python: str, code: str) -> str:
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """The caller's directory for runs whose outputs are not cached."""
    path = tmp_path / "cwd"
    path.mkdir()
    return path


# --- the scripts' meta --------------------------------------------------------------------


def test_every_builtin_script_has_a_quoted_unique_uid_and_is_found(cli: Cli) -> None:
    metas = [yaml.safe_load(p.read_text()) for p in sorted(SCRIPTS.glob("*/_cm.yaml"))]
    assert len(metas) == 8
    uids = [m["uid"] for m in metas]
    assert all(isinstance(u, str) and re.fullmatch(r"[0-9a-f]{16}", u) for u in uids)
    assert len(set(uids)) == len(uids)
    assert {m["automation_uid"] for m in metas} == {"5b4e0237da074764"}
    found = cli("find", "script")
    assert found.returncode == 0, found.stderr
    for meta in metas:
        assert meta["alias"] in found.stdout


# --- detect-os, detect-cpu ----------------------------------------------------------------


def test_detect_os_matches_platform_and_os_release(cli: Cli) -> None:
    result = run_ok(cli, "detect os")
    env = result["new_env"]
    assert result["cache"] == "not cached"
    assert env["CM_HOST_OS_TYPE"] == platform.system().lower()
    assert env["CM_HOST_PLATFORM_FLAVOR"] == platform.machine()
    assert env["CM_HOST_OS_KERNEL_VERSION"] == platform.release()
    bits = subprocess.run(["getconf", "LONG_BIT"], capture_output=True, text=True, check=True)
    assert env["CM_HOST_OS_BITS"] == bits.stdout.strip()
    assert env["CM_HOST_SYSTEM_NAME"] == platform.node()
    if sys.platform == "darwin":
        assert env["CM_HOST_OS_FLAVOR"] == "macos"
        assert env["CM_HOST_OS_VERSION"] == platform.mac_ver()[0]
    elif Path("/etc/os-release").exists():
        release = platform.freedesktop_os_release()
        assert env["CM_HOST_OS_FLAVOR"] == release["ID"]
        assert env["CM_HOST_OS_VERSION"] == release.get("VERSION_ID", "")
        assert env["CM_HOST_OS_FLAVOR_LIKE"] == release.get("ID_LIKE", "")


def test_detect_cpu_counts_cores_and_memory_after_detect_os(cli: Cli) -> None:
    result = run_ok(cli, "detect cpu")
    env = result["new_env"]
    assert [d["script"] for d in result["deps"]] == ["detect-os"]
    assert not any(k.startswith("CM_HOST_OS_") for k in env)  # detect-os's keys stay inside
    assert env["CM_HOST_CPU_TOTAL_LOGICAL_CORES"] == str(os.cpu_count())
    assert env["CM_HOST_CPU_TOTAL_CORES"] == str(os.cpu_count())
    assert env["CM_HOST_CPU_MODEL_NAME"].strip()
    if sys.platform.startswith("linux"):
        assert env["CM_HOST_CPU_ARCHITECTURE"] == platform.machine()
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        assert abs(int(env["CM_HOST_MEMORY_CAPACITY_BYTES"]) - memory) <= memory // 100
        assert env["CM_HOST_MEMORY_CAPACITY"] == f"{round(memory / 2**30)}G"


# --- get-python3 --------------------------------------------------------------------------


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """A PATH folder whose only ``python3`` claims to be Python 3.4.0."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    fake = folder / "python3"
    fake.write_text('#!/bin/sh\necho "$0"\necho 3.4.0\n')
    fake.chmod(0o755)
    return folder


def test_get_python3_finds_python3_on_path_with_its_real_version(
    cli: Cli, cairn_home: Path
) -> None:
    result = run_ok(cli, "get python3")
    env = result["new_env"]
    python = env["CM_PYTHON_BIN_WITH_PATH"]
    assert python == os.path.join(env["CM_PYTHON_BIN_PATH"], env["CM_PYTHON_BIN"])
    version = python_says(python, "import platform; print(platform.python_version())")
    assert env["CM_PYTHON_VERSION"] == result["version"] == version
    assert env["CM_PYTHON_MAJOR_VERSION"] == version.split(".")[0] == "3"
    assert env["CM_PYTHON_MINOR_VERSION"] == version.split(".")[1]
    assert env["+PATH"] == [env["CM_PYTHON_BIN_PATH"]]
    assert result["cache"] == "miss"
    again = run_ok(cli, "get python3")
    assert again["cache"] == "hit"
    assert again["new_env"] == env
    assert len(cache_dirs(cairn_home)) == 1


def test_get_python3_path_input_and_passing_constraints(cli: Cli) -> None:
    version = platform.python_version()
    result = run_ok(
        cli, "get python3", f"--path={sys.executable}", f"--version_min={version}",
        f"--version_max={version}",
    )  # fmt: skip
    assert result["new_env"]["CM_PYTHON_BIN_WITH_PATH"] == sys.executable
    assert result["new_env"]["CM_PYTHON_VERSION"] == version
    folder = run_ok(cli, "get python3", f"--path={Path(sys.executable).parent}")
    assert folder["new_env"]["CM_PYTHON_VERSION"] == version


def test_get_python3_prefers_path_then_falls_back_to_cairns_python(
    cli: Cli, fake_bin: Path
) -> None:
    path = {"PATH": str(fake_bin)}
    first = run_ok(cli, "get python3", env=path)
    assert first["new_env"]["CM_PYTHON_BIN_WITH_PATH"] == str(fake_bin / "python3")
    assert first["new_env"]["CM_PYTHON_VERSION"] == "3.4.0"
    newer = run_ok(cli, "get python3", "--version_min=3.5", env=path)
    assert newer["new_env"]["CM_PYTHON_BIN_WITH_PATH"] == sys.executable
    assert newer["new_env"]["CM_PYTHON_VERSION"] == platform.python_version()
    exact = run_ok(cli, "get python3", "--version=3.4", env=path)
    assert exact["new_env"]["CM_PYTHON_VERSION"] == "3.4.0"


def test_get_python3_failing_constraint_lists_what_was_found(
    cli: Cli, fake_bin: Path, cairn_home: Path
) -> None:
    error = run_fails(cli, "get python3", "--version_min=99", env={"PATH": str(fake_bin)})
    assert "satisfies version_min=99" in error
    assert f"{fake_bin / 'python3'}: 3.4.0" in error
    assert f"{sys.executable}: {platform.python_version()}" in error
    assert "--path=" in error
    error = run_fails(cli, "get python3", f"--path={sys.executable}", "--version_max=3.0")
    assert "at the given path satisfies version_max=3.0" in error
    assert f"{sys.executable}: {platform.python_version()}" in error
    error = run_fails(cli, "get python3", f"--path={fake_bin / 'missing'}")
    assert f"{fake_bin / 'missing'}: not found" in error
    assert cache_dirs(cairn_home) == []


# --- get-generic-python-lib ---------------------------------------------------------------


def distribution_version(python: str, name: str) -> str:
    return python_says(python, f"from importlib import metadata; print(metadata.version({name!r}))")


def test_generic_python_lib_reports_the_version_in_the_chosen_python(
    cli: Cli, cairn_home: Path
) -> None:
    chosen = {"CM_PYTHON_BIN_WITH_PATH": sys.executable}
    flag = f"--env.CM_PYTHON_BIN_WITH_PATH={sys.executable}"
    result = run_ok(cli, "get generic-python-lib _package.packaging", flag)
    assert result["new_env"] == {
        "CM_PYTHONLIB_PACKAGING_VERSION": distribution_version(sys.executable, "packaging")
    }
    assert result["variations"] == ["_package.packaging"]
    (python3,) = result["deps"]
    assert python3["script"] == "get-python3"
    assert python3["new_env"]["CM_PYTHON_BIN_WITH_PATH"] == chosen["CM_PYTHON_BIN_WITH_PATH"]
    again = run_ok(cli, "get generic-python-lib _package.packaging", flag)
    assert again["cache"] == "hit"
    assert again["new_env"] == result["new_env"]


def test_generic_python_lib_looks_in_the_target_python_not_in_cairns(
    cli: Cli, tmp_path: Path
) -> None:
    bare = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = str(bare / "bin" / "python")
    error = run_fails(
        cli, "get generic-python-lib _package.packaging", f"--adr.python.path={python}",
        env=OFFLINE_PIP,
    )  # fmt: skip
    assert f"'packaging' is not installed in {python}" in error
    assert "--install" in error


def test_generic_python_lib_refuses_to_install_without_permission(
    cli: Cli, cairn_home: Path
) -> None:
    flag = f"--env.CM_PYTHON_BIN_WITH_PATH={sys.executable}"
    name = "cairn-no-such-package-xyz"
    error = run_fails(cli, f"get generic-python-lib _package.{name}", flag, env=OFFLINE_PIP)
    assert f"Python package {name!r} is not installed in {sys.executable}" in error
    assert "add --install (or --env.CM_PYTHON_LIB_INSTALL=yes)" in error
    error = run_fails(
        cli, "get generic-python-lib _package.packaging", flag, "--version_max=0.1",
        env=OFFLINE_PIP,
    )  # fmt: skip
    installed = distribution_version(sys.executable, "packaging")
    assert f"packaging {installed} is installed in {sys.executable}" in error
    assert "version_max=0.1 is required" in error
    error = run_fails(cli, "get generic-python-lib _package.--index-url=x", flag)
    assert "give a valid package name" in error
    assert [p for p in cache_dirs(cairn_home) if "generic" in (p / "_cm.json").read_text()] == []


def make_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel, written by hand (no build backend, no network)."""
    module, dist_info = name.replace("-", "_"), f"{name.replace('-', '_')}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


def test_generic_python_lib_installs_with_pip_when_allowed(cli: Cli, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    make = [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)]
    subprocess.run(make, check=True)
    python = str(venv / "bin" / "python")
    if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode:
        pytest.skip("no pip in the base interpreter")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "cairn-probe-pkg", "1.2.3")
    offline = {**OFFLINE_PIP, "PIP_FIND_LINKS": str(wheels)}
    tags = "get generic-python-lib _package.cairn-probe-pkg"
    flag = f"--env.CM_PYTHON_BIN_WITH_PATH={python}"
    run_fails(cli, tags, flag, env=offline)
    assert not list(venv.glob("lib/python*/site-packages/cairn_probe_pkg"))
    result = run_ok(cli, tags, flag, "--install", env=offline)
    assert result["new_env"] == {"CM_PYTHONLIB_CAIRN_PROBE_PKG_VERSION": "1.2.3"}
    assert distribution_version(python, "cairn-probe-pkg") == "1.2.3"
    error = run_fails(cli, tags.replace("probe", "missing"), flag, "--install", env=offline)
    assert "pip could not install it" in error


# --- get-git-repo -------------------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def bare_repo(tmp_path: Path, name: str) -> tuple[str, dict[str, str]]:
    """A bare repository: ``main`` with one.txt then two.txt, ``dev`` adding dev.txt."""
    work = tmp_path / "git-work" / name
    work.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=work)
    commits = {}
    for branch, file in (("main", "one.txt"), ("main", "two.txt"), ("dev", "dev.txt")):
        if branch == "dev":
            git("checkout", "-q", "-b", "dev", cwd=work)
        (work / file).write_text(f"{name} {file}\n")
        git("add", file, cwd=work)
        git("commit", "-q", "-m", file, cwd=work)
        commits[file] = git("rev-parse", "HEAD", cwd=work)
    git("checkout", "-q", "main", cwd=work)
    bare = tmp_path / "git-remotes" / f"{name}.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return f"file://{bare}", commits


def test_get_git_repo_clones_a_branch_into_the_cache(cli: Cli, tmp_path: Path) -> None:
    url, commits = bare_repo(tmp_path, "alpha")
    result = run_ok(cli, "get git repo", f"--url={url}", "--branch=dev")
    env = result["new_env"]
    checkout = Path(env["CM_GIT_CHECKOUT_PATH"])
    assert checkout.parent == Path(result["cache_entry"])
    assert (checkout / "dev.txt").read_text() == "alpha dev.txt\n"
    assert env["CM_GIT_REPO_CURRENT_HASH"] == commits["dev.txt"]
    assert env["CM_GIT_REPO_BRANCH"] == "dev"
    assert env["CM_GIT_REPO_URL"] == url
    assert git("rev-parse", "HEAD", cwd=checkout) == commits["dev.txt"]


def test_get_git_repo_checks_out_a_commit_even_in_a_shallow_clone(cli: Cli, tmp_path: Path) -> None:
    url, commits = bare_repo(tmp_path, "alpha")
    result = run_ok(cli, "get git repo", f"--url={url}", "--branch=dev", "--depth=1",
                    f"--checkout={commits['one.txt']}")  # fmt: skip
    checkout = Path(result["new_env"]["CM_GIT_CHECKOUT_PATH"])
    assert result["new_env"]["CM_GIT_REPO_CURRENT_HASH"] == commits["one.txt"]
    assert (checkout / "one.txt").exists()
    assert not (checkout / "two.txt").exists()
    assert not (checkout / "dev.txt").exists()


def test_get_git_repo_url_is_part_of_the_cache_key(
    cli: Cli, tmp_path: Path, cairn_home: Path
) -> None:
    url_a, commits_a = bare_repo(tmp_path, "alpha")
    url_b, commits_b = bare_repo(tmp_path, "beta")
    a = run_ok(cli, "get git repo", f"--url={url_a}")
    b = run_ok(cli, "get git repo", f"--url={url_b}")
    assert b["cache"] == "miss"
    assert a["cache_entry"] != b["cache_entry"]
    assert b["new_env"]["CM_GIT_REPO_CURRENT_HASH"] == commits_b["two.txt"]
    assert (Path(b["new_env"]["CM_GIT_CHECKOUT_PATH"]) / "one.txt").read_text() == (
        "beta one.txt\n"
    )
    again = run_ok(cli, "get git repo", f"--url={url_a}")
    assert again["cache"] == "hit"
    assert again["new_env"]["CM_GIT_REPO_CURRENT_HASH"] == commits_a["two.txt"]
    assert len(cache_dirs(cairn_home)) == 2


def test_get_git_repo_bad_url_fails_cleanly(cli: Cli, tmp_path: Path, cairn_home: Path) -> None:
    error = run_fails(cli, "get git repo", f"--url=file://{tmp_path / 'nowhere.git'}")
    assert "git clone" in error
    assert "may not start with" in run_fails(cli, "get git repo", "--url=--upload-pack=x")
    assert "give the repository to clone with --url" in run_fails(cli, "get git repo")
    assert cache_dirs(cairn_home) == []


# --- download-file ------------------------------------------------------------------------


def test_download_file_with_a_good_checksum_lands_in_the_callers_folder(
    cli: Cli, tmp_path: Path, cwd: Path
) -> None:
    source = tmp_path / "source" / "data.bin"
    source.parent.mkdir()
    source.write_bytes(os.urandom(3000))
    url = source.as_uri()
    result = run_ok(cli, "download file", f"--url={url}", f"--checksum={sha256(source)}", cwd=cwd)
    path = Path(result["new_env"]["CM_DOWNLOAD_DOWNLOADED_PATH"])
    assert path == cwd / "data.bin"
    assert path.read_bytes() == source.read_bytes()
    assert result["cache"] == "not cached"


def test_download_file_force_cache_keeps_the_file_in_the_cache_entry(
    cli: Cli, tmp_path: Path, cwd: Path
) -> None:
    source = tmp_path / "data.txt"
    source.write_text("cairn\n")
    flags = (f"--url={source.as_uri()}", f"--verify={sha256(source)}", "--force_cache")
    result = run_ok(cli, "download file", *flags, cwd=cwd)
    path = Path(result["new_env"]["CM_DOWNLOAD_DOWNLOADED_PATH"])
    assert path.parent == Path(result["cache_entry"])
    assert path.read_text() == "cairn\n"
    assert list(cwd.iterdir()) == []
    assert run_ok(cli, "download file", *flags, cwd=cwd)["cache"] == "hit"


def test_download_file_with_a_bad_checksum_leaves_nothing_behind(
    cli: Cli, tmp_path: Path, cwd: Path, cairn_home: Path
) -> None:
    source = tmp_path / "data.txt"
    source.write_text("cairn\n")
    wrong = "0" * 64
    for extra in ((), ("--force_cache",)):
        error = run_fails(cli, "download file", f"--url={source.as_uri()}",
                          f"--checksum={wrong}", *extra, cwd=cwd)  # fmt: skip
        assert f"checksum mismatch for {source.as_uri()}" in error
        assert f"expected {wrong}, got {sha256(source)}" in error
    assert list(cwd.iterdir()) == []
    assert cache_dirs(cairn_home) == []
    assert "--checksum must be a hex" in run_fails(
        cli, "download file", f"--url={source.as_uri()}", "--checksum=xyz", cwd=cwd
    )
    assert "--url: cannot download" in run_fails(cli, "download file", f"--url={source}", cwd=cwd)
    missing = (tmp_path / "missing.txt").as_uri()
    assert f"cannot download {missing}" in run_fails(cli, "download file", f"--url={missing}")


# --- extract-file -------------------------------------------------------------------------


def make_archives(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    tgz = folder / "data.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        add(tf, "data/a.txt", b"a\n")
        add(tf, "data/sub/b.txt", b"b\n")
    zipped = folder / "pack.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("x/y.txt", "y\n")
    return {"tgz": tgz, "zip": zipped}


def add(tf: tarfile.TarFile, name: str, data: bytes = b"", link: str | None = None) -> None:
    info = tarfile.TarInfo(name)
    if link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def fingerprint(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return sha256(path), stat.st_mtime_ns, stat.st_mode


def test_extract_file_extracts_tar_and_zip_and_leaves_the_archive_alone(
    cli: Cli, tmp_path: Path, cwd: Path
) -> None:
    archives = make_archives(tmp_path / "archives")
    before = {k: fingerprint(p) for k, p in archives.items()}
    tgz = run_ok(cli, "extract file", f"--input={archives['tgz']}", cwd=cwd)
    out = Path(tgz["new_env"]["CM_EXTRACT_EXTRACTED_PATH"])
    assert out == cwd / "data"
    assert (out / "data" / "sub" / "b.txt").read_text() == "b\n"
    zipped = run_ok(cli, "extract file", "--input=../archives/pack.zip", "--folder=z", cwd=cwd)
    assert Path(zipped["new_env"]["CM_EXTRACT_EXTRACTED_PATH"]) == cwd / "z"
    assert (cwd / "z" / "x" / "y.txt").read_text() == "y\n"
    assert {k: fingerprint(p) for k, p in archives.items()} == before
    assert sorted(p.name for p in archives["tgz"].parent.iterdir()) == ["data.tar.gz", "pack.zip"]


def test_extract_file_force_cache_extracts_into_the_cache_entry(
    cli: Cli, tmp_path: Path, cwd: Path
) -> None:
    archives = make_archives(tmp_path / "archives")
    before = fingerprint(archives["tgz"])
    flags = (f"--input={archives['tgz']}", "--force_cache")
    result = run_ok(cli, "extract file", *flags, cwd=cwd)
    out = Path(result["new_env"]["CM_EXTRACT_EXTRACTED_PATH"])
    assert out.parent == Path(result["cache_entry"])
    assert (out / "data" / "a.txt").read_text() == "a\n"
    assert list(cwd.iterdir()) == []
    assert run_ok(cli, "extract file", *flags, cwd=cwd)["cache"] == "hit"
    assert fingerprint(archives["tgz"]) == before


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([("../evil.txt", None)], "'../evil.txt' contains '..'"),
        ([("/tmp/evil.txt", None)], "'/tmp/evil.txt' has an absolute path"),
        ([("out", "../../.."), ("out/evil.txt", None)], "link 'out' -> '../../..' leaves"),
        ([("l", "."), ("l2", "l/../.."), ("ok.txt", None)], "link 'l2' -> 'l/../..' leaves"),
    ],
)
def test_extract_file_refuses_unsafe_archives_and_writes_nothing(
    cli: Cli, tmp_path: Path, cwd: Path, members: list[tuple[str, str | None]], why: str
) -> None:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        for name, link in members:
            add(tf, name, b"" if link is not None else b"evil\n", link)
    before = fingerprint(archive)
    error = run_fails(cli, "extract file", f"--input={archive}", cwd=cwd)
    assert why in error
    assert "nothing was extracted" in error
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cairn-home", "cwd", "evil.tar"]
    assert fingerprint(archive) == before


def test_extract_file_refuses_a_zip_with_dot_dot(cli: Cli, tmp_path: Path, cwd: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../evil.txt", "evil\n")
    error = run_fails(cli, "extract file", f"--input={archive}", cwd=cwd)
    assert "'../../evil.txt' contains '..'" in error
    assert list(cwd.iterdir()) == []
    assert not (tmp_path.parent / "evil.txt").exists()


def test_extract_file_needs_an_archive(cli: Cli, tmp_path: Path, cwd: Path) -> None:
    assert "give the archive to extract" in run_fails(cli, "extract file", cwd=cwd)
    text = tmp_path / "plain.txt"
    text.write_text("not an archive\n")
    assert "neither a zip nor a tar" in run_fails(cli, "extract file", f"--input={text}")
    assert text.read_text() == "not an archive\n"


@pytest.mark.parametrize("keep", [30, 300])
def test_extract_file_refuses_a_truncated_tar_gz_naming_it(
    cli: Cli, tmp_path: Path, cwd: Path, keep: int
) -> None:
    whole = tmp_path / "whole.tar.gz"
    with tarfile.open(whole, "w:gz") as tf:
        add(tf, "data/a.bin", os.urandom(4000))
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[:keep])
    error = run_fails(cli, "extract file", f"--input={cut}", cwd=cwd)
    assert f"{cut} is truncated or corrupt" in error
    assert list(cwd.iterdir()) == []


def test_extract_file_refuses_a_zip_symlink_bomb(cli: Cli, tmp_path: Path, cwd: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    info = zipfile.ZipInfo("x/l")
    info.external_attr = 0o120777 << 16
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(info, b"a" * 1_000_000)
    error = run_fails(cli, "extract file", f"--input={bomb}", cwd=cwd)
    assert "target longer than 4096 bytes" in error and len(error) < 2000
    assert list(cwd.iterdir()) == []


# --- print-hello-world --------------------------------------------------------------------


def test_print_hello_world_with_text_variation(cli: Cli) -> None:
    result = run_ok(cli, "print hello-world _text.xyz", "--env.CM_ENV_TEST3=three")
    assert result["new_env"] == {
        "CM_ENV_TEST1": "TEST1",
        "CM_ENV_TEST2": "TEST2",
        "CM_ENV_TEST3": "three",
    }
    assert result["variations"] == ["_text.xyz"]
    printed = result["stderr"].splitlines()  # with --out=json, native output goes to stderr
    for line in ("CM_ENV_TEST1 = TEST1", "CM_ENV_TEST2 = TEST2", "CM_ENV_TEST3 = three"):
        assert line in printed
    assert printed.index("HELLO WORLD!") + 1 == printed.index("xyz")


def test_print_hello_world_input_and_console_output(cli: Cli) -> None:
    proc = cli("run", "script", "print hello-world _skip_print_env", "--test1=abc")
    assert proc.returncode == 0, proc.stderr
    assert "HELLO WORLD!" in proc.stdout
    assert "CM_ENV_TEST1" not in proc.stdout
    result = run_ok(cli, "hello world", "--test1=abc")
    assert result["new_env"]["CM_ENV_TEST1"] == "abc"
    assert result["new_env"]["CM_ENV_TEST3"] == "TEST3"


def test_download_file_with_a_url_http_refuses_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    error = run_fails(cli, "download file", "--url=https://h/f;touch x", cwd=tmp_path)
    assert "cannot download https://h/f;touch x" in error
    assert "Traceback" not in error
    assert not (tmp_path / "x").exists()
