"""Small MLCFlow-format repositories for the store tests, and the real collection.

An MLCFlow repository has ``meta.yaml`` (alias, uid) at its top and no ``cmr.yaml``; its
scripts are ``script/<alias>/meta.yaml``. :func:`make_mlc_repo` writes one;
:func:`corpus_copy` copies the mlperf-automations collection (or skips the test without it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

SCRIPT_UID = "5b4e0237da074764"
CORPUS_ENV = "CAIRN_MLC_CORPUS"
CHECKOUT = Path(__file__).resolve().parents[1]
IN_TESTS = CHECKOUT / "tests" / "data" / "mlperf-automations"
BESIDE = CHECKOUT.parent / "shared" / "corpora" / "mlperf-automations"


def is_collection(path: Path) -> bool:
    return (path / "meta.yaml").is_file() and (path / "script").is_dir()


def find_corpus() -> Path | None:
    """``$CAIRN_MLC_CORPUS``, else the copy in tests/data, else the shared one beside us."""
    given = os.environ.get(CORPUS_ENV)
    if given:
        path = Path(given)
        if not is_collection(path):
            pytest.fail(f"{CORPUS_ENV}={given}: not an MLCFlow collection (meta.yaml, script/)")
        return path
    for path in (IN_TESTS, BESIDE):
        if is_collection(path):
            return path
    return None


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
    source = find_corpus()
    if source is None:
        pytest.skip(f"the MLCFlow collection is neither at {IN_TESTS} nor at {BESIDE}")
    shutil.copytree(source, dest, symlinks=True)
    for item in [dest, *dest.rglob("*")]:
        if not item.is_symlink():
            item.chmod(item.stat().st_mode | 0o200)
    return dest
