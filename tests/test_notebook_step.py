"""Notebooks as script steps: ``run.ipynb`` run headless with a real Jupyter kernel."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import json_out
from tests.script_fixtures import ScriptRepo

pytest.importorskip("nbclient", reason="nbclient is not installed (pip install 'cairn[notebook]')")
pytest.importorskip(
    "ipykernel", reason="ipykernel is not installed (pip install 'cairn[notebook]')"
)

Cli = Callable[..., subprocess.CompletedProcess[str]]


def cell(source: str, *tags: str, outputs: list[Any] | None = None) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": list(tags)},
        "outputs": outputs or [],
        "source": source,
    }


def notebook(*cells: dict[str, Any]) -> str:
    """The notebook as Jupyter saves it: each cell's source a list of lines."""
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    saved = [{**c, "source": c["source"].splitlines(keepends=True)} for c in cells]
    return json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": meta, "cells": saved})


TRAIN = [
    cell("DATA_FILE = ''\nSCALE = '1'", "parameters"),
    cell(
        "import cairn.notebook\n"
        "rows = open(DATA_FILE).read().split()\n"
        "score = len(rows) * int(SCALE)"
    ),
    cell("cairn.notebook.record(NB_SCORE=score, nb_rows=rows)"),
]


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    """``get data`` (cached) -> ``train`` (a notebook, cached) -> ``evaluate`` (reads its score)."""
    repo = ScriptRepo(tmp_path / "nbrepo")
    repo.add(
        "get-data",
        {"cache": True, "new_env_keys": ["DATA_FILE"]},
        tags=["get", "data"],
        run='printf "a\\nb\\nc\\n" > data.txt\necho "DATA_FILE=$PWD/data.txt" > tmp-run-env.out\n',
    )
    folder = repo.add(
        "train",
        {
            "cache": True,
            "deps": [{"tags": "get,data"}],
            "input_mapping": {"scale": "SCALE"},
            "new_env_keys": ["NB_*"],
            "new_state_keys": ["nb_rows"],
        },
        tags=["train"],
    )
    (folder / "run.ipynb").write_text(notebook(*TRAIN))
    repo.add(
        "evaluate",
        {"deps": [{"tags": "train"}], "new_env_keys": ["VERDICT"]},
        tags=["evaluate"],
        run='echo "VERDICT=score-$NB_SCORE" > tmp-run-env.out\n',
    )
    return folder


def test_a_notebook_step_feeds_the_next_script_and_is_cached_on_its_code(
    cli: Cli, pipeline: Path
) -> None:
    first = json_out(cli("run", "script", "evaluate", "--out=json"))
    assert first["new_env"] == {"VERDICT": "score-3"}
    (train,) = first["deps"]
    assert train["cache"] == "miss" and train["new_state"] == {"nb_rows": ["a", "b", "c"]}
    executed = Path(train["cache_entry"]) / "run.executed.ipynb"
    outputs = json.loads(executed.read_text())["cells"]
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in outputs)
    assert json_out(cli("run", "script", "evaluate", "--out=json"))["deps"][0]["cache"] == "hit"
    resaved = [dict(c) for c in TRAIN]
    resaved[1] = cell(
        TRAIN[1]["source"],
        outputs=[{"output_type": "stream", "name": "stdout", "text": "anything\n"}],
    )
    resaved[1]["execution_count"] = 7
    (pipeline / "run.ipynb").write_text(notebook(*resaved))
    assert json_out(cli("run", "script", "evaluate", "--out=json"))["deps"][0]["cache"] == "hit"
    edited = [dict(c) for c in TRAIN]
    edited[1] = cell(TRAIN[1]["source"].replace("* int(SCALE)", "* int(SCALE) * 10"))
    (pipeline / "run.ipynb").write_text(notebook(*edited))
    again = json_out(cli("run", "script", "evaluate", "--out=json"))
    assert again["deps"][0]["cache"] == "miss" and again["new_env"] == {"VERDICT": "score-30"}
    scaled = json_out(cli("run", "script", "evaluate", "--env.SCALE=2", "--out=json"))
    assert scaled["new_env"] == {"VERDICT": "score-60"}  # the env reaches the notebook


