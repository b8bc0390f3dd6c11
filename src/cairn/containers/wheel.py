"""A wheel of the running cairn, made from its own package folder (no build backend, no
download): the files of ``cairn/`` (no ``__pycache__``), and a ``.dist-info`` with the
version, the dependencies and the console scripts (read from the source tree's
``pyproject.toml`` when cairn runs from one, else from the installed distribution's metadata).
The image installs exactly the code that wrote its context.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import cairn

_SCRIPTS = {"cairn": "cairn.cli.main:main", "cairn-mlcr": "cairn.cli.mlcr:main"}
_TAG = "py3-none-any"


def build(folder: Path) -> Path:
    """Write ``cairn-VERSION-py3-none-any.whl`` into ``folder``; its path."""
    version = cairn.__version__
    info = f"cairn-{version}.dist-info"
    path = folder / f"cairn-{version}-{_TAG}.whl"
    records: list[str] = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _entries(info, version):
            zf.writestr(_dated(name), data)
            records.append(_record_line(name, data))
        records.append(f"{info}/RECORD,,")
        zf.writestr(_dated(f"{info}/RECORD"), "\n".join(records) + "\n")
    return path


def _dated(name: str) -> zipfile.ZipInfo:
    """A member with a fixed date: the same code makes the same wheel (and the engine
    reuses the layers built from it)."""
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


def _entries(info: str, version: str) -> Iterator[tuple[str, bytes]]:
    package = Path(cairn.__file__).resolve().parent
    for file in sorted(package.rglob("*")):
        if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
            yield f"cairn/{file.relative_to(package).as_posix()}", file.read_bytes()
    yield f"{info}/METADATA", _metadata(version).encode()
    yield f"{info}/WHEEL", _wheel_file().encode()
    scripts = "".join(f"{name} = {target}\n" for name, target in _SCRIPTS.items())
    yield f"{info}/entry_points.txt", f"[console_scripts]\n{scripts}".encode()


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _metadata(version: str) -> str:
    lines = ["Metadata-Version: 2.1", "Name: cairn", f"Version: {version}"]
    lines += ["Requires-Python: >=3.10", *(f"Requires-Dist: {r}" for r in requirements())]
    return "\n".join(lines) + "\n"


def _wheel_file() -> str:
    return f"Wheel-Version: 1.0\nGenerator: cairn\nRoot-Is-Purelib: true\nTag: {_TAG}\n"


def requirements() -> list[str]:
    """cairn's own dependencies (no extras): the source tree's, else the installed ones."""
    from cairn.containers.context import source_tree

    root = source_tree()
    if root is not None and sys.version_info >= (3, 11):
        import tomllib

        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        return [str(r) for r in data["project"]["dependencies"]]
    from importlib import metadata

    found = metadata.requires("cairn") or []
    return [r for r in found if "extra ==" not in r]
