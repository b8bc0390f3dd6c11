"""The Git state of a repository a run used: its commit and whether its work tree is dirty.

The commit is read from ``.git`` itself (``HEAD``, the ref it names, ``packed-refs``) without
starting ``git``; only the dirty flag asks ``git status`` (tracked files only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cairn.errors import CairnError


def state(path: Path) -> dict[str, Any] | None:
    """``{commit, dirty}`` of the Git work tree at ``path``, or None when it is not one."""
    git_dir = _git_dir(path / ".git")
    if git_dir is None:
        return None
    commit = head_commit(git_dir)
    return {"commit": commit, "dirty": _dirty(path) if commit else None}


def _git_dir(dot_git: Path) -> Path | None:
    """``.git`` itself, or the folder a ``.git`` file names (worktrees, submodules)."""
    if dot_git.is_dir():
        return dot_git
    try:
        text = dot_git.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text[7:].strip())
    return target if target.is_absolute() else (dot_git.parent / target).resolve()


def head_commit(git_dir: Path) -> str | None:
    """The commit ``HEAD`` points at, read from the files of ``git_dir``."""
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not head.startswith("ref: "):
        return head or None
    ref = head[5:].strip()
    common = _common_dir(git_dir)
    try:
        return (common / ref).read_text(encoding="utf-8").strip() or None
    except OSError:
        return _packed(common, ref)


def _common_dir(git_dir: Path) -> Path:
    """Where a worktree's refs live (its ``commondir``), else ``git_dir`` itself."""
    try:
        text = (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        return git_dir
    target = Path(text)
    return target if target.is_absolute() else (git_dir / target).resolve()


def _packed(git_dir: Path, ref: str) -> str | None:
    try:
        lines = (git_dir / "packed-refs").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1] == ref:
            return parts[0]
    return None


def _dirty(path: Path) -> bool | None:
    from cairn.store import git

    try:
        return bool(git.run(["status", "--porcelain", "--untracked-files=no"], cwd=path))
    except CairnError:
        return None
