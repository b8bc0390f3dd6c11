"""Shared fixtures: every test runs with CAIRN_HOME in a fresh temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture(autouse=True)
def cairn_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty ``$CAIRN_HOME`` for every test (the real home is never touched)."""
    home = tmp_path / "cairn-home"
    monkeypatch.setenv("CAIRN_HOME", str(home))
    return home


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """Make a repository directory in ``tmp_path`` with ``cmr.yaml`` and optional artifacts.

    ``make_repo("r1", uid="...", prefix="", artifacts={"dataset/mnist": {...meta...}})``
    """

    def make(
        alias: str,
        *,
        uid: str | None = None,
        prefix: str = "",
        artifacts: dict[str, dict[str, Any]] | None = None,
    ) -> Path:
        path = tmp_path / "repos" / alias
        path.mkdir(parents=True)
        cmr: dict[str, Any] = {"alias": alias, "uid": uid or os.urandom(8).hex()}
        if prefix:
            cmr["prefix"] = prefix
        (path / "cmr.yaml").write_text(yaml.safe_dump(cmr))
        root = path / prefix if prefix else path
        for rel, data in (artifacts or {}).items():
            art = root / rel
            art.mkdir(parents=True)
            (art / "_cm.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return make


@pytest.fixture
def cli(cairn_home: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ``cairn`` command in a subprocess: ``cli("find", "dataset", input=...)``."""

    def run(*argv: str, input: str | None = None, cwd: Path | None = None) -> Any:
        env = {**os.environ, "CAIRN_HOME": str(cairn_home)}
        return subprocess.run(
            [sys.executable, "-m", "cairn", *argv],
            capture_output=True,
            text=True,
            input=input,
            env=env,
            cwd=cwd or tmp_path,
            timeout=60,
        )

    return run


def json_out(proc: subprocess.CompletedProcess[str]) -> Any:
    """Parse the single JSON document a ``--out=json`` run printed."""
    return json.loads(proc.stdout)
