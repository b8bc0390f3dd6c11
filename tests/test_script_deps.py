"""End-to-end dependency handling: every dependency key of cm-script.md §1.3, cycles, reuse.

The dependency scripts export what they saw (``new_env_keys``), so each test reads the
outcome from the result tree that ``cairn.access`` returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cairn.script.run import MAX_REENTRIES
from tests.script_fixtures import ScriptRepo, count, counter, fails, ok


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


def dep_names(result: dict[str, Any]) -> list[str]:
    return [d["script"] for d in result["deps"]]


def only_dep(result: dict[str, Any]) -> dict[str, Any]:
    assert len(result["deps"]) == 1, result["deps"]
    dep: dict[str, Any] = result["deps"][0]
    return dep


# --- enable_if_env / skip_if_env ------------------------------------------------------------


def add_conditional(repo: ScriptRepo, **condition: Any) -> None:
    repo.add("cond-child", {})
    repo.add("cond-parent", {"deps": [{"tags": "cond-child", **condition}]})


@pytest.mark.parametrize(
    ("env", "runs"),
    [
        ({"FLAG": "yes"}, True),
        ({"FLAG": "7"}, True),  # CM: with yes in the list, anything but a false word matches
        ({"FLAG": "off"}, False),
        ({}, False),  # a missing key never matches
    ],
)
def test_enable_if_env_truth_words(repo: ScriptRepo, env: dict[str, str], runs: bool) -> None:
    add_conditional(repo, enable_if_env={"FLAG": ["yes"]})
    assert dep_names(ok("cond-parent", env=env)) == (["cond-child"] if runs else [])


@pytest.mark.parametrize(
    ("env", "runs"),
    [
        ({"MODE": "Fast", "ARCH": "x86"}, False),
        ({"MODE": "fast", "ARCH": "arm"}, True),  # AND across keys: one mismatch enables
        ({"MODE": "slow", "ARCH": "x86"}, True),
        ({"MODE": "FAST"}, True),
    ],
)
def test_skip_if_env_all_keys(repo: ScriptRepo, env: dict[str, str], runs: bool) -> None:
    add_conditional(repo, skip_if_env={"MODE": ["fast", "faster"], "ARCH": ["x86"]})
    assert dep_names(ok("cond-parent", env=env)) == (["cond-child"] if runs else [])


@pytest.mark.parametrize(
    ("env", "runs"),
    [({"A": "1"}, True), ({"B": "on"}, True), ({"A": "no", "B": "0"}, False), ({}, False)],
)
def test_enable_if_any_env(repo: ScriptRepo, env: dict[str, str], runs: bool) -> None:
    add_conditional(repo, enable_if_any_env={"A": ["yes"], "B": ["yes"]})
    assert dep_names(ok("cond-parent", env=env)) == (["cond-child"] if runs else [])


@pytest.mark.parametrize(("env", "runs"), [({"A": "x"}, False), ({"B": "x"}, False), ({}, True)])
def test_skip_if_any_env(repo: ScriptRepo, env: dict[str, str], runs: bool) -> None:
    add_conditional(repo, skip_if_any_env={"A": ["x"], "B": ["x"]})
    assert dep_names(ok("cond-parent", env=env)) == (["cond-child"] if runs else [])


def test_conditions_see_earlier_deps_exports(repo: ScriptRepo) -> None:
    repo.add("detector", {"new_env_keys": ["HAVE_X"]}, run='echo "HAVE_X=no" > tmp-run-env.out')
    repo.add("installer", {})
    repo.add(
        "needs-x",
        {
            "deps": [
                {"tags": "detector"},
                {"tags": "installer", "enable_if_env": {"HAVE_X": ["no"]}},
            ]
        },
    )
    assert dep_names(ok("needs-x")) == ["detector", "installer"]


# --- tags from the env and from the parent ----------------------------------------------------


def add_package(repo: ScriptRepo) -> None:
    repo.add(
        "package",
        {
            "variations": {
                "name.#": {"env": {"PKG": "#"}},
                "fast": {"env": {"PKG_FAST": "yes"}},
            },
            "new_env_keys": ["PKG*"],
        },
    )


def test_update_tags_from_env_with_prefix_gives_dynamic_variations(repo: ScriptRepo) -> None:
    add_package(repo)
    repo.add(
        "wants-package",
        {"deps": [{"tags": "package", "update_tags_from_env_with_prefix": {"_name.": ["WANT"]}}]},
    )
    dep = only_dep(ok("wants-package", env={"WANT": "numpy"}))
    assert dep["variations"] == ["_name.numpy"]
    assert dep["new_env"] == {"PKG": "numpy"}
    assert only_dep(ok("wants-package"))["variations"] == []  # empty value: no tag


def test_update_tags_from_env_adds_raw_tags(repo: ScriptRepo) -> None:
    add_package(repo)
    repo.add("wants-fast", {"deps": [{"tags": "package", "update_tags_from_env": ["SPEED"]}]})
    dep = only_dep(ok("wants-fast", env={"SPEED": "_fast"}))
    assert dep["variations"] == ["_fast"]
    assert dep["new_env"] == {"PKG_FAST": "yes"}


def test_inherit_variation_tags(repo: ScriptRepo) -> None:
    child_variations = {"cuda": {"group": "device"}, "cpu": {"group": "device"}, "extra": {}}
    repo.add("inheritor", {"variations": child_variations})
    repo.add("inheritor2", {"variations": child_variations})
    repo.add(
        "ancestor",
        {
            "variations": {
                "cuda": {"group": "device"},
                "large": {"group": "size"},
                "extra": {},
            },
            "deps": [
                {
                    "tags": "inheritor",
                    "inherit_variation_tags": True,
                    "skip_inherit_variation_groups": ["size"],
                },
                {
                    "tags": "inheritor2,-_cuda",
                    "inherit_variation_tags": True,
                    "skip_inherit_variation_groups": ["size"],
                },
            ],
        },
    )
    r = ok("ancestor,_cuda,_large,_extra")
    assert sorted(r["deps"][0]["variations"]) == ["_cuda", "_extra"]
    assert r["deps"][1]["variations"] == ["_extra"]


# --- names, add_deps and add_deps_recursive ----------------------------------------------------


def add_compiler_tree(repo: ScriptRepo) -> None:
    repo.add(
        "compiler",
        {
            "variations": {"gcc": {"env": {"CC": "gcc"}}, "clang": {"env": {"CC": "clang"}}},
            "env": {"CC": "cc"},
            "new_env_keys": ["CC", "CC_*"],
        },
    )
    repo.add(
        "build",
        {"deps": [{"tags": "compiler", "names": ["compiler", "cc"]}], "new_env_keys": ["CC*"]},
    )
    repo.add("app", {"deps": [{"tags": "build", "names": ["build"]}], "new_env_keys": ["CC*"]})


def test_adr_reaches_named_deps_anywhere_below(repo: ScriptRepo) -> None:
    add_compiler_tree(repo)
    assert ok("app")["new_env"]["CC"] == "cc"
    r = ok("app", adr={"compiler": {"tags": "_clang", "env": {"CC_FLAGS": "-O3"}}})
    compiler = r["deps"][0]["deps"][0]
    assert compiler["variations"] == ["_clang"]
    assert r["new_env"] == {"CC": "clang", "CC_FLAGS": "-O3"}


def test_adr_from_the_cli_grammar(repo: ScriptRepo) -> None:
    add_compiler_tree(repo)
    r = ok(
        "app",
        **{"add_deps_recursive": {"cc": {"tags": "_gcc"}}},
    )
    assert r["new_env"]["CC"] == "gcc"


def test_ad_changes_own_deps_only_and_checks_names(repo: ScriptRepo) -> None:
    add_compiler_tree(repo)
    assert ok("build", ad={"compiler": {"tags": "_gcc"}})["new_env"]["CC"] == "gcc"
    assert ok("app", ad={"build": {"env": {"CC_X": "1"}}})["new_env"]["CC_X"] == "1"
    r = fails("app", ad={"nope": {"tags": "_gcc"}})
    assert "nope" in r["error"] and "build" in r["error"]
    assert ok("app", adr={"nope": {"tags": "_gcc"}})["new_env"]["CC"] == "cc"


def test_variation_deps_replace_by_names(repo: ScriptRepo) -> None:
    add_compiler_tree(repo)
    repo.add(
        "project",
        {
            "deps": [{"tags": "compiler,_gcc", "names": ["compiler"]}],
            "variations": {"llvm": {"deps": [{"tags": "compiler,_clang", "names": ["compiler"]}]}},
            "new_env_keys": ["CC"],
        },
    )
    assert ok("project")["new_env"]["CC"] == "gcc"
    r = ok("project,_llvm")
    assert dep_names(r) == ["compiler"]
    assert r["new_env"]["CC"] == "clang"


# --- inputs and versions of deps ----------------------------------------------------------------


def test_extra_dep_keys_are_child_inputs(repo: ScriptRepo) -> None:
    repo.add("configurable", {"input_mapping": {"mode": "CFG_MODE"}, "new_env_keys": ["CFG_*"]})
    repo.add("configures", {"deps": [{"tags": "configurable", "mode": "turbo"}]})
    assert only_dep(ok("configures"))["new_env"] == {"CFG_MODE": "turbo"}


def add_tool(repo: ScriptRepo) -> None:
    repo.add(
        "vtool",
        {
            "default_version": "2.0",
            "versions": {"1.0": {"env": {"VT": "one"}}, "2.0": {"env": {"VT": "two"}}},
            "new_env_keys": ["VT", "CM_VERSION*"],
        },
    )


def test_dep_version_fields(repo: ScriptRepo) -> None:
    add_tool(repo)
    repo.add("old-user", {"deps": [{"tags": "vtool", "version": "1.0"}]})
    repo.add("new-user", {"deps": [{"tags": "vtool"}]})
    repo.add("capped-user", {"deps": [{"tags": "vtool", "version_max": "1.5"}]})
    dep = only_dep(ok("old-user"))
    assert (dep["version"], dep["new_env"]["VT"]) == ("1.0", "one")
    assert only_dep(ok("new-user"))["version"] == "2.0"
    dep = only_dep(ok("capped-user"))
    assert dep["version"] == "1.5"
    assert dep["new_env"]["CM_VERSION_MAX"] == "1.5"


def test_dep_version_not_satisfied(repo: ScriptRepo) -> None:
    repo.add(
        "detected",
        {"new_env_keys": ["CM_DETECTED_VERSION"]},
        run='echo "CM_DETECTED_VERSION=1.4" > tmp-run-env.out\n',
    )
    repo.add("picky", {"deps": [{"tags": "detected", "version_min": "2.0"}]})
    r = fails("picky")
    assert "detected" in r["error"] and "1.4" in r["error"]


def test_parent_version_does_not_leak_into_deps(repo: ScriptRepo) -> None:
    add_tool(repo)
    repo.add("versioned-parent", {"deps": [{"tags": "vtool"}], "post_deps": [{"tags": "vtool"}]})
    r = ok("versioned-parent", version="9.9")
    assert [d["version"] for d in r["deps"]] == ["2.0", "2.0"]


# --- dynamic deps, fake runs ---------------------------------------------------------------------


def test_dynamic_deps_run_on_a_cached_parent(repo: ScriptRepo, tmp_path: Path) -> None:
    static, dynamic = tmp_path / "static", tmp_path / "dynamic"
    repo.add("static-dep", {}, run=counter(static))
    repo.add("dynamic-dep", {}, run=counter(dynamic))
    repo.add(
        "cached-parent",
        {
            "cache": True,
            "deps": [{"tags": "static-dep"}, {"tags": "dynamic-dep", "dynamic": True}],
        },
    )
    assert ok("cached-parent")["cache"] == "miss"
    r = ok("cached-parent")
    assert r["cache"] == "hit"
    assert dep_names(r) == ["dynamic-dep"]
    assert (count(static), count(dynamic)) == (1, 2)


def test_fake_run_runs_only_deps_and_prehook_deps(repo: ScriptRepo, tmp_path: Path) -> None:
    marks = {n: tmp_path / n for n in ("dep", "prehook", "posthook", "post", "main", "hook")}
    for name in ("dep", "prehook", "posthook", "post"):
        repo.add(f"fake-{name}", {}, run=counter(marks[name]))
    repo.add(
        "faked",
        {
            "cache": True,
            "deps": [{"tags": "fake-dep"}],
            "prehook_deps": [{"tags": "fake-prehook"}],
            "posthook_deps": [{"tags": "fake-posthook"}],
            "post_deps": [{"tags": "fake-post"}],
        },
        run=counter(marks["main"]),
        customize=f"""
            def preprocess(i):
                open({str(marks["hook"])!r}, 'a').write('x\\n')
                return {{'return': 0}}
            """,
    )
    r = ok("faked", fake_run=True)
    assert r["cache"] == "not cached"
    assert {n: count(p) for n, p in marks.items()} == {
        "dep": 1,
        "prehook": 1,
        "posthook": 0,
        "post": 0,
        "main": 0,
        "hook": 0,
    }


def test_fake_deps_runs_no_deps(repo: ScriptRepo, tmp_path: Path) -> None:
    marker = tmp_path / "dep-ran"
    repo.add("real-dep", {}, run=counter(marker))
    repo.add(
        "fake-deps",
        {"deps": [{"tags": "real-dep"}], "new_env_keys": ["MAIN"]},
        run='echo "MAIN=1" > tmp-run-env.out\n',
    )
    r = ok("fake-deps", fake_deps=True)
    assert r["new_env"] == {"MAIN": "1"}
    assert count(marker) == 0


# --- cycles and reuse -------------------------------------------------------------------------


def test_cycle_is_an_error_naming_it(repo: ScriptRepo) -> None:
    repo.add("cyc-a", {"deps": [{"tags": "cyc-b"}]})
    repo.add("cyc-b", {"deps": [{"tags": "cyc-c"}]})
    repo.add("cyc-c", {"deps": [{"tags": "cyc-a"}]})
    r = fails("cyc-a")
    assert "dependency cycle: cyc-a -> cyc-b -> cyc-c -> cyc-a" in r["error"]
    r = fails("cyc-a", explain=True)
    assert "cyc-a -> cyc-b -> cyc-c -> cyc-a" in r["error"]


def test_self_dependency_with_other_variations_is_no_cycle(repo: ScriptRepo) -> None:
    repo.add(
        "pylib",
        {
            "variations": {"pip": {"env": {"LIB": "pip"}}, "numpy": {"env": {"LIB": "numpy"}}},
            "deps": [{"tags": "pylib,_pip", "skip_if_env": {"LIB": ["pip"]}}],
            "new_env_keys": ["LIB"],
        },
    )
    r = ok("pylib,_numpy")
    assert only_dep(r)["variations"] == ["_pip"]
    assert only_dep(r)["deps"] == []  # the _pip run skips its own dependency on _pip
    assert r["new_env"]["LIB"] == "pip"  # a dependency's export wins, as in CM


def test_reentry_with_another_env_is_no_cycle(repo: ScriptRepo) -> None:
    """CM's get-compiler-flags -> get-gcc -> get-compiler-flags: the inner run skips its
    compiler dependency because the compiler's env is set by then."""
    repo.add(
        "flags",
        {
            "deps": [{"tags": "cc", "skip_if_env": {"CC_BIN": ["on"]}}],
            "new_env_keys": ["FLAGS", "CC_BIN"],
        },
        run="echo FLAGS=set > tmp-run-env.out\n",
    )
    repo.add(
        "cc",
        {"post_deps": [{"tags": "flags"}], "new_env_keys": ["CC_BIN", "FLAGS"]},
        run="echo CC_BIN=on > tmp-run-env.out\n",
    )
    r = ok("flags")
    assert r["new_env"] == {"FLAGS": "set", "CC_BIN": "on"}
    [cc] = r["deps"]
    assert [d["script"] for d in cc["deps"]] == ["flags"] and cc["deps"][0]["deps"] == []


