"""Choosing the script to run: the request grammar, the candidates, the choice and its errors."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cairn import report
from cairn.errors import InvalidInput, InvalidName, NotFound
from cairn.home import Home
from cairn.kinds import KNOWN
from cairn.script.model import ScriptMeta
from cairn.script.select import (
    Candidate,
    choose,
    find_candidates,
    split_request,
)
from cairn.store.artifact import Artifact
from cairn.store.catalog import Catalog
from cairn.store.repo import Repo

SCRIPT_UID = KNOWN["script"].uid
UID_1 = "1111111111111111"
UID_2 = "2222222222222222"


def script(alias: str, *tags: str, **extra: Any) -> dict[str, Any]:
    meta = {
        "alias": alias,
        "automation_alias": "script",
        "automation_uid": SCRIPT_UID,
        "tags": list(tags),
    }
    return {**meta, **extra}


VARIATIONS = {"v1": {"group": "v"}, "v2": {"group": "v"}, "bs.#": {"env": {"BS": "#"}}}


@pytest.fixture(autouse=True)
def empty_builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the built-in scripts: these tests own every script they search."""
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "cmr.yaml").write_text("alias: builtin\nuid: '5c8a1f2e3d4b6a79'\n")
    monkeypatch.setattr("cairn.store.registry.builtin_repo_path", lambda: builtin)
    monkeypatch.setattr("cairn.store.catalog.builtin_repo_path", lambda: builtin)


@pytest.fixture
def catalog(cairn_home: Path, make_repo: Callable[..., Path]) -> Catalog:
    """r1 and r2 (registered in that order) with scripts that share tags."""
    r1 = make_repo(
        "r1",
        artifacts={
            "script/get-python3": script(
                "get-python3", "get", "python", "python3", uid=UID_1, variations=VARIATIONS
            ),
            "script/print-hello-world": script(
                "print-hello-world", "print", "hello-world", variations={"v1": {}}
            ),
            "script/get-gcc": script("get-gcc", "get", "compiler", "gcc", sort=500),
            "script/get-llvm": script("get-llvm", "get", "compiler", "llvm", sort=100),
            "script/get-cl": script("get-cl", "get", "compiler", "cl", sort=1000),
            "script/hello-b": script("hello-b", "hello"),
            "script/hello-a": script("hello-a", "hello"),
        },
    )
    r2 = make_repo(
        "r2",
        prefix="cm",
        artifacts={
            "script/get-python3": script(
                "get-python3",
                "get",
                "python",
                "python3",
                uid=UID_2,
                variations={"v1": {}, "conda": {}},
            ),
            "script/hello-0": script("hello-0", "hello"),
            "script/python": script("python", "run", "interpreter"),
        },
    )
    cat = Catalog.open(Home(cairn_home))
    cat.registry.register(r1)
    cat.registry.register(r2)
    return cat


def handles(found: list[Candidate]) -> list[str]:
    return [c.handle for c in found]


def find(catalog: Catalog, tags: Any = None, artifact: str | None = None) -> list[str]:
    return handles(find_candidates(catalog, split_request(tags, artifact)))


def not_found(catalog: Catalog, tags: Any = None, artifact: str | None = None) -> NotFound:
    with pytest.raises(NotFound) as info:
        find_candidates(catalog, split_request(tags, artifact))
    assert info.value.code == 16
    return info.value


# --- the request grammar ---------------------------------------------------------------------


def test_tags_flag_splits_tags_and_variations() -> None:
    request = split_request("get,python3,_v1", None)
    assert request.name is None
    assert request.tags.include == ("get", "python3")
    assert request.variations == ("v1",)
    assert request.excluded_variations == ()


def test_tags_may_be_a_list_and_separated_by_spaces() -> None:
    assert split_request(["get,python3", "_v1"], None) == split_request("get python3 _v1", None)
    assert split_request(" get , python3 ", None).tags.include == ("get", "python3")


def test_positional_with_spaces_is_tags() -> None:
    request = split_request(None, "get python _v1")
    assert request.name is None
    assert request.tags.include == ("get", "python")
    assert request.variations == ("v1",)


