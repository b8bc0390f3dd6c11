"""Variation resolution: CM's order, reasons, dynamic and combined keys, and every error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cairn.errors import InvalidInput
from cairn.script.model import EnvValue, ScriptMeta
from cairn.script.variations import (
    Group,
    Reason,
    Resolution,
    find_variation,
    resolve,
    variation_groups,
    with_value,
)

SOURCE = Path("/repo/script/demo/_cm.yaml")


def script(variations: dict[str, Any], **keys: Any) -> ScriptMeta:
    return ScriptMeta.from_meta({"alias": "demo", "variations": variations, **keys}, SOURCE)


def final_env(resolution: Resolution) -> dict[str, EnvValue]:
    """The env after applying every step's ``env`` in order (overwrite, as CM)."""
    env: dict[str, EnvValue] = {}
    for step in resolution.steps:
        env.update(step.payload.env)
    return env


def error_of(meta: ScriptMeta, *tags: str) -> str:
    with pytest.raises(InvalidInput) as info:
        resolve(meta, tags)
    return str(info.value)


def why(resolution: Resolution) -> dict[str, str]:
    return {name: str(reason) for name, reason in resolution.reasons.items()}


# --- explicit variations ---------------------------------------------------------------------


def test_no_request_and_no_defaults_gives_no_variations() -> None:
    resolution = resolve(script({"a": {}}), [])
    assert resolution.variations == () and resolution.steps == () and resolution.explicit == ()


def test_explicit_variations_keep_request_order_once() -> None:
    meta = script({"a": {"env": {"X": "a"}}, "b": {"env": {"X": "b"}}, "c": {}})
    resolution = resolve(meta, ["_c", "_a", "_c", " _b "])
    assert resolution.explicit == ("c", "a", "b")
    assert resolution.variations == ("c", "a", "b")
    assert [s.tag for s in resolution.steps] == ["c", "a", "b"]
    assert why(resolution) == {"c": "explicit", "a": "explicit", "b": "explicit"}
    assert final_env(resolution) == {"X": "b"}


def test_resolution_is_deterministic() -> None:
    meta = script({"a": {"base": ["b"]}, "b": {}, "c": {"group": "g", "default": True}})
    assert resolve(meta, ["_a"]) == resolve(meta, ["_a"])


# --- the CM example: bases, default_variations and which env wins -----------------------------


def cm_example() -> ScriptMeta:
    return script(
        {
            "a": {"env": {"X": "from_a", "A": "1"}, "base": ["b"]},
            "b": {"env": {"X": "from_b"}, "default_variations": {"size": "small"}},
            "small": {"group": "size", "env": {"X": "from_small"}},
            "large": {"group": "size", "env": {"X": "from_large"}},
        }
    )


def test_base_then_its_default_variations_are_appended_and_win() -> None:
    resolution = resolve(cm_example(), ["_a"])
    assert resolution.variations == ("a", "b", "small")
    assert why(resolution) == {
        "a": "explicit",
        "b": "base of _a",
        "small": "default_variations of _b",
    }
    assert final_env(resolution) == {"X": "from_small", "A": "1"}
    assert resolution.group_of == {"small": "size"}


def test_an_explicit_group_member_beats_default_variations() -> None:
    resolution = resolve(cm_example(), ["_a", "_large"])
    assert resolution.variations == ("a", "large", "b")
    assert final_env(resolution)["X"] == "from_b"


def test_an_excluded_default_variations_choice_is_not_added() -> None:
    resolution = resolve(cm_example(), ["_a", "-_small"])
    assert resolution.variations == ("a", "b")
    assert resolution.excluded == ("small",)


def test_both_exclusion_spellings() -> None:
    meta = cm_example()
    assert resolve(meta, ["_a", "_-small"]).excluded == ("small",)
    assert resolve(meta, ["_a", "-_small", "_-small"]).excluded == ("small",)


def test_an_excluded_base_is_an_error() -> None:
    message = error_of(cm_example(), "_a", "-_b")
    assert message.startswith("script demo: ")
    assert "_b is a base of _a, but the request excludes it (-_b)" in message


def test_a_missing_base_is_an_error() -> None:
    message = error_of(script({"a": {"base": ["ghost"]}}), "_a")
    assert "the base variation _ghost of _a does not exist" in message


def test_bases_expand_to_a_fix_point() -> None:
    meta = script({"a": {"base": ["b"]}, "b": {"base": ["c", "a"]}, "c": {"base": ["d"]}, "d": {}})
    resolution = resolve(meta, ["_a"])
    assert resolution.variations == ("a", "b", "c", "d")
    assert why(resolution)["d"] == "base of _c"


# --- default_variations ----------------------------------------------------------------------


