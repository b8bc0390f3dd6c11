"""Host detection scripts: their env must state true facts about this machine."""

from __future__ import annotations

import os
import platform
import struct
import subprocess
from pathlib import Path

import pytest

from tests.compat.conftest import Cairn


def os_release() -> dict[str, str]:
    path = Path("/etc/os-release")
    if not path.is_file():
        pytest.skip("no /etc/os-release")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v.strip().strip('"') for k, v in pairs}


def test_detect_os(cairn: Cairn) -> None:
    run = cairn.run("detect-os")
    env = run.env
    assert env["CM_HOST_OS_TYPE"] == "linux"
    assert env["CM_HOST_OS_BITS"] == str(struct.calcsize("P") * 8)
    assert env["CM_HOST_PLATFORM_FLAVOR"] == platform.machine()
    assert env["CM_HOST_OS_MACHINE"] == platform.machine()
    assert env["CM_HOST_OS_KERNEL_VERSION"] == platform.release()
    release = os_release()
    assert env["CM_HOST_OS_FLAVOR"] == release["ID"]
    assert env["CM_HOST_OS_VERSION"] == release.get("VERSION_ID", "")
    libc, version = platform.libc_ver()
    if libc == "glibc":
        assert env["CM_HOST_OS_GLIBC_VERSION"] == version
    paths = env["+CM_HOST_OS_DEFAULT_LIBRARY_PATH"]
    assert isinstance(paths, list)
    assert any(Path(p).is_dir() for p in paths)
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    assert run.result["new_state"]["os_uname_all"] == uname
    assert run.result["cache"] == "not cached"


def test_detect_cpu_and_its_detect_os_dependency(cairn: Cairn) -> None:
    run = cairn.run("detect-cpu")
    env = run.env
    assert env["CM_HOST_CPU_TOTAL_LOGICAL_CORES"] == str(os.cpu_count())
    assert env["CM_HOST_CPU_ARCHITECTURE"] == platform.machine()
    assert int(env["CM_HOST_CPU_SOCKETS"]) >= 1
    assert env["CM_HOST_MEMORY_CAPACITY"].endswith("G")
    dep = run.dep("detect-os")
    assert dep["path"] == str(cairn.root / "repo" / "script" / "detect-os")
    assert dep["new_env"]["CM_HOST_OS_TYPE"] == "linux"


@pytest.mark.skipif(os.geteuid() != 0, reason="as a normal user detect-sudo asks for a password")
def test_detect_sudo_as_root(cairn: Cairn) -> None:
    env = cairn.run("detect-sudo").env
    assert env == {"CM_SUDO": "", "CM_SUDO_USER": "yes"}


def test_get_sys_utils_min_is_cached_and_needs_nothing_on_linux(cairn: Cairn) -> None:
    """Of its deps only detect-os runs: xz and zlib are ``enable_if_env`` Windows."""
    first = cairn.run("get-sys-utils-min")
    assert first.result["cache"] == "miss"
    assert [d["script"] for d in first.result["deps"]] == ["detect-os"]
    assert Path(first.result["cache_entry"]).is_dir()
    second = cairn.run("get-sys-utils-min")
    assert second.result["cache"] == "hit"
    assert second.result["cache_entry"] == first.result["cache_entry"]
