"""The common actions every kind of artifact gets: add, find, load, update, rm, mv, copy, info."""

from __future__ import annotations

from pathlib import Path

from cairn import ids, meta, report
from cairn.automations.base import Automation
from cairn.automations.contract import ActionSpec, Call, Flag, Outcome, action
from cairn.errors import Ambiguous, InvalidInput, NotFound, Refused
from cairn.store.artifact import IDENTITY_KEYS, Artifact
from cairn.store.catalog import Query, Target

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from typing import Any

    from cairn.store.catalog import Catalog
    from cairn.store.repo import Repo

TAGS = Flag("tags", "list", "tags that must all match; -TAG excludes")
FORCE = Flag("force", "bool", "do it without asking", aliases=("f",))
META = Flag("meta", "dict", "meta keys to set: --meta.size=10, or 'meta:' in an @input.yaml")


class CommonAutomation(Automation):
    """Artifacts of any kind: the actions every automation has."""

    summary = "artifacts of any kind (common actions)"

    @action(
        "add",
        summary="create an artifact with the given alias, tags and meta",
        usage="cairn add KIND [REPO:]ALIAS[,UID] [--tags=a,b] [--meta.KEY=V] [@input.yaml]",
        example="cairn add dataset mnist --tags=images,digits --meta.size=70000",
        flags=(
            TAGS,
            META,
            Flag("json", "bool", "write _cm.json instead of _cm.yaml (meta.json in MLCFlow's)"),
            Flag("path", "str", "make this existing REPO/KIND/NAME folder an artifact in place"),
        ),
    )
    def add(self, call: Call) -> Outcome:
        said = self._kind_guess()  # a new kind is made, but it may be a typo
        if said:
            report.warn(f"{said} (a new kind is made all the same)")
        ident = _identifier(call, 0, required=False)
        repo = self.catalog.registry.one(str(ident.repo)) if ident.repo else None
        here = None if repo else repo_here(self.catalog)
        data = dict(call.flag("meta", {}))
        data["tags"] = merge_tags(data.get("tags"), call.flag("tags", []))
        into = repo or here or self.catalog.registry.local()
        target = Target(into, ident.name.alias, ident.name.uid)
        fmt = "json" if call.flag("json") else "yaml"
        if call.flag("path"):
            folder = Path(call.flag("path")).expanduser().absolute()
            if ident.name.alias not in (None, folder.name) or ident.repo:
                raise InvalidInput("with --path the artifact is named by its folder: omit the name")
            data = {**data, **({"uid": ident.name.uid} if ident.name.uid else {})}
            added, here, extra = self.catalog.adopt(self.kind, folder, data, fmt), None, []
        else:
            added = self.catalog.add(self.kind, target, data, fmt)
            extra = self._added(added)
        lines = [f"Added {self.kind.alias} {added.name} at {added.path}", *extra]
        if here is not None:
            lines.append(
                f"(added to repository {here.alias}, which holds the current directory; "
                f"name another with REPO:{added.alias or added.uid})"
            )
        return Outcome({"path": str(added.path), "meta": added.meta, "artifact": added}, lines)

    def _added(self, artifact: Artifact) -> list[str]:
        """What a kind adds to a new artifact (a script's template); lines to show."""
        return []

    @action(
        "find",
        aliases=("search", "ls", "list"),
        summary="list matching artifacts, one path per line",
        usage="cairn find KIND [[REPO:]NAME-or-PATTERN] [--tags=a,b,-c]",
        example="cairn find dataset 'mn*' --tags=images,-private",
        flags=(TAGS,),
    )
    def find(self, call: Call) -> Outcome:
        found = self.catalog.find(self._query(call))
        said = "" if found else self._kind_guess()
        if said:
            report.warn(said)
        return Outcome({"list": found}, [str(a.path) for a in found])

    def _kind_guess(self) -> str:
        """When the kind is unknown and close to a known one, a sentence saying which."""
        from cairn.automations import registry

        guess = registry.close_kind(self.kind.alias, self.catalog)
        if guess is None:
            return ""
        return f"no repository has artifacts of kind {self.kind.alias!r}; did you mean {guess}?"

    def invoke(self, spec: ActionSpec, call: Call) -> Outcome:
        """Run the action (``.:NAME`` read as CM does); nothing found of a kind no repository
        has gets the kind guessed."""
        try:
            return super().invoke(spec, in_repo_here(self.catalog, call))
        except NotFound as exc:
            said = "" if "; did you mean" in exc.message else self._kind_guess()
            if said:
                exc.message += f"; {said}"
            raise

    @action(
        "load",
        summary="print the merged meta of one artifact",
        usage="cairn load KIND [REPO:]NAME [--tags=..] [--yaml]",
        example="cairn load dataset mnist --out=json",
        flags=(TAGS, Flag("yaml", "bool", "print YAML instead of JSON")),
    )
    def load(self, call: Call) -> Outcome:
        found = self.catalog.find_one(self._query(call, required=True))
        text = meta.dump_yaml(found.meta) if call.flag("yaml") else meta.dump_json(found.meta)
        data = {"path": str(found.path), "meta": found.meta, "original_meta": found.meta}
        return Outcome({**data, "artifact": found}, text.rstrip("\n").splitlines())

    @action(
        "update",
        summary="merge new meta and tags into matching artifacts",
        usage="cairn update KIND [REPO:]NAME [--meta.KEY=V] [--tags=t] [--replace_lists] [-f]",
        example="cairn update dataset mnist --meta.size=60000 --tags=train",
        flags=(
            META,
            Flag("tags", "list", "tags to add"),
            Flag("search_tags", "list", "select the artifacts by these tags"),
            Flag("replace_lists", "bool", "replace lists instead of appending to them"),
            Flag("replace", "bool", "replace the whole meta (identity keys are kept)"),
            Flag("force", "bool", "update every match when several match", aliases=("f",)),
        ),
    )
    def update(self, call: Call) -> Outcome:
        query = self._parse(_artifact(call, 0), call.flag("search_tags"))
        targets = self._selected(query, call, verb="update")
        updated = [self.catalog.update(a, lambda m: _updated_meta(m, call)) for a in targets]
        return Outcome(
            {"list": updated, "path": str(updated[0].path), "meta": updated[0].meta},
            [f"Updated {a.path}" for a in updated],
        )

    @action(
        "rm",
        aliases=("delete", "remove"),
        summary="delete matching artifacts (needs a name or tags, and -f)",
        usage="cairn rm KIND [REPO:]NAME-or-PATTERN [--tags=a,b] -f",
        example="cairn rm dataset mnist -f",
        flags=(TAGS, FORCE),
    )
    def rm(self, call: Call) -> Outcome:
        query = self._query(call)
        if query.is_empty:
            raise Refused(
                f"refusing to delete every {self.kind.alias} artifact",
                hint="name the artifacts or give --tags (a '*' pattern is explicit)",
            )
        found = self.catalog.find(query)
        if not found:
            raise NotFound(f"no artifact matches: {query}")
        _confirm(call, f"delete {len(found)} artifact(s): " + ", ".join(a.qualified for a in found))
        for artifact in found:
            self.catalog.remove(artifact)
        deleted = [str(a.path) for a in found]
        return Outcome({"deleted_list": deleted}, [f"Deleted {p}" for p in deleted])

    @action(
        "mv",
        aliases=("move", "ren", "rename"),
        summary="rename an artifact and/or move it to another repository",
        usage="cairn mv KIND [REPO:]NAME [NEWREPO:][NEWALIAS][,NEWUID]",
        example="cairn mv dataset mnist myrepo:mnist-v1",
    )
    def mv(self, call: Call) -> Outcome:
        source, target = self._source_and_target(call)
        moved = self.catalog.move(source, target)
        return Outcome(
            {"path": str(moved.path), "meta": moved.meta, "artifact": moved},
            [_moved_line(source, moved)],
        )

    @action(
        "copy",
        aliases=("cp",),
        summary="copy an artifact under a new uid (and alias or repository)",
        usage="cairn copy KIND [REPO:]NAME [NEWREPO:][NEWALIAS] [--new_tags=a,b]",
        example="cairn copy dataset mnist mnist-small --new_tags=small",
        flags=(Flag("new_tags", "list", "tags to add to the copy"),),
    )
    def copy(self, call: Call) -> Outcome:
        source, target = self._source_and_target(call)
        if target.repo.path == source.repo.path and target.alias in (None, source.alias):
            raise InvalidInput(
                f"copy of {source.qualified} needs a new alias or another repository",
                hint=f"e.g. cairn copy {self.kind.alias} {source.alias} {source.alias}-copy",
            )
        copied = self.catalog.copy(source, target, merge_tags([], call.flag("new_tags", [])))
        return Outcome(
            {"path": str(copied.path), "meta": copied.meta, "artifact": copied},
            [f"Copied {source.path} to {copied.path}"],
        )

    @action(
        "info",
        summary="show an artifact's identifiers, path, tags and files",
        usage="cairn info KIND [REPO:]NAME",
        example="cairn info dataset mnist",
        flags=(TAGS,),
    )
    def info(self, call: Call) -> Outcome:
        found = self.catalog.find_one(self._query(call, required=True))
        cid = f"{self.kind}::{found.name}"
        files = sorted(p.name for p in found.path.iterdir() if not p.name.startswith("."))
        data = _info_data(found, cid, files)
        return Outcome(data, [f"{k:<10} {_show(v)}" for k, v in data.items()])

    # -- shared steps ------------------------------------------------------------------

    def _parse(self, text: str | None, tags: Any = None) -> Query:
        """``Query.parse``, where ``.`` names the artifact whose folder is the current
        directory (CM's idiom: ``cairn load dataset .`` inside ``REPO/dataset/NAME``)."""
        if text != ".":
            return Query.parse(self.kind, text, tags)
        here = self.catalog.here(self.kind, Path.cwd())
        name = ids.NamePart(alias=here.alias, uid=here.uid)
        return Query(self.kind, name, ids.NamePart(uid=here.repo.uid), ids.parse_tags(tags))

    def _query(self, call: Call, *, required: bool = False) -> Query:
        query = self._parse(_artifact(call, 0), call.flag("tags"))
        if required and query.is_empty:
            raise InvalidInput(
                f"name the {self.kind.alias} artifact or give --tags",
                hint=f"see: cairn find {self.kind.alias}",
            )
        return query

    def _selected(self, query: Query, call: Call, *, verb: str) -> list[Artifact]:
        if query.is_empty:
            raise InvalidInput(f"name the {self.kind.alias} artifact to {verb}")
        found = self.catalog.find(query)
        if not found:
            raise NotFound(f"no artifact matches: {query}")
        if len(found) > 1 and not call.flag("force"):
            listing = ", ".join(a.qualified for a in found)
            raise Ambiguous(
                f"{len(found)} artifacts match {query}: {listing}",
                hint=f"{verb} one by repo:name, or all with -f",
            )
        return found

    def _source_and_target(self, call: Call) -> tuple[Artifact, Target]:
        if len(call.artifacts) != 2:
            raise InvalidInput("give exactly two names: the source and the new name")
        source = self.catalog.find_one(self._parse(call.artifacts[0]))
        dest = ids.parse_identifier(call.artifacts[1], patterns=False)
        repo = self.catalog.registry.one(str(dest.repo)) if dest.repo else source.repo
        return source, Target(repo, dest.name.alias, dest.name.uid)


