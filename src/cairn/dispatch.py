"""From a CM input dict to an action's :class:`Outcome`: the one path the CLI and API share."""

from __future__ import annotations

from cairn import report
from cairn.automations.contract import ActionSpec, Call, Outcome
from cairn.errors import ActionNotFound, AutomationNotFound, InvalidInput, did_you_mean
from cairn.record import FrozenRecord, init

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from collections.abc import Callable
    from typing import Any, NoReturn


class Request(FrozenRecord):
    """A normalised CM input: action, automation, artifacts and the remaining flags."""

    _fields = ("action", "automation", "artifacts", "raw")
    __slots__ = _fields
    action: str
    automation: str
    artifacts: list[str]
    raw: dict[str, Any]

    def __init__(
        self, action: str, automation: str, artifacts: list[str], raw: dict[str, Any]
    ) -> None:
        init(self, action, automation, artifacts, raw)

    @classmethod
    def from_input(cls, i: dict[str, Any]) -> Request:
        check_data(i, "input")
        _check_env(i.get("env"))
        action = _word(i, "action")
        automation = _word(i, "automation")
        return cls(action, automation, _artifacts(i), i)


SCALARS = (str, int, float, bool, type(None))
"""What a leaf of an input may be: JSON's scalars (and the dates a YAML ``@file`` holds)."""
ENV_SCALARS = (str, int, float, bool)


def check_data(value: Any, where: str) -> None:
    """Refuse a value that is not JSON-like data (dicts with string keys, lists, scalars),
    naming where it is (``meta.x``, ``env key 5``): such a value would crash an action."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{where} key {key!r} must be a string")
            check_data(item, key if where == "input" else f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_data(item, f"{where}[{index}]")
    elif not isinstance(value, SCALARS) and not _is_date(value):
        raise InvalidInput(
            f"{where} must be JSON-like data (a string, number, boolean, null, list or dict),"
            f" not {type(value).__name__}"
        )


def _is_date(value: Any) -> bool:
    import datetime  # only for a leaf that is no JSON scalar: it is not needed at start-up

    return isinstance(value, datetime.date)


def _check_env(env: Any) -> None:
    """An ``env`` value is a string, a number, a boolean or a list of those."""
    if not isinstance(env, dict):
        return  # a wrong type is the action's flag error
    for key, value in env.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(item, ENV_SCALARS) for item in items):
            raise InvalidInput(
                f"env value of {key!r} must be a string, a number, a boolean or a list of those,"
                f" not {value!r}"
            )


def _artifacts(i: dict[str, Any]) -> list[str]:
    """CM's ``artifact`` plus the extra names in ``artifacts`` (a full list is accepted too)."""
    first = i.get("artifact")
    extra = i.get("artifacts") or []
    if not isinstance(extra, list) or not all(isinstance(a, str) for a in extra):
        raise InvalidInput(f"'artifacts' must be a list of names, not {extra!r}")
    if first is not None and not isinstance(first, str):
        raise InvalidInput(f"'artifact' must be a name, not {first!r}")
    if not first or (extra and extra[0] == first):
        return list(extra)
    return [first, *extra]


def _word(i: dict[str, Any], key: str) -> str:
    value = i.get(key) or ""
    if not isinstance(value, str):
        raise InvalidInput(f"{key!r} must be a string, not {value!r}")
    return value.strip()


def spec_for(request: Request) -> tuple[Any, ActionSpec]:
    """Resolve the automation class and action spec for ``request``."""
    from cairn.automations import registry

    if not request.automation:
        _no_automation(request.action)
    kind, cls = registry.resolve(request.automation)
    return (kind, cls), cls.spec(request.action, request.automation)


_OWN_COMMANDS = ("version", "reindex", "daemon", "serve", "help")
"""The commands that take no automation (``help`` is the command line's)."""


def _no_automation(action: str) -> NoReturn:
    """Explain what is missing when no automation is named."""
    from cairn.automations import registry

    if not action:
        raise ActionNotFound("no action given", hint="e.g. cairn find dataset; see: cairn help")
    known = {n for cls in registry.listing().values() for n in cls.actions()}
    if action.replace("-", "_") not in known:
        guess = did_you_mean(action.replace("-", "_"), known | set(_OWN_COMMANDS))
        raise ActionNotFound(f"unknown action {action!r}{guess}", hint="see: cairn help")
    having = [
        n for n, cls in registry.listing().items() if action.replace("-", "_") in cls.actions()
    ]
    example = "dataset" if "*" in having else having[0]  # `run` is script's, not every kind's
    raise AutomationNotFound(
        f"action {action!r} needs an automation",
        hint=f"e.g. cairn {action} {example}; see: cairn help",
    )


