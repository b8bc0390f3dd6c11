"""End-to-end script runs: env layers, exports, native scripts, versions, explain, the CLI.

``customize.py`` runs are in test_script_customize.py, dependencies in test_script_deps.py and
cached runs in test_script_cache_runs.py.

Each test writes a few small scripts into a repository in ``tmp_path`` and runs them through
``cairn.access`` (a few through the real CLI). Native scripts dump the env they see with
``env -0`` into ``$DUMP/<name>.env`` so the tests can assert exactly what arrived.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import json_out
from tests.script_fixtures import ScriptRepo, cache_entries, fails, ok, tree

DUMP_RUN = 'env -0 > "$DUMP/$DUMP_NAME.env"\n'


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    path = tmp_path / "dump"
    path.mkdir()
    return path


def seen(dump: Path, name: str) -> dict[str, str]:
    """The env a native script dumped with ``env -0``."""
    data = (dump / f"{name}.env").read_bytes().decode()
    return dict(item.split("=", 1) for item in data.split("\0") if item)


def dumper(name: str, extra: str = "") -> str:
    return f"DUMP_NAME={name}\n{DUMP_RUN}{extra}"


# --- env layers --------------------------------------------------------------------------


def test_meta_layers_in_cm_order(repo: ScriptRepo, dump: Path) -> None:
    repo.add(
        "layers",
        {
            "default_env": {"A": "default", "C": "default"},
            "env": {"B": "meta", "D": "meta", "E": "meta"},
            "input_mapping": {"d": "D"},
            "variations": {"v": {"env": {"D": "variation", "E": "variation", "F": "variation"}}},
            "versions": {"1.0": {"env": {"F": "version", "G": "version"}}},
        },
        run=dumper("layers"),
    )
    ok("layers,_v", env={"A": "caller", "B": "caller", "DUMP": str(dump)}, d="input", version="1.0")
    env = seen(dump, "layers")
    assert env["A"] == "caller"  # default_env only fills in
    assert env["C"] == "default"
    assert env["B"] == "meta"  # env beats the caller's env
    assert env["D"] == "input"  # input_mapping is const: it beats variations
    assert env["E"] == "variation"
    assert env["F"] == "version"  # versions[v] comes after variations
    assert env["G"] == "version"
    assert env["CM_VERSION"] == "1.0"


def test_const_beats_everything(repo: ScriptRepo, dump: Path) -> None:
    repo.add(
        "constant",
        {"env": {"K": "meta"}, "variations": {"v": {"env": {"K": "variation"}}}},
        run=dumper("constant", 'echo "K=native" > tmp-run-env.out\n'),
        customize="""
            def preprocess(i):
                i['env']['K'] = 'preprocess'
                return {'return': 0}
            """,
    )
    r = ok("constant,_v", env={"DUMP": str(dump)}, const={"K": "const"})
    assert seen(dump, "constant")["K"] == "const"
    assert r["new_env"] == {}


PIPELINE_CUSTOMIZE = """
def preprocess(i):
    env = i['env']
    env['TRACE'] = env['TRACE'] + ',preprocess'
    return {'return': 0}

def postprocess(i):
    env = i['env']
    env['TRACE'] = env['TRACE'] + ',postprocess'
    return {'return': 0}
