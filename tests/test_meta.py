"""Reading, merging, validating and writing ``_cm.yaml``/``_cm.json``/``cmr.yaml``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cairn import meta
from cairn.errors import MetaError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- load_file --------------------------------------------------------------------------


def test_load_yaml_and_json(tmp_path: Path) -> None:
    y = _write(tmp_path / "a.yaml", "alias: x\ntags: [a, b]\nn: 3\n")
    j = _write(tmp_path / "a.json", '{"alias": "x", "tags": ["a"], "deep": {"k": null}}')
    assert meta.load_file(y) == {"alias": "x", "tags": ["a", "b"], "n": 3}
    assert meta.load_file(j) == {"alias": "x", "tags": ["a"], "deep": {"k": None}}


def test_yaml_python_tags_are_rejected_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = _write(
        tmp_path / "_cm.yaml",
        f"x: !!python/object/apply:os.system ['touch {marker}']\n"
        "y: !!python/object:collections.OrderedDict {}\n",
    )
    with pytest.raises(MetaError) as err:
        meta.load_file(path)
    assert str(path) in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("text", ["a: [1, 2\n", "a: b\n  c: d\n", "- a\nb: c\n", "\tx: 1\n"])
def test_malformed_yaml_names_the_file(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path / "_cm.yaml", text)
    with pytest.raises(MetaError, match="malformed YAML") as err:
        meta.load_file(path)
    assert str(path) in str(err.value)
    assert "\n" not in err.value.message


@pytest.mark.parametrize("text", ["{", '{"a": 1,}', "{'a': 1}", '{"a": 1} x'])
def test_malformed_json_names_the_file(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path / "_cm.json", text)
    with pytest.raises(MetaError, match="malformed JSON") as err:
        meta.load_file(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("a.yaml", "- a\n- b\n", "list"),
        ("a.yaml", "just a string\n", "str"),
        ("a.yaml", "42\n", "int"),
        ("a.json", "[1, 2]", "list"),
        ("a.json", '"text"', "str"),
    ],
)
def test_non_mapping_document_is_an_error(tmp_path: Path, name: str, text: str, kind: str) -> None:
    path = _write(tmp_path / name, text)
    with pytest.raises(MetaError, match=f"mapping.*not a {kind}") as err:
        meta.load_file(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("name", ["a.yaml", "a.json"])
@pytest.mark.parametrize("text", ["", "   \n", "\n\n"])
def test_empty_file_is_empty_meta(tmp_path: Path, name: str, text: str) -> None:
    assert meta.load_file(_write(tmp_path / name, text)) == {}


def test_yaml_comment_only_file_is_empty_meta(tmp_path: Path) -> None:
    assert meta.load_file(_write(tmp_path / "a.yaml", "# nothing\n")) == {}


def test_missing_file_is_a_meta_error(tmp_path: Path) -> None:
    with pytest.raises(MetaError, match="not found"):
        meta.load_file(tmp_path / "missing.yaml")


def test_undecodable_file_is_a_meta_error(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'{"a": "\xff\xfe"}')
    with pytest.raises(MetaError, match="cannot read") as err:
        meta.load_file(path)
    assert str(path) in str(err.value)


# --- read_dir ---------------------------------------------------------------------------


def test_read_dir_yaml_then_json_shallow(tmp_path: Path) -> None:
    _write(tmp_path / "_cm.yaml", "alias: y\nenv: {A: '1', B: '2'}\ntags: [a]\nonly_yaml: 1\n")
    _write(tmp_path / "_cm.json", '{"alias": "j", "env": {"C": "3"}, "only_json": 2}')
    files = meta.read_dir(tmp_path)
    # JSON wins, and the update is shallow: env comes from JSON only.
    assert files.meta == {
        "alias": "j",
        "env": {"C": "3"},
        "tags": ["a"],
        "only_yaml": 1,
        "only_json": 2,
    }
    assert files.yaml_path == tmp_path / "_cm.yaml"
    assert files.json_path == tmp_path / "_cm.json"
    assert files.paths == [tmp_path / "_cm.yaml", tmp_path / "_cm.json"]


def test_read_dir_either_file_alone(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a / "_cm.yaml", "alias: a\n")
    _write(b / "_cm.json", '{"alias": "b"}')
    fa, fb = meta.read_dir(a), meta.read_dir(b)
    assert (fa.meta, fa.json_path, fa.paths) == ({"alias": "a"}, None, [a / "_cm.yaml"])
    assert (fb.meta, fb.yaml_path, fb.paths) == ({"alias": "b"}, None, [b / "_cm.json"])


def test_read_dir_with_repo_stem(tmp_path: Path) -> None:
    _write(tmp_path / "cmr.yaml", "alias: r\nuid: '0123456789abcdef'\n")
    _write(tmp_path / "_cm.yaml", "alias: not-this\n")
    assert meta.read_dir(tmp_path, meta.REPO_META).meta["alias"] == "r"


def test_read_dir_without_meta(tmp_path: Path) -> None:
    with pytest.raises(MetaError, match=r"no _cm\.yaml or _cm\.json") as err:
        meta.read_dir(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_read_dir_ignores_a_directory_named_like_meta(tmp_path: Path) -> None:
    (tmp_path / "_cm.yaml").mkdir()
    _write(tmp_path / "_cm.json", '{"a": 1}')
    files = meta.read_dir(tmp_path)
    assert files.yaml_path is None
    assert files.meta == {"a": 1}


def test_read_dir_broken_json_names_json_file(tmp_path: Path) -> None:
    _write(tmp_path / "_cm.yaml", "a: 1\n")
    _write(tmp_path / "_cm.json", "{broken")
    with pytest.raises(MetaError, match=r"_cm\.json"):
        meta.read_dir(tmp_path)


# --- merge ------------------------------------------------------------------------------


def test_merge_recurses_into_dicts_and_replaces_scalars() -> None:
    base = {"a": 1, "env": {"X": "1", "deep": {"k": 1, "j": 2}}, "keep": True}
    update = {"a": 2, "env": {"Y": "2", "deep": {"k": 9}}, "new": "n"}
    assert meta.merge(base, update) == {
        "a": 2,
        "env": {"X": "1", "Y": "2", "deep": {"k": 9, "j": 2}},
        "keep": True,
        "new": "n",
    }


def test_merge_replaces_lists_by_default() -> None:
    assert meta.merge({"tags": ["a", "b"]}, {"tags": ["c"]}) == {"tags": ["c"]}


def test_merge_append_lists_concatenates_without_repeats() -> None:
    base = {"tags": ["a", "b"], "deps": {"d": [1]}}
    update = {"tags": ["b", "c"], "deps": {"d": [2, 1]}}
    assert meta.merge(base, update, append_lists=True) == {
        "tags": ["a", "b", "c"],
        "deps": {"d": [1, 2]},
    }


def test_merge_type_change_replaces() -> None:
    assert meta.merge({"a": {"x": 1}}, {"a": "s"}) == {"a": "s"}
    assert meta.merge({"a": "s"}, {"a": {"x": 1}}) == {"a": {"x": 1}}
    assert meta.merge({"a": "s"}, {"a": ["x"]}, append_lists=True) == {"a": ["x"]}
    assert meta.merge({"a": ["x"]}, {"a": "s"}, append_lists=True) == {"a": "s"}


def test_merge_with_none_value_overrides() -> None:
    assert meta.merge({"a": 1}, {"a": None}) == {"a": None}


def test_merge_leaves_inputs_untouched() -> None:
    base: dict[str, Any] = {"env": {"X": "1"}, "tags": ["a"]}
    update: dict[str, Any] = {"env": {"Y": "2"}, "tags": ["b"]}
    meta.merge(base, update, append_lists=True)
    assert base == {"env": {"X": "1"}, "tags": ["a"]}
    assert update == {"env": {"Y": "2"}, "tags": ["b"]}


def test_merge_result_shares_nothing_with_inputs() -> None:
    base: dict[str, Any] = {"env": {"X": "1"}, "tags": ["a"], "deps": [{"tags": "x"}]}
    update: dict[str, Any] = {"new": {"k": ["v"]}}
    result = meta.merge(base, update)
    result["env"]["X"] = "changed"
    result["tags"].append("b")
    result["deps"][0]["tags"] = "y"
    result["new"]["k"].append("w")
    assert base == {"env": {"X": "1"}, "tags": ["a"], "deps": [{"tags": "x"}]}
    assert update == {"new": {"k": ["v"]}}


# --- write_file / write_dir --------------------------------------------------------------


def test_write_file_formats_follow_suffix(tmp_path: Path) -> None:
    data = {"alias": "x", "uid": "0123456789abcdef", "tags": ["a", "b"], "t": "é"}
    meta.write_file(tmp_path / "m.yaml", data)
    meta.write_file(tmp_path / "m.json", data)
    assert _yaml(tmp_path / "m.yaml") == data
    assert _json(tmp_path / "m.json") == data
    assert "é" in (tmp_path / "m.json").read_text(encoding="utf-8")
    assert list(meta.load_file(tmp_path / "m.yaml")) == ["alias", "uid", "tags", "t"]


def test_yaml_written_uid_reads_back_as_a_string(tmp_path: Path) -> None:
    meta.write_file(tmp_path / "m.yaml", {"uid": "0123456789012345"})
    assert meta.load_file(tmp_path / "m.yaml") == {"uid": "0123456789012345"}


def test_write_dir_yaml_only_stays_yaml(tmp_path: Path) -> None:
    _write(tmp_path / "_cm.yaml", "alias: a\nold: 1\n")
    meta.write_dir(meta.read_dir(tmp_path), {"alias": "a", "new": 2})
    assert not (tmp_path / "_cm.json").exists()
    assert _yaml(tmp_path / "_cm.yaml") == {"alias": "a", "new": 2}


def test_write_dir_json_only_stays_json(tmp_path: Path) -> None:
    _write(tmp_path / "_cm.json", '{"alias": "a", "old": 1}')
    meta.write_dir(meta.read_dir(tmp_path), {"alias": "a", "new": 2})
    assert not (tmp_path / "_cm.yaml").exists()
    assert _json(tmp_path / "_cm.json") == {"alias": "a", "new": 2}


def test_write_dir_both_keeps_json_keys_in_json(tmp_path: Path) -> None:
    _write(tmp_path / "_cm.yaml", "alias: a\ntags: [x]\nyaml_only: 1\nshadowed: from-yaml\n")
    _write(tmp_path / "_cm.json", '{"uid": "0123456789abcdef", "shadowed": "json", "gone": 1}')
    new = {
        "alias": "b",
        "uid": "0123456789abcdef",
        "tags": ["x", "y"],
        "shadowed": "new",
        "added": {"k": "v"},
    }
    meta.write_dir(meta.read_dir(tmp_path), new)
    assert _json(tmp_path / "_cm.json") == {"uid": "0123456789abcdef", "shadowed": "new"}
    assert _yaml(tmp_path / "_cm.yaml") == {
        "alias": "b",
        "tags": ["x", "y"],
        "added": {"k": "v"},
    }
    assert meta.read_dir(tmp_path).meta == new


def test_write_dir_both_no_stale_key_survives(tmp_path: Path) -> None:
    _write(tmp_path / "_cm.yaml", "a: 1\nb: 2\n")
    _write(tmp_path / "_cm.json", '{"c": 3, "d": 4}')
    meta.write_dir(meta.read_dir(tmp_path), {"a": 1, "c": 3})
    assert meta.read_dir(tmp_path).meta == {"a": 1, "c": 3}
    meta.write_dir(meta.read_dir(tmp_path), {})
    assert meta.read_dir(tmp_path).meta == {}


def test_write_dir_without_files_creates_yaml(tmp_path: Path) -> None:
    files = meta.MetaFiles(tmp_path, None, None, {})
    meta.write_dir(files, {"alias": "new"})
    assert _yaml(tmp_path / "_cm.yaml") == {"alias": "new"}


def test_write_dir_leaves_no_temporary_files(tmp_path: Path) -> None:
    _write(tmp_path / "_cm.yaml", "a: 1\n")
    _write(tmp_path / "_cm.json", '{"b": 2}')
    meta.write_dir(meta.read_dir(tmp_path), {"a": 3, "b": 4})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_cm.json", "_cm.yaml"]


# --- validation helpers -------------------------------------------------------------------


def test_require_str_returns_strings_and_none(tmp_path: Path) -> None:
    path = tmp_path / "_cm.yaml"
    assert meta.require_str({"alias": "x"}, "alias", path) == "x"
    assert meta.require_str({}, "alias", path) is None
    assert meta.require_str({"alias": None}, "alias", path) is None


def test_require_str_missing_required(tmp_path: Path) -> None:
    path = tmp_path / "cmr.yaml"
    with pytest.raises(MetaError, match="key 'uid' is missing") as err:
        meta.require_str({}, "uid", path, required=True)
    assert str(path) in str(err.value)


def test_require_str_rejects_yaml_int_uid(tmp_path: Path) -> None:
    path = _write(tmp_path / "cmr.yaml", "alias: r\nuid: 1234567890123456\n")
    data = meta.load_file(path)
    assert not isinstance(data["uid"], str)  # the YAML pitfall this guards against
    with pytest.raises(MetaError) as err:
        meta.require_str(data, "uid", path)
    text = str(err.value)
    assert str(path) in text
    assert "'uid'" in text
    assert "must be a string" in text
    assert "quote" in err.value.hint


@pytest.mark.parametrize("value", [True, 1.5, ["a"], {"a": 1}])
def test_require_str_rejects_other_types(tmp_path: Path, value: Any) -> None:
    with pytest.raises(MetaError, match="'alias' must be a string"):
        meta.require_str({"alias": value}, "alias", tmp_path / "_cm.yaml")


def test_require_str_list(tmp_path: Path) -> None:
    path = tmp_path / "_cm.yaml"
    assert meta.require_str_list({"tags": ["a", "b"]}, "tags", path) == ["a", "b"]
    assert meta.require_str_list({}, "tags", path) == []
    for bad in ("a,b", ["a", 1], {"a": 1}):
        with pytest.raises(MetaError, match="'tags' must be a list of strings"):
            meta.require_str_list({"tags": bad}, "tags", path)


def test_tag_list_reads_numbers_as_text_and_warns(tmp_path: Path) -> None:
    from cairn import report

    path = tmp_path / "_cm.yaml"
    data: dict[str, Any] = {"tags": ["paper", 28, 2.5]}
    reporter = report.Reporter()
    with report.using(reporter):
        assert meta.tag_list(data, path) == ["paper", "28", "2.5"]
    assert data["tags"] == ["paper", "28", "2.5"]
    assert reporter.warnings == [
        f"{path}: tags [28, 2.5] are numbers; read as text (quote them in YAML)"
    ]
    for bad in ([True], [{"a": 1}], "a,b"):
        with pytest.raises(MetaError, match="'tags' must be a list of strings"):
            meta.tag_list({"tags": bad}, path)


# --- hostile and non-JSON YAML ------------------------------------------------------------


def _alias_bomb(levels: int) -> str:
    """Each level is a list of nine aliases of the level below: 9**levels leaves."""
    names = "abcdefghi"[:levels]
    lines = [f"{names[0]}: &{names[0]} [x, x, x, x, x, x, x, x, x]"]
    for below, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [{', '.join([f'*{below}'] * 9)}]")
    lines.append(f"tags: *{names[-1]}")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "_cm.yaml", _alias_bomb(6))  # 531441 leaves, > the limit
    with pytest.raises(MetaError, match="alias") as info:
        meta.load_file(path)
    assert str(path) in str(info.value)
    assert str(meta.YAML_NODE_LIMIT) in str(info.value)


def test_yaml_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "_cm.yaml", "a: &a [x, *a]\n")
    with pytest.raises(MetaError, match="alias"):
        meta.load_file(path)


def test_yaml_aliases_within_the_limit_are_unshared_copies(tmp_path: Path) -> None:
    path = _write(tmp_path / "_cm.yaml", "a: &a {k: [1, 2]}\nb: *a\n")
    data = meta.load_file(path)
    assert data == {"a": {"k": [1, 2]}, "b": {"k": [1, 2]}}
    data["a"]["k"].append(3)
    assert data["b"] == {"k": [1, 2]}


def test_yaml_non_json_values_are_read_as_text_with_a_warning(tmp_path: Path) -> None:
    from cairn import report

    text = (
        "day: 2024-01-02\n"
        "at: 2024-01-02 03:04:05\n"
        "blob: !!binary aGVsbG8=\n"
        "set: !!set {b: null, a: null}\n"
        "nested: {when: [2024-05-06]}\n"
        "2024-07-08: key\n"
    )
    path = _write(tmp_path / "_cm.yaml", text)
    reporter = report.Reporter()
    with report.using(reporter):
        data = meta.load_file(path)
    assert data == {
        "day": "2024-01-02",
        "at": "2024-01-02 03:04:05",
        "blob": "aGVsbG8=",
        "set": ["a", "b"],
        "nested": {"when": ["2024-05-06"]},
        "2024-07-08": "key",
    }
    json.dumps(data)  # everything downstream sees JSON data
    assert len(reporter.warnings) == 1
    warning = reporter.warnings[0]
    assert str(path) in warning
    for key in ("day", "at", "blob", "set", "nested.when"):
        assert key in warning


def test_messages_quote_long_values_truncated(tmp_path: Path) -> None:
    path = tmp_path / "_cm.yaml"
    with pytest.raises(MetaError) as info:
        meta.require_str_list({"tags": [["x"] * 100_000]}, "tags", path)
    assert len(str(info.value)) < 300
    with pytest.raises(MetaError) as info:
        meta.require_str({"uid": list(range(100_000))}, "uid", path)
    assert len(str(info.value)) < 400


def test_yaml_nested_past_the_depth_limit_is_refused(tmp_path: Path) -> None:
    depth = meta.YAML_DEPTH_LIMIT
    path = _write(tmp_path / "_cm.yaml", "a: " + "[" * 900 + "]" * 900 + "\n")
    with pytest.raises(MetaError, match=f"more than {depth} levels") as info:
        meta.load_file(path)
    assert str(path) in str(info.value)
    fits = _write(tmp_path / "ok.yaml", "a: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n")
    assert meta.load_file(fits)["a"]
