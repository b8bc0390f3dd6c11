"""Git, always run with argument lists (never a shell string), never prompting.

URLs and refs are validated before git sees them: an option-like value (``--upload-pack=...``),
shell syntax (``;``, ``$()``, backticks), whitespace, or a ``transport::`` helper URL is refused
with a clear error. ``--`` separates options from URLs and paths in every command.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from cairn.errors import CairnError, InvalidInput, NotFound

_URL_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP_RE = re.compile(r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:[A-Za-z0-9_./~@+-]+")
_FORBIDDEN = set(";|&$`<>(){}[]'\"\\!*?#\n\r\t ")
_REF_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@+-]*")
TAIL_LINES = 8


def check_url(url: str) -> str:
    """Return ``url`` if it is a plain Git URL or an existing local path, else raise."""
    if not url or url.startswith("-"):
        raise InvalidInput(f"refusing Git URL {url!r}: it looks like an option")
    bad = sorted(set(url) & _FORBIDDEN)
    if bad:
        raise InvalidInput(f"refusing Git URL {url!r}: it contains {''.join(bad)!r}")
    if "::" in url:
        raise InvalidInput(f"refusing Git URL {url!r}: transport helpers ('::') are not allowed")
    if url.startswith(_URL_SCHEMES) or _SCP_RE.fullmatch(url):
        return url
    if Path(url).expanduser().exists():
        return str(Path(url).expanduser().absolute())
    raise InvalidInput(
        f"unknown Git URL {url!r}",
        hint="use https://, ssh://, file://, git@host:path or an existing local path",
    )


def check_ref(ref: str, what: str = "branch") -> str:
    """Return ``ref`` if it is a safe branch, tag or commit name, else raise."""
    if not _REF_RE.fullmatch(ref) or ".." in ref or ref.endswith((".lock", "/", ".")):
        raise InvalidInput(f"refusing {what} {ref!r}: not a valid Git ref name")
    return ref


def _env() -> dict[str, str]:
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}


def run(args: list[str], cwd: Path | None = None, *, progress: bool = False) -> str:
    """Run ``git ARGS`` and return its stdout; a failure raises with git's last lines."""
    command = ["git", "-c", "protocol.ext.allow=never", *args]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None if progress else subprocess.PIPE,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise NotFound("git is not installed", hint="install git and retry") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or "").strip().splitlines()[-TAIL_LINES:])
        raise CairnError(f"git {args[0]} failed (exit {done.returncode}): {tail or 'no output'}")
    return done.stdout.strip()


def clone(
    url: str,
    dest: Path,
    *,
    branch: str | None = None,
    depth: int | None = None,
    progress: bool = False,
) -> None:
    """Clone ``url`` into the new directory ``dest``."""
    args = ["clone"]
    if progress:
        args.append("--progress")
    if branch:
        args += ["--branch", check_ref(branch)]
    if depth:
        args += ["--depth", str(int(depth))]
    run([*args, "--", check_url(url), str(dest)], progress=progress)


def checkout(path: Path, ref: str) -> None:
    run(["checkout", "--quiet", check_ref(ref, "checkout"), "--"], cwd=path)


def fetch(path: Path) -> None:
    run(["fetch", "--quiet", "--tags", "origin"], cwd=path)


def pull(path: Path) -> None:
    run(["pull", "--quiet", "--ff-only"], cwd=path)


def is_git(path: Path) -> bool:
    return (path / ".git").exists()


def head(path: Path) -> str | None:
    """The checked-out commit of the work tree at ``path`` (None if it is not a Git clone)."""
    if not is_git(path):
        return None
    try:
        return run(["rev-parse", "HEAD"], cwd=path)
    except CairnError:
        return None


def origin(path: Path) -> str | None:
    """The ``origin`` remote URL of the clone at ``path``."""
    if not is_git(path):
        return None
    try:
        return run(["config", "--get", "remote.origin.url"], cwd=path) or None
    except CairnError:
        return None


def detached(path: Path) -> bool:
    """Whether the clone is on a detached HEAD (a pinned commit or tag)."""
    try:
        run(["symbolic-ref", "--quiet", "HEAD"], cwd=path)
    except CairnError:
        return True
    return False
