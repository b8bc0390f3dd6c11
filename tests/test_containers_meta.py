"""A script's ``docker`` meta in an image's run: merged over variations, ``input_paths`` and
``mounts`` as the engine's mounts, and the run command they end up in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cairn.containers import engine, meta
from cairn.errors import InvalidInput


def test_variations_merge_in_order_maps_by_key_lists_extended_values_replaced() -> None:
    script = {
        "docker": {"base_image": "a:1", "os_packages": ["x"], "env": {"A": "1"}},
        "variations": {
            "one": {"docker": {"os_packages": ["y", "x"], "env": {"B": "2"}}},
            "two": {"docker": {"base_image": "b:2"}},
            "other": {"docker": {"base_image": "never:0"}},
        },
    }
    assert meta.merged(script, ["one", "two"]) == {
        "base_image": "b:2",
        "os_packages": ["x", "y"],
        "env": {"A": "1", "B": "2"},
    }
    assert meta.merged(script, [])["base_image"] == "a:1"
    assert meta.merged({"variations": {"v": {}}}, ["v", "missing"]) == {}


def test_input_paths_are_mounted_read_only_and_the_input_rewritten(tmp_path: Path) -> None:
    data = tmp_path / "my data.txt"
    data.write_text("x")
    inputs = {"data": str(data), "other": str(data), "gone": "/no/such/file", "who": "bob"}
    mounts, rewritten = meta.input_mounts({"input_paths": ["data", "gone", "absent"]}, inputs)
    assert mounts == [(str(data), "/cairn/inputs/data/my_data.txt", "ro")]
    assert rewritten == {**inputs, "data": "/cairn/inputs/data/my_data.txt"}


def test_mounts_fill_templates_from_the_runs_env_and_default_to_read_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docker = {
        "mounts": [
            f"{tmp_path}:/data",
            "${{ MODELS }}:/models:rw",
            "${{ NOT_GIVEN }}:/x",
        ]
    }
    found = meta.meta_mounts(docker, {"MODELS": str(tmp_path)})
    assert found == [(str(tmp_path), "/data", "ro"), (str(tmp_path), "/models", "rw")]
    assert "NOT_GIVEN" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("/no/such/dir:/data", "does not exist"),
        ("relative:/data", "not an absolute path"),
        ("/tmp:/a,b", "not an absolute path"),
        ("/tmp", "not HOST:CONTAINER"),
    ],
)
def test_a_bad_mount_is_refused_naming_it(item: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        meta.meta_mounts({"mounts": [item]}, {})


def test_a_run_mounts_secrets_read_only_and_passes_env_secrets_by_name(tmp_path: Path) -> None:
    command = engine.run_command(
        "podman",
        "img",
        tmp_path / "input.json",
        tmp_path / "out",
        "none",
        mounts=[("/data", "/cairn/inputs/data/d", "ro")],
        secrets={"tok": "/s/token", "pip": "env:PIP_TOKEN"},
    )
    text = " ".join(command)
    assert "-v /s/token:/run/secrets/tok:ro" in text and "--env PIP_TOKEN" in text
    assert "-v /data:/cairn/inputs/data/d:ro" in text and "--network none" in text
    assert f"--user {os.getuid()}:{os.getgid()}" in text and command[-1] == "img"


def test_rootless_podman_keeps_the_callers_uid_for_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rootless podman maps ``--user UID`` to a sub-uid: without ``--userns=keep-id`` the
    files of the output folder would not be the caller's."""
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    command = engine.run_command("/usr/bin/podman", "img", tmp_path / "i", tmp_path / "o", None)
    assert "--userns=keep-id" in command
    assert "--userns=keep-id" not in engine.run_command(
        "/usr/bin/docker", "img", tmp_path / "i", tmp_path / "o", None
    )


def test_build_secrets_are_secret_mounts_never_build_arguments() -> None:
    args = engine.secret_args({"tok": "/s/token", "pip": "env:PIP_TOKEN"})
    assert args == ["--secret", "id=pip,env=PIP_TOKEN", "--secret", "id=tok,src=/s/token"]
