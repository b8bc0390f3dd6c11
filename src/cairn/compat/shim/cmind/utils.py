"""The ``cmind.utils`` helpers that real ``customize.py`` files call, with CM's conventions:
each returns a dict with ``return`` (0 on success) and ``error`` on failure."""

from __future__ import annotations

import datetime
import json
import os
import secrets
import subprocess
import tempfile
from pathlib import Path
from typing import Any

Result = dict[str, Any]


def _fail(message: str, code: int = 1) -> Result:
    return {"return": code, "error": message}


def gen_uid() -> Result:
    """A new uid as CM returns it: ``{"return": 0, "uid": "<16 hex digits>"}``."""
    return {"return": 0, "uid": secrets.token_hex(8)}


def get_current_date_time(i: dict[str, Any] | None = None) -> Result:
    now = datetime.datetime.now()
    return {"return": 0, "iso_datetime": now.isoformat()}


def load_txt(
    file_name: str,
    remove_after_read: bool = False,
    split: bool = False,
    match_text: str = "",
    fail_if_no_match: str = "",
    **_: Any,
) -> Result:
    """The file's text in ``string`` (``list`` of lines with ``split``); with ``match_text``,
    ``match`` is its ``re.search`` (no match fails with ``fail_if_no_match``, when given)."""
    try:
        text = Path(file_name).read_text(encoding="utf-8")
    except OSError as exc:
        return _fail(f"file {file_name} not found: {exc}", 16)
    if remove_after_read:
        Path(file_name).unlink(missing_ok=True)
    result: Result = {"return": 0, "string": text}
    if split:
        result["list"] = text.splitlines()
    if match_text:
        import re

        result["match"] = re.search(match_text, text)
        if result["match"] is None and fail_if_no_match:
            return {**_fail(fail_if_no_match), "string": text}
    return result


def save_txt(file_name: str, string: str = "", **_: Any) -> Result:
    Path(file_name).write_text(string, encoding="utf-8")
    return {"return": 0}


def load_json(file_name: str, encoding: str = "utf-8", **_: Any) -> Result:
    try:
        return {"return": 0, "meta": json.loads(Path(file_name).read_text(encoding=encoding))}
    except FileNotFoundError:
        return _fail(f"file {file_name} not found", 16)
    except (OSError, json.JSONDecodeError) as exc:
        return _fail(f"problem loading {file_name}: {exc}")


def save_json(
    file_name: str, meta: Any = None, indent: int = 2, sort_keys: bool = True, **_: Any
) -> Result:
    Path(file_name).write_text(json.dumps(meta or {}, indent=indent, sort_keys=sort_keys))
    return {"return": 0}


def load_yaml(file_name: str, **_: Any) -> Result:
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


def save_yaml(file_name: str, meta: Any = None, sort_keys: bool = True, **_: Any) -> Result:
    import yaml

    text = yaml.safe_dump(meta or {}, sort_keys=sort_keys, allow_unicode=True)
    Path(file_name).write_text(text, encoding="utf-8")
    return {"return": 0}


def load_json_or_yaml(file_name: str) -> Result:
    """Load ``file_name`` as YAML when it ends with ``.yaml``/``.yml``, else as JSON."""
    if file_name.endswith((".yaml", ".yml")):
        return load_yaml(file_name)
    return load_json(file_name)


def safe_load_json(path: str, file_name: str = "") -> Result:
    """``path``/``file_name`` as JSON, or an empty ``meta`` when it is missing or unreadable."""
    full = os.path.join(path, file_name) if path else file_name
    loaded = load_json(full)
    return {"return": 0, "meta": loaded.get("meta", {}) if loaded["return"] == 0 else {}}


def check_if_true_yes_on(env: dict[str, Any], key: str) -> bool:
    """Whether ``env[key]`` says yes (``yes``, ``on``, ``true`` or ``1``, any case)."""
    return str(env.get(key, "")).strip().lower() in ("yes", "on", "true", "1")


def sub_input(i: dict[str, Any], keys: list[str], reverse: bool = False) -> dict[str, Any]:
    """The entries of ``i`` whose key is in ``keys`` (or, with ``reverse``, is not)."""
    return {k: v for k, v in i.items() if (k in keys) != reverse}


def gen_tmp_file(i: dict[str, Any]) -> Result:
    """Create an empty temporary file (``suffix``, ``prefix``); ``file_name`` is its path."""
    handle, name = tempfile.mkstemp(suffix=i.get("suffix", ""), prefix=i.get("prefix", "tmp-"))
    os.close(handle)
    return {"return": 0, "file_name": name}


def call_internal_module(
    module_self: Any, path_to_current_module: str, module_name: str, module_func: str, i: Any
) -> Result:
    """Call ``module_func(i)`` of ``<folder of path_to_current_module>/<module_name>.py``,
    with ``i['self_module']`` set to ``module_self``."""
    import importlib.util

    path = os.path.join(os.path.dirname(path_to_current_module), module_name + ".py")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None or not os.path.isfile(path):
        return _fail(f"module {path} not found", 16)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    i["self_module"] = module_self
    result: Result = getattr(module, module_func)(i)
    return result


