"""Meta files: read, merge, validate and atomically write ``_cm.yaml``/``_cm.json``/``cmr.yaml``
(and MLCFlow's ``meta.yaml``/``meta.json``: the stem is a parameter, the repository's dialect's).

A meta directory may hold ``NAME.yaml`` and/or ``NAME.json``. The YAML file is read first
and the JSON file is merged over it (a shallow update, as CM does). YAML is always loaded
with the safe loader (the C one when available) and imported only when a YAML file is read.

A loaded YAML document is rebuilt once, here, into plain JSON data (:class:`_Plain`): aliases
become separate copies, and a document whose aliases expand past :data:`YAML_NODE_LIMIT`
values (a "billion laughs" file), refer to themselves or nest deeper than
:data:`YAML_DEPTH_LIMIT` is refused as a :class:`MetaError`.
Values JSON has no type for (dates, timestamps, ``!!binary``, ``!!set``) are read as text
(``!!binary`` as its base64 text, a set as a sorted list) with one warning naming the file
and the keys, so everything downstream sees what ``json.dumps`` accepts.
"""

from __future__ import annotations

import json
from pathlib import Path

from cairn.errors import InvalidInput, MetaError
from cairn.record import FrozenRecord, init

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from typing import Any

    Meta = dict[str, Any]

ARTIFACT_META = "_cm"
REPO_META = "cmr"
YAML_NODE_LIMIT = 100_000
"""Most values (scalars, lists and mappings, counting every alias expansion) one YAML file
may hold; real metas hold a few thousand at most."""
YAML_DEPTH_LIMIT = 100
"""Deepest nesting of lists and mappings in one YAML file (real metas nest a few levels)."""
QUOTE_LIMIT = 80
"""Longest quoted value in a message, in characters."""


def quoted(value: object) -> str:
    """``repr(value)`` for a message, cut to :data:`QUOTE_LIMIT` characters."""
    return _cut(_short_repr(value))


def _cut(text: str) -> str:
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 3] + "..."


def _short_repr(value: object) -> str:
    """A repr that stops early on big containers (never builds a huge string)."""
    import reprlib

    short = reprlib.Repr()
    short.maxstring = short.maxother = short.maxlong = QUOTE_LIMIT
    short.maxlist = short.maxdict = short.maxset = short.maxtuple = 8
    short.maxlevel = 3
    return short.repr(value)


def _yaml_load(text: str, path: Path) -> Any:
    import yaml

    from cairn import yaml_nodes

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml_nodes.plain(text, YAML_DEPTH_LIMIT, YAML_NODE_LIMIT)  # plain data, fast
        if data is not yaml_nodes.FALLBACK:
            return data
        data = yaml.load(text, Loader=loader)  # a safe loader
    except yaml.YAMLError as exc:
        raise MetaError(f"malformed YAML in {path}: {_first_line(exc)}") from exc
    plain = _Plain(path)
    result = plain.value(data, "", [])
    if plain.texts:
        from cairn import report

        keys = ", ".join(_cut(t) for t in plain.texts[:10]) + (
            ", ..." if len(plain.texts) > 10 else ""
        )
        report.warn(
            f"{path}: {keys}: YAML date, timestamp, binary or set values read as text "
            "(quote them in YAML)"
        )
    return result


