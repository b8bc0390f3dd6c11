"""CM's legacy command-line grammar, parsed into the input dict (``cairn.cli.args``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cairn.cli import args
from cairn.errors import InvalidInput, MetaError, NotFound


def parse(*argv: str) -> dict[str, Any]:
    return args.parse(list(argv))


def without_cmd(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "cmd"}


# --- positionals ----------------------------------------------------------------------


def test_action_automation_and_one_artifact() -> None:
    assert without_cmd(parse("find", "script", "get-python3")) == {
        "action": "find",
        "automation": "script",
        "artifact": "get-python3",
    }


def test_several_artifacts() -> None:
    result = parse("rm", "cache", "a", "b", "c")
    assert result["artifact"] == "a"
    assert result["artifacts"] == ["b", "c"]  # CM keeps only the extra names here


def test_no_artifact_keys_without_artifacts() -> None:
    result = parse("find", "script", "--tags=x")
    assert "artifact" not in result
    assert "artifacts" not in result


def test_empty_command() -> None:
    assert without_cmd(parse()) == {}


def test_action_only() -> None:
    assert without_cmd(parse("version")) == {"action": "version"}


def test_flag_first_means_no_action() -> None:
    result = parse("--a=1", "b", "c")
    assert "action" not in result
    assert "automation" not in result
    assert result["a"] == "1"
    assert (result["artifact"], result["artifacts"]) == ("b", ["c"])


def test_positional_scan_stops_at_the_first_flag() -> None:
    result = parse("find", "--tags=x", "script")
    assert result["action"] == "find"
    assert "automation" not in result
    assert result["artifact"] == "script"


def test_at_file_stops_positional_scan(tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text('{"automation": "script"}')
    result = parse("run", f"@{f}", "x")
    assert result["action"] == "run"
    assert result["automation"] == "script"
    assert result["artifact"] == "x"


def test_empty_word_is_not_an_action() -> None:
    assert "action" not in parse("", "x")


def test_flags_and_artifacts_interleave() -> None:
    result = parse("run", "script", "a", "--x=1", "b", "-y")
    assert (result["artifact"], result["artifacts"]) == ("a", ["b"])
    assert result["x"] == "1"
    assert result["y"] is True


def test_lone_dash_is_an_artifact() -> None:
    assert parse("run", "script", "-")["artifact"] == "-"


# --- flags ----------------------------------------------------------------------------


def test_key_value_is_a_string_never_typed() -> None:
    result = parse("--x=true", "--n=1", "--e=")
    assert result["x"] == "true"
    assert result["n"] == "1"
    assert result["e"] == ""


def test_value_is_split_at_the_first_equals() -> None:
    assert parse("--env.K=a=b=c")["env"] == {"K": "a=b=c"}
    assert parse("--k==x")["k"] == "=x"


def test_value_is_kept_exactly_as_given() -> None:
    """Spaces, tabs and carriage returns stay: the CLI gives what the API would get."""
    assert parse("--k=  spaced value \t")["k"] == "  spaced value \t"
    assert parse("--env.K= v \r")["env"] == {"K": " v \r"}
    assert parse("--l,= a ,b\r,,")["l"] == [" a ", "b\r"]


def test_bare_flag_is_true_and_trailing_dash_false() -> None:
    result = parse("--quiet", "--force-", "-v", "-s-")
    assert result == {**result, "quiet": True, "force": False, "v": True, "s": False}


def test_single_and_double_dash_are_the_same() -> None:
    assert without_cmd(parse("-f", "-k=v", "-l,=a")) == without_cmd(parse("--f", "--k=v", "--l,=a"))
    assert parse("-f")["f"] is True


def test_later_flag_overrides_earlier() -> None:
    assert parse("--k=1", "--k=2")["k"] == "2"
    assert parse("--k", "--k-")["k"] is False


def test_list_flag() -> None:
    assert parse("--tags,=a,b")["tags"] == ["a", "b"]
    assert parse("--tags,=a")["tags"] == ["a"]
    assert parse("--tags,=a,,b,")["tags"] == ["a", "b"]


def test_empty_list_flag() -> None:
    assert parse("--tags,=")["tags"] == []


def test_comma_value_without_list_marker_stays_a_string() -> None:
    assert parse("--tags=a,b")["tags"] == "a,b"


@pytest.mark.parametrize("word", ["--tags,", "-tags,", "--a.b,"])
def test_list_flag_without_value_is_a_clear_error(word: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse("find", "script", word)
    assert repr(word) in str(err.value)
    assert "has no value" in str(err.value)
    assert f"{word}=a,b" in err.value.hint


def test_dotted_key_builds_nested_dicts() -> None:
    assert parse("--a.b.c=v")["a"] == {"b": {"c": "v"}}


def test_dotted_keys_merge_into_one_dict() -> None:
    result = parse("--env.A=1", "--env.B=2", "--env.deep.C", "--env.L,=x,y")
    assert result["env"] == {"A": "1", "B": "2", "deep": {"C": True}, "L": ["x", "y"]}


def test_dotted_key_replaces_a_scalar_and_vice_versa() -> None:
    assert parse("--a=1", "--a.b=2")["a"] == {"b": "2"}
    assert parse("--a.b=2", "--a=1")["a"] == "1"


def test_dash_becomes_underscore_only_in_the_first_dotted_part() -> None:
    assert parse("--h-i.j-k=1")["h_i"] == {"j-k": "1"}
    assert parse("--skip-cache")["skip_cache"] is True
    assert parse("--adr.python-3.version=3.11")["adr"] == {"python-3": {"version": "3.11"}}
    assert "skip-cache" not in parse("--skip-cache")


def test_trailing_dash_with_dashed_key() -> None:
    assert parse("--skip-cache-")["skip_cache"] is False


@pytest.mark.parametrize("word", ["--=v", "---x", "--a..b=1", "--.a=1", "--a.=1", "--,=x"])
def test_malformed_flags_are_refused(word: str) -> None:
    with pytest.raises(InvalidInput, match="malformed flag"):
        parse(word)


def test_parse_flag_returns_key_path() -> None:
    assert args.parse_flag("--a-b.c-d=1") == (["a_b", "c-d"], "1")
    assert args.parse_flag("-x") == (["x"], True)


# --- @input files ----------------------------------------------------------------------


def test_json_and_yaml_input_files(tmp_path: Path) -> None:
    j = tmp_path / "in.json"
    y = tmp_path / "in.yaml"
    j.write_text(json.dumps({"tags": "a,b", "env": {"X": "1"}}))
    y.write_text("quiet: true\nn: 3\n")
    result = parse("run", "script", f"@{j}", f"@{y}")
    assert result["tags"] == "a,b"
    assert result["env"] == {"X": "1"}
    # Values from files keep their types (unlike flags).
    assert result["quiet"] is True
    assert result["n"] == 3


def test_yml_extension_is_accepted(tmp_path: Path) -> None:
    y = tmp_path / "in.yml"
    y.write_text("k: v\n")
    assert parse(f"@{y}")["k"] == "v"


def test_input_files_merge_in_command_line_order(tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text(json.dumps({"a": "file", "b": "file", "env": {"F": "1"}}))
    result = parse("--a=flag-before", "--env.E=1", f"@{f}", "--b=flag-after")
    assert result["a"] == "file"  # the file overrides an earlier flag
    assert result["b"] == "flag-after"  # a later flag overrides the file
    assert result["env"] == {"E": "1", "F": "1"}  # mappings merge key by key


def test_later_nested_flag_extends_a_dict_from_a_file(tmp_path: Path) -> None:
    f = tmp_path / "in.yaml"
    f.write_text("env:\n  F: '1'\n")
    assert parse(f"@{f}", "--env.G=2")["env"] == {"F": "1", "G": "2"}


def test_two_input_files_later_wins(tmp_path: Path) -> None:
    one, two = tmp_path / "1.json", tmp_path / "2.json"
    one.write_text('{"k": 1, "only1": true}')
    two.write_text('{"k": 2}')
    result = parse(f"@{one}", f"@{two}")
    assert (result["k"], result["only1"]) == (2, True)


def test_missing_input_file_is_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(NotFound) as err:
        parse("run", "script", f"@{missing}")
    assert err.value.code == 16
    assert str(missing) in str(err.value)


@pytest.mark.parametrize("name", ["in.txt", "in", "in.json.bak"])
def test_wrong_input_file_extension_is_invalid_input(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("{}")
    with pytest.raises(InvalidInput, match=r"\.json, \.yaml") as err:
        parse(f"@{path}")
    assert err.value.code == 1


def test_input_file_must_be_a_mapping(tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text("[1, 2]")
    with pytest.raises(MetaError, match="mapping"):
        parse(f"@{f}")


def test_input_file_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rel.yaml").write_text("k: v\n")
    monkeypatch.chdir(tmp_path)
    assert parse("@rel.yaml")["k"] == "v"


# --- double dash, cmd, immutability ----------------------------------------------------


def test_double_dash_keeps_the_rest_unparsed() -> None:
    result = parse("run", "script", "x", "--k=v", "--", "echo", "--k=w", "@f.json", "--")
    assert result["unparsed_cmd"] == ["echo", "--k=w", "@f.json", "--"]
    assert result["k"] == "v"
    assert result["artifact"] == "x" and "artifacts" not in result


def test_double_dash_at_the_end_gives_an_empty_list() -> None:
    assert parse("run", "script", "--")["unparsed_cmd"] == []


def test_no_double_dash_no_unparsed_cmd() -> None:
    assert "unparsed_cmd" not in parse("run", "script", "--x")


def test_double_dash_first() -> None:
    result = parse("--", "find", "script")
    assert "action" not in result
    assert result["unparsed_cmd"] == ["find", "script"]


def test_cmd_holds_the_words_after_action_and_automation() -> None:
    assert parse("run", "script", "x", "--k=v", "--", "ls")["cmd"] == ["x", "--k=v", "--", "ls"]
    assert parse("run", "--k")["cmd"] == ["--k"]
    assert parse("--k", "a")["cmd"] == ["--k", "a"]


def test_argv_is_not_mutated(tmp_path: Path) -> None:
    f = tmp_path / "in.json"
    f.write_text('{"x": 1}')
    argv = ["run", "script", "a", "--k=v", f"@{f}", "--", "rest"]
    copy = list(argv)
    result = args.parse(argv)
    assert argv == copy
    result["cmd"].append("changed")
    result["unparsed_cmd"].append("changed")
    assert argv == copy
