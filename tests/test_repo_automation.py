"""Automations defined inside a repository (``automation/<name>/module.py``, CM style)."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cairn

AUTOMATION_UID = "bbeb15d8f0a944a4"

DEMO = """
    import os
    from cmind.automation import Automation
    from cmind import utils


    class CAutomation(Automation):
        def __init__(self, cmind, automation_file):
            super().__init__(cmind, __file__)

        def greet(self, i):
            '''Greet someone.

            name (str): who
            '''
            found = self.search({'tags': 'hello'})
            if found['return'] > 0:
                return found
            return {'return': 0, 'greeting': 'hi ' + i.get('name', '?'),
                    'found': [a.path for a in found['list']],
                    'meta_alias': self.meta['alias'], 'artifact': self.artifact,
                    'full_path': self.full_path,
                    'file': os.path.basename(self.automation_file_path),
                    'parsed_artifact': i.get('parsed_artifact'),
                    'uid_len': len(utils.gen_uid()['uid']),
                    'key': self.cmind.cfg['file_cmeta']}

        def fail_loudly(self, i):
            return {'return': 16, 'error': 'nothing to greet'}

        def fail_with(self, i):
            return {'return': int(i['code']), 'error': 'boom'}

        def _private(self, i):
            return {'return': 0}
    """


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    root = make_repo(
        "autos",
        artifacts={
            "automation/demo": {
                "alias": "demo",
                "uid": "1111222233334444",
                "automation_alias": "automation",
                "automation_uid": AUTOMATION_UID,
                "tags": ["automation"],
            },
            "demo/one": {"alias": "one", "uid": "aaaabbbbccccdddd", "tags": ["hello"]},
        },
    )
    (root / "automation" / "demo" / "module.py").write_text(textwrap.dedent(DEMO))
    assert (
        cairn.access({"action": "add", "automation": "repo", "artifact": str(root)})["return"] == 0
    )
    return root


def _add_automation(root: Path, name: str, uid: str, module: str, file: str = "module.py") -> None:
    folder = root / "automation" / name
    folder.mkdir(parents=True)
    meta = {
        "alias": name,
        "uid": uid,
        "automation_alias": "automation",
        "automation_uid": AUTOMATION_UID,
    }
    (folder / "_cm.json").write_text(json.dumps(meta))
    (folder / file).write_text(textwrap.dedent(module))


def test_action_of_a_repository_automation_is_callable(repo: Path) -> None:
    r = cairn.access({"action": "greet", "automation": "demo", "artifact": "one", "name": "ann"})
    assert r["return"] == 0, r
    assert r["greeting"] == "hi ann"
    assert r["found"] == [str(repo / "demo" / "one")]
    assert r["meta_alias"] == "demo" and r["artifact"] == "demo,1111222233334444"
    assert r["full_path"] == str(repo / "automation" / "demo") and r["file"] == "module.py"
    assert r["parsed_artifact"] == [("one", "")] and r["uid_len"] == 16 and r["key"] == "_cm"
    assert "cmind" not in sys.modules


def test_cli_runs_it_and_reports_its_failure(repo: Path, cli: Callable[..., Any]) -> None:
    done = cli("greet", "demo", "--name=bob", "--out=json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["greeting"] == "hi bob"
    failed = cli("fail-loudly", "demo")
    assert failed.returncode == 16
    assert "nothing to greet" in failed.stderr and "module.py" in failed.stderr


@pytest.mark.parametrize(("code", "exit_code"), [(256, 1), (512, 1), (1000, 1), (-1, 1), (2, 2)])
def test_an_action_failure_never_exits_0(
    repo: Path, cli: Callable[..., Any], code: int, exit_code: int
) -> None:
    failed = cli("fail-with", "demo", f"--code={code}")
    assert failed.returncode == exit_code, failed.stderr
    assert "boom" in failed.stderr and "module.py" in failed.stderr
    r = cairn.access({"action": "fail_with", "automation": "demo", "code": code})
    assert r["return"] == exit_code and "boom" in r["error"]


def test_common_and_private_names_stay_cairns(repo: Path) -> None:
    found = cairn.access({"action": "find", "automation": "demo", "tags": "hello"})
    assert [a.alias for a in found["list"]] == ["one"]
    hidden = cairn.access({"action": "_private", "automation": "demo"})
    assert hidden["return"] == 4
    missing = cairn.access({"action": "wave", "automation": "demo"})
    assert missing["return"] == 4 and "'wave' not found" in missing["error"]


def test_a_misspelt_action_of_a_repository_automation_gets_a_guess(repo: Path) -> None:
    typo = cairn.access({"action": "gret", "automation": "demo"})
    assert typo["return"] == 4 and "'gret' not found" in typo["error"]
    assert "; did you mean greet?" in typo["error"]
    assert "its repository automation adds: fail_loudly, fail_with, greet" in typo["error"]
    common = cairn.access({"action": "fnd", "automation": "demo"})
    assert "; did you mean find?" in common["error"] and "greet" in common["error"]


def test_cairns_own_kinds_are_never_handed_to_a_repository_module(repo: Path) -> None:
    _add_automation(
        repo,
        "script",
        "5b4e0237da074764",
        """
        from cmind.automation import Automation
        class CAutomation(Automation):
            def dockerfile(self, i):
                return {'return': 0, 'ran': 'repository module'}
        """,
    )
    r = cairn.access({"action": "dockerfile", "automation": "script"})
    assert r["return"] == 4 and "'dockerfile' not found in automation 'script'" in r["error"]


def test_utils_actions_cairn_knows_win_over_the_repository_module(
    repo: Path, tmp_path: Path
) -> None:
    _add_automation(
        repo,
        "utils",
        "dc2743f8450541e3",
        """
        from cmind.automation import Automation
        class CAutomation(Automation):
            def download_file(self, i):
                raise RuntimeError('the repository module was called')
            def shout(self, i):
                return {'return': 0, 'text': i['text'].upper()}
        """,
    )
    (tmp_path / "src.txt").write_text("data")
    r = cairn.access(
        {
            "action": "download_file",
            "automation": "utils",
            "url": (tmp_path / "src.txt").as_uri(),
            "path": str(tmp_path),
            "filename": "copy.txt",
        }
    )
    assert r["return"] == 0 and (tmp_path / "copy.txt").read_text() == "data"
    assert (
        cairn.access({"action": "shout", "automation": "utils,dc2743f8450541e3", "text": "hey"})[
            "text"
        ]
        == "HEY"
    )


@pytest.mark.parametrize(
    ("module", "message"),
    [("def broken(:\n", "SyntaxError"), ("X = 1\n", "has no class CAutomation")],
)
def test_a_broken_module_is_named(repo: Path, module: str, message: str) -> None:
    _add_automation(repo, "bad", "5555666677778888", module)
    r = cairn.access({"action": "go", "automation": "bad"})
    assert r["return"] == 1 and message in r["error"] and "bad/module.py" in r["error"]


def test_cmx_only_module_is_used(repo: Path) -> None:
    _add_automation(
        repo,
        "cmx",
        "9999000011112222",
        """
        from cmind.automation import Automation
        class CAutomation(Automation):
            def test(self, i):
                return {'return': 0, 'control': i['control']}
        """,
        file="modulex.py",
    )
    r = cairn.access({"action": "test", "automation": "cmx", "out": "json"})
    assert r["return"] == 0 and r["control"] == {"out": "json"}


def test_help_lists_the_module_actions_and_their_docs(repo: Path, cli: Callable[..., Any]) -> None:
    page = cli("help", "demo")
    assert page.returncode == 0, page.stderr
    assert "Actions of the repository automation autos:demo (module.py):" in page.stdout
    assert "greet" in page.stdout and "Greet someone." in page.stdout
    assert "_private" not in page.stdout and "fail_loudly" in page.stdout
    detail = cli("greet", "demo", "--help")
    assert detail.returncode == 0, detail.stderr
    assert "name (str): who" in detail.stdout and "module.py" in detail.stdout
    _add_automation(
        repo,
        "utils",
        "dc2743f8450541e3",
        """
        from cmind.automation import Automation
        class CAutomation(Automation):
            def unzip_file(self, i):
                'Unzip (the repository way).'
        """,
    )
    assert "(served by cairn) Unzip" in cli("help", "utils").stdout
    assert cli("wave", "demo", "--help").returncode == 4


def test_a_module_exception_or_prompt_is_handled(repo: Path) -> None:
    _add_automation(
        repo,
        "asker",
        "aaaa000011112222",
        """
        from cmind.automation import Automation
        class CAutomation(Automation):
            def ask(self, i):
                return {'return': 0, 'answer': input('Proceed? ')}
            def crash(self, i):
                return {}['missing']
        """,
    )
    asked = cairn.access({"action": "ask", "automation": "asker"})
    assert asked["return"] == 0 and asked["answer"] == ""
    assert any("'Proceed?'" in w for w in asked["warnings"])
    crashed = cairn.access({"action": "crash", "automation": "asker"})
    assert crashed["return"] == 1
    assert "asker/module.py: crash raised KeyError: 'missing'" in crashed["error"]
    assert "Traceback" in crashed["error"]


GREETER = """
    from cmind.automation import Automation
    class CAutomation(Automation):
        def greet(self, i):
            return {'return': 0, 'greeting': 'from %s'}
    """


def test_one_automation_name_in_two_repositories_is_ambiguous(
    repo: Path, make_repo: Callable[..., Path], cli: Callable[..., Any]
) -> None:
    other = make_repo("autos2")
    _add_automation(other, "demo", "9999888877776666", GREETER % "autos2")
    assert (
        cairn.access({"action": "add", "automation": "repo", "artifact": str(other)})["return"] == 0
    )
    done = cli("greet", "demo", "--name=bob")
    assert done.returncode == 2, done.stderr
    assert "2 repositories define automation demo" in done.stderr
    assert "demo,1111222233334444 in repository autos" in done.stderr
    assert "demo,9999888877776666 in repository autos2" in done.stderr
    assert "name one by its uid, e.g. cairn ACTION demo,1111222233334444" in done.stderr
    picked = cli("greet", "demo,9999888877776666", "--out=json")
    assert picked.returncode == 0, picked.stderr
    assert json.loads(picked.stdout)["greeting"] == "from autos2"
    assert cli("help", "demo").returncode == 2


def test_copies_with_one_uid_are_ambiguous_with_another_hint(
    repo: Path, make_repo: Callable[..., Path]
) -> None:
    other = make_repo("autos3")
    _add_automation(other, "demo", "1111222233334444", GREETER % "autos3")
    assert (
        cairn.access({"action": "add", "automation": "repo", "artifact": str(other)})["return"] == 0
    )
    r = cairn.access({"action": "greet", "automation": "demo"})
    assert r["return"] == 2, r
    assert "they share a uid: remove one repository (cairn rm repo autos3)" in r["error"]
