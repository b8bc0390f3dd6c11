"""The real ``cairn`` command in a subprocess, against repositories made in ``tmp_path``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import json_out

Cli = Callable[..., subprocess.CompletedProcess[str]]
UID = "0123456789abcdef"


def good(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def bad(proc: subprocess.CompletedProcess[str], code: int, *texts: str) -> str:
    """A failure: the exit code, one error line naming ``texts``, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("cairn error:")]
    assert len(errors) == 1, proc.stderr
    for text in texts:
        assert text in errors[0], errors[0]
    return errors[0]


def lines(text: str) -> list[str]:
    return text.splitlines()


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def local(cairn_home: Path) -> Path:
    return cairn_home / "local"


@pytest.fixture
def repos(cli: Cli, make_repo: Callable[..., Path]) -> dict[str, Path]:
    """r1: mnist (images, digits), cifar (images, color); r2 (prefix cm): mnist (images, big)."""

    def meta(alias: str, uid: str, *tags: str) -> dict[str, Any]:
        return {"alias": alias, "uid": uid, "automation_alias": "dataset", "tags": list(tags)}

    r1 = make_repo(
        "r1",
        artifacts={
            "dataset/mnist": meta("mnist", "aaaaaaaaaaaaaaaa", "images", "digits"),
            "dataset/cifar": meta("cifar", "cccccccccccccccc", "images", "color"),
        },
    )
    r2 = make_repo(
        "r2", prefix="cm", artifacts={"dataset/mnist": meta("mnist", "bbbbbbbbbbbbbbbb", "big")}
    )
    for path in (r1, r2):
        good(cli("add", "repo", str(path)))
    return {"r1": r1, "r2": r2}


def test_version_and_help(cli: Cli) -> None:
    from cairn import __version__

    assert good(cli("version")).strip() == __version__
    assert good(cli("--version")).strip() == __version__
    general = good(cli("help"))
    for word in (
        "usage: cairn ACTION AUTOMATION",
        "find (search, ls, list)",
        "rm (delete",
        "repo",
        "--out=json",
    ):
        assert word in general
    assert good(cli()) == general
    page = good(cli("help", "dataset"))
    assert "automation dataset" in page and "mv (move, ren, rename)" in page
    action = good(cli("find", "dataset", "--help"))
    assert "usage: cairn find KIND" in action and "--tags=A,B" in action
    assert "Example:" in action and "cairn find dataset" in action
    assert good(cli("help", "find", "dataset")) == action
    assert "--all" in good(cli("rm", "repo", "-h"))
    assert json_out(cli("help", "--out=json"))["help"] == general.rstrip("\n")


def test_add_creates_meta_and_refuses_existing(
    cli: Cli, local: Path, repos: dict[str, Path]
) -> None:
    out = good(cli("add", "dataset", "mnist", "--tags=images,digits", "--meta.size=10"))
    path = local / "dataset" / "mnist"
    assert out.startswith("Added dataset mnist,") and str(path) in out
    data = yaml.safe_load((path / "_cm.yaml").read_text())
    assert list(data) == ["alias", "uid", "automation_alias", "size", "tags"]
    assert (data["alias"], data["automation_alias"], data["tags"]) == (
        "mnist",
        "dataset",
        ["images", "digits"],
    )

    good(cli("add", "dataset", f"r1:new,{UID}", "--tags=x"))
    data = yaml.safe_load((repos["r1"] / "dataset" / "new" / "_cm.yaml").read_text())
    assert (data["uid"], data["tags"]) == (UID, ["x"])

    before = tree(local)
    bad(cli("add", "dataset", "mnist", "--tags=other"), 8, "already exists", "'local'")
    bad(cli("add", "dataset", f"r1:other,{UID}", "--json"), 8, "already exists", "'r1'")
    assert tree(local) == before

    good(cli("add", "dataset", "jj", "--json", "--tags=a"))
    assert sorted(p.name for p in (local / "dataset" / "jj").iterdir()) == ["_cm.json"]
    added = json_out(cli("add", "dataset", "viajson", "--out=json"))
    assert added["return"] == 0 and added["meta"]["alias"] == "viajson"


