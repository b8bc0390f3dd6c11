"""How the shim reaches cairn: directly in cairn's process, through ``CAIRN_PACKAGE_ROOT`` in a
native script's Python (appended to ``sys.path``, so it never shadows that Python's packages)."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace
from typing import Any


class CMArtifact(SimpleNamespace):
    """A found artifact as CM code sees it (``path``, ``meta``, ``repo_path``...)."""

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


def ensure_cairn() -> None:
    """Make ``import cairn`` work, or raise ImportError saying why it cannot."""
    try:
        import cairn
    except ImportError:
        root = os.environ.get("CAIRN_PACKAGE_ROOT", "")
        if not root or root in sys.path:
            raise
        sys.path.append(root)
        import cairn  # noqa: F401


def cairn_access(i: Any) -> dict[str, Any]:
    """``cairn.access(i)``, with found artifacts as CM's objects (see :func:`as_cm_artifact`);
    a script search leaves out built-in fallbacks (:mod:`cairn.compat.searches`)."""
    ensure_cairn()
    from cairn.compat.searches import access

    result = access(i)
    if isinstance(result.get("list"), list):
        result["list"] = [as_cm_artifact(a) for a in result["list"]]
    return result


def as_cm_artifact(found: Any) -> Any:
    """CM's artifact object: ``path`` and ``repo_path`` are strings, as CM code expects."""
    repo = getattr(found, "repo", None)
    if repo is None:
        return found
    return CMArtifact(
        path=str(found.path),
        meta=found.meta,
        original_meta=found.meta,
        repo_path=str(repo.path),
        repo_meta={"alias": repo.alias, "uid": repo.uid},
    )
