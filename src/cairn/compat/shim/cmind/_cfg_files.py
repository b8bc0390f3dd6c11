"""The ``utils`` action ``load_cfg``: configuration artifacts (kind ``cfg``) and their files.

Input (CM's): ``tags`` or ``artifact`` select the ``cfg`` artifacts; with ``skip_files`` the
selection is their metas, else every ``*.json``/``*.yaml`` file in them (not ``_*``), limited
to names starting with ``key`` and ending with one of ``key_end``. ``prune`` keeps only some:
``uid`` / ``list`` (file uids), ``key`` + ``key_uid`` (a file key, or with ``skip_files`` a
list in the artifact meta, must hold it), ``meta_key`` + ``meta_key_uid`` (a list in the
artifact meta must hold it). A file may start from another with ``_base: FILE`` (next to it)
or ``_base: ARTIFACT:FILE``: its keys are laid over the base (lists appended, dicts merged,
``tags`` joined with a comma). Output: ``lst`` (the artifacts) and ``selection`` (metas with
``full_path``, ``name``, ``all_tags`` and ``main_meta``).
"""

from __future__ import annotations

import copy
import os
from typing import Any

from ._bridge import cairn_access

Result = dict[str, Any]
SUFFIXES = (".json", ".yaml")


def load_cfg(i: dict[str, Any]) -> Result:
    query: dict[str, Any] = {"action": "find", "automation": "cfg"}
    if i.get("artifact"):
        query["artifact"] = i["artifact"]
    elif i.get("tags"):
        query["tags"] = i["tags"]
    found = cairn_access(query)
    if found["return"] > 0:
        return found
    prune = i.get("prune") or {}
    if i.get("skip_files"):
        return {"return": 0, "lst": found["list"], "selection": _metas(found["list"], prune)}
    selection: list[dict[str, Any]] = []
    for artifact in found["list"]:
        if _listed(artifact.meta, prune.get("meta_key", ""), prune.get("meta_key_uid", "")):
            for path in _files(artifact.path, i.get("key", ""), i.get("key_end") or []):
                loaded = _file_meta(artifact, path, prune)
                if loaded["return"] > 0:
                    return loaded
                selection += [loaded["meta"]] if loaded.get("meta") is not None else []
    return {"return": 0, "lst": found["list"], "selection": selection}


def _listed(meta: dict[str, Any], key: str, uid: str) -> bool:
    """No pruning key, or ``meta[key]`` (a list) holds ``uid``."""
    return not (key and uid) or uid in (meta.get(key) or [])


def _metas(artifacts: list[Any], prune: dict[str, Any]) -> list[dict[str, Any]]:
    key, uid = prune.get("key", ""), prune.get("key_uid", "")
    return [{**a.meta, "full_path": a.path} for a in artifacts if _listed(a.meta, key, uid)]


def _files(folder: str, key: str, key_end: list[str]) -> list[str]:
    names = sorted(os.listdir(folder))
    return [
        os.path.join(folder, n)
        for n in names
        if n.endswith(SUFFIXES)
        and not n.startswith("_")
        and n.startswith(key)
        and (not key_end or n.endswith(tuple(key_end)))
    ]


def _file_meta(artifact: Any, path: str, prune: dict[str, Any]) -> Result:
    from .utils import load_json_or_yaml

    loaded = load_json_or_yaml(path)
    if loaded["return"] > 0:
        return loaded
    based = _with_base(loaded["meta"], path)
    if based["return"] > 0 or not _kept(based["meta"], prune):
        return based if based["return"] > 0 else {"return": 0}
    return {"return": 0, "meta": _described(based["meta"], artifact, path)}


def _kept(meta: dict[str, Any], prune: dict[str, Any]) -> bool:
    uid = meta.get("uid")
    if prune.get("uid") and uid != prune["uid"]:
        return False
    if prune.get("list") and uid not in prune["list"]:
        return False
    key, key_uid = prune.get("key", ""), prune.get("key_uid", "")
    return not (key and key_uid) or meta.get(key) == key_uid


def _described(meta: dict[str, Any], artifact: Any, path: str) -> dict[str, Any]:
    tags = _tag_list(meta.get("tags"))
    name = str(meta.get("name") or " ".join(tags)).strip()
    own = tags or [word.lower() for word in name.split()]
    main_tags = list(artifact.meta.get("tags") or [])
    extra = {"all_tags": main_tags + own, "main_meta": artifact.meta}
    return {**meta, "full_path": path, "name": name, **extra}


def _tag_list(tags: Any) -> list[str]:
    if isinstance(tags, str):
        return [t.strip() for t in tags.split(",") if t.strip()]
    return [str(t) for t in tags or []]


def _with_base(meta: dict[str, Any], path: str) -> Result:
    """``meta`` laid over the file its ``_base`` names (itself when it has none)."""
    base_ref = str(meta.get("_base") or "")
    if not base_ref:
        return {"return": 0, "meta": meta}
    found = _base_path(base_ref, path)
    if found["return"] > 0:
        return found
    from .utils import load_json_or_yaml

    loaded = load_json_or_yaml(found["path"])
    if loaded["return"] > 0:
        return loaded
    return {"return": 0, "meta": _laid_over(copy.deepcopy(loaded["meta"]), meta)}


def _base_path(ref: str, path: str) -> Result:
    artifact, _, name = ref.rpartition(":")
    if not name.endswith(SUFFIXES):
        return {"return": 1, "error": f"{path}: _base {ref!r} must name a .yaml or .json file"}
    folder = os.path.dirname(path)
    if artifact:
        found = cairn_access({"action": "find", "automation": "cfg", "artifact": artifact})
        if found["return"] > 0 or not found["list"]:
            return {"return": 1, "error": f"{path}: _base artifact {artifact!r} not found"}
        folder = found["list"][0].path
    full = os.path.join(folder, name)
    if not os.path.isfile(full):
        return {"return": 1, "error": f"{path}: _base file {full} not found"}
    return {"return": 0, "path": full}


def _laid_over(base: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    for key, value in meta.items():
        old = base.get(key)
        if key == "_base":
            continue
        if key in ("tags", "name") and isinstance(old, str) and isinstance(value, str):
            base[key] = ",".join(x for x in (old, value) if x) if key == "tags" else value
        elif isinstance(old, list) and isinstance(value, list):
            base[key] = old + value
        elif isinstance(old, dict) and isinstance(value, dict):
            base[key] = _laid_over(old, value)
        else:
            base[key] = value
    return base
