"""script/pins.py: the repository that serves requests by tags, pinned for a run
(``--pin.TAGS=REPO``) or for a home (``cairn pin script``); and the notice when a new
repository takes requests over (``choices.takeovers``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cairn
from cairn.errors import InvalidInput
from cairn.script import pins
from tests.script_fixtures import ScriptRepo, count, counter, fails, ok

Cli = Callable[..., Any]


def apps_and_mine(tmp_path: Path, run: str = "echo app\n", **app: Any) -> ScriptRepo:
    """An app whose dependency (no ``names``: --adr cannot reach it) asks for print,hello;
    then another repository with a script for the same request."""
    apps = ScriptRepo(tmp_path / "apps", alias="apps")
    apps.add("app", {"deps": [{"tags": ["print", "hello"]}], **app}, run=run)
    ok("app")  # the built-in print-hello-world served it
    mine = ScriptRepo(tmp_path / "mine", alias="mine")
    mine.add("my-greeter", tags=["print", "hello"], run="echo mine\n")
    return mine


def dep_script(result: dict[str, Any]) -> str:
    return str(result["deps"][0]["script"])


def test_a_pin_on_the_command_line_keeps_an_unnamed_dependency(tmp_path: Path) -> None:
    apps_and_mine(tmp_path)
    assert dep_script(ok("app")) == "my-greeter"
    pinned = ok("app", pin={"hello,print": "builtin"})  # tags in any order
    assert dep_script(pinned) == "print-hello-world"
    assert dep_script(ok("app", pin={"print,hello": "mine"})) == "my-greeter"


def test_cairn_pin_script_pins_for_the_home_lists_and_unpins(tmp_path: Path, cli: Cli) -> None:
    apps_and_mine(tmp_path)
    said = cli("pin", "script", "print hello", "builtin")
    assert said.returncode == 0, said.stderr
    assert "Pinned hello,print -> builtin" in said.stdout
    assert cli("pin", "script").stdout.strip() == "hello,print -> builtin"
    run = cli("run", "script", "app", "--out=json")
    assert run.returncode == 0, run.stderr
    assert dep_script(json.loads(run.stdout)) == "print-hello-world"
    over = cli("run", "script", "app", "--pin.hello,print=mine", "--out=json")
    assert dep_script(json.loads(over.stdout)) == "my-greeter"  # the flag wins for one run
    assert cli("pin", "script", "print,hello", "--remove").returncode == 0
    assert cli("pin", "script").stdout.strip() == "no pins"
    assert dep_script(ok("app")) == "my-greeter"


def test_a_pin_no_script_meets_fails_naming_the_scripts_and_the_pin(tmp_path: Path) -> None:
    apps_and_mine(tmp_path)
    error = fails("app", pin={"print,hello": "apps"})["error"]
    assert "no script for --tags=print,hello in repository apps (pinned by --pin.hello,print)" in (
        error
    )
    assert "builtin:print-hello-world" in error and "mine:my-greeter" in error


def test_pinning_back_finds_the_entry_made_with_the_old_dependency(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    apps_and_mine(tmp_path, run=counter(runs), cache=True)  # ran once with the built-in
    taken_over = ok("app")
    assert taken_over["cache"] == "miss" and dep_script(taken_over) == "my-greeter"
    assert ok("app")["cache"] == "hit"
    pinned = ok("app", pin={"print,hello": "builtin"})
    assert pinned["cache"] == "hit"  # the entry the built-in dependency made
    assert pinned["cache_entry"] != taken_over["cache_entry"]
    assert count(runs) == 2


def test_a_pin_made_after_a_replayed_hit_is_honoured(tmp_path: Path, cli: Cli) -> None:
    apps = ScriptRepo(tmp_path / "apps", alias="apps")
    apps.add(
        "app",
        {"cache": True, "deps": [{"tags": ["print", "hello"]}], "new_env_keys": ["WHO"]},
        run='echo "WHO=$GREETER" > tmp-run-env.out\n',
    )
    mine = ScriptRepo(tmp_path / "mine", alias="mine")
    mine.add("my-greeter", {"new_env_keys": ["GREETER"]}, tags=["print", "hello"])
    (mine.root / "script" / "my-greeter" / "run.sh").write_text(
        'echo "GREETER=mine" > tmp-run-env.out\n'
    )
    for _ in range(3):  # a miss, a hit that records the replay, a replayed hit
        done = cli("run", "script", "app", "--out=json")
        assert json.loads(done.stdout)["new_env"] == {"WHO": "mine"}
    assert cli("pin", "script", "print,hello", "builtin").returncode == 0
    after = cli("run", "script", "app", "--out=json")
    assert dep_script(json.loads(after.stdout)) == "print-hello-world"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["pin", "script", "get,_shared", "builtin"], "a pin names script tags only (_shared"),
        (["pin", "script", "print,hello", "nowhere"], "no registered repository nowhere"),
        (["pin", "script", "print,hello"], "pin to which repository?"),
        (["pin", "script", "print,hello", "--remove"], "hello,print is not pinned"),
        (["run", "script", "app", "--pin.print,hello="], "a pin names a repository"),
    ],
)
def test_bad_pins_are_refused_with_what_to_do(
    tmp_path: Path, cli: Cli, argv: list[str], message: str
) -> None:
    apps_and_mine(tmp_path)
    done = cli(*argv)
    assert done.returncode != 0 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_broken_pins_file_is_an_error_naming_it(tmp_path: Path, cairn_home: Path) -> None:
    apps_and_mine(tmp_path)
    (cairn_home / "pins.json").write_text('{"pins": {"print,hello": 5}}')
    error = fails("app")["error"]
    assert f"{cairn_home / 'pins.json'} is not a pins file" in error
    assert "a pin names a repository" in error


def test_a_pin_covers_requests_for_some_of_its_tags(tmp_path: Path) -> None:
    apps_and_mine(tmp_path)
    wide = ok("app", pin={"print,hello,world": "builtin"})  # a script's whole tag set, say
    assert dep_script(wide) == "print-hello-world"
    assert dep_script(ok("app", pin={"hello": "builtin"})) == "my-greeter"  # covers too little
    both = {"print,hello,world": "builtin", "print,hello": "mine"}
    assert dep_script(ok("app", pin=both)) == "my-greeter"  # the narrowest pin wins


def test_pin_keys_are_canonical() -> None:
    assert pins.key_of("python3 get") == pins.key_of(["get", "python3", "get"]) == "get,python3"
    with pytest.raises(InvalidInput, match="script tags only"):
        pins.key_of("")


def test_registering_a_repository_says_which_requests_it_takes_over(tmp_path: Path) -> None:
    apps = ScriptRepo(tmp_path / "apps", alias="apps")
    apps.add("greet", tags=["greet", "hello"], run="echo apps\n")
    mine = ScriptRepo(tmp_path / "mine", alias="mine")
    mine.registered = True  # written first, registered below through the API
    mine.add("my-greeter", tags=["print", "hello"], run="echo mine\n")
    mine.add("other-greet", tags=["greet", "hello", "loudly"], run="echo loud\n")
    mine.add("unrelated", tags=["compile", "thing"], run="echo x\n")
    done = cairn.access({"action": "add", "automation": "repo", "artifact": str(mine.root)})
    assert done["return"] == 0, done
    said = done["takeovers"]
    assert said == [
        "mine:my-greeter now serves requests for hello,print that builtin:print-hello-world "
        "served (to keep it: cairn pin script hello,print builtin)",
        "mine:other-greet and apps:greet both match requests for greet,hello: the lower sort "
        "wins, a tie is asked on a terminal, else the first registered is taken with a "
        "warning (cairn pin script greet,hello REPO decides)",
    ]
