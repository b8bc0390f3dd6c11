"""Filters and sort orders over result rows: the grammar, what matches, canonical printing,
the errors a user sees, and the sort order."""

from __future__ import annotations

from typing import Any

import pytest

from cairn.errors import InvalidInput
from cairn.experiment.query import Condition, Filter, Sort, number, truthy

ROWS: list[dict[str, Any]] = [
    {"Model": "resnet50", "Result": "76.5", "Power": 310, "done": True, "Scenario": "Offline"},
    {"Model": "bert-99", "Result": 90.1, "Power": "n/a", "done": False, "Scenario": "Server"},
    {"Model": "ResNet50-int8", "Result": 75, "done": "yes", "Scenario": "offline"},
    {"Model": "gptj", "Result": None, "Power": 700, "Scenario": "Offline"},
]


def matching(expression: str, rows: list[dict[str, Any]] = ROWS) -> list[str]:
    chosen = Filter.parse(expression)
    return [row["Model"] for row in rows if chosen.matches(row)]


# --- what matches -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "models"),
    [
        ("Result >= 76", ["resnet50", "bert-99"]),  # "76.5" is a number
        ("Result>75", ["resnet50", "bert-99"]),  # spaces are optional
        ("Result < 76.5", ["ResNet50-int8"]),
        ("Result <= 76.5", ["resnet50", "ResNet50-int8"]),
        ("Result == 76.50", ["resnet50"]),  # numeric equality, not text
        ("Result = 75.0", ["ResNet50-int8"]),
        ("Model ~ RESNET", ["resnet50", "ResNet50-int8"]),  # contains, ignoring case
        ("Model !~ resnet", ["bert-99", "gptj"]),
        ("Model in resnet50|bert-99", ["resnet50", "bert-99"]),
        ("Model in resnet50 | gptj", ["resnet50", "gptj"]),
        ("Scenario == Offline", ["resnet50", "gptj"]),  # text equality is case-sensitive
        ("Scenario ~ offline and Result > 70", ["resnet50", "ResNet50-int8"]),
        ("Scenario ~ offline AND Power", ["resnet50", "gptj"]),
        ("done", ["resnet50", "ResNet50-int8"]),
        ("!done", ["bert-99", "gptj"]),
        ("done == true", ["resnet50"]),  # booleans read as true/false
        ("done != true", ["bert-99", "ResNet50-int8", "gptj"]),
    ],
)
def test_conditions_select_the_rows_a_user_expects(expression: str, models: list[str]) -> None:
    assert matching(expression) == models


def test_ordering_on_text_compares_text() -> None:
    # "n/a" is not a number, so "n/a" > "5" compares text; the numbers compare as numbers
    assert matching("Power > 5") == ["resnet50", "bert-99", "gptj"]
    assert matching("Model > c") == [
        "resnet50",
        "gptj",
    ]  # text: "ResNet50-int8" < "bert-99" < "c" < "gptj"
    assert matching("Model >= r") == ["resnet50"]


def test_a_missing_key_fails_everything_but_not_equal_and_absent() -> None:
    row: dict[str, Any] = {"Other": 1}
    none: dict[str, Any] = {"Power": None}  # None counts as missing
    for expression in ("Power > 0", "Power < 0", "Power == 0", "Power ~ 0", "Power !~ 0"):
        assert not Filter.parse(expression).matches(row), expression
        assert not Filter.parse(expression).matches(none), expression
    assert not Filter.parse("Power in 0|1").matches(row)
    assert not Filter.parse("Power").matches(row)
    assert Filter.parse("Power != 0").matches(row)
    assert Filter.parse("!Power").matches(row)
    assert Filter.parse("!Power").matches(none)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (1, True),
        ("yes", True),
        ("no", True),  # only "false" is a false word
        (False, False),
        (None, False),
        (0, False),
        ("0.0", False),
        ("  ", False),
        ("FALSE", False),
    ],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected
    assert Filter.parse("k").matches({"k": value}) is expected
    assert Filter.parse("!k").matches({"k": value}) is not expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        (" 1e3 ", 1000.0),
        ("-76.5", -76.5),
        (True, None),
        ("nan", None),
        ("inf", None),
        (float("nan"), None),
        ("1_000", None),
        ("76.5%", None),
        (10**400, None),
        ([1], None),
    ],
)
def test_what_reads_as_a_number(value: Any, expected: float | None) -> None:
    assert number(value) == expected


def test_quoted_keys_and_values_keep_spaces_and_the_word_and() -> None:
    row = {"my key": "rock and roll", 'say "hi"': 1}
    assert Filter.parse('"my key" ~ "K AND R"').matches(row)
    assert Filter.parse('"my key" == "rock and roll"').matches(row)
    assert not Filter.parse('"my key" == rock').matches(row)
    assert Filter.parse('"say \\"hi\\"" == 1').matches(row)


def test_a_bare_value_runs_to_the_next_and() -> None:
    row = {"Name": "big model v2", "n": 3}
    assert Filter.parse("Name == big model v2 and n == 3").matches(row)
    assert Filter.parse("Name==big model v2    and n==3").matches(row)


def test_text_is_never_evaluated() -> None:
    row = {"x": '__import__("os")'}
    assert Filter.parse('x == __import__("os")').matches(row)  # compared as text
    with pytest.raises(InvalidInput):
        Filter.parse("__import__('os').system('true')")


