"""Filters and sort orders over flat result rows, written as short declarative expressions.

A result row is a flat dict from keys to text, numbers, booleans or None (a key whose value is
None counts as missing). Nothing here evaluates Python: expressions are parsed by the small
scanner below into :class:`Filter` and :class:`Sort` records, which print themselves back.

Filter grammar::

    filter    := condition { "and" condition }    "and" in any case, with spaces around it
    condition := key op value                      compare the row's value with value
               | key                               the key is present and truthy
               | "!" key                           the key is absent or falsy
    op        := ">=" | "<=" | ">" | "<" | "==" | "=" | "!=" | "~" | "!~" | "in"
    key       := [A-Za-z0-9_./-]+ | quoted
    value     := quoted | bare
    quoted    := '"' ... '"'                       a backslash keeps the next character as is
    bare      := the text up to the next " and " (or the end), without its surrounding spaces;
                 it does not start with '"', an operator character (< > = ! ~) or the word "and"

Spaces around an operator are optional, except that ``in`` stands between spaces (or quotes);
``in`` and ``and`` may be written in any case. A key with characters other than those above,
and a value with a " and " in it, are quoted. The choices of ``in`` lose their outer spaces.

Meaning of each operator, for a row whose value is ``v`` and a written value ``w``:

* ``==`` (also ``=``) and ``!=``: when both read as numbers (see :func:`number`) they are
  compared as numbers (``76.50 == 76.5``), else as text (case-sensitive); booleans read as
  the text ``true``/``false``, never as numbers.
* ``>=``, ``<=``, ``>``, ``<``: as numbers when both read as numbers, else as text (by code
  point: ``Z`` < ``a``).
* ``~`` and ``!~``: ``w`` is, or is not, in the text of ``v``, ignoring case.
* ``in``: ``w`` is a list of choices separated by ``|`` (``Model in resnet50|bert-99``); the
  row matches when ``v == choice`` for one of them. A choice cannot contain ``|``.
* ``KEY`` alone: present and truthy; ``!KEY`` is the opposite. Falsy are None, the boolean
  False, a number equal to zero (``0``, ``"0.0"``), blank text and the text ``false`` in any
  case; anything else (``"no"`` too) is truthy.

A row without the key (or with None) fails every condition except ``!KEY`` and ``!=``.
``str(filter)`` prints the canonical form: ``=`` as ``==``, ``and`` in lower case, one space
around each operator, quotes only where needed; it parses back to an equal filter.

Sort grammar: ``sort := item { "," item }``, ``item := ["-" | "+"] key``; ``-`` sorts that key
in descending order (``-Result,Model``). Each key sorts numbers (in numeric order) before
text (by code point), and rows without the key last, in both directions; the sort is stable.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from cairn.errors import InvalidInput
from cairn.record import Defaulted

Row = TypeVar("Row", bound=Mapping[str, Any])

OPERATORS = (">=", "<=", ">", "<", "==", "!=", "~", "!~", "in")
"""The comparison operators, in their canonical spelling (``=`` is read as ``==``)."""
PRESENT, ABSENT = "", "!"
"""The pseudo-operators of a bare ``KEY`` and of ``!KEY``."""

_BARE_KEY = re.compile(r"[A-Za-z0-9_./-]+")
_OPERATOR = re.compile(r">=|<=|==|!=|!~|=|>|<|~|in(?=[\s\"]|$)", re.IGNORECASE)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_AND_WORD = re.compile(r"and(?=\s|$)", re.IGNORECASE)
_AND_INSIDE = re.compile(r"\s+and(?=\s|$)", re.IGNORECASE)
_OPERATOR_CHARS = "<>=!~"
_FALSE_TEXT = "false"

FILTER_HINT = (
    "a condition is KEY OP VALUE (OP: >= <= > < == != ~ !~ in), KEY or !KEY, and conditions are"
    ' joined by the word and; quote other keys and values: "my key" ~ "a and b"'
)
SORT_HINT = 'write KEY,-KEY,... (a leading - sorts descending); quote other keys: "my key"'


# --- values -------------------------------------------------------------------------------


def number(value: Any) -> float | None:
    """The value as a finite number, or None: ints and floats, and text that reads as one
    (``"76.5"``, ``" 1e3 "``); never a boolean, NaN, an infinity or text with ``_``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        if "_" in value:
            return None
        try:
            result = float(value)
        except ValueError:
            return None
    elif isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def text(value: Any) -> str:
    """The text of a row value: booleans as ``true``/``false``, numbers as Python prints them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def truthy(value: Any) -> bool:
    """Present and not falsy (None, false, a zero number, blank text, the text ``false``)."""
    if value is None or value is False:
        return False
    as_number = number(value)
    if as_number is not None:
        return as_number != 0
    shown = text(value).strip()
    return bool(shown) and shown.lower() != _FALSE_TEXT


def quote(raw: str) -> str:
    """``raw`` in double quotes, with ``\\`` and ``"`` escaped by a backslash."""
    return '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _shown_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else quote(key)


