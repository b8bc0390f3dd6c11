"""What a notebook step's cache key takes from its kernel: the kernel's spec (found as Jupyter
finds it) and, for a Python kernel, the packages installed where it imports from. No kernel
is started here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cairn.notebook import kernel
from cairn.script import keys


def script_with_notebook(folder: Path, kernel_name: str = "python3") -> Path:
    folder.mkdir(parents=True)
    meta = {"kernelspec": {"name": kernel_name, "display_name": kernel_name}}
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "source": ["x = 1\n"]}]
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": meta, "cells": cells}
    (folder / "run.ipynb").write_text(json.dumps(notebook))
    return folder


def installed(site: Path, name: str) -> None:
    """What pip leaves behind for an installed distribution."""
    (site / f"{name}.dist-info").mkdir(parents=True)
    (site / f"{name}.dist-info" / "METADATA").write_text(f"Name: {name.split('-')[0]}\n")


@pytest.fixture
def fresh() -> None:
    kernel._asked.cache_clear()  # each test's interpreters are asked anew


def test_a_package_installed_where_the_kernel_imports_from_changes_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setenv("PYTHONPATH", f"{site}:{Path(keys.__file__).parents[2]}")
    script = script_with_notebook(tmp_path / "train")
    before = keys.content_digest(script, {"alias": "train"})
    assert keys.content_digest(script, {"alias": "train"}) == before
    installed(site, "scikit_learn-1.5.0")
    after = keys.content_digest(script, {"alias": "train"})
    assert after != before
    (site / "scikit_learn-1.5.0.dist-info").rename(site / "scikit_learn-1.6.0.dist-info")
    assert keys.content_digest(script, {"alias": "train"}) not in (before, after)
    assert site in keys.watched(script)  # a replayed hit is checked against it too


def test_the_kernel_spec_names_the_python_that_runs_the_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    pytest.importorskip("jupyter_core", reason="pip install 'cairn[notebook]'")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    other = venv / "bin" / "python"
    specs = tmp_path / "jupyter" / "kernels"
    for name, program in (("Plain", "python3"), ("other", str(other))):
        (specs / name.lower()).mkdir(parents=True)
        argv = [program, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (specs / name.lower() / "kernel.json").write_text(json.dumps({"argv": argv}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    assert kernel.command("Plain")[0] == sys.executable  # as Jupyter runs "python3"
    assert kernel.command("other")[0] == str(other)
    assert kernel.command("no-such") == []
    plain = keys.content_digest(script_with_notebook(tmp_path / "a", "Plain"), {})
    on_other = script_with_notebook(tmp_path / "b", "other")
    before = keys.content_digest(on_other, {})
    assert before != plain  # the same cells on another kernel
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert str(site) in kernel.fingerprint("other")
    installed(site, "numpy-2.0.0")
    assert keys.content_digest(on_other, {}) != before
    assert specs / "other" / "kernel.json" in keys.watched(on_other)
