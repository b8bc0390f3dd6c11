"""Replaying a cached run without loading the engine.

When ``cairn run script ...`` was served entirely from the cache (the top-level script was a
hit and nothing ran), the CLI records what it printed, with the signature
(``st_mtime_ns``, size, inode) of every file and directory the answer depended on: the
registry, every script meta of every repository (selection), every file of the scripts whose
content entered the key, and the cache entry. The same command, in the same directory, with
the same ``CAIRN_HOME``, then replays the record if every signature still matches — a
handful of ``stat`` calls instead of importing and running the engine. Any change anywhere
in that list (a hand edit, a new script, a removed entry) makes it run normally again.

This module imports only the standard library's lightest parts: it is on the start-up path.
"""

from __future__ import annotations

import marshal
import os
import zlib
from pathlib import Path

FORMAT = 1
SETTLE_NS = 2_000_000_000
Signature = list[int] | None
Record = dict[str, object]
_ALWAYS_RUN = {
    "explain",
    "dry_run",
    "new",
    "skip_cache",
    "fake_run",
    "prepare",
    "print_env",
    "fake_deps",
    "dirty",
    "lock",
    "locked",
    "allow_drift",
}


def replayable(words: list[str]) -> bool:
    """Only plain ``run script`` commands without flags that force work are replayed."""
    if len(words) < 2 or words[0] != "run" or words[1] != "script":
        return False
    flags = {w.lstrip("-").split("=", 1)[0].replace("-", "_") for w in words if w.startswith("-")}
    return not (flags & _ALWAYS_RUN) and not any(w.startswith("@") for w in words)


def _request(words: list[str], home: Path) -> list[object]:
    from cairn import __version__

    return [FORMAT, __version__, str(home), os.getcwd(), list(words)]


def _path(request: list[object], home: Path) -> Path:
    digest = zlib.crc32(repr(request).encode("utf-8", "surrogateescape"))
    return home / "replay" / f"{digest:08x}.rec"


def home_root() -> Path:
    """``$CAIRN_HOME`` (default ``~/.cairn``), read without loading :mod:`cairn.home`."""
    value = os.environ.get("CAIRN_HOME")
    return Path(value).expanduser().absolute() if value else Path.home() / ".cairn"


def signature(path: Path | str) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def lookup(words: list[str], home: Path) -> Record | None:
    """The record of this command if everything it depended on is unchanged."""
    request = _request(words, home)
    try:
        record = marshal.loads(_path(request, home).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(record, dict) or record.get("request") != request:
        return None  # another command whose name hashed alike, or an old format
    watched = record.get("watched")
    if not isinstance(watched, list):
        return None
    for path, sig in watched:
        if signature(path) != sig:
            return None
    found: Record = record
    return found


def store(words: list[str], home: Path, record: Record, watched: list[Path]) -> None:
    """Write the record (atomically); a failure to write only costs the next replay."""
    import json
    import time

    sigs = [signature(p) for p in watched]
    settled = time.time_ns() - SETTLE_NS
    if any(sig is not None and sig[0] > settled for sig in sigs):
        return  # a file this young may change again within its mtime's granularity
    signatures = [[str(p), sig] for p, sig in zip(watched, sigs, strict=True)]
    request = _request(words, home)
    plain = json.loads(json.dumps(record, default=str))  # only marshal-able values remain
    full = {**plain, "request": request, "watched": signatures}
    target = _path(request, home)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(full))
        os.replace(tmp, target)
    except (OSError, ValueError):
        return


UID, STARTED, SECONDS, DATE = "@@uid@@", "@@started@@", "@@seconds@@", "@@date@@"
"""Placeholders in the record texts a replay record keeps (:func:`record_texts`)."""


def record_texts(template: dict[str, object], tags: list[str]) -> tuple[str, str]:
    """The run record and its ``_cm.json`` as JSON texts with placeholders for the uid, the
    start, the duration and the date, so a replay writes them without importing ``json``."""
    import json

    body = {**template, "uid": UID, "started": STARTED, "seconds": SECONDS}
    kept = [t for t in tags if not t.startswith("date-")]
    meta = {
        "uid": UID,
        "automation_alias": "run",
        "automation_uid": RUN_KIND_UID,
        "tags": [*kept, f"date-{DATE}"],
    }
    return json.dumps(body, indent=1, default=str), json.dumps(meta, indent=2)


def write_run_record(record: Record, seconds: float) -> None:
    """Leave the run record of a replayed run: the record the engine made when the replay
    record was stored, with this run's uid, time and duration (no ``json`` import: this is
    the start-up path). A record that cannot be written costs nothing but the record."""
    import time

    texts, folder = record.get("record_texts"), record.get("record_folder")
    if os.environ.get("CAIRN_KEEP_RUNS", "").strip() == "0" or not isinstance(folder, str):
        return
    if not isinstance(texts, list) or len(texts) != 2:
        return
    now = time.time_ns()
    uid = f"{now // 1_000_000:011x}"[-11:] + os.urandom(3).hex()[:5]
    started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now / 1e9))
    started += f".{now // 1_000_000 % 1000:03d}+00:00"
    values = {UID: uid, STARTED: started, DATE: started[:10]}
    body, meta = (_filled(str(t), values, f"{seconds:.6f}") for t in texts)
    try:
        stage = Path(folder, f".cairn-tmp-{uid}")
        stage.mkdir(parents=True)
        (stage / "cairn-run.json").write_text(body + "\n")
        (stage / "_cm.json").write_text(meta + "\n")
        os.replace(stage, Path(folder, uid))
    except OSError:
        return
    _prune_if_over(Path(folder))


def _filled(text: str, values: dict[str, str], seconds: str) -> str:
    text = text.replace(f'"{SECONDS}"', seconds)
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


RUN_KIND_UID = "c41f5e2a9b7d3086"


def _prune_if_over(folder: Path) -> None:
    keep = os.environ.get("CAIRN_KEEP_RUNS", "")
    limit = int(keep) if keep.isdigit() else 1000
    try:
        count = sum(1 for e in os.scandir(folder) if not e.name.startswith("."))
    except OSError:
        return
    if count > limit:
        from cairn.runs import records

        records.prune(folder, limit)
