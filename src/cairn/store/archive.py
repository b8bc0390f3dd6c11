"""Zip and tar archives of repositories: safe extraction and packing.

Extraction checks every entry before anything is written: no absolute paths, no ``..``
component, no device files, and no symbolic or hard link whose target leaves the extraction
root. Entries are unpacked into a temporary directory next to the destination which is renamed
into place only when everything succeeded, so a bad archive writes nothing.

Sizes are bounded before anything is unpacked: a symbolic link's target is at most
:data:`MAX_LINK_TARGET` bytes, and the members' total size (a hard link counting its target's)
may exceed neither ``$CAIRN_ARCHIVE_MAX_SIZE`` bytes nor ``$CAIRN_ARCHIVE_MAX_RATIO`` times the
archive's own size. The sizes a zip or tar header declares are the sizes read: ``zipfile`` stops
at a zip member's declared size (and checks its CRC), ``tarfile`` at a tar member's.
A truncated or corrupt archive is an :class:`~cairn.errors.InvalidInput` naming it.
"""

from __future__ import annotations

import gzip
import lzma
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO

from cairn import errors, staging
from cairn.errors import AlreadyExists, CairnError, InvalidInput, NotFound
from cairn.meta import quoted

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
SKIP_NAMES = {".git", "__pycache__", ".cairn-tmp"}
MAX_LINK_TARGET = 4096
"""Longest symbolic link target, in bytes (Linux's PATH_MAX)."""
MAX_NAME = 255
"""Longest file or folder name (one part of an entry's path), in bytes (NAME_MAX)."""
MAX_SIZE_VARIABLE = "CAIRN_ARCHIVE_MAX_SIZE"
DEFAULT_MAX_SIZE = 4 * 1024**3
MAX_RATIO_VARIABLE = "CAIRN_ARCHIVE_MAX_RATIO"
DEFAULT_MAX_RATIO = 200
_DAMAGED = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)
"""What a decompressor raises on a truncated or corrupt stream."""


