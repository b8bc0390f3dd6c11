"""uids, aliases, the identifier grammar ``[repo:]alias|uid[,uid]`` and tag queries."""

from __future__ import annotations

import re

import pytest

from cairn import ids
from cairn.errors import InvalidInput, InvalidName

UID = "0123456789abcdef"
UID2 = "fedcba9876543210"


# --- uids -------------------------------------------------------------------------------


def test_new_uid_is_16_lowercase_hex() -> None:
    for _ in range(50):
        uid = ids.new_uid()
        assert re.fullmatch(r"[0-9a-f]{16}", uid), uid
        assert ids.is_uid(uid)


def test_new_uids_differ() -> None:
    assert len({ids.new_uid() for _ in range(200)}) == 200


@pytest.mark.parametrize("text", [UID, UID.upper(), "ABCDEFabcdef0123"])
def test_is_uid_accepts_16_hex_in_either_case(text: str) -> None:
    assert ids.is_uid(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        UID[:15],
        UID + "0",
        "0123456789abcdeg",  # not hex
        "01234567-9abcdef",  # not hex inside
        "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669abcdef",  # other digits
        "0123456789abc.ef",  # CM accepts '.', cairn does not
        f"{UID}\n",
        f" {UID}",
        "get-python3",
    ],
)
def test_is_uid_rejects_everything_else(text: str) -> None:
    assert not ids.is_uid(text)


def test_check_uid_lowercases() -> None:
    assert ids.check_uid(UID.upper()) == UID


def test_check_uid_rejects_with_hint_and_what() -> None:
    with pytest.raises(InvalidName) as err:
        ids.check_uid("xyz", "repository uid")
    assert "repository uid" in str(err.value)
    assert "'xyz'" in str(err.value)
    assert "16 hexadecimal" in err.value.hint


def test_invalid_name_is_invalid_input_with_code_1() -> None:
    with pytest.raises(InvalidInput) as err:
        ids.check_uid("nope")
    assert err.value.code == 1


# --- aliases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alias",
    [
        "get-python3",
        "mlcommons@cm4mlops",
        "a_b.c+d",
        "x",
        "_private",
        "9lives",
        "CamelCase",
        "a" * 200,
        UID,  # a uid-looking directory name is a valid alias too
    ],
)
def test_check_alias_accepts_safe_names(alias: str) -> None:
    assert ids.check_alias(alias) == alias


@pytest.mark.parametrize(
    "alias",
    [
        "a/b",
        "a\\b",
        "..",
        "a..b",
        "../etc",
        "a:b",
        "a,b",
        "a b",
        " a",
        "a\tb",
        ".hidden",
        "-flag",
        "a*",
        "a?",
        "naïve",
        "a\nb",
    ],
)
def test_check_alias_rejects_unsafe_names(alias: str) -> None:
    with pytest.raises(InvalidName) as err:
        ids.check_alias(alias)
    assert repr(alias) in str(err.value)


def test_check_alias_rejects_empty_naming_what() -> None:
    with pytest.raises(InvalidName, match="empty repository alias"):
        ids.check_alias("", "repository alias")


def test_check_alias_rejects_too_long() -> None:
    with pytest.raises(InvalidName, match="longer than 200"):
        ids.check_alias("a" * 201)


# --- identifiers ------------------------------------------------------------------------


def test_parse_alias_only() -> None:
    ident = ids.parse_identifier("get-python3")
    assert ident == ids.Identifier(ids.NamePart(alias="get-python3"))
    assert ident.repo is None


def test_parse_uid_only_is_lowercased() -> None:
    ident = ids.parse_identifier(UID.upper())
    assert ident.name == ids.NamePart(uid=UID)


@pytest.mark.parametrize("text", [f"python,{UID}", f"{UID},python", f"python,{UID.upper()}"])
def test_parse_alias_and_uid_in_either_order(text: str) -> None:
    assert ids.parse_identifier(text).name == ids.NamePart(alias="python", uid=UID)


def test_parse_repo_prefix() -> None:
    ident = ids.parse_identifier(f"mlcommons@cm4mlops:get-python3,{UID}")
    assert ident.repo == ids.NamePart(alias="mlcommons@cm4mlops")
    assert ident.name == ids.NamePart(alias="get-python3", uid=UID)


def test_parse_repo_with_alias_and_uid() -> None:
    ident = ids.parse_identifier(f"local,{UID2}:x")
    assert ident.repo == ids.NamePart(alias="local", uid=UID2)


def test_parse_repo_only_gives_empty_name() -> None:
    ident = ids.parse_identifier("local:")
    assert ident.repo == ids.NamePart(alias="local")
    assert ident.name == ids.NamePart()


