"""``cairn docker script``: the build context a script's image is built from (Dockerfile, a
wheel of the running cairn, the repositories at their commits, no ``.git``, no token), the
errors a user can cause, and (group ``containers``) a real podman build and run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import cairn
from tests.script_fixtures import ScriptRepo, ok
from tests.test_runs import git, git_repo

PIP_INSTALL = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]


def docker(name: str, **kw: Any) -> dict[str, Any]:
    return cairn.access({"action": "docker", "automation": "script", "artifact": name, **kw})


def made(name: str, **kw: Any) -> dict[str, Any]:
    r = docker(name, **kw)
    assert r["return"] == 0, r.get("error")
    return r


def failed(name: str, **kw: Any) -> str:
    r = docker(name, **kw)
    assert r["return"] > 0, r
    return str(r["error"])


@pytest.fixture
def repo(tmp_path: Path) -> ScriptRepo:
    """``hello`` (exports GREETING from its input ``name`` and its dependency's DEP) ->
    ``dep1`` (exports DEP, a value its run.sh holds)."""
    repo = ScriptRepo(tmp_path / "repo")
    repo.add("dep1", {"new_env_keys": ["DEP"]}, run='echo "DEP=one" > tmp-run-env.out\n')
    repo.add(
        "hello",
        {
            "new_env_keys": ["GREETING"],
            "deps": [{"tags": "dep1"}],
            "input_mapping": {"who": "WHO"},
        },
        run='echo "GREETING=hi-$WHO-$DEP" > tmp-run-env.out\n',
    )
    return repo


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_the_context_holds_dockerfile_wheel_input_and_repositories(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    commit = git_repo(repo.root)
    ctx = tmp_path / "ctx"
    r = made("hello", who="bob", to=str(ctx), base="debian:bookworm")
    text = (ctx / "Dockerfile").read_text()
    pinned = f"@{r['base_digest']}" if r["base_digest"] else ""
    assert text.splitlines()[2] == f"FROM debian:bookworm{pinned}"
    assert "apt-get install" in text  # only when the base lacks Python (no os_packages)
    assert f'LABEL cairn.version="{cairn.__version__}"' in text
    assert "cairn add repo /cairn/repos/t" in text
    assert 'ENTRYPOINT ["/cairn/entrypoint.sh"]' in text
    assert text.splitlines()[-1].startswith("LABEL ")  # labels last: other images share layers
    instructions = [line.split()[0] for line in text.splitlines() if not line.startswith("#")]
    assert "ARG" not in instructions and "pull" not in text
    assert json.loads((ctx / "input.json").read_text()) == {"artifact": "hello", "who": "bob"}
    assert os.access(ctx / "entrypoint.sh", os.X_OK)
    assert r["repos"] == [{"alias": "t", "folder": "t", "commit": commit, "url": None}]
    assert (ctx / "repos/t/script/hello/run.sh").is_file()
    assert not list(ctx.rglob(".git"))
    assert not list(tmp_path.glob(".cairn-tmp-*"))


def test_the_wheel_is_the_running_cairn_and_pip_installs_it(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    ctx = tmp_path / "ctx"
    made("hello", to=str(ctx))
    [wheel] = (ctx / "wheels").iterdir()
    assert wheel.name == f"cairn-{cairn.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(f"cairn-{cairn.__version__}.dist-info/METADATA").decode()
    assert "cairn/containers/context.py" in names
    assert "cairn/builtin/cmr.yaml" in names
    assert not any("__pycache__" in n for n in names)
    assert "Requires-Dist: PyYAML>=6.0" in metadata
    target = tmp_path / "installed"
    done = subprocess.run(
        [*PIP_INSTALL, "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (target / "cairn/containers/wheel.py").is_file()
    assert (target / "bin/cairn").is_file()


def test_the_same_code_makes_the_same_wheel_and_context_files_have_one_date(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    """A cached image layer is reused only when what it copies looks the same: member dates
    (the RECORD's too) and file times are fixed."""
    ctx = tmp_path / "ctx"
    made("hello", to=str(ctx))
    [wheel] = (ctx / "wheels").iterdir()
    with zipfile.ZipFile(wheel) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    times = {p.stat().st_mtime for p in ctx.rglob("*")}
    assert times == {946684800}


def test_repositories_are_copied_at_the_locked_commit_not_the_newer_one(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    first = git_repo(repo.root)
    lock = tmp_path / "run.lock.yaml"
    ok("hello", who="a", lock=str(lock))
    (repo.root / "script/dep1/run.sh").write_text('echo "DEP=two" > tmp-run-env.out\n')
    git("commit", "-qam", "two", cwd=repo.root)
    locked = made("hello", to=str(tmp_path / "locked"), lock=str(lock))
    assert locked["repos"][0]["commit"] == first
    assert "one" in (tmp_path / "locked/repos/t/script/dep1/run.sh").read_text()
    assert len(locked["lock_sha256"]) == 64
    assert "cairn.lock.sha256" in (tmp_path / "locked/Dockerfile").read_text()
    now = made("hello", to=str(tmp_path / "now"))
    assert now["repos"][0]["commit"] != first
    assert "two" in (tmp_path / "now/repos/t/script/dep1/run.sh").read_text()


def test_a_folder_repository_is_copied_as_it_is(repo: ScriptRepo, tmp_path: Path) -> None:
    r = made("hello", to=str(tmp_path / "ctx"))
    assert r["repos"][0]["commit"] is None
    assert (tmp_path / "ctx/repos/t/script/dep1/run.sh").is_file()


def test_no_token_of_a_remote_url_reaches_the_context(repo: ScriptRepo, tmp_path: Path) -> None:
    git_repo(repo.root)
    git("remote", "add", "origin", "https://user:SECRETTOKEN@example.com/r.git", cwd=repo.root)
    ctx = tmp_path / "ctx"
    r = made("hello", to=str(ctx))
    assert r["repos"][0]["url"] == "https://***@example.com/r.git"
    assert b"SECRETTOKEN" not in all_bytes(ctx)


def test_an_input_holding_credentials_is_refused(repo: ScriptRepo, tmp_path: Path) -> None:
    error = failed("hello", who="https://u:TOKEN@example.com/x", to=str(tmp_path / "ctx"))
    assert "credentials" in error and "secret mount" in error
    assert not (tmp_path / "ctx").exists()


def test_an_unknown_script_is_an_error(repo: ScriptRepo, tmp_path: Path) -> None:
    assert "no-such-script" in failed("no-such-script", to=str(tmp_path / "ctx"))
    assert not (tmp_path / "ctx").exists()


def test_an_unwritable_or_used_destination_is_refused(repo: ScriptRepo, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert "cannot write the build context" in failed("hello", to=str(blocker / "ctx"))
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    assert "not an empty folder" in failed("hello", to=str(used))
    assert [p.name for p in used.iterdir()] == ["keep.txt"]
    assert "--to=DIR" in failed("hello")


@pytest.mark.parametrize("base", ["debian:bookworm; rm -rf /", "$(id)", "a b", "-x"])
def test_a_base_image_with_shell_syntax_is_refused(
    repo: ScriptRepo, tmp_path: Path, base: str
) -> None:
    assert "is not an image name" in failed("hello", to=str(tmp_path / "ctx"), base=base)
    assert not (tmp_path / "ctx").exists()


def test_the_base_image_comes_from_the_meta_and_is_checked_there_too(tmp_path: Path) -> None:
    repo = ScriptRepo(tmp_path / "repo")
    repo.add("good", {"docker": {"base_image": "ubuntu:22.04"}})
    repo.add("os", {"docker": {"os": "ubuntu", "os_version": "24.04"}})
    repo.add("bad", {"docker": {"base_image": "ubuntu`id`"}})
    repo.add("plain")
    assert made("good", to=str(tmp_path / "g"))["base"] == "ubuntu:22.04"
    assert made("os", to=str(tmp_path / "o"))["base"] == "ubuntu:24.04"
    assert made("plain", to=str(tmp_path / "p"))["base"] == "debian:bookworm"
    assert "docker.base_image" in failed("bad", to=str(tmp_path / "b"))


def test_build_without_an_engine_says_so(
    repo: ScriptRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    error = failed("hello", to=str(tmp_path / "ctx"), build=True)
    assert "no container engine is installed" in error and "podman build" in error
    assert (tmp_path / "ctx/Dockerfile").is_file()


@pytest.fixture
def chain(tmp_path: Path) -> ScriptRepo:
    """``top`` -> ``mid`` (cached) -> ``leaf`` (cached); ``top`` has a variation ``_gpu``
    whose ``docker`` meta is merged over the script's."""
    repo = ScriptRepo(tmp_path / "chain")
    repo.add(
        "leaf", {"cache": True, "new_env_keys": ["LEAF"]}, run='echo "LEAF=1" > tmp-run-env.out\n'
    )
    repo.add("mid", {"cache": True, "new_env_keys": ["MID"], "deps": [{"tags": "leaf"}]})
    repo.add(
        "top",
        {
            "deps": [{"tags": "mid"}],
            "docker": {"os_packages": ["file"], "input_paths": ["data"]},
            "variations": {
                "gpu": {"docker": {"base_image": "ubuntu:22.04", "os_packages": ["pciutils"]}}
            },
        },
    )
    return repo


def test_cached_dependencies_get_a_layer_each_with_the_secret_mounted(
    chain: ScriptRepo, tmp_path: Path
) -> None:
    secret = tmp_path / "token.txt"
    secret.write_text("TOKEN-VALUE-123")
    ok("top")  # the dependencies are hits here; the image still pre-runs them
    ctx = tmp_path / "ctx"
    r = made("top", to=str(ctx), secret=f"tok={secret}")
    assert r["prerun"] == 2 and r["secrets"] == ["tok"]
    first = json.loads((ctx / "prerun/1.json").read_text())
    second = json.loads((ctx / "prerun/2.json").read_text())
    assert (first["tags"], second["tags"]) == ("leaf", "mid")  # a dependency before its parent
    text = (ctx / "Dockerfile").read_text()
    for n in (1, 2):
        assert f"RUN --mount=type=secret,id=tok cairn run script @/cairn/prerun/{n}.json" in text
    assert b"TOKEN-VALUE-123" not in all_bytes(ctx)
    instructions = [line.split()[0] for line in text.splitlines() if not line.startswith("#")]
    assert "ARG" not in instructions and "tok" not in " ".join(
        line for line in text.splitlines() if line.startswith("ENV")
    )


def test_a_script_without_cached_dependencies_has_no_pre_run_layer(
    repo: ScriptRepo, tmp_path: Path
) -> None:
    r = made("hello", to=str(tmp_path / "ctx"))
    assert r["prerun"] == 0
    assert "prerun" not in (tmp_path / "ctx/Dockerfile").read_text()


def test_variations_docker_meta_is_merged_over_the_scripts(
    chain: ScriptRepo, tmp_path: Path
) -> None:
    plain = made("top", to=str(tmp_path / "plain"))
    assert (plain["base"], plain["os_packages"]) == ("debian:bookworm", ["file"])
    text = (tmp_path / "plain/Dockerfile").read_text()
    assert "apt-get install" in text and " file " in text
    gpu = made("top _gpu", to=str(tmp_path / "gpu"))
    assert (gpu["base"], gpu["os_packages"]) == ("ubuntu:22.04", ["file", "pciutils"])


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("tok", "is not ID=FILE"),
        ("tok=/no/such/file", "no such file"),
        ("a b=/etc/hostname", "is not a secret id"),
        ("tok=env:CAIRN_TEST_UNSET_VARIABLE", "is not set"),
    ],
)
def test_a_bad_secret_is_refused_before_anything_is_written(
    repo: ScriptRepo, tmp_path: Path, given: str, says: str
) -> None:
    assert says in failed("hello", to=str(tmp_path / "ctx"), secret=given)
    assert not (tmp_path / "ctx").exists()


def test_inspect_of_an_image_that_is_not_there_says_so(
    repo: ScriptRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("podman") is None and shutil.which("docker") is None:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        assert "no container engine" in failed("hello", inspect="localhost/x")
        return
    assert "no image localhost/cairn-no-such-image" in failed(
        "hello", inspect="localhost/cairn-no-such-image"
    )


# --- a real build and run (podman, a local Debian base image; docs/containers.md) ---

BASE = "docker.io/library/debian:bookworm"


def _podman_can_build() -> str | None:
    """Why the real build cannot run here (None: it can)."""
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install podman runc)"
    if os.geteuid() != 0:
        return "the container tests run rootful podman (as root)"
    found = subprocess.run(["podman", "image", "exists", BASE], capture_output=True)
    if found.returncode != 0:
        return f"no local {BASE} image (make it with .ci/container-base.sh)"
    return None


@pytest.mark.containers
def test_a_real_image_runs_the_script_like_a_local_run(
    repo: ScriptRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = _podman_can_build()
    if reason:
        pytest.skip(reason)
    conf = tmp_path / "containers.conf"
    limit = subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True).stdout
    conf.write_text(
        f'[containers]\ndefault_ulimits = ["nofile={limit.strip()}:{limit.strip()}",'
        ' "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n'
    )
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    git_repo(repo.root)
    local = ok("hello", who="bob")
    tag = f"localhost/cairn-test-{os.getpid()}-{tmp_path.name.lower()}"
    try:
        r = made(
            "hello",
            who="bob",
            to=str(tmp_path / "ctx"),
            base="debian:bookworm",
            run=True,
            tag=tag,
            network="none",
        )
        result = json.loads(Path(r["result_file"]).read_text())
        assert result["return"] == 0
        assert result["new_env"] == local["new_env"] == {"GREETING": "hi-bob-one"}
        label = subprocess.run(
            ["podman", "image", "inspect", "--format", '{{index .Labels "cairn.version"}}', tag],
            capture_output=True,
            text=True,
            check=True,
        )
        assert label.stdout.strip() == cairn.__version__
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], capture_output=True)


def test_several_secrets_each_become_a_mount_of_every_dependency_layer(
    chain: ScriptRepo, tmp_path: Path
) -> None:
    token = tmp_path / "t"
    token.write_text("x")
    r = made("top", to=str(tmp_path / "ctx"), secret=[f"a={token}", f"b={token},c={token}"])
    assert r["secrets"] == ["a", "b", "c"]
    text = (tmp_path / "ctx/Dockerfile").read_text()
    mounts = "--mount=type=secret,id=a --mount=type=secret,id=b --mount=type=secret,id=c "
    assert text.count(f"RUN {mounts}cairn run script @/cairn/prerun/") == 2


def test_secret_repeated_on_the_command_line(chain: ScriptRepo, tmp_path: Path, cli: Any) -> None:
    token = tmp_path / "t"
    token.write_text("x")
    done = cli(
        "docker",
        "script",
        "top",
        "--to=ctx",
        f"--secret=a={token}",
        f"--secret=b={token}",
        "--out=json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["secrets"] == ["a", "b"]
