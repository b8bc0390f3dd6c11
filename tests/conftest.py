"""Shared fixtures: every test runs with CAIRN_HOME in a fresh temporary directory, and in a
temporary current directory of its own (tests run in parallel, and scripts that are not cached
run in the current directory)."""

from __future__ import annotations

import base64
import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http import server
from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture(autouse=True)
def cairn_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty ``$CAIRN_HOME`` for every test (the real home is never touched)."""
    home = tmp_path / "cairn-home"
    monkeypatch.setenv("CAIRN_HOME", str(home))
    monkeypatch.delenv("CAIRN_WATCH", raising=False)  # no test starts a watcher unasked
    return home


@pytest.fixture(autouse=True)
def own_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's ``tmp_path`` as the current directory (never the checkout, never shared)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """Make a repository directory in ``tmp_path`` with ``cmr.yaml`` and optional artifacts.

    ``make_repo("r1", uid="...", prefix="", artifacts={"dataset/mnist": {...meta...}})``
    """

    def make(
        alias: str,
        *,
        uid: str | None = None,
        prefix: str = "",
        artifacts: dict[str, dict[str, Any]] | None = None,
    ) -> Path:
        path = tmp_path / "repos" / alias
        path.mkdir(parents=True)
        cmr: dict[str, Any] = {"alias": alias, "uid": uid or os.urandom(8).hex()}
        if prefix:
            cmr["prefix"] = prefix
        (path / "cmr.yaml").write_text(yaml.safe_dump(cmr))
        root = path / prefix if prefix else path
        for rel, data in (artifacts or {}).items():
            art = root / rel
            art.mkdir(parents=True)
            (art / "_cm.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return make


@pytest.fixture
def cli(cairn_home: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ``cairn`` command in a subprocess: ``cli("find", "dataset", input=...)``."""

    def run(
        *argv: str,
        input: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Any:
        environ = {**os.environ, "CAIRN_HOME": str(cairn_home), **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "cairn", *argv],
            capture_output=True,
            text=True,
            input=input,
            env=environ,
            cwd=cwd or tmp_path,
            timeout=60,
        )

    return run


@pytest.fixture
def cli_fsize(cairn_home: Path, tmp_path: Path) -> Callable[..., Any]:
    """Run the real ``cairn`` with files limited to ``fsize`` bytes (``ulimit -f``):
    ``cli_fsize(200_000, "import", "repo", path)``. Writing more fails with EFBIG ("File too
    large"), the way a full disk fails with ENOSPC."""
    import resource

    def run(fsize: int, *argv: str) -> Any:
        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

        return subprocess.run(
            [sys.executable, "-m", "cairn", *argv],
            capture_output=True,
            text=True,
            env={**os.environ, "CAIRN_HOME": str(cairn_home)},
            cwd=tmp_path,
            preexec_fn=limit,
            timeout=60,
        )

    return run


_RO_MOUNT = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
_RO_WORKS: list[bool] = []


def _read_only_mounts_work(probe: Path) -> bool:
    """Whether this (root) process may bind-mount a folder read-only in a private mount
    namespace (``unshare --mount``): containers often forbid it."""
    if not _RO_WORKS:
        probe.mkdir(parents=True, exist_ok=True)
        command = ["unshare", "--mount", "sh", "-c", _RO_MOUNT, "sh", str(probe)]
        command += ["sh", "-c", f"! touch {probe}/x 2>/dev/null"]
        try:
            done = subprocess.run(command, capture_output=True, timeout=30)
        except OSError:
            done = None
        _RO_WORKS.append(done is not None and done.returncode == 0)
    return _RO_WORKS[0]


def _chmod_tree(path: Path, writable: bool) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        for name in (*dirnames, *filenames):
            item = Path(dirpath, name)
            if not item.is_symlink():
                item.chmod(
                    item.stat().st_mode | 0o200 if writable else item.stat().st_mode & ~0o222
                )
    path.chmod(path.stat().st_mode | 0o200 if writable else path.stat().st_mode & ~0o222)


@pytest.fixture
def cli_read_only(cairn_home: Path, tmp_path: Path) -> Callable[..., Any]:
    """Run the real ``cairn`` with folder ``path`` read-only: ``cli_read_only(path, "find",
    "dataset")``. As root (who writes whatever the permissions say) ``path`` is bind-mounted
    read-only in a private mount namespace of that one command (``unshare --mount``), and the
    test is skipped where that is forbidden; otherwise the folder's write permissions are
    taken away while the command runs."""

    def run(path: Path, *argv: str, cwd: Path | None = None) -> Any:
        environ = {**os.environ, "CAIRN_HOME": str(cairn_home)}
        command = [sys.executable, "-m", "cairn", *argv]
        if os.geteuid() == 0:
            if not _read_only_mounts_work(tmp_path / "ro-probe"):
                pytest.skip("read-only bind mounts are not allowed here (unshare --mount)")
            command = ["unshare", "--mount", "sh", "-c", _RO_MOUNT, "sh", str(path), *command]
            return subprocess.run(
                command, capture_output=True, text=True, env=environ, cwd=cwd or tmp_path
            )
        _chmod_tree(path, writable=False)
        try:
            return subprocess.run(
                command, capture_output=True, text=True, env=environ, cwd=cwd or tmp_path
            )
        finally:
            _chmod_tree(path, writable=True)

    return run


NOBODY = 65534
_NOBODY_RUNS: list[bool] = []


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A fresh folder every user may enter (pytest's ``tmp_path`` is its owner's alone, so
    another user could not reach a home in it); removed afterwards."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="cairn-test-shared-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        _chmod_tree(path, writable=True)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def cli_as_nobody(shared_dir: Path) -> Callable[..., Any]:
    """Run the real ``cairn`` as user ``nobody`` (``setpriv``), the way another user meets a
    home or repository that is not theirs: ``cli_as_nobody(home, "find", "dataset")``. Only
    root may switch users: elsewhere the test is skipped."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("running as another user needs root and setpriv")
    switch = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    if not _NOBODY_RUNS:
        probe = [*switch, sys.executable, "-c", "import cairn.cli.main"]
        _NOBODY_RUNS.append(subprocess.run(probe, capture_output=True, cwd="/").returncode == 0)
    if not _NOBODY_RUNS[0]:
        pytest.skip("user nobody cannot run this checkout's cairn (a folder it may not read)")

    def run(home: Path, *argv: str) -> Any:
        environ = {**os.environ, "CAIRN_HOME": str(home)}
        command = [*switch, sys.executable, "-m", "cairn", *argv]
        return subprocess.run(
            command, capture_output=True, text=True, env=environ, cwd=shared_dir, timeout=120
        )

    return run


def json_out(proc: subprocess.CompletedProcess[str]) -> Any:
    """Parse the single JSON document a ``--out=json`` run printed."""
    return json.loads(proc.stdout)


GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def sh_git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Callable[..., tuple[str, Path]]:
    """A bare Git repository holding a cairn repository: (file:// URL, work tree)."""

    def make(
        alias: str, cmr: dict[str, Any] | None = None, uid: str | None = None
    ) -> tuple[str, Path]:
        work = tmp_path / "work" / alias
        (work / "dataset" / f"{alias}-data").mkdir(parents=True)
        meta = {"alias": alias, "uid": uid or (alias.encode().hex() + "0" * 16)[:16], **(cmr or {})}
        (work / "cmr.yaml").write_text(yaml.safe_dump(meta))
        art = {"alias": f"{alias}-data", "automation_alias": "dataset", "tags": ["v1"]}
        (work / "dataset" / f"{alias}-data" / "_cm.yaml").write_text(yaml.safe_dump(art))
        sh_git("init", "-q", "-b", "main", cwd=work)
        sh_git("add", "-A", cwd=work)
        sh_git("commit", "-q", "-m", "v1", cwd=work)
        bare = tmp_path / "remotes" / f"{alias}.git"
        sh_git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
        sh_git("remote", "add", "origin", str(bare), cwd=work)
        return f"file://{bare}", work

    return make


TOKEN = "s3cr3t-TOKEN"
"""The password of the ``http_remote`` fixture's user; no output or file may show it."""


class _AuthHandler(server.SimpleHTTPRequestHandler):
    """Serves a directory of bare repositories (Git's dumb HTTP) only to ``user:TOKEN``."""

    expected = "Basic " + base64.b64encode(f"user:{TOKEN}".encode()).decode()

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="t"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def http_remote(
    remote: Callable[..., tuple[str, Path]], tmp_path: Path
) -> Iterator[Callable[..., tuple[str, Path]]]:
    """A ``remote`` served over loopback HTTP that needs ``user:TOKEN``: (URL with the
    credentials in it, work tree). Pushes to it refresh what the server shows."""
    handler = functools.partial(_AuthHandler, directory=str(tmp_path / "remotes"))
    httpd = server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def make(alias: str) -> tuple[str, Path]:
        _, work = remote(alias)
        bare = tmp_path / "remotes" / f"{alias}.git"
        hook = bare / "hooks" / "post-update"
        hook.write_text("#!/bin/sh\nexec git update-server-info\n")
        hook.chmod(0o755)
        sh_git("update-server-info", cwd=bare)
        return f"http://user:{TOKEN}@127.0.0.1:{httpd.server_port}/{alias}.git", work

    yield make
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def commit_change(work: Path, tags: list[str]) -> str:
    path = next(work.glob("dataset/*/_cm.yaml"))
    data = yaml.safe_load(path.read_text())
    data["tags"] = tags
    path.write_text(yaml.safe_dump(data))
    sh_git("commit", "-q", "-am", "change", cwd=work)
    sh_git("push", "-q", "origin", "main", cwd=work)
    return sh_git("rev-parse", "HEAD", cwd=work)


# -- headless Chromium (Debian's package) for the browser tests ---------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium(tmp_path: Path) -> Any:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("Debian's `chromium` is not installed (apt-get install chromium; CI does)")

    def run(*args: str) -> str:
        profile = tmp_path / "chromium-profile"
        command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
        return done.stdout

    return run


def dump(chromium: Any, page_path: Path) -> str:
    """The DOM of ``page_path`` after its scripts ran (5 s of virtual time)."""
    return str(chromium("--virtual-time-budget=5000", "--dump-dom", page_path.as_uri()))


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()
