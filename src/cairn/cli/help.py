"""Help pages generated from the declared actions and flags (nothing is written twice)."""

from __future__ import annotations

from cairn.automations.base import Automation
from cairn.automations.contract import COMMON_FLAGS, ActionSpec

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
        f"  {'reindex':<34} rebuild the artifact index from scratch (for repair)",
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
    lines += ["", f"Details: cairn ACTION {kind.alias} --help"]
    return "\n".join(lines)


def action(name: str, automation_name: str) -> str:
    """``cairn ACTION AUTOMATION --help``: usage, flags and an example."""
    from cairn.automations import registry

    kind, cls = registry.resolve(automation_name)
    spec = cls.spec(name, automation_name)
    lines = [f"cairn {spec.name} {kind.alias}: {spec.summary}", "", f"usage: {spec.usage}"]
    if spec.aliases:
        lines.append(f"aliases: {', '.join(spec.aliases)}")
    lines += ["", "Flags:"]
    lines += [f"  {f.usage:<30} {f.help}" for f in (*spec.flags, *COMMON_FLAGS)]
    lines += ["", "Example:", f"  {spec.example}"]
    return "\n".join(lines)
