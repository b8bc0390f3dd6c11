"""``cairn run script ... --docker`` for real (group ``containers``: podman, a local Debian base
image, no registry): the same result as a local run, dependencies pre-run in cached layers,
a secret used while building and absent from the image, the base pinned by digest, the labels
read back; and the errors a user meets (no engine, a missing base image, a failing layer).

One image is built for the module (``built``); the other builds reuse its cached layers.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cairn
from tests.script_fixtures import ScriptRepo, ok
from tests.test_docker_context import _podman_can_build
from tests.test_runs import git_repo

SECRET = "S3CR3T-cairn-token-4711"
LEAF_RUN = """\
if [ -r /run/secrets/tok ]; then echo "secret-seen $(wc -c < /run/secrets/tok)" > seen.txt; fi
echo "LEAF=one" > tmp-run-env.out
"""
HELLO_RUN = """\
echo "GREETING=hi-$WHO-$MID" > tmp-run-env.out
if [ -n "${DATA:-}" ]; then echo "DATA_TEXT=$(cat "$DATA")" >> tmp-run-env.out; fi
"""


def chain(root: Path) -> ScriptRepo:
    """``hello`` (not cached) -> ``mid`` (cached) -> ``leaf`` (cached, reads the secret
    ``tok`` when it is mounted); ``hello`` maps its input ``data`` (an ``input_path``)."""
    repo = ScriptRepo(root)
    repo.add("leaf", {"cache": True, "new_env_keys": ["LEAF"]}, run=LEAF_RUN)
    repo.add(
        "mid",
        {"cache": True, "new_env_keys": ["MID"], "deps": [{"tags": "leaf"}]},
        run='echo "MID=m-$LEAF" > tmp-run-env.out\n',
    )
    repo.add(
        "hello",
        {
            "new_env_keys": ["GREETING", "DATA_TEXT"],
            "deps": [{"tags": "mid"}],
            "input_mapping": {"who": "WHO", "data": "DATA"},
            "docker": {"input_paths": ["data"]},
        },
        run=HELLO_RUN,
    )
    return repo


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True).stdout


def in_docker(name: str, **kw: Any) -> dict[str, Any]:
    return cairn.access(
        {"action": "run", "automation": "script", "artifact": name, "docker": True, **kw}
    )


def containers_conf(folder: Path, rootless: bool = False) -> Path:
    """runc and rlimits within this sandbox's reach (.ci/container-base.sh says why); for a
    rootless user with no systemd session, cgroups and events without systemd."""
    conf = folder / "containers.conf"
    limit = subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True).stdout
    no_systemd = 'cgroup_manager = "cgroupfs"\nevents_logger = "file"\n' if rootless else ""
    conf.write_text(
        f'[containers]\ndefault_ulimits = ["nofile={limit.strip()}:{limit.strip()}",'
        ' "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n' + no_systemd
    )
    return conf


class Built:
    """The module's image: the local run, the --docker run, where things are."""

    def __init__(self, root: Path, tag: str) -> None:
        self.root = root
        self.tag = tag
        self.context = root / "ctx"
        self.lock = root / "run.lock.yaml"
        self.local: dict[str, Any] = {}
        self.docker: dict[str, Any] = {}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    reason = _podman_can_build()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("docker-run")
    b = Built(root, f"localhost/cairn-test-run-{os.getpid()}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAIRN_HOME", str(root / "home"))
        mp.setenv("CONTAINERS_CONF", str(containers_conf(root)))
        mp.chdir(root)
        git_repo(chain(root / "repo").root)
        b.local = ok("hello", who="bob", lock=str(b.lock))
        (root / "token").write_text(SECRET)
        b.docker = in_docker(
            "hello",
            who="bob",
            secret=f"tok={root / 'token'}",
            network="none",
            tag=b.tag,
            to=str(b.context),
            lock=str(b.lock),
        )
        assert b.docker["return"] == 0, b.docker.get("error")
        yield b
    subprocess.run(["podman", "rmi", "-f", b.tag], capture_output=True)


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINERS_CONF", str(containers_conf(tmp_path)))


