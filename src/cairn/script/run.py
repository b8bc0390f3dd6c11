"""One script run as a pipeline of small named steps (cm-script.md §2).

select → resolve variations → layer the meta and env → key → memo / cache lookup →
(deps → preprocess → prehook deps → native script → posthook deps → postprocess → post deps)
→ new env/state → cache entry → result.

A :class:`Session` holds what a whole run tree shares: the catalog, the cache, the memo of
scripts already run with the same key, the stack used to detect dependency cycles, and the
options. :class:`ScriptRun` is one script's run; each step is one method.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cairn import engine_vars, report, staging
from cairn.errors import CairnError, InvalidInput, NotFound
from cairn.home import WORK_KEPT, WORK_PREFIX
from cairn.record import replace
from cairn.script import deps as deps_mod
from cairn.script import env as env_mod
from cairn.script import (
    expiry,
    layers,
    mlc_compat,
    pathkeys,
    pins,
    scope,
    select,
    variations,
    versions,
)
from cairn.script import reads as reads_mod
from cairn.script.cache import (
    Cache,
    CachedState,
    EntryFields,
    KeyInput,
    Scope,
    entry_tags,
    key_of,
    slot_key,
)
from cairn.script.choices import Choices
from cairn.script.context import RunInput, RunOptions, RunResult
from cairn.script.keys import Fingerprints, canonical
from cairn.script.model import DEP_LISTS, Dep, ScriptMeta, dep_to_dict, parse_deps
from cairn.store.catalog import Catalog

INPUT_FLAGS = (
    "input",
    "output",
    "outdirname",
    "outbasename",
    "name",
    "skip_compile",
    "skip_run",
    "accept_license",
    "skip_system_deps",
    "git_ssh",
    "gh_token",
    "hf_token",
)
"""Run inputs CM also exposes to a script as ``<PREFIX><NAME>`` (``CM_NAME``, ``MLC_NAME``;
``--path`` is ``TMP_PATH``): :meth:`cairn.engine_vars.EngineVars.flag`."""
LOG_FILE = "cairn-run.log"
MAX_REENTRIES = 8
"""How often one script with the same variations may be re-entered below itself (with
another env each time) before cairn calls it a cycle."""


class DependencyCycle(CairnError):
    """A script needs itself, directly or through its dependencies."""


class Session:
    """What one run tree shares."""

    def __init__(self, catalog: Catalog, options: RunOptions) -> None:
        self.catalog = catalog
        self.options = options
        self.cache = Cache(catalog.registry)
        self.memo = scope.Memo()
        self.stack: list[tuple[str, tuple[str, ...], str, str]] = []
        self.cwd = Path.cwd()
        self.fingerprints = Fingerprints(self._select_for_key)
        self._work_root: Path | None = None
        self.checked_inputs = False
        self._found: dict[str, list[select.Candidate]] = {}
        self.choices = Choices(catalog.registry.home.root)
        self._pins: dict[str, str] | None = None

    def run(self, inp: RunInput) -> RunResult:
        return ScriptRun(self, inp).execute()

    def say(self, line: str) -> None:
        if self.options.echo is not None and not self.options.silent:
            self.options.echo(line)

    def uncached_dir(self, parent_work: Path | None) -> Path:
        """Where a script that is not cached runs: where its caller runs, as in CM -- the
        current directory for the top script, its parent's folder (a cached parent's entry)
        for a dependency. Never a folder removed after the run, so the paths a script
        exports stay valid."""
        where = parent_work or self.cwd
        if not os.access(where, os.W_OK | os.X_OK):
            raise InvalidInput(
                f"cannot write in {where}: a script that is not cached runs in the current "
                "directory (as in CM)",
                hint="run it from a directory you can write to",
            )
        return where

    def log_file(self, alias: str) -> Path:
        """A fresh log file outside the folder the script runs in (kept when the run fails:
        a cached script's unfinished entry is removed)."""
        handle, name = tempfile.mkstemp(prefix=f"{alias}-", suffix=".log", dir=self.work_root())
        os.close(handle)
        return Path(name)

    def work_root(self) -> Path:
        """This run's folder of logs under ``$CAIRN_HOME/work`` (removed after a successful
        run); folders of runs whose process died first are removed (:mod:`cairn.staging`)."""
        if self._work_root is None:
            root = self.catalog.registry.home.work_dir
            root.mkdir(parents=True, exist_ok=True)
            staging.clean(root, WORK_PREFIX, kept_mark=WORK_KEPT, unchecked_age_s=None)
            self._work_root = staging.make(root, WORK_PREFIX)
        return self._work_root

    @contextlib.contextmanager
    def entered(self, run: ScriptRun) -> Iterator[None]:
        """Mark ``run`` as in progress; meeting it again below itself is a cycle.

        A run is the script with its resolved variations and what it was given: a script
        may depend on itself with other variations (``get-generic-python-lib _pip``), or be
        reached again with another env that makes it skip the dependency that led back to it
        (get-compiler-flags -> get-gcc -> get-compiler-flags, whose compiler dependency is
        skipped once the compiler's ``C_COMPILER_BIN`` key is set). The same script, variations
        and env again would recurse for ever; so would more than ``MAX_REENTRIES`` re-entries
        of one script.
        """
        inp = run.inp
        volatile = run.names.unscoped  # left out of keys, and of cycle checks
        env = {k: v for k, v in inp.env.items() if not env_mod.matches_any(k, volatile)}
        given = canonical([env, inp.local_env, inp.inputs, inp.versions])
        frame = (run.uid, run.resolution.variations, run.label, given)
        same = [f for f in self.stack if f[:2] == frame[:2]]
        if any(f[3] == frame[3] for f in same) or len(same) > MAX_REENTRIES:
            path = [f[2] for f in self.stack[self.stack.index(same[0]) :]]
            cycle = DependencyCycle(
                f"dependency cycle: {' -> '.join([*path, run.label])}",
                hint="break it in one script's deps (enable_if_env/skip_if_env, or remove one)",
            )
            cycle.located = True  # the message is the path
            raise cycle
        self.stack.append(frame)
        try:
            yield
        finally:
            self.stack.pop()

    def finish(self) -> None:
        """Remove the logs of a successful run (unless ``--dirty``: kept)."""
        if self._work_root is not None and not self.options.dirty:
            shutil.rmtree(self._work_root, ignore_errors=True)
        else:
            self.keep()

    def keep(self) -> None:
        """Mark the work directories kept on purpose (a failed or ``--dirty`` run), so that
        the clean-up of folders left by dead processes never removes them."""
        if self._work_root is not None:
            with contextlib.suppress(OSError):
                (self._work_root / WORK_KEPT).touch()

    def candidates(self, request: select.ScriptRequest) -> list[select.Candidate]:
        """The scripts a request matches, searched once per run tree."""
        key = str(request)
        if key not in self._found:
            self._found[key] = select.find_candidates(self.catalog, request)
        return self._found[key]

    def pinned(self, request: select.ScriptRequest, repo: str | None) -> tuple[str | None, str]:
        """The repository a request must be served from, and why: the dependency's own
        ``repo``, else a pin of its tags (``--pin.TAGS=REPO``, then ``pins.json``)."""
        if repo is not None:
            return repo, "its dependency entry pins it there"
        if self._pins is None:
            self._pins = {**pins.read(self.catalog.registry.home.root), **self.options.pins}
        tags = pins.covering(self._pins, request)
        if tags is None:
            return None, ""
        if tags in self.options.pins:
            return self._pins[tags], f"pinned by --pin.{tags}"
        return self._pins[tags], f"pinned in {pins.FILE}: cairn pin script {tags} --remove unpins"

    def _select_for_key(self, tags: tuple[str, ...], parent_dir: Path, repo: str | None) -> Any:
        try:
            request = select.split_request(list(tags), None)
            found = select.in_repo(self.candidates(request), *self.pinned(request, repo), request)
            holding = [
                c.artifact.repo.path
                for c in found
                if parent_dir.is_relative_to(c.artifact.repo.path)
            ]
            found = _prefer_repo(found, holding[0] if holding else None)
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
        self.extra_tags: list[str] = []
        self.log: Path | None = None
        self.notebook: str | None = None  # a notebook step: its executed copy

    # -- the pipeline -----------------------------------------------------------------------

    def execute(self) -> RunResult:
        """Run the pipeline; an error in a dependency names where in the tree it is."""
        try:
            return self._execute()
        except CairnError as exc:
            if self.inp.where:
                locate(exc, self.where)
            raise

    @property
    def where(self) -> str:
        """The path from the top to this run, ending in its alias (or its request when no
        script was chosen): ``evaluate -> deps[0] train -> deps[2] (get,tokenizer)``."""
        if hasattr(self, "alias"):
            return f"{self.inp.where} {self.alias}".strip()
        tags = self.inp.tags if isinstance(self.inp.tags, str) else ",".join(self.inp.tags or ())
        return f"{self.inp.where} ({self.inp.name or tags})".strip()

    @contextlib.contextmanager
    def planned(self) -> Iterator[str]:
        """The planning steps, shared by the run and the plan (:mod:`cairn.script.plan`):
        select → resolve variations → (entered in the tree) layer the env → prepare the
        version → the static key and starting view → check the inputs. Yields the static key;
        nothing native has run."""
        self.select()
        self.resolve()
        with self.session.entered(self):
            self.layer()
            self.prepare()
            key = self.key()
            self.check_inputs()
            yield key

    def _execute(self) -> RunResult:
        started = time.monotonic()
        result = self._planned_run()
        result.seconds = round(time.monotonic() - started, 6)
        return result

    def _planned_run(self) -> RunResult:
        with self.planned() as key:
            earlier = self.session.memo.find(key, self.view)
            if earlier is not None:
                return self._reused(earlier)
            result = self.cached_or_fresh(key)
            self.session.memo.add(key, self.view, result)
            return result

    @property
    def label(self) -> str:
        """The script and its variations, as a person would write them: ``alias _a _b``."""
        return " ".join([self.alias, *(f"_{v}" for v in self.resolution.variations)])

    @property
    def request_text(self) -> str:
        """The request in CM's tags form: ``name,tag,_v`` (CM's ``deps`` list holds these)."""
        name = [str(self.request.name)] if self.request.name is not None else []
        return ",".join([*name, *self.request.words])

    def select(self) -> None:
        """Pick the script: by name or tags, variations checked, ambiguity never guessed."""
        self.request = select.split_request(self.inp.tags, self.inp.name)
        repo, why = self.session.pinned(self.request, self.inp.repo)
        found = select.in_repo(self.session.candidates(self.request), repo, why, self.request)
        found = _prefer_repo(found, self.inp.parent_repo)
        options = self.session.options
        choice = select.choose(found, quiet=options.quiet, chooser=options.chooser)
        self.choice_reason = choice.reason
        if choice.guessed:
            report.warn(f"{self.request}: {choice.reason}")
        asked = f"{self.request} from {self.inp.parent_repo}" if self.inp.parent_repo else ""
        changed = self.session.choices.note(
            asked or str(self.request), choice.candidate, found, pins.tags_of(self.request)
        )
        if changed:
            report.warn(changed)
        self.artifact = choice.candidate.artifact
        self.meta: ScriptMeta = choice.candidate.meta
        self.dir = self.artifact.path
        self.names = engine_vars.of(self.artifact.repo.dialect)  # the script's own dialect
        self.alias = self.artifact.alias or self.artifact.uid or self.dir.name
        self.uid = self.artifact.uid or self.alias
        mlc_compat.check(self.meta, self.alias)
        self.request = select.with_tag_aliases(self.request, self.meta)

    def resolve(self) -> None:
        """Which variations are on, and why."""
        self.resolution = variations.resolve(self.meta, self.request.variation_tags)

    def layer(self) -> None:
        """The effective meta and env, in CM's layer order."""
        eff = layers.start(self.meta, self.inp.env, self.inp.local_env)
        eff.inputs_const = self.names.dialect.inputs_const
        eff.state = env_mod.merge_state(self.inp.state, self.meta.state)
        eff.const = {**self.meta.const, **self.inp.const}
        eff.const_state = env_mod.merge_state(self.meta.const_state, self.inp.const_state)
        mappable = {**self.inp.flags, **self.inp.inputs}
        layers.map_inputs(eff, self.meta.input_mapping, mappable)
        for step in self.resolution.steps:
            layers.apply_payload(eff, step.payload, mappable)
        self.constraints = versions.Constraints.from_sources(
            self.inp.versions, eff.env, self.meta, self.names
        )
        self.check_listed_version()
        eff.env.update(self.constraints.env(self.names))
        payload = self.meta.versions.get(self.constraints.version or "")
        if payload is not None:
            layers.apply_payload(eff, payload, mappable)
        layers.apply_env_updates(eff, mappable)
        if eff.cache_expiration is None:
            eff.cache_expiration = self.inp.cache_expiration  # inherit_cache_expiration
        layers.update_deps(eff.deps, self.inp.add_deps, strict=True, where="add_deps")
        eff.adr = layers.merge_updates(eff.adr, self.inp.adr)
        layers.update_deps(eff.deps, eff.adr, strict=False, where="add_deps_recursive")
        eff.env.update(self._input_env())
        layers.finish(eff)
        for values in (eff.env, eff.const):  # an input_mapping sets both
            pathkeys.resolve(values, self.meta, self.session.cwd)
        self.eff = eff

    def check_listed_version(self) -> None:
        """A version the script's ``versions`` does not list, which it cannot act on, is
        refused (:func:`cairn.script.versions.acts_on_any_version`)."""
        known = list(self.meta.versions)
        asked = self.constraints.unlisted(known)
        if asked is None or versions.acts_on_any_version(self.dir, self.scan().files, self.names):
            return
        default = f" (default {self.meta.default_version})" if self.meta.default_version else ""
        raise InvalidInput(
            f"script {self.alias} knows the versions {', '.join(known)}, not {asked}",
            hint=f"ask for one of them, or leave the version out{default}",
        )

    def _input_env(self) -> dict[str, Any]:
        names = self.names
        values = {
            names.tmp_current_path: str(self.session.cwd),
            names.tmp_current_script_path: str(self.dir),
        }
        for flag in INPUT_FLAGS:
            if self.inp.inputs.get(flag):
                values[names.flag(flag)] = _flag_text(self.inp.inputs[flag])
        if self.inp.extra_cache_tags:
            values[names.extra_cache_tags] = ",".join(self.inp.extra_cache_tags)
        if self.inp.inputs.get("path"):
            values[names.tmp_path] = _flag_text(self.inp.inputs["path"])
        if self.session.options.quiet:
            values[names.quiet] = "yes"
        if self.session.options.verbose:
            values[names.verbose] = "yes"
        return values

    @property
    def cacheable(self) -> bool:
        if self.inp.skip_cache or self.inp.fake_run:
            return False
        return self.eff.cache or (self.inp.force_cache and self.meta.can_force_cache)

    def prepare(self) -> None:
        """What a run settles before its key: the default version, pip's version string."""
        self.apply_default_version()
        self.set_pip_version()

    def key(self) -> str:
        """The static key (everything fixed before the run except the env, const and state,
        whose values enter only as far as the run reads them), and the starting view."""
        inputs = {
            "inputs": self.inp.inputs,
            "extra_cache_tags": list(self.inp.extra_cache_tags),
            "script": self._fingerprint(),
            "deps": {n: [dep_to_dict(d) for d in self.eff.deps[n]] for n in DEP_LISTS},
            "adr": self._adr_below(),
            "fake_run": self.inp.fake_run,
        }
        if self.inp.force_new_env_keys is not None:
            inputs["force_new_env_keys"] = list(self.inp.force_new_env_keys)
        if self.session.options.cache_key_env:
            inputs["cache_key_env"] = sorted(self.session.options.cache_key_env)
        if _names_local_paths(self.inp.inputs, self.session.cwd):
            inputs["cwd"] = str(self.session.cwd)  # a relative path means another file elsewhere
        self.key_input = KeyInput(
            script_uid=self.uid,
            variations=self.resolution.variations,
            version=json.dumps(self.constraints.env(self.names), sort_keys=True),
            inputs=json.loads(canonical(inputs)),  # objects an API caller passed: as text
        )
        self.view = reads_mod.View(self.eff.env, self.eff.const, self.eff.state, self.inp.env)
        self.reads: set[str] = scope.static_reads(
            self.scan(), self.eff, self.meta, self.view, self.names, self.inp.force_new_env_keys
        )
        self.reads |= {reads_mod.ENV + k for k in self.session.options.cache_key_env}
        return key_of(self.key_input)

    def check_inputs(self) -> None:
        """Warn about (or, with ``--strict``, refuse) inputs the top script does not take."""
        if len(self.session.stack) != 1 or self.session.checked_inputs:
            return
        from cairn.script import inputs

        self.session.checked_inputs = True
        version = self.meta.versions.get(self.constraints.version or "")
        mapped = inputs.taken(self.meta, self.resolution.steps, version)
        generic = (*INPUT_FLAGS, "path", "artifacts")
        names = inputs.untaken(self.inp.inputs, mapped, self.scan().names, generic)
        options = self.session.options
        for text in inputs.check(self.alias, names, mapped, strict=options.strict):
            report.warn(text)

    def scan(self) -> Any:
        return self.session.fingerprints.scan(self.dir, self.artifact.meta)

    def _adr_below(self) -> dict[str, Any]:
        """The ``add_deps_recursive`` entries that can reach a dependency below this script."""
        if not self.eff.adr:
            return {}
        below = self.session.fingerprints.dep_names(self.dir) if self.cacheable else None
        return {
            name: dep_to_dict(update)
            for name, update in sorted(self.eff.adr.items())
            if below is None or name in below
        }

    def _fingerprint(self) -> Any:
        """The content of the script and its dependency tree -- only for a cached run: an
        uncached one is keyed for the in-run memo alone, and nothing changes within one run."""
        if not self.cacheable:
            return str(self.dir)
        return self.session.fingerprints.script(self.dir, self.meta, self.artifact.meta)

    def cached_or_fresh(self, key: str) -> RunResult:
        if not self.cacheable:
            return self.uncached(key)
        cache = self.session.cache
        if not self.inp.new:
            entry = cache.find(key, self.view, self._note_removed) or self._shared(key)
            if entry is not None:
                return self.from_entry(entry, key)
        with cache.running(key):
            return self._created(cache, key)

    def _shared(self, key: str) -> Any:
        """The entry a shared cache (``--cache-from``) has for this run, taken home; or None."""
        if not self.session.options.cache_from:
            return None
        from cairn.script import shared

        cache = self.session.cache
        for url in self.session.options.cache_from:
            with cache.running(key):
                if shared.take(cache, key, self.view, url):
                    entry = cache.find(key, self.view)
                    if entry is not None:
                        self.session.say(
                            f"{self.alias}: taken from the shared cache {shared.shown(url)}"
                        )
                        return entry
        return None

    def uncached(self, key: str) -> RunResult:
        """A run that is not cached, where its caller runs; the files cairn wrote there for
        it (wrapper, state, outputs) are removed after a success, unless ``--dirty``."""
        self.log = self.session.log_file(self.alias)
        result = self.fresh(self.session.uncached_dir(self.inp.parent_work), key, "not cached")
        if not self.session.options.dirty:
            from cairn.script import native

            for folder in {self.work, self.here}:
                native.remove_own_files(folder)
        return result

    def _created(self, cache: Cache, key: str) -> RunResult:
        """Run into a new entry (under the static key's lock), unless one appeared."""
        slot = slot_key(key, self.view, self.names.unscoped)
        if self.inp.new:
            slot = cache.renewal_slot(slot)
        recheck = None if self.inp.new else (lambda: cache.find(key, self.view))
        with cache.create(slot, renew=self.inp.new, recheck=recheck) as pending:
            if pending.existing is not None:
                return self.from_entry(pending.existing, key)
            self.log = self.session.log_file(self.alias)
            result = self.fresh(pending.path, key, "miss")
            self._tidy_moved(pending.path)
            if result.cache != "skipped":
                self._keep_log(pending.path)
                scoped = Scope.of(key, result.reads, self.view)
                entry = pending.commit(
                    self._entry_fields(result, scoped), self._cached_state(result)
                )
                cache.note(entry, scoped, renew=self.inp.new)  # inside the lock: seen at once
                result.key = entry.key
                result.uses = (entry.uid, *result.uses)
        return result

    def log_path(self) -> Path:
        """This run's log: always under the session's work folder (copied into a new entry),
        never where a hook moved the process (``os.chdir`` into the user's files)."""
        if self.log is None:
            self.log = self.session.log_file(self.alias)
        return self.log

    def _tidy_moved(self, entry: Path) -> None:
        """A hook moved a cached run out of its entry: the files cairn wrote there for the
        native script go (the entry keeps what it needs), unless ``--dirty``."""
        if self.here != entry and not self.session.options.dirty:
            from cairn.script import native

            native.remove_own_files(self.here)

    def _note_removed(self, entry: Any, removed: list[str]) -> None:
        self.session.say(
            f"{self.label}: entry {entry.path} came from removed cache entries "
            f"({', '.join(removed)}); running it again"
        )

    def _keep_log(self, entry: Path) -> None:
        """Copy the log of the native script into the new entry (a failure keeps it outside)."""
        if self.log is not None and self.log.is_file() and self.log.stat().st_size:
            shutil.copyfile(self.log, entry / LOG_FILE)

    # -- a fresh run ------------------------------------------------------------------------

    def fresh(self, work: Path, key: str, status: str) -> RunResult:
        """deps → preprocess → prehook deps → native → posthook deps → postprocess → post deps.

        With ``--fake_run`` only the deps and prehook deps run (as in CM).
        """
        self.work = work
        # Where hooks and the native script run: the work directory, unless a hook moved
        # (``os.chdir``), as CM's extract-file does to unpack in place.
        self.here = work
        self.session.say(f"run {self.label} ({status})")
        self.check_disk_space()
        if self.eff.docker:
            self.eff.state["docker"] = dict(self.eff.docker)
        if self.meta.sudo_install and not self.inp.fake_run:
            from cairn.script import sudo

            sudo.check(self.alias)
        from cairn.script.hooks import Hooks

        # before the deps, as CM and MLCFlow load it
        self.hooks = Hooks.load(self.dir, self.names.dialect)
        if self.meta.predeps and not self.inp.fake_run:
            self.call_hook("predeps")
        self.run_deps("deps")
        if self.inp.fake_run:
            self.run_deps("prehook_deps")
            return self.result(key, status)
        self.env_with_const()
        pre = self.call_hook("preprocess")
        if pre.get("skip"):
            return self._skipped(key, pre.get("script"))
        self.run_deps("prehook_deps")
        self.clean_files()
        if isinstance(pre.get("script"), dict):
            self.run_instead(pre["script"])
        else:
            self.run_native()
        self.run_deps("posthook_deps")
        self.env_with_const()
        self.call_hook("postprocess")
        self.run_deps("post_deps")
        self.check_version()
        self.print_env_at_the_end()
        return self.result(key, status)

    def check_disk_space(self) -> None:
        """Warn when the variations' ``required_disk_space`` exceeds the free space."""
        needed = self.eff.required_disk_space
        if needed <= 0:
            return
        free = shutil.disk_usage(self.work).free // (1024 * 1024)
        if free < needed:
            report.warn(f"script {self.alias} needs {needed} MB of disk; {free} MB are free")

    def print_env_at_the_end(self) -> None:
        """``print_env_at_the_end``: show chosen results, ``label: value`` (progress channel)."""
        for key, label in self.meta.print_env_at_the_end.items():
            if key in self.eff.env:
                self.session.say(f"{label or key}: {env_mod.text(self.eff.env[key])}")

    def clean_files(self) -> None:
        """``clean_files``/``clean_output_files``: stale files removed from the work dir."""
        for name in (*self.meta.clean_files, *self.meta.clean_output_files):
            target = self.work / name
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise InvalidInput(f"script {self.alias}: clean file {name!r} must stay inside")
            if target.is_file() or target.is_symlink():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)

    def _skipped(self, key: str, script: Any) -> RunResult:
        """``preprocess`` said ``skip``: nothing more runs here (no entry is made), unless it
        also named a ``script``; that one then runs in this run's place with its env and
        state, and its exports are this run's result, as in CM (get-github-cli has its
        installer run this way)."""
        if not isinstance(script, dict) or not script:
            return self.result(key, "skipped")
        child = self.run_instead(script)
        return self._result(key, "skipped", dict(child.new_env), dict(child.new_state))

    def run_instead(self, spec: dict[str, Any]) -> RunResult:
        """``preprocess`` returned ``script``: that script runs in place of the native one,
        with this run's env and state; its exports join this run's env."""
        inputs = {k: v for k, v in spec.items() if k not in ("tags", "artifact", "env", "state")}
        child = RunInput(
            tags=spec.get("tags"),
            name=spec.get("artifact"),
            env={**self.eff.env, **dict(spec.get("env") or {})},
            state=env_mod.merge_state(self.eff.state, dict(spec.get("state") or {})),
            const=self.eff.const,
            const_state=self.eff.const_state,
            inputs=inputs,
            adr=self.eff.adr,
            parent=self.alias,
            parent_work=self.here,
        )
        result = self.session.run(child)
        self.results.append(result)
        self.absorb(result, {})
        return result

    def apply_default_version(self) -> None:
        """``default_version`` applies only when no version was asked for (and on a miss)."""
        if self.constraints.version or not self.eff.default_version:
            return
        version = self.constraints.clamp_default(self.eff.default_version)
        if version is None:
            return
        self.eff.env[self.names.version] = version
        payload = self.meta.versions.get(version)
        if payload is not None:
            layers.apply_payload(self.eff, payload, self.inp.inputs)
            layers.finish(self.eff)

    def set_pip_version(self) -> None:
        """CM's ``TMP_PIP_VERSION_STRING`` (``==v``, ``>=min,<=max``, ...) for pip installs."""
        version = self.eff.env.get(self.names.version)
        spec = f"=={version}" if version else self.constraints.pip_spec()
        if spec:
            self.eff.env[self.names.tmp_pip_version_string] = spec

    def env_with_const(self) -> None:
        self.eff.env.update(self.eff.const)
        self.eff.state = env_mod.merge_state(self.eff.state, self.eff.const_state)

    def run_deps(self, name: str, *, cached: bool = False) -> None:
        """Run one dependency list; each child's exports reach the later ones.

        ``cached``: the script itself comes from the cache, so only ``dynamic`` entries run.
        """
        for index, dep in enumerate(list(self.eff.deps[name])):
            fake = self.inp.fake_run
            if deps_mod.enabled(dep, self.eff.env, fake_run=fake, cached=cached):
                self.run_dep(dep, name, index)

    def run_dep(self, dep: Dep, list_name: str, index: int = 0) -> None:
        child, hidden = self.child_input(dep, list_name)
        child.where = f"{self.where} -> {list_name}[{index}]"
        if self.session.options.fake_deps:
            self.session.say(f"skip {' '.join(child.tags or [])} (--fake_deps)")
            return
        result = self.session.run(child)
        self.results.append(result)
        self.absorb(result, hidden)

    def child_input(self, dep: Dep, list_name: str) -> tuple[RunInput, dict[str, Any]]:
        """The run input of dependency ``dep`` and the env keys hidden from it.

        Every list hides CM's local keys and ``local_env_keys``; ``post_deps`` also hide
        ``clean_env_keys_post_deps`` (CM hides only those there, leaking the parent's
        ``VERSION``/``TMP_*``/``GIT_*`` keys into its post deps; cairn does not).
        """
        local = self.meta.local_env_keys
        if list_name == "post_deps":
            local = (*local, *self.meta.clean_env_keys_post_deps)
        visible, hidden = deps_mod.visible_env(dep, self.eff.env, local, self.names)
        parent = [(v, self.resolution.group_of.get(v)) for v in self.resolution.variations]
        tags = deps_mod.child_tags(dep, self.eff.env, parent)
        child = deps_mod.child_input(dep, tags, self._as_parent(), visible, self.eff.state)
        if dep.inherit_cache_expiration:
            child.cache_expiration = self.eff.cache_expiration
        return child, hidden

    def _as_parent(self) -> RunInput:
        return RunInput(
            name=self.alias,
            parent_repo=self.artifact.repo.path,
            parent_work=getattr(self, "here", None),  # a hit's dynamic deps: the cwd
            const=self.eff.const,
            const_state=self.eff.const_state,
            adr=self.eff.adr,
        )

    def absorb(self, result: RunResult, hidden: dict[str, Any]) -> None:
        """A child's exports join the env; keys hidden from it come back over them; what it
        read is read by this run too (its env came from this run's)."""
        self.reads |= scope.from_child(result.reads)
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

        with self._tracking():
            raw_meta = self._hook_meta()
            ctx = self._hook_context(raw_meta)
            i = hook_input.build(ctx)
            with _hook_output(self.session.options.output):
                result, self.here = self.hooks.call(name, i, cwd=self.here)
            self._take_hook_meta(raw_meta)
            self.eff.env, self.eff.state = ctx.env, ctx.state
            self._take_hook_result(result, i["run_script_input"])
        return result

    @contextlib.contextmanager
    def _tracking(self) -> Iterator[None]:
        """While hooks run, the live env, const and state note what is read (a hook calling
        another hook, or a native script, shares them); then they are plain dicts again."""
        if isinstance(self.eff.env, reads_mod.Tracked):
            yield
            return
        self.eff.env = reads_mod.Tracked(self.eff.env)
        self.eff.state = reads_mod.Tracked(self.eff.state)
        self.eff.const = reads_mod.Tracked(self.eff.const)
        self.caller = reads_mod.Tracked(self.inp.env)
        try:
            yield
        finally:
            self.reads |= scope.hook_reads(self.eff, self.caller)
            self.eff.env = reads_mod.plain(self.eff.env)
            self.eff.state = reads_mod.plain(self.eff.state)
            self.eff.const = reads_mod.plain(self.eff.const)

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
            input={**self.inp.inputs, "env": self.caller, "tags": self.request_text},
            const=self.eff.const,
            const_state=self.eff.const_state,
            script_path=self.dir,
            work_path=self.here,
            artifact_meta=self.artifact.meta,
            script_tags=list(self.request.tags.include),
            variation_tags=list(self.resolution.explicit),
            variation_tags_string=self.resolution.tags_string,
            customize=dict(self.meta.customize),
            run_native=self._run_named_native,
            call_hook=self.call_hook,
            check_version=self._version_problem,
            names=self.names,
        )

    def _take_hook_result(self, result: dict[str, Any], run_input: dict[str, Any]) -> None:
        """CM's return keys: ``version``, ``add_extra_cache_tags``; and the native script a
        hook chose by setting ``i['run_script_input']['script_name']``."""
        if result.get("version"):
            self.eff.env[self.names.detected_version] = str(result["version"])
        script_name = run_input.get("script_name") or result.get("script_name")
        if script_name:
            self.eff.script_name = str(script_name)
        extra = result.get("add_extra_cache_tags") or ()
        items = extra.split(",") if isinstance(extra, str) else extra
        self.extra_tags += [str(t).strip() for t in items if str(t).strip()]

    def run_native(self) -> None:
        """The native script, wrapped; its outputs join the env and state."""
        from cairn.script import native

        name = self.eff.script_name or "run"
        path = native.pick_script(self.dir, name, native.HostOS.from_env(self.eff.env, self.names))
        if path is None:
            if self.eff.script_name:
                raise NotFound(
                    f"script {self.alias}: native script {name!r} not found in {self.dir}"
                )
            return
        self._apply_key_mappings()
        self._native(path, self.eff.env, name)

    def _run_named_native(self, name: str, env: dict[str, Any]) -> int:
        from cairn.script import native

        host = native.HostOS.from_env(reads_mod.plain(env), self.names)  # the engine's: no read
        path = native.pick_script(self.dir, name, host)
        if path is None:
            raise NotFound(f"script {self.alias}: native script {name!r} not found in {self.dir}")
        self._native(path, env, name)
        return 0

    def _native(self, path: Path, env: dict[str, Any], name: str) -> None:
        """Run a native script with ``env`` (updated in place with its outputs). It may read
        any env value its files name (the key's reads say so) and, when they name the
        state file, the whole state."""
        from cairn.script import native

        self.reads |= scope.native_reads(self.scan(), name, self.names)
        env.update(reads_mod.plain(self.eff.const))
        outer, env = env, reads_mod.plain(env)
        env[self.names.tmp_current_script_work_path] = str(self.here)
        native.clear_outputs(self.here)
        state = reads_mod.plain(self.eff.state)  # what the files may read is already a read
        (self.here / native.STATE_IN).write_text(json.dumps(state, default=str))
        if self.session.options.print_env:
            self.session.say("\n".join(f"{k}={env[k]}" for k in sorted(env)))
        from cairn.compat import importing

        prefix = [*importing.native_prefix_lines(), *(self.eff.state.get("script_prefix") or [])]
        if path.suffix == native.NOTEBOOK_SUFFIX:
            self._check_notebook(path)
        wrapper = native.write_wrapper(self.here / native.WRAPPER, env, path, prefix)
        try:
            ended = native.run(
                wrapper,
                self.here,
                self.log_path(),
                script=str(path),
                echo=self.session.options.output,
                check=not self.inp.ignore_script_error,
            )
            if ended.exit_code:
                report.warn(f"{path} failed with exit code {ended.exit_code} (ignored)")
        except native.NativeScriptFailed as failure:
            failure.message += self._files_on_error() + self._kept_notebook(path)
            raise
        self.notebook = self._executed_notebook(path)
        outputs = native.read_outputs(self.here)
        dict.update(outer, env)
        dict.update(outer, outputs.env)
        merged = env_mod.merge_state(state, outputs.state)
        dict.clear(self.eff.state)  # in place: a hook that ran this script holds the same dict
        dict.update(self.eff.state, merged)

    def _check_notebook(self, path: Path) -> None:
        """Before a notebook step: the extra is installed and the file is a notebook (said
        here, not in a traceback of the step)."""
        from cairn.notebook import extra, nbfile

        extra.require(f"script {self.alias}: its notebook step {path.name}")
        nbfile.load(path)

    def _executed_notebook(self, path: Path) -> str | None:
        """A notebook step's executed copy, where the step ran: its cache entry, or for a
        script that is not cached the folder it ran in (the current directory, which stays)."""
        from cairn.script import native

        executed = self.here / f"{path.stem}.executed{native.NOTEBOOK_SUFFIX}"
        if path.suffix != native.NOTEBOOK_SUFFIX or not executed.is_file():
            return None
        return str(executed)

    def _kept_notebook(self, path: Path) -> str:
        """A failed notebook step: its partly executed copy, kept beside the run's log (a
        cache entry that failed is removed)."""
        from cairn.script import native

        executed = self.here / f"{path.stem}.executed{native.NOTEBOOK_SUFFIX}"
        if path.suffix != native.NOTEBOOK_SUFFIX or not executed.is_file():
            return ""
        log = self.log_path()
        kept = log.with_name(f"{log.stem}.{executed.name}")
        shutil.copyfile(executed, kept)
        return f"\nthe partly executed notebook is kept in {kept}"

    def _files_on_error(self) -> str:
        """``print_files_if_script_error``: the files' text added to the failure."""
        parts = []
        for name in self.meta.print_files_if_script_error:
            path = self.here / name
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")[-4000:]
                parts.append(f"\n--- {name} ---\n{text.rstrip()}")
        return "".join(parts)

    def _apply_key_mappings(self) -> None:
        for prefix, new_prefix in self.meta.env_key_mappings.items():
            for key in [k for k in self.eff.env if k.startswith(prefix)]:
                self.eff.env[new_prefix + key[len(prefix) :]] = self.eff.env[key]

    def check_version(self) -> None:
        problem = self._version_problem(self.version) if self.version else None
        if problem:
            raise NotFound(problem, hint="change the version constraints or install a matching one")

    def _version_problem(self, version: str) -> str | None:
        if self.constraints.satisfies(version):
            return None
        return f"script {self.alias}: version {version} does not satisfy {self.constraints}"

    @property
    def version(self) -> str | None:
        env = self.eff.env
        found = env.get(self.names.detected_version) or env.get(self.names.version)
        return str(found) if found else None

    # -- results ----------------------------------------------------------------------------

    def result(self, key: str, status: str) -> RunResult:
        self.env_with_const()
        patterns = self.inp.force_new_env_keys or tuple(self.eff.new_env_keys)
        self.reads |= scope.export_pattern_reads(patterns, self.view, self.eff.env, self.eff.const)
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
            tags=self.request_text,
            variations=self.resolution.variations,
            version=self.version,
            cache=status,
            entry=entry,
            new_env=new_env,
            new_state=new_state,
            deps=self.results,
            work=getattr(self, "work", None),
            key=key,
            reads=(reads := scope.final(self.reads, self.names)),
            read_values=reads_mod.values(reads, self.view),
            static_key=key_of(self.key_input),
            where=self.where,
            content=self.scan().digest,
            repo=self.artifact.repo.alias,
            repo_path=self.artifact.repo.path,
            repo_uid=self.artifact.repo.uid,
            results=self.meta.experiment_results,
            uses=tuple(dict.fromkeys(u for r in self.results for u in r.uses)),
            notebook=self.notebook,
        )

    def from_entry(self, entry: Any, key: str) -> RunResult:
        """A cache hit: dynamic deps only, no customize code, no native script."""
        self.session.say(f"load {self.label} from cache {entry.path}")
        for name in DEP_LISTS:
            self.run_deps(name, cached=True)
        state = entry.load_state()
        self.reads |= set(scope.entry_reads(entry))
        result = self._result(entry.key, "hit", dict(state.new_env), dict(state.new_state))
        result.entry = entry.path
        result.version = state.version
        result.uses = tuple(dict.fromkeys((entry.uid, *entry.came_from(), *result.uses)))
        return result

    def _reused(self, earlier: RunResult) -> RunResult:
        self.session.say(f"reuse {self.alias} (already run with the same inputs)")
        return replace(earlier, cache="reused", deps=[])

    def _entry_fields(self, result: RunResult, scoped: Scope) -> EntryFields:
        tags = entry_tags(
            script_uid=self.uid,
            requested=tuple(self.request.tags.include),
            script_tags=self.meta.tags,
            variations=self.resolution.variations,
            version=result.version,
            extra=(*self.inp.extra_cache_tags, *self.extra_tags),
            deps_tags=self._env_cache_tags(),
        )
        return EntryFields(
            inputs=self.key_input,
            script_alias=self.alias,
            tags=tags,
            version=result.version,
            dependent_cached_path=self._dependent_folder(),
            scope=scoped,
            dep_entries=result.uses,
            expires=self._expires(),
        )

    def _dependent_folder(self) -> str | None:
        """``GET_DEPENDENT_CACHED_PATH`` when it names an existing folder (as CM records it):
        the entry is then dropped once that folder is gone; any other value is not recorded,
        so it never costs the entry."""
        value = self.eff.env.get(self.names.get_dependent_cached_path)
        text = str(value).strip() if value else ""
        return text if text and Path(text).is_dir() else None

    def _expires(self) -> str | None:
        """When the new entry expires (``cache_expiration``), or ``None``: never."""
        lifetime = self.eff.cache_expiration
        return expiry.expires_at(lifetime) if lifetime else None

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


