"""The script meta (cm-script.md §1), validated once at load into typed frozen records.

:meth:`ScriptMeta.from_meta` reads every key CM gives a meaning to and checks its type:

* a wrong type is a :class:`~cairn.errors.MetaError` naming the file, the key path
  (``variations._cuda.env``, ``deps[2].version``) and what was expected;
* a key that may be absent may also be ``null`` (an empty ``key:`` in YAML): both mean "not
  given";
* unknown keys (CM silently ignores typos such as ``default-variations``) give **one**
  warning per file, naming every such key, with a suggestion when one is close;
* a dependency keeps its unknown keys in :attr:`Dep.extra_input`, because CM passes every key
  of a dependency to the child run as input; only near-misses of known keys are warned about.

Flags (``cache``, ``force_cache``, ...) accept booleans and the strings true/yes/on/1 and
false/no/off/0; numbers where a string is expected (an unquoted YAML ``version: 3.10`` reads
as ``3.1``) are errors -- except in MLCFlow's metas (``meta.yaml``, read *loosely*), whose
engine accepts such values: there a number where text is expected is read as its text
(``version_max: 2.9`` as ``'2.9'``), a flag with stray punctuation as its word
(``default: 'true,'`` as true), and an ``add_deps``/``adr`` entry that is not a mapping (a
note, not an update) is left out, each with one warning per file naming the key.
Env values stay as in the meta: strings, numbers, booleans, or lists
of those (the ``+KEY`` lists). Records are frozen; mapping and list values inside them are
private copies of the meta's and must be treated as read-only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from cairn import report
from cairn.dialect import MLC
from cairn.errors import MetaError
from cairn.record import Defaulted, field
from cairn.store.artifact import IDENTITY_KEYS, identity

Json = Any
"""A value as read from JSON/YAML: str, int, float, bool, None, list or dict of those."""
EnvScalar = str | int | float | bool | None
EnvValue = EnvScalar | list[EnvScalar]
Env = Mapping[str, EnvValue]
Conditions = Mapping[str, tuple[str, ...]]
"""``{KEY: (value, ...)}`` of ``enable_if_env`` and friends; values as lower-case-able text."""

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})
DEP_LISTS = ("deps", "prehook_deps", "posthook_deps", "post_deps")


# --- records ------------------------------------------------------------------------------


class Dep(Defaulted):
    """One entry of ``deps``/``prehook_deps``/``posthook_deps``/``post_deps`` (§1.3).

    Also the shape of an ``add_deps``/``add_deps_recursive`` update, where every key is
    optional: :attr:`given` tells which keys the meta really wrote.
    """

    tags: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    enable_if_env: Conditions = field(default_factory=dict)
    skip_if_env: Conditions = field(default_factory=dict)
    enable_if_any_env: Conditions = field(default_factory=dict)
    skip_if_any_env: Conditions = field(default_factory=dict)
    env: Env = field(default_factory=dict)
    state: Mapping[str, Json] = field(default_factory=dict)
    const: Env = field(default_factory=dict)
    const_state: Mapping[str, Json] = field(default_factory=dict)
    extra_cache_tags: tuple[str, ...] = ()
    version: str | None = None
    version_min: str | None = None
    version_max: str | None = None
    version_max_usable: str | None = None
    force_cache: bool = False
    update_tags_from_env_with_prefix: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    update_tags_from_env: tuple[str, ...] = ()
    force_env_keys: tuple[str, ...] = ()
    inherit_variation_tags: bool = False
    skip_inherit_variation_groups: tuple[str, ...] = ()
    reuse_version: bool = False
    dynamic: bool = False
    skip_if_fake_run: bool = False
    force_new_env_keys: tuple[str, ...] | None = None
    skip_inside_docker: bool = False
    inherit_cache_expiration: bool = False
    """MLCFlow's: the dependency's cache entry expires as its parent's does, when it has no
    ``cache_expiration`` of its own."""
    repo: str | None = None
    """cairn's own: the repository (alias or uid) whose script must serve this dependency
    (``--adr.NAME.repo=ALIAS`` pins it from the command line)."""
    extra_input: Mapping[str, Json] = field(default_factory=dict)
    """Every other key of the entry: CM passes it to the child run as an input."""
    given: frozenset[str] = frozenset()
    """The keys the meta wrote for this entry (known and extra)."""


class Payload(Defaulted):
    """What a variation or a ``versions[v]`` entry changes when it is applied (§1.2)."""

    env: Env = field(default_factory=dict)
    default_env: Env = field(default_factory=dict)
    state: Mapping[str, Json] = field(default_factory=dict)
    const: Env = field(default_factory=dict)
    deps: tuple[Dep, ...] = ()
    prehook_deps: tuple[Dep, ...] = ()
    posthook_deps: tuple[Dep, ...] = ()
    post_deps: tuple[Dep, ...] = ()
    add_deps: Mapping[str, Dep] = field(default_factory=dict)
    """``add_deps``/``ad``: updates of this script's own dependencies, by name."""
    add_deps_recursive: Mapping[str, Dep] = field(default_factory=dict)
    """``add_deps_recursive``/``adr``: updates of dependencies anywhere below, by name."""
    new_env_keys: tuple[str, ...] = ()
    new_state_keys: tuple[str, ...] = ()
    docker: Mapping[str, Json] = field(default_factory=dict)
    script_name: str | None = None
    required_disk_space: int | None = None
    warning: str | None = None
    input_mapping: Mapping[str, str] = field(default_factory=dict)
    cache: bool | None = None
    default_version: str | None = None
    cache_expiration: int | None = None
    """MLCFlow's: seconds a cache entry of the run stays good (:mod:`cairn.script.expiry`)."""
    update_meta_if_env: tuple[MetaUpdate, ...] = ()
    """MLCFlow's: payloads applied when the env matches their conditions."""
    add_deps_tags: Mapping[str, Dep] = field(default_factory=dict)
    """CM's and MLCFlow's: tags added to this script's dependencies, by name (like
    ``add_deps``, but a name no dependency has is ignored)."""