def test_find_selectors(cli: Cli, repos: dict[str, Path]) -> None:
    r1, r2 = repos["r1"] / "dataset", repos["r2"] / "cm" / "dataset"
    cases: list[tuple[list[str], list[Path]]] = [
        ([], [r1 / "cifar", r1 / "mnist", r2 / "mnist"]),
        (["mnist"], [r1 / "mnist", r2 / "mnist"]),
        (["m*"], [r1 / "mnist", r2 / "mnist"]),
        (["bbbbbbbbbbbbbbbb"], [r2 / "mnist"]),
        (["mnist,aaaaaaaaaaaaaaaa"], [r1 / "mnist"]),
        (["r2:"], [r2 / "mnist"]),
        (["r1:m?ist"], [r1 / "mnist"]),
        (["--tags=images,-digits"], [r1 / "cifar"]),
        (["--tags=big"], [r2 / "mnist"]),
    ]
    for args, expected in cases:
        assert lines(good(cli("find", "dataset", *args))) == [str(p) for p in expected], args
    assert lines(good(cli("ls", "dataset", "--tags=images"))) == [
        str(r1 / "cifar"),
        str(r1 / "mnist"),
    ]
    nothing = cli("find", "dataset", "zzz")
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (0, "", "")

    doc = json_out(cli("search", "dataset", "mnist", "--out=json"))
    assert doc["return"] == 0
    assert [(a["repo"], a["alias"], a["uid"], a["tags"]) for a in doc["list"]] == [
        ("r1", "mnist", "aaaaaaaaaaaaaaaa", ["images", "digits"]),
        ("r2", "mnist", "bbbbbbbbbbbbbbbb", ["big"]),
    ]
    assert doc["list"][0]["path"] == str(r1 / "mnist")
    assert json_out(cli("find", "dataset", "zzz", "--out=json")) == {"return": 0, "list": []}


def test_nothing_and_ambiguity(cli: Cli, repos: dict[str, Path]) -> None:
    for action in (["load"], ["update", "--meta.a=1"], ["rm", "-f"], ["info"]):
        bad(cli(action[0], "dataset", "zzz", *action[1:]), 16, "no artifact matches", "zzz")
    bad(cli("mv", "dataset", "zzz", "yyy"), 16, "zzz")
    bad(cli("copy", "dataset", "zzz", "yyy"), 16, "zzz")

    line = bad(cli("load", "dataset", "mnist"), 1, "2 artifacts match")
    assert (
        "r1:mnist" in line and "r2:mnist" in line and "qualify the name with its repository" in line
    )
    assert str(repos["r1"] / "dataset" / "mnist") in line
    bad(cli("load", "dataset", "--tags=images"), 1, "r1:cifar", "r1:mnist", "by uid")
    assert json.loads(good(cli("load", "dataset", "r2:mnist")))["tags"] == ["big"]


def test_load_merges_json_over_yaml_and_prints_yaml(cli: Cli, repos: dict[str, Path]) -> None:
    path = repos["r1"] / "dataset" / "cifar"
    (path / "_cm.json").write_text('{"tags": ["from-json"], "extra": 1}')
    meta = json.loads(good(cli("load", "dataset", "cifar")))
    assert (meta["alias"], meta["tags"], meta["extra"]) == ("cifar", ["from-json"], 1)
    assert yaml.safe_load(good(cli("load", "dataset", "cifar", "--yaml")))["extra"] == 1
    doc = json_out(cli("load", "dataset", "cifar", "--out=json"))
    assert doc["meta"] == meta and doc["path"] == str(path)