def test_positional_with_commas_is_tags() -> None:
    request = split_request(None, "get,python")
    assert request.name is None and request.tags.include == ("get", "python")


@pytest.mark.parametrize(
    ("positional", "alias", "uid", "repo"),
    [
        ("get-python3", "get-python3", None, None),
        ("r1:get-python3", "get-python3", None, "r1"),
        (UID_1, None, UID_1, None),
        (f"get-python3,{UID_1}", "get-python3", UID_1, None),
        (f"r2:{UID_2},get-python3", "get-python3", UID_2, "r2"),
    ],
)
def test_positional_identifier_is_a_name(
    positional: str, alias: str | None, uid: str | None, repo: str | None
) -> None:
    request = split_request(None, positional)
    assert request.name is not None
    assert (request.name.name.alias, request.name.name.uid) == (alias, uid)
    assert (request.name.repo.alias if request.name.repo else None) == repo
    assert not request.tags and not request.name_may_be_tag


def test_name_followed_by_variation_words() -> None:
    request = split_request(None, "print-hello-world _v1 -_v2")
    assert str(request.name) == "print-hello-world"
    assert request.variations == ("v1",) and request.excluded_variations == ("v2",)
    assert not request.tags
    assert request.name_may_be_tag  # CM would read it as a tag: tried when no name matches


def test_name_and_variation_with_a_comma_is_not_an_alias() -> None:
    """CM reads ``t-dump,_v2`` as an alias and fails; here it is the script and a variation."""
    request = split_request(None, "t-dump,_v2")
    assert str(request.name) == "t-dump" and request.variations == ("v2",)


def test_qualified_name_with_variations_is_only_a_name() -> None:
    assert not split_request(None, "r1:print-hello-world _v1").name_may_be_tag
    assert not split_request(None, f"{UID_1} _v1").name_may_be_tag


def test_word_with_an_exclusion_is_tags_not_a_name() -> None:
    request = split_request(None, "python -old _v1")
    assert request.name is None
    assert request.tags.include == ("python",) and request.tags.exclude == ("old",)


def test_invalid_name_among_variations_is_a_tag() -> None:
    request = split_request(None, "x/y _v1")
    assert request.name is None and request.tags.include == ("x/y",)


def test_invalid_single_name_is_refused() -> None:
    with pytest.raises(InvalidName):
        split_request(None, "a/b")


def test_name_combines_with_tags_flag() -> None:
    request = split_request("x,_v1", "get-python3")
    assert str(request.name) == "get-python3"
    assert request.tags.include == ("x",) and request.variations == ("v1",)


def test_positional_and_tags_flag_are_merged_in_order() -> None:
    request = split_request("_v2,-cuda,get", "get python _v1")
    assert request.tags.include == ("get", "python")
    assert request.tags.exclude == ("cuda",)
    assert request.variations == ("v1", "v2")


def test_exclusions_of_tags_and_variations() -> None:
    request = split_request("get,-old,-_v1,_-v2,_v3,_v3", None)
    assert request.tags.include == ("get",) and request.tags.exclude == ("old",)
    assert request.variations == ("v3",)
    assert request.excluded_variations == ("v1", "v2")
    assert request.variation_tags == ("_v3", "-_v1", "-_v2")


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ("get,x,-x", "tag 'x' is both required and -x"),
        ("get,_v,-_v", "variation _v is both requested and excluded (-_v)"),
        ("get,_-v,_v", "variation _v is both requested and excluded (-_v)"),
    ],
)
def test_a_word_both_wanted_and_excluded_is_refused(tags: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        split_request(tags, None)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("_", "'_' names no variation"),
        ("-_", "'-_' names no variation"),
        ("_-", "'_-' names no variation"),
        ("-", "'-' names no tag"),
        ("--x", "'--x' names no tag"),
        ("__x", "'__x' names no variation"),
    ],
)
def test_empty_or_malformed_words_are_refused(word: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        split_request(f"get,{word}", None)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("tags", "artifact"),
    [(None, None), ("", "  "), ("_v1", None), ("-old,-_v1", None), (None, "_v1")],
)
def test_a_request_needs_a_name_or_a_tag(tags: str | None, artifact: str | None) -> None:
    with pytest.raises(InvalidInput, match="needs a script name or at least one script tag"):
        split_request(tags, artifact)


