"""Cache keys scoped to what each script reads (issue: the engine plans before it runs).

The pipeline of the issue: ``evaluate -> train -> get-data``, all cached. ``evaluate`` maps
``--epochs`` and ``--min_acc``; ``train`` reads the epochs and a learning rate in its
``customize.py``; ``get-data`` reads only a data size in ``run.sh``. Each counts its
executions in a file outside the cache.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.script_fixtures import ScriptRepo, cache_entries, count, counter, ok


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    return ScriptRepo(tmp_path / "repo")


def pipeline(repo: ScriptRepo, runs: Path) -> None:
    repo.add(
        "get-data",
        {"cache": True, "default_env": {"DATA_SIZE": "10"}, "new_env_keys": ["DATA_*"]},
        run=counter(runs / "data") + 'echo "DATA_PATH=$PWD/data-$DATA_SIZE" > tmp-run-env.out\n',
    )
    repo.add(
        "train",
        {
            "cache": True,
            "default_env": {"TRAIN_LR": "0.1"},
            "deps": [{"tags": "get-data"}],
            "new_env_keys": ["MODEL_*"],
        },
        customize=f"""
            def preprocess(i):
                env = i['env']
                open({str(runs / "train")!r}, 'a').write('x\\n')
                env['MODEL_PATH'] = 'model-' + env['TRAIN_EPOCHS'] + '-' + env['TRAIN_LR']
                env['MODEL_DATA'] = env['DATA_PATH']
                return {{'return': 0}}
            """,
    )
    repo.add(
        "evaluate",
        {
            "cache": True,
            "default_env": {"TRAIN_EPOCHS": "10", "EVAL_MIN_ACC": "0.5"},
            "input_mapping": {"epochs": "TRAIN_EPOCHS", "min_acc": "EVAL_MIN_ACC"},
            "deps": [{"tags": "train"}],
            "new_env_keys": ["EVAL_*"],
        },
        run=counter(runs / "evaluate")
        + 'echo "EVAL_RESULT=$MODEL_PATH>=$EVAL_MIN_ACC" > tmp-run-env.out\n',
    )


def counts(runs: Path) -> tuple[int, int, int]:
    return count(runs / "evaluate"), count(runs / "train"), count(runs / "data")


def test_a_sweep_over_a_top_input_runs_the_steps_below_once(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    pipeline(repo, tmp_path)
    for acc in ("0.6", "0.7", "0.8", "0.9"):
        r = ok("evaluate", min_acc=acc)
        assert r["new_env"]["EVAL_RESULT"] == f"model-10-0.1>={acc}"
    assert counts(tmp_path) == (4, 1, 1)


def test_a_sweep_over_epochs_runs_the_bottom_once(repo: ScriptRepo, tmp_path: Path) -> None:
    pipeline(repo, tmp_path)
    for epochs in ("1", "2", "3", "4"):
        r = ok("evaluate", epochs=epochs)
        assert r["new_env"]["EVAL_RESULT"] == f"model-{epochs}-0.1>=0.5"
        assert [d["cache"] for d in r["deps"]] == ["miss"]
    assert counts(tmp_path) == (4, 4, 1)
    again = ok("evaluate", epochs="2")
    assert again["cache"] == "hit" and counts(tmp_path) == (4, 4, 1)


def test_a_value_a_step_reads_recomputes_that_step_and_those_above(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    pipeline(repo, tmp_path)
    ok("evaluate")
    ok("evaluate", env={"EVAL_MIN_ACC": "0.9"})  # only evaluate reads it
    assert counts(tmp_path) == (2, 1, 1)
    r = ok("evaluate", env={"TRAIN_LR": "0.01"})  # train reads it in customize.py
    assert r["new_env"]["EVAL_RESULT"] == "model-10-0.01>=0.5"
    assert counts(tmp_path) == (3, 2, 1)
    r = ok("evaluate", env={"DATA_SIZE": "20"})  # get-data's run.sh reads it
    assert counts(tmp_path) == (4, 3, 2)
    assert r["deps"][0]["deps"][0]["new_env"]["DATA_PATH"].endswith("/data-20")
    for env in ({}, {"EVAL_MIN_ACC": "0.9"}, {"TRAIN_LR": "0.01"}, {"DATA_SIZE": "20"}):
        assert ok("evaluate", env=env)["cache"] == "hit"
    assert counts(tmp_path) == (4, 3, 2)


def test_a_value_only_a_deep_dependency_reads_still_splits_the_top(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    """Correctness first: the top never reads DATA_SIZE, but its result depends on it."""
    pipeline(repo, tmp_path)
    first = ok("evaluate", env={"DATA_SIZE": "1"})
    second = ok("evaluate", env={"DATA_SIZE": "2"})
    assert second["cache"] == "miss"
    assert first["cache_entry"] != second["cache_entry"]
    entry = json.loads((Path(second["cache_entry"]) / "_cm.json").read_text())
    assert "env:DATA_SIZE" in entry["cairn_reads"]["items"]
    assert entry["cairn_reads"]["values"]["env:DATA_SIZE"][0] == "2"


def test_hook_reads_are_tracked(repo: ScriptRepo, tmp_path: Path) -> None:
    """A name built at run time (not in any file) is seen when the hook reads it."""
    repo.add(
        "dynamic",
        {"cache": True, "new_env_keys": ["OUT"]},
        customize=f"""
            def preprocess(i):
                open({str(tmp_path / "runs")!r}, 'a').write('x\\n')
                name = 'SECRET' + '_' + 'LEVEL'
                i['env']['OUT'] = i['env'].get(name, 'none')
                return {{'return': 0}}
            """,
    )
    assert ok("dynamic", env={"SECRET_LEVEL": "1"})["new_env"] == {"OUT": "1"}
    assert ok("dynamic", env={"SECRET_LEVEL": "2"})["new_env"] == {"OUT": "2"}
    assert ok("dynamic", env={"SECRET_LEVEL": "1"})["cache"] == "hit"
    assert ok("dynamic", env={"SECRET_LEVEL": "1", "UNREAD": "x"})["cache"] == "hit"
    assert count(tmp_path / "runs") == 2


def test_a_hook_that_iterates_the_env_reads_its_key_set(repo: ScriptRepo, tmp_path: Path) -> None:
    repo.add(
        "lister",
        {"cache": True, "new_env_keys": ["SEEN"]},
        customize="""
            def preprocess(i):
                i['env']['SEEN'] = ','.join(sorted(k for k in i['env'] if k.startswith('X_')))
                return {'return': 0}
            """,
    )
    assert ok("lister", env={"X_A": "1"})["new_env"] == {"SEEN": "X_A"}
    assert ok("lister", env={"X_A": "1", "X_B": "1"})["new_env"] == {"SEEN": "X_A,X_B"}
    assert ok("lister", env={"X_A": "1"})["cache"] == "hit"


def test_state_a_hook_reads_is_in_the_key(repo: ScriptRepo) -> None:
    repo.add(
        "stateful",
        {"cache": True, "new_env_keys": ["MODE"]},
        customize="""
            def preprocess(i):
                i['env']['MODE'] = str(i['state'].get('mode', 'plain'))
                return {'return': 0}
            """,
    )
    assert ok("stateful", state={"mode": "fast"})["new_env"] == {"MODE": "fast"}
    assert ok("stateful", state={"mode": "slow"})["new_env"] == {"MODE": "slow"}
    assert ok("stateful", state={"mode": "fast", "other": 1})["cache"] == "hit"


def test_exports_that_pass_a_callers_value_through_are_keyed_on_it(repo: ScriptRepo) -> None:
    """``new_env_keys`` exports the final env: a caller's matching value flows out."""
    repo.add("passer", {"cache": True, "new_env_keys": ["PASS_*"]}, run="true\n")
    assert ok("passer", env={"PASS_A": "1"})["new_env"] == {"PASS_A": "1"}
    r = ok("passer", env={"PASS_A": "2"})
    assert r["cache"] == "miss" and r["new_env"] == {"PASS_A": "2"}


