"""The ``cache`` automation: the saved outputs of cached script runs.

Entries are made by the script engine (:mod:`cairn.script.cache`); these actions look at
and remove them. As in CM, a name with spaces is read as tags: ``cairn find cache "get
python"`` is ``cairn find cache --tags=get,python``.
"""

from __future__ import annotations

import json
from typing import Any

from cairn import ids, report
from cairn.automations.common import FORCE, TAGS, CommonAutomation
from cairn.automations.contract import Call, Flag, Outcome, action
from cairn.errors import InvalidInput, MetaError, Refused
from cairn.store.artifact import Artifact
from cairn.store.catalog import Query

ENV = Flag("env", "bool", "also show the env each entry exports (its new_env)")
ALL = Flag("all", "bool", "delete every cache entry (needs -f)")
EXPIRED = Flag("expired", "bool", "delete the entries past their cache_expiration (no -f needed)")


class CacheAutomation(CommonAutomation):
    """Cache entries: find, show and remove the saved outputs of script runs."""

    summary = "saved outputs of cached script runs: show, find, rm (--all, --expired)"

    @action(
        "show",
        summary="show cache entries: tags, path, version, script, expiry (and env with --env)",
        usage='cairn show cache [UID | "TAG TAG..."] [--tags=a,b,-c] [--env]',
        example="cairn show cache --tags=get,python --env",
        flags=(TAGS, ENV),
    )
    def show(self, call: Call) -> Outcome:
        found = self.catalog.find(self._query(call))
        rows = [_described(a, with_env=bool(call.flag("env"))) for a in found]
        return Outcome({"list": rows}, [line for row in rows for line in _shown(row)])

    @action(
        "find",
        aliases=("search", "ls", "list"),
        summary="list matching cache entries, one path per line",
        usage='cairn find cache [UID | "TAG TAG..."] [--tags=a,b,-c]',
        example='cairn find cache "get python"',
        flags=(TAGS,),
    )
    def find(self, call: Call) -> Outcome:
        return super().find(call)

    @action(
        "rm",
        aliases=("delete", "remove"),
        summary="delete cache entries (needs a uid, tags or --all, and -f; or --expired)",
        usage='cairn rm cache [UID | "TAG TAG..."] [--tags=a,b] [--all] -f | --expired',
        example="cairn rm cache --expired",
        flags=(TAGS, FORCE, ALL, EXPIRED),
    )
    def rm(self, call: Call) -> Outcome:
        if call.flag("expired"):
            return self._with_dependants(self._rm_expired(call))
        if not call.flag("all"):
            return self._with_dependants(super().rm(call))
        if not self._query(call).is_empty:
            raise InvalidInput("--all deletes every cache entry: leave out the name and --tags")
        found = self.catalog.find(Query(self.kind))
        _confirm(call, f"delete all {len(found)} cache entries")
        for artifact in found:
            self.catalog.remove(artifact)
        deleted = [str(a.path) for a in found]
        lines = [f"Deleted {p}" for p in deleted] or ["no cache entries to delete"]
        return Outcome({"deleted_list": deleted}, lines)

    @action(
        "export",
        summary="write cache entries (by uid, tags or --all) to a folder or a .tar.gz, with "
        "the digest of every file, for cairn import cache on another home",
        usage='cairn export cache [UID | "TAG TAG..."] [--tags=a,b] [--all] --to=DIR|FILE.tar.gz',
        example="cairn export cache --tags=get,dataset --to=datasets.tar.gz",
        flags=(TAGS, ALL, Flag("to", "str", "the folder or .tar.gz file to write")),
    )
    def export(self, call: Call) -> Outcome:
        from pathlib import Path

        from cairn.script import cache as cache_mod
        from cairn.script import transfer

        if not call.flag("to"):
            raise InvalidInput("where to? give --to=DIR or --to=FILE.tar.gz")
        query = self._query(call)
        if query.is_empty and not call.flag("all"):
            raise InvalidInput("which entries? give a uid, --tags, or --all")
        found = self.catalog.find(query)
        target = Path(call.flag("to")).expanduser()
        uids = transfer.export(
            cache_mod.Cache(self.catalog.registry), [a.path for a in found], target
        )
        lines = [f"Exported {len(uids)} cache entries to {target}"]
        return Outcome({"exported": uids, "to": str(target)}, lines)

    @action(
        "import",
        summary="add the cache entries of an export (checked by digest, paths rewritten for "
        "this home); entries already here are kept",
        usage="cairn import cache DIR|FILE.tar.gz",
        example="cairn import cache datasets.tar.gz",
    )
    def import_(self, call: Call) -> Outcome:
        from pathlib import Path

        from cairn.errors import CairnError
        from cairn.script import cache as cache_mod
        from cairn.script import transfer

        if len(call.artifacts) != 1:
            raise InvalidInput("give the export to import: cairn import cache DIR|FILE.tar.gz")
        source = Path(call.artifacts[0]).expanduser()
        if not source.exists():
            raise InvalidInput(f"{source} does not exist")
        done = transfer.import_(cache_mod.Cache(self.catalog.registry), source)
        lines = [f"Imported {len(done.added)} cache entries, {len(done.present)} already here"]
        lines += [f"refused {r.uid}: {r.reason}" for r in done.refused]
        data = {
            "added": done.added,
            "present": done.present,
            "refused": [{"uid": r.uid, "reason": r.reason} for r in done.refused],
        }
        if done.refused:
            raise CairnError("\n".join(lines), hint="the other entries were imported")
        return Outcome(data, lines)

    def _rm_expired(self, call: Call) -> Outcome:
        """Delete the entries (matching the name or tags, if given) whose expiry has passed."""
        from cairn.script import expiry  # the engine's module, loaded on use

        if call.flag("all"):
            raise InvalidInput("--expired deletes the expired entries: leave out --all")
        found = [a for a in self.catalog.find(self._query(call)) if expiry.is_expired(a.meta)]
        lines = [f"Deleted {a.path} (expired {_text(a.meta, 'expires')})" for a in found]
        for artifact in found:
            self.catalog.remove(artifact)
        deleted = [str(a.path) for a in found]
        return Outcome({"deleted_list": deleted}, lines or ["no expired cache entries"])

    def _with_dependants(self, outcome: Outcome) -> Outcome:
        """Name the entries left that came from a deleted one: they are no hits any more
        (their outputs may point into it) and run again when next asked for."""
        from pathlib import Path

        gone = {Path(p).name for p in outcome.data.get("deleted_list", [])}
        left = self.catalog.find(Query(self.kind)) if gone else []
        hit = [a for a in left if gone & set(_dep_entries(a.meta))]
        outcome.data["invalidated_list"] = [str(a.path) for a in hit]
        outcome.lines += [
            f"Invalidated {a.path} ({_script_name(a)}): "
            "it came from a deleted entry and runs again when next needed"
            for a in hit
        ]
        return outcome

    def _query(self, call: Call, *, required: bool = False) -> Query:
        """A name with spaces is a list of tags (CM's ``cm show cache "get python"``)."""
        text = call.artifacts[0] if call.artifacts else None
        if text is None or not any(c.isspace() for c in text):
            return super()._query(call, required=required)
        return Query(self.kind, tags=ids.parse_tags([*text.split(), *call.flag("tags", [])]))