class MetaUpdate(Defaulted):
    """One ``update_meta_if_env`` entry: env conditions and the payload merged when they hold.

    As a dependency's conditions: every ``enable_if_env`` key matches, some
    ``enable_if_any_env`` key matches, no ``skip_if_env`` match of all keys, no
    ``skip_if_any_env`` key matches.
    """

    enable_if_env: Conditions = field(default_factory=dict)
    enable_if_any_env: Conditions = field(default_factory=dict)
    skip_if_env: Conditions = field(default_factory=dict)
    skip_if_any_env: Conditions = field(default_factory=dict)
    payload: Payload = field(default_factory=Payload)


class CompatNeed(Defaulted):
    """One ``mlc_compat`` entry: the MLCFlow level a script needs, and what it says if not."""

    min_version: str
    message: str = ""
    fail: bool = False
    """Refuse to run below ``min_version`` (else only warn)."""


class Variation(Defaulted):
    """One entry of ``variations``: a plain name, a combined key ``a,b`` or a dynamic ``name.#``."""

    name: str
    group: str | None = None
    default: bool = False
    default_variations: Mapping[str, str] = field(default_factory=dict)
    base: tuple[str, ...] = ()
    alias: str | None = None
    payload: Payload = field(default_factory=Payload)

    @property
    def tag(self) -> str:
        """How a request names it: ``_name``."""
        return f"_{self.name}"

    @property
    def parts(self) -> tuple[str, ...]:
        """The variations a combined key needs (``("a", "gpu")`` for ``a,gpu``)."""
        return tuple(p.strip() for p in self.name.split(","))

    @property
    def is_combined(self) -> bool:
        return "," in self.name

    @property
    def is_dynamic(self) -> bool:
        """A ``name.#`` pattern, requested as ``_name.<value>``."""
        return not self.is_combined and self.name.endswith(".#")

    @property
    def prefix(self) -> str:
        """The part of a dynamic name before ``#`` (``bs.`` for ``bs.#``)."""
        return self.name[:-1] if self.is_dynamic else self.name


class EnvCacheTags(Defaulted):
    """An ``extra_cache_tags_from_env`` entry: each value v of ``env[env]`` adds a cache tag.

    The tag is ``deps-<prefix>v`` (e.g. ``deps-python-version-3.11.7``).
    """

    env: str
    prefix: str = ""


class InputDescription(Defaulted):
    """One ``input_description`` entry, shown by ``--help``."""

    desc: str = ""
    default: Json = None
    choices: tuple[Json, ...] = ()
    sort: int = 0
    extra: Mapping[str, Json] = field(default_factory=dict)


