"""The top-level ``utils`` module MLCFlow hooks import (``from utils import is_true``, ``*``).

MLCFlow puts its script automation's folder on ``sys.path`` while hooks run; cairn puts this
folder there instead, for the hooks of MLCFlow scripts only (:mod:`cairn.compat.importing`).
It offers the names the collection's hooks use from it.
"""

from __future__ import annotations

from mlc.utils import (  # type: ignore[import-not-found]
    download_file,
    is_false,
    is_true,
    load_json,
    load_txt,
    load_yaml,
    logger,
    save_json,
    save_txt,
    unzip_file,
)

__all__ = [
    "download_file",
    "is_false",
    "is_true",
    "load_json",
    "load_txt",
    "load_yaml",
    "logger",
    "save_json",
    "save_txt",
    "unzip_file",
]
