"""Draw a :class:`~minijit.viz.dot.DotGraph` as a self-contained SVG, with no Graphviz.

The positions come from :func:`minijit.viz.sugiyama.layout` (Note [Layered layout]); this
module only writes SVG elements for them, in a fixed order: clusters (outermost first),
edges, nodes, then edge labels.  Every
number is printed with one decimal, so the text is the same on every machine.

Example:
    >>> from minijit.viz.dot import DotGraph
    >>> g = DotGraph()
    >>> g.add_edge(g.add_node("x", shape="ellipse"), g.add_node("aten::tanh"), "Float(3)")
    >>> svg = to_svg(g)
    >>> import xml.etree.ElementTree as ET
    >>> sorted({t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}tspan")})
    ['aten::tanh', 'x']
"""
from __future__ import annotations

from typing import List, Optional
from xml.sax.saxutils import escape, quoteattr

from .dot import DotGraph
from .sugiyama import FONT_SIZE, LINE_HEIGHT, Box, layout

__all__ = ["to_svg"]

INK = "#333333"
EDGE_INK = "#555555"
CLUSTER_INK = "#8a8a8a"


def _n(v: float) -> str:
    """One decimal, no ``-0.0``: the only way numbers are printed."""
    text = f"{v:.1f}"
    return "0.0" if text == "-0.0" else text


def _text_lines(lines: List[str], cx: float, cy: float, anchor: str = "middle") -> str:
    first = cy - (len(lines) - 1) * LINE_HEIGHT / 2 + FONT_SIZE * 0.35
    spans = "".join(f'<tspan x="{_n(cx)}" y="{_n(first + i * LINE_HEIGHT)}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    return f'<text text-anchor="{anchor}">{spans}</text>'


def _dash(style: str) -> str:
    return ' stroke-dasharray="5,3"' if "dashed" in style else ""


def _fill(style: str, color: str, default: str) -> str:
    return color if (color and ("filled" in style or not style)) else default


def to_svg(graph: DotGraph, title: Optional[str] = None) -> str:
    """The SVG text of ``graph``, laid out by minijit's own layered layout."""
    lay = layout(graph)
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(lay.width)}" '
           f'height="{_n(lay.height)}" viewBox="0 0 {_n(lay.width)} {_n(lay.height)}" '
           f'font-family="monospace" font-size="{FONT_SIZE}">\n',
           f"<title>{escape(title or graph.name)}</title>\n",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
           f'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE_INK}"/>'
           "</marker></defs>\n",
           '<rect x="0" y="0" width="100%" height="100%" fill="white"/>\n']

    def depth(cid: str) -> int:
        d, parent = 0, graph.clusters[cid].parent
        while parent is not None:
            d, parent = d + 1, graph.clusters[parent].parent
        return d

    for cid in sorted(lay.clusters, key=lambda c: (depth(c), list(graph.clusters).index(c))):
        c, box = graph.clusters[cid], lay.clusters[cid]
        fill = c.fillcolor or "none"
        rx = 8 if "rounded" in c.style else 0
        out.append(f'<g class="cluster" id="{cid}"><title>{escape(c.label)}</title>'
                   f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" '
                   f'height="{_n(box.h)}" rx="{rx}" fill="{fill}" stroke="{CLUSTER_INK}"'
                   f'{_dash(c.style)}/>'
                   f'<text x="{_n(box.x + 8)}" y="{_n(box.y + 14)}" fill="{CLUSTER_INK}">'
                   f"{escape(c.label)}</text></g>\n")

    for k, points in lay.edges:
        e = graph.edges[k]
        pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        out.append(f'<g class="edge"><title>{escape(e.tail + "->" + e.head)}</title>'
                   f'<polyline points="{pts}" fill="none" stroke="{EDGE_INK}"{_dash(e.style)} '
                   'marker-end="url(#arrow)"/></g>\n')
    labels = [f'<text class="edge-label" x="{_n(x)}" y="{_n(y)}" font-size="{FONT_SIZE - 1}" '
              f'fill="#1f4e79">{escape(graph.edges[k].label)}</text>\n'
              for k, x, y in lay.labels]

    for nid, box in lay.nodes.items():
        n = graph.nodes[nid]
        fill = _fill(n.style, n.fillcolor, "white")
        out.append(f'<g class="node" id="{nid}"><title>{escape(n.label)}</title>'
                   f"{_shape(n.shape, n.style, box, fill)}"
                   f"{_text_lines(n.lines(), box.cx, box.cy)}</g>\n")
    out.extend(labels)
    out.append("</svg>\n")
    return "".join(out)


def _shape(shape: str, style: str, box: Box, fill: str) -> str:
    stroke = f'stroke="{INK}"{_dash(style)}'
    if shape == "ellipse":
        return (f'<ellipse cx="{_n(box.cx)}" cy="{_n(box.cy)}" rx="{_n(box.w / 2)}" '
                f'ry="{_n(box.h / 2)}" fill={quoteattr(fill)} {stroke}/>')
    if shape in ("plaintext", "plain", "none"):
        return ""
    rx = 6 if "rounded" in style else 0
    return (f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" height="{_n(box.h)}" '
            f'rx="{rx}" fill={quoteattr(fill)} {stroke}/>')
