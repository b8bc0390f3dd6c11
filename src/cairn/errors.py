"""The one exception hierarchy of cairn.

Every failure a user can cause is a :class:`CairnError` subclass carrying a stable
``code`` -- the CM-compatible ``return`` value of the dict API and the exit code of the
CLI. Codes are only turned into dicts or exit statuses at the edges (``api``, ``cli``).
Any other exception is a bug in cairn: the edges report it with :data:`INTERNAL_ERROR`.
"""

from __future__ import annotations

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from collections.abc import Iterable

CM_CODES = frozenset({1, 2, 4, 8, 16})
"""The failure codes of CM's ``return`` that keep their meaning as cairn codes."""

INTERNAL_ERROR = 3
"""The code of an unexpected exception (a bug in cairn), distinct from every user error."""


def internal_error_message(exc: Exception) -> str:
    """The one line an edge reports for an unexpected exception."""
    return f"internal error: {type(exc).__name__}: {exc}"


def failure_code(returned: int) -> int:
    """The code of a failure reported as a non-zero ``return``: one of :data:`CM_CODES` is
    kept; any other (negative, 3, or one an exit status would take modulo 256) is 1."""
    return returned if returned in CM_CODES else 1


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.75) -> str:
    """``; did you mean find?`` for the choice closest to a misspelt ``word``, or ``""``
    (also when ``word`` is itself one of ``choices``: the mistake is elsewhere)."""
    import difflib  # only on error paths

    names = sorted(set(choices))
    if word in names:
        return ""
    close = difflib.get_close_matches(word, names, n=1, cutoff=cutoff)
    return f"; did you mean {close[0]}?" if close else ""


class CairnError(Exception):
    """Base of every error cairn reports to a user (code 1: generic failure)."""

    code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.located = False
        """Whether the message already says where (e.g. in a script's dependency tree)."""
        self.result: dict[str, object] = {}
        """Keys the dict API returns beside ``return`` and ``error`` (a failed run's record
        and, when asked, its output)."""

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class InvalidInput(CairnError):
    """A flag, name, selector or value given by the user is not acceptable."""


class InvalidName(InvalidInput):
    """An alias, uid or identifier is malformed or unsafe."""


class MetaError(CairnError):
    """A meta file (``_cm.yaml``, ``_cm.json``, ``cmr.yaml``) cannot be read or is invalid."""


class Ambiguous(CairnError):
    """More than one artifact matched where exactly one is needed (CM returns 1)."""


class Refused(CairnError):
    """A destructive or unsafe action was refused (missing ``-f``, no selector, ...)."""


class AmbiguousAutomation(CairnError):
    """Several automations matched one name (CM returns 2)."""

    code = 2


class AutomationNotFound(CairnError):
    """The automation or the action does not exist (CM returns 4)."""

    code = 4


class ActionNotFound(AutomationNotFound):
    """The automation exists but has no such action."""


class AlreadyExists(CairnError):
    """The artifact, repository or file to create is already there (CM returns 8)."""

    code = 8


class NotFound(CairnError):
    """An artifact, repository or file does not exist (CM returns 16)."""

    code = 16


class Busy(CairnError):
    """A lock another process holds did not come free in time."""


class DownloadFailed(CairnError):
    """A URL could not be fetched, or its bytes did not match the expected checksum."""


class ReportedFailure(CairnError):
    """Code cairn runs (a ``customize.py`` hook, a repository automation's action) returned
    a non-zero ``return``; the code is :func:`failure_code` of it."""

    def __init__(self, message: str, returned: int) -> None:
        code = failure_code(returned)
        if code != returned:
            message = f"{message} (return {returned}, reported as {code})"
        super().__init__(message)
        self.code = code


STAGING_PREFIX = ".cairn-tmp-"
"""The name prefix of cairn's hidden staging folders (never shown to a user as a place)."""

_NOT_YOURS = (
    "you may not change it: fix its permissions, or work on a copy you own (in the 'local' "
    "repository, or with CAIRN_HOME set to a folder of your own)"
)
_OS_HINTS = {
    "ENOSPC": "the disk is full: free some space, then retry",
    "EDQUOT": "the disk quota is used up: free some space, then retry",
    "EFBIG": "a file grew past a size limit (the file system's, or `ulimit -f`): "
    "raise the limit or free space, then retry",
    "EACCES": _NOT_YOURS,
    "EPERM": _NOT_YOURS,
    "EROFS": "its file system is read-only: work on a writable copy (in the 'local' "
    "repository, or with CAIRN_HOME set to a writable folder)",
    "ENAMETOOLONG": "a file name is too long for the file system: use a shorter one",
    "ENOTDIR": "a part of the path is a file where a folder is needed",
    "EISDIR": "a folder is where a file is needed",
    "EEXIST": "something already stands where a folder or file is to be made: move it away",
}


def os_error_hint(exc: OSError) -> str:
    """What to do about a failed file operation, by its ``errno`` (empty when unknown)."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    return _OS_HINTS.get(name, "")


def shown_path(filename: object) -> str:
    """A path for a message: one inside a staging folder is shown as the folder it was
    staged in (staging folders are cairn's own and vanish; the user knows the other)."""
    text = str(filename)
    parts = text.split("/")
    for number, part in enumerate(parts):
        if part.startswith(STAGING_PREFIX):
            return "/".join(parts[:number]) or "/"
    return text


def describe_os_error(exc: OSError) -> str:
    """One line for a failed file operation: what failed, on which file, what to do."""
    what = exc.strerror or str(exc)
    line = f"{what}: {shown_path(exc.filename)}" if exc.filename else what
    hint = os_error_hint(exc)
    return f"{line} ({hint})" if hint else line


def os_error(exc: OSError, doing: str, path: object) -> CairnError:
    """``exc`` as a user error: ``cannot DOING PATH: reason`` (``path`` is the user's file,
    never a temporary one) with a hint on what to do."""
    reason = exc.strerror or str(exc)
    return CairnError(f"cannot {doing} {shown_path(path)}: {reason}", hint=os_error_hint(exc))
