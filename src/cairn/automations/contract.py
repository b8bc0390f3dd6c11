"""The small typed contract every automation follows.

An automation is a class whose actions are methods marked with :func:`action`. Each
action declares its flags once (:class:`Flag`); the dispatcher converts raw CLI/API values
to the declared types before the action runs, and help text is generated from the same
declarations. An action receives a :class:`Call` and returns an :class:`Outcome`: data for
the dict API plus the lines a console shows. Actions never print.
"""

from __future__ import annotations

from cairn import ids
from cairn.errors import InvalidInput
from cairn.record import FrozenRecord, Record, init

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., "Outcome"])

_TRUE = {"true", "yes", "on", "1", "y"}
_FALSE = {"false", "no", "off", "0", "n", ""}


class Flag(FrozenRecord):
    """One declared input of an action: its name, type, aliases and help."""

    _fields = ("name", "kind", "help", "aliases")
    __slots__ = _fields
    name: str
    kind: str  # "bool", "switch" (bool, or a value), "str", "list" or "dict"
    help: str
    aliases: tuple[str, ...]

    def __init__(self, name: str, kind: str, help: str, aliases: tuple[str, ...] = ()) -> None:
        init(self, name, kind, help, aliases)

    def convert(self, value: Any) -> Any:
        """Convert a raw CLI/API value to this flag's type, or raise naming the flag."""
        converter = _CONVERTERS[self.kind]
        try:
            return converter(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"flag --{self.name}: {exc}") from exc

    @property
    def usage(self) -> str:
        shapes = {"bool": "", "switch": "", "str": "=VALUE", "list": "=A,B", "dict": ".KEY=VALUE"}
        names = ", ".join(_dash(n) for n in (*self.aliases, self.name))
        return f"{names}{shapes[self.kind]}"


def _dash(name: str) -> str:
    return f"-{name}" if len(name) == 1 else f"--{name}"


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and str(value).strip().lower() in _TRUE | _FALSE:
        return str(value).strip().lower() in _TRUE
    raise ValueError(f"expected yes/no, got {value!r}")


def _to_str(value: Any) -> str:
    if isinstance(value, (bool, list, dict)):
        raise ValueError(f"expected a value (--flag=VALUE), got {value!r}")
    return str(value)


def _to_list(value: Any) -> list[str]:
    if isinstance(value, (bool, dict)):
        raise ValueError(f"expected a list (--flag=a,b), got {value!r}")
    if isinstance(value, (int, float)):
        value = str(value)
    return ids.split_list(value)


def _to_dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected keys (--flag.KEY=VALUE), got {value!r}")
    return value


def _to_switch(value: Any) -> bool:
    """A yes/no word as :func:`_to_bool`; any other non-empty value is yes (CM's truthiness)."""
    try:
        return _to_bool(value)
    except ValueError:
        return bool(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "bool": _to_bool,
    "switch": _to_switch,
    "str": _to_str,
    "list": _to_list,
    "dict": _to_dict,
}

# Flags every action accepts; handled by the edges, listed in every help page.
COMMON_FLAGS = (
    Flag("out", "str", "output format: con (default) or json"),
    Flag("debug", "bool", "show a traceback on error"),
    Flag("help", "bool", "show this help", aliases=("h",)),
)
BASIC_OUTPUTS = ("con", "json")
COMMON_NAMES = {n for f in COMMON_FLAGS for n in (f.name, *f.aliases)}
CONTROL_KEYS = {"action", "automation", "artifact", "artifacts", "unparsed_cmd", "cmd"}


