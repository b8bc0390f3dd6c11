"""The shared cache over HTTP between two homes on one machine: ``cairn serve --cache`` in the
first, ``run script --cache-from=URL`` in the second (a hit, checked, committed once), a
tampered entry refused, an entry for other values skipped, a server without ``--cache``."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from tests.script_fixtures import ScriptRepo
from tests.test_cache_transfer import _cairn, _homes, _json
from tests.test_repo_export import QuietHandler
from tests.test_web_serve import started_on


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start ``cairn serve --port=0 FLAGS`` on a home; returns its base URL."""
    started: list[subprocess.Popen[str]] = []

    def start(home: Path, *flags: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cairn", "serve", "--port=0", *flags],
            env={**os.environ, "CAIRN_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return started_on(proc)

    yield start
    for proc in started:
        proc.kill()
        proc.communicate()


def test_a_run_takes_a_missing_entry_from_the_shared_cache(
    tmp_path: Path, serve: Callable[..., str]
) -> None:
    one, two = _homes(tmp_path)
    first = _json(_cairn(one, "run", "script", "train", "--out=json"))
    url = serve(one, "--cache") + "/cache"
    taken = _cairn(two, "run", "script", "train", f"--cache-from={url}", "--out=json")
    again = _json(taken)
    assert again["cache"] == "hit", taken.stderr
    model = Path(again["new_env"]["MODEL"])
    assert model.is_relative_to(two)
    assert model.read_text() == Path(first["new_env"]["MODEL"]).read_text()
    entries = _json(_cairn(two, "find", "cache", "--out=json"))["list"]
    assert len(entries) == 2  # train and the data entry it depends on, once each
    offline = _json(_cairn(two, "run", "script", "train", "--out=json"))
    assert offline["cache"] == "hit"


def test_the_env_variable_names_the_shared_cache(tmp_path: Path, serve: Callable[..., str]) -> None:
    one, two = _homes(tmp_path)
    _json(_cairn(one, "run", "script", "data", "--out=json"))
    url = serve(one, "--cache") + "/cache"
    env = {**os.environ, "CAIRN_HOME": str(two), "CAIRN_CACHE_FROM": url}
    done = subprocess.run(
        [sys.executable, "-m", "cairn", "run", "script", "data", "--out=json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert json.loads(done.stdout)["cache"] == "hit", done.stderr


def test_an_entry_for_other_values_is_not_taken(tmp_path: Path, serve: Callable[..., str]) -> None:
    repo = ScriptRepo(tmp_path / "repo")
    repo.add(
        "echoer",
        {"cache": True, "new_env_keys": ["OUT"]},
        run='echo "OUT=$WHAT" > tmp-run-env.out\n',
    )
    one, two = tmp_path / "home1", tmp_path / "home2"
    for home in (one, two):
        assert _cairn(home, "add", "repo", str(repo.root)).returncode == 0
    _json(_cairn(one, "run", "script", "echoer", "--env.WHAT=a", "--out=json"))
    url = serve(one, "--cache") + "/cache"
    other = _json(
        _cairn(two, "run", "script", "echoer", "--env.WHAT=b", f"--cache-from={url}", "--out=json")
    )
    assert other["cache"] == "miss" and other["new_env"]["OUT"] == "b"
    assert len(_json(_cairn(two, "find", "cache", "--out=json"))["list"]) == 1


def mirror(base: str, target: Path, one: Path) -> None:
    """A static copy of what the server offers for every entry of ``one``'s cache."""
    import urllib.request

    for manifest in (one / "cache-manifests").rglob("*.json"):
        static = manifest.stem
        data = urllib.request.urlopen(f"{base}/cache/keys/{static}.json").read()
        (target / "keys").mkdir(parents=True, exist_ok=True)
        (target / "keys" / f"{static}.json").write_bytes(data)
        for item in json.loads(data)["entries"]:
            folder = target / "entries" / item["uid"]
            shutil.copytree(one / "local" / "cache" / item["uid"], folder, symlinks=True)
            (target / "entries" / f"{item['uid']}.json").write_text(
                json.dumps({**json.loads(data), "entries": [item]})
            )


@pytest.fixture
def static_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_a_tampered_entry_is_refused_and_the_script_runs_here(
    tmp_path: Path, serve: Callable[..., str], static_root: tuple[str, Path]
) -> None:
    one, two = _homes(tmp_path)
    _json(_cairn(one, "run", "script", "data", "--out=json"))
    base, root = static_root
    mirror(serve(one, "--cache"), root, one)
    (data_file,) = root.glob("entries/*/data.txt")
    data_file.write_text("tampered\n")
    done = _cairn(two, "run", "script", "data", f"--cache-from={base}", "--out=json")
    result = _json(done)
    assert result["cache"] == "miss"
    assert "checksum mismatch" in done.stderr and "running here instead" in done.stderr
    assert Path(result["new_env"]["DATA_FILE"]).read_text() != "tampered\n"


@pytest.mark.parametrize(
    ("listing", "said"),
    [
        ({"format": 99, "entries": [], "cache": "/c"}, "not a shared-cache listing of format 1"),
        ({"format": 1, "entries": {}, "cache": "/c"}, "'entries' must be a list"),
    ],
)
def test_a_listing_of_another_form_is_named_and_the_run_goes_on(
    tmp_path: Path,
    serve: Callable[..., str],
    static_root: tuple[str, Path],
    listing: dict[str, Any],
    said: str,
) -> None:
    one, two = _homes(tmp_path)
    _json(_cairn(one, "run", "script", "data", "--out=json"))
    base, root = static_root
    mirror(serve(one, "--cache"), root, one)
    for keys in root.glob("keys/*.json"):
        keys.write_text(json.dumps(listing))
    done = _cairn(two, "run", "script", "data", f"--cache-from={base}", "--out=json")
    assert _json(done)["cache"] == "miss"
    assert said in done.stderr and "running here instead" in done.stderr


def test_a_server_without_cache_offers_none(tmp_path: Path, serve: Callable[..., str]) -> None:
    one, two = _homes(tmp_path)
    _json(_cairn(one, "run", "script", "data", "--out=json"))
    url = serve(one) + "/cache"
    done = _cairn(two, "run", "script", "data", f"--cache-from={url}", "--out=json")
    assert _json(done)["cache"] == "miss"
    assert "shared cache" in done.stderr and "running here instead" in done.stderr


def test_a_bad_cache_url_is_refused(tmp_path: Path) -> None:
    _, two = _homes(tmp_path)
    done = _cairn(two, "run", "script", "data", "--cache-from=ssh://host/x")
    assert done.returncode != 0 and "https://, http://" in done.stderr


def test_cache_files_outside_the_listing_are_not_served(
    tmp_path: Path, serve: Callable[..., str]
) -> None:
    import urllib.error
    import urllib.request

    one, _ = _homes(tmp_path)
    _json(_cairn(one, "run", "script", "data", "--out=json"))
    base = serve(one, "--cache")
    (uid,) = [p.name for p in (one / "local" / "cache").iterdir() if p.is_dir()]
    for path in (f"{uid}/../../../cmr.yaml", f"{uid}/%2e%2e/x", "0000000000000000/data.txt"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/cache/entries/{path}")
        assert refused.value.code in (400, 404)
    ok: Any = urllib.request.urlopen(f"{base}/cache/entries/{uid}/data.txt")
    assert ok.status == 200