def _bare_problem(value: str) -> str:
    """Why ``value`` cannot be written without quotes ("" when it can)."""
    if not value:
        return "expected a value"
    if value != value.strip():
        return "a value has no spaces around it"
    if value[0] == '"' or value[0] in _OPERATOR_CHARS:
        return f"a value cannot start with {value[0]!r} unless it is quoted"
    if _AND_WORD.match(value) or _AND_INSIDE.search(value):
        return "a value with the word 'and' in it is quoted"
    return ""


def _shown_value(value: str) -> str:
    return quote(value) if _bare_problem(value) else value


# --- conditions ---------------------------------------------------------------------------


class Condition(Defaulted):
    """One condition: ``key``, an operator of :data:`OPERATORS` (or :data:`PRESENT`,
    :data:`ABSENT`) and the written values (one, several for ``in``, none for the others)."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.op in (PRESENT, ABSENT):
            fits = not self.values
        elif self.op in OPERATORS:
            fits = len(self.values) == 1 or (self.op == "in" and len(self.values) > 1)
        else:
            raise InvalidInput(f"unknown filter operator {self.op!r}", hint=FILTER_HINT)
        if not fits:
            raise InvalidInput(
                f"the operator {self.op!r} cannot take the values {self.values!r}",
                hint=FILTER_HINT,
            )

    def __str__(self) -> str:
        if self.op == PRESENT:
            return _shown_key(self.key)
        if self.op == ABSENT:
            return "!" + _shown_key(self.key)
        return f"{_shown_key(self.key)} {self.op} {_shown_value('|'.join(self.values))}"

    def matches(self, row: Mapping[str, Any]) -> bool:
        value = row.get(self.key)
        if self.op == PRESENT:
            return truthy(value)
        if self.op == ABSENT:
            return not truthy(value)
        if value is None:
            return self.op == "!="
        return _TESTS[self.op](self.values, value)


def _equal(value: Any, written: str) -> bool:
    written_number = number(written)
    if written_number is not None:
        as_number = number(value)
        if as_number is not None:
            return as_number == written_number
    return text(value) == written


def _is(values: tuple[str, ...], value: Any) -> bool:
    return _equal(value, values[0])


def _is_not(values: tuple[str, ...], value: Any) -> bool:
    return not _equal(value, values[0])


def _is_in(values: tuple[str, ...], value: Any) -> bool:
    return any(_equal(value, written) for written in values)


def _contains(values: tuple[str, ...], value: Any) -> bool:
    return values[0].casefold() in text(value).casefold()


def _lacks(values: tuple[str, ...], value: Any) -> bool:
    return not _contains(values, value)


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[tuple[str, ...], Any], bool]:
    def test(values: tuple[str, ...], value: Any) -> bool:
        written_number = number(values[0])
        as_number = None if written_number is None else number(value)
        if as_number is not None:
            return compare(as_number, written_number)
        return compare(text(value), values[0])

    return test


_TESTS: dict[str, Callable[[tuple[str, ...], Any], bool]] = {
    "==": _is,
    "!=": _is_not,
    "in": _is_in,
    "~": _contains,
    "!~": _lacks,
    ">=": _ordered(operator.ge),
    "<=": _ordered(operator.le),
    ">": _ordered(operator.gt),
    "<": _ordered(operator.lt),
}


# --- the scanner --------------------------------------------------------------------------


class _Scanner:
    """Reads one expression left to right; :meth:`fail` says where it broke."""

    def __init__(self, source: str, what: str, hint: str) -> None:
        if not isinstance(source, str):
            raise InvalidInput(f"{what} {source!r} is not text", hint=hint)
        self.text = source
        self.pos = 0
        self.what = what
        self.hint = hint

    def fail(self, problem: str, at: int | None = None) -> InvalidInput:
        at = self.pos if at is None else at
        rest = self.text[at:]
        shown = f"at {rest if len(rest) <= 20 else rest[:19] + '…'!r}" if rest else "at the end"
        message = f"{self.what} {self.text!r}, column {at + 1}: {problem} ({shown})"
        return InvalidInput(message, hint=self.hint)

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def at_and(self) -> bool:
        """At the word ``and`` between conditions (a space before it, a space or the end after)."""
        spaced = self.pos > 0 and self.text[self.pos - 1].isspace()
        return spaced and _AND_WORD.match(self.text, self.pos) is not None

    def quoted(self) -> str:
        found = _QUOTED.match(self.text, self.pos)
        if found is None:
            raise self.fail("this quote is not closed")
        self.pos = found.end()
        return _ESCAPED.sub(r"\1", found.group(1))

    def key(self) -> str:
        if self.peek() == '"':
            return self.quoted()
        found = _BARE_KEY.match(self.text, self.pos)
        if found is None:
            raise self.fail("expected a key")
        self.pos = found.end()
        return found.group()

    def operator(self) -> str | None:
        found = _OPERATOR.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        op = found.group().lower()
        return "==" if op == "=" else op

    def bare_value(self) -> str:
        start = self.pos
        end = _AND_INSIDE.search(self.text, start)
        raw = self.text[start : end.start() if end else len(self.text)].rstrip()
        problem = _bare_problem(raw)
        if problem:
            raise self.fail(problem, at=start)
        self.pos = start + len(raw)
        return raw


# --- filters ------------------------------------------------------------------------------


def _condition(scan: _Scanner) -> Condition:
    if scan.peek() == "!":
        scan.pos += 1
        return Condition(scan.key(), ABSENT)
    key = scan.key()
    scan.skip_spaces()
    op = scan.operator()
    if op is None:
        if not (scan.at_end() or scan.at_and()):
            raise scan.fail(f"expected an operator or 'and' after the key {key!r}")
        return Condition(key, PRESENT)
    scan.skip_spaces()
    return Condition(key, op, _values(scan, op))


def _values(scan: _Scanner, op: str) -> tuple[str, ...]:
    start = scan.pos
    if scan.at_end():
        raise scan.fail(f"expected a value after {op!r}")
    written = scan.quoted() if scan.peek() == '"' else scan.bare_value()
    if op != "in":
        return (written,)
    choices = tuple(choice.strip() for choice in written.split("|"))
    if not all(choices):
        raise scan.fail("an empty choice in 'in' (write A|B|C)", at=start)
    return choices


def _conditions(scan: _Scanner) -> list[Condition]:
    conditions: list[Condition] = []
    while True:
        scan.skip_spaces()
        conditions.append(_condition(scan))
        scan.skip_spaces()
        if scan.at_end():
            return conditions
        if not scan.at_and():
            raise scan.fail("expected 'and' between two conditions")
        scan.pos += len("and")
        scan.skip_spaces()
        if scan.at_end():
            raise scan.fail("expected a condition after 'and'")


class Filter(Defaulted):
    """Conditions that must all hold (no conditions: every row matches)."""

    conditions: tuple[Condition, ...] = ()

    @classmethod
    def parse(cls, source: str) -> Filter:
        """Parse one filter expression (see the module's grammar)."""
        scan = _Scanner(source, "filter", FILTER_HINT)
        if not source.strip():
            raise scan.fail("expected at least one condition")
        return cls(conditions=tuple(_conditions(scan)))

    @classmethod
    def parse_all(cls, sources: Iterable[str]) -> Filter:
        """Several filter expressions that must all hold (e.g. one per ``--filter``)."""
        if isinstance(sources, str):
            sources = [sources]
        return cls(conditions=tuple(c for s in sources for c in cls.parse(s).conditions))

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys the filter reads, each once, in order."""
        return tuple(dict.fromkeys(c.key for c in self.conditions))

    def matches(self, row: Mapping[str, Any]) -> bool:
        return all(c.matches(row) for c in self.conditions)

    def __str__(self) -> str:
        return " and ".join(str(c) for c in self.conditions)


# --- sorting ------------------------------------------------------------------------------


class SortKey(Defaulted):
    """One key of a sort order."""

    key: str
    descending: bool = False

    def __str__(self) -> str:
        return ("-" if self.descending else "") + _shown_key(self.key)

    def rank(self, row: Mapping[str, Any]) -> tuple[int, Any]:
        """The sort key of ``row``: numbers, then text, then missing (reversed when descending,
        so that missing rows stay last and numbers first)."""
        value = row.get(self.key)
        if value is None:
            return (0 if self.descending else 2, 0)
        as_number = number(value)
        if as_number is not None:
            return (2 if self.descending else 0, as_number)
        return (1, text(value))


class Sort(Defaulted):
    """A sort order: rows by the first key, ties by the next, and so on."""

    by: tuple[SortKey, ...] = ()

    @classmethod
    def parse(cls, source: str) -> Sort:
        """Parse ``-Result,Model`` (see the module's grammar)."""
        scan = _Scanner(source, "sort", SORT_HINT)
        keys: list[SortKey] = []
        while True:
            scan.skip_spaces()
            sign = scan.peek()
            if sign in ("-", "+"):
                scan.pos += 1
            keys.append(SortKey(key=scan.key(), descending=sign == "-"))
            scan.skip_spaces()
            if scan.at_end():
                return cls(by=tuple(keys))
            if scan.peek() != ",":
                raise scan.fail("expected ',' between two keys")
            scan.pos += 1

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k.key for k in self.by))

    def apply(self, rows: Iterable[Row]) -> list[Row]:
        """The rows in this order (a new list; rows with equal keys keep their order)."""
        ordered = list(rows)
        for key in reversed(self.by):
            ordered.sort(key=key.rank, reverse=key.descending)
        return ordered

    def __str__(self) -> str:
        return ",".join(str(k) for k in self.by)
