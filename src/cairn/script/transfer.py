"""Cache entries as data between homes: ``cairn export cache`` and ``cairn import cache``.

An export is a directory (or a ``.tar.gz`` of one) holding ``cairn-cache-export.json`` and
one folder per entry, named by its uid::

    {"format": 1, "cache": "<the exporting home's cache folder>",
     "platform": ["linux", "x86_64"],
     "entries": [{"uid": ..., "files": {"<relative path>": "<sha256>", ...}}, ...]}

Entries are found by their keys, not by where they were made, so an entry made in another
home serves this one when the static key (script content, inputs, dependencies, platform)
and the values it read are the same here. Values that name the exporting home's cache folder
(an upstream entry's path in the env it read, its own paths in its outputs) are rewritten to
this home's cache folder on import, and the keys are computed again from the rewritten
values; entries keep their uids, so paths between imported entries stay right.

An entry is imported only when every file's digest matches the listing (a tampered entry is
refused, naming the file), no symbolic link in it points outside it, and it was made for this
platform. It is staged beside the cache and renamed into place under the entry's lock, then
listed in its manifest: an entry already here (same uid, complete, or another uid with the
same key, as two workers make) is left as it is, so an import is done exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from cairn import atomic, meta, staging
from cairn.errors import CairnError, InvalidInput
from cairn.record import Defaulted, field
from cairn.script import cache as cache_mod

FORMAT = 1
LISTING = "cairn-cache-export.json"


class Refusal(Defaulted):
    """An entry left out of an import, and why."""

    uid: str
    reason: str


class Imported(Defaulted):
    """What an import did."""

    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


# --- export -----------------------------------------------------------------------------------


def export(cache: cache_mod.Cache, entries: Iterable[Path], target: Path) -> list[str]:
    """Write ``entries`` (complete entry folders) to ``target`` (a folder, or a ``.tar.gz``
    file); returns the uids written."""
    entries = [e for e in entries if (e / cache_mod.META_FILE).is_file()]
    if target.suffix == ".gz" or target.name.endswith(".tgz"):
        with tempfile.TemporaryDirectory(prefix="cairn-export-") as tmp:
            uids = _export_dir(cache, entries, Path(tmp) / "export")
            _tar(Path(tmp) / "export", target)
            return uids
    return _export_dir(cache, entries, target)


def _export_dir(cache: cache_mod.Cache, entries: list[Path], target: Path) -> list[str]:
    if target.exists() and any(target.iterdir()):
        raise InvalidInput(f"{target} is not empty", hint="export into a new or empty folder")
    target.mkdir(parents=True, exist_ok=True)
    listed: list[dict[str, Any]] = []
    for entry in entries:
        shutil.copytree(entry, target / entry.name, symlinks=True)
        listed.append({"uid": entry.name, "files": digests(target / entry.name)})
    listing = {
        "format": FORMAT,
        "cache": str(cache.folder),
        "platform": list(cache_mod.host_platform()),
        "entries": listed,
    }
    atomic.write_text(target / LISTING, json.dumps(listing, indent=1) + "\n")
    return [str(e["uid"]) for e in listed]


def digests(folder: Path) -> dict[str, str]:
    from cairn.store.export import sha256_of  # it imports the archive code: not at start-up

    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[relative] = "link:" + os.readlink(path)
        elif path.is_file():
            found[relative] = sha256_of(path)
    return found


def _tar(folder: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with tarfile.open(tmp, "w:gz") as archive:
        for item in sorted(folder.iterdir()):
            archive.add(item, arcname=item.name)
    os.replace(tmp, target)


# --- import -----------------------------------------------------------------------------------


def import_(cache: cache_mod.Cache, source: Path) -> Imported:
    """Import the export at ``source`` (a folder or a ``.tar.gz``) into ``cache``."""
    if source.is_file():
        with tempfile.TemporaryDirectory(prefix="cairn-import-") as tmp:
            _untar(source, Path(tmp))
            return _import_dir(cache, Path(tmp))
    return _import_dir(cache, source)


def _untar(source: Path, target: Path) -> None:
    from cairn.store import archive

    try:
        archive.unpack_into(source, target, 0)
    except CairnError as exc:
        raise InvalidInput(f"{source}: not a cache export ({exc.message})") from None


def _import_dir(cache: cache_mod.Cache, source: Path) -> Imported:
    listing = _listing(source)
    done = Imported()
    for item in listing["entries"]:
        uid = str(item.get("uid", ""))
        reason = _refused(source, item, listing)
        if reason:
            done.refused.append(Refusal(uid=uid, reason=reason))
        elif _present(cache, uid) or not _install(cache, source / uid, str(listing["cache"])):
            done.present.append(uid)
        else:
            done.added.append(uid)
    return done


def _listing(source: Path) -> dict[str, Any]:
    path = source / LISTING
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(
            f"{source} is not a cache export (no {LISTING})",
            hint="make one with: cairn export cache ... --to=DIR",
        ) from None
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: not readable ({exc})") from None
    problem = listing_problem(data, f"a cache export of format {FORMAT}")
    if problem:
        raise InvalidInput(f"{path}: {problem}")
    return cast(dict[str, Any], data)  # a dict: listing_problem said so


def listing_problem(data: Any, kind: str) -> str | None:
    """What is wrong with a listing of entries (an export's, or a shared cache's, which has
    the same form), ``None`` when nothing; ``kind`` names what it should have been."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return f"not {kind}"
    if not isinstance(data.get("entries"), list) or not isinstance(data.get("cache"), str):
        return "'entries' must be a list and 'cache' a path"
    return None


