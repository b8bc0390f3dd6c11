"""Read items, their values in a view, and the tracked dicts hooks get (cairn.script.reads),
and the cache's manifests (cairn.script.cache.Manifest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cairn.engine_vars import CM_VARS, MLC_VARS
from cairn.script import reads, scope
from cairn.script.cache import Manifest, Scope


def view(env: dict[str, object] | None = None, **kw: dict[str, object]) -> reads.View:
    return reads.View(env or {}, kw.get("const", {}), kw.get("state", {}), kw.get("caller", {}))


def test_values_of_names_patterns_and_key_sets() -> None:
    v = view({"A": "1", "B_X": "2", "B_Y": "3", "+PATH": ["/opt"]}, const={"A": "9"})
    got = reads.values(["env:A", "env:B_*", "env:#keys", "env:MISSING", "env:PATH"], v)
    assert got["env:A"] == ["1", "9", True, True]
    assert got["env:B_*"] == [["B_X", "2", None], ["B_Y", "3", None]]
    assert got["env:#keys"] == ["+PATH", "A", "B_X", "B_Y"]
    assert "env:MISSING" not in got  # absent: left out, so absent and present always differ
    assert got["env:PATH"] == [None, None, False, False, [["+PATH", ["/opt"], None]]]


def test_state_and_caller_values() -> None:
    v = view(state={"mode": "fast", "other": 1}, caller={"X": "y"})
    got = reads.values(["state:mode", "state:#keys", "state:*", "caller:X", "state:nope"], v)
    assert got == {
        "state:mode": ["fast"],
        "state:#keys": ["mode", "other"],
        "state:*": {"mode": "fast", "other": 1},
        "caller:X": ["y"],
    }
    with pytest.raises(ValueError, match="not a read item"):
        reads.values(["bogus:X"], v)


def test_the_view_is_a_snapshot() -> None:
    env: dict[str, object] = {"L": [1]}
    v = view(env)
    before = reads.digest(["env:L"], v)
    env["L"].append(2)  # type: ignore[attr-defined]
    assert reads.digest(["env:L"], v) == before
    assert view({"L": [1]}).full_digest() != view({"L": [1, 2]}).full_digest()
    assert view({"Q": "1"}).full_digest(["Q"]) == view({}).full_digest()


def test_tracked_notes_gets_iteration_and_bulk_reads() -> None:
    t = reads.Tracked({"A": 1, "B": 2})
    t.get("A")
    assert "B" in t
    t["C"] = 3  # a write is no read
    assert t.read == {"A", "B"}
    list(t)
    assert reads.KEYS in t.read
    t2 = reads.Tracked({"A": 1})
    list(t2.items())
    assert reads.tracked_items("env:", t2) == {"env:*"}


def test_plain_copies_without_reading() -> None:
    t = reads.Tracked({"A": 1, "B": 2})
    assert reads.plain(t) == {"A": 1, "B": 2} and type(reads.plain(t)) is dict
    assert t.read == set()
    dict(t)  # a copy through the normal path reads every key
    assert t.read == {reads.KEYS, "A", "B"}


def test_differing_names_changed_added_and_removed_values() -> None:
    old = reads.values(["env:A", "env:B", "env:C"], view({"A": "1", "B": "2"}))
    now = view({"A": "1", "B": "3", "C": "4"})
    assert reads.differing(["env:A", "env:B", "env:C"], old, now) == ["env:B", "env:C"]


def test_scope_final_drops_unscoped_keys_and_child_caller_reads_become_env() -> None:
    items = ["env:CM_TMP_CURRENT_PATH", "env:CM_QUIET", "env:KEEP", "env:CM_TMP_*", "state:x"]
    assert scope.final(items, CM_VARS) == ("env:CM_TMP_*", "env:KEEP", "state:x")
    mlc = ["env:MLC_TMP_CURRENT_PATH", "env:MLC_QUIET", "env:CM_QUIET"]
    assert scope.final(mlc, MLC_VARS) == ("env:CM_QUIET",)
    assert scope.from_child(["caller:X", "env:Y"]) == {"env:X", "env:Y"}


def test_manifest_rows_newest_first_superseding_and_broken_files(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    manifest = Manifest.read(path)
    first = Scope("s" * 64, ["env:A"], {"env:A": ["1"]})
    assert manifest.add(first, "a" * 16) == []
    again = Scope("s" * 64, ["env:A"], {"env:A": ["1"]})
    assert manifest.add(again, "b" * 16) == ["a" * 16]  # same reads and values: superseded
    other = Scope("s" * 64, ["env:A", "env:B"], {})
    manifest.add(other, "c" * 16)
    path.write_text(json.dumps(manifest.to_json()))
    back = Manifest.read(path)
    assert [r["uid"] for r in back.rows] == ["c" * 16, "b" * 16]
    assert [items for _sid, items in back.sets_newest_first()] == [["env:A", "env:B"], ["env:A"]]
    data = back.to_json()
    data["rows"][0]["uid"] = "../../escape!!!!"
    path.write_text(json.dumps(data))
    assert Manifest.read(path).rows == []  # a row naming an unsafe directory: not trusted


def test_scope_key_depends_on_static_items_and_values() -> None:
    base = Scope("s" * 64, ["env:A"], {"env:A": ["1"]}).key()
    assert Scope("s" * 64, ["env:A"], {"env:A": ["1"]}).key() == base
    assert Scope("t" * 64, ["env:A"], {"env:A": ["1"]}).key() != base
    assert Scope("s" * 64, ["env:A", "env:B"], {"env:A": ["1"]}).key() != base
    assert Scope("s" * 64, ["env:A"], {"env:A": ["2"]}).key() != base
