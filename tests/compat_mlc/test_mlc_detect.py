"""Host detection scripts of the MLCFlow collection: their ``MLC_*`` env states true facts."""

from __future__ import annotations

import json
import os
import platform
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compat_mlc.conftest import Mlc


def os_release() -> dict[str, str]:
    path = Path("/etc/os-release")
    if not path.is_file():
        pytest.skip("no /etc/os-release")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v.strip().strip('"') for k, v in pairs}


def test_neither_mlc_nor_mlcflow_is_installed(mlc: Mlc) -> None:
    """The hooks' ``import mlc`` can only be served by cairn (checked again at module end)."""
    code = "import importlib.util as u; print([u.find_spec(n) for n in ('mlc', 'mlcflow')])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=mlc.env)
    assert done.stdout.strip() == "[None, None]", done.stdout + done.stderr


def test_detect_os(mlc: Mlc) -> None:
    run = mlc.run("detect,os", alias="detect-os")
    env = run.env
    assert env["MLC_HOST_OS_TYPE"] == "linux"
    assert env["MLC_HOST_OS_BITS"] == str(struct.calcsize("P") * 8)
    assert env["MLC_HOST_PYTHON_BITS"] == str(struct.calcsize("P") * 8)
    assert env["MLC_HOST_PLATFORM_FLAVOR"] == platform.machine()
    assert env["MLC_HOST_OS_MACHINE"] == platform.machine()
    assert env["MLC_HOST_OS_KERNEL_VERSION"] == platform.release()
    assert env["MLC_HOST_SYSTEM_NAME"] == platform.node()
    release = os_release()
    assert env["MLC_HOST_OS_FLAVOR"] == release["ID"]
    assert env["MLC_HOST_OS_VERSION"] == release.get("VERSION_ID", "")
    libc, version = platform.libc_ver()
    if libc == "glibc":
        assert env["MLC_HOST_OS_GLIBC_VERSION"] == version
    paths = env["+MLC_HOST_OS_DEFAULT_LIBRARY_PATH"]
    assert isinstance(paths, list)
    assert any(Path(p).is_dir() for p in paths)
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    assert run.result["new_state"]["os_uname_all"] == uname
    assert not any(key.startswith(("CM_", "+CM_")) for key in env), env
    mlc.assert_reference_keys("detect-os", run)


def test_detect_cpu_and_its_detect_os_dependency(mlc: Mlc) -> None:
    run = mlc.run("detect,cpu", alias="detect-cpu")
    env = run.env
    assert env["MLC_HOST_CPU_TOTAL_LOGICAL_CORES"] == str(os.cpu_count())
    assert env["MLC_HOST_CPU_ARCHITECTURE"] == platform.machine()
    assert int(env["MLC_HOST_CPU_SOCKETS"]) >= 1
    assert env["MLC_HOST_MEMORY_CAPACITY"].endswith("G")
    dep = run.dep("detect-os")
    assert dep["path"] == str(mlc.script("detect-os"))
    assert dep["new_env"]["MLC_HOST_OS_TYPE"] == "linux"
    mlc.assert_reference_keys("detect-cpu", run)


@pytest.mark.skipif(os.geteuid() != 0, reason="as a normal user detect-sudo asks for a password")
def test_detect_sudo_as_root(mlc: Mlc) -> None:
    env = mlc.run("detect,sudo", alias="detect-sudo").env
    assert env == {"MLC_SUDO": "", "MLC_SUDO_USER": "yes"}


def test_get_sys_utils_min_is_cached_and_needs_nothing_on_linux(mlc: Mlc) -> None:
    first = mlc.run("get,sys-utils-min", alias="get-sys-utils-min")
    assert first.env == {}
    assert first.result["cache"] == "miss"
    assert Path(first.result["cache_entry"]).is_dir()
    second = mlc.run("get,sys-utils-min", alias="get-sys-utils-min")
    assert second.result["cache"] == "hit"
    assert second.result["cache_entry"] == first.result["cache_entry"]


def test_cairn_mlcr_takes_mlcflows_words(mlc: Mlc) -> None:
    """``cairn mlcr "detect os" -j`` is ``mlcr "detect os" -j``: the collection's script, JSON."""
    proc = mlc("mlcr", "detect os", "-j", "--quiet")
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    assert result["path"] == str(mlc.script("detect-os"))
    assert result["new_env"]["MLC_HOST_OS_TYPE"] == "linux"
    assert result["new_env"]["MLC_HOST_OS_MACHINE"] == platform.machine()
