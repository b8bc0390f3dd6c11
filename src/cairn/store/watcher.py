"""The resident watcher of one cairn home: Linux inotify, so a query may skip its stat walk.

It watches every registered repository's root, each automation folder in it, and each
artifact directory in those (and the home, to pick up repositories registered later).
Every event raises a generation counter and marks the automation folder it falls under as
changed at that generation. Linux queues an inotify event inside the system call that
changes the file, so draining the queue before each answer (``drain``) means an answer
accounts for every change made before the question was asked.

It vouches for nothing, for the folders concerned, when it cannot be sure:
  - the queue overflowed (``IN_Q_OVERFLOW``, or more than ``CAIRN_WATCH_MAX_EVENTS`` events
    between two answers, a tiny queue for tests): every watch is set up again in a new
    session;
  - the watch limit was reached (``fs.inotify.max_user_watches``): the folders it could
    not watch whole are left out, and the log says once how to raise the limit;
  - a folder was removed, moved or replaced: it is left out until it is watched again.
A folder left out is answered without ``changed``: the query walks it as before.

  - a repository lies on a network file system (``netfs.py``): a change made on another
    machine sends no event here, so its folders are not watched (``status`` lists them).

Run as ``python -m cairn.store.watcher HOME [--idle=SECONDS]``; ``cairn daemon start`` (or a
query, when the home has watching enabled) runs it through ``cairn.cli.lean``, which adds the
``cli`` question (``find`` answered in this process). It holds ``HOME/watch.run.lock`` for its
whole life, so a second one started meanwhile exits at once (code ``ANOTHER``); the socket
``HOME/watch.sock`` is made with mode 0600 and removed before the lock is let go. It ends
after ``--idle`` seconds without a question (``IDLE_S`` by default; 0: never).
"""

from __future__ import annotations

import contextlib
import errno
import json
import marshal
import os
import select
import socket
import sys
import time
import uuid

from cairn.store import folder_memo, netfs
from cairn.store.watch_client import SOCKET_NAME

MYPY = False
if MYPY:
    from collections.abc import Callable
    from typing import Any

LIMIT_HINT = (
    "the inotify watch limit (fs.inotify.max_user_watches) was reached: folders not watched "
    "are checked by the stat walk; to raise it: sudo sysctl fs.inotify.max_user_watches=1048576 "
    "(add the line to /etc/sysctl.d/90-cairn.conf to keep it), then: cairn daemon stop; "
    "cairn daemon start"
)
IDLE_S = 1800.0  # the default idle time before the watcher exits
ANOTHER = 75  # exit code: another watcher of the home runs (or is starting)
RUN_LOCK = "watch.run.lock"
INDEX_FILE = "index.sqlite"  # with its -journal: the home's index (``home.Home.index_path``)
MAX_FRAME = 1 << 24  # a question longer than this is refused
NAMES_MAX = 4096  # more artifact directories changed than this: the query walks the folder


def _flags() -> Any:
    try:
        import inotify_simple
    except ImportError:
        from cairn.errors import CairnError

        raise CairnError(
            "the watcher needs the inotify_simple package",
            hint="pip install 'cairn[watch]'",
        ) from None
    return inotify_simple


class Folder:
    """A watched automation folder: the generation of its last change, of the last change
    of its own entries (``listing``), of each artifact directory changed since it was
    watched (``names``), and its identity."""

    __slots__ = ("changed", "dev", "ino", "listing", "names")

    def __init__(self, changed: int, dev: int, ino: int) -> None:
        self.changed, self.dev, self.ino = changed, dev, ino
        self.listing = changed
        self.names: dict[str, int] = {}

    def changed_since(self, since: int) -> list[str] | None:
        """The artifact directories changed after generation ``since``, when nothing else
        changed (no entry of the folder itself) and they are few; else ``None``."""
        if self.listing > since:
            return None
        names = [name for name, gen in self.names.items() if gen > since]
        return sorted(names) if len(names) <= NAMES_MAX else None