def test_reentry_with_an_ever_changing_env_is_a_cycle_in_the_end(repo: ScriptRepo) -> None:
    repo.add(
        "grow",
        {"prehook_deps": [{"tags": "grow"}]},
        customize="""
            def preprocess(i):
                i['env']['N'] = i['env'].get('N', '') + 'x'
                return {'return': 0}
            """,
    )
    r = fails("grow")
    assert r["error"].startswith("dependency cycle: grow -> grow -> grow")
    assert r["error"].count("grow") == 2 + MAX_REENTRIES


def test_same_script_same_inputs_runs_once(repo: ScriptRepo, tmp_path: Path) -> None:
    marker = tmp_path / "leaf-runs"
    repo.add("once-leaf", {"env": {"LEAF": "1"}, "new_env_keys": ["LEAF"]}, run=counter(marker))
    repo.add("once-mid", {"deps": [{"tags": "once-leaf"}]})
    deps = [{"tags": "once-mid"}, {"tags": "once-leaf"}, {"tags": "once-leaf"}]
    repo.add("once-top", {"deps": deps})
    # LEAF=1 from the start: the leaf's own export does not change the env its reruns get
    r = ok("once-top", env={"LEAF": "1"})
    assert count(marker) == 1
    assert [d["cache"] for d in r["deps"][1:]] == ["reused", "reused"]
    assert [d["new_env"] for d in r["deps"][1:]] == [{"LEAF": "1"}, {"LEAF": "1"}]


