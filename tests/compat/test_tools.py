"""Tool detection (``find_artifact``, ``detect_version`` hooks, version checks, the cache).

Each test compares the detected version with what the tool itself prints. A tool that is not
installed is skipped: the script would then try to install it, which the guard blocks.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.compat.conftest import Cairn, tool_output, which


def first_version(text: str) -> str:
    found = re.search(r"(\d+\.\d+(?:\.\d+)?)", text)
    assert found, text
    return found.group(1)


def test_get_python3_detects_the_interpreter_on_path_and_caches_it(cairn: Cairn) -> None:
    which("python3")
    first = cairn.run("get-python3")
    env = first.env
    python = Path(env["CM_PYTHON_BIN_WITH_PATH"])
    assert python.is_file()
    assert env["CM_PYTHON_BIN_PATH"] == str(python.parent)
    assert env["CM_PYTHON_VERSION"] == first_version(tool_output(str(python), "--version"))
    major, minor, patch = env["CM_PYTHON_VERSION"].split(".")
    assert (env["CM_PYTHON_MAJOR_VERSION"], env["CM_PYTHON_MINOR_VERSION"]) == (major, minor)
    assert env["CM_PYTHON_PATCH_VERSION"] == patch
    assert first.result["version"] == env["CM_PYTHON_VERSION"]
    assert first.result["cache"] == "miss"
    again = cairn.run("get-python3")
    assert again.result["cache"] == "hit"
    assert again.result["cache_entry"] == first.result["cache_entry"]
    assert again.env == env


def test_get_python3_version_min_below_the_installed_version(cairn: Cairn) -> None:
    which("python3")
    run = cairn.run("get-python3", "--version_min=3.8")
    assert run.result["version"] == run.env["CM_PYTHON_VERSION"]
    assert tuple(int(x) for x in run.env["CM_PYTHON_VERSION"].split(".")[:2]) >= (3, 8)


def test_get_python3_version_min_above_every_installed_version_fails_cleanly(
    cairn: Cairn,
) -> None:
    """No candidate fits: detection returns 16 for each (as in CM), so the script goes on to
    install Python from source, whose system dependencies are blocked here."""
    which("python3")
    run = cairn.run("get-python3", "--version_min=99.0", ok=False)
    assert run.proc.returncode == 2, run.log
    assert "Traceback" not in run.log and "run install-python-src" in run.log
    assert "sudo is blocked" in run.log


def test_get_generic_python_lib_reports_the_installed_package_version(cairn: Cairn) -> None:
    run = cairn.run("get-generic-python-lib,_package.packaging")
    python = cairn.run("get-python3").env["CM_PYTHON_BIN_WITH_PATH"]
    code = "import importlib.metadata as m; print(m.version('packaging'))"
    installed = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout
    assert run.result["version"] == installed.strip()
    assert run.env["CM_PYTHONLIB_PACKAGING_CACHE_TAGS"] == f"version-{installed.strip()}"
    assert run.result["variations"] == ["_package.packaging"]
    assert {d["script"] for d in run.result["deps"]} >= {"detect-os", "detect-cpu", "get-python3"}


def test_get_gcc_and_its_compiler_flags_post_dependency(cairn: Cairn) -> None:
    gcc = which("gcc")
    env = cairn.run("get-gcc").env
    version = tool_output(gcc, "-dumpfullversion").strip()
    assert env["CM_GCC_VERSION"] == env["CM_COMPILER_VERSION"] == version
    assert Path(env["CM_GCC_BIN_WITH_PATH"]).samefile(gcc)
    assert env["CM_COMPILER_FAMILY"] == "GCC"
    assert env["CM_C_COMPILER_BIN"] == "gcc"
    assert env["CM_COMPILER_CACHE_TAGS"] == f"version-{version},family-gcc"
    # set by the get-compiler-flags post dependency
    assert env["+ CFLAGS"] == [env["CM_COMPILER_FLAGS_DEFAULT"]]


def test_get_cmake(cairn: Cairn) -> None:
    cmake = which("cmake")
    run = cairn.run("get-cmake")
    assert run.env["CM_CMAKE_VERSION"] == first_version(tool_output(cmake, "--version"))
    assert Path(run.env["CM_CMAKE_BIN_WITH_PATH"]).samefile(cmake)
    assert run.env["CM_MAKE_CORES"].isdigit()


def test_get_java_and_javac(cairn: Cairn) -> None:
    java, javac = which("java"), which("javac")
    env = cairn.run("get-java").env
    assert env["CM_JAVA_VERSION"] == first_version(tool_output(java, "-version"))
    assert Path(env["CM_JAVA_BIN_WITH_PATH"]).samefile(java)
    assert (Path(env["JAVA_HOME"]) / "bin" / "java").is_file()
    env = cairn.run("get-javac").env
    assert env["CM_JAVAC_VERSION"] == first_version(tool_output(javac, "-version"))
    assert Path(env["CM_JAVAC_BIN_WITH_PATH"]).samefile(javac)


def test_get_openssl(cairn: Cairn) -> None:
    openssl = which("openssl")
    env = cairn.run("get-openssl").env
    assert env["CM_OPENSSL_VERSION"] == first_version(tool_output(openssl, "version"))
    assert env["CM_OPENSSL_INSTALLED_PATH"] == str(Path(env["CM_OPENSSL_BIN_WITH_PATH"]).parent)


@pytest.mark.parametrize(
    ("variation", "tool", "key"),
    [("_cmake", "cmake", "CM_CMAKE_VERSION"), ("_xz", "xz", "CM_XZ_VERSION")],
)
def test_get_generic_sys_util_detect_mode(
    cairn: Cairn, variation: str, tool: str, key: str
) -> None:
    """The default ``_detect`` variation runs the version command; nothing is installed."""
    path = which(tool)
    run = cairn.run(f"get-generic-sys-util,{variation}")
    assert run.env == {key: first_version(tool_output(path, "--version"))}
    assert run.result["variations"] == [variation, "_detect"]
    assert "install" not in {d["script"] for d in run.result["deps"]}


def test_get_terraform(cairn: Cairn) -> None:
    terraform = which("terraform")
    env = cairn.run("get-terraform").env
    assert env["CM_TERRAFORM_VERSION"] == first_version(tool_output(terraform, "--version"))
    assert env["CM_TERRAFORM_CACHE_TAGS"] == f"version-{env['CM_TERRAFORM_VERSION']}"


def test_get_aws_cli(cairn: Cairn) -> None:
    aws = which("aws")
    env = cairn.run("get-aws-cli").env
    assert env["CM_AWS_VERSION"] == first_version(tool_output(aws, "--version"))
    assert Path(env["CM_AWS_BIN_WITH_PATH"]).samefile(aws)


def test_get_docker_only_detects_the_client(cairn: Cairn) -> None:
    docker = which("docker")
    env = cairn.run("get-docker").env
    assert env["CM_DOCKER_VERSION"] == first_version(tool_output(docker, "--version"))