class Watcher:
    """The watches of one home and what they saw (no sockets: see ``serve``)."""

    def __init__(self, home: str, max_events: int = 0, mountinfo: str = netfs.MOUNTINFO) -> None:
        self.home = home
        self.max_events = max_events  # 0: only the kernel's own overflow counts
        self.mountinfo = mountinfo
        self.ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}  # more questions
        self.network: dict[str, str] = {}  # repository root -> its network file system type
        self.inotify_mod = _flags()
        self.limited = False
        self.resets = 0
        self.changes = 0  # events but those on the index's own files (see ``handle``)
        self.kept_answers = 0  # answers given again unchanged (``cli/lean.py``)
        self.born = uuid.uuid4().hex
        self._start()

    def _start(self) -> None:
        fl = self.inotify_mod.flags
        self.mask = (
            fl.CREATE | fl.DELETE | fl.MODIFY | fl.ATTRIB | fl.CLOSE_WRITE | fl.MOVED_FROM
            | fl.MOVED_TO | fl.DELETE_SELF | fl.MOVE_SELF | fl.ONLYDIR
        )  # fmt: skip
        self.inotify = self.inotify_mod.INotify()
        self.session = f"{self.born}-{self.resets}"  # a new one after each overflow
        self.gen = 0
        self.pending = 0  # events since the last answer (for CAIRN_WATCH_MAX_EVENTS)
        self.folders: dict[str, Folder] = {}
        self.roots: dict[int, str] = {}  # wd -> repository root
        self.tops: dict[int, str] = {}  # wd -> automation folder (its own watch)
        self.owner: dict[int, str] = {}  # wd -> automation folder (an artifact directory's)
        self.owner_name: dict[int, str] = {}  # wd -> the artifact directory's name
        self.home_wd = self._add(self.home, fl.CLOSE_WRITE | fl.MOVED_TO | fl.ONLYDIR)
        self._add_roots()

    def close(self) -> None:
        self.inotify.close()

    # -- setting up ----------------------------------------------------------------------

    def _add(self, path: str, mask: int) -> int | None:
        try:
            wd: int = self.inotify.add_watch(path, mask)
        except OSError as exc:
            if exc.errno == errno.ENOSPC and not self.limited:
                self.limited = True
                log(LIMIT_HINT)
            return None
        return wd

    def _add_roots(self) -> None:
        for root in repo_roots(self.home):
            if root not in self.roots.values() and root not in self.network:
                self._add_root(root)

    def _add_root(self, root: str) -> None:
        fstype = netfs.network_type(root, self.mountinfo)
        if fstype is not None:
            self.network[root] = fstype
            log(f"not watching {root}: it is on a network file system ({fstype})")
            return
        wd = self._add(root, self.mask)
        if wd is None:
            return
        self.roots[wd] = root
        for name in _subfolders(root):
            self.watch_folder(os.path.join(root, name))

    def watch_folder(self, path: str) -> None:
        """Watch an automation folder whole (itself, then each artifact directory)."""
        self.folders.pop(path, None)
        try:
            st = os.stat(path)
        except OSError:
            return
        wd = self._add(path, self.mask)
        if wd is None:
            return
        self.tops[wd] = path
        for name in _subfolders(path):
            if not self._watch_artifact(path, name):
                return
        self.folders[path] = Folder(self.gen, st.st_dev, st.st_ino)

    def _watch_artifact(self, folder: str, name: str) -> bool:
        wd = self._add(os.path.join(folder, name), self.mask)
        if wd is None:
            if not os.path.isdir(os.path.join(folder, name)):
                return True  # gone already, or not a directory: the folder's event says so
            self.folders.pop(folder, None)
            return False
        self.owner[wd] = folder
        self.owner_name[wd] = name
        return True

    # -- events --------------------------------------------------------------------------

    def drain(self) -> None:
        """Read every queued event (none waits), then handle them in order."""
        events: list[Any] = []
        while True:
            batch = self.inotify.read(timeout=0)
            if not batch:
                break
            events += batch
        self.handle(events)

    def handle(self, events: list[Any]) -> None:
        fl = self.inotify_mod.flags
        self.pending += len(events)
        if any(e.mask & fl.Q_OVERFLOW for e in events) or (
            self.max_events and self.pending > self.max_events
        ):
            self.reset()
            return
        for event in events:
            self.gen += 1
            if not (event.wd == self.home_wd and event.name.startswith(INDEX_FILE)):
                self.changes += 1  # the index is derived from the files: its writes change none
            self._one(event, fl)

    def reset(self) -> None:
        """Events were lost: a new session, every watch set up again."""
        log("the inotify queue overflowed: watching everything again in a new session")
        self.resets += 1
        self.close()
        self._start()

    def _one(self, event: Any, fl: Any) -> None:
        wd, mask, name = event.wd, event.mask, event.name
        if wd == self.home_wd:
            if name == "repos.json":
                self._add_roots()
        elif wd in self.roots:
            self._root_event(self.roots[wd], mask, name, fl)
        elif wd in self.tops:
            self._folder_event(self.tops[wd], mask, name, fl)
        elif wd in self.owner:
            self._touch(self.owner[wd], self.owner_name[wd])
            if mask & fl.IGNORED:
                del self.owner[wd], self.owner_name[wd]

    def _root_event(self, root: str, mask: int, name: str, fl: Any) -> None:
        if mask & (fl.DELETE_SELF | fl.MOVE_SELF | fl.IGNORED):
            for path in [p for p in self.folders if os.path.dirname(p) == root]:
                del self.folders[path]
            return
        path = os.path.join(root, name)
        if mask & (fl.CREATE | fl.MOVED_TO | fl.DELETE | fl.MOVED_FROM):
            self.folders.pop(path, None)
            if mask & fl.ISDIR and mask & (fl.CREATE | fl.MOVED_TO):
                self.watch_folder(path)
        else:
            self._touch(path)

    def _folder_event(self, folder: str, mask: int, name: str, fl: Any) -> None:
        if mask & (fl.DELETE_SELF | fl.MOVE_SELF | fl.IGNORED):
            self.folders.pop(folder, None)
            return
        self._touch(folder)
        if mask & fl.ISDIR and mask & (fl.CREATE | fl.MOVED_TO) and folder in self.folders:
            self._watch_artifact(folder, name)

    def _touch(self, folder: str, name: str | None = None) -> None:
        """A change under ``folder``: in the artifact directory ``name``, else in its own
        entries."""
        found = self.folders.get(folder)
        if found is None:
            return
        found.changed = self.gen
        if name is None:
            found.listing = self.gen
        else:
            found.names[name] = self.gen

    # -- answers -------------------------------------------------------------------------

    def answer(self, message: Any) -> dict[str, Any]:
        self.drain()
        self.pending = 0
        op = message.get("op") if isinstance(message, dict) else None
        reply: dict[str, Any] = {"session": self.session, "gen": self.gen}
        if op == "ask":
            found = self.folders.get(str(message.get("path")))
            if found is not None:
                reply.update(changed=found.changed, dev=found.dev, ino=found.ino)
                since = message.get("since")
                if isinstance(since, int) and found.changed > since:
                    reply["names"] = found.changed_since(since)
        elif op == "status":
            reply.update(
                pid=os.getpid(),
                folders=len(self.folders),
                watches=len(self.roots) + len(self.tops) + len(self.owner),
                limited=self.limited,
                resets=self.resets,
                network=self.network,
                kept_answers=self.kept_answers,
                kept_folders=folder_memo.current.hits if folder_memo.current is not None else 0,
            )
        elif op == "stop":
            reply["stopping"] = True
        elif op in self.ops:
            reply.update(self._extra(op, message))
        else:
            reply["error"] = f"unknown op {op!r}"
        return reply

    def _extra(self, op: str, message: dict[str, Any]) -> dict[str, Any]:
        """An added question's answer; a failure is logged and answered ``unserved``."""
        try:
            return self.ops[op](message)
        except Exception as exc:
            log(f"the question {op!r} failed: {exc!r}")
            return {"unserved": f"failed: {exc}"}


