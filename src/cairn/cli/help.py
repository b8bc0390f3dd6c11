"""Help pages generated from the declared actions and flags (nothing is written twice)."""

from __future__ import annotations

from typing import Any

from cairn.automations.base import Automation
from cairn.automations.contract import COMMON_FLAGS, ActionSpec
from cairn.errors import ActionNotFound

USAGE = "usage: cairn ACTION AUTOMATION [ARTIFACT...] [--flags] [@input.yaml] [-- rest]"


def _specs(cls: type[Automation]) -> list[ActionSpec]:
    unique = {spec.name: spec for spec in cls.actions().values()}
    return [unique[n] for n in sorted(unique)]


def _action_lines(cls: type[Automation]) -> list[str]:
    lines = []
    for spec in _specs(cls):
        names = spec.name + (f" ({', '.join(spec.aliases)})" if spec.aliases else "")
        lines.append(f"  {names:<34} {spec.summary}")
    return lines


def general() -> str:
    """``cairn help``: the grammar, the common actions and the built-in automations."""
    from cairn.automations import registry

    lines = [USAGE, "", "Common actions (any automation: dataset, model, script, ...):"]
    lines += _action_lines(registry.listing()["*"])
    lines += ["", "Automations with their own actions:"]
    lines += [f"  {n:<34} {c.summary}" for n, c in registry.listing().items() if n != "*"]
    lines += [
        "",
        "Other commands:",
        f"  {'version':<34} print the cairn version",
        f"  {'reindex':<34} rebuild the artifact index; remove what dead processes left",
        f"  {'daemon start|status|stop|enable':<34} the watcher: queries skip the stat walk",
        f"  {'serve [--host=H --port=P --token=T]':<34} a read-only web interface and JSON API "
        "(docs/serve.md); --cache also shares the cache",
        f"  {'mlcr TAGS [--flags] [-j]':<34} MLCFlow's mlcr: run script --tags=TAGS "
        "(-j: --out=json; also cairn-mlcr)",
        f"  {'help [AUTOMATION]':<34} this page, or the actions of one automation",
        "",
        "Flags: --key=value, --key (true), --key- (false), --key,=a,b (list), --a.b=v (nested),",
        "       @file.json|yaml merges a file of flags, -- passes the rest through unparsed.",
        "Every action: --out=json prints one JSON document; --debug shows tracebacks.",
        "More: cairn help AUTOMATION, cairn ACTION AUTOMATION --help",
    ]
    return "\n".join(lines)


def automation(name: str) -> str:
    """``cairn help AUTOMATION``: the actions it has."""
    from cairn.automations import registry

    kind, cls = registry.resolve(name)
    lines = [f"automation {kind}: {cls.summary}", "", "Actions:"]
    lines += _action_lines(cls)
    lines += _repository_action_lines(kind) if registry.builtin(kind.alias) is None else []
    lines += ["", f"Details: cairn ACTION {kind.alias} --help", *_kind_guess(kind.alias)]
    return "\n".join(lines)


def _kind_guess(name: str) -> list[str]:
    """A line guessing the known kind a misspelt one was meant to be (``scrpt``)."""
    from cairn.automations import registry
    from cairn.store.catalog import Catalog

    guess = registry.close_kind(name, Catalog.open())
    if guess is None:
        return []
    return [f"Note: no repository has artifacts of kind {name!r}; did you mean {guess}?"]


def _repository_action_lines(kind: Any) -> list[str]:
    """The actions a repository's own automation module adds (CM style)."""
    from cairn.compat import repo_automation
    from cairn.store.catalog import Catalog

    rows = repo_automation.listing(Catalog.open(), kind)
    if not rows:
        return []
    where = {f"{r.artifact.qualified} ({r.module_file.name})" for _, _, r in rows}
    lines = ["", f"Actions of the repository automation {', '.join(sorted(where))}:"]
    served = repo_automation.served_names(kind)
    mark = {n: "(served by cairn) " if n in served else "" for n, _, _ in rows}
    return lines + [f"  {name:<34} {mark[name]}{summary}" for name, summary, _ in rows]


def action(name: str, automation_name: str) -> str:
    """``cairn ACTION AUTOMATION --help``: usage, flags and an example."""
    from cairn.automations import registry

    kind, cls = registry.resolve(automation_name)
    try:
        spec = cls.spec(name, automation_name)
    except ActionNotFound:
        page = _repository_action_page(kind, name) if registry.builtin(kind.alias) is None else None
        if page is None:
            raise
        return page
    lines = [f"cairn {spec.name} {kind.alias}: {spec.summary}", "", f"usage: {spec.usage}"]
    if spec.aliases:
        lines.append(f"aliases: {', '.join(spec.aliases)}")
    lines += ["", "Flags:"]
    lines += [f"  {f.usage:<30} {f.help}" for f in (*spec.flags, *COMMON_FLAGS)]
    lines += ["", "Example:", f"  {spec.example}"]
    return "\n".join(lines)


def _repository_action_page(kind: Any, name: str) -> str | None:
    from cairn.compat import repo_automation
    from cairn.store.catalog import Catalog

    found = repo_automation.find(Catalog.open(), kind, name)
    if found is None:
        return None
    head = (
        f"cairn {found.action} {kind.alias}: from {found.artifact.qualified} ({found.module_file})"
    )
    return "\n".join([head, "", repo_automation.describe(found)])


def script_usage(action: str, automation_name: str, i: dict[str, Any]) -> str:
    """For ``cairn run script NAME --help``: the named script's own page, after a blank line."""
    from cairn.automations import registry

    kind, _ = registry.resolve(automation_name)
    names = [n for n in dict.fromkeys([i.get("artifact"), *(i.get("artifacts") or [])]) if n]
    if kind.alias != "script" or action.replace("-", "_") != "run" or not (names or i.get("tags")):
        return ""
    from cairn.automations.common import in_repo_here
    from cairn.automations.contract import Call
    from cairn.automations.script import here_name, request_words
    from cairn.script import usage
    from cairn.store.catalog import Catalog

    catalog = Catalog.open()
    if names[:1] == ["."]:  # the script whose folder is the current directory
        names[0] = here_name(catalog, kind)
    names = in_repo_here(catalog, Call(names, {}, {})).artifacts  # CM's .:NAME
    request, _ = request_words(names, named=bool(i.get("artifact")))
    return "\n\n" + usage.page(catalog, i.get("tags"), request)
