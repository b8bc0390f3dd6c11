"""The query side of the watcher: ask it, over its Unix socket, whether a folder changed.

Protocol (one JSON object per line, each way, on ``$CAIRN_HOME/watch.sock``)
    ``{"op": "ask", "path": FOLDER[, "since": T]}``  answered, after the watcher drained its
        inotify queue, with ``{"session": S, "gen": G}`` plus, when it watches ``FOLDER``
        whole, ``"changed": C, "dev": D, "ino": I``: the generation of the last change seen
        under it (the folder, its artifact directories, their files) and the folder's
        identity; with ``since`` and ``C > T``, ``"names"``: the artifact directories changed
        after ``T`` when nothing else in the folder changed (else ``null``).
    ``{"op": "status"}``  ``{"session", "gen", "pid", "folders", "watches", "limited",
        "resets", "network", "kept_answers", "kept_folders"}`` (``network``: repository root
        -> its network file system; ``kept_*``: answers given again, ``cli/lean.py`` and
        ``folder_memo.py``).
    ``{"op": "stop"}``    ``{"stopping": true}``; the watcher then exits.
    ``{"op": "cli", ...}`` a ``cairn find`` answered by the watcher (``cli/lean.py``).
A question may also come as one binary frame -- ``M``, a 4-byte big-endian length, a
``marshal``-ed dict -- and is then answered the same way (a client that imports no ``json``).
A question with ``"ack": true`` is first acknowledged by one byte, ``A``, when the watcher takes
it (a client may then wait for a slow answer while the watcher's process runs).

A generation only grows within a session; a new session (a restart, a queue overflow)
vouches for nothing an older one saw. Any failure here (no watcher, a refused or slow
socket, a malformed answer) is ``None``: the caller falls back to the stat walk.
"""

from __future__ import annotations

import contextlib
import json
import os

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from typing import Any

SOCKET_NAME = "watch.sock"
ENABLED_NAME = "watch.enabled"  # ``cairn daemon enable``: queries start the watcher
TIMEOUT_S = 2.0  # longer than any drain; a watcher still setting up is simply not asked


def wanted(home_root: str) -> bool:
    """Whether queries start the home's watcher on demand: ``CAIRN_WATCH`` (1/0) decides,
    else whether ``cairn daemon enable`` marked the home."""
    flag = os.environ.get("CAIRN_WATCH", "").strip().lower()
    if flag in ("1", "yes", "true", "on"):
        return True
    if flag in ("0", "no", "false", "off"):
        return False
    return os.path.exists(os.path.join(home_root, ENABLED_NAME))


class Answer:
    """What the watcher said about one folder."""

    __slots__ = ("changed", "dev", "gen", "ino", "names", "session")

    def __init__(self, data: dict[str, Any]) -> None:
        self.session: str = str(data["session"])
        self.gen: int = int(data["gen"])
        changed = data.get("changed")
        self.changed: int | None = None if changed is None else int(changed)
        self.dev: int = int(data.get("dev", -1))
        self.ino: int = int(data.get("ino", -1))
        names = data.get("names")
        self.names: list[str] | None = [str(n) for n in names] if names is not None else None

    def vouches(self, session: str | None, gen: int | None, dev: int, ino: int) -> bool:
        """Whether nothing under the folder changed since a walk that began at ``gen``."""
        if self.changed is None or session != self.session or gen is None:
            return False
        return self.changed <= gen and (self.dev, self.ino) == (dev, ino)

    def only(self, session: str | None, gen: int | None, dev: int, ino: int) -> set[str] | None:
        """The only artifact directories that may have changed since a walk that began at
        ``gen`` (``None``: any may have)."""
        if self.names is None or self.changed is None or session != self.session or gen is None:
            return None
        return set(self.names) if (self.dev, self.ino) == (dev, ino) else None


class Client:
    """One connection to the watcher of a home, opened on first use.

    After a failure it asks nothing more of that socket file; a new one (a watcher started
    later, by a query or by ``cairn daemon start``) is connected to on the next question, so
    a long-lived process (``cairn serve``, the API) finds a watcher started after it.
    ``missing`` says whether the last question found no socket at all.
    """

    def __init__(self, home_root: str) -> None:
        self.path = os.path.join(home_root, SOCKET_NAME)
        self._sock: Any = None  # a bare ``_socket.socket``: ``socket`` costs ~7 ms to import
        self._pending = b""
        self._ident: tuple[int, int] | None = None  # the socket file connected to last
        self._failed: tuple[int, int] | None = None  # the socket file that failed us
        self.missing = False

    def ask(self, folder: str, since: int | None = None) -> Answer | None:
        """The watcher's answer about ``folder`` (with the artifact directories changed
        after generation ``since``, if given); ``None`` when it cannot be had."""
        question: dict[str, Any] = {"op": "ask", "path": folder}
        if since is not None:
            question["since"] = since
        reply = self.request(question)
        if reply is None:
            return None
        try:
            return Answer(reply)
        except (KeyError, TypeError, ValueError):
            self._fail()
            return None

    def request(self, message: dict[str, Any]) -> dict[str, Any] | None:
        if self._sock is None and not self._connect():
            return None
        try:
            self._sock.sendall(json.dumps(message).encode() + b"\n")
            reply = json.loads(self._line())
        except (OSError, ValueError):
            reply = None
        if not isinstance(reply, dict):
            self._fail()
            return None
        return reply

    def _line(self) -> bytes:
        """One answer line (an empty one when the watcher closed the connection)."""
        while b"\n" not in self._pending:
            data = self._sock.recv(65536)
            if not data:
                return b""
            self._pending += data
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def _connect(self) -> bool:
        try:
            st = os.stat(self.path)
        except OSError:
            self.missing = True
            return False
        self.missing = False
        self._ident = (st.st_ino, st.st_ctime_ns)
        if self._ident == self._failed:
            return False
        import _socket

        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT_S)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            self._failed = self._ident
            return False
        self._sock, self._pending = sock, b""
        return True

    def _fail(self) -> None:
        """This socket failed: ask it nothing more (a new socket file is tried again)."""
        self.close()
        self._failed = self._ident

    def close(self) -> None:
        """Close the connection (a later question connects again)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None


in_process: type[Client] | None = None
"""Inside the watcher's own process: the client its indexes use (asking it directly)."""
