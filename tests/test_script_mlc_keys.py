"""MLCFlow's meta keys: cache_expiration, predeps, update_meta_if_env, add_deps_tags,
variation_tags_alias, sudo_install, min_mlc_version/mlc_compat, file/folder path env keys,
tests (``cairn test script``), and the loosely typed values MLCFlow accepts."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from cairn import report
from cairn.errors import MetaError
from cairn.script import expiry, mlc_compat
from cairn.script.model import ScriptMeta
from tests.script_fixtures import ScriptRepo, cache_entries, fails, ok


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


def _warnings(meta: dict[str, Any], source: Path, **kw: Any) -> tuple[ScriptMeta, list[str]]:
    with report.using(report.Reporter()) as got:
        loaded = ScriptMeta.from_meta(
            {"alias": "s", "uid": "0123456789abcdef", **meta}, source, **kw
        )
    return loaded, got.warnings


# --- cache_expiration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h", 3600), ("30m", 1800), ("7d", 7 * 86400), ("500d", 500 * 86400), ("2w", 14 * 86400),
     ("45s", 45), ("1.5h", 5400), ("1 H", 3600)],
)  # fmt: skip
def test_durations_read_as_documented(text: str, seconds: int) -> None:
    assert expiry.parse(text) == seconds


@pytest.mark.parametrize("text", ["soon", "30", "0h", "1y", "h", "-1d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        expiry.parse(text)


def test_a_bad_cache_expiration_names_the_file_and_key(repo: ScriptRepo) -> None:
    repo.add("old", {"cache": True, "cache_expiration": "soon"}, run="true\n")
    r = fails("old")
    assert "broken meta" in r["error"]
    [warning] = [w for w in r["warnings"] if "cache_expiration" in w]
    assert "_cm.yaml" in warning and "'soon' is not a duration" in warning


def _expire(entry_dir: str) -> None:
    meta_file = Path(entry_dir) / "_cm.json"
    data = json.loads(meta_file.read_text())
    data["expires"] = expiry.stamp(1000)
    meta_file.write_text(json.dumps(data))


def test_an_expired_entry_is_run_again_and_replaced(repo: ScriptRepo, cairn_home: Path) -> None:
    repo.add(
        "clock",
        {"cache": True, "cache_expiration": "1h", "new_env_keys": ["CLOCK"]},
        run="echo CLOCK=$(date +%s%N) > tmp-run-env.out\n",
    )
    first = ok("clock")
    [entry] = cache_entries(cairn_home)
    assert expiry.read_stamp(entry["expires"]) is not None
    assert ok("clock")["new_env"] == first["new_env"]  # fresh: a hit
    _expire(entry["path"])
    again = ok("clock")
    assert again["new_env"] != first["new_env"]
    [renewed] = cache_entries(cairn_home)
    assert not expiry.is_expired(renewed)


def test_a_variation_sets_its_own_expiration(repo: ScriptRepo, cairn_home: Path) -> None:
    repo.add(
        "vexp",
        {"cache": True, "variations": {"long": {"cache_expiration": "500d"}}},
        run="true\n",
    )
    ok("vexp _long")
    [entry] = cache_entries(cairn_home)
    left = (expiry.read_stamp(entry["expires"]) or 0) - expiry.read_stamp(expiry.stamp(0))
    assert left > 400 * 86400


def test_a_dependency_can_inherit_its_parents_expiration(
    repo: ScriptRepo, cairn_home: Path
) -> None:
    repo.add("fetch", {"cache": True}, run="true\n")
    repo.add("plain", {"cache": True}, run="true\n")
    repo.add(
        "unpack",
        {
            "cache": True,
            "cache_expiration": "2d",
            "deps": [{"tags": "fetch", "inherit_cache_expiration": True}, {"tags": "plain"}],
        },
        run="true\n",
    )
    ok("unpack")
    expires = {
        e["associated_script_artifact"].split(",")[0]: e.get("expires")
        for e in cache_entries(cairn_home)
    }
    fetch, unpack = (expiry.read_stamp(expires[k]) for k in ("fetch", "unpack"))
    assert fetch is not None and unpack is not None and abs(fetch - unpack) < 600
    assert fetch - expiry.read_stamp(expiry.stamp(0)) > 86400  # two days, not never
    assert expires["plain"] is None


def test_rm_expired_removes_only_expired_entries_and_says_so(
    repo: ScriptRepo, cairn_home: Path, cli: Any
) -> None:
    repo.add("a", {"cache": True, "cache_expiration": "1d"}, run="true\n")
    repo.add("b", {"cache": True}, run="true\n")
    ok("a")
    ok("b")
    [entry_a] = [e for e in cache_entries(cairn_home) if "a" in e["tags"]]
    shown = cli("show", "cache", "--tags=a")
    assert "Expires: " in shown.stdout and "(expired)" not in shown.stdout
    assert cli("rm", "cache", "--expired").stdout.strip() == "no expired cache entries"
    _expire(entry_a["path"])
    assert "(expired)" in cli("show", "cache", "--tags=a").stdout
    done = cli("rm", "cache", "--expired")
    assert done.returncode == 0, done.stderr
    assert f"Deleted {entry_a['path']}" in done.stdout
    assert [e["tags"] for e in cache_entries(cairn_home)] == [
        e["tags"] for e in cache_entries(cairn_home) if "b" in e["tags"]
    ]
    assert len(cache_entries(cairn_home)) == 1


# --- predeps --------------------------------------------------------------------------------


PREDEPS = """
def predeps(i):
    i['env']['SEEN_BY_DEP'] = 'from predeps'
    return {'return': 0}
