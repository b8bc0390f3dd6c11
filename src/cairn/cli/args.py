"""The CM command-line grammar, parsed into CM's input dict.

::

    cairn ACTION AUTOMATION [ARTIFACT...] [flags] [@input.json|@input.yaml] [-- rest...]

* the first two leading words (not starting with ``-`` or ``@``) are ``action`` and
  ``automation``; later words are artifacts: the first is ``artifact``, the others (if any)
  are in ``artifacts``, as in CM;
* ``-x`` and ``--x`` are the same flag; ``--key=value`` gives the string ``value`` (split at the
  first ``=``) exactly as given -- spaces, tabs and carriage returns kept, as the Python API
  keeps them; ``--key`` gives ``True``, ``--key-`` gives ``False``;
* ``--key,=a,b`` gives the list ``["a", "b"]`` (``--key,=`` the empty list; empty items are
  dropped, the others kept exactly);
* ``--a.b.c=v`` gives nested mappings ``{"a": {"b": {"c": "v"}}}``; dashes become underscores
  in the first dotted part only (``--h-i.j-k=1`` gives ``{"h_i": {"j-k": "1"}}``);
* ``@file`` merges a JSON or YAML mapping into the input, in command-line order (a later
  flag overrides the file, the file overrides earlier flags); nested mappings are merged
  key by key, so ``--meta.a=1 @more.yaml`` keeps ``a`` when the file sets ``meta.b``;
* everything after ``--`` is kept unparsed in ``unparsed_cmd``;
* ``cmd`` always holds the words after ``action`` and ``automation`` (as CM's ``cmd``).
"""

from __future__ import annotations

from pathlib import Path

from cairn.errors import InvalidInput, NotFound

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from typing import Any


def parse(argv: list[str]) -> dict[str, Any]:
    """Parse ``argv`` (without the program name) into a CM input dict."""
    result: dict[str, Any] = {}
    words = list(argv)
    rest: list[str] | None = None
    if "--" in words:
        cut = words.index("--")
        words, rest = words[:cut], words[cut + 1 :]
    positionals = []
    for key in ("action", "automation"):
        if words and words[0] and not words[0].startswith(("-", "@")):
            result[key] = words.pop(0)
            positionals.append(key)
        else:
            break
    artifacts: list[str] = []
    for word in words:
        _parse_word(word, result, artifacts)
    if artifacts:
        result["artifact"] = artifacts[0]
    if len(artifacts) > 1:
        result["artifacts"] = artifacts[1:]
    if rest is not None:
        result["unparsed_cmd"] = rest
    result["cmd"] = list(argv[len(positionals) :])
    return result


def _parse_word(word: str, result: dict[str, Any], artifacts: list[str]) -> None:
    if word.startswith("@"):
        _merge_into(result, load_input_file(word[1:]))
    elif word.startswith("-") and word not in ("-",):
        key, value = parse_flag(word)
        _set_nested(result, key, value)
    else:
        artifacts.append(word)


def parse_flag(word: str) -> tuple[list[str], Any]:
    """Parse one ``-x``/``--x`` flag into a dotted key path and its value."""
    body = word[2:] if word.startswith("--") else word[1:]
    if "=" in body:
        key, raw = body.split("=", 1)
        value: Any = raw
        if key.endswith(","):
            key = key[:-1]
            value = [v for v in raw.split(",") if v]
    elif body.endswith(","):
        raise InvalidInput(f"flag {word!r} has no value", hint=f"write {word}=a,b for a list")
    elif body.endswith("-") and len(body) > 1:
        key, value = body[:-1], False
    else:
        key, value = body, True
    key = key.strip()
    if not key or key.startswith("-") or any(not p for p in key.split(".")):
        raise InvalidInput(f"malformed flag {word!r}", hint="write --key=value")
    parts = key.split(".")
    parts[0] = parts[0].replace("-", "_")
    return parts, value


def _merge_into(target: dict[str, Any], data: dict[str, Any]) -> None:
    """Deep-merge ``data`` into ``target`` in place: mappings merge, other values replace."""
    for key, value in data.items():
        old = target.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            _merge_into(old, value)
        else:
            target[key] = value


def _set_nested(result: dict[str, Any], path: list[str], value: Any) -> None:
    node = result
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def load_input_file(name: str) -> dict[str, Any]:
    """Load an ``@file`` input: a JSON or YAML mapping."""
    from cairn import meta

    path = Path(name).expanduser()
    if path.suffix not in (".json", ".yaml", ".yml"):
        raise InvalidInput(f"input file @{name} must end in .json, .yaml or .yml")
    if not path.is_file():
        raise NotFound(f"input file @{name} not found")
    return meta.load_file(path)
