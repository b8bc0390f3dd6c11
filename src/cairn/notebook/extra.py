"""Whether the ``notebook`` extra (nbclient, nbformat, ipykernel) can be imported here.

Looked up with :func:`importlib.util.find_spec`, so nothing is imported: the check costs
a few file look-ups, and only a notebook step or ``cairn run notebook`` makes it.
"""

from __future__ import annotations

import importlib.util

from cairn.errors import InvalidInput

HINT = "pip install 'cairn[notebook]'"
RUNNER = ("nbclient", "nbformat")
"""What the process that executes a notebook imports."""
KERNEL = "ipykernel"
"""What the ``python3`` kernel runs on. Not required up front: a ``python3`` kernel
registered from another environment brings its own, and a notebook may name another
kernel; :func:`kernel_hint` explains a kernel that did not start."""


def found(name: str) -> bool:
    """Whether module ``name`` can be imported (a finder that refuses it counts as no)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing() -> list[str]:
    """The packages that execute a notebook, when some are not installed."""
    return [name for name in RUNNER if not found(name)]


def require(what: str) -> None:
    """Raise :class:`InvalidInput` naming what is missing and how to install it."""
    gone = missing()
    if gone:
        verb = "is" if len(gone) == 1 else "are"
        raise InvalidInput(
            f"{what} needs a Jupyter kernel runner: {', '.join(gone)} {verb} not installed",
            hint=HINT,
        )


def kernel_hint(kernel: str) -> str:
    """What to do about kernel ``kernel`` that did not start."""
    if kernel == "python3" and not found(KERNEL):
        return f"{KERNEL} is not installed: {HINT}"
    return "install that kernel, or pick another in the notebook (Kernel > Change kernel)"