def native_reader(repo: ScriptRepo, runs: Path, **meta: Any) -> None:
    """A native program reads an env value named nowhere in the script's files."""
    repo.add(
        "opaque",
        {"cache": True, "new_env_keys": ["DIGEST"], **meta},
        run=counter(runs) + 'echo "DIGEST=$(printenv | grep -c ^HID)" > tmp-run-env.out\n',
    )


def test_a_native_read_named_nowhere_is_the_documented_limit(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    native_reader(repo, tmp_path / "runs")
    assert ok("opaque", env={"HIDDEN": "1"})["new_env"] == {"DIGEST": "1"}
    assert ok("opaque", env={"HIDDEN": "1", "HIDDEN_TOO": "1"})["cache"] == "hit"


def test_cache_key_env_in_the_meta_widens_the_key(repo: ScriptRepo, tmp_path: Path) -> None:
    native_reader(repo, tmp_path / "runs", cache_key_env=["HIDDEN*"])
    assert ok("opaque", env={"HIDDEN": "1"})["new_env"] == {"DIGEST": "1"}
    r = ok("opaque", env={"HIDDEN": "1", "HIDDEN_TOO": "1"})
    assert r["cache"] == "miss" and r["new_env"] == {"DIGEST": "2"}


def test_cache_key_env_flag_widens_every_key_of_the_run(repo: ScriptRepo, tmp_path: Path) -> None:
    native_reader(repo, tmp_path / "runs")
    ok("opaque", env={"HIDDEN": "1"})
    r = ok("opaque", env={"HIDDEN": "1", "HIDDEN_TOO": "1"}, cache_key_env="HIDDEN*")
    assert r["cache"] == "miss" and r["new_env"] == {"DIGEST": "2"}


def test_entries_of_the_old_format_are_misses_never_served(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path
) -> None:
    pipeline(repo, tmp_path)
    ok("get-data")
    [entry] = cache_entries(cairn_home)
    meta_file = Path(entry["path"]) / "_cm.json"
    old = {k: v for k, v in entry.items() if k not in ("path", "cairn_reads")}
    old["cairn_inputs"]["format"] = 1
    meta_file.write_text(json.dumps(old))
    assert ok("get-data")["cache"] == "miss"
    assert count(tmp_path / "data") == 2


def test_a_broken_manifest_is_a_warned_miss_then_rewritten(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path
) -> None:
    pipeline(repo, tmp_path)
    ok("get-data")
    [manifest] = (cairn_home / "cache-manifests").rglob("*.json")
    manifest.write_text("{not json")
    r = ok("get-data")
    assert r["cache"] == "miss"
    assert any("broken cache manifest" in w for w in r.get("warnings", []))
    assert json.loads(manifest.read_text())["format"] == 2
    assert ok("get-data")["cache"] == "hit"


def test_new_replaces_the_entry_found_by_reads(
    repo: ScriptRepo, tmp_path: Path, cairn_home: Path
) -> None:
    pipeline(repo, tmp_path)
    ok("get-data", env={"UNREAD": "1"})
    renewed = ok("get-data", env={"UNREAD": "2"}, new=True)
    assert renewed["cache"] == "miss"
    assert len(cache_entries(cairn_home)) == 1
    assert ok("get-data")["cache_entry"] == renewed["cache_entry"]


def test_an_input_no_script_takes_is_warned_with_a_guess(
    repo: ScriptRepo, tmp_path: Path, cli: Any
) -> None:
    pipeline(repo, tmp_path)
    r = ok("evaluate", epoch="50")
    [warning] = [w for w in r.get("warnings", []) if "--epoch " in w]
    assert "did you mean --epochs?" in warning
    assert count(tmp_path / "evaluate") == 1
    quiet = ok("evaluate", epochs="50", input="x", path=".")
    assert not [w for w in quiet.get("warnings", []) if "taken by no script" in w]
    before = count(tmp_path / "evaluate")
    proc = cli("run", "script", "evaluate", "--epoch=51", "--strict")
    assert proc.returncode != 0
    assert "--epoch is taken by no script" in proc.stderr and "--epochs" in proc.stderr
    assert count(tmp_path / "evaluate") == before  # nothing ran
    planned = cli("run", "script", "evaluate", "--epoch=50", "--explain")
    assert planned.returncode == 0 and "did you mean --epochs?" in planned.stderr


def test_an_input_a_hook_reads_is_taken(repo: ScriptRepo) -> None:
    repo.add(
        "reads-input",
        {},
        customize="""
            def preprocess(i):
                i['env']['GOT'] = str(i['input'].get('threshold', ''))
                return {'return': 0}
            """,
    )
    r = ok("reads-input", threshold="3", strict=True)
    assert not [w for w in r.get("warnings", []) if "taken by no script" in w]


def test_host_os_keys_are_read_only_where_they_choose_the_native_file(
    repo: ScriptRepo,
) -> None:
    plain = {"cache": True, "new_env_keys": ["WHICH"]}
    repo.add("one-file", plain, run='echo "WHICH=plain" > tmp-run-env.out\n')
    repo.add(
        "per-os",
        plain,
        run='echo "WHICH=plain" > tmp-run-env.out\n',
        files={"run-ubuntu.sh": 'echo "WHICH=ubuntu" > tmp-run-env.out\n'},
    )
    debian, ubuntu = {"CM_HOST_OS_FLAVOR": "debian"}, {"CM_HOST_OS_FLAVOR": "ubuntu"}
    ok("one-file", env=debian)
    assert ok("one-file", env=ubuntu)["cache"] == "hit"
    assert ok("per-os", env=debian)["new_env"] == {"WHICH": "plain"}
    r = ok("per-os", env=ubuntu)
    assert r["cache"] == "miss" and r["new_env"] == {"WHICH": "ubuntu"}


def test_a_dependencys_export_filter_is_part_of_the_childs_key(repo: ScriptRepo) -> None:
    repo.add(
        "two-outputs",
        {"cache": True, "new_env_keys": ["OUT_A"]},
        run='printf "OUT_A=a\\nOUT_B=b\\n" > tmp-run-env.out\n',
    )
    repo.add("wants-b", {"deps": [{"tags": "two-outputs", "force_new_env_keys": ["OUT_B"]}]})
    assert ok("two-outputs")["new_env"] == {"OUT_A": "a"}
    child = ok("wants-b")["deps"][0]
    assert child["cache"] == "miss" and child["new_env"] == {"OUT_B": "b"}
    assert ok("two-outputs")["cache"] == "hit"


def test_a_native_script_reads_the_search_path_lists_it_is_given(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    """``+PATH`` decides which ``tool`` runs although run.sh never names PATH."""
    for version in ("1", "2"):
        folder = tmp_path / f"bin{version}"
        folder.mkdir()
        (folder / "tool").write_text(f"#!/bin/sh\necho {version}\n")
        (folder / "tool").chmod(0o755)
    repo.add(
        "uses-tool",
        {"cache": True, "new_env_keys": ["TOOL_SAID"]},
        run='echo "TOOL_SAID=$(tool)" > tmp-run-env.out\n',
    )
    first = ok("uses-tool", env={"+PATH": [str(tmp_path / "bin1")]})
    second = ok("uses-tool", env={"+PATH": [str(tmp_path / "bin2")]})
    assert (first["new_env"], second["new_env"]) == ({"TOOL_SAID": "1"}, {"TOOL_SAID": "2"})


def test_a_hook_iterating_the_state_reads_its_key_set(repo: ScriptRepo) -> None:
    repo.add(
        "state-lister",
        {"cache": True, "new_env_keys": ["KEYS"]},
        customize="""
            def preprocess(i):
                i['env']['KEYS'] = ','.join(sorted(i['state']))
                return {'return': 0}
            """,
    )
    assert ok("state-lister", state={"a": 1})["new_env"] == {"KEYS": "a"}
    assert ok("state-lister", state={"a": 1, "b": 2})["new_env"] == {"KEYS": "a,b"}


def test_state_a_native_script_writes_from_a_hook_is_kept(repo: ScriptRepo) -> None:
    repo.add(
        "hook-native",
        {"new_state_keys": ["made"]},
        customize="""
            def preprocess(i):
                r = i['automation'].run_native_script({'run_script_input': i['run_script_input'],
                                                       'env': i['env'], 'script_name': 'make'})
                return r if r['return'] else {'return': 0, 'skip': False}
            """,
        files={"make.sh": 'echo \'{"made": "yes"}\' > tmp-run-state.json\n'},
    )
    assert ok("hook-native")["new_state"] == {"made": "yes"}


def test_a_key_a_hook_only_sets_is_no_read(repo: ScriptRepo, tmp_path: Path) -> None:
    """customize.py naming a key to set it does not make the caller's value of it a read."""
    repo.add(
        "setter",
        {"cache": True, "new_env_keys": ["OUT"]},
        customize=f"""
            def preprocess(i):
                open({str(tmp_path / "runs")!r}, 'a').write('x\\n')
                i['env']['SET_HERE'] = 'mine'
                i['env']['OUT'] = 'done'
                return {{'return': 0}}
            """,
    )
    ok("setter", env={"SET_HERE": "caller-1"})
    assert ok("setter", env={"SET_HERE": "caller-2"})["cache"] == "hit"
    assert count(tmp_path / "runs") == 1


def test_an_export_pattern_reads_only_the_keys_the_run_does_not_write(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    """``new_env_keys: [HOST_*]``: the keys the script writes are its own outputs; a caller's
    other matching keys pass through, so their values still split entries. (A native script
    that names a key, even to write it, counts as reading it: only hooks are seen exactly.)"""
    repo.add(
        "host-facts",
        {"cache": True, "new_env_keys": ["HOST_*"]},
        customize=f"""
            def preprocess(i):
                open({str(tmp_path / "runs")!r}, 'a').write('x\\n')
                i['env']['HOST_KIND'] = 'box'
                return {{'return': 0}}
            """,
    )
    assert ok("host-facts")["new_env"] == {"HOST_KIND": "box"}
    again = ok("host-facts", env={"HOST_KIND": "from-caller"})
    assert again["cache"] == "hit" and again["new_env"] == {"HOST_KIND": "box"}
    passed = ok("host-facts", env={"HOST_EXTRA": "1"})
    assert passed["cache"] == "miss"
    assert passed["new_env"] == {"HOST_KIND": "box", "HOST_EXTRA": "1"}
    assert ok("host-facts", env={"HOST_EXTRA": "2"})["new_env"]["HOST_EXTRA"] == "2"
    assert count(tmp_path / "runs") == 3