# -- the server ----------------------------------------------------------------------------


def listen(home: str) -> socket.socket:
    """The watcher's socket, mode 0600, replacing a stale one (the caller holds the lock)."""
    path = os.path.join(home, SOCKET_NAME)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        server.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    server.listen(64)
    return server


def serve(watcher: Watcher, server: socket.socket, idle_s: float = 0.0) -> None:
    """Answer questions until asked to stop (or idle for ``idle_s`` seconds, if not 0)."""
    poller = select.poll()
    poller.register(server.fileno(), select.POLLIN)
    polled = watcher.inotify.fileno()
    poller.register(polled, select.POLLIN)
    clients: dict[int, tuple[socket.socket, bytearray]] = {}
    last = time.monotonic()
    wait_ms = int(min(1000.0, max(idle_s * 250, 50.0))) if idle_s else 1000
    while True:
        ready = poller.poll(wait_ms)
        if idle_s and time.monotonic() - last > idle_s:
            log(f"idle for {idle_s:g} s: exiting")
            return
        for fd, _ in ready:
            if fd == server.fileno():
                _accept(server, poller, clients)
            elif fd in clients:
                last = time.monotonic()
                if _client_ready(watcher, poller, clients, fd):
                    return
            elif fd == polled:
                watcher.drain()
        if watcher.inotify.fileno() != polled:  # a reset made a new inotify descriptor
            with contextlib.suppress(KeyError):
                poller.unregister(polled)
            polled = watcher.inotify.fileno()
            poller.register(polled, select.POLLIN)


