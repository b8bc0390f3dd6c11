"""Script-chain benchmark: a chain of trivial cached scripts run by cairn, cmind and mlcflow.

``chain-0`` depends on ``chain-1`` ... ``chain-<depth-1>``; every script is ``cache: true`` and its
``run.sh`` appends its name to a counter file and writes one ``KEY=VALUE`` (its value is the value
of the script below it plus its own number, so ``CHAIN_0`` of a 5-deep chain is ``43210``). Each
tool gets its own repository copy (CM's format for cairn and cmind, MLC's for mlcflow), its own
fresh home under ``bench/.work/script-chain/`` and a dead proxy, so nothing reaches the network and
the real ``~/CM``, ``~/MLC`` and ``~/.cairn`` are never read or written.

Measured, each as the median of ``--runs`` whole processes: ``python -c pass`` with the tool's own
interpreter; the first run (every chain entry removed from the tool's cache before each sample);
the cached run (second run onwards). Each sample is checked: the final value must be in the tool's
output, a first run must have run every native script, a cached run none.

    .venv/bin/python bench/script_chain.py [--runs N] [--depth 5] [--no-cmind] [--no-mlcflow]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
CHAIN = WORK / "script-chain"
CAIRN = ROOT / ".venv" / "bin" / "cairn"
CMIND_VENV = WORK / "cmind-venv"
MLCFLOW_VENV = WORK / "mlcflow-venv"
CMX4MLOPS = "cmx4mlops==1.0.1"
CMX4MLOPS_WHEEL = WORK / "cmx4mlops-1.0.1-py3-none-any.whl"
CMX4MLOPS_DIR = WORK / "cmx4mlops-1.0.1"
RESULTS = WORK / "script-chain.md"
SCRIPTS_MD = ROOT / "bench" / "SCRIPTS.md"
SECTION = "## Script chain"
SCRIPT_UID = "5b4e0237da074764"
DEAD_PROXY = "http://127.0.0.1:9"
TARGETS = {"first": "<= 150 ms", "cached": "<= 50 ms"}
REFERENCE = (
    "first run cmind ~1,000 ms, mlcflow ~370 ms; cached run cmind ~150 ms, mlcflow ~270 ms; "
    "`python -c pass` ~16 ms"
)


class Unavailable(Exception):
    """A tool could not be set up or did not behave; the message goes into the table."""


# ---------------------------------------------------------------- the chain on disk


@dataclass(frozen=True)
class Layout:
    """Where a tool's repository format keeps things."""

    repo_meta: str
    script_meta: str


CM_LAYOUT = Layout(repo_meta="cmr.yaml", script_meta="_cm.yaml")
MLC_LAYOUT = Layout(repo_meta="meta.yaml", script_meta="meta.yaml")


def uid_of(name: str) -> str:
    """A stable 16-hex uid for a name (stable so reruns build identical repositories)."""
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def expected_value(depth: int) -> str:
    """The value the top script exports: each level appends its own number."""
    return "".join(str(level) for level in reversed(range(depth)))


def script_meta(level: int, depth: int) -> str:
    """The YAML meta of ``chain-<level>`` (uids quoted: an all-digit uid must stay a string)."""
    name = f"chain-{level}"
    lines = [
        f"alias: {name}",
        f'uid: "{uid_of(name)}"',
        "automation_alias: script",
        f'automation_uid: "{SCRIPT_UID}"',
        "tags:",
        "- chain",
        f"- {name}",
        "cache: true",
    ]
    if level + 1 < depth:
        lines += ["deps:", f"- tags: chain,chain-{level + 1}"]
    lines += ["new_env_keys:", f"- CHAIN_{level}"]
    return "\n".join(lines) + "\n"


def run_sh(level: int, depth: int, counter: Path) -> str:
    """A native script: count the execution, then export one value built on the one below."""
    below = f"${{CHAIN_{level + 1}}}" if level + 1 < depth else ""
    return (
        "#!/bin/bash\n"
        f'echo chain-{level} >> "{counter}"\n'
        f'echo "CHAIN_{level}={below}{level}" > tmp-run-env.out\n'
    )


def build_repo(path: Path, layout: Layout, alias: str, depth: int, counter: Path) -> Path:
    """Write a fresh repository holding the chain in ``layout``'s format."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / layout.repo_meta).write_text(f'alias: {alias}\nuid: "{uid_of(alias)}"\n')
    for level in range(depth):
        folder = path / "script" / f"chain-{level}"
        folder.mkdir(parents=True)
        (folder / layout.script_meta).write_text(script_meta(level, depth))
        native = folder / "run.sh"
        native.write_text(run_sh(level, depth, counter))
        native.chmod(0o755)
    return path


# ---------------------------------------------------------------- running commands


def base_env(home: Path) -> dict[str, str]:
    """A user's environment minus the tools' own variables; ``HOME`` kept off the real one."""
    drop = ("CM_", "MLC_", "CAIRN_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env[key] = DEAD_PROXY
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def run(
    argv: list[str], env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0,)
) -> tuple[float, str]:
    """Run once; return the wall time in seconds and stdout+stderr. Failure raises Unavailable."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        command = " ".join([Path(argv[0]).name, *argv[1:3]])
        raise Unavailable(f"`{command}` exited {proc.returncode}: {' / '.join(tail)[:300]}")
    return elapsed, proc.stdout + proc.stderr