"""


def test_predeps_runs_before_the_deps(repo: ScriptRepo) -> None:
    repo.add(
        "child",
        {"new_env_keys": ["CHILD_SAW"]},
        run='echo "CHILD_SAW=$SEEN_BY_DEP" > tmp-run-env.out\n',
    )
    repo.add(
        "parent",
        {"deps": [{"tags": "child"}], "new_env_keys": ["CHILD_SAW"]},
        customize=PREDEPS,
        run="true\n",
    )
    assert ok("parent")["new_env"] == {"CHILD_SAW": "from predeps"}


def test_predeps_false_turns_the_hook_off(repo: ScriptRepo) -> None:
    repo.add(
        "child",
        {"new_env_keys": ["CHILD_SAW"]},
        run='echo "CHILD_SAW=${SEEN_BY_DEP:-none}" > tmp-run-env.out\n',
    )
    repo.add(
        "parent",
        {"predeps": False, "deps": [{"tags": "child"}], "new_env_keys": ["CHILD_SAW"]},
        customize=PREDEPS,
        run="true\n",
    )
    assert ok("parent")["new_env"] == {"CHILD_SAW": "none"}


def test_the_plan_leaves_deps_after_a_predeps_hook_to_the_run(repo: ScriptRepo) -> None:
    repo.add("cached-child", {"cache": True}, run="true\n")
    repo.add("parent", {"deps": [{"tags": "cached-child"}]}, customize=PREDEPS, run="true\n")
    ok("parent")
    [child] = ok("parent", explain=True)["plan"]["deps"]
    assert child["cache"] == "decided at run time"
    repo.add("quiet", {"predeps": False, "deps": [{"tags": "cached-child"}]}, customize=PREDEPS)
    [child] = ok("quiet", explain=True)["plan"]["deps"]
    assert child["cache"] == "hit"


# --- update_meta_if_env, add_deps_tags, variation_tags_alias ---------------------------------


def test_update_meta_if_env_applies_the_entries_whose_conditions_hold(repo: ScriptRepo) -> None:
    repo.add(
        "cond",
        {
            "new_env_keys": ["OUT_*"],
            "update_meta_if_env": [
                {"enable_if_env": {"FLAVOR": ["ubuntu"]}, "env": {"OUT_A": "ubuntu"}},
                {"skip_if_env": {"FLAVOR": ["ubuntu"]}, "env": {"OUT_B": "not ubuntu"}},
                {
                    "enable_if_any_env": {"X": ["1"], "FLAVOR": ["rhel"]},
                    "default_env": {"OUT_C": "c"},
                },
            ],
            "variations": {
                "v": {
                    "update_meta_if_env": [
                        {"enable_if_env": {"FLAVOR": ["rhel"]}, "env": {"OUT_D": "d"}}
                    ]
                }
            },
        },
        run="true\n",
    )
    assert ok("cond", env={"FLAVOR": "ubuntu"})["new_env"] == {"OUT_A": "ubuntu"}
    got = ok("cond _v", env={"FLAVOR": "rhel"})["new_env"]
    assert got == {"OUT_B": "not ubuntu", "OUT_C": "c", "OUT_D": "d"}


def test_update_meta_if_env_sees_the_variations_env(repo: ScriptRepo) -> None:
    repo.add(
        "cond2",
        {
            "new_env_keys": ["OUT"],
            "variations": {"gpu": {"env": {"DEVICE": "gpu"}}},
            "update_meta_if_env": [{"enable_if_env": {"DEVICE": ["gpu"]}, "env": {"OUT": "cuda"}}],
        },
        run="true\n",
    )
    assert ok("cond2 _gpu")["new_env"] == {"OUT": "cuda"}
    assert ok("cond2")["new_env"] == {}


def test_add_deps_tags_adds_tags_to_a_named_dependency(repo: ScriptRepo) -> None:
    repo.add(
        "model",
        {
            "new_env_keys": ["PREC"],
            "variations": {"int8": {"env": {"PREC": "int8"}}, "fp32": {"env": {"PREC": "fp32"}}},
        },
        run="true\n",
    )
    repo.add(
        "user",
        {
            "deps": [{"tags": "model", "names": ["dependent-model"]}],
            "new_env_keys": ["PREC"],
            "variations": {
                "small": {"add_deps_tags": {"dependent-model": {"tags": "_int8"}}},
                "cm-form": {"add_deps_tags": {"dependent-model": "_fp32"}},
                "nobody": {"add_deps_tags": {"no-such-dep": {"tags": "_x"}}},
            },
        },
        run="true\n",
    )
    assert ok("user _small")["new_env"] == {"PREC": "int8"}
    assert ok("user _cm-form")["new_env"] == {"PREC": "fp32"}
    assert ok("user _nobody")["new_env"] == {}


def test_variation_tags_alias_reads_a_word_as_variations(repo: ScriptRepo) -> None:
    repo.add(
        "isolate",
        {
            "new_env_keys": ["ACTION"],
            "variations": {
                "set": {"env": {"ACTION": "set"}},
                "unset": {"env": {"ACTION": "unset"}},
            },
            "variation_tags_alias": {"set": "_set", "off": "_unset"},
        },
        run="true\n",
    )
    repo.add("setter", {"new_env_keys": ["ACTION"]}, tags=["set"], run="true\n")
    assert ok("isolate,set")["new_env"] == {"ACTION": "set"}
    assert ok(tags="isolate,off")["new_env"] == {"ACTION": "unset"}
    assert "no script" in fails("isolate,sideways")["error"]


# --- sudo_install ----------------------------------------------------------------------------


def _fake_sudo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    folder = tmp_path / "fakebin"
    folder.mkdir()
    sudo = folder / "sudo"
    sudo.write_text(f"#!/bin/sh\necho 'sudo: a password is required' >&2\nexit {code}\n")
    sudo.chmod(sudo.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_sudo_install_without_a_terminal_never_prompts(
    repo: ScriptRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_sudo(tmp_path, monkeypatch, code=1)
    repo.add("installer", {"sudo_install": True}, run="touch installed\n")
    error = fails("installer")["error"]
    assert "installer installs with sudo (sudo_install)" in error
    assert "sudo needs a password" in error and "nothing was installed" in error
    assert not (tmp_path / "installed").exists()


def test_sudo_install_runs_when_sudo_needs_no_password(
    repo: ScriptRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_sudo(tmp_path, monkeypatch, code=0)
    repo.add(
        "installer",
        {"sudo_install": True, "new_env_keys": ["DONE"]},
        run="echo DONE=yes > tmp-run-env.out\n",
    )
    assert ok("installer")["new_env"] == {"DONE": "yes"}


# --- min_mlc_version / mlc_compat -----------------------------------------------------------


def test_a_script_needing_a_newer_mlcflow_fails_naming_script_and_key(repo: ScriptRepo) -> None:
    repo.add("future", {"min_mlc_version": "99.0.0"}, run="true\n")
    error = fails("future")["error"]
    assert "script future needs mlcflow 99.0.0 (min_mlc_version" in error
    assert f"cairn follows mlcflow {mlc_compat.MLC_COMPAT_VERSION}" in error
    repo.add("past", {"min_mlc_version": "1.0.0"}, run="true\n")
    ok("past")


def test_mlc_compat_entries_warn_or_fail(repo: ScriptRepo) -> None:
    soft = {"min_version": "50.0", "message": "newer is nicer"}
    repo.add("soft", {"mlc_compat": [soft]}, run="true\n")
    r = ok("soft")
    assert any("mlc_compat[0]" in w and "newer is nicer" in w for w in r.get("warnings", [])), r
    repo.add("hard", {"mlc_compat": [{**soft, "fail": True}]}, run="true\n")
    assert "mlc_compat[0]" in fails("hard")["error"]


def test_mlc_compat_entries_need_a_min_version(tmp_path: Path) -> None:
    with pytest.raises(MetaError, match="needs 'min_version'"):
        _warnings({"mlc_compat": [{"message": "x"}]}, tmp_path / "meta.yaml")


# --- file_path_env_keys / folder_path_env_keys ----------------------------------------------


def test_path_env_keys_are_made_absolute_and_checked(repo: ScriptRepo, tmp_path: Path) -> None:
    (tmp_path / "sub.tar").write_text("x")
    (tmp_path / "subdir").mkdir()
    repo.add(
        "checker",
        {
            "file_path_env_keys": ["TARBALL"],
            "folder_path_env_keys": ["SUBMISSION"],
            "input_mapping": {"tar": "TARBALL", "dir": "SUBMISSION"},
            "new_env_keys": ["SEEN_*"],
        },
        run='echo "SEEN_TAR=$TARBALL" > tmp-run-env.out\n'
        'echo "SEEN_DIR=$SUBMISSION" >> tmp-run-env.out\n',
    )
    got = ok("checker", tar="sub.tar", dir="subdir")["new_env"]
    assert got == {"SEEN_TAR": str(tmp_path / "sub.tar"), "SEEN_DIR": str(tmp_path / "subdir")}
    error = fails("checker", tar="subdir")["error"]
    assert "TARBALL=subdir names a folder" in error and "file_path_env_keys" in error
    assert "names a file" in fails("checker", dir="sub.tar")["error"]
    ok("checker", dir="not-yet")  # the script may make it


# --- tests: cairn test script ---------------------------------------------------------------


def test_test_script_runs_every_declared_case(repo: ScriptRepo, cli: Any) -> None:
    repo.add(
        "tested",
        {
            "variations": {"good": {"env": {"MODE": "good"}}, "bad": {"env": {"MODE": "bad"}}},
            "tests": {
                "run_inputs": [
                    {"variations_list": ["good", "bad"], "env": {"EXTRA": "1"}},
                    {"docker": "yes"},
                    {},
                ]
            },
        },
        run='[ "$MODE" != bad ] && [ "${EXTRA:-1}" = 1 ]\n',
    )
    done = cli("test", "script", "tested")
    assert done.returncode != 0
    text = done.stdout + done.stderr
    assert "PASS _good [run_inputs[0]]" in text and "FAIL _bad [run_inputs[0]]" in text
    assert "SKIP (default variations) [run_inputs[1]] (runs in a container" in text
    assert "PASS (default variations) [run_inputs[2]]" in text
    assert "tested: 2 passed, 1 failed, 1 skipped" in text


def test_test_script_passes_and_reports_cases(repo: ScriptRepo, cli: Any) -> None:
    repo.add(
        "fine",
        {
            "variations": {"a": {}, "b": {}, "a,b": {}},
            "tests": {"run_inputs": [{"test-all-variations": "yes"}]},
        },
        run="true\n",
    )
    done = cli("test", "script", "fine", "--out=json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [c["case"] for c in data["cases"]] == ["_a", "_b"] and data["pass"] == 2


def test_test_script_needs_tests_and_well_formed_ones(repo: ScriptRepo, cli: Any) -> None:
    repo.add("untested", run="true\n")
    done = cli("test", "script", "untested")
    assert done.returncode != 0 and "declares no tests" in done.stderr
    repo.add("odd", {"tests": {"run_inputs": "all"}}, run="true\n")
    done = cli("test", "script", "odd")
    assert "key 'tests.run_inputs' must be a list" in done.stderr


def test_tests_needing_a_token_are_skipped(repo: ScriptRepo, cli: Any) -> None:
    repo.add("private", {"tests": {"needs_pat": True, "run_inputs": [{}]}}, run="exit 1\n")
    done = cli("test", "script", "private")
    assert done.returncode == 0, done.stderr
    assert "needs a GitHub token" in done.stdout


# --- loosely typed values -------------------------------------------------------------------


LOOSE = {
    "deps": [{"tags": "x", "version_max": 2.9, "version_max_usable": 1.48}],
    "variations": {
        "python": {"default": "true,", "group": "impl", "adr": {"note": "just words"}},
        "dl": {"default_version": 5.2},
    },
    "versions": {5.2: {"env": {"V": "5.2"}}},
    "update_meta_if_env": [
        {"enable_if_env": {"OS": ["linux"], "adr": {"compiler": {"tags": "gcc"}}}}
    ],
}


def test_mlcflow_metas_read_loose_values_with_a_warning(tmp_path: Path) -> None:
    source = tmp_path / "meta.yaml"
    meta, warnings = _warnings(LOOSE, source)
    assert meta.deps[0].version_max == "2.9" and meta.deps[0].version_max_usable == "1.48"
    assert meta.variations["python"].default is True
    assert meta.variations["python"].payload.add_deps_recursive == {}
    assert meta.variations["dl"].payload.default_version == "5.2"
    assert list(meta.versions) == ["5.2"]
    assert meta.update_meta_if_env[0].enable_if_env["adr"] == ()
    [warning] = [w for w in warnings if "loosely typed" in w]
    assert str(source) in warning
    for key in ("deps[0].version_max 2.9 as '2.9'", "variations._python.default 'true,' as True",
                "variations._python.adr.note", "versions key 5.2"):  # fmt: skip
        assert key in warning


def test_cm_metas_still_refuse_loose_values(tmp_path: Path) -> None:
    with pytest.raises(MetaError, match=r"must be a string, not float 2\.9"):
        _warnings({"deps": [{"tags": "x", "version_max": 2.9}]}, tmp_path / "_cm.yaml")
    with pytest.raises(MetaError, match="must be true or false"):
        _warnings({"variations": {"p": {"default": "true,"}}}, tmp_path / "meta.yaml", loose=False)


def test_every_meta_of_the_mlcflow_collection_is_read(tmp_path: Path) -> None:
    from cairn import meta as meta_mod
    from tests.mlc_fixtures import find_corpus

    corpus = find_corpus()
    if corpus is None:
        pytest.skip("the MLCFlow collection is neither in tests/data nor in ../shared/corpora")
    failed = []
    with report.using(report.Reporter()):
        for path in sorted((corpus / "script").glob("*/meta.yaml")):
            try:
                ScriptMeta.from_meta(meta_mod.load_file(path), path)
            except MetaError as exc:
                failed.append(str(exc))
    assert failed == []