def _accept(
    server: socket.socket, poller: select.poll, clients: dict[int, tuple[socket.socket, bytearray]]
) -> None:
    conn, _ = server.accept()
    conn.setblocking(True)
    conn.settimeout(5.0)
    clients[conn.fileno()] = (conn, bytearray())
    poller.register(conn.fileno(), select.POLLIN)


def _client_ready(
    watcher: Watcher,
    poller: select.poll,
    clients: dict[int, tuple[socket.socket, bytearray]],
    fd: int,
) -> bool:
    """Answer each complete line a client sent; ``True`` when one asked to stop."""
    conn, buffer = clients[fd]
    try:
        data = conn.recv(65536)
    except OSError:
        data = b""
    if not data:
        poller.unregister(fd)
        del clients[fd]
        conn.close()
        return False
    buffer += data
    stop = False
    while True:
        taken = _take(buffer)
        if taken is None:
            break
        message, framed = taken
        if isinstance(message, dict) and message.get("ack") is True:
            try:
                conn.sendall(b"A")  # taken: the client waits as long as this process runs
            except OSError:
                break
        reply = watcher.answer(message)
        stop = stop or bool(reply.get("stopping"))
        try:
            conn.sendall(_frame(reply) if framed else json.dumps(reply).encode() + b"\n")
        except OSError:
            break
    return stop


def _take(buffer: bytearray) -> tuple[Any, bool] | None:
    """The first whole question in ``buffer`` (removed from it) and whether it came framed:
    ``M`` + 4-byte big-endian length + a ``marshal``-ed dict (the lean client's: it imports
    no ``json``), else one JSON line. ``None`` while no whole question is there."""
    if buffer[:1] == b"M":
        if len(buffer) < 5 or len(buffer) < 5 + int.from_bytes(buffer[1:5], "big"):
            return None
        end = 5 + int.from_bytes(buffer[1:5], "big")
        if end > MAX_FRAME:
            buffer.clear()
            return None, True
        payload = bytes(buffer[5:end])
        del buffer[:end]
        try:
            return marshal.loads(payload), True
        except (ValueError, EOFError, TypeError):
            return None, True
    if b"\n" not in buffer:
        return None
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    try:
        return json.loads(line), False
    except ValueError:
        return None, False


def _frame(reply: dict[str, Any]) -> bytes:
    payload = marshal.dumps(reply)
    return b"M" + len(payload).to_bytes(4, "big") + payload


# -- helpers -------------------------------------------------------------------------------


def repo_roots(home: str) -> list[str]:
    """The roots (``<path>[/<prefix>]``) of the repositories registered in ``home``."""
    from pathlib import Path

    from cairn.home import Home
    from cairn.store.registry import Registry

    return [str(r.root) for r in Registry(Home(Path(home))).repos()]


def _subfolders(root: str) -> list[str]:
    try:
        with os.scandir(root) as entries:
            return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())
    except OSError:
        return []


def log(text: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} cairn watcher {os.getpid()}: {text}", file=sys.stderr, flush=True)


def parse_idle(text: str | None) -> float:
    """``--idle``'s value: seconds, at least 0 (``None``: the default)."""
    if text is None:
        return IDLE_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        from cairn.errors import InvalidInput

        raise InvalidInput(
            f"--idle={text} is not a number of seconds",
            hint="give --idle=SECONDS, e.g. --idle=1800 (0: never exit when idle)",
        )
    return seconds


def _run_lock(home: str) -> int | None:
    """Hold the home's run lock for this process's life; ``None`` when another holds it."""
    import fcntl

    fd = os.open(os.path.join(home, RUN_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def main(argv: list[str], setup: Callable[[Watcher], None] | None = None) -> int:
    """Watch ``argv[0]`` (a home) and answer on its socket; ``setup`` may add questions."""
    home = os.path.abspath(argv[0])
    idle = parse_idle(next((a[7:] for a in argv[1:] if a.startswith("--idle=")), None))
    max_events = int(os.environ.get("CAIRN_WATCH_MAX_EVENTS", "0") or 0)
    lock = _run_lock(home)
    if lock is None:
        return ANOTHER
    start = time.monotonic()
    watcher = Watcher(home, max_events)
    if setup is not None:
        setup(watcher)
    server = listen(home)
    took = time.monotonic() - start
    log(f"watching {len(watcher.folders)} folders of {home} (set up in {took:.2f} s)")
    try:
        serve(watcher, server, idle)
    finally:
        server.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(home, SOCKET_NAME))
        log("stopped")
        os.close(lock)  # the socket is gone before another watcher may start
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
