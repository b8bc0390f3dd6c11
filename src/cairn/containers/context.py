"""A script's build context: the folder ``cairn docker script --to=DIR`` writes.

Its layout::

    DIR/Dockerfile           see :mod:`cairn.containers.dockerfile`
    DIR/wheels/cairn-*.whl   the running cairn, made from its own package folder (or --wheel)
    DIR/repos/FOLDER/        each repository the plan uses: ``git archive`` at the locked (or
                             checked-out) commit, or the folder of a non-Git repository; no .git
    DIR/prerun/N.json        the dependencies run while building, one layer each
                             (:mod:`cairn.containers.prerun`)
    DIR/input.json           the run's input (``cairn run script @input.json``)
    DIR/entrypoint.sh        runs it, ``--out=json``, into /cairn/out/result.json
    DIR/cairn-context.json   what went in: script, base, repositories and commits, lock digest

Nothing is pulled inside the image, and no credential is written: an input holding a URL with
credentials is refused (tokens go through secret mounts, see ``docs/containers.md``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import cairn
from cairn import report
from cairn.containers import dockerfile
from cairn.errors import CairnError, InvalidInput, NotFound

ENTRYPOINT = """#!/bin/sh
# Runs the script of this image with /cairn/input.json; the result (cairn's --out=json
# document) goes to $CAIRN_OUT/result.json (default /cairn/out, mount a writable folder there).
set -u
out=${CAIRN_OUT:-/cairn/out}
mkdir -p "$out"
status=0
cairn run script @/cairn/input.json --quiet --out=json "$@" > "$out/result.json" || status=$?
cat "$out/result.json"
exit $status
"""
MTIME = 946684800
"""The time every file of a context carries (2000-01-01), whatever its source's."""
_SAFE_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SKIPPED_REPOS = ("builtin", "local")
"""Repositories never copied: the built-in one is in the wheel, the local one is the home's."""


class Plan:
    """What goes into a context: the run's input, the script's docker meta, the
    repositories its plan uses (alias -> ``Repo``) and the dependency requests to pre-run."""

    def __init__(
        self,
        alias: str,
        inputs: dict[str, Any],
        docker: dict[str, Any],
        repos: dict[str, Any],
        prerun: list[dict[str, Any]] | None = None,
    ) -> None:
        self.alias = alias
        self.inputs = inputs
        self.docker = docker
        self.repos = repos
        self.prerun = prerun or []


def write(
    plan: Plan,
    to: Path,
    *,
    base: str | None = None,
    lock: Path | None = None,
    wheel: Path | None = None,
    digest: str | None = None,
    secrets: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Write the build context of ``plan`` into the new or empty folder ``to``; what went in.
    ``digest`` pins the base image; ``secrets`` are the ids the pre-run layers mount."""
    image = dockerfile.base_image(plan.docker, base)
    packages = dockerfile.os_packages(plan.docker)
    _refuse_credentials({"input": plan.inputs, "prerun": plan.prerun})
    locked = _locked_commits(lock) if lock else None
    stage = _prepare(to)
    try:
        extra = {"digest": digest, "secrets": [dockerfile.check_secret_id(s) for s in secrets]}
        manifest = _fill(stage, plan, (image, packages), (lock, wheel, locked), extra)
        stage.replace(to)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return manifest


def _fill(
    stage: Path, plan: Plan, system: tuple[str, list[str]], sources: Any, extra: dict[str, Any]
) -> dict[str, Any]:
    (image, packages), (lock, wheel, locked) = system, sources
    built = _wheel(stage / "wheels", wheel)
    repos = _copy_repos(plan.repos, stage / "repos", locked)
    manifest = {
        "script": plan.alias,
        "base": image,
        "base_digest": extra["digest"],
        "os_packages": packages,
        "cairn": cairn.__version__,
        "wheel": built.name,
        "repos": repos,
        "lock_sha256": _digest(lock) if lock else None,
        "prerun": len(plan.prerun),
        "secrets": extra["secrets"],
    }
    _write_prerun(stage / "prerun", plan.prerun)
    text = dockerfile.render(
        dockerfile.pinned(image, extra["digest"]),
        packages,
        built.name,
        [r["folder"] for r in repos],
        _labels(manifest),
        prerun=len(plan.prerun),
        secrets=extra["secrets"],
    )
    _write_text(stage / "Dockerfile", text)
    _write_text(stage / "input.json", json.dumps(plan.inputs, indent=1, sort_keys=True) + "\n")
    _write_text(stage / "entrypoint.sh", ENTRYPOINT, mode=0o755)
    _write_text(stage / "cairn-context.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    _fixed_times(stage)
    return manifest


def _fixed_times(folder: Path) -> None:
    """Every file of the context dated :data:`MTIME`: the engine's cache of a ``COPY`` layer
    counts file times, so the same content must look the same to reuse a built layer."""
    for parent, dirs, files in os.walk(folder, topdown=False):
        for name in [*files, *dirs]:
            os.utime(os.path.join(parent, name), (MTIME, MTIME), follow_symlinks=False)
    os.utime(folder, (MTIME, MTIME))


def _write_prerun(folder: Path, requests: list[dict[str, Any]]) -> None:
    if not requests:
        return
    folder.mkdir()
    for number, request in enumerate(requests, start=1):
        text = json.dumps(request, indent=1, sort_keys=True) + "\n"
        _write_text(folder / f"{number}.json", text)


def _labels(manifest: dict[str, Any]) -> dict[str, str]:
    """The image's labels: what it was built from (``cairn docker script --inspect``)."""
    labels = {
        "cairn.version": manifest["cairn"],
        "cairn.script": manifest["script"],
        "cairn.base": manifest["base"],
        "cairn.repos": " ".join(
            f"{r['alias']}={r['commit'] or 'folder'}" for r in manifest["repos"]
        ),
    }
    if manifest["base_digest"]:
        labels["cairn.base.digest"] = manifest["base_digest"]
    if manifest["lock_sha256"]:
        labels["cairn.lock.sha256"] = manifest["lock_sha256"]
    return labels


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refuse_credentials(inputs: dict[str, Any]) -> None:
    from cairn.store import git

    text = json.dumps(inputs, sort_keys=True)
    if git.redact_text(text) != text:
        raise InvalidInput(
            "an input holds a URL with credentials; it would be written into the image",
            hint="give tokens at run time through a secret mount (docs/containers.md), "
            "not in the URL",
        )


def _prepare(to: Path) -> Path:
    """A staging folder beside ``to`` (renamed to it when complete); ``to`` must be new or an
    empty folder."""
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise InvalidInput(
            f"--to={to} exists and is not an empty folder",
            hint="give a new folder (the context is written from scratch)",
        )
    try:
        to.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".cairn-tmp-docker-", dir=to.parent))
        stage.chmod(0o755)
        (stage / "wheels").mkdir()
        (stage / "repos").mkdir()
    except OSError as exc:
        raise InvalidInput(
            f"cannot write the build context into {to}: {exc.strerror}",
            hint="give a folder you may write with --to=DIR",
        ) from None
    return stage


