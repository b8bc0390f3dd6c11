"""cmx4mlops' own automations (``repo/automation/*/module.py``) through cairn's shim."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.compat.conftest import Cairn


def test_cmx_demo_action_runs_from_its_modulex(cairn: Cairn) -> None:
    done = cairn("test", "cmx-demo", "--x=1")
    assert done.returncode == 0, done.stderr
    folder = cairn.root / "repo" / "automation" / "cmx-demo"
    assert str(folder / "modulex.py") in done.stdout  # self.automation_file_path
    assert "cmx-demo,7099bc46c47f4a5e" in done.stdout  # self.artifact
    assert '"x": "1"' in done.stdout  # the input it printed


def test_load_cfg_finds_the_repositorys_cfg_artifacts(cairn: Cairn) -> None:
    """cairn serves ``load_cfg`` (as the repository's utils module would) on its cfg folders."""
    done = cairn("load_cfg", "utils", "--tags=benchmark,run", "--skip_files", "--out=json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    found = {Path(m["full_path"]).name for m in result["selection"]}
    expected = {
        p.parent.name
        for p in (cairn.root / "repo" / "cfg").glob("*/_cm.*")
        if "benchmark" in p.read_text() and "run" in p.read_text()
    }
    assert found and found <= expected


def test_utils_download_file_is_cairns_own(cairn: Cairn, tmp_path: Path) -> None:
    """The repository's download_file needs ``requests``; cairn serves the action itself."""
    (tmp_path / "src.bin").write_bytes(b"\x00\x01data")
    done = cairn(
        "download_file",
        "utils",
        f"--url={(tmp_path / 'src.bin').as_uri()}",
        f"--path={tmp_path}",
        "--filename=copy.bin",
        "--out=json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["size"] == 6
    assert (tmp_path / "copy.bin").read_bytes() == b"\x00\x01data"


def test_cairns_script_automation_is_never_replaced(cairn: Cairn) -> None:
    done = cairn("dockerfile", "script", "detect-os")
    assert done.returncode == 4
    assert "'dockerfile' not found in automation 'script'" in done.stderr


def test_json2yaml_of_the_repositorys_utils_module(cairn: Cairn, tmp_path: Path) -> None:
    """An action cairn does not implement: CM's own module code runs on the shim's utils."""
    (tmp_path / "meta.json").write_text('{"alias": "x", "tags": ["a", "b"]}')
    done = cairn("json2yaml", "utils", f"--input={tmp_path / 'meta.json'}")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "meta.yaml").read_text() == "alias: x\ntags:\n- a\n- b\n"


def test_cairns_experiment_serves_the_kind_cms_module_describes(cairn: Cairn) -> None:
    """cmx4mlops carries CM's own experiment automation; cairn's runs instead (decided in
    docs/experiments.md), writes CM's layout, and CM's actions it lacks say what to use."""
    assert (cairn.root / "repo" / "automation" / "experiment" / "module.py").is_file()
    code = "import json, sys; json.dump({'v': int(sys.argv[1]) * 2}, open('cm-output.json', 'w'))"
    done = cairn(
        "run",
        "experiment",
        "cm-layout",
        "--explore.n=1,2",
        "--out=json",
        "--",
        sys.executable,
        "-c",
        code,
        "{{n}}",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [row["v"] for row in data["rows"]] == [2, 4]
    folder = Path(data["path"]) / data["sweep"]
    assert json.loads((folder / "cm-input.json").read_text())["explore"] == {"n": "1,2"}
    assert len(json.loads((folder / "cm-result.json").read_text())) == 2
    rerun = cairn("rerun", "experiment", "cm-layout")
    assert rerun.returncode == 4 and "--resume" in rerun.stderr