@pytest.mark.parametrize(
    ("tags", "artifact", "shown"),
    [
        ("get,python3,_v1", None, "--tags=get,python3,_v1"),
        ("get,-old,_bs.16,-_v2", None, "--tags=get,-old,_bs.16,-_v2"),
        (None, "r1:get-python3", "r1:get-python3"),
        ("_v1", "get-python3", "get-python3 --tags=_v1"),
        ("x,-y", "get-python3", "get-python3 --tags=x,-y"),
    ],
)
def test_request_prints_itself_back(tags: str | None, artifact: str | None, shown: str) -> None:
    request = split_request(tags, artifact)
    assert str(request) == shown
    name, _, again = shown.partition("--tags=")
    assert split_request(again or None, name.strip() or None) == request


# --- finding candidates ----------------------------------------------------------------------


def test_all_tags_must_match(catalog: Catalog) -> None:
    assert find(catalog, "get,python3") == ["r1:get-python3", "r2:get-python3"]
    assert find(catalog, "get,python3,python") == ["r1:get-python3", "r2:get-python3"]


def test_excluded_tag_removes_scripts(catalog: Catalog) -> None:
    assert find(catalog, "get,compiler,-gcc,-cl") == ["r1:get-llvm"]


def test_order_is_sort_then_repository_then_path(catalog: Catalog) -> None:
    assert find(catalog, "get,compiler") == ["r1:get-llvm", "r1:get-gcc", "r1:get-cl"]
    assert find(catalog, "hello") == ["r1:hello-a", "r1:hello-b", "r2:hello-0"]


def test_repository_search_order_beats_the_path(
    cairn_home: Path, make_repo: Callable[..., Path]
) -> None:
    late = make_repo("b-first", artifacts={"script/s": script("s", "same")})
    early = make_repo("a-second", artifacts={"script/s": script("s", "same")})
    cat = Catalog.open(Home(cairn_home))
    cat.registry.register(late)
    cat.registry.register(early)
    assert find(cat, "same") == ["b-first:s", "a-second:s"]


def test_candidates_carry_the_validated_meta(catalog: Catalog) -> None:
    found = find_candidates(catalog, split_request("get,compiler,gcc", None))
    assert isinstance(found[0].meta, ScriptMeta)
    assert found[0].meta.sort == 500 and found[0].sort == 500
    assert found[0].meta.source.name == "_cm.yaml"
    assert found[0].artifact.path.name == "get-gcc"


def test_find_by_name_and_by_qualified_name(catalog: Catalog) -> None:
    assert find(catalog, None, "get-python3") == ["r1:get-python3", "r2:get-python3"]
    assert find(catalog, None, "r2:get-python3") == ["r2:get-python3"]
    assert find(catalog, None, UID_2) == ["r2:get-python3"]


def test_name_and_tags_must_both_match(catalog: Catalog) -> None:
    assert find(catalog, "python3", "get-python3") == ["r1:get-python3", "r2:get-python3"]
    error = not_found(catalog, "gcc", "get-python3")
    assert str(error).startswith("no script named get-python3 with the tags gcc")


def test_name_with_variations_falls_back_to_a_tag(catalog: Catalog) -> None:
    """CM's ``cmr "python3 _v1"``: no script is named python3, so it is a tag."""
    assert find(catalog, None, "python3 _v1") == ["r1:get-python3", "r2:get-python3"]


def test_a_matching_name_wins_over_the_tag_reading(catalog: Catalog) -> None:
    request = split_request(None, "python _v1")
    error = not_found(catalog, None, "python _v1")  # the script 'python' has no _v1
    assert "r2:python lacks _v1" in str(error)
    assert request.name_may_be_tag


def test_requested_variations_filter_the_candidates(catalog: Catalog) -> None:
    assert find(catalog, "get,python3,_v2") == ["r1:get-python3"]
    assert find(catalog, "get,python3,_conda") == ["r2:get-python3"]
    assert find(catalog, "get,python3,_v1") == ["r1:get-python3", "r2:get-python3"]