def test_update_merges_and_keeps_formats(cli: Cli, local: Path, tmp_path: Path) -> None:
    good(cli("add", "dataset", "y", "--tags=a", "--meta.files,=f1"))
    good(cli("add", "dataset", "j", "--tags=a", "--json"))
    (tmp_path / "more.yaml").write_text("meta:\n  files: [f2]\n  nested: {k: v}\n")
    out = good(cli("update", "dataset", "y", "--tags=b", "@more.yaml"))
    assert out.strip() == f"Updated {local / 'dataset' / 'y'}"
    data = yaml.safe_load((local / "dataset" / "y" / "_cm.yaml").read_text())
    assert data["tags"] == ["a", "b"] and data["files"] == ["f1", "f2"]
    assert data["nested"] == {"k": "v"}

    good(cli("update", "dataset", "y", "--tags=c", "--meta.files,=f3", "--replace_lists"))
    data = yaml.safe_load((local / "dataset" / "y" / "_cm.yaml").read_text())
    assert data["tags"] == ["c"] and data["files"] == ["f3"]
    assert sorted(p.name for p in (local / "dataset" / "y").iterdir()) == ["_cm.yaml"]

    doc = json_out(cli("update", "dataset", "j", "--meta.k=v", "--out=json"))
    assert doc["return"] == 0 and doc["meta"]["k"] == "v"
    assert sorted(p.name for p in (local / "dataset" / "j").iterdir()) == ["_cm.json"]
    assert json.loads((local / "dataset" / "j" / "_cm.json").read_text())["k"] == "v"


def test_mv_copy_info(cli: Cli, repos: dict[str, Path], local: Path) -> None:
    r1 = repos["r1"] / "dataset"
    out = good(cli("mv", "dataset", "cifar", "cifar10"))
    assert out.strip() == f"Moved {r1 / 'cifar'} to {r1 / 'cifar10'}"
    good(cli("rename", "dataset", "cifar10", "local:"))
    moved = local / "dataset" / "cifar10"
    assert yaml.safe_load((moved / "_cm.yaml").read_text())["uid"] == "cccccccccccccccc"
    assert not (r1 / "cifar10").exists()

    copied = json_out(cli("cp", "dataset", "cifar10", "r1:cifar", "--new_tags=copy", "--out=json"))
    assert copied["path"] == str(r1 / "cifar")
    assert copied["meta"]["uid"] != "cccccccccccccccc"
    assert copied["meta"]["tags"] == ["images", "color", "copy"]

    before = (tree(repos["r1"]), tree(local))
    bad(cli("mv", "dataset", "local:cifar10", "r1:mnist"), 8, "already exists")
    bad(cli("copy", "dataset", "local:cifar10", "r1:cifar"), 8, "already exists")
    bad(cli("move", "dataset", "r1:cifar", "local:cifar10"), 8, "already exists")
    assert (tree(repos["r1"]), tree(local)) == before

    info = good(cli("info", "dataset", "cifar10"))
    assert "cid        dataset::cifar10,cccccccccccccccc" in info and "_cm.yaml" in info
    assert json_out(cli("info", "dataset", "cifar10", "--out=json"))["alias"] == "cifar10"


def test_rm(cli: Cli, repos: dict[str, Path]) -> None:
    before = tree(repos["r1"])
    bad(cli("rm", "dataset", "-f"), 1, "refusing to delete every dataset")
    bad(cli("rm", "dataset", "cifar", input=""), 1, "not confirmed", "-f")
    bad(cli("delete", "dataset", "--tags=images", input="y\n"), 1, "not confirmed")
    assert tree(repos["r1"]) == before
    doc = json_out(cli("rm", "dataset", "r1:cifar", "-f", "--out=json"))
    assert doc == {"return": 0, "deleted_list": [str(repos["r1"] / "dataset" / "cifar")]}
    assert not (repos["r1"] / "dataset" / "cifar").exists()


