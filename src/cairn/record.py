"""Small typed value records for the start-up path, without :mod:`dataclasses`.

Importing :mod:`dataclasses` pulls in ``inspect``, ``ast``, ``dis`` and ``tokenize``, and each
``@dataclass`` compiles its methods when the class is created: together about 20-40 ms of
every ``cairn find``. The records that every command builds (kinds, names, repositories,
artifacts, action specs) and those of the script engine (which ``cairn run script`` loads
unless a run is replayed) derive from :class:`Record` or :class:`FrozenRecord` instead.

Rules for a record class:

* it lists its fields in ``_fields``, in the order of its ``__init__`` parameters, sets
  ``__slots__ = _fields``, and its ``__init__`` accepts them all positionally (pickling and
  copying rebuild it that way);
* a :class:`FrozenRecord` assigns them with :func:`init` (plain assignment raises, as on a
  frozen dataclass); a :class:`Record` assigns them as usual;
* ``_hidden`` names the fields left out of ``==``, ``hash`` and ``repr`` (e.g. a large meta).

A record with many optional fields derives from :class:`Defaulted` (or
:class:`MutableDefaulted`) instead of writing an ``__init__``: its ``_defaults`` give each
optional field's default (a class such as ``dict`` is called, giving each record a fresh
value), and fields without a default come first. :func:`replace` copies a record with some
fields changed, like :func:`dataclasses.replace`.
"""

from __future__ import annotations

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from collections.abc import Mapping
    from typing import Any, ClassVar, TypeVar

    R = TypeVar("R", bound="Record")


class Record:
    """A mutable record: equality and repr from its fields; unhashable (as a dataclass).

    Defining ``__eq__`` without ``__hash__`` makes Python set ``__hash__`` to ``None``.
    """

    __slots__: tuple[str, ...] = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _hidden: ClassVar[frozenset[str]] = frozenset()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self._fields)

    def _key(self) -> tuple[Any, ...]:
        hidden = self._hidden
        return tuple(getattr(self, n) for n in self._fields if n not in hidden)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __repr__(self) -> str:
        shown = (f"{n}={getattr(self, n)!r}" for n in self._fields if n not in self._hidden)
        return f"{type(self).__qualname__}({', '.join(shown)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())


class FrozenRecord(Record):
    """An immutable, hashable record: fields are set once, by :func:`init`."""

    __slots__: tuple[str, ...] = ()

    def __hash__(self) -> int:
        return hash(self._key())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a {type(self).__name__}")


_set = object.__setattr__


def init(record: FrozenRecord, *values: object) -> None:
    """Set the fields of a frozen ``record``, in ``_fields`` order."""
    for name, value in zip(record._fields, values, strict=True):
        _set(record, name, value)


def fill(record: Record, args: tuple[Any, ...], values: Mapping[str, Any]) -> None:
    """Set every field of ``record`` from ``args`` (in ``_fields`` order), then ``values`` (by
    name), then its class's ``_defaults``; raise TypeError for what a call could not pass."""
    fields = record._fields
    if len(args) > len(fields):
        raise TypeError(f"{type(record).__name__} takes {len(fields)} fields, not {len(args)}")
    unknown = [n for n in values if n not in fields or fields.index(n) < len(args)]
    if unknown:
        raise TypeError(f"{type(record).__name__}: unexpected or repeated field {unknown[0]!r}")
    defaults: Mapping[str, Any] = getattr(record, "_defaults", {})
    for i, name in enumerate(fields):
        if i < len(args):
            value = args[i]
        elif name in values:
            value = values[name]
        elif name in defaults:
            value = defaults[name]
            value = value() if isinstance(value, type) else value
        else:
            raise TypeError(f"{type(record).__name__} needs the field {name!r}")
        _set(record, name, value)


class Defaulted(FrozenRecord):
    """A frozen record built from ``_defaults`` and the fields passed: see :func:`fill`."""

    __slots__: tuple[str, ...] = ()
    _defaults: ClassVar[dict[str, object]] = {}

    def __init__(self, *args: Any, **values: Any) -> None:
        fill(self, args, values)


class MutableDefaulted(Record):
    """A mutable record built from ``_defaults`` and the fields passed: see :func:`fill`."""

    __slots__: tuple[str, ...] = ()
    _defaults: ClassVar[dict[str, object]] = {}

    def __init__(self, *args: Any, **values: Any) -> None:
        fill(self, args, values)


def replace(record: R, **changes: Any) -> R:
    """A copy of ``record`` with the fields named in ``changes`` set to their values."""
    unknown = [n for n in changes if n not in record._fields]
    if unknown:
        raise TypeError(f"{type(record).__name__} has no field {unknown[0]!r}")
    values = (changes[n] if n in changes else getattr(record, n) for n in record._fields)
    return type(record)(*values)
