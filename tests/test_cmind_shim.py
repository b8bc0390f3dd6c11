"""The ``cmind`` stand-in seen by customize.py hooks: utils with CM's result conventions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

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


def _zip(path: Path, members: dict[str, str]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def test_download_file_fetches_atomically_with_cms_result(tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(b"x" * 3000)
    out = tmp_path / "out"
    out.mkdir()
    with importing.active():
        import cmind

        r = cmind.access(
            {
                "action": "download_file",
                "automation": "utils,dc2743f8450541e3",
                "url": source.as_uri(),
                "path": str(out),
            }
        )
        assert r == {
            "return": 0,
            "filename": "data.bin",
            "path": str(out / "data.bin"),
            "size": 3000,
        }
        assert (out / "data.bin").read_bytes() == b"x" * 3000
        missing = cmind.access(
            {
                "action": "download_file",
                "automation": "utils",
                "url": (tmp_path / "none.bin").as_uri(),
                "path": str(out),
            }
        )
        assert missing["return"] == 1 and "none.bin" in missing["error"]
        bad = cmind.utils.download_file({"url": "ssh://host/x.bin", "path": str(out)})
        assert bad["return"] == 1 and "https://" in bad["error"]
    assert sorted(p.name for p in out.iterdir()) == ["data.bin"]


def test_download_file_over_http_on_localhost(tmp_path: Path) -> None:
    import functools
    import http.server
    import threading

    (tmp_path / "served.txt").write_text("hello")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/served.txt"
        with importing.active():
            from cmind import utils

            r = utils.download_file({"url": url, "path": str(tmp_path), "filename": "got.txt"})
    finally:
        server.shutdown()
    assert r["return"] == 0 and r["size"] == 5
    assert (tmp_path / "got.txt").read_text() == "hello"


def test_unzip_file_strips_folders_and_refuses_escapes(tmp_path: Path) -> None:
    good = _zip(tmp_path / "good.zip", {"top/a.txt": "a", "top/sub/b.txt": "b", "readme": "r"})
    bad = _zip(tmp_path / "bad.zip", {"top/ok.txt": "ok", "top/../../evil.txt": "x"})
    dest = tmp_path / "dest"
    with importing.active():
        from cmind import utils

        r = utils.run_action(
            {"action": "unzip_file", "filename": str(good), "path": str(dest), "strip_folders": 1}
        )
        assert r == {"return": 0}
        assert (dest / "a.txt").read_text() == "a"
        assert (dest / "sub" / "b.txt").read_text() == "b"
        assert not (dest / "readme").exists()
        refused = utils.unzip_file({"filename": str(bad), "path": str(dest)})
        assert refused["return"] == 1 and "'..'" in refused["error"]
        assert utils.unzip_file({"filename": str(tmp_path / "no.zip")})["return"] == 1
    assert sorted(p.name for p in dest.iterdir()) == ["a.txt", "sub"]
    assert not (tmp_path / "evil.txt").exists()


def test_small_helpers_follow_cm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cfg.json").write_text('{"imported": true}')
    (tmp_path / "m.yaml").write_text("a: 1\n")
    (tmp_path / "helper.py").write_text("def work(i):\n    return {'return': 0, 'got': i}\n")
    with importing.active():
        from cmind import utils

        assert utils.safe_load_json(str(tmp_path), "cfg.json")["meta"] == {"imported": True}
        assert utils.safe_load_json(str(tmp_path), "missing.json") == {"return": 0, "meta": {}}
        assert utils.load_json_or_yaml(str(tmp_path / "m.yaml"))["meta"] == {"a": 1}
        assert utils.check_if_true_yes_on({"K": "Yes"}, "K")
        assert not utils.check_if_true_yes_on({"K": "no"}, "K")
        assert not utils.check_if_true_yes_on({}, "K")
        assert utils.sub_input({"a": 1, "b": 2}, ["a"]) == {"a": 1}
        assert utils.sub_input({"a": 1, "b": 2}, ["a"], reverse=True) == {"b": 2}
        r = utils.call_internal_module("SELF", str(tmp_path / "module.py"), "helper", "work", {})
        assert r == {"return": 0, "got": {"self_module": "SELF"}}
        assert (
            utils.call_internal_module(None, str(tmp_path / "x"), "none", "f", {})["return"] == 16
        )
        tmp = utils.gen_tmp_file({"suffix": ".txt"})["file_name"]
        assert tmp.endswith(".txt") and Path(tmp).is_file()
        Path(tmp).unlink()
        skipped = utils.debug_here(__file__, env={"CM_TMP_DEBUG_UID": "a"}, env_debug_uid="b")
        skipped.breakpoint()
    assert capsys.readouterr().out == ""


def test_debug_here_without_debugpy_continues(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "debugpy", None)
    with importing.active():
        from cmind import utils

        utils.debug_here("app.py", text="wait").breakpoint()
    assert "debugpy is not installed" in capsys.readouterr().out


def test_native_python_imports_the_shim_but_a_real_cmind_wins(tmp_path: Path) -> None:
    import subprocess

    probe = (
        "import cmind, cmind.utils; "
        "print(cmind.__file__, cmind.utils.check_if_true_yes_on({'K': 'on'}, 'K'))"
    )
    script = "\n".join([*importing.native_prefix_lines(), f'python3 -c "{probe}"'])
    env = {"PATH": "/usr/bin:/bin:" + str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    shim = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    assert shim.returncode == 0, shim.stderr
    assert "compat/shim/cmind" in shim.stdout and shim.stdout.strip().endswith("True")
    real = tmp_path / "site" / "cmind"
    (real / "utils").parent.mkdir(parents=True)
    (real / "__init__.py").write_text("REAL = True\n")
    (real / "utils.py").write_text("def check_if_true_yes_on(env, key):\n    return 'real'\n")
    env["PYTHONPATH"] = str(tmp_path / "site")
    handed = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    assert handed.returncode == 0, handed.stderr
    assert handed.stdout.split() == [str(real / "__init__.py"), "real"]
