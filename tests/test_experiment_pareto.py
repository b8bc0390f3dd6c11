"""Pareto fronts: objectives as written by a user, the exact and the margin front (each fast
path checked against the O(n²) definition on many random inputs), and fronts of result rows."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from cairn.errors import InvalidInput
from cairn.experiment.pareto import Objective, front, reference_front, select

MAX, MIN = Objective(key="a", sense="max"), Objective(key="b", sense="min")


def objectives(*texts: str) -> list[Objective]:
    return [Objective.parse(t) for t in texts]


# --- objectives ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "key", "sense", "relative", "absolute", "shown"),
    [
        ("Result:max", "Result", "max", None, None, "Result:max"),
        (" Power : MIN ", "Power", "min", None, None, "Power:min"),
        ("Latency:min:5%", "Latency", "min", 0.05, None, "Latency:min:5%"),
        ("Latency:min:0.3", "Latency", "min", None, 0.3, "Latency:min:0.3"),
        ("Latency ms:max:0", "Latency ms", "max", None, 0.0, "Latency ms:max:0.0"),
        ("x:max:2.5%", "x", "max", 0.025, None, "x:max:2.5%"),
    ],
)
def test_objectives_parse_and_print_back(
    written: str, key: str, sense: str, relative: Any, absolute: Any, shown: str
) -> None:
    parsed = Objective.parse(written)
    assert (parsed.key, parsed.sense) == (key, sense)
    assert parsed.relative == pytest.approx(relative) if relative else parsed.relative is None
    assert parsed.absolute == absolute
    assert str(parsed) == shown
    assert Objective.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("Result", "has no sense: is larger or smaller better?"),
        ("Result:best", "the sense 'best' is neither max nor min"),
        ("Result:5%", "the sense '5%' is neither max nor min"),
        ("ns:Latency:min:5%", "too many ':' (a key cannot contain ':')"),
        (":max", "has no key"),
        ("Latency:min:", "the margin '' is not a number >= 0"),
        ("Latency:min:-5%", "the margin '-5%' is not a number >= 0"),
        ("Latency:min:fast", "the margin 'fast' is not a number >= 0"),
        ("Latency:min:nan", "the margin 'nan' is not a number >= 0"),
    ],
)
def test_objective_errors_say_what_to_write(written: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Objective.parse(written)
    assert problem in err.value.message and repr(written) in err.value.message
    assert "KEY:max or KEY:min" in err.value.hint


# --- the front by hand --------------------------------------------------------------------------


def test_exact_front_of_a_small_trade_off() -> None:
    # (Result: max, Power: min)
    points = [(76.0, 300.0), (80.0, 400.0), (75.0, 350.0), (80.0, 390.0), (70.0, 200.0)]
    expected = [True, False, False, True, True]
    assert front(points, objectives("Result:max", "Power:min")) == expected
    assert reference_front(points, objectives("Result:max", "Power:min")) == expected


def test_identical_points_never_drop_each_other() -> None:
    points = [(1.0, 1.0), (1.0, 1.0), (0.0, 2.0), (0.0, 1.0)]
    assert front(points, [MAX, MAX]) == [True, True, True, False]
    assert front([p[:1] for p in points], [MAX]) == [True, True, False, False]


def test_a_relative_margin_keeps_a_point_within_it() -> None:
    # B is 1 % worse than A in Result and equal in Power: dropped exactly, kept with 2 %;
    # C is 10 % worse in Result: still dropped when only Result has a margin.
    points = [(100.0, 50.0), (99.0, 50.0), (90.0, 50.0)]
    assert front(points, objectives("Result:max", "Power:min")) == [True, False, False]
    assert front(points, objectives("Result:max:2%", "Power:min")) == [True, True, False]
    assert front(points, objectives("Result:max", "Power:min:0"), margin=0.02) == [
        True,
        True,
        False,
    ]
    # To drop a point, another must beat it by the margin in every objective that has one:
    # with 2 % on Power too, A (equal Power) no longer beats C's Power improved to 49.
    assert front(points, objectives("Result:max", "Power:min"), margin=0.02) == [True] * 3
    assert front(points, objectives("Result:max", "Power:min:10%")) == [True] * 3


def test_an_absolute_margin_is_in_the_key_unit_and_wins_over_the_global_one() -> None:
    points = [(10.0, 1.0), (10.0, 1.25), (10.0, 1.5)]  # Latency: min
    goals = objectives("Result:max", "Latency:min:0.3")
    assert front(points, goals) == [True, True, False]
    assert front(points, objectives("Result:max", "Latency:min")) == [True, False, False]
    # Latency keeps its own 0.3 under a global 90 %; Result, without its own, takes the 90 %
    own = objectives("Result:max:0", "Latency:min:0.3")
    assert front(points, own, margin=0.9) == [True, True, False]
    assert front(points, goals, margin=0.9) == [True, True, True]


def test_margins_on_min_objectives_move_values_down() -> None:
    points = [(-10.0,), (-9.5,), (-9.0,)]  # min: -10 is best; 5 % of |-9.5| = 0.475
    assert front(points, [MIN], margin=0.05) == [True, False, False]
    assert front(points, [MIN], margin=0.06) == [True, True, False]
    assert reference_front(points, [MIN], margin=0.06) == [True, True, False]


def test_one_objective_keeps_every_best_value() -> None:
    assert front([(3,), (1,), (3,), (2,)], [MAX]) == [True, False, True, False]
    assert front([(3,), (1,), (3,), (2,)], [MIN]) == [False, True, False, False]
    assert front([], [MAX]) == []


@pytest.mark.parametrize("width", [2, 3, 4, 5])
def test_every_point_on_a_trade_off_surface_stays(width: int) -> None:
    rng = random.Random(width)
    points = []
    for _ in range(200):
        head = [rng.random() for _ in range(width - 1)]
        points.append((*head, 1.0 - sum(head)))
    assert all(front(points, [MAX] * width))
    assert all(front(points, [MAX] * width, margin=0.01))


# --- every path against the definition ----------------------------------------------------------


def random_case(rng: random.Random, width: int) -> tuple[list[list[float]], list[Objective], Any]:
    """Few distinct values (ties), duplicated points, negative values, every kind of margin."""
    pool = [rng.choice([-3, -1, 0, 1, 2, 5]) + rng.choice([0, 0, 0.25, 0.5]) for _ in range(5)]
    points = [[rng.choice(pool) for _ in range(width)] for _ in range(rng.randint(0, 40))]
    points += [list(rng.choice(points)) for _ in range(rng.randint(0, 3))] if points else []
    goals = []
    for j in range(width):
        margin = rng.choice(["", "", "", ":10%", ":50%", ":0.5", ":0.25", ":0", ":0%"])
        goals.append(Objective.parse(f"k{j}:{rng.choice(['max', 'min'])}{margin}"))
    return points, goals, rng.choice([None, None, 0.0, 0.02, 0.1, 0.5])


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 6])
def test_front_agrees_with_the_definition_on_random_inputs(width: int) -> None:
    rng = random.Random(1000 + width)
    for _ in range(400):
        points, goals, margin = random_case(rng, width)
        expected = reference_front(points, goals, margin)
        assert front(points, goals, margin) == expected, (points, [str(g) for g in goals], margin)


@pytest.mark.parametrize("width", [2, 3, 4])
def test_front_agrees_with_the_definition_on_continuous_values(width: int) -> None:
    rng = random.Random(width)
    for _ in range(40):
        points = [[rng.uniform(-5, 5) for _ in range(width)] for _ in range(150)]
        goals = [Objective(key=f"k{j}", sense=rng.choice(["max", "min"])) for j in range(width)]
        for margin in (None, 0.02, 0.3):
            assert front(points, goals, margin) == reference_front(points, goals, margin)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_the_margin_front_contains_the_exact_front(width: int) -> None:
    rng = random.Random(7 * width)
    grew = 0
    for _ in range(100):
        points, goals, margin = random_case(rng, width)
        exact = front(points, [Objective(key=g.key, sense=g.sense) for g in goals])
        relaxed = front(points, goals, margin)
        assert all(r for r, e in zip(relaxed, exact, strict=True) if e)
        grew += sum(relaxed) > sum(exact)
    assert grew > 0  # margins did keep more points in some cases


def test_the_definition_itself_on_a_worked_example() -> None:
    # q = (10, 5) and p = (9.6, 5): 5 % of 9.6 is 0.48 -> 10.08 > 10, so q no longer beats p;
    # 5 % of 9.4 is 0.47 -> 9.87 < 10. Power has a zero margin of its own.
    goals = objectives("Result:max", "Power:min:0")
    assert reference_front([(10, 5), (9.6, 5)], goals) == [True, False]
    assert reference_front([(10, 5), (9.6, 5)], goals, margin=0.05) == [True, True]
    assert reference_front([(10, 5), (9.4, 5)], goals, margin=0.05) == [True, False]


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "goals", "margin", "problem"),
    [
        ([(1.0, 2.0)], [], None, "at least one objective"),
        ([(1.0, 2.0), (1.0,)], [MAX, MAX], None, "point 1 has 1 values for 2 objectives"),
        ([(1.0, math.nan)], [MAX, MIN], None, "point 0: b = nan is not a finite number"),
        ([(1.0,), (math.inf,)], [MAX], None, "point 1: a = inf is not a finite number"),
        ([("3",)], [MAX], None, "point 0: a = '3' is not a finite number"),
        ([(1.0,)], [MAX], -0.1, "margin=-0.1 is not a fraction >= 0"),
        ([(1.0,)], [MAX], math.nan, "margin=nan is not a fraction >= 0"),
        ([(1.0,)], ["a:max"], None, "'a:max' is not an Objective"),
    ],
)
def test_front_errors(values: Any, goals: Any, margin: Any, problem: str) -> None:
    with pytest.raises(InvalidInput) as err:
        front(values, goals, margin)
    assert problem in err.value.message


# --- rows -------------------------------------------------------------------------------------

ROWS: list[dict[str, Any]] = [
    {"Model": "resnet50", "System": "a", "Result": "1000", "Power": 300},
    {"Model": "resnet50", "System": "b", "Result": 900, "Power": "350.5"},  # dominated
    {"Model": "resnet50", "System": "c", "Result": 800, "Power": 200},
    {"Model": "resnet50", "System": "d", "Result": 1200},  # no Power
    {"Model": "bert-99", "System": "a", "Result": 90, "Power": 500},  # alone in its group
    {"Model": "bert-99", "System": "e", "Result": "n/a", "Power": True},  # neither counts
    {"System": "f", "Result": 1, "Power": 1},  # no Model: a group of its own
    {"Model": "resnet50", "System": "g", "Result": 1100, "Power": 290},
]
GOALS = objectives("Result:max", "Power:min")


def test_select_marks_the_front_of_each_group_and_counts_rows_left_out() -> None:
    result = select(ROWS, GOALS, group_by=["Model"])
    assert result.on_front == (False, False, True, False, True, False, True, True)
    assert result.indices == (2, 4, 6, 7)
    assert result.left_out == (3, 5)
    assert result.missing == {"Result": 1, "Power": 2}
    assert result.groups == 3
    warning = result.warning()
    assert "2 of 8 rows left out" in warning and "Result (1), Power (2)" in warning


def test_select_without_groups_and_with_a_margin() -> None:
    plain = select(ROWS, GOALS)
    assert plain.indices == (2, 6, 7) and plain.groups == 1  # row 2 beats bert-99's row 4
    relaxed = select(ROWS, GOALS, margin=0.1)  # row 0 improved: (1100, 270); row 7 has 290 W
    assert relaxed.indices == (0, 2, 6, 7)
    assert select([], GOALS).on_front == () and select([], GOALS).warning() == ""


def test_select_refuses_a_bad_margin_even_without_rows() -> None:
    with pytest.raises(InvalidInput, match="margin"):
        select([], GOALS, margin=-1)
