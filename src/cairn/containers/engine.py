"""The container engine: which one (``podman``, else ``docker``, or ``--engine``), what it knows
of an image (digest, labels), building a context and running its image. Commands are argument
lists, never shell text; the engine's output is copied to stderr as it comes (so a JSON result
on stdout stays clean), and a failed build is named by its step.

A build passes secrets as secret mounts (``--secret id=ID,src=FILE`` or ``env=VAR``), never
as build arguments. A run mounts the input read-only (``/cairn/input.json``) and an output
folder writable (``/cairn/out``), runs as the calling user (``--user UID:GID``; rootless podman
also ``--userns=keep-id`` so the files it writes are the caller's), mounts file secrets
read-only at ``/run/secrets/ID`` and passes env secrets and ``--network`` through.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from cairn.errors import CairnError, InvalidInput, NotFound

ENGINES = ("podman", "docker")
_NETWORK_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_STEP_RE = re.compile(r"^(?:STEP |#\d+ \[(?:[\w.-]+ )?)\s*(\d+/\d+)\]?:? (.*)$")
_LAYER_RE = re.compile(r"^--> ([0-9a-f]{6,64})$")
BASE_RECIPE = ".ci/container-base.sh (docs/containers.md: a local Debian image, no registry)"


class BuildFailed(CairnError):
    """A build stopped at one of its steps."""


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


def inspect(engine: str, image: str) -> dict[str, Any] | None:
    """What the engine knows of a local ``image`` (its ``image inspect`` record), or None
    when it has no such image."""
    import json

    done = subprocess.run(
        [engine, "image", "inspect", image],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        return None
    found = json.loads(done.stdout or "[]")
    return found[0] if found and isinstance(found[0], dict) else None


def digest_of(record: dict[str, Any]) -> str | None:
    """The repository digest of an inspected image (``sha256:...``), when it has one."""
    for ref in record.get("RepoDigests") or ():
        if isinstance(ref, str) and "@sha256:" in ref:
            return ref.split("@", 1)[1]
    return None


def labels_of(record: dict[str, Any]) -> dict[str, str]:
    labels = (record.get("Config") or {}).get("Labels") or record.get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def require_base(engine: str, base: str) -> dict[str, Any]:
    """The inspected base image; a clear error saying how to get it when it is missing."""
    found = inspect(engine, base)
    if found is None:
        name = Path(engine).name
        raise NotFound(
            f"the base image {base} is not on this machine ({name} image inspect found none)",
            hint=f"get it with: {name} pull {base}; or, with no registry, make it locally: "
            f"{BASE_RECIPE}; or choose another with --base=IMAGE",
        )
    return found


def secret_args(secrets: dict[str, str]) -> list[str]:
    """``--secret id=ID,src=FILE`` / ``id=ID,env=VAR`` for each secret of a build."""
    args = []
    for ident, spec in sorted(secrets.items()):
        source = f"env={spec[4:]}" if spec.startswith("env:") else f"src={spec}"
        args += ["--secret", f"id={ident},{source}"]
    return args


def build(engine: str, context: Path, tag: str, secrets: dict[str, str]) -> None:
    """Build ``context`` as ``tag``; a failure names the step it stopped at."""
    command = [engine, "build", "-t", tag, *secret_args(secrets), str(context)]
    env = {**os.environ, "DOCKER_BUILDKIT": "1"} if Path(engine).name == "docker" else None
    code, step, layer = _stream(command, env)
    if code != 0:
        raise _build_failed(command, code, step, layer)


def _build_failed(command: list[str], code: int, step: str | None, layer: str | None) -> Any:
    where = f" at step {step}" if step else ""
    retry = " ".join(command)
    look = f"; look inside the last good layer: {Path(command[0]).name} run --rm -it {layer} sh"
    return BuildFailed(
        f"building the image failed{where} (exit {code})",
        hint=f"the engine's output above says why; build again to retry: {retry}"
        + (look if layer else ""),
    )


def run_command(
    engine: str, tag: str, inputs: Path, out: Path, network: str | None, **more: Any
) -> list[str]:
    """The ``run`` of an image: ``mounts`` (host, container, mode) and ``secrets`` in ``more``."""
    command = [engine, "run", "--rm", "--user", f"{os.getuid()}:{os.getgid()}"]
    if Path(engine).name == "podman" and os.getuid() != 0:
        command.append("--userns=keep-id")
    if network:
        command += ["--network", check_network(network)]
    command += ["-v", f"{inputs}:/cairn/input.json:ro", "-v", f"{out}:/cairn/out:rw"]
    for host, inside, mode in more.get("mounts", ()):
        command += ["-v", f"{host}:{inside}:{mode}"]
    for ident, spec in sorted(dict(more.get("secrets", {})).items()):
        if spec.startswith("env:"):
            command += ["--env", spec[4:]]
        else:
            command += ["-v", f"{spec}:/run/secrets/{ident}:ro"]
    return [*command, tag]


def status(command: list[str]) -> int:
    """Run an engine command (its output to stderr); its exit code."""
    return _stream(command, None)[0]


def _stream(command: list[str], env: dict[str, str] | None) -> tuple[int, str | None, str | None]:
    """Run ``command``, its output copied to stderr; its exit code, the last step it
    started and the last layer it completed (as the engine printed them)."""
    step = layer = None
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stderr.write(line)
            started = _STEP_RE.match(line.strip())
            if started:
                step = f"{started.group(1)}: {started.group(2)}"
            done = _LAYER_RE.match(line.strip())
            if done:
                layer = done.group(1)
    return proc.returncode, step, layer
