"""cairn's MLCFlow compatibility level, and the scripts' ``min_mlc_version``/``mlc_compat``.

MLCFlow scripts may say which ``mlcflow`` they need: ``min_mlc_version: 2.2.0`` (the run
fails below it), or a list ``mlc_compat`` of ``{min_version, message, fail}`` entries (each
unmet one is a warning with its message, or with ``fail: true`` an error). cairn is not
mlcflow; it declares the mlcflow release whose behaviour it follows,
:data:`MLC_COMPAT_VERSION`, and every requirement is checked against that level. A script
needing a newer one fails (or warns) naming the script, the key and both versions, before
anything of it runs.
"""

from __future__ import annotations

from cairn import report
from cairn.errors import InvalidInput
from cairn.script import versions
from cairn.script.model import ScriptMeta

MLC_COMPAT_VERSION = "1.3.8"
"""The ``mlcflow`` release whose behaviour cairn follows for MLCFlow repositories."""


def check(meta: ScriptMeta, script: str, level: str = MLC_COMPAT_VERSION) -> None:
    """Refuse (or warn about) a script whose MLCFlow requirements exceed ``level``."""
    needed = meta.min_mlc_version
    if needed and versions.compare(level, needed) < 0:
        raise InvalidInput(
            f"script {script} needs mlcflow {needed} (min_mlc_version in {meta.source}); "
            f"cairn follows mlcflow {level}",
            hint="use a version of the script made for an older mlcflow, or a newer cairn",
        )
    for index, need in enumerate(meta.mlc_compat):
        if versions.compare(level, need.min_version) >= 0:
            continue
        text = (
            f"script {script} needs mlcflow {need.min_version} (mlc_compat[{index}] in "
            f"{meta.source}); cairn follows mlcflow {level}"
            + (f": {need.message}" if need.message else "")
        )
        if need.fail:
            raise InvalidInput(text, hint="use a version of the script made for an older mlcflow")
        report.warn(text)
