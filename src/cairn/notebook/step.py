"""Execute a notebook headless with a real Jupyter kernel: ``python -m cairn.notebook.step
NOTEBOOK PARAMS.json EXECUTED.ipynb``.

The script engine runs this (from the wrapper it writes for a ``run.ipynb`` step) in the
run's work folder, with the run's env. The parameters (a JSON object) are put in after the
cell tagged ``parameters`` (:func:`cairn.notebook.nbfile.inject`); the kernel (the one the
notebook names, ``python3`` by default) runs every cell with the work folder as its current
folder; :func:`cairn.notebook.record` calls hand results back. The executed copy is
written to EXECUTED.ipynb, also when a cell fails: then the cell's number (counted from 1
among the notebook's cells), the first lines of its source and the traceback are printed,
and the exit code is 1. nbclient and ipykernel come with ``pip install 'cairn[notebook]'``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from cairn.errors import CairnError
from cairn.notebook import STEP_ENV, extra, kernel, nbfile

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SOURCE_LINES = 3


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m cairn.notebook.step NOTEBOOK PARAMS.json EXECUTED.ipynb")
        return 2
    gone = extra.missing()
    if gone:
        print(f"cairn: running a notebook needs {', '.join(gone)}: {extra.HINT}")
        return 1
    import warnings

    warnings.filterwarnings("ignore", module="nbformat")  # old notebooks: cells without ids
    notebook, params, executed = (Path(a) for a in argv)
    try:
        data = nbfile.load(notebook)
    except CairnError as exc:
        print(f"cairn: {exc}")
        return 1
    values = json.loads(params.read_text(encoding="utf-8"))
    _kernel_env(Path.cwd())
    failed = run(data, values, Path.cwd(), executed)
    if failed:
        print(failed)  # the engine says where the executed copy is kept
        return 1
    print(f"cairn: executed {notebook.name}; the executed copy is {executed}")
    return 0


def run(data: dict[str, Any], values: dict[str, Any], work: Path, executed: Path) -> str:
    """Execute ``data`` with ``values`` injected, in ``work``; write the executed copy (also
    when a cell fails) and hand glued values to :func:`cairn.notebook.record`. Returns what
    went wrong, or ``""``."""
    import nbformat
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    # Through nbformat's reader: a saved notebook's sources are lists of lines, as the
    # client needs them joined (and an older minor version is upgraded).
    nb = nbformat.reads(json.dumps(nbfile.inject(data, values)), as_version=4)
    name = nbfile.kernel_of(data)
    try:
        _execute(nb, name, work)
    except (CellExecutionError, DeadKernelError) as exc:
        nbformat.write(nb, str(executed))
        return failure(nb, executed, exc)
    except _KernelNotStarted as exc:
        return f"cairn: the notebook's kernel {name!r} did not start: {exc} ({exc.hint})"
    nbformat.write(nb, str(executed))
    glued = scraps(nb)
    if glued:
        from cairn.notebook import record

        record(**glued)
    return ""


class _KernelNotStarted(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _execute(nb: Any, name: str, work: Path) -> None:
    """Run every cell of ``nb`` on kernel ``name``. An ipykernel talks over Unix sockets in a
    private folder (no TCP port, which it warns about), removed afterwards; other kernels
    keep Jupyter's default (not every kernel speaks IPC)."""
    import tempfile

    import nbclient
    from traitlets.config import Config

    with tempfile.TemporaryDirectory(prefix="cairn-kernel-") as sockets:
        ipc = {"transport": "ipc", "ip": f"{sockets}/k"}
        is_ipykernel = any("ipykernel" in part for part in kernel.command(name))
        client = nbclient.NotebookClient(
            nb,
            kernel_name=name,
            resources={"metadata": {"path": str(work)}},
            timeout=None,
            config=Config({"KernelManager": ipc if is_ipykernel else {}}),
        )
        _start(client, name)
        client.execute()


def _start(client: Any, name: str) -> None:
    """Start the kernel and connect to it before executing: nbclient leaves a clean-up
    behind that hangs at exit when its own start fails."""
    from jupyter_client.kernelspec import NoSuchKernel

    client.km = client.create_kernel_manager()
    try:
        client.start_new_kernel()
    except NoSuchKernel:
        hint = extra.kernel_hint(name)
        raise _KernelNotStarted("no kernel of that name is installed", hint) from None
    try:
        client.start_new_kernel_client()
    except RuntimeError as exc:  # "Kernel died before replying to kernel_info" (cleaned up)
        raise _KernelNotStarted(str(exc), extra.kernel_hint(name)) from None


SCRAP_TYPES = ("application/scrapbook.scrap.json+json", "application/scrapbook.scrap.text+json")


def scraps(nb: Any) -> dict[str, Any]:
    """Values glued with scrapbook (``sb.glue("name", value)``) in the executed cells: each
    output carrying a scrap's media type names it and holds its value."""
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for kind in SCRAP_TYPES:
                scrap = (output.get("data") or {}).get(kind)
                if isinstance(scrap, dict) and isinstance(scrap.get("name"), str):
                    found[scrap["name"]] = scrap.get("data")
    return found


def _kernel_env(work: Path) -> None:
    """What the kernel inherits: the step's folder (for :func:`cairn.notebook.record`) and
    cairn's own package on its path (any Python 3 kernel can import the helper)."""
    os.environ[STEP_ENV] = str(work)
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([*paths, package_root])


def failure(nb: Any, executed: Path, exc: Exception | None = None) -> str:
    """The failed cell: its number among the notebook's cells, its first lines, the error."""
    cells = [c for c in nb.cells if nbfile.INJECTED not in nbfile.tags(c)]
    for number, cell in enumerate(cells, 1):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            head = nbfile.source(cell).splitlines()[:SOURCE_LINES]
            trace = _ANSI.sub("", "\n".join(errors[0].get("traceback") or []))
            lines = [
                f"cairn: cell {number} of the notebook failed: "
                f"{errors[0].get('ename')}: {errors[0].get('evalue')}"
            ]
            lines += [f"  | {line}" for line in head]
            lines += [trace]
            return "\n".join(lines)
    return f"cairn: the notebook failed ({exc}); see its partly executed copy {executed.resolve()}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
