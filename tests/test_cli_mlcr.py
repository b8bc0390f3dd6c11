"""``cairn mlcr``: MLCFlow's ``mlcr TAGS`` words, rewritten into ``run script``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from cairn.cli import mlcr
from tests.conftest import json_out
from tests.script_fixtures import ScriptRepo


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["detect os", "-j"], ["--tags=detect,os", "--out=json"]),
        (["detect,os"], ["--tags=detect,os"]),
        (["get python3 _v", "--version_min=3.8"], ["--tags=get,python3,_v", "--version_min=3.8"]),
        (["set venv", "tvenv2", "-s"], ["--tags=set,venv", "tvenv2", "-s"]),
        (["--tags=a,b", "-j"], ["--tags=a,b", "--out=json"]),
        (["@in.yaml"], ["@in.yaml"]),
        (["x", "--", "-j"], ["--tags=x", "--", "-j"]),
        ([], []),
    ],
)
def test_expand(words: list[str], expected: list[str]) -> None:
    assert mlcr.expand(words) == ["run", "script", *expected]


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    r = ScriptRepo(tmp_path / "repo")
    r.add(
        "hello",
        {"new_env_keys": ["HELLO*"], "input_mapping": {"who": "HELLO_WHO"}},
        tags=["say", "hello"],
        run='echo "HELLO=hi $HELLO_WHO" > tmp-run-env.out\n',
    )
    return r


def test_mlcr_runs_the_script_its_tags_name(repo: ScriptRepo, cli: Any) -> None:
    mine = json_out(cli("mlcr", "say hello", "--who=you", "-j"))
    theirs = json_out(cli("run", "script", "--tags=say,hello", "--who=you", "--out=json"))
    assert mine["new_env"] == theirs["new_env"] == {"HELLO": "hi you", "HELLO_WHO": "you"}
    assert mine["script"] == "hello"


def test_mlcr_is_in_the_help(cli: Any) -> None:
    page = cli("help").stdout
    assert "mlcr TAGS" in page and "cairn-mlcr" in page
    assert "cairn run script" in cli("mlcr", "--help").stdout


def test_the_cairn_mlcr_command(
    repo: ScriptRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["cairn-mlcr", "say,hello", "-j", "-s"])
    assert mlcr.main() == 0
    assert '"HELLO": "hi "' in capsys.readouterr().out