def _unknown_flag(key: str, spec: ActionSpec, automation: str) -> str:
    where = f"unknown flag --{key} for '{spec.name} {automation}'"
    if any(f.name == "meta" for f in spec.flags):
        return f"{where}: meta keys are given as --meta.{key}=VALUE or under 'meta:' in an @file"
    return f"{where} (see --help)"


def _reindex() -> Outcome:
    """``cairn reindex``: rebuild the artifact index of every repository from scratch."""
    import time

    from cairn.store.catalog import Catalog

    start = time.perf_counter()
    catalog = Catalog.open()
    removed = [str(path) for path in catalog.clean_leftovers()]
    valid, broken = catalog.reindex()
    seconds = round(time.perf_counter() - start, 3)
    lines = [f"Removed {path} (left by a process that died)" for path in removed]
    lines.append(f"Indexed {valid} artifacts ({broken} with a broken meta) in {seconds:.2f} s")
    data = {"artifacts": valid, "broken": broken, "seconds": seconds, "removed": removed}
    return Outcome(data, lines)


def run(
    i: dict[str, Any],
    confirm: Callable[[str], bool] | None = None,
    choose: Callable[[list[Any]], int] | None = None,
) -> Outcome:
    """Run the action ``i`` names and return its outcome (errors are raised)."""
    request = Request.from_input(i)
    if request.action == "version" and not request.automation:
        from cairn import __version__

        return Outcome({"version": __version__}, [__version__])
    if request.action == "reindex" and not request.automation:
        return _reindex()
    if request.action == "daemon":
        from cairn.store import daemon

        return Outcome(*daemon.command(request.automation or "status", flags=request.raw))
    if request.action == "serve" and not request.automation:
        from cairn.web.app import serve_command  # the `web` extra, imported only to serve

        return serve_command(request.raw)
    from cairn.store.catalog import Catalog

    try:
        (kind, cls), spec = spec_for(request)
    except ActionNotFound as missing:
        if not request.automation:
            raise
        return _repository_action(request, Catalog.open(), missing)
    spec.check_output(request.raw.get("out"), kind.alias)
    opts, unknown = spec.options(request.raw)
    for key in unknown:
        report.warn(_unknown_flag(key, spec, kind.alias))
    automation = cls(kind, Catalog.open())
    return automation.invoke(spec, Call(request.artifacts, opts, request.raw, confirm, choose))  # type: ignore[no-any-return]


def _repository_action(request: Request, catalog: Any, missing: ActionNotFound) -> Outcome:
    """An action cairn lacks, served by a repository's own automation module (CM style);
    the kinds cairn implements itself are never handed over. Else ``missing`` is raised."""
    from cairn.automations import registry
    from cairn.compat import repo_automation

    kind, _ = registry.resolve(request.automation)
    if registry.builtin(kind.alias) is not None:
        raise missing
    served = repo_automation.served_by_cairn(request.raw)
    if served is not None:
        return served
    found = repo_automation.find(catalog, kind, request.action)
    if found is None:
        raise _missing_here(missing, catalog, kind, request.action)
    return found.run(request.raw)


def _missing_here(missing: ActionNotFound, catalog: Any, kind: Any, action: str) -> ActionNotFound:
    """``missing`` with a guess: the known kind a typo was meant to be, or else the action of
    the kind's repository automation (``cairn helo foo`` -> ``hello``) that was meant."""
    from cairn.automations import registry
    from cairn.compat import repo_automation

    close_kind = registry.close_kind(kind.alias, catalog)
    if close_kind is not None:
        missing.message += f"; did you mean {close_kind}?"
        return missing
    added = [name for name, _, _ in repo_automation.listing(catalog, kind)]
    if added:
        if "; did you mean" not in missing.message:
            missing.message += did_you_mean(action.replace("-", "_"), added)
        missing.hint += f"; its repository automation adds: {', '.join(added)}"
    return missing