def test_default_variations_naming_an_unknown_group_is_an_error() -> None:
    meta = script({"a": {"default_variations": {"colour": "red"}}, "s": {"group": "size"}})
    message = error_of(meta, "_a")
    assert "default_variations of _a names the group 'colour'" in message
    assert "groups: size" in message


def test_default_variations_naming_an_unknown_variation_is_an_error() -> None:
    meta = script({"a": {"default_variations": {"size": "huge"}}, "s": {"group": "size"}})
    assert "default_variations of _a names _huge, which does not exist" in error_of(meta, "_a")


def test_two_different_default_variations_for_one_group_conflict_as_in_cm() -> None:
    meta = script(
        {
            "x": {"default_variations": {"size": "small"}},
            "y": {"default_variations": {"size": "large"}},
            "small": {"group": "size"},
            "large": {"group": "size"},
        }
    )
    message = error_of(meta, "_x", "_y")
    assert "only one variation of group 'size' can be on" in message
    assert "_small (default_variations of _x) and _large (default_variations of _y)" in message
    assert resolve(meta, ["_x", "_y", "_large"]).variations == ("x", "y", "large")


def test_default_variations_of_a_combined_key_apply_when_its_parts_are_on() -> None:
    meta = script(
        {
            "a": {},
            "gpu": {},
            "a,gpu": {"default_variations": {"precision": "fp16"}},
            "fp16": {"group": "precision"},
            "fp32": {"group": "precision", "default": True},
        }
    )
    assert resolve(meta, ["_a", "_gpu"]).variations == ("a", "gpu", "fp16")
    assert why(resolve(meta, ["_a", "_gpu"]))["fp16"] == "default_variations of _a,gpu"
    assert resolve(meta, ["_a"]).variations == ("a", "fp32")


# --- groups ----------------------------------------------------------------------------------


def grouped() -> ScriptMeta:
    return script(
        {
            "cpu": {"group": "device", "default": True, "env": {"D": "cpu"}},
            "cuda": {"group": "device", "env": {"D": "cuda"}, "base": ["fp16"]},
            "fp32": {"group": "precision", "default": True},
            "fp16": {"group": "precision"},
            "bs.#": {"group": "batch"},
        }
    )


def test_variation_groups_in_meta_order() -> None:
    assert variation_groups(grouped()) == {
        "device": Group("device", ("cpu", "cuda"), "cpu"),
        "precision": Group("precision", ("fp32", "fp16"), "fp32"),
        "batch": Group("batch", ("bs.#",), None),
    }


def test_group_defaults_fill_empty_groups() -> None:
    resolution = resolve(grouped(), [])
    assert resolution.variations == ("cpu", "fp32")
    assert why(resolution) == {
        "cpu": "default of group device",
        "fp32": "default of group precision",
    }
    assert final_env(resolution) == {"D": "cpu"}


def test_a_selected_member_or_base_suppresses_the_group_default() -> None:
    resolution = resolve(grouped(), ["_cuda"])
    assert resolution.variations == ("cuda", "fp16")
    assert resolve(grouped(), ["_bs.8"]).variations == ("bs.8", "cpu", "fp32")


def test_an_excluded_group_default_leaves_the_group_empty() -> None:
    assert resolve(grouped(), ["-_cpu"]).variations == ("fp32",)


def test_a_group_default_is_expanded_again() -> None:
    meta = script(
        {
            "x": {"group": "g", "default": True, "base": ["helper"]},
            "helper": {"default_variations": {"h": "h2"}},
            "h1": {"group": "h"},
            "h2": {"group": "h"},
        }
    )
    resolution = resolve(meta, [])
    assert resolution.variations == ("x", "helper", "h2")
    assert why(resolution) == {
        "x": "default of group g",
        "helper": "base of _x",
        "h2": "default_variations of _helper",
    }


def test_two_members_of_one_group_are_an_error() -> None:
    message = error_of(grouped(), "_cpu", "_cuda")
    assert "only one variation of group 'device' can be on, not _cpu (explicit) and _cuda" in (
        message
    )
    message = error_of(grouped(), "_cuda", "_fp32")
    assert "_fp32 (explicit) and _fp16 (base of _cuda)" in message


def test_two_dynamic_values_of_one_group_are_an_error() -> None:
    assert "group 'batch'" in error_of(grouped(), "_bs.8", "_bs.16")


def test_a_conflict_created_by_a_group_default_is_an_error_unlike_cm() -> None:
    meta = script(
        {
            "x": {"group": "g", "default": True, "base": ["y"]},
            "y": {"group": "h"},
            "z": {"group": "h", "default": True},
        }
    )
    message = error_of(meta)
    assert "_z (default of group h) and _y (base of _x)" in message


def test_two_defaults_in_a_group_are_an_error() -> None:
    meta = script({"a": {"group": "g", "default": True}, "b": {"group": "g", "default": "yes"}})
    message = error_of(meta)
    assert message.startswith("script demo: group 'g' has two defaults: _a and _b")


