"""docs/notebooks.md's worked example runs as written, with a real Jupyter kernel.

The example's blocks are read from the page: a block whose first line is ``# PATH`` is a
file to write; in a ``console`` block, each ``$ COMMAND`` runs in bash and the lines under
it are output it must print (``...`` stands for anything).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbclient", reason="nbclient is not installed (pip install 'cairn[notebook]')")
pytest.importorskip(
    "ipykernel", reason="ipykernel is not installed (pip install 'cairn[notebook]')"
)

PAGE = Path(__file__).resolve().parents[1] / "docs" / "notebooks.md"
START, END = "### A worked example", "### What happens"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
FILE = re.compile(r"# (\S+\.(?:yaml|sh|py))\n")


def example() -> list[tuple[str, str]]:
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index(START) : text.index(END)]
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(section)]


def steps(blocks: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """The console commands in order, each with the output lines it must print."""
    found: list[tuple[str, list[str]]] = []
    for kind, body in blocks:
        if kind != "console":
            continue
        for line in body.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif line.strip() and line.strip() != "...":
                found[-1][1].append(line)
    return found


def printed(expected: str, lines: list[str]) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.rstrip().split("..."))
    return any(re.fullmatch(pattern, line.rstrip()) for line in lines)


@pytest.fixture
def shell(tmp_path: Path) -> dict[str, str]:
    """``cairn`` and ``python`` as a reader has them: this cairn, this Python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cairn").write_text(f'#!/bin/sh\nexec {sys.executable} -m cairn "$@"\n')
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_the_worked_example_runs_as_written(tmp_path: Path, shell: dict[str, str]) -> None:
    blocks = example()
    folder = tmp_path / "reader"
    folder.mkdir()
    written = []
    for _, body in blocks:
        named = FILE.match(body)
        if named:
            written.append(named.group(1))
            (folder / named.group(1)).parent.mkdir(parents=True, exist_ok=True)
            (folder / named.group(1)).write_text(body)
    assert "make_notebook.py" in written and "my-repo/script/train/_cm.yaml" in written
    commands = steps(blocks)
    assert len(commands) >= 6
    for command, expected in commands:
        if not (folder / "my-repo").exists() and "init repo" not in command:
            pytest.fail(f"the page uses my-repo before making it: {command}")
        done = subprocess.run(
            ["bash", "-c", f"{command} 2>&1"],
            cwd=folder,
            env=shell,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = done.stdout.splitlines()
        assert done.returncode == 0, (command, done.stdout)
        assert "Traceback" not in done.stdout and "WARNING" not in done.stdout, done.stdout
        for line in expected:
            assert printed(line, lines), (command, line, done.stdout)
