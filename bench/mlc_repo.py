"""MLCFlow collection benchmark (issue 17): cairn beside mlcflow on ``mlperf-automations``.

Both tools get their own copy of the same collection (``$CAIRN_MLC_CORPUS``, else
``tests/data/mlperf-automations``, else ``../shared/corpora/mlperf-automations``) under
``bench/.work/mlc-repo/``, a fresh home, a fresh ``HOME`` and a dead proxy. mlcflow
(``mlcflow==1.3.8``) is installed by the bench into ``bench/.work/mlcflow-1.3.8-venv``, never
into cairn's environment.

Measured, each as the median of ``--runs`` whole processes, tools interleaved:

- registering the collection: cairn's ``add repo COPY`` in an empty home (it indexes at once);
  for mlcflow, ``repos.json`` listing the copy (what ``mlc pull repo`` writes after its clone)
  and the first command, ``mlc find script --tags=detect,os``, which builds mlcflow's index;
- a cached run of ``detect os``, ``get python3`` and ``get gcc`` (cairn's ``run script
  --tags=TAGS --quiet --out=json``, mlcflow's ``mlcr TAGS -j``), after a first, untimed run
  that filled the cache. Each sample is checked: the script's key (``MLC_HOST_OS_TYPE``,
  ``MLC_PYTHON_BIN_WITH_PATH``, ``MLC_GCC_VERSION``) has the first run's value, and for cairn
  the script that ran is the collection's (not a built-in one).

A tool that cannot be set up or fails a check gets "not measured: REASON" in its cells.

    .venv/bin/python bench/mlc_repo.py [--runs N]     # also part of: make bench-cm
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import measure
import script_chain as chain
from script_chain import Unavailable

BASE = chain.WORK / "mlc-repo"
VENV = chain.WORK / "mlcflow-1.3.8-venv"
PACKAGE = "mlcflow==1.3.8"
CORPUS_ENV = "CAIRN_MLC_CORPUS"
SECTION = "## MLCFlow collection (mlperf-automations)"
TOOLS = ("cairn", "mlcflow")
# (tags, the key checked, script folder) of the cached runs.
SCRIPTS = (
    ("detect,os", "MLC_HOST_OS_TYPE", "detect-os"),
    ("get,python3", "MLC_PYTHON_BIN_WITH_PATH", "get-python3"),
    ("get,gcc", "MLC_GCC_VERSION", "get-gcc"),
)
REGISTER = "register the collection (empty home)"


def corpus() -> Path:
    """The collection: ``$CAIRN_MLC_CORPUS``, the copy in tests/data, or the shared one."""
    given = os.environ.get(CORPUS_ENV)
    candidates = [Path(given)] if given else []
    candidates += [
        chain.ROOT / "tests" / "data" / "mlperf-automations",
        chain.ROOT.parent / "shared" / "corpora" / "mlperf-automations",
    ]
    for path in candidates:
        if (path / "meta.yaml").is_file() and (path / "script").is_dir():
            return path
    raise Unavailable(f"no MLCFlow collection (set {CORPUS_ENV}); looked in {candidates}")


def copy_of(source: Path, target: Path) -> Path:
    """A fresh writable copy of the collection."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    for folder, _, files in os.walk(target):
        for name in files:
            path = Path(folder, name)
            path.chmod(path.stat().st_mode | 0o200)
    return target


def parse_mlc_json(stderr: str, what: str) -> dict[str, object]:
    """mlcflow's ``-j`` document: logged on stderr after a line ending in ``] - {``."""
    lines = stderr.splitlines()
    for index, line in enumerate(lines):
        if not line.endswith("] - {"):
            continue
        text = "\n".join(["{", *lines[index + 1 :]])
        end = text.rfind("\n}")
        try:
            document = json.loads(text[: end + 2])
        except json.JSONDecodeError:
            continue
        if isinstance(document, dict):
            return document
    raise Unavailable(f"{what}: no JSON document in its output: {stderr[-200:]!r}")


def parse_cairn_json(stdout: str, what: str) -> dict[str, object]:
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError as error:
        raise Unavailable(f"{what}: output is not JSON ({error}): {stdout[:200]!r}") from None
    if not isinstance(document, dict):
        raise Unavailable(f"{what}: JSON output is not an object")
    return document


