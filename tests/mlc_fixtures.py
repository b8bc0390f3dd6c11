"""Small MLCFlow-format repositories for the store tests, and the real collection.

An MLCFlow repository has ``meta.yaml`` (alias, uid) at its top and no ``cmr.yaml``; its
scripts are ``script/<alias>/meta.yaml``. :func:`make_mlc_repo` writes one;
:func:`corpus_copy` copies the mlperf-automations collection (or skips the test without it).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

SCRIPT_UID = "5b4e0237da074764"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "mlperf-automations"
"""The MLCFlow collection beside the checkout (``../shared/corpora``), read-only."""


def mlc_script(alias: str, uid: str, *tags: str, **extra: Any) -> dict[str, Any]:
    return {
        "alias": alias,
        "uid": uid,
        "automation_alias": "script",
        "automation_uid": SCRIPT_UID,
        "tags": list(tags),
        **extra,
    }


def make_mlc_repo(
    path: Path,
    alias: str = "mlcommons@mini",
    uid: str = "9cf241afa6074c00",
    artifacts: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write an MLCFlow repository at ``path``: ``meta.yaml`` and ``<folder>/<name>/meta.yaml``."""
    path.mkdir(parents=True)
    (path / "meta.yaml").write_text(yaml.safe_dump({"alias": alias, "uid": uid, "git": True}))
    for rel, data in (artifacts or {}).items():
        (path / rel).mkdir(parents=True)
        (path / rel / "meta.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def corpus_copy(dest: Path) -> Path:
    """A writable copy of the mlperf-automations collection at ``dest``."""
    source = Path(CORPUS)
    if not (source / "meta.yaml").is_file():
        pytest.skip(f"the MLCFlow collection is not at {source} (../shared/corpora)")
    shutil.copytree(source, dest, symlinks=True)
    for item in [dest, *dest.rglob("*")]:
        if not item.is_symlink():
            item.chmod(item.stat().st_mode | 0o200)
    return dest