def _artifact(call: Call, index: int) -> str | None:
    return call.artifacts[index] if len(call.artifacts) > index else None


def _identifier(call: Call, index: int, *, required: bool) -> ids.Identifier:
    text = _artifact(call, index)
    if text is None:
        if required:
            raise InvalidInput("an artifact name is required")
        return ids.Identifier(ids.NamePart())
    return ids.parse_identifier(text, patterns=False)


def merge_tags(existing: Any, added: list[str]) -> list[str]:
    """``existing`` tags (a list or ``a,b``) followed by the ``added`` ones, without repeats."""
    tags = ids.parse_tags(existing or [])
    extra = ids.parse_tags(added)
    if tags.exclude or extra.exclude:
        raise InvalidInput("tags to add cannot start with '-'")
    return list(dict.fromkeys([*tags.include, *extra.include]))


def _updated_meta(current: meta.Meta, call: Call) -> meta.Meta:
    changes = dict(call.flag("meta", {}))
    base = current
    if call.flag("replace"):
        base = {k: v for k, v in base.items() if k in IDENTITY_KEYS}
    keep_lists = not (call.flag("replace_lists") or call.flag("replace"))
    if keep_lists:
        meta.check_list_merge(base, changes)
    new = meta.merge(base, changes, append_lists=keep_lists)
    tags = call.flag("tags", [])
    if tags or "tags" in changes:
        start = new.get("tags") if ("tags" in changes or keep_lists) else []
        new["tags"] = merge_tags(start, tags)
    return new


