"""The ``MLC_*`` keys mlcflow 1.3.8 returned for the everyday scripts: names only, no values.

Recorded on 2026-12-03 with ``mlcr TAGS ... -j`` (``mlcflow==1.3.8`` in a venv of its own,
``HOME`` and ``MLC_REPOS`` in a scratch folder) on the ``mlperf-automations`` snapshot of
commit 20d3d94c, Debian 12, x86_64, glibc; the commands and full outputs are described in
docs/mlcflow.md. The values are this machine's, so the tests compare values with the tools
themselves; these names say which keys cairn must give too.

Two kinds of keys are left out of the comparison: those a snapshot's ``new_env_keys`` no longer
let through (the caller passes the patterns of the copy under test), and those that depend on
the host rather than on the engine (``HOST_DEPENDENT``: ``lscpu`` fields, the glibc version,
the package manager).
"""

from __future__ import annotations

import fnmatch
from typing import Any

HOST_DEPENDENT: dict[str, tuple[str, ...]] = {
    "detect-os": (
        "MLC_HOST_OS_GLIBC_VERSION",
        "MLC_HOST_OS_PACKAGE_MANAGER*",
        "MLC_HOST_OS_FLAVOR_LIKE",
    ),
    # lscpu's fields differ between CPUs, kernels and util-linux versions.
    "detect-cpu": ("MLC_HOST_CPU_*",),
}


def missing_keys(script: str, env: dict[str, Any], patterns: list[str]) -> list[str]:
    """The reference keys of ``script`` absent from ``env``, among those ``patterns`` (the
    copy's ``new_env_keys``) allow and that do not depend on the host."""
    skip = HOST_DEPENDENT.get(script, ())
    expected = [
        key
        for key in sorted(REFERENCE[script])
        if any(fnmatch.fnmatchcase(key.lstrip("+"), p) for p in patterns)
        and not any(fnmatch.fnmatchcase(key, p) for p in skip)
    ]
    return [key for key in expected if key not in env]


