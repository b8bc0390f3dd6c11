"""Fixtures for the MLCFlow compatibility suite: the ``mlperf-automations`` collection run
through cairn.

The collection (MLCFlow's script repository: ``meta.yaml`` at its root, ``script/*/meta.yaml``,
``MLC_*`` variables, hooks doing ``from mlc import utils``) is looked for, in this order, at
``$CAIRN_MLC_CORPUS``, ``tests/data/mlperf-automations`` (a copy kept in the repository, with
its licence and ``SOURCE.md``) and ``../shared/corpora/mlperf-automations`` beside the checkout;
without one every test here is skipped, saying so. Each test module copies it into a temporary
folder of its own (the source stays untouched), gives it a fresh ``$CAIRN_HOME`` and a fresh
``HOME``, and registers the copy with ``cairn add repo``.

Every run is a ``cairn`` subprocess in the guarded environment of ``tests/compat`` (no package
manager, no package index, a dead proxy). Neither ``mlc`` nor ``mlcflow`` may be installed: the
suite checks that they cannot be imported, and the child records where every ``mlc``,
``mlcflow`` and ``cmind`` import was found; each must be inside cairn's own package.

Nothing snapshot-specific is written here (no uids, no counts): the scripts are found by their
tags, and the keys a script may return come from the copy's own ``new_env_keys``.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.compat.conftest import Run, guarded_env
from tests.compat_mlc import reference
from tests.mlc_fixtures import BESIDE, CORPUS_ENV, IN_TESTS, find_corpus

WATCHED = ("mlc", "mlcflow", "cmind")
BLOCKED_TOOLS = ("apt-get", "apt", "sudo", "yum", "dnf", "zypper", "brew", "snap")

# Runs cairn's CLI in the child and records where every watched import was found.
WRAPPER = """
import os, sys
log = os.environ["CAIRN_COMPAT_IMPORT_LOG"]
watched = set(os.environ["CAIRN_COMPAT_WATCHED"].split(","))
class Recorder:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in watched:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                with open(log, "a") as f:
                    f.write(f"{name}\\t{spec.origin}\\n")
                return spec
        return None
sys.meta_path.insert(0, Recorder())
from cairn.cli.main import main
raise SystemExit(main(sys.argv[1:]))
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is a ``compat`` test."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.compat)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The collection's folder (read only: each module copies it)."""
    found = find_corpus()
    if found is None:
        pytest.skip(
            f"no MLCFlow collection: set {CORPUS_ENV}=/path/to/mlperf-automations (a folder "
            f"with meta.yaml and script/), or put one at {IN_TESTS} or {BESIDE}"
        )
    return found


def copy_corpus(source: Path, target: Path) -> Path:
    """A writable copy of the collection (its files may be read-only)."""
    shutil.copytree(source, target, symlinks=True)
    for folder, dirs, files in os.walk(target):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
    return target


def _guard_bin(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for tool in BLOCKED_TOOLS:
        stub = folder / tool
        stub.write_text(f'#!/bin/sh\necho "compat tests: {tool} is blocked" >&2\nexit 100\n')
        stub.chmod(0o755)
    return folder


def cairn_package() -> Path:
    """The folder of the ``cairn`` package the children import (``PYTHONPATH`` is inherited)."""
    spec = importlib.util.find_spec("cairn")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).resolve().parent


def script_meta(script: Path) -> dict[str, Any]:
    meta = yaml.safe_load((script / "meta.yaml").read_text())
    assert isinstance(meta, dict), script
    return meta


def _chosen(name: str, variations: list[str]) -> bool:
    """Whether the variation entry ``name`` (``a``, ``a,b``, ``a.#``) is among those chosen."""
    chosen = [v.removeprefix("_") for v in variations]
    parts = name.split(",")
    return all(
        part in chosen or (part.endswith(".#") and any(c.startswith(part[:-1]) for c in chosen))
        for part in parts
    )


def allowed_keys(script: Path, variations: list[str]) -> list[str]:
    """The ``new_env_keys`` patterns of a script in the copy and of its chosen variations
    (``+``/``?`` prefixes kept off; a ``<<<NAME>>>`` key, named by the env at run time, lets
    any key through)."""
    meta = script_meta(script)
    keys = [str(key) for key in meta.get("new_env_keys", [])]
    for name, variation in (meta.get("variations") or {}).items():
        if isinstance(variation, dict) and _chosen(str(name), variations):
            keys += [str(key) for key in variation.get("new_env_keys", [])]
    return [re.sub(r"<<<[^>]*>>>", "*", key.lstrip("+?")) for key in keys]


