"""CM repository benchmark (issue 6): `detect os` and cached `get python3` from cmx4mlops.

cairn and cmind run the same two scripts of the same unpacked ``cmx4mlops==1.0.1`` folder (the
PyPI wheel, a CM repository with ``cmr.yaml``), in the same run, each with a fresh home under
``bench/.work/cm-repo/`` and a dead proxy, so nothing reaches the network and the real ``~/CM``
and ``~/.cairn`` are never read or written.

Both tools are given the script as ``cmx4mlops:detect-os`` / ``cmx4mlops:get-python3`` (repository
alias, colon, script alias; both accept the form). By tags alone cairn would pick its own
``builtin:detect-os`` (the ``builtin`` repository comes before registered ones), while cmind has no
other scripts: its internal repository holds automations only and its home lists cmx4mlops alone.

Measured, each as the median of ``--runs`` whole processes, tools interleaved: ``python -c pass``
with each tool's interpreter and ``bash run.sh`` of ``detect-os`` alone (the floors);
``detect-os``, which is not cached, so every run is a full run (its shell script and
``customize.py``); ``get-python3`` from its cache entry, which the first (checked, untimed) run
made. Every sample is checked: ``CM_HOST_OS_TYPE`` and
``CM_HOST_OS_PACKAGE_MANAGER_INSTALL_CMD`` (which cairn's built-in ``detect-os`` does not set) in
the JSON output; the Python path and version of the first run; no new cache entry.

The same run then measures cairn beside mlcflow on MLCFlow's collection (``bench/mlc_repo.py``:
registering it, cached runs of everyday scripts), with ``--mlc-runs`` samples per figure (mlcflow
takes seconds a run); ``--no-mlcflow`` leaves that part out.

    .venv/bin/python bench/cm_repo.py [--runs N] [--mlc-runs N] [--no-mlcflow]   # make bench-cm
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import measure
import mlc_repo
import script_chain as chain
from script_chain import Unavailable

BASE = chain.WORK / "cm-repo"
RESULTS = chain.WORK / "cm-repo.md"
SECTION = "## cmx4mlops scripts"
DETECT_OS = "cmx4mlops:detect-os"
GET_PYTHON = "cmx4mlops:get-python3"
FLAGS = ["--quiet", "--out=json"]
TOOLS = ("cairn", "cmind")


@dataclass
class Tool:
    """One tool set up with cmx4mlops registered: how to run a script and where its cache is."""

    name: str
    python: Path
    command: list[str]
    env: dict[str, str]
    cwd: Path
    cache: Path
    python_found: dict[str, str] = field(default_factory=dict)

    def run_script(self, artifact: str) -> tuple[float, dict[str, object]]:
        """Run ``run script ARTIFACT --quiet --out=json``: wall time and the parsed JSON."""
        argv = [*self.command, "run", "script", artifact, *FLAGS]
        start = time.perf_counter()
        proc = subprocess.run(argv, env=self.env, cwd=self.cwd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            tail = " / ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
            raise Unavailable(
                f"`{self.name} run script {artifact}` exited {proc.returncode}: {tail}"
            )
        return elapsed, parse_json(proc.stdout, f"{self.name} run script {artifact}")

    def cache_entries(self) -> int:
        return len(list(self.cache.iterdir())) if self.cache.is_dir() else 0

    def version(self) -> str:
        query = f"import importlib.metadata as m; print(m.version({self.name!r}))"
        proc = subprocess.run([str(self.python), "-c", query], capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else "(version unknown)"


def parse_json(stdout: str, what: str) -> dict[str, object]:
    """The JSON document a tool printed with ``--out=json``: from the first line that is ``{``
    (on a first run cmind prints the native scripts' output, e.g. "Detected version", before it).
    """
    lines = stdout.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "{"), 0)
    try:
        document = json.loads("".join(lines[start:]))
    except json.JSONDecodeError as error:
        raise Unavailable(f"{what}: output is not JSON ({error}): {stdout[:200]!r}") from None
    if not isinstance(document, dict):
        raise Unavailable(f"{what}: JSON output is not an object: {stdout[:200]!r}")
    return document


# ---------------------------------------------------------------- set-up


def tool_dirs(name: str) -> tuple[Path, Path, Path]:
    """A tool's fresh home, a fresh ``HOME`` for its runs and its work directory (the cwd)."""
    base = chain.fresh_dir(BASE / name)
    return base / "home", base / "user", chain.fresh_dir(base / "cwd")


def setup_cairn(repo: Path) -> Tool:
    if not chain.CAIRN.exists():
        raise Unavailable(f"{chain.CAIRN} missing: run `make` first")
    home, user, cwd = tool_dirs("cairn")
    env = {**chain.base_env(user), "CAIRN_HOME": str(home)}
    chain.setup_step([str(chain.CAIRN), "add", "repo", str(repo)], "cairn add repo", env)
    python = chain.ROOT / ".venv" / "bin" / "python"
    return Tool("cairn", python, [str(chain.CAIRN)], env, cwd, home / "local" / "cache")


def setup_cmind(repo: Path) -> Tool:
    """cmind registers a local repository folder by its path in ``$CM_REPOS/repos.json``."""
    bin_dir = chain.ensure_venv(chain.CMIND_VENV, "cmind", "cm")
    home, user, cwd = tool_dirs("cmind")
    home.mkdir()
    (home / "repos.json").write_text(json.dumps([str(repo)]))
    env = {**chain.base_env(user), "CM_REPOS": str(home)}
    cache = home / "repos" / "local" / "cache"
    tool = Tool("cmind", bin_dir / "python", [str(bin_dir / "cm")], env, cwd, cache)
    only_in(tool, repo)
    return tool


def only_in(tool: Tool, repo: Path) -> None:
    """Every script folder the tool finds by the two tag sets must be in ``repo`` (cmind's JSON
    output does not name the script's folder, so this is checked once, before the runs)."""
    for tags in ("detect,os", "get,python3"):
        argv = [*tool.command, "find", "script", f"--tags={tags}"]
        _, output = chain.run(argv, tool.env, tool.cwd)
        found = [line for line in output.splitlines() if Path(line).is_dir()]
        if not found or any(not line.startswith(str(repo)) for line in found):
            raise Unavailable(f"{tool.name} find script --tags={tags}: {found}")


SETUPS: dict[str, Callable[[Path], Tool]] = {"cairn": setup_cairn, "cmind": setup_cmind}


def unpacked_repo() -> Path:
    """The unpacked cmx4mlops folder (wheel downloaded with cmind's pip the first time)."""
    bin_dir = chain.ensure_venv(chain.CMIND_VENV, "cmind", "cm")
    repo = chain.cmx4mlops_repo(bin_dir / "pip")
    for script in ("detect-os", "get-python3"):
        if not (repo / "repo" / "script" / script / "_cm.yaml").exists():
            raise Unavailable(f"{repo} has no script/{script}")
    return repo


# ---------------------------------------------------------------- checks


def new_env(tool: Tool, document: dict[str, object]) -> dict[str, object]:
    env = document.get("new_env")
    if not isinstance(env, dict):
        raise Unavailable(f"{tool.name}: no new_env in the JSON output")
    return env


def check_from_repo(tool: Tool, document: dict[str, object], repo: Path) -> None:
    """cairn reports the script's folder: it must be the cmx4mlops one (cmind has no other)."""
    path = document.get("path")
    if path is not None and not str(path).startswith(str(repo)):
        raise Unavailable(f"{tool.name} ran {path}, not the script in {repo}")


def check_detect_os(tool: Tool, document: dict[str, object], repo: Path) -> None:
    check_from_repo(tool, document, repo)
    env = new_env(tool, document)
    expected = platform.system().lower()
    if env.get("CM_HOST_OS_TYPE") != expected:
        raise Unavailable(f"{tool.name}: CM_HOST_OS_TYPE={env.get('CM_HOST_OS_TYPE')!r}")
    if "CM_HOST_OS_PACKAGE_MANAGER_INSTALL_CMD" not in env:
        raise Unavailable(f"{tool.name}: no CM_HOST_OS_PACKAGE_MANAGER_INSTALL_CMD (not cmx4mlops)")


def python_of(tool: Tool, document: dict[str, object]) -> dict[str, str]:
    """The interpreter ``get-python3`` found: path and version, both present."""
    env = new_env(tool, document)
    keys = ("CM_PYTHON_BIN_WITH_PATH", "CM_PYTHON_VERSION")
    found = {key: env.get(key) for key in keys}
    if not all(isinstance(value, str) and value for value in found.values()):
        raise Unavailable(f"{tool.name}: get-python3 gave {found}")
    return {key: str(value) for key, value in found.items()}


def check_python_found(tool: Tool, found: dict[str, str]) -> None:
    """The path must be a Python reporting the version claimed (checked once, untimed)."""
    binary = found["CM_PYTHON_BIN_WITH_PATH"]
    argv = [binary, "-c", "import platform; print(platform.python_version())"]
    proc = subprocess.run(argv, env=tool.env, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or proc.stdout.strip() != found["CM_PYTHON_VERSION"]:
        raise Unavailable(f"{tool.name}: {binary} is not Python {found['CM_PYTHON_VERSION']}")


def check_get_python(tool: Tool, document: dict[str, object], repo: Path) -> None:
    check_from_repo(tool, document, repo)
    found = python_of(tool, document)
    if found != tool.python_found:
        raise Unavailable(
            f"{tool.name}: cached get-python3 gave {found}, first {tool.python_found}"
        )


# ---------------------------------------------------------------- measuring


def first_runs(tool: Tool, repo: Path) -> None:
    """Untimed: the first run of each script (fills the cache), checked; then one warm-up each."""
    _, document = tool.run_script(DETECT_OS)
    check_detect_os(tool, document, repo)
    _, document = tool.run_script(GET_PYTHON)
    tool.python_found = python_of(tool, document)
    check_python_found(tool, tool.python_found)
    if tool.cache_entries() != 1:
        raise Unavailable(f"{tool.name}: {tool.cache_entries()} cache entries in {tool.cache}")
    detect_os(tool, repo)
    cached_python(tool, repo)


def detect_os(tool: Tool, repo: Path) -> float:
    elapsed, document = tool.run_script(DETECT_OS)
    check_detect_os(tool, document, repo)
    return elapsed


def cached_python(tool: Tool, repo: Path) -> float:
    """A cached run: the right answer and no new cache entry."""
    before = tool.cache_entries()
    elapsed, document = tool.run_script(GET_PYTHON)
    check_get_python(tool, document, repo)
    if tool.cache_entries() != before:
        raise Unavailable(f"{tool.name}: get-python3 made a new cache entry (cache missed)")
    return elapsed


def bare_python(tool: Tool, repo: Path) -> float:
    elapsed, _ = chain.run([str(tool.python), "-c", "pass"], tool.env, tool.cwd)
    return elapsed


def bare_run_sh(tool: Tool, repo: Path) -> float:
    """detect-os's shell script alone, without any tool, in a scratch folder (then removed)."""
    scratch = chain.fresh_dir(tool.cwd.parent / "scratch")
    run_sh = repo / "repo" / "script" / "detect-os" / "run.sh"
    elapsed, _ = chain.run(["bash", str(run_sh)], tool.env, scratch)
    shutil.rmtree(scratch)
    return elapsed


TASKS: dict[str, Callable[[Tool, Path], float]] = {
    "`python -c pass` (the tool's interpreter)": bare_python,
    "`bash run.sh` of detect-os (no tool)": bare_run_sh,
    f"`run script {DETECT_OS}` (not cached: a full run)": detect_os,
    f"`run script {GET_PYTHON}` (cached: second run onwards)": cached_python,
}


def set_up(repo: Path) -> tuple[list[Tool], dict[str, dict[str, str]]]:
    """The tools that could be set up and passed their first runs; the others' cells say why."""
    tools: list[Tool] = []
    cells: dict[str, dict[str, str]] = {}
    for name, setup in SETUPS.items():
        print(f"{name}: setting up, first runs", file=sys.stderr, flush=True)
        try:
            tool = setup(repo)
            first_runs(tool, repo)
        except Unavailable as failure:
            cells[name] = dict.fromkeys(TASKS, f"not measured: {failure}")
            continue
        cells[name] = {}
        tools.append(tool)
    return tools, cells


def measure_task(
    task: str, tools: list[Tool], cells: dict[str, dict[str, str]], runs: int, repo: Path
) -> None:
    """``runs`` rounds over the tools (noise hits both alike); the median in ms, or the error."""
    times: dict[str, list[float]] = {tool.name: [] for tool in tools}
    for _ in range(runs):
        for tool in tools:
            if task in cells[tool.name]:
                continue
            try:
                times[tool.name].append(TASKS[task](tool, repo))
            except Unavailable as failure:
                cells[tool.name][task] = f"not measured: {failure}"
    for name, samples in times.items():
        if task not in cells[name]:
            cells[name][task] = f"{statistics.median(samples) * 1000:.0f} ms"


# ---------------------------------------------------------------- reporting


def ratio(cairn: str, cmind: str) -> str:
    """cmind's time over cairn's, when both are figures."""
    if not (cairn.endswith(" ms") and cmind.endswith(" ms")):
        return "-"
    return f"{float(cmind[:-3]) / float(cairn[:-3]):.1f}x"


def table(cells: dict[str, dict[str, str]]) -> str:
    lines = ["| task | cairn | cmind | cmind/cairn |", "|---|---|---|---|"]
    for task in TASKS:
        cairn, cmind = (chain.escape(cells[name][task]) for name in TOOLS)
        lines.append(f"| {task} | {cairn} | {cmind} | {ratio(cairn, cmind)} |")
    return "\n".join(lines) + "\n"


def load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def section(markdown: str, command: str, runs: int, tools: list[Tool], loads: str) -> str:
    versions = "; ".join(f"{tool.name} {tool.version()}" for tool in tools) or "none"
    return (
        f"{SECTION}\n\n"
        f"- Machine: {measure.machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"load average (1/5/15 min) {loads}.\n"
        f"- Command: `{command}` (or `make bench-cm`).\n"
        f"- Tools: {versions}; both run the scripts of the same unpacked {chain.CMX4MLOPS} "
        f"folder, each tool with `run script ARTIFACT {' '.join(FLAGS)}`.\n"
        f"- Figures: median of {runs} whole processes, tools interleaved. Scripts are named "
        "`cmx4mlops:ALIAS` so that both tools surely run the same script (cmind has no other; "
        "cairn also ships a `detect-os`, a fallback the repository's script wins over). Each "
        "sample is checked: `CM_HOST_OS_TYPE` and `CM_HOST_OS_PACKAGE_MANAGER_INSTALL_CMD` "
        "(cmx4mlops's, which cairn's built-in lacks) for detect-os; the Python path and version "
        "of the first run and no new cache entry for get-python3.\n\n"
        f"{markdown}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (median)")
    parser.add_argument(
        "--mlc-runs", type=int, default=3, help="runs per figure beside mlcflow (median)"
    )
    parser.add_argument("--no-mlcflow", action="store_true", help="leave mlcflow out")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.mlc_runs < 1:
        parser.error("--runs and --mlc-runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        repo = unpacked_repo()
    except Unavailable as failure:
        print(f"cm_repo: {failure}", file=sys.stderr)
        if not args.no_mlcflow:
            beside_mlcflow(args.mlc_runs)
        return 1
    loads = load()
    tools, cells = set_up(repo)
    for task in TASKS:
        print(f"measuring {task} ({args.runs} rounds)", file=sys.stderr, flush=True)
        measure_task(task, tools, cells, args.runs, repo)
    loads += f" at the start, {load()} at the end"
    markdown = table(cells)
    print(markdown, end="")
    RESULTS.write_text(markdown)
    command = " ".join(["bench/cm_repo.py", *(sys.argv[1:] if argv is None else argv)])
    chain.write_scripts_md(section(markdown, command, args.runs, tools, loads), SECTION)
    if not args.no_mlcflow:
        beside_mlcflow(args.mlc_runs, command)
    return 0


def beside_mlcflow(runs: int, command: str = "") -> None:
    """cairn and mlcflow on MLCFlow's collection, printed after the cmind table."""
    markdown, text = mlc_repo.measure_all(runs, command)
    print(f"\n{mlc_repo.SECTION}\n\n{markdown}", end="")
    if text:
        chain.write_scripts_md(text, mlc_repo.SECTION)


if __name__ == "__main__":
    sys.exit(main())