def test_excluded_variations_must_exist_too(catalog: Catalog) -> None:
    assert find(catalog, "get,python3,-_v2") == ["r1:get-python3"]
    assert find(catalog, "get,python3,_-conda") == ["r2:get-python3"]


def test_dynamic_variation_matches_its_pattern(catalog: Catalog) -> None:
    assert find(catalog, "get,python3,_bs.16") == ["r1:get-python3"]
    error = not_found(catalog, "get,python3,_bs.")
    assert "r1:get-python3 lacks _bs." in str(error)


def test_no_script_has_these_tags_names_them_and_suggests_find(catalog: Catalog) -> None:
    error = not_found(catalog, "get,pythn3,_v1")
    assert error.message == "no script has the tags get,pythn3; no script has the tag 'pythn3'"
    assert error.hint == "see the scripts that have 'get': cairn find script --tags=get"


def test_no_script_has_an_unknown_single_tag(catalog: Catalog) -> None:
    error = not_found(catalog, "nothing-like-this")
    assert error.message == "no script has the tags nothing-like-this"
    assert error.hint == (
        "no script has any of them; list all: cairn find script, or cairn find script --tags=TAG"
    )


def test_excluded_tags_can_leave_nothing(catalog: Catalog) -> None:
    error = not_found(catalog, "python3,-get")
    assert error.message == "no script has the tags python3,-get"
    assert "cairn find script --tags=python3" in error.hint


def test_no_script_named(catalog: Catalog) -> None:
    error = not_found(catalog, None, "r1:get-pyhton3")
    assert error.message == "no script named r1:get-pyhton3; did you mean get-python3?"
    assert error.hint == "see: cairn find script"


def test_no_script_named_or_tagged(catalog: Catalog) -> None:
    error = not_found(catalog, None, "pyhton3 _v1")
    assert error.message.startswith("no script is named pyhton3 or has the tags pyhton3")
    assert error.message.endswith("; did you mean python?")  # a script of the fixture
    assert "cairn find script" in error.hint


def test_scripts_without_the_variations_are_listed_with_theirs(catalog: Catalog) -> None:
    error = not_found(catalog, "get,python3,_v9,-_v2")
    assert error.message == (
        "no script for --tags=get,python3,_v9,-_v2 defines _v9, -_v2: "
        "r1:get-python3 lacks _v9 (variations: _v1, _v2, _bs.<value>); "
        "r2:get-python3 lacks _v9, _v2 (variations: _v1, _conda)"
    )
    assert "use variations from these lists" in error.hint


def test_script_without_any_variation(catalog: Catalog) -> None:
    error = not_found(catalog, "get,compiler,gcc,_fast")
    assert "r1:get-gcc lacks _fast (variations: none)" in error.message


def write_meta(path: Path, text: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "_cm.yaml").write_text(text)
    return path / "_cm.yaml"


def test_broken_script_meta_is_warned_about_and_skipped(catalog: Catalog, tmp_path: Path) -> None:
    bad = write_meta(
        tmp_path / "repos" / "r1" / "script" / "hello-broken",
        "alias: hello-broken\nautomation_alias: script\ntags: [hello]\ncache: maybe\n",
    )
    collected = report.Reporter()
    with report.using(collected):
        found = find(catalog, "hello")
    assert found == ["r1:hello-a", "r1:hello-b", "r2:hello-0"]
    text = "\n".join(collected.warnings)
    assert "skipping script r1:hello-broken" in text and str(bad) in text and "'cache'" in text


def test_json_meta_is_named_when_it_is_there(catalog: Catalog, tmp_path: Path) -> None:
    folder = tmp_path / "repos" / "r1" / "script" / "json-broken"
    folder.mkdir(parents=True)
    (folder / "_cm.json").write_text(
        '{"alias": "json-broken", "automation_alias": "script", "tags": ["jb"], "sort": "x"}'
    )
    collected = report.Reporter()
    with report.using(collected), pytest.raises(NotFound) as info:
        find_candidates(catalog, split_request("jb", None))
    assert str(folder / "_cm.json") in "\n".join(collected.warnings)
    assert info.value.message == (
        "no script has the tags jb (1 found, but with a broken meta: see the warnings)"
    )


# --- choosing --------------------------------------------------------------------------------

