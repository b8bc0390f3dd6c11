"""The files ``cairn add script NAME`` writes next to the new ``_cm.yaml``: a ``run.sh`` (made
executable) that shows how a native script reports outputs, and a ``customize.py`` whose hooks
are commented out, so the new script runs (and does nothing harmful) at once.

A file already there is never overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

from cairn import atomic

RUN_SH = """\
#!/bin/bash
# The native script of {name}. cairn sources it in the script's work directory (its cache entry
# when the script is cached, else the current directory), with every env key exported.
# Report outputs as KEY=VALUE lines in tmp-run-env.out, and list the keys to export under
# new_env_keys in _cm.yaml (see docs/scripts.md).

echo "{name}: hello from $PWD"
# echo "MY_RESULT=42" >> tmp-run-env.out
"""

CUSTOMIZE_PY = """\
# Python hooks of {name} (optional: delete this file if you need none).
# cairn calls preprocess(i) before the native script and postprocess(i) after it; i['env'] is
# the live env. Return {{'return': 0}}, or {{'return': 1, 'error': '...'}} to fail the run.
#
# def preprocess(i):
#     env = i['env']
#     return {{'return': 0}}
#
#
# def postprocess(i):
#     env = i['env']
#     return {{'return': 0}}
"""


def write(folder: Path, name: str | None) -> list[Path]:
    """Write the template files missing in ``folder``; return the ones written."""
    label = name or folder.name
    written = []
    for file_name, text in (("run.sh", RUN_SH), ("customize.py", CUSTOMIZE_PY)):
        path = folder / file_name
        if not path.exists():
            path.write_text(text.format(name=label))
            written.append(path)
    if written and written[0].name == "run.sh":
        os.chmod(written[0], 0o777 & ~atomic.umask())  # executable, as the umask allows
    return written
