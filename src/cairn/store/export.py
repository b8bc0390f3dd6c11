"""A repository as a static, content-addressed copy, and bringing one in over HTTP.

``cairn export repo NAME DIR`` writes a folder that any static web server can host, and
``cairn serve`` answers the same layout for every registered repository at
``/repos/ALIAS/``::

    DIR/cairn-repo.json              the listing (below)
    DIR/objects/ab/cdef0123...       each file's bytes, named by its sha256 (2 + 62 hex)

    {"format": 1, "alias": "...", "uid": "...", "dialect": "cm",
     "files": [{"path": "script/x/_cm.yaml", "sha256": "...", "size": 123,
                "executable": false},
               {"path": "script/by-name/x", "link": "../x"}, ...]}

Paths are relative POSIX paths without ``..``; symbolic links are listed as links whose
target stays inside the repository (others are left out with a warning). ``.git``, caches
and cairn's staging folders are not exported.

``cairn pull repo http://HOST/DIR`` reads the listing, checks every path and link, fetches
each object into a staging folder and checks its size and sha256 as it arrives; only when
every file matched is the copy checked as a repository and registered. Any mismatch refuses
the whole pull and leaves nothing behind. ``--sha256=DIGEST`` pins the listing itself (the
digest ``export repo`` prints), so a copy on an untrusted host is taken only if it is the
one that was exported.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from cairn import atomic, fetch, report
from cairn.errors import AlreadyExists, CairnError, DownloadFailed, InvalidInput, Refused
from cairn.store import git
from cairn.store.archive import SKIP_NAMES
from cairn.store.repo import Repo

FORMAT = 1
LISTING = "cairn-repo.json"
OBJECTS = "objects"
MAX_LISTING = 64 * 1024 * 1024
"""Largest listing read from a remote, in bytes."""
_HEX = frozenset("0123456789abcdef")


# --- the listing ------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    """The hex sha256 of the file ``path``, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _walk(root: Path) -> Iterator[Path]:
    """Every file and symbolic link under ``root``, without ``.git``, caches and staging."""
    for dirpath, dirnames, filenames in os.walk(root):
        kept = []
        for name in dirnames:
            if name in SKIP_NAMES or name.startswith(".cairn-tmp"):
                continue
            if os.path.islink(os.path.join(dirpath, name)):
                yield Path(dirpath, name)
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            if not name.endswith((".pyc", ".lock")):
                yield Path(dirpath, name)


def _entry(root: Path, path: Path) -> dict[str, Any] | None:
    relative = path.relative_to(root).as_posix()
    if path.is_symlink():
        link = os.readlink(path)
        if not _link_inside(relative, link):
            report.warn(f"export: link {path} -> {link} leaves the repository; left out")
            return None
        return {"path": relative, "link": link}
    if not path.is_file():
        return None
    executable = bool(path.stat().st_mode & 0o111)
    size = path.stat().st_size
    return {"path": relative, "sha256": sha256_of(path), "size": size, "executable": executable}


def listing(repo: Repo) -> dict[str, Any]:
    """The listing of ``repo`` as it is on disk now (every file hashed)."""
    entries = (_entry(repo.path, p) for p in sorted(_walk(repo.path)))
    return {
        "format": FORMAT,
        "alias": repo.alias,
        "uid": repo.uid,
        "dialect": repo.dialect.name,
        "files": [e for e in entries if e is not None],
    }


def encoded(document: dict[str, Any]) -> bytes:
    """The listing's bytes as written and served (its digest is what ``--sha256`` pins)."""
    return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()


def object_path(root: Path, digest: str) -> Path:
    return root / OBJECTS / digest[:2] / digest[2:]


# --- export -----------------------------------------------------------------------------------


def export(repo: Repo, target: Path) -> tuple[dict[str, Any], str]:
    """Write the static copy of ``repo`` into ``target``; return its listing and digest.

    Objects are written first, the listing last and atomically, so a reader never sees a
    listing naming an object that is not there yet. Exporting again into the same folder adds
    what changed and keeps the objects already there (a content-addressed store)."""
    if target.exists() and not target.is_dir():
        raise AlreadyExists(f"{target} is a file; give a folder to export into")
    document = listing(repo)
    for entry in document["files"]:
        if "sha256" in entry:
            _store_object(repo.path / entry["path"], object_path(target, entry["sha256"]))
    data = encoded(document)
    atomic.write_text(target / LISTING, data.decode())
    return document, hashlib.sha256(data).hexdigest()


def _store_object(source: Path, dest: Path) -> None:
    if dest.is_file():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.part")
    shutil.copyfile(source, partial)
    os.replace(partial, dest)


# --- checking a listing -----------------------------------------------------------------------


