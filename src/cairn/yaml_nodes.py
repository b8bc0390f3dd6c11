"""Plain YAML documents built straight from the parser's node tree: the fast path of
:func:`cairn.meta.load_file`.

PyYAML's C parser composes a document into nodes quickly; its constructor, written in
Python, then costs more than the parse (about 60% of ``yaml.load`` on script metas), and
:mod:`cairn.meta` walks the result once more to rebuild it as JSON data. A meta is nearly
always mappings, lists and plain scalars, so :func:`plain` builds those in one walk, with the
safe constructor's own conversions for ``int``, ``float``, ``bool`` and ``null``.

Anything else answers :data:`FALLBACK`, and the caller loads the text the slow, general way:
a tag other than those (timestamps, ``!!binary``, ``!!set``, unknown tags), a merge key
``<<``, a mapping key that is no scalar, a list or mapping seen twice (a YAML alias, which
the general path expands and bounds), nesting deeper than ``depth_limit``, or more than
``node_limit`` values. So both paths give the same data, and the limits and messages stay
the general path's.
"""

from __future__ import annotations

MYPY = False  # `typing` stays out of start-up; mypy treats MYPY as true
if MYPY:
    from typing import Any

FALLBACK: Any = object()
"""What :func:`plain` answers for a document it leaves to the general path."""

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_CONVERTED = {
    "tag:yaml.org,2002:int": "construct_yaml_int",
    "tag:yaml.org,2002:float": "construct_yaml_float",
    "tag:yaml.org,2002:bool": "construct_yaml_bool",
    "tag:yaml.org,2002:null": "construct_yaml_null",
}


class _Fallback(Exception):
    """The document needs the general path."""


def plain(text: str, depth_limit: int, node_limit: int) -> Any:
    """The single YAML document in ``text`` as JSON data, or :data:`FALLBACK`.

    A syntax error is raised as PyYAML's ``YAMLError``, as ``yaml.load`` would raise it.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    node = yaml.compose(text, Loader=loader)
    if node is None:
        return None
    try:
        return _Builder(depth_limit, node_limit).value(node, 0)
    except (_Fallback, RecursionError):
        return FALLBACK


class _Builder:
    """One walk over a node tree, counting values and refusing shared containers."""

    def __init__(self, depth_limit: int, node_limit: int) -> None:
        from yaml.constructor import SafeConstructor

        self.depth_limit = depth_limit
        self.left = node_limit
        self.seen: set[int] = set()
        self.convert = {tag: getattr(SafeConstructor(), name) for tag, name in _CONVERTED.items()}

    def value(self, node: Any, depth: int) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag in (_MAP, _SEQ):
            return self.container(node, depth)
        convert = self.convert.get(tag)
        if convert is None:
            raise _Fallback
        return convert(node)

    def container(self, node: Any, depth: int) -> Any:
        if depth >= self.depth_limit or id(node) in self.seen:
            raise _Fallback
        self.seen.add(id(node))
        self.left -= len(node.value) + 1
        if self.left < 0:
            raise _Fallback
        depth += 1
        if node.tag == _SEQ:
            return [self.value(item, depth) for item in node.value]
        result: dict[Any, Any] = {}
        for key, item in node.value:
            if key.tag != _STR and key.tag not in self.convert:  # a merge key "<<" is not
                raise _Fallback
            result[self.value(key, depth)] = self.value(item, depth)
        return result
