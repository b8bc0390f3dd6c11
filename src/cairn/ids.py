"""Names, uids, identifiers and tag queries: the selector grammar, parsed in one place.

Grammar (compatible with CM's ``parse_cm_object`` and tag lists)::

    identifier := [ part ":" ] part          a repository part, then the artifact part
    part       := alias | uid | alias "," uid | uid "," alias
    alias      := [A-Za-z0-9_] [A-Za-z0-9_.@+-]*     (no "/", "\\", "..", ":", ",", spaces)
    uid        := 16 hex digits                       (stored lowercase)
    pattern    := alias with "*" and "?" wildcards    (queries only)
    tags       := tag { "," tag }                     ("-tag" excludes, the others must all match)

Every parsed value prints itself back with ``str()`` in the same grammar.

The ``alias`` rule is the strict one, for names cairn creates (new artifacts and
repositories, renames, copies). Reading accepts any name CM accepts in a meta file or
folder name (``alias: Grigori Fursin``), so looking artifacts up uses the loose rule::

    name       := any text without "/", "\\", control characters, ":" or ","
                  (not "." or ".."; at most 200 characters; in a meta file ":" and ","
                  are allowed too, though such a name can be found only by a pattern)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase

from cairn.errors import InvalidName
from cairn.record import FrozenRecord, init

UID_LENGTH = 16
_HEX_DIGITS = "0123456789abcdefABCDEF"
# Compiled on first use (and kept in `re`'s cache): most commands need one of them at most.
_ALIAS = r"[A-Za-z0-9_][A-Za-z0-9_.@+-]*"
_PATTERN = r"[A-Za-z0-9_*?][A-Za-z0-9_.@+*?-]*"
_MAX_ALIAS = 200


def new_uid() -> str:
    """Return a fresh uid: 16 lowercase hex digits (64 random bits)."""
    import secrets  # imported on first use: it costs start-up time

    return secrets.token_hex(UID_LENGTH // 2)


def is_uid(text: str) -> bool:
    """Tell whether ``text`` is a uid (16 hex digits, either case)."""
    return len(text) == UID_LENGTH and not text.strip(_HEX_DIGITS)


def has_wildcards(text: str) -> bool:
    return "*" in text or "?" in text


def check_alias(alias: str, what: str = "alias") -> str:
    """Return ``alias`` if it is a safe directory name, else raise :class:`InvalidName`."""
    if not alias:
        raise InvalidName(f"empty {what}")
    if len(alias) > _MAX_ALIAS:
        raise InvalidName(f"{what} {alias[:40]!r}... is longer than {_MAX_ALIAS} characters")
    if ".." in alias or not re.fullmatch(_ALIAS, alias):
        raise InvalidName(
            f"unsafe {what} {alias!r}",
            hint="use letters, digits and _ . @ + - only, no '/', '..', ':', ',' or spaces",
        )
    return alias


def check_name(name: str, what: str = "alias", *, separators: bool = True) -> str:
    """Return ``name`` if a folder could be called so (the loose rule reading accepts: any
    text without a path separator or control character), else raise :class:`InvalidName`.

    With ``separators`` false (a name in a query), ``:`` and ``,`` are refused too: they
    separate the parts of an identifier."""
    if not name:
        raise InvalidName(f"empty {what}")
    if len(name) > _MAX_ALIAS:
        raise InvalidName(f"{what} {name[:40]!r}... is longer than {_MAX_ALIAS} characters")
    bad = "/\\" if separators else "/\\:,"
    if name in (".", "..") or any(c in bad or not c.isprintable() for c in name):
        raise InvalidName(
            f"unreadable {what} {name!r}",
            hint="a name has no '/', '\\' or control characters and is not '.' or '..'",
        )
    return name


def check_uid(uid: str, what: str = "uid") -> str:
    """Return ``uid`` lowercased if it is 16 hex digits, else raise :class:`InvalidName`."""
    if not is_uid(uid):
        raise InvalidName(f"invalid {what} {uid!r}", hint="a uid is 16 hexadecimal digits")
    return uid.lower()


class NamePart(FrozenRecord):
    """One side of an identifier: an alias (or alias pattern), a uid, or both."""

    _fields = ("alias", "uid")
    __slots__ = _fields
    alias: str | None
    uid: str | None

    def __init__(self, alias: str | None = None, uid: str | None = None) -> None:
        init(self, alias, uid)

    def __str__(self) -> str:
        return ",".join(x for x in (self.alias, self.uid) if x)

    @property
    def is_pattern(self) -> bool:
        return self.uid is None and self.alias is not None and has_wildcards(self.alias)

    def matches(self, alias: str | None, uid: str | None) -> bool:
        """CM's rule: compare uids when both sides have one, else aliases (case-insensitive).

        A query with only a uid never matches an object without one (CM's ``more_strict``);
        a query ``alias,uid`` falls back to its alias for an object that has no uid.
        """
        if self.uid is not None and uid is not None:
            return uid.lower() == self.uid.lower()
        if self.alias is None:
            return self.uid is None
        if alias is None:
            return False
        return fnmatchcase(alias.lower(), self.alias.lower())


class Identifier(FrozenRecord):
    """A parsed ``[repo:]name`` identifier. Either side may be empty (matches anything)."""

    _fields = ("name", "repo")
    __slots__ = _fields
    name: NamePart
    repo: NamePart | None

    def __init__(self, name: NamePart, repo: NamePart | None = None) -> None:
        init(self, name, repo)

    def __str__(self) -> str:
        return f"{self.repo}:{self.name}" if self.repo else str(self.name)


def parse_part(text: str, *, patterns: bool, what: str, strict: bool = True) -> NamePart:
    """Parse ``alias``, ``uid``, ``alias,uid`` or ``uid,alias``; aliases by the strict rule,
    or with ``strict`` false by the loose one reading accepts (``Grigori Fursin``)."""
    pieces = [p.strip() for p in text.split(",")]
    if len(pieces) > 2 or any(not p for p in pieces):
        raise InvalidName(
            f"{what} {text!r} is not recognized", hint="write ALIAS, UID or ALIAS,UID"
        )
    uids = [p for p in pieces if is_uid(p)]
    aliases = [p for p in pieces if not is_uid(p)]
    if len(pieces) == 2 and len(uids) != 1:
        if len(uids) == 2:
            return NamePart(alias=pieces[0], uid=check_uid(pieces[1]))
        raise InvalidName(f"{what} {text!r} has two aliases", hint="write ALIAS,UID")
    alias = aliases[0] if aliases else None
    if alias is not None:
        _check_alias_or_pattern(alias, patterns=patterns, what=what, strict=strict)
    return NamePart(alias=alias, uid=uids[0].lower() if uids else None)


def _check_alias_or_pattern(alias: str, *, patterns: bool, what: str, strict: bool) -> None:
    if not strict:
        check_name(alias, what, separators=False)
        return
    if patterns and has_wildcards(alias):
        if ".." in alias or not re.fullmatch(_PATTERN, alias):
            raise InvalidName(f"unsafe {what} pattern {alias!r}")
        return
    check_alias(alias, what)


def parse_identifier(text: str, *, patterns: bool = True, strict: bool = True) -> Identifier:
    """Parse ``[repo:]name``; wildcards are allowed only when ``patterns`` is true, and with
    ``strict`` false names follow the loose rule of reading (``Grigori Fursin``)."""
    text = text.strip()
    sides = text.split(":")
    if len(sides) > 2:
        raise InvalidName(f"identifier {text!r} is not recognized", hint="write [REPO:]NAME")
    repo = None
    if len(sides) == 2:
        repo = (
            parse_part(sides[0], patterns=patterns, what="repository", strict=strict)
            if sides[0]
            else None
        )
        text = sides[1]
    name = parse_part(text, patterns=patterns, what="name", strict=strict) if text else NamePart()
    return Identifier(name=name, repo=repo)


class TagQuery(FrozenRecord):
    """Tags that must all be present, and tags that must all be absent."""

    _fields = ("include", "exclude")
    __slots__ = _fields
    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def __init__(self, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> None:
        init(self, include, exclude)

    def __str__(self) -> str:
        return ",".join([*self.include, *(f"-{t}" for t in self.exclude)])

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def matches(self, tags: Iterable[str]) -> bool:
        have = set(tags)
        return all(t in have for t in self.include) and not any(t in have for t in self.exclude)


def split_list(value: str | Iterable[str]) -> list[str]:
    """Split a CLI list (``a,b``) or pass a list through; empty items are dropped."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(i).strip() for i in items if str(i).strip()]


def parse_tags(value: str | Iterable[str] | None) -> TagQuery:
    """Parse ``a,b,-c`` (or a list of such items) into a :class:`TagQuery`."""
    if value is None:
        return TagQuery()
    include: list[str] = []
    exclude: list[str] = []
    for tag in split_list(value):
        target, name = (exclude, tag[1:]) if tag.startswith("-") else (include, tag)
        if not name:
            raise InvalidName(f"empty tag in {value!r}")
        if "," in name or any(c.isspace() for c in name):
            raise InvalidName(f"invalid tag {name!r}", hint="tags have no commas or spaces")
        if name not in target:
            target.append(name)
    return TagQuery(tuple(include), tuple(exclude))
