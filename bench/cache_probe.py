"""Cache probe: how many cache entries real cmx4mlops scripts leave in one home, and why.

A fixed list of 34 scripts of the ``cmx4mlops==1.0.1`` wheel (the ones ``tests/compat`` shows to
work offline) runs one after another into one fresh home, as a user would run them, each as
``run script cmx4mlops:ALIAS ... --quiet --out=json`` in its own process. Then, for every script
with cache entries, the probe prints how many entries it has; for a script with more than one,
what tells them apart: the read items recorded in each entry's ``_cm.json`` (``cairn_reads``:
items present in some entries only, common items whose values differ) and the static key
inputs (``cairn_inputs``) that differ. Entries made before read-scoped keys have no
``cairn_reads``; their ``cairn_inputs`` hold the whole env, so the differing env keys show there.

cairn runs as ``python -m cairn`` with this interpreter, so ``PYTHONPATH=/path/to/src`` measures
another checkout (the package used is printed). With cmind (installed from PyPI into
``bench/.work/cmind-venv``, as ``bench/cm_repo.py`` does) the same list runs in a fresh
``CM_REPOS`` and its counts are printed beside cairn's.

Nothing is installed on this machine: every run has no package manager (``apt-get``, ``sudo``...
are stubs that fail), no package index for ``pip`` and a dead proxy (as ``tests/compat``). Homes,
``HOME`` and the scripts' input files live in a temporary folder, removed at the end unless
``--keep``. The wheel is taken from ``$CAIRN_CMX4MLOPS_WHEEL``, pytest's cache, ``bench/.work`` or
``pip download --no-deps``, and checked against its pinned SHA-256.

    .venv/bin/python bench/cache_probe.py [--no-cmind] [--keep] [--json FILE]  # make bench-probe
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
CMIND_VENV = WORK / "cmind-venv"
REPO = "cmx4mlops"
WHEEL_NAME = "cmx4mlops-1.0.1-py3-none-any.whl"
WHEEL_SHA256 = "196838685cb5226070b1f31138b3bbb3626fe1db759b1219906bc57f26ffd7a6"
WHEEL_ENV = "CAIRN_CMX4MLOPS_WHEEL"
WHEEL_PLACES = (ROOT / ".pytest_cache" / "d" / "cmx4mlops-wheel", WORK)
BLOCKED_TOOLS = ("apt-get", "apt", "sudo", "yum", "dnf", "zypper", "brew", "snap")
DEAD_PROXY = "http://127.0.0.1:9"
RUN_TIMEOUT_S = 900
VALUE_WIDTH = 60
FOCUS = "get-python3"


class ProbeError(Exception):
    """The probe could not be set up."""


@dataclass(frozen=True)
class Step:
    """One run: a script, its variations, its arguments (``{name}`` is a fixture path) and the
    tools it only detects (the run is skipped when one is missing, as tests/compat does)."""

    script: str
    variations: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return " ".join([self.script, *(f"_{v}" for v in self.variations)])


STEPS = (
    Step("detect-os"),
    Step("detect-cpu"),
    Step("get-sys-utils-min"),
    Step("get-python3", needs=("python3",)),
    Step("get-generic-python-lib", ("package.packaging",), needs=("python3",)),
    Step("get-gcc", needs=("gcc",)),
    Step("get-cmake", needs=("cmake",)),
    Step("get-java", needs=("java",)),
    Step("get-javac", needs=("javac",)),
    Step("get-openssl", needs=("openssl",)),
    Step("get-generic-sys-util", ("cmake",), needs=("cmake",)),
    Step("get-terraform", needs=("terraform",)),
    Step("get-aws-cli", needs=("aws",)),
    Step("get-docker", needs=("docker",)),
    Step("print-hello-world", args=("--test1=probe",)),
    Step("print-any-text", ("text.probe", "cm_env.MY_KEY"), ("--env.MY_KEY=my-value",)),
    Step("print-python-version", needs=("python3",)),
    Step("print-hello-world-py", needs=("python3",)),
    Step("print-hello-world-java", args=("--env.CM_VAR1=v1",), needs=("java",)),
    Step("test-deps-conditions", args=("--test1=yes",)),
    Step("test-deps-conditions2", args=("--test=true",)),
    Step("run-python", args=("--command=-c print(6*7)",), needs=("python3",)),
    Step("get-cache-dir"),
    Step("create-custom-cache-entry", args=("--path={custom}", "--extra_cache_tags=probe-data")),
    Step("tar-my-folder", args=("--input_dir={payload}", "--output_dir={tar_out}")),
    Step("get-git-repo", args=("--env.CM_GIT_URL=file://{upstream}",), needs=("git",)),
    Step("set-sqlite-dir", args=("--path={sqlite}",)),
    Step("get-mlperf-inference-results-dir"),
    Step("get-dataset-imagenet-helper"),
    Step("dump-pip-freeze", needs=("python3",)),
    Step(
        "compile-program",
        args=(
            "--env.CM_SOURCE_FOLDER_PATH={c_source}",
            "--env.CM_C_SOURCE_FILES=main.c",
            "--adr.compiler.tags=gcc",
        ),
        needs=("gcc",),
    ),
    Step("benchmark-program", args=("--env.CM_RUN_DIR={run_dir}", "--env.CM_RUN_CMD=echo probe")),
    Step("extract-file", args=("--input={archive}", "--extract_path={extracted}")),
    Step("get-compiler-flags", args=("--adr.compiler.tags=gcc",), needs=("gcc",)),
)


# ---------------------------------------------------------------- the wheel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def find_wheel() -> Path:
    """The pinned wheel: ``$CAIRN_CMX4MLOPS_WHEEL``, pytest's cache, bench/.work, else PyPI."""
    given = os.environ.get(WHEEL_ENV)
    candidates = [Path(given)] if given else [place / WHEEL_NAME for place in WHEEL_PLACES]
    wheel = next((c for c in candidates if c.is_file()), None)
    if wheel is None and given:
        raise ProbeError(f"{WHEEL_ENV}={given}: no such file")
    if wheel is None:
        WORK.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        argv += ["cmx4mlops==1.0.1", "-d", str(WORK)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        wheel = WORK / WHEEL_NAME
        if done.returncode != 0 or not wheel.is_file():
            raise ProbeError(f"`{' '.join(argv)}` exited {done.returncode}: {done.stderr[-800:]}")
    digest = sha256(wheel)
    if digest != WHEEL_SHA256:
        raise ProbeError(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")
    return wheel


def unpack(wheel: Path, target: Path) -> Path:
    """The wheel's ``cmx4mlops`` folder, unpacked (file modes kept); returns the folder."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if not info.filename.startswith(f"{REPO}/"):
                continue
            path = Path(archive.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode and path.is_file():
                path.chmod(mode)
    root = target / REPO
    if not (root / "cmr.yaml").is_file():
        raise ProbeError(f"{wheel}: no {REPO}/cmr.yaml")
    return root


# ---------------------------------------------------------------- the environment


def guard_bin(folder: Path) -> Path:
    """Stubs that fail in place of the package managers and ``sudo``."""
    folder.mkdir(parents=True, exist_ok=True)
    for tool in BLOCKED_TOOLS:
        stub = folder / tool
        stub.write_text(f'#!/bin/sh\necho "cache probe: {tool} is blocked" >&2\nexit 100\n')
        stub.chmod(0o755)
    return folder


def guarded_env(guard: Path, user_home: Path, keep_pythonpath: bool) -> dict[str, str]:
    """A user's environment without the tools' own settings, with the guards, a temporary
    ``HOME``, no package index for pip and a dead proxy."""
    drop = ("CM_", "MLC_", "CAIRN_", "PIP_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    if not keep_pythonpath:
        env.pop("PYTHONPATH", None)
    user_home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(user_home),
        PATH=f"{guard}{os.pathsep}{env.get('PATH', '')}",
        PIP_NO_INDEX="1",
        PIP_CONFIG_FILE=os.devnull,
        GIT_TERMINAL_PROMPT="0",
    )
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        env[name] = env[name.upper()] = DEAD_PROXY
    for name in ("no_proxy", "NO_PROXY"):
        env.pop(name, None)
    return env


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "probe",
    "GIT_AUTHOR_EMAIL": "probe@example.invalid",
    "GIT_COMMITTER_NAME": "probe",
    "GIT_COMMITTER_EMAIL": "probe@example.invalid",
}


def make_fixtures(base: Path) -> dict[str, str]:
    """The input files and folders the steps name, made afresh for one tool."""
    base.mkdir(parents=True)
    payload = base / "payload"
    (payload / "sub").mkdir(parents=True)
    (payload / "a.txt").write_text("a\n")
    (payload / "sub" / "b.txt").write_text("b\n")
    tar_out = base / "tar-out"
    tar_out.mkdir()
    c_source = base / "c-source"
    c_source.mkdir()
    (c_source / "main.c").write_text('#include <stdio.h>\nint main(void){puts("probe");}\n')
    run_dir = base / "run-dir"
    run_dir.mkdir()
    archive = base / "data.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(payload / "a.txt", arcname="a.txt")
    fixtures = {
        "payload": payload,
        "tar_out": tar_out,
        "c_source": c_source,
        "run_dir": run_dir,
        "archive": archive,
        "extracted": base / "extracted",
        "custom": base / "custom-entry",
        "sqlite": base / "sqlite",
        "upstream": base / "upstream",
    }
    if shutil.which("git"):
        make_git_repo(base / "upstream")
    return {name: str(path) for name, path in fixtures.items()}


def make_git_repo(path: Path) -> None:
    path.mkdir()
    (path / "a.txt").write_text("first\n")
    env = {**os.environ, **GIT_IDENTITY}
    for argv in (["init", "-q", "-b", "main"], ["add", "a.txt"], ["commit", "-q", "-m", "a"]):
        subprocess.run(["git", *argv], cwd=path, env=env, check=True, capture_output=True)


# ---------------------------------------------------------------- the tools


@dataclass
class Outcome:
    """One step's run by one tool."""

    status: str
    made: list[str] = field(default_factory=list)


@dataclass
class Tool:
    """One tool with ``cmx4mlops`` registered in its fresh home."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    cache: Path
    fixtures: dict[str, str]
    about: str = ""
    made_by: dict[str, int] = field(default_factory=dict)

    def argv(self, step: Step) -> list[str]:
        args = [arg.format(**self.fixtures) for arg in step.args]
        if self.name == "cairn":
            target = ",".join([f"{REPO}:{step.script}", *(f"_{v}" for v in step.variations)])
            return [*self.command, "run", "script", target, *args, "--quiet", "--out=json"]
        tags = [f"--tags={','.join(f'_{v}' for v in step.variations)}"] if step.variations else []
        argv = [*self.command, "run", "script", f"{REPO}:{step.script}", *tags, *args]
        return [*argv, "--quiet", "--out=json"]

    def entry_uids(self) -> set[str]:
        if not self.cache.is_dir():
            return set()
        return {p.name for p in self.cache.iterdir() if (p / "_cm.json").is_file()}

    def run(self, number: int, step: Step) -> Outcome:
        before = self.entry_uids()
        try:
            done = subprocess.run(
                self.argv(step),
                env=self.env,
                cwd=self.cwd,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=RUN_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Outcome(f"timed out after {RUN_TIMEOUT_S} s")
        made = sorted(self.entry_uids() - before)
        for uid in made:
            self.made_by[uid] = number
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
            return Outcome(f"exit {done.returncode}: {tail[0][:80]}", made)
        result = json_document(done.stdout)
        status = str(result.get("cache", "ok")) if self.name == "cairn" else "ok"
        return Outcome(status, made)


def json_document(stdout: str) -> dict[str, Any]:
    """The JSON object a tool printed (cmind may print the scripts' output before it)."""
    lines = stdout.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "{"), 0)
    try:
        found = json.loads("".join(lines[start:]))
    except json.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def checked(argv: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ProbeError(f"{what} failed: {(done.stdout + done.stderr).strip()[-600:]}")
    return done.stdout


def package_state(package: Path) -> str:
    """The checkout a package comes from: commit, and whether its sources differ from it."""
    top = package.parent.parent
    rev = subprocess.run(
        ["git", "-C", str(top), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    if rev.returncode != 0:
        return "not in a git checkout"
    status = subprocess.run(
        ["git", "-C", str(top), "status", "--porcelain", "--", str(package)],
        capture_output=True,
        text=True,
    )
    changed = "with uncommitted changes" if status.stdout.strip() else "clean"
    return f"git {rev.stdout.strip()}, {changed}"


def setup_cairn(base: Path, repo: Path) -> Tool:
    home = base / "cairn-home"
    env = guarded_env(guard_bin(base / "guard"), base / "user", keep_pythonpath=True)
    env["CAIRN_HOME"] = str(home)
    python = [sys.executable]
    where = checked([*python, "-c", "import cairn; print(cairn.__file__)"], env, "import cairn")
    package = Path(where.strip()).parent
    command = [*python, "-m", "cairn"]
    checked([*command, "add", "repo", str(repo)], env, "cairn add repo")
    cwd = base / "cairn-cwd"
    cwd.mkdir()
    fixtures = make_fixtures(base / "cairn-inputs")
    about = f"cairn from {package} ({package_state(package)})"
    return Tool("cairn", command, env, cwd, home / "local" / "cache", fixtures, about)


def setup_cmind(base: Path, repo: Path) -> Tool:
    """cmind in its own venv (pip install from PyPI once), ``$CM_REPOS`` listing ``repo``."""
    bin_dir = CMIND_VENV / "bin"
    if not (bin_dir / "cm").exists():
        checked([sys.executable, "-m", "venv", str(CMIND_VENV)], dict(os.environ), "venv")
        checked([str(bin_dir / "pip"), "install", "-q", "cmind"], dict(os.environ), "pip install")
    home = base / "cm-home"
    home.mkdir()
    (home / "repos.json").write_text(json.dumps([str(repo)]))
    env = guarded_env(guard_bin(base / "guard"), base / "user", keep_pythonpath=False)
    env["CM_REPOS"] = str(home)
    query = "import importlib.metadata as m; print(m.version('cmind'))"
    version = checked([str(bin_dir / "python"), "-c", query], env, "cmind version")
    cwd = base / "cmind-cwd"
    cwd.mkdir()
    fixtures = make_fixtures(base / "cmind-inputs")
    about = f"cmind {version.strip()} from {CMIND_VENV}"
    cache = home / "repos" / "local" / "cache"
    return Tool("cmind", [str(bin_dir / "cm")], env, cwd, cache, fixtures, about)


def run_all(tool: Tool, steps: Iterable[Step]) -> list[Outcome]:
    outcomes = []
    for number, step in enumerate(steps, 1):
        missing = [t for t in step.needs if shutil.which(t) is None]
        if missing:
            outcomes.append(Outcome(f"skipped: {', '.join(missing)} not installed"))
            continue
        start = time.perf_counter()
        outcome = tool.run(number, step)
        elapsed = time.perf_counter() - start
        print(
            f"{tool.name} {number:2}/{len(STEPS)} {step.label}: {outcome.status} "
            f"({len(outcome.made)} new entries, {elapsed:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
        outcomes.append(outcome)
    return outcomes


# ---------------------------------------------------------------- the entries


@dataclass
class Entry:
    uid: str
    script: str
    meta: dict[str, Any]
    made_by: int | None


def entries(tool: Tool) -> dict[str, list[Entry]]:
    """The tool's cache entries by script alias (``associated_script_artifact``)."""
    found: dict[str, list[Entry]] = {}
    if not tool.cache.is_dir():
        return found
    for meta_file in sorted(tool.cache.glob("*/_cm.json")):
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            continue
        named = str(meta.get("associated_script_artifact") or "?")
        script = named.split(",")[0]
        uid = meta_file.parent.name
        found.setdefault(script, []).append(Entry(uid, script, meta, tool.made_by.get(uid)))
    for group in found.values():
        group.sort(key=lambda e: (e.made_by or 0, e.uid))
    return found


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``a.b.c`` paths to their leaves (lists are leaves, empty dicts none)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def text(value: Any, width: int = VALUE_WIDTH) -> str:
    shown = json.dumps(value, sort_keys=True, default=str)
    return shown if len(shown) <= width else shown[: width - 3] + "..."


ABSENT = "(absent)"
NOT_READ = "(not read)"
SHOW_VALUES_UP_TO = 3
"""A group of differing items shows each entry's value when it has at most this many items."""


def classes(seen: list[Any]) -> list[tuple[str, list[str]]]:
    """The distinct values among the entries (in order of first sight), each with its holders."""
    found: dict[str, list[str]] = {}
    for i, value in enumerate(seen, 1):
        shown = value if value in (ABSENT, NOT_READ) else text(value, 10**6)
        found.setdefault(shown, []).append(f"E{i}")
    return list(found.items())


def partition(seen: list[Any]) -> str:
    """Which entries agree: ``absent: E1; value a: E2 E3``."""
    names = iter("abcdefghijklmnopqrstuvwxyz")
    parts = []
    for shown, holders in classes(seen):
        special = {ABSENT: "absent", NOT_READ: "not read"}
        label = special.get(shown) or f"value {next(names, '?')}"
        parts.append(f"{label}: {' '.join(holders)}")
    return "; ".join(parts)


def folded(items: list[str]) -> list[str]:
    """Items with the names a pattern item of the same list matches folded into it."""
    patterns = [i for i in items if any(c in i.partition(":")[2] for c in "*?[")]
    out = []
    for item in items:
        if item in patterns:
            members = [m for m in items if m not in patterns and fnmatchcase(m, item)]
            out.append(f"{item} (+{len(members)} it matches)" if members else item)
        elif not any(fnmatchcase(item, p) for p in patterns):
            out.append(item)
    return out


def wrapped(head: str, items: list[str], indent: str = "      ") -> list[str]:
    lines, line = [], head
    for item in items:
        if len(line) + len(item) + 2 > 100 and line != head:
            lines.append(line)
            line = indent
        line += f" {item},"
    lines.append(line.rstrip(","))
    return lines


def differing(rows: Sequence[Mapping[str, Any]], keys: Iterable[str]) -> dict[str, list[str]]:
    """Keys whose values are not all the same, grouped by which entries agree."""
    groups: dict[str, list[str]] = {}
    for key in sorted(keys):
        seen = [row.get(key, ABSENT) for row in rows]
        if len(classes(seen)) > 1:
            groups.setdefault(partition(seen), []).append(key)
    return groups


def value_lines(
    rows: Sequence[Mapping[str, Any]], groups: dict[str, list[str]], what: str
) -> list[str]:
    lines = []
    for agree, keys in groups.items():
        lines += wrapped(f"    {what} differ ({agree}):", folded(keys))
        if len(keys) <= SHOW_VALUES_UP_TO:
            for key in keys:
                seen = [row.get(key, ABSENT) for row in rows]
                shown = [
                    f"{' '.join(who)}={v if v in (ABSENT, NOT_READ) else text(json.loads(v))}"
                    for v, who in classes(seen)
                ]
                lines.append(f"        {key}: {'; '.join(shown)}")
    return lines


def differences(group: list[Entry]) -> list[str]:
    """What tells a script's entries apart: read items, their values, static key inputs."""
    lines: list[str] = []
    reads = [e.meta.get("cairn_reads") for e in group]
    scoped = [r for r in reads if isinstance(r, dict)]
    if len(scoped) == len(group):
        item_sets = [set(r.get("items") or ()) for r in scoped]
        rows = [
            {i: dict(r.get("values") or {}).get(i, ABSENT) for i in items}
            for r, items in zip(scoped, item_sets, strict=True)
        ]
        for row, items in zip(rows, item_sets, strict=True):
            row.update(dict.fromkeys(set().union(*item_sets) - items, NOT_READ))
        lines += value_lines(rows, differing(rows, set().union(*item_sets)), "read items")
    elif scoped:
        lines.append("    (some entries have no cairn_reads: made by another key scheme)")
    inputs = [flatten(e.meta.get("cairn_inputs") or {}) for e in group]
    every = set().union(*inputs)
    lines += value_lines(inputs, differing(inputs, every), "static key inputs (cairn_inputs)")
    return lines


# ---------------------------------------------------------------- reporting


def runs_table(tools: list[Tool], outcomes: dict[str, list[Outcome]]) -> str:
    head = "| # | run | " + " | ".join(f"{t.name} (new entries)" for t in tools) + " |"
    lines = [head, "|---|---|" + "---|" * len(tools)]
    for number, step in enumerate(STEPS, 1):
        cells = []
        for tool in tools:
            outcome = outcomes[tool.name][number - 1]
            cells.append(f"{outcome.status} ({len(outcome.made)})".replace("|", "/"))
        lines.append(f"| {number} | {step.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def counts_table(tools: list[Tool], found: dict[str, dict[str, list[Entry]]]) -> str:
    scripts = sorted({s for by_script in found.values() for s in by_script})
    head = "| script | " + " | ".join(f"{t.name} entries" for t in tools) + " |"
    lines = [head, "|---|" + "---|" * len(tools)]
    for script in scripts:
        cells = [str(len(found[t.name].get(script, []))) for t in tools]
        name = f"**{script}**" if script == FOCUS else script
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [str(sum(len(g) for g in found[t.name].values())) for t in tools]
    lines.append("| (all) | " + " | ".join(totals) + " |")
    return "\n".join(lines) + "\n"


def split_report(tool: Tool, by_script: dict[str, list[Entry]]) -> str:
    out = []
    for script, group in sorted(by_script.items()):
        if len(group) < 2:
            continue
        out.append(f"{script}: {len(group)} entries")
        for i, entry in enumerate(group, 1):
            made = entry.made_by
            where = f"run {made} ({STEPS[made - 1].label})" if made else "run unknown"
            reads = entry.meta.get("cairn_reads")
            scoped = (
                f"{len(reads.get('items') or [])} read items" if isinstance(reads, dict) else ""
            )
            out.append(f"  E{i} {entry.uid}: made during {where}; {scoped or 'no cairn_reads'}")
        out += differences(group) or ["    (no difference found in cairn_reads or cairn_inputs)"]
    return "\n".join(out) + ("\n" if out else "")


def details(tools: list[Tool], found: dict[str, dict[str, list[Entry]]]) -> dict[str, Any]:
    """Everything, for ``--json``: each tool's entries with their full metadata."""
    return {
        tool.name: {
            "about": tool.about,
            "entries": {
                script: [{"uid": e.uid, "made_by_run": e.made_by, "meta": e.meta} for e in group]
                for script, group in found[tool.name].items()
            },
        }
        for tool in tools
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--no-cmind", action="store_true", help="run cairn alone")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    parser.add_argument("--json", type=Path, help="write every entry's metadata to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="cairn-cache-probe-"))
    try:
        return probe(base, args)
    except ProbeError as failure:
        print(f"cache_probe: {failure}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept: {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)


def probe(base: Path, args: argparse.Namespace) -> int:
    repo = unpack(find_wheel(), base / "wheel")
    tools = [setup_cairn(base, repo)]
    cmind_note = "cmind: left out (--no-cmind)"
    if not args.no_cmind:
        try:
            tools.append(setup_cmind(base, repo))
            cmind_note = ""
        except ProbeError as failure:
            cmind_note = f"cmind: not available ({failure})"
    outcomes = {tool.name: run_all(tool, STEPS) for tool in tools}
    found = {tool.name: entries(tool) for tool in tools}
    print(f"# Cache probe: {len(STEPS)} cmx4mlops scripts run one after another into one home\n")
    for tool in tools:
        print(f"- {tool.about}")
    if cmind_note:
        print(f"- {cmind_note}")
    print()
    print(runs_table(tools, outcomes))
    print(counts_table(tools, found))
    focus = ", ".join(f"{t.name} {len(found[t.name].get(FOCUS, []))}" for t in tools)
    print(f"{FOCUS} entries: {focus}\n")
    for tool in tools:
        report = split_report(tool, found[tool.name])
        if report and tool.name == "cairn":
            print(f"## What tells {tool.name}'s entries of one script apart\n")
            print(report)
    if args.json:
        args.json.write_text(json.dumps(details(tools, found), indent=1, default=str))
        print(f"details: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
