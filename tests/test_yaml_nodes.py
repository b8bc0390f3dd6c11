"""yaml_nodes.py: the fast path gives what the general one (``yaml.load`` + meta's rebuild)
gives, and leaves it every document it does not handle."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cairn import meta, yaml_nodes

SAME = [
    "alias: a\nuid: '0123456789abcdef'\ntags: [a, b]\n",
    "n: 12\nf: 2.9\nhex: 0x1f\noct: 0o17\nsexa: 1:30\ninf: .inf\nyes: yes\nOff: off\nnil: ~\n",
    "version_max: 2.9\ndefault: 'true,'\nempty:\nlist:\n- - 1\n  - x\n- {a: {b: [c]}}\n",
    "1: one\ntrue: t\nnull: n\n3.5: f\n",
    "'<<': quoted\nk: !!str 12\n",
    "",
    "just text\n",
    "[1, 2]\n",
]

FALLBACK = [
    "a: &x [1, 2]\nb: *x\n",
    "base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n",
    "when: 2024-01-02\n",
    "s: !!set {a, b}\n",
    "b: !!binary aGVsbG8=\n",
    "? [a, b]\n: v\n",
    "x: !custom 1\n",
    "d: " + "[" * 120 + "]" * 120 + "\n",
]


def general(text: str) -> object:
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return meta._Plain(Path("x.yaml")).value(data, "", [])


@pytest.mark.parametrize("text", SAME)
def test_the_fast_path_gives_the_same_data(text: str) -> None:
    fast = yaml_nodes.plain(text, meta.YAML_DEPTH_LIMIT, meta.YAML_NODE_LIMIT)
    assert fast is not yaml_nodes.FALLBACK
    assert repr(fast) == repr(general(text))  # the same types too (1 is not True)


@pytest.mark.parametrize("text", FALLBACK)
def test_aliases_tags_merges_and_depth_are_left_to_the_general_path(text: str) -> None:
    assert yaml_nodes.plain(text, meta.YAML_DEPTH_LIMIT, meta.YAML_NODE_LIMIT) is (
        yaml_nodes.FALLBACK
    )


def test_too_many_values_are_left_to_the_general_path() -> None:
    text = "a: [" + ", ".join(["1"] * 50) + "]\n"
    assert yaml_nodes.plain(text, 100, 10) is yaml_nodes.FALLBACK
    assert yaml_nodes.plain(text, 100, 1000) == {"a": [1] * 50}


def test_a_syntax_error_is_pyyaml_s() -> None:
    with pytest.raises(yaml.YAMLError):
        yaml_nodes.plain("a: [unclosed\n", 100, 1000)
    with pytest.raises(yaml.YAMLError):
        yaml_nodes.plain("a: 1\n---\nb: 2\n", 100, 1000)
