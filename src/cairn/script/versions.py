"""Versions with real semantics: parsing, comparison and a script's version constraints.

Parsing (:func:`parse_version`)
    A text that is a valid PEP 440 version (``3.11.7``, ``1.2.3-rc1``, ``v2.0``,
    ``12.2.0-14+deb12u1``) is read with :class:`packaging.version.Version`. Any other text
    (``2.39.2.windows.1``, ``11.4.0-1ubuntu1~22.04``, ``1.2.3-ubuntu1``, ``master``) uses the
    fallback: a leading ``v`` before a digit is dropped, and the text is cut into runs of
    digits and runs of letters (``.``, ``-``, ``+``, ``_``, ``~`` and other signs only
    separate them). A text with neither digits nor letters is not a version.

Comparison (:func:`compare`, and the operators of :class:`Version`)
    Two PEP 440 versions compare by PEP 440. Otherwise both sides compare part by part with
    the fallback rules (a PEP 440 version takes part in its normalized spelling):

    * numbers compare numerically, words case-insensitively as text;
    * pre-release words (``dev``, ``a``, ``alpha``, ``b``, ``beta``, ``c``, ``rc``, ``pre``,
      ``preview``) rank below numbers, other words (``ubuntu``, ``windows``, ``deb``) above;
    * a missing part counts as the number 0, so ``1.2 == 1.2.0``, ``1.2-rc1 < 1.2`` and
      ``2.39.2.windows.1 > 2.39.2`` (a vendor suffix marks a later build, not an earlier one).

    Mixing both kinds in one sorted list is well defined for real-world version sets but is
    not guaranteed to be transitive in contrived cases (PEP 440 and the fallback disagree on
    a few spellings such as ``1.0.post1`` versus ``1.0.1``).

Constraints (:class:`Constraints`, cm-script.md §1.1 and §2.1 step 10)
    ``version`` (exact), ``version_min``, ``version_max`` (inclusive bounds) and
    ``version_max_usable`` (only used to clamp ``default_version``). Each field is taken from
    the run input, else the env's version key in the script's dialect (``CM_VERSION*`` or
    ``MLC_VERSION*``), else the script meta, as CM does. Unlike CM,
    an exact version outside the bounds, or a minimum above the maximum, is an error at once.

Listed versions (:meth:`Constraints.unlisted`, :func:`acts_on_any_version`)
    A script whose meta lists ``versions`` knows those. An exact version asked for by the run
    (not by the script's own meta) that is none of them is refused -- unless the script can act
    on another version: its files name the ``VERSION`` key or detect a version
    (``DETECTED_VERSION``, ``parse_version``), or its meta substitutes ``<<<`` + the
    ``VERSION`` key (each in the script's dialect: ``CM_VERSION``, ``MLC_VERSION``).
    CM accepts it silently and runs the script as if no version were asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import total_ordering
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from packaging.version import Version as PepVersion


from cairn.engine_vars import CM_VARS, EngineVars
from cairn.errors import InvalidInput
from cairn.record import Defaulted, FrozenRecord, field, init

Part = tuple[int, int, str]
"""One fallback part: (rank, number, word); rank 0 pre-release word, 1 number, 2 other word."""

PRE_RELEASE_WORDS = frozenset({"dev", "a", "alpha", "b", "beta", "c", "rc", "pre", "preview"})
_ZERO: Part = (1, 0, "")
_TOKEN_RE = re.compile(r"\d+|[^\W\d_]+")
_LEADING_V_RE = re.compile(r"^[vV](?=\d)")

FIELDS = ("version", "version_min", "version_max", "version_max_usable")
"""The constraint fields; their env keys are the dialect's
(:attr:`cairn.engine_vars.EngineVars.versions`)."""


# --- one version --------------------------------------------------------------------------


@total_ordering
class Version(FrozenRecord):
    """A parsed version: its text, its PEP 440 reading if it has one, and its fallback parts.

    Two versions are equal when they compare equal (``3.10`` and ``3.10.0``), not field by field.
    """

    _fields = ("text", "pep", "parts")
    __slots__ = _fields
    text: str
    pep: PepVersion | None
    parts: tuple[Part, ...]

    def __init__(self, text: str, pep: PepVersion | None, parts: tuple[Part, ...]) -> None:
        init(self, text, pep, parts)

    @property
    def is_pep440(self) -> bool:
        return self.pep is not None

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return _compare(self, other) == 0

    def __lt__(self, other: Version) -> bool:
        return _compare(self, other) < 0

    def __hash__(self) -> int:
        # Coarse on purpose: equal versions (in either reading) share their first number.
        return hash(next((n for rank, n, _ in self.parts if rank == 1), None))


def parse_version(text: str) -> Version:
    """Parse ``text`` (PEP 440 when valid, else the fallback); raise InvalidInput if hopeless."""
    text = text.strip()
    try:
        pep: PepVersion | None = _pep_version(text)
    except ValueError:
        pep = None
    parts = _parts(str(pep) if pep is not None else _LEADING_V_RE.sub("", text))
    if not parts:
        raise InvalidInput(
            f"{text!r} is not a version", hint="a version has digits or letters, e.g. 3.11.7"
        )
    return Version(text, pep, parts)


def _pep_version(text: str) -> PepVersion:
    """``packaging``'s reading of ``text`` (imported on first use; raises ValueError)."""
    from packaging.version import Version as Pep

    return Pep(text)