def _link_inside(path: str, link: str) -> bool:
    target = PurePosixPath(link)
    if target.is_absolute() or "\\" in link or "\0" in link:
        return False
    depth = 0
    for part in (*PurePosixPath(path).parent.parts, *target.parts):
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return False
    return True


def _checked_path(origin: str, value: Any) -> str:
    text = value if isinstance(value, str) else ""
    path = PurePosixPath(text)
    bad = not text or "\\" in text or "\0" in text or path.is_absolute()
    if bad or any(part in ("..", ".", "") for part in text.split("/")):
        raise Refused(f"{origin}: the listing names an unsafe path {str(value)[:200]!r}")
    if path.parts[0] == ".git":
        raise Refused(f"{origin}: the listing names a path inside .git: {text[:200]!r}")
    return text


def _checked_entry(origin: str, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise Refused(f"{origin}: each entry of 'files' must be an object")
    path = _checked_path(origin, entry.get("path"))
    if "link" in entry:
        link = entry["link"]
        if not isinstance(link, str) or not _link_inside(path, link):
            raise Refused(f"{origin}: link {path!r} -> {str(link)[:200]!r} leaves the repository")
        return {"path": path, "link": link}
    digest, size = entry.get("sha256"), entry.get("size")
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
        raise Refused(f"{origin}: file {path!r} has no valid sha256 in the listing")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise Refused(f"{origin}: file {path!r} has no valid size in the listing")
    executable = entry.get("executable") is True
    return {"path": path, "sha256": digest, "size": size, "executable": executable}


def checked_listing(origin: str, data: bytes, pinned: str | None = None) -> dict[str, Any]:
    """The listing in ``data``, every entry checked; refused when it is not the pinned one."""
    if pinned and hashlib.sha256(data).hexdigest() != pinned.lower():
        raise Refused(
            f"{origin}: the listing's sha256 is {hashlib.sha256(data).hexdigest()}, "
            f"not {pinned.lower()}: it is not the export you pinned; nothing was registered"
        )
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(f"{origin}: the listing is not JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise Refused(f"{origin}: not a cairn repository export of format {FORMAT}")
    files = document.get("files")
    if not isinstance(files, list):
        raise Refused(f"{origin}: the listing has no list of 'files'")
    entries = [_checked_entry(origin, e) for e in files]
    _check_unique(origin, entries)
    return {**document, "files": entries}


def _check_unique(origin: str, entries: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for entry in entries:
        key = entry["path"].lower()
        if key in seen:
            raise Refused(f"{origin}: the listing names {entry['path']!r} twice")
        seen.add(key)


# --- bringing one in --------------------------------------------------------------------------


def is_export_url(url: str) -> bool:
    """Whether ``url`` is an ``http(s)`` folder holding a listing (one small request)."""
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        return False
    if url.rstrip("/").endswith(".git"):
        return False
    try:
        fetch.read_bytes(fetch.join(url, LISTING), limit=MAX_LISTING)
    except CairnError:
        return False
    return True


def redacted(url: str) -> str:
    """``url`` as shown in messages and stored: no credentials, no query (a token)."""
    split = urllib.parse.urlsplit(git.redact(url))
    return urllib.parse.urlunsplit(split._replace(query="", fragment=""))


def fetch_into(url: str, stage: Path, pinned: str | None = None) -> dict[str, Any]:
    """Fetch the export at ``url`` into the empty folder ``stage``, each file checked."""
    origin = redacted(url)
    document = checked_listing(
        origin, fetch.read_bytes(fetch.join(url, LISTING), MAX_LISTING), pinned
    )
    for entry in document["files"]:
        target = stage.joinpath(*entry["path"].split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        if "link" in entry:
            os.symlink(entry["link"], target)
            continue
        _fetch_object(url, origin, entry, target)
    return document


def _fetch_object(url: str, origin: str, entry: dict[str, Any], target: Path) -> None:
    digest = entry["sha256"]
    source = fetch.join(url, OBJECTS, digest[:2], digest[2:])
    try:
        size = fetch.download(source, target, digest, max_size=entry["size"])
    except DownloadFailed as exc:
        raise Refused(
            f"{origin}: file {entry['path']!r} does not match the listing or cannot be"
            f" fetched ({exc.message}); nothing was registered"
        ) from exc
    if size != entry["size"]:
        raise Refused(
            f"{origin}: file {entry['path']!r} has {size} bytes, the listing says"
            f" {entry['size']}; nothing was registered"
        )
    if entry["executable"]:
        target.chmod(0o755)


def check_links(stage: Path) -> None:
    """Refuse a fetched tree with a link resolving outside it (through other links)."""
    root = os.path.realpath(stage)
    for path in _walk(stage):
        if path.is_symlink():
            resolved = os.path.realpath(path)
            if resolved != root and not resolved.startswith(root + os.sep):
                raise InvalidInput(f"link {path.relative_to(stage)} leaves the repository")
