"""The ``notebook`` automation on notebooks that live in a registered repository: found by
tags, loaded with kernel, parameters and preview; and the notebook mistakes a user can make
(here or in a script's ``run.ipynb``). Nothing here starts a kernel."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import json_out
from tests.script_fixtures import ScriptRepo

Cli = Callable[..., subprocess.CompletedProcess[str]]


def saved(path: Path, *cells: tuple[str, str, list[str]]) -> Path:
    """A notebook as Jupyter saves it, from (cell type, source, tags)."""
    made: list[dict[str, Any]] = []
    for kind, source, tags in cells:
        cell: dict[str, Any] = {
            "cell_type": kind,
            "metadata": {"tags": tags},
            "source": source.splitlines(keepends=True),
        }
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        made.append(cell)
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    path.write_text(
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": meta, "cells": made})
    )
    return path


def repo_with_notebooks(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "cmr.yaml").write_text('alias: nbs\nuid: "1234abcd1234abcd"\n')
    named = root / "notebook" / "accuracy"
    named.mkdir(parents=True)
    (named / "_cm.yaml").write_text(
        "alias: accuracy\nautomation_alias: notebook\ntags: [report, accuracy]\nfile: acc.ipynb\n"
    )
    saved(
        named / "acc.ipynb",
        ("markdown", "# Accuracy\nAgainst the threshold.", []),
        ("code", "threshold = 0.5\nmodel: str = 'resnet'", ["parameters"]),
        ("code", "print(threshold)", []),
    )
    only = root / "notebook" / "latency"
    only.mkdir(parents=True)
    (only / "_cm.yaml").write_text("alias: latency\nautomation_alias: notebook\ntags: [report]\n")
    saved(only / "whatever-name.ipynb", ("code", "x = 1", []))
    return root


def test_a_registered_repositorys_notebooks_are_found_and_loaded(cli: Cli, tmp_path: Path) -> None:
    root = repo_with_notebooks(tmp_path / "nbs")
    assert cli("add", "repo", str(root)).returncode == 0
    found = cli("find", "notebook", "--tags=report").stdout.split()
    assert sorted(Path(p).name for p in found) == ["accuracy", "latency"]
    loaded = json_out(cli("load", "notebook", "--tags=accuracy", "--out=json"))
    assert loaded["file"] == str(root / "notebook" / "accuracy" / "acc.ipynb")
    assert loaded["kernel"] == "python3"
    assert loaded["parameters"] == {"threshold": "0.5", "model": "'resnet'"}
    assert loaded["preview"][:3] == [
        "[markdown] # Accuracy",
        "[markdown] Against the threshold.",
        "[code] threshold = 0.5",
    ]
    shown = cli("load", "notebook", "latency")
    assert shown.returncode == 0 and "whatever-name.ipynb" in shown.stdout
    assert "  kernel: python3" in shown.stdout


def test_notebook_mistakes_are_named(cli: Cli, tmp_path: Path) -> None:
    root = repo_with_notebooks(tmp_path / "nbs")
    saved(root / "notebook" / "latency" / "second.ipynb", ("code", "y = 2", []))
    (root / "notebook" / "accuracy" / "acc.ipynb").unlink()
    assert cli("add", "repo", str(root)).returncode == 0
    several = cli("load", "notebook", "latency")
    assert several.returncode != 0 and "several notebooks, and no 'file' in its meta" in (
        several.stderr
    )
    assert "file: analysis.ipynb" in several.stderr
    missing = cli("run", "notebook", "accuracy")
    assert missing.returncode != 0 and "the notebook 'acc.ipynb' its meta names is missing" in (
        missing.stderr
    )
    no_file = cli("add", "notebook", "x")
    assert no_file.returncode == 1 and "give --file=PATH.ipynb" in no_file.stderr
    (tmp_path / "not.ipynb").write_text('{"cells": 3}')
    bad = cli("add", "notebook", "y", f"--file={tmp_path / 'not.ipynb'}")
    assert bad.returncode == 1 and "not a notebook (no list of cells)" in bad.stderr


def test_a_run_ipynb_that_is_no_notebook_is_named_without_a_traceback(
    cli: Cli, tmp_path: Path
) -> None:
    repo = ScriptRepo(tmp_path / "repo")
    folder = repo.add("corrupt", tags=["corrupt"])
    (folder / "run.ipynb").write_text('{"cells": [')
    done = cli("run", "script", "corrupt")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{folder / 'run.ipynb'}: not a readable notebook" in done.stderr
    (folder / "run.ipynb").write_text('{"worksheets": [], "nbformat": 3}')
    old = cli("run", "script", "corrupt")
    assert "not a notebook (no list of cells)" in old.stderr
    assert "open and save it" in old.stderr
