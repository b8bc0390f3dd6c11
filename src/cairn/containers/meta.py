"""A script's ``docker`` meta as the image uses it: merged over the chosen variations, and the
two keys that become mounts of a run.

Merging: the script's ``docker`` first, then each chosen variation's ``docker`` in the order
the variations were resolved: a mapping is merged key by key, a list is extended (without
repeats), any other value replaces the one before.

``input_paths``
    names of inputs holding a host path: each such input that names an existing file or
    folder is mounted read-only at ``/cairn/inputs/NAME/BASENAME`` and the input given to the
    script is that path inside the container;
``mounts``
    ``HOST:CONTAINER[:ro|rw]`` (default ``ro``); ``${{ NAME }}`` in either part is taken from
    the run's ``--env.NAME``; both parts must then be absolute paths without ``:`` or ``,``,
    and the host part must exist. A mount naming a value the run does not give is left out
    with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cairn.errors import InvalidInput

_TEMPLATE = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_MODES = ("ro", "rw")
Mount = tuple[str, str, str]
"""host path, path inside the container, ``ro`` or ``rw``."""


def merged(meta: Mapping[str, Any], variations: list[str]) -> dict[str, Any]:
    """The ``docker`` meta of a script run with ``variations``."""
    docker = _mapping(meta.get("docker"))
    found = _mapping(meta.get("variations"))
    for name in variations:
        docker = _merge(docker, _mapping(_mapping(found.get(name)).get("docker")))
    return docker


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for key, value in new.items():
        before = out.get(key)
        if isinstance(before, Mapping) and isinstance(value, Mapping):
            out[key] = _merge(dict(before), dict(value))
        elif isinstance(before, list) and isinstance(value, list):
            out[key] = before + [v for v in value if v not in before]
        else:
            out[key] = value
    return out


def input_mounts(
    docker: Mapping[str, Any], inputs: dict[str, Any]
) -> tuple[list[Mount], dict[str, Any]]:
    """The read-only mounts of ``input_paths`` and the inputs with their paths rewritten."""
    names = docker.get("input_paths") or []
    if not isinstance(names, list):
        raise InvalidInput("the script's docker.input_paths must be a list of input names")
    mounts: list[Mount] = []
    rewritten = dict(inputs)
    for name in names:
        value = inputs.get(str(name))
        if not isinstance(value, str) or not value or not Path(value).exists():
            continue
        host = Path(value).expanduser().resolve()
        inside = f"/cairn/inputs/{_safe(str(name))}/{_safe(host.name) or 'root'}"
        mounts.append((_checked(str(host), f"input {name}"), inside, "ro"))
        rewritten[str(name)] = inside
    return mounts, rewritten


def _safe(word: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", word)


def meta_mounts(docker: Mapping[str, Any], env: Mapping[str, Any]) -> list[Mount]:
    """The meta's ``mounts`` that can be made (templates filled from ``env``)."""
    from cairn import report

    items = docker.get("mounts") or []
    if not isinstance(items, list):
        raise InvalidInput("the script's docker.mounts must be a list of HOST:CONTAINER")
    out: list[Mount] = []
    for item in items:
        missing = [n for n in _TEMPLATE.findall(str(item)) if env.get(n) in (None, "")]
        if missing:
            report.warn(f"docker.mounts {item!r} left out: no --env.{missing[0]} given")
            continue
        out.append(_mount(_TEMPLATE.sub(lambda m: str(env[m.group(1)]), str(item)), str(item)))
    return out


def _mount(text: str, given: str) -> Mount:
    parts = text.split(":")
    mode = parts.pop() if len(parts) == 3 and parts[-1] in _MODES else "ro"
    if len(parts) != 2:
        raise InvalidInput(
            f"the script's docker.mounts: {given!r} is not HOST:CONTAINER[:ro|rw]",
            hint="e.g. /data:/data:ro",
        )
    host, inside = (_checked(p, f"docker.mounts {given!r}") for p in parts)
    if not Path(host).exists():
        raise InvalidInput(
            f"the script's docker.mounts {given!r}: {host} does not exist on this machine",
            hint="create it, or give the value its template names with --env.NAME=PATH",
        )
    return host, inside, mode


def _checked(path: str, where: str) -> str:
    if not path.startswith("/") or any(c in path for c in ":,\n"):
        raise InvalidInput(
            f"{where}: {path!r} is not an absolute path without ':' or ','",
            hint="mount paths must be absolute and plain",
        )
    return path