# --- aliases ---------------------------------------------------------------------------------


def test_an_alias_switches_its_target_on() -> None:
    meta = script({"short": {"alias": "long-name"}, "long-name": {"env": {"L": "1"}}})
    resolution = resolve(meta, ["_short"])
    assert resolution.variations == ("short", "long-name")
    assert why(resolution)["long-name"] == "alias of _short"
    assert final_env(resolution) == {"L": "1"}


def test_alias_errors() -> None:
    meta = script(
        {
            "s": {"alias": "t"},
            "t": {},
            "ghost": {"alias": "nothing"},
            "grouped": {"alias": "t", "group": "g"},
            "dflt": {"alias": "t", "default": True},
        }
    )
    assert "_s is an alias of _t, which the request excludes" in error_of(meta, "_s", "-_t")
    assert "_ghost is an alias of _nothing, which does not exist" in error_of(meta, "_ghost")
    assert "_grouped has an alias, so it may have neither a group" in error_of(meta, "_grouped")
    assert "_dflt has an alias" in error_of(meta, "_dflt")


# --- default_variation -----------------------------------------------------------------------


def test_default_variation_only_when_nothing_is_requested() -> None:
    meta = script({"a": {"base": ["b"]}, "b": {}, "c": {}}, default_variation="a")
    resolution = resolve(meta, [])
    assert resolution.variations == ("a", "b")
    assert why(resolution) == {"a": "default_variation", "b": "base of _a"}
    assert resolve(meta, ["_c"]).variations == ("c",)
    assert resolve(meta, ["-_c"]).variations == ()


def test_a_missing_default_variation_is_an_error() -> None:
    meta = script({"a": {}}, default_variation="zz")
    assert "default_variation _zz does not exist" in error_of(meta)


# --- dynamic variations ----------------------------------------------------------------------


def dynamic() -> ScriptMeta:
    return script(
        {
            "bs.#": {
                "env": {"VBS": "#", "VBS2": "bs-#", "N": 3, "+L": ["a#", 1]},
                "deps": [
                    {"tags": "get,x,_bs.#", "names": ["dep-#"], "env": {"D": "#"}, "quiet": "#"}
                ],
                "adr": {"model-#": {"tags": "_size.#"}},
                "docker": {"nested": {"deep": ["#"]}},
                "new_env_keys": ["CM_#"],
            },
            "bs.fixed": {"env": {"VBS": "fixed"}},
            "bs.big.#": {"env": {"BIG": "#"}},
        }
    )


def test_a_dynamic_value_replaces_every_hash_in_the_payload() -> None:
    resolution = resolve(dynamic(), ["_bs.16"])
    assert resolution.variations == ("bs.16",)
    step = resolution.steps[0]
    assert step.tag == "bs.16" and step.variation.name == "bs.#"
    payload = step.payload
    assert payload.env == {"VBS": "16", "VBS2": "bs-16", "N": 3, "+L": ["a16", 1]}
    dep = payload.deps[0]
    assert dep.tags == ("get", "x", "_bs.16") and dep.names == ("dep-16",)
    assert dep.env == {"D": "16"} and dep.extra_input == {"quiet": "16"}
    assert payload.add_deps_recursive["model-#"].tags == ("_size.16",)
    assert payload.docker == {"nested": {"deep": ["16"]}}
    assert payload.new_env_keys == ("CM_16",)


def test_substitution_leaves_the_meta_unchanged() -> None:
    meta = dynamic()
    resolve(meta, ["_bs.16"])
    assert meta.variations["bs.#"].payload.env["VBS"] == "#"
    assert with_value(meta.variations["bs.#"].payload, "7").env["VBS2"] == "bs-7"
    assert meta.variations["bs.#"].payload.deps[0].tags == ("get", "x", "_bs.#")


def test_a_value_may_contain_dots_and_an_exact_name_wins() -> None:
    meta = dynamic()
    found = find_variation(meta, "bs.1.5")
    assert found is not None and found[0].name == "bs.#" and found[1] == "1.5"
    found = find_variation(meta, "bs.fixed")
    assert found is not None and found[0].name == "bs.fixed" and found[1] is None
    found = find_variation(meta, "bs.big.9")
    assert found is not None and found[0].name == "bs.big.#" and found[1] == "9"
    assert find_variation(meta, "bs.") is None and find_variation(meta, "bs") is None


def test_a_dynamic_base_is_skipped_when_a_value_is_already_on() -> None:
    meta = script({"a": {"base": ["bs.32"]}, "bs.#": {"env": {"V": "#"}}})
    assert resolve(meta, ["_a"]).variations == ("a", "bs.32")
    assert final_env(resolve(meta, ["_a"])) == {"V": "32"}
    assert resolve(meta, ["_bs.8", "_a"]).variations == ("bs.8", "a")