class _Plain:
    """Rebuilds a loaded YAML document as JSON data, counting values against the limit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.texts: list[str] = []
        """The key paths of values read as text."""

    def value(self, data: object, where: str, open_: list[int]) -> Any:
        """``data`` as JSON data; ``open_`` holds the ids of the containers it is inside."""
        self.count += 1
        if self.count > YAML_NODE_LIMIT:
            raise MetaError(
                f"{self.path}: refused: its YAML aliases expand to more than "
                f"{YAML_NODE_LIMIT} values"
            )
        if isinstance(data, dict | list):
            if id(data) in open_:
                raise MetaError(f"{self.path}: refused: a YAML alias refers to itself")
            if len(open_) >= YAML_DEPTH_LIMIT:
                raise MetaError(
                    f"{self.path}: refused: lists and mappings nested more than "
                    f"{YAML_DEPTH_LIMIT} levels deep"
                )
            open_.append(id(data))
            try:
                if isinstance(data, dict):
                    return {
                        self.key(k, where): self.value(v, _at(where, k), open_)
                        for k, v in data.items()
                    }
                return [self.value(v, where, open_) for v in data]
            finally:
                open_.pop()
        if data is None or isinstance(data, str | int | float):  # bool is an int
            return data
        self.texts.append(where or "(document)")
        return _as_text(data)

    def key(self, key: object, where: str) -> Any:
        if key is None or isinstance(key, str | int | float):
            return key
        self.texts.append(_at(where, key))
        return _as_text(key)


def _at(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def _as_text(value: object) -> Any:
    """A date, timestamp, ``!!binary`` or ``!!set`` value as JSON data."""
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted((_as_text(v) if not isinstance(v, str) else v for v in value), key=str)
    return str(value)


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def load_file(path: Path) -> Meta:
    """Load one YAML or JSON meta file; it must hold a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise MetaError(f"meta file {path} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MetaError(f"cannot read {path}: {exc}") from exc
    if path.suffix == ".json":
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise MetaError(f"malformed JSON in {path}: {exc}") from exc
    else:
        data = _yaml_load(text, path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MetaError(f"{path} must hold a mapping of keys, not a {type(data).__name__}")
    return data


class MetaFiles(FrozenRecord):
    """Which meta files a directory has, and the merged meta they give."""

    _fields = ("directory", "yaml_path", "json_path", "meta")
    __slots__ = _fields
    directory: Path
    yaml_path: Path | None
    json_path: Path | None
    meta: Meta

    def __init__(
        self, directory: Path, yaml_path: Path | None, json_path: Path | None, meta: Meta
    ) -> None:
        init(self, directory, yaml_path, json_path, meta)

    @property
    def paths(self) -> list[Path]:
        return [p for p in (self.yaml_path, self.json_path) if p is not None]


def meta_paths(directory: Path, stem: str = ARTIFACT_META) -> tuple[Path | None, Path | None]:
    """Return the existing ``stem.yaml`` and ``stem.json`` paths of ``directory``."""
    yaml_path = directory / f"{stem}.yaml"
    json_path = directory / f"{stem}.json"
    return (yaml_path if yaml_path.is_file() else None, json_path if json_path.is_file() else None)


def read_dir(directory: Path, stem: str = ARTIFACT_META) -> MetaFiles:
    """Read the meta of ``directory``: YAML first, JSON merged over it (shallow)."""
    yaml_path, json_path = meta_paths(directory, stem)
    if yaml_path is None and json_path is None:
        raise MetaError(f"no {stem}.yaml or {stem}.json in {directory}")
    meta: Meta = {}
    if yaml_path is not None:
        meta.update(load_file(yaml_path))
    if json_path is not None:
        meta.update(load_file(json_path))
    return MetaFiles(directory, yaml_path, json_path, meta)


def merge(base: Meta, update: Meta, *, append_lists: bool = False) -> Meta:
    """Deep-merge ``update`` into a copy of ``base``: dicts recurse, other values replace.

    With ``append_lists`` lists are concatenated, skipping items already present. The result
    shares no mutable value with ``base`` or ``update``: changing it changes neither.
    """
    import copy

    result = copy.deepcopy(base)
    _merge_into(result, update, append_lists)
    return result


def _merge_into(target: Meta, update: Meta, append_lists: bool) -> None:
    import copy

    for key, value in update.items():
        old = target.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            _merge_into(old, value, append_lists)
        elif append_lists and isinstance(old, list) and isinstance(value, list):
            old.extend(copy.deepcopy([v for v in value if v not in old]))
        else:
            target[key] = copy.deepcopy(value)


def check_list_merge(base: Meta, update: Meta, path: str = "") -> None:
    """Refuse an update that gives a mapping where ``base`` holds a list, or a list where it
    holds a mapping: merged with lists appended (``update``'s default) either would silently
    drop what was there."""
    for key, value in update.items():
        old = base.get(key)
        where = f"{path}.{key}" if path else str(key)
        if isinstance(old, list) and isinstance(value, dict):
            raise InvalidInput(
                f"meta key {where!r} is a list ({quoted(old)}): merging a mapping into it "
                "would drop its items; nothing was changed",
                hint=f"add items with --meta.{where},=a,b, or replace the list with "
                "--replace_lists",
            )
        if isinstance(old, dict) and isinstance(value, list):
            raise InvalidInput(
                f"meta key {where!r} is a mapping ({quoted(old)}): a list given for it would "
                "drop its keys; nothing was changed",
                hint=f"set keys with --meta.{where}.KEY=VALUE, or replace the mapping with "
                "--replace_lists",
            )
        if isinstance(old, dict) and isinstance(value, dict):
            check_list_merge(old, value, where)


def dump_yaml(meta: Meta) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(
        meta, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return text


def dump_json(meta: Meta) -> str:
    return json.dumps(meta, indent=2, ensure_ascii=False) + "\n"


def write_file(path: Path, meta: Meta) -> None:
    """Atomically write ``meta`` to ``path`` in the format its suffix names."""
    from cairn import atomic

    text = dump_json(meta) if path.suffix == ".json" else dump_yaml(meta)
    atomic.write_text(path, text)


def write_dir(files: MetaFiles, meta: Meta, stem: str = ARTIFACT_META) -> None:
    """Replace the meta of a directory with ``meta``, keeping the formats it already uses
    (``stem.yaml`` when it has no meta file yet).

    With both files present, keys the JSON file already holds stay in JSON and every other
    key goes to YAML, so the merged result is exactly ``meta`` and no stale key survives.
    """
    if files.yaml_path is not None and files.json_path is not None:
        json_keys = set(load_file(files.json_path))
        write_file(files.json_path, {k: v for k, v in meta.items() if k in json_keys})
        write_file(files.yaml_path, {k: v for k, v in meta.items() if k not in json_keys})
    elif files.json_path is not None:
        write_file(files.json_path, meta)
    else:
        write_file(files.yaml_path or files.directory / f"{stem}.yaml", meta)


def require_str(meta: Meta, key: str, path: Path, *, required: bool = False) -> str | None:
    """Return ``meta[key]`` if it is a string; a number or other type is a :class:`MetaError`."""
    value = meta.get(key)
    if value is None:
        if required:
            raise MetaError(f"{path}: key {key!r} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        raise MetaError(
            f"{path}: key {key!r} must be a string, not {type(value).__name__} {quoted(value)}",
            hint="quote the value in YAML, e.g. uid: '0123456789012345'",
        )
    return value


def require_str_list(meta: Meta, key: str, path: Path) -> list[str]:
    """Return ``meta[key]`` as a list of strings (missing means empty)."""
    value = meta.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MetaError(f"{path}: key {key!r} must be a list of strings, not {quoted(value)}")
    return list(value)


def tag_list(meta: Meta, path: Path) -> list[str]:
    """``meta['tags']`` as strings: a number among them (``- 28`` in YAML, which CM keeps as
    an int that no ``--tags`` query can match) becomes its text in ``meta`` itself (the loaded
    copy, never the file), with a warning naming it."""
    value = meta.get("tags")
    if isinstance(value, list):
        numbers = [v for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers:
            from cairn import report

            report.warn(
                f"{path}: tags {quoted(numbers)} are numbers; read as text (quote them in YAML)"
            )
            meta["tags"] = [str(v) if v in numbers else v for v in value]
    return require_str_list(meta, "tags", path)
