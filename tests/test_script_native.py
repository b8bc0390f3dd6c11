"""Native scripts (``cairn.script.native``): choice, safely quoted wrapper, real bash runs."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from cairn import report
from cairn.engine_vars import CM_VARS
from cairn.errors import InvalidInput, InvalidName, MetaError
from cairn.script import native
from cairn.script.native import HostOS, NativeScriptFailed

NASTY = [
    'double "quotes" here',
    "single 'quotes' here",
    "it's",
    "'",
    '"',
    "$HOME and ${PATH} and $0",
    "`touch pwned-backtick`",
    "$(touch pwned-dollar)",
    "; touch pwned-semicolon #",
    "back\\slash \\n \\\\ and trailing\\",
    "new\nline\nand more\n",
    "\n",
    "  leading and trailing spaces  ",
    "tab\there",
    "carriage\r\nreturn",
    "unicode: héllo \u2013 日本語 🚀",
    "*glob? [x] ~ {a,b}",
    "!! !$ history",
    "--looks-like-an-option",
    "a=b=c",
    "",
    "\udcff\udcfe undecodable bytes",
]


def _script(directory: Path, body: str, name: str = "run.sh") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(body)
    return path


def _run(
    tmp_path: Path,
    env: dict[str, Any],
    body: str,
    *,
    prefix: tuple[str, ...] = (),
    **kwargs: Any,
) -> tuple[native.NativeRun, Path, list[bytes]]:
    script = _script(tmp_path / "script", body)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    wrapper = native.write_wrapper(work / native.WRAPPER, env, script, prefix)
    shown: list[bytes] = []
    outcome = native.run(wrapper, work, work / "run.log", echo=shown.append, **kwargs)
    return outcome, work, shown


# --- quoting -------------------------------------------------------------------------------------


def test_every_nasty_value_arrives_as_cm_exports_it_and_nothing_runs(tmp_path: Path) -> None:
    env = {f"V{i}": value for i, value in enumerate(NASTY)}
    body = 'mkdir -p out\nfor k in ${!V*}; do printf "%s" "${!k}" > "out/$k"; done\n'
    _, work, _ = _run(tmp_path, env, body)
    for key, value in env.items():
        got = (work / "out" / key).read_bytes()
        assert got == os.fsencode(native.as_cm_exports(value)), key
    assert (work / "out" / "V9").read_bytes() == b"back\\slash \\n \\ and trailing\\"
    assert not list(tmp_path.rglob("pwned*"))


@pytest.mark.parametrize(
    ("value", "arrives"),
    [
        ("; echo \\${PIPESTATUS[0]} > exitstatus", "; echo ${PIPESTATUS[0]} > exitstatus"),
        ('say \\"hi\\"', 'say "hi"'),
        ("one \\\\ two", "one \\ two"),
        ("a \\`b\\`", "a `b`"),
        ("line\\\ncontinued", "linecontinued"),
        ("kept \\d \\n $HOME $(id)", "kept \\d \\n $HOME $(id)"),
    ],
)
def test_backslashes_as_cms_double_quoted_export(tmp_path: Path, value: str, arrives: str) -> None:
    _, work, _ = _run(tmp_path, {"V": value}, 'printf "%s" "$V" > out\n')
    assert (work / "out").read_text() == arrives


def test_values_come_back_through_env_out(tmp_path: Path) -> None:
    env = {"A": 'x "y" $z `w`', "B": "k=v=w", "C": "  spaced  ", "D": "é"}
    body = 'for k in A B C D; do printf "OUT_%s=%s\\n" "$k" "${!k}" >> tmp-run-env.out; done\n'
    _, work, _ = _run(tmp_path, env, body)
    assert native.read_outputs(work).env == {f"OUT_{k}": v for k, v in env.items()}


def test_bools_numbers_and_plain_lists_are_exported_as_text(tmp_path: Path) -> None:
    env = {"T": True, "F": False, "N": 5, "R": 2.5, "L": ["a", "b c"]}
    body = 'echo "T=$T" "F=$F" "N=$N" "R=$R" "L=$L"\n'
    _, _, shown = _run(tmp_path, env, body)
    assert b"".join(shown) == b"T=True F=False N=5 R=2.5 L=a,b c\n"


def test_null_is_empty_with_a_warning_and_mappings_are_json(tmp_path: Path) -> None:
    env = {"NUL": None, "MAP": {"a": 1, "b": [True, None]}, "L": ["x", None, {"k": "v"}]}
    body = 'printf "%s|%s|%s" "${NUL-unset}" "$MAP" "$L"\n'
    with report.using(report.Reporter()) as reporter:
        _, _, shown = _run(tmp_path, env, body)
    assert b"".join(shown) == b'|{"a": 1, "b": [true, null]}|x,,{"k": "v"}'
    assert reporter.warnings == ["env NUL is null: exported as an empty string (write NUL: '')"]


def test_a_tuple_a_hook_sets_is_a_list_not_a_python_repr(tmp_path: Path) -> None:
    env = {"T": (1, "a"), "NESTED": [(1, 2)], "S": {"k": (None, 2.5)}}
    _, _, shown = _run(tmp_path, env, 'printf "%s|%s|%s" "$T" "$NESTED" "$S"\n')
    assert b"".join(shown) == b'1,a|[1, 2]|{"k": [null, 2.5]}'


def test_plus_path_is_really_prepended(tmp_path: Path) -> None:
    tools = tmp_path / "my tools $x"
    tool = _script(tools, "#!/bin/sh\necho found-tool\n", name="cairn-test-tool")
    tool.chmod(0o755)
    env = {"+PATH": [str(tools), "/second"]}
    body = 'cairn-test-tool\nprintf "%s\\n" "$PATH" > path.txt\n'
    _, work, shown = _run(tmp_path, env, body)
    assert b"found-tool" in b"".join(shown)
    path = (work / "path.txt").read_text().rstrip("\n")
    assert path == f"{tools}:/second:{os.environ['PATH']}"


def test_plus_key_with_separator_char_and_empty_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFLAGS", "-Wall")
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    env = {"+ CFLAGS": ["-O2", "-g"], "+LD_LIBRARY_PATH": ["/opt/lib"], "+EMPTY": []}
    body = 'echo "[$CFLAGS]" "[$LD_LIBRARY_PATH]" "[${EMPTY-unset}]"\n'
    _, _, shown = _run(tmp_path, env, body)
    assert b"".join(shown) == b"[-O2 -g -Wall] [/opt/lib] [unset]\n"


def test_prefix_lines_run_after_the_exports_and_before_the_script(tmp_path: Path) -> None:
    env = {"GREETING": "hello"}
    prefix = ('PREFIXED="$GREETING from prefix"',)
    _, _, shown = _run(tmp_path, env, 'echo "$PREFIXED"\n', prefix=prefix)
    assert b"".join(shown) == b"hello from prefix\n"


def test_wrapper_sorts_keys_and_sources_the_script(tmp_path: Path) -> None:
    script = _script(tmp_path / "s d", "true\n")
    text = native.wrapper_text({"B": "2", "A": "1", "+PATH": ["/p"]}, script)
    lines = text.splitlines()
    assert lines[0] == "#!/bin/bash"
    exports = [line for line in lines if "export" in line]
    assert exports[0].startswith("if ") and "PATH" in exports[0]
    assert exports[1:] == ["export A=1", "export B=2"]
    assert lines[-1] == f". '{script.absolute()}'"


def test_write_wrapper_makes_an_executable_file(tmp_path: Path) -> None:
    path = native.write_wrapper(tmp_path / native.WRAPPER, {"A": "1"}, tmp_path / "run.sh")
    assert path.stat().st_mode & stat.S_IXUSR


@pytest.mark.parametrize("key", ["MY-KEY", "1ABC", "A B", "", "+PA-TH", "+", "X$(id)"])
def test_keys_that_are_not_shell_names_are_refused(tmp_path: Path, key: str) -> None:
    value: Any = ["/x"] if key.startswith("+") else "v"
    with pytest.raises(InvalidInput) as info:
        native.wrapper_text({"GOOD": "1", key: value}, tmp_path / "run.sh")
    assert repr(key) in str(info.value)


def test_nul_bytes_and_plus_keys_without_lists_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"'BAD'.*NUL"):
        native.wrapper_text({"BAD": "a\0b"}, tmp_path / "run.sh")
    with pytest.raises(InvalidInput, match=r"\+PATH"):
        native.wrapper_text({"+PATH": "/usr/bin"}, tmp_path / "run.sh")


# --- choice of the native script ---------------------------------------------------------------

UBUNTU = HostOS(flavor="ubuntu", version="22.04", platform_flavor="x86_64")
ALL = [
    "run-ubuntu-22.04-x86_64.sh",
    "run-ubuntu-x86_64.sh",
    "run-ubuntu-22.04.sh",
    "run-ubuntu.sh",
    "run-x86_64.sh",
    "run.sh",
]


def test_os_specific_scripts_are_tried_in_cms_order(tmp_path: Path) -> None:
    for name in ALL:
        (tmp_path / name).write_text("true\n")
    for name in ALL:
        assert native.pick_script(tmp_path, "run", UBUNTU) == tmp_path / name
        (tmp_path / name).unlink()
    assert native.pick_script(tmp_path, "run", UBUNTU) is None


def test_unknown_host_facts_skip_the_specific_names(tmp_path: Path) -> None:
    (tmp_path / "run-.sh").write_text("true\n")
    (tmp_path / "run.sh").write_text("true\n")
    assert native.script_candidates("run", HostOS()) == ["run.sh"]
    assert native.pick_script(tmp_path, "run", HostOS()) == tmp_path / "run.sh"
    only_flavor = HostOS(flavor="debian")
    assert native.script_candidates("install", only_flavor) == ["install-debian.sh", "install.sh"]


def test_windows_uses_only_the_bat_file(tmp_path: Path) -> None:
    (tmp_path / "run-ubuntu.sh").write_text("true\n")
    windows = HostOS(flavor="ubuntu", windows=True)
    assert native.pick_script(tmp_path, "run", windows) is None
    (tmp_path / "run.bat").write_text("echo\n")
    assert native.pick_script(tmp_path, "run", windows) == tmp_path / "run.bat"


def test_host_os_from_env() -> None:
    env = {"CM_HOST_OS_FLAVOR": "ubuntu", "CM_HOST_OS_VERSION": 22, "CM_HOST_PLATFORM_FLAVOR": "x"}
    assert HostOS.from_env(env, CM_VARS, windows=False) == HostOS("ubuntu", "22", "x", False)
    assert HostOS.from_env({}, CM_VARS, windows=True) == HostOS(windows=True)


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".."])
def test_script_names_must_be_plain_file_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidName):
        native.pick_script(tmp_path, name, UBUNTU)


# --- running ---------------------------------------------------------------------------------


def test_success_returns_exit_code_tail_and_log(tmp_path: Path) -> None:
    outcome, work, shown = _run(tmp_path, {}, 'echo out; echo err >&2; echo "cwd=$PWD"\n')
    assert outcome.exit_code == 0
    assert outcome.tail == ["out", "err", f"cwd={work}"]
    assert outcome.log_file.read_bytes() == b"".join(shown)


def test_failure_raises_with_exit_code_last_lines_and_log(tmp_path: Path) -> None:
    body = "for i in $(seq 1 30); do echo line$i; done\necho boom >&2\nexit 3\n"
    with pytest.raises(NativeScriptFailed) as info:
        _run(tmp_path, {}, body, script="demo/run.sh")
    error = info.value
    assert error.code == 2
    assert error.exit_code == 3
    assert error.tail[-1] == "boom"
    assert len(error.tail) == native.TAIL_LINES
    assert "line1\n" in error.log_file.read_text()
    message = str(error)
    assert "demo/run.sh" in message and "exit code 3" in message
    assert "boom" in message and str(error.log_file) in message


def test_a_failing_command_before_exit_keeps_its_code(tmp_path: Path) -> None:
    body = "false\ntest $? -eq 0 || exit $?\necho not reached\n"
    with pytest.raises(NativeScriptFailed) as info:
        _run(tmp_path, {}, body)
    assert info.value.exit_code == 1
    assert info.value.tail == []
    assert "(no output)" in str(info.value)


def test_killed_by_a_signal(tmp_path: Path) -> None:
    with pytest.raises(NativeScriptFailed) as info:
        _run(tmp_path, {}, "echo before\nkill -KILL $$\n")
    assert info.value.exit_code == 137
    assert "SIGKILL" in str(info.value)


def test_check_false_returns_the_failure(tmp_path: Path) -> None:
    outcome, _, _ = _run(tmp_path, {}, "echo x; exit 4\n", check=False)
    assert (outcome.exit_code, outcome.tail) == (4, ["x"])


def test_stdin_is_dev_null_so_a_prompt_does_not_hang(tmp_path: Path) -> None:
    _, _, shown = _run(tmp_path, {}, 'read -r answer; echo "read=$? [$answer]"\n')
    assert b"".join(shown) == b"read=1 []\n"


def test_env_extra_reaches_the_process(tmp_path: Path) -> None:
    _, _, shown = _run(tmp_path, {}, 'echo "$CAIRN_EXTRA"\n', env_extra={"CAIRN_EXTRA": "x y"})
    assert b"".join(shown) == b"x y\n"


def test_output_goes_to_stdout_by_default(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    script = _script(tmp_path / "s", "echo to-the-terminal\n")
    wrapper = native.write_wrapper(tmp_path / native.WRAPPER, {}, script)
    native.run(wrapper, tmp_path, tmp_path / "log" / "run.log")
    assert "to-the-terminal" in capfd.readouterr().out
    assert (tmp_path / "log" / "run.log").read_text() == "to-the-terminal\n"


# --- outputs -------------------------------------------------------------------------------------


def test_env_out_parsing_rules(tmp_path: Path) -> None:
    (tmp_path / native.ENV_OUT).write_bytes(
        b'K=a=b\n\n   \n  SPACED_KEY  =  value with spaces  \nQ="quoted"\n'
        b"EMPTY=\nCRLF=x\r\nK2=first\nK2=second\nno equals sign\n=nokey\nLAST=end"
    )
    reporter = report.Reporter()
    with report.using(reporter):
        env = native.read_outputs(tmp_path).env
    assert env == {
        "K": "a=b",
        "SPACED_KEY": "  value with spaces  ",
        "Q": '"quoted"',
        "EMPTY": "",
        "CRLF": "x",
        "K2": "second",
        "LAST": "end",
    }
    assert len(reporter.warnings) == 2
    assert all(native.ENV_OUT in w for w in reporter.warnings)
    assert "line 10" in reporter.warnings[0] and "no equals sign" in reporter.warnings[0]
    assert "line 11" in reporter.warnings[1]


def test_missing_outputs_are_empty(tmp_path: Path) -> None:
    assert native.read_outputs(tmp_path) == native.Outputs({}, {})


def test_state_out_is_read(tmp_path: Path) -> None:
    state = {"mlperf": {"results": [1, 2]}, "s": "é"}
    (tmp_path / native.STATE_OUT).write_text(json.dumps(state))
    assert native.read_outputs(tmp_path).state == state


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_bad_state_out_names_the_file(tmp_path: Path, content: str) -> None:
    (tmp_path / native.STATE_OUT).write_text(content)
    with pytest.raises(MetaError, match=native.STATE_OUT):
        native.read_outputs(tmp_path)


def test_clear_outputs_removes_stale_files(tmp_path: Path) -> None:
    (tmp_path / native.ENV_OUT).write_text("STALE=1\n")
    (tmp_path / native.STATE_OUT).write_text("{}")
    native.clear_outputs(tmp_path)
    native.clear_outputs(tmp_path)
    assert not (tmp_path / native.ENV_OUT).exists()
    assert not (tmp_path / native.STATE_OUT).exists()


def test_state_out_written_by_a_real_script(tmp_path: Path) -> None:
    body = 'printf \'{"new": {"k": "%s"}}\' "$VALUE" > tmp-run-state.json\n'
    _, work, _ = _run(tmp_path, {"VALUE": "v"}, body)
    assert native.read_outputs(work).state == {"new": {"k": "v"}}
