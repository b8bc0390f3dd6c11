"""``cairn daemon start|status|stop|enable|disable``: the watcher process of a home.

One watcher (``store/watcher.py``) per ``$CAIRN_HOME``, started detached (its own session),
logging to ``HOME/watch.log``, listening on ``HOME/watch.sock``, exiting after ``--idle``
seconds without a question. Starting is done under ``HOME/watch.lock`` and the watcher
holds ``HOME/watch.run.lock`` while it lives, so two starters make one watcher; a socket
left by a watcher that was killed is replaced.

Starting on demand: when watching is enabled for the home (``cairn daemon enable`` writes
``HOME/watch.enabled``, holding the idle time; ``CAIRN_WATCH=1`` enables it and
``CAIRN_WATCH=0`` disables it for one process), a query that finds no watcher starts one in
the background (at most once per ``DEMAND_EVERY_S`` per home, stamped in
``HOME/watch.spawned``) and answers by the walk meanwhile. By default nothing starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from cairn import atomic
from cairn.errors import CairnError
from cairn.home import Home
from cairn.store.watch_client import ENABLED_NAME, SOCKET_NAME, Client, wanted
from cairn.store.watcher import ANOTHER, IDLE_S, LIMIT_HINT, parse_idle

MYPY = False
if MYPY:
    from typing import Any

START_TIMEOUT_S = 120.0  # setting up 100,000 watches takes a second or two
DEMAND_EVERY_S = 10.0  # a query starts at most one watcher per home in this time
ENABLED = ENABLED_NAME
WATCHER_ENTRY = "cairn.cli.lean"  # the watcher, answering `find` too (named, not imported)
SPAWNED = "watch.spawned"
_children: list[subprocess.Popen[bytes]] = []  # watchers this process started on demand


def status(home: Home) -> dict[str, Any] | None:
    """What the running watcher says about itself; ``None`` when none answers."""
    client = Client(str(home.root))
    try:
        return client.request({"op": "status"})
    finally:
        client.close()


def start(home: Home, idle: float | None = None) -> dict[str, Any]:
    """Start the home's watcher unless one runs; its status once it answers."""
    _check_installed()
    home.root.mkdir(parents=True, exist_ok=True)
    with atomic.lock(home.root / "watch.lock"):
        running = status(home)
        if running is not None:
            return running
        process = _spawn(str(home.root), enabled_idle(str(home.root)) if idle is None else idle)
        return _wait(home, process)


def enabled_idle(home_root: str) -> float:
    """The idle time ``cairn daemon enable`` kept for the home (else the default)."""
    try:
        with open(os.path.join(home_root, ENABLED), encoding="utf-8") as f:
            text = f.read().strip()
    except OSError:
        return IDLE_S
    try:
        return parse_idle(text or None)
    except CairnError:
        return IDLE_S


def enable(home: Home, idle: float) -> None:
    """Let queries start the home's watcher on demand (it exits after ``idle`` seconds)."""
    home.root.mkdir(parents=True, exist_ok=True)
    atomic.write_text(home.root / ENABLED, f"{idle:g}\n")


def disable(home: Home) -> bool:
    """Queries no longer start a watcher (a running one stays); whether it was enabled."""
    try:
        (home.root / ENABLED).unlink()
    except FileNotFoundError:
        return False
    return True


def start_on_demand(home_root: str) -> bool:
    """Start the home's watcher in the background if the home wants one, without waiting;
    whether one was started now or in the last ``DEMAND_EVERY_S`` (it may be setting up)."""
    global _children
    _children = [p for p in _children if p.poll() is None]  # reap those that ended
    if not wanted(home_root):
        return False
    stamp = os.path.join(home_root, SPAWNED)
    try:
        if time.time() - os.stat(stamp).st_mtime < DEMAND_EVERY_S:
            return True
    except OSError:
        pass
    import importlib.util

    if importlib.util.find_spec("inotify_simple") is None or not os.access(home_root, os.W_OK):
        return False
    try:
        with open(stamp, "w"):
            pass
        _children.append(_spawn(home_root, enabled_idle(home_root)))
    except OSError:
        return False
    return True


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


def _spawn(home_root: str, idle: float) -> subprocess.Popen[bytes]:
    log = open(os.path.join(home_root, "watch.log"), "ab")  # noqa: SIM115 -- for the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", WATCHER_ENTRY, home_root, f"--idle={idle:g}"],
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
        if process.poll() not in (None, ANOTHER):  # ANOTHER: one started meanwhile answers
            raise CairnError(
                f"the watcher exited at start (code {process.returncode})",
                hint=f"see its log: {home.root / 'watch.log'}",
            )
        time.sleep(0.02)
    raise CairnError(
        f"the watcher did not answer within {START_TIMEOUT_S:.0f} s",
        hint=f"see its log: {home.root / 'watch.log'}; stop it with: cairn daemon stop",
    )


def command(
    action: str, home: Home | None = None, flags: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The outcome of ``cairn daemon ACTION [--idle=SECONDS]``: (data, lines)."""
    home = home or Home.from_env()
    given = (flags or {}).get("idle")
    idle = None if given is None else parse_idle(str(given))
    if action == "start":
        data = start(home, idle)
        return {"running": True, **data}, _lines(data, home)
    if action == "status":
        return _status_outcome(home)
    if action == "stop":
        pid = stop(home)
        line = f"stopped the watcher (pid {pid})" if pid else f"no watcher ran for {home.root}"
        return {"stopped": pid is not None, "pid": pid}, [line]
    if action == "enable":
        enable(home, IDLE_S if idle is None else idle)
        seconds = enabled_idle(str(home.root))
        return {"enabled": True, "idle": seconds}, [
            f"queries start the watcher of {home.root} when none runs"
            f" (it exits after {seconds:g} s without a question)"
        ]
    if action == "disable":
        was = disable(home)
        return {"enabled": False, "was_enabled": was}, [
            f"queries no longer start a watcher for {home.root}"
            + (" (a running one stays: cairn daemon stop)" if status(home) else "")
        ]
    from cairn.errors import InvalidInput

    raise InvalidInput(
        f"unknown daemon action {action!r}",
        hint="use: cairn daemon start|status|stop|enable|disable",
    )


def _status_outcome(home: Home) -> tuple[dict[str, Any], list[str]]:
    on = wanted(str(home.root))
    found = status(home)
    if found is None:
        started = "; a query starts it (enabled)" if on else ""
        return {"running": False, "enabled": on}, [f"no watcher runs for {home.root}{started}"]
    return {"running": True, "enabled": on, **found}, _lines(found, home)


def _lines(data: dict[str, Any], home: Home) -> list[str]:
    lines = [
        f"watcher pid {data.get('pid')} for {home.root}: {data.get('folders')} folders,"
        f" {data.get('watches')} watches, generation {data.get('gen')}",
        f"log: {home.root / 'watch.log'}",
        f"answered again while nothing changed: {data.get('kept_answers', 0)} finds,"
        f" {data.get('kept_folders', 0)} folders",
    ]
    if data.get("limited"):
        lines.append(LIMIT_HINT)
    network = data.get("network") or {}
    lines += [
        f"not vouched for (network file system {fstype}, walked by every query): {root}"
        for root, fstype in sorted(network.items())
    ]
    return lines