def compare(a: str | Version, b: str | Version) -> int:
    """-1, 0 or 1 as ``a`` is older than, the same as, or newer than ``b``."""
    return _compare(_as_version(a), _as_version(b))


def _as_version(value: str | Version) -> Version:
    return value if isinstance(value, Version) else parse_version(value)


def _compare(a: Version, b: Version) -> int:
    if a.pep is not None and b.pep is not None:
        return _sign(a.pep, b.pep)
    for left, right in zip_longest(a.parts, b.parts, fillvalue=_ZERO):
        if left != right:
            return _sign(left, right)
    return 0


def _sign(a: Any, b: Any) -> int:
    return -1 if a < b else int(a > b)


def _parts(text: str) -> tuple[Part, ...]:
    return tuple(_part(token) for token in _TOKEN_RE.findall(text))


def _part(token: str) -> Part:
    if token.isdigit():
        return (1, int(token), "")
    word = token.lower()
    return (0 if word in PRE_RELEASE_WORDS else 2, 0, word)


# --- constraints --------------------------------------------------------------------------


class VersionFields(Protocol):
    """Anything with CM's four version fields: a script meta, a dependency."""

    @property
    def version(self) -> str | None: ...
    @property
    def version_min(self) -> str | None: ...
    @property
    def version_max(self) -> str | None: ...
    @property
    def version_max_usable(self) -> str | None: ...


class Constraints(Defaulted):
    """The version a script run asks for: exact, bounds, and the highest usable default.

    Construction checks the values: each one must parse, an exact ``version`` must lie within
    ``version_min``/``version_max``, and the minimum may not exceed the maximum.
    :attr:`origins` tells where each value came from (for messages only).
    """

    _hidden = frozenset({"origins"})
    version: str | None = None
    version_min: str | None = None
    version_max: str | None = None
    version_max_usable: str | None = None
    origins: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in FIELDS:
            value = getattr(self, name)
            if value is not None:
                self._parsed(name, value)
        self._check_order("version_min", "version_max")
        self._check_order("version", "version_max")
        self._check_order("version_min", "version")

    @classmethod
    def from_sources(
        cls,
        input: Mapping[str, Any],
        env: Mapping[str, Any],
        meta: VersionFields,
        names: EngineVars = CM_VARS,
    ) -> Constraints:
        """Each field from the run input, else the env's version key in the dialect of
        ``names`` (``CM_VERSION_MIN``), else the meta."""
        values: dict[str, str | None] = {}
        origins: dict[str, str] = {}
        for name in FIELDS:
            found = _first_given(name, input, env, meta, names.versions[name])
            values[name] = found[0] if found else None
            if found:
                origins[name] = found[1]
        return cls(**values, origins=origins)

    def satisfies(self, version: str | Version) -> bool:
        """Whether ``version`` equals the exact version and lies within the bounds."""
        v = _as_version(version)
        if self.version is not None and compare(v, self.version) != 0:
            return False
        if self.version_min is not None and compare(v, self.version_min) < 0:
            return False
        return self.version_max is None or compare(v, self.version_max) <= 0

    def clamp_default(self, default_version: str | None) -> str | None:
        """The version to use when the request names none (CM's ``default_version`` rule).

        An exact ``version`` wins. Otherwise the default is clamped: below ``version_min`` it
        becomes ``version_min``; above ``version_max`` it becomes ``version_max_usable`` (when
        that lies within the bounds), else ``version_max``.
        """
        if self.version is not None:
            return self.version
        if default_version is None or not default_version.strip():
            return None
        if self.version_min is not None and compare(default_version, self.version_min) < 0:
            return self.version_min
        if self.version_max is not None and compare(default_version, self.version_max) > 0:
            return self._usable_max()
        return default_version

    def _usable_max(self) -> str | None:
        usable = self.version_max_usable
        if usable is not None and self._within_bounds(usable):
            return usable
        return self.version_max

    def _within_bounds(self, version: str) -> bool:
        low, high = self.version_min, self.version_max
        return (low is None or compare(version, low) >= 0) and (
            high is None or compare(version, high) <= 0
        )

    def env(self, names: EngineVars = CM_VARS) -> dict[str, str]:
        """The version env keys (in the dialect of ``names``) of the fields that are set."""
        return {names.versions[name]: value for name, value in self._given().items()}

    def pip_spec(self) -> str:
        """pip's version string (``TMP_PIP_VERSION_STRING``): ``==v``, ``>=min,<=max``,
        ``>=min``, ``<=max``."""
        if self.version is not None:
            return f"=={self.version}"
        bounds = [f">={self.version_min}" if self.version_min is not None else ""]
        bounds.append(f"<={self.version_max}" if self.version_max is not None else "")
        return ",".join(b for b in bounds if b)

    def __str__(self) -> str:
        """The constraining fields as ``version_min=3.8, version_max=3.12``."""
        shown = {k: v for k, v in self._given().items() if k != "version_max_usable"}
        return ", ".join(f"{k}={v}" for k, v in shown.items()) or "no version constraints"

    def unlisted(self, known: list[str]) -> str | None:
        """The exact version the run asked for when ``known`` (the script's ``versions``)
        is not empty and it is none of them; None when it is listed or came from the meta."""
        version = self.version
        if version is None or self.origins.get("version", "").startswith("the meta"):
            return None
        if not known or any(_same(version, k) for k in known):
            return None
        return version

    def _given(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FIELDS if getattr(self, name) is not None}

    def _named(self, name: str) -> str:
        origin = self.origins.get(name)
        return f"{name} {getattr(self, name)}" + (f" (from {origin})" if origin else "")

    def _parsed(self, name: str, value: str) -> Version:
        try:
            return parse_version(value)
        except InvalidInput as exc:
            raise InvalidInput(f"{self._named(name)}: {exc.message}", hint=exc.hint) from exc

    def _check_order(self, low: str, high: str) -> None:
        low_value, high_value = getattr(self, low), getattr(self, high)
        if low_value is None or high_value is None or compare(low_value, high_value) <= 0:
            return
        if high == "version":
            message = f"{self._named(high)} is below {self._named(low)}"
        else:
            message = f"{self._named(low)} is above {self._named(high)}"
        raise InvalidInput(message, hint="no version can satisfy both; change one of them")


