"""Versions: PEP 440 and fallback parsing, comparison, and a run's version constraints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cairn.engine_vars import CM_VARS, MLC_VARS
from cairn.errors import InvalidInput
from cairn.script.model import ScriptMeta
from cairn.script.versions import Constraints, Version, compare, parse_version

SOURCE = Path("/repo/script/get-python3/_cm.yaml")


def script(**keys: Any) -> ScriptMeta:
    return ScriptMeta.from_meta({"alias": "get-python3", **keys}, SOURCE)


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pep"),
    [
        ("3.11.7", True),
        ("1.2.3-rc1", True),
        ("v2.0", True),
        ("12.2.0-14+deb12u1", True),
        ("2.39.2.windows.1", False),
        ("11.4.0-1ubuntu1~22.04", False),
        ("1.2.3-ubuntu1", False),
        ("master", False),
    ],
)
def test_pep440_when_valid_else_the_fallback(text: str, pep: bool) -> None:
    version = parse_version(text)
    assert version.is_pep440 is pep
    assert str(version) == text


def test_surrounding_blanks_are_ignored() -> None:
    assert str(parse_version("  3.11 \n")) == "3.11"
    assert parse_version(" 3.11 ") == parse_version("3.11")


@pytest.mark.parametrize("text", ["", "   ", "...", "-+~"])
def test_text_without_digits_or_letters_is_not_a_version(text: str) -> None:
    with pytest.raises(InvalidInput, match="is not a version"):
        parse_version(text)


# --- comparison ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("3.11.7", "3.11.7", 0),
        ("1.10", "1.9", 1),  # numeric, not text
        ("1.2", "1.2.0", 0),  # a missing part is 0
        ("v2.0", "2", 0),
        ("1.2.3-rc1", "1.2.3", -1),  # PEP 440 pre-release
        ("1.2.3-rc1", "1.2.3-rc2", -1),
        ("12.2.0-14+deb12u1", "12.2.0", 1),  # PEP 440 post-release with a local part
        ("12.2.0-14+deb12u1", "12.3", -1),
        ("2.39.2.windows.1", "2.39.2", 1),  # fallback: a vendor word marks a later build
        ("2.39.2.windows.1", "2.40", -1),
        ("1.2.3-ubuntu1", "1.2.3", 1),
        ("1.2.3-ubuntu2", "1.2.3-ubuntu10", -1),  # numbers inside words compare numerically
        ("11.4.0-1ubuntu1~22.04", "11.4.0-2ubuntu1~22.04", -1),
        ("1.2-alpha.x", "1.2", -1),  # fallback: a pre-release word ranks below the release
        ("1.2-beta.x", "1.2-alpha.x", 1),
        ("1.2.RC.x", "1.2.rc.x", 0),  # words compare case-insensitively
        ("1.0.x", "1.0.1", 1),  # other words rank above numbers
        ("master", "99.0", 1),
        ("v2.39.2.windows.1", "2.39.2.windows.1", 0),  # fallback drops a leading v too
        # two PEP 440 versions follow PEP 440 where the fallback would not
        ("1.0.post1", "1.0.1", -1),
        ("1.0.dev1", "1.0a1", -1),
        ("1.0a1", "1.0b1", -1),
    ],
)
def test_compare(a: str, b: str, expected: int) -> None:
    assert compare(a, b) == expected
    assert compare(b, a) == -expected


def test_compare_takes_parsed_versions_too() -> None:
    assert compare(parse_version("3.12"), "3.11.9") == 1
    assert compare("3.12", parse_version("3.12.0")) == 0


def test_version_operators_and_sorting() -> None:
    texts = ["3.10", "3.9.18", "3.12.0rc1", "3.12", "2.39.2.windows.1", "3.11.7"]
    ordered = sorted(parse_version(t) for t in texts)
    assert [str(v) for v in ordered] == [
        "2.39.2.windows.1",
        "3.9.18",
        "3.10",
        "3.11.7",
        "3.12.0rc1",
        "3.12",
    ]
    assert parse_version("3.10") > parse_version("3.9")
    assert parse_version("3.10") >= parse_version("3.10.0")
    assert parse_version("3.10") != parse_version("3.10.1")
    assert parse_version("3.10") != "3.10"  # no silent comparison with plain text


@pytest.mark.parametrize(
    ("a", "b"), [("1.2", "1.2.0"), ("v2.0", "2"), ("0!1.0", "1.0"), ("1.0c1", "1.0rc1")]
)
def test_equal_versions_hash_alike(a: str, b: str) -> None:
    assert parse_version(a) == parse_version(b)
    assert hash(parse_version(a)) == hash(parse_version(b))
    assert len({parse_version(a), parse_version(b)}) == 1


def test_version_is_a_value() -> None:
    version = parse_version("3.11")
    assert isinstance(version, Version)
    with pytest.raises(AttributeError):
        version.text = "4"  # type: ignore[misc]


# --- constraints: where each field comes from -------------------------------------------------


def test_each_field_comes_from_input_else_env_else_meta() -> None:
    meta = script(version_min="3.0", version_max="4.0", version_max_usable="3.11")
    env = {"CM_VERSION_MIN": "3.7", "CM_VERSION_MAX": "3.13"}
    constraints = Constraints.from_sources({"version_min": "3.8"}, env, meta)
    assert constraints == Constraints(None, "3.8", "3.13", "3.11")
    assert constraints.origins == {
        "version_min": "--version_min",
        "version_max": "env CM_VERSION_MAX",
        "version_max_usable": "the meta of script get-python3",
    }


def test_empty_values_fall_through_to_the_next_source() -> None:
    meta = script(version="3.11.7")
    constraints = Constraints.from_sources({"version": ""}, {"CM_VERSION": "  "}, meta)
    assert constraints.version == "3.11.7"
    assert Constraints.from_sources({"version": None}, {}, script()) == Constraints()


def test_input_values_are_trimmed_and_integers_accepted() -> None:
    constraints = Constraints.from_sources({"version": " 3 ", "version_max": 4}, {}, script())
    assert (constraints.version, constraints.version_max) == ("3", "4")


@pytest.mark.parametrize(("value", "shown"), [(3.10, "float 3.1"), (True, "bool True")])
def test_a_float_or_bool_version_is_refused(value: object, shown: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Constraints.from_sources({}, {"CM_VERSION": value}, script())
    assert f"env CM_VERSION must be a version string, not {shown}" in str(info.value)
    assert "'3.10'" in info.value.hint


def test_a_version_that_cannot_be_parsed_names_its_field_and_origin() -> None:
    with pytest.raises(InvalidInput) as info:
        Constraints.from_sources({"version_min": "..."}, {}, script())
    assert "version_min ... (from --version_min): '...' is not a version" in str(info.value)


# --- constraints: consistency -----------------------------------------------------------------


def test_exact_version_below_the_minimum_names_both() -> None:
    with pytest.raises(InvalidInput) as info:
        Constraints.from_sources({"version": "3.7"}, {}, script(version_min="3.8"))
    assert str(info.value).startswith(
        "version 3.7 (from --version) is below version_min 3.8 (from the meta of script "
        "get-python3)"
    )


def test_exact_version_above_the_maximum_names_both() -> None:
    with pytest.raises(InvalidInput, match=r"version 3\.13 is above version_max 3\.12"):
        Constraints(version="3.13", version_max="3.12")


def test_minimum_above_maximum_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        Constraints.from_sources({"version_min": "3.13"}, {"CM_VERSION_MAX": "3.12"}, script())
    message = str(info.value)
    assert "version_min 3.13 (from --version_min) is above version_max 3.12" in message
    assert "(from env CM_VERSION_MAX)" in message and "no version can satisfy both" in message


def test_bounds_are_inclusive_when_checking_consistency() -> None:
    assert Constraints(version="3.8", version_min="3.8.0", version_max="3.8").version == "3.8"


# --- constraints: use ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constraints", "version", "expected"),
    [
        (Constraints(), "0.1", True),
        (Constraints(version="3.11"), "3.11.0", True),
        (Constraints(version="3.11"), "3.11.7", False),
        (Constraints(version_min="3.8"), "3.8", True),
        (Constraints(version_min="3.8"), "3.10", True),  # not text order
        (Constraints(version_min="3.8"), "3.7.17", False),
        (Constraints(version_max="3.12"), "3.12.0", True),
        (Constraints(version_max="3.12"), "3.12.1", False),
        (Constraints(version_max="3.12"), "3.12.0rc1", True),
        (Constraints(version_min="2.39"), "2.39.2.windows.1", True),
        (Constraints(version_max="12.2"), "12.2.0-14+deb12u1", False),
        (Constraints(version_max="3.12", version_max_usable="3.11"), "3.12", True),
    ],
)
def test_satisfies(constraints: Constraints, version: str, expected: bool) -> None:
    assert constraints.satisfies(version) is expected
    assert constraints.satisfies(parse_version(version)) is expected


@pytest.mark.parametrize(
    ("constraints", "default", "expected"),
    [
        (Constraints(), "3.11", "3.11"),
        (Constraints(), None, None),
        (Constraints(), " ", None),
        (Constraints(version_min="3.8"), "3.7", "3.8"),
        (Constraints(version_min="3.8"), "3.10", "3.10"),
        (Constraints(version_max="3.12"), "3.13", "3.12"),
        (Constraints(version_max="3.12", version_max_usable="3.11"), "3.13", "3.11"),
        (Constraints(version_max="3.12", version_max_usable="3.11"), "3.12", "3.12"),
        # a usable maximum outside the bounds is not used
        (
            Constraints(version_min="3.12", version_max="3.13", version_max_usable="3.11"),
            "4",
            "3.13",
        ),
        (Constraints(version_max="3.12", version_max_usable="3.14"), "4", "3.12"),
        # an exact version wins over the default
        (Constraints(version="3.9"), "3.11", "3.9"),
        (Constraints(version="3.9"), None, "3.9"),
    ],
)
def test_clamp_default(constraints: Constraints, default: str | None, expected: str | None) -> None:
    assert constraints.clamp_default(default) == expected


def test_env_has_the_keys_of_the_fields_that_are_set() -> None:
    assert Constraints().env() == {}
    constraints = Constraints(version_min="3.8", version_max="3.12", version_max_usable="3.11")
    assert constraints.env() == {
        "CM_VERSION_MIN": "3.8",
        "CM_VERSION_MAX": "3.12",
        "CM_VERSION_MAX_USABLE": "3.11",
    }
    assert Constraints(version="3.11.7").env() == {"CM_VERSION": "3.11.7"}


@pytest.mark.parametrize(
    ("constraints", "spec"),
    [
        (Constraints(version="1.26.4", version_min="1.0"), "==1.26.4"),
        (Constraints(version_min="1.0", version_max="2.0"), ">=1.0,<=2.0"),
        (Constraints(version_min="1.0"), ">=1.0"),
        (Constraints(version_max="2.0", version_max_usable="1.9"), "<=2.0"),
        (Constraints(), ""),
    ],
)
def test_pip_spec(constraints: Constraints, spec: str) -> None:
    assert constraints.pip_spec() == spec


def test_str_lists_the_constraining_fields() -> None:
    assert str(Constraints()) == "no version constraints"
    shown = str(Constraints(version_min="3.8", version_max="3.12", version_max_usable="3.11"))
    assert shown == "version_min=3.8, version_max=3.12"
    assert str(Constraints(version="3.11")) == "version=3.11"


def test_origins_do_not_change_equality() -> None:
    assert Constraints(version="1", origins={"version": "x"}) == Constraints(version="1")
    assert hash(Constraints(version="1", origins={"version": "x"})) == hash(Constraints("1"))


# --- listed versions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"version": "3.0"}, "3.0"),
        ({"version": "2"}, None),  # the same as 2.0
        ({"version": "master"}, "master"),
        ({"version_min": "3.0"}, None),  # only an exact version is checked
    ],
)
def test_unlisted_is_an_exact_version_the_script_does_not_list(
    given: dict[str, str], expected: str | None
) -> None:
    meta = script(versions={"1.0": {}, "2.0": {}})
    constraints = Constraints.from_sources(given, {}, meta)
    assert constraints.unlisted(list(meta.versions)) == expected
    assert Constraints.from_sources(given, {}, script()).unlisted([]) is None


def test_a_version_from_the_script_meta_itself_is_not_checked() -> None:
    meta = script(version="9.0", versions={"1.0": {}})
    assert Constraints.from_sources({}, {}, meta).unlisted(["1.0"]) is None
    from_env = Constraints.from_sources({}, {"CM_VERSION": "9.0"}, meta)
    assert from_env.unlisted(["1.0"]) == "9.0"


@pytest.mark.parametrize(
    ("files", "acts"),
    [
        ({"_cm.yaml": "new_env_keys: [CM_VERSION]\n", "run.sh": "echo hi\n"}, False),
        ({"_cm.yaml": "env: {URL: 'x-<<<CM_VERSION>>>'}\n"}, True),
        ({"_cm.yaml": "{}\n", "run.sh": 'wget "x-$CM_VERSION.tgz"\n'}, True),
        ({"_cm.yaml": "{}\n", "customize.py": "r = i['automation'].parse_version({})\n"}, True),
    ],
)
def test_acts_on_any_version(tmp_path: Path, files: dict[str, str], acts: bool) -> None:
    from cairn.script.versions import acts_on_any_version

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert acts_on_any_version(tmp_path, list(files), CM_VARS) is acts


def test_an_mlc_script_acts_on_any_version_by_its_own_names(tmp_path: Path) -> None:
    from cairn.script.versions import acts_on_any_version

    (tmp_path / "meta.yaml").write_text("env: {URL: 'x-<<<MLC_VERSION>>>'}\n")
    (tmp_path / "run.sh").write_text('wget "x-$CM_VERSION.tgz"\n')
    assert acts_on_any_version(tmp_path, ["meta.yaml"], MLC_VARS)
    assert not acts_on_any_version(tmp_path, ["run.sh"], MLC_VARS)
    assert acts_on_any_version(tmp_path, ["run.sh"], CM_VARS)


def test_mlc_constraints_come_from_and_go_to_mlc_keys() -> None:
    env = {"MLC_VERSION_MIN": "3.8", "CM_VERSION_MAX": "3.9"}
    constraints = Constraints.from_sources({}, env, script(), MLC_VARS)
    assert constraints == Constraints(version_min="3.8")
    assert constraints.env(MLC_VARS) == {"MLC_VERSION_MIN": "3.8"}
