"""Small typed value records for the start-up path, without :mod:`dataclasses`.

Importing :mod:`dataclasses` pulls in ``inspect``, ``ast``, ``dis`` and ``tokenize``, and each
``@dataclass`` compiles its methods when the class is created: together about 20-40 ms of
every ``cairn find``. The records that every command builds (kinds, names, repositories,
artifacts, action specs) derive from :class:`Record` or :class:`FrozenRecord` instead.

Rules for a record class:

* it lists its fields in ``_fields``, in the order of its ``__init__`` parameters, sets
  ``__slots__ = _fields``, and its ``__init__`` accepts them all positionally (pickling and
  copying rebuild it that way);
* a :class:`FrozenRecord` assigns them with :func:`init` (plain assignment raises, as on a
  frozen dataclass); a :class:`Record` assigns them as usual;
* ``_hidden`` names the fields left out of ``==``, ``hash`` and ``repr`` (e.g. a large meta).

``==`` compares records of the same class field by field; a frozen record hashes the same
fields; ``repr`` reads ``Name(field=value, ...)``, like a dataclass's.
"""

from __future__ import annotations

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from typing import Any, ClassVar


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
