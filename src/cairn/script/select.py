"""Choosing the script to run: the request grammar, the candidates, and the choice.

Request grammar (cm-script.md §0 and §1.4). A request is the ``--tags`` value and/or one
positional argument; both are lists of words separated by commas or spaces::

    word     := tag | "-" tag | "_" variation | "-_" variation | "_-" variation
    tag      a script tag: every one must be in the script's ``tags``
    -tag     an excluded script tag: no candidate may have it
    _v       a variation the script must define (``_bs.16`` may match a dynamic ``bs.#``)
    -_v _-v  an excluded variation: it must exist too, and is never switched on by default

The positional argument names a script when it is a single identifier (``alias``, ``uid``,
``alias,uid``, ``repo:alias``), or a single identifier followed by variation words only
(``"print-hello-world _v1"``). Anything else is a list of words (``"get python _v1"``,
``get,python``). Unlike CM, ``t-dump,_v2`` therefore means the script ``t-dump`` with ``_v2``,
not an alias that does not exist. For CM's ``cmr "python _v1"`` (one tag plus variations), a
name that matches no script is then tried as a tag.

A word may not be both required and excluded; a request needs a name or one script tag.
:class:`ScriptRequest` prints itself back as ``[repo:]name --tags=tag,-tag,_v,-_v``.

Candidates (:func:`find_candidates`) are the scripts found by name or tags whose meta is valid
(a broken one is warned about and skipped) and that define every requested and excluded
variation, ordered by ``sort`` (ascending), then the user's scripts before cairn's built-in
ones (fallbacks), then repository search order, then path.

The choice (:func:`choose`): cairn's built-in scripts are fallbacks, dropped whenever a
script of another repository is among the candidates, whatever its ``sort`` (so a
repository's ``detect,os`` never meets the built-in one; naming ``builtin:detect-os`` or
pinning a dependency to ``builtin`` still takes it). Then the only candidate; else the one
with the lowest ``sort`` if it is unique; else the terminal's answer when a chooser is given
and not ``--quiet``; else the first in that order, with a reason naming the others and how to
take one. Nothing here ever prompts or blocks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from cairn import ids, report
from cairn.dialect import MLC
from cairn.errors import InvalidInput, InvalidName, MetaError, NotFound, did_you_mean
from cairn.kinds import KNOWN
from cairn.meta import meta_paths
from cairn.record import Defaulted, field
from cairn.record import replace as with_
from cairn.script.model import ScriptMeta
from cairn.script.variations import find_variation
from cairn.store.artifact import Artifact
from cairn.store.catalog import Catalog, Query

SCRIPT = KNOWN["script"]
_SEPARATORS = re.compile(r"[\s,]+")

Chooser = Callable[[list["Candidate"]], int]
"""Asks a person (at a terminal) to pick one candidate; returns its index."""


# --- the request --------------------------------------------------------------------------


class ScriptRequest(Defaulted):
    """Which script a run asks for: an optional name, script tags and variations."""

    name: ids.Identifier | None = None
    tags: ids.TagQuery = field(default_factory=ids.TagQuery)
    variations: tuple[str, ...] = ()
    """Requested variations without ``_``, in request order."""
    excluded_variations: tuple[str, ...] = ()
    name_may_be_tag: bool = False
    """The name came with variation words only: if no script has it, try it as a tag."""

    @property
    def variation_tags(self) -> tuple[str, ...]:
        """The variation words: ``("_a", "-_b")``."""
        return (*(f"_{v}" for v in self.variations), *(f"-_{v}" for v in self.excluded_variations))

    @property
    def words(self) -> tuple[str, ...]:
        """Every tag and variation word, in the ``--tags`` syntax."""
        tags = tuple(str(self.tags).split(",")) if self.tags else ()
        return (*tags, *self.variation_tags)

    def __str__(self) -> str:
        tags = f"--tags={','.join(self.words)}" if self.words else ""
        return " ".join(x for x in (str(self.name) if self.name else "", tags) if x)


def split_request(tags: str | list[str] | None, artifact: str | None) -> ScriptRequest:
    """Read ``--tags`` and the positional argument into a :class:`ScriptRequest`."""
    name, positional, may_be_tag = _read_positional(artifact or "")
    words = [*positional, *_split_words(tags)]
    include, exclude, variations, excluded = _classify_all(words)
    if name is None and not include:
        raise InvalidInput(
            "a script request needs a script name or at least one script tag",
            hint="e.g. cairn run script --tags=get,python3 or cairn run script ALIAS",
        )
    query = ids.TagQuery(tuple(include), tuple(exclude))
    return ScriptRequest(name, query, tuple(variations), tuple(excluded), may_be_tag)


def _split_words(value: str | Iterable[str] | None) -> list[str]:
    """A string splits on commas and spaces; list items only on commas (CM's ``--tags``),
    so a tag made from a value with a space (``_path./my dir``) stays one tag."""
    if isinstance(value, str):
        return [w for w in _SEPARATORS.split(value) if w]
    return [w.strip() for item in value or [] for w in str(item).split(",") if w.strip()]


def _read_positional(text: str) -> tuple[ids.Identifier | None, list[str], bool]:
    """(name, the other words, whether the name may be a tag) of the positional argument."""
    text = text.strip()
    if not text:
        return None, [], False
    if _is_one_name(text):
        return ids.parse_identifier(text, patterns=False), [], False
    words = _split_words(text)
    plain = [w for w in words if not w.startswith(("_", "-"))]
    if len(plain) != 1 or len(words) == 1:
        return None, words, False
    rest = [w for w in words if w != plain[0]]
    if not all(_kind(w) in ("variation", "excluded variation") for w in rest):
        return None, words, False
    return _name_or_tag(plain[0], words, rest)


def _name_or_tag(
    word: str, words: list[str], rest: list[str]
) -> tuple[ids.Identifier | None, list[str], bool]:
    """A name followed by variation words; if it is no valid name, it is a tag."""
    try:
        name = ids.parse_identifier(word, patterns=False)
    except InvalidName:
        return None, words, False
    qualified = name.repo is not None or name.name.uid is not None
    return name, rest, not qualified


def _is_one_name(text: str) -> bool:
    """One word that is not a tag or variation word, or an ``alias,uid`` pair."""
    if text.startswith(("_", "-")):
        return False
    return not _SEPARATORS.search(text) or _is_uid_pair(text)


def _is_uid_pair(text: str) -> bool:
    """``alias,uid`` or ``uid,alias`` (optionally ``repo:``-qualified): one name, not tags."""
    if "," not in text or any(c.isspace() for c in text):
        return False
    try:
        part = ids.parse_identifier(text, patterns=False).name
    except InvalidName:
        return False
    return part.alias is not None and part.uid is not None


_KINDS = (("-_", "excluded variation"), ("_-", "excluded variation"), ("_", "variation"))


def _kind(word: str) -> str:
    for prefix, kind in _KINDS:
        if word.startswith(prefix):
            return kind
    return "excluded tag" if word.startswith("-") else "tag"


def _body(word: str, kind: str) -> str:
    """The tag or variation a word names, checked to be non-empty and not to start with -."""
    size = {"excluded variation": 2, "variation": 1, "excluded tag": 1}.get(kind, 0)
    body = word[size:]
    if not body or body.startswith(("-", "_")):
        raise InvalidInput(f"{word!r} names no {kind.split()[-1]}", hint=_GRAMMAR_HINT)
    return body


_GRAMMAR_HINT = "write tag, -tag, _variation or -_variation"


def _classify_all(words: Sequence[str]) -> tuple[list[str], list[str], list[str], list[str]]:
    """Split words into (tags, excluded tags, variations, excluded variations), in order."""
    groups: dict[str, list[str]] = {
        "tag": [],
        "excluded tag": [],
        "variation": [],
        "excluded variation": [],
    }
    for word in words:
        kind = _kind(word)
        body = _body(word, kind)
        if body not in groups[kind]:
            groups[kind].append(body)
    _check_disjoint(groups["tag"], groups["excluded tag"], "tag {0!r} is both required and -{0}")
    _check_disjoint(
        groups["variation"],
        groups["excluded variation"],
        "variation _{0} is both requested and excluded (-_{0})",
    )
    return groups["tag"], groups["excluded tag"], groups["variation"], groups["excluded variation"]


def _check_disjoint(wanted: list[str], unwanted: list[str], message: str) -> None:
    both = [w for w in wanted if w in unwanted]
    if both:
        raise InvalidInput(message.format(both[0]), hint="drop one of the two words")


# --- the candidates -----------------------------------------------------------------------


class Candidate(Defaulted):
    """A script that fits the request: its artifact and its validated meta."""

    artifact: Artifact
    meta: ScriptMeta

    @property
    def handle(self) -> str:
        """``repo:alias``: how to name this script on the command line."""
        return self.artifact.qualified

    @property
    def sort(self) -> int:
        return self.meta.sort

    @property
    def builtin(self) -> bool:
        """Whether cairn ships this script (a fallback: the user's repositories come first)."""
        return is_builtin(self.artifact)

    def describe(self, handle: str | None = None) -> str:
        return f"{handle or self.handle} (sort {self.sort}, {self.artifact.path})"


def is_builtin(artifact: Artifact) -> bool:
    """Whether ``artifact`` is in the repository cairn ships (its scripts are fallbacks)."""
    from cairn.home import builtin_repo_path

    return artifact.repo.path == builtin_repo_path()


def without_fallbacks(artifacts: Sequence[Artifact]) -> list[Artifact]:
    """``artifacts`` without cairn's built-in ones when any other is among them."""
    own = [a for a in artifacts if not is_builtin(a)]
    return own or list(artifacts)


def find_candidates(catalog: Catalog, request: ScriptRequest) -> list[Candidate]:
    """The scripts that fit ``request``, in order (``sort``, repository order, path)."""
    found, by_tag = _search(catalog, request)
    scripts = [c for c in (_validated(a) for a in found) if c is not None]
    if not scripts and not found:
        scripts = _by_tag_aliases(catalog, request)
    if not scripts:
        raise _nothing_found(catalog, request, by_tag, broken=len(found))
    fitting = [c for c in scripts if not _missing_variations(c.meta, request)]
    if not fitting:
        raise _no_variations(request, scripts)
    rank = {repo.path: i for i, repo in enumerate(catalog.registry.repos())}
    return sorted(
        fitting,
        key=lambda c: (
            c.sort,
            c.builtin,
            rank.get(c.artifact.repo.path, len(rank)),
            c.artifact.path,
        ),
    )


def in_repo(
    found: list[Candidate], repo: str | None, why: str, request: ScriptRequest
) -> list[Candidate]:
    """The candidates from repository ``repo`` (alias or uid; a dependency's ``repo`` or a
    pin, which ``why`` names), or all of them without one; a pin that no candidate meets is
    an error naming them."""
    if repo is None:
        return found
    part = ids.parse_part(repo, patterns=False, what="repository")
    kept = [c for c in found if part.matches(c.artifact.repo.alias, c.artifact.repo.uid)]
    if not kept:
        raise NotFound(
            f"no script for {request} in repository {repo} ({why})",
            hint="the scripts that match: " + ", ".join(_handles(found)),
        )
    return kept


def _search(catalog: Catalog, request: ScriptRequest) -> tuple[list[Artifact], bool]:
    """The artifacts found, and whether the name had to be read as a tag to find them."""
    name = request.name
    query = Query(SCRIPT, name.name if name else None, name.repo if name else None, request.tags)
    found = catalog.find(query)
    if found or not request.name_may_be_tag or name is None:
        return found, False
    return catalog.find(Query(SCRIPT, tags=_with_tag(request.tags, str(name)))), True


def _by_tag_aliases(catalog: Catalog, request: ScriptRequest) -> list[Candidate]:
    """MLCFlow's ``variation_tags_alias``: the scripts having some of the request's tags whose
    aliases name the others (``isolate,set``); searched only when nothing else matched."""
    include = request.tags.include
    if len(include) < 2 or request.name is not None:
        return []
    found: dict[Path, Artifact] = {}
    for tag in include:
        for artifact in catalog.find(
            Query(SCRIPT, tags=ids.TagQuery((tag,), request.tags.exclude))
        ):
            found.setdefault(artifact.path, artifact)
    scripts = [c for c in (_validated(a) for a in found.values()) if c is not None]
    return [c for c in scripts if _aliases_cover(c.meta, include)]


def _aliases_cover(meta: ScriptMeta, words: Sequence[str]) -> bool:
    """Whether every word is a tag of the script or one of its aliases, and one an alias."""
    aliases = meta.variation_tags_alias
    aliased = [w for w in words if w in aliases and w not in meta.tags]
    return bool(aliased) and all(w in meta.tags or w in aliases for w in words)


def with_tag_aliases(request: ScriptRequest, meta: ScriptMeta) -> ScriptRequest:
    """The request with words the chosen script's ``variation_tags_alias`` names (and that
    are not its tags) read as the variations they stand for (``set`` -> ``_set``)."""
    aliases = meta.variation_tags_alias
    words = [t for t in request.tags.include if t in aliases and t not in meta.tags]
    if not words:
        return request
    extra = [v.strip()[1:] for w in words for v in aliases[w].split(",") if v.strip()[:1] == "_"]
    tags = ids.TagQuery(
        tuple(t for t in request.tags.include if t not in words), request.tags.exclude
    )
    added = tuple(v for v in extra if v not in request.variations)
    return with_(request, tags=tags, variations=(*request.variations, *added))


def _with_tag(tags: ids.TagQuery, tag: str) -> ids.TagQuery:
    return ids.TagQuery((tag, *(t for t in tags.include if t != tag)), tags.exclude)


def _validated(artifact: Artifact) -> Candidate | None:
    """The artifact with its validated meta; a broken meta is warned about and skipped."""
    stem = artifact.repo.artifact_meta  # _cm (CM) or meta (MLCFlow)
    yaml_path, json_path = meta_paths(artifact.path, stem)
    source = json_path or yaml_path or artifact.path / f"{stem}.yaml"
    try:
        loose = artifact.repo.dialect is MLC  # MLCFlow's engine accepts loosely typed values
        return Candidate(artifact, ScriptMeta.from_meta(artifact.meta, source, loose=loose))
    except MetaError as exc:
        report.warn(f"skipping script {artifact.qualified}: {exc}")
        return None


def _missing_variations(meta: ScriptMeta, request: ScriptRequest) -> list[str]:
    """The requested or excluded variations ``meta`` does not define (as ``_v``)."""
    wanted = (*request.variations, *request.excluded_variations)
    return [f"_{v}" for v in wanted if find_variation(meta, v) is None]


def _nothing_found(catalog: Catalog, request: ScriptRequest, by_tag: bool, broken: int) -> NotFound:
    note = f" ({broken} found, but with a broken meta: see the warnings)" if broken else ""
    guess = _close_name(catalog, request)
    if request.name is not None and not by_tag:
        where = f" with the tags {request.tags}" if request.tags else ""
        return NotFound(
            f"no script named {request.name}{where}{note}{guess}", hint="see: cairn find script"
        )
    tags = request.tags if request.name is None else _with_tag(request.tags, str(request.name))
    named = f"is named {request.name} or " if request.name is not None else ""
    return NotFound(
        f"no script {named}has the tags {tags}{note}{_unknown_tags(catalog, tags)}{guess}",
        hint=_suggestion(catalog, tags),
    )


def _close_name(catalog: Catalog, request: ScriptRequest) -> str:
    """``; did you mean evaluate?`` for a name close to a script's alias (a typo)."""
    if request.name is not None:
        word = str(request.name).rsplit(":", 1)[-1]
    elif len(request.tags.include) == 1 and not request.tags.exclude:
        word = request.tags.include[0]
        if catalog.find(Query(SCRIPT, tags=ids.TagQuery((word,)))):
            return ""  # a known tag: the request failed for another reason
    else:
        return ""
    # a right name gets no guess: its meta is broken, or the tags do not match
    return did_you_mean(word, {a.alias for a in catalog.find(Query(SCRIPT)) if a.alias})


def _unknown_tags(catalog: Catalog, tags: ids.TagQuery) -> str:
    """``; no script has the tag 'x'`` for required tags that no script has at all."""
    if len(tags.include) < 2:
        return ""
    unknown = [t for t in tags.include if not catalog.find(Query(SCRIPT, tags=ids.TagQuery((t,))))]
    return "".join(f"; no script has the tag {t!r}" for t in unknown)


def _suggestion(catalog: Catalog, tags: ids.TagQuery) -> str:
    """Which scripts to list: those with the first required tag that some script has."""
    known = [t for t in tags.include if catalog.find(Query(SCRIPT, tags=ids.TagQuery((t,))))]
    if known:
        return f"see the scripts that have {known[0]!r}: cairn find script --tags={known[0]}"
    return "no script has any of them; list all: cairn find script, or cairn find script --tags=TAG"


def _no_variations(request: ScriptRequest, scripts: list[Candidate]) -> NotFound:
    wanted = ", ".join(request.variation_tags)
    rows = [
        f"{c.handle} lacks {', '.join(_missing_variations(c.meta, request))} "
        f"(variations: {_available(c.meta)})"
        for c in scripts
    ]
    return NotFound(
        f"no script for {request} defines {wanted}: " + "; ".join(rows),
        hint="use variations from these lists, or name another script",
    )


def _available(meta: ScriptMeta) -> str:
    """The variations a request can name: ``_a, _b, _bs.<value>``."""
    plain = [v for v in meta.variations.values() if not v.is_combined]
    shown = [f"_{v.prefix}<value>" if v.is_dynamic else v.tag for v in plain]
    return ", ".join(shown) or "none"


# --- the choice ---------------------------------------------------------------------------


class Choice(Defaulted):
    """The chosen script and why; ``guessed`` when ``--quiet`` broke a tie (worth reporting)."""

    candidate: Candidate
    reason: str
    guessed: bool = False


def choose(
    candidates: Sequence[Candidate], *, quiet: bool, chooser: Chooser | None = None
) -> Choice:
    """Pick one candidate by the documented rules; a tie is put to ``chooser`` (a terminal)
    unless ``quiet``, else the first is taken and the reason says so. Never prompts by itself."""
    if not candidates:
        raise ValueError("choose() needs at least one candidate")
    own = [c for c in candidates if not c.builtin]
    ordered = sorted(own or candidates, key=lambda c: c.sort)
    if len(ordered) == 1:
        return Choice(ordered[0], _only(len(candidates), dropped=len(candidates) > 1))
    best = [c for c in ordered if c.sort == ordered[0].sort]
    if len(best) == 1:
        return Choice(best[0], f"lowest sort ({best[0].sort}) of {len(ordered)} matching scripts")
    if chooser is not None and not quiet:
        return _ask(ordered, chooser)
    return _first(best, "--quiet" if quiet else "no terminal to ask")


def _only(count: int, *, dropped: bool) -> str:
    if dropped:
        return f"the only one of {count} matching scripts not built into cairn"
    return "the only script that matches"


def _ask(ordered: list[Candidate], chooser: Chooser) -> Choice:
    index = chooser(list(ordered))
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(ordered):
        raise InvalidInput(f"choice {index!r} is not a number from 0 to {len(ordered) - 1}")
    return Choice(ordered[index], f"chosen from {len(ordered)} matching scripts")


def _first(ordered: list[Candidate], why: str) -> Choice:
    handles = _handles(ordered)
    reason = (
        f"{why}: took the first of {len(ordered)} equally matching scripts "
        f"(ordered by sort, repository order, path): {handles[0]}; "
        f"the others: {', '.join(handles[1:])}; to take another, name it (e.g. "
        f"cairn run script {handles[1]})"
    )
    return Choice(ordered[0], reason, guessed=True)


def _handles(candidates: Sequence[Candidate]) -> list[str]:
    """``repo:alias`` for each, or ``repo:uid`` for all when two would print the same."""
    handles = [c.handle for c in candidates]
    if len(set(handles)) == len(handles):
        return handles
    return [f"{c.artifact.repo.alias}:{c.artifact.uid or c.artifact.path.name}" for c in candidates]