class ScriptMeta(Defaulted):
    """The validated meta of one script (``_cm.yaml`` + ``_cm.json``)."""

    source: Path
    alias: str | None = None
    uid: str | None = None
    automation_alias: str | None = None
    automation_uid: str | None = None
    tags: tuple[str, ...] = ()
    cache: bool = False
    can_force_cache: bool = False
    deps: tuple[Dep, ...] = ()
    prehook_deps: tuple[Dep, ...] = ()
    posthook_deps: tuple[Dep, ...] = ()
    post_deps: tuple[Dep, ...] = ()
    variations: Mapping[str, Variation] = field(default_factory=dict)
    default_variation: str | None = None
    valid_variation_combinations: tuple[tuple[str, ...], ...] = ()
    invalid_variation_combinations: tuple[tuple[str, ...], ...] = ()
    variation_groups_order: tuple[str, ...] = ()
    env: Env = field(default_factory=dict)
    default_env: Env = field(default_factory=dict)
    const: Env = field(default_factory=dict)
    state: Mapping[str, Json] = field(default_factory=dict)
    const_state: Mapping[str, Json] = field(default_factory=dict)
    input_mapping: Mapping[str, str] = field(default_factory=dict)
    new_env_keys: tuple[str, ...] = ()
    new_state_keys: tuple[str, ...] = ()
    local_env_keys: tuple[str, ...] = ()
    clean_env_keys_post_deps: tuple[str, ...] = ()
    versions: Mapping[str, Payload] = field(default_factory=dict)
    default_version: str | None = None
    version: str | None = None
    version_min: str | None = None
    version_max: str | None = None
    version_max_usable: str | None = None
    script_name: str | None = None
    clean_files: tuple[str, ...] = ()
    clean_output_files: tuple[str, ...] = ()
    extra_cache_tags_from_env: tuple[EnvCacheTags, ...] = ()
    env_key_mappings: Mapping[str, str] = field(default_factory=dict)
    cache_key_env: tuple[str, ...] = ()
    """cairn's own key: env names or patterns counted as read by the script (its cache key
    covers their values), for what its files do not name (a native program's env reads)."""
    experiment_results: tuple[str, ...] = ()
    """cairn's own key: the exports (``new_env`` keys, or flattened ``new_state`` keys) that
    an experiment sweeping this script records as its results, when ``--result`` names none."""
    print_env_at_the_end: Mapping[str, str] = field(default_factory=dict)
    print_files_if_script_error: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    docker: Mapping[str, Json] = field(default_factory=dict)
    docker_input_mapping: Mapping[str, str] = field(default_factory=dict)
    input_description: Mapping[str, InputDescription] = field(default_factory=dict)
    customize: Mapping[str, Json] = field(default_factory=dict)
    sort: int = 0
    name: str | None = None
    category: str | None = None
    category_sort: int | None = None
    tags_help: str | None = None
    developers: str | None = None
    gui: Mapping[str, Json] = field(default_factory=dict)
    private: bool = False
    cache_expiration: int | None = None
    """MLCFlow's: seconds a cache entry stays good (:mod:`cairn.script.expiry`)."""
    predeps: bool = True
    """MLCFlow's: whether ``customize.py``'s ``predeps(i)`` hook runs before the deps."""
    update_meta_if_env: tuple[MetaUpdate, ...] = ()
    sudo_install: bool = False
    """MLCFlow's: the script installs with ``sudo``; without a terminal cairn never lets
    ``sudo`` prompt (:mod:`cairn.script.sudo`)."""
    min_mlc_version: str | None = None
    mlc_compat: tuple[CompatNeed, ...] = ()
    file_path_env_keys: tuple[str, ...] = ()
    """MLCFlow's: env keys whose values are paths of files (made absolute, checked)."""
    folder_path_env_keys: tuple[str, ...] = ()
    """MLCFlow's: env keys whose values are paths of folders (made absolute, checked)."""
    variation_tags_alias: Mapping[str, str] = field(default_factory=dict)
    """MLCFlow's: a request word (``set``) standing for variations (``_set``)."""
    tests: Mapping[str, Json] = field(default_factory=dict)
    """MLCFlow's: the cases ``cairn test script`` runs (:mod:`cairn.script.selftest`)."""

    @property
    def display_name(self) -> str:
        """The name errors use: the alias, else the uid, else the directory name."""
        return self.alias or self.uid or self.source.parent.name

    @classmethod
    def from_meta(
        cls, meta: Mapping[str, Json], source: Path, *, loose: bool | None = None
    ) -> ScriptMeta:
        """Validate the merged meta ``meta`` read from ``source`` (the file errors name);
        ``loose`` reads MLCFlow's loosely typed values (default: when ``source`` is
        MLCFlow's ``meta.yaml``/``meta.json``)."""
        reader = _Reader(source, source.stem == MLC.artifact_meta if loose is None else loose)
        ident = identity(dict(meta), source)
        rest = {k: v for k, v in meta.items() if k not in _NOT_FIELDS}
        values = reader.fields("", rest, _TOP_KEYS, on_unknown=reader.unknown_key)
        reader.report()
        return cls(
            source=source,
            alias=ident.alias,
            uid=ident.uid,
            automation_alias=ident.automation_alias,
            automation_uid=ident.automation_uid,
            tags=ident.tags,
            **values,
        )


