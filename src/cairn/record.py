"""Small typed value records for the start-up path, without :mod:`dataclasses`.

Importing :mod:`dataclasses` pulls in ``inspect``, ``ast``, ``dis`` and ``tokenize``, and each
``@dataclass`` compiles its methods when the class is created: together about 20-40 ms of
every ``cairn find``. The records that every command builds (kinds, names, repositories,
artifacts, action specs) and those of the script engine (which ``cairn run script`` loads
unless a run is replayed) derive from :class:`Record` or :class:`FrozenRecord` instead.

Rules for a record class with a hand-written ``__init__``:

* it lists its fields in ``_fields``, in the order of its ``__init__`` parameters, sets
  ``__slots__ = _fields``, and its ``__init__`` accepts them all positionally (pickling and
  copying rebuild it that way);
* a :class:`FrozenRecord` assigns them with :func:`init` (plain assignment raises, as on a
  frozen dataclass); a :class:`Record` assigns them as usual;
* ``_hidden`` names the fields left out of ``==``, ``hash`` and ``repr`` (e.g. a large meta).

A record with many optional fields derives from :class:`Defaulted` (frozen) or
:class:`MutableDefaulted` (mutable) instead, and is written like a dataclass::

    class Options(Defaulted):
        name: str  # required fields come first
        size: int = 1  # a default, shared by every record: immutable values only
        env: dict[str, str] = field(default_factory=dict)  # a fresh value for each record
        _hidden = frozenset({"env"})  # no annotation: a class constant, not a field

        def __post_init__(self) -> None:  # optional: runs once the fields are set
            if self.size < 0:
                raise ValueError("size < 0")

Rules for such a class (its metaclass raises TypeError when one is broken):

* every annotation in its body is a field, in order, so class constants take none (not
  even ``ClassVar``); its module has ``from __future__ import annotations``;
* it derives from :class:`Defaulted` or :class:`MutableDefaulted` alone (records do not
  inherit fields), and writes no ``__init__``, ``__slots__``, ``_fields`` or ``_defaults``:
  the metaclass makes ``_fields``, ``__slots__``, ``_defaults`` and ``_factories`` from the
  body when the class is created (about a microsecond a field), and :func:`fill` builds
  each record from them.

Type checkers see both bases as :pep:`681` ``dataclass_transform`` bases with :func:`field`
as field specifier, so mypy checks the keywords, types and required fields of every
constructor call, and refuses assignments to a frozen record's fields; the decorator is a
no-op at run time, so ``typing`` stays out of start-up. :func:`replace` copies a record with
some fields changed, like :func:`dataclasses.replace` (unchecked).
"""

from __future__ import annotations

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from collections.abc import Callable, Mapping
    from typing import Any, ClassVar, TypeVar

    from typing_extensions import dataclass_transform  # in typing from Python 3.11

    R = TypeVar("R", bound="Record")
    T = TypeVar("T")
else:

    def dataclass_transform(**_options: object) -> Callable[[type], type]:
        """:pep:`681`'s marker for type checkers; at run time it leaves the class as it is."""
        return _unchanged

    def _unchanged(cls: type) -> type:
        return cls


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


# --- records written like dataclasses -------------------------------------------------------


class _Factory:
    """What :func:`field` gives at run time; the metaclass moves it to ``_factories``."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A field whose default is made by ``default_factory()`` for each record (e.g. ``dict``).

    Type checkers take the call for a value of the field's type (as with
    :func:`dataclasses.field`); the class body really holds a marker for the metaclass.
    """
    return _Factory(default_factory)  # type: ignore[return-value]