REPO_1 = Repo(Path("/repos/r1"), "r1", "a" * 16)
REPO_2 = Repo(Path("/repos/r2"), "r2", "b" * 16)


def candidate(alias: str, sort: int = 0, repo: Repo = REPO_1, uid: str | None = None) -> Candidate:
    path = repo.path / "script" / alias
    meta = {"alias": alias, "tags": ["t"], "sort": sort}
    artifact = Artifact(path, repo, KNOWN["script"], alias, uid, ("t",), meta)
    return Candidate(artifact, ScriptMeta.from_meta(meta, path / "_cm.yaml"))


@pytest.fixture(autouse=True)
def no_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> str:
        raise AssertionError("input() must never be called")

    monkeypatch.setattr(builtins, "input", refuse)


def test_one_candidate_is_chosen() -> None:
    choice = choose([candidate("a")], quiet=False)
    assert choice.candidate.handle == "r1:a"
    assert choice.reason == "the only script that matches" and not choice.guessed


def test_unique_lowest_sort_wins_wherever_it_is() -> None:
    found = [candidate("gcc", 500), candidate("llvm", 100), candidate("cl", 1000)]
    choice = choose(found, quiet=False)
    assert choice.candidate.handle == "r1:llvm"
    assert choice.reason == "lowest sort (100) of 3 matching scripts" and not choice.guessed


def test_tie_without_chooser_takes_the_first_and_names_the_others() -> None:
    found = [candidate("a"), candidate("b", repo=REPO_2), candidate("c", 7)]
    choice = choose(found, quiet=False)
    assert choice.candidate.handle == "r1:a" and choice.guessed
    assert choice.reason == (
        "no terminal to ask: took the first of 2 equally matching scripts "
        "(ordered by sort, repository order, path): r1:a; the others: r2:b; "
        "to take another, name it (e.g. cairn run script r2:b)"
    )


def test_quiet_takes_the_first_and_says_so() -> None:
    found = [candidate("a"), candidate("b", repo=REPO_2)]
    choice = choose(found, quiet=True, chooser=lambda _: 1)
    assert choice.candidate.handle == "r1:a" and choice.guessed
    assert choice.reason.startswith("--quiet: took the first of 2 equally matching scripts ")


def test_built_in_scripts_are_fallbacks() -> None:
    from cairn.home import builtin_repo_path

    builtin = Repo(builtin_repo_path(), "builtin", "0" * 16)
    found = [candidate("detect-os", repo=builtin), candidate("detect-os", repo=REPO_2)]
    choice = choose(found, quiet=False)
    assert choice.candidate.handle == "r2:detect-os" and not choice.guessed
    assert choice.reason == "the only one of 2 matching scripts not built into cairn"
    lower = [candidate("x", -1, repo=builtin), candidate("y", repo=REPO_2)]
    assert choose(lower, quiet=False).candidate.handle == "r2:y"  # even with a lower sort
    tie = [candidate("x", repo=builtin), candidate("a"), candidate("b", repo=REPO_2)]
    asked: list[list[str]] = []
    choose(tie, quiet=False, chooser=lambda c: asked.append([x.handle for x in c]) or 0)
    assert asked == [["r1:a", "r2:b"]]  # a person is never offered the fallback
    assert choose([candidate("x", repo=builtin)], quiet=True).candidate.handle == "builtin:x"


def test_quiet_takes_the_lowest_sort_first_even_if_given_unordered() -> None:
    found = [candidate("z", 9), candidate("b", 1), candidate("a", 1)]
    assert choose(found, quiet=True).candidate.handle == "r1:b"


def test_chooser_is_asked_with_every_candidate_in_order() -> None:
    seen: list[list[str]] = []

    def pick_second(options: list[Candidate]) -> int:
        seen.append(handles(options))
        return 1

    found = [candidate("x", 3), candidate("a"), candidate("b", repo=REPO_2)]
    choice = choose(found, quiet=False, chooser=pick_second)
    assert seen == [["r1:a", "r2:b", "r1:x"]]
    assert choice.candidate.handle == "r2:b"
    assert choice.reason == "chosen from 3 matching scripts" and not choice.guessed