@pytest.mark.containers
def test_the_run_in_a_container_returns_the_local_runs_result(built: Built) -> None:
    assert built.docker["new_env"] == built.local["new_env"] == {"GREETING": "hi-bob-m-one"}
    assert built.docker["new_state"] == built.local["new_state"]
    assert built.docker["script"] == built.local["script"] == "hello"
    assert built.docker["container"]["image"] == built.tag
    assert built.docker["path"] == "/cairn/repos/t/script/hello"  # paths are the image's


@pytest.mark.containers
def test_the_dependencies_ran_in_their_own_layers_and_the_run_hits_their_entries(
    built: Built,
) -> None:
    text = (built.context / "Dockerfile").read_text()
    layers = [line for line in text.splitlines() if "@/cairn/prerun/" in line]
    assert len(layers) == 2  # leaf, then mid
    [mid] = built.docker["deps"]
    assert (mid["script"], mid["cache"]) == ("mid", "hit")
    assert mid["cache_entry"].startswith("/cairn/home/")
    # mid's layer found leaf's entry from the layer before: one entry each, no second leaf
    entries = podman(
        "run", "--rm", "--entrypoint", "sh", built.tag, "-c", "ls /cairn/home/local/cache"
    )
    assert len(entries.split()) == 2


@pytest.mark.containers
def test_the_secret_was_used_while_building_and_is_nowhere_in_the_image(
    built: Built, tmp_path: Path
) -> None:
    seen = podman(
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        built.tag,
        "-c",
        "cat /cairn/home/local/cache/*/seen.txt",
    )
    assert seen.strip() == f"secret-seen {len(SECRET)}"
    saved = tmp_path / "image.tar"
    podman("save", "--format", "docker-archive", "-o", str(saved), built.tag)
    assert SECRET.encode() not in saved.read_bytes()
    assert SECRET not in podman("history", "--no-trunc", built.tag)
    assert SECRET not in podman("image", "inspect", built.tag)
    assert b"layer.tar" in saved.read_bytes()  # every layer, uncompressed: grep sees it all


@pytest.mark.containers
def test_the_base_is_pinned_by_digest_and_the_labels_say_what_the_image_holds(
    built: Built,
) -> None:
    digest = podman("image", "inspect", "--format", "{{.Digest}}", "debian:bookworm").strip()
    text = (built.context / "Dockerfile").read_text()
    assert f"FROM debian:bookworm@{digest}\n" in text
    shown = cairn.access(
        {
            "action": "docker",
            "automation": "script",
            "inspect": built.tag,
            "lock": str(built.lock),
        }
    )
    assert shown["return"] == 0, shown.get("error")
    labels = shown["labels"]
    assert labels["cairn.version"] == cairn.__version__
    assert labels["cairn.base.digest"] == digest
    assert labels["cairn.script"] == "hello"
    assert labels["cairn.repos"].startswith("t=") and len(labels["cairn.repos"]) == 42
    assert shown["lock_matches"] is True
    other = built.root / "other.lock.yaml"
    other.write_text(built.lock.read_text() + "# changed\n")
    again = cairn.access(
        {"action": "docker", "automation": "script", "inspect": built.tag, "lock": str(other)}
    )
    assert again["lock_matches"] is False


