"""``mlc.utils``: the helpers MLCFlow hooks call (``from mlc import utils``).

Each returns a dict with ``return`` (0 on success) and ``error`` on failure, as in CM. Most
are CM's (``cmind.utils``, served by cairn's ``cmind`` shim) with MLCFlow's few changes:
``run_system_cmd`` runs a command in a folder and returns its stripped ``output``;
``merge_dicts`` also returns the result as ``merged``; ``sub_input`` returns ``result``.
The truth tests ``is_true``/``is_false`` of MLCFlow's ``utils`` module are here as well.
"""

from __future__ import annotations

import logging
import os
import subprocess
from typing import Any

from .action import _ensure_cairn

_ensure_cairn()
from cairn.compat.shim.cmind import utils as _cm  # noqa: E402

Result = dict[str, Any]
logger = logging.getLogger("cairn.mlc")

TRUE_WORDS = frozenset({"yes", "on", "true", "1", "y"})
FALSE_WORDS = frozenset({"no", "off", "false", "0", "n"})

load_txt = _cm.load_txt
save_txt = _cm.save_txt
load_json = _cm.load_json
save_json = _cm.save_json
load_yaml = _cm.load_yaml
save_yaml = _cm.save_yaml
load_json_or_yaml = _cm.load_json_or_yaml
convert_env_to_dict = _cm.convert_env_to_dict
check_if_true_yes_on = _cm.check_if_true_yes_on
unzip_file = _cm.unzip_file


def is_true(value: Any) -> bool:
    """Whether ``value`` says yes: ``True``, or ``yes``/``on``/``true``/``1``/``y`` (any case)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE_WORDS


def is_false(value: Any) -> bool:
    """Whether ``value`` says no: ``False``, or ``no``/``off``/``false``/``0``/``n``."""
    if isinstance(value, bool):
        return not value
    return str(value).strip().lower() in FALSE_WORDS


def download_file(i: dict[str, Any]) -> Result:
    """CM's ``download_file`` (``url``, ``path``, ``filename``, ``verify``)."""
    from cairn.engine_vars import MLC_VARS

    return _cm.download_file_with(i, MLC_VARS.utils_download_verify_ssl)


def run_system_cmd(i: dict[str, Any]) -> Result:
    """Run ``cmd`` (a shell string) in folder ``path`` (default: here): its stripped stdout
    is ``output``, its stderr ``error_output``; a non-zero exit fails."""
    cmd, path = str(i.get("cmd") or ""), str(i.get("path") or ".")
    if not cmd:
        return {"return": 1, "error": "run_system_cmd: no cmd given"}
    if not os.path.isdir(path):
        return {"return": 1, "error": f"run_system_cmd: folder {path} does not exist"}
    done = subprocess.run(cmd, shell=True, cwd=path, capture_output=True, text=True, check=False)
    result: Result = {"return": 0, "output": done.stdout.strip()}
    result["error_output"] = done.stderr.strip()
    if done.returncode:
        result.update({"return": 1, "error": f"{cmd!r} failed: exit code {done.returncode}"})
    return result


def merge_dicts(i: dict[str, Any]) -> Result:
    """``dict2`` merged into ``dict1`` in place (``append_lists``, ``append_unique``)."""
    result = _cm.merge_dicts(i)
    return {**result, "merged": result["dict1"]}


def sub_input(i: dict[str, Any], keys: list[str], reverse: bool = False) -> Result:
    """The entries of ``i`` named in ``keys`` (in reverse order with ``reverse``)."""
    picked = [(k, i[k]) for k in keys if k in i]
    return {"return": 0, "result": dict(reversed(picked) if reverse else picked)}


def get_new_uid() -> Result:
    return _cm.gen_uid()


def generate_temp_file(i: dict[str, Any]) -> Result:
    return _cm.gen_tmp_file(i)


def compare_versions(current: str, minimum: str) -> int:
    """-1, 0 or 1 as ``current`` is below, equal to or above ``minimum`` (cairn's rules)."""
    from cairn.script.versions import compare

    return compare(str(current), str(minimum))


def is_uid(name: str) -> bool:
    """Whether ``name`` is 16 hexadecimal digits."""
    return len(name) == 16 and all(c in "0123456789abcdefABCDEF" for c in name)
