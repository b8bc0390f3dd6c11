"""The ``cmind`` stand-in seen by customize.py hooks: utils with CM's result conventions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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


def _cfg_repo(root: Path) -> Path:
    import json

    import cairn

    (root / "cfg" / "bench").mkdir(parents=True)
    (root / "cfg" / "other").mkdir(parents=True)
    (root / "cmr.yaml").write_text('alias: cfgs\nuid: "1234123412341234"\n')
    main = {
        "alias": "bench",
        "uid": "aaaa1111bbbb2222",
        "automation_alias": "cfg",
        "tags": ["benchmark", "run"],
        "hardware": ["h1"],
    }
    (root / "cfg" / "bench" / "_cm.json").write_text(json.dumps(main))
    (root / "cfg" / "other" / "_cm.yaml").write_text(
        "alias: other\nuid: cccc3333dddd4444\nautomation_alias: cfg\ntags: [benchmark]\n"
    )
    (root / "cfg" / "other" / "shared.yaml").write_text("tags: base\nenv: {A: '1'}\nl: [1]\n")
    (root / "cfg" / "bench" / "run-a-meta.yaml").write_text(
        "uid: u1\nname: Run A\nsystem: s1\n_base: other:shared.yaml\nenv: {B: '2'}\nl: [2]\n"
    )
    (root / "cfg" / "bench" / "run-b-meta.json").write_text('{"uid": "u2", "tags": "x,y"}')
    (root / "cfg" / "bench" / "notes.yaml").write_text("uid: u3\n")
    (root / "cfg" / "bench" / "_skip.yaml").write_text("uid: u4\n")
    r = cairn.access({"action": "add", "automation": "repo", "artifact": str(root)})
    assert r["return"] == 0, r
    return root


def test_load_cfg_selects_files_with_bases_and_pruning(tmp_path: Path) -> None:
    root = _cfg_repo(tmp_path / "cfgs")
    with importing.active():
        import cmind

        def load(**i: Any) -> dict[str, Any]:
            r = cmind.access({"action": "load_cfg", "automation": "utils", **i})
            assert r["return"] == 0, r
            return r

        files = load(tags="benchmark,run", key="run-", key_end=["-meta.json", "-meta.yaml"])
        by_uid = {m["uid"]: m for m in files["selection"]}
        assert sorted(by_uid) == ["u1", "u2"]
        first = by_uid["u1"]
        assert first["env"] == {"A": "1", "B": "2"} and first["l"] == [1, 2]
        assert first["tags"] == "base" and first["name"] == "Run A"
        assert first["all_tags"] == ["benchmark", "run", "base"]
        assert first["full_path"] == str(root / "cfg" / "bench" / "run-a-meta.yaml")
        assert by_uid["u2"]["all_tags"] == ["benchmark", "run", "x", "y"]
        assert by_uid["u2"]["main_meta"]["alias"] == "bench"
        every = load(artifact="bench")["selection"]
        assert sorted(m["uid"] for m in every) == ["u1", "u2", "u3"]
        assert [m["uid"] for m in load(artifact="bench", prune={"uid": "u2"})["selection"]] == [
            "u2"
        ]
        pruned = load(artifact="bench", prune={"key": "system", "key_uid": "s1"})
        assert [m["uid"] for m in pruned["selection"]] == ["u1"]
        none = load(artifact="bench", prune={"meta_key": "hardware", "meta_key_uid": "h9"})
        assert none["selection"] == []
        whole = load(tags="benchmark", skip_files=True, prune={"key": "hardware", "key_uid": "h1"})
        assert [m["alias"] for m in whole["selection"]] == ["bench"]
        assert whole["selection"][0]["full_path"] == str(root / "cfg" / "bench")
        (root / "cfg" / "bench" / "run-c-meta.yaml").write_text("uid: u5\n_base: nowhere.yaml\n")
        broken = cmind.access({"action": "load_cfg", "automation": "utils", "artifact": "bench"})
        assert broken["return"] == 1 and "nowhere.yaml not found" in broken["error"]


def test_download_file_tls_verification_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    with importing.active():
        from cmind import utils

        key = "CM_UTILS_DOWNLOAD_VERIFY_SSL"
        monkeypatch.delenv(key, raising=False)
        assert utils._verify_tls({}, key) and utils._verify_tls({"verify": "yes"}, key)
        assert not utils._verify_tls({"verify": False}, key)
        assert not utils._verify_tls({"verify": "no"}, key)
        monkeypatch.setenv(key, "no")
        assert not utils._verify_tls({"verify": True}, key)
        monkeypatch.setenv(key, "yes")
        assert utils._verify_tls({"verify": False}, key)


def test_gen_uid_returns_cms_result_dict() -> None:
    """CM's experiment automation does ``r = utils.gen_uid(); uid = r['uid']``."""
    from cairn.compat.shim.cmind import utils

    first, second = utils.gen_uid(), utils.gen_uid()
    assert first["return"] == 0 and len(first["uid"]) == 16 and first["uid"] != second["uid"]
    assert int(first["uid"], 16) >= 0