@pytest.mark.containers
def test_an_input_path_is_mounted_read_only_into_the_run(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same image layers (cached): only the input differs."""
    monkeypatch.setenv("CAIRN_HOME", str(built.root / "home"))
    monkeypatch.setenv("CONTAINERS_CONF", str(built.root / "containers.conf"))
    data = tmp_path / "words.txt"
    data.write_text("from-the-host")
    r = in_docker("hello", who="ann", data=str(data), tag=built.tag + "-data", network="none")
    subprocess.run(["podman", "rmi", "-f", built.tag + "-data"], capture_output=True)
    assert r["return"] == 0, r.get("error")
    assert r["new_env"] == {"GREETING": "hi-ann-m-one", "DATA_TEXT": "from-the-host"}


@pytest.mark.containers
def test_a_failing_layer_is_named_with_the_command_to_build_it_again(
    tmp_path: Path, conf: None
) -> None:
    if _podman_can_build():
        pytest.skip(_podman_can_build())
    repo = ScriptRepo(tmp_path / "bad")
    repo.add("broken", {"cache": True}, run="echo broken on purpose >&2; exit 3\n")
    repo.add("uses-broken", {"deps": [{"tags": "broken"}]})
    tag = f"localhost/cairn-test-broken-{os.getpid()}"
    r = in_docker("uses-broken", tag=tag, to=str(tmp_path / "ctx"))
    assert r["return"] > 0
    error = str(r["error"])
    assert "building the image failed at step" in error
    assert "RUN cairn run script @/cairn/prerun/1.json" in error
    assert f"podman build -t {tag} {tmp_path / 'ctx'}" in error
    assert "podman run --rm -it " in error  # the last good layer, to look inside


@pytest.mark.containers
def test_a_missing_base_image_says_how_to_get_it(tmp_path: Path, conf: None) -> None:
    if _podman_can_build():
        pytest.skip(_podman_can_build())
    ScriptRepo(tmp_path / "r").add("plain")
    r = in_docker("plain", base="localhost/cairn-no-such-base:1")
    assert r["return"] > 0
    error = str(r["error"])
    assert "the base image localhost/cairn-no-such-base:1 is not on this machine" in error
    assert "podman pull localhost/cairn-no-such-base:1" in error
    assert ".ci/container-base.sh" in error


def test_no_engine_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ScriptRepo(tmp_path / "r").add("plain")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    r = in_docker("plain")
    assert r["return"] > 0
    assert "no container engine is installed" in r["error"]
    assert "apt-get install podman" in r["error"]


ROOTLESS_USER = "cairn-rootless"
"""The unprivileged user with sub-uids and rootless podman that .ci/container-base.sh makes."""


def _rootless_reason() -> str | None:
    """Why the ownership test cannot run as this (non-root) user (None: it can)."""
    if subprocess.run(["podman", "info"], capture_output=True).returncode != 0:
        return "rootless podman does not run for this user (podman info fails)"
    if subprocess.run(["podman", "image", "exists", "debian:bookworm"]).returncode != 0:
        return "no debian:bookworm image in this user's podman storage"
    return None


class AsUser:
    """Commands run as ``ROOTLESS_USER`` (``setpriv``) from root, with what rootless podman
    and this checkout's cairn need: the user's home (its podman storage), a runtime folder
    of its own, and a Python it may execute."""

    def __init__(self, user: pwd.struct_passwd, shared: Path) -> None:
        self.user = user
        self.shared = shared
        runtime = Path(f"/tmp/cairn-rootless-run-{user.pw_uid}")  # as .ci/container-base.sh
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.chown(runtime, user.pw_uid, user.pw_gid)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": user.pw_dir,
            "XDG_RUNTIME_DIR": str(runtime),
            "CONTAINERS_CONF": str(containers_conf(shared, rootless=True)),
            "CAIRN_HOME": str(shared / "home"),
            **{k: v for k, v in os.environ.items() if k.lower().endswith("_proxy")},
        }
        self.python = [sys.executable]

    def run(self, *argv: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
        uid, gid = self.user.pw_uid, self.user.pw_gid
        switch = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        return subprocess.run(
            [*switch, *argv],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.shared,
            timeout=timeout,
        )

    def find_python(self) -> str | None:
        """A Python the user may run that imports this checkout's cairn (the venv's may
        live under root's home): this one, else the system's of the same version with the
        venv's packages on the path. None: there is none."""
        source = str(Path(cairn.__file__).parents[1])
        self.env["PYTHONPATH"] = source
        probe = ["-c", "import cairn.cli.main"]
        if self.run(sys.executable, *probe).returncode == 0:
            return None
        system = f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"
        packages = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
        self.env["PYTHONPATH"] = os.pathsep.join([source, *sorted(packages)])
        if Path(system).exists() and self.run(system, *probe).returncode == 0:
            self.python = [system]
            return None
        return (
            f"user {ROOTLESS_USER} cannot run this checkout's cairn with {sys.executable} or"
            f" {system} (a folder it may not read, e.g. a checkout under /root)"
        )


def _as_user_reason(shared: Path) -> tuple[AsUser | None, str]:
    """As root: the rootless user to run the ownership test as, or why there is none."""
    try:
        user = pwd.getpwnam(ROOTLESS_USER)
    except KeyError:
        return None, (
            f"runs as root and there is no user {ROOTLESS_USER} with rootless podman"
            " (.ci/container-base.sh makes it)"
        )
    if shutil.which("setpriv") is None or shutil.which("podman") is None:
        return None, "running podman as another user needs setpriv and podman"
    os.chown(shared, user.pw_uid, user.pw_gid)
    as_user = AsUser(user, shared)
    info = as_user.run("podman", "info", timeout=120)
    if info.returncode != 0:
        return None, f"rootless podman fails for user {ROOTLESS_USER}: {info.stderr.strip()[-300:]}"
    if as_user.run("podman", "image", "exists", "debian:bookworm").returncode != 0:
        return None, f"no debian:bookworm image in user {ROOTLESS_USER}'s podman storage"
    reason = as_user.find_python()
    return (None, reason) if reason else (as_user, "")


@pytest.mark.containers
def test_the_output_folder_is_the_callers_when_not_root(
    tmp_path: Path, conf: None, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rootless podman: the result file written in the container belongs to the caller (the
    host uid, ``--userns=keep-id``), not to one of its sub-uids. As root (CI), the real
    ``cairn`` runs as the unprivileged user .ci/container-base.sh makes."""
    if os.geteuid() != 0:
        reason = _rootless_reason()
        if reason:
            pytest.skip(reason)
        ScriptRepo(tmp_path / "r").add("plain", run='echo "X=1" > tmp-run-env.out\n')
        out = tmp_path / "out"
        r = in_docker("plain", result_dir=str(out), tag=f"localhost/cairn-test-own-{os.getpid()}")
        assert r["return"] == 0, r.get("error")
        assert (out / "result.json").stat().st_uid == os.getuid()
        return
    as_user, reason = _as_user_reason(shared_dir)
    if as_user is None:
        pytest.skip(reason)
    _run_as_the_rootless_user(as_user, shared_dir, monkeypatch)


def _run_as_the_rootless_user(
    as_user: AsUser, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_HOME", str(shared / "home"))
    ScriptRepo(shared / "r").add("plain", run='echo "X=1" > tmp-run-env.out\n')
    uid, gid = as_user.user.pw_uid, as_user.user.pw_gid
    subprocess.run(["chown", "-R", f"{uid}:{gid}", str(shared)], check=True)
    out, tag = shared / "out", f"localhost/cairn-test-own-{os.getpid()}"
    argv = ["run", "script", "plain", "--docker", f"--result_dir={out}", f"--tag={tag}"]
    try:
        done = as_user.run(*as_user.python, "-m", "cairn", *argv)
    finally:
        as_user.run("podman", "rmi", "-f", tag, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "result.json").stat().st_uid == uid != 0


@pytest.mark.parametrize(
    ("printed", "step"),
    [
        ("STEP 2/3: COPY a /a\n--> 0123abcd\nSTEP 3/3: RUN make\nboom\n", "3/3: RUN make"),
        ("#5 [1/2] FROM base\n#6 [build 2/2] RUN make\n#6 ERROR: exit 1\n", "2/2: RUN make"),
    ],
)
def test_a_failed_build_is_named_by_the_step_either_engine_printed(
    tmp_path: Path, printed: str, step: str
) -> None:
    """The step a podman (``STEP n/m:``) or BuildKit (``#k [n/m]``) build stopped at."""
    from cairn.containers import engine

    fake = tmp_path / "podman"
    (tmp_path / "out.txt").write_text(printed)
    fake.write_text(f"#!/bin/sh\ncat {tmp_path / 'out.txt'}\nexit 7\n")
    fake.chmod(0o755)
    with pytest.raises(engine.BuildFailed) as caught:
        engine.build(str(fake), tmp_path, "localhost/x", {})
    assert f"failed at step {step} (exit 7)" in str(caught.value)
    assert f"{fake} build -t localhost/x {tmp_path}" in str(caught.value)
    assert ("podman run --rm -it 0123abcd sh" in str(caught.value)) == ("-->" in printed)
