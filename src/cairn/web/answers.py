"""Running one read-only action for the web: the CLI's input dict through ``dispatch.run``,
its data as the document ``--out=json`` prints, errors as JSON with an HTTP status.

Only the actions in :data:`READ_ONLY` are ever run, so no request can change an artifact.
Status codes: 400 bad input, 403 an action not served, 404 not found (artifact, automation,
file), 409 ambiguous, 500 anything else (a broken meta, an unreadable index, a bug).
"""

from __future__ import annotations

import json
from typing import Any

from cairn import errors, report

READ_ONLY = frozenset({("find", None), ("load", None), ("list", "repo"), ("info", "repo")}) | {
    ("show", "experiment"),
    ("pareto", "experiment"),
}
"""(action, automation) pairs the server runs; ``None`` means any automation."""

_STATUS = (
    (errors.Ambiguous, 409),
    (errors.AmbiguousAutomation, 409),
    (errors.NotFound, 404),
    (errors.AutomationNotFound, 404),
    (errors.InvalidInput, 400),
    (errors.Refused, 403),
)


def run(i: dict[str, Any]) -> dict[str, Any]:
    """The JSON document ``cairn ... --out=json`` prints for ``i`` (errors raise)."""
    from cairn import dispatch

    action, automation = i["action"], i.get("automation")
    if (action, None) not in READ_ONLY and (action, automation) not in READ_ONLY:
        raise errors.Refused(f"'{action} {automation}' is not served: the server is read-only")
    reporter = report.Reporter()
    with report.using(reporter):
        outcome = dispatch.run({**i, "out": "json"})
    document: dict[str, Any] = {"return": 0, **outcome.data}
    if reporter.warnings:
        document["warnings"] = list(reporter.warnings)
    answer: dict[str, Any] = plain(document)
    return answer


def plain(value: Any) -> Any:
    """``value`` as JSON data (records through their ``to_json``, anything else as text)."""
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    return to_json() if callable(to_json) else str(value)


def status_of(exc: Exception) -> int:
    """The HTTP status of a failure."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def failure(exc: Exception) -> tuple[int, dict[str, Any]]:
    """The HTTP status and the ``{"return": code, "error": ...}`` document of a failure."""
    if isinstance(exc, errors.CairnError):
        return status_of(exc), {"return": exc.code, "error": str(exc)}
    if isinstance(exc, OSError):
        from cairn.errors import describe_os_error

        return 500, {"return": 1, "error": describe_os_error(exc)}
    return 500, {"return": errors.INTERNAL_ERROR, "error": errors.internal_error_message(exc)}
