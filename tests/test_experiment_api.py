"""The Python API of experiments (``cairn.Experiment(NAME)``), as a notebook uses it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import cairn

CODE = (
    "import json, sys; n = int(sys.argv[1]); t = int(sys.argv[2]);"
    " json.dump({'speed': n * t, 'cost': n + t}, open('cm-output.json', 'w'))"
)


def test_run_table_pareto_plot_compare_and_replay(tmp_path: Path) -> None:
    exp = cairn.Experiment("api-sweep")
    command = [sys.executable, "-c", CODE, "{{n}}", "{{t}}"]
    done = exp.run(command=command, explore={"n": [1, 2, 3], "t": "1..2"}, jobs=2)
    assert done["runs"] == 6 and done["failed"] == 0
    rows = exp.table(filter="speed>=3", sort="-speed")
    assert [r["speed"] for r in rows] == [6, 4, 3]
    front = exp.pareto(["speed:max", "cost:min"], plot=[str(tmp_path / "f.html")])
    # (3, 1) is beaten by (2, 2); (1, 2) and (2, 1) tie, so both stay
    assert {(r["n"], r["t"]) for r in front["front"]} == {(1, 1), (1, 2), (2, 1), (2, 2), (3, 2)}
    assert (tmp_path / "f.html").is_file()
    assert exp.plot("cost:min", "speed:max", [str(tmp_path / "p.svg")]) == [str(tmp_path / "p.svg")]
    other = cairn.Experiment("api-other")
    other.run(command=command, explore={"n": [1], "t": [1]})
    compared = exp.compare("api-other")
    assert [p["match"] for p in compared["pairs"]] == [{"n": 1, "t": 1}]
    assert exp.replay(tolerance="0")["reproduced"] is True
    assert [a.alias for a in cairn.find("experiment")] == ["api-other", "api-sweep"]


def test_errors_raise_typed_exceptions() -> None:
    with pytest.raises(cairn.NotFound):
        cairn.Experiment("missing").table()
    with pytest.raises(cairn.InvalidInput, match="either a script"):
        cairn.Experiment("x").run(explore={"n": [1]})


def test_no_user_text_is_ever_evaluated() -> None:
    """The feature parses spaces, filters and objectives itself: no eval/exec anywhere."""
    import ast

    package = Path(cairn.__file__).parent
    files = [
        *package.joinpath("experiment").glob("*.py"),
        package / "automations" / "experiment.py",
    ]
    called = {
        node.func.id
        for path in files
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert len(files) > 10 and not called & {"eval", "exec", "compile", "__import__"}
