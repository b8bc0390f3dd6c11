"""End-to-end runs of scripts with ``customize.py``: CM's ``i``, return keys, failures.

Each test writes a small script with a ``customize.py`` in a repository in ``tmp_path`` and
runs it through ``cairn.access``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.script_fixtures import ScriptRepo, fails, ok


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


I_KEYS = [
    *("env", "state", "meta", "input", "os_info", "run_script_input", "automation"),
    *("artifact", "script_tags", "variation_tags", "customize"),
]
"""The keys of CM's ``i`` for ``preprocess``/``postprocess`` (cm-script.md §2.2)."""

INSPECT = """
import json, os

def preprocess(i):
    keys = sorted(k for k in i if k != 'recursion_spaces')
    info = {
        'keys': keys,
        'input_mode': i['input'].get('mode'),
        'meta_alias': i['meta'].get('alias'),
        'platform': i['os_info']['platform'],
        'rsi_path': i['run_script_input']['path'],
        'script_tags': i['script_tags'],
        'variation_tags': i['variation_tags'],
        'customize': i['customize'],
        'artifact_path': i['artifact'].path,
        'cwd': os.getcwd(),
        'has_cmind': hasattr(i['automation'], 'cmind'),
        'env_x': i['env'].get('X'),
        'state': i['state'],
    }
    with open(i['env']['INFO'], 'w') as f:
        json.dump(info, f)
    return {'return': 0}
"""


def test_preprocess_gets_cms_i(repo: ScriptRepo, tmp_path: Path) -> None:
    path = repo.add(
        "inspect",
        {
            "tags": ["inspect", "probe"],
            "env": {"X": "x"},
            "customize": {"opt": 1},
            "variations": {"fast": {"group": "speed", "default": True}, "slow": {"group": "speed"}},
        },
        customize=INSPECT,
    )
    info_file = tmp_path / "info.json"
    ok("probe,_slow", env={"INFO": str(info_file)}, mode="m", state={"s": 1})
    info = json.loads(info_file.read_text())
    assert info["keys"] == sorted(I_KEYS)
    assert info["input_mode"] == "m"
    assert info["meta_alias"] == "inspect"
    assert info["platform"] == ("darwin" if sys.platform == "darwin" else "linux")
    assert info["rsi_path"] == str(path)
    assert info["script_tags"] == ["probe"]
    assert info["variation_tags"] == ["slow"]
    assert info["customize"] == {"opt": 1}
    assert info["artifact_path"] == str(path)
    assert info["has_cmind"] is True
    assert info["env_x"] == "x"
    assert info["state"] == {"s": 1}
    assert Path(info["cwd"]) != path


