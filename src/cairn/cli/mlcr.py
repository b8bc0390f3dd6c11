"""MLCFlow's ``mlcr`` spoken by cairn: ``cairn mlcr TAGS`` is ``cairn run script --tags=TAGS``.

mlcflow's ``mlcr TAGS`` is ``mlc run script --tags=TAGS``; its users' commands work here with
the words they know. The grammar, rewritten into ``run script`` words before anything else::

    cairn mlcr [TAGS] [ARTIFACT...] [-j] [--flags] [@input.yaml] [-- rest]

* ``TAGS``, the first word unless it is a flag or ``@file``: tags and variations separated by
  commas or spaces (``"detect os"``, ``detect,os``, ``"get python3 _v"``); it becomes
  ``--tags=detect,os``, so it is read as tags, never as a script name;
* later words are artifacts for the script, as with ``run script`` (``i['input']['artifacts']``);
* ``-j`` (mlcflow's JSON output) is ``--out=json``; ``-v``/``-s`` are already ``run script``'s
  ``--verbose``/``--silent``; every other flag passes through unchanged, so
  ``cairn mlcr "get python3" --version_min=3.8 -j`` is
  ``cairn run script --tags=get,python3 --version_min=3.8 --out=json``.

The ``cairn-mlcr`` command (a console script) is ``cairn mlcr``.
"""

from __future__ import annotations

import re
import sys

COMMAND = "mlcr"
_SEPARATORS = re.compile(r"[\s,]+")
_JSON_FLAGS = ("-j", "--j")


def expand(words: list[str]) -> list[str]:
    """The ``run script`` words of ``cairn mlcr WORDS`` (``words`` without ``mlcr``)."""
    head, rest = _split_rest(words)
    out = ["run", "script"]
    if head and not head[0].startswith(("-", "@")):
        tags = ",".join(t for t in _SEPARATORS.split(head.pop(0)) if t)
        out.append(f"--tags={tags}")
    out += ["--out=json" if w in _JSON_FLAGS else w for w in head]
    return out + rest


def _split_rest(words: list[str]) -> tuple[list[str], list[str]]:
    """The words before ``--`` and ``--`` with what follows (passed through unparsed)."""
    if "--" not in words:
        return list(words), []
    cut = words.index("--")
    return list(words[:cut]), list(words[cut:])


def main() -> int:
    """The ``cairn-mlcr`` console script."""
    from cairn.cli.main import main as cairn_main

    return cairn_main([COMMAND, *sys.argv[1:]])
