"""Downloading one URL to one file: streamed, atomic, optionally checked against a digest.

The bytes go to a temporary name next to the target, which is renamed into place only when
the transfer (and the checksum, when one is given) succeeded: a failed download leaves nothing
behind. ``https``, ``http``, ``ftp`` and ``file`` URLs are accepted.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from cairn import atomic
from cairn.errors import DownloadFailed, InvalidInput

SCHEMES = ("https", "http", "ftp", "file")
DIGESTS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
TIMEOUT_S = 60
BLOCK = 1 << 20
Progress = Callable[[int, int], None]
"""Called with (bytes so far, total bytes or 0 when unknown) after each block."""


def file_name(url: str) -> str:
    """The last path part of ``url`` (unquoted), or ``''`` when it has none."""
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rstrip("/").split("/")[-1])


def join(url: str, *parts: str) -> str:
    """``url`` with ``parts`` (each quoted) added to its path; its query (``?token=T``) kept."""
    split = urllib.parse.urlsplit(url)
    path = split.path.rstrip("/") + "/" + "/".join(urllib.parse.quote(p) for p in parts)
    return urllib.parse.urlunsplit(split._replace(path=path))


def check_url(url: str) -> str:
    """``url`` stripped, or :class:`InvalidInput` when its scheme is not one cairn fetches."""
    url = url.strip()
    if urllib.parse.urlsplit(url).scheme.lower() not in SCHEMES:
        raise InvalidInput(
            f"cannot download {url!r}: use an https://, http://, ftp:// or file:// URL"
        )
    return url


def download(
    url: str,
    path: Path,
    checksum: str = "",
    *,
    verify_tls: bool = True,
    progress: Progress | None = None,
    max_size: int | None = None,
) -> int:
    """Fetch ``url`` into ``path`` (replacing it); return its size in bytes.

    ``checksum`` is a hex md5, sha1, sha256 or sha512 digest (told apart by length) or ``''``;
    a transfer longer than ``max_size`` bytes is stopped and fails.
    """
    digest = hashlib.new(DIGESTS[len(checksum)]) if checksum else None
    handle, partial = tempfile.mkstemp(prefix=".download-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out, _open(check_url(url), verify_tls) as response:
            size = _copy(response, out, digest, progress, max_size)
        if digest is not None and digest.hexdigest() != checksum:
            raise DownloadFailed(
                f"checksum mismatch for {url}: expected {checksum}, got {digest.hexdigest()}"
                f" ({digest.name}); the download was deleted"
            )
        os.chmod(partial, 0o666 & ~atomic.umask())
        os.replace(partial, path)
        return size
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise DownloadFailed(f"cannot download {url}: {exc}") from exc
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _open(url: str, verify_tls: bool) -> Any:
    context = None
    if not verify_tls and url.lower().startswith("https:"):
        import ssl

        context = ssl._create_unverified_context()
    return urllib.request.urlopen(url, timeout=TIMEOUT_S, context=context)


def read_bytes(url: str, limit: int) -> bytes:
    """The body of ``url`` (at most ``limit`` bytes, else :class:`DownloadFailed`)."""
    try:
        with _open(check_url(url), True) as response:
            data: bytes = response.read(limit + 1)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise DownloadFailed(f"cannot download {url}: {exc}") from exc
    if len(data) > limit:
        raise DownloadFailed(f"cannot download {url}: it is larger than {limit} bytes")
    return data


def _copy(
    response: Any, out: IO[bytes], digest: Any, progress: Progress | None, limit: int | None
) -> int:
    total = int(response.headers.get("Content-Length") or 0) if response.headers else 0
    done = 0
    for block in iter(lambda: response.read(BLOCK), b""):
        if digest is not None:
            digest.update(block)
        out.write(block)
        done += len(block)
        if limit is not None and done > limit:
            raise ValueError(f"it sent more than the {limit} bytes expected")
        if progress is not None:
            progress(done, total)
    return done