@dataclass
class Tool:
    """One tool with its own copy of the collection: how to register it and run a script."""

    name: str
    python: Path
    repo: Path
    base: Path
    env: dict[str, str] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)

    def home(self) -> Path:
        return self.base / "home"

    def cwd(self) -> Path:
        return self.base / "cwd"

    def register(self) -> float:
        raise NotImplementedError

    def script_argv(self, tags: str) -> list[str]:
        raise NotImplementedError

    def parse(self, proc: subprocess.CompletedProcess[str], what: str) -> dict[str, object]:
        raise NotImplementedError

    def run_script(self, tags: str, key: str, folder: str) -> tuple[float, str]:
        """One run: its wall time and the value of ``key`` it reported (checked not empty)."""
        what = f"{self.name} {tags}"
        start = time.perf_counter()
        proc = subprocess.run(
            self.script_argv(tags), env=self.env, cwd=self.cwd(), capture_output=True, text=True
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            tail = " / ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
            raise Unavailable(f"`{what}` exited {proc.returncode}: {tail}")
        document = self.parse(proc, what)
        path = document.get("path")
        if path is not None and path != str(self.repo / "script" / folder):
            raise Unavailable(f"{what} ran {path}, not the collection's {folder}")
        new_env = document.get("new_env")
        value = new_env.get(key) if isinstance(new_env, dict) else None
        if not isinstance(value, str) or not value:
            raise Unavailable(f"{what}: no {key} in new_env")
        return elapsed, value

    def version(self) -> str:
        query = f"import importlib.metadata as m; print(m.version({self.name!r}))"
        proc = subprocess.run([str(self.python), "-c", query], capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else "(version unknown)"


class Cairn(Tool):
    def register(self) -> float:
        home = self.home()
        if home.exists():
            shutil.rmtree(home)
        self.env["CAIRN_HOME"] = str(home)
        argv = [str(chain.CAIRN), "add", "repo", str(self.repo)]
        elapsed, _ = chain.run(argv, self.env, self.cwd())
        return elapsed

    def script_argv(self, tags: str) -> list[str]:
        return [str(chain.CAIRN), "run", "script", f"--tags={tags}", "--quiet", "--out=json"]

    def parse(self, proc: subprocess.CompletedProcess[str], what: str) -> dict[str, object]:
        return parse_cairn_json(proc.stdout, what)


class Mlcflow(Tool):
    def register(self) -> float:
        """``repos.json`` listing the copy, then the first command (builds the index)."""
        home = self.home()
        if home.exists():
            shutil.rmtree(home)
        home.mkdir()
        (home / "repos.json").write_text(json.dumps([str(home / "local"), str(self.repo)]))
        self.env["MLC_REPOS"] = str(home)
        argv = [str(self.python.parent / "mlc"), "find", "script", "--tags=detect,os"]
        elapsed, output = chain.run(argv, self.env, self.cwd())
        if str(self.repo / "script" / "detect-os") not in output:
            raise Unavailable(f"mlc find script --tags=detect,os: {output[-200:]!r}")
        return elapsed

    def script_argv(self, tags: str) -> list[str]:
        return [str(self.python.parent / "mlcr"), tags, "-j"]

    def parse(self, proc: subprocess.CompletedProcess[str], what: str) -> dict[str, object]:
        return parse_mlc_json(proc.stderr, what)


def setup_cairn(source: Path) -> Tool:
    if not chain.CAIRN.exists():
        raise Unavailable(f"{chain.CAIRN} missing: run `make` first")
    base = chain.fresh_dir(BASE / "cairn")
    repo = copy_of(source, base / "mlperf-automations")
    chain.fresh_dir(base / "cwd")
    python = chain.ROOT / ".venv" / "bin" / "python"
    return Cairn("cairn", python, repo, base, chain.base_env(base / "user"))


def setup_mlcflow(source: Path) -> Tool:
    bin_dir = chain.ensure_venv(VENV, PACKAGE, "mlcr")
    base = chain.fresh_dir(BASE / "mlcflow")
    repo = copy_of(source, base / "mlperf-automations")
    chain.fresh_dir(base / "cwd")
    return Mlcflow("mlcflow", bin_dir / "python", repo, base, chain.base_env(base / "user"))


SETUPS: dict[str, Callable[[Path], Tool]] = {"cairn": setup_cairn, "mlcflow": setup_mlcflow}


def cached_task(tags: str, key: str, folder: str) -> Callable[[Tool], float]:
    def task(tool: Tool) -> float:
        elapsed, value = tool.run_script(tags, key, folder)
        if value != tool.first[tags]:
            raise Unavailable(f"{tool.name} {tags}: {key}={value!r}, first {tool.first[tags]!r}")
        return elapsed

    return task


def register_task(tool: Tool) -> float:
    return tool.register()


TASKS: dict[str, Callable[[Tool], float]] = {REGISTER: register_task}
for _tags, _key, _folder in SCRIPTS:
    TASKS[f"`{_tags}`, cached (second run onwards)"] = cached_task(_tags, _key, _folder)


def first_runs(tool: Tool) -> None:
    """Untimed: register, then each script once (fills the cache); the values kept."""
    tool.register()
    for tags, key, folder in SCRIPTS:
        _, tool.first[tags] = tool.run_script(tags, key, folder)


def set_up(source: Path, names: tuple[str, ...]) -> tuple[list[Tool], dict[str, dict[str, str]]]:
    tools: list[Tool] = []
    cells: dict[str, dict[str, str]] = {}
    for name in names:
        print(f"{name}: setting up, first runs", file=sys.stderr, flush=True)
        try:
            tool = SETUPS[name](source)
            first_runs(tool)
        except Unavailable as failure:
            print(f"{name}: {failure}", file=sys.stderr, flush=True)
            cells[name] = dict.fromkeys(TASKS, f"not measured: {failure}")
            continue
        cells[name] = {}
        tools.append(tool)
    return tools, cells


def measure_tasks(tools: list[Tool], cells: dict[str, dict[str, str]], runs: int) -> None:
    """Cached runs first (registering again empties the home), then registering."""
    order = [task for task in TASKS if task != REGISTER] + [REGISTER]
    for task in order:
        print(f"measuring {task} ({runs} rounds)", file=sys.stderr, flush=True)
        times: dict[str, list[float]] = {tool.name: [] for tool in tools}
        for _ in range(runs):
            for tool in tools:
                if task in cells[tool.name]:
                    continue
                try:
                    times[tool.name].append(TASKS[task](tool))
                except Unavailable as failure:
                    cells[tool.name][task] = f"not measured: {failure}"
        for name, samples in times.items():
            if task not in cells[name]:
                cells[name][task] = figure(statistics.median(samples))


def figure(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def ratio(cairn: str, other: str) -> str:
    if not (cairn.endswith(" ms") and other.endswith(" ms")):
        return "-"
    return f"{float(other[:-3]) / float(cairn[:-3]):.1f}x"


def table(cells: dict[str, dict[str, str]]) -> str:
    lines = ["| task | cairn | mlcflow | mlcflow/cairn |", "|---|---|---|---|"]
    for task in TASKS:
        cairn, mlcflow = (chain.escape(cells.get(name, {}).get(task, "-")) for name in TOOLS)
        lines.append(f"| {task} | {cairn} | {mlcflow} | {ratio(cairn, mlcflow)} |")
    return "\n".join(lines) + "\n"


def shown(path: Path) -> str:
    """``path`` relative to the checkout when inside it."""
    return str(path.relative_to(chain.ROOT)) if path.is_relative_to(chain.ROOT) else str(path)


def load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def section(markdown: str, command: str, runs: int, tools: list[Tool], source: Path) -> str:
    versions = "; ".join(f"{tool.name} {tool.version()}" for tool in tools) or "none"
    return (
        f"{SECTION}\n\n"
        f"- Machine: {measure.machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"load average (1/5/15 min) at the end {load()}.\n"
        f"- Command: `{command}` (or `make bench-cm`).\n"
        f"- Tools: {versions}; each with its own copy of {shown(source)} (see "
        "bench/mlc_repo.py for what registering means for each).\n"
        f"- Figures: median of {runs} whole processes, tools interleaved; every sample checked.\n"
        f"\n{markdown}"
    )


def measure_all(runs: int, command: str = "") -> tuple[str, str]:
    """The markdown table and the SCRIPTS.md section (used by cm_repo.py too)."""
    try:
        source = corpus()
    except Unavailable as failure:
        cells = {name: dict.fromkeys(TASKS, f"not measured: {failure}") for name in TOOLS}
        return table(cells), ""
    tools, cells = set_up(source, TOOLS)
    measure_tasks(tools, cells, runs)
    markdown = table(cells)
    command = command or f"bench/mlc_repo.py --runs {runs}"
    return markdown, section(markdown, command, runs, tools, source)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    markdown, text = measure_all(args.runs)
    print(markdown, end="")
    if text:
        chain.write_scripts_md(text, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