"""


def add_tracer(repo: ScriptRepo, name: str) -> None:
    repo.add(
        name,
        {"new_env_keys": ["TRACE"]},
        run=f'echo "TRACE=$TRACE,{name}" > tmp-run-env.out\n',
    )


def test_pipeline_order(repo: ScriptRepo) -> None:
    for name in ("dep", "prehook", "posthook", "post"):
        add_tracer(repo, name)
    repo.add(
        "pipeline",
        {
            "deps": [{"tags": "dep"}],
            "prehook_deps": [{"tags": "prehook"}],
            "posthook_deps": [{"tags": "posthook"}],
            "post_deps": [{"tags": "post"}],
            "new_env_keys": ["TRACE"],
        },
        run='echo "TRACE=$TRACE,native" > tmp-run-env.out\n',
        customize=PIPELINE_CUSTOMIZE,
    )
    r = ok("pipeline", env={"TRACE": "caller"})
    expected = "caller,dep,preprocess,prehook,native,posthook,postprocess,post"
    assert r["new_env"]["TRACE"] == expected
    assert [d["script"] for d in r["deps"]] == ["dep", "prehook", "posthook", "post"]


def test_input_mapping_is_forced_into_deps_as_const(repo: ScriptRepo, dump: Path) -> None:
    repo.add("child", {"env": {"MODE": "child-default"}}, run=dumper("child"))
    repo.add(
        "parent",
        {"input_mapping": {"mode": "MODE"}, "deps": [{"tags": "child"}]},
        run=dumper("parent"),
    )
    ok("parent", mode="fast", env={"DUMP": str(dump)})
    assert seen(dump, "parent")["MODE"] == "fast"
    assert seen(dump, "child")["MODE"] == "fast"


def test_plus_lists_are_merged_and_exported(repo: ScriptRepo, dump: Path) -> None:
    repo.add(
        "tool",
        {"env": {"+PATH": ["/opt/tool/bin"], "+ CFLAGS": ["-O2"]}, "new_env_keys": ["+*"]},
    )
    repo.add(
        "user",
        {
            "env": {"+PATH": ["/opt/user/bin"], "+ CFLAGS": ["-g"]},
            "deps": [{"tags": "tool"}],
            "new_env_keys": ["+PATH"],
        },
        run=dumper("user"),
    )
    r = ok("user", env={"DUMP": str(dump), "CFLAGS": "-Wall"})
    env = seen(dump, "user")
    assert env["PATH"].split(":")[:2] == ["/opt/user/bin", "/opt/tool/bin"]
    assert "/usr/bin" in env["PATH"].split(":") or "/bin" in env["PATH"].split(":")
    assert env["CFLAGS"] == "-g -O2 -Wall"  # the list extends the value the run sets
    assert r["new_env"]["+PATH"] == ["/opt/user/bin", "/opt/tool/bin"]
    assert "+ CFLAGS" not in r["new_env"]


def test_placeholders_are_substituted(repo: ScriptRepo, dump: Path) -> None:
    repo.add(
        "subst",
        {
            "env": {
                "FULL": "<<<BASE>>>/lib/<<<NAME>>>",
                "NAME": "x<<<SUFFIX>>>",
                "MISSING": "keep <<<NOPE>>>",
                "+LIBS": ["<<<BASE>>>/a"],
            }
        },
        run=dumper("subst"),
    )
    ok("subst", env={"DUMP": str(dump), "BASE": "/opt", "SUFFIX": "1"})
    env = seen(dump, "subst")
    assert env["FULL"] == "/opt/lib/x1"
    assert env["MISSING"] == "keep <<<NOPE>>>"
    assert env["LIBS"] == "/opt/a"


# --- what a script exports ---------------------------------------------------------------


def test_new_env_and_state_key_filters(repo: ScriptRepo) -> None:
    repo.add(
        "exporter",
        {
            "env": {"WHICH": "PICKED", "+PATH": ["/p"]},
            "new_env_keys": ["EXACT", "WILD_*", "+PATH", "<<<WHICH>>>"],
            "new_state_keys": ["keep*", "<<<WHICH>>>"],
        },
        run="""
            cat > tmp-run-env.out <<EOF
            EXACT=1
            EXACTLY=no
            WILD_A=a
            WILD_B=b
            PICKED=by-indirection
            OTHER=no
            EOF
            echo '{"keep_me": {"x": 1}, "PICKED": 2, "drop": 3}' > tmp-run-state.json
            """.replace("            ", ""),
    )
    r = ok("exporter", env={"CALLER": "x", "WILD_C": "from caller"})
    assert r["new_env"] == {
        "EXACT": "1",
        "WILD_A": "a",
        "WILD_B": "b",
        "WILD_C": "from caller",
        "+PATH": ["/p"],
        "PICKED": "by-indirection",
    }
    assert r["new_state"] == {"keep_me": {"x": 1}, "PICKED": 2}


def test_local_keys_are_hidden_from_deps(repo: ScriptRepo, dump: Path) -> None:
    repo.add("seer", {}, run=dumper("seer"))
    repo.add("forced", {}, run=dumper("forced"))
    repo.add("versioned", {}, run=dumper("versioned"))
    repo.add(
        "hider",
        {
            "env": {"CM_TMP_SECRET": "t", "MY_LOCAL_X": "l", "CM_GIT_URL": "g", "PLAIN": "p"},
            "local_env_keys": ["MY_LOCAL_*"],
            "deps": [
                {"tags": "seer"},
                {"tags": "forced", "force_env_keys": ["CM_GIT_*", "MY_LOCAL_X"]},
                {"tags": "versioned", "reuse_version": True},
            ],
        },
        run=dumper("hider"),
    )
    ok("hider", env={"DUMP": str(dump)}, version="1.2", name="n1")
    child = seen(dump, "seer")
    assert child["PLAIN"] == "p"
    for key in ("CM_TMP_SECRET", "MY_LOCAL_X", "CM_GIT_URL", "CM_VERSION", "CM_NAME"):
        assert key not in child
    forced = seen(dump, "forced")
    assert forced["CM_GIT_URL"] == "g"
    assert forced["MY_LOCAL_X"] == "l"
    assert "CM_TMP_SECRET" not in forced
    assert seen(dump, "versioned")["CM_VERSION"] == "1.2"
    parent = seen(dump, "hider")
    assert (parent["CM_TMP_SECRET"], parent["MY_LOCAL_X"], parent["CM_NAME"]) == ("t", "l", "n1")


def test_hidden_keys_come_back_over_a_childs_exports(repo: ScriptRepo, dump: Path) -> None:
    repo.add("clobber", {"new_env_keys": ["MY_*"]}, run='echo "MY_LOCAL=child" > tmp-run-env.out')
    repo.add(
        "keeper",
        {
            "env": {"MY_LOCAL": "parent"},
            "local_env_keys": ["MY_LOCAL"],
            "deps": [{"tags": "clobber"}],
        },
        run=dumper("keeper"),
    )
    ok("keeper", env={"DUMP": str(dump)})
    assert seen(dump, "keeper")["MY_LOCAL"] == "parent"


def test_dep_env_is_local_to_the_child(repo: ScriptRepo, dump: Path) -> None:
    repo.add("kid", {"new_env_keys": ["KID_*"]}, run=dumper("kid"))
    repo.add(
        "mom",
        {"deps": [{"tags": "kid", "env": {"KID_OPT": "1", "OTHER_OPT": "2"}}]},
        run=dumper("mom"),
    )
    ok("mom", env={"DUMP": str(dump)})
    assert (seen(dump, "kid")["KID_OPT"], seen(dump, "kid")["OTHER_OPT"]) == ("1", "2")
    assert seen(dump, "mom")["KID_OPT"] == "1"  # leaked through the child's KID_* as in CM
    assert "OTHER_OPT" not in seen(dump, "mom")


# --- native scripts ------------------------------------------------------------------------

NASTY = {
    "Q1": 'double "quotes"',
    "Q2": "it's",
    "Q3": "$HOME ${PATH} $(touch pwned1)",
    "Q4": "`touch pwned2`",
    "Q5": "two\nlines\n",
    "Q6": "  spaces  and\ttab ",
    "Q7": "a=b=c",
}


def test_values_reach_the_native_script_unchanged(
    repo: ScriptRepo, dump: Path, tmp_path: Path
) -> None:
    repo.add("quoting", {"env": dict(NASTY)}, run=dumper("quoting"))
    ok("quoting", env={"DUMP": str(dump), "C1": 'caller "$x" `y`'})
    env = seen(dump, "quoting")
    assert {k: env[k] for k in NASTY} == NASTY
    assert env["C1"] == 'caller "$x" `y`'
    assert not list(tmp_path.rglob("pwned*"))


def test_null_and_mapping_env_values_reach_the_script_as_documented(
    repo: ScriptRepo, dump: Path, cli: Any
) -> None:
    hook = """
        def preprocess(i):
            i['env']['MAP'] = {'a': 1, 'b': None}
            return {'return': 0}
        """
    repo.add("nulls", {"env": {"EMPTY": None}}, run=dumper("nulls"), customize=hook)
    done = cli("run", "script", "nulls", f"--env.DUMP={dump}")
    assert done.returncode == 0, done.stderr
    env = seen(dump, "nulls")
    assert env["EMPTY"] == "" and env["MAP"] == '{"a": 1, "b": null}'
    assert "env EMPTY is null: exported as an empty string" in done.stderr


def test_env_out_split_on_first_equals_and_state_merged(repo: ScriptRepo) -> None:
    repo.add(
        "outputs",
        {"new_env_keys": ["OUT_*"], "new_state_keys": ["tree"], "state": {"tree": {"a": 1}}},
        run="""
            printf 'OUT_URL=http://h/?a=1&b=2\\nOUT_EMPTY=\\nOUT_SPACE= x \\n' > tmp-run-env.out
            echo '{"tree": {"b": 2, "list": [1]}}' > tmp-run-state.json
            """,
    )
    r = ok("outputs", state={"tree": {"c": 3}})
    assert r["new_env"] == {"OUT_URL": "http://h/?a=1&b=2", "OUT_EMPTY": "", "OUT_SPACE": " x "}
    assert r["new_state"] == {"tree": {"a": 1, "b": 2, "c": 3, "list": [1]}}


def test_os_specific_native_script_is_chosen(repo: ScriptRepo) -> None:
    repo.add(
        "flavored",
        {"new_env_keys": ["WHICH"]},
        run='echo "WHICH=generic" > tmp-run-env.out\n',
        files={
            "run-ubuntu.sh": 'echo "WHICH=ubuntu" > tmp-run-env.out\n',
            "run-ubuntu-22.04.sh": 'echo "WHICH=ubuntu-22.04" > tmp-run-env.out\n',
        },
    )
    assert ok("flavored")["new_env"]["WHICH"] == "generic"
    assert ok("flavored", env={"CM_HOST_OS_FLAVOR": "rhel"})["new_env"]["WHICH"] == "generic"
    r = ok("flavored", env={"CM_HOST_OS_FLAVOR": "ubuntu"})
    assert r["new_env"]["WHICH"] == "ubuntu"
    flavored = {"CM_HOST_OS_FLAVOR": "ubuntu", "CM_HOST_OS_VERSION": "22.04"}
    assert ok("flavored", env=flavored)["new_env"]["WHICH"] == "ubuntu-22.04"


def test_script_name_picks_another_native_script(repo: ScriptRepo) -> None:
    repo.add(
        "named",
        {
            "script_name": "install",
            "new_env_keys": ["WHICH"],
            "variations": {"other": {"script_name": "other"}, "missing": {"script_name": "nope"}},
        },
        run='echo "WHICH=run" > tmp-run-env.out\n',
        files={
            "install.sh": 'echo "WHICH=install" > tmp-run-env.out\n',
            "other.sh": 'echo "WHICH=other" > tmp-run-env.out\n',
        },
    )
    assert ok("named")["new_env"]["WHICH"] == "install"
    assert ok("named,_other")["new_env"]["WHICH"] == "other"
    r = fails("named,_missing")
    assert r["return"] == 16
    assert "nope" in r["error"]


def test_failing_native_script_is_reported(repo: ScriptRepo) -> None:
    path = repo.add(
        "broken",
        {},
        run="""
            echo "step one"
            echo "the real problem" >&2
            exit 3
            """,
    )
    r = fails("broken")
    assert r["return"] == 2
    error = r["error"]
    assert str(path / "run.sh") in error
    assert "exit code 3" in error
    assert "the real problem" in error
    log = Path(error.split("full output in ")[1].rstrip(")"))
    assert "step one" in log.read_text()
    assert "the real problem" in log.read_text()


def test_failing_cached_script_keeps_its_log(repo: ScriptRepo, cairn_home: Path) -> None:
    repo.add("broken-cached", {"cache": True}, run="echo why-it-broke\nexit 1\n")
    r = fails("broken-cached")
    log = Path(r["error"].split("full output in ")[1].rstrip(")"))
    assert "why-it-broke" in log.read_text()
    assert cache_entries(cairn_home) == []


def test_source_directory_is_never_written(repo: ScriptRepo) -> None:
    path = repo.add(
        "tidy",
        {"cache": True, "new_env_keys": ["*_OUT"]},
        run='echo "X_OUT=1" > tmp-run-env.out\necho junk > junk.txt\n',
        customize="""
            from cmind import utils

            def preprocess(i):
                utils.save_txt('pre.txt', 'x')
                return {'return': 0}

            def postprocess(i):
                return {'return': 0}
            """,
    )
    before = tree(path)
    ok("tidy")
    ok("tidy")
    ok("tidy", new=True)
    ok("tidy", skip_cache=True)
    assert tree(path) == before


def test_uncached_script_runs_in_the_current_directory_and_tidies_up(
    repo: ScriptRepo, cairn_home: Path, tmp_path: Path
) -> None:
    repo.add(
        "worker",
        {"new_env_keys": ["WORK", "MADE"]},
        run='echo made > made.txt\necho "WORK=$PWD" > tmp-run-env.out\n'
        'echo "MADE=$PWD/made.txt" >> tmp-run-env.out\n',
    )
    new_env = ok("worker")["new_env"]
    assert Path(new_env["WORK"]) == tmp_path  # the test's current directory
    assert Path(new_env["MADE"]).read_text() == "made\n"
    assert sorted(p.name for p in tmp_path.glob("tmp-*")) == []
    assert not list((cairn_home / "work").glob("run-*"))  # the logs of a success go too
    ok("worker", dirty=True)
    assert (tmp_path / "tmp-run.sh").is_file() and (tmp_path / "tmp-state.json").is_file()


def test_uncached_dependency_runs_in_its_cached_parents_entry(
    repo: ScriptRepo, cairn_home: Path, tmp_path: Path
) -> None:
    repo.add(
        "fetch",
        {"new_env_keys": ["DATA"]},
        run='echo rows > data.csv\necho "DATA=$PWD/data.csv" > tmp-run-env.out\n',
    )
    repo.add("train", {"cache": True, "deps": [{"tags": ["fetch"]}], "new_env_keys": ["DATA"]})
    r = ok("train")
    data = Path(r["new_env"]["DATA"])
    assert data.read_text() == "rows\n"
    assert data.parent == Path(cache_entries(cairn_home)[0]["path"])
    assert not (tmp_path / "data.csv").exists()
    assert ok("train")["new_env"]["DATA"] == str(data)  # the hit's path still exists


def test_uncached_script_in_a_read_only_directory_is_refused(
    repo: ScriptRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.add("worker", run="echo hi\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.chdir(locked)
    real = os.access  # the index asks it too (with dir_fd): only the locked folder lies
    monkeypatch.setattr(
        os, "access", lambda path, mode, **kw: Path(path) != locked and real(path, mode, **kw)
    )
    r = fails("worker")
    assert f"cannot write in {locked}" in r["error"]
    assert "run it from a directory you can write to" in r["error"]


# --- versions ----------------------------------------------------------------------------------


def add_versioned(repo: ScriptRepo) -> None:
    repo.add(
        "tool",
        {
            "default_version": "2.0",
            "versions": {
                "1.0": {"env": {"TOOL_URL": "u1"}},
                "2.0": {"env": {"TOOL_URL": "u2"}},
                "3.0": {"env": {"TOOL_URL": "u3"}},
            },
            "new_env_keys": ["TOOL_URL", "CM_VERSION"],
        },
    )


@pytest.mark.parametrize(
    ("request_", "version", "url"),
    [
        ({}, "2.0", "u2"),
        ({"version": "3.0"}, "3.0", "u3"),
        ({"version_min": "2.5"}, "2.5", None),
        ({"version_max": "1.5"}, "1.5", None),
        ({"version_max": "1.5", "version_max_usable": "1.0"}, "1.0", "u1"),
        ({"version_min": "1.0", "version_max": "3.0"}, "2.0", "u2"),
    ],
)
def test_default_version_is_clamped(
    repo: ScriptRepo, request_: dict[str, str], version: str, url: str | None
) -> None:
    add_versioned(repo)
    r = ok("tool", **request_)
    assert r["version"] == version
    assert r["new_env"].get("TOOL_URL") == url


def test_impossible_version_constraints_fail(repo: ScriptRepo) -> None:
    add_versioned(repo)
    r = fails("tool", version="1.0", version_min="2.0")
    assert "version" in r["error"]


# --- explain, --out=json and the CLI -----------------------------------------------------------


def test_explain_runs_nothing_and_shows_cache_status(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path
) -> None:
    marker = tmp_path / "ran"
    repo.add("cached-leaf", {"cache": True}, run=f"echo x >> {marker}\n")
    repo.add("plain-leaf", {}, run=f"echo x >> {marker}\n")
    repo.add(
        "root",
        {"deps": [{"tags": "cached-leaf"}, {"tags": "plain-leaf"}]},
        run=f"echo x >> {marker}\n",
        customize=f"""
            def preprocess(i):
                open({str(marker)!r}, 'a').write('customize\\n')
                return {{'return': 0}}
            """,
    )
    plan = ok("root", explain=True)["plan"]
    assert not marker.exists()
    assert plan["alias"] == "root"
    assert plan["cache"] == "not cached"
    assert [(d["alias"], d["cache"]) for d in plan["deps"]] == [
        ("cached-leaf", "miss"),
        ("plain-leaf", "not cached"),
    ]
    ok("root")
    runs = marker.read_text()
    plan = ok("root", dry_run=True)["plan"]
    assert plan["deps"][0]["cache"] == "hit"
    assert plan["deps"][0]["entry"] == cache_entries(cairn_home)[0]["path"]
    assert marker.read_text() == runs


def test_cli_explain_lists_the_plan(
    repo: ScriptRepo, cli: Callable[..., Any], tmp_path: Path
) -> None:
    repo.add("leaf1", {"cache": True}, run="exit 1\n")
    repo.add(
        "top1",
        {"deps": [{"tags": "leaf1"}], "variations": {"v": {"group": "g", "default": True}}},
        run="exit 1\n",
    )
    proc = cli("run", "script", "top1", "--explain")
    assert proc.returncode == 0, proc.stderr
    assert "top1" in proc.stdout
    assert "leaf1" in proc.stdout
    assert "miss" in proc.stdout
    assert "default of group g" in proc.stdout


def test_cli_out_json(repo: ScriptRepo, cli: Callable[..., Any]) -> None:
    repo.add(
        "leaf2",
        {"new_env_keys": ["LEAF"]},
        run='echo "noise on stdout"\necho "LEAF=1" > tmp-run-env.out\n',
    )
    repo.add(
        "top2",
        {"deps": [{"tags": "leaf2"}], "new_env_keys": ["TOP"], "new_state_keys": ["s"]},
        run="""echo '{"s": {"k": "v"}}' > tmp-run-state.json; echo "TOP=$LEAF" > tmp-run-env.out""",
    )
    proc = cli("run", "script", "--tags=top2", "--out=json")
    assert proc.returncode == 0, proc.stderr
    result = json_out(proc)
    assert result["return"] == 0
    assert result["new_env"] == {"TOP": "1"}
    assert result["new_state"] == {"s": {"k": "v"}}
    assert [d["script"] for d in result["deps"]] == ["leaf2"]
    assert result["deps"][0]["new_env"] == {"LEAF": "1"}
    assert "noise on stdout" in proc.stderr


def test_cli_failure_exit_code(repo: ScriptRepo, cli: Callable[..., Any]) -> None:
    repo.add("fail3", {}, run="echo bad-thing; exit 7\n")
    proc = cli("run", "script", "fail3")
    assert proc.returncode == 2
    assert "exit code 7" in proc.stderr
    assert "bad-thing" in proc.stderr
    proc = cli("run", "script", "--tags=no-such-script")
    assert proc.returncode == 16


def test_unknown_variation_lists_the_valid_ones(repo: ScriptRepo) -> None:
    repo.add("varied", {"variations": {"a": {}, "b": {}}})
    r = fails("varied,_c")
    assert "_a" in r["error"] and "_b" in r["error"]


def test_run_by_name_and_by_tags_share_the_cache(repo: ScriptRepo, cairn_home: Path) -> None:
    repo.add("named-cached", {"cache": True, "tags": ["named-cached", "thing"]}, run="true\n")
    assert ok(artifact="named-cached")["cache"] == "miss"
    assert ok("thing")["cache"] == "hit"
    assert ok("thing", out="json")["cache"] == "hit"
    assert len(cache_entries(cairn_home)) == 1


@pytest.mark.parametrize(
    ("request_", "spec"),
    [
        ({"version": "1.2"}, "==1.2"),
        ({"version_min": "1.0", "version_max": "2.0"}, ">=1.0,<=2.0"),
        ({"version_min": "1.0"}, ">=1.0"),
        ({}, None),
    ],
)
def test_pip_version_string(repo: ScriptRepo, request_: dict[str, str], spec: str | None) -> None:
    repo.add(
        "pip-spec",
        {"new_env_keys": ["PIP_SPEC"]},
        run='echo "PIP_SPEC=${CM_TMP_PIP_VERSION_STRING-unset}" > tmp-run-env.out\n',
    )
    assert ok("pip-spec", **request_)["new_env"]["PIP_SPEC"] == (spec or "unset")


def test_env_key_mappings_copy_keys(repo: ScriptRepo) -> None:
    repo.add(
        "mapped",
        {"env": {"OLD_A": "a"}, "env_key_mappings": {"OLD_": "NEW_"}, "new_env_keys": ["NEW_*"]},
        run='echo "NEW_SEEN=$NEW_A" > tmp-run-env.out\n',
    )
    assert ok("mapped")["new_env"] == {"NEW_A": "a", "NEW_SEEN": "a"}


def test_quiet_and_print_deps_on_the_cli(repo: ScriptRepo, cli: Callable[..., Any]) -> None:
    repo.add(
        "quiet-leaf", {"new_env_keys": ["Q"]}, run='echo "Q=${CM_QUIET:-no}" > tmp-run-env.out'
    )
    repo.add("quiet-top", {"deps": [{"tags": "quiet-leaf"}], "new_env_keys": ["Q"]})
    proc = cli("run", "script", "quiet-top", "--quiet", "--print_deps", "-s")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2:] == ["quiet-top (not cached)", "  quiet-leaf (not cached)"]
    assert ok("quiet-top", quiet=True)["new_env"] == {"Q": "yes"}
    repo.add("verbose", {"new_env_keys": ["V"]}, run='echo "V=${CM_VERBOSE:-no}" > tmp-run-env.out')
    assert ok("verbose", verbose=True)["new_env"] == {"V": "yes"}
    assert ok("verbose")["new_env"] == {"V": "no"}


def test_meta_warnings_reach_the_result(repo: ScriptRepo) -> None:
    repo.add("warned", {"warnings": ["needs 2 GB of disk"], "defualt_env": {}})
    warnings = ok("warned")["warnings"]
    assert "needs 2 GB of disk" in warnings
    assert any("defualt_env" in w and "default_env" in w for w in warnings)


def test_a_version_the_script_does_not_list_is_refused(
    repo: ScriptRepo, cli: Callable[..., Any]
) -> None:
    add_versioned(repo)  # lists 1.0, 2.0 and 3.0; exports CM_VERSION but never acts on it
    refused = cli("run", "script", "tool", "--version=4.0")
    assert refused.returncode == 1
    assert "script tool knows the versions 1.0, 2.0, 3.0, not 4.0" in refused.stderr
    assert "ask for one of them, or leave the version out (default 2.0)" in refused.stderr
    assert cli("run", "script", "tool", "--version=3.0").returncode == 0
    repo.add(
        "fetcher",
        {"versions": {"1.0": {}}, "new_env_keys": ["URL"]},
        run='echo "URL=x-$CM_VERSION.tgz" > tmp-run-env.out\n',
    )
    done = cli("run", "script", "fetcher", "--version=7.1", "--out=json")
    assert json_out(done)["new_env"] == {"URL": "x-7.1.tgz"}
