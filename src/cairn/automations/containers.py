"""``cairn docker script``: a script's build context written (``--to``), built (``--build``)
and run (``--run``); the work is in :mod:`cairn.containers`."""

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
)
NAMES = {f.name for f in FLAGS}
_NOT_INPUTS = NAMES | {"out", "action", "automation", "cmd", "unparsed_cmd"}
_NOT_RUN = {"lock", "locked", "allow_drift", "explain", "save_env"}
"""Flags of ``run script`` that mean something else here (or nothing in an image)."""


def run_flags(flags: tuple[Flag, ...]) -> tuple[Flag, ...]:
    """``run script``'s flags that pass into the image's run."""
    from cairn.automations import remote

    return tuple(f for f in flags if f.name not in _NOT_RUN | NAMES | remote.NAMES)


def script_input(raw: dict[str, Any]) -> dict[str, Any]:
    """The run's input without this action's own flags."""
    return {k: v for k, v in raw.items() if k not in NAMES}


def docker(catalog: Any, call: Call, run_input: Any, options: Any) -> Outcome:
    """Write the context; build and run it when asked."""
    from cairn.containers import context
    from cairn.errors import InvalidInput

    if not call.flag("to"):
        raise InvalidInput("where to? cairn docker script TAGS --to=DIR")
    to = Path(call.flag("to")).expanduser().absolute()
    plan = _plan(catalog, call, run_input, options)
    manifest = context.write(
        plan, to, base=call.flag("base"), lock=_path(call, "lock"), wheel=_path(call, "wheel")
    )
    lines = [f"Wrote the build context of {plan.alias} to {to} (base {manifest['base']})"]
    data: dict[str, Any] = {"context": str(to), **manifest}
    if call.flag("build") or call.flag("run"):
        data.update(_build_and_run(call, to, plan.alias, lines))
    return Outcome(data, lines)


def _path(call: Call, name: str) -> Path | None:
    value = call.flag(name)
    return Path(value).expanduser() if value else None


def _plan(catalog: Any, call: Call, run_input: Any, options: Any) -> Any:
    from cairn.containers.context import Plan
    from cairn.script import plan, run

    top = plan.plan(run.Session(catalog, options), run_input)
    if top.error:
        from cairn.errors import CairnError

        raise CairnError(f"cannot plan {top.alias}: {top.error}")
    registered = {r.alias: r for r in catalog.registry.repos()}
    used = {node.repo for node in top.walk() if node.repo}
    inputs = {k: v for k, v in call.raw.items() if k not in _NOT_INPUTS}
    docker_meta = _docker_meta(registered.get(top.repo), Path(top.path))
    repos = {alias: registered[alias] for alias in used if alias in registered}
    return Plan(top.alias, inputs, docker_meta, repos)


def _docker_meta(repo: Any, folder: Path) -> dict[str, Any]:
    """The top script's own ``docker`` key (variations' ``docker`` are not merged in)."""
    from cairn.meta import read_dir

    stem = repo.artifact_meta if repo is not None else "_cm"
    value = read_dir(folder, stem).meta.get("docker") or {}
    return dict(value) if isinstance(value, dict) else {}


def _build_and_run(call: Call, to: Path, alias: str, lines: list[str]) -> dict[str, Any]:
    from cairn.containers import engine

    tool = engine.find(call.flag("engine"))
    tag = _tag(call, alias)
    engine.call(engine.build_command(tool, to, tag), f"building {to}")
    lines.append(f"Built image {tag} with {Path(tool).name}")
    data: dict[str, Any] = {"image": tag, "engine": Path(tool).name}
    if call.flag("run"):
        out = _path(call, "result_dir") or to / "out"
        out.mkdir(parents=True, exist_ok=True)
        command = engine.run_command(tool, tag, to / "input.json", out, call.flag("network"))
        engine.call(command, f"running image {tag}")
        data["result_file"] = str(out / "result.json")
        lines.append(f"The run's result is in {out / 'result.json'}")
    return data


def _tag(call: Call, alias: str) -> str:
    import re

    from cairn.containers import dockerfile

    given = call.flag("tag")
    if given:
        return dockerfile.check_image(given, "--tag")
    return "localhost/cairn-" + re.sub(r"[^a-z0-9._-]", "-", alias.lower())
