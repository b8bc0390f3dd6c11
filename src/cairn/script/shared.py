"""A shared cache over HTTP: ``cairn serve --cache`` offers entries by key, and a run with
``--cache-from=URL`` (or ``$CAIRN_CACHE_FROM``) takes a missing entry from it.

The layout is plain GETs, so any static web server could host it as well::

    URL/keys/<static key>.json     the entries of one static key, newest first
    URL/entries/<uid>.json         one entry (to fetch a dependency entry by uid)
    URL/entries/<uid>/<path>       a file of an entry

    {"format": 1, "cache": "<the serving home's cache folder>", "platform": ["linux", "x86_64"],
     "entries": [{"uid": ..., "reads": {"items": [...], "values": {...}},
                  "dep_entries": [uid, ...], "files": {"<path>": "<sha256>" | "link:<target>"}}]}

What a client does on a miss (:func:`take`): it reads the key's listing; skips it when it was
made on another platform; takes the newest entry whose read values -- with the serving home's
cache folder read as its own, as ``cairn import cache`` rewrites them -- are the values this
run has now (so an entry tied to host facts or inputs that differ here is never fetched),
with the dependency entries it names that are not here; fetches every file into a scratch
folder, each checked against its sha256 as it arrives; and hands the lot to
:func:`cairn.script.transfer.import_`, which checks every digest and link again, rewrites the
paths, and commits each entry atomically under its lock, once. A tampered or unreachable
entry is skipped with a warning and the script runs here.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from cairn import fetch, report
from cairn.errors import CairnError, NotFound
from cairn.script import cache as cache_mod
from cairn.script import reads as reads_mod
from cairn.script import transfer

FORMAT = 1
ENV_VARIABLE = "CAIRN_CACHE_FROM"
MAX_LISTING = 16 * 1024 * 1024
_HEX = frozenset("0123456789abcdef")


def sources(given: Any) -> tuple[str, ...]:
    """The URLs of ``--cache-from`` (a text or list, comma-separated), else of the env."""
    if given in (None, "", False):
        given = os.environ.get(ENV_VARIABLE, "")
    items = given if isinstance(given, list | tuple) else str(given).split(",")
    return tuple(fetch.check_url(str(u)) for u in items if str(u).strip())


# --- the serving side -------------------------------------------------------------------------


def _is_key(text: str, length: int) -> bool:
    return len(text) == length and set(text) <= _HEX


def _described(entry: cache_mod.Entry) -> dict[str, Any]:
    data = entry.meta
    reads = data.get("cairn_reads") or {"items": [], "values": {}}
    files = transfer.digests(entry.path)
    return {
        "uid": entry.uid,
        "reads": reads,
        "dep_entries": list(entry.dep_entries),
        "files": files,
    }


def _document(cache: cache_mod.Cache, entries: list[dict[str, Any]]) -> dict[str, Any]:
    platform = list(cache_mod.host_platform())
    return {"format": FORMAT, "cache": str(cache.folder), "platform": platform, "entries": entries}


def key_listing(cache: cache_mod.Cache, static: str) -> dict[str, Any]:
    """The listing of every complete entry of the static key ``static`` (newest first)."""
    if not _is_key(static, 64):
        raise NotFound(f"{static[:80]!r} is not a cache key")
    return _document(cache, [_described(e) for e in cache.candidates(static)])


def entry_listing(cache: cache_mod.Cache, uid: str) -> dict[str, Any]:
    """The listing of the one complete entry ``uid``."""
    path = cache.folder / uid
    key = cache_mod.meta_key(path) if _is_key(uid, cache_mod.UID_DIGITS) else None
    entry = cache_mod.entry_at(path, key) if key else None
    if entry is None:
        raise NotFound(f"no cache entry {uid[:80]!r} here")
    return _document(cache, [_described(entry)])


def entry_file(cache: cache_mod.Cache, uid: str, relative: str) -> Path:
    """A file of the complete entry ``uid`` that its listing names (never another path)."""
    listed = entry_listing(cache, uid)["entries"][0]["files"]
    digest = listed.get(relative)
    if not isinstance(digest, str) or digest.startswith("link:"):
        raise NotFound(f"no file {relative[:200]!r} in cache entry {uid}")
    return cache.folder / uid / relative


# --- the client side --------------------------------------------------------------------------


def take(cache: cache_mod.Cache, static: str, view: reads_mod.View, url: str) -> list[str]:
    """Fetch and import the entry of ``static`` at ``url`` that serves ``view`` here (with
    its missing dependency entries); the uids imported (``[]`` when none serves)."""
    try:
        listing = _get(url, "keys", f"{static}.json")
        wanted = _wanted(cache, static, view, listing)
        if not wanted:
            return []
        wanted += _missing_deps(cache, url, wanted[0])
        return _imported(cache, url, listing, wanted)
    except CairnError as exc:
        report.warn(f"shared cache {shown(url)}: {exc.message}; running here instead")
        return []


def shown(url: str) -> str:
    from cairn.store.export import redacted

    return redacted(url)


def _get(url: str, *parts: str) -> dict[str, Any]:
    data = fetch.read_bytes(fetch.join(url, *parts), MAX_LISTING)
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CairnError(f"{'/'.join(parts)} is not JSON ({exc})") from exc
    problem = transfer.listing_problem(document, f"a shared-cache listing of format {FORMAT}")
    if problem:
        raise CairnError(f"{'/'.join(parts)}: {problem}")
    return cast(dict[str, Any], document)  # a dict: listing_problem said so


def _wanted(
    cache: cache_mod.Cache, static: str, view: reads_mod.View, listing: Mapping[str, Any]
) -> list[dict[str, Any]]:
    if list(listing.get("platform") or []) != list(cache_mod.host_platform()):
        return []
    old, new = str(listing["cache"]), str(cache.folder)
    for item in listing["entries"]:
        reads = item.get("reads") if isinstance(item, dict) else None
        if not isinstance(reads, dict) or not isinstance(reads.get("items"), list):
            continue
        items = [str(i) for i in reads["items"]]
        theirs = cache_mod.Scope(
            static, items, transfer.rewritten(reads.get("values") or {}, old, new)
        )
        if theirs.values_digest == cache_mod.Scope.of(static, items, view).values_digest:
            return [item]
    return []


def _missing_deps(cache: cache_mod.Cache, url: str, item: Mapping[str, Any]) -> list[Any]:
    found = []
    for uid in item.get("dep_entries") or []:
        uid = str(uid)
        if _is_key(uid, cache_mod.UID_DIGITS) and not (cache.folder / uid).is_dir():
            found += _get(url, "entries", f"{uid}.json")["entries"][:1]
    return found


def _imported(
    cache: cache_mod.Cache, url: str, listing: Mapping[str, Any], wanted: list[Any]
) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="cairn-shared-") as tmp:
        root = Path(tmp)
        for item in wanted:
            _download(url, root, item)
        document = {**listing, "entries": wanted}
        (root / transfer.LISTING).write_text(json.dumps({**document, "format": transfer.FORMAT}))
        done = transfer.import_(cache, root)
    for refusal in done.refused:
        report.warn(f"shared cache {shown(url)}: entry {refusal.uid} refused: {refusal.reason}")
    return done.added + done.present


def _download(url: str, root: Path, item: Mapping[str, Any]) -> None:
    uid, files = str(item.get("uid", "")), item.get("files")
    if not _is_key(uid, cache_mod.UID_DIGITS) or not isinstance(files, dict):
        raise CairnError(f"the listing names an entry {uid[:80]!r} without a valid uid or files")
    for relative, digest in files.items():
        target = _inside(root / uid, str(relative))
        target.parent.mkdir(parents=True, exist_ok=True)
        if str(digest).startswith("link:"):
            os.symlink(str(digest)[5:], target)
        elif isinstance(digest, str) and _is_key(digest, 64):
            fetch.download(fetch.join(url, "entries", uid, *relative.split("/")), target, digest)
        else:
            raise CairnError(f"entry {uid}: file {relative[:200]!r} has no valid sha256")


def _inside(folder: Path, relative: str) -> Path:
    parts = relative.split("/")
    bad = not relative or relative.startswith("/") or "\\" in relative or "\0" in relative
    if bad or any(p in ("", ".", "..") for p in parts):
        raise CairnError(f"the listing names an unsafe path {relative[:200]!r}")
    return folder.joinpath(*parts)
