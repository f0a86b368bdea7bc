"""Dead-code elimination: drop nodes whose outputs are never used and that have no effect.

Before::

    %3 : Tensor = aten::sum(%x, %2)
    %5 : Tensor = aten::gt(%3, %4)        # nobody reads %5
    return (%x)

After::

    return (%x)

A node is kept when it writes something (in-place ops, ``prim::SetAttr``, list ``append``),
raises, prints, or calls other code (``prim::CallMethod`` may do any of these), as in
TorchScript's ``hasSideEffects``.  The tracer runs this pass, which is why a traced submodule
whose ops fed only a Python ``if`` ends up empty.

Control-flow nodes lose dead outputs first: an unused output of a ``prim::If`` is dropped with
the matching returns of both blocks, and an unused loop-carried value (unused after the loop
*and* inside the body) with its input, body parameter and body return.  Then an ``if`` or loop
whose blocks have no effects and whose outputs are unused disappears entirely.
"""
from __future__ import annotations

from ..ir.graph import Block, Graph, Node

__all__ = ["eliminate_dead_code", "has_side_effects", "has_side_effects_kind"]

_EFFECT_KINDS = frozenset({
    "prim::RaiseException", "prim::Print", "prim::SetAttr", "prim::CallMethod",
    "prim::CallFunction", "aten::append", "aten::_set_item", "aten::insert", "aten::pop",
    "aten::clear", "aten::extend", "aten::warn", "prim::Loop", "prim::If", "prim::PythonOp",
    "aten::Delete", "prim::ReturnStmt", "prim::LoopContinuation", "prim::BreakStmt",
    "prim::ContinueStmt", "prim::Store",
})


def has_side_effects_kind(kind: str) -> bool:
    """Whether nodes of ``kind`` always count as having effects (before looking at ops)."""
    return kind in _EFFECT_KINDS


def has_side_effects(node: Node) -> bool:
    if node.kind in _EFFECT_KINDS:
        return True
    from ...ops.registry import Tag, find
    op = find(node.kind)
    return op is not None and Tag.INPLACE in op.tags


def _block_has_effects(block: Block) -> bool:
    for n in block.nodes:
        if n.kind in ("prim::If", "prim::Loop"):
            if any(_block_has_effects(b) for b in n.blocks):
                return True
        elif has_side_effects(n):
            return True
    return False


def _removable(node: Node) -> bool:
    if any(o.uses for o in node.outputs):
        return False
    if node.kind in ("prim::If", "prim::Loop"):
        return not any(_block_has_effects(b) for b in node.blocks)
    return not has_side_effects(node)


def _remove_dead_if_outputs(node: Node) -> bool:
    """``%a, %b = prim::If(...)`` with ``%b`` unused → ``%a = prim::If(...)``."""
    changed = False
    for i in range(len(node.outputs) - 1, -1, -1):
        if not node.outputs[i].uses:
            node.erase_output(i)
            for block in node.blocks:
                block.erase_output(i)
            changed = True
    return changed


def _remove_dead_loop_outputs(node: Node) -> bool:
    """Drop a carried value that is read neither after the loop nor inside its body."""
    body = node.blocks[0]
    changed = False
    for i in range(len(node.outputs) - 1, -1, -1):
        if not node.outputs[i].uses and not body.params[1 + i].uses:
            node.erase_output(i)
            node.remove_input(2 + i)
            body.erase_input(1 + i)
            body.erase_output(1 + i)
            changed = True
    return changed


def _sweep(block: Block) -> bool:
    changed = False
    for node in reversed(list(block.nodes)):
        if node.kind == "prim::If":
            changed |= _remove_dead_if_outputs(node)
        elif node.kind == "prim::Loop":
            changed |= _remove_dead_loop_outputs(node)
        for b in node.blocks:
            changed |= _sweep(b)
        if _removable(node):
            node.destroy()
            changed = True
    return changed


def eliminate_dead_code(graph: Graph) -> bool:
    """Remove dead nodes until none is left; returns True if anything changed."""
    changed = False
    while _sweep(graph.block):
        changed = True
    return changed
