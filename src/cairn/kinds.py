"""Automation kinds: the alias and uid that name a kind of artifact (``script``, ``cache``...).

The uids of CM's built-in automations are kept so that existing repositories match.
A kind cairn does not know (``dataset``, ``model``...) is just an alias with no uid.
"""

from __future__ import annotations

from cairn import ids
from cairn.errors import InvalidName
from cairn.record import FrozenRecord, init


class Kind(FrozenRecord):
    _fields = ("alias", "uid")
    __slots__ = _fields
    alias: str
    uid: str | None

    def __init__(self, alias: str, uid: str | None = None) -> None:
        init(self, alias, uid)

    def __str__(self) -> str:
        return f"{self.alias},{self.uid}" if self.uid else self.alias

    def owns(self, automation_alias: str | None, automation_uid: str | None) -> bool:
        """Whether an artifact whose meta names this automation belongs to this kind."""
        if self.uid and automation_uid:
            return automation_uid.lower() == self.uid
        return automation_alias is not None and automation_alias.lower() == self.alias.lower()


KNOWN: dict[str, Kind] = {
    k.alias: k
    for k in (
        Kind("automation", "bbeb15d8f0a944a4"),
        Kind("repo", "55c3e27e8a140e48"),
        Kind("script", "5b4e0237da074764"),
        Kind("cache", "541d6f712a6b464e"),
        Kind("experiment", "a0a2d123ef064bcb"),
        Kind("run", "c41f5e2a9b7d3086"),
    )
}
_BY_UID = {k.uid: k for k in KNOWN.values() if k.uid}


def resolve(name: str) -> Kind:
    """The kind named by ``name`` (``alias``, ``uid`` or ``alias,uid``)."""
    part = ids.parse_part(name, patterns=False, what="automation")
    if part.uid and part.uid in _BY_UID:
        return _BY_UID[part.uid]
    if part.alias is None:
        raise InvalidName(f"unknown automation uid {part.uid}", hint="name it by its alias")
    known = KNOWN.get(part.alias.lower())
    if known is not None:
        if part.uid is not None and part.uid != known.uid:
            raise InvalidName(
                f"automation {name!r}: {known.alias!r} has uid {known.uid}, not {part.uid}",
                hint=f"write {known.alias} or {known}",
            )
        return known
    return Kind(part.alias, part.uid)