def test_repositories(cli: Cli, tmp_path: Path, make_repo: Callable[..., Path]) -> None:
    proj = tmp_path / "proj"
    out = good(cli("init", "repo", str(proj), "--alias=proj", "--prefix=cm"))
    assert out.startswith("Created repository proj,")
    cmr = yaml.safe_load((proj / "cmr.yaml").read_text())
    assert (cmr["alias"], cmr["prefix"], len(cmr["uid"])) == ("proj", "cm", 16)
    good(cli("add", "dataset", "proj:d"))
    assert (proj / "cm" / "dataset" / "d" / "_cm.yaml").is_file()

    here = tmp_path / "Here Dir"
    here.mkdir()
    good(cli("init", "repo", cwd=here))
    assert yaml.safe_load((here / "cmr.yaml").read_text())["alias"] == "here-dir"

    listing = lines(good(cli("list", "repo")))
    assert [line.split()[0] for line in listing] == ["local", "builtin", "proj", "here-dir"]
    doc = json_out(cli("list", "repo", "--out=json"))
    assert [r["alias"] for r in doc["list"]] == ["local", "builtin", "proj", "here-dir"]

    plain = tmp_path / "plain"
    plain.mkdir()
    bad(cli("add", "repo", str(plain)), 16, str(plain), "no cmr.yaml", "cairn init repo")
    twin = make_repo("twin")
    (twin / "cmr.yaml").write_text(f"alias: proj\nuid: '{UID}'\n")
    bad(cli("add", "repo", str(twin)), 8, "alias 'proj' is already registered")
    (twin / "cmr.yaml").write_text(f"alias: twin\nuid: '{cmr['uid']}'\n")
    bad(cli("add", "repo", str(twin)), 8, cmr["uid"])
    bad(cli("init", "repo", str(tmp_path / "new"), "--alias=proj"), 8, "alias 'proj'")
    assert not (tmp_path / "new").exists()

    good(cli("rm", "repo", "here-dir"))
    assert (here / "cmr.yaml").is_file()
    bad(cli("rm", "repo", "proj", "--all"), 1, "-f")
    for alias in ("local", "builtin"):
        bad(cli("rm", "repo", alias, "--all", "-f"), 1, "always present")
    good(cli("rm", "repo", "proj", "--all", "-f"))
    assert not proj.exists()
    assert [line.split()[0] for line in lines(good(cli("ls", "repo")))] == ["local", "builtin"]


@pytest.mark.parametrize("alias", ["a/b", "..", "../x", "a b"])
def test_unsafe_alias(cli: Cli, alias: str, local: Path) -> None:
    bad(cli("add", "dataset", alias), 1, "unsafe", repr(alias))
    assert not (local / "dataset").exists()


def test_broken_meta_files(cli: Cli, repos: dict[str, Path]) -> None:
    folder = repos["r1"] / "dataset"
    (folder / "broken").mkdir()
    (folder / "broken" / "_cm.yaml").write_text("alias: broken\ntags: [a\n")
    (folder / "numuid").mkdir()
    (folder / "numuid" / "_cm.yaml").write_text("alias: numuid\nuid: 1234567890123456\n")
    proc = cli("find", "dataset", "--tags=images")
    assert proc.returncode == 0
    assert lines(proc.stdout) == [str(folder / "cifar"), str(folder / "mnist")]
    warnings = lines(proc.stderr)
    assert len(warnings) == 2 and all(w.startswith("cairn warning:") for w in warnings)
    assert str(folder / "broken" / "_cm.yaml") in warnings[0]
    assert str(folder / "numuid" / "_cm.yaml") in warnings[1] and "must be a string" in warnings[1]
    assert json_out(cli("find", "dataset", "--out=json"))["return"] == 0


def test_bad_input_errors(cli: Cli, tmp_path: Path, repos: dict[str, Path]) -> None:
    bad(cli("frob", "dataset"), 4, "'frob'", "add, copy, find")
    bad(cli("frob"), 4, "unknown action 'frob'")
    bad(cli("find", "dataset", "--tags,"), 1, "--tags,")
    bad(cli("update", "dataset", "r1:cifar", "@missing.yaml"), 16, "missing.yaml")
    bad(cli("find", "dataset", "--out=xml"), 1, "xml")
    bad(cli("find", "dataset", "a:b:c"), 1, "'a:b:c'")

    failed = cli("load", "dataset", "zzz", "--out=json")
    assert failed.returncode == 16
    assert json.loads(failed.stdout) == {
        "return": 16,
        "error": bad(failed, 16)[len("cairn error: ") :],
    }

    debug = cli("load", "dataset", "zzz", "--debug")
    assert debug.returncode == 16 and "Traceback" in debug.stderr


