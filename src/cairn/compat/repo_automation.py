"""Automations defined inside repositories, CM style: ``automation/<name>/module.py`` (or
``modulex.py``) with a ``CAutomation`` class whose public methods are actions.

cairn's own automations (``script``, ``cache``, ``repo``) and the common actions (``find``,
``add``, ``load``...) always come first; a repository module serves the *other* actions of a
kind cairn does not implement (``cairn test cmx-demo``, ``cairn download_file utils ...``). The
module is loaded with the ``cmind`` shim importable (its ``Automation`` base serves the common
actions through cairn) and called with CM's input dict; its result dict becomes the outcome.
One name is one automation: the same name in two repositories is ambiguous (code 2, as in CM),
and the error names both and how to pick one (by uid) rather than taking the first.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from cairn import kinds
from cairn.automations.contract import Outcome
from cairn.compat import importing, prompts
from cairn.errors import AmbiguousAutomation, InvalidInput, ReportedFailure
from cairn.kinds import Kind
from cairn.store.artifact import Artifact
from cairn.store.catalog import Catalog, Query

MODULE_FILES = ("module.py", "modulex.py")
"""CM's ``access`` loads ``module.py``; a CMX-only automation has just ``modulex.py``."""
CONTROL_KEYS = ("out",)


class RepoActionFailed(ReportedFailure):
    """A repository automation's action returned ``return`` != 0 (or raised): its error,
    and its code if CM's."""


class RepoAction:
    """One action of a repository automation, ready to call."""

    def __init__(self, artifact: Artifact, module_file: Path, action: str) -> None:
        self.artifact = artifact
        self.module_file = module_file
        self.action = action

    def run(self, i: dict[str, Any]) -> Outcome:
        """Call the action with CM's input dict; ``return`` != 0 raises with CM's code, and an
        exception in the module is an error naming the module, the action and the traceback."""
        with importing.active(), prompts.answers_without_terminal(self.module_file):
            instance = _instantiate(self.artifact, self.module_file)
            try:
                result = getattr(instance, self.action)(_cm_input(i, self.artifact))
            except Exception as exc:
                trace = "".join(traceback.format_exception(exc)).rstrip()
                raise RepoActionFailed(
                    f"{self.module_file}: {self.action} raised {type(exc).__name__}: {exc}\n"
                    + trace,
                    1,
                ) from exc
        return _outcome(self.module_file, self.action, result)


def served_by_cairn(i: dict[str, Any]) -> Outcome | None:
    """The ``utils`` actions cairn implements itself (``download_file``, ``unzip_file``...),
    which win over a repository's ``utils`` module as they do for ``cmind.access``."""
    with importing.active():
        utils = importlib.import_module("cmind.utils")
        if not utils.serves(i):
            return None
        result = utils.run_action(i)
    return _outcome(Path("utils"), str(i["action"]), result)


def find(catalog: Catalog, kind: Kind, action: str) -> RepoAction | None:
    """The repository automation action serving ``action`` on ``kind``, or None."""
    method = action.replace("-", "_")
    if method.startswith("_"):
        return None
    for artifact in _the_automation(catalog, kind):
        for name in MODULE_FILES:
            module_file = artifact.path / name
            if module_file.is_file() and _defines(module_file, method):
                return RepoAction(artifact, module_file, method)
    return None


def served_names(kind: Kind) -> set[str]:
    """The actions of ``kind`` that cairn serves itself (the ``utils`` ones it implements)."""
    with importing.active():
        utils = importlib.import_module("cmind.utils")
        return {a for a in utils.ACTIONS if utils.serves({"automation": str(kind), "action": a})}


def listing(catalog: Catalog, kind: Kind) -> list[tuple[str, str, RepoAction]]:
    """Every action the repository automations of ``kind`` add: (name, summary, action)."""
    found: dict[str, tuple[str, str, RepoAction]] = {}
    for artifact in _the_automation(catalog, kind):
        for name in MODULE_FILES:
            module_file = artifact.path / name
            if module_file.is_file():
                for method, summary in _actions_of(module_file):
                    found.setdefault(
                        method, (method, summary, RepoAction(artifact, module_file, method))
                    )
    return sorted(found.values(), key=lambda row: row[0])


def _the_automation(catalog: Catalog, kind: Kind) -> list[Artifact]:
    """The automation artifact named ``kind`` (none, or one); several are ambiguous."""
    found = catalog.find(Query.parse(kinds.KNOWN["automation"], str(kind)))
    if len(found) < 2:
        return found
    listed = "; ".join(f"{a.name} in repository {a.repo.alias} ({a.path})" for a in found)
    uids = {a.uid for a in found}
    if len(uids) == len(found) and None not in uids:
        hint = f"name one by its uid, e.g. cairn ACTION {found[0].name}"
    else:
        hint = f"they share a uid: remove one repository (cairn rm repo {found[-1].repo.alias})"
    raise AmbiguousAutomation(
        f"{len(found)} repositories define automation {kind}: {listed}", hint=hint
    )


def describe(action: RepoAction) -> str:
    """The action's docstring (CM documents inputs and outputs there)."""
    with importing.active():
        cls = _automation_class(_load(action.module_file), action.module_file)
        text = inspect.getdoc(getattr(cls, action.action)) or ""
    return text or "(no description in the module)"


def _actions_of(module_file: Path) -> list[tuple[str, str]]:
    with importing.active():
        base = importlib.import_module("cmind.automation").Automation
        cls = _automation_class(_load(module_file), module_file)
        names = [n for n in dir(cls) if not n.startswith("_") and not hasattr(base, n)]
        return [(n, _first_line(getattr(cls, n))) for n in names if callable(getattr(cls, n))]


def _first_line(method: Any) -> str:
    lines = [line.strip() for line in (inspect.getdoc(method) or "").splitlines()]
    return next((line for line in lines if line), "")


def _defines(module_file: Path, method: str) -> bool:
    """Whether the module's ``CAutomation`` has action ``method`` beyond the common ones."""
    with importing.active():
        base = importlib.import_module("cmind.automation").Automation
        cls = _automation_class(_load(module_file), module_file)
        return callable(getattr(cls, method, None)) and not hasattr(base, method)


def _automation_class(module: ModuleType, module_file: Path) -> Any:
    cls = getattr(module, "CAutomation", None)
    if not isinstance(cls, type):
        raise InvalidInput(f"{module_file} has no class CAutomation; it is not a CM automation")
    return cls


def _load(module_file: Path) -> ModuleType:
    digest = hashlib.sha1(str(module_file).encode()).hexdigest()[:12]
    module = ModuleType(f"cairn_automation_{digest}")
    module.__file__ = str(module_file)
    try:
        exec(compile(module_file.read_bytes(), str(module_file), "exec"), module.__dict__)
    except Exception as exc:
        raise InvalidInput(f"{module_file}: cannot load: {type(exc).__name__}: {exc}") from exc
    return module


def _instantiate(artifact: Artifact, module_file: Path) -> Any:
    cmind = importlib.import_module("cmind")
    cls = _automation_class(_load(module_file), module_file)
    instance = cls(cmind, str(module_file))
    instance.meta = artifact.meta
    instance.full_path = str(artifact.path)
    instance.artifact = artifact.name
    return instance


def _cm_input(i: dict[str, Any], artifact: Artifact) -> dict[str, Any]:
    """CM's input: the request as given, plus the parsed automation and artifacts."""
    cm = dict(i)
    cm["parsed_automation"] = [(artifact.alias, artifact.uid)]
    names = [a for a in [i.get("artifact"), *(i.get("artifacts") or [])] if isinstance(a, str)]
    if names:
        cm["parsed_artifact"] = [_parsed(names[0])]
        cm["parsed_artifacts"] = [[_parsed(n)] for n in dict.fromkeys(names[1:])]
    cm["control"] = {k: i[k] for k in CONTROL_KEYS if k in i}
    return cm


def _parsed(name: str) -> tuple[str, str]:
    alias, _, uid = name.partition(",")
    return (alias, uid)


def _outcome(module_file: Path, action: str, result: Any) -> Outcome:
    if not isinstance(result, dict):
        raise InvalidInput(f"{module_file}: {action}() must return a dict, not {type(result)}")
    code = result.get("return", 0) or 0
    if not isinstance(code, int):
        raise InvalidInput(f"{module_file}: {action}() returned a non-integer 'return': {code!r}")
    if code != 0:
        raise RepoActionFailed(f"{module_file}: {action}: {result.get('error', '')}", code)
    return Outcome({k: v for k, v in result.items() if k != "return"}, [])