def test_same_script_other_inputs_runs_again(repo: ScriptRepo, tmp_path: Path) -> None:
    marker = tmp_path / "leaf-runs"
    repo.add("again-leaf", {}, run=counter(marker) + 'echo "leaf saw $X"\n')
    repo.add(
        "again-top",
        {
            "deps": [
                {"tags": "again-leaf", "env": {"X": "1"}},
                {"tags": "again-leaf", "env": {"X": "2"}},
            ]
        },
    )
    ok("again-top")
    assert count(marker) == 2


def test_same_script_with_values_it_never_reads_is_reused(repo: ScriptRepo, tmp_path: Path) -> None:
    marker = tmp_path / "leaf-runs"
    repo.add("blind-leaf", {}, run=counter(marker))
    repo.add(
        "blind-top",
        {
            "deps": [
                {"tags": "blind-leaf", "env": {"X": "1"}},
                {"tags": "blind-leaf", "env": {"X": "2"}},
            ]
        },
    )
    r = ok("blind-top")
    assert count(marker) == 1
    assert [d["cache"] for d in r["deps"]] == ["not cached", "reused"]


def test_failing_dep_stops_the_run(repo: ScriptRepo, tmp_path: Path) -> None:
    marker = tmp_path / "parent-ran"
    repo.add("bad-dep", {}, run="exit 5\n")
    repo.add("after-bad", {"deps": [{"tags": "bad-dep"}]}, run=counter(marker))
    r = fails("after-bad")
    assert r["return"] == 2
    assert "bad-dep" in r["error"] and "exit code 5" in r["error"]
    assert count(marker) == 0


