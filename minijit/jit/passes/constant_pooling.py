"""Constant pooling: one ``prim::Constant`` per distinct value, all at the top of the graph.

Before::

    %x.1 : Tensor = ...
    %5 : int = prim::Constant[value=1]() # f.py:3:12
    %a : Tensor = aten::add(%x.1, %5, %5)
    %9 : int = prim::Constant[value=1]()
    %b : Tensor = aten::add(%a, %9, %9)

After::

    %5 : int = prim::Constant[value=1]() # f.py:3:12
    %a : Tensor = aten::add(%x.1, %5, %5)
    %b : Tensor = aten::add(%a, %5, %5)

Nodes are visited in program order (a node's blocks when it is reached); the first copy of a
value is kept, with its source comment, and moved before the graph's first node, so the pooled
constants end up in *reverse* order of first appearance, which is why scripted graphs list
their constants in that odd order.  Constants are equal when their kind, type and value are
(``1``, ``True`` and ``1.`` are three constants).
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from ..ir.graph import Block, Graph, Node

__all__ = ["constant_pooling"]


def _key(node: Node) -> Any:
    """What makes two constants interchangeable (tensors: equal dtype, shape and values, as
    TorchScript's ``tensorEqual``)."""
    value = node.attrs.get("value")
    if value is not None and not isinstance(value, (bool, int, float, str, tuple, list)):
        data = getattr(value, "_data", value)
        if hasattr(data, "shape"):
            array = np.asarray(data.get() if hasattr(data, "get") else data)
            return ("tensor", str(node.output().type), str(array.dtype), array.shape,
                    array.tobytes())
    attrs = tuple(sorted((k, _freeze(v)) for k, v in node.attrs.items()))
    return (str(node.output().type), repr(node.output().type), attrs)


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return ("list", tuple(_freeze(v) for v in value))
    if isinstance(value, tuple):
        return ("tuple", tuple(_freeze(v) for v in value))
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value if isinstance(value, (bool, int, str)) else repr(value))


def _pool(block: Block, graph: Graph, seen: Dict[Any, Node]) -> None:
    for node in block.nodes:
        if node.blocks:
            for b in node.blocks:
                _pool(b, graph, seen)
            continue
        if node.kind != "prim::Constant" or len(node.outputs) != 1:
            continue
        key = _key(node)
        if key is None:
            continue
        existing = seen.get(key)
        if existing is not None:
            node.output().replace_all_uses_with(existing.output())
            node.destroy()
            continue
        seen[key] = node
        first = graph.block.param_node.next
        if node is not first:
            node.move_before(first)


def constant_pooling(graph: Graph) -> None:
    """Deduplicate constants and hoist them to the top (TorchScript's ``ConstantPooling``)."""
    _pool(graph.block, graph, {})