def is_archive(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(ZIP_SUFFIXES + TAR_SUFFIXES)


@dataclass(frozen=True)
class Entry:
    """One archive member, normalised: a relative POSIX path and what it is."""

    name: str
    kind: str  # "file", "dir", "symlink" or "hardlink"
    link: str = ""
    mode: int = 0o644
    size: int = 0
    """The bytes it unpacks to (a hard link: its target's)."""


def _check_name(archive: Path, name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise InvalidInput(f"{archive}: entry {name!r} has an absolute path; nothing was extracted")
    if ".." in path.parts:
        raise InvalidInput(f"{archive}: entry {name!r} contains '..'; nothing was extracted")
    _check_name_length(archive, path)
    return path


def _check_link(archive: Path, entry: Entry) -> None:
    base = PurePosixPath(entry.name).parent if entry.kind == "symlink" else PurePosixPath()
    target = PurePosixPath(entry.link.replace("\\", "/"))
    if target.is_absolute():
        raise InvalidInput(f"{archive}: link {entry.name!r} points to absolute path {entry.link!r}")
    depth = 0
    for part in (*base.parts, *target.parts):
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            raise InvalidInput(
                f"{archive}: link {entry.name!r} -> {entry.link!r} leaves the repository; "
                "nothing was extracted"
            )


def _tar_entries(archive: Path, tar: tarfile.TarFile) -> Iterator[tuple[Entry, tarfile.TarInfo]]:
    sizes: dict[str, int] = {}
    for info in tar.getmembers():
        if info.isdir():
            kind = "dir"
        elif info.isreg():
            kind = "file"
        elif info.issym():
            kind = "symlink"
        elif info.islnk():
            kind = "hardlink"
        else:
            raise InvalidInput(f"{archive}: entry {info.name!r} is a device or fifo; refused")
        if len(info.linkname.encode("utf-8", "surrogateescape")) > MAX_LINK_TARGET:
            raise _long_link(archive, info.name)
        size = sizes.get(info.linkname, 0) if kind == "hardlink" else info.size
        sizes[info.name] = size
        yield Entry(info.name, kind, info.linkname, info.mode & 0o755 | 0o600, size), info


def _zip_entry(archive: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Entry:
    mode = (info.external_attr >> 16) & 0o177777
    if stat.S_ISLNK(mode):
        return Entry(info.filename, "symlink", _zip_link(archive, zf, info), 0o777)
    kind = "dir" if info.is_dir() else "file"
    mode = (mode & 0o755 | 0o600) if mode else 0o644
    return Entry(info.filename, kind, mode=mode, size=info.file_size)


def _zip_link(archive: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    """A zip symlink's target (the member's data), read no further than the longest allowed."""
    with zf.open(info) as handle:
        data = handle.read(MAX_LINK_TARGET + 1)
    if len(data) > MAX_LINK_TARGET:
        raise _long_link(archive, info.filename)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{archive}: link {info.filename!r} has a target that is not UTF-8 text; "
            "nothing was extracted"
        ) from exc


def _long_link(archive: Path, name: str) -> InvalidInput:
    return InvalidInput(
        f"{archive}: link {name!r} has a target longer than {MAX_LINK_TARGET} bytes; "
        "nothing was extracted"
    )


def _validate(archive: Path, entries: list[Entry]) -> None:
    kinds: dict[PurePosixPath, str] = {}
    for entry in entries:
        path = _check_name(archive, entry.name)
        if entry.kind in ("symlink", "hardlink"):
            _check_link(archive, entry)
        if entry.kind == "hardlink":
            _check_hardlink(archive, entry, kinds)
        _check_unique(archive, entry, kinds.get(path))
        kinds[path] = "dir" if entry.kind == "dir" else "file"
    _check_tree(archive, kinds)
    _check_size(archive, sum(entry.size for entry in entries))


def _check_unique(archive: Path, entry: Entry, before: str | None) -> None:
    """An entry may repeat only a folder entry (a second copy of a file would be a guess)."""
    if before is None or (before == "dir" and entry.kind == "dir"):
        return
    what = "is both a folder and a file" if "dir" in (before, entry.kind) else "appears twice"
    raise InvalidInput(
        f"{archive}: entry {quoted(entry.name)} {what}; nothing was extracted",
        hint="repack the archive with one entry per name",
    )


def _check_tree(archive: Path, kinds: dict[PurePosixPath, str]) -> None:
    """No entry may sit below an entry that is not a folder (``a`` a file, then ``a/b``)."""
    for path in kinds:
        for parent in list(path.parents)[:-1]:
            if kinds.get(parent, "dir") != "dir":
                raise InvalidInput(
                    f"{archive}: entry {quoted(str(path))} lies below {quoted(str(parent))}, "
                    "which is a file; nothing was extracted",
                    hint="repack the archive with one entry per name",
                )


def _check_hardlink(archive: Path, entry: Entry, kinds: dict[PurePosixPath, str]) -> None:
    """A hard link must name a file or link that comes before it in the archive."""
    if kinds.get(PurePosixPath(entry.link.replace("\\", "/"))) != "file":
        raise InvalidInput(
            f"{archive}: hard link {quoted(entry.name)} points to {quoted(entry.link)}, which "
            "is not a file or link earlier in the archive; nothing was extracted",
            hint="repack the archive without the hard link",
        )


def _check_name_length(archive: Path, path: PurePosixPath) -> None:
    for part in path.parts:
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME:
            raise InvalidInput(
                f"{archive}: entry {quoted(str(path))} has a name longer than {MAX_NAME} bytes, "
                "more than file systems store; nothing was extracted",
                hint="repack the archive with shorter names",
            )


def _check_size(archive: Path, total: int) -> None:
    """Refuse an archive unpacking to more than the size or compression ratio allowed."""
    max_size = _limit(MAX_SIZE_VARIABLE, DEFAULT_MAX_SIZE)
    if total > max_size:
        raise InvalidInput(
            f"{archive} unpacks to {total} bytes, more than the limit of {max_size}; "
            "nothing was extracted",
            hint=f"set {MAX_SIZE_VARIABLE}=BYTES to raise it",
        )
    max_ratio = _limit(MAX_RATIO_VARIABLE, DEFAULT_MAX_RATIO)
    packed = max(archive.stat().st_size, 1)
    if total > max_ratio * packed:
        raise InvalidInput(
            f"{archive} unpacks to {total} bytes, more than {max_ratio} times its own size "
            f"({packed} bytes); nothing was extracted",
            hint=f"set {MAX_RATIO_VARIABLE}=N to raise the limit",
        )


def _limit(variable: str, default: int) -> int:
    """The positive whole number in ``$variable``, else ``default``."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"{variable} must be a positive whole number, not {text[:40]!r}")
    return int(text)


def extract(archive: Path, dest: Path) -> Path:
    """Safely unpack ``archive`` into the new directory ``dest``; return the repository root.

    The root is ``dest`` itself, or its single top-level folder when the archive has one.
    """
    if not archive.is_file():
        raise NotFound(f"archive {archive} not found")
    if dest.exists():
        raise AlreadyExists(f"{dest} already exists")
    stage = _stage_near(archive, dest)
    try:
        _unpack(archive, stage)
        _check_links_within(archive, _single_top(stage))
        os.rename(stage, dest)
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _cannot(archive, dest, exc, "; nothing was extracted") from exc
        raise
    return _single_top(dest)


def _stage_near(archive: Path, dest: Path) -> Path:
    """A staging folder on the file system of ``dest`` (so that a rename moves it there);
    those of extractions that died there are removed first (:mod:`cairn.staging`)."""
    near = dest if dest.is_dir() else dest.parent
    try:
        near.mkdir(parents=True, exist_ok=True)
        staging.clean(near)
        return staging.make(near)
    except OSError as exc:
        raise _cannot(archive, dest, exc, "; nothing was extracted") from exc


def _cannot(archive: Path, dest: Path, exc: OSError, tail: str) -> CairnError:
    reason = exc.strerror or str(exc)
    return CairnError(
        f"cannot extract {archive} into {dest}: {reason}{tail}", hint=errors.os_error_hint(exc)
    )


def _check_links_within(archive: Path, root: Path) -> None:
    """Every link must resolve inside the repository root (the single top folder, if any)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            path = Path(dirpath, name)
            if path.is_symlink() and not _within(root, path):
                rel = path.relative_to(root)
                raise InvalidInput(f"{archive}: link {str(rel)!r} leaves the repository; refused")


def unpack_into(archive: Path, dest: Path, strip: int = 0) -> None:
    """Unpack ``archive`` into the directory ``dest`` (created when the archive is accepted),
    dropping the first ``strip`` folders of every entry name (shallower entries are skipped).

    Files already in ``dest`` with the same names are replaced, folders merged. Entries are
    checked as for :func:`extract` and staged first, so a bad archive writes nothing.
    """
    if not archive.is_file():
        raise NotFound(f"archive {archive} not found")
    stage = _stage_near(archive, dest)
    try:
        _unpack(archive, stage, strip)
        _check_links_within(archive, stage)
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _cannot(archive, dest, exc, "; nothing was extracted") from exc
        raise
    try:
        dest.mkdir(exist_ok=True)
        _merge_tree(stage, dest)
    except OSError as exc:
        raise _cannot(archive, dest, exc, "; part of it may be there") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _merge_tree(source: Path, dest: Path) -> None:
    """Move everything in ``source`` into ``dest``: folders merge, anything else replaces."""
    for child in source.iterdir():
        target = dest / child.name
        if child.is_dir() and not child.is_symlink() and target.is_dir():
            _merge_tree(child, target)
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(child, target)


def format_of(archive: Path) -> str | None:
    """``"zip"`` or ``"tar"`` by the name's suffix, else by what the file holds (``.tbz2``,
    no suffix...); ``None`` for anything else, a damaged compressed file included."""
    name = archive.name.lower()
    if name.endswith(ZIP_SUFFIXES):
        return "zip"
    if name.endswith(TAR_SUFFIXES):
        return "tar"
    try:
        if zipfile.is_zipfile(archive):
            return "zip"
        return "tar" if tarfile.is_tarfile(archive) else None
    except _DAMAGED:
        return None


def _unpack(archive: Path, stage: Path, strip: int = 0) -> None:
    kind = format_of(archive)
    if kind == "zip":
        _unpack_zip(archive, stage, strip)
    elif kind == "tar":
        _unpack_tar(archive, stage, strip)
    else:
        raise InvalidInput(f"{archive} is neither a zip nor a tar archive")


def _stripped(entry: Entry, strip: int) -> Entry | None:
    """``entry`` without its first ``strip`` folders (None when nothing is left of its name)."""
    if not strip:
        return entry
    parts = PurePosixPath(entry.name.replace("\\", "/")).parts[strip:]
    if not parts:
        return None
    link = entry.link
    if entry.kind == "hardlink":
        link = "/".join(PurePosixPath(link.replace("\\", "/")).parts[strip:])
    return replace(entry, name="/".join(parts), link=link)


def _unpack_zip(archive: Path, stage: Path, strip: int = 0) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            pairs = [(_stripped(_zip_entry(archive, zf, i), strip), i) for i in zf.infolist()]
            kept = [(e, i) for e, i in pairs if e is not None]
            _validate(archive, [e for e, _ in kept])
            for entry, info in kept:
                _written(archive, stage, entry, partial(zf.open, info))
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"{archive} is not a valid zip archive: {exc}") from exc
    except (*_DAMAGED, NotImplementedError) as exc:
        raise _damaged(archive, exc) from exc


def _damaged(archive: Path, exc: Exception) -> InvalidInput:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return InvalidInput(f"{archive} is truncated or corrupt ({reason}); nothing was extracted")


def _written(
    archive: Path, stage: Path, entry: Entry, data: Callable[[], IO[bytes] | None]
) -> None:
    """:func:`_write_member`, a failure told by the archive and entry (the staging folder
    is cairn's own and is removed: nothing was extracted)."""
    try:
        _write_member(stage, entry, data)
    except OSError as exc:
        raise CairnError(
            f"{archive}: cannot extract entry {quoted(entry.name)}: {exc.strerror or exc}; "
            "nothing was extracted",
            hint=errors.os_error_hint(exc),
        ) from exc


def _write_member(stage: Path, entry: Entry, data: Callable[[], IO[bytes] | None]) -> None:
    """Write one validated entry under ``stage``; ``data`` opens a regular file's bytes."""
    target = _inside(stage, entry.name)
    if entry.kind == "dir":
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if entry.kind == "symlink":
        _symlink(stage, entry.link, target)
    elif entry.kind == "hardlink":
        source = _inside(stage, entry.link)
        if source.is_symlink():  # a hard link to a link is that link again
            _symlink(stage, os.readlink(source), target)
        else:
            shutil.copy2(source, target)
    else:
        handle = data()
        assert handle is not None
        with handle, open(target, "wb") as out:
            shutil.copyfileobj(handle, out)
        os.chmod(target, entry.mode)


def _unpack_tar(archive: Path, stage: Path, strip: int = 0) -> None:
    try:
        with tarfile.open(archive) as tar:
            pairs = [(_stripped(e, strip), i) for e, i in _tar_entries(archive, tar)]
            kept = [(e, i) for e, i in pairs if e is not None]
            _validate(archive, [e for e, _ in kept])
            for entry, info in kept:
                _written(archive, stage, entry, partial(tar.extractfile, info))
    except tarfile.TarError as exc:
        raise InvalidInput(f"{archive} is not a valid tar archive: {exc}") from exc
    except _DAMAGED as exc:
        raise _damaged(archive, exc) from exc


def _inside(stage: Path, name: str) -> Path:
    """The path of a validated entry under ``stage``, refusing to pass through a link outside."""
    target = stage.joinpath(*PurePosixPath(name.replace("\\", "/")).parts)
    if not _within(stage, target.parent):
        raise InvalidInput(f"entry {name!r} would be written through a link outside the repository")
    return target


def _within(stage: Path, path: Path) -> bool:
    root = os.path.realpath(stage)
    resolved = os.path.realpath(path)
    return resolved == root or resolved.startswith(root + os.sep)


def _symlink(stage: Path, link: str, target: Path) -> None:
    os.symlink(link, target)
    if not _within(stage, target):
        raise InvalidInput(f"link {target.name!r} -> {link!r} leaves the repository; refused")


def _single_top(dest: Path) -> Path:
    children = [c for c in dest.iterdir() if c.name not in ("__MACOSX",)]
    if len(children) == 1 and children[0].is_dir() and not children[0].is_symlink():
        return children[0]
    return dest


def pack(root: Path, target: Path) -> int:
    """Write ``root`` (without ``.git``, caches and staging folders) to ``target``; count files."""
    files = sorted(_packable(root))
    if target.exists():
        raise AlreadyExists(f"{target} already exists; choose another --to or remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        _write_archive(root, files, tmp, target.name.lower())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(files)


def _packable(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            d for d in dirnames if d not in SKIP_NAMES and not d.startswith(".cairn-tmp")
        ]
        for name in filenames:
            if not name.endswith((".pyc", ".lock")):
                yield Path(dirpath, name)


def _write_archive(root: Path, files: list[Path], tmp: Path, name: str) -> None:
    if name.endswith(".zip"):
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                zf.write(path, path.relative_to(root).as_posix())
        return
    mode = "w:gz" if name.endswith((".tar.gz", ".tgz")) else "w"
    if not name.endswith(TAR_SUFFIXES):
        raise InvalidInput(f"cannot pack to {name!r}: use .zip, .tar.gz, .tgz or .tar")
    with tarfile.open(tmp, mode) as tar:  # type: ignore[call-overload]
        for path in files:
            tar.add(path, path.relative_to(root).as_posix(), recursive=False)