def test_preprocess_skip_runs_nothing_native(repo: ScriptRepo, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    repo.add(
        "skipper",
        {"cache": True, "new_env_keys": ["SKIP_*"]},
        run=f"touch {marker}\n",
        customize="""
            def preprocess(i):
                i['env']['SKIP_REASON'] = 'already there'
                return {'return': 0, 'skip': True}
            """,
    )
    r = ok("skipper")
    assert r["cache"] == "skipped"
    assert r["new_env"] == {"SKIP_REASON": "already there"}
    assert not marker.exists()


def test_customize_version_and_utils_without_cmind(repo: ScriptRepo) -> None:
    repo.add(
        "versioned",
        {"new_env_keys": ["CM_DETECTED_VERSION", "SAID"]},
        run="echo 'tool 2.5.1' > tmp-ver.out\n",
        customize="""
            import cmind
            from cmind import utils

            def postprocess(i):
                r = utils.load_txt(file_name='tmp-ver.out')
                i['env']['SAID'] = r['string'].strip()
                r = i['automation'].parse_version({'match_text': r'tool\\s+([\\d.]+)',
                                                   'group_number': 1, 'env_key': 'TOOL_V',
                                                   'env': i['env']})
                if r['return'] > 0:
                    return r
                assert r['string'] == 'tool 2.5.1\\n', r  # CM also returns the file's text
                return {'return': 0, 'version': r['version']}
            """,
    )
    assert "cmind" not in sys.modules
    r = ok("versioned")
    assert r["version"] == "2.5.1"
    assert r["new_env"] == {"SAID": "tool 2.5.1", "CM_DETECTED_VERSION": "2.5.1"}
    assert "cmind" not in sys.modules
    assert not any(name.startswith("cmind.") for name in sys.modules)
    r = fails("versioned", version_min="3.0")
    assert "2.5.1" in r["error"]


def test_customize_exception_names_file_and_traceback(repo: ScriptRepo) -> None:
    path = repo.add(
        "crashing",
        {},
        customize="""
            def helper(env):
                return env['NOT_THERE']

            def preprocess(i):
                return {'return': 0, 'value': helper(i['env'])}
            """,
    )
    r = fails("crashing")
    assert str(path / "customize.py") in r["error"]
    assert "KeyError" in r["error"]
    assert "NOT_THERE" in r["error"]
    assert "helper" in r["error"]  # the traceback's frames
    assert "Traceback" in r["error"]


def test_customize_failure_result_is_an_error(repo: ScriptRepo) -> None:
    repo.add(
        "refusing",
        {},
        customize="""
            def preprocess(i):
                return {'return': 16, 'error': 'no compiler found'}
            """,
    )
    r = fails("refusing")
    assert r["return"] == 16
    assert "no compiler found" in r["error"]


@pytest.mark.parametrize(
    ("returned", "code"), [(256, 1), (512, 1), (1000, 1), (-1, 1), (-256, 1), (2, 2), (8, 8)]
)
def test_customize_failure_code_is_a_valid_nonzero_exit_code(
    repo: ScriptRepo, returned: int, code: int
) -> None:
    """CM's codes 1, 2, 4, 8, 16 are kept; any other non-zero ``return`` (which an exit
    status would take modulo 256, or which is negative) is a generic failure, 1."""
    repo.add(
        "odd-code",
        {},
        customize=f"""
            def preprocess(i):
                return {{'return': {returned}, 'error': 'boom'}}
            """,
    )
    r = fails("odd-code")
    assert r["return"] == code
    assert "boom" in r["error"]
    assert (f"(return {returned}, reported as 1)" in r["error"]) == (code != returned)


def test_customize_can_switch_the_native_script(repo: ScriptRepo) -> None:
    repo.add(
        "switching",
        {"new_env_keys": ["WHICH"]},
        run='echo "WHICH=run" > tmp-run-env.out\n',
        files={"install.sh": 'echo "WHICH=install" > tmp-run-env.out\n'},
        customize="""
            def preprocess(i):
                i['run_script_input']['script_name'] = 'install'
                return {'return': 0}
            """,
    )
    assert ok("switching")["new_env"]["WHICH"] == "install"


def test_customize_can_edit_later_deps(repo: ScriptRepo, tmp_path: Path) -> None:
    repo.add("late", {"new_env_keys": ["LATE"]}, run='echo "LATE=$LATE_IN" > tmp-run-env.out\n')
    repo.add(
        "editor",
        {
            "post_deps": [{"tags": "late", "names": ["late"]}],
            "new_env_keys": ["LATE"],
        },
        customize="""
            def preprocess(i):
                update = {'late': {'env': {'LATE_IN': 'edited'}}}
                i['automation'].update_deps({'deps': i['meta']['post_deps'], 'update_deps': update})
                return {'return': 0}
            """,
    )
    assert ok("editor")["new_env"]["LATE"] == "edited"


def test_postprocess_sees_native_outputs_and_same_i(repo: ScriptRepo) -> None:
    repo.add(
        "post-inspect",
        {"new_env_keys": ["POST_*"], "new_state_keys": ["post"]},
        run="""
            echo "NATIVE_OUT=n" > tmp-run-env.out
            echo '{"from_native": 1}' > tmp-run-state.json
            """,
        customize="""
            import os

            def postprocess(i):
                env = i['env']
                env['POST_SAW'] = env['NATIVE_OUT']
                env['POST_KEYS'] = ','.join(sorted(k for k in i if k != 'recursion_spaces'))
                env['POST_CWD_IS_WORK'] = str(os.getcwd() == env['CM_TMP_CURRENT_SCRIPT_WORK_PATH'])
                i['state']['post'] = dict(i['state'])
                return {'return': 0}
            """,
    )
    r = ok("post-inspect")
    assert r["new_env"]["POST_SAW"] == "n"
    assert r["new_env"]["POST_CWD_IS_WORK"] == "True"
    assert r["new_env"]["POST_KEYS"] == ",".join(sorted(I_KEYS))
    assert r["new_state"] == {"post": {"from_native": 1}}


def test_customize_exit_is_reported_not_fatal(repo: ScriptRepo) -> None:
    path = repo.add("exiting", {}, customize="import sys\n\ndef preprocess(i):\n    sys.exit(3)\n")
    r = fails("exiting")
    assert str(path / "customize.py") in r["error"]
    assert "SystemExit" in r["error"]


def test_customize_import_error_is_reported(repo: ScriptRepo) -> None:
    path = repo.add("unimportable", {}, customize="import no_such_module_here\n")
    r = fails("unimportable")
    assert str(path / "customize.py") in r["error"]
    assert "no_such_module_here" in r["error"]


def test_prints_of_hooks_and_subprocesses_keep_json_output_clean(
    repo: ScriptRepo, cli: Any
) -> None:
    repo.add(
        "noisy",
        {"new_env_keys": ["NOISY"]},
        customize="""
        import os, subprocess

        def preprocess(i):
            print("hook print")
            subprocess.run(["echo", "subprocess print"], check=True)
            i['env']['NOISY'] = 'yes'
            return {'return': 0}
        """,
        run='echo "native print"\n',
    )
    done = cli("run", "script", "noisy", "--out=json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new_env"] == {"NOISY": "yes"}
    assert "hook print" in done.stderr and "subprocess print" in done.stderr
    assert "native print" in done.stderr


def test_detect_version_using_script_runs_native_then_hook(repo: ScriptRepo) -> None:
    repo.add(
        "get-tool",
        {"new_env_keys": ["TOOL_*"], "cache": False},
        customize="""
        def preprocess(i):
            r = i['automation'].detect_version_using_script(
                {'env': i['env'], 'run_script_input': i['run_script_input']})
            if r['return'] > 0:
                return r
            i['env']['TOOL_VERSION'] = r['detected_version']
            return {'return': 0}

        def detect_version(i):
            text = open('tmp-ver.out').read().strip()
            return {'return': 0, 'version': text.split()[-1]}
        """,
        run='echo "tool version 2.5.1" > tmp-ver.out\n',
    )
    assert ok("get-tool")["new_env"]["TOOL_VERSION"] == "2.5.1"
    assert ok("get-tool", version_min="2.0")["new_env"]["TOOL_VERSION"] == "2.5.1"
    failed = fails("get-tool", version_min="3.0")
    assert failed["return"] == 16 and "2.5.1 does not satisfy" in failed["error"]


FIND_TOOL = """
def preprocess(i):
    r = i['automation'].find_artifact({
        'file_name': 'mytool', 'env': i['env'], 'os_info': i['os_info'],
        'default_path_env_key': 'PATH', 'detect_version': True,
        'env_path_key': 'TOOL_BIN', 'run_script_input': i['run_script_input'],
        'recursion_spaces': ''})
    if r['return'] > 0:
        return r
    i['env']['TOOL_DIR'] = r['found_path']
    defaults = i['automation'].get_default_path_list({'default_path_env_key': 'PATH'})
    i['env']['TOOL_DEFAULTS'] = 'yes' if defaults == r['default_path_list'] else 'no'
    return {'return': 0}

def detect_version(i):
    r = i['automation'].parse_version({
        'match_text': r'mytool ([0-9.]+)', 'group_number': 1,
        'env_key': 'TOOL_VERSION', 'which_env': i['env']})
    if r['return'] > 0:
        return r
    return {'return': 0, 'version': r['version']}
"""


def test_find_artifact_searches_the_path_and_filters_by_version(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    for folder, name, version in (("d1", "mytool", "1.0"), ("d2", "mytool-2", "2.5")):
        (tmp_path / folder).mkdir()
        tool = tmp_path / folder / name
        tool.write_text(f"#!/bin/sh\necho 'mytool {version}'\n")
        tool.chmod(0o755)
    repo.add(
        "get-mytool",
        {"new_env_keys": ["TOOL_*", "+PATH"]},
        customize=FIND_TOOL,
        run='"$TOOL_BIN" > tmp-ver.out\n',
    )
    path = f"{tmp_path / 'd1'}:{tmp_path / 'd2'}"
    first = ok("get-mytool", path=path)["new_env"]
    assert first["TOOL_BIN"] == str(tmp_path / "d1" / "mytool")
    assert first["TOOL_VERSION"] == "1.0" and first["+PATH"][0] == str(tmp_path / "d1")
    newer = ok("get-mytool", path=path, version_min="2.0")["new_env"]
    assert newer["TOOL_BIN"] == str(tmp_path / "d2" / "mytool-2")
    assert newer["TOOL_VERSION"] == "2.5" and newer["TOOL_DIR"] == str(tmp_path / "d2")
    assert newer["TOOL_DEFAULTS"] == "yes"
    missing = fails("get-mytool", path=path, version_min="3.0")
    assert missing["return"] == 16 and "mytool not found" in missing["error"]
    assert "does not exist" in fails("get-mytool", path=str(tmp_path / "nope"))["error"]


def test_input_in_a_hook_without_terminal_answers_empty(repo: ScriptRepo) -> None:
    repo.add(
        "asking",
        {"new_env_keys": ["ANSWER"]},
        customize="""
            def preprocess(i):
                i['env']['ANSWER'] = 'got:' + input('Extra tags? ')
                return {'return': 0}
            """,
    )
    r = ok("asking")
    assert r["new_env"] == {"ANSWER": "got:"}
    assert any("'Extra tags?'" in w and "no terminal" in w for w in r["warnings"])


def test_native_script_runs_where_preprocess_moved(repo: ScriptRepo, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    repo.add(
        "mover",
        {"new_env_keys": ["RAN_IN", "AFTER"]},
        run='echo "RAN_IN=$PWD" > tmp-run-env.out\n',
        customize=f"""
            import os

            def preprocess(i):
                os.makedirs({str(target)!r}, exist_ok=True)
                os.chdir({str(target)!r})
                return {{'return': 0}}

            def postprocess(i):
                i['env']['AFTER'] = os.getcwd()
                return {{'return': 0}}
            """,
    )
    here = Path.cwd()
    r = ok("mover", dirty=True)
    assert r["new_env"] == {"RAN_IN": str(target), "AFTER": str(target)}
    assert (target / "tmp-run.sh").is_file() and Path.cwd() == here
    ok("mover")
    assert not (target / "tmp-run.sh").exists()  # tidied where it ran


def test_hooks_run_nested_scripts_and_find_cache_through_cmind(repo: ScriptRepo) -> None:
    repo.add(
        "inner",
        {"cache": True, "new_env_keys": ["INNER"]},
        tags=["inner", "tool"],
        run='echo "INNER=$PWD" > tmp-run-env.out\n',
    )
    repo.add(
        "outer",
        {"new_env_keys": ["GOT", "FOUND", "FOUND_IS_STR"]},
        customize="""
            import cmind

            def preprocess(i):
                r = cmind.access({'action': 'run', 'automation': 'script',
                                  'tags': 'inner,tool', 'quiet': True})
                if r['return'] > 0:
                    return r
                i['env']['GOT'] = r['new_env']['INNER']
                found = cmind.access({'action': 'find', 'automation': 'cache',
                                      'tags': 'inner'})
                if found['return'] > 0:
                    return found
                i['env']['FOUND'] = found['list'][0].path
                i['env']['FOUND_IS_STR'] = str(isinstance(found['list'][0].path, str))
                return {'return': 0}
            """,
    )
    r = ok("outer")
    assert r["new_env"]["GOT"] == r["new_env"]["FOUND"]
    assert "/cache/" in r["new_env"]["FOUND"] and r["new_env"]["FOUND_IS_STR"] == "True"


def test_a_native_scripts_python_can_call_cmind_access(repo: ScriptRepo) -> None:
    repo.add(
        "natfind",
        {"new_env_keys": ["FOUND"]},
        run="""
            python3 -c "
            import cmind
            r = cmind.access({'action': 'find', 'automation': 'script', 'tags': 'natfind'})
            print('FOUND=' + str(r['return']) + ':' + r['list'][0].path)
            " > tmp-run-env.out
            """,
    )
    found = ok("natfind")["new_env"]["FOUND"]
    assert found == f"0:{repo.root / 'script' / 'natfind'}"


def test_print_in_a_hook_reaches_no_stdout_through_the_api(
    repo: ScriptRepo, capfd: pytest.CaptureFixture[str], cli: Any
) -> None:
    repo.add(
        "chatty",
        {},
        customize="""
            def preprocess(i):
                print('Detected version: 1.2.3')
                return {'return': 0}
            """,
    )
    ok("chatty")
    assert "Detected version" not in capfd.readouterr().out
    shown = cli("run", "script", "chatty")
    assert shown.returncode == 0 and "Detected version: 1.2.3" in shown.stdout
    as_json = cli("run", "script", "chatty", "--out=json")
    assert "Detected version" in as_json.stderr and "Detected" not in as_json.stdout
