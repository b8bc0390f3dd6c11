"""Fixtures for the cmx4mlops compatibility suite: the real wheel, unpacked, run through cairn.

The wheel ``cmx4mlops==1.0.1`` is fetched once with ``pip download --no-deps`` into pytest's
cache (``.pytest_cache``; parallel workers take turns under a file lock), or taken from
``$CAIRN_CMX4MLOPS_WHEEL``, and checked against a pinned SHA-256. Every test here is marked
``compat`` (``pytest -m "not compat"`` runs the rest without the package index). When the
wheel cannot be fetched (no network, no index: pip is given no retries and a 10 s timeout) the
tests are skipped with the reason, once per session, unless ``CAIRN_REQUIRE_COMPAT=1`` makes that
a failure (CI). Each test
module gets its own ``$CAIRN_HOME`` (so cache hits across the tests of one module are possible)
with the unpacked ``cmx4mlops`` folder registered by ``cairn add repo``.

Every run is a ``cairn`` subprocess with ``cmind`` absent and a guard environment: no package
manager (``apt-get``, ``sudo``... fail), no package index for ``pip``, and an unreachable proxy,
so a script that tries to install or download fails instead of changing the machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

WHEEL_NAME = "cmx4mlops-1.0.1-py3-none-any.whl"
WHEEL_SHA256 = "196838685cb5226070b1f31138b3bbb3626fe1db759b1219906bc57f26ffd7a6"
WHEEL_ENV = "CAIRN_CMX4MLOPS_WHEEL"
REQUIRE_ENV = "CAIRN_REQUIRE_COMPAT"
FETCH_TIMEOUT_S = 10
REPO = "cmx4mlops"

BLOCKED_TOOLS = ("apt-get", "apt", "sudo", "yum", "dnf", "zypper", "brew", "snap")
NO_PROXY_URL = "http://127.0.0.1:9"
SHIM_PART = os.path.join("cairn", "compat", "shim", "cmind")

# Runs cairn's CLI in the child and records where every ``cmind`` import was found.
WRAPPER = """
import os, sys
log = os.environ["CAIRN_COMPAT_IMPORT_LOG"]
class Recorder:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] != "cmind":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                with open(log, "a") as f:
                    f.write(f"{name}\\t{spec.origin}\\n")
                return spec
        return None
sys.meta_path.insert(0, Recorder())
from cairn.cli.main import main
raise SystemExit(main(sys.argv[1:]))
"""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(cache_dir: Path) -> Path:
    """Fetch the wheel with pip (its own index, mirror and proxy settings), failing fast:
    no retries and a short timeout, so a machine without the index learns it in seconds."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--retries", "0", "--timeout", str(FETCH_TIMEOUT_S), "--disable-pip-version-check"]
    cmd += ["cmx4mlops==1.0.1", "-d", str(cache_dir)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        _unavailable(f"{' '.join(cmd)} took over 300 s")
    wheel = cache_dir / WHEEL_NAME
    if done.returncode != 0 or not wheel.is_file():
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        _unavailable(f"pip download exited {done.returncode}: {last[-300:]}")
    return wheel


def _unavailable(why: str) -> NoReturn:
    """The wheel cannot be fetched: skip (the usual case: no network or no package index),
    or fail when ``CAIRN_REQUIRE_COMPAT=1`` says these tests must run (CI)."""
    reason = (
        f"tests/compat need {WHEEL_NAME} from the package index, which could not be fetched "
        f"({why}); give a local copy with {WHEEL_ENV}=/path/to/{WHEEL_NAME}, or leave these "
        "tests out with -m 'not compat'"
    )
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(reason)
    raise _Unavailable(reason)


class _Unavailable(Exception):
    """The wheel could not be fetched in this test session (remembered for the other workers)."""


def _session_mark(request: pytest.FixtureRequest, cache_dir: Path) -> Path:
    """A file telling this session's other parallel workers the fetch already failed."""
    worker = getattr(request.config, "workerinput", None)
    run = worker["testrunuid"] if worker else f"pid{os.getpid()}"
    return cache_dir / f".unavailable-{run}"


def _fetched(request: pytest.FixtureRequest, cache_dir: Path) -> Path:
    """The wheel in ``cache_dir``, fetched once per session (a failure is skipped once per
    worker, without asking the index again)."""
    wheel = cache_dir / WHEEL_NAME
    mark = _session_mark(request, cache_dir)
    with _taking_turns(cache_dir):
        if wheel.is_file():
            return wheel
        if mark.is_file():
            pytest.skip(mark.read_text(encoding="utf-8"))
        try:
            return _download(cache_dir)
        except _Unavailable as exc:
            for old in cache_dir.glob(".unavailable-*"):
                old.unlink(missing_ok=True)
            mark.write_text(str(exc), encoding="utf-8")
            pytest.skip(str(exc))


@contextlib.contextmanager
def _taking_turns(cache_dir: Path) -> Iterator[None]:
    """One parallel worker at a time looks for (and fetches) the wheel in ``cache_dir``."""
    with open(cache_dir / ".download.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is a ``compat`` test."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.compat)


def _cache_dir(request: pytest.FixtureRequest, factory: pytest.TempPathFactory) -> Path:
    """pytest's cache folder for the wheel (a session temp folder with ``-p no:cacheprovider``)."""
    cache = getattr(request.config, "cache", None)
    if cache is None:
        return factory.mktemp("cmx4mlops-wheel")
    return Path(cache.mkdir("cmx4mlops-wheel"))


@pytest.fixture(scope="session")
def cmx4mlops_wheel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The pinned wheel: ``$CAIRN_CMX4MLOPS_WHEEL``, else pytest's cache, else ``pip download``."""
    given = os.environ.get(WHEEL_ENV)
    if given:
        wheel = Path(given)
        if not wheel.is_file():
            pytest.fail(f"{WHEEL_ENV}={given}: no such file")
    else:
        wheel = _fetched(request, _cache_dir(request, tmp_path_factory))
    digest = _sha256(wheel)
    if digest != WHEEL_SHA256:
        pytest.fail(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256} (cmx4mlops==1.0.1)")
    return wheel


@pytest.fixture(scope="session")
def cmx4mlops_root(cmx4mlops_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel unpacked once per session; returns the ``cmx4mlops`` folder (has ``cmr.yaml``)."""
    target = tmp_path_factory.mktemp("wheel")
    with zipfile.ZipFile(cmx4mlops_wheel) as wheel:
        for info in wheel.infolist():
            if not info.filename.startswith(f"{REPO}/"):
                continue
            path = Path(wheel.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode and path.is_file():
                path.chmod(mode)
    root = target / REPO
    assert (root / "cmr.yaml").is_file(), f"{root}: no cmr.yaml in the wheel"
    return root


def _guard_bin(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for tool in BLOCKED_TOOLS:
        stub = folder / tool
        stub.write_text(f'#!/bin/sh\necho "compat tests: {tool} is blocked" >&2\nexit 100\n')
        stub.chmod(0o755)
    return folder


def guarded_env(home: Path, guard: Path, import_log: Path) -> dict[str, str]:
    """The child's environment: the caller's, minus pip settings, plus the guards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        CAIRN_HOME=str(home),
        CAIRN_COMPAT_IMPORT_LOG=str(import_log),
        PATH=f"{guard}{os.pathsep}{env.get('PATH', '')}",
        PIP_NO_INDEX="1",
        PIP_CONFIG_FILE=os.devnull,
        PYTHONDONTWRITEBYTECODE="1",
    )
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        env[name] = env[name.upper()] = NO_PROXY_URL
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


@dataclass
class Run:
    """One ``cairn run script ... --out=json``: the exit code, the JSON result, the log."""

    proc: subprocess.CompletedProcess[str]
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, Any]:
        return dict(self.result.get("new_env", {}))

    @property
    def log(self) -> str:
        return self.proc.stderr

    def dep(self, script: str) -> dict[str, Any]:
        """The first dependency result (depth first) of ``script``."""
        found = list(walk_deps(self.result, script))
        assert found, f"{script} is not among the dependencies: {self.result.get('deps')}"
        return found[0]


