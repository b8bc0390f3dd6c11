"""The container engine: which one (``podman``, else ``docker``, or ``--engine``), building a
context and running its image. Commands are argument lists, never shell text; the engine's
own output streams to the terminal.

A run mounts the image's input read-only (``/cairn/input.json``) and an output folder
writable (``/cairn/out``), runs as the calling user (``--user UID:GID``) and passes
``--network`` through.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from cairn.errors import CairnError, InvalidInput, NotFound

ENGINES = ("podman", "docker")
_NETWORK_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


def find(wanted: str | None = None) -> str:
    """The engine's executable: ``wanted`` (``podman`` or ``docker``), else the first
    installed; a clear error when none is."""
    if wanted is not None and wanted not in ENGINES:
        raise InvalidInput(f"--engine={wanted} is not one of {', '.join(ENGINES)}")
    for name in (wanted,) if wanted else ENGINES:
        path = shutil.which(name)
        if path:
            return path
    raise NotFound(
        f"no container engine is installed ({wanted or ' or '.join(ENGINES)} not on PATH)",
        hint="install one (apt-get install podman runc), or build the context elsewhere: "
        "podman build -t NAME DIR",
    )


def check_network(network: str) -> str:
    if not _NETWORK_RE.fullmatch(network):
        raise InvalidInput(
            f"--network={network!r} is not a network name",
            hint="e.g. --network=none, --network=host",
        )
    return network


def build_command(engine: str, context: Path, tag: str) -> list[str]:
    return [engine, "build", "-t", tag, str(context)]


def run_command(engine: str, tag: str, inputs: Path, out: Path, network: str | None) -> list[str]:
    command = [engine, "run", "--rm", "--user", f"{os.getuid()}:{os.getgid()}"]
    if network:
        command += ["--network", check_network(network)]
    command += ["-v", f"{inputs}:/cairn/input.json:ro", "-v", f"{out}:/cairn/out:rw"]
    return [*command, tag]


def call(command: list[str], what: str) -> None:
    """Run an engine command; its failure as an error naming the command."""
    done = subprocess.run(command, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise CairnError(
            f"{what} failed (exit {done.returncode}): {' '.join(command)}",
            hint="the engine's output above names the failing step",
        )
