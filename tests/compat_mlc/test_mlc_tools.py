"""Tool detection scripts of the MLCFlow collection: each detected version is compared with
what the tool itself prints, and each path with the tool found on the children's ``PATH``.
A tool that is not installed is skipped (the script would try to install it; the guard
blocks that)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.compat_mlc.conftest import Mlc, tool_output, which


def first_version(text: str) -> str:
    found = re.search(r"(\d+\.\d+(?:\.\d+)?)", text)
    assert found, text
    return found.group(1)


def test_get_python3_detects_the_interpreter_on_path_and_caches_it(mlc: Mlc) -> None:
    python = which("python3", mlc.env)
    first = mlc.run("get,python3", alias="get-python3")
    env = first.env
    found = Path(env["MLC_PYTHON_BIN_WITH_PATH"])
    assert found.samefile(python) or found.resolve() == Path(python).resolve()
    assert env["MLC_PYTHON_BIN_PATH"] == str(found.parent)
    assert env["MLC_PYTHON_BIN"] == "python3"
    version = first_version(tool_output(python, "--version"))
    assert env["MLC_PYTHON_VERSION"] == version
    major, minor, patch = version.split(".")
    assert (env["MLC_PYTHON_MAJOR_VERSION"], env["MLC_PYTHON_MINOR_VERSION"]) == (major, minor)
    assert env["MLC_PYTHON_PATCH_VERSION"] == patch
    assert env["MLC_PYTHON_CACHE_TAGS"].startswith(f"version-{version}")
    assert first.result["version"] == version
    mlc.assert_reference_keys("get-python3", first)
    again = mlc.run("get,python3", alias="get-python3")
    assert again.result["cache"] == "hit"
    assert again.result["cache_entry"] == first.result["cache_entry"]
    assert again.env == env


def test_get_generic_python_lib_reports_the_installed_package_version(mlc: Mlc) -> None:
    run = mlc.run("get,generic-python-lib,_package.packaging", alias="get-generic-python-lib")
    python = mlc.run("get,python3", alias="get-python3").env["MLC_PYTHON_BIN_WITH_PATH"]
    code = "import importlib.metadata as m; print(m.version('packaging'))"
    installed = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout
    assert run.result["version"] == installed.strip()
    assert run.env["MLC_PYTHONLIB_PACKAGING_CACHE_TAGS"] == f"version-{installed.strip()}"
    assert "_package.packaging" in run.result["variations"]
    mlc.assert_reference_keys("get-generic-python-lib", run)


def test_get_gcc(mlc: Mlc) -> None:
    gcc = which("gcc", mlc.env)
    run = mlc.run("get,gcc", alias="get-gcc")
    env = run.env
    version = tool_output(gcc, "-dumpfullversion").strip()
    assert env["MLC_GCC_VERSION"] == env["MLC_COMPILER_VERSION"] == version
    assert Path(env["MLC_GCC_BIN_WITH_PATH"]).samefile(gcc)
    assert env["MLC_COMPILER_FAMILY"] == "GCC"
    assert env["MLC_C_COMPILER_BIN"] == "gcc"
    assert env["MLC_COMPILER_CACHE_TAGS"] == f"version-{version},family-gcc"
    assert env["+ CFLAGS"] == [env["MLC_COMPILER_FLAGS_DEFAULT"]]
    mlc.assert_reference_keys("get-gcc", run)


def test_get_cmake(mlc: Mlc) -> None:
    cmake = which("cmake", mlc.env)
    run = mlc.run("get,cmake", alias="get-cmake")
    env = run.env
    assert env["MLC_CMAKE_VERSION"] == first_version(tool_output(cmake, "--version"))
    assert Path(env["MLC_CMAKE_BIN_WITH_PATH"]).samefile(cmake)
    assert env["MLC_MAKE_CORES"].isdigit()
    mlc.assert_reference_keys("get-cmake", run)


def test_get_java(mlc: Mlc) -> None:
    java = which("java", mlc.env)
    run = mlc.run("get,java", alias="get-java")
    env = run.env
    assert env["MLC_JAVA_VERSION"] == first_version(tool_output(java, "-version"))
    assert Path(env["MLC_JAVA_BIN_WITH_PATH"]).samefile(java)
    assert env["MLC_JAVA_CACHE_TAGS"] == f"version-{env['MLC_JAVA_VERSION']}"
    assert (Path(env["JAVA_HOME"]) / "bin" / "java").is_file()
    mlc.assert_reference_keys("get-java", run)


def test_get_javac(mlc: Mlc) -> None:
    javac = which("javac", mlc.env)
    run = mlc.run("get,javac", alias="get-javac")
    env = run.env
    assert env["MLC_JAVAC_VERSION"] == first_version(tool_output(javac, "-version"))
    assert Path(env["MLC_JAVAC_BIN_WITH_PATH"]).samefile(javac)
    assert (Path(env["JAVA_HOME"]) / "bin" / "javac").is_file()
    mlc.assert_reference_keys("get-javac", run)


def test_get_openssl(mlc: Mlc) -> None:
    openssl = which("openssl", mlc.env)
    run = mlc.run("get,openssl", alias="get-openssl")
    env = run.env
    assert env["MLC_OPENSSL_VERSION"] == first_version(tool_output(openssl, "version"))
    assert Path(env["MLC_OPENSSL_BIN_WITH_PATH"]).samefile(openssl)
    assert env["MLC_OPENSSL_INSTALLED_PATH"] == str(Path(env["MLC_OPENSSL_BIN_WITH_PATH"]).parent)
    mlc.assert_reference_keys("get-openssl", run)


def test_dump_pip_freeze_lists_the_detected_pythons_packages(mlc: Mlc) -> None:
    run = mlc.run("dump,pip,freeze", alias="dump-pip-freeze")
    python = run.dep("get-python3")["new_env"]["MLC_PYTHON_BIN_WITH_PATH"]
    code = "import importlib.metadata as m; print(m.version('pip'))"
    pip = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()
    assert run.result["new_state"]["pip_freeze"]["pip"] == pip
    mlc.assert_reference_keys("dump-pip-freeze", run)
