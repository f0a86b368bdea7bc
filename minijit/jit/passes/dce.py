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
whose blocks have no effects and whose outputs are unused disappears entirely.  This repeats
until nothing changes: what the optimiser wants.

The scripter must print what TorchScript prints, and TorchScript's frontend runs one
*mark-and-sweep* whose choices are visible in ``.code`` (``like_torchscript=True``,
:class:`_MarkAndSweep`): a loop-carried value is live when its body parameter has uses
*before* the sweep removes dead ones (so ``for i in range(2): x = torch.tanh(x)`` stays when
``x`` is overwritten after the loop), a loop's condition is always live, and a node that holds
a live node is kept even if what is left of it is an empty ``if``.
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


def eliminate_dead_code(graph: Graph, like_torchscript: bool = False) -> bool:
    """Remove dead nodes; returns True if anything changed.  ``like_torchscript``: one
    mark-and-sweep as TorchScript's frontend runs it (module docstring), else until no
    dead node is left."""
    if like_torchscript:
        return _MarkAndSweep().run(graph)
    changed = False
    while _sweep(graph.block):
        changed = True
    return changed


class _MarkAndSweep:
    """TorchScript's dead-code elimination: mark what the results and the effects need,
    then delete every node not marked and not used.

    Marking starts at the graph's return.  In a block, nodes with effects are marked, then the
    block's return: for an ``if``, the results whose ``if`` output is live; for a loop, each
    carried result whose loop output is live *or whose body parameter has any use*, and the
    loop condition.  Then the nodes, last to first, are marked if they make a live value
    (a loop's body again and again until nothing new is marked).  Marking a node makes its
    inputs live and marks every node that holds it.
    """

    def __init__(self) -> None:
        self.marked: set = set()
        self.live: set = set()
        self.effects_memo: dict = {}

    def run(self, graph: Graph) -> bool:
        self.mark_node(graph.block.return_node)
        self.mark_block(graph.block)
        return self.sweep(graph.block)

    def effects(self, node: Node) -> bool:
        found = self.effects_memo.get(node)
        if found is None:
            found = (node.kind not in ("prim::If", "prim::Loop") and has_side_effects(node)) \
                or any(self.effects(n) for b in node.blocks for n in b.nodes)
            self.effects_memo[node] = found
        return found

    def mark_node(self, node: Node) -> bool:
        if node in self.marked:
            return False
        self.marked.add(node)
        holder = node.owning_block.owning_node if node.owning_block is not None else None
        while holder is not None:
            self.mark_node(holder)
            holder = holder.owning_block.owning_node if holder.owning_block is not None \
                else None
        self.live.update(node.inputs)
        return True

    def mark_return(self, block: Block) -> bool:
        ret = block.return_node
        if ret in self.marked:
            return False
        outer = block.owning_node
        if outer is None:
            return self.mark_node(ret)
        if outer.kind == "prim::Loop":
            for i, out in enumerate(outer.outputs):
                if out in self.live or block.params[1 + i].uses:
                    self.live.add(block.returns[1 + i])
            self.live.add(block.returns[0])            # the next iteration's condition
        else:
            for out, inner in zip(outer.outputs, block.returns):
                if out in self.live:
                    self.live.add(inner)
        self.marked.add(ret)
        return True

    def mark_block(self, block: Block) -> bool:
        changed = False
        for node in block.nodes:
            if self.effects(node):
                changed |= self.mark_node(node)
        changed |= self.mark_return(block)
        for node in reversed(block.nodes):
            if node.kind == "prim::Loop":
                while self.mark_block(node.blocks[0]):
                    changed = True
            else:
                for b in node.blocks:
                    changed |= self.mark_block(b)
            if any(o in self.live for o in node.outputs):
                changed |= self.mark_node(node)
        return changed

    def sweep(self, block: Block) -> bool:
        changed = False
        for node in reversed(block.nodes):
            if node.kind == "prim::If":
                changed |= _remove_dead_if_outputs(node)
            elif node.kind == "prim::Loop":
                changed |= _remove_dead_loop_outputs(node)
            for b in node.blocks:
                changed |= self.sweep(b)
            if node not in self.marked and not any(o.uses for o in node.outputs):
                node.destroy()
                changed = True
        return changed
