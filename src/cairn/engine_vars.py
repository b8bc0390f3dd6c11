"""The script engine's own environment variables: one table, spoken in each dialect.

The engine reads and writes a fixed set of env keys on a script's behalf. Their names differ
between the dialects only by prefix (``CM_VERSION`` for a CM script, ``MLC_VERSION`` for an
MLCFlow one, :mod:`cairn.dialect`), so the table below lists suffixes, and
:func:`of` gives the full names for one dialect as an :class:`EngineVars` (built once per
dialect and cached, so the hot path reads plain attributes). The engine never spells a
prefixed name itself: it asks the script's ``EngineVars`` (``names.version``).

====================================  ==========================================================
suffix (attribute in lower case)      what the engine does with it
====================================  ==========================================================
``TMP_CURRENT_PATH``                  sets it to the directory the run was started from
``TMP_CURRENT_SCRIPT_PATH``           sets it to the script's folder
``TMP_CURRENT_SCRIPT_WORK_PATH``      sets it to where the native script runs
``TMP_PATH``                          ``--path``; where ``find_artifact`` looks
``TMP_PATH_IGNORE_NON_EXISTANT``      ``find_artifact`` skips missing ``TMP_PATH`` folders
``TMP_PIP_VERSION_STRING``            pip's version spec from the constraints (``>=1,<=2``)
``TMP_DEBUG_UID``                     which ``utils.debug_here`` call listens
``QUIET`` / ``VERBOSE``               ``--quiet`` / ``--verbose``
``TMP_SILENT``                        how chatty a script is (never part of a key)
``VERSION``                           the exact version asked for (or the default one)
``VERSION_MIN`` / ``VERSION_MAX``     the version bounds
``VERSION_MAX_USABLE``                clamps ``default_version`` above ``VERSION_MAX``
``DETECTED_VERSION``                  the version a script found (``parse_version``, hooks)
``GET_DEPENDENT_CACHED_PATH``         a cache entry's dependent path, recorded in the entry
``INPUT`` / ``OUTPUT`` / ``NAME``     the ``--input``/``--output``/``--name`` flags
``EXTRA_CACHE_TAGS``                  ``--extra_cache_tags``
``RENEW_CACHE_ENTRY``                 hidden from dependencies (a parent's renewal is its own)
``HOST_OS_FLAVOR``                    chooses an OS-specific native script (with the two below)
``HOST_OS_VERSION``
``HOST_PLATFORM_FLAVOR``
``WINDOWS``                           ``os_info['env']`` on Windows
``UTILS_DOWNLOAD_VERIFY_SSL``         the process env's say on TLS checks in ``download_file``
====================================  ==========================================================

Besides single names, the dialect gives the engine's lists (:class:`EngineVars` attributes):
``local`` (hidden from dependencies: the version keys, ``INPUT``/``OUTPUT``/``NAME``,
``EXTRA_CACHE_TAGS``, ``RENEW_CACHE_ENTRY``, ``TMP_*``, ``GIT_*``), ``engine_reads`` (read
for every script), ``native_reads`` (choose the native file), ``unscoped`` (never part of a
cache key), ``versions`` (constraint field -> key) and ``flag(name)`` for run inputs also
exposed as ``<PREFIX><NAME>`` (``--skip_compile`` is ``CM_SKIP_COMPILE``).
"""

from __future__ import annotations

from functools import cache

from cairn.dialect import CM, MLC, Dialect

SUFFIXES = (
    "TMP_CURRENT_PATH",
    "TMP_CURRENT_SCRIPT_PATH",
    "TMP_CURRENT_SCRIPT_WORK_PATH",
    "TMP_PATH",
    "TMP_PATH_IGNORE_NON_EXISTANT",
    "TMP_PIP_VERSION_STRING",
    "TMP_DEBUG_UID",
    "QUIET",
    "VERBOSE",
    "TMP_SILENT",
    "VERSION",
    "VERSION_MIN",
    "VERSION_MAX",
    "VERSION_MAX_USABLE",
    "DETECTED_VERSION",
    "GET_DEPENDENT_CACHED_PATH",
    "INPUT",
    "OUTPUT",
    "NAME",
    "EXTRA_CACHE_TAGS",
    "RENEW_CACHE_ENTRY",
    "HOST_OS_FLAVOR",
    "HOST_OS_VERSION",
    "HOST_PLATFORM_FLAVOR",
    "WINDOWS",
    "UTILS_DOWNLOAD_VERIFY_SSL",
)
"""Every single engine variable, by suffix (the module docstring says what each is for)."""


class EngineVars:
    """The engine variables in one dialect: each suffix of :data:`SUFFIXES` as a lower-case
    attribute holding the full name, and the engine's lists of them."""

    dialect: Dialect
    prefix: str
    tmp_current_path: str
    tmp_current_script_path: str
    tmp_current_script_work_path: str
    tmp_path: str
    tmp_path_ignore_non_existant: str
    tmp_pip_version_string: str
    tmp_debug_uid: str
    quiet: str
    verbose: str
    tmp_silent: str
    version: str
    version_min: str
    version_max: str
    version_max_usable: str
    detected_version: str
    get_dependent_cached_path: str
    input: str
    output: str
    name: str
    extra_cache_tags: str
    renew_cache_entry: str
    host_os_flavor: str
    host_os_version: str
    host_platform_flavor: str
    windows: str
    utils_download_verify_ssl: str

    versions: dict[str, str]
    """Version constraint field (``version_min``) -> its key (``CM_VERSION_MIN``)."""
    version_keys: tuple[str, ...]
    local: tuple[str, ...]
    engine_reads: tuple[str, ...]
    native_reads: tuple[str, ...]
    unscoped: tuple[str, ...]

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.prefix = dialect.prefix
        for suffix in SUFFIXES:
            setattr(self, suffix.lower(), dialect.var(suffix))
        fields = ("version", "version_min", "version_max", "version_max_usable")
        self.versions = {f: getattr(self, f) for f in fields}
        self.version_keys = tuple(self.versions.values())
        self._lists()

    def _lists(self) -> None:
        var = self.dialect.var
        self.local = (
            *self.version_keys,
            *(self.detected_version, self.input, self.output, self.name),
            *(self.extra_cache_tags, var("TMP_*"), var("GIT_*"), self.renew_cache_entry),
        )
        self.engine_reads = (
            *self.version_keys,
            *(self.detected_version, self.get_dependent_cached_path),
        )
        self.native_reads = (self.host_os_flavor, self.host_os_version, self.host_platform_flavor)
        self.unscoped = (
            *(self.tmp_current_path, var("TMP_CURRENT_SCRIPT_*"), self.tmp_pip_version_string),
            *(self.quiet, self.verbose, self.tmp_silent),
        )

    def flag(self, name: str) -> str:
        """The key a run input is also exposed as: ``skip_compile`` -> ``CM_SKIP_COMPILE``."""
        return self.prefix + name.upper()

    def __repr__(self) -> str:
        return f"EngineVars({self.dialect.name})"


@cache
def of(dialect: Dialect) -> EngineVars:
    """The engine variables of ``dialect`` (one object per dialect)."""
    return EngineVars(dialect)


CM_VARS = of(CM)
MLC_VARS = of(MLC)
