"""Common-subexpression elimination: compute each pure expression once.

Two pure nodes (:func:`~minijit.jit.passes.pass_manager.is_pure`) with the same kind, the same
attributes and the same input *values* compute the same thing, so the later one's outputs are
replaced by the earlier one's.  Before::

    %a : Tensor = aten::mul(%x, %y)
    %b : Tensor = aten::mul(%x, %y)
    %c : Tensor = aten::add(%a, %b, %1)

After::

    %a : Tensor = aten::mul(%x, %y)
    %c : Tensor = aten::add(%a, %a, %1)

Scoping follows the IR: an expression computed in an enclosing block may replace one inside a
nested block (it is visible there), never the other way round.  Not merged: nodes with blocks,
random and in-place ops, nodes whose outputs are lists or dicts (merging two ``[]`` would make
one mutable list shared by two owners), and ``prim::GetAttr`` when the graph also has
``prim::SetAttr``.  A node that may write memory (an in-place op, a call) empties the table:
``x.mul(y)`` before and after ``x.add_(1)`` are different values.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from ..ir.graph import Block, Graph, Node
from .pass_manager import PassLog, is_pure, node_text

__all__ = ["eliminate_common_subexpressions"]


def _attr_key(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return (type(value).__name__, value)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_attr_key(v) for v in value))
    return ("id", id(value))


def _key(node: Node) -> Optional[Tuple[Any, ...]]:
    if node.kind == "prim::Constant":
        return None                     # constant pooling merges constants
    for out in node.outputs:
        if out.type.kind in ("List", "Dict"):
            return None
    attrs = tuple((k, _attr_key(v)) for k, v in node.attrs.items())
    return (node.kind, attrs, tuple(id(v) for v in node.inputs), len(node.outputs))


def _has_setattr(block: Block) -> bool:
    for node in block.nodes:
        if node.kind == "prim::SetAttr" or any(_has_setattr(b) for b in node.blocks):
            return True
    return False


def _writes(node: Node) -> bool:
    """May this node write memory that a pure node reads (in-place ops, calls, SetAttr)?"""
    from .dce import has_side_effects
    if node.blocks:
        return any(_writes(n) for b in node.blocks for n in b.nodes)
    return has_side_effects(node) and node.kind not in ("prim::RaiseException", "prim::Print")


def _visit(block: Block, table: Dict[Tuple[Any, ...], Node], log: PassLog,
           allow_getattr: bool) -> bool:
    changed = False
    for node in block.nodes:
        if node.blocks:
            for b in node.blocks:
                # Each nested block sees the outer table, but its own entries stay inside it.
                changed |= _visit(b, dict(table), log, allow_getattr)
            if _writes(node):
                table.clear()
            continue
        if _writes(node):
            table.clear()               # a write may change what earlier expressions read
            continue
        if not is_pure(node) or (node.kind == "prim::GetAttr" and not allow_getattr):
            continue
        key = _key(node)
        if key is None:
            continue
        earlier = table.get(key)
        if earlier is None:
            table[key] = node
            continue
        log.note(f"{node_text(node)}  ->  reuses %{earlier.outputs[0].debug_name}")
        for old, new in zip(node.outputs, earlier.outputs):
            old.replace_all_uses_with(new)
        node.destroy()
        changed = True
    return changed


def eliminate_common_subexpressions(graph: Graph, log: Optional[PassLog] = None) -> bool:
    """Merge repeated pure expressions (module docstring); True if anything changed."""
    log = log if log is not None else PassLog()
    return _visit(graph.block, {}, log, not _has_setattr(graph.block))