def test_a_failing_cell_names_its_number_and_keeps_the_executed_copy(
    cli: Cli, tmp_path: Path
) -> None:
    repo = ScriptRepo(tmp_path / "bad")
    folder = repo.add("broken", {"cache": True}, tags=["broken"])
    (folder / "run.ipynb").write_text(
        notebook(cell("x = 1"), cell("y = x + 1\nraise ValueError('no data for the model')\nz = 3"))
    )
    done = cli("run", "script", "broken")
    assert done.returncode != 0
    assert "cell 2 of the notebook failed: ValueError: no data for the model" in done.stderr
    assert "| y = x + 1" in done.stderr
    assert "the partly executed notebook is kept in " in done.stderr, done.stderr
    kept = Path(done.stderr.split("the partly executed notebook is kept in ")[1].split()[0])
    injected, first, failed = json.loads(kept.read_text())["cells"]  # no parameters cell
    assert injected["metadata"]["tags"] == ["injected-parameters"]  # so the values go first
    assert first["outputs"] == [] and failed["outputs"][0]["ename"] == "ValueError"


def test_a_sweep_over_a_notebook_parameter(cli: Cli, pipeline: Path) -> None:
    done = cli(
        "run",
        "experiment",
        "nb",
        "--script=train",
        "--explore.scale=1,2,3",
        "--result=NB_SCORE",
        "--out=json",
    )
    assert done.returncode == 0, done.stderr
    assert [r["NB_SCORE"] for r in json_out(done)["rows"]] == ["3", "6", "9"]


def test_notebook_artifacts_are_added_loaded_and_run_with_parameters(
    cli: Cli, tmp_path: Path
) -> None:
    source = tmp_path / "report.ipynb"
    source.write_text(
        notebook(
            cell("threshold = 0.5  # the cut\nlabel: str = 'demo'", "parameters"),
            cell(
                "import cairn.notebook\ncairn.notebook.record(PASSED=float(threshold) < 0.8, "
                "LABEL=label, table={'t': float(threshold)})"
            ),
        )
    )
    added = cli("add", "notebook", "report", f"--file={source}", "--tags=report,accuracy")
    assert added.returncode == 0, added.stderr
    found = cli("find", "notebook", "--tags=accuracy")
    assert found.stdout.strip().endswith("report")
    loaded = json_out(cli("load", "notebook", "report", "--out=json"))
    assert loaded["kernel"] == "python3"
    assert loaded["parameters"] == {"threshold": "0.5", "label": "'demo'"}
    assert loaded["preview"][0] == "[code] threshold = 0.5  # the cut"
    out = tmp_path / "ran"
    done = json_out(
        cli("run", "notebook", "report", "--param.threshold=0.9", f"--to={out}", "--out=json")
    )
    assert done["new_env"] == {"PASSED": "False", "LABEL": "demo"}
    assert done["new_state"] == {"table": {"t": 0.9}}
    assert Path(done["executed"]).is_file() and Path(done["executed"]).parent == out
    assert sorted(p.name for p in out.iterdir()) == ["report.executed.ipynb"]  # no tmp-* files
    failed = cli("run", "notebook", "report", "--param.threshold=oops", f"--to={out}")
    assert failed.returncode == 1
    assert "cell 2 of the notebook failed: ValueError: could not convert" in failed.stderr
    assert f"the partly executed notebook is kept in {out / 'report.executed.ipynb'}" in (
        failed.stderr
    )
    wrong = cli("add", "notebook", "bad", f"--file={tmp_path / 'missing.ipynb'}")
    assert wrong.returncode == 1 and "not a readable notebook" in wrong.stderr


def test_the_api_renders_tables_and_fronts_inside_jupyter(cli: Cli, tmp_path: Path) -> None:
    """A real kernel runs the API: the table and the front come out as HTML, the plot inline."""
    code = (
        "import json, sys; n = int(sys.argv[1]);"
        " json.dump({'a': n, 'b': 10 - n}, open('cm-output.json', 'w'))"
    )
    source = tmp_path / "api.ipynb"
    source.write_text(
        notebook(
            cell(
                f"import sys, cairn\nexp = cairn.Experiment('in-jupyter')\n"
                f"exp.run(command=[sys.executable, '-c', {code!r}, '{{{{n}}}}'],"
                " explore={'n': [1, 2, 3]})"
            ),
            cell("exp.table(sort='-a')"),
            cell(f"exp.pareto(['a:max', 'b:max'], plot=[{str(tmp_path / 'f.svg')!r}])"),
        )
    )
    assert cli("add", "notebook", "api", f"--file={source}").returncode == 0
    done = json_out(cli("run", "notebook", "api", f"--to={tmp_path / 'ran'}", "--out=json"))
    cells = json.loads(Path(done["executed"]).read_text())["cells"]
    table = "".join(cells[-2]["outputs"][0]["data"]["text/html"])
    front = "".join(cells[-1]["outputs"][0]["data"]["text/html"])
    assert "<th>n</th><th>a</th><th>b</th><th>status</th>" in table and "<td>3</td>" in table
    assert "3 of 3 points on the front" in front and 'src="data:image/svg+xml;base64,' in front


