"""The ``cmind`` stand-in seen by customize.py hooks: utils with CM's result conventions."""

from __future__ import annotations

import sys
from pathlib import Path

from cairn.compat import importing


def test_utils_follow_cms_conventions(tmp_path: Path) -> None:
    with importing.active():
        from cmind import utils

        assert utils.compare_versions({"version1": "3.10.2", "version2": "3.9"})["comparison"] == 1
        assert utils.compare_versions({"version1": "1.2", "version2": "1.2.0"})["comparison"] == 0
        assert (
            utils.compare_versions({"version1": "1.2-rc1", "version2": "1.2"})["comparison"] == -1
        )
        assert utils.compare_versions({"version1": "1"})["return"] == 1
        (tmp_path / "a.txt").write_text("x\ny\n")
        assert utils.load_txt(str(tmp_path / "a.txt"), split=True)["list"] == ["x", "y"]
        assert utils.load_txt(str(tmp_path / "none"))["return"] == 16
        merged = utils.merge_dicts(
            {
                "dict1": {"a": [1], "b": {"c": 1}},
                "dict2": {"a": [1, 2], "b": {"d": 2}},
                "append_lists": True,
                "append_unique": True,
            }
        )["dict1"]
        assert merged == {"a": [1, 2], "b": {"c": 1, "d": 2}}
    assert "cmind" not in sys.modules or "shim" not in str(sys.modules["cmind"].__file__)