class _Channel:
    """A text stream writing to the run's output channel (what ``print`` in a hook uses)."""

    def __init__(self, output: Any) -> None:
        self.output = output

    def write(self, text: str) -> int:
        self.output(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        return None


def _hook_output(output: Any) -> Any:
    """``print`` in a hook goes where the native scripts' output goes: the terminal with the
    console, stderr with ``--out=json``, nowhere for the Python API (unless ``out='con'``)."""
    if output is None:
        return contextlib.nullcontext()
    return contextlib.redirect_stdout(_Channel(output))


def locate(exc: CairnError, where: str) -> None:
    """Prefix an error with where in the run tree it happened (once: the deepest place)."""
    if exc.located:
        return
    exc.message = f"{where}: {exc.message}"
    exc.located = True


def _merged_value(old: Any, new: Any) -> Any:
    """A child's ``+KEY`` list joins the parent's after it, without repeats (as CM merges)."""
    if isinstance(old, list) and isinstance(new, list):
        return [*old, *[x for x in new if x not in old]]
    return new


def _names_local_paths(inputs: dict[str, Any], cwd: Path) -> bool:
    """Whether an input value is a relative path to something in the current directory."""
    for value in inputs.values():
        if isinstance(value, str) and value and not value.startswith(("/", "-")):
            try:
                if len(value) < 4096 and (cwd / value).exists():
                    return True
            except (OSError, ValueError):
                continue
    return False


def _flag_text(value: Any) -> str:
    """A flag's value as CM exports it: ``True`` for a bare ``--flag``, text stripped."""
    return "yes" if value is True else str(value).strip()


def _prefer_repo(found: list[select.Candidate], repo: Path | None) -> list[select.Candidate]:
    """Among several matches, a dependency prefers scripts of its parent's own repository."""
    if repo is None or len(found) < 2:
        return found
    same = [c for c in found if c.artifact.repo.path == repo]
    return same or found