def _same(version: str, listed: str) -> bool:
    try:
        return compare(version, listed) == 0
    except InvalidInput:  # a key of ``versions`` that is no version: only the same text
        return version == listed


def acts_on_any_version(script_dir: Path, files: Iterable[str], names: EngineVars) -> bool:
    """Whether a script can act on a version its ``versions`` does not list: a file other
    than its meta names the ``VERSION`` or ``DETECTED_VERSION`` key of its dialect
    (``names``) or ``parse_version``, or its meta substitutes ``<<<`` + the ``VERSION`` key.
    Read only when such a version is asked for."""
    wanted = _version_names(names)
    metas = {f"{names.dialect.artifact_meta}.{ext}" for ext in ("yaml", "json")}
    for rel in files:
        try:
            data = (script_dir / rel).read_bytes()
        except OSError:
            continue
        if rel in metas:
            if b"<<<" + wanted[0] in data:
                return True
        elif any(name in data for name in wanted):
            return True
    return False


def _version_names(names: EngineVars) -> tuple[bytes, ...]:
    """What a script's hooks or native scripts name when they can act on any version."""
    return (names.version.encode(), names.detected_version.encode(), b"parse_version")


def _first_given(
    name: str, input: Mapping[str, Any], env: Mapping[str, Any], meta: VersionFields, key: str
) -> tuple[str, str] | None:
    """The first non-empty value of field ``name`` (env key ``key``) and where it came from."""
    sources = (
        (input.get(name), f"--{name}"),
        (env.get(key), f"env {key}"),
        (getattr(meta, name), _meta_origin(meta)),
    )
    for raw, origin in sources:
        value = _text(raw, origin)
        if value:
            return value, origin
    return None


def _meta_origin(meta: VersionFields) -> str:
    script = getattr(meta, "display_name", None)
    return f"the meta of script {script}" if script else "the meta"


def _text(value: Any, origin: str) -> str | None:
    """A version value as text; a float (``3.10`` read as ``3.1``) or a bool is refused."""
    if value is None or isinstance(value, str):
        return value.strip() if value is not None else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidInput(
        f"{origin} must be a version string, not {type(value).__name__} {value!r}",
        hint="quote it, e.g. '3.10' (a number loses trailing zeros)",
    )
