"""Lower simple tuples: read tuple elements straight from the ``prim::TupleConstruct``.

Before::

    %t : (Tensor, Tensor) = prim::TupleConstruct(%a, %b)
    %x : Tensor, %y : Tensor = prim::TupleUnpack(%t)
    %z : Tensor = prim::TupleIndex(%t, %1)

After (the construct dies if nothing else uses it)::

    (uses of %x → %a, %y → %b, %z → %b)

This is how ``a, b = b, a`` costs nothing in a scripted graph.  Only unpacks, constant
indexes and slices of a construct are rewritten (TorchScript's ``LowerSimpleTuples``).
"""
from __future__ import annotations

from ..ir.graph import Block, Graph, Node
from .dce import eliminate_dead_code

__all__ = ["lower_simple_tuples"]


def _remove_tuple_node(node: Node, graph: Graph) -> None:
    if node.kind not in ("prim::TupleUnpack", "prim::TupleIndex", "prim::TupleSlice"):
        return
    construct = node.inputs[0].node
    if construct.kind != "prim::TupleConstruct":
        return
    if node.kind == "prim::TupleUnpack":
        for out, value in zip(node.outputs, construct.inputs):
            out.replace_all_uses_with(value)
    elif node.kind == "prim::TupleIndex":
        index_node = node.inputs[1].node
        if index_node.kind != "prim::Constant":
            return
        index = index_node.attrs.get("value")
        length = len(construct.inputs)
        if isinstance(index, int) and index < 0:
            index += length
        if isinstance(index, int) and 0 <= index < length:
            node.output().replace_all_uses_with(construct.inputs[index])
    else:
        values = construct.inputs[node.attrs["beg"]:node.attrs["end"]]
        with graph.insert_point(node):
            tup = graph.insert_node(graph.create_node("prim::TupleConstruct", values))
        tup.output().type = node.output().type
        node.output().replace_all_uses_with(tup.output())


def _lower(block: Block, graph: Graph) -> None:
    for node in block.nodes:
        _remove_tuple_node(node, graph)
        for b in node.blocks:
            _lower(b, graph)


def lower_simple_tuples(graph: Graph) -> None:
    """Part of the scripter's cleanup (``frontend/cleanup.py``): dead code goes as
    TorchScript's frontend removes it (loops that carry values stay)."""
    _lower(graph.block, graph)
    eliminate_dead_code(graph, like_torchscript=True)