class _Shaped(type):
    """The metaclass of :class:`Defaulted` and :class:`MutableDefaulted`: builds each record
    class's ``_fields``, ``__slots__``, ``_defaults`` and ``_factories`` from its body."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> _Shaped:
        roots = [b for b in bases if isinstance(b, _Shaped)]
        if roots:
            if len(bases) > 1 or "_fields" in vars(roots[0]):
                raise TypeError(f"{name} must derive from Defaulted or MutableDefaulted alone")
            _shape(name, namespace)
        return super().__new__(mcs, name, bases, namespace)


def _shape(name: str, namespace: dict[str, Any]) -> None:
    """Replace the annotated fields of a record class body by the names the records use."""
    fields = _field_names(name, namespace)
    defaults: dict[str, object] = {}
    factories: dict[str, Callable[[], object]] = {}
    for field_name in fields:
        if field_name in namespace:
            value = namespace.pop(field_name)
            if value.__class__ is _Factory:
                factories[field_name] = value.make
            else:
                defaults[field_name] = value
    namespace.update(__slots__=fields, _fields=fields, _defaults=defaults, _factories=factories)
    if "__post_init__" in namespace:
        namespace["__init__"] = _init_and_check


def _field_names(name: str, namespace: dict[str, Any]) -> tuple[str, ...]:
    """The fields a record class body annotates; TypeError for a body that would not work."""
    for reserved in ("__slots__", "_fields", "_defaults", "_factories", "__init__"):
        if reserved in namespace:
            raise TypeError(f"{name}: a record's fields come from its annotations, not {reserved}")
    annotations: dict[str, object] = namespace.get("__annotations__", {})
    for field_name, annotation in annotations.items():
        if annotation.__class__ is not str:
            break
        if annotation.startswith("ClassVar"):
            raise TypeError(f"{name}.{field_name}: class constants take no annotation")
    else:
        if annotations:
            return tuple(annotations)
    raise TypeError(
        f"{name}: a record needs annotated fields,"
        " in a module with `from __future__ import annotations`"
    )


def fill(
    record: Defaulted | MutableDefaulted, args: tuple[Any, ...], values: Mapping[str, Any]
) -> None:
    """Set every field of ``record`` from ``args`` (in ``_fields`` order), then ``values`` (by
    name), then its class's ``_defaults`` and ``_factories``; raise TypeError for what a call
    could not pass."""
    fields = record._fields
    if len(args) > len(fields):
        raise TypeError(f"{type(record).__name__} takes {len(fields)} fields, not {len(args)}")
    unknown = [n for n in values if n not in fields or fields.index(n) < len(args)]
    if unknown:
        raise TypeError(f"{type(record).__name__}: unexpected or repeated field {unknown[0]!r}")
    defaults, factories = record._defaults, record._factories
    for i, name in enumerate(fields):
        if i < len(args):
            value = args[i]
        elif name in values:
            value = values[name]
        elif name in defaults:
            value = defaults[name]
        elif name in factories:
            value = factories[name]()
        else:
            raise TypeError(f"{type(record).__name__} needs the field {name!r}")
        _set(record, name, value)


def _init_and_check(record: Defaulted | MutableDefaulted, *args: Any, **values: Any) -> None:
    """The ``__init__`` of a record class that defines ``__post_init__``."""
    fill(record, args, values)
    record.__post_init__()


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Defaulted(FrozenRecord, metaclass=_Shaped):
    """A frozen record written like a dataclass: see the module's docstring and :func:`fill`."""

    __slots__: tuple[str, ...] = ()
    _defaults: ClassVar[dict[str, object]] = {}
    _factories: ClassVar[dict[str, Callable[[], object]]] = {}

    def __init__(self, *args: Any, **values: Any) -> None:
        fill(self, args, values)

    def __post_init__(self) -> None:
        """Called once the fields are set, when a record class defines it (to check them)."""


@dataclass_transform(field_specifiers=(field,))
class MutableDefaulted(Record, metaclass=_Shaped):
    """A mutable record written like a dataclass: see the module's docstring and :func:`fill`."""

    __slots__: tuple[str, ...] = ()
    _defaults: ClassVar[dict[str, object]] = {}
    _factories: ClassVar[dict[str, Callable[[], object]]] = {}

    def __init__(self, *args: Any, **values: Any) -> None:
        fill(self, args, values)

    def __post_init__(self) -> None:
        """Called once the fields are set, when a record class defines it (to check them)."""


def replace(record: R, **changes: Any) -> R:
    """A copy of ``record`` with the fields named in ``changes`` set to their values."""
    unknown = [n for n in changes if n not in record._fields]
    if unknown:
        raise TypeError(f"{type(record).__name__} has no field {unknown[0]!r}")
    values = (changes[n] if n in changes else getattr(record, n) for n in record._fields)
    return type(record)(*values)
