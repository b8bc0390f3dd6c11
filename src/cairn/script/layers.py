"""The effective meta of one run: the script's meta after variations, version and updates.

CM's order (cm-script.md §2.1 step 10, §1.5): the caller's env and the dependency-local env,
then ``default_env`` (only where missing), ``env`` (overwrites), ``input_mapping`` (into env
*and* const), then each variation payload in resolution order, then the version fields and
``versions[v]``, then MLCFlow's ``update_meta_if_env`` entries (the script's, then those its
payloads brought, each applied once when the env then matches its conditions), then the
``add_deps``/``add_deps_recursive`` updates from the request, then ``<<<KEY>>>`` substitution.
Dependency lists are merged CM's way (:func:`append_deps`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cairn import report
from cairn.errors import InvalidInput
from cairn.record import MutableDefaulted, field, replace
from cairn.script import env as env_mod
from cairn.script.model import DEP_LISTS, Dep, MetaUpdate, Payload, ScriptMeta

DepLists = dict[str, list[Dep]]


class Effective(MutableDefaulted):
    """What one run of a script uses; customize hooks may still change env, state and deps."""

    env: dict[str, Any]
    state: dict[str, Any]
    const: dict[str, Any]
    const_state: dict[str, Any]
    deps: DepLists
    new_env_keys: list[str]
    new_state_keys: list[str]
    adr: dict[str, Dep]
    script_name: str | None = None
    docker: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    cache: bool = False
    default_version: str | None = None
    required_disk_space: int = 0
    """Megabytes the variations say the run needs (their ``required_disk_space`` summed)."""
    cache_expiration: int | None = None
    """Seconds the run's cache entry stays good (MLCFlow's ``cache_expiration``)."""
    updates: list[MetaUpdate] = field(default_factory=list)
    """The ``update_meta_if_env`` entries met so far, in order."""
    inputs_const: bool = True
    """Mapped inputs are also forced as ``const`` (CM; not MLCFlow: :mod:`cairn.dialect`)."""


def start(meta: ScriptMeta, caller: Mapping[str, Any], local: Mapping[str, Any]) -> Effective:
    """The layers before variations: caller env, dependency-local env, meta env keys."""
    env = {**caller, **local}
    for key, value in meta.default_env.items():
        env.setdefault(key, _copy(value))
    env.update({k: _copy(v) for k, v in meta.env.items()})
    return Effective(
        env=env,
        state={},
        const={},
        const_state={},
        deps={name: list(getattr(meta, name)) for name in DEP_LISTS},
        new_env_keys=list(meta.new_env_keys),
        new_state_keys=list(meta.new_state_keys),
        adr={},
        script_name=meta.script_name,
        docker=dict(meta.docker),
        warnings=list(meta.warnings),
        cache=meta.cache,
        default_version=meta.default_version,
        cache_expiration=meta.cache_expiration,
        updates=list(meta.update_meta_if_env),
    )


def map_inputs(eff: Effective, mapping: Mapping[str, str], inputs: Mapping[str, Any]) -> None:
    """``input_mapping``: a given input ``flag`` sets ``env[KEY]`` and (in CM's dialect)
    forces ``const[KEY]``."""
    for flag, key in mapping.items():
        if flag in inputs and inputs[flag] is not None:
            eff.env[key] = inputs[flag]
            if eff.inputs_const:
                eff.const[key] = inputs[flag]


def apply_payload(eff: Effective, payload: Payload, inputs: Mapping[str, Any]) -> None:
    """Apply one variation or ``versions[v]`` payload, in CM's order of keys."""
    for key, value in payload.default_env.items():
        eff.env.setdefault(key, _copy(value))
    eff.env.update({k: _copy(v) for k, v in payload.env.items()})
    eff.const.update({k: _copy(v) for k, v in payload.const.items()})
    eff.state = env_mod.merge_state(eff.state, payload.state)
    for name in DEP_LISTS:
        append_deps(eff.deps[name], getattr(payload, name))
    update_deps(eff.deps, payload.add_deps, strict=True, where="add_deps")
    update_deps(eff.deps, payload.add_deps_tags, strict=False, where="add_deps_tags")
    eff.adr = merge_updates(eff.adr, payload.add_deps_recursive)
    map_inputs(eff, payload.input_mapping, inputs)
    eff.docker = env_mod.merge_state(eff.docker, payload.docker)
    eff.new_env_keys += [k for k in payload.new_env_keys if k not in eff.new_env_keys]
    eff.new_state_keys += [k for k in payload.new_state_keys if k not in eff.new_state_keys]
    _apply_scalars(eff, payload)


def _apply_scalars(eff: Effective, payload: Payload) -> None:
    if payload.script_name is not None:
        eff.script_name = payload.script_name
    if payload.warning:
        eff.warnings.append(payload.warning)
    if payload.cache is not None:
        eff.cache = payload.cache
    if payload.default_version is not None:
        eff.default_version = payload.default_version
    eff.required_disk_space += payload.required_disk_space or 0
    if payload.cache_expiration is not None:
        eff.cache_expiration = payload.cache_expiration
    eff.updates += payload.update_meta_if_env


def apply_env_updates(eff: Effective, inputs: Mapping[str, Any]) -> None:
    """MLCFlow's ``update_meta_if_env``: each entry met (in order, including those an
    applied entry brings) is applied once, when the env matches its conditions then."""
    index = 0
    while index < len(eff.updates):
        update = eff.updates[index]
        if _holds(update, eff.env):
            apply_payload(eff, update.payload, inputs)
        index += 1


def _holds(update: MetaUpdate, env: Mapping[str, Any]) -> bool:
    """An entry's conditions, read as a dependency's are."""
    if update.enable_if_env and not env_mod.matches_env(update.enable_if_env, env):
        return False
    if update.enable_if_any_env and not env_mod.matches_env(update.enable_if_any_env, env, True):
        return False
    if update.skip_if_env and env_mod.matches_env(update.skip_if_env, env):
        return False
    return not (update.skip_if_any_env and env_mod.matches_env(update.skip_if_any_env, env, True))


def append_deps(target: list[Dep], new: Iterable[Dep]) -> None:
    """CM's ``append_deps``: a dependency with the same ``names`` set (or, without names,
    the same tag set) as an existing one replaces it; any other one is appended."""
    for dep in new:
        index = _same_dep(target, dep)
        if index is None:
            target.append(dep)
        else:
            target[index] = dep


def _same_dep(target: list[Dep], dep: Dep) -> int | None:
    for index, old in enumerate(target):
        if dep.names and set(old.names) == set(dep.names):
            return index
        if not dep.names and not old.names and set(old.tags) == set(dep.tags):
            return index
    return None


def update_dep(dep: Dep, update: Dep) -> Dep:
    """Apply an ``add_deps``/``adr`` entry: tags are unioned, other given keys replace."""
    changes: dict[str, Any] = {}
    for key in update.given:
        if key == "tags":
            changes["tags"] = tuple(dict.fromkeys([*dep.tags, *update.tags]))
        elif hasattr(dep, key) and key not in ("extra_input", "given"):
            changes[key] = getattr(update, key)
    extra = {**dep.extra_input, **update.extra_input}
    return replace(dep, **changes, extra_input=extra, given=dep.given | update.given)


def update_deps(lists: DepLists, updates: Mapping[str, Dep], *, strict: bool, where: str) -> None:
    """Apply updates by dependency name to all four lists; with ``strict`` a name that no
    dependency has is an error (``add_deps``), else it is ignored (``add_deps_recursive``)."""
    for name, update in updates.items():
        hits = 0
        for deps in lists.values():
            for index, dep in enumerate(deps):
                if name in dep.names:
                    deps[index] = update_dep(dep, update)
                    hits += 1
        if strict and not hits:
            raise InvalidInput(f"{where}: no dependency is named {name!r}", hint=_names(lists))


def _names(lists: DepLists) -> str:
    names = sorted({n for deps in lists.values() for d in deps for n in d.names})
    return "named dependencies: " + (", ".join(names) if names else "none")


def merge_updates(old: Mapping[str, Dep], new: Mapping[str, Dep]) -> dict[str, Dep]:
    """Merge two ``adr`` tables: updates for the same name combine, later keys win."""
    merged = dict(old)
    for name, update in new.items():
        merged[name] = update_dep(merged[name], update) if name in merged else update
    return merged


def finish(eff: Effective) -> None:
    """Last layer: ``<<<KEY>>>`` substitution; report the meta's warnings once."""
    eff.env = env_mod.substitute(eff.env)
    for warning in eff.warnings:
        report.warn(warning)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value
