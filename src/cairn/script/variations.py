"""Variation resolution (cm-script.md §1.4-§1.5): which variations are on, why, and in what order.

A request names variations with tags::

    _v            switch variation v on
    -_v  or  _-v  exclude v: it may not be added as a default, base or default_variations choice
    _name.value   the dynamic variation ``name.#``; every "#" in its payload becomes "value"

:func:`resolve` is pure and deterministic. It follows CM's algorithm step by step:

1. the explicit variations, in request order (a repeated tag counts once);
2. the alias targets of the explicit variations, appended;
3. with no variation tag at all (not even an exclusion), the script's ``default_variation``;
4. expansion: walking the list (which grows as it goes), each variation appends its ``base``
   variations and its ``default_variations`` choices, and each combined key ``a,b`` whose parts
   are all on appends its ``default_variations`` choices. As in CM, a ``default_variations``
   choice is skipped when its group already had a member *when the expansion started*;
5. group defaults: each group with no member on gets its ``default`` (unless excluded); if one
   was added, step 4 runs again;
6. at most one variation per group (checked on the final list; CM checks before step 5's second
   expansion only), then ``valid_variation_combinations``/``invalid_variation_combinations``;
7. the application order: each variation's payload in list order, each one followed by every
   combined variation whose parts are all on (fewer parts first, so larger combinations win).

Consequence kept from CM: variations appended later (bases, defaults) override the env of
earlier ones, so ``_a`` with base ``b`` whose ``default_variations`` picks ``small`` ends with
``small``'s value for a key all three set. :meth:`Resolution.explain` shows why each is on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NoReturn, TypeVar, cast

from cairn.errors import InvalidInput
from cairn.record import Defaulted, Record, replace
from cairn.script.model import Payload, ScriptMeta, Variation

_REASONS = {
    "explicit": "explicit",
    "alias": "alias of _{}",
    "base": "base of _{}",
    "group_default": "default of group {}",
    "default_variations": "default_variations of _{}",
    "default_variation": "default_variation",
}


class Reason(Defaulted):
    """Why a variation is on: ``kind`` (a key of the table above) and who caused it."""

    kind: str
    source: str = ""

    def __str__(self) -> str:
        return _REASONS[self.kind].format(self.source)


class Group(Defaulted):
    """A variation group: its members (variation names, in meta order) and its default."""

    name: str
    members: tuple[str, ...]
    default: str | None = None


class Step(Defaulted):
    """One payload to apply: a variation as it is on (``bs.16``) or a combined key (``a,gpu``)."""

    tag: str
    variation: Variation
    payload: Payload

    @property
    def combined(self) -> bool:
        return self.variation.is_combined


class Resolution(Defaulted):
    """The outcome of :func:`resolve`."""

    script: str
    explicit: tuple[str, ...]
    """The variations the request named, in request order (CM's cache uses these)."""
    excluded: tuple[str, ...]
    variations: tuple[str, ...]
    """Every variation that is on, in CM's order (dynamic ones with their value: ``bs.16``)."""
    reasons: Mapping[str, Reason]
    steps: tuple[Step, ...]
    """The payloads to apply, in order (combined ones repeated after each variation, as CM)."""
    group_of: Mapping[str, str]
    """The group of each variation that is on and has one."""

    @property
    def tags(self) -> tuple[str, ...]:
        """The variations as tags: ``("_a", "_b")``."""
        return tuple(f"_{v}" for v in self.variations)

    @property
    def tags_string(self) -> str:
        """CM's ``variation_tags_string`` (``_a,_b``), passed on by ``inherit_variation_tags``."""
        return ",".join(self.tags)

    def explain(self) -> str:
        """One line per variation: the tag and why it is on; exclusions last."""
        rows = [(f"_{v}", str(self.reasons[v])) for v in self.variations]
        rows += [(f"-_{v}", "excluded by the request") for v in self.excluded]
        if not rows:
            return f"script {self.script}: no variations"
        width = max(len(tag) for tag, _ in rows)
        return "\n".join(f"{tag:<{width}}  {why}" for tag, why in rows)

    def __str__(self) -> str:
        return self.explain()


# --- lookups ---------------------------------------------------------------------------------


def find_variation(meta: ScriptMeta, name: str) -> tuple[Variation, str | None] | None:
    """The variation that ``name`` (without ``_``) selects, and its dynamic value if any.

    A plain name selects itself; ``bs.16`` selects the dynamic ``bs.#`` with value ``16`` (the
    longest matching prefix wins). Combined keys cannot be requested.
    """
    exact = meta.variations.get(name)
    if exact is not None and not exact.is_combined and not exact.is_dynamic:
        return exact, None
    patterns = [v for v in meta.variations.values() if _selects(v, name)]
    if not patterns:
        return None
    best = max(patterns, key=lambda v: len(v.prefix))
    return best, name[len(best.prefix) :]


def _selects(variation: Variation, name: str) -> bool:
    prefix = variation.prefix
    return variation.is_dynamic and name.startswith(prefix) and len(name) > len(prefix)


def variation_groups(meta: ScriptMeta) -> dict[str, Group]:
    """The groups of ``meta``, in meta order. Two defaults in one group are an error."""
    members: dict[str, list[str]] = {}
    defaults: dict[str, str] = {}
    for variation in meta.variations.values():
        if variation.group is None:
            continue
        members.setdefault(variation.group, []).append(variation.name)
        if variation.default:
            _check_one_default(meta, variation, defaults.get(variation.group))
            defaults[variation.group] = variation.name
    return {g: Group(g, tuple(m), defaults.get(g)) for g, m in members.items()}


def _check_one_default(meta: ScriptMeta, variation: Variation, other: str | None) -> None:
    if other is not None:
        _fail(
            meta.display_name,
            f"group '{variation.group}' has two defaults: _{other} and _{variation.name}",
            hint="keep 'default: true' on one of them",
        )


def combined_variations(meta: ScriptMeta) -> list[Variation]:
    """The combined keys ``a,b`` of ``meta``, fewer parts first (meta order among equals)."""
    combined = [v for v in meta.variations.values() if v.is_combined]
    return sorted(combined, key=lambda v: len(v.parts))


# --- dynamic values --------------------------------------------------------------------------

_T = TypeVar("_T")


def with_value(payload: Payload, value: str) -> Payload:
    """``payload`` with every "#" in its string values (at any depth) replaced by ``value``.

    Mapping keys are kept as they are, and so are non-string values.
    """
    return _substitute(payload, value)


def _substitute(item: _T, value: str) -> _T:
    result: object = item
    if isinstance(item, str):
        result = item.replace("#", value)
    elif isinstance(item, list | tuple):
        result = type(item)(_substitute(x, value) for x in item)
    elif isinstance(item, Mapping):
        result = {k: _substitute(v, value) for k, v in item.items()}
    elif isinstance(item, Record):
        changes = {n: _substitute(getattr(item, n), value) for n in item._fields}
        result = replace(item, **changes)
    return cast(_T, result)


# --- resolution ------------------------------------------------------------------------------


def resolve(meta: ScriptMeta, tags: Iterable[str]) -> Resolution:
    """Resolve the variation tags of a request (``_a``, ``-_b``, ``_bs.16``) against ``meta``.

    Raises :class:`~cairn.errors.InvalidInput` naming the script for an unknown variation, two
    variations of one group, an excluded base, a broken ``default_variations``/``alias``/``base``
    reference, two defaults in a group, or a failed combination rule.
    """
    resolver = _Resolver(meta)
    explicit, excluded = resolver.read_request(tags)
    resolver.excluded = excluded
    for name in explicit:
        resolver.add(name, Reason("explicit"))
    resolver.add_aliases(explicit)
    if not explicit and not excluded:
        resolver.add_default_variation()
    resolver.expand()
    if resolver.add_group_defaults():
        resolver.expand()
    resolver.check_groups()
    resolver.check_combinations()
    return resolver.result(explicit)


def _fail(script: str, message: str, hint: str = "") -> NoReturn:
    raise InvalidInput(f"script {script}: {message}", hint=hint)


class _Resolver:
    """The working state of one :func:`resolve` call."""

    def __init__(self, meta: ScriptMeta) -> None:
        self.meta = meta
        self.script = meta.display_name
        self.groups = variation_groups(meta)
        self.combined = combined_variations(meta)
        self.excluded: tuple[str, ...] = ()
        self.on: list[str] = []
        self.why: dict[str, Reason] = {}

    def fail(self, message: str, hint: str = "") -> NoReturn:
        _fail(self.script, message, hint)

    def add(self, name: str, reason: Reason) -> bool:
        """Switch ``name`` on (once); tell whether it was new."""
        if name in self.on:
            return False
        self.on.append(name)
        self.why[name] = reason
        return True

    def lookup(self, name: str) -> tuple[Variation, str | None]:
        found = find_variation(self.meta, name)
        if found is None:
            self.fail(f"unknown variation _{name}", hint=self.valid_hint())
        return found

    def valid_hint(self) -> str:
        plain = [v.tag for v in self.meta.variations.values() if not v.is_combined]
        static = [t for t in plain if not t.endswith(".#")]
        dynamic = [f"{t[:-1]}<value>" for t in plain if t.endswith(".#")]
        if not plain:
            return "this script has no variations"
        hint = f"valid variations: {', '.join(static) or 'none'}"
        return hint + (f"; dynamic: {', '.join(dynamic)}" if dynamic else "")

    def static(self, name: str) -> str:
        """The meta key of ``name`` (``bs.#`` for ``bs.16``)."""
        return self.lookup(name)[0].name

    # --- step 1: the request ---

    def read_request(self, tags: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Split the tags into (requested, excluded) names, each checked to exist."""
        requested: list[str] = []
        excluded: list[str] = []
        for tag in (t.strip() for t in tags):
            target, name = self.read_tag(tag, requested, excluded)
            self.lookup(name)
            if name not in target:
                target.append(name)
        both = [n for n in requested if n in excluded]
        if both:
            self.fail(f"variation _{both[0]} is both requested and excluded (-_{both[0]})")
        return tuple(requested), tuple(excluded)

    def read_tag(
        self, tag: str, requested: list[str], excluded: list[str]
    ) -> tuple[list[str], str]:
        if tag.startswith(("-_", "_-")):
            target, name = excluded, tag[2:]
        elif tag.startswith("_"):
            target, name = requested, tag[1:]
        else:
            self.fail(f"{tag!r} is not a variation tag", hint="write _NAME, or -_NAME to exclude")
        if not name:
            self.fail(f"{tag!r} names no variation")
        return target, name

    # --- steps 2 and 3: aliases and default_variation ---

    def add_aliases(self, explicit: Iterable[str]) -> None:
        for name in explicit:
            variation = self.lookup(name)[0]
            if variation.alias is not None:
                self.check_alias(name, variation, variation.alias)
                self.add(variation.alias, Reason("alias", name))

    def check_alias(self, name: str, variation: Variation, target: str) -> None:
        if target in self.excluded:
            self.fail(f"_{name} is an alias of _{target}, which the request excludes")
        if target not in self.meta.variations:
            self.fail(f"_{name} is an alias of _{target}, which does not exist")
        if variation.group is not None or variation.default:
            self.fail(f"_{name} has an alias, so it may have neither a group nor 'default'")

    def add_default_variation(self) -> None:
        name = self.meta.default_variation
        if name is None:
            return
        if find_variation(self.meta, name) is None:
            self.fail(f"default_variation _{name} does not exist", hint=self.valid_hint())
        self.add(name, Reason("default_variation"))

    # --- step 4: bases and default_variations to a fix-point ---

    def expand(self) -> None:
        snapshot = {self.static(n) for n in self.on}
        done: set[str] = set()
        index = 0
        while index < len(self.on):
            name = self.on[index]
            variation = self.lookup(name)[0]
            self.add_bases(name, variation)
            self.add_chosen_defaults(name, variation, snapshot)
            self.add_combined_defaults(snapshot, done)
            index += 1

    def add_bases(self, name: str, variation: Variation) -> None:
        for base in variation.base:
            found = find_variation(self.meta, base)
            if found is None:
                self.fail(f"the base variation _{base} of _{name} does not exist")
            if base in self.on or (found[1] is not None and self.has_prefix(found[0].prefix)):
                continue
            if base in self.excluded:
                self.fail(f"_{base} is a base of _{name}, but the request excludes it (-_{base})")
            self.add(base, Reason("base", name))

    def has_prefix(self, prefix: str) -> bool:
        return any(n.startswith(prefix) for n in self.on)

    def add_chosen_defaults(self, name: str, variation: Variation, snapshot: set[str]) -> None:
        for group_name, choice in variation.default_variations.items():
            group = self.groups.get(group_name)
            if group is None:
                self.fail(
                    f"default_variations of _{name} names the group '{group_name}',"
                    " which no variation belongs to",
                    hint=f"groups: {', '.join(self.groups) or 'none'}",
                )
            if snapshot & set(group.members) or choice in self.excluded or choice in snapshot:
                continue
            if find_variation(self.meta, choice) is None:
                self.fail(f"default_variations of _{name} names _{choice}, which does not exist")
            self.add(choice, Reason("default_variations", name))

    def add_combined_defaults(self, snapshot: set[str], done: set[str]) -> None:
        present = set(self.on)
        for combined in self.combined:
            if combined.name not in done and set(combined.parts) <= present:
                done.add(combined.name)
                self.add_chosen_defaults(combined.name, combined, snapshot)

    # --- steps 5 and 6: groups and combination rules ---

    def add_group_defaults(self) -> bool:
        on = {self.static(n) for n in self.on}
        added = False
        for group in self.groups.values():
            if group.default is None or on & set(group.members) or group.default in self.excluded:
                continue
            added = self.add(group.default, Reason("group_default", group.name)) or added
        return added

    def check_groups(self) -> None:
        for group in self.groups.values():
            chosen = [n for n in self.on if self.static(n) in group.members]
            if len(chosen) > 1:
                listed = " and ".join(f"_{n} ({self.why[n]})" for n in chosen)
                self.fail(
                    f"only one variation of group '{group.name}' can be on, not {listed}",
                    hint="request one of them explicitly, or exclude the others with -_NAME",
                )

    def check_combinations(self) -> None:
        on = set(self.on)
        valid = self.meta.valid_variation_combinations
        if valid and not any(set(c) <= on for c in valid):
            self.fail(
                f"the variations {_listed(self.on)} match none of the"
                f" valid_variation_combinations: {'; '.join(_listed(c) for c in valid)}"
            )
        for combination in self.meta.invalid_variation_combinations:
            if set(combination) <= on:
                self.fail(
                    f"the variations {_listed(combination)} cannot be used together"
                    " (invalid_variation_combinations)"
                )

    # --- step 7: the result ---

    def result(self, explicit: tuple[str, ...]) -> Resolution:
        return Resolution(
            script=self.script,
            explicit=explicit,
            excluded=self.excluded,
            variations=tuple(self.on),
            reasons=dict(self.why),
            steps=tuple(self.steps()),
            group_of=self.group_of(),
        )

    def steps(self) -> list[Step]:
        on = set(self.on)
        combined = [c for c in self.combined if set(c.parts) <= on]
        steps: list[Step] = []
        for name in self.on:
            variation, value = self.lookup(name)
            payload = variation.payload if value is None else with_value(variation.payload, value)
            steps.append(Step(name, variation, payload))
            steps.extend(Step(c.name, c, c.payload) for c in combined)
        return steps

    def group_of(self) -> dict[str, str]:
        groups = {n: self.lookup(n)[0].group for n in self.on}
        return {n: g for n, g in groups.items() if g is not None}


def _listed(names: Iterable[str]) -> str:
    return ",".join(f"_{n}" for n in names) or "(none)"