def walk_deps(result: dict[str, Any], script: str | None = None) -> Iterator[dict[str, Any]]:
    for dep in result.get("deps", []):
        if script is None or dep.get("script") == script:
            yield dep
        yield from walk_deps(dep, script)


@dataclass
class Cairn:
    """The ``cairn`` command with one module's ``$CAIRN_HOME``, ``cmx4mlops`` registered."""

    home: Path
    root: Path
    env: dict[str, str]
    cwd: Path
    import_log: Path

    def __call__(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", WRAPPER, *argv],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
            timeout=timeout,
        )

    def run(self, script: str, *args: str, ok: bool = True) -> Run:
        """``cairn run script cmx4mlops:SCRIPT ARGS --quiet --out=json``; exit 0 if ``ok``."""
        proc = self("run", "script", f"{REPO}:{script}", *args, "--quiet", "--out=json")
        if ok:
            assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
        run = Run(proc, json.loads(proc.stdout) if proc.stdout.strip() else {})
        if ok:
            assert run.result.get("return") == 0, run.result
            assert run.result.get("path", "").startswith(str(self.root)), run.result.get("path")
        return run

    def cmind_imports(self) -> list[tuple[str, str]]:
        """Every ``cmind`` module the child processes imported so far, with its file."""
        if not self.import_log.is_file():
            return []
        pairs = (line.partition("\t") for line in self.import_log.read_text().splitlines())
        return [(name, origin) for name, _, origin in pairs]


@pytest.fixture(scope="module")
def cairn(cmx4mlops_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cairn]:
    """A module-wide ``$CAIRN_HOME`` with cmx4mlops registered; checks no real ``cmind`` loaded."""
    base = tmp_path_factory.mktemp("compat")
    home, cwd = base / "cairn-home", base / "cwd"
    cwd.mkdir()
    log = base / "cmind-imports.tsv"
    tool = Cairn(home, cmx4mlops_root, guarded_env(home, _guard_bin(base / "guard"), log), cwd, log)
    added = tool("add", "repo", str(cmx4mlops_root))
    assert added.returncode == 0, added.stderr
    yield tool
    foreign = [(name, origin) for name, origin in tool.cmind_imports() if SHIM_PART not in origin]
    assert not foreign, f"a real cmind was imported: {foreign}"


def which(tool: str) -> str:
    """The path of ``tool``, or skip the test: the script under test only detects it."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed on this machine")
    return path


def tool_output(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr
