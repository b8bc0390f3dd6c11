"""``cairn daemon start|status|stop``: the watcher process of a home (``store/watcher.py``).

One watcher per ``$CAIRN_HOME``, started detached (its own session), logging to
``HOME/watch.log``, listening on ``HOME/watch.sock``. Starting is done under
``HOME/watch.lock``, so two starters make one watcher; a socket left by a watcher that was
killed is replaced.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from cairn import atomic
from cairn.errors import CairnError
from cairn.home import Home
from cairn.store.watch_client import SOCKET_NAME, Client

MYPY = False
if MYPY:
    from typing import Any

START_TIMEOUT_S = 120.0  # setting up 100,000 watches takes a second or two


def status(home: Home) -> dict[str, Any] | None:
    """What the running watcher says about itself; ``None`` when none answers."""
    client = Client(str(home.root))
    try:
        return client.request({"op": "status"})
    finally:
        client.close()


def start(home: Home) -> dict[str, Any]:
    """Start the home's watcher unless one runs; its status once it answers."""
    _check_installed()
    home.root.mkdir(parents=True, exist_ok=True)
    with atomic.lock(home.root / "watch.lock"):
        running = status(home)
        if running is not None:
            return running
        process = _spawn(home)
        return _wait(home, process)


def stop(home: Home) -> int | None:
    """Stop the home's watcher; the pid it had, ``None`` when none was running."""
    running = status(home)
    if running is None:
        return None
    client = Client(str(home.root))
    try:
        client.request({"op": "stop"})
    finally:
        client.close()
    deadline = time.monotonic() + 10
    while (home.root / SOCKET_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return int(running.get("pid", 0))


def _check_installed() -> None:
    import importlib.util

    if importlib.util.find_spec("inotify_simple") is None:
        raise CairnError(
            "cairn daemon needs the inotify_simple package (Linux inotify)",
            hint="pip install 'cairn[watch]'",
        )


def _spawn(home: Home) -> subprocess.Popen[bytes]:
    log = open(home.root / "watch.log", "ab")  # noqa: SIM115 -- handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "cairn.store.watcher", str(home.root)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=_child_env(),
        )
    finally:
        log.close()


def _child_env() -> dict[str, str]:
    """This process's environment, with the folder cairn was imported from on the path."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


def _wait(home: Home, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        running = status(home)
        if running is not None:
            return running
        if process.poll() is not None:
            raise CairnError(
                f"the watcher exited at start (code {process.returncode})",
                hint=f"see its log: {home.root / 'watch.log'}",
            )
        time.sleep(0.02)
    raise CairnError(
        f"the watcher did not answer within {START_TIMEOUT_S:.0f} s",
        hint=f"see its log: {home.root / 'watch.log'}; stop it with: cairn daemon stop",
    )


def command(action: str, home: Home | None = None) -> tuple[dict[str, Any], list[str]]:
    """The outcome of ``cairn daemon ACTION``: (data, lines)."""
    home = home or Home.from_env()
    if action == "start":
        data = start(home)
        return {"running": True, **data}, _lines(data, home)
    if action == "status":
        found = status(home)
        if found is None:
            return {"running": False}, [f"no watcher runs for {home.root}"]
        return {"running": True, **found}, _lines(found, home)
    if action == "stop":
        pid = stop(home)
        line = f"stopped the watcher (pid {pid})" if pid else f"no watcher ran for {home.root}"
        return {"stopped": pid is not None, "pid": pid}, [line]
    from cairn.errors import InvalidInput

    raise InvalidInput(
        f"unknown daemon action {action!r}", hint="use: cairn daemon start|status|stop"
    )


def _lines(data: dict[str, Any], home: Home) -> list[str]:
    lines = [
        f"watcher pid {data.get('pid')} for {home.root}: {data.get('folders')} folders,"
        f" {data.get('watches')} watches, generation {data.get('gen')}",
        f"log: {home.root / 'watch.log'}",
    ]
    if data.get("limited"):
        from cairn.store.watcher import LIMIT_HINT

        lines.append(LIMIT_HINT)
    return lines
