"""Meta keys acted on around the native script: ``script`` from preprocess, clean files,
files shown on failure, ``print_env_at_the_end``, ``required_disk_space``, ``docker``."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.script_fixtures import ScriptRepo, fails, ok


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


def test_preprocess_script_runs_another_script_instead(repo: ScriptRepo) -> None:
    repo.add(
        "other", {"new_env_keys": ["OTHER_*"]}, run='echo "OTHER_SAW=$MAIN_SET" > tmp-run-env.out\n'
    )
    repo.add(
        "main",
        {"new_env_keys": ["OTHER_*", "MAIN_*"]},
        customize="""
        def preprocess(i):
            i['env']['MAIN_SET'] = 'from main'
            return {'return': 0, 'script': {'tags': 'other'}}
        """,
        run="echo MAIN_NATIVE=ran > tmp-run-env.out\n",
    )
    result = ok("main")
    assert result["new_env"] == {"MAIN_SET": "from main", "OTHER_SAW": "from main"}
    assert [d["script"] for d in result["deps"]] == ["other"]


def test_clean_files_are_removed_before_the_native_script(repo: ScriptRepo) -> None:
    repo.add(
        "cleaner",
        {"clean_files": ["stale.txt"], "new_env_keys": ["STALE"]},
        customize="""
        def preprocess(i):
            open('stale.txt', 'w').write('old')
            return {'return': 0}
        """,
        run="if [ -e stale.txt ]; then echo STALE=yes; else echo STALE=no; fi > tmp-run-env.out\n",
    )
    assert ok("cleaner")["new_env"] == {"STALE": "no"}


def test_clean_files_cannot_leave_the_work_dir(repo: ScriptRepo) -> None:
    repo.add("escaper", {"clean_files": ["../victim"]}, run="true\n")
    assert "must stay inside" in fails("escaper")["error"]


def test_files_named_for_errors_are_shown_on_failure(repo: ScriptRepo) -> None:
    repo.add(
        "failing",
        {"print_files_if_script_error": ["build.log"]},
        run='echo "compiler said: missing header" > build.log\nexit 3\n',
    )
    error = fails("failing")["error"]
    assert "exit code 3" in error
    assert "--- build.log ---" in error and "compiler said: missing header" in error


def test_print_env_at_the_end_and_disk_warning(repo: ScriptRepo, cli: Any) -> None:
    repo.add(
        "reporter",
        {
            "print_env_at_the_end": {"REP_PATH": "Path to the thing"},
            "variations": {"huge": {"required_disk_space": 10**12}},
        },
        run="echo REP_PATH=/somewhere > tmp-run-env.out\n",
    )
    done = cli("run", "script", "reporter _huge")
    assert done.returncode == 0, done.stderr
    assert "Path to the thing: /somewhere" in done.stderr
    assert "needs 1000000000000 MB of disk" in done.stderr


def test_docker_meta_reaches_the_state(repo: ScriptRepo) -> None:
    repo.add(
        "boxed",
        {"docker": {"run": False}, "new_state_keys": ["docker"]},
        run="true\n",
    )
    assert ok("boxed")["new_state"] == {"docker": {"run": False}}


def test_ignore_script_error_and_renew(repo: ScriptRepo, tmp_path: Path) -> None:
    repo.add("flaky", {"new_env_keys": ["FLAKY"]}, run="echo FLAKY=1 > tmp-run-env.out\nexit 3\n")
    assert "exit code 3" in fails("flaky")["error"]
    result = ok("flaky", ignore_script_error=True)
    assert result["new_env"] == {"FLAKY": "1"}
    assert any("failed with exit code 3 (ignored)" in w for w in result["warnings"])
    counter = tmp_path / "count"
    repo.add("once", {"cache": True}, run=f"echo x >> {counter}\n")
    ok("once")
    ok("once")
    ok("once", renew=True)
    assert counter.read_text().count("x") == 2


def test_save_env_writes_a_script_to_source(repo: ScriptRepo, cli: Any, tmp_path: Path) -> None:
    repo.add(
        "exporter",
        {"new_env_keys": ["EXP_*", "+PATH"]},
        run="echo 'EXP_VALUE=a \"quoted\" $value' > tmp-run-env.out\n",
        customize="""
        def postprocess(i):
            i['env']['+PATH'] = ['/opt/exporter/bin']
            return {'return': 0}
        """,
    )
    done = cli("run", "script", "exporter", "--save_env", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    script = tmp_path / "tmp-env.sh"
    shown = subprocess.run(
        ["bash", "-c", f'. {script} && echo "$EXP_VALUE|${{PATH%%:*}}"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == 'a "quoted" $value|/opt/exporter/bin'