def test_parse_empty_repo_side_means_no_repo() -> None:
    assert ids.parse_identifier(":x") == ids.Identifier(ids.NamePart(alias="x"))


def test_parse_strips_surrounding_whitespace() -> None:
    assert ids.parse_identifier("  r : a , " + UID + " ") == ids.Identifier(
        ids.NamePart(alias="a", uid=UID), ids.NamePart(alias="r")
    )


def test_parse_two_uids_keeps_both() -> None:
    part = ids.parse_identifier(f"{UID},{UID2}").name
    assert part.uid == UID2
    assert part.alias == UID


@pytest.mark.parametrize("text", ["a:b:c", "::", "r:a:" + UID])
def test_parse_rejects_more_than_two_sides(text: str) -> None:
    with pytest.raises(InvalidName, match="not recognized") as err:
        ids.parse_identifier(text)
    assert "[REPO:]NAME" in err.value.hint


@pytest.mark.parametrize("text", ["a,b,c", f"a,{UID},b", "a,", ",a", "r:a,,b"])
def test_parse_rejects_bad_comma_lists(text: str) -> None:
    with pytest.raises(InvalidName, match="not recognized"):
        ids.parse_identifier(text)


@pytest.mark.parametrize("text", ["x,y", "r:x,y", "x,y:z"])
def test_parse_rejects_two_aliases(text: str) -> None:
    with pytest.raises(InvalidName, match="two aliases"):
        ids.parse_identifier(text)


@pytest.mark.parametrize("text", ["../x", "r:a/b", "a b", "-x", ".x", "r/s:x"])
def test_parse_rejects_unsafe_aliases(text: str) -> None:
    with pytest.raises(InvalidName, match="unsafe"):
        ids.parse_identifier(text)


@pytest.mark.parametrize("text", ["get-*", "*", "py?hon", "r*:x*", f"a*,{UID}", "*python*"])
def test_wildcards_allowed_with_patterns(text: str) -> None:
    ids.parse_identifier(text, patterns=True)


@pytest.mark.parametrize("text", ["get-*", "*", "py?hon", "r*:x", "r:x*"])
def test_wildcards_refused_without_patterns(text: str) -> None:
    with pytest.raises(InvalidName, match="unsafe"):
        ids.parse_identifier(text, patterns=False)


@pytest.mark.parametrize("text", ["../*", "a/*", "* x", ".*"])
def test_unsafe_patterns_are_refused(text: str) -> None:
    with pytest.raises(InvalidName, match="unsafe"):
        ids.parse_identifier(text, patterns=True)


def test_is_pattern() -> None:
    assert ids.parse_identifier("get-*").name.is_pattern
    assert not ids.parse_identifier("get-x").name.is_pattern
    assert not ids.parse_identifier(UID).name.is_pattern
    assert not ids.NamePart().is_pattern


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("python", "python"),
        (UID, UID),
        (UID.upper(), UID),
        (f"python,{UID}", f"python,{UID}"),
        (f"{UID},python", f"python,{UID}"),
        ("local:python", "local:python"),
        (f"local,{UID2}:{UID}", f"local,{UID2}:{UID}"),
        ("local:", "local:"),
        ("r*:get-*", "r*:get-*"),
        ("", ""),
    ],
)
def test_identifier_prints_back_in_the_same_grammar(text: str, printed: str) -> None:
    ident = ids.parse_identifier(text)
    assert str(ident) == printed
    assert ids.parse_identifier(str(ident)) == ident


def test_parse_part_names_what_in_errors() -> None:
    with pytest.raises(InvalidName, match="automation 'a,b,c'"):
        ids.parse_part("a,b,c", patterns=False, what="automation")


# --- matching ---------------------------------------------------------------------------


def test_match_by_alias_is_case_insensitive() -> None:
    part = ids.NamePart(alias="Get-Python3")
    assert part.matches("get-python3", None)
    assert part.matches("GET-PYTHON3", UID)
    assert not part.matches("get-python", None)


def test_match_alias_wildcards() -> None:
    part = ids.parse_identifier("GET-*").name
    assert part.matches("get-python3", None)
    assert part.matches("get-", None)
    assert not part.matches("install-python", None)
    assert ids.NamePart(alias="py?hon").matches("python", None)
    assert not ids.NamePart(alias="py?hon").matches("pyython", None)


def test_match_is_whole_name_not_substring() -> None:
    assert not ids.NamePart(alias="python").matches("get-python3", None)


def test_uid_comparison_wins_over_alias() -> None:
    part = ids.NamePart(alias="python", uid=UID)
    assert part.matches("something-else", UID)
    assert part.matches(None, UID.upper())
    assert not part.matches("python", UID2)


