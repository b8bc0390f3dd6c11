"""What each point of a sweep runs: a script or a command, made concrete for one point.

A **script** target is ``--script="TAGS _variations"`` plus fixed inputs; a point's values
become the run's inputs: ``KEY`` an input (``--KEY=value``, as a script's
``input_mapping`` takes it), ``env.NAME`` an env value, ``const.NAME``/``state.NAME``
likewise, and the key ``variations`` adds variations (``_fp32 _bs.4``, separated by
spaces) to the script's name.

A **command** target is the argv after ``--``; ``{{KEY}}`` in any argument is replaced by the
point's value of ``KEY`` (or of ``CM_EXPERIMENT_STEP``, ``CM_EXPERIMENT_PATH``,
``CM_EXPERIMENT_PATH2``, ``CM_EXPERIMENT_PATH3``: the step number, the experiment's
folder, the sweep's folder and the point's folder, as in CM). The values are also in the
command's env under their names. The command is run as an argv, never through a shell
(write ``-- sh -c '...'`` to get one). An unknown ``{{KEY}}`` is an error before anything
runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cairn.errors import InvalidInput
from cairn.experiment import results, tasks
from cairn.record import Defaulted, field

VARIATIONS = "variations"
_NESTED = ("env", "const", "state", "const_state")
_PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")


class Target(Defaulted):
    """What every point runs (stored in the sweep file as :meth:`to_json`)."""

    kind: str  # tasks.SCRIPT or tasks.COMMAND
    script: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    argv: tuple[str, ...] = ()
    result_keys: tuple[str, ...] = ()
    result_file: str = results.OUTPUT_FILE
    timeout: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "script": self.script,
            "inputs": self.inputs,
            "argv": list(self.argv),
            "result_keys": list(self.result_keys),
            "result_file": self.result_file,
            "timeout": self.timeout,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Target:
        return cls(
            kind=str(data["kind"]),
            script=str(data.get("script") or ""),
            inputs=dict(data.get("inputs") or {}),
            argv=tuple(str(a) for a in data.get("argv") or ()),
            result_keys=tuple(str(k) for k in data.get("result_keys") or ()),
            result_file=str(data.get("result_file") or results.OUTPUT_FILE),
            timeout=data.get("timeout"),
        )

    def check(self, keys: Sequence[str]) -> None:
        """Refuse, before anything runs, a command naming a ``{{KEY}}`` no point has."""
        if self.kind != tasks.COMMAND:
            return
        known = {*keys, *_STEP_KEYS}
        for arg in self.argv:
            for name in _PLACEHOLDER.findall(arg):
                if name.strip() not in known:
                    raise InvalidInput(
                        f"the command names {{{{{name}}}}}, which is not an explored key",
                        hint="explored keys: "
                        + (", ".join(keys) or "none")
                        + "; also "
                        + ", ".join(_STEP_KEYS),
                    )


_STEP_KEYS = (
    "CM_EXPERIMENT_STEP",
    "CM_EXPERIMENT_PATH",
    "CM_EXPERIMENT_PATH2",
    "CM_EXPERIMENT_PATH3",
)


class Step(Defaulted):
    """Where and which step a point's run is: for CM's ``CM_EXPERIMENT_*`` values."""

    number: int
    experiment: Path
    sweep: Path
    folder: Path


def task(
    target: Target, values: Mapping[str, Any], step: Step
) -> tuple[dict[str, Any], tasks.PointTask]:
    """The task of one point and the input recorded beside it (``cm-input.json``)."""
    if target.kind == tasks.SCRIPT:
        return _script_task(target, values, step)
    return _command_task(target, values, step)


def _step_env(step: Step) -> dict[str, str]:
    return {
        "CM_EXPERIMENT_STEP": str(step.number),
        "CM_EXPERIMENT_PATH": str(step.experiment),
        "CM_EXPERIMENT_PATH2": str(step.sweep),
        "CM_EXPERIMENT_PATH3": str(step.folder),
    }


def _command_task(
    target: Target, values: Mapping[str, Any], step: Step
) -> tuple[dict[str, Any], tasks.PointTask]:
    env = {**_step_env(step), **{k: _text(v) for k, v in values.items()}}
    argv = tuple(
        _PLACEHOLDER.sub(lambda m: env.get(m.group(1).strip(), m.group(0)), a) for a in target.argv
    )
    point_env = {k: v for k, v in env.items() if _env_name(k)}
    made = tasks.PointTask(
        kind=tasks.COMMAND,
        argv=argv,
        cwd=str(step.folder),
        env=point_env,
        result_file=target.result_file,
        timeout=target.timeout,
    )
    return {"command": list(argv), "env": point_env}, made


def _env_name(key: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _script_task(
    target: Target, values: Mapping[str, Any], step: Step
) -> tuple[dict[str, Any], tasks.PointTask]:
    inputs = script_input(target, values)
    argv = tasks.cairn_argv(
        "run",
        "script",
        f"@{results.INPUT_FILE}",
        "--out=json",
        "--quiet",
        f"--lock={tasks.LOCK_FILE}",
    )
    made = tasks.PointTask(
        kind=tasks.SCRIPT,
        argv=argv,
        cwd=str(step.folder),
        env=_step_env(step),
        result_keys=target.result_keys,
        timeout=target.timeout,
        files={results.INPUT_FILE: json.dumps(inputs, indent=2, ensure_ascii=False) + "\n"},
    )
    return inputs, made


def script_input(target: Target, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``run script`` input of one point: the target's inputs, then the point's values
    (``env.X`` nested, ``variations`` added to the name)."""
    data: dict[str, Any] = {k: _copy(v) for k, v in target.inputs.items()}
    name = target.script
    for key, value in values.items():
        if key == VARIATIONS:
            name = f"{name} {_variations(value)}".strip()
            continue
        head, _, rest = key.partition(".")
        if rest and head in _NESTED:
            data.setdefault(head, {})[rest] = _text(value) if head != "state" else value
        else:
            data[key] = value
    data["artifact"] = name
    return data


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _variations(value: Any) -> str:
    words = str(value).replace(",", " ").split()
    bad = [w for w in words if not w.startswith("_")]
    if bad:
        raise InvalidInput(
            f"explored variations {value!r}: {bad[0]!r} is not a variation",
            hint="write variations with a leading underscore: --explore.variations=_fp32,_int8",
        )
    return " ".join(words)
