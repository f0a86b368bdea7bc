"""IR graph → picture: what ``graph.to_dot()`` draws.

How the IR (Note [IR invariants] in ``jit/ir/graph.py``) maps onto a picture:

* each graph input is an ellipse (``%x``) in the top row, and ``return (...)`` sits in the
  bottom row;
* each Node is a box labelled like its line in ``.graph`` text, without the outputs:
  ``aten::add``, ``prim::GetAttr[name="linear"]``, ``prim::Constant[value=1]``;
* each use of a Value is an arrow from its producer to its user, labelled with the value's
  name and type, shapes included (``%6 : Float(3, 4)``);
* a node's blocks (``prim::If`` branches, a ``prim::Loop`` body) are boxes (clusters) named
  ``block0``, ``block1``, with an entry node for the block's parameters, a ``-> (...)`` node
  for its results, and a dashed arrow from the owning node;
* a node holding a ``Subgraph`` (a fusion group, DESIGN §7) is drawn *as* a shaded box with
  its subgraph inside, named as the ``.graph`` printer names it (``prim::FusionGroup_0``).

Example:
    >>> from minijit.jit.ir import parse_ir
    >>> g = parse_ir('''
    ... graph(%x : Float(3, 4)):
    ...   %y : Float(3, 4) = aten::tanh(%x)
    ...   return (%y)''')
    >>> print(to_dot(g), end="")
    digraph ir {
      graph [rankdir=TB, fontname="monospace", fontsize=10, nodesep=0.3, ranksep=0.4];
      node [shape=box, fontname="monospace", fontsize=10];
      edge [fontname="monospace", fontsize=9];
      n0 [label="%x", shape=ellipse, style="filled", fillcolor="#d6eaf8"];
      n1 [label="aten::tanh"];
      n2 [label="return (%y)", shape=ellipse, style="filled", fillcolor="#d5f5e3"];
      n0 -> n1 [label="%x : Float(3, 4)"];
      n1 -> n2 [label="%y : Float(3, 4)"];
      {rank=source; n0;}
      {rank=sink; n2;}
    }
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from ..jit.ir.constants import format_attribute
from ..jit.ir.graph import Graph, Node, Value
from ..jit.ir.types import IRType, ListType, OptionalType, TensorType, TupleType
from .dot import DotGraph

__all__ = ["ir_graph", "to_dot", "short_type"]

SUBGRAPH = "Subgraph"
INPUT_FILL = "#d6eaf8"
OUTPUT_FILL = "#d5f5e3"
CONSTANT_FILL = "#f2f2f2"
CONTROL_FILL = "#fdebd0"
FUSION_FILL = "#fef9e7"


def short_type(t: IRType) -> str:
    """A type as an edge label: tensor types keep dtype and sizes, drop strides and device.

    Example:
        >>> from minijit.dtypes import float32
        >>> short_type(TensorType(float32, (3, 4), (4, 1), True, "cpu"))
        'Float(3, 4)'
        >>> short_type(TupleType([TensorType(sizes=(2, None)), TensorType()]))
        '(Tensor(2, *), Tensor)'
    """
    if isinstance(t, TensorType):
        head = "Tensor" if t.dtype is None else t.dtype.scalar_name
        if t.sizes is None:
            return head if t.dtype is None else head + "Tensor"
        return head + "(" + ", ".join("*" if s is None else str(s) for s in t.sizes) + ")"
    if isinstance(t, TupleType):
        return "(" + ", ".join(short_type(e) for e in t.elems) + ")"
    if isinstance(t, ListType):
        return short_type(t.elem) + "[]"
    if isinstance(t, OptionalType):
        return short_type(t.elem) + "?"
    return str(t)


def _attributes(node: Node) -> str:
    items = [(k, v) for k, v in node.attrs.items() if k != SUBGRAPH]
    if not items:
        return ""
    return "[" + ", ".join(f"{k}={format_attribute(v)}" for k, v in items) + "]"


class _Builder:
    """Walks a Graph once, in program order, adding picture elements as it goes."""

    def __init__(self, dot: DotGraph, full_types: bool):
        self.dot = dot
        self.full_types = full_types
        self.producer: Dict[int, str] = {}       # id(Value) -> picture node that makes it
        self.block_exits: Dict[str, List[str]] = {}  # owner -> its blocks' "-> (...)" nodes
        self.groups = 0

    def label(self, v: Value) -> str:
        t = str(v.type) if self.full_types else short_type(v.type)
        return f"%{v.debug_name} : {t}"

    def use(self, v: Value, head: str) -> None:
        """An arrow for one use of ``v``; blocks of ``v``'s producer are kept above ``head``."""
        tail = self.producer.get(id(v))
        if tail is None:                          # defined outside what we draw
            tail = self.dot.add_node(f"%{v.debug_name}", shape="ellipse")
            self.producer[id(v)] = tail
        self.dot.add_edge(tail, head, self.label(v))
        for exit_node in self.block_exits.get(tail, ()):
            self.dot.add_edge(exit_node, head, style="invis")

    def graph(self, graph: Graph) -> None:
        for v in graph.inputs:
            self.producer[id(v)] = self.dot.add_node(f"%{v.debug_name}", shape="ellipse",
                                                     style="filled", fillcolor=INPUT_FILL,
                                                     rank="source")
        self.nodes(graph.nodes, None)
        ret = self.dot.add_node(_results("return", graph.outputs), shape="ellipse",
                                style="filled", fillcolor=OUTPUT_FILL, rank="sink")
        for v in graph.outputs:
            self.use(v, ret)

    def nodes(self, nodes: Sequence[Node], cluster: Optional[str]) -> None:
        for node in nodes:
            if isinstance(node.attrs.get(SUBGRAPH), Graph):
                self.fusion_group(node, cluster)
            else:
                self.node(node, cluster)

    def node(self, node: Node, cluster: Optional[str]) -> None:
        if node.kind == "prim::Constant":
            style, fill = "rounded,filled", CONSTANT_FILL
        elif node.blocks:
            style, fill = "filled", CONTROL_FILL
        else:
            style, fill = "", ""
        nid = self.dot.add_node(node.kind + _attributes(node), cluster=cluster, style=style,
                                fillcolor=fill)
        for v in node.inputs:
            self.use(v, nid)
        for i, block in enumerate(node.blocks):
            cid = self.dot.add_cluster(f"block{i}", parent=cluster, style="rounded,dashed")
            entry = self.dot.add_node(_results(f"block{i}", block.params, arrow=False),
                                      cluster=cid, shape="ellipse", rank="source")
            self.dot.add_edge(nid, entry, style="dashed")
            for p in block.params:
                self.producer[id(p)] = entry
            self.nodes(block.nodes, cid)
            exit_node = self.dot.add_node(_results("->", block.returns), cluster=cid,
                                          shape="ellipse", rank="sink")
            for v in block.returns:
                self.use(v, exit_node)
            self.block_exits.setdefault(nid, []).append(exit_node)
        for v in node.outputs:
            self.producer[id(v)] = nid

    def fusion_group(self, node: Node, cluster: Optional[str]) -> None:
        sub: Graph = node.attrs[SUBGRAPH]
        name = f"{node.kind}_{self.groups}"
        self.groups += 1
        cid = self.dot.add_cluster(name, parent=cluster, style="rounded,filled",
                                   fillcolor=FUSION_FILL)
        for i, p in enumerate(sub.inputs):
            pid = self.dot.add_node(f"%{p.debug_name}", cluster=cid, shape="ellipse",
                                    rank="source")
            self.producer[id(p)] = pid
            if i < len(node.inputs):
                self.use(node.inputs[i], pid)
        self.nodes(sub.nodes, cid)
        ret = self.dot.add_node(_results("return", sub.outputs), cluster=cid, shape="ellipse",
                                rank="sink")
        for v in sub.outputs:
            self.use(v, ret)
        for v in node.outputs:
            self.producer[id(v)] = ret


def _results(head: str, values: Sequence[Value], arrow: bool = True) -> str:
    names = ", ".join(f"%{v.debug_name}" for v in values)
    return f"{head} ({names})" if arrow else f"{head}({names})"


def ir_graph(graph: Any, *, full_types: bool = False, name: str = "ir") -> DotGraph:
    """The picture of an IR graph (or of anything with a ``.graph``, like a traced module).

    Args:
        graph: a :class:`~minijit.jit.ir.graph.Graph`, a ScriptModule or a ScriptFunction.
        full_types: label edges with the full type (``Float(3, 4, strides=[4, 1], ...)``)
            instead of the short one (``Float(3, 4)``).
        name: the DOT graph's name.
    """
    if not isinstance(graph, Graph):
        graph = graph.graph
    dot = DotGraph(name)
    _Builder(dot, full_types).graph(graph)
    return dot


def to_dot(graph: Any, *, full_types: bool = False) -> str:
    """The DOT text of an IR graph; also available as ``Graph.to_dot()``.

    Feed it to Graphviz (``dot -Tsvg``) or draw it with :func:`minijit.viz.render`.
    """
    return ir_graph(graph, full_types=full_types).source