def test_missing_dep_is_an_error_naming_it(repo: ScriptRepo) -> None:
    repo.add("orphan", {"deps": [{"tags": "no-such-thing"}]})
    r = fails("orphan")
    assert r["return"] == 16
    assert "no-such-thing" in r["error"]


def test_cli_adr_ad_and_input_flags(repo: ScriptRepo, cli: Callable[..., Any]) -> None:
    add_compiler_tree(repo)
    repo.add(
        "configured-app",
        {
            "deps": [{"tags": "build", "names": ["build"]}],
            "input_mapping": {"mode": "APP_MODE"},
            "new_env_keys": ["CC*", "APP_*"],
        },
    )
    proc = cli(
        "run",
        "script",
        "configured-app",
        "--adr.compiler.tags=_clang",
        "--ad.build.env.CC_OPT=-O1",
        "--mode=fast",
        "--out=json",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["new_env"] == {
        "CC": "clang",
        "CC_OPT": "-O1",
        "APP_MODE": "fast",
    }
    proc = cli("run", "script", "configured-app", "--ad.nope.tags=_gcc")
    assert proc.returncode == 1
    assert "nope" in proc.stderr


def test_state_flows_to_deps_and_back(repo: ScriptRepo) -> None:
    repo.add(
        "state-child",
        {"new_state_keys": ["child"]},
        run="""python3 -c 'import json; s = json.load(open("tmp-state.json"));"""
        """ json.dump({"child": {"saw": s["parent"]}}, open("tmp-run-state.json", "w"))'\n""",
    )
    repo.add(
        "state-parent",
        {"deps": [{"tags": "state-child"}], "new_state_keys": ["child", "parent"]},
    )
    r = ok("state-parent", state={"parent": {"p": 1}})
    assert r["new_state"] == {"parent": {"p": 1}, "child": {"saw": {"p": 1}}}


def test_equal_matches_prefer_the_parents_repository(tmp_path: Path) -> None:
    """A dependency that two repositories both provide comes from its parent's repository."""
    first = ScriptRepo(tmp_path / "first", alias="first")
    second = ScriptRepo(tmp_path / "second", alias="second")
    first.add(
        "tool-a",
        {"new_env_keys": ["TOOL"]},
        tags=["tool"],
        run="echo TOOL=first > tmp-run-env.out\n",
    )
    second.add(
        "tool-b",
        {"new_env_keys": ["TOOL"]},
        tags=["tool"],
        run="echo TOOL=second > tmp-run-env.out\n",
    )
    second.add("user", {"deps": [{"tags": "tool"}], "new_env_keys": ["TOOL"]}, run="true\n")
    assert ok("user")["new_env"] == {"TOOL": "second"}
    top = ok("tool")  # at the top, with no terminal: the first, and a warning naming the other
    assert top["new_env"] == {"TOOL": "first"}
    assert any("no terminal to ask" in w and "second:tool-b" in w for w in top["warnings"])


def test_cm_input_flags_reach_the_env(tmp_path: Path) -> None:
    repo = ScriptRepo(tmp_path / "flags")
    repo.add(
        "flagged",
        {"new_env_keys": ["SEEN"]},
        run=(
            'echo "SEEN=$CM_SKIP_COMPILE|$CM_TMP_PATH|$CM_EXTRA_CACHE_TAGS|$CM_OUTDIRNAME"'
            " > tmp-run-env.out\n"
        ),
    )
    result = ok("flagged", skip_compile=True, path="/opt/x", extra_cache_tags="a,b", outdirname="o")
    assert result["new_env"] == {"SEEN": "yes|/opt/x|a,b|o"}
