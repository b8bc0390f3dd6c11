"""The ``notebook`` extra: a clear message when a part of it is missing or the notebook's
kernel is not installed, and no cost for commands that run no notebook."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import cairn
from tests.script_fixtures import ScriptRepo

Cli = Callable[..., subprocess.CompletedProcess[str]]

BLOCKER = """
import os, sys
BLOCKED = set(os.environ["CAIRN_TEST_BLOCK"].split(","))
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _Block())
"""


def saved_notebook(path: Path, kernel: str = "python3") -> Path:
    """A one-cell notebook as Jupyter saves it."""
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": ["import cairn.notebook\n", "cairn.notebook.record(DONE=1)"],
        }
    ]
    meta = {"kernelspec": {"name": kernel, "display_name": kernel, "language": "python"}}
    path.write_text(
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": meta, "cells": cells})
    )
    return path


@pytest.fixture
def without(tmp_path: Path) -> Callable[[str], dict[str, str]]:
    """The env of a ``cairn`` (and of every Python it starts) where the given modules cannot
    be imported, as when they are not installed."""
    folder = tmp_path / "blocker"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER)
    src = Path(cairn.__file__).resolve().parents[1]  # the cairn under test

    def env(names: str) -> dict[str, str]:
        return {"PYTHONPATH": f"{folder}:{src}", "CAIRN_TEST_BLOCK": names}

    return env


def test_without_nbclient_both_ways_of_running_a_notebook_say_what_to_install(
    cli: Cli, tmp_path: Path, without: Callable[[str], dict[str, str]]
) -> None:
    source = saved_notebook(tmp_path / "report.ipynb")
    assert cli("add", "notebook", "report", f"--file={source}").returncode == 0
    ran = cli("run", "notebook", "report", env=without("nbclient"))
    assert ran.returncode == 1
    assert "running notebook report.ipynb needs a Jupyter kernel runner: nbclient is not" in (
        ran.stderr
    )
    assert "pip install 'cairn[notebook]'" in ran.stderr
    repo = ScriptRepo(tmp_path / "repo")
    saved_notebook(repo.add("train", tags=["train"]) / "run.ipynb")
    step = cli("run", "script", "train", env=without("nbclient,nbformat"))
    assert step.returncode == 1
    assert "its notebook step run.ipynb needs a Jupyter kernel runner: nbclient, nbformat" in (
        step.stderr
    )
    assert "pip install 'cairn[notebook]'" in step.stderr and "Traceback" not in step.stderr


def test_a_kernel_that_cannot_start_is_named_with_what_to_do(
    cli: Cli, tmp_path: Path, without: Callable[[str], dict[str, str]]
) -> None:
    pytest.importorskip(
        "nbclient", reason="nbclient is not installed (pip install 'cairn[notebook]')"
    )
    source = saved_notebook(tmp_path / "r.ipynb", kernel="no-such-kernel")
    assert cli("add", "notebook", "r-nb", f"--file={source}").returncode == 0
    unknown = cli("run", "notebook", "r-nb")
    assert unknown.returncode == 1
    assert "kernel 'no-such-kernel' did not start: no kernel of that name is installed" in (
        unknown.stderr
    )
    assert "Kernel > Change kernel" in unknown.stderr
    source = saved_notebook(tmp_path / "py.ipynb")
    assert cli("add", "notebook", "py-nb", f"--file={source}").returncode == 0
    blocked = cli("run", "notebook", "py-nb", env=without("ipykernel,ipykernel_launcher"))
    assert blocked.returncode == 1
    assert "kernel 'python3' did not start" in blocked.stderr
    assert "ipykernel is not installed: pip install 'cairn[notebook]'" in blocked.stderr


HEAVY = ("nbclient", "nbformat", "jupyter_client", "zmq", "cairn.notebook.step", "cairn.jupyter")


def test_commands_that_run_no_notebook_import_none_of_the_extra(tmp_path: Path) -> None:
    repo = ScriptRepo(tmp_path / "repo")
    repo.add("hello", {"new_env_keys": ["HELLO"]}, run="echo HELLO=1 > tmp-run-env.out\n")
    code = (
        "import sys; from cairn.cli.main import main; main(sys.argv[1:]);"
        f" print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    for argv in (["run", "script", "hello", "--quiet"], ["find", "notebook"], ["find", "script"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "[]", (argv, done.stdout)
