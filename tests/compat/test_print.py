"""Small scripts: native output, variations, inputs, dependency conditions, Python, Java."""

from __future__ import annotations

import pytest

from tests.compat.conftest import Cairn, which


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def test_print_hello_world_env_and_input_mapping(cairn: Cairn) -> None:
    run = cairn.run("print-hello-world", "--test1=from-input")
    assert run.env == {"CM_ENV_TEST1": "from-input", "CM_ENV_TEST2": "TEST2"}
    out = lines(run.log)
    assert "CM_ENV_TEST1 = from-input" in out
    assert "CM_ENV_TEST2 = TEST2" in out
    assert "HELLO WORLD!" in out


def test_print_hello_world_dynamic_and_plain_variations(cairn: Cairn) -> None:
    run = cairn.run("print-hello-world,_text.HI-THERE,_skip_print_env")
    assert run.result["variations"] == ["_text.HI-THERE", "_skip_print_env"]
    out = lines(run.log)
    assert out[out.index("HELLO WORLD!") + 2] == "HI-THERE"
    assert not any(line.startswith("CM_ENV_TEST") for line in out)


def test_print_any_text_prints_text_and_env_keys(cairn: Cairn) -> None:
    run = cairn.run("print-any-text,_text.hello-compat,_cm_env.MY_KEY", "--env.MY_KEY=my-value")
    out = lines(run.log)
    assert "hello-compat" in out
    assert "CM_ENV[MY_KEY]: my-value" in out


def test_print_python_version_uses_its_get_python3_dependency(cairn: Cairn) -> None:
    run = cairn.run("print-python-version")
    python = run.dep("get-python3")["new_env"]
    out = lines(run.log)
    assert f"CM_PYTHON_BIN_WITH_PATH = {python['CM_PYTHON_BIN_WITH_PATH']}" in out
    assert f"Python {python['CM_PYTHON_VERSION']}" in out


def test_print_hello_world_py_native_python_imports_cmind(cairn: Cairn) -> None:
    """app.py does ``import cmind.utils``: the shim must be importable by native Python too."""
    run = cairn.run("print-hello-world-py")
    out = lines(run.log)
    assert "HELLO WORLD from Python" in out
    assert out[out.index("HELLO WORLD from Python") + 1] == "1"


def test_print_hello_world_java(cairn: Cairn) -> None:
    which("java")
    run = cairn.run("print-hello-world-java", "--env.CM_VAR1=v1")
    out = lines(run.log)
    assert "Hello world!" in out
    assert "CM_VAR1=v1" in out
    assert "CM_VAR2=null" in out
    assert run.dep("get-java")["new_env"]["CM_JAVA_BIN"] == "java"


def test_print_hello_world_javac_compiles_and_runs(cairn: Cairn) -> None:
    which("javac")
    run = cairn.run("print-hello-world-javac", "--env.CM_VAR2=v2")
    assert "Hello world!" in lines(run.log)
    assert "CM_VAR2=v2" in lines(run.log)
    # javac writes code.class next to code.java, in the script folder (as with CM)
    assert (cairn.root / "repo" / "script" / "print-hello-world-javac" / "code.class").is_file()


def dep_texts(run_result: dict[str, object]) -> list[str]:
    deps = run_result["deps"]
    assert isinstance(deps, list)
    return [v for d in deps for v in d["variations"] if v.startswith("_text.")]


@pytest.mark.parametrize(
    ("inputs", "ran"),
    [
        ([], ["_text.SKIP_IF_ALL_ENV", "_text.SKIP_IF_ANY_ENV"]),
        (["--test1=yes"], ["_text.SKIP_IF_ALL_ENV", "_text.ENABLE_IF_ANY_ENV"]),
        (
            ["--test1=yes", "--test2=yes", "--test3=yes"],
            ["_text.ENABLE_IF_ALL_ENV", "_text.ENABLE_IF_ANY_ENV"],
        ),
    ],
)
def test_deps_conditions(cairn: Cairn, inputs: list[str], ran: list[str]) -> None:
    """skip_if_env / skip_if_any_env / enable_if_env / enable_if_any_env on three inputs."""
    run = cairn.run("test-deps-conditions", *inputs)
    assert len(run.result["deps"]) == 1 + len(ran)
    assert dep_texts(run.result) == ran
    assert all(d["script"] == "print-hello-world" for d in run.result["deps"])


@pytest.mark.parametrize(
    ("inputs", "ran"),
    [
        ([], "_text.RUN_IF_ENV_IS_NOT_SET_TO_TRUE"),
        (["--test=true"], "_text.RUN_IF_ENV_IS_SET_TO_TRUE"),
    ],
)
def test_deps_conditions2(cairn: Cairn, inputs: list[str], ran: str) -> None:
    run = cairn.run("test-deps-conditions2", *inputs)
    assert dep_texts(run.result) == [ran]
    assert run.result["deps"][0]["variations"] == ["_cm_env.TEST"]


def test_test_dummy_and_fail_on_linux(cairn: Cairn) -> None:
    """``fail`` only fails on Windows (CM_FAIL_WINDOWS); on Linux both succeed with no env."""
    assert cairn.run("test-dummy").env == {}
    assert cairn.run("fail", "--env.CM_FAIL_WINDOWS=true").env == {}


def test_run_python_runs_the_command_with_the_detected_python(cairn: Cairn) -> None:
    run = cairn.run("run-python", "--command=-c print(6*7)")
    assert "42" in lines(run.log)
    assert run.dep("get-python3")["new_env"]["CM_PYTHON_VERSION"]


def test_run_python_with_a_file(cairn: Cairn) -> None:
    program = cairn.cwd / "program.py"
    program.write_text("import sys\nprint('argv', sys.argv[1:])\n")
    run = cairn.run("run-python", f"--command={program} a b")
    assert "argv ['a', 'b']" in lines(run.log)