def test_chooser_is_not_asked_when_the_rules_decide() -> None:
    def never(options: list[Candidate]) -> int:
        raise AssertionError("asked")

    assert choose([candidate("a", 1), candidate("b", 2)], quiet=False, chooser=never)


@pytest.mark.parametrize("answer", [-1, 2, True])
def test_chooser_answer_out_of_range_is_refused(answer: int) -> None:
    with pytest.raises(InvalidInput, match=f"choice {answer!r} is not a number from 0 to 1"):
        choose([candidate("a"), candidate("b")], quiet=False, chooser=lambda _: answer)


def test_same_handle_twice_is_listed_by_uid() -> None:
    found = [candidate("a", uid=UID_1), candidate("a", uid=UID_2)]
    reason = choose(found, quiet=False).reason
    assert f": r1:{UID_1}; the others: r1:{UID_2};" in reason
    assert f"cairn run script r1:{UID_2})" in reason


def test_choose_needs_a_candidate() -> None:
    with pytest.raises(ValueError):
        choose([], quiet=True)


def test_find_then_choose_end_to_end(catalog: Catalog) -> None:
    compilers = find_candidates(catalog, split_request("get,compiler", None))
    assert choose(compilers, quiet=False).candidate.handle == "r1:get-llvm"
    pythons = find_candidates(catalog, split_request(None, "get python3 _v1"))
    assert "the others: r2:get-python3" in choose(pythons, quiet=False).reason
    assert choose(pythons, quiet=True).candidate.artifact.uid == UID_1


def test_list_tags_are_split_on_commas_only() -> None:
    request = split_request(["pkg", "_path./my dir/x", "a,b"], None)
    assert request.variations == ("path./my dir/x",)
    assert request.tags.include == ("pkg", "a", "b")


def test_a_misspelt_script_name_gets_a_guess(tmp_path: Path) -> None:
    from tests.script_fixtures import ScriptRepo, fails

    ScriptRepo(tmp_path / "guess-repo").add("evaluate", {})
    error = fails("evalute")["error"]
    assert "did you mean evaluate?" in error
    assert "did you mean" not in fails("zzzzzz")["error"]


def test_a_script_with_a_broken_meta_is_not_its_own_guess(tmp_path: Path) -> None:
    from tests.script_fixtures import ScriptRepo, fails

    ScriptRepo(tmp_path / "broken-repo").add("evaluate", {"default_env": {"D": {"a": 1}}})
    for error in (fails(artifact="evaluate")["error"], fails("evaluate")["error"]):
        assert "broken meta" in error and "did you mean" not in error


def test_a_new_repository_taking_over_a_dependency_is_said_once_and_can_be_pinned(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    from tests.script_fixtures import ScriptRepo

    apps = ScriptRepo(tmp_path / "apps", alias="apps")
    apps.add("app", {"deps": [{"tags": ["print", "hello"], "names": ["greeter"]}]})
    first = cli("run", "script", "app", "--out=json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["deps"][0]["script"] == "print-hello-world"
    assert "now served by" not in first.stderr

    mine = ScriptRepo(tmp_path / "mine", alias="mine")
    mine.add("my-greeter", tags=["print", "hello"], run="echo mine\n")
    second = cli("run", "script", "app", "--out=json")
    assert json.loads(second.stdout)["deps"][0]["script"] == "my-greeter"
    assert "now served by mine:my-greeter" in second.stderr
    assert "not by builtin:print-hello-world as before" in second.stderr
    assert "--adr.NAME.repo=builtin" in second.stderr
    third = cli("run", "script", "app")
    assert third.returncode == 0 and "now served by" not in third.stderr  # said once

    pinned = cli("run", "script", "app", "--adr.greeter.repo=builtin", "--out=json")
    assert pinned.returncode == 0, pinned.stderr
    assert json.loads(pinned.stdout)["deps"][0]["script"] == "print-hello-world"
    nowhere = cli("run", "script", "app", "--adr.greeter.repo=apps")
    assert nowhere.returncode == 16
    assert "no script for --tags=print,hello in repository apps" in nowhere.stderr
    assert "builtin:print-hello-world" in nowhere.stderr and "mine:my-greeter" in nowhere.stderr