def unexpected_keys(env: dict[str, Any], script: Path, variations: list[str]) -> list[str]:
    """Keys of ``env`` that no ``new_env_keys`` pattern of ``script`` lets through."""
    patterns = allowed_keys(script, variations)
    return [
        key
        for key in env
        if not any(fnmatch.fnmatchcase(key.lstrip("+"), pattern) for pattern in patterns)
    ]


@dataclass
class Mlc:
    """The ``cairn`` command with one module's home and its copy of the collection registered."""

    home: Path
    root: Path
    env: dict[str, str]
    cwd: Path
    import_log: Path
    runs: int = 0

    def __call__(
        self, *argv: str, timeout: float = 300, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", WRAPPER, *argv],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=cwd or self.cwd,
            timeout=timeout,
        )

    def script(self, alias: str) -> Path:
        return self.root / "script" / alias

    def run(
        self, tags: str, *args: str, alias: str, ok: bool = True, cwd: Path | None = None
    ) -> Run:
        """``cairn run script --tags=TAGS ARGS --quiet --out=json``, as ``mlcr TAGS`` would;
        if ``ok``: exit 0, the script that ran is ``alias`` of the collection's copy, and its
        env holds only keys its ``new_env_keys`` let through."""
        argv = ("run", "script", f"--tags={tags}", *args, "--quiet", "--out=json")
        proc = self(*argv, cwd=cwd)
        self.runs += 1
        if ok:
            assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
        run = Run(proc, json.loads(proc.stdout) if proc.stdout.strip() else {})
        if ok:
            assert run.result.get("return") == 0, run.result
            assert run.result.get("path") == str(self.script(alias)), run.result.get("path")
            chosen = list(run.result.get("variations", []))
            stray = unexpected_keys(run.env, self.script(alias), chosen)
            assert not stray, f"{alias}: keys its new_env_keys do not allow: {stray}"
        return run

    def assert_reference_keys(self, alias: str, run: Run) -> None:
        """Every ``MLC_*`` key mlcflow gave for ``alias`` is in the run's env too (keys the
        copy's ``new_env_keys`` no longer allow, and keys that depend on the host, left out)."""
        patterns = allowed_keys(self.script(alias), list(run.result.get("variations", [])))
        missing = reference.missing_keys(alias, run.env, patterns)
        assert not missing, f"{alias}: mlcflow also gave {missing}"

    def imports(self) -> list[tuple[str, str]]:
        """Every watched module the children imported so far, with its file."""
        if not self.import_log.is_file():
            return []
        pairs = (line.partition("\t") for line in self.import_log.read_text().splitlines())
        return [(name, origin) for name, _, origin in pairs]


@pytest.fixture(scope="module")
def mlc(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mlc]:
    """A module-wide ``$CAIRN_HOME`` with a copy of the collection registered; at the end,
    checks that every ``mlc``/``mlcflow``/``cmind`` import came from cairn itself."""
    base = tmp_path_factory.mktemp("compat-mlc")
    root = copy_corpus(corpus, base / "mlperf-automations")
    home, cwd, user = base / "cairn-home", base / "cwd", base / "user"
    cwd.mkdir()
    user.mkdir()
    log = base / "imports.tsv"
    env = guarded_env(home, _guard_bin(base / "guard"), log)
    env.update(HOME=str(user), CAIRN_COMPAT_WATCHED=",".join(WATCHED))
    for name in ("MLC_REPOS", "CM_REPOS"):
        env.pop(name, None)
    tool = Mlc(home, root, env, cwd, log)
    added = tool("add", "repo", str(root))
    assert added.returncode == 0, f"cairn add repo {root}: exit {added.returncode}\n{added.stderr}"
    yield tool
    package = cairn_package()
    foreign = [(n, o) for n, o in tool.imports() if not Path(o).resolve().is_relative_to(package)]
    assert not foreign, f"imported from outside cairn ({package}): {foreign}"
    if tool.runs:  # the collection's hooks do `from mlc import utils`: the check saw them
        assert any(name == "mlc" for name, _ in tool.imports()), tool.imports()


def which(tool: str, env: dict[str, str] | None = None) -> str:
    """The path of ``tool`` on the children's ``PATH``, or skip: the script only detects it."""
    path = shutil.which(tool, path=(env or os.environ).get("PATH"))
    if path is None:
        pytest.skip(f"{tool} is not installed on this machine")
    return path


def tool_output(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr
