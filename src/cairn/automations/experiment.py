"""The ``experiment`` automation: sweeps, their tables, comparisons, Pareto fronts, plots and
replay (the work is done in :mod:`cairn.experiment`; this module is the CLI/API surface).

cairn's ``experiment`` serves every action on the kind, also in repositories that carry
CM's own ``automation/experiment/module.py`` (cmx4mlops): CM's module is never run. Its
on-disk format is kept, so experiments written by either are read by both.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cairn.automations import remote
from cairn.automations.common import TAGS, CommonAutomation
from cairn.automations.contract import (
    COMMON_NAMES,
    CONTROL_KEYS,
    ActionSpec,
    Call,
    Flag,
    Outcome,
    action,
)
from cairn.errors import ActionNotFound, CairnError, InvalidInput, NotFound
from cairn.experiment import store
from cairn.experiment import sweep as sweeps

_SWEEP = Flag("sweep", "str", "which sweep: latest, or a sweep folder's name (default: all)")
_FILTER = Flag("filter", "str", "keep rows matching: 'Accuracy>=75.9 and Model~resnet'")
_SORT = Flag("sort", "str", "sort by keys: -Result,Model (- for descending)")
_COLUMNS = Flag("columns", "list", "the columns to show (default: inputs, results, status)")

_RUN_FLAGS = (
    TAGS,
    Flag("script", "str", 'the script each point runs: "TAGS _variations"'),
    Flag("explore", "dict", "a dimension of the space: --explore.KEY=a,b,c | 1..8 | 1..64:x2"),
    Flag("space", "str", "a YAML/JSON space file (explore, zip, sample, constant)"),
    Flag("zip", "list", "keys that advance together instead of crossing: --zip=model+dataset"),
    Flag("sample", "str", "run N points drawn from the space at random (seeded)"),
    Flag("seed", "str", "the seed of --sample (default 0)"),
    Flag("repeat", "str", "run each point N times (results: median and spread)"),
    Flag("jobs", "str", "run N points at a time on this machine (default 1)", aliases=("j",)),
    Flag("result", "list", "the exports of a script that are results (default: every one)"),
    Flag("result_file", "str", "the JSON file a command writes its results to"),
    Flag("timeout", "str", "seconds a point may run before it is stopped and failed"),
    Flag("resume", "switch", "continue the last unfinished sweep (or the one named)"),
    Flag("strict", "bool", "exit non-zero when a point failed (failures are recorded anyway)"),
    *remote.FLAGS,
)
_FRONT_FLAGS = (
    Flag("objective", "list", "KEY:max or KEY:min (margin: KEY:min:5%); repeat for more"),
    Flag("constraint", "str", "keep only points matching: 'Accuracy>=75.9' (repeatable)"),
    Flag("margin", "str", "a relative margin for every objective: 2% (noisy near-ties kept)"),
    Flag("group_by", "list", "one front per value of these keys"),
    Flag("plot", "list", "also draw the front: front.png, front.svg, front.html"),
    Flag("x", "str", "the picture's x key (default: the first objective)"),
    Flag("y", "str", "the picture's y key (default: the second objective)"),
    Flag("label", "list", "the keys that label a point in pictures (default: its inputs)"),
)
_PLOT_FLAGS = (
    Flag("x", "str", "the x key, with its sense to draw the front: Latency:min"),
    Flag("y", "str", "the y key, with its sense to draw the front: Result:max"),
    Flag("file", "list", "the files to write: plot.html, plot.png, plot.svg"),
    Flag("group_by", "list", "one colour (and front) per value of these keys"),
    Flag("log", "list", "logarithmic axes: x, y or x,y"),
    Flag("label", "list", "the keys that label a point in pictures (default: its inputs)"),
)
_RUN_KEYS = {f.name for f in _RUN_FLAGS} | {a for f in _RUN_FLAGS for a in f.aliases}
_CM_ACTIONS = {
    "rerun": "CM's rerun is not cairn's: continue a sweep with cairn run experiment NAME"
    " --resume, run its points again and check them with cairn replay experiment NAME",
    "test": "CM's test (it prints its input) is not cairn's",
}
"""Actions of CM's ``automation/experiment/module.py`` that cairn's experiment has not."""


class ExperimentAutomation(CommonAutomation):
    """Experiments: sweeps of a script or command, their results, fronts and replays."""

    summary = "sweeps over a space of inputs: results, compare, Pareto fronts, plots, replay"

    @classmethod
    def spec(cls, name: str, automation: str) -> ActionSpec:
        """As for every automation; CM's own actions cairn does not run say what it offers."""
        try:
            return super().spec(name, automation)
        except ActionNotFound as missing:
            if name in _CM_ACTIONS:
                missing.hint = f"{_CM_ACTIONS[name]}; {missing.hint}"
            raise

    @action(
        "run",
        summary="run a sweep: every point of a space through a script or a command",
        usage='cairn run experiment NAME (--script="TAGS _v" | -- CMD {{KEY}}) '
        "--explore.KEY=a,b [--space=FILE] [--repeat=N] [--jobs=N] [--resume]",
        example='cairn run experiment bs-sweep --script="app bench" --explore.batch_size=1,2,4'
        " --jobs=2",
        flags=_RUN_FLAGS,
        any_flags=True,
    )
    def run(self, call: Call) -> Outcome:

        chosen = self._executor(call)
        artifact, folder = self._sweep_to_run(call)
        listener = _listener(call.raw.get("out"))
        records = self.catalog.registry.local().root / "run"
        progress = sweeps.run(folder, chosen, listener=listener, records=records)
        loaded = store.load(artifact, folder.name)
        _warn_missing_results(folder, loaded.rows, records)
        outcome = Outcome(
            _run_data(artifact, folder, progress, loaded),
            _run_lines(artifact, folder, progress, loaded),
        )
        if progress.failed and call.flag("strict"):
            raise PointsFailed(progress.failed, progress.total, outcome)
        return outcome

    def _executor(self, call: Call) -> Any:
        """The local pool (``--jobs``), or a Dask cluster (``--executor=dask``)."""
        from cairn.experiment import executor

        if (call.flag("executor") or "local") == "local":
            return executor.LocalExecutor(_count(call.flag("jobs"), "jobs", 1))
        return remote.executor(call, self.catalog)

    def _sweep_to_run(self, call: Call) -> tuple[Any, Path]:
        name = call.artifacts[0] if call.artifacts else None
        resume = call.flag("resume")
        if resume:
            artifact = store.find(self.catalog, name, call.flag("tags"))
            return artifact, _resumable(artifact, call.raw.get("resume"))
        spec_input = _sweep_input(call)
        artifact = store.find_or_add(self.catalog, name, call.flag("tags", []))
        spec = _spec(call, _title(artifact), spec_input)
        return artifact, sweeps.create(artifact.path, spec)

    @action(
        "show",
        summary="an experiment's results as a table: one line per point, repeats aggregated",
        usage="cairn show experiment NAME [--filter=EXPR] [--sort=-KEY] [--columns=A,B] "
        "[--sweep=latest] [--out=json|csv]",
        example="cairn show experiment mlperf-inference--v4.1--datacenter--closed--image-"
        "classification--offline --filter='Accuracy>=75.9' --sort=-Result",
        flags=(TAGS, _SWEEP, _FILTER, _SORT, _COLUMNS),
        outputs=("con", "json", "csv"),
    )
    def show(self, call: Call) -> Outcome:
        from cairn.experiment import table as tables

        artifact = store.find(self.catalog, _name(call), call.flag("tags"))
        loaded = store.load(artifact, call.flag("sweep"))
        table = tables.aggregate(loaded.rows, loaded.inputs)
        _warn_unknown_keys(table, _named_keys(call))
        lines, columns = _selected(call, table)
        data: dict[str, Any] = {
            "experiment": _title(artifact),
            "path": str(artifact.path),
            "sweeps": [s.name for s in loaded.sweeps],
            "columns": columns,
            "rows": [tables.line_json(line) for line in lines],
        }
        if call.raw.get("out") == "csv":
            data["csv"] = tables.csv_text(lines, columns)
        shown = [f"experiment {_title(artifact)}: {len(lines)} of {len(table.lines)} points"]
        return Outcome(
            data, [*shown, *tables.render(table, lines, columns), *_more(table, columns)]
        )

    @action(
        "pareto",
        summary="the Pareto front of an experiment: any number of objectives, margins, "
        "constraints, groups; as a table and pictures",
        usage="cairn pareto experiment NAME --objective=KEY:max --objective=KEY:min "
        "[--constraint=EXPR] [--margin=2%] [--group_by=KEY] [--plot=front.png,front.html]",
        example="cairn pareto experiment mlperf-inference--v4.1--datacenter--closed--image-"
        "classification--offline --objective=Result:max --objective=accelerators_per_node:min",
        flags=(TAGS, _SWEEP, _FILTER, _SORT, _COLUMNS, *_FRONT_FLAGS),
        outputs=("con", "json", "csv"),
    )
    def pareto(self, call: Call) -> Outcome:
        from cairn.experiment import figures, pareto
        from cairn.experiment import table as tables

        objectives = [pareto.Objective.parse(o) for o in _objectives(call)]
        pictures = figures.check_files(call.flag("plot", []))
        if pictures and len(objectives) < 2 and not call.flag("y"):
            raise InvalidInput("a picture needs two keys", hint="give two objectives, or --y")
        artifact, _, table, lines = self._lines(call, call.repeated("constraint"))
        _warn_unknown_keys(table, [*_named_keys(call), *(o.key for o in objectives)])
        failed = [line for line in lines if line.values.get("status") == "failed"]
        lines = [line for line in lines if line.values.get("status") != "failed"]
        group_by = list(call.flag("group_by", []))
        found = pareto.select(
            [line.values for line in lines], objectives, margin=_margin(call), group_by=group_by
        )
        first = objectives[0]
        front = _sorted(
            [line for line, on in zip(lines, found.on_front, strict=True) if on],
            call.flag("sort") or (f"-{first.key}" if first.maximize else first.key),
        )
        columns = _front_columns(call, table, objectives, group_by)
        data: dict[str, Any] = {
            "experiment": _title(artifact),
            "objectives": [str(o) for o in objectives],
            "points": len(lines),
            "failed": len(failed),
            "front": [tables.line_json(line) for line in front],
            "left_out": len(found.left_out),
            "columns": columns,
        }
        text = _front_head(_title(artifact), len(front), len(lines), len(failed), found, group_by)
        if pictures:
            drawn = figures.scatter(
                f"{_title(artifact)}: Pareto front",
                table,
                lines,
                *_axes(call, objectives),
                on_front=found.on_front,
                group_by=group_by,
                records=self._records(),
                labels=call.flag("label", []),
            )
            data["pictures"] = figures.write(drawn, pictures, data["front"])
            text += [f"wrote {p}" for p in data["pictures"]]
        if call.raw.get("out") == "csv":
            data["csv"] = tables.csv_text(front, columns)
        return Outcome(data, [*text, *tables.render(table, front, columns)])

    @action(
        "plot",
        summary="a scatter of two keys of an experiment (PNG, SVG or an interactive HTML page)",
        usage="cairn plot experiment NAME --x=KEY[:max|min] --y=KEY[:max|min] "
        "[--file=plot.html,plot.png] [--group_by=KEY] [--filter=EXPR] [--log=x,y]",
        example="cairn plot experiment bs-sweep --x=LATENCY:min --y=THROUGHPUT:max --file=bs.html",
        flags=(TAGS, _SWEEP, _FILTER, *_PLOT_FLAGS),
    )
    def plot(self, call: Call) -> Outcome:
        from cairn.experiment import figures, pareto

        if not call.flag("x") or not call.flag("y"):
            raise InvalidInput("which keys? give --x=KEY and --y=KEY", hint="e.g. --x=Result:max")
        files = call.flag("file") or [f"{_name(call) or 'experiment'}-plot.html"]
        pictures = figures.check_files(files)
        artifact, _, table, lines = self._lines(call, [])
        x, y = _axes(call, [])
        _warn_unknown_keys(table, [*_named_keys(call), x.key, y.key])
        on_front: tuple[bool, ...] = ()
        if x.sense and y.sense:
            objectives = [
                pareto.Objective(key=x.key, sense=x.sense),
                pareto.Objective(key=y.key, sense=y.sense),
            ]
            found = pareto.select(
                [line.values for line in lines],
                objectives,
                group_by=list(call.flag("group_by", [])),
            )
            on_front = found.on_front
        drawn = figures.scatter(
            f"{_title(artifact)}: {y.key} against {x.key}",
            table,
            lines,
            x,
            y,
            on_front=on_front,
            group_by=list(call.flag("group_by", [])),
            records=self._records(),
            labels=call.flag("label", []),
        )
        rows = [line.values for line, on in zip(lines, on_front, strict=False) if on]
        written = figures.write(drawn, pictures, rows)
        return Outcome(
            {"pictures": written, "points": len(drawn.points)}, [f"wrote {p}" for p in written]
        )

    def _lines(self, call: Call, constraints: list[str]) -> tuple[Any, Any, Any, list[Any]]:
        """The experiment, its rows, its table and the lines the filters keep."""
        from cairn.experiment import table as tables
        from cairn.experiment.query import Filter

        artifact = store.find(self.catalog, _name(call), call.flag("tags"))
        loaded = store.load(artifact, call.flag("sweep"))
        table = tables.aggregate(loaded.rows, loaded.inputs)
        lines = list(table.lines)
        wanted = [*call.repeated("filter"), *constraints]
        if wanted:
            chosen = Filter.parse_all(wanted)
            lines = [line for line in lines if chosen.matches(line.values)]
        return artifact, loaded, table, lines

    def _records(self) -> Path:
        return self.catalog.registry.local().root / "run"

    @action(
        "compare",
        summary="two experiments (or two points, NAME@POINT) side by side: result deltas "
        "and what differed in their environment",
        usage="cairn compare experiment A B [--by=KEY,...] [--sweep=latest]",
        example="cairn compare experiment bs-sweep-old bs-sweep --by=batch_size,threads",
        flags=(_SWEEP, Flag("by", "list", "the keys that identify a point on both sides")),
    )
    def compare(self, call: Call) -> Outcome:
        from cairn.experiment import compare as comparing
        from cairn.runs import diff as run_diff

        if len(call.artifacts) != 2:
            raise InvalidInput(
                f"compare takes two experiments (or NAME@POINT), got {len(call.artifacts)}",
                hint="cairn compare experiment A B",
            )
        a, b = (self._side(text, call.flag("sweep")) for text in call.artifacts)
        by = _compared_by(a, b, call.flag("by", []))
        pairs, only_a, only_b = comparing.pairs(a.table, b.table, by)
        env_a, env_b = a.run_side("A"), b.run_side("B")
        environment = run_diff.compare(env_a, env_b) if env_a and env_b else None
        notes = [
            f"{side.label}: {n} points share their {', '.join(by)} with another; matched in"
            " order (add keys to --by to tell them apart)"
            for side in (a, b)
            if (n := comparing.ambiguous(side.table, by))
        ]
        result = comparing.Comparison(
            by=by,
            pairs=pairs,
            only_a=only_a,
            only_b=only_b,
            environment=environment,
            notes=notes,
        )
        text = comparing.lines(result, a.label, b.label)
        if environment is not None:
            from cairn.automations.runs import diff_lines

            text += ["", "environment (one run of each side):", *diff_lines(environment)[2:]]
        else:
            text += ["", "environment: not recorded on both sides (rows written by CM)"]
        data = {
            "a": a.label,
            "b": b.label,
            "by": by,
            "pairs": [p.to_json() for p in pairs],
            "only_a": only_a,
            "only_b": only_b,
            "environment": environment.to_json() if environment is not None else None,
        }
        return Outcome(data, text)

    def _side(self, text: str, which: str | None) -> _Side:
        from cairn.experiment import table as tables

        name, _, point = text.partition("@")
        artifact = store.find(self.catalog, name, None)
        loaded = store.load(artifact, which)
        rows = loaded.rows
        if point:
            rows = [
                r
                for r in rows
                if str(r.get("point", "")).startswith(point)
                or str(r.get("uid", "")).startswith(point)
            ]
            if not rows:
                raise NotFound(f"experiment {_title(artifact)} has no point or run {point!r}")
        return _Side(
            text, tables.aggregate(rows, loaded.inputs), rows, artifact.path, self._records()
        )

    @action(
        "replay",
        summary="run recorded points again from their locks; per point: reproduced or not, "
        "and what drifted",
        usage="cairn replay experiment NAME [--point=ID,...] [--sweep=latest] [--tolerance=5%]",
        example="cairn replay experiment bs-sweep --tolerance=5%",
        flags=(
            TAGS,
            _SWEEP,
            Flag("point", "list", "the points to replay (id prefixes; default: every one)"),
            Flag("tolerance", "str", "relative difference allowed for numbers: 5% or 0.05"),
            Flag("keys", "list", "the results to compare (default: every recorded one)"),
            Flag("jobs", "str", "replay N points at a time (default 1)", aliases=("j",)),
        ),
    )
    def replay(self, call: Call) -> Outcome:
        from cairn.experiment import executor, replay
        from cairn.runs import replaying

        tolerance = replaying.tolerance(call.flag("tolerance"))
        artifact = store.find(self.catalog, _name(call), call.flag("tags"))
        folder = _replayed_sweep(artifact, call.flag("sweep"))
        spec, rows = sweeps.load(folder)
        picked = replay.chosen(spec, rows, call.flag("point", []))
        if not picked:
            raise NotFound(f"sweep {folder.name} has no successful point to replay")
        jobs = _count(call.flag("jobs"), "jobs", 1)
        verdicts = replay.replay(
            spec, folder, picked, executor.LocalExecutor(jobs), tolerance, call.flag("keys", [])
        )
        outcome = Outcome(
            {
                "sweep": folder.name,
                "points": [v.to_json() for v in verdicts],
                "reproduced": all(v.reproduced for v in verdicts),
            },
            [f"experiment {_title(artifact)}, sweep {folder.name}:", *replay.lines(verdicts)],
        )
        if not outcome.data["reproduced"]:
            raise NotReproduced(outcome)
        return outcome


def _compared_by(a: _Side, b: _Side, by: list[str]) -> list[str]:
    """The keys that match lines: ``--by``; none for two single points (``A@P B@Q``: they
    are compared with each other, inputs included); else the inputs both sides explored."""
    from cairn.experiment import compare as comparing

    if not by and a.point and b.point and len(a.table.lines) == len(b.table.lines) == 1:
        return []
    return comparing.match_keys(a.table, b.table, by)


class _Side:
    """One side of ``compare``: its table and a way to its environment."""

    def __init__(self, label: str, table: Any, rows: list[Any], path: Path, records: Path) -> None:
        self.label = label
        self.table = table
        self.rows = rows
        self.path = path
        self.records = records
        self.point = "@" in label

    def run_side(self, label: str) -> Any:
        from cairn.experiment import compare as comparing

        for row in self.rows:
            side = comparing.run_side(row, self.path / str(row.get("sweep")), self.records, label)
            if side is not None:
                return side
        return None


class NotReproduced(CairnError):
    """Some replayed points did not reproduce their recorded results."""

    def __init__(self, outcome: Outcome) -> None:
        failed = [p["point"][:8] for p in outcome.data["points"] if not p["reproduced"]]
        super().__init__(
            "the experiment did not reproduce:\n" + "\n".join(outcome.lines),
            hint="points that did not: " + ", ".join(failed),
        )
        self.outcome = outcome


class PointsFailed(CairnError):
    """``--strict``: some points of the sweep failed (they are recorded)."""

    def __init__(self, failed: int, total: int, outcome: Outcome) -> None:
        super().__init__(
            f"{failed} of {total} runs failed:\n" + "\n".join(outcome.lines),
            hint="their errors are in the table: cairn show experiment NAME --filter=!status~ok",
        )
        self.outcome = outcome


def _name(call: Call) -> str | None:
    return call.artifacts[0] if call.artifacts else None


_count = remote.count


def _resumable(artifact: Any, named: Any) -> Path:
    """The sweep ``--resume`` continues: the one named, else the newest one not done."""
    folders = sweeps.sweep_folders(artifact.path)
    if isinstance(named, str) and named not in ("", "True", "true", "yes"):
        picked = [f for f in folders if f.name == named or f.name.startswith(named)]
        if len(picked) != 1:
            raise NotFound(f"experiment {_title(artifact)}: no single sweep {named!r} to resume")
        return picked[0]
    open_ones = [f for f in folders if sweeps.status(f) in (sweeps.RUNNING, sweeps.INTERRUPTED)]
    if not open_ones:
        raise NotFound(
            f"experiment {_title(artifact)} has no unfinished sweep to resume",
            hint="start a new sweep without --resume",
        )
    return open_ones[-1]


def _sweep_input(call: Call) -> dict[str, Any]:
    """The target and space of a new sweep, checked before anything is written."""
    script = call.flag("script")
    argv = call.raw.get("unparsed_cmd") or []
    if bool(script) == bool(argv):
        raise InvalidInput(
            'a sweep runs either a script (--script="TAGS _variations") or a command '
            "(after --), " + ("not both" if script else "and neither was given"),
            hint='cairn run experiment NAME --script="app bench" --explore.batch_size=1,2'
            " or: cairn run experiment NAME --explore.n=1,2 -- ./bench.sh {{n}}",
        )
    _check_extra_flags(call, bool(script))
    return {"script": script, "argv": [str(a) for a in argv]}


_HARMLESS = frozenset({"quiet", "silent", "verbose", "v"})
"""CM's global flags: a command sweep takes them without a word."""
_RERUN_HINT = (
    "cairn continues an interrupted sweep with: cairn run experiment NAME --resume; it runs"
    " recorded points again and checks their results with: cairn replay experiment NAME"
)


def _check_extra_flags(call: Call, script: bool) -> None:
    """Flags ``run experiment`` does not take: a script's inputs (a warning when one looks
    like a misspelt flag of the sweep), an error for a command, which has no use for them."""
    from cairn import report

    for name in _script_inputs(call):
        if name == "rerun":
            raise InvalidInput("--rerun is CM's flag, not cairn's", hint=_RERUN_HINT)
        guess = _close_flag(name)
        if script:
            if guess:
                report.warn(f"--{name} is passed to every point's script; did you mean {guess}?")
        elif name not in _HARMLESS:
            raise InvalidInput(
                f"--{name} is not a flag of run experiment, and a command sweep passes no"
                f" flags to its command{'; did you mean ' + guess + '?' if guess else ''}",
                hint="values reach the command as {{KEY}} from --explore.KEY=...;"
                " see: cairn run experiment --help",
            )


def _close_flag(name: str) -> str:
    import difflib  # only for a flag the sweep does not take

    close = difflib.get_close_matches(name, sorted(_RUN_KEYS), n=1, cutoff=0.75)
    return f"--{close[0]}" if close else ""


def _spec(call: Call, experiment: str, given: dict[str, Any]) -> sweeps.SweepSpec:
    from cairn.experiment import tasks
    from cairn.experiment.target import Target

    space = _space(call)
    points = tuple(sweeps.PointSpec(id=p.id, values=dict(p.values)) for p in space.points())
    kind = tasks.SCRIPT if given["script"] else tasks.COMMAND
    repeat = _count(call.flag("repeat"), "repeat", 1)
    target = Target(
        kind=kind,
        script=str(given["script"] or ""),
        inputs=_point_inputs(call, repeat) if kind == tasks.SCRIPT else {},
        argv=tuple(given["argv"]),
        result_keys=tuple(call.flag("result", [])),
        result_file=str(call.flag("result_file") or "cm-output.json"),
        timeout=_seconds(call.flag("timeout")),
    )
    target.check([k for p in points for k in p.values])
    command = {k: v for k, v in call.raw.items() if k not in ("cmd", "out")}
    return sweeps.SweepSpec(
        experiment=experiment,
        target=target,
        points=points,
        space=space.to_json(),
        repeat=repeat,
        command=command,
    )


def _space(call: Call) -> Any:
    from cairn.experiment.space import Space

    zip_groups = [group.split("+") for group in call.flag("zip", [])]
    sample = _count(call.flag("sample"), "sample", 0) if call.flag("sample") else None
    seed = int(call.flag("seed")) if str(call.flag("seed") or "").lstrip("-").isdigit() else None
    if call.flag("seed") is not None and seed is None:
        raise InvalidInput(f"--seed={call.flag('seed')!r} must be a whole number")
    explore = _dotted(call.flag("explore", {}))
    from_cli = Space.from_cli(explore, zip=zip_groups, sample=sample, seed=seed)
    if call.flag("space"):
        from_file = Space.from_file(Path(call.flag("space")).expanduser())
        return from_file.merged(from_cli) if explore or zip_groups or sample else from_file
    if not explore:
        raise InvalidInput(
            "the sweep has no space to explore",
            hint="give --explore.KEY=a,b,c (one per key) or --space=FILE.yaml",
        )
    return from_cli


def _dotted(explore: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``--explore.env.LEVEL=1,2`` arrives nested (``{"env": {"LEVEL": "1,2"}}``): back to
    the key ``env.LEVEL``. A mapping of form names (``{"values": [...]}``) is a form."""
    from cairn.experiment.space import FORMS

    flat: dict[str, Any] = {}
    for key, value in explore.items():
        if isinstance(value, dict) and value and not set(value) <= set(FORMS):
            flat.update(_dotted(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _point_inputs(call: Call, repeat: int) -> dict[str, Any]:
    """The inputs of every point's script run; with repeats, the script itself skips the
    cache (a repeat served from it would measure nothing; its dependencies still use it)."""
    inputs = _script_inputs(call)
    if repeat > 1:
        inputs.setdefault("skip_cache", True)
    return inputs


def _script_inputs(call: Call) -> dict[str, Any]:
    """Flags the experiment does not take: inputs of every point's script run."""
    skip = _RUN_KEYS | CONTROL_KEYS | COMMON_NAMES | {"explore"}
    return {k: v for k, v in call.raw.items() if k not in skip}


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(str(value))
    except ValueError:
        raise InvalidInput(f"--timeout={value!r} must be a number of seconds") from None
    if seconds <= 0:
        raise InvalidInput(f"--timeout={value!r} must be more than 0")
    return seconds


def _warn_missing_results(folder: Path, rows: list[dict[str, Any]], records: Path) -> None:
    """A result asked for (``--result``) that no successful point exported: a warning naming
    what a point did export (a misspelt key would only leave an empty column)."""
    from cairn import report
    from cairn.experiment import results

    spec, _ = sweeps.load(folder)
    ok = [row for row in rows if row.get("status") == results.OK]
    wanted = spec.target.result_keys
    missing = [k for k in wanted if ok and not any(results.result_name(k) in r for r in ok)]
    exported = ", ".join(_exports(ok[0], records)) if missing else ""
    for key in missing:
        seen = f" (a point exported: {exported})" if exported else ""
        report.warn(f"no point exported the result {key}{seen}")


def _exports(row: dict[str, Any], records: Path) -> list[str]:
    """The env keys and state keys the run of ``row`` exported (from its run record)."""
    import json

    try:
        record = json.loads((records / str(row.get("run")) / "cairn-run.json").read_text())
        outputs = record["outputs"]
        return [*outputs.get("new_env", {}), *outputs.get("new_state", {})]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def _run_data(artifact: Any, folder: Path, progress: Any, loaded: Any) -> dict[str, Any]:
    from cairn.experiment import table as tables

    table = tables.aggregate(loaded.rows, loaded.inputs)
    return {
        "experiment": _title(artifact),
        "path": str(artifact.path),
        "sweep": folder.name,
        "runs": progress.total,
        "done": progress.done,
        "failed": progress.failed,
        "rows": [tables.line_json(line) for line in table.lines],
    }


def _run_lines(artifact: Any, folder: Path, progress: Any, loaded: Any) -> list[str]:
    from cairn.experiment import table as tables

    table = tables.aggregate(loaded.rows, loaded.inputs)
    failed = f", {progress.failed} failed" if progress.failed else ""
    head = [
        f"experiment {_title(artifact)}, sweep {folder.name}: {progress.done} of"
        f" {progress.total} runs done{failed}",
        f"  folder: {folder}",
    ]
    return [*head, *tables.render(table)]


def _selected(call: Call, table: Any) -> tuple[list[Any], list[str]]:
    """The lines the filters keep, sorted, and the columns to show."""
    from cairn.experiment.query import Filter

    lines = list(table.lines)
    filters = call.repeated("filter")
    if filters:
        chosen = Filter.parse_all(filters)
        lines = [line for line in lines if chosen.matches(line.values)]
    if call.flag("sort"):
        lines = _sorted(lines, call.flag("sort"))
    columns = list(call.flag("columns") or table.columns)
    if not call.flag("columns") and not any(line.values.get("error") for line in lines):
        columns = [c for c in columns if c != "error"]
    return lines, columns


def _more(table: Any, columns: list[str]) -> list[str]:
    hidden = [k for k in table.keys if k not in columns]
    if not hidden:
        return []
    listing = ", ".join(hidden[:12]) + (", ..." if len(hidden) > 12 else "")
    return [f"({len(hidden)} more keys: {listing}; show them with --columns=...)"]


def _listener(out: Any) -> Any:
    """Progress on stderr for a person (a bar on a terminal, a line per run otherwise)."""
    if out not in ("con", "json", "csv"):
        return None
    from cairn.experiment.progress import Bar

    return Bar(sys.stderr)


def _objectives(call: Call) -> list[str]:
    found = [part for text in call.repeated("objective") for part in text.split(",") if part]
    if not found:
        raise InvalidInput(
            "which objectives? give --objective=KEY:max or KEY:min, once per objective",
            hint="cairn pareto experiment NAME --objective=Result:max --objective=Power:min",
        )
    return found


def _margin(call: Call) -> float | None:
    from cairn.runs import replaying

    text = call.flag("margin")
    if text is None:
        return None
    try:
        return replaying.tolerance(text)
    except InvalidInput:
        raise InvalidInput(f"--margin={text!r}: give a percentage (2%) or a fraction") from None


def _axes(call: Call, objectives: list[Any]) -> tuple[Any, Any]:
    """The plotted keys: ``--x``/``--y`` (``KEY[:max|min]``), else the first two objectives."""
    from cairn.experiment.figures import Axis

    logs = set(call.flag("log", []))
    bad = logs - {"x", "y"}
    if bad:
        raise InvalidInput(f"--log={','.join(sorted(bad))}: name the axes x, y or x,y")
    by_key = {o.key: o.sense for o in objectives}
    axes = []
    for name, index in (("x", 0), ("y", 1)):
        text = call.flag(name) or (objectives[index].key if len(objectives) > index else "")
        key, _, sense = str(text).partition(":")
        sense = sense or by_key.get(key) or ""
        if sense not in ("", "max", "min"):
            raise InvalidInput(f"--{name}={text!r}: the sense after ':' is max or min")
        axes.append(Axis(key=key, sense=sense or None, log=name in logs))
    return axes[0], axes[1]


def _named_keys(call: Call) -> list[str]:
    """The keys the flags of ``show``, ``pareto`` or ``plot`` name (``!KEY`` left out: a
    key that is absent is what it asks about)."""
    from cairn.experiment.query import ABSENT, Filter, Sort

    filters = Filter.parse_all([*call.repeated("filter"), *call.repeated("constraint")])
    keys = [c.key for c in filters.conditions if c.op != ABSENT]
    if call.flag("sort"):
        keys += Sort.parse(call.flag("sort")).keys
    for name in ("columns", "group_by", "label"):
        keys += list(call.flag(name, []))
    return keys


def _warn_unknown_keys(table: Any, keys: list[str]) -> None:
    """A warning for each key no line of the experiment has (with a close one, if any):
    a misspelt key would otherwise filter out everything, or sort or draw nothing."""
    import difflib

    from cairn import report

    known = set(table.keys)
    if not known:
        return  # no rows yet: every key would be "unknown"
    for key in dict.fromkeys(k for k in keys if k and k not in known):
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        guess = f"; did you mean {close[0]}?" if close else ""
        report.warn(f"no point has the key {key}{guess}")


def _front_columns(call: Call, table: Any, objectives: list[Any], group_by: list[str]) -> list[str]:
    if call.flag("columns"):
        return list(call.flag("columns"))
    keys = [*group_by, *(table.inputs or table.columns), *(o.key for o in objectives)]
    return list(dict.fromkeys(k for k in keys if k))


def _sorted(lines: list[Any], text: str) -> list[Any]:
    from cairn.experiment.query import Sort

    by_id = {id(line.values): line for line in lines}
    return [by_id[id(v)] for v in Sort.parse(text).apply([line.values for line in lines])]


def _replayed_sweep(artifact: Any, which: str | None) -> Path:
    """The sweep to replay: the one named, else the newest sweep cairn wrote."""
    folders = [f for f in sweeps.sweep_folders(artifact.path) if (f / sweeps.SWEEP_FILE).is_file()]
    if not folders:
        raise NotFound(
            f"experiment {_title(artifact)} has no sweep run by cairn: nothing to replay",
            hint="CM's experiments carry no lock; they can be shown, compared and plotted",
        )
    if not which or which == "latest":
        return folders[-1]
    picked = [f for f in folders if f.name.startswith(which)]
    if len(picked) != 1:
        raise NotFound(f"experiment {_title(artifact)}: no single sweep {which!r}")
    return picked[0]


def _title(artifact: Any) -> str:
    """An experiment as a person names it: its alias, else its uid."""
    return str(artifact.alias or artifact.uid)


def _front_head(
    name: str, on: int, points: int, failed: int, found: Any, group_by: list[str]
) -> list[str]:
    groups = f" ({found.groups} groups)" if group_by else ""
    lines = [f"experiment {name}: {on} of {points} points on the front{groups}"]
    if failed:
        lines.append(f"{failed} failed points not considered")
    if found.warning():
        lines.append(found.warning())
    return lines