def test_uid_only_query() -> None:
    part = ids.NamePart(uid=UID)
    assert part.matches("anything", UID)
    assert not part.matches("anything", UID2)
    assert not part.matches("anything", None)


def test_alias_uid_query_falls_back_to_alias_for_object_without_uid() -> None:
    part = ids.NamePart(alias="python", uid=UID)
    assert part.matches("Python", None)
    assert not part.matches("other", None)


def test_query_uid_is_compared_case_insensitively() -> None:
    assert ids.NamePart(uid=UID.upper()).matches("x", UID)


def test_alias_query_does_not_match_object_without_alias() -> None:
    assert not ids.NamePart(alias="x").matches(None, UID)


def test_empty_query_matches_anything() -> None:
    assert ids.NamePart().matches("x", UID)
    assert ids.NamePart().matches(None, None)


# --- tags -------------------------------------------------------------------------------


def test_parse_tags_include_and_exclude() -> None:
    query = ids.parse_tags("get,python,-old")
    assert query.include == ("get", "python")
    assert query.exclude == ("old",)


def test_parse_tags_from_list_and_mixed_items() -> None:
    assert ids.parse_tags(["get", " python ", "-old"]) == ids.TagQuery(("get", "python"), ("old",))


def test_parse_tags_none_and_empty_match_everything() -> None:
    for value in (None, "", [], " , "):
        query = ids.parse_tags(value)
        assert not query
        assert query.matches([])
        assert query.matches(["a"])


def test_parse_tags_deduplicates_and_strips() -> None:
    assert ids.parse_tags(" a , b ,a,,-c,-c") == ids.TagQuery(("a", "b"), ("c",))


@pytest.mark.parametrize("value", ["-", "a,-", ["a", "-"]])
def test_parse_tags_rejects_empty_exclusion(value: str | list[str]) -> None:
    with pytest.raises(InvalidName, match="empty tag"):
        ids.parse_tags(value)


@pytest.mark.parametrize("value", ["a b", ["x,y"], ["ok", "tab\tbed"]])
def test_parse_tags_rejects_spaces_and_commas_inside(value: str | list[str]) -> None:
    with pytest.raises(InvalidName, match="invalid tag"):
        ids.parse_tags(value)


def test_tag_query_matches_all_included_and_no_excluded() -> None:
    query = ids.parse_tags("a,b,-c")
    assert query.matches(["a", "b"])
    assert query.matches(("b", "x", "a"))
    assert not query.matches(["a"])
    assert not query.matches(["a", "b", "c"])
    assert not query.matches([])


def test_tag_matching_is_exact_and_case_sensitive() -> None:
    query = ids.parse_tags("python")
    assert not query.matches(["Python"])
    assert not query.matches(["python3"])
    assert not ids.parse_tags("py*").matches(["python"])


def test_exclusion_only_query() -> None:
    query = ids.parse_tags("-old")
    assert bool(query)
    assert query.matches(["new"])
    assert not query.matches(["new", "old"])


@pytest.mark.parametrize("text", ["a,b,-c", "a", "-c", "-c,-d", "x.y,get-python3,-z_w"])
def test_tag_query_prints_back(text: str) -> None:
    query = ids.parse_tags(text)
    assert str(query) == text
    assert ids.parse_tags(str(query)) == query


def test_tag_query_prints_includes_before_excludes() -> None:
    assert str(ids.parse_tags("-c,a")) == "a,-c"


def test_split_list() -> None:
    assert ids.split_list("a, b,,c ") == ["a", "b", "c"]
    assert ids.split_list(["a", " ", "b "]) == ["a", "b"]
    assert ids.split_list("") == []


@pytest.mark.parametrize("name", ["Grigori Fursin", "Grigori_Fursin", "José Ñ", "a:b,c", "-x"])
def test_check_name_accepts_what_cm_reads(name: str) -> None:
    assert ids.check_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "tab\there", "x" * 201])
def test_check_name_refuses_what_no_folder_could_be_called(name: str) -> None:
    with pytest.raises(InvalidName):
        ids.check_name(name)


def test_a_loose_identifier_reads_names_with_spaces_but_not_separators() -> None:
    parsed = ids.parse_identifier("people:Grigori Fursin", strict=False)
    assert parsed == ids.Identifier(ids.NamePart("Grigori Fursin"), ids.NamePart("people"))
    assert ids.parse_identifier("Grigori*", strict=False).name.is_pattern
    with pytest.raises(InvalidName, match="unsafe"):
        ids.parse_identifier("Grigori Fursin")  # names cairn gives: the strict rule
    with pytest.raises(InvalidName, match="unreadable"):
        ids.parse_identifier("a/b", strict=False)
