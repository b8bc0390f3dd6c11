"""Running a script's native shell script: choose it, wrap it, run it, read its outputs.

The flow, one function per step:

1. :func:`pick_script` finds ``run.sh`` or its OS-specific variant in the script directory;
2. :func:`clear_outputs` deletes stale ``tmp-run-env.out``/``tmp-run-state.json`` in the work dir;
3. :func:`write_wrapper` writes ``tmp-run.sh``, which exports the env (every value quoted so
   that the shell sees it byte for byte and never expands or executes it), adds the
   ``script_prefix`` lines and *sources* the native script;
4. :func:`run` runs ``bash`` on the wrapper in the work dir, showing the output while it keeps
   it in a log file; a failure raises :class:`NativeScriptFailed`;
5. :func:`read_outputs` reads what the script reported back;
6. :func:`remove_own_files` removes those files again after a run that is not cached (it ran
   in the caller's folder).

Differences from CM, on purpose: values are quoted (CM writes ``export K="V"`` unescaped);
``tmp-run-env.out`` is split on the first ``=`` only (CM keeps the text up to the second one);
a ``+KEY`` list adds no trailing separator when the variable was empty (CM exports
``/x:`` for an empty ``LD_LIBRARY_PATH``, which puts the current directory on the search
path); a list under a plain key is exported comma-joined instead of as a Python list repr;
the failure reports the real exit code (CM reports the raw wait status, 512 for exit 2);
a ``+NAME`` list is exported after a plain ``NAME`` of the same run, so it extends it (CM
sorts ``+ CFLAGS`` first, and ``CFLAGS`` then overwrites the list).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple

from cairn import report
from cairn.engine_vars import EngineVars
from cairn.errors import CairnError, InvalidInput, InvalidName, MetaError, NotFound
from cairn.record import Defaulted
from cairn.script.env import check_plus_lists, text

WRAPPER = "tmp-run.sh"
NOTEBOOK_SUFFIX = ".ipynb"
"""A native step may be a notebook (``run.ipynb`` when there is no ``run.sh``)."""
NOTEBOOK_PARAMS = "tmp-notebook-params.json"
ENV_OUT = "tmp-run-env.out"
STATE_OUT = "tmp-run-state.json"
STATE_IN = "tmp-state.json"
OWN_FILES = (WRAPPER, STATE_IN, ENV_OUT, STATE_OUT, NOTEBOOK_PARAMS)
"""The files cairn writes and reads around a native script in the folder it runs in."""
TAIL_LINES = 20

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POLL_SECONDS = 0.05
_TAIL_BYTES = 64 * 1024


class NativeRun(NamedTuple):
    """How a native script run ended.

    ``exit_code`` is the script's exit status; a script killed by a signal gets ``128 + N``
    as a shell reports it, and ``signal`` names the signal (``""`` otherwise).
    """

    exit_code: int
    tail: list[str]
    log_file: Path
    signal: str = ""


class NativeScriptFailed(CairnError):
    """A native script exited with a non-zero status (CM returns 2)."""

    code = 2

    def __init__(self, script: str, outcome: NativeRun) -> None:
        self.script = script
        self.exit_code = outcome.exit_code
        self.tail = outcome.tail
        self.log_file = outcome.log_file
        lines = "\n".join(f"  | {line}" for line in outcome.tail) or "  (no output)"
        super().__init__(
            f"native script {script} failed with {_describe_exit(outcome)}; "
            f"last lines of its output:\n{lines}",
            hint=f"full output in {outcome.log_file}",
        )


def _describe_exit(outcome: NativeRun) -> str:
    if outcome.signal:
        return f"exit code {outcome.exit_code} (killed by {outcome.signal})"
    return f"exit code {outcome.exit_code}"


# --- 1. which native script ------------------------------------------------------------------


class HostOS(Defaulted):
    """What selects an OS-specific native script: the dialect's ``HOST_*`` keys
    (:attr:`cairn.engine_vars.EngineVars.native_reads`) and the platform."""

    flavor: str = ""
    version: str = ""
    platform_flavor: str = ""
    windows: bool = False

    @classmethod
    def from_env(
        cls, env: Mapping[str, Any], names: EngineVars, *, windows: bool | None = None
    ) -> HostOS:
        """Read ``HOST_OS_FLAVOR``/``HOST_OS_VERSION``/``HOST_PLATFORM_FLAVOR`` in the
        script's dialect (``names``: ``CM_HOST_OS_FLAVOR`` or ``MLC_HOST_OS_FLAVOR``).

        These keys exist only once ``detect-os`` ran in the same env; missing ones are empty.
        ``windows`` defaults to the platform cairn runs on.
        """
        return cls(
            flavor=text(env.get(names.host_os_flavor, "")),
            version=text(env.get(names.host_os_version, "")),
            platform_flavor=text(env.get(names.host_platform_flavor, "")),
            windows=os.name == "nt" if windows is None else windows,
        )


def script_candidates(name: str, os_info: HostOS) -> list[str]:
    """The file names tried for native script ``name``, most specific first.

    CM's order: ``NAME-<flavor>-<version>-<platform>.sh``, ``NAME-<flavor>-<platform>.sh``,
    ``NAME-<flavor>-<version>.sh``, ``NAME-<flavor>.sh``, ``NAME-<platform>.sh``, ``NAME.sh``;
    a name with an empty part is skipped (CM would probe ``run--.sh``). Windows: ``NAME.bat``.
    """
    if os_info.windows:
        return [f"{name}.bat"]
    flavor, version, plat = os_info.flavor, os_info.version, os_info.platform_flavor
    parts = [(flavor, version, plat), (flavor, plat), (flavor, version), (flavor,), (plat,), ()]
    names = ["-".join((name, *p)) + ".sh" for p in parts if all(p)]
    return list(dict.fromkeys(names))


def pick_script(script_dir: Path, name: str, os_info: HostOS) -> Path | None:
    """The first existing candidate of :func:`script_candidates` in ``script_dir``, or None."""
    if Path(name).name != name or name in ("", ".", ".."):
        raise InvalidName(f"native script name {name!r} must be a plain file name")
    for candidate in script_candidates(name, os_info):
        path = script_dir / candidate
        if path.is_file():
            return path
    notebook = script_dir / f"{name}{NOTEBOOK_SUFFIX}"
    return notebook if notebook.is_file() and not os_info.windows else None


# --- 2. stale outputs --------------------------------------------------------------------------


def clear_outputs(cwd: Path) -> None:
    """Delete the output files a previous run may have left in ``cwd``."""
    for name in (ENV_OUT, STATE_OUT):
        (cwd / name).unlink(missing_ok=True)


def remove_own_files(cwd: Path) -> None:
    """Delete the files cairn wrote in ``cwd`` for a native script (:data:`OWN_FILES`)."""
    for name in OWN_FILES:
        with contextlib.suppress(OSError):
            (cwd / name).unlink(missing_ok=True)


# --- 3. the wrapper ----------------------------------------------------------------------------


def write_wrapper(
    path: Path, env: Mapping[str, Any], script: Path, prefix_lines: Iterable[str] = ()
) -> Path:
    """Write the bash wrapper ``path`` (usually ``<work dir>/tmp-run.sh``) and return it.

    See :func:`wrapper_text` for what it holds. The file is UTF-8 (values that came from
    undecodable bytes are written back as those bytes) and executable.
    """
    path.write_bytes(wrapper_text(env, script, prefix_lines).encode("utf-8", "surrogateescape"))
    path.chmod(0o755)
    if script.suffix == NOTEBOOK_SUFFIX:
        params = {k: text(v) for k, v in env.items() if not k.startswith("+")}
        (path.parent / NOTEBOOK_PARAMS).write_text(json.dumps(params), encoding="utf-8")
    return path


def wrapper_text(env: Mapping[str, Any], script: Path, prefix_lines: Iterable[str] = ()) -> str:
    """The wrapper: exports (keys sorted; a ``+NAME`` list whose ``NAME`` is also set comes
    after it, so that it extends that value instead of being overwritten by it), the
    ``script_prefix`` lines, then ``. SCRIPT``.

    Every value is single-quoted, so ``"``, ``'``, ``$``, backticks, ``\\``, newlines, spaces and
    any unicode reach the script unchanged and nothing in them runs. Bools are exported as
    ``True``/``False`` and numbers via ``str``, as CM does. A key that is not a shell identifier
    (after the ``+`` of a list key) is refused with :class:`InvalidInput` naming it; so is a
    value holding a NUL byte, which no environment variable can carry.
    """
    check_plus_lists(env)
    lines = ["#!/bin/bash", "# Generated by cairn: the env of the run, then the native script."]
    lines += [export_line(key, env[key]) for key in _export_order(env)]
    lines += [line for line in prefix_lines if line.strip()]
    lines.append(_step_line(script))
    return "\n".join(line for line in lines if line) + "\n"


def _step_line(script: Path) -> str:
    """Source a shell script; run a notebook through :mod:`cairn.notebook.step` with this
    Python (parameters in :data:`NOTEBOOK_PARAMS`, the executed copy beside it)."""
    where = shlex.quote(str(script.absolute()))
    if script.suffix != NOTEBOOK_SUFFIX:
        return f". {where}"
    executed = shlex.quote(f"{script.stem}.executed{NOTEBOOK_SUFFIX}")
    python = shlex.quote(sys.executable)
    return f"{python} -m cairn.notebook.step {where} {NOTEBOOK_PARAMS} {executed}"


def _export_order(env: Mapping[str, Any]) -> list[str]:
    """Sorted keys, except that ``+NAME`` follows a plain ``NAME`` it extends."""

    def extends_plain(key: str) -> bool:
        return key.startswith("+") and _list_name(key)[1] in env

    return sorted(env, key=lambda key: (extends_plain(key), key))


def _list_name(key: str) -> tuple[str, str]:
    """(separator, variable) of a ``+KEY``: ``+PATH`` is (":", "PATH"), ``+ CFLAGS`` (" ", ...)."""
    return (key[1], key[2:]) if len(key) > 1 and not key[1].isalnum() else (":", key[1:])


def export_line(key: str, value: Any) -> str:
    """One shell line exporting ``key``; ``+KEY`` lists are prepended to the current value.

    ``+NAME: [a, b]`` exports ``a:b`` followed by ``:$NAME`` when ``NAME`` is set and not
    empty. A key ``+<c>NAME`` whose second character is not alphanumeric joins with ``<c>``
    (``'+ CFLAGS'`` is space-joined). An empty list exports nothing.
    """
    if not key.startswith("+"):
        if value is None:
            report.warn(f"env {key} is null: exported as an empty string (write {key}: '')")
        return f"export {_checked_name(key, key)}={_quoted(key, export_value(value))}"
    sep, name = _list_name(key)
    _checked_name(name, key)
    if not value:
        return ""
    joined = _quoted(key, sep.join(_item_text(item) for item in value))
    extended = f'{joined}{shlex.quote(sep)}"${{{name}}}"'
    test = f'[ -n "${{{name}:-}}" ]'
    return f"if {test}; then export {name}={extended}; else export {name}={joined}; fi"


def export_value(value: Any) -> str:
    """The text exported for an env value: strings as they are, bools ``True``/``False``,
    numbers via ``str``, null as the empty string, a mapping as JSON text, lists and tuples
    (outside ``+KEY``) joined with ``,`` (an item that is a mapping, list or tuple as JSON
    text, a null item as the empty string)."""
    if isinstance(value, list | tuple):  # a hook may set a tuple: read as a list
        return ",".join(_item_text(item) for item in value)
    return _item_text(value)


def _item_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return text(value)


def _checked_name(name: str, key: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise InvalidInput(
            f"env key {key!r} cannot be exported to a shell: {name!r} is not a valid "
            "variable name (letters, digits and '_', not starting with a digit)"
        )
    return name


_ESCAPED = re.compile(r'\\([$`"\\\n])')


def as_cm_exports(value: str) -> str:
    r"""``value`` as CM's ``export KEY="VALUE"`` leaves it after backslash processing: ``\$``,
    ``\```, ``\"`` and ``\\`` lose their backslash and a backslash-newline disappears (CM
    scripts write ``\${PIPESTATUS[0]}`` to get ``${PIPESTATUS[0]}``). Nothing is expanded or
    run: ``$VAR`` and ``$(...)`` stay as written."""
    return _ESCAPED.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), value)


def _quoted(key: str, value: str) -> str:
    value = as_cm_exports(value)
    if "\0" in value:
        raise InvalidInput(f"the value of env key {key!r} contains a NUL byte")
    try:
        value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"the value of env key {key!r} is not valid text: {exc}") from exc
    return shlex.quote(value)


# --- 4. running it -----------------------------------------------------------------------------


Echo = Callable[[bytes], None]


def run(
    wrapper: Path,
    cwd: Path,
    log_file: Path,
    env_extra: Mapping[str, str] | None = None,
    *,
    script: str = "",
    interactive: bool = False,
    echo: Echo | None = None,
    check: bool = True,
    tail_lines: int = TAIL_LINES,
) -> NativeRun:
    """Run ``bash WRAPPER`` in ``cwd`` and return how it ended.

    The process gets cairn's environment plus ``env_extra`` (the run's env itself comes from
    the wrapper) and stdin from ``/dev/null`` unless ``interactive``. Its stdout and stderr go
    to ``log_file`` (created, or overwritten) and, while it runs, to ``echo`` (default: the
    terminal's stdout). Background processes it leaves behind may keep writing to the log.
    With ``check`` (the default) a non-zero exit raises :class:`NativeScriptFailed` naming
    ``script`` (default: the wrapper), the exit code, the last lines and the log file.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("wb") as sink, log_file.open("rb") as follow:
        process = _start(wrapper, cwd, sink, env_extra, interactive)
        status = _follow(process, follow, echo or _to_stdout)
    outcome = _outcome(status, tail(log_file, tail_lines), log_file)
    if check and outcome.exit_code != 0:
        raise NativeScriptFailed(script or str(wrapper), outcome)
    return outcome


def _outcome(status: int, last: list[str], log_file: Path) -> NativeRun:
    """Turn a ``Popen.returncode`` (``-N`` when killed by signal N) into a :class:`NativeRun`."""
    if status >= 0:
        return NativeRun(status, last, log_file)
    try:
        name = signal.Signals(-status).name
    except ValueError:
        name = f"signal {-status}"
    return NativeRun(128 - status, last, log_file, name)


def _start(
    wrapper: Path,
    cwd: Path,
    sink: IO[bytes],
    env_extra: Mapping[str, str] | None,
    interactive: bool,
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            ["bash", "--", str(wrapper.absolute())],
            cwd=cwd,
            env={**os.environ, **(env_extra or {})},
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    except FileNotFoundError as exc:
        raise NotFound("bash is not installed", hint="install bash to run native scripts") from exc


def _follow(process: subprocess.Popen[bytes], follow: IO[bytes], echo: Echo) -> int:
    """Echo what the process appends to its log until it exits; return its exit code.

    A helper thread echoes every ``_POLL_SECONDS`` while this thread blocks in ``wait()``, so
    the exit is seen at once (polling ``wait(timeout)`` would notice it up to 50 ms late).
    """
    import threading

    done = threading.Event()

    def pump_until_done() -> None:
        while not done.wait(_POLL_SECONDS):
            _pump(follow, echo)

    pumper = threading.Thread(target=pump_until_done, daemon=True)
    pumper.start()
    try:
        code = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        done.set()
        pumper.join()
    _pump(follow, echo)
    return code


def _pump(follow: IO[bytes], echo: Echo) -> None:
    data = follow.read()
    if data:
        echo(data)


def _to_stdout(data: bytes) -> None:
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(data.decode("utf-8", "replace"))
        stream.flush()


def tail(log_file: Path, count: int = TAIL_LINES) -> list[str]:
    """The last ``count`` non-empty lines of ``log_file`` (decoded leniently)."""
    with log_file.open("rb") as handle:
        handle.seek(max(0, handle.seek(0, os.SEEK_END) - _TAIL_BYTES))
        data = handle.read()
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-count:] if count > 0 else []


# --- 5. outputs --------------------------------------------------------------------------------


class Outputs(NamedTuple):
    """What a native script reported back: env values and a state to deep-merge."""

    env: dict[str, str]
    state: dict[str, Any]


def read_outputs(cwd: Path) -> Outputs:
    """Read ``tmp-run-env.out`` and ``tmp-run-state.json`` from ``cwd`` (missing: empty).

    The caller merges ``state`` into the run's state with :func:`cairn.script.env.merge_state`.
    """
    return Outputs(read_env_out(cwd / ENV_OUT), read_state_out(cwd / STATE_OUT))


def read_env_out(path: Path) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines; see :func:`parse_env_out`. A missing file gives ``{}``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    return parse_env_out(data.decode("utf-8", "surrogateescape"), str(path))


def parse_env_out(content: str, source: str) -> dict[str, str]:
    """``KEY=VALUE`` lines to a dict: split on the first ``=`` only (``K=a=b`` gives ``a=b``).

    Keys are stripped; values are kept exactly, quotes and spaces included, minus the line
    end (``\\n`` or ``\\r\\n``). Blank lines are skipped; a line without ``=`` or with an
    empty key is skipped with a warning naming ``source`` and the line number. A later line
    wins over an earlier one for the same key. Values cannot span lines.
    """
    result: dict[str, str] = {}
    for number, line in enumerate(content.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            report.warn(f"{source}, line {number}: ignored {line!r} (expected KEY=VALUE)")
            continue
        result[key.strip()] = value
    return result


def read_state_out(path: Path) -> dict[str, Any]:
    """Load ``tmp-run-state.json``: a JSON object, or :class:`MetaError` naming the file."""
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise MetaError(f"cannot read {path}: {exc}") from exc
    try:
        data = json.loads(content) if content.strip() else {}
    except json.JSONDecodeError as exc:
        raise MetaError(f"malformed JSON in {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise MetaError(f"{path} must hold a JSON object, not {type(data).__name__}")
    return data
