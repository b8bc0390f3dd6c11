"""One dependency entry at run time: does it run, with which tags, and with what input.

Following cm-script.md §1.3 and §2.3: ``enable_if_env``/``skip_if_env`` (and the any-of
forms) decide; ``update_tags_from_env_with_prefix``, ``update_tags_from_env`` and
``inherit_variation_tags`` extend the tags; the parent's local keys (CM's built-in list plus
``local_env_keys``, and any value with an unresolved ``<<<``) are hidden from the child unless
``force_env_keys`` or ``reuse_version`` keep them; the entry's ``env`` becomes the child's
local env; every other key of the entry is a run input of the child.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cairn.engine_vars import EngineVars
from cairn.script import env as env_mod
from cairn.script.context import VERSION_FIELDS, RunInput
from cairn.script.layers import merge_updates
from cairn.script.model import Dep


def enabled(dep: Dep, env: Mapping[str, Any], *, fake_run: bool, cached: bool) -> bool:
    """Whether the entry runs now (a cached parent runs only its ``dynamic`` entries)."""
    if not dep.tags or (cached and not dep.dynamic) or (fake_run and dep.skip_if_fake_run):
        return False
    if dep.enable_if_env and not env_mod.matches_env(dep.enable_if_env, env):
        return False
    if dep.enable_if_any_env and not env_mod.matches_env(dep.enable_if_any_env, env, True):
        return False
    if dep.skip_if_env and env_mod.matches_env(dep.skip_if_env, env):
        return False
    return not (dep.skip_if_any_env and env_mod.matches_env(dep.skip_if_any_env, env, True))


Variations = Sequence[tuple[str, str | None]]
"""The parent's variations that are on, each with its group (or None)."""


def child_tags(dep: Dep, env: Mapping[str, Any], parent_variations: Variations) -> list[str]:
    """The entry's tags, extended from the env and the parent's variations."""
    tags = list(dep.tags)
    for prefix, keys in dep.update_tags_from_env_with_prefix.items():
        for key in keys:
            tags += [prefix + v for v in _values(env.get(key))]
    for key in dep.update_tags_from_env:
        tags += _values(env.get(key))
    if dep.inherit_variation_tags:
        tags += _inherited(dep, parent_variations)
    return list(dict.fromkeys(tags))


def _values(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(v).strip() for v in items if str(v).strip()]


def _inherited(dep: Dep, parent_variations: Variations) -> list[str]:
    excluded = {t[2:] for t in dep.tags if t.startswith("-_")}
    skip_groups = set(dep.skip_inherit_variation_groups)
    return [
        f"_{name}"
        for name, group in parent_variations
        if name not in excluded and (group is None or group not in skip_groups)
    ]


def visible_env(
    dep: Dep, env: Mapping[str, Any], local_keys: Sequence[str], names: EngineVars
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the parent's env into what the child sees and what is hidden from it (the
    parent's dialect says which engine keys are local: ``names``)."""
    force = [*dep.force_env_keys, *(names.version_keys if dep.reuse_version else ())]
    return env_mod.hide_local(env, [*names.local, *local_keys], force)


def child_input(
    dep: Dep, tags: list[str], parent: RunInput, env: dict[str, Any], state: dict[str, Any]
) -> RunInput:
    """The run input of the child: shared const and adr, the entry's own keys as inputs."""
    versions = {f: getattr(dep, f) for f in VERSION_FIELDS if getattr(dep, f)}
    return RunInput(
        tags=tags,
        env=env,
        state=env_mod.merge_state(state, dep.state),
        const={**parent.const, **dep.const},
        const_state=env_mod.merge_state(parent.const_state, dep.const_state),
        local_env=dict(dep.env),
        inputs=dict(dep.extra_input),
        versions=versions,
        adr=merge_updates(parent.adr, {}),
        extra_cache_tags=_cache_tags(dep, env),
        force_cache=dep.force_cache,
        force_new_env_keys=dep.force_new_env_keys,
        parent=parent.name or str(parent.tags or ""),
        parent_repo=parent.parent_repo,
        parent_work=parent.parent_work,
        repo=dep.repo,
    )


def _cache_tags(dep: Dep, env: Mapping[str, Any]) -> tuple[str, ...]:
    """The entry's ``extra_cache_tags``, ``<<<KEY>>>`` expanded from the child's env."""
    child_env = {**env, **dep.env}
    return tuple(env_mod.expand_text(tag, child_env) for tag in dep.extra_cache_tags)
