"""``cairn run script NAME --help``: the script's own page (variations, inputs, env, deps)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.script_fixtures import ScriptRepo


def test_help_of_a_named_script_shows_what_it_takes(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    repo = ScriptRepo(tmp_path / "repo", alias="mine")
    repo.add(
        "trainer",
        {
            "name": "Train a model",
            "cache": True,
            "tags": ["train", "model"],
            "variations": {
                "cpu": {"group": "device", "default": True},
                "gpu": {"group": "device"},
                "bs.#": {"env": {"BS": "#"}},
                "fast": {},
            },
            "input_mapping": {"epochs": "CM_EPOCHS", "data": "CM_DATA"},
            "input_description": {
                "epochs": {"desc": "how many passes", "default": 3, "sort": 1},
                "data": {"desc": "the dataset folder", "sort": 0},
                "mode": {"choices": ["fast", "slow"]},
            },
            "default_env": {"CM_EPOCHS": "3"},
            "default_version": "1.2",
            "versions": {"1.2": {}, "2.0": {}},
            "deps": [{"tags": "detect,os"}, {"tags": "get,python3", "names": ["python"]}],
        },
    )
    done = cli("run", "script", "train,model", "--help")
    assert done.returncode == 0, done.stderr
    page = done.stdout[done.stdout.index("Script mine:trainer") :]
    assert page.splitlines() == [
        "Script mine:trainer: Train a model",
        f"  path: {repo.root / 'script' / 'trainer'}",
        "  tags: train,model",
        "  cached: yes",
        "",
        "Variations (* = default of its group):",
        "  group device: _cpu* _gpu",
        "  other: _bs.<value> _fast",
        "",
        "Inputs (--FLAG=VALUE):",
        "  --data -> CM_DATA  (the dataset folder)",
        "  --mode  (choices: fast, slow)",
        "  --epochs -> CM_EPOCHS  (how many passes; default: 3)",
        "",
        "Default env (--env.KEY=VALUE changes it):",
        "  CM_EPOCHS=3",
        "",
        "Versions (--version, --version_min, --version_max):",
        "  default: 1.2",
        "  known: 1.2, 2.0",
        "",
        "Dependencies ([names] for --adr.NAME...):",
        "  deps: detect,os",
        "  deps: get,python3 [python]",
    ]
    assert "usage: cairn run script" in done.stdout  # the flags come first


def test_help_without_a_script_or_of_a_missing_one(cli: Callable[..., Any]) -> None:
    plain = cli("run", "script", "--help")
    assert plain.returncode == 0 and "Script " not in plain.stdout
    missing = cli("run", "script", "no-such-script", "--help")
    assert missing.returncode == 16 and "no-such-script" in missing.stderr
