"""A script's dependency graph, drawn as inline SVG on its page (no JavaScript).

The graph is read from the metas, nothing runs: each entry of ``deps``, ``prehook_deps``,
``posthook_deps`` and ``post_deps`` is resolved to the script a run would choose for its
tags (the usual selection rules, ``--quiet``), down to :data:`MAX_DEPTH` levels. Which
entries a run really takes can depend on env values (``enable_if_env``...) and variations:
such entries are drawn dashed, and a dependency no script answers is drawn in red. A script
met again below itself (a cycle) or already drawn is drawn once more without its children.

Layout: one column per depth, one row per node in depth-first order, an edge from each node
to its dependencies; each box links to the dependency's page.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from cairn.errors import CairnError
from cairn.record import MutableDefaulted, field

MAX_DEPTH = 4
MAX_NODES = 80
KINDS = ("deps", "prehook_deps", "posthook_deps", "post_deps")
BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 190, 34, 50, 12, 8
MAX_LABEL = 26


class Node(MutableDefaulted):
    """One box: what it shows, where it links, how it is drawn."""

    label: str
    detail: str
    link: str | None = None
    depth: int = 0
    row: int = 0
    conditional: bool = False
    missing: bool = False
    children: list[Node] = field(default_factory=list)


def build(catalog: Any, candidate: Any) -> Node:
    """The tree below ``candidate`` (a :class:`cairn.script.select.Candidate`)."""
    root = Node(label=_short(candidate.artifact.alias or ""), detail="this script")
    count = [1]
    _expand(catalog, candidate, root, {candidate.artifact.path}, count)
    _place(root, [0])
    return root


def _expand(catalog: Any, candidate: Any, node: Node, above: set[Any], count: list[int]) -> None:
    if node.depth >= MAX_DEPTH:
        return
    for kind in KINDS:
        for dep in getattr(candidate.meta, kind):
            if count[0] >= MAX_NODES:
                return
            count[0] += 1
            found = _chosen(catalog, dep)
            child = _child(found, dep, kind, node.depth + 1)
            node.children.append(child)
            if found is not None and found.artifact.path not in above:
                _expand(catalog, found, child, above | {found.artifact.path}, count)


def _child(found: Any, dep: Any, kind: str, depth: int) -> Node:
    tags = ",".join(dep.tags)
    conditional = bool(dep.enable_if_env or dep.skip_if_env or dep.enable_if_any_env)
    conditional = conditional or bool(dep.skip_if_any_env)
    detail = f"{kind}: {tags}" + (f" [{','.join(dep.names)}]" if dep.names else "")
    if found is None:
        return Node(label=_short(tags), detail=detail, depth=depth, missing=True)
    link = f"/a/script/{quote(found.handle, safe='')}"
    label = _short(found.artifact.alias or tags)
    return Node(label=label, detail=detail, link=link, depth=depth, conditional=conditional)


def _chosen(catalog: Any, dep: Any) -> Any:
    """The script a run would choose for ``dep``'s tags (``None``: no script answers)."""
    from cairn.script import select

    if not dep.tags:
        return None
    try:
        request = select.split_request(list(dep.tags), None)
        return select.choose(select.find_candidates(catalog, request), quiet=True).candidate
    except (CairnError, ValueError):
        return None


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _place(node: Node, next_row: list[int]) -> None:
    node.row = next_row[0]
    next_row[0] += 1
    for child in node.children:
        _place(child, next_row)


def _nodes(node: Node) -> list[Node]:
    found = [node]
    for child in node.children:
        found += _nodes(child)
    return found


def _xy(node: Node) -> tuple[int, int]:
    return PAD + node.depth * (BOX_W + GAP_X), PAD + node.row * (BOX_H + GAP_Y)


def _edges(node: Node) -> list[str]:
    lines = []
    x, y = _xy(node)
    for child in node.children:
        cx, cy = _xy(child)
        dash = ' stroke-dasharray="5,4"' if child.conditional else ""
        lines.append(
            f'<path d="M{x + 14},{y + BOX_H} V{cy + BOX_H // 2} H{cx}" fill="none"'
            f' stroke="#888"{dash}/>'
        )
        lines += _edges(child)
    return lines


def _box(node: Node) -> str:
    x, y = _xy(node)
    stroke = "#c00" if node.missing else "#557"
    dash = ' stroke-dasharray="5,4"' if node.conditional else ""
    rect = (
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="#f4f6fb"'
        f' stroke="{stroke}"{dash}/>'
    )
    text = (
        f'<text x="{x + 8}" y="{y + 21}" font-size="13">{escape(node.label)}</text>'
        f"<title>{escape(node.detail)}</title>"
    )
    body = rect + text
    if node.link:
        body = f'<a href="{escape(node.link)}">{body}</a>'
    return f'<g class="dep">{body}</g>'


def svg(root: Node) -> str:
    """The inline SVG of the tree (every text escaped)."""
    nodes = _nodes(root)
    width = PAD * 2 + (max(n.depth for n in nodes) + 1) * (BOX_W + GAP_X)
    height = PAD * 2 + len(nodes) * (BOX_H + GAP_Y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="dep-graph" width="{width}"'
        f' height="{height}" role="img" aria-label="dependency graph">',
        *_edges(root),
        *(_box(n) for n in nodes),
        "</svg>",
    ]
    return "\n".join(parts)
