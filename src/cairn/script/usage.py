"""``cairn run script NAME --help``: what one script takes (CM's script ``--help``).

The page names the script chosen for the request (by the usual rules) and lists its variations
by group (``*`` marks a default), its inputs (``input_mapping`` and ``input_description``: the
flag, the env key it sets, the description, default and choices), its default env, versions
and dependencies. Nothing runs.
"""

from __future__ import annotations

from typing import Any

from cairn.script import select
from cairn.script.model import ScriptMeta
from cairn.store.catalog import Catalog

MAX_ENV = 25


def page(catalog: Catalog, tags: Any, name: str | None) -> str:
    request = select.split_request(tags, name)
    chosen = select.choose(select.find_candidates(catalog, request), quiet=True).candidate
    meta = chosen.meta
    title = f"Script {chosen.handle}" + (f": {meta.name}" if meta.name else "")
    lines = [title, f"  path: {chosen.artifact.path}", f"  tags: {','.join(meta.tags)}"]
    lines.append(f"  cached: {'yes' if meta.cache else 'no'}")
    for section in (_variations(meta), _inputs(meta), _env(meta), _versions(meta), _deps(meta)):
        lines += ["", *section] if section else []
    return "\n".join(lines)


def _variations(meta: ScriptMeta) -> list[str]:
    groups: dict[str, list[str]] = {}
    for variation in meta.variations.values():
        shown = variation.tag.replace(".#", ".<value>")
        mark = "*" if variation.default or variation.name == meta.default_variation else ""
        groups.setdefault(variation.group or "", []).append(shown + mark)
    if not groups:
        return []
    lines = ["Variations (* = default of its group):"]
    for group in sorted(groups, key=lambda g: (g == "", g)):
        label = f"group {group}" if group else "other"
        lines.append(f"  {label}: {' '.join(sorted(groups[group]))}")
    return lines


def _inputs(meta: ScriptMeta) -> list[str]:
    described = meta.input_description
    flags = sorted(
        {*meta.input_mapping, *described},
        key=lambda f: (described[f].sort if f in described else 0, f),
    )
    if not flags:
        return []
    lines = ["Inputs (--FLAG=VALUE):"]
    for flag in flags:
        target = f" -> {meta.input_mapping[flag]}" if flag in meta.input_mapping else ""
        lines.append(f"  --{flag}{target}{_described(described.get(flag))}")
    return lines


def _described(entry: Any) -> str:
    if entry is None:
        return ""
    parts = [entry.desc] if entry.desc else []
    if entry.default not in (None, ""):
        parts.append(f"default: {entry.default}")
    if entry.choices:
        parts.append("choices: " + ", ".join(str(c) for c in entry.choices))
    return f"  ({'; '.join(parts)})" if parts else ""


def _env(meta: ScriptMeta) -> list[str]:
    items = sorted(meta.default_env.items())
    if not items:
        return []
    lines = ["Default env (--env.KEY=VALUE changes it):"]
    lines += [f"  {k}={v}" for k, v in items[:MAX_ENV]]
    if len(items) > MAX_ENV:
        lines.append(f"  ... and {len(items) - MAX_ENV} more")
    return lines


def _versions(meta: ScriptMeta) -> list[str]:
    known = list(meta.versions)
    if not known and not meta.default_version:
        return []
    lines = ["Versions (--version, --version_min, --version_max):"]
    if meta.default_version:
        lines.append(f"  default: {meta.default_version}")
    if known:
        lines.append(f"  known: {', '.join(known)}")
    return lines


def _deps(meta: ScriptMeta) -> list[str]:
    lines = []
    for name in ("deps", "prehook_deps", "posthook_deps", "post_deps"):
        for dep in getattr(meta, name):
            label = f" [{','.join(dep.names)}]" if dep.names else ""
            lines.append(f"  {name}: {','.join(dep.tags)}{label}")
    return ["Dependencies ([names] for --adr.NAME...):", *lines] if lines else []