def debug_here(
    module_path: str,
    host: str = "localhost",
    port: int = 5678,
    text: str = "",
    env: dict[str, Any] | None = None,
    env_debug_uid: str = "",
) -> Any:
    """CM's remote-debugging hook: listen with ``debugpy`` when debugging is asked for.

    Asked for means: no ``env_debug_uid`` given, or it equals ``env[TMP_DEBUG_UID]`` (CM's
    name, ``CM_TMP_DEBUG_UID``, or MLCFlow's when ``env`` holds that one).
    Without ``debugpy`` (or when not asked for), ``.breakpoint()`` of the result does nothing.
    """
    from ._bridge import ensure_cairn
    from .debugging import Debugger

    ensure_cairn()
    from cairn.engine_vars import CM_VARS, MLC_VARS

    given = env or {}
    key = next((v.tmp_debug_uid for v in (CM_VARS, MLC_VARS) if v.tmp_debug_uid in given), "")
    wanted = not env_debug_uid or given.get(key, "") == env_debug_uid
    return Debugger.start(module_path, host, port, text) if wanted else Debugger(None)


def download_file(i: dict[str, Any]) -> Result:
    """CM's ``download_file``: ``url`` into ``path`` (default: the current folder) as
    ``filename`` (default: the URL's last part); ``verify`` false (or the process env
    ``UTILS_DOWNLOAD_VERIFY_SSL=no`` in CM's dialect) skips TLS verification. Returns
    ``filename``, ``path`` (the file) and ``size``."""
    from ._bridge import ensure_cairn

    ensure_cairn()
    from cairn.engine_vars import CM_VARS

    return download_file_with(i, CM_VARS.utils_download_verify_ssl)


def download_file_with(i: dict[str, Any], verify_key: str) -> Result:
    """``download_file``, the process env's ``verify_key`` having the last say on TLS checks."""
    from ._bridge import ensure_cairn

    ensure_cairn()
    from cairn import fetch
    from cairn.errors import CairnError

    url = str(i.get("url") or "")
    name = str(i.get("filename") or fetch.file_name(url))
    if not url or not name or os.path.basename(name) != name:
        return _fail(f"download_file: give a url and a plain file name (got {url!r}, {name!r})")
    target = Path(i.get("path") or os.getcwd()) / name
    print(f"Downloading to {target}")
    try:
        verify = _verify_tls(i, verify_key)
        size = fetch.download(url, target, verify_tls=verify, progress=_progress(i))
    except CairnError as exc:
        return _fail(str(exc))
    print()
    return {"return": 0, "filename": name, "path": str(target), "size": size}


def _verify_tls(i: dict[str, Any], key: str) -> bool:
    if key in os.environ:
        return os.environ[key] == "yes"
    return str(i.get("verify", True)).strip().lower() not in ("false", "no", "off", "0")


def _progress(i: dict[str, Any]) -> Any:
    import sys

    text = str(i.get("text", "Downloaded: "))

    def show(done: int, total: int) -> None:
        if total:
            sys.stdout.write(f"\r{text}{done * 100 // total:3d}%")
            sys.stdout.flush()

    return show


def unzip_file(i: dict[str, Any]) -> Result:
    """CM's ``unzip_file``: unpack ``filename`` into ``path`` (default: the current folder),
    dropping ``strip_folders`` leading folders. Entries that would land outside ``path`` (absolute,
    ``..``, escaping links) are refused before anything is written (CM only checks a leading
    ``..`` or ``/``)."""
    from ._bridge import ensure_cairn

    ensure_cairn()
    from cairn.errors import CairnError
    from cairn.store.archive import unpack_into

    name = str(i.get("filename") or "")
    if not os.path.isfile(name):
        return _fail(f"file {name} not found")
    try:
        unpack_into(
            Path(name), Path(i.get("path") or os.getcwd()), int(i.get("strip_folders") or 0)
        )
    except (CairnError, ValueError) as exc:
        return _fail(f"unzip_file: {exc}")
    return {"return": 0}


def _uid(i: dict[str, Any]) -> Result:
    return gen_uid()


def load_cfg(i: dict[str, Any]) -> Result:
    """CM's ``load_cfg``: configuration artifacts and their files (see ``_cfg_files``)."""
    from ._cfg_files import load_cfg as load

    return load(i)


ACTIONS = {
    "compare_versions": compare_versions,
    "load_cfg": load_cfg,
    "system": system,
    "get_current_date_time": get_current_date_time,
    "download_file": download_file,
    "unzip_file": unzip_file,
    "uid": _uid,
}
"""The ``utils`` automation actions cairn serves itself; others go to a repository's own
``utils`` automation, when one is registered."""


def serves(i: dict[str, Any]) -> bool:
    """Whether ``cmind.access(i)`` is a ``utils`` action served here."""
    names = set(str(i.get("automation") or "").split(","))
    return bool(names & {"utils", "dc2743f8450541e3"}) and str(i.get("action", "")) in ACTIONS


def run_action(i: dict[str, Any]) -> Result:
    """Serve ``cmind.access({'automation': 'utils', 'action': ...})``."""
    return ACTIONS[str(i["action"])](i)