def _refused(source: Path, item: Mapping[str, Any], listing: Mapping[str, Any]) -> str:
    """Why an entry cannot be imported ("" when it can)."""
    uid = str(item.get("uid", ""))
    if len(uid) != cache_mod.UID_DIGITS or any(c not in "0123456789abcdef" for c in uid):
        return f"{uid!r} is not an entry uid"
    folder = source / uid
    if not folder.is_dir():
        return f"its folder {folder} is missing"
    listed = item.get("files")
    if not isinstance(listed, dict):
        return "its file list is missing"
    found = digests(folder)
    for name in sorted(set(listed) | set(found)):
        if listed.get(name) != found.get(name):
            return f"{name}: its content does not match the export's digest (tampered?)"
    outside = _link_outside(folder)
    if outside:
        return f"{outside}: a link that points outside the entry"
    if list(listing.get("platform") or []) != list(cache_mod.host_platform()):
        return f"made on {'/'.join(listing.get('platform') or [])}, not this platform"
    return ""


def _link_outside(folder: Path) -> str:
    root = folder.resolve()
    for path in folder.rglob("*"):
        if path.is_symlink():
            target = (path.parent / os.readlink(path)).resolve()
            if os.path.isabs(os.readlink(path)) or not target.is_relative_to(root):
                return path.relative_to(folder).as_posix()
    return ""


def _present(cache: cache_mod.Cache, uid: str) -> bool:
    return (cache.folder / uid / cache_mod.META_FILE).is_file()


def _install(cache: cache_mod.Cache, folder: Path, old_cache: str) -> bool:
    """Rewrite the entry's paths for this home, recompute its keys, stage it, rename it into
    place under its lock, and list it in its manifest. False when an entry with the same key
    (made elsewhere under another uid, e.g. by another worker) is here already."""
    new_cache = str(cache.folder)
    data = rewritten(meta.load_file(folder / cache_mod.META_FILE), old_cache, new_cache)
    state = rewritten(meta.load_file(folder / cache_mod.STATE_FILE), old_cache, new_cache)
    inputs = cache_mod.KeyInput(**_key_fields(data["cairn_inputs"]))
    static = cache_mod.key_of(inputs)
    reads = data.get("cairn_reads") or {"items": [], "values": {}}
    scope = cache_mod.Scope(static, reads["items"], reads["values"])
    if any(twin.key == scope.key() for twin in cache.candidates(static)):
        return False
    data["cairn_key"] = scope.key()
    cache.folder.mkdir(parents=True, exist_ok=True)
    stage = staging.make(cache.folder)  # named after this process: see cairn.staging
    try:
        entry_dir = stage / folder.name
        shutil.copytree(folder, entry_dir, symlinks=True)
        atomic.write_text(entry_dir / cache_mod.STATE_FILE, meta.dump_json(state))
        atomic.write_text(entry_dir / cache_mod.META_FILE, meta.dump_json(data))
        with cache.entry_lock(folder.name):
            if not _present(cache, folder.name):
                os.replace(entry_dir, cache.folder / folder.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    entry = cache_mod.Entry(
        cache.folder / folder.name,
        folder.name,
        scope.key(),
        tuple(data.get("tags") or ()),
        data.get("version"),
        data,
    )
    cache.note(entry, scope)
    return True


def _key_fields(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "script_uid": inputs["script_uid"],
        "variations": tuple(inputs.get("variations") or ()),
        "version": inputs.get("version"),
        "inputs": dict(inputs.get("inputs") or {}),
        "deps": tuple(inputs.get("deps") or ()),
        "platform": tuple(inputs.get("platform") or cache_mod.host_platform()),
        "format": inputs.get("format", cache_mod.FORMAT),
    }


def rewritten(value: Any, old: str, new: str) -> Any:
    """``value`` with every text naming the folder ``old`` (or below it) naming ``new``."""
    if isinstance(value, str):
        if value == old or value.startswith(old + os.sep):
            return new + value[len(old) :]
        return value.replace(old + os.sep, new + os.sep) if old + os.sep in value else value
    if isinstance(value, list):
        return [rewritten(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: rewritten(v, old, new) for k, v in value.items()}
    return value