def _confirm(call: Call, question: str) -> None:
    if call.flag("force"):
        return
    if call.confirm is not None and call.confirm(question):
        return
    raise Refused(f"not confirmed: {question}", hint="add -f to do it without asking")


def _info_data(found: Artifact, cid: str, files: list[str]) -> dict[str, Any]:
    return {
        "cid": cid,
        "alias": found.alias,
        "uid": found.uid,
        "repo": f"{found.repo.alias},{found.repo.uid}",
        "path": str(found.path),
        "tags": list(found.tags),
        "files": files,
    }


def _moved_line(source: Artifact, moved: Artifact) -> str:
    if source.path == moved.path:
        return f"Renamed {moved.path}: {source.name} is now {moved.name}"
    return f"Moved {source.path} to {moved.path}"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def in_repo_here(catalog: Catalog, call: Call) -> Call:
    """``call`` with CM's ``.:NAME`` (``NAME`` in the registered repository holding the
    current directory) written ``REPO:NAME``, in its artifacts and its raw input alike."""
    if not any(a.startswith(".:") for a in call.artifacts):
        return call
    repo = repo_here(catalog)
    if repo is None:
        named = next(a for a in call.artifacts if a.startswith(".:"))
        raise InvalidInput(
            f"{named!r}: '.:' names the repository holding the current directory, but "
            f"{Path.cwd()} is in no registered repository",
            hint="change into one (see: cairn list repo), or name it: REPO:NAME",
        )

    def named_here(word: Any) -> Any:
        here = isinstance(word, str) and word.startswith(".:")
        return f"{repo.alias}:{word[2:]}" if here else word

    raw = dict(call.raw)
    if "artifact" in raw:
        raw["artifact"] = named_here(raw["artifact"])
    if isinstance(raw.get("artifacts"), list):
        raw["artifacts"] = [named_here(a) for a in raw["artifacts"]]
    artifacts = [named_here(a) for a in call.artifacts]
    return Call(artifacts, call.opts, raw, call.confirm, call.choose)


def repo_here(catalog: Catalog) -> Repo | None:
    """The registered repository holding the current directory (the innermost), if any:
    ``add`` without ``REPO:`` writes there, as CM does. The built-in one never."""
    from cairn.home import builtin_repo_path

    cwd = Path.cwd()
    holding = [
        r
        for r in catalog.registry.repos()
        if (cwd == r.path or r.path in cwd.parents) and r.path != builtin_repo_path()
    ]
    return max(holding, key=lambda r: len(r.path.parts), default=None)
