"""One script run as a pipeline of small named steps (cm-script.md §2).

select → resolve variations → layer the meta and env → key → memo / cache lookup →
(deps → preprocess → prehook deps → native script → posthook deps → postprocess → post deps)
→ new env/state → cache entry → result.

A :class:`Session` holds what a whole run tree shares: the catalog, the cache, the memo of
scripts already run with the same key, the stack used to detect dependency cycles, and the
options. :class:`ScriptRun` is one script's run; each step is one method.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cairn import report
from cairn.errors import CairnError, NotFound
from cairn.script import deps as deps_mod
from cairn.script import env as env_mod
from cairn.script import layers, select, variations, versions
from cairn.script.cache import Cache, CachedState, EntryFields, KeyInput, entry_tags, key_of
from cairn.script.context import RunInput, RunOptions, RunResult
from cairn.script.keys import Fingerprints
from cairn.script.model import DEP_LISTS, Dep, ScriptMeta, dep_to_dict, parse_deps
from cairn.store.catalog import Catalog

VOLATILE_KEYS = ("CM_TMP_*", "CM_QUIET", "CM_VERBOSE", "CM_TMP_SILENT")
LOG_FILE = "cairn-run.log"


class DependencyCycle(CairnError):
    """A script needs itself, directly or through its dependencies."""


class Session:
    """What one run tree shares."""

    def __init__(self, catalog: Catalog, options: RunOptions) -> None:
        self.catalog = catalog
        self.options = options
        self.cache = Cache(catalog.registry)
        self.memo: dict[str, RunResult] = {}
        self.stack: list[str] = []
        self.cwd = Path.cwd()
        self.fingerprints = Fingerprints(self._select_for_key)
        self._work_root: Path | None = None

    def run(self, inp: RunInput) -> RunResult:
        return ScriptRun(self, inp).execute()

    def say(self, line: str) -> None:
        if self.options.echo is not None and not self.options.silent:
            self.options.echo(line)

    def work_dir(self, alias: str) -> Path:
        """A fresh work directory for a script that is not cached (never its source dir)."""
        if self._work_root is None:
            root = self.catalog.registry.home.root / "work"
            root.mkdir(parents=True, exist_ok=True)
            self._work_root = Path(tempfile.mkdtemp(prefix="run-", dir=root))
        return Path(tempfile.mkdtemp(prefix=f"{alias}-", dir=self._work_root))

    def finish(self) -> None:
        """Remove the work directories of a successful run (unless ``--dirty``)."""
        if self._work_root is not None and not self.options.dirty:
            shutil.rmtree(self._work_root, ignore_errors=True)

    def _select_for_key(self, tags: tuple[str, ...]) -> Any:
        try:
            request = select.split_request(list(tags), None)
            found = select.find_candidates(self.catalog, request)
            chosen = select.choose(found, quiet=True, chooser=None).candidate
        except CairnError:
            return None
        return chosen.artifact.path, chosen.meta, chosen.artifact.meta


class ScriptRun:
    """One script's run: each step is a method, called in order by :meth:`execute`."""

    def __init__(self, session: Session, inp: RunInput) -> None:
        self.session = session
        self.inp = inp
        self.results: list[RunResult] = []

    # -- the pipeline -----------------------------------------------------------------------

    def execute(self) -> RunResult:
        self.select()
        self.session.stack.append(self.uid)
        try:
            self.resolve()
            self.layer()
            key = self.key()
            if key in self.session.memo:
                return self._reused(self.session.memo[key])
            result = self.cached_or_fresh(key)
            self.session.memo[key] = result
            return result
        finally:
            self.session.stack.pop()

    def select(self) -> None:
        """Pick the script: by name or tags, variations checked, ambiguity never guessed."""
        self.request = select.split_request(self.inp.tags, self.inp.name)
        found = select.find_candidates(self.session.catalog, self.request)
        options = self.session.options
        choice = select.choose(found, quiet=options.quiet, chooser=options.chooser)
        self.choice_reason = choice.reason
        if choice.guessed:
            report.warn(f"{self.request}: {choice.reason}")
        self.artifact = choice.candidate.artifact
        self.meta: ScriptMeta = choice.candidate.meta
        self.dir = self.artifact.path
        self.alias = self.artifact.alias or self.artifact.uid or self.dir.name
        self.uid = self.artifact.uid or self.alias
        if self.uid in self.session.stack:
            cycle = " -> ".join([*self.session.stack, self.uid])
            raise DependencyCycle(
                f"dependency cycle: {cycle}", hint="break it in one script's deps"
            )

    def resolve(self) -> None:
        """Which variations are on, and why."""
        self.resolution = variations.resolve(self.meta, self.request.variation_tags)

    def layer(self) -> None:
        """The effective meta and env, in CM's layer order."""
        eff = layers.start(self.meta, self.inp.env, self.inp.local_env)
        eff.state = env_mod.merge_state(self.inp.state, self.meta.state)
        eff.const = {**self.meta.const, **self.inp.const}
        eff.const_state = env_mod.merge_state(self.meta.const_state, self.inp.const_state)
        layers.map_inputs(eff, self.meta.input_mapping, self.inp.inputs)
        for step in self.resolution.steps:
            layers.apply_payload(eff, step.payload, self.inp.inputs)
        self.constraints = versions.Constraints.from_sources(self.inp.versions, eff.env, self.meta)
        eff.env.update(self.constraints.env())
        payload = self.meta.versions.get(self.constraints.version or "")
        if payload is not None:
            layers.apply_payload(eff, payload, self.inp.inputs)
        layers.update_deps(eff.deps, self.inp.add_deps, strict=True, where="add_deps")
        eff.adr = layers.merge_updates(eff.adr, self.inp.adr)
        layers.update_deps(eff.deps, eff.adr, strict=False, where="add_deps_recursive")
        eff.env.update(self._input_env())
        layers.finish(eff)
        self.eff = eff

    def _input_env(self) -> dict[str, Any]:
        values = {
            "CM_TMP_CURRENT_PATH": str(self.session.cwd),
            "CM_TMP_CURRENT_SCRIPT_PATH": str(self.dir),
        }
        for flag in ("input", "output", "name"):
            if self.inp.inputs.get(flag):
                values[f"CM_{flag.upper()}"] = str(self.inp.inputs[flag]).strip()
        if self.session.options.quiet:
            values["CM_QUIET"] = "yes"
        return values

    @property
    def cacheable(self) -> bool:
        if self.inp.skip_cache or self.inp.fake_run:
            return False
        return self.eff.cache or (self.inp.force_cache and self.meta.can_force_cache)

    def key(self) -> str:
        """The digest of everything that can change this run's result."""
        env = {k: v for k, v in self.eff.env.items() if not env_mod.matches_any(k, VOLATILE_KEYS)}
        inputs = {
            "env": env,
            "const": self.eff.const,
            "state": self.eff.state,
            "inputs": self.inp.inputs,
            "extra_cache_tags": list(self.inp.extra_cache_tags),
            "script": self.session.fingerprints.script(self.dir, self.meta, self.artifact.meta),
            "deps": {n: [dep_to_dict(d) for d in self.eff.deps[n]] for n in DEP_LISTS},
            "fake_run": self.inp.fake_run,
        }
        self.key_input = KeyInput(
            script_uid=self.uid,
            variations=self.resolution.variations,
            version=json.dumps(self.constraints.env(), sort_keys=True),
            inputs=inputs,
        )
        return key_of(self.key_input)

    def cached_or_fresh(self, key: str) -> RunResult:
        if not self.cacheable:
            return self.fresh(self.session.work_dir(self.alias), key, "not cached")
        if not self.inp.new:
            entry = self.session.cache.lookup(key)
            if entry is not None:
                return self.from_entry(entry, key)
        with self.session.cache.create(key, renew=self.inp.new) as pending:
            if pending.existing is not None:
                return self.from_entry(pending.existing, key)
            result = self.fresh(pending.path, key, "miss")
            pending.commit(self._entry_fields(result), self._cached_state(result))
        return result

    # -- a fresh run ------------------------------------------------------------------------

    def fresh(self, work: Path, key: str, status: str) -> RunResult:
        self.work = work
        self.session.say(f"run {self.alias} ({status})")
        self.apply_default_version()
        self.run_deps("deps")
        from cairn.script.hooks import Hooks

        self.hooks = Hooks.load(self.dir)
        self.env_with_const()
        if self.call_hook("preprocess").get("skip"):
            return self.result(key, "skipped")
        self.run_deps("prehook_deps")
        if not self.inp.fake_run:
            self.run_native()
            self.run_deps("posthook_deps")
            self.env_with_const()
            self.call_hook("postprocess")
            self.run_deps("post_deps", keys=self.meta.clean_env_keys_post_deps)
        self.check_version()
        return self.result(key, status)

    def apply_default_version(self) -> None:
        """``default_version`` applies only when no version was asked for (and on a miss)."""
        if self.constraints.version or not self.eff.default_version:
            return
        version = self.constraints.clamp_default(self.eff.default_version)
        if version is None:
            return
        self.eff.env["CM_VERSION"] = version
        payload = self.meta.versions.get(version)
        if payload is not None:
            layers.apply_payload(self.eff, payload, self.inp.inputs)
            layers.finish(self.eff)

    def env_with_const(self) -> None:
        self.eff.env.update(self.eff.const)
        self.eff.state = env_mod.merge_state(self.eff.state, self.eff.const_state)

    def run_deps(self, name: str, keys: tuple[str, ...] | None = None) -> None:
        """Run one dependency list; each child's exports reach the later ones."""
        for dep in list(self.eff.deps[name]):
            if not deps_mod.enabled(dep, self.eff.env, fake_run=self.inp.fake_run, cached=False):
                continue
            self.run_dep(dep, keys)

    def run_dep(self, dep: Dep, keys: tuple[str, ...] | None) -> None:
        local = self.meta.local_env_keys if keys is None else ()
        visible, hidden = deps_mod.visible_env(dep, self.eff.env, local)
        if keys is not None:
            visible, hidden = env_mod.hide_local(self.eff.env, keys)
        parent = [(v, self.resolution.group_of.get(v)) for v in self.resolution.variations]
        tags = deps_mod.child_tags(dep, self.eff.env, parent)
        child = deps_mod.child_input(dep, tags, self._as_parent(), visible, self.eff.state)
        if self.session.options.fake_deps:
            self.session.say(f"skip {' '.join(tags)} (--fake_deps)")
            return
        result = self.session.run(child)
        self.results.append(result)
        self.absorb(result, hidden)

    def _as_parent(self) -> RunInput:
        return RunInput(
            name=self.alias,
            const=self.eff.const,
            const_state=self.eff.const_state,
            adr=self.eff.adr,
        )

    def absorb(self, result: RunResult, hidden: dict[str, Any]) -> None:
        """A child's exports join the env; keys hidden from it come back over them."""
        env = dict(self.eff.env)
        for key, value in result.new_env.items():
            old = env.get(key)
            env[key] = _merged_value(old, value) if key.startswith("+") else value
        env.update(hidden)
        self.eff.env = env_mod.substitute(env)
        self.eff.state = env_mod.merge_state(self.eff.state, result.new_state)

    def call_hook(self, name: str) -> dict[str, Any]:
        """Call a ``customize.py`` function with CM's ``i``; apply what it returns."""
        if self.hooks is None or not self.hooks.has(name):
            return {}
        from cairn.compat import hook_input

        raw_meta = self._hook_meta()
        ctx = self._hook_context(raw_meta)
        result = self.hooks.call(name, hook_input.build(ctx))
        self._take_hook_meta(raw_meta)
        self.eff.env = ctx.env
        self.eff.state = ctx.state
        self._take_hook_result(result, ctx)
        return result

    def _hook_meta(self) -> dict[str, Any]:
        raw = dict(self.artifact.meta)
        raw.update({n: [dep_to_dict(d) for d in self.eff.deps[n]] for n in DEP_LISTS})
        return raw

    def _take_hook_meta(self, raw: dict[str, Any]) -> None:
        for name in DEP_LISTS:
            self.eff.deps[name] = list(
                parse_deps(raw.get(name) or [], self.dir / "customize.py", name)
            )

    def _hook_context(self, raw_meta: dict[str, Any]) -> Any:
        from cairn.compat import hook_input

        return hook_input.HookContext(
            env=self.eff.env,
            state=self.eff.state,
            meta=raw_meta,
            input={**self.inp.inputs, "env": self.inp.env, "tags": str(self.request)},
            const=self.eff.const,
            const_state=self.eff.const_state,
            script_path=self.dir,
            work_path=self.work,
            artifact_meta=self.artifact.meta,
            script_tags=list(self.request.tags.include),
            variation_tags=list(self.resolution.explicit),
            variation_tags_string=self.resolution.tags_string,
            customize=dict(self.meta.customize),
            run_native=self._run_named_native,
        )

    def _take_hook_result(self, result: dict[str, Any], ctx: Any) -> None:
        if result.get("version"):
            self.eff.env["CM_DETECTED_VERSION"] = str(result["version"])
        if result.get("script_name"):
            self.eff.script_name = str(result["script_name"])

    def run_native(self) -> None:
        """The native script, wrapped; its outputs join the env and state."""
        from cairn.script import native

        name = self.eff.script_name or "run"
        path = native.pick_script(self.dir, name, native.HostOS.from_env(self.eff.env))
        if path is None:
            if self.eff.script_name:
                raise NotFound(
                    f"script {self.alias}: native script {name!r} not found in {self.dir}"
                )
            return
        self._apply_key_mappings()
        self._native(path, self.eff.env)

    def _run_named_native(self, name: str, env: dict[str, Any]) -> int:
        from cairn.script import native

        path = native.pick_script(self.dir, name, native.HostOS.from_env(env))
        if path is None:
            raise NotFound(f"script {self.alias}: native script {name!r} not found in {self.dir}")
        self._native(path, env)
        return 0

    def _native(self, path: Path, env: dict[str, Any]) -> None:
        from cairn.script import native

        env.update(self.eff.const)
        env["CM_TMP_CURRENT_SCRIPT_WORK_PATH"] = str(self.work)
        native.clear_outputs(self.work)
        (self.work / "tmp-state.json").write_text(json.dumps(self.eff.state, default=str))
        if self.session.options.print_env:
            self.session.say("\n".join(f"{k}={env[k]}" for k in sorted(env)))
        prefix = self.eff.state.get("script_prefix") or []
        wrapper = native.write_wrapper(self.work / native.WRAPPER, env, path, prefix)
        native.run(
            wrapper,
            self.work,
            self.work / LOG_FILE,
            script=str(path),
            echo=self.session.options.output,
        )
        outputs = native.read_outputs(self.work)
        env.update(outputs.env)
        self.eff.state = env_mod.merge_state(self.eff.state, outputs.state)

    def _apply_key_mappings(self) -> None:
        for prefix, new_prefix in self.meta.env_key_mappings.items():
            for key in [k for k in self.eff.env if k.startswith(prefix)]:
                self.eff.env[new_prefix + key[len(prefix) :]] = self.eff.env[key]

    def check_version(self) -> None:
        version = self.version
        if version and not self.constraints.satisfies(version):
            raise NotFound(
                f"script {self.alias}: version {version} does not satisfy {self.constraints}",
                hint="change the version constraints or install a matching version",
            )

    @property
    def version(self) -> str | None:
        env = self.eff.env
        found = env.get("CM_DETECTED_VERSION") or env.get("CM_VERSION")
        return str(found) if found else None

    # -- results ----------------------------------------------------------------------------

    def result(self, key: str, status: str) -> RunResult:
        self.env_with_const()
        patterns = self.inp.force_new_env_keys or tuple(self.eff.new_env_keys)
        new_env = env_mod.filter_new(self.eff.env, patterns)
        new_state = env_mod.filter_new(self.eff.state, self.eff.new_state_keys, self.eff.env)
        return self._result(key, status, new_env, new_state)

    def _result(
        self, key: str, status: str, new_env: dict[str, Any], new_state: dict[str, Any]
    ) -> RunResult:
        entry = self.work if status == "miss" else None
        return RunResult(
            alias=self.alias,
            uid=self.uid,
            path=self.dir,
            tags=str(self.request),
            variations=self.resolution.variations,
            version=self.version,
            cache=status,
            entry=entry,
            new_env=new_env,
            new_state=new_state,
            deps=self.results,
            work=getattr(self, "work", None),
            key=key,
        )

    def from_entry(self, entry: Any, key: str) -> RunResult:
        """A cache hit: dynamic deps only, no customize code, no native script."""
        self.session.say(f"load {self.alias} from cache {entry.path}")
        for dep in self.eff.deps["deps"]:
            if deps_mod.enabled(dep, self.eff.env, fake_run=False, cached=True):
                self.run_dep(dep, None)
        state = entry.load_state()
        result = self._result(key, "hit", dict(state.new_env), dict(state.new_state))
        result.entry = entry.path
        result.version = state.version
        return result

    def _reused(self, earlier: RunResult) -> RunResult:
        self.session.say(f"reuse {self.alias} (already run with the same inputs)")
        return RunResult(**{**earlier.__dict__, "cache": "reused", "deps": []})

    def _entry_fields(self, result: RunResult) -> EntryFields:
        tags = entry_tags(
            script_uid=self.uid,
            requested=tuple(self.request.tags.include),
            script_tags=self.meta.tags,
            variations=self.resolution.variations,
            version=result.version,
            extra=self.inp.extra_cache_tags,
            deps_tags=self._env_cache_tags(),
        )
        dependent = self.eff.env.get("CM_GET_DEPENDENT_CACHED_PATH")
        return EntryFields(
            inputs=self.key_input,
            script_alias=self.alias,
            tags=tags,
            version=result.version,
            dependent_cached_path=str(dependent) if dependent else None,
        )

    def _env_cache_tags(self) -> tuple[str, ...]:
        tags = []
        for rule in self.meta.extra_cache_tags_from_env:
            for value in str(self.eff.env.get(rule.env, "")).split(","):
                if value.strip():
                    tags.append(f"deps-{rule.prefix}{value.strip()}")
        return tuple(tags)

    def _cached_state(self, result: RunResult) -> CachedState:
        deps = [d.tags for d in result.deps]
        return CachedState(
            new_env=result.new_env, new_state=result.new_state, deps=deps, version=result.version
        )


def _merged_value(old: Any, new: Any) -> Any:
    if isinstance(old, list) and isinstance(new, list):
        return [*new, *[x for x in old if x not in new]]
    return new


def run_script(catalog: Catalog, inp: RunInput, options: RunOptions) -> RunResult:
    """Run the script ``inp`` names, with its dependencies; the entry point of the engine."""
    session = Session(catalog, options)
    result = session.run(inp)
    session.finish()
    return result
