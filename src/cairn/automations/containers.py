"""``cairn docker script``: a script's build context written (``--to``), built (``--build``)
and run (``--run``), or an image's labels read (``--inspect``); and ``cairn run script
--docker``, the same run in such an image, its result read back. The work is in
:mod:`cairn.containers`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cairn.automations.contract import Call, Flag, Outcome

FLAGS = (
    Flag("to", "str", "the folder to write the build context into (new or empty)"),
    Flag(
        "base",
        "str",
        "the base image (default: the script's docker.base_image, else debian:bookworm)",
    ),
    Flag("lock", "str", "copy the repositories at the commits of this lock file"),
    Flag("wheel", "str", "the cairn wheel to install (default: built from the running cairn)"),
    Flag("build", "bool", "build the image with podman or docker"),
    Flag("run", "bool", "build and run the image: its input read-only, --result_dir writable"),
    Flag("tag", "str", "the image name (default: localhost/cairn-ALIAS)"),
    Flag("engine", "str", "podman or docker (default: the first installed)"),
    Flag("network", "str", "the run's network, passed through (none, host, ...)"),
    Flag("result_dir", "str", "with --run: the host folder for result.json (default: TO/out)"),
    Flag(
        "secret",
        "list",
        "ID=FILE or ID=env:VAR: a secret mounted at /run/secrets/ID in the build's dependency"
        " layers and the run, never stored in the image",
    ),
    Flag("inspect", "str", "show what image IMAGE was built from (its cairn.* labels)"),
)
DOCKER_FLAG = Flag(
    "docker",
    "bool",
    "run the script in a container built for it (with --engine --base --network --secret"
    " --tag --wheel --to --result_dir as for cairn docker script)",
)
NAMES = {f.name for f in FLAGS}
_NOT_INPUTS = NAMES | {"out", "action", "automation", "cmd", "unparsed_cmd", "docker"}
_NOT_RUN = {"lock", "locked", "allow_drift", "explain", "save_env", "docker"}
"""Flags of ``run script`` that mean something else here (or nothing in an image)."""


def run_flags(flags: tuple[Flag, ...]) -> tuple[Flag, ...]:
    """``run script``'s flags that pass into the image's run."""
    from cairn.automations import remote

    return tuple(f for f in flags if f.name not in _NOT_RUN | NAMES | remote.NAMES)


def script_input(raw: dict[str, Any]) -> dict[str, Any]:
    """The run's input without this action's own flags."""
    return {k: v for k, v in raw.items() if k not in NAMES}


def docker(catalog: Any, call: Call, run_input: Any, options: Any) -> Outcome:
    """Write the context; build and run it when asked (or ``--inspect`` an image)."""
    from cairn.errors import InvalidInput

    if call.flag("inspect"):
        return inspect_image(call)
    if not call.flag("to"):
        raise InvalidInput("where to? cairn docker script TAGS --to=DIR")
    to = Path(call.flag("to")).expanduser().absolute()
    building = bool(call.flag("build") or call.flag("run"))
    plan, manifest = _write(catalog, call, (run_input, options), to, building)
    lines = [f"Wrote the build context of {plan.alias} to {to} (base {_base_line(manifest)})"]
    data: dict[str, Any] = {"context": str(to), **manifest}
    if not building:
        return Outcome(data, lines)
    tool, tag = _build(call, to, plan, manifest)
    lines.append(f"Built image {tag} with {Path(tool).name}")
    data.update(image=tag, engine=Path(tool).name)
    if call.flag("run"):
        out = _path(call, "result_dir") or to / "out"
        _run(call, tool, tag, plan, to, out)
        data["result_file"] = str(out / "result.json")
        lines.append(f"The run's result is in {out / 'result.json'}")
    return Outcome(data, lines)


def run_script(catalog: Any, call: Call, run_input: Any, options: Any) -> Outcome:
    """``run script ... --docker``: the run in an image built for it; the run's own result
    (``new_env``, ``new_state``, the dependency tree as the run inside saw it)."""
    import tempfile

    flags = Call(call.artifacts, {n: call.raw.get(n) for n in NAMES}, call.raw)
    with tempfile.TemporaryDirectory(prefix="cairn-docker-") as tmp:
        to = _path(flags, "to") or Path(tmp) / "context"
        plan, manifest = _write(catalog, flags, (run_input, options), to.absolute(), True)
        tool, tag = _build(flags, to.absolute(), plan, manifest)
        out = _path(flags, "result_dir") or Path(tmp) / "out"
        document = _run(flags, tool, tag, plan, to.absolute(), out.absolute())
    data = _mapped(document, out.absolute() if flags.flag("result_dir") else None)
    data["container"] = {"image": tag, "engine": Path(tool).name, "base": _base_line(manifest)}
    lines = [f"ran in image {tag} ({Path(tool).name})"]
    lines += [f"{k}={v}" for k, v in sorted(data.get("new_env", {}).items())]
    return Outcome(data, lines)


def _mapped(document: dict[str, Any], out: Path | None) -> dict[str, Any]:
    """The run's answer; with a kept result folder, paths under ``/cairn/out`` as the host
    sees them."""
    data = {k: v for k, v in document.items() if k not in ("return", "error")}
    if out is None:
        return data
    for key in ("new_env", "new_state"):
        data[key] = _replace_prefix(data.get(key, {}), "/cairn/out", str(out))
    return data


def _replace_prefix(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str) and (value == old or value.startswith(old + "/")):
        return new + value[len(old) :]
    if isinstance(value, dict):
        return {k: _replace_prefix(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_prefix(v, old, new) for v in value]
    return value


def _write(
    catalog: Any, call: Call, run: tuple[Any, Any], to: Path, building: bool
) -> tuple[Any, dict[str, Any]]:
    """The plan and the context written (the base pinned when an engine knows it)."""
    from cairn.containers import context, dockerfile, engine

    plan = _plan(catalog, call, *run)
    image = dockerfile.base_image(plan.docker, call.flag("base"))
    tool = _engine_or_none(call)
    record = engine.inspect(tool, image) if tool else None
    if building and tool and record is None:
        engine.require_base(tool, image)
    manifest = context.write(
        plan,
        to,
        base=image,
        lock=_path(call, "lock"),
        wheel=_path(call, "wheel"),
        digest=engine.digest_of(record) if record else None,
        secrets=tuple(secrets(call)),
    )
    if not building and record is None:
        from cairn import report

        report.warn(f"the base image {image} is not on this machine: not pinned by digest")
    return plan, manifest


def _engine_or_none(call: Call) -> str | None:
    from cairn.containers import engine
    from cairn.errors import NotFound

    try:
        return engine.find(call.flag("engine"))
    except NotFound:
        return None


def _base_line(manifest: dict[str, Any]) -> str:
    digest = manifest.get("base_digest")
    return f"{manifest['base']}@{digest}" if digest else str(manifest["base"])


def secrets(call: Call) -> dict[str, str]:
    """``--secret=ID=FILE`` / ``ID=env:VAR`` (repeated or comma separated), each checked."""
    import os

    from cairn.containers.dockerfile import check_secret_id
    from cairn.errors import InvalidInput

    items = [part for value in call.repeated("secret") for part in value.split(",") if part]
    found: dict[str, str] = {}
    for item in items:
        ident, sep, spec = item.partition("=")
        if not sep or not spec:
            raise InvalidInput(f"--secret={item!r} is not ID=FILE or ID=env:VAR")
        check_secret_id(ident)
        if spec.startswith("env:"):
            if spec[4:] not in os.environ:
                raise InvalidInput(f"--secret={ident}=env:{spec[4:]}: {spec[4:]} is not set")
            found[ident] = spec
            continue
        path = Path(spec).expanduser().absolute()
        if not path.is_file():
            raise InvalidInput(f"--secret={ident}={spec}: no such file", hint="give a file")
        found[ident] = str(path)
    return found


def _path(call: Call, name: str) -> Path | None:
    value = call.flag(name)
    return Path(value).expanduser() if value else None


def _plan(catalog: Any, call: Call, run_input: Any, options: Any) -> Any:
    from cairn.containers import prerun
    from cairn.containers.context import Plan
    from cairn.script import run

    top, requests = prerun.plan(run.Session(catalog, options), run_input)
    registered = {r.alias: r for r in catalog.registry.repos()}
    used = {node.repo for node in top.walk() if node.repo}
    inputs = {k: v for k, v in call.raw.items() if k not in _NOT_INPUTS}
    docker_meta = _docker_meta(registered.get(top.repo), Path(top.path), top.variation_names)
    repos = {alias: registered[alias] for alias in used if alias in registered}
    return Plan(top.alias, inputs, docker_meta, repos, requests)


def _docker_meta(repo: Any, folder: Path, variations: list[str]) -> dict[str, Any]:
    """The top script's ``docker`` key with its chosen variations' merged in."""
    from cairn.containers import meta
    from cairn.meta import read_dir

    stem = repo.artifact_meta if repo is not None else "_cm"
    return meta.merged(read_dir(folder, stem).meta, variations)


def _build(call: Call, to: Path, plan: Any, manifest: dict[str, Any]) -> tuple[str, str]:
    """The engine and the image built from the context in ``to``."""
    from cairn.containers import engine

    tool = engine.find(call.flag("engine"))
    engine.require_base(tool, manifest["base"])
    tag = _tag(call, plan.alias)
    engine.build(tool, to, tag, secrets(call))
    return tool, tag


def _run(call: Call, tool: str, tag: str, plan: Any, to: Path, out: Path) -> dict[str, Any]:
    """Run the image; the run's JSON document (its failure as an error naming it)."""
    import json

    from cairn.containers import engine, meta
    from cairn.errors import CairnError

    out.mkdir(parents=True, exist_ok=True)
    mounts, inputs = meta.input_mounts(plan.docker, plan.inputs)
    mounts += meta.meta_mounts(plan.docker, dict(plan.inputs.get("env") or {}))
    given = to / "input.json"
    if inputs != plan.inputs:
        given = out / "cairn-input.json"
        given.write_text(json.dumps(inputs, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    command = engine.run_command(
        tool, tag, given, out, call.flag("network"), mounts=mounts, secrets=secrets(call)
    )
    code = engine.status(command)
    document = _document(out / "result.json")
    if document is None or code != 0:
        error = (document or {}).get("error") or f"exit {code}"
        raise CairnError(
            f"the run in image {tag} failed: {error}", hint=f"run it again: {' '.join(command)}"
        )
    return document


def _document(path: Path) -> dict[str, Any] | None:
    import json

    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def inspect_image(call: Call) -> Outcome:
    """``--inspect=IMAGE``: what a cairn image was built from, read from its labels; with
    ``--lock=FILE``, whether it was built from that lock."""
    import hashlib

    from cairn.containers import engine
    from cairn.errors import InvalidInput, NotFound

    image = call.flag("inspect")
    tool = engine.find(call.flag("engine"))
    record = engine.inspect(tool, image)
    if record is None:
        raise NotFound(f"no image {image} on this machine", hint=f"{Path(tool).name} images")
    labels = {k: v for k, v in engine.labels_of(record).items() if k.startswith("cairn.")}
    if not labels:
        raise InvalidInput(f"image {image} has no cairn.* labels: cairn did not build it")
    data: dict[str, Any] = {"image": image, "id": record.get("Id"), "labels": labels}
    lines = [f"{image}: " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))]
    lock = _path(call, "lock")
    if lock is not None:
        digest = hashlib.sha256(lock.read_bytes()).hexdigest()
        data["lock_matches"] = labels.get("cairn.lock.sha256") == digest
        said = "yes" if data["lock_matches"] else "no"
        if "cairn.lock.sha256" not in labels:
            said = "no (the image was built without --lock)"
        lines.append(f"built from {lock}: {said}")
    return Outcome(data, lines)


def _tag(call: Call, alias: str) -> str:
    import re

    from cairn.containers import dockerfile

    given = call.flag("tag")
    if given:
        return dockerfile.check_image(given, "--tag")
    return "localhost/cairn-" + re.sub(r"[^a-z0-9._-]", "-", alias.lower())