def _confirm(call: Call, question: str) -> None:
    if call.flag("force") or (call.confirm is not None and call.confirm(question)):
        return
    raise Refused(f"not confirmed: {question}", hint="add -f to do it without asking")


def sorted_tags(tags: tuple[str, ...] | list[str]) -> list[str]:
    """Plain tags sorted, then the ``_variation`` tags sorted (as CM shows them)."""
    return sorted(t for t in tags if not t.startswith("_")) + sorted(
        t for t in tags if t.startswith("_")
    )


def _described(found: Artifact, *, with_env: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "uid": found.uid,
        "path": str(found.path),
        "tags": sorted_tags(found.tags),
        "version": _text(found.meta, "version"),
        "script": _text(found.meta, "associated_script_artifact"),
        "key": _text(found.meta, "cairn_key"),
    }
    if _text(found.meta, "expires"):
        row["expires"] = _text(found.meta, "expires")
    removed = [
        u for u in _dep_entries(found.meta) if not (found.path.parent / u / "_cm.json").is_file()
    ]
    if removed:
        row["removed_deps"] = removed
    if with_env:
        row["new_env"] = _new_env(found)
    return row


def _script_name(found: Artifact) -> str:
    """The alias of the script that made an entry (CM's ``alias,uid``), else the entry's uid."""
    made_by = _text(found.meta, "associated_script_artifact")
    return made_by.split(",")[0] if made_by else (found.uid or found.path.name)


def _dep_entries(meta: dict[str, Any]) -> list[str]:
    """The uids of the entries an entry's outputs came from (``cairn_dep_entries``)."""
    found = meta.get("cairn_dep_entries")
    return [u for u in found if isinstance(u, str)] if isinstance(found, list) else []


def _text(data: dict[str, Any], key: str) -> str | None:
    """A string value of a (possibly CM-made) entry's meta, for display only."""
    value = data.get(key)
    return value if isinstance(value, str) else None


def _new_env(found: Artifact) -> dict[str, Any]:
    from cairn.script.cache import STATE_FILE, read_state  # the engine's module, loaded on use

    try:
        return read_state(found.path / STATE_FILE).new_env
    except MetaError as exc:
        report.warn(f"cannot show the env of {found.path}: {exc}")
        return {}


def _shown(row: dict[str, Any]) -> list[str]:
    lines = [
        f"* Tags: {','.join(row['tags'])}",
        f"  Path: {row['path']}",
        f"  Version: {row['version'] or ''}",
        f"  Script: {row['script'] or ''}",
    ]
    if row.get("expires"):
        lines.append(f"  Expires: {row['expires']}{_expired_note(row['expires'])}")
    if row.get("removed_deps"):
        gone = ", ".join(row["removed_deps"])
        lines.append(f"  Invalidated: came from deleted entries ({gone}); runs again when needed")
    if "new_env" in row:
        lines.append("  New env:")
        lines += [f"    {k}={_value(v)}" for k, v in sorted(row["new_env"].items())]
    return lines


def _expired_note(stamp: str) -> str:
    from cairn.script import expiry

    return " (expired)" if expiry.is_expired({expiry.EXPIRES_KEY: stamp}) else ""


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
