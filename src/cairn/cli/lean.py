"""``cairn find`` answered by the home's watcher, at little more than the interpreter's start.

The client (``answer``, called by ``cli/main.py`` for ``find``) imports only ``os``, ``sys``,
``marshal`` and ``_socket`` (no ``json``, ``pathlib`` or ``sqlite3``, which cost more than the
answer): when ``$CAIRN_HOME/watch.sock`` exists it sends the command's words in one frame
(``M``, a 4-byte big-endian length, a ``marshal``-ed dict: the watcher's binary form of its
protocol) as the question ``{"op": "cli", "words", "package", "version", "env", "ack": true}``,
and prints the ``stdout`` and ``stderr`` of the answer and exits with its ``code``. The watcher
takes the question at once (``ack``: one byte ``A``) and the client then waits for the answer as
long as the watcher runs, however long the find takes: each ``POLL_S`` without an answer it
looks at the watcher's process (its pid from the socket's ``SO_PEERCRED``) and gives up only
when it is gone or stopped. Anything else -- no socket, a refused one, a watcher that does not
take the question within ``ACK_TIMEOUT_S`` (busy with another, stopped), one that dies or is
stopped before it answers, an answer ``{"unserved": why}`` -- is ``None``: the command runs in
this process as always (a find only reads, so running it here after all is safe).

The server: this module is the watcher process's entry (``python -m cairn.cli.lean HOME
[--idle=SECONDS]``, as ``cairn daemon`` starts it). It adds the ``cli`` question to the
watcher (``store/watcher.py``), which drains its inotify queue, then runs the words through
``cli.main`` in its own process -- with an index that asks the watcher directly, so the
answer is exactly the one a walk would give -- capturing stdout, stderr and the exit code.

An answer is kept and given again to the same words while nothing it may depend on changed:
the same watcher session (no overflow since), no event since it was made (``Watcher.changes``,
which leaves out writes to the index: the index is derived from the files, and every other
file of the home is watched), no event while it was made, and every folder it read vouched
for by the watcher (none on a network file system or left unwatched). The watcher drains its
queue before each answer and Linux queues an event inside the system call that changes a
file, so a kept answer is as exact as a new one; ``cairn daemon status`` counts them.

Served only, on both sides: ``find AUTOMATION [NAME...] [--tags=TAGS]`` (no ``.``, no path, no
``@file``, no other flag: nothing that depends on the current directory or on the output
format), by the same cairn (package folder and version), with the same ``CAIRN_*``
environment (``CAIRN_WATCH*`` aside). ``CAIRN_LEAN=0`` keeps every command in its process.
"""

from __future__ import annotations

import marshal
import os
import sys

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from typing import Any

    from cairn.store.watcher import Watcher

_serving = False  # this process is the watcher
_unvouched = [False]  # the answer being made read a folder the watcher did not vouch for
_kept: dict[tuple[str, ...], tuple[tuple[str, int], dict[str, Any]]] = {}
KEPT_MAX = 64  # answers kept at most (all are dropped when full)
ACK_TIMEOUT_S = 2.0  # a watcher that does not take the question by then is busy or stopped
POLL_S = 1.0  # while waiting for the answer, how often the watcher's process is looked at
MAX_FRAME = 1 << 30


def servable(words: list[str]) -> bool:
    """Whether ``words`` are a ``find`` the watcher may answer (see the module's text)."""
    if len(words) < 2 or words[0] != "find":
        return False
    for word in words[1:]:
        if word.startswith("-"):
            if not (word.startswith("--tags=") or word.startswith("-tags=")):
                return False
        elif word == "." or "/" in word or word.startswith("@") or not word:
            return False
    return True


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("CAIRN_") and k not in _OWN_ENV} | {
        "HOME": os.environ.get("HOME", "")
    }


_OWN_ENV = ("CAIRN_HOME", "CAIRN_LEAN", "CAIRN_WATCH", "CAIRN_WATCH_MAX_EVENTS")


def _package() -> tuple[str, str]:
    import cairn

    return os.path.dirname(os.path.abspath(cairn.__file__)), cairn.__version__


# -- the client ----------------------------------------------------------------------------


def answer(words: list[str]) -> int | None:
    """Print the watcher's answer to ``words`` and return the exit code; ``None`` when the
    watcher cannot answer (the caller runs the command itself)."""
    if _serving or os.environ.get("CAIRN_LEAN") == "0" or not servable(words):
        return None  # in the watcher itself: asking its own socket would wait for itself
    value = os.environ.get("CAIRN_HOME")
    root = os.path.abspath(os.path.expanduser(value or "~/.cairn"))
    package, version = _package()
    question: dict[str, Any] = {"op": "cli", "words": words, "package": package}
    question.update(version=version, env=_env(), ack=True)
    reply = _ask(os.path.join(root, "watch.sock"), question)
    if not isinstance(reply, dict) or not isinstance(reply.get("code"), int):
        return None
    sys.stdout.write(str(reply.get("stdout", "")))
    sys.stderr.write(str(reply.get("stderr", "")))
    return int(reply["code"])


