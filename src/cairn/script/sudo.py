"""MLCFlow's ``sudo_install``: a script that installs with ``sudo``, run without prompting.

A script whose meta says ``sudo_install: true`` runs ``sudo`` (typically through the
``SUDO`` env var its hook builds). With a terminal, ``sudo`` may ask for a password as
usual. Without one, cairn never lets it prompt (a prompt would block a pipeline, CI or a
sweep forever): it asks ``sudo -n true`` first, and

* when that succeeds (root, or a password-less rule), the script runs as it is;
* when ``sudo`` is missing or would need a password, the run stops before the script,
  saying what is not installed (the script) and why (``sudo`` cannot run without a password
  here), with what to do.

The same check applies when cairn itself runs as root: ``sudo -n true`` then succeeds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from cairn.errors import InvalidInput


def has_terminal() -> bool:
    """Whether a person could answer a password prompt (stdin is a terminal)."""
    try:
        return os.isatty(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def why_not(env_path: str | None = None) -> str | None:
    """Why ``sudo`` cannot run without prompting here (``None``: it can)."""
    sudo = shutil.which("sudo", path=env_path)
    if sudo is None:
        return "there is no sudo on the PATH"
    try:
        done = subprocess.run(
            [sudo, "-n", "true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"sudo -n true could not run ({exc})"
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        return "sudo needs a password" + (f" ({said[0]})" if said else "")
    return None


def check(script: str, env_path: str | None = None) -> None:
    """Stop a ``sudo_install`` script without a terminal when ``sudo`` would prompt."""
    if has_terminal():
        return
    reason = why_not(env_path)
    if reason is None:
        return
    raise InvalidInput(
        f"script {script} installs with sudo (sudo_install), and {reason} with no terminal "
        "to answer: nothing was installed",
        hint="run it from a terminal, allow password-less sudo for it, or install what it "
        "installs yourself",
    )