class ActionSpec(FrozenRecord):
    """Everything the CLI and help need to know about one action.

    With ``any_flags``, undeclared flags are inputs of the action (e.g. a script's
    ``input_mapping``). ``outputs`` are the ``--out`` formats it offers (``csv`` puts the text
    in the outcome's ``csv`` key).
    """

    _fields = (
        "name",
        "summary",
        "usage",
        "example",
        "aliases",
        "flags",
        "method",
        "any_flags",
        "outputs",
    )
    __slots__ = _fields
    name: str
    summary: str
    usage: str
    example: str
    aliases: tuple[str, ...]
    flags: tuple[Flag, ...]
    method: str
    any_flags: bool
    outputs: tuple[str, ...]

    def __init__(
        self,
        name: str,
        summary: str,
        usage: str,
        example: str,
        aliases: tuple[str, ...] = (),
        flags: tuple[Flag, ...] = (),
        method: str = "",
        any_flags: bool = False,
        outputs: tuple[str, ...] = BASIC_OUTPUTS,
    ) -> None:
        init(self, name, summary, usage, example, aliases, flags, method, any_flags, outputs)

    def check_output(self, out: Any, automation: str) -> None:
        """Refuse an ``--out`` format this action does not offer, before it runs."""
        if out is None or out in self.outputs:
            return
        raise InvalidInput(
            f"--out={out!r} is not offered by {self.name} {automation}",
            hint="use --out=" + " or --out=".join(self.outputs),
        )

    def options(self, raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Convert the declared flags found in ``raw``; also return the unknown keys."""
        by_name = {n: f for f in self.flags for n in (f.name, *f.aliases)}
        opts: dict[str, Any] = {f.name: None for f in self.flags}
        unknown = []
        for key, value in raw.items():
            flag = by_name.get(key)
            if flag is not None:
                opts[flag.name] = flag.convert(value)
            elif not self.any_flags and key not in COMMON_NAMES and key not in CONTROL_KEYS:
                unknown.append(key)
        return opts, unknown


class Call(Record):
    """One invocation of an action: its artifacts, converted flags and raw input.

    ``confirm`` asks a person on a terminal a yes/no question, ``choose`` asks them to pick
    one of several items (``None``: no terminal).
    """

    _fields = ("artifacts", "opts", "raw", "confirm", "choose")
    __slots__ = _fields

    def __init__(
        self,
        artifacts: list[str],
        opts: dict[str, Any],
        raw: dict[str, Any],
        confirm: Callable[[str], bool] | None = None,
        choose: Callable[[list[Any]], int] | None = None,
    ) -> None:
        self.artifacts = artifacts
        self.opts = opts
        self.raw = raw
        self.confirm = confirm
        self.choose = choose

    def flag(self, name: str, default: Any = None) -> Any:
        value = self.opts.get(name)
        return default if value is None else value

    def repeated(self, name: str) -> list[str]:
        """Every value of flag ``name``: repeated on the command line (``--objective=a
        --objective=b``, of which the parsed input keeps the last), else the flag's value
        (a list from the API, or one value)."""
        words = self.raw.get("cmd")
        words = words[: words.index("--")] if isinstance(words, list) and "--" in words else words
        prefix = f"{name}="
        found = [
            w.lstrip("-")[len(prefix) :]
            for w in (words if isinstance(words, list) else [])
            if isinstance(w, str) and w.startswith("-") and w.lstrip("-").startswith(prefix)
        ]
        if len(found) > 1:
            return found
        value = self.opts.get(name)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]


class Outcome(Record):
    """What an action returns: CM-compatible result keys and the console lines.

    ``extra`` is information for the edge only (never printed), e.g. what a replay record
    watches.
    """

    _fields = ("data", "lines", "extra")
    __slots__ = _fields

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        lines: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.data: dict[str, Any] = {} if data is None else data
        self.lines: list[str] = [] if lines is None else lines
        self.extra: dict[str, Any] = {} if extra is None else extra


def action(
    name: str,
    *,
    summary: str,
    usage: str,
    example: str,
    aliases: tuple[str, ...] = (),
    flags: tuple[Flag, ...] = (),
    any_flags: bool = False,
    outputs: tuple[str, ...] = BASIC_OUTPUTS,
) -> Callable[[F], F]:
    """Mark a method ``(self, call: Call) -> Outcome`` as an action with its declared flags."""

    def mark(func: F) -> F:
        spec = ActionSpec(
            name, summary, usage, example, aliases, flags, func.__name__, any_flags, outputs
        )
        func.__cairn_action__ = spec  # type: ignore[attr-defined]
        return func

    return mark


def collect_actions(cls: type) -> dict[str, ActionSpec]:
    """Map every action name and alias of ``cls`` to its spec (checked for clashes)."""
    table: dict[str, ActionSpec] = {}
    for klass in reversed(cls.__mro__):
        for attr in vars(klass).values():
            spec = getattr(attr, "__cairn_action__", None)
            if isinstance(spec, ActionSpec):
                for key in (spec.name, *spec.aliases):
                    table[key] = spec
    return table
