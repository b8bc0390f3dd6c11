"""Where cairn keeps its state: ``$CAIRN_HOME`` (default ``~/.cairn``) and the files in it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cairn.record import FrozenRecord, init

HOME_ENV = "CAIRN_HOME"
LOCAL_REPO_ALIAS = "local"
LOCAL_REPO_UID = "9a3280b14a4285c9"
BUILTIN_REPO_ALIAS = "builtin"
WORK_PREFIX = "run-"
"""The name prefix of a run's work folder in :attr:`Home.work_dir`."""
WORK_KEPT = ".cairn-kept"
"""A file in a work folder kept on purpose (a failed or ``--dirty`` run): never cleaned up."""


class Home(FrozenRecord):
    """The paths of one cairn home directory."""

    _fields = ("root",)
    __slots__ = _fields
    root: Path

    def __init__(self, root: Path) -> None:
        init(self, root)

    @classmethod
    def from_env(cls) -> Home:
        """The home ``$CAIRN_HOME`` names (default ``~/.cairn``); made when first written, and
        refused at once when a file stands where it or a folder above it should be."""
        value = os.environ.get(HOME_ENV)
        root = Path(value).expanduser() if value else Path.home() / ".cairn"
        _check_folder(root.absolute(), HOME_ENV if value else "the default home")
        return cls(root.absolute())

    @property
    def repos_file(self) -> Path:
        return self.root / "repos.json"

    @property
    def repos_lock(self) -> Path:
        return self.root / "repos.json.lock"

    @property
    def repos_dir(self) -> Path:
        return self.root / "repos"

    @property
    def local_repo(self) -> Path:
        return self.root / LOCAL_REPO_ALIAS

    @property
    def index_file(self) -> Path:
        return self.root / "index.sqlite"

    @property
    def work_dir(self) -> Path:
        """Where script runs get their work folders (``run-*``, see :mod:`cairn.staging`)."""
        return self.root / "work"


def _check_folder(root: Path, named_by: str) -> None:
    """Refuse a home that is a file, or lies below one (nothing could be made in it), and
    one this process may not read (another user's private folder: nothing could be found)."""
    from cairn.errors import InvalidInput

    for path in (root, *root.parents):
        try:
            is_dir = stat.S_ISDIR(os.stat(path).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError:
            raise _unreadable(root, named_by) from None  # a folder above may not be entered
        except OSError:
            return  # not ours to judge here: the first use says
        if is_dir and path == root and not os.access(root, os.R_OK | os.X_OK):
            raise _unreadable(root, named_by)
        if is_dir:
            return
        where = "is" if path == root else f"lies below {path}, which is"
        raise InvalidInput(
            f"cairn's home {root} ({named_by}) {where} a file, not a folder",
            hint=f"set {HOME_ENV} to a folder (it is made if missing), or move the file away",
        )


def _unreadable(root: Path, named_by: str) -> Exception:
    from cairn.errors import InvalidInput

    return InvalidInput(
        f"cairn's home {root} ({named_by}) cannot be read: permission denied",
        hint=f"set {HOME_ENV} to a folder of your own (it is made if missing), "
        "or ask its owner to let you read it",
    )


def may_write(path: Path) -> bool:
    """Whether this process may create or replace ``path`` (and files beside it): the file
    itself if it exists, and the nearest folder that exists on the way to it."""
    for at in (path, *path.parents):
        try:
            is_dir = stat.S_ISDIR(os.stat(at).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            return False
        if at == path and not is_dir:
            return os.access(at, os.W_OK) and os.access(at.parent, os.W_OK | os.X_OK)
        return is_dir and os.access(at, os.W_OK | os.X_OK)
    return False


def builtin_repo_path() -> Path:
    """The repository shipped inside the package."""
    return Path(__file__).resolve().parent / "builtin"
