"""Each script speaks its repository's dialect: MLCFlow scripts see ``MLC_*`` engine keys,
``import mlc``/``from utils import ...`` and MLCFlow's automation object; CM scripts beside
them keep ``CM_*`` and ``cmind``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from cairn.dialect import MLC
from cairn.engine_vars import CM_VARS, MLC_VARS, SUFFIXES, of
from tests.script_fixtures import ScriptRepo, fails, ok, uid_for


class MLCRepo(ScriptRepo):
    """A fixture repository in MLCFlow's layout: ``meta.yaml`` at the top and per script."""

    def __init__(self, root: Path, alias: str = "mlcrepo") -> None:
        super().__init__(root, alias)
        (root / "cmr.yaml").unlink()
        (root / "meta.yaml").write_text(f'alias: {alias}\nuid: "{uid_for("repo-" + alias)}"\n')

    def add(self, alias: str, meta: dict[str, Any] | None = None, **kw: Any) -> Path:
        path = super().add(alias, meta, **kw)
        (path / "_cm.yaml").rename(path / "meta.yaml")
        return path


@pytest.fixture
def mlc_repo(tmp_path: Path) -> ScriptRepo:
    """A repository whose scripts speak MLCFlow's dialect."""
    return MLCRepo(tmp_path / "mlc")


@pytest.fixture
def cm_repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "cm", alias="cmrepo")


HOOK = """
    import mlc
    from mlc import utils
    from utils import is_true, is_false

    def preprocess(i):
        env = i['env']
        automation = i['automation']
        automation.logger.info('preprocess of an MLC script')
        automation.action_object.logger.info('through the action object too')
        env['SAW_FLAG'] = 'yes' if is_true(env.get('MLC_FLAG')) else 'no'
        env['SAW_OFF'] = 'yes' if is_false(env.get('OFF')) else 'no'
        env['SAW_CONST'] = i['const'].get('FIXED', '')
        env['SAW_REPOS'] = automation.action_object.repos_path
        found = mlc.access({'action': 'search', 'target': 'script', 'tags': 'mlc-hello'})
        env['SAW_FOUND'] = str(len(found['list']))
        return {'return': 0}

    def postprocess(i):
        r = utils.load_txt(file_name='said.txt')
        if r['return'] > 0:
            return r
        i['env']['SAID'] = r['string'].strip()
        return {'return': 0}
    """

RUN = """
    echo "HERE=$MLC_TMP_CURRENT_SCRIPT_PATH" > tmp-run-env.out
    echo "VERSION_SEEN=$MLC_VERSION" >> tmp-run-env.out
    echo "CM_SEEN=${CM_TMP_CURRENT_SCRIPT_PATH:-none}" >> tmp-run-env.out
    echo "work $MLC_TMP_CURRENT_SCRIPT_WORK_PATH" > said.txt
    """


def add_hello(repo: ScriptRepo) -> Path:
    return repo.add(
        "mlc-hello",
        {
            "const": {"FIXED": "fixed"},
            "default_env": {"MLC_FLAG": "yes", "OFF": "off"},
            "new_env_keys": ["HERE", "VERSION_SEEN", "CM_SEEN", "SAW_*", "SAID", "MLC_VERSION"],
        },
        run=RUN,
        customize=HOOK,
    )


def test_an_mlc_script_sees_mlc_names_modules_and_automation(mlc_repo: ScriptRepo) -> None:
    path = add_hello(mlc_repo)
    r = ok("mlc-hello", version="1.2")
    env = r["new_env"]
    assert env["HERE"] == str(path)
    assert env["VERSION_SEEN"] == "1.2"
    assert env["MLC_VERSION"] == "1.2"
    assert env["CM_SEEN"] == "none"
    assert env["SAW_FLAG"] == "yes"
    assert env["SAW_OFF"] == "yes"
    assert env["SAW_CONST"] == "fixed"
    assert env["SAW_REPOS"] == str(mlc_repo.root.parent)
    assert env["SAW_FOUND"] == "1"
    assert env["SAID"].startswith("work /")
    for name in ("mlc", "utils"):
        assert name not in sys.modules  # the shims are gone once the hooks ran


def test_a_cm_script_beside_it_still_sees_cm_names_only(
    mlc_repo: ScriptRepo, cm_repo: ScriptRepo
) -> None:
    add_hello(mlc_repo)
    cm_repo.add(
        "cm-hello",
        {"new_env_keys": ["HERE", "MLC_SEEN", "CM_VERSION"]},
        run="""
            echo "HERE=$CM_TMP_CURRENT_SCRIPT_PATH" > tmp-run-env.out
            echo "MLC_SEEN=${MLC_TMP_CURRENT_SCRIPT_PATH:-none}" >> tmp-run-env.out
            """,
        customize="""
            import cmind

            def preprocess(i):
                assert 'const' not in i
                return {'return': 0}
            """,
    )
    r = ok("cm-hello", version="2.0")
    assert r["new_env"]["HERE"].endswith("cm-hello")
    assert r["new_env"]["MLC_SEEN"] == "none"
    assert r["new_env"]["CM_VERSION"] == "2.0"


def test_an_mlc_scripts_local_keys_are_hidden_from_its_deps(mlc_repo: ScriptRepo) -> None:
    mlc_repo.add(
        "mlc-child",
        {"new_env_keys": ["CHILD_SAW"]},
        run='echo "CHILD_SAW=${MLC_VERSION:-none}" > tmp-run-env.out\n',
    )
    mlc_repo.add(
        "mlc-parent",
        {"deps": [{"tags": "mlc-child"}], "new_env_keys": ["CHILD_SAW"]},
    )
    r = ok("mlc-parent", version="3.1")
    assert r["new_env"]["CHILD_SAW"] == "none"