def setup_step(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    """An untimed set-up command; its failure makes the tool unavailable, saying why."""
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = " / ".join((proc.stdout + proc.stderr).strip().splitlines()[-2:])
        raise Unavailable(f"{what} failed: {tail[:300]}")


# ---------------------------------------------------------------- the tools


@dataclass
class Tool:
    """One tool under test, set up: how to run the chain, clear its cache and count executions."""

    name: str
    python: Path
    run_argv: list[str]
    clear_argv: list[str]
    env: dict[str, str]
    cwd: Path
    counter: Path
    clear_ok: tuple[int, ...] = (0,)
    extra: str = ""

    def describe(self) -> str:
        """``name version`` as installed in the tool's interpreter (plus what it was given)."""
        package = self.name.split("-")[0]  # cairn-no-records is cairn with a setting
        query = f"import importlib.metadata as m; print(m.version({package!r}))"
        proc = subprocess.run([str(self.python), "-c", query], capture_output=True, text=True)
        version = proc.stdout.strip() if proc.returncode == 0 else "(version unknown)"
        return f"{self.name} {version}{self.extra}"

    def executions(self) -> int:
        if not self.counter.exists():
            return 0
        return len(self.counter.read_text().splitlines())

    def clear(self) -> None:
        run(self.clear_argv, self.env, self.cwd, self.clear_ok)

    def run_chain(self) -> tuple[float, str]:
        return run(self.run_argv, self.env, self.cwd)


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def tool_dirs(name: str) -> tuple[Path, Path, Path]:
    """A tool's fresh home, its work directory (the runs' cwd) and its counter file."""
    base = fresh_dir(CHAIN / name)
    return base / "home", fresh_dir(base / "cwd"), base / "executions.log"


def setup_cairn(depth: int, name: str = "cairn", extra: dict[str, str] | None = None) -> Tool:
    if not CAIRN.exists():
        raise Unavailable(f"{CAIRN} missing: run `make` first")
    home, cwd, counter = tool_dirs(name)
    repo = build_repo(CHAIN / name / "repo", CM_LAYOUT, "chain-bench", depth, counter)
    env = {**base_env(home / "user"), "CAIRN_HOME": str(home), **(extra or {})}
    settings = "".join(f" with {k}={v}" for k, v in (extra or {}).items())
    setup_step([str(CAIRN), "add", "repo", str(repo)], "cairn add repo", env)
    return Tool(
        name=name,
        python=ROOT / ".venv" / "bin" / "python",
        run_argv=[str(CAIRN), "run", "script", "--tags=chain,chain-0", "--out=json"],
        clear_argv=[str(CAIRN), "rm", "cache", "-f", "--all"],
        env=env,
        cwd=cwd,
        counter=counter,
        extra=settings,
    )


def ensure_venv(venv: Path, package: str, command: str) -> Path:
    """A venv with ``package`` from PyPI (kept and reused across runs); returns its bin dir."""
    bin_dir = venv / "bin"
    if (bin_dir / command).exists():
        return bin_dir
    setup_step([sys.executable, "-m", "venv", str(venv)], f"creating {venv.name}")
    setup_step([str(bin_dir / "pip"), "install", "-q", package], f"pip install {package}")
    return bin_dir


def cmx4mlops_repo(pip: Path) -> Path:
    """CM's script and cache automations, from the cmx4mlops wheel (downloaded once, unzipped)."""
    if not CMX4MLOPS_WHEEL.exists():
        argv = [str(pip), "download", "-q", "--no-deps", CMX4MLOPS, "-d", str(WORK)]
        setup_step(argv, f"pip download {CMX4MLOPS}")
    repo = CMX4MLOPS_DIR / "cmx4mlops"
    if not (repo / "cmr.yaml").exists():
        with zipfile.ZipFile(CMX4MLOPS_WHEEL) as wheel:
            wheel.extractall(CMX4MLOPS_DIR)
    for automation in ("script", "cache"):
        if not (repo / "repo" / "automation" / automation).is_dir():
            raise Unavailable(f"{CMX4MLOPS_WHEEL.name} has no automation/{automation}")
    return repo


def setup_cmind(depth: int) -> Tool:
    bin_dir = ensure_venv(CMIND_VENV, "cmind", "cm")
    automations = cmx4mlops_repo(bin_dir / "pip")
    home, cwd, counter = tool_dirs("cmind")
    repo = build_repo(CHAIN / "cmind" / "repo", CM_LAYOUT, "chain-bench", depth, counter)
    home.mkdir()
    (home / "repos.json").write_text(json.dumps([str(automations), str(repo)]))
    cm = str(bin_dir / "cm")
    return Tool(
        name="cmind",
        python=bin_dir / "python",
        run_argv=[cm, "run", "script", "--tags=chain,chain-0", "--out=json"],
        clear_argv=[cm, "rm", "cache", "--tags=chain", "-f"],
        env={**base_env(home / "user"), "CM_REPOS": str(home)},
        cwd=cwd,
        counter=counter,
        clear_ok=(0, 16),  # 16: nothing to remove
        extra=f" with the script/cache automations of {CMX4MLOPS}",
    )


def setup_mlcflow(depth: int) -> Tool:
    """mlcflow bundles its script automation; ``$MLC_REPOS/repos.json`` lists repo folders
    (``meta.yaml`` at the root, ``script/<alias>/meta.yaml``); env keys use the ``MLC_`` prefix."""
    bin_dir = ensure_venv(MLCFLOW_VENV, "mlcflow", "mlc")
    home, cwd, counter = tool_dirs("mlcflow")
    repo = build_repo(CHAIN / "mlcflow" / "repo", MLC_LAYOUT, "chain-bench", depth, counter)
    home.mkdir()
    (home / "repos.json").write_text(json.dumps([str(home / "local"), str(repo)]))
    mlc = str(bin_dir / "mlc")
    return Tool(
        name="mlcflow",
        python=bin_dir / "python",
        run_argv=[mlc, "run", "script", "--tags=chain,chain-0", "-j"],
        clear_argv=[mlc, "rm", "cache", "--tags=chain", "-f"],
        env={**base_env(home / "user"), "MLC_REPOS": str(home)},
        cwd=cwd,
        counter=counter,
    )


def setup_cairn_unrecorded(depth: int) -> Tool:
    """cairn with run records turned off (``CAIRN_KEEP_RUNS=0``): what recording costs."""
    return setup_cairn(depth, "cairn-no-records", {"CAIRN_KEEP_RUNS": "0"})


SETUPS: dict[str, Callable[[int], Tool]] = {
    "cairn": setup_cairn,
    "cairn-no-records": setup_cairn_unrecorded,
    "cmind": setup_cmind,
    "mlcflow": setup_mlcflow,
}


# ---------------------------------------------------------------- measuring


def check_value(tool: Tool, output: str, depth: int) -> None:
    """The top script's exported value must be in the output: the whole chain really ran."""
    pattern = rf'"CHAIN_0"\s*:\s*"{expected_value(depth)}"'
    if not re.search(pattern, output):
        tail = " / ".join(output.strip().splitlines()[-3:])[:300]
        raise Unavailable(f"no CHAIN_0={expected_value(depth)} in the output: {tail}")


def first_run(tool: Tool, depth: int) -> float:
    """One first-run sample: cache cleared (untimed), every native script must run once."""
    tool.clear()
    before = tool.executions()
    elapsed, output = tool.run_chain()
    check_value(tool, output, depth)
    ran = tool.executions() - before
    if ran != depth:
        raise Unavailable(f"first run executed {ran} native scripts, expected {depth}")
    return elapsed


def cached_run(tool: Tool, depth: int) -> float:
    """One cached-run sample: no native script may run."""
    before = tool.executions()
    elapsed, output = tool.run_chain()
    check_value(tool, output, depth)
    ran = tool.executions() - before
    if ran:
        raise Unavailable(f"cached run executed {ran} native scripts (cache missed)")
    return elapsed


def bare_python(tool: Tool, depth: int) -> float:
    elapsed, _ = run([str(tool.python), "-c", "pass"], tool.env, tool.cwd)
    return elapsed


PHASES: dict[str, Callable[[Tool, int], float]] = {
    "python": bare_python,
    "first": first_run,
    "cached_soon": cached_run,  # must follow "first": the last first-run sample filled the cache
    "cached": cached_run,
}
SETTLE_S = {"cached": 2.5}
"""Seconds to wait before a phase: cairn replays a fully cached run only from a record made
once the files it depends on are older than 2 s (younger ones may still change within their
mtime's granularity), so right after a first run it runs the engine instead."""


def set_up(names: list[str], depth: int) -> tuple[list[Tool], dict[str, dict[str, str]]]:
    """The tools that could be set up and warmed up; the others' cells say why not."""
    tools: list[Tool] = []
    cells: dict[str, dict[str, str]] = {}
    for name in names:
        print(f"{name}: setting up", file=sys.stderr, flush=True)
        try:
            tool = SETUPS[name](depth)
        except Unavailable as failure:
            cells[name] = dict.fromkeys(PHASES, f"not set up: {failure}")
            continue
        cells[name] = {}
        tools.append(tool)
        try:
            first_run(tool, depth)  # warm-up (bytecode, indexes); proves the set-up works
        except Unavailable as failure:
            reason = f"not measured: {failure}"
            cells[name] = dict.fromkeys(("first", "cached_soon", "cached"), reason)
    return tools, cells


def measure(tools: list[Tool], cells: dict[str, dict[str, str]], runs: int, depth: int) -> None:
    """Each phase in rounds over the tools (so machine noise hits all alike); medians in ms.

    A tool's failure fills its remaining cells with the reason, never a figure.
    """
    for phase, sample in PHASES.items():
        print(f"measuring {phase} ({runs} rounds)", file=sys.stderr, flush=True)
        time.sleep(SETTLE_S.get(phase, 0))
        times: dict[str, list[float]] = {tool.name: [] for tool in tools}
        for _ in range(runs):
            for tool in tools:
                if phase in cells[tool.name]:
                    continue
                try:
                    times[tool.name].append(sample(tool, depth))
                except Unavailable as failure:
                    fail(cells[tool.name], f"not measured: {failure}")
        for name, samples in times.items():
            if phase not in cells[name]:
                cells[name][phase] = f"{statistics.median(samples) * 1000:.0f} ms"


def fail(cells: dict[str, str], reason: str) -> None:
    """Fill every phase not measured yet (this one and the later ones) with ``reason``."""
    for phase in PHASES:
        cells.setdefault(phase, reason)


# ---------------------------------------------------------------- reporting


def table(results: dict[str, dict[str, str]], depth: int) -> str:
    names = list(SETUPS)
    rows = [
        ("`python -c pass`", "python", "-"),
        (f"first run ({plural(depth, 'script')}, cache empty)", "first", TARGETS["first"]),
        ("cached run, right after the first run", "cached_soon", "-"),
        ("cached run, files settled (> 2 s old)", "cached", TARGETS["cached"]),
    ]
    lines = ["| task | " + " | ".join(names) + " | target |", "|---" * (len(names) + 2) + "|"]
    for label, key, target in rows:
        cells = [escape(results[n][key]) if n in results else "skipped" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    return "\n".join(lines) + "\n"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"nproc {cpus}, Python {sys.version.split()[0]}, {os.uname().sysname}"


def section(markdown: str, command: str, runs: int, tools: list[Tool]) -> str:
    measured = "; ".join(tool.describe() for tool in tools) or "none"
    return (
        f"{SECTION}\n\n"
        f"- Machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n"
        f"- Command: `{command}` (or `make bench-scripts`).\n"
        f"- Tools: {measured}.\n"
        f"- Figures: median of {runs} whole processes, tools interleaved; before each first-run "
        "sample the tool's cache entries of the chain are removed (untimed). Every sample is "
        "checked: the final value in the output, every native script run on a first run, none "
        "on a cached run. The last row starts 2.5 s after the one before it: cairn answers a "
        "fully cached run from a replay record only once the files it depends on are older "
        "than 2 s; right after a first run it runs its engine (the row before).\n"
        f"- Reference (issue 5, another machine): {REFERENCE}.\n\n"
        f"{markdown}"
    )


def write_scripts_md(text: str, heading: str = SECTION) -> None:
    """Put the section into bench/SCRIPTS.md, replacing an earlier one under the same heading."""
    old = SCRIPTS_MD.read_text() if SCRIPTS_MD.exists() else "# Script benchmarks\n"
    start = old.find(heading)
    if start >= 0:
        end = old.find("\n## ", start + len(heading))
        old = old[:start] + (old[end + 1 :] if end >= 0 else "")
    SCRIPTS_MD.write_text(old.rstrip("\n") + "\n\n" + text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--depth", type=int, default=5, help="scripts in the chain")
    parser.add_argument("--no-cmind", action="store_true", help="leave cmind out")
    parser.add_argument("--no-mlcflow", action="store_true", help="leave mlcflow out")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.depth < 1:
        parser.error("--runs and --depth must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skipped = {"cmind": args.no_cmind, "mlcflow": args.no_mlcflow}
    CHAIN.mkdir(parents=True, exist_ok=True)
    names = [name for name in SETUPS if not skipped.get(name, False)]
    tools, results = set_up(names, args.depth)
    measure(tools, results, args.runs, args.depth)
    markdown = table(results, args.depth)
    print(markdown, end="")
    RESULTS.write_text(markdown)
    command = "bench/script_chain.py " + " ".join(sys.argv[1:] if argv is None else argv)
    write_scripts_md(section(markdown, command.strip(), args.runs, tools))
    return 0


if __name__ == "__main__":
    sys.exit(main())
