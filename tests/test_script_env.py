"""Env and state operations of a script run (``cairn.script.env``), rules of cm-script.md."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cairn.engine_vars import CM_VARS, MLC_VARS
from cairn.errors import InvalidInput
from cairn.script.env import (
    filter_new,
    hide_local,
    matches_env,
    merge_plus,
    merge_state,
    substitute,
)

# --- substitute ------------------------------------------------------------------------------


def test_substitute_replaces_placeholders_from_env() -> None:
    env = {"CM_PYTHON": "/usr/bin/python3", "CMD": "<<<CM_PYTHON>>> -m pip install <<<PKG>>>"}
    env["PKG"] = "numpy"
    assert substitute(env)["CMD"] == "/usr/bin/python3 -m pip install numpy"


def test_substitute_leaves_unresolvable_placeholders() -> None:
    env = {"A": "x-<<<MISSING>>>-y", "B": "<<<>>>"}
    assert substitute(env) == env


def test_substitute_self_reference_does_not_loop() -> None:
    assert substitute({"A": "x<<<A>>>"}) == {"A": "x<<<A>>>"}


def test_substitute_cycle_terminates_and_keeps_the_closing_placeholder() -> None:
    result = substitute({"A": "a<<<B>>>", "B": "b<<<A>>>"})
    assert result["A"] == "ab<<<A>>>"
    assert "<<<" in result["B"]


def test_substitute_resolves_chains_in_any_key_order() -> None:
    env = {"A": "<<<B>>>/a", "B": "<<<C>>>/b", "C": "/c"}
    assert substitute(env) == {"A": "/c/b/a", "B": "/c/b", "C": "/c"}


def test_substitute_handles_list_items_and_keeps_other_items() -> None:
    env = {"+PATH": ["<<<D>>>/bin", "/usr/bin", 7], "D": "/opt/x"}
    assert substitute(env)["+PATH"] == ["/opt/x/bin", "/usr/bin", 7]


def test_substitute_stringifies_bools_like_cm() -> None:
    result = substitute({"FLAG": True, "OFF": False, "MSG": "flag=<<<FLAG>>>"})
    assert result == {"FLAG": "True", "OFF": "False", "MSG": "flag=True"}


def test_substitute_keeps_numbers_but_substitutes_their_text() -> None:
    result = substitute({"N": 5, "F": 1.5, "MSG": "<<<N>>>/<<<F>>>"})
    assert result == {"N": 5, "F": 1.5, "MSG": "5/1.5"}


def test_substitute_does_not_use_a_list_as_text() -> None:
    env = {"+PATH": ["/a"], "MSG": "<<<+PATH>>>"}
    assert substitute(env)["MSG"] == "<<<+PATH>>>"


def test_substitute_does_not_mutate_its_input() -> None:
    env: dict[str, Any] = {"A": "<<<B>>>", "B": "b", "+L": ["<<<B>>>"], "T": True}
    before = copy.deepcopy(env)
    substitute(env)
    assert env == before


def test_substitute_rejects_a_plus_key_without_a_list() -> None:
    with pytest.raises(InvalidInput, match=r"\+PATH"):
        substitute({"+PATH": "/usr/bin"})


# --- merge_plus ------------------------------------------------------------------------------


def test_merge_plus_creates_and_appends_unique_in_order() -> None:
    env = merge_plus({}, "+PATH", ["/a", "/b", "/a"])
    env = merge_plus(env, "+PATH", ["/b", "/c"])
    assert env == {"+PATH": ["/a", "/b", "/c"]}


def test_merge_plus_takes_a_single_string_as_one_item() -> None:
    assert merge_plus({"+PATH": ["/a"]}, "+PATH", "/bin") == {"+PATH": ["/a", "/bin"]}


def test_merge_plus_does_not_mutate() -> None:
    env = {"+PATH": ["/a"], "X": "1"}
    result = merge_plus(env, "+PATH", ["/b"])
    assert env == {"+PATH": ["/a"], "X": "1"}
    assert result == {"+PATH": ["/a", "/b"], "X": "1"}


@pytest.mark.parametrize(
    ("env", "key"), [({}, "PATH"), ({"+PATH": "/a"}, "+PATH")], ids=["no-plus", "not-a-list"]
)
def test_merge_plus_refuses_bad_keys(env: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidInput, match="PATH"):
        merge_plus(env, key, ["/b"])


# --- matches_env -----------------------------------------------------------------------------


def test_missing_key_never_matches() -> None:
    assert not matches_env({"X": ["yes"]}, {})
    assert not matches_env({"X": ["no"]}, {})
    assert not matches_env({"X": ["abc"]}, {})


@pytest.mark.parametrize("value", ["yes", "YES", "on", "true", "True", "1", "7", "anything", ""])
def test_truth_word_accepts_any_value_but_a_false_word(value: str) -> None:
    assert matches_env({"X": ["yes"]}, {"X": value})


@pytest.mark.parametrize("value", ["no", "NO", "off", "false", "False", "0", False])
def test_truth_word_rejects_false_words(value: Any) -> None:
    assert not matches_env({"X": ["on"]}, {"X": value})


@pytest.mark.parametrize("value", ["no", "Off", "FALSE", "0", False])
def test_false_word_accepts_only_false_words(value: Any) -> None:
    assert matches_env({"X": ["no"]}, {"X": value})


@pytest.mark.parametrize("value", ["yes", "7", "", "none"])
def test_false_word_rejects_other_values(value: str) -> None:
    assert not matches_env({"X": ["off"]}, {"X": value})


def test_truth_words_win_over_false_words_in_one_list() -> None:
    assert matches_env({"X": ["no", "yes"]}, {"X": "7"})
    assert not matches_env({"X": ["no", "yes"]}, {"X": "no"})


def test_yaml_bools_in_conditions_count_as_words() -> None:
    assert matches_env({"X": [True]}, {"X": "on"})
    assert matches_env({"X": [False]}, {"X": "off"})


def test_other_values_match_exactly_and_case_insensitively() -> None:
    cond = {"CM_HOST_OS_TYPE": ["linux", "darwin"]}
    assert matches_env(cond, {"CM_HOST_OS_TYPE": "Linux"})
    assert matches_env(cond, {"CM_HOST_OS_TYPE": "darwin"})
    assert not matches_env(cond, {"CM_HOST_OS_TYPE": "windows"})
    assert not matches_env(cond, {"CM_HOST_OS_TYPE": "linux "})


def test_a_single_value_works_without_a_list() -> None:
    assert matches_env({"X": "cuda"}, {"X": "CUDA"})
    assert matches_env({"N": 3}, {"N": "3"})


def test_keys_combine_with_and() -> None:
    cond = {"A": ["yes"], "B": ["x"]}
    assert matches_env(cond, {"A": "yes", "B": "x"})
    assert not matches_env(cond, {"A": "yes", "B": "y"})
    assert not matches_env(cond, {"A": "yes"})


def test_any_of_combines_with_or() -> None:
    cond = {"A": ["yes"], "B": ["x"]}
    assert matches_env(cond, {"B": "x"}, any_of=True)
    assert matches_env(cond, {"A": "1", "B": "nope"}, any_of=True)
    assert not matches_env(cond, {"A": "no", "B": "y"}, any_of=True)


def test_empty_conditions() -> None:
    assert matches_env({}, {"A": "1"})
    assert not matches_env({}, {"A": "1"}, any_of=True)


# --- hide_local ------------------------------------------------------------------------------


LOCAL_ENV_KEYS = CM_VARS.local


def test_builtin_local_keys_are_cms_list() -> None:
    assert set(LOCAL_ENV_KEYS) == {
        "CM_VERSION",
        "CM_VERSION_MIN",
        "CM_VERSION_MAX",
        "CM_VERSION_MAX_USABLE",
        "CM_DETECTED_VERSION",
        "CM_INPUT",
        "CM_OUTPUT",
        "CM_NAME",
        "CM_EXTRA_CACHE_TAGS",
        "CM_TMP_*",
        "CM_GIT_*",
        "CM_RENEW_CACHE_ENTRY",
    }


def test_an_mlc_scripts_local_keys_are_the_same_list_with_its_prefix() -> None:
    assert {k.replace("MLC_", "CM_", 1) for k in MLC_VARS.local} == set(CM_VARS.local)
    visible, hidden = hide_local({"MLC_VERSION": "1", "CM_VERSION": "2"}, MLC_VARS.local)
    assert visible == {"CM_VERSION": "2"}
    assert hidden == {"MLC_VERSION": "1"}


def test_hide_local_hides_builtin_and_wildcard_keys() -> None:
    env = {
        "CM_VERSION": "1.2",
        "CM_VERSIONS": "kept",
        "CM_TMP_CURRENT_PATH": "/x",
        "CM_GIT_URL": "u",
        "CM_PYTHON_BIN": "python3",
        "cm_tmp_lower": "kept: matching is case-sensitive",
    }
    visible, hidden = hide_local(env, LOCAL_ENV_KEYS)
    assert visible == {
        "CM_VERSIONS": "kept",
        "CM_PYTHON_BIN": "python3",
        "cm_tmp_lower": "kept: matching is case-sensitive",
    }
    assert hidden == {"CM_VERSION": "1.2", "CM_TMP_CURRENT_PATH": "/x", "CM_GIT_URL": "u"}


def test_hide_local_adds_meta_local_keys() -> None:
    env = {"MY_LOCAL_1": "a", "MY_LOCAL_2": "b", "OTHER": "c"}
    visible, hidden = hide_local(env, [*LOCAL_ENV_KEYS, "MY_LOCAL_*"])
    assert visible == {"OTHER": "c"}
    assert hidden == {"MY_LOCAL_1": "a", "MY_LOCAL_2": "b"}


def test_hide_local_hides_values_with_unresolved_placeholders() -> None:
    env = {"A": "<<<NOPE>>>/x", "+L": ["/ok", "<<<NOPE>>>"], "B": "fine", "+M": ["/ok"]}
    visible, hidden = hide_local(env, [])
    assert visible == {"B": "fine", "+M": ["/ok"]}
    assert hidden == {"A": "<<<NOPE>>>/x", "+L": ["/ok", "<<<NOPE>>>"]}


def test_force_env_keys_are_put_back() -> None:
    env = {"CM_GIT_URL": "u", "CM_GIT_CHECKOUT": "main", "CM_TMP_X": "t", "CM_VERSION": "2"}
    visible, hidden = hide_local(env, LOCAL_ENV_KEYS, force=["CM_GIT_*", "CM_VERSION"])
    assert visible == {"CM_GIT_URL": "u", "CM_GIT_CHECKOUT": "main", "CM_VERSION": "2"}
    assert hidden == {"CM_TMP_X": "t"}


def test_hide_local_does_not_mutate() -> None:
    env = {"CM_VERSION": "1", "X": "2"}
    hide_local(env, LOCAL_ENV_KEYS)
    assert env == {"CM_VERSION": "1", "X": "2"}


# --- filter_new ------------------------------------------------------------------------------


def test_filter_new_exact_wildcard_and_plus_keys() -> None:
    env = {
        "CM_GCC_BIN": "gcc",
        "CM_GCC_VERSION": "12",
        "CM_GXX": "g++",
        "CM_PYTHON": "p",
        "+PATH": ["/gcc/bin"],
        "+LD_LIBRARY_PATH": ["/gcc/lib"],
    }
    result = filter_new(env, ["CM_GCC_*", "CM_PYTHON", "+PATH", "CM_MISSING"])
    assert result == {
        "CM_GCC_BIN": "gcc",
        "CM_GCC_VERSION": "12",
        "CM_PYTHON": "p",
        "+PATH": ["/gcc/bin"],
    }


def test_filter_new_question_mark_and_class_wildcards() -> None:
    env = {"V1": "a", "V2": "b", "V10": "c", "W1": "d"}
    assert filter_new(env, ["V?"]) == {"V1": "a", "V2": "b"}
    assert filter_new(env, ["[VW]1"]) == {"V1": "a", "W1": "d"}


def test_filter_new_indirection_exports_the_named_key() -> None:
    env = {"CM_ENV_KEY": "CM_ML_MODEL_PATH", "CM_ML_MODEL_PATH": "/m", "OTHER": "x"}
    assert filter_new(env, ["<<<CM_ENV_KEY>>>"]) == {"CM_ML_MODEL_PATH": "/m"}


def test_filter_new_indirection_to_nothing_exports_nothing() -> None:
    assert filter_new({"CM_ENV_KEY": "GONE"}, ["<<<CM_ENV_KEY>>>"]) == {}
    assert filter_new({"A": "1"}, ["<<<NOT_SET>>>"]) == {}


def test_filter_new_state_with_names_from_env() -> None:
    state = {"mlperf": {"a": 1}, "docker": {}}
    env = {"CM_STATE_KEY": "mlperf"}
    assert filter_new(state, ["<<<CM_STATE_KEY>>>"], names_from=env) == {"mlperf": {"a": 1}}


def test_filter_new_keeps_env_order_and_does_not_mutate() -> None:
    env = {"B": "2", "A": "1", "C": "3"}
    result = filter_new(env, ["C", "A", "B"])
    assert list(result) == ["B", "A", "C"]
    assert env == {"B": "2", "A": "1", "C": "3"}


# --- merge_state -----------------------------------------------------------------------------


def test_merge_state_deep_merges_and_appends_lists_unique() -> None:
    a = {"docker": {"run": True, "deps": ["x"]}, "list": [1, 2], "keep": "a", "over": 1}
    b = {"docker": {"deps": ["x", "y"], "os": "ubuntu"}, "list": [2, 3], "over": 2, "new": []}
    assert merge_state(a, b) == {
        "docker": {"run": True, "deps": ["x", "y"], "os": "ubuntu"},
        "list": [1, 2, 3],
        "keep": "a",
        "over": 2,
        "new": [],
    }


def test_merge_state_shares_nothing_with_its_inputs() -> None:
    a: dict[str, Any] = {"d": {"l": [1]}}
    b: dict[str, Any] = {"d": {"m": [2]}}
    result = merge_state(a, b)
    result["d"]["l"].append(9)
    result["d"]["m"].append(9)
    assert a == {"d": {"l": [1]}}
    assert b == {"d": {"m": [2]}}


def test_merge_state_replaces_a_dict_with_a_scalar() -> None:
    assert merge_state({"x": {"a": 1}}, {"x": "flat"}) == {"x": "flat"}
