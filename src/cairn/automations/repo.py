"""The ``repo`` automation: make, register, list, inspect and unregister repositories."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from cairn import ids
from cairn.automations.base import Automation
from cairn.automations.contract import Call, Flag, Outcome, action
from cairn.errors import AlreadyExists, InvalidInput, Refused
from cairn.store import repo as repo_mod
from cairn.store.registry import PROTECTED
from cairn.store.repo import Repo

FORCE = Flag("force", "bool", "do it without asking", aliases=("f",))


class RepoAutomation(Automation):
    """Repositories of artifacts."""

    summary = "repositories of artifacts (init, add, list, info, rm)"

    @action(
        "init",
        summary="make a directory a repository (writes only cmr.yaml) and register it",
        usage="cairn init repo [PATH] [--alias=A] [--uid=UID] [--prefix=DIR]",
        example="cairn init repo ~/my-project --alias=my-project",
        flags=(
            Flag("alias", "str", "the repository alias (default: the directory name)"),
            Flag("uid", "str", "the repository uid (default: a new one)"),
            Flag("prefix", "str", "keep artifacts under this subfolder"),
            Flag("path", "str", "the directory (same as the PATH argument)"),
        ),
    )
    def init(self, call: Call) -> Outcome:
        path = Path(call.flag("path") or _arg(call) or os.getcwd()).expanduser().absolute()
        if repo_mod.is_repo(path):
            existing = repo_mod.load(path)
            _check_same(existing, call)
            registered = self.catalog.registry.register(path)
            return _repo_outcome(registered, f"Registered existing repository {registered}")
        alias = call.flag("alias") or _alias_from(path)
        created = repo_mod.create(path, alias, call.flag("uid"), call.flag("prefix") or "")
        try:
            self.catalog.registry.register(path)
        except Exception:
            (path / "cmr.yaml").unlink(missing_ok=True)
            raise
        return _repo_outcome(created, f"Created repository {created} at {path}")

    @action(
        "add",
        aliases=("register",),
        summary="register an existing repository directory (one with cmr.yaml)",
        usage="cairn add repo PATH",
        example="cairn add repo ~/src/my-cm-repo",
        flags=(Flag("path", "str", "the directory (same as the PATH argument)"),),
    )
    def add(self, call: Call) -> Outcome:
        where = call.flag("path") or _arg(call)
        if not where:
            raise InvalidInput("give the path of the repository to register: cairn add repo PATH")
        registered = self.catalog.registry.register(Path(where).expanduser())
        return _repo_outcome(registered, f"Registered repository {registered} at {registered.path}")

    @action(
        "find",
        aliases=("list", "ls", "search"),
        summary="list repositories in search order: alias, uid, path",
        usage="cairn list repo [ALIAS-or-PATTERN]",
        example="cairn list repo --out=json",
    )
    def find(self, call: Call) -> Outcome:
        text = _arg(call)
        part = ids.parse_part(text, patterns=True, what="repository") if text else None
        repos = self.catalog.registry.match(part)
        width = max((len(r.alias) for r in repos), default=0)
        lines = [f"{r.alias:<{width}}  {r.uid}  {r.path}" for r in repos]
        return Outcome({"list": [_repo_json(r) for r in repos]}, lines)

    @action(
        "info",
        aliases=("show",),
        summary="show a repository: identity, paths and artifact counts per automation",
        usage="cairn info repo ALIAS",
        example="cairn info repo local",
    )
    def info(self, call: Call) -> Outcome:
        target = self.catalog.registry.one(_required(call))
        counts = _artifact_counts(target)
        data = {**_repo_json(target), "artifacts": counts}
        lines = [f"{k:<8} {v}" for k, v in _repo_json(target).items()]
        lines += [f"  {name}: {n}" for name, n in counts.items()]
        return Outcome(data, lines)

    @action(
        "rm",
        aliases=("delete", "remove", "unregister"),
        summary="unregister a repository; with --all -f also delete its files",
        usage="cairn rm repo ALIAS [--all -f]",
        example="cairn rm repo my-project",
        flags=(Flag("all", "bool", "also delete the repository's files"), FORCE),
    )
    def rm(self, call: Call) -> Outcome:
        target = self.catalog.registry.one(_required(call))
        if target.alias in PROTECTED:
            raise Refused(
                f"the {target.alias!r} repository is always present and cannot be removed"
            )
        delete = bool(call.flag("all"))
        if delete and not call.flag("force"):
            question = f"delete {target.path} and all its files"
            if call.confirm is None or not call.confirm(question):
                raise Refused(f"--all deletes {target.path}", hint="add -f to confirm")
        self.catalog.registry.unregister(target)
        if delete:
            shutil.rmtree(target.path)
        verb = "Deleted" if delete else "Unregistered"
        return Outcome({"path": str(target.path)}, [f"{verb} repository {target} at {target.path}"])


def _arg(call: Call) -> str | None:
    return call.artifacts[0] if call.artifacts else None


def _required(call: Call) -> str:
    text = _arg(call)
    if not text:
        raise InvalidInput("name the repository (see: cairn list repo)")
    return text


def _alias_from(path: Path) -> str:
    alias = re.sub(r"[^A-Za-z0-9_.@+-]+", "-", path.name.lower()).strip("-.")
    return alias or "repo"


def _check_same(existing: Repo, call: Call) -> None:
    for key in ("alias", "uid", "prefix"):
        given = call.flag(key)
        if given is not None and given != getattr(existing, key):
            raise AlreadyExists(
                f"{existing.meta_file} already sets {key} = {getattr(existing, key)!r}, "
                f"not {given!r}",
                hint="edit cmr.yaml, or leave the flag out",
            )


def _repo_json(repo: Repo) -> dict[str, Any]:
    return {"alias": repo.alias, "uid": repo.uid, "path": str(repo.path), "prefix": repo.prefix}


def _repo_outcome(repo: Repo, line: str) -> Outcome:
    return Outcome({**_repo_json(repo), "meta": repo.meta}, [line])


def _artifact_counts(repo: Repo) -> dict[str, int]:
    counts: dict[str, int] = {}
    if not repo.root.is_dir():
        return counts
    for folder in sorted(p for p in repo.root.iterdir() if p.is_dir() and p.name[0] != "."):
        n = sum(1 for d in folder.iterdir() if d.is_dir() and repo_mod.has_meta(d))
        if n:
            counts[folder.name] = n
    return counts