def _write_text(path: Path, text: str, mode: int = 0o644) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def source_tree() -> Path | None:
    """The project folder of the running cairn (``pyproject.toml`` beside ``src/cairn``)."""
    root = Path(cairn.__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def _wheel(folder: Path, given: Path | None) -> Path:
    """The running cairn as a wheel in ``folder``: ``given`` copied, else made from the
    package folder it runs from (:mod:`cairn.containers.wheel`)."""
    if given is None:
        from cairn.containers import wheel

        return wheel.build(folder)
    if not given.is_file() or not given.name.startswith("cairn-") or given.suffix != ".whl":
        raise InvalidInput(f"--wheel={given} is not a cairn wheel file (cairn-*.whl)")
    return Path(shutil.copy2(given, folder / given.name))


def _locked_commits(lock: Path) -> dict[str, str | None]:
    from cairn.runs import lock as lock_mod

    data = lock_mod.read(lock)
    return {alias: repo.get("commit") for alias, repo in (data.get("repos") or {}).items()}


def _copy_repos(
    repos: dict[str, Any], dest: Path, locked: dict[str, str | None] | None
) -> list[dict[str, Any]]:
    copied = []
    for number, (alias, repo) in enumerate(sorted(repos.items())):
        if alias in _SKIPPED_REPOS:
            continue
        folder = alias if _SAFE_FOLDER.fullmatch(alias) else f"repo{number}"
        commit = _commit_for(alias, repo.path, locked)
        _copy_repo(repo.path, dest / folder, commit)
        copied.append({"alias": alias, "folder": folder, "commit": commit, "url": _url(repo)})
    return copied


def _url(repo: Any) -> str | None:
    from cairn.store import git

    found = git.origin(repo.path)
    return git.redact(found) if found else None


def _commit_for(alias: str, path: Path, locked: dict[str, str | None] | None) -> str | None:
    """The commit to copy: the lock's, else the checked-out one (None: not a Git repository)."""
    from cairn.runs import gitstate

    state = gitstate.state(path)
    if locked is not None:
        if alias not in locked:
            raise InvalidInput(
                f"repository {alias} is used by the script but not in the lock",
                hint="write the lock again: cairn run script ... --lock=FILE",
            )
        return locked[alias]
    if state and state.get("dirty"):
        report.warn(f"repository {alias} has uncommitted changes; the image holds its last commit")
    return state.get("commit") if state else None


def _copy_repo(source: Path, dest: Path, commit: str | None) -> None:
    if commit is None:
        shutil.copytree(source, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        return
    _archive_commit(source, dest, commit)


def _archive_commit(source: Path, dest: Path, commit: str) -> None:
    """The tree of ``commit`` (``git archive``) unpacked into ``dest``: no ``.git``."""
    from cairn.store import archive, git

    if not re.fullmatch(r"[0-9a-f]{7,64}", commit):
        raise InvalidInput(f"commit {commit!r} of repository {source} is not a commit id")
    with tempfile.TemporaryDirectory() as scratch:
        tar = Path(scratch) / "repo.tar"
        try:
            git.run(["archive", "--format=tar", "-o", str(tar), commit, "--"], cwd=source)
        except CairnError as exc:
            raise NotFound(
                f"commit {commit} is not in repository {source}: {exc}",
                hint="fetch it there (git fetch) or write the lock again",
            ) from None
        archive.unpack_into(tar, dest)