def test_every_action_prints_one_json_document(cli: Cli, tmp_path: Path) -> None:
    commands = [
        ["add", "dataset", "a", "--tags=t"],
        ["find", "dataset"],
        ["load", "dataset", "a"],
        ["update", "dataset", "a", "--meta.k=v"],
        ["info", "dataset", "a"],
        ["copy", "dataset", "a", "b"],
        ["mv", "dataset", "b", "c"],
        ["rm", "dataset", "c", "-f"],
        ["init", "repo", str(tmp_path / "r"), "--alias=r"],
        ["list", "repo"],
        ["info", "repo", "r"],
        ["rm", "repo", "r"],
        ["version"],
    ]
    for argv in commands:
        doc = json_out(cli(*argv, "--out=json"))
        assert isinstance(doc, dict) and doc["return"] == 0, argv


def test_file_input_merges_with_meta_flags(cli: Cli, local: Path, tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text("meta:\n  nested: {k: v}\n")
    good(cli("add", "dataset", "y", "--meta.size=3", "@more.yaml"))
    data = yaml.safe_load((local / "dataset" / "y" / "_cm.yaml").read_text())
    assert (data.get("size"), data.get("nested")) == ("3", {"k": "v"})


@pytest.mark.parametrize("returned", [256, 512, -1])
def test_a_failing_hook_never_exits_0(cli: Cli, tmp_path: Path, returned: int) -> None:
    from tests.script_fixtures import ScriptRepo

    ScriptRepo(tmp_path / "repo").add(
        "odd",
        {},
        customize=f"""
            def preprocess(i):
                return {{'return': {returned}, 'error': 'boom'}}
            """,
    )
    bad(cli("run", "script", "--tags=odd"), 1, "boom", f"return {returned}")


def test_an_internal_error_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug (an unexpected exception) exits 3, not a user error's code."""
    from cairn import dispatch
    from cairn.cli import main

    def broken(*_: Any, **__: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(dispatch, "run", broken)
    assert main.main(["find", "dataset"]) == 3
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: a bug" in err and "Traceback" not in err


def test_non_string_env_keys_in_an_input_file_are_named(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "in.yaml").write_text("tags: x\nenv:\n  5: x\n")
    bad(cli("run", "script", "@in.yaml"), 1, "env key 5 must be a string")


# --- issue 18: a home that is a file, values kept exactly, the artifact "." ----------------------


@pytest.mark.parametrize("below", [False, True])
def test_a_home_that_is_a_file_is_named(cli: Cli, tmp_path: Path, below: bool) -> None:
    stray = tmp_path / "not-a-folder"
    stray.write_text("x")
    home = stray / "sub" if below else stray
    for argv in (("find", "dataset"), ("add", "dataset", "x"), ("list", "repo")):
        text = bad(cli(*argv, env={"CAIRN_HOME": str(home)}), 1, f"cairn's home {home}")
        assert "is a file, not a folder" in text and "set CAIRN_HOME to a folder" in text
    assert stray.read_text() == "x"


@pytest.mark.parametrize("where", ["private", "below", "under-root"])
def test_a_home_this_user_may_not_read_is_named(
    cli_as_nobody: Any, shared_dir: Path, where: str
) -> None:
    """Another user's private home (0700), or one below a folder that may not be entered:
    nothing could be found in it, so every command says so, naming the home (not a meta
    file inside it, with a hint to work "in the 'local' repository")."""
    private = shared_dir / "private"
    private.mkdir(mode=0o700)
    home = {
        "private": private,
        "below": private / "sub",
        "under-root": Path("/root/cairn-test-home"),
    }[where]
    for argv in (("find", "dataset"), ("add", "dataset", "x"), ("find", "script")):
        done = cli_as_nobody(home, *argv)
        assert done.returncode == 1, done.stderr
        assert f"cairn's home {home} (CAIRN_HOME) cannot be read" in done.stderr
        assert "set CAIRN_HOME to a folder of your own" in done.stderr
        assert "cmr.yaml" not in done.stderr
    assert list(private.iterdir()) == []


def test_flag_values_are_kept_exactly_as_the_api_keeps_them(cli: Cli, tmp_path: Path) -> None:
    import cairn

    good(cli("add", "dataset", "d", "--meta.v= v \r", "--meta.l,= a ,b"))
    loaded = json_out(cli("load", "dataset", "d", "--out=json"))["meta"]
    assert loaded["v"] == " v \r" and loaded["l"] == [" a ", "b"]
    api = cairn.access({"action": "load", "automation": "dataset", "artifact": "d"})
    assert {k: api["meta"][k] for k in ("v", "l")} == {"v": " v \r", "l": [" a ", "b"]}


def test_dot_names_the_artifact_of_the_current_directory(
    cli: Cli, cairn_home: Path, make_repo: Callable[..., Path]
) -> None:
    repo = make_repo("r", artifacts={"dataset/d1": {"alias": "d1", "uid": UID}})
    good(cli("add", "repo", str(repo)))
    good(cli("add", "dataset", "d1"))  # a namesake in local: '.' is the one here
    here = repo / "dataset" / "d1"
    assert json_out(cli("load", "dataset", ".", "--out=json", cwd=here))["path"] == str(here)
    assert good(cli("find", "dataset", ".", cwd=here)).split() == [str(here)]
    good(cli("update", "dataset", ".", "--meta.seen=yes", cwd=here))
    assert "seen: 'yes'" in (here / "_cm.yaml").read_text()
    bad(cli("load", "dataset", ".", cwd=repo), 1, "'.' names the dataset artifact", str(repo))
    (repo / "dataset" / "empty").mkdir()
    bad(cli("load", "dataset", ".", cwd=repo / "dataset" / "empty"), 16, "is no artifact")
    bad(cli("load", "model", ".", cwd=here), 1, "REPO/model/NAME")


def test_dot_colon_names_the_repository_of_the_current_directory(
    cli: Cli, tmp_path: Path, local: Path
) -> None:
    """CM's smoke sequence: cm init repo, then cm add script .:name2 from inside it."""
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    good(cli("init", "repo", ".", "--alias=project", cwd=project))
    good(cli("add", "dataset", "d1"))  # a namesake in local
    added = good(cli("add", "dataset", ".:d1", cwd=project / "docs"))
    assert f"at {project / 'dataset' / 'd1'}" in added
    found = good(cli("find", "dataset", ".:d1", cwd=project / "docs")).split()
    assert found == [str(project / "dataset" / "d1")]
    good(cli("add", "script", ".:name2", cwd=project))
    assert (project / "script" / "name2" / "run.sh").is_file()
    ran = good(cli("run", "script", ".:name2", cwd=project))
    assert "name2: hello from" in ran
    assert f"path: {project / 'script' / 'name2'}" in good(
        cli("run", "script", ".:name2", "--help", cwd=project)
    )
    good(cli("copy", "dataset", ".:d1", ".:d2", cwd=project))
    assert (project / "dataset" / "d2" / "_cm.yaml").is_file()
    bad(cli("load", "dataset", ".:d1", cwd=tmp_path), 1, "'.:d1'", "no registered repository")


def test_dot_runs_the_script_of_the_current_directory(cli: Cli, tmp_path: Path) -> None:
    from tests.script_fixtures import ScriptRepo

    repo = ScriptRepo(tmp_path / "repo")
    here = repo.add(
        "greet", {"new_env_keys": ["GREETING"]}, run="echo GREETING=hi$1 > tmp-run-env.out\n"
    )
    ScriptRepo(tmp_path / "other", alias="other").add("greet", {}, run="exit 1\n")
    done = json_out(cli("run", "script", ".", "--out=json", cwd=here))
    assert done["new_env"] == {"GREETING": "hi"}
    explained = good(cli("run", "script", ".", "--explain", cwd=here))
    assert "greet" in explained
    assert f"path: {here}" in good(cli("run", "script", ".", "--help", cwd=here))
    bad(cli("run", "script", ".", cwd=tmp_path), 1, "'.' names the script artifact")


def test_a_path_an_uncached_script_returns_still_exists(cli: Cli, tmp_path: Path) -> None:
    """CM's download-file writes into the current directory and returns the path."""
    from tests.script_fixtures import ScriptRepo

    (tmp_path / "remote.bin").write_text("payload")
    ScriptRepo(tmp_path / "repo").add(
        "fetch-file",
        {"input_mapping": {"url": "CM_URL"}, "new_env_keys": ["CM_DOWNLOAD_DOWNLOADED_PATH"]},
        customize="""
            import os, shutil

            def preprocess(i):
                env = i['env']
                path = os.path.join(os.getcwd(), os.path.basename(env['CM_URL']))
                shutil.copyfile(env['CM_URL'], path)
                env['CM_DOWNLOAD_DOWNLOADED_PATH'] = path
                return {'return': 0}
            """,
    )
    here = tmp_path / "here"
    here.mkdir()
    done = cli(
        "run", "script", "fetch-file", f"--url={tmp_path / 'remote.bin'}", "--out=json", cwd=here
    )
    path = Path(json_out(done)["new_env"]["CM_DOWNLOAD_DOWNLOADED_PATH"])
    assert path == here / "remote.bin" and path.read_text() == "payload"


def test_a_misspelt_automation_gets_a_did_you_mean(cli: Cli) -> None:
    found = cli("find", "scrpt")
    assert found.returncode == 0 and found.stdout == ""
    assert "no repository has artifacts of kind 'scrpt'; did you mean script?" in found.stderr
    bad(cli("run", "scrpt", "hello"), 4, "did you mean script?")
    quiet = cli("find", "dataset")  # a kind with no artifacts yet, and no close name
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_help_of_a_misspelt_kind_and_an_action_without_automation_guess(cli: Cli) -> None:
    page = good(cli("help", "scrpt"))
    assert "no repository has artifacts of kind 'scrpt'; did you mean script?" in page
    assert "did you mean" not in good(cli("help", "dataset"))
    bad(cli("run"), 4, "action 'run' needs an automation", "e.g. cairn run script")
    bad(cli("find"), 4, "e.g. cairn find dataset")


def test_a_misspelt_kind_is_guessed_when_nothing_is_found_or_a_first_one_added(
    cli: Cli, local: Path
) -> None:
    kind_said = "no repository has artifacts of kind 'scrpt'; did you mean script?"
    for action in ("load", "info", "update", "rm"):
        bad(cli(action, "scrpt", "hello", "-f"), 16, "no artifact matches", kind_said)
    added = cli("add", "scrpt", "hello")
    assert added.returncode == 0 and kind_said in added.stderr  # added all the same
    assert (local / "scrpt" / "hello").is_dir()
    assert "did you mean" not in cli("load", "scrpt", "hello").stderr  # the kind exists now
    assert cli("add", "dataset", "d1").stderr == ""


def test_add_script_in_a_repository_folder_adds_there_with_a_template(
    cli: Cli, tmp_path: Path, local: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    good(cli("init", "repo", ".", "--alias=project", cwd=project))
    added = good(cli("add", "script", "hello", cwd=project))
    folder = project / "script" / "hello"
    assert "Added script hello," in added and str(folder) in added
    assert "added to repository project, which holds the current directory" in added
    assert not (local / "script").exists()
    run_sh = folder / "run.sh"
    assert run_sh.stat().st_mode & 0o111 and "tmp-run-env.out" in run_sh.read_text()
    hooks = (folder / "customize.py").read_text()
    assert "# def preprocess(i):" in hooks
    assert all(line.startswith("#") for line in hooks.splitlines() if line.strip())
    ran = cli("run", "script", "hello", cwd=project / "script")
    assert ran.returncode == 0, ran.stderr
    assert "hello: hello from" in ran.stdout
    elsewhere = good(cli("add", "dataset", "d1"))  # tmp_path is in no repository
    assert str(local / "dataset" / "d1") in elsewhere and "added to repository" not in elsewhere
