"""The repository: the pinned wheel, ``cairn add repo``, ``find``, and ``cmind`` absent."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

from tests.compat.conftest import REPO, SHIM_PART, Cairn


def test_cmind_is_not_installed() -> None:
    """Neither the test interpreter nor the ``python3`` native scripts use can import cmind."""
    assert importlib.util.find_spec("cmind") is None
    python3 = shutil.which("python3")
    if python3:
        code = "import importlib.util as u; print(u.find_spec('cmind'))"
        done = subprocess.run([python3, "-c", code], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "None"


def test_add_repo_registers_the_wheel_folder(cairn: Cairn) -> None:
    listed = cairn("list", "repo")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [REPO, str(cairn.root)] in [[row[0], row[-1]] for row in rows]
    again = cairn("add", "repo", str(cairn.root))
    assert again.returncode != 0
    assert "already registered" in again.stderr


def test_every_script_folder_is_found(cairn: Cairn) -> None:
    """All script folders, including the one whose tag is the YAML integer 28 (read as text)."""
    folders = {
        p.parent.name
        for pattern in ("*/_cm.yaml", "*/_cm.json")
        for p in (cairn.root / "repo" / "script").glob(pattern)
    }
    found = cairn("find", "script", "--out=json")
    assert found.returncode == 0, found.stderr
    artifacts = json.loads(found.stdout)["list"]
    listed = {Path(a["path"]).name: a for a in artifacts if a["repo"] == REPO}
    assert len(folders) > 300
    assert set(listed) == folders
    assert "28" in listed["reproduce-ieee-acm-micro2023-paper-28"]["tags"]


def test_hooks_get_the_shim_not_a_real_cmind(cairn: Cairn) -> None:
    """detect-os's customize.py does ``from cmind import utils``: the shim serves it."""
    cairn.run("detect-os")
    imports = cairn.cmind_imports()
    assert "cmind" in {name for name, _ in imports}
    assert all(SHIM_PART in origin for _, origin in imports), imports
