"""cairn: one searchable database of reusable artifacts and portable automation recipes.

The public surface is re-exported here and imported lazily, so ``import cairn`` stays cheap::

    import cairn
    r = cairn.access({"action": "find", "automation": "dataset", "tags": "images"})
    for artifact in cairn.find("dataset", tags=["images"]):
        print(artifact.path, artifact.meta)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "Ambiguous",
    "Artifact",
    "CairnError",
    "Experiment",
    "InvalidInput",
    "NotFound",
    "__version__",
    "access",
    "add",
    "find",
    "load",
    "remove",
    "update",
]

_LAZY = {
    "access": "cairn.api",
    "add": "cairn.api",
    "Experiment": "cairn.api",
    "find": "cairn.api",
    "load": "cairn.api",
    "remove": "cairn.api",
    "update": "cairn.api",
    "Artifact": "cairn.store.artifact",
    "CairnError": "cairn.errors",
    "Ambiguous": "cairn.errors",
    "AlreadyExists": "cairn.errors",
    "InvalidInput": "cairn.errors",
    "NotFound": "cairn.errors",
}

# `typing` is not imported at start-up; mypy treats MYPY as true.
MYPY = False
if MYPY:
    from cairn.api import Experiment, access, add, find, load, remove, update
    from cairn.errors import AlreadyExists, Ambiguous, CairnError, InvalidInput, NotFound
    from cairn.store.artifact import Artifact


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cairn' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
