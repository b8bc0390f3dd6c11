"""The script meta validated into typed records: every key, wrong types, unknown keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cairn import report
from cairn.errors import MetaError
from cairn.record import replace
from cairn.script.model import Dep, EnvCacheTags, InputDescription, Payload, ScriptMeta

SOURCE = Path("/repo/script/demo/_cm.yaml")


def load(**keys: Any) -> ScriptMeta:
    return ScriptMeta.from_meta({"alias": "demo", **keys}, SOURCE)


def load_warnings(**keys: Any) -> tuple[ScriptMeta, list[str]]:
    with report.using(report.Reporter()) as reporter:
        meta = load(**keys)
    return meta, reporter.warnings


def error_of(**keys: Any) -> str:
    with pytest.raises(MetaError) as info:
        load(**keys)
    return str(info.value)


# --- identity and defaults ------------------------------------------------------------------


def test_minimal_meta_has_empty_defaults() -> None:
    meta, warnings = load_warnings(uid="0123456789ABCDEF", tags=["get", "hello world"])
    assert (meta.alias, meta.uid, meta.tags) == ("demo", "0123456789abcdef", ("get", "hello world"))
    assert meta.cache is False and meta.can_force_cache is False
    assert meta.deps == () and meta.variations == {} and meta.versions == {}
    assert meta.sort == 0 and meta.default_variation is None
    assert meta.source == SOURCE and meta.display_name == "demo"
    assert warnings == []


def test_display_name_falls_back_to_uid_then_directory() -> None:
    assert ScriptMeta.from_meta({"uid": "0123456789abcdef"}, SOURCE).display_name == (
        "0123456789abcdef"
    )
    assert ScriptMeta.from_meta({}, SOURCE).display_name == "demo"


def test_a_yaml_int_uid_is_an_error_naming_file_and_key() -> None:
    message = error_of(uid=1234567890123456)
    assert str(SOURCE) in message and "'uid'" in message


def test_records_are_frozen() -> None:
    meta = load()
    with pytest.raises(AttributeError):
        meta.cache = True  # type: ignore[misc]


def test_null_values_mean_not_given() -> None:
    meta, warnings = load_warnings(cache=None, env=None, deps=None, variations=None, sort=None)
    assert meta.cache is False and meta.env == {} and meta.deps == () and meta.sort == 0
    assert warnings == []


def test_records_do_not_share_values_with_the_raw_meta() -> None:
    raw: dict[str, Any] = {
        "alias": "demo",
        "env": {"+PATH": ["/a"]},
        "state": {"k": {"n": 1}},
        "deps": [{"tags": "x", "quiet": {"deep": 1}}],
    }
    meta = ScriptMeta.from_meta(raw, SOURCE)
    raw["env"]["+PATH"].append("/b")
    raw["state"]["k"]["n"] = 2
    raw["deps"][0]["quiet"]["deep"] = 2
    assert meta.env == {"+PATH": ["/a"]}
    assert meta.state == {"k": {"n": 1}}
    assert meta.deps[0].extra_input == {"quiet": {"deep": 1}}


# --- flags ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, "true", "Yes", "on", "1", " TRUE "])
def test_cache_true_values(value: object) -> None:
    assert load(cache=value).cache is True


@pytest.mark.parametrize("value", [False, "false", "no", "OFF", "0"])
def test_cache_false_values(value: object) -> None:
    assert load(cache=value).cache is False


@pytest.mark.parametrize("value", ["maybe", "", 1, 0, [True], {"a": 1}])
def test_cache_other_values_are_errors_naming_file_and_key(value: object) -> None:
    message = error_of(cache=value)
    assert str(SOURCE) in message
    assert "key 'cache' must be true or false" in message


def test_can_force_cache_is_a_flag() -> None:
    assert load(can_force_cache="yes").can_force_cache is True
    assert "key 'can_force_cache'" in error_of(can_force_cache="sometimes")


# --- top-level keys -------------------------------------------------------------------------


def test_env_layers_keep_their_values() -> None:
    meta = load(
        env={"A": "x", "N": 3, "B": True, "+PATH": ["/x", 1], "E": None},
        default_env={"D": "d"},
        const={"C": "c"},
        state={"s": {"nested": [1]}},
        const_state={"cs": 1},
    )
    assert meta.env == {"A": "x", "N": 3, "B": True, "+PATH": ["/x", 1], "E": None}
    assert meta.default_env == {"D": "d"} and meta.const == {"C": "c"}
    assert meta.state == {"s": {"nested": [1]}} and meta.const_state == {"cs": 1}


def test_env_with_a_nested_mapping_is_an_error() -> None:
    message = error_of(env={"A": {"b": 1}})
    assert "key 'env.A' must be a string, number, boolean or a list of them" in message


def test_env_must_be_a_mapping() -> None:
    assert "key 'env' must be a mapping, not list" in error_of(env=["A=1"])


def test_a_non_string_key_is_an_error() -> None:
    message = error_of(env={1: "x"})
    assert "key 'env' holds the key int 1; keys must be strings" in message


def test_key_lists_and_mappings() -> None:
    meta = load(
        input_mapping={"flag": "CM_FLAG"},
        new_env_keys=["CM_X_*", "+PATH"],
        new_state_keys=["s"],
        local_env_keys=["CM_L*"],
        clean_env_keys_post_deps=["CM_P"],
        clean_files=["a.out"],
        clean_output_files=["o.txt"],
        env_key_mappings={"CM_A_": "CM_B_"},
        print_files_if_script_error=["log.txt"],
        warnings=["careful"],
        docker_input_mapping={"in": "CM_IN"},
        variation_groups_order=["g1", "g2"],
    )
    assert meta.input_mapping == {"flag": "CM_FLAG"}
    assert meta.new_env_keys == ("CM_X_*", "+PATH") and meta.new_state_keys == ("s",)
    assert meta.local_env_keys == ("CM_L*",) and meta.clean_env_keys_post_deps == ("CM_P",)
    assert meta.clean_files == ("a.out",) and meta.clean_output_files == ("o.txt",)
    assert meta.env_key_mappings == {"CM_A_": "CM_B_"}
    assert meta.print_files_if_script_error == ("log.txt",) and meta.warnings == ("careful",)
    assert meta.docker_input_mapping == {"in": "CM_IN"}
    assert meta.variation_groups_order == ("g1", "g2")


def test_input_mapping_to_a_number_is_an_error() -> None:
    assert "key 'input_mapping.flag' must be a string, not int 5" in error_of(
        input_mapping={"flag": 5}
    )


def test_a_string_list_given_a_string_is_an_error() -> None:
    assert "key 'new_env_keys' must be a list of strings, not str" in error_of(new_env_keys="CM_X")


def test_versions_fields_must_be_quoted_strings() -> None:
    meta = load(
        version="1.0", version_min="0.9", version_max="2", version_max_usable="1.9",
        default_version="1.2",
    )  # fmt: skip
    assert (meta.version, meta.version_min, meta.version_max) == ("1.0", "0.9", "2")
    assert (meta.version_max_usable, meta.default_version) == ("1.9", "1.2")
    message = error_of(default_version=3.10)
    assert "key 'default_version' must be a string, not float 3.1" in message
    assert "quote the value in YAML" in message


def test_versions_map_to_payloads() -> None:
    meta = load(
        versions={
            "3.10": {"env": {"V": "310"}, "deps": [{"tags": "x"}], "adr": {"py": {"tags": "_y"}}},
            "main": None,
        }
    )
    assert meta.versions["3.10"].env == {"V": "310"}
    assert meta.versions["3.10"].deps[0].tags == ("x",)
    assert meta.versions["3.10"].add_deps_recursive["py"].tags == ("_y",)
    assert meta.versions["main"] == Payload()


def test_an_unquoted_float_version_key_is_an_error() -> None:
    message = error_of(versions={3.1: {"env": {}}})
    assert "key 'versions' holds the key float 3.1" in message and "quote it" in message


def test_a_wrong_type_inside_a_version_names_the_path() -> None:
    assert "key 'versions.1.0.env.X' must be" in error_of(versions={"1.0": {"env": {"X": {}}}})


def test_script_name_sort_and_documentation() -> None:
    meta = load(
        script_name="run-x",
        sort=100,
        name="Demo",
        category="Tests",
        category_sort=3,
        tags_help="get demo",
        developers=["A", "B"],
        gui={"title": "t"},
        customize={"k": 1},
        docker={"run": False},
    )
    assert meta.script_name == "run-x" and meta.sort == 100
    assert (meta.name, meta.category, meta.category_sort) == ("Demo", "Tests", 3)
    assert meta.tags_help == "get demo" and meta.developers == "A, B"
    assert meta.gui == {"title": "t"} and meta.customize == {"k": 1}
    assert meta.docker == {"run": False}


def test_sort_must_be_an_integer() -> None:
    assert "key 'sort' must be an integer, not str '100'" in error_of(sort="100")
    assert "key 'sort' must be an integer, not bool" in error_of(sort=True)


def test_extra_cache_tags_from_env() -> None:
    meta = load(extra_cache_tags_from_env=[{"env": "CM_PY", "prefix": "python-"}, {"env": "E"}])
    assert meta.extra_cache_tags_from_env == (EnvCacheTags("CM_PY", "python-"), EnvCacheTags("E"))
    assert "key 'extra_cache_tags_from_env[0]' needs 'env'" in error_of(
        extra_cache_tags_from_env=[{"prefix": "p"}]
    )


def test_print_env_at_the_end_labels() -> None:
    meta = load(print_env_at_the_end={"CM_A": "Path to A", "CM_B": None, "CM_C": ""})
    assert meta.print_env_at_the_end == {"CM_A": "Path to A", "CM_B": "", "CM_C": ""}


def test_input_description() -> None:
    meta = load(
        input_description={
            "count": {"desc": "how many", "default": 3, "choices": [1, 3], "sort": 2, "boolean": 0},
            "name": "a name",
        }
    )
    assert meta.input_description["count"] == InputDescription(
        desc="how many", default=3, choices=(1, 3), sort=2, extra={"boolean": 0}
    )
    assert meta.input_description["name"] == InputDescription(desc="a name")
    assert "key 'input_description.c.sort' must be an integer" in error_of(
        input_description={"c": {"sort": "x"}}
    )


def test_variation_combinations() -> None:
    meta = load(valid_variation_combinations=[["a", "b"], ["c"]])
    assert meta.valid_variation_combinations == (("a", "b"), ("c",))
    message = error_of(invalid_variation_combinations=[["a", 1]])
    assert "key 'invalid_variation_combinations[0][1]' must be a string" in message


# --- unknown keys ---------------------------------------------------------------------------


def test_unknown_keys_give_one_warning_naming_file_and_keys() -> None:
    meta, warnings = load_warnings(
        **{"default-variations": {"g": "x"}, "colour": "red"},
        variations={"a": {"alis": "b", "env": {}}},
        versions={"1": {"enviroment": {}}},
    )
    assert len(warnings) == 1
    warning = warnings[0]
    assert str(SOURCE) in warning
    assert "default-variations (did you mean default_variation?)" in warning
    assert "colour" in warning
    assert "variations._a.alis (did you mean alias?)" in warning
    assert "versions.1.enviroment" in warning
    assert meta.variations["a"].alias is None


def test_known_keys_and_cm4mlops_test_keys_do_not_warn() -> None:
    _, warnings = load_warnings(
        automation_alias="script",
        automation_uid="5b4e0237da074764",
        tests={"run_inputs": []},
        min_cm_version="2.0",
        repo_to_report_errors="x",
        deps=[{"tags": "x", "quiet": True, "md5sum": "abc"}],
    )
    assert warnings == []


# --- dependencies ---------------------------------------------------------------------------


def test_dependency_tags_from_a_comma_string_or_a_list() -> None:
    meta = load(
        deps=[{"tags": "get,python3, _v1 ,-_old,"}, {"tags": ["get", "a,b"]}],
        prehook_deps=[{"tags": "pre"}],
        posthook_deps=[{"tags": "posthook"}],
        post_deps=[{"tags": "post"}, {}],
    )
    assert meta.deps[0].tags == ("get", "python3", "_v1", "-_old")
    assert meta.deps[1].tags == ("get", "a", "b")
    assert meta.prehook_deps[0].tags == ("pre",) and meta.posthook_deps[0].tags == ("posthook",)
    assert meta.post_deps[1].tags == ()


def test_every_dependency_key_is_read() -> None:
    dep = load(
        deps=[
            {
                "tags": "get,x",
                "names": ["x", "xx"],
                "enable_if_env": {"A": ["yes"], "B": True, "N": [1, "two"]},
                "skip_if_env": {"S": "no"},
                "enable_if_any_env": {"E": [False]},
                "skip_if_any_env": {"F": ["on"]},
                "env": {"DEP_LOCAL": "1"},
                "state": {"s": 1},
                "const": {"K": "v"},
                "const_state": {"cs": 2},
                "extra_cache_tags": "a,<<<B>>>",
                "version": "1.0",
                "version_min": "0.1",
                "version_max": "2.0",
                "version_max_usable": "1.9",
                "force_cache": "yes",
                "update_tags_from_env_with_prefix": {"_url.": ["CM_URL"], "_v.": "CM_V"},
                "update_tags_from_env": ["CM_T"],
                "force_env_keys": ["CM_GIT_*"],
                "inherit_variation_tags": True,
                "skip_inherit_variation_groups": ["g"],
                "reuse_version": True,
                "dynamic": "on",
                "skip_if_fake_run": True,
                "force_new_env_keys": ["CM_N"],
                "skip_inside_docker": True,
                "quiet": True,
            }
        ]
    ).deps[0]
    assert dep.tags == ("get", "x") and dep.names == ("x", "xx")
    assert dep.enable_if_env == {"A": ("yes",), "B": ("true",), "N": ("1", "two")}
    assert dep.skip_if_env == {"S": ("no",)}
    assert dep.enable_if_any_env == {"E": ("false",)} and dep.skip_if_any_env == {"F": ("on",)}
    assert dep.env == {"DEP_LOCAL": "1"} and dep.state == {"s": 1}
    assert dep.const == {"K": "v"} and dep.const_state == {"cs": 2}
    assert dep.extra_cache_tags == ("a", "<<<B>>>")
    assert (dep.version, dep.version_min, dep.version_max) == ("1.0", "0.1", "2.0")
    assert dep.version_max_usable == "1.9"
    assert dep.force_cache is True and dep.dynamic is True
    assert dep.update_tags_from_env_with_prefix == {"_url.": ("CM_URL",), "_v.": ("CM_V",)}
    assert dep.update_tags_from_env == ("CM_T",) and dep.force_env_keys == ("CM_GIT_*",)
    assert dep.inherit_variation_tags is True and dep.skip_inherit_variation_groups == ("g",)
    assert dep.reuse_version is True and dep.skip_if_fake_run is True
    assert dep.force_new_env_keys == ("CM_N",) and dep.skip_inside_docker is True
    assert dep.extra_input == {"quiet": True}
    assert "quiet" in dep.given and "tags" in dep.given and "md5sum" not in dep.given


def test_dependency_defaults() -> None:
    dep = load(deps=[{"tags": "x"}]).deps[0]
    assert dep == Dep(tags=("x",), given=frozenset({"tags"}))
    assert dep.force_new_env_keys is None and dep.force_cache is False


def test_a_single_name_is_one_name() -> None:
    assert load(deps=[{"tags": "x", "names": "python"}]).deps[0].names == ("python",)


@pytest.mark.parametrize(
    ("dep", "path"),
    [
        ({"tags": "x", "version": 3}, "deps[0].version"),
        ({"tags": "x", "version_max": 3.12}, "deps[0].version_max"),
        ({"tags": 7}, "deps[0].tags"),
        ({"tags": "x", "extra_cache_tags": 7}, "deps[0].extra_cache_tags"),
        ({"tags": ["a", 2]}, "deps[0].tags[1]"),
        ({"tags": "x", "names": ["a", 1]}, "deps[0].names[1]"),
        ({"tags": "x", "force_env_keys": [1]}, "deps[0].force_env_keys[0]"),
    ],
)
def test_a_number_where_a_string_is_expected_names_the_key_path(
    dep: dict[str, Any], path: str
) -> None:
    message = error_of(deps=[dep])
    assert str(SOURCE) in message and f"key '{path}' must be a string" in message
    assert "int" in message or "float" in message


def test_dependency_shape_errors() -> None:
    assert "key 'deps' must be a list of dependencies" in error_of(deps={"tags": "x"})
    assert "key 'deps[0]' must be a mapping, not str" in error_of(deps=["get,x"])
    assert "key 'deps[0].force_cache' must be true or false" in error_of(
        deps=[{"tags": "x", "force_cache": "maybe"}]
    )
    assert "key 'deps[0].enable_if_env.A[0]' must be a string, number or boolean" in error_of(
        deps=[{"tags": "x", "enable_if_env": {"A": [{"x": 1}]}}]
    )


def test_a_dependency_key_that_looks_like_a_typo_is_warned_but_kept_as_input() -> None:
    meta, warnings = load_warnings(
        deps=[{"tags": "x", "force-cache": True, "updats_tags_from_env_with_prefix": {}}]
    )
    assert meta.deps[0].force_cache is False
    assert meta.deps[0].extra_input == {"force-cache": True, "updats_tags_from_env_with_prefix": {}}
    assert len(warnings) == 1
    assert "deps[0].force-cache (did you mean force_cache?)" in warnings[0]
    assert "(did you mean update_tags_from_env_with_prefix?)" in warnings[0]


# --- variations -----------------------------------------------------------------------------


def test_every_variation_key_is_read() -> None:
    variation = load(
        variations={
            "cuda": {
                "group": "device",
                "default": "yes",
                "default_variations": {"precision": "fp32"},
                "base": ["gpu"],
                "env": {"CM_DEVICE": "cuda"},
                "default_env": {"D": "1"},
                "state": {"s": [1]},
                "const": {"C": "c"},
                "deps": [{"tags": "get,cuda"}],
                "prehook_deps": [{"tags": "pre"}],
                "posthook_deps": [{"tags": "posthook"}],
                "post_deps": [{"tags": "post"}],
                "ad": {"py": {"version": "3.9"}},
                "add_deps": {"gcc": {"tags": "_x"}},
                "adr": {"torch": {"tags": "_cuda"}},
                "new_env_keys": ["CM_CUDA_*"],
                "new_state_keys": ["cuda"],
                "docker": {"all_gpus": "yes"},
                "script_name": "run-cuda",
                "required_disk_space": 500,
                "warning": "big",
                "input_mapping": {"gpu": "CM_GPU"},
                "cache": False,
                "default_version": "12.1",
            },
            "gpu": {},
        }
    ).variations["cuda"]
    assert variation.name == "cuda" and variation.tag == "_cuda"
    assert variation.group == "device" and variation.default is True
    assert variation.default_variations == {"precision": "fp32"} and variation.base == ("gpu",)
    payload = variation.payload
    assert payload.env == {"CM_DEVICE": "cuda"} and payload.default_env == {"D": "1"}
    assert payload.state == {"s": [1]} and payload.const == {"C": "c"}
    assert [d.tags for d in payload.deps] == [("get", "cuda")]
    assert payload.prehook_deps[0].tags == ("pre",) and payload.post_deps[0].tags == ("post",)
    assert payload.posthook_deps[0].tags == ("posthook",)
    assert payload.add_deps["py"].version == "3.9" and payload.add_deps["gcc"].tags == ("_x",)
    assert payload.add_deps_recursive["torch"].tags == ("_cuda",)
    assert payload.new_env_keys == ("CM_CUDA_*",) and payload.new_state_keys == ("cuda",)
    assert payload.docker == {"all_gpus": "yes"} and payload.script_name == "run-cuda"
    assert payload.required_disk_space == 500 and payload.warning == "big"
    assert payload.input_mapping == {"gpu": "CM_GPU"}
    assert payload.cache is False and payload.default_version == "12.1"


def test_add_deps_and_ad_merge_by_name() -> None:
    payload = (
        load(
            variations={
                "v": {"ad": {"a": {"tags": "x"}, "b": {"tags": "y"}}, "add_deps": {"b": {}}}
            }
        )
        .variations["v"]
        .payload
    )
    assert set(payload.add_deps) == {"a", "b"}
    assert payload.add_deps["b"].tags == ()


def test_an_empty_variation_is_valid() -> None:
    variation = load(variations={"plain": None}).variations["plain"]
    assert variation == replace(variation, payload=Payload())
    assert variation.group is None and variation.default is False and variation.base == ()


def test_combined_and_dynamic_keys_are_preserved() -> None:
    meta = load(variations={"a": {}, "gpu": {}, "a, gpu": {"env": {"X": "1"}}, "bs.#": {}})
    assert list(meta.variations) == ["a", "gpu", "a, gpu", "bs.#"]
    combined, dynamic = meta.variations["a, gpu"], meta.variations["bs.#"]
    assert combined.is_combined and not combined.is_dynamic
    assert combined.parts == ("a", "gpu")
    assert dynamic.is_dynamic and dynamic.prefix == "bs." and not dynamic.is_combined
    assert not meta.variations["a"].is_dynamic and meta.variations["a"].prefix == "a"


@pytest.mark.parametrize(
    ("variation", "path"),
    [
        ({"env": {"X": {"y": 1}}}, "variations._cuda.env.X"),
        ({"env": "X=1"}, "variations._cuda.env"),
        ({"base": "gpu"}, "variations._cuda.base"),
        ({"group": 1}, "variations._cuda.group"),
        ({"deps": [{"tags": "x", "version": 11}]}, "variations._cuda.deps[0].version"),
        ({"adr": {"py": {"names": 3}}}, "variations._cuda.adr.py.names"),
        ({"required_disk_space": "1G"}, "variations._cuda.required_disk_space"),
        ({"default_variations": {"g": 1}}, "variations._cuda.default_variations.g"),
    ],
)
def test_a_wrong_type_in_a_variation_names_the_key_path(
    variation: dict[str, Any], path: str
) -> None:
    message = error_of(variations={"cuda": variation})
    assert str(SOURCE) in message and f"key '{path}' must be" in message


def test_a_variation_that_is_not_a_mapping_is_an_error() -> None:
    assert "key 'variations._cuda' must be a mapping, not list" in error_of(
        variations={"cuda": ["env"]}
    )