REFERENCE: dict[str, frozenset[str]] = {
    "benchmark-program": frozenset(
        {
            "MLC_RUN_CMD",
        }
    ),
    "create-custom-cache-entry": frozenset(
        {
            "MLC_CUSTOM_CACHE_ENTRY_PATH",
            "MLC_CUSTOM_CACHE_ENTRY_REAL_PATH",
        }
    ),
    "create-patch": frozenset(),
    "detect-cpu": frozenset(
        {
            "MLC_HOST_CPU_ARCHITECTURE",
            "MLC_HOST_CPU_BUGS",
            "MLC_HOST_CPU_CFLUSH_SIZE",
            "MLC_HOST_CPU_FAMILY",
            "MLC_HOST_CPU_FPU_EXCEPTION_SUPPORT",
            "MLC_HOST_CPU_FPU_SUPPORT",
            "MLC_HOST_CPU_L1D_CACHE_SIZE",
            "MLC_HOST_CPU_L1I_CACHE_SIZE",
            "MLC_HOST_CPU_L2_CACHE_SIZE",
            "MLC_HOST_CPU_L3_CACHE_SIZE",
            "MLC_HOST_CPU_MICROCODE",
            "MLC_HOST_CPU_MODEL_NAME",
            "MLC_HOST_CPU_NUMA_NODES",
            "MLC_HOST_CPU_ON_LINE_CPUS_LIST",
            "MLC_HOST_CPU_PHYSICAL_CORES_LIST",
            "MLC_HOST_CPU_PHYSICAL_CORES_PER_SOCKET",
            "MLC_HOST_CPU_SOCKETS",
            "MLC_HOST_CPU_START_CORES",
            "MLC_HOST_CPU_THREADS_PER_CORE",
            "MLC_HOST_CPU_TLB_SIZE",
            "MLC_HOST_CPU_TOTAL_CORES",
            "MLC_HOST_CPU_TOTAL_LOGICAL_CORES",
            "MLC_HOST_CPU_TOTAL_PHYSICAL_CORES",
            "MLC_HOST_CPU_VENDOR_ID",
            "MLC_HOST_CPU_WRITE_PROTECT_SUPPORT",
            "MLC_HOST_DISK_CAPACITY",
            "MLC_HOST_MEMORY_CAPACITY",
        }
    ),
    "detect-os": frozenset(
        {
            "+MLC_HOST_OS_DEFAULT_LIBRARY_PATH",
            "MLC_HOST_FILESYSTEMS",
            "MLC_HOST_OS_BITS",
            "MLC_HOST_OS_FLAVOR",
            "MLC_HOST_OS_FLAVOR_LIKE",
            "MLC_HOST_OS_GLIBC_VERSION",
            "MLC_HOST_OS_KERNEL_VERSION",
            "MLC_HOST_OS_MACHINE",
            "MLC_HOST_OS_PACKAGE_MANAGER",
            "MLC_HOST_OS_PACKAGE_MANAGER_INSTALL_CMD",
            "MLC_HOST_OS_PACKAGE_MANAGER_UPDATE_CMD",
            "MLC_HOST_OS_TYPE",
            "MLC_HOST_OS_VERSION",
            "MLC_HOST_PLATFORM_FLAVOR",
            "MLC_HOST_PYTHON_BITS",
            "MLC_HOST_SYSTEM_NAME",
        }
    ),
    "detect-sudo": frozenset(
        {
            "MLC_SUDO",
            "MLC_SUDO_USER",
        }
    ),
    "download-file": frozenset(
        {
            "MLC_DOWNLOAD_DOWNLOADED_PATH",
            "MLC_GET_DEPENDENT_CACHED_PATH",
        }
    ),
    "dump-pip-freeze": frozenset(),
    "extract-file": frozenset(
        {
            "MLC_EXTRACT_EXTRACTED_PATH",
            "MLC_EXTRACT_EXTRACTED_SUBDIR_PATH",
            "MLC_GET_DEPENDENT_CACHED_PATH",
        }
    ),
    "get-cache-dir": frozenset(
        {
            "MLC_CACHE_DIR",
        }
    ),
    "get-cmake": frozenset(
        {
            "MLC_CMAKE_BIN_WITH_PATH",
            "MLC_CMAKE_CACHE_TAGS",
            "MLC_CMAKE_VERSION",
            "MLC_MAKE_CORES",
        }
    ),
    "get-gcc": frozenset(
        {
            "+MLC_HOST_OS_DEFAULT_INCLUDE_PATH",
            "MLC_COMPILER_CACHE_TAGS",
            "MLC_COMPILER_FAMILY",
            "MLC_COMPILER_FLAGS_DEBUG",
            "MLC_COMPILER_FLAGS_DEFAULT",
            "MLC_COMPILER_FLAGS_FAST",
            "MLC_COMPILER_VERSION",
            "MLC_CXX_COMPILER_BIN",
            "MLC_CXX_COMPILER_FLAG_OUTPUT",
            "MLC_CXX_COMPILER_FLAG_VERSION",
            "MLC_CXX_COMPILER_WITH_PATH",
            "MLC_C_COMPILER_BIN",
            "MLC_C_COMPILER_FLAG_OUTPUT",
            "MLC_C_COMPILER_FLAG_VERSION",
            "MLC_C_COMPILER_WITH_PATH",
            "MLC_GCC_BIN",
            "MLC_GCC_BIN_WITH_PATH",
            "MLC_GCC_CACHE_TAGS",
            "MLC_GCC_DIR_PATH",
            "MLC_GCC_INSTALLED_PATH",
            "MLC_GCC_VERSION",
            "MLC_LINKER_FLAGS_DEBUG",
            "MLC_LINKER_FLAGS_DEFAULT",
            "MLC_LINKER_FLAGS_FAST",
        }
    ),
    "get-generic-python-lib": frozenset(
        {
            "MLC_PYTHONLIB_PACKAGING_CACHE_TAGS",
            "MLC_PYTHONLIB_PIP_CACHE_TAGS",
        }
    ),
    "get-generic-sys-util": frozenset(
        {
            "MLC_CMAKE_VERSION",
        }
    ),
    "get-git-repo": frozenset(
        {
            "MLC_GIT_CHECKOUT_PATH",
            "MLC_GIT_REPO_CHECKOUT",
            "MLC_GIT_REPO_CHECKOUT_FOLDER",
            "MLC_GIT_REPO_CHECKOUT_PATH",
            "MLC_GIT_REPO_DEPTH",
            "MLC_GIT_REPO_NAME",
            "MLC_GIT_REPO_PATCH",
            "MLC_GIT_REPO_RECURSE_SUBMODULES",
            "MLC_GIT_REPO_URL",
            "MLC_GIT_REPO_VERSION_STRING",
        }
    ),
    "get-java": frozenset(
        {
            "MLC_JAVA_BIN",
            "MLC_JAVA_BIN_WITH_PATH",
            "MLC_JAVA_CACHE_TAGS",
            "MLC_JAVA_PREBUILT_BUILD",
            "MLC_JAVA_PREBUILT_FILENAME",
            "MLC_JAVA_PREBUILT_URL",
            "MLC_JAVA_PREBUILT_VERSION",
            "MLC_JAVA_VERSION",
        }
    ),
    "get-javac": frozenset(
        {
            "MLC_JAVAC_BIN",
            "MLC_JAVAC_BIN_WITH_PATH",
            "MLC_JAVAC_CACHE_TAGS",
            "MLC_JAVAC_PREBUILT_BUILD",
            "MLC_JAVAC_PREBUILT_FILENAME",
            "MLC_JAVAC_PREBUILT_URL",
            "MLC_JAVAC_PREBUILT_VERSION",
            "MLC_JAVAC_VERSION",
            "MLC_JAVA_BIN",
            "MLC_JAVA_BIN_WITH_PATH",
        }
    ),
    "get-openssl": frozenset(
        {
            "MLC_OPENSSL_BIN_WITH_PATH",
            "MLC_OPENSSL_INSTALLED_PATH",
            "MLC_OPENSSL_VERSION",
        }
    ),
    "get-python3": frozenset(
        {
            "MLC_PYTHON_BIN",
            "MLC_PYTHON_BIN_PATH",
            "MLC_PYTHON_BIN_WITH_PATH",
            "MLC_PYTHON_CACHE_TAGS",
            "MLC_PYTHON_MAJOR_VERSION",
            "MLC_PYTHON_MINOR_VERSION",
            "MLC_PYTHON_PATCH_VERSION",
            "MLC_PYTHON_VERSION",
        }
    ),
    "get-sys-utils-min": frozenset(),
    "pull-git-repo": frozenset(),
    "run-python": frozenset(),
    "set-sqlite-dir": frozenset(
        {
            "MLC_SQLITE_PATH",
        }
    ),
    "set-venv": frozenset(),
    "tar-my-folder": frozenset(
        {
            "MLC_TAR_OUTFILE",
        }
    ),
}
