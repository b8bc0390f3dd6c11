"""The ``cairn`` command: parse argv, run the action, render its outcome, exit with its code.

Exit codes are the CM ``return`` values: 0 success, 1 generic failure, 2 ambiguous
automation, 4 automation or action not found, 8 already exists, 16 not found; 3 is an
internal error (a bug in cairn), 130 an interrupt. A failure is never 0. User errors
print one line to stderr; ``--debug`` adds the traceback. With ``--out=json`` exactly one
JSON document is printed on stdout.
"""

from __future__ import annotations

import os
import sys

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from collections.abc import Iterator
    from typing import Any

FAST_VERSION = (["version"], ["--version"], ["-v"])


def main(argv: list[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["mlcr"]:  # MLCFlow's words: cairn mlcr TAGS -j
        from cairn.cli import mlcr

        words = mlcr.expand(words[1:])
    if words in FAST_VERSION:
        from cairn import __version__

        print(__version__)
        return 0
    json_out = any(w in ("--out=json", "-out=json") for w in words)
    debug = "--debug" in words or "-debug" in words
    try:
        if words[:1] == ["find"]:  # answered by the home's watcher when one runs
            from cairn.cli import lean

            code = lean.answer(words)
            if code is not None:
                return code
        if _replayed(words, json_out):
            return 0
        return _run(words)
    except KeyboardInterrupt:
        print("cairn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the reader went away
        return 0
    except Exception as exc:
        return _fail(exc, json_out=json_out, debug=debug)


def _run(words: list[str]) -> int:
    from cairn import dispatch, report
    from cairn.cli import args

    i = args.parse(words)
    out = i.get("out") or "con"
    if out not in ("con", "json", "csv"):
        from cairn.errors import InvalidInput

        raise InvalidInput(
            f"--out={out!r} is not a known format",
            hint="use --out=con or --out=json (or --out=csv where a table is shown)",
        )
    page = _help_page(i)
    if page is not None:
        if out == "json":
            _print_json({"return": 0, "help": page})
        else:
            print(page)
        return 0
    with report.using(report.Reporter(echo=True)):
        i.setdefault("out", "con")
        tty = sys.stdin.isatty()
        with _stdout_kept_for_json(out in ("json", "csv")):
            outcome = dispatch.run(
                i, confirm=_confirm if tty else None, choose=_choose if tty else None
            )
    if out == "json":
        _print_json({"return": 0, **outcome.data})
    elif out == "csv":
        sys.stdout.write(str(outcome.data.get("csv", "")))
    elif outcome.lines:
        print("\n".join(outcome.lines))
    if "replay" in outcome.extra:
        _store_replay(words, outcome)
    return 0


def _replayed(words: list[str], json_out: bool) -> bool:
    """Answer a ``run script`` served wholly from the cache from its replay record."""
    if words[:2] != ["run", "script"]:
        return False  # other commands never replay: they skip importing the replay module
    from cairn.script import replay

    if not replay.replayable(words):
        return False
    import time

    started = time.monotonic()
    record = replay.lookup(words, replay.home_root())
    if record is None:
        return False
    for note in record.get("notes") or []:  # type: ignore[attr-defined]
        print(f"cairn: {note}", file=sys.stderr)
    if json_out:
        _print_json({"return": 0, **record["data"]})  # type: ignore[dict-item]
    elif record.get("lines"):
        print("\n".join(record["lines"]))  # type: ignore[arg-type]
    replay.write_run_record(record, time.monotonic() - started)
    return True


def _store_replay(words: list[str], outcome: Any) -> None:
    from cairn.home import Home
    from cairn.script import replay

    if not replay.replayable(words):
        return
    info = outcome.extra["replay"]
    record = {"data": outcome.data, "lines": outcome.lines, "notes": info["notes"]}
    if "record" in info:
        from cairn.runs import records

        texts = replay.record_texts(info["record"], records.tags_of(info["record"]))
        record.update(record_texts=list(texts), record_folder=info["record_folder"])
    replay.store(words, Home.from_env().root, record, info["watched"])


def _stdout_kept_for_json(active: bool) -> Any:
    import contextlib

    return contextlib.contextmanager(_kept_for_json)(active)


def _kept_for_json(active: bool) -> Iterator[None]:
    """With ``--out=json`` anything else written to stdout (hooks, subprocesses) goes to
    stderr, so stdout holds exactly one JSON document."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        import contextlib

        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _help_page(i: dict[str, Any]) -> str | None:
    action = i.get("action") or ""
    automation = i.get("automation") or ""
    wants = bool(i.get("help") or i.get("h"))
    if action and action != "help" and not wants:
        return None
    from cairn.cli import help as help_mod

    if action == "help" and automation and i.get("artifact"):
        return help_mod.action(automation, i["artifact"])  # cairn help ACTION AUTOMATION
    if action == "help" or (not action and (wants or not automation)):
        return help_mod.automation(automation) if automation else help_mod.general()
    if wants:
        if not automation:
            return help_mod.general()
        return help_mod.action(action, automation) + help_mod.script_usage(action, automation, i)
    return None


def _confirm(question: str) -> bool:
    try:
        answer = input(f"{question}? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _choose(items: list[Any]) -> int:
    """Ask which of several items to use; anything but a listed number picks none."""
    for number, item in enumerate(items, 1):
        print(f"  {number}) {item}", file=sys.stderr)
    try:
        answer = input(f"which one [1-{len(items)}]? ")
    except EOFError:
        return -1
    return int(answer) - 1 if answer.strip().isdigit() else -1


def _print_json(data: dict[str, Any]) -> None:
    import json

    print(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    return str(value)


def _fail(exc: Exception, *, json_out: bool, debug: bool) -> int:
    from cairn import errors

    if isinstance(exc, errors.CairnError):
        code, message = exc.code, str(exc)
    elif isinstance(exc, OSError):
        code, message = 1, errors.describe_os_error(exc)
    else:
        code = errors.INTERNAL_ERROR
        message = f"{errors.internal_error_message(exc)} (rerun with --debug)"
    if debug:
        import traceback

        traceback.print_exception(exc)
    print(f"cairn error: {message}", file=sys.stderr)
    if json_out:
        _print_json({"return": code, "error": message})
    return code or 1
