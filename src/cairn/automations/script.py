"""The ``script`` automation: run portable automation recipes (and the common actions)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from cairn.automations import containers, remote
from cairn.automations.common import CommonAutomation
from cairn.automations.contract import (
    COMMON_NAMES,
    CONTROL_KEYS,
    Call,
    Flag,
    Outcome,
    action,
)
from cairn.errors import CairnError, InvalidInput
from cairn.runs.capture import Capture

_RUN_FLAGS = (
    Flag("tags", "str", "script tags and variations: get,python3,_shared"),
    Flag("env", "dict", "env values for the run: --env.KEY=VALUE"),
    Flag("const", "dict", "env values nothing may override: --const.KEY=VALUE"),
    Flag("state", "dict", "initial state: --state.KEY=VALUE"),
    Flag("const_state", "dict", "state nothing may override"),
    Flag("version", "str", "the exact version wanted"),
    Flag("version_min", "str", "the lowest acceptable version"),
    Flag("version_max", "str", "the highest acceptable version"),
    Flag("version_max_usable", "str", "the version to use when above version_max"),
    Flag("add_deps_recursive", "dict", "change named deps anywhere below", aliases=("adr",)),
    Flag("add_deps", "dict", "change this script's named deps: --ad.NAME.KEY=V", aliases=("ad",)),
    Flag("force_cache", "bool", "cache this script if it can be cached on demand"),
    Flag("skip_cache", "bool", "neither use nor create a cache entry for this script"),
    Flag(
        "new",
        "switch",
        "run again and replace this script's cache entry (a value such as a path also counts "
        "as yes, as in CM, and reaches the script when its input_mapping names 'new')",
        aliases=("renew",),
    ),
    Flag("ignore_script_error", "bool", "a failing native script of this script is not an error"),
    Flag("save_env", "bool", "write the exported env to tmp-env.sh in the current directory"),
    Flag("dirty", "bool", "keep cairn's tmp-* files where non-cached scripts ran, and the logs"),
    Flag("quiet", "bool", "never ask; pick by the documented rules"),
    Flag("silent", "bool", "no progress lines", aliases=("s",)),
    Flag("verbose", "bool", "more progress lines", aliases=("v",)),
    Flag("print_env", "bool", "print the env passed to each native script"),
    Flag("print_deps", "bool", "print the dependency tree at the end"),
    Flag(
        "pin", "dict", "serve requests by these tags from a repository: --pin.get,python3=builtin"
    ),
    Flag("return_output", "bool", "return the run's output (scripts and hooks, bounded) as output"),
    Flag(
        "explain",
        "bool",
        "show the plan (choice, variations, cache status); run nothing",
        aliases=("dry_run",),
    ),
    Flag("strict", "bool", "an input no script of the run takes is an error, not a warning"),
    Flag("lock", "str", "write a lock file of the resolved run (FILE.yaml, or JSON)"),
    Flag("locked", "str", "run pinned to a lock file: drift is listed and refused"),
    Flag("allow_drift", "bool", "with --locked: warn about drift and run anyway"),
    Flag("fake_run", "bool", "run deps and prehook deps only", aliases=("prepare",)),
    Flag("fake_deps", "bool", "do not run dependencies at all"),
    Flag("extra_cache_tags", "list", "extra tags for the cache entry"),
    Flag(
        "cache_key_env",
        "list",
        "env names or patterns every script of the run counts as read (widens cache keys)",
    ),
    Flag(
        "cache_from",
        "str",
        "take missing cache entries from a shared cache: URL of cairn serve --cache, comma"
        " separated (default: $CAIRN_CACHE_FROM)",
    ),
    *remote.FLAGS,
    containers.DOCKER_FLAG,
    Flag("name", "str", "the script's NAME key (CM_NAME, MLC_NAME)"),
    Flag("input", "str", "the script's INPUT key (CM_INPUT, MLC_INPUT)"),
    Flag("output", "str", "the script's OUTPUT key (CM_OUTPUT, MLC_OUTPUT)"),
)
_SCRIPT_INPUTS = {"name", "input", "output"}
"""Flags that are also inputs a script sees (its dialect's ``NAME``, ``INPUT``, ``OUTPUT``)."""
_ENGINE_KEYS = (
    {f.name for f in _RUN_FLAGS} | {a for f in _RUN_FLAGS for a in f.aliases}
) - _SCRIPT_INPUTS
_NOT_INPUTS = _ENGINE_KEYS | CONTROL_KEYS | COMMON_NAMES
_NOT_SENT = remote.NAMES | {"cmd", "unparsed_cmd", "out", "lock", "locked"}
"""What a run sent to a worker leaves behind (the worker's answer comes back as JSON)."""
"""Keys of a run request that are no input of the script (and so no part of its cache key)."""


class ScriptAutomation(CommonAutomation):
    """Scripts: cached automation recipes with dependencies, variations and versions."""

    summary = "portable automation recipes: run with deps, variations, versions and cache; docker"

    def _added(self, artifact: Any) -> list[str]:
        """A new script gets a small template: ``run.sh`` and a commented ``customize.py``."""
        from cairn.script import template

        return [f"Wrote {path}" for path in template.write(artifact.path, artifact.alias)]

    @action(
        "run",
        summary="run a script (and its dependencies), or show its plan with --explain",
        usage='cairn run script [ALIAS | "TAGS _VARIATION"] [ARTIFACT...] [--tags=a,b,_v] ...',
        example='cairn run script "get python3" --version_min=3.8 --out=json',
        flags=_RUN_FLAGS,
        any_flags=True,
    )
    def run(self, call: Call) -> Outcome:
        from cairn.script import run

        call = _dot_named(self.catalog, self.kind, call)
        if (call.flag("executor") or "local") != "local":
            wanted = {k: v for k, v in call.raw.items() if k not in _NOT_SENT}
            return remote.run_script(call, self.catalog, wanted)
        if call.flag("docker"):
            inner = Call(call.artifacts, call.opts, containers.script_input(call.raw))
            return containers.run_script(self.catalog, call, _run_input(inner), _options(inner))
        inp = _run_input(call)
        said: list[str] = []
        capture = Capture()
        options = _options(call, said, capture)
        if call.flag("explain"):
            from cairn.script import plan

            session = run.Session(self.catalog, options)
            node = plan.plan(session, inp)
            return Outcome({"plan": node.to_json()}, node.lines())
        recorder = _Recorder(self.catalog, call, capture)
        session = run.Session(self.catalog, options)
        try:
            pinned = _Pinned.check(call, run.Session(self.catalog, options), inp)
            result = session.run(inp)
        except BaseException as exc:
            session.keep()
            _failed(exc, recorder, bool(call.flag("return_output")), capture)
            raise
        session.finish()
        record = recorder.build(result, pinned.before)
        after = pinned.after(record)
        if after:
            record["drift"] = [*record.get("drift", []), *after]
        record_path = recorder.save(record)
        pinned.finish(record, after)
        data = {"new_env": result.new_env, "new_state": result.new_state, **result.to_json()}
        if record_path is not None:
            data["run_record"] = record_path.name
        if pinned.before or after:
            data["drift"] = [*pinned.before, *after]
        if call.flag("return_output"):
            data["output"] = capture.text()
        lines = _result_lines(result, bool(call.flag("print_deps")))
        if call.flag("save_env"):
            lines.append(f"Saved the exported env to {_save_env(result.new_env)}")
        outcome = Outcome(data, lines)
        if result.cache == "hit" and not result.deps and result.entry is not None:
            watched = _watched(self.catalog, session.fingerprints.dirs(), result)
            outcome.extra["replay"] = {"watched": watched, "notes": said, **recorder.template}
        return outcome

    @action(
        "docker",
        summary="write a script's container build context (Dockerfile, cairn's wheel, the "
        "repositories at their commits, an entrypoint); --build and --run it with podman or docker",
        usage='cairn docker script "TAGS _VARIATION" --to=DIR [--base=IMAGE] [--lock=FILE] '
        "[--build] [--run] [--network=NAME]",
        example='cairn docker script "detect os" --to=ctx --base=debian:bookworm --build --run',
        flags=(*containers.FLAGS, *containers.run_flags(_RUN_FLAGS)),
        any_flags=True,
    )
    def docker(self, call: Call) -> Outcome:
        call = _dot_named(self.catalog, self.kind, call)
        inner = Call(call.artifacts, call.opts, containers.script_input(call.raw))
        return containers.docker(self.catalog, call, _run_input(inner), _options(inner))

    @action(
        "pin",
        summary="pin the repository whose script serves requests made of these tags (list "
        "the pins without TAGS; --remove unpins)",
        usage="cairn pin script [TAGS [REPO]] [--remove]",
        example="cairn pin script get,python3 builtin",
        flags=(Flag("remove", "bool", "remove the pin of TAGS"),),
    )
    def pin(self, call: Call) -> Outcome:
        from cairn.script import pins

        root = self.catalog.registry.home.root
        if not call.artifacts:
            found = pins.read(root)
            lines = [f"{tags} -> {repo}" for tags, repo in found.items()] or ["no pins"]
            return Outcome({"pins": found}, lines)
        tags = pins.key_of(call.artifacts[0])
        if call.flag("remove"):
            return self._unpin(tags)
        if len(call.artifacts) != 2:
            raise InvalidInput(
                "pin to which repository? cairn pin script TAGS REPO",
                hint="or --remove to unpin TAGS",
            )
        repo = pins.repo_of(call.artifacts[1], "cairn pin script")
        known = self._repository(repo)
        found = pins.change(root, tags, known)
        return Outcome({"pins": found}, [f"Pinned {tags} -> {known}"])

    def _unpin(self, tags: str) -> Outcome:
        from cairn.script import pins

        root = self.catalog.registry.home.root
        if tags not in pins.read(root):
            raise InvalidInput(f"{tags} is not pinned", hint="cairn pin script lists the pins")
        return Outcome({"pins": pins.change(root, tags, None)}, [f"Unpinned {tags}"])

    def _repository(self, given: str) -> str:
        """The alias of the registered repository ``given`` names (alias or uid)."""
        from cairn import ids

        part = ids.parse_part(given, patterns=False, what="repository")
        repos = self.catalog.registry.repos()
        for repo in repos:
            if part.matches(repo.alias, repo.uid):
                return repo.alias
        raise InvalidInput(
            f"no registered repository {given}",
            hint="the repositories: " + ", ".join(r.alias for r in repos),
        )

    @action(
        "test",
        summary="run a script's own tests (the 'tests' of its meta): each declared input "
        "combination, pass/fail per case; exits non-zero if any case fails",
        usage="cairn test script NAME [--quiet] [--silent]",
        example="cairn test script detect-os",
        flags=(
            Flag("quiet", "bool", "never ask; pick by the documented rules"),
            Flag("silent", "bool", "no progress lines", aliases=("s",)),
        ),
    )
    def test(self, call: Call) -> Outcome:
        from cairn.script import selftest

        candidate = _one_script(self.catalog, _dot_named(self.catalog, self.kind, call))
        cases = selftest.cases(candidate.meta)
        rows = [_test_case(self.catalog, call, candidate, case) for case in cases]
        lines = [_case_line(row) for row in rows]
        counts = {s: sum(r["status"] == s for r in rows) for s in ("pass", "fail", "skip")}
        summary = f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"
        lines.append(f"{candidate.artifact.alias}: {summary}")
        if counts["fail"]:
            from cairn.errors import CairnError

            raise CairnError("\n".join(lines), hint="the failing cases are marked FAIL")
        return Outcome({"cases": rows, **counts}, lines)


def _one_script(catalog: Any, call: Call) -> Any:
    """The script ``cairn test script NAME`` names (one, never asked about)."""
    from cairn.errors import InvalidInput
    from cairn.script import select

    if len(call.artifacts) != 1:
        raise InvalidInput("which script? cairn test script NAME")
    request = select.split_request(None, call.artifacts[0])
    found = select.find_candidates(catalog, request)
    return select.choose(found, quiet=True, chooser=None).candidate


def _test_case(catalog: Any, call: Call, candidate: Any, case: Any) -> dict[str, Any]:
    """Run one case; its row: variations, where it is declared, status, and the error."""
    from cairn.errors import CairnError
    from cairn.script import run
    from cairn.script.context import RunInput

    row: dict[str, Any] = {"case": case.label, "where": case.where, "status": "skip"}
    if case.skip:
        return {**row, "reason": case.skip}
    artifact = candidate.artifact
    inp = RunInput(
        name=artifact.uid or artifact.alias,
        tags=",".join(f"_{v}" for v in case.variations) or None,
        env=dict(case.env),
        inputs=dict(case.inputs),
    )
    session = run.Session(catalog, _options(call))
    try:
        session.run(inp)
    except CairnError as exc:
        session.keep()
        return {**row, "status": "fail", "error": str(exc)}
    session.finish()
    return {**row, "status": "pass"}


def _case_line(row: dict[str, Any]) -> str:
    head = f"{row['status'].upper()} {row['case']} [{row['where']}]"
    if row["status"] == "fail":
        return f"{head}: {row['error']}"
    return f"{head} ({row['reason']})" if row["status"] == "skip" else head


class _Pinned:
    """``--locked=FILE``: what of the lock cannot be honoured, before the run (refused unless
    ``--allow_drift``) and after it (versions found); ``--lock=FILE``: write the lock."""

    def __init__(self, call: Call, lock: dict[str, Any] | None, before: list[str]) -> None:
        self.call = call
        self.lock = lock
        self.before = before

    @classmethod
    def check(cls, call: Call, session: Any, inp: Any) -> _Pinned:
        source = call.flag("locked")
        if not source:
            return cls(call, None, [])
        from pathlib import Path

        from cairn.runs import lock as lock_mod
        from cairn.runs import now
        from cairn.script import plan

        locked = lock_mod.read(Path(source).expanduser())
        planned = plan.plan(session, inp)
        found = lock_mod.drift(locked, planned, now.repos(session.catalog), now.host())
        pinned = cls(call, locked, found)
        pinned.refuse(found, "before anything ran")
        return pinned

    def after(self, record: dict[str, Any]) -> list[str]:
        if self.lock is None or not record.get("tree"):
            return []
        from cairn.runs import lock as lock_mod

        return lock_mod.version_drift(self.lock, record["tree"])

    def finish(self, record: dict[str, Any], after: list[str]) -> None:
        target = self.call.flag("lock")
        if target:
            from pathlib import Path

            from cairn.runs import lock as lock_mod

            lock_mod.write(lock_mod.from_record(record), Path(target).expanduser())
        self.refuse(after, "found by the run")

    def refuse(self, lines: list[str], when: str) -> None:
        from cairn import report
        from cairn.runs.lock import Drift

        if not lines:
            return
        if self.call.flag("allow_drift"):
            for line in lines:
                report.warn(f"drift ({when}): {line}")
            return
        listed = "\n".join(f"  - {line}" for line in lines)
        raise Drift(
            f"the run does not match its lock {self.call.flag('locked')} ({when}):\n{listed}",
            hint="run with --allow_drift to go on anyway (the drift is recorded)",
        )


class _Recorder:
    """Leaves a run record for one ``run script`` (its failure too); a record that cannot be
    written is a warning, never a failed run."""

    def __init__(self, catalog: Any, call: Call, capture: Capture) -> None:
        import time

        self.catalog = catalog
        self.capture = capture
        self.command = {k: v for k, v in call.raw.items() if k not in ("out",)}
        self.started = time.time()
        self.clock = time.monotonic()
        self.template: dict[str, Any] = {}

    def folder(self) -> Any:
        from cairn.runs import records as runs

        return self.catalog.registry.local().root / runs.FOLDER

    def build(self, result: Any, drift: list[str]) -> dict[str, Any]:
        record = self._build(result=result)
        if drift:
            record["drift"] = list(drift)
        self.template = {"record": record, "record_folder": str(self.folder())}
        return record

    def save(self, record: dict[str, Any]) -> Any:
        return self._save(record)

    def failed(self, error: BaseException) -> Any:
        """The record of a failed run (its folder), or None."""
        if isinstance(error, Exception):
            return self._save(self._build(error=error))
        return None

    def _build(self, **what: Any) -> dict[str, Any]:
        import time

        from cairn.runs import records as runs

        seconds = time.monotonic() - self.clock
        record = runs.build(self.command, started=self.started, seconds=seconds, **what)
        record["output"] = self.capture.text()
        return record

    def _save(self, record: dict[str, Any]) -> Any:
        from cairn import report
        from cairn.runs import records as runs

        try:
            return runs.save(self.folder(), record)
        except OSError as exc:
            from cairn.errors import describe_os_error

            report.warn(f"could not write the run record: {describe_os_error(exc)}")
            return None


def _dot_named(catalog: Any, kind: Any, call: Call) -> Call:
    """``call`` with ``.`` (the script whose folder is the current directory, as for the
    common actions) replaced by that script's full name, so a worker or a plan sees it too."""
    if not call.artifacts or call.artifacts[0] != ".":
        return call
    name = here_name(catalog, kind)
    raw = {**call.raw, "artifact": name} if call.raw.get("artifact") == "." else call.raw
    return Call([name, *call.artifacts[1:]], call.opts, raw, call.confirm, call.choose)


def here_name(catalog: Any, kind: Any) -> str:
    """``REPO:UID`` of the script whose folder is the current directory (what ``.`` names)."""
    from pathlib import Path

    here = catalog.here(kind, Path.cwd())
    return f"{here.repo.alias}:{here.uid or here.alias}"


def _run_input(call: Call) -> Any:
    from cairn.script.context import VERSION_FIELDS, RunInput
    from cairn.script.model import parse_dep_updates

    name, extra = request_words(call.artifacts, named=bool(call.raw.get("artifact")))
    inputs = {k: v for k, v in call.raw.items() if k not in _NOT_INPUTS}
    if extra:
        inputs["artifacts"] = extra
    source = "the command line"
    return RunInput(
        tags=call.flag("tags"),
        name=name,
        env=dict(call.flag("env", {})),
        state=dict(call.flag("state", {})),
        const=dict(call.flag("const", {})),
        const_state=dict(call.flag("const_state", {})),
        inputs=inputs,
        flags={k: v for k, v in call.raw.items() if k in _ENGINE_KEYS},
        versions={f: call.flag(f) for f in VERSION_FIELDS if call.flag(f)},
        add_deps=parse_dep_updates(call.flag("add_deps", {}), source, "add_deps"),
        adr=parse_dep_updates(call.flag("add_deps_recursive", {}), source, "add_deps_recursive"),
        extra_cache_tags=tuple(call.flag("extra_cache_tags", [])),
        force_cache=bool(call.flag("force_cache")),
        skip_cache=bool(call.flag("skip_cache")),
        new=bool(call.flag("new")),
        ignore_script_error=bool(call.flag("ignore_script_error")),
        fake_run=bool(call.flag("fake_run")),
    )


def request_words(artifacts: list[str], *, named: bool = True) -> tuple[str | None, list[str]]:
    """The request (the first positional word, with the later words that are variations:
    ``ALIAS _v1 _-v2``) and the other words, artifacts for the script (CM's
    ``i['input']['artifacts']``: ``cairn run script "set venv" tvenv2``). Without ``named``
    (an API input with ``artifacts`` but no ``artifact``) every word is for the script."""
    if not named or not artifacts:
        return None, list(artifacts)
    variations = [w for w in artifacts[1:] if w.startswith("_")]
    extra = [w for w in artifacts[1:] if not w.startswith("_")]
    return " ".join([artifacts[0], *variations]), extra


def _options(call: Call, said: list[str] | None = None, capture: Capture | None = None) -> Any:
    from cairn.script import pins
    from cairn.script.context import RunOptions

    out = call.raw.get("out")

    def echo(line: str) -> None:
        if said is not None:
            said.append(line)
        _stderr_line(line)

    return RunOptions(
        quiet=bool(call.flag("quiet")),
        silent=bool(call.flag("silent")),
        verbose=bool(call.flag("verbose")),
        dirty=bool(call.flag("dirty")),
        fake_deps=bool(call.flag("fake_deps")),
        print_env=bool(call.flag("print_env")),
        chooser=_chooser(call),
        echo=echo if out in ("con", "json") else None,
        output=_writer(out) if capture is None else capture.tee(_writer(out)),
        cache_key_env=tuple(call.flag("cache_key_env", [])),
        cache_from=_cache_from(call),
        strict=bool(call.flag("strict")),
        pins=pins.from_flag(call.flag("pin", {})),
    )


def _cache_from(call: Call) -> tuple[str, ...]:
    from cairn.script import shared

    return shared.sources(call.flag("cache_from"))


def _chooser(call: Call) -> Callable[[list[Any]], int] | None:
    """On a terminal and without ``--quiet``: ask which candidate, showing each readably."""
    ask = call.choose
    if ask is None or call.flag("quiet"):
        return None
    return lambda candidates: ask([c.describe() for c in candidates])


def _stderr_line(line: str) -> None:
    print(f"cairn: {line}", file=sys.stderr)


def _writer(out: Any) -> Callable[[bytes], None] | None:
    if out == "con":
        return _write(sys.stdout)
    if out == "json":
        return _write(sys.stderr)
    return lambda data: None


def _write(stream: Any) -> Callable[[bytes], None]:
    def write(data: bytes) -> None:
        stream.buffer.write(data)
        stream.flush()

    return write


def _result_lines(result: Any, print_deps: bool) -> list[str]:
    lines = []
    if print_deps:
        lines += _tree(result, 0)
    return lines


def _tree(result: Any, depth: int) -> list[str]:
    line = f"{'  ' * depth}{result.alias} {' '.join('_' + v for v in result.variations)}"
    out = [f"{line.rstrip()} ({result.cache})"]
    for dep in result.deps:
        out += _tree(dep, depth + 1)
    return out


def _watched(catalog: Any, script_dirs: list[Any], result: Any) -> list[Any]:
    """What a cache hit's answer depends on: the registry, every script meta (selection),
    the files of every script whose content entered the key, the cache entry, and the
    entries its outputs came from (removing one makes the hit a miss)."""
    from cairn.dialect import DIALECTS
    from cairn.kinds import KNOWN
    from cairn.script import keys

    home = catalog.registry.home
    paths = [home.repos_file, home.root / "pins.json"]
    for repo in catalog.registry.repos():
        paths += [repo.path / f"{d.repo_meta}.{ext}" for d in DIALECTS for ext in ("yaml", "json")]
        for name in {KNOWN["script"].alias, KNOWN["script"].uid}:
            paths += _folder_metas(repo.root / str(name), repo.artifact_meta)
    for script_dir in script_dirs:
        paths += keys.watched(script_dir)
    entry = result.entry
    paths += [entry.parent / uid / "_cm.json" for uid in result.uses]
    return [*paths, entry / "_cm.json", entry / "cm-cached-state.json"]


def _folder_metas(folder: Any, stem: str) -> list[Any]:
    paths = [folder]
    if folder.is_dir():
        for sub in sorted(folder.iterdir()):
            paths += [sub, sub / f"{stem}.yaml", sub / f"{stem}.json"]
    return paths


def _save_env(new_env: dict[str, Any]) -> Any:
    """``--save_env``: the exports as a shell script to source, in the current directory."""
    from pathlib import Path

    from cairn.script import native

    path = Path.cwd() / "tmp-env.sh"
    lines = ["#!/bin/bash", *(native.export_line(k, v) for k, v in sorted(new_env.items()))]
    path.write_text("\n".join(line for line in lines if line) + "\n", encoding="utf-8")
    return path


def _failed(exc: BaseException, recorder: _Recorder, output: bool, capture: Capture) -> None:
    """Record a failed run; a cairn error's result names the record (and the output, when
    ``--return_output`` asked for it)."""
    saved = recorder.failed(exc)
    if isinstance(exc, CairnError):
        exc.result.update({"run_record": saved.name} if saved is not None else {})
        if output:
            exc.result["output"] = capture.text()
