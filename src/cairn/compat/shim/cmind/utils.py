"""The ``cmind.utils`` helpers that real ``customize.py`` files call, with CM's conventions:
each returns a dict with ``return`` (0 on success) and ``error`` on failure."""

from __future__ import annotations

import datetime
import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

Result = dict[str, Any]


def _fail(message: str, code: int = 1) -> Result:
    return {"return": code, "error": message}


def gen_uid() -> str:
    return secrets.token_hex(8)


def get_current_date_time(i: dict[str, Any] | None = None) -> Result:
    now = datetime.datetime.now()
    return {"return": 0, "iso_datetime": now.isoformat()}


def load_txt(
    file_name: str, remove_after_read: bool = False, split: bool = False, **_: Any
) -> Result:
    try:
        text = Path(file_name).read_text(encoding="utf-8")
    except OSError as exc:
        return _fail(f"file {file_name} not found: {exc}", 16)
    if remove_after_read:
        Path(file_name).unlink(missing_ok=True)
    result: Result = {"return": 0, "string": text}
    if split:
        result["list"] = text.splitlines()
    return result


def save_txt(file_name: str, string: str) -> Result:
    Path(file_name).write_text(string, encoding="utf-8")
    return {"return": 0}


def load_json(file_name: str, encoding: str = "utf-8") -> Result:
    try:
        return {"return": 0, "meta": json.loads(Path(file_name).read_text(encoding=encoding))}
    except FileNotFoundError:
        return _fail(f"file {file_name} not found", 16)
    except (OSError, json.JSONDecodeError) as exc:
        return _fail(f"problem loading {file_name}: {exc}")


def save_json(file_name: str, meta: Any = None, indent: int = 2, sort_keys: bool = True) -> Result:
    Path(file_name).write_text(json.dumps(meta or {}, indent=indent, sort_keys=sort_keys))
    return {"return": 0}


def load_yaml(file_name: str) -> Result:
    import yaml

    try:
        data = yaml.safe_load(Path(file_name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _fail(f"file {file_name} not found", 16)
    except (OSError, yaml.YAMLError) as exc:
        return _fail(f"problem loading {file_name}: {exc}")
    return {"return": 0, "meta": data or {}}


def load_yaml_and_json(file_name_without_ext: str) -> Result:
    meta: dict[str, Any] = {}
    found = False
    for ext, loader in ((".yaml", load_yaml), (".json", load_json)):
        if os.path.isfile(file_name_without_ext + ext):
            r = loader(file_name_without_ext + ext)
            if r["return"] > 0:
                return r
            meta.update(r["meta"])
            found = True
    return {"return": 0, "meta": meta} if found else _fail(f"{file_name_without_ext} not found", 16)


def merge_dicts(i: dict[str, Any]) -> Result:
    """CM's ``merge_dicts({'dict1','dict2','append_lists','append_unique'})``: dict1 in place."""
    target, source = i["dict1"], i["dict2"]
    _merge(target, source, bool(i.get("append_lists")), bool(i.get("append_unique")))
    return {"return": 0, "dict1": target}


def _merge(target: dict[str, Any], source: dict[str, Any], append: bool, unique: bool) -> None:
    for key, value in source.items():
        old = target.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            _merge(old, value, append, unique)
        elif append and isinstance(old, list) and isinstance(value, list):
            old.extend(v for v in value if not (unique and v in old))
        else:
            target[key] = value


def compare_versions(i: dict[str, Any]) -> Result:
    """``version1`` vs ``version2``: ``comparison`` is -1, 0 or 1, with cairn's version rules."""
    from cairn.errors import CairnError
    from cairn.script.versions import compare

    try:
        return {"return": 0, "comparison": compare(str(i["version1"]), str(i["version2"]))}
    except (KeyError, CairnError) as exc:
        return _fail(f"compare_versions: {exc}")


def system(i: dict[str, Any]) -> Result:
    """Run ``cmd`` (a string, as CM does: the caller owns its quoting) and capture its output."""
    done = subprocess.run(i["cmd"], shell=True, capture_output=True, text=True, check=False)
    return {"return": 0, "ret": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def convert_env_to_dict(text: str) -> Result:
    env: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return {"return": 0, "dict": env}


def run_action(i: dict[str, Any]) -> Result:
    """Serve ``cmind.access({'automation': 'utils', 'action': ...})``."""
    actions = {
        "compare_versions": compare_versions,
        "load_cfg": lambda _i: {"return": 0, "meta": {}},
        "system": system,
        "get_current_date_time": get_current_date_time,
    }
    action = actions.get(str(i.get("action", "")))
    if action is None:
        return _fail(f"utils action {i.get('action')!r} is not supported by cairn yet", 4)
    return action(i)
