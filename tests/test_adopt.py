"""`cairn init repo` on a project, then `cairn add KIND --path=DIR`: only meta files written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "dataset" / "mnist").mkdir(parents=True)
    (project / "dataset" / "mnist" / "train.csv").write_text("1,2\n")
    (project / "src").mkdir()
    (project / "src" / "main.py").write_text("print(1)\n")
    return project


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_init_in_place_then_adopt_a_folder(cli: Any, tmp_path: Path) -> None:
    project = _project(tmp_path)
    before = _files(project)
    assert cli("init", "repo", str(project), "--alias=proj").returncode == 0
    done = cli("add", "dataset", f"--path={project / 'dataset' / 'mnist'}", "--tags=digits")
    assert done.returncode == 0, done.stderr
    assert _files(project) - before == {"cmr.yaml", "dataset/mnist/_cm.yaml"}
    meta = yaml.safe_load((project / "dataset" / "mnist" / "_cm.yaml").read_text())
    assert meta["alias"] == "mnist" and meta["tags"] == ["digits"]
    found = cli("find", "dataset", "--tags=digits").stdout.split()
    assert found == [str(project / "dataset" / "mnist")]
    assert (project / "dataset" / "mnist" / "train.csv").read_text() == "1,2\n"


def test_adopt_refusals_write_nothing(cli: Any, tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert cli("init", "repo", str(project)).returncode == 0
    before = _files(project)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    cases = [
        (f"--path={outside}", 1, "is not a folder REPO/dataset/NAME"),
        (f"--path={project / 'src'}", 1, "is not a folder REPO/dataset/NAME"),
        (f"--path={project / 'dataset' / 'missing'}", 16, "does not exist"),
    ]
    for flag, code, text in cases:
        done = cli("add", "dataset", flag)
        assert done.returncode == code, (flag, done.stderr)
        assert text in done.stderr
    assert _files(project) == before
    mnist = project / "dataset" / "mnist"
    assert cli("add", "dataset", f"--path={mnist}").returncode == 0
    again = cli("add", "dataset", f"--path={mnist}")
    assert again.returncode == 8 and "already has a meta file" in again.stderr