def parse_deps(raw: Any, source: str | Path, key: str = "deps") -> tuple[Dep, ...]:
    """Validate a raw dependency list (from a hook's edited meta or an input) into records."""
    reader = _Reader(Path(source))
    deps = _deps(reader, key, raw)
    reader.report()
    return deps


def parse_dep_updates(raw: Any, source: str | Path, key: str = "add_deps") -> dict[str, Dep]:
    """Validate ``{name: {dependency keys}}`` (``--adr.NAME.KEY=V``, ``--ad...``) into records."""
    reader = _Reader(Path(source))
    updates = _dep_updates(reader, key, raw)
    reader.report()
    return updates


def dep_to_dict(dep: Dep) -> dict[str, Json]:
    """The keys a dependency's meta wrote, as plain values (the shape CM's hooks see)."""
    values: dict[str, Json] = {k: copy.deepcopy(v) for k, v in dep.extra_input.items()}
    for name in _DEP_KEYS:
        if name in dep.given:
            values[name] = _plain(getattr(dep, name))
    return values


def _plain(value: Any) -> Json:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return copy.deepcopy(value)


# --- the reader: one file's context ---------------------------------------------------------

Parser = Callable[["_Reader", str, Any], Any]
KeyTable = Mapping[str, tuple[str, Parser]]
"""meta key -> (record field, parser); two keys may fill one field (``ad``/``add_deps``)."""


class _Reader:
    """Validation context of one meta file: its path, and the unknown keys seen in it."""

    def __init__(self, source: Path, loose: bool = False) -> None:
        self.source = source
        self.loose = loose
        self.unknown: list[str] = []
        self.loosely: list[str] = []

    def read_loosely(self, key: str, value: object, read_as: object) -> None:
        """Note a loosely typed value and what it was read as (MLCFlow's reading)."""
        self.loosely.append(f"{key} {value!r} as {read_as!r}")

    def fail(self, key: str, expected: str, value: object, hint: str = "") -> NoReturn:
        self.error(f"key '{key}' must be {expected}, not {_describe(value)}", hint)

    def error(self, message: str, hint: str = "") -> NoReturn:
        raise MetaError(f"{self.source}: {message}", hint=hint)

    def fields(
        self,
        prefix: str,
        raw: Mapping[str, Any],
        table: KeyTable,
        on_unknown: Callable[[str, str, KeyTable], None],
    ) -> dict[str, Any]:
        """Parse the known keys of ``raw`` into record fields; hand the others to ``on_unknown``."""
        values: dict[str, Any] = {}
        for key, value in raw.items():
            path = _join(prefix, key)
            if key not in table:
                on_unknown(path, key, table)
            elif value is not None:
                name, parse = table[key]
                _store(values, name, parse(self, path, value))
        return values

    def unknown_key(self, path: str, key: str, table: KeyTable) -> None:
        self.unknown.append(path + _suggestion(key, table))

    def typo_key(self, path: str, key: str, table: KeyTable) -> None:
        """An extra dependency key: kept as input, warned about only when it looks like a typo."""
        hint = _suggestion(key, table)
        if hint:
            self.unknown.append(path + hint)

    def report(self) -> None:
        if self.unknown:
            report.warn(f"{self.source}: unknown meta keys (typos?): {', '.join(self.unknown)}")
        if self.loosely:
            report.warn(
                f"{self.source}: loosely typed values read as MLCFlow reads them: "
                f"{'; '.join(self.loosely)} (quote or correct them to say so)"
            )


