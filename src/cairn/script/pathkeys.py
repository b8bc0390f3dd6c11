"""MLCFlow's ``file_path_env_keys`` and ``folder_path_env_keys``: env keys holding paths.

A script lists the env keys whose values are paths the user gives (a submission folder, a
tarball). MLCFlow uses the lists to mount those paths into a container (a file's folder, or
the folder itself); the meaning on the host, which cairn implements, is that the value is a
path *on the user's side*:

* a relative value is made absolute against the directory the command was run from (the
  script runs elsewhere: in its cache entry or a work folder), ``~`` expanded;
* a value naming something that exists must be of the declared kind: a file key naming a
  folder (or a folder key naming a file) is an error naming the key, the value and the
  script's meta file. A path that does not exist yet is left to the script (it may make it).

Empty values and keys not in the env are left alone.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from cairn.errors import InvalidInput
from cairn.script.model import ScriptMeta


def resolve(env: MutableMapping[str, Any], meta: ScriptMeta, cwd: Path) -> None:
    """Make the declared path values of ``env`` absolute, and check their kinds."""
    for keys, kind in ((meta.file_path_env_keys, "file"), (meta.folder_path_env_keys, "folder")):
        for key in keys:
            value = env.get(key)
            if isinstance(value, str) and value.strip():
                env[key] = str(_checked(key, value, kind, cwd, meta.source))


def _checked(key: str, value: str, kind: str, cwd: Path, source: Path) -> Path:
    path = Path(value).expanduser()
    path = path if path.is_absolute() else cwd / path
    wrong = path.is_dir() if kind == "file" else path.is_file()
    if wrong:
        other = "folder" if kind == "file" else "file"
        listed = f"{kind}_path_env_keys"
        raise InvalidInput(
            f"env {key}={value} names a {other}, but {source} lists {key} in {listed}",
            hint=f"give the path of a {kind}",
        )
    return path
