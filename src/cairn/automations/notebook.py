"""The ``notebook`` automation: Jupyter notebooks as artifacts, found by tags, shown with
their kernel and parameters, and run headless with parameters.

``cairn add notebook NAME --file=analysis.ipynb --tags=a,b`` copies the notebook into a new
artifact (its meta names the file); a notebook already in a registered repository
(``<repo>/notebook/NAME/`` with a ``_cm.yaml`` naming ``file:``, or the only ``.ipynb`` of
the folder) works the same. ``cairn load notebook NAME`` adds the kernel, the parameters of
the cell tagged ``parameters`` (names and default values as written) and a preview of the
first cells. ``cairn run notebook NAME --param.x=1`` executes it with a real kernel
(:mod:`cairn.notebook.step`) in a new folder and returns what it recorded.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cairn.automations.common import TAGS, CommonAutomation
from cairn.automations.contract import Call, Flag, Outcome, action
from cairn.errors import CairnError, InvalidInput, NotFound
from cairn.notebook import ENV_OUT, STATE_OUT, extra, nbfile

PREVIEW_CELLS = 3
PREVIEW_LINES = 4


class NotebookAutomation(CommonAutomation):
    """Notebooks: find them by tags, see their parameters, run them with new values."""

    summary = "Jupyter notebooks: add, load (kernel, parameters, preview), run with parameters"

    @action(
        "add",
        summary="add a notebook artifact (--file copies the .ipynb in)",
        usage="cairn add notebook [REPO:]NAME --file=analysis.ipynb [--tags=a,b]",
        example="cairn add notebook accuracy-report --file=report.ipynb --tags=report,accuracy",
        flags=(TAGS, Flag("file", "str", "the notebook to copy into the artifact")),
    )
    def add(self, call: Call) -> Outcome:
        given = call.flag("file")
        if not given:
            raise InvalidInput("which notebook? give --file=PATH.ipynb")
        source = Path(given).expanduser()
        nbfile.load(source)  # a clear error when it is no notebook
        call.opts["meta"] = {**dict(call.flag("meta", {})), "file": source.name}
        outcome = super().add(call)
        shutil.copyfile(source, Path(outcome.data["path"]) / source.name)
        return outcome

    @action(
        "load",
        summary="a notebook's meta, kernel, parameters and a preview of its first cells",
        usage="cairn load notebook NAME [--tags=a,b]",
        example="cairn load notebook accuracy-report",
        flags=(TAGS,),
    )
    def load(self, call: Call) -> Outcome:
        artifact = self.catalog.find_one(self._query(call, required=True))
        path = notebook_file(artifact.path, artifact.meta)
        data = nbfile.load(path)
        facts: dict[str, Any] = {
            "path": str(artifact.path),
            "meta": artifact.meta,
            "file": str(path),
            "kernel": nbfile.kernel_of(data),
            "parameters": parameters(data),
            "preview": preview(data),
        }
        lines = [
            f"notebook {artifact.alias or artifact.uid}: {path}",
            f"  kernel: {facts['kernel']}",
        ]
        lines += [f"  parameter {k} = {v}" for k, v in facts["parameters"].items()]
        lines += ["  ---", *(f"  {line}" for line in facts["preview"])]
        return Outcome(facts, lines)

    @action(
        "run",
        summary="execute a notebook headless with a real kernel; returns what it recorded",
        usage="cairn run notebook NAME [--param.KEY=VALUE ...] [--to=FOLDER]",
        example="cairn run notebook accuracy-report --param.threshold=0.9",
        flags=(
            TAGS,
            Flag("param", "dict", "a parameter: --param.KEY=VALUE (a string, like a script's env)"),
            Flag("to", "str", "the folder to run in and keep the executed copy (default: new)"),
        ),
    )
    def run(self, call: Call) -> Outcome:
        artifact = self.catalog.find_one(self._query(call, required=True))
        path = notebook_file(artifact.path, artifact.meta)
        folder = _folder(call.flag("to"), self.catalog.registry.home.root, path.stem)
        params = {str(k): str(v) for k, v in dict(call.flag("param", {})).items()}
        executed = execute(path, folder, params)
        env, state = recorded(folder)
        data = {"executed": str(executed), "new_env": env, "new_state": state}
        lines = [f"executed {path.name}: {executed}", *(f"{k}={v}" for k, v in env.items())]
        return Outcome(data, lines)


def notebook_file(folder: Path, meta: dict[str, Any]) -> Path:
    """The artifact's notebook: its meta's ``file``, else its only ``.ipynb``."""
    named = meta.get("file")
    if isinstance(named, str) and named:
        path = folder / Path(named).name
        if not path.is_file():
            raise NotFound(f"{folder}: the notebook {named!r} its meta names is missing")
        return path
    found = sorted(p for p in folder.glob("*.ipynb") if ".executed." not in p.name)
    if len(found) != 1:
        raise NotFound(
            f"{folder}: {'no' if not found else 'several'} notebooks, and no 'file' in its meta",
            hint="name the notebook in the meta: file: analysis.ipynb",
        )
    return found[0]


def parameters(data: dict[str, Any]) -> dict[str, str]:
    """The assignments of the cell tagged ``parameters``: name -> the value as written
    (parsed with :mod:`ast`, never run)."""
    cell = next((c for c in data["cells"] if nbfile.PARAMETERS in nbfile.tags(c)), None)
    if cell is None:
        return {}
    text = nbfile.source(cell)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = ast.get_source_segment(text, node.value) or ""
    return found


def preview(data: dict[str, Any]) -> list[str]:
    lines = []
    for cell in data["cells"][:PREVIEW_CELLS]:
        head = nbfile.source(cell).splitlines()[:PREVIEW_LINES]
        lines += [f"[{cell.get('cell_type')}] {line}" for line in head]
    return lines


def _folder(given: str | None, home: Path, stem: str) -> Path:
    if given:
        folder = Path(given).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    (home / "work").mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"notebook-{stem}-", dir=home / "work"))


PARAMS = "tmp-notebook-params.json"


def execute(path: Path, folder: Path, params: dict[str, str]) -> Path:
    """Run the step module on ``path`` in ``folder``; the executed copy's path."""
    extra.require(f"running notebook {path.name}")
    for name in (ENV_OUT, STATE_OUT):
        (folder / name).unlink(missing_ok=True)
    (folder / PARAMS).write_text(json.dumps(params), encoding="utf-8")
    executed = folder.resolve() / f"{path.stem}.executed.ipynb"
    step = [sys.executable, "-m", "cairn.notebook.step", str(path), PARAMS, executed.name]
    try:
        done = subprocess.run(
            step,
            cwd=folder,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ),
        )
    finally:
        (folder / PARAMS).unlink(missing_ok=True)
    if done.returncode != 0:
        said = done.stdout.strip() or "\n".join(done.stderr.strip().splitlines()[-20:])
        kept = f"\nthe partly executed notebook is kept in {executed}" if executed.is_file() else ""
        raise CairnError(f"notebook {path.name} failed:\n{said}{kept}")
    return executed


def recorded(folder: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """What :func:`cairn.notebook.record` wrote in ``folder`` (the files are removed: the
    folder keeps only the executed copy and what the notebook wrote)."""
    from cairn.script import native

    outputs = native.read_outputs(folder)
    for name in (ENV_OUT, STATE_OUT):
        (folder / name).unlink(missing_ok=True)
    return dict(outputs.env), dict(outputs.state)
