"""A tiny model of a Graphviz picture: nodes, edges and nested clusters, written as DOT text.

Note [Pictures]
    Every picture minijit draws is first built as a :class:`DotGraph`: the IR converter
    (``ir_dot.py``) and the autograd converter (``autograd_dot.py``) only decide *what* to draw
    (labels, shapes, colours, which nodes sit in which box).  *How* to draw it is decided later
    and in one place each: :attr:`DotGraph.source` writes Graphviz's DOT language (for the
    ``dot`` program), and ``sugiyama.py`` + ``svg.py`` place and draw the same model without
    Graphviz.  Ids are handed out in creation order (``n0``, ``n1``, ``cluster_0``...), never
    from ``id()``, so the same program always gives byte-identical text.

Example:
    >>> g = DotGraph("demo")
    >>> a = g.add_node("x", shape="ellipse")
    >>> b = g.add_node("aten::tanh")
    >>> g.add_edge(a, b, "Float(3, 4)")
    >>> print(g.source, end="")
    digraph demo {
      graph [rankdir=TB, fontname="monospace", fontsize=10, nodesep=0.3, ranksep=0.4];
      node [shape=box, fontname="monospace", fontsize=10];
      edge [fontname="monospace", fontsize=9];
      n0 [label="x", shape=ellipse];
      n1 [label="aten::tanh"];
      n0 -> n1 [label="Float(3, 4)"];
    }
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

__all__ = ["DotGraph", "DotNode", "DotEdge", "DotCluster", "quote"]


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as ``\\n``.

    Example:
        >>> print(quote('prim::GetAttr[name="linear"]'))
        "prim::GetAttr[name=\\"linear\\"]"
    """
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


class DotNode:
    """One box (or ellipse) of the picture.

    Attributes:
        id: ``n<k>``; unique in its graph.
        label: the text, lines separated by ``\\n``.
        shape: ``box``, ``ellipse`` or ``plaintext``.
        style: Graphviz style words, comma separated: ``filled``, ``rounded``, ``dashed``.
        fillcolor: ``#rrggbb`` (used when ``filled``).
        cluster: the id of the :class:`DotCluster` that holds this node, or None (top level).
        rank: ``"source"`` (keep in the top row), ``"sink"`` (bottom row) or ``""``.
    """

    __slots__ = ("id", "label", "shape", "style", "fillcolor", "cluster", "rank")

    def __init__(self, id: str, label: str, shape: str = "box", style: str = "",
                 fillcolor: str = "", cluster: Optional[str] = None, rank: str = ""):
        self.id = id
        self.label = label
        self.shape = shape
        self.style = style
        self.fillcolor = fillcolor
        self.cluster = cluster
        self.rank = rank

    def lines(self) -> List[str]:
        return self.label.split("\n")

    def __repr__(self) -> str:
        return f"DotNode({self.id}, {self.label!r})"


class DotEdge:
    """An arrow ``tail -> head``; ``style="invis"`` edges only steer the layout."""

    __slots__ = ("tail", "head", "label", "style")

    def __init__(self, tail: str, head: str, label: str = "", style: str = ""):
        self.tail = tail
        self.head = head
        self.label = label
        self.style = style

    @property
    def visible(self) -> bool:
        return self.style != "invis"

    def __repr__(self) -> str:
        return f"DotEdge({self.tail} -> {self.head})"


class DotCluster:
    """A labelled box around nodes and smaller clusters (a block, a fusion group)."""

    __slots__ = ("id", "label", "parent", "style", "fillcolor")

    def __init__(self, id: str, label: str, parent: Optional[str] = None,
                 style: str = "rounded", fillcolor: str = ""):
        self.id = id
        self.label = label
        self.parent = parent
        self.style = style
        self.fillcolor = fillcolor

    def __repr__(self) -> str:
        return f"DotCluster({self.id}, {self.label!r})"