def _ask(path: str, question: dict[str, Any]) -> Any:
    if not os.path.exists(path):
        return None
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.settimeout(ACK_TIMEOUT_S)
    try:
        sock.connect(path)
        payload = marshal.dumps(question)
        sock.sendall(b"M" + len(payload).to_bytes(4, "big") + payload)
        if sock.recv(1) != b"A":
            return None
        creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        sock.settimeout(POLL_S)
        return _receive(sock, int.from_bytes(creds[:4], sys.byteorder))
    except (OSError, ValueError, EOFError, TypeError):
        return None
    finally:
        sock.close()


def _receive(sock: Any, pid: int) -> Any:
    """The answer frame, waited for while the watcher (process ``pid``) runs."""
    data = b""
    while len(data) < 5 or len(data) < 5 + int.from_bytes(data[1:5], "big"):
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            if _running(pid):
                continue
            return None
        if not chunk or data[:1] not in (b"", b"M"):
            return None
        data += chunk
    return marshal.loads(data[5 : 5 + int.from_bytes(data[1:5], "big")])


def _running(pid: int) -> bool:
    """Whether process ``pid`` is there and not stopped (nor a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rpartition(b")")[2].split()[:1]
    except OSError:
        return False
    return state in ([b"R"], [b"S"], [b"D"])


# -- the server ----------------------------------------------------------------------------


def serve_cli(watcher: Watcher, message: dict[str, Any]) -> dict[str, Any]:
    """The ``cli`` question, answered in the watcher's process (see the module's text)."""
    words = message.get("words")
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        return {"unserved": "no words"}
    if not servable(words):
        return {"unserved": "not a find the watcher answers"}
    if [message.get("package"), message.get("version")] != list(_package()):
        return {"unserved": "another cairn"}
    if message.get("env") != _env():
        return {"unserved": "another environment"}
    return _kept_or_run(watcher, words)


def _kept_or_run(watcher: Watcher, words: list[str]) -> dict[str, Any]:
    """The answer to ``words``: the one given last time when nothing changed since (see the
    module's text), else a new one, kept when it may be given again."""
    mark = (watcher.session, watcher.changes)
    kept = _kept.get(tuple(words))
    if kept is not None and kept[0] == mark:
        watcher.kept_answers += 1
        return kept[1]
    _unvouched[0] = False
    reply = _run(words)
    watcher.drain()  # a change made while it ran: not kept
    if not _unvouched[0] and (watcher.session, watcher.changes) == mark:
        if len(_kept) >= KEPT_MAX:
            _kept.clear()
        _kept[tuple(words)] = (mark, reply)
    return reply


def _run(words: list[str]) -> dict[str, Any]:
    import contextlib
    import gc
    import io

    from cairn.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main.main(list(words))
    gc.collect(1)  # the run's index connections sit in a reference cycle: close them now
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def _in_process(watcher: Watcher) -> None:
    """Let this process's indexes ask ``watcher`` itself, not its socket."""
    from cairn.store import folder_memo, watch_client

    class Local(watch_client.Client):
        def ask(self, folder: str, since: int | None = None) -> watch_client.Answer | None:
            reply = watcher.answer({"op": "ask", "path": folder, "since": since})
            _unvouched[0] = _unvouched[0] or "changed" not in reply
            return watch_client.Answer(reply)

        def close(self) -> None:
            pass

    watch_client.in_process = Local
    folder_memo.current = folder_memo.FolderMemo()


def main(argv: list[str]) -> int:
    global _serving
    from cairn.store import watcher as watcher_mod

    _serving = True
    os.environ["CAIRN_HOME"] = os.path.abspath(argv[0])

    def setup(watcher: Watcher) -> None:
        _in_process(watcher)
        watcher.ops["cli"] = lambda message: serve_cli(watcher, message)
        import importlib

        for name in ("cairn.dispatch", "cairn.cli.args", "cairn.automations.common"):
            importlib.import_module(name)  # imported once here, not by the first find

    return watcher_mod.main(argv, setup)


if __name__ == "__main__":  # run as cairn.cli.lean, the module `cli.main` imports, not __main__
    from cairn.cli.lean import main as _main

    sys.exit(_main(sys.argv[1:]))
