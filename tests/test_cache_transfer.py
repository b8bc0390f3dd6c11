"""Cache entries carried between homes: export, import (checked, rewritten, once), a hit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.script_fixtures import ScriptRepo, bench_pipeline


def _cairn(home: Path, *words: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAIRN_HOME": str(home), **extra}
    return subprocess.run(
        [sys.executable, "-m", "cairn", *words],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _homes(tmp_path: Path) -> tuple[Path, Path]:
    repo = ScriptRepo(tmp_path / "repo")
    repo.add(
        "data",
        {"cache": True, "new_env_keys": ["DATA_FILE"]},
        tags=["get", "data"],
        run='echo "$RANDOM$RANDOM" > data.txt\necho "DATA_FILE=$PWD/data.txt" > tmp-run-env.out\n',
    )
    repo.add(
        "train",
        {"cache": True, "deps": [{"tags": "get,data"}], "new_env_keys": ["MODEL"]},
        tags=["train"],
        run='cat "$DATA_FILE" > model.txt\necho "MODEL=$PWD/model.txt" > tmp-run-env.out\n',
    )
    one, two = tmp_path / "home1", tmp_path / "home2"
    for home in (one, two):
        assert _cairn(home, "add", "repo", str(repo.root)).returncode == 0
    return one, two


def test_an_exported_entry_serves_another_home(tmp_path: Path) -> None:
    one, two = _homes(tmp_path)
    first = _json(_cairn(one, "run", "script", "train", "--out=json"))
    out = tmp_path / "entries.tar.gz"
    assert _cairn(one, "export", "cache", "--all", f"--to={out}").returncode == 0
    done = _json(_cairn(two, "import", "cache", str(out), "--out=json"))
    assert len(done["added"]) == 2 and done["present"] == []
    again = _json(_cairn(two, "run", "script", "train", "--out=json"))
    assert again["cache"] == "hit"
    model = Path(again["new_env"]["MODEL"])
    assert (
        model.is_relative_to(two)
        and model.read_text() == Path(first["new_env"]["MODEL"]).read_text()
    )
    once_more = _json(_cairn(two, "import", "cache", str(out), "--out=json"))
    assert once_more["added"] == [] and len(once_more["present"]) == 2


def test_a_tampered_or_escaping_entry_is_refused(tmp_path: Path) -> None:
    one, two = _homes(tmp_path)
    _json(_cairn(one, "run", "script", "train", "--out=json"))
    out = tmp_path / "export"
    assert _cairn(one, "export", "cache", "--tags=train", f"--to={out}").returncode == 0
    (entry,) = [p for p in out.iterdir() if p.is_dir()]
    (entry / "model.txt").write_text("not what was made\n")
    tampered = _cairn(two, "import", "cache", str(out))
    assert tampered.returncode == 1
    assert "model.txt: its content does not match the export's digest" in tampered.stderr
    assert not (two / "local" / "cache" / entry.name).exists()
    (entry / "model.txt").unlink()
    (entry / "model.txt").symlink_to("/etc/passwd")
    listing = json.loads((out / "cairn-cache-export.json").read_text())
    listing["entries"][0]["files"]["model.txt"] = "link:/etc/passwd"
    (out / "cairn-cache-export.json").write_text(json.dumps(listing))
    escaping = _cairn(two, "import", "cache", str(out))
    assert escaping.returncode == 1 and "a link that points outside the entry" in escaping.stderr


def test_an_entry_of_another_platform_and_a_non_export_are_refused(tmp_path: Path) -> None:
    one, two = _homes(tmp_path)
    _json(_cairn(one, "run", "script", "data", "--out=json"))
    out = tmp_path / "export"
    assert _cairn(one, "export", "cache", "--all", f"--to={out}").returncode == 0
    listing = json.loads((out / "cairn-cache-export.json").read_text())
    listing["platform"] = ["win32", "AMD64"]
    (out / "cairn-cache-export.json").write_text(json.dumps(listing))
    other = _cairn(two, "import", "cache", str(out))
    assert other.returncode == 1 and "made on win32/AMD64, not this platform" in other.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    assert "is not a cache export" in _cairn(two, "import", "cache", str(plain)).stderr
    nothing = _cairn(one, "export", "cache", f"--to={tmp_path / 'x'}")
    assert nothing.returncode == 1 and "which entries?" in nothing.stderr


def test_an_entry_with_the_same_key_under_another_uid_is_not_imported_twice(
    tmp_path: Path,
) -> None:
    bench_pipeline(tmp_path / "pipe", tmp_path / "prepared.txt")
    one, two = tmp_path / "home1", tmp_path / "home2"
    for n, home in enumerate((one, two), 1):  # the upstream entry made twice, as on two workers
        assert _cairn(home, "add", "repo", str(tmp_path / "pipe")).returncode == 0
        bench = ("run", "script", "app bench", f"--batch_size={n}", "--threads=1")
        _json(_cairn(home, *bench, "--out=json"))
    out = tmp_path / "entries.tar.gz"
    assert _cairn(one, "export", "cache", "--all", f"--to={out}").returncode == 0
    (made_here,) = _json(_cairn(two, "find", "cache", "--out=json"))["list"]
    done = _json(_cairn(two, "import", "cache", str(out), "--out=json"))
    (theirs,) = done["present"]
    assert done["added"] == [] and theirs != made_here["uid"]
    assert len(_json(_cairn(two, "find", "cache", "--out=json"))["list"]) == 1


def test_an_import_killed_half_way_leaves_a_folder_reindex_removes(tmp_path: Path) -> None:
    """An ``import cache`` that dies while copying an entry (``os._exit``: no clean-up runs,
    as under ``kill -9``) leaves its staging folder named after it, so the next reindex
    removes it at once (issue 18, item 13)."""
    one, two = _homes(tmp_path)
    _json(_cairn(one, "run", "script", "train", "--out=json"))
    out = tmp_path / "export"
    assert _cairn(one, "export", "cache", "--tags=train", f"--to={out}").returncode == 0
    dying = (
        "import os, shutil, sys; from cairn.cli.main import main; "
        "shutil.copytree = lambda *a, **k: os._exit(9); "
        "sys.exit(main(['import', 'cache', sys.argv[1]]))"
    )
    env = {**os.environ, "CAIRN_HOME": str(two)}
    died = subprocess.run([sys.executable, "-c", dying, str(out)], env=env, capture_output=True)
    assert died.returncode == 9, died.stderr
    cache = two / "local" / "cache"
    (left,) = [p for p in cache.iterdir() if p.name.startswith(".cairn-tmp-")]
    done = _cairn(two, "reindex")
    assert done.returncode == 0, done.stderr
    assert f"Removed {left} (left by a process that died)" in done.stdout
    assert not left.exists()