class DotGraph:
    """A directed picture: what :func:`minijit.viz.render` draws.

    Build it with :meth:`add_node`, :meth:`add_edge` and :meth:`add_cluster`; read it back as
    DOT text with :attr:`source` (``str(g)`` is the same), or draw it with
    :func:`minijit.viz.render`.  In a notebook it shows itself (``_repr_svg_``).
    """

    def __init__(self, name: str = "G", rankdir: str = "TB"):
        self.name = name
        self.rankdir = rankdir
        self.nodes: Dict[str, DotNode] = {}
        self.edges: List[DotEdge] = []
        self.clusters: Dict[str, DotCluster] = {}

    # -- building --------------------------------------------------------------------------
    def add_node(self, label: str, *, shape: str = "box", style: str = "", fillcolor: str = "",
                 cluster: Optional[str] = None, rank: str = "") -> str:
        """Add a node and return its id (``n0``, ``n1``... in creation order)."""
        if cluster is not None and cluster not in self.clusters:
            raise KeyError(f"no cluster {cluster!r}")
        node_id = f"n{len(self.nodes)}"
        self.nodes[node_id] = DotNode(node_id, label, shape, style, fillcolor, cluster, rank)
        return node_id

    def add_edge(self, tail: str, head: str, label: str = "", *, style: str = "") -> None:
        """Add the arrow ``tail -> head`` (both must be node ids)."""
        for end in (tail, head):
            if end not in self.nodes:
                raise KeyError(f"no node {end!r}")
        self.edges.append(DotEdge(tail, head, label, style))

    def add_cluster(self, label: str, *, parent: Optional[str] = None, style: str = "rounded",
                    fillcolor: str = "") -> str:
        """Add a box, nested in ``parent`` if given; returns its id (``cluster_0``...)."""
        if parent is not None and parent not in self.clusters:
            raise KeyError(f"no cluster {parent!r}")
        cluster_id = f"cluster_{len(self.clusters)}"
        self.clusters[cluster_id] = DotCluster(cluster_id, label, parent, style, fillcolor)
        return cluster_id

    # -- reading ---------------------------------------------------------------------------
    def children(self, cluster: Optional[str]) -> Tuple[List[str], List[str]]:
        """(node ids, cluster ids) directly inside ``cluster`` (None: the top level)."""
        nodes = [n.id for n in self.nodes.values() if n.cluster == cluster]
        clusters = [c.id for c in self.clusters.values() if c.parent == cluster]
        return nodes, clusters

    @property
    def source(self) -> str:
        """The picture in Graphviz's DOT language (feed it to ``dot -Tsvg``)."""
        out = [f"digraph {_dot_id(self.name)} {{\n",
               f'  graph [rankdir={self.rankdir}, fontname="monospace", fontsize=10, '
               'nodesep=0.3, ranksep=0.4];\n',
               '  node [shape=box, fontname="monospace", fontsize=10];\n',
               '  edge [fontname="monospace", fontsize=9];\n']
        self._write_level(out, None, 1)
        for e in self.edges:
            attrs = _attrs(label=e.label, style=e.style)
            out.append(f"  {e.tail} -> {e.head}{attrs};\n")
        for rank in ("source", "sink"):
            ids = [n.id for n in self.nodes.values() if n.rank == rank and n.cluster is None]
            if ids:
                out.append(f"  {{rank={rank}; " + "; ".join(ids) + ";}\n")
        out.append("}\n")
        return "".join(out)

    def _write_level(self, out: List[str], cluster: Optional[str], depth: int) -> None:
        pad = "  " * depth
        nodes, clusters = self.children(cluster)
        for cid in clusters:
            c = self.clusters[cid]
            out.append(f"{pad}subgraph {c.id} {{\n")
            out.append(f"{pad}  label={quote(c.label)};\n")
            style = c.style + (",filled" if c.fillcolor and "filled" not in c.style else "")
            if style:
                out.append(f"{pad}  style={quote(style.strip(','))};\n")
            if c.fillcolor:
                out.append(f"{pad}  fillcolor={quote(c.fillcolor)};\n")
            self._write_level(out, cid, depth + 1)
            out.append(f"{pad}}}\n")
        for nid in nodes:
            n = self.nodes[nid]
            attrs = _attrs(label=n.label, shape="" if n.shape == "box" else n.shape,
                           style=n.style, fillcolor=n.fillcolor)
            out.append(f"{pad}{n.id}{attrs};\n")

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return (f"<DotGraph {self.name!r}: {len(self.nodes)} nodes, {len(self.edges)} edges, "
                f"{len(self.clusters)} clusters>")

    def _repr_svg_(self) -> str:
        """Jupyter shows a DotGraph as its (built-in) SVG drawing."""
        from .svg import to_svg
        return to_svg(self)

    def render(self, path: Any, **kwargs: Any) -> Any:
        """Same as ``minijit.viz.render(self, path)``."""
        from .rendering import render
        return render(self, path, **kwargs)


_KEYWORDS = ("node", "edge", "graph", "digraph", "subgraph", "strict")


def _dot_id(name: str) -> str:
    """A bare DOT identifier when allowed, else quoted (DOT keywords must be quoted)."""
    plain = name.isidentifier() and name.isascii() and name.lower() not in _KEYWORDS
    return name if plain else quote(name)


def _attrs(**values: str) -> str:
    """`` [k=v, ...]`` for the non-empty values (``label`` first), or ``""``."""
    items = []
    for key, value in values.items():
        if not value:
            continue
        items.append(f"{key}={quote(value) if key != 'shape' else value}")
    return " [" + ", ".join(items) + "]" if items else ""
