from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from cairn.kinds import Kind
from cairn.record import (
    Defaulted,
    FrozenRecord,
    MutableDefaulted,
    Record,
    field,
    init,
    replace,
)
from cairn.store.artifact import Artifact
from cairn.store.repo import Repo


class Point(FrozenRecord):
    _fields = ("x", "y", "note")
    __slots__ = _fields
    _hidden = frozenset({"note"})
    x: int
    y: int
    note: str

    def __init__(self, x: int, y: int = 0, note: str = "") -> None:
        init(self, x, y, note)


class Box(Record):
    _fields = ("items",)
    __slots__ = _fields

    def __init__(self, items: list[int] | None = None) -> None:
        self.items = [] if items is None else items


def test_frozen_records_compare_hash_and_print_their_shown_fields() -> None:
    assert Point(1, 2) == Point(1, 2, note="ignored") and Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2)) == hash(Point(1, 2, "other"))
    assert len({Point(1, 2), Point(1, 2, "n"), Point(3)}) == 2
    assert repr(Point(1, 2, "n")) == "Point(x=1, y=2)"
    assert Point(1) != (1, 0, "") and Point(1).__eq__(Kind("a")) is NotImplemented


def test_frozen_records_refuse_changes() -> None:
    point = Point(1)
    with pytest.raises(AttributeError, match="cannot assign to field 'x'"):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.y
    with pytest.raises(AttributeError):
        point.z = 1  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        init(point, 1)  # every field, in order


def test_mutable_records_compare_but_do_not_hash() -> None:
    box = Box()
    box.items.append(1)
    assert box == Box([1]) and Box() != Box([2])
    assert Box().items is not Box().items
    with pytest.raises(TypeError, match="unhashable"):
        hash(box)


def test_records_pickle_and_copy(tmp_path: Path) -> None:
    repo = Repo(tmp_path, "r", "0123456789abcdef", meta={"alias": "r"})
    found = Artifact(tmp_path / "a", repo, Kind("dataset"), "a", None, ("t",), {"k": [1]})
    for clone in (pickle.loads(pickle.dumps(found)), copy.deepcopy(found), copy.copy(found)):
        assert clone == found and clone.meta == {"k": [1]} and clone.repo.meta == {"alias": "r"}
    assert copy.deepcopy(found).meta is not found.meta
    assert pickle.loads(pickle.dumps(Box([3]))) == Box([3])


def test_hidden_fields_stay_out_of_equality_and_repr(tmp_path: Path) -> None:
    repo = Repo(tmp_path, "r", "0123456789abcdef")
    one = Artifact(tmp_path, repo, Kind("dataset"), "a", None, (), {"size": 1})
    other = Artifact(tmp_path, repo, Kind("dataset"), "a", None, (), {"size": 2})
    assert one == other and hash(one) == hash(other)
    assert "size" not in repr(one) and repr(repo).startswith("Repo(path=")
    assert Repo(tmp_path, "r", "0123456789abcdef").meta == {}


class Options(Defaulted):
    name: str
    size: int = 1
    env: dict[str, int] = field(default_factory=dict)
    box: Box = field(default_factory=Box)


class Counter(MutableDefaulted):
    name: str
    count: int = 0
    kind: type[Box] = Box
    """A class as a plain default is the class itself, never called."""
    _hidden = frozenset({"kind"})


def test_defaulted_records_take_fields_by_position_or_name_and_fresh_defaults() -> None:
    a, b = Options("a"), Options(name="a")
    assert a == b and a.size == 1 and a.env == {} and a.box == Box()
    assert a.env is not b.env and a.box is not b.box
    assert Options("a", 2, {"K": 1}) == Options("a", env={"K": 1}, size=2)
    with pytest.raises(AttributeError):
        a.size = 3  # type: ignore[misc]
    c = Counter("c")
    c.count += 1
    assert c == Counter("c", 1) and repr(c) == "Counter(name='c', count=1)"
    assert c.kind is Box


def test_defaulted_records_take_their_shape_from_the_annotations() -> None:
    assert Options._fields == Options.__slots__ == ("name", "size", "env", "box")
    assert Options._defaults == {"size": 1} and Options._factories == {"env": dict, "box": Box}
    with pytest.raises(AttributeError):
        Options("a").colour = "red"  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        Counter("c").colour = "red"  # type: ignore[attr-defined]


class Checked(Defaulted):
    low: int
    high: int = 10

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"{self.low} > {self.high}")


def test_post_init_runs_once_the_fields_are_set() -> None:
    assert Checked(1).high == 10 and Checked(high=2, low=2) == Checked(2, 2)
    with pytest.raises(ValueError, match="11 > 10"):
        Checked(11)
    with pytest.raises(ValueError, match="3 > 2"):
        replace(Checked(1, 2), low=3)
    assert pickle.loads(pickle.dumps(Checked(1))) == Checked(1)


@pytest.mark.parametrize(
    "body, message",
    [
        ("_defaults = {'size': 1}\n    _fields = ('size',)", "not _fields"),
        ("size: int\n    __slots__ = ('size',)", "not __slots__"),
        ("size: int\n    def __init__(self) -> None: ...", "not __init__"),
        ("size: ClassVar[int] = 1", "class constants take no annotation"),
        ("size = 1", "needs annotated fields"),
    ],
)
def test_defaulted_records_refuse_what_would_not_make_fields(body: str, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        define(f"from __future__ import annotations\nclass Bad(Defaulted):\n    {body}\n")


def define(code: str) -> None:
    """Run ``code`` as a module of its own (without this file's ``__future__`` import)."""
    exec(compile(code, "<record>", "exec", dont_inherit=True), {"Defaulted": Defaulted})


def test_defaulted_records_need_string_annotations_and_one_base() -> None:
    with pytest.raises(TypeError, match="from __future__ import annotations"):
        define("class Bad(Defaulted):\n    size: int\n")
    with pytest.raises(TypeError, match="derive from Defaulted or MutableDefaulted alone"):

        class Sub(Options):
            extra: int = 0

    with pytest.raises(TypeError, match="alone"):

        class Mixed(Defaulted, Box):  # type: ignore[misc]
            size: int = 0


@pytest.mark.parametrize(
    "args, values, message",
    [
        ((), {}, "needs the field 'name'"),
        (("a", 1, {}, Box(), 5), {}, "takes 4 fields, not 5"),
        (("a",), {"name": "b"}, "repeated field 'name'"),
        (("a",), {"colour": "red"}, "unexpected or repeated field 'colour'"),
    ],
)
def test_defaulted_records_reject_what_a_call_could_not_pass(
    args: tuple[object, ...], values: dict[str, object], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        Options(*args, **values)


def test_replace_copies_a_record_with_some_fields_changed() -> None:
    a = Options("a", env={"K": 1})
    b = replace(a, size=5)
    assert (b.name, b.size, b.env) == ("a", 5, {"K": 1}) and a.size == 1
    assert replace(Point(1, 2, "n"), y=3).note == "n"
    with pytest.raises(TypeError, match="no field 'colour'"):
        replace(a, colour="red")
