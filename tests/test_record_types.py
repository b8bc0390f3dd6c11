"""The types that API users and mypy see: record constructors are checked, and the package
says it is typed (``py.typed``)."""

from __future__ import annotations

import re
from pathlib import Path

import mypy.api

import cairn

ROOT = Path(__file__).resolve().parents[1]

# Each line marked `# E: code` must be reported by mypy with that error code; no other line.
SAMPLE = """\
from __future__ import annotations

from cairn.record import Defaulted, MutableDefaulted, field
from cairn.script.context import RunInput


class Sized(Defaulted):
    name: str
    size: int = 1
    env: dict[str, str] = field(default_factory=dict)


class Count(MutableDefaulted):
    count: int = 0


class Wrong(Defaulted):
    items: list[str] = field(default_factory=set)  # E: arg-type
    late: int  # E: misc


Sized("a", 2, {"K": "v"})
Sized(name="a", env={})
Sized(nam="a")  # E: call-arg
Sized("a", size="big")  # E: arg-type
Sized()  # E: call-arg
Sized("a", 1, {}, 4)  # E: call-arg
Sized("a").size = 2  # E: misc
Count().count += 1
RunInput(tags="x", env={"A": "1"}, force_cache=True)
RunInput(tgas="x")  # E: call-arg
RunInput(new="yes")  # E: arg-type
"""


def test_mypy_checks_the_constructor_calls_of_records(tmp_path: Path) -> None:
    """The sample sits outside the package, like an API user's code: mypy follows its imports
    into cairn only because of ``py.typed``, and checks the calls by the records' fields."""
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    expected = {
        (number, match.group(1))
        for number, line in enumerate(SAMPLE.splitlines(), 1)
        if (match := re.search(r"# E: ([\w-]+)$", line))
    }
    out, err, _ = mypy.api.run(
        [
            str(sample),
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
        ]
    )
    reported = {
        (int(m.group(1)), m.group(2))
        for m in re.finditer(r"^[^:\n]+:(\d+): error: .*\[([\w-]+)\]$", out, re.MULTILINE)
    }
    assert reported == expected, out + err


def test_the_package_ships_its_py_typed_marker() -> None:
    package = Path(cairn.__file__).parent
    assert (package / "py.typed").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    package_data = r'^\[tool\.setuptools\.package-data\]\ncairn = \[[^\]]*"py\.typed"'
    assert re.search(package_data, pyproject, re.MULTILINE)