def _store(values: dict[str, Any], name: str, value: Any) -> None:
    old = values.get(name)
    values[name] = {**old, **value} if isinstance(old, dict) else value


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _suggestion(key: str, table: KeyTable) -> str:
    import difflib  # only for the "did you mean" of unknown keys

    close = difflib.get_close_matches(key.replace("-", "_"), list(table), n=1, cutoff=0.8)
    return f" (did you mean {close[0]}?)" if close else ""


def _describe(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- scalar parsers -------------------------------------------------------------------------


def _text(r: _Reader, key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if r.loose and _is_number(value):
        r.read_loosely(key, value, str(value))
        return str(value)
    hint = "quote the value in YAML, e.g. '3.10'" if _is_number(value) else ""
    r.fail(key, "a string", value, hint)


def _flag(r: _Reader, key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else None
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    bare = word.strip(" ,;.") if word is not None and r.loose else None
    if bare in TRUE_WORDS or bare in FALSE_WORDS:
        r.read_loosely(key, value, bare in TRUE_WORDS)
        return bare in TRUE_WORDS
    r.fail(key, "true or false (or the strings yes/no, on/off, 1/0)", value)


def _integer(r: _Reader, key: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    r.fail(key, "an integer", value)


def _developers(r: _Reader, key: str, value: Any) -> str:
    return ", ".join(_texts(r, key, value)) if isinstance(value, list) else _text(r, key, value)


# --- collection parsers ---------------------------------------------------------------------


def _texts(r: _Reader, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        r.fail(key, "a list of strings", value)
    return tuple(_text(r, f"{key}[{i}]", item) for i, item in enumerate(value))


def _names(r: _Reader, key: str, value: Any) -> tuple[str, ...]:
    """A list of strings; a single string is one name."""
    return (value,) if isinstance(value, str) else _texts(r, key, value)


def _tags(r: _Reader, key: str, value: Any) -> tuple[str, ...]:
    """Tags as a comma string (``get,python,_v1``) or a list of such strings."""
    if not isinstance(value, str | list):
        r.fail(key, "a string of comma-separated tags or a list of strings", value)
    items = [value] if isinstance(value, str) else _texts(r, key, value)
    return tuple(t.strip() for item in items for t in item.split(",") if t.strip())


def _combinations(r: _Reader, key: str, value: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list):
        r.fail(key, "a list of lists of variation names", value)
    return tuple(_texts(r, f"{key}[{i}]", item) for i, item in enumerate(value))


def _mapping(r: _Reader, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        r.fail(key, "a mapping", value)
    found: dict[Any, Any] = value
    if r.loose and any(_is_number(name) for name in found):
        found = _text_keys(r, key, found)
    for name in found:
        if not isinstance(name, str):
            hint = "quote it in YAML, e.g. '3.10':" if _is_number(name) else ""
            r.error(f"key '{key}' holds the key {_describe(name)}; keys must be strings", hint)
    return found


def _text_keys(r: _Reader, key: str, value: dict[Any, Any]) -> dict[str, Any]:
    """MLCFlow's reading of number keys (``versions: {5.2: ...}``): their text."""
    for name in filter(_is_number, value):
        r.read_loosely(f"{key} key", name, str(name))
    return {str(k) if _is_number(k) else k: v for k, v in value.items()}


def _json_map(r: _Reader, key: str, value: Any) -> dict[str, Json]:
    return copy.deepcopy(_mapping(r, key, value))


def _text_map(r: _Reader, key: str, value: Any) -> dict[str, str]:
    return {k: _text(r, f"{key}.{k}", v) for k, v in _mapping(r, key, value).items()}


def _labels(r: _Reader, key: str, value: Any) -> dict[str, str]:
    """``print_env_at_the_end``: ``{KEY: label}``; an empty label means "the key itself"."""
    items = _mapping(r, key, value).items()
    return {k: "" if v is None else _text(r, f"{key}.{k}", v) for k, v in items}


def _env_scalar(r: _Reader, key: str, value: Any) -> EnvScalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    r.fail(key, "a string, number or boolean", value)


def _env_value(r: _Reader, key: str, value: Any) -> EnvValue:
    if isinstance(value, list):
        return [_env_scalar(r, f"{key}[{i}]", item) for i, item in enumerate(value)]
    if isinstance(value, dict):
        r.fail(key, "a string, number, boolean or a list of them", value)
    return _env_scalar(r, key, value)


def _env(r: _Reader, key: str, value: Any) -> dict[str, EnvValue]:
    return {k: _env_value(r, f"{key}.{k}", v) for k, v in _mapping(r, key, value).items()}


def _condition_word(r: _Reader, key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) or _is_number(value):
        return str(value)
    r.fail(key, "a string, number or boolean", value)


def _condition_values(r: _Reader, key: str, value: Any) -> tuple[str, ...]:
    if r.loose and isinstance(value, dict):
        r.read_loosely(key, value, "a condition that never holds")
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(_condition_word(r, f"{key}[{i}]", item) for i, item in enumerate(items))


def _conditions(r: _Reader, key: str, value: Any) -> dict[str, tuple[str, ...]]:
    items = _mapping(r, key, value).items()
    return {k: _condition_values(r, f"{key}.{k}", v) for k, v in items}


def _key_lists(r: _Reader, key: str, value: Any) -> dict[str, tuple[str, ...]]:
    """``{prefix: [ENV_KEY, ...]}``; a single key may be given without a list."""
    return {k: _names(r, f"{key}.{k}", v) for k, v in _mapping(r, key, value).items()}


# --- records --------------------------------------------------------------------------------


def _dep(r: _Reader, key: str, value: Any) -> Dep:
    raw = _mapping(r, key, value)
    values = r.fields(key, raw, _DEP_KEYS, on_unknown=r.typo_key)
    extra = {k: copy.deepcopy(v) for k, v in raw.items() if k not in _DEP_KEYS}
    return Dep(**values, extra_input=extra, given=frozenset(raw))


def _deps(r: _Reader, key: str, value: Any) -> tuple[Dep, ...]:
    if not isinstance(value, list):
        r.fail(key, "a list of dependencies", value)
    return tuple(_dep(r, f"{key}[{i}]", item) for i, item in enumerate(value))


def _dep_updates(r: _Reader, key: str, value: Any) -> dict[str, Dep]:
    """``add_deps``/``add_deps_recursive``: ``{name: dependency keys to update}``."""
    items = _mapping(r, key, value).items()
    if r.loose:
        for k, v in items:
            if not isinstance(v, dict):
                r.read_loosely(f"{key}.{k}", v, "no update")
        items = {k: v for k, v in items if isinstance(v, dict)}.items()
    return {k: _dep(r, f"{key}.{k}", v) for k, v in items}


def _deps_tags(r: _Reader, key: str, value: Any) -> dict[str, Dep]:
    """``add_deps_tags``: ``{name: {tags: ...}}``, or ``{name: "tags"}`` (CM's first form)."""
    items = _mapping(r, key, value).items()
    return {k: _dep(r, f"{key}.{k}", {"tags": v} if isinstance(v, str) else v) for k, v in items}


def _duration(r: _Reader, key: str, value: Any) -> int:
    """``cache_expiration``: a duration (``1h``, ``5d``; :mod:`cairn.script.expiry`)."""
    from cairn.script import expiry

    try:
        return expiry.parse(_text(r, key, value))
    except ValueError as exc:
        r.error(f"key '{key}': {exc}", hint="units: s, m, h, d, w")


def _meta_update(r: _Reader, key: str, value: Any) -> MetaUpdate:
    raw = _mapping(r, key, value)
    conditions = {k: v for k, v in raw.items() if k in _CONDITION_KEYS}
    rest = {k: v for k, v in raw.items() if k not in _CONDITION_KEYS}
    table: KeyTable = _same(dict.fromkeys(_CONDITION_KEYS, _conditions))
    values = r.fields(key, conditions, table, on_unknown=r.unknown_key)
    payload = Payload(**r.fields(key, rest, _PAYLOAD_KEYS, on_unknown=r.unknown_key))
    return MetaUpdate(**values, payload=payload)


def _meta_updates(r: _Reader, key: str, value: Any) -> tuple[MetaUpdate, ...]:
    if not isinstance(value, list):
        r.fail(key, "a list of {enable_if_env: ..., env: ...} entries", value)
    return tuple(_meta_update(r, f"{key}[{i}]", item) for i, item in enumerate(value))


def _compat_need(r: _Reader, key: str, value: Any) -> CompatNeed:
    raw = _mapping(r, key, value)
    table: KeyTable = _same({"min_version": _text, "message": _text, "fail": _flag})
    values = r.fields(key, raw, table, on_unknown=r.unknown_key)
    if "min_version" not in values:
        r.error(f"key '{key}' needs 'min_version': the MLCFlow version the script needs")
    return CompatNeed(**values)


def _compat(r: _Reader, key: str, value: Any) -> tuple[CompatNeed, ...]:
    if not isinstance(value, list):
        r.fail(key, "a list of {min_version: V, message: TEXT, fail: BOOL} entries", value)
    return tuple(_compat_need(r, f"{key}[{i}]", item) for i, item in enumerate(value))


def _tests(r: _Reader, key: str, value: Any) -> dict[str, Json]:
    """``tests``: checked when ``cairn test script`` runs them (:mod:`cairn.script.selftest`)."""
    return _json_map(r, key, value)


_CONDITION_KEYS = ("enable_if_env", "enable_if_any_env", "skip_if_env", "skip_if_any_env")


_PAYLOAD_FIELDS = frozenset(Payload._fields)


def _variation(r: _Reader, key: str, name: str, value: Any) -> Variation:
    raw = {} if value is None else _mapping(r, key, value)
    values = r.fields(key, raw, _VARIATION_KEYS, on_unknown=r.unknown_key)
    payload = Payload(**{k: v for k, v in values.items() if k in _PAYLOAD_FIELDS})
    own = {k: v for k, v in values.items() if k not in _PAYLOAD_FIELDS}
    return Variation(name=name, payload=payload, **own)


def _variations(r: _Reader, key: str, value: Any) -> dict[str, Variation]:
    items = _mapping(r, key, value).items()
    return {name: _variation(r, f"{key}._{name}", name, raw) for name, raw in items}


def _version_payload(r: _Reader, key: str, value: Any) -> Payload:
    raw = {} if value is None else _mapping(r, key, value)
    return Payload(**r.fields(key, raw, _PAYLOAD_KEYS, on_unknown=r.unknown_key))


def _versions(r: _Reader, key: str, value: Any) -> dict[str, Payload]:
    items = _mapping(r, key, value).items()
    return {v: _version_payload(r, f"{key}.{v}", raw) for v, raw in items}


def _cache_tags_entry(r: _Reader, key: str, value: Any) -> EnvCacheTags:
    raw = _mapping(r, key, value)
    table: KeyTable = {"env": ("env", _text), "prefix": ("prefix", _text)}
    values = r.fields(key, raw, table, on_unknown=r.unknown_key)
    if "env" not in values:
        r.error(f"key '{key}' needs 'env': the env key whose values become cache tags")
    return EnvCacheTags(**values)


def _cache_tags(r: _Reader, key: str, value: Any) -> tuple[EnvCacheTags, ...]:
    if not isinstance(value, list):
        r.fail(key, "a list of {env: KEY, prefix: P} entries", value)
    return tuple(_cache_tags_entry(r, f"{key}[{i}]", item) for i, item in enumerate(value))


def _input_description(r: _Reader, key: str, value: Any) -> InputDescription:
    if isinstance(value, str):
        return InputDescription(desc=value)
    raw = _json_map(r, key, value)
    desc = raw.pop("desc", None)
    choices = raw.pop("choices", None)
    sort = raw.pop("sort", None)
    return InputDescription(
        desc="" if desc is None else _text(r, f"{key}.desc", desc),
        default=raw.pop("default", None),
        choices=() if choices is None else tuple(_choices(r, f"{key}.choices", choices)),
        sort=0 if sort is None else _integer(r, f"{key}.sort", sort),
        extra=raw,
    )


def _choices(r: _Reader, key: str, value: Any) -> list[Json]:
    if not isinstance(value, list):
        r.fail(key, "a list", value)
    return value


def _input_descriptions(r: _Reader, key: str, value: Any) -> dict[str, InputDescription]:
    items = _mapping(r, key, value).items()
    return {k: _input_description(r, f"{key}.{k}", v) for k, v in items}


# --- key tables: each meta key declared once -------------------------------------------------


def _same(parsers: Mapping[str, Parser]) -> dict[str, tuple[str, Parser]]:
    """A key table whose record fields are named like the meta keys."""
    return {key: (key, parse) for key, parse in parsers.items()}


_NOT_FIELDS = frozenset({*IDENTITY_KEYS, "tags", "min_cm_version", "repo_to_report_errors"})
"""Identity keys (checked by :func:`identity`) and cm4mlops keys with no meaning for a run."""

_VERSION_KEYS = ("version", "version_min", "version_max", "version_max_usable")

_DEP_KEYS: KeyTable = _same(
    {
        "tags": _tags,
        "names": _names,
        "enable_if_env": _conditions,
        "skip_if_env": _conditions,
        "enable_if_any_env": _conditions,
        "skip_if_any_env": _conditions,
        "env": _env,
        "state": _json_map,
        "const": _env,
        "const_state": _json_map,
        "extra_cache_tags": _tags,
        **dict.fromkeys(_VERSION_KEYS, _text),
        "force_cache": _flag,
        "update_tags_from_env_with_prefix": _key_lists,
        "update_tags_from_env": _texts,
        "force_env_keys": _texts,
        "inherit_variation_tags": _flag,
        "skip_inherit_variation_groups": _texts,
        "reuse_version": _flag,
        "dynamic": _flag,
        "skip_if_fake_run": _flag,
        "force_new_env_keys": _texts,
        "skip_inside_docker": _flag,
        "inherit_cache_expiration": _flag,
        "repo": _text,
    }
)

_PAYLOAD_KEYS: KeyTable = {
    **_same(
        {
            "env": _env,
            "default_env": _env,
            "state": _json_map,
            "const": _env,
            **dict.fromkeys(DEP_LISTS, _deps),
            "new_env_keys": _texts,
            "new_state_keys": _texts,
            "docker": _json_map,
            "script_name": _text,
            "required_disk_space": _integer,
            "warning": _text,
            "input_mapping": _text_map,
            "cache": _flag,
            "default_version": _text,
            "cache_expiration": _duration,
            "update_meta_if_env": _meta_updates,
            "add_deps_tags": _deps_tags,
        }
    ),
    "add_deps": ("add_deps", _dep_updates),
    "ad": ("add_deps", _dep_updates),
    "add_deps_recursive": ("add_deps_recursive", _dep_updates),
    "adr": ("add_deps_recursive", _dep_updates),
}

_VARIATION_KEYS: KeyTable = {
    **_PAYLOAD_KEYS,
    **_same(
        {
            "group": _text,
            "default": _flag,
            "default_variations": _text_map,
            "base": _texts,
            "alias": _text,
        }
    ),
}

_TOP_KEYS: KeyTable = _same(
    {
        "cache": _flag,
        "can_force_cache": _flag,
        **dict.fromkeys(DEP_LISTS, _deps),
        "variations": _variations,
        "default_variation": _text,
        "valid_variation_combinations": _combinations,
        "invalid_variation_combinations": _combinations,
        "variation_groups_order": _texts,
        "env": _env,
        "default_env": _env,
        "const": _env,
        "state": _json_map,
        "const_state": _json_map,
        "input_mapping": _text_map,
        "new_env_keys": _texts,
        "new_state_keys": _texts,
        "local_env_keys": _texts,
        "clean_env_keys_post_deps": _texts,
        "versions": _versions,
        "default_version": _text,
        **dict.fromkeys(_VERSION_KEYS, _text),
        "script_name": _text,
        "clean_files": _texts,
        "clean_output_files": _texts,
        "extra_cache_tags_from_env": _cache_tags,
        "env_key_mappings": _text_map,
        "cache_key_env": _texts,
        "experiment_results": _texts,
        "print_env_at_the_end": _labels,
        "print_files_if_script_error": _texts,
        "warnings": _texts,
        "docker": _json_map,
        "docker_input_mapping": _text_map,
        "input_description": _input_descriptions,
        "customize": _json_map,
        "sort": _integer,
        "name": _text,
        "category": _text,
        "category_sort": _integer,
        "tags_help": _text,
        "developers": _developers,
        "gui": _json_map,
        "private": _flag,
        "cache_expiration": _duration,
        "predeps": _flag,
        "update_meta_if_env": _meta_updates,
        "sudo_install": _flag,
        "min_mlc_version": _text,
        "mlc_compat": _compat,
        "file_path_env_keys": _texts,
        "folder_path_env_keys": _texts,
        "variation_tags_alias": _text_map,
        "tests": _tests,
    }
)