def test_an_mlc_scripts_version_constraints_use_its_keys(mlc_repo: ScriptRepo) -> None:
    mlc_repo.add(
        "mlc-tool",
        {"new_env_keys": ["MLC_DETECTED_VERSION"]},
        run='echo "MLC_DETECTED_VERSION=1.5" > tmp-run-env.out\n',
    )
    assert ok("mlc-tool", version_min="1.0")["version"] == "1.5"
    assert "1.5" in fails("mlc-tool", version_min="2.0")["error"]


def test_the_mlc_automation_helpers(tmp_path: Path) -> None:
    from cairn.compat.hook_input import HookContext
    from cairn.compat.mlc_automation import MLCAutomation

    deep = tmp_path / "a" / "b" / "Hostx64" / "x64"
    deep.mkdir(parents=True)
    (deep / "cl.exe").write_text("")
    (tmp_path / "a" / "vcvars.bat").write_text("")
    ctx = HookContext(
        env={},
        state={},
        meta={},
        input={},
        const={},
        const_state={},
        script_path=tmp_path / "repo" / "script" / "x",
        work_path=tmp_path,
        artifact_meta={},
        script_tags=[],
        variation_tags=[],
        variation_tags_string="",
        customize={},
        run_native=lambda name, env: 0,
        names=MLC_VARS,
    )
    automation = MLCAutomation(ctx)
    found = automation.find_file_deep(
        {"paths": [str(tmp_path)], "file_name": "cl.exe", "restrict_paths": ["Hostx64/x64"]}
    )
    assert found["found_paths"] == [str(deep)]
    back = automation.find_file_back({"path": str(deep), "file_name": "vcvars.bat"})
    assert back["found_path"] == str(tmp_path / "a")
    assert automation.find_file_back({"path": str(deep), "file_name": "nope"})["found_path"] == ""
    variations = automation._available_variations({"meta": {"variations": {"b": {}, "a": {}}}})
    assert variations["return"] == 1 and "_a, _b" in variations["error"]
    assert automation.action_object.repos_path == str(tmp_path)


def test_the_table_speaks_both_dialects() -> None:
    assert of(MLC) is MLC_VARS
    for suffix in SUFFIXES:
        assert getattr(CM_VARS, suffix.lower()) == "CM_" + suffix
        assert getattr(MLC_VARS, suffix.lower()) == "MLC_" + suffix
    assert MLC_VARS.flag("skip_compile") == "MLC_SKIP_COMPILE"
    assert "MLC_TMP_*" in MLC_VARS.local and "CM_TMP_*" in CM_VARS.local


def test_mlc_utils_helpers(tmp_path: Path) -> None:
    from cairn.compat.shim.mlc import utils

    assert utils.is_true("Yes") and utils.is_true(True) and not utils.is_true("")
    assert utils.is_false("off") and not utils.is_false(None) and not utils.is_false("yes")
    done = utils.run_system_cmd({"path": str(tmp_path), "cmd": "pwd; echo err >&2"})
    assert done == {"return": 0, "output": str(tmp_path), "error_output": "err"}
    assert utils.run_system_cmd({"cmd": "exit 3"})["return"] == 1
    assert utils.run_system_cmd({"path": str(tmp_path / "nope"), "cmd": "true"})["return"] == 1
    merged = utils.merge_dicts({"dict1": {"a": [1]}, "dict2": {"a": [2]}, "append_lists": True})
    assert merged["merged"] == {"a": [1, 2]} == merged["dict1"]
    assert utils.sub_input({"a": 1, "b": 2}, ["b", "a"])["result"] == {"b": 2, "a": 1}


def test_mlc_input_dicts_become_cairns() -> None:
    from cairn.compat.shim.mlc.action import as_cairn_input

    asked = {"action": "search", "target": "script", "tags": "detect,os"}
    assert as_cairn_input(asked) == {"action": "find", "automation": "script", "tags": "detect,os"}
    kept = {"action": "run", "automation": "script", "target": "cache"}
    assert as_cairn_input(kept) == {"action": "run", "automation": "script"}


@pytest.mark.parametrize("dialect", ["mlc", "cm"])
def test_a_mapped_input_is_const_in_cm_only(
    dialect: str, mlc_repo: ScriptRepo, cm_repo: ScriptRepo
) -> None:
    repo = mlc_repo if dialect == "mlc" else cm_repo
    hook = """
    def postprocess(i):
        i['env']['WHERE_PATH'] = 'chosen-by-the-hook'
        return {'return': 0}
    """
    repo.add(
        f"{dialect}-mapped",
        {"input_mapping": {"path": "WHERE_PATH"}, "new_env_keys": ["WHERE_PATH"]},
        customize=hook,
    )
    r = ok(f"{dialect}-mapped", path="given")
    # mlcflow 1.3.8 lets a hook replace a mapped input (set-sqlite-dir); CM forces it
    assert r["new_env"]["WHERE_PATH"] == ("chosen-by-the-hook" if dialect == "mlc" else "given")


def test_an_mlc_hooks_log_lines_are_shown(mlc_repo: ScriptRepo, capsys: Any) -> None:
    add_hello(mlc_repo)
    ok("mlc-hello")
    err = capsys.readouterr().err
    assert "cairn: preprocess of an MLC script" in err
    assert "cairn: through the action object too" in err
