"""The types that API users and mypy see: the package says it is typed (``py.typed``)."""

from __future__ import annotations

import re
from pathlib import Path

import cairn

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_ships_its_py_typed_marker() -> None:
    package = Path(cairn.__file__).parent
    assert (package / "py.typed").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    package_data = r'^\[tool\.setuptools\.package-data\]\ncairn = \[[^\]]*"py\.typed"'
    assert re.search(package_data, pyproject, re.MULTILINE)
