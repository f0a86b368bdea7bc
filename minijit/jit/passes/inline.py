"""Inlining: replace ``prim::CallMethod``/``prim::CallFunction`` by the callee's body.

Before::

    %linear : __torch__...Linear = prim::GetAttr[name="linear"](%self.1)
    %20 : Tensor = prim::CallMethod[name="forward"](%linear, %x)

After (the callee's GetAttrs now read from ``%linear``)::

    %bias : Tensor = prim::GetAttr[name="bias"](%linear)
    %weight : Tensor = prim::GetAttr[name="weight"](%linear)
    %9 : Float(...) = aten::linear(%x, %weight, %bias), scope: __module.linear

This is what ``.inlined_graph`` shows, and what the optimiser works on.
"""
from __future__ import annotations

from typing import Dict, Optional

from ..ir.graph import Block, Graph, Node, Value
from .constant_pooling import constant_pooling

__all__ = ["inline_calls"]


def _callee_graph(node: Node) -> Optional[Graph]:
    if node.kind == "prim::CallMethod":
        owner_type = node.inputs[0].type
        method = getattr(owner_type, "get_method", lambda name: None)(node.attrs["name"])
        return None if method is None else method.graph
    if node.kind == "prim::CallFunction":
        fn_node = node.inputs[0].node
        if fn_node.kind != "prim::Constant":
            return None
        # (traced graphs keep the callee in an attribute; the scripter's function constants
        # keep it in their ``Function`` type, as TorchScript's FunctionType does)
        fn = fn_node.attrs.get("function") or getattr(fn_node.output().type, "function", None)
        return getattr(fn, "graph", None)
    return None


def inline_calls(graph: Graph) -> bool:
    """Inline every call whose callee graph is known, recursively. Returns True if changed."""
    return _inline_block(graph.block, graph)


def _inline_block(block: Block, graph: Graph) -> bool:
    changed = False
    for node in list(block.nodes):
        for sub in node.blocks:
            changed |= _inline_block(sub, graph)
        callee = _callee_graph(node)
        if callee is None:
            continue
        args = list(node.inputs) if node.kind == "prim::CallMethod" else list(node.inputs[1:])
        outputs = _insert_graph(graph, callee, args, node)
        for old, new in zip(node.outputs, outputs):
            old.replace_all_uses_with(new)
        node.destroy()
        changed = True
    return changed


def _insert_graph(graph: Graph, callee: Graph, args: list, before: Node) -> list:
    """Copy ``callee``'s body before ``before`` with its inputs bound to ``args``.

    As TorchScript's ``inlineCallTo``, what is copied is the callee's *preoptimised* graph:
    its own calls inlined and its constants pooled at its top.  Values keep their full debug
    names (``a.1`` stays ``a.1``); a name already taken renames its old holder.
    """
    callee = callee.copy()
    inline_calls(callee)
    constant_pooling(callee)    # TorchScript inlines a callee's preoptimised graph
    value_map: Dict[int, Value] = {id(p): a for p, a in zip(callee.inputs, args)}

    def lookup(v: Value) -> Value:
        return value_map[id(v)]

    for n in callee.nodes:
        clone = graph.create_clone(n, lookup)
        clone.insert_before(before)
        for old, new in zip(n.outputs, clone.outputs):
            value_map[id(old)] = new
            if old.has_debug_name():
                new.set_debug_name(old.debug_name)
    return [value_map[id(r)] for r in callee.outputs]