# --- combined variations ---------------------------------------------------------------------


def combined() -> ScriptMeta:
    return script(
        {
            "a": {"env": {"VCOMB": "a"}},
            "gpu": {"env": {"VCOMB": "gpu", "DEV": "gpu"}},
            "x": {},
            "a,gpu": {"env": {"VCOMB": "a+cuda"}},
            "a,gpu,x": {"env": {"VCOMB": "a+cuda+x"}},
        }
    )


def test_a_combined_key_applies_after_each_variation_once_all_parts_are_on() -> None:
    resolution = resolve(combined(), ["_a", "_gpu"])
    assert [s.tag for s in resolution.steps] == ["a", "a,gpu", "gpu", "a,gpu"]
    assert [s.combined for s in resolution.steps] == [False, True, False, True]
    assert final_env(resolution) == {"VCOMB": "a+cuda", "DEV": "gpu"}
    assert resolution.variations == ("a", "gpu")


def test_larger_combinations_apply_after_smaller_ones() -> None:
    resolution = resolve(combined(), ["_x", "_gpu", "_a"])
    tags = [s.tag for s in resolution.steps]
    assert tags[:3] == ["x", "a,gpu", "a,gpu,x"]
    assert final_env(resolution)["VCOMB"] == "a+cuda+x"


def test_a_combined_key_needs_every_part() -> None:
    resolution = resolve(combined(), ["_a", "_x"])
    assert [s.tag for s in resolution.steps] == ["a", "x"]
    assert final_env(resolution) == {"VCOMB": "a"}


def test_a_combined_key_cannot_be_requested() -> None:
    assert "unknown variation _a,gpu" in error_of(combined(), "_a,gpu")


# --- combination rules -----------------------------------------------------------------------


def test_valid_variation_combinations() -> None:
    meta = script(
        {"a": {}, "b": {"base": ["c"]}, "c": {}}, valid_variation_combinations=[["a"], ["b", "c"]]
    )
    assert resolve(meta, ["_a"]).variations == ("a",)
    assert resolve(meta, ["_b"]).variations == ("b", "c")
    message = error_of(meta, "_c")
    assert "the variations _c match none of the valid_variation_combinations: _a; _b,_c" in message
    assert "match none" in error_of(meta)


def test_invalid_variation_combinations() -> None:
    meta = script({"a": {}, "b": {}, "c": {}}, invalid_variation_combinations=[["a", "b"]])
    assert resolve(meta, ["_a", "_c"]).variations == ("a", "c")
    message = error_of(meta, "_b", "_c", "_a")
    expected = "the variations _a,_b cannot be used together (invalid_variation_combinations)"
    assert expected in message


# --- request errors --------------------------------------------------------------------------


def test_an_unknown_variation_lists_the_valid_ones() -> None:
    message = error_of(dynamic(), "_nope")
    assert message.startswith("script demo: unknown variation _nope")
    assert "valid variations: _bs.fixed" in message
    assert "dynamic: _bs.<value>, _bs.big.<value>" in message


def test_an_unknown_variation_in_a_script_without_variations() -> None:
    message = error_of(script({}), "_x")
    assert "unknown variation _x (this script has no variations)" in message


def test_an_unknown_excluded_variation_is_an_error() -> None:
    assert "unknown variation _ghost" in error_of(combined(), "-_ghost")


def test_requested_and_excluded_at_once_is_an_error() -> None:
    assert "variation _a is both requested and excluded (-_a)" in error_of(combined(), "_a", "-_a")


@pytest.mark.parametrize("tag", ["a", "-a", "_", "-_"])
def test_a_malformed_variation_tag_is_an_error(tag: str) -> None:
    message = error_of(combined(), tag)
    assert message.startswith("script demo: ") and repr(tag) in message


# --- explanation -----------------------------------------------------------------------------


def test_explain_prints_one_line_per_variation() -> None:
    resolution = resolve(cm_example(), ["_a", "-_large"])
    assert resolution.explain() == (
        "_a       explicit\n"
        "_b       base of _a\n"
        "_small   default_variations of _b\n"
        "-_large  excluded by the request"
    )
    assert str(resolution) == resolution.explain()


def test_explain_without_variations() -> None:
    assert resolve(script({"a": {}}), []).explain() == "script demo: no variations"


def test_tags_and_reasons() -> None:
    resolution = resolve(cm_example(), ["_a"])
    assert resolution.tags == ("_a", "_b", "_small")
    assert resolution.tags_string == "_a,_b,_small"
    assert resolution.reasons["b"] == Reason("base", "a")
    assert str(Reason("group_default", "g")) == "default of group g"
    assert str(Reason("default_variation")) == "default_variation"