# --- printing back, keys, several filters -------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "canonical"),
    [
        ("Result>=76", "Result >= 76"),
        ("Result = 76  AND  Model IN a | b", "Result == 76 and Model in a|b"),
        ("!failed and done", "!failed and done"),
        ('"my key" ~ "a and b"', '"my key" ~ "a and b"'),
        ('x == ""', 'x == ""'),
        ('x == ">3"', 'x == ">3"'),
        ('x == " padded "', 'x == " padded "'),
        ('x == "and"', 'x == "and"'),
        ('"a\\\\b" != "q\\"q"', '"a\\\\b" != q"q'),  # a quote inside needs no quotes
        ("path/to.key-1 ~ /tmp", "path/to.key-1 ~ /tmp"),
    ],
)
def test_a_filter_prints_back_canonically(expression: str, canonical: str) -> None:
    parsed = Filter.parse(expression)
    assert str(parsed) == canonical
    assert Filter.parse(canonical) == parsed


def test_keys_are_listed_once_in_order() -> None:
    assert Filter.parse("b > 1 and a and b < 5 and !c").keys == ("b", "a", "c")


def test_parse_all_joins_several_filters() -> None:
    both = Filter.parse_all(["Result > 70", "Scenario ~ offline"])
    assert str(both) == "Result > 70 and Scenario ~ offline"
    assert [r["Model"] for r in ROWS if both.matches(r)] == ["resnet50", "ResNet50-int8"]
    assert Filter.parse_all("Result > 80") == Filter.parse("Result > 80")
    everything = Filter.parse_all([])
    assert all(everything.matches(r) for r in ROWS) and str(everything) == ""


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "problem", "column"),
    [
        ("", "at least one condition", 1),
        ("x >> 3", "cannot start with '>'", 4),
        ("x === 3", "cannot start with '='", 5),
        ("Result >=", "expected a value after '>='", 10),
        ("Model in", "expected a value after 'in'", 9),
        ("Model resnet", "expected an operator or 'and' after the key 'Model'", 7),
        ("x > 1 and", "expected a condition after 'and'", 10),
        ("x == and", "a value with the word 'and'", 6),
        ('"open', "quote is not closed", 1),
        ('x == "open', "quote is not closed", 6),
        ("!x == 3", "expected 'and' between two conditions", 4),
        ('x == "a" b', "expected 'and' between two conditions", 10),
        ("= 3", "expected a key", 1),
        ("x in a||b", "an empty choice", 6),
        ("my key > 3", "expected an operator or 'and' after the key 'my'", 4),
    ],
)
def test_errors_quote_the_expression_and_say_where(
    expression: str, problem: str, column: int
) -> None:
    with pytest.raises(InvalidInput) as err:
        Filter.parse(expression)
    assert problem in err.value.message
    assert f"filter {expression!r}, column {column}:" in err.value.message
    assert "KEY OP VALUE" in err.value.hint


def test_a_filter_that_is_not_text_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="not text"):
        Filter.parse(3)  # type: ignore[arg-type]


# --- sorting ------------------------------------------------------------------------------------

MIXED: list[dict[str, Any]] = [
    {"id": "a", "v": "10"},
    {"id": "b", "v": "n/a"},
    {"id": "c"},
    {"id": "d", "v": 9},
    {"id": "e", "v": None},
    {"id": "f", "v": "abc"},
    {"id": "g", "v": 9.0},
]


def ids(rows: list[dict[str, Any]]) -> str:
    return "".join(r["id"] for r in rows)


def test_sort_puts_numbers_first_and_missing_last_both_ways() -> None:
    assert ids(Sort.parse("v").apply(MIXED)) == "dgafbce"  # 9, 9.0, "10", then text, missing
    assert ids(Sort.parse("-v").apply(MIXED)) == "adgbfce"  # "10", 9, 9.0, then text desc


def test_sort_by_several_keys_is_stable() -> None:
    rows = [
        {"id": "1", "Model": "b", "Result": 2},
        {"id": "2", "Model": "a", "Result": 2},
        {"id": "3", "Model": "a", "Result": 5},
        {"id": "4", "Model": "b", "Result": 2},
        {"id": "5", "Result": 5},
    ]
    assert ids(Sort.parse("-Result,Model").apply(rows)) == "35214"
    assert ids(Sort.parse("Model, -Result").apply(rows)) == "32145"
    assert ids(Sort.parse("+Result").apply(rows)) == "12435"
    assert ids(Sort.parse("nothing").apply(rows)) == "12345"


def test_sort_prints_back_and_lists_its_keys() -> None:
    order = Sort.parse(' -Result , +Model,"power, W"')
    assert str(order) == '-Result,Model,"power, W"'
    assert Sort.parse(str(order)) == order
    assert order.keys == ("Result", "Model", "power, W")


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("", "expected a key"),
        ("-", "expected a key"),
        ("a,,b", "expected a key"),
        ("a b", "expected ',' between two keys"),
        ('"open', "quote is not closed"),
    ],
)
def test_sort_errors_quote_the_expression(expression: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Sort.parse(expression)
    assert problem in err.value.message and f"sort {expression!r}" in err.value.message
    assert "descending" in err.value.hint


def test_conditions_made_in_code_are_checked() -> None:
    assert Condition("k", "in", ("a", "b")).matches({"k": "b"})
    with pytest.raises(InvalidInput, match="unknown filter operator '=~'"):
        Condition("k", "=~", ("a",))
    with pytest.raises(InvalidInput, match="cannot take the values"):
        Condition("k", ">=", ())
    with pytest.raises(InvalidInput, match="cannot take the values"):
        Condition("k", "!", ("a",))
