"""Git, always run with argument lists (never a shell string), never prompting.

URLs and refs are validated before git sees them: an option-like value (``--upload-pack=...``),
shell syntax (``;``, ``$()``, backticks), whitespace, or a ``transport::`` helper URL is refused
with a clear error. ``--`` separates options from URLs and paths in every command.

Credentials in a URL (``https://user:TOKEN@host/x.git``) are never stored, printed or put on a
command line: :func:`clone` gives git the URL without them, so ``remote.origin.url`` holds none,
and passes them for that one command as an ``Authorization: Basic`` ``http.extraHeader`` through
git's ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` environment (git >= 2.31),
which only the same user can read, unlike a command line that ``ps`` shows everyone. Every URL
shown or recorded goes through :func:`redact` (``https://***@host/x.git``), and git's own error
output through :func:`redact_text`. Later fetches use the stored URL and git's usual credential
helpers.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

from cairn.errors import CairnError, InvalidInput, NotFound

_URL_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP_RE = re.compile(r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:[A-Za-z0-9_./~@+-]+")
_FORBIDDEN = set(";|&$`<>(){}[]'\"\\!*?#\n\r\t ")
_REF_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@+-]*")
TAIL_LINES = 8
REDACTED = "***"
"""What :func:`redact` shows instead of a URL's credentials; as input it means "none"."""
_USERINFO_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^@/\s'\"]*)@")


def _is_secret(scheme: str, userinfo: str) -> bool:
    """Whether a URL's userinfo may be a credential: any over HTTP(S), else a password."""
    if userinfo == REDACTED:
        return False
    return scheme.lower().startswith(("http://", "https://")) or ":" in userinfo


def redact_text(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""

    def hide(match: re.Match[str]) -> str:
        scheme, userinfo = match["scheme"], match["userinfo"]
        return f"{scheme}{REDACTED if _is_secret(scheme, userinfo) else userinfo}@"

    return _USERINFO_RE.sub(hide, text)


def redact(url: str) -> str:
    """``url`` fit to show or record: ``http://user:TOKEN@host/x`` -> ``http://***@host/x``."""
    return redact_text(url)


def split_credentials(url: str) -> tuple[str, str | None]:
    """``url`` without its credentials, and the HTTP(S) ``user:password`` (None if none).

    A redacted ``***`` userinfo is dropped; an ssh/git URL keeps its user, never a password.
    """
    match = _USERINFO_RE.match(url)
    if match is None or not _is_secret(match["scheme"], match["userinfo"]):
        if match is not None and match["userinfo"] == REDACTED:
            return match["scheme"] + url[match.end() :], None
        return url, None
    scheme, userinfo, rest = match["scheme"], match["userinfo"], url[match.end() :]
    if scheme.lower().startswith(("http://", "https://")):
        return scheme + rest, userinfo
    return f"{scheme}{userinfo.split(':', 1)[0]}@{rest}", None


def check_url(url: str) -> str:
    """Return ``url`` if it is a plain Git URL or an existing local path, else raise."""
    if not url or url.startswith("-"):
        raise InvalidInput(f"refusing Git URL {redact(url)!r}: it looks like an option")
    bad = sorted(set(url) & _FORBIDDEN)
    if bad:
        raise InvalidInput(f"refusing Git URL {redact(url)!r}: it contains {''.join(bad)!r}")
    if "::" in url:
        raise InvalidInput(
            f"refusing Git URL {redact(url)!r}: transport helpers ('::') are not allowed"
        )
    if url.startswith(_URL_SCHEMES) or _SCP_RE.fullmatch(url):
        return url
    if Path(url).expanduser().exists():
        return str(Path(url).expanduser().absolute())
    raise InvalidInput(
        f"unknown Git URL {redact(url)!r}",
        hint="use https://, ssh://, file://, git@host:path or an existing local path",
    )


def check_ref(ref: str, what: str = "branch") -> str:
    """Return ``ref`` if it is a safe branch, tag or commit name, else raise."""
    if not _REF_RE.fullmatch(ref) or ".." in ref or ref.endswith((".lock", "/", ".")):
        raise InvalidInput(f"refusing {what} {ref!r}: not a valid Git ref name")
    return ref


def _env(credentials: str | None = None) -> dict[str, str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    if credentials:
        env.update(_auth_header_config(env.get("GIT_CONFIG_COUNT", ""), credentials))
    return env


def _auth_header_config(count: str, credentials: str) -> dict[str, str]:
    """Environment adding an ``http.extraHeader`` with ``user:password`` after the caller's
    own ``GIT_CONFIG_*`` entries (git percent-decodes URL userinfo; so does this)."""
    user, _, password = credentials.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    n = int(count) if count.isdigit() else 0
    return {
        "GIT_CONFIG_COUNT": str(n + 1),
        f"GIT_CONFIG_KEY_{n}": "http.extraHeader",
        f"GIT_CONFIG_VALUE_{n}": f"Authorization: Basic {token}",
    }


def run(
    args: list[str],
    cwd: Path | None = None,
    *,
    progress: bool = False,
    credentials: str | None = None,
) -> str:
    """Run ``git ARGS`` and return its stdout; a failure raises with git's last lines.

    ``credentials`` (``user:password``) go to the server in a header, never on the command line.
    """
    command = ["git", "-c", "protocol.ext.allow=never", *args]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=_env(credentials),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None if progress else subprocess.PIPE,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise NotFound("git is not installed", hint="install git and retry") from exc
    if done.returncode != 0:
        tail = "\n".join(redact_text(done.stderr or "").strip().splitlines()[-TAIL_LINES:])
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
    """Clone ``url`` into the new directory ``dest``; its credentials are used, not stored."""
    args = ["clone"]
    if progress:
        args.append("--progress")
    if branch:
        args += ["--branch", check_ref(branch)]
    if depth:
        args += ["--depth", str(int(depth))]
    plain, credentials = split_credentials(check_url(url))
    run([*args, "--", plain, str(dest)], progress=progress, credentials=credentials)


def checkout(path: Path, ref: str) -> None:
    run(["checkout", "--quiet", check_ref(ref, "checkout"), "--"], cwd=path)


def fetch(path: Path, credentials: str | None = None) -> None:
    run(["fetch", "--quiet", "--tags", "origin"], cwd=path, credentials=credentials)


def pull(path: Path, credentials: str | None = None) -> None:
    run(["pull", "--quiet", "--ff-only"], cwd=path, credentials=credentials)


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