def test_scrapbook_glue_is_read_and_an_uncached_steps_copy_is_kept(
    cli: Cli, tmp_path: Path, cairn_home: Path
) -> None:
    repo = ScriptRepo(tmp_path / "glue")
    folder = repo.add(
        "glued", {"new_env_keys": ["glued_*"], "new_state_keys": ["glued_*"]}, tags=["glued"]
    )
    mime = "application/scrapbook.scrap.json+json"
    (folder / "run.ipynb").write_text(
        notebook(
            cell(
                "from IPython.display import display\n"
                f"display({{{mime!r}: {{'name': 'glued_score', 'data': 7, 'encoder': 'json',"
                " 'version': 1}}, raw=True)\n"
                f"display({{{mime!r}: {{'name': 'glued_list', 'data': [1, 2], 'encoder': 'json',"
                " 'version': 1}}, raw=True)"
            )
        )
    )
    done = json_out(cli("run", "script", "glued", "--out=json"))
    assert done["new_env"] == {"glued_score": "7"} and done["new_state"] == {"glued_list": [1, 2]}
    record = json.loads(
        (cairn_home / "local" / "run" / done["run_record"] / "cairn-run.json").read_text()
    )
    kept = Path(record["tree"]["notebook"])  # a copy in the record: the next run reuses cwd
    assert kept.parent == cairn_home / "local" / "run" / done["run_record"]
    assert kept.read_text() == (tmp_path / "run.executed.ipynb").read_text()  # where it ran
    assert not list(tmp_path.glob("tmp-*"))  # cairn's own files are removed, as for run.sh
    shown = cli("show", "run", done["run_record"]).stdout
    assert f"  executed notebook: {kept}" in shown


def test_script_name_picks_the_notebook_and_the_hooks_run_around_it(
    cli: Cli, tmp_path: Path
) -> None:
    repo = ScriptRepo(tmp_path / "hooks")
    folder = repo.add(
        "hooked",
        {"script_name": "analysis", "new_env_keys": ["OUT_*"]},
        tags=["hooked"],
        customize=(
            "def preprocess(i):\n"
            "    i['env']['GREETING'] = 'hi there'\n"
            "    return {'return': 0}\n"
            "def postprocess(i):\n"
            "    i['env']['OUT_POST'] = i['env']['OUT_SAID'] + '!'\n"
            "    return {'return': 0}\n"
        ),
    )
    (folder / "analysis.ipynb").write_text(
        notebook(cell("import cairn.notebook\ncairn.notebook.record(OUT_SAID=GREETING.upper())"))
    )
    done = json_out(cli("run", "script", "hooked", "--out=json"))
    assert done["new_env"] == {"OUT_SAID": "HI THERE", "OUT_POST": "HI THERE!"}
    assert (tmp_path / "analysis.executed.ipynb").is_file()


def test_a_notebook_runs_on_the_kernel_its_spec_names(cli: Cli, tmp_path: Path) -> None:
    """A kernel cairn does not know as ipykernel keeps Jupyter's default transport (TCP)."""
    launch = "import runpy; runpy.run_module('ipyk' + 'ernel_launcher', run_name='__main__')"
    spec = tmp_path / "jupyter" / "kernels" / "custom"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c", launch, "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
    source = tmp_path / "custom.ipynb"
    body = json.loads(notebook(cell("import cairn.notebook, sys\ncairn.notebook.record(K=1)")))
    body["metadata"]["kernelspec"] = {"name": "custom", "display_name": "Custom"}
    source.write_text(json.dumps(body))
    env = {"JUPYTER_PATH": str(tmp_path / "jupyter")}
    assert cli("add", "notebook", "custom", f"--file={source}", env=env).returncode == 0
    done = cli("run", "notebook", "custom", "--out=json", env=env)
    assert done.returncode == 0, done.stderr
    assert json_out(done)["new_env"] == {"K": "1"}
