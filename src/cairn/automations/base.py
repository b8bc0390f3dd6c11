"""The base every automation class derives from: its kind, the store, and its action table."""

from __future__ import annotations

from cairn.automations.contract import ActionSpec, Call, Outcome, collect_actions
from cairn.errors import ActionNotFound, did_you_mean

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from typing import ClassVar

    from cairn.kinds import Kind
    from cairn.store.catalog import Catalog


class Automation:
    """A kind of artifact plus the actions that apply to it."""

    summary: ClassVar[str] = ""
    _table: ClassVar[dict[str, ActionSpec]]

    def __init__(self, kind: Kind, catalog: Catalog) -> None:
        self.kind = kind
        self.catalog = catalog

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._table = collect_actions(cls)

    @classmethod
    def actions(cls) -> dict[str, ActionSpec]:
        """Every action name and alias of this automation, mapped to its spec."""
        return cls._table

    @classmethod
    def spec(cls, name: str, automation: str) -> ActionSpec:
        """The spec of action ``name`` (``-`` read as ``_``), or :class:`ActionNotFound`."""
        found = cls._table.get(name.replace("-", "_"))
        if found is None:
            names = ", ".join(sorted({s.name for s in cls._table.values()}))
            guess = did_you_mean(name.replace("-", "_"), cls._table)
            raise ActionNotFound(
                f"action {name!r} not found in automation {automation!r}{guess}",
                hint=f"its actions are: {names}",
            )
        return found

    def invoke(self, spec: ActionSpec, call: Call) -> Outcome:
        outcome: Outcome = getattr(self, spec.method)(call)
        return outcome
