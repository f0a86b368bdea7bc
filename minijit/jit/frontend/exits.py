"""Early exits (``return`` inside an ``if``, ``break``, ``continue``) as plain block outputs.

TorchScript's IR has no jumps: a block ends by returning values.  After SSA, a ``return`` in a
branch is a ``prim::ReturnStmt`` node and a ``break`` is a ``prim::LoopContinuation``.  This
pass (TorchScript's ``TransformExits``) removes them:

* once an exit *will* happen in a block, the rest of the block is deleted;
* when it only *might* have happened (one branch returned), the rest of the block is moved
  into ``if has_exited: <pass the exit values on> else: <rest>``, with a boolean flag and the
  exit values as extra outputs of the ``prim::If``;
* loops get the flag as a carried value and stop when it is set;
* values that are never read on a path are ``prim::Uninitialized``.

Blocks that always raise count as "throws" and do not force a flag.  Finally
``if c: return a`` followed by ``return b`` is folded into one ``if``/``else``
(``inline_consecutive_ifs``).  Loop continuations are transformed first, then returns, each
with its own ``True``/``False`` constants, as in PyTorch.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from ..ir.graph import Block, Graph, Node, Value
from ..ir.types import BoolType, IRType, UnionType, unify

__all__ = ["transform_exits"]

WILL, MIGHT, WONT, THROWS = range(4)


def _unify_or_union(a: IRType, b: IRType) -> IRType:
    found = unify(a, b)
    return found if found is not None else UnionType.create([a, b])


class _ExitTransformer:
    def __init__(self, graph: Graph, exit_kind: str):
        self.graph = graph
        self.exit_kind = exit_kind
        self.unit_values: Dict[IRType, Value] = {}
        self.target_block: Optional[Block] = None
        first = graph.block.param_node.next
        with graph.insert_point(first):
            self.true_val = graph.insert_constant(True)
            self.false_val = graph.insert_constant(False)
        self.throws_val = self.unit_value(BoolType)

    # ---- exit pairs: (has exited?, exit values) ---------------------------------------------
    def status(self, pair: Tuple[Value, List[Value]]) -> int:
        flag = pair[0]
        if flag is self.true_val:
            return WILL
        if flag is self.false_val:
            return WONT
        if flag is self.throws_val:
            return THROWS
        return MIGHT

    def wont(self) -> Tuple[Value, List[Value]]:
        return self.false_val, []

    def unit_value(self, type_: IRType) -> Value:
        found = self.unit_values.get(type_)
        if found is not None:
            return found
        node = self.graph.create_node("prim::Uninitialized", [], 1)
        node.output().type = type_
        node.insert_after(self.graph.block.param_node)
        self.unit_values[type_] = node.output()
        return node.output()

    def match_uninitialized(self, values: Sequence[Value]) -> List[Value]:
        return [self.unit_value(v.type) for v in values]

    # ---- helpers -------------------------------------------------------------------------------
    @staticmethod
    def replace_block_outputs(block: Block, outs: Sequence[Value]) -> None:
        while block.returns:
            block.erase_output(0)
        for out in outs:
            block.register_output(out)

    @staticmethod
    def add_if_outputs(node: Node, true_outs: Sequence[Value],
                       false_outs: Sequence[Value]) -> None:
        then_block, else_block = node.blocks
        for v in true_outs:
            then_block.register_output(v)
        for v in false_outs:
            else_block.register_output(v)
        for t, f in zip(true_outs, false_outs):
            node.add_output(_unify_or_union(t.type, f.type))

    # ---- the transformation ------------------------------------------------------------------
    def transform_loop(self, node: Node) -> Tuple[Value, List[Value]]:
        body = node.blocks[0]
        pair = self.transform_exits(body)
        if self.status(pair) in (WONT, THROWS):
            return self.wont()
        with self.graph.insert_point(body):
            new_if = self.graph.create_node("prim::If", [pair[0]], 0)
            self.graph.insert_node(new_if)
        new_if.add_block().register_output(self.false_val)
        new_if.add_block().register_output(body.returns[0])
        new_condition = new_if.add_output(BoolType)
        body.erase_output(0)
        body.return_node.insert_input(0, new_condition)
        node.add_input(self.false_val)
        body.add_input(None, BoolType)
        body.register_output(pair[0])
        new_has_exited = node.add_output(BoolType)
        for exit_value in pair[1]:
            t = exit_value.type
            node.add_input(self.unit_value(t))
            node.add_output(t)
            body.add_input(None, t)
            body.register_output(exit_value)
        count = len(pair[1])
        exit_vals = list(node.outputs[len(node.outputs) - count:]) if count else []
        return new_has_exited, exit_vals

    @staticmethod
    def if_status(then_status: int, else_status: int) -> int:
        if then_status == THROWS:
            return else_status
        if else_status == THROWS:
            return then_status
        if then_status == WONT and else_status == WONT:
            return WONT
        if then_status == WILL and else_status == WILL:
            return WILL
        return MIGHT

    def transform_if(self, node: Node) -> Tuple[Value, List[Value]]:
        then_block, else_block = node.blocks
        then_pair = self.transform_exits(then_block)
        else_pair = self.transform_exits(else_block)
        then_status, else_status = self.status(then_pair), self.status(else_pair)
        status = self.if_status(then_status, else_status)
        if status == THROWS:
            return self.throws_val, []
        if status == WONT:
            return self.wont()
        if then_status in (WONT, THROWS):
            then_pair = (then_pair[0], self.match_uninitialized(else_pair[1]))
        elif else_status in (WONT, THROWS):
            else_pair = (else_pair[0], self.match_uninitialized(then_pair[1]))
        if status == WILL:
            has_exited = self.true_val
        else:
            self.add_if_outputs(node, [then_pair[0]], [else_pair[0]])
            has_exited = node.outputs[-1]
        self.add_if_outputs(node, then_pair[1], else_pair[1])
        count = len(then_pair[1])
        exit_vals = list(node.outputs[len(node.outputs) - count:]) if count else []
        return has_exited, exit_vals

    def guard_block_nodes(self, block: Block, pair: Tuple[Value, List[Value]],
                          first: Node) -> Tuple[Value, List[Value]]:
        new_if = self.graph.create_node("prim::If", [pair[0]], 0)
        new_if.insert_before(first)
        exit_block = new_if.add_block()
        guard_block = new_if.add_block()
        node: Node = first
        while node is not block.return_node:
            nxt = node.next
            node.move_before(guard_block.return_node)
            node = nxt                                             # type: ignore[assignment]
        exit_vals = self.match_uninitialized(block.returns)
        for i, out in enumerate(block.returns):
            exit_block.register_output(exit_vals[i])
            guard_block.register_output(out)
            new_if.add_output(out.type)
        while block.returns:
            block.erase_output(0)
        for out in new_if.outputs:
            block.register_output(out)
        exit_node = self.graph.create_node(self.exit_kind, pair[1], 0)
        exit_node.insert_before(exit_block.return_node)
        return self.transform_if(new_if)

    def destroy_after_exit(self, node: Node) -> None:
        for out in node.outputs:
            if out.uses:
                out.replace_all_uses_with(self.unit_value(out.type))
        node.destroy()

    def delete_after_exit_nodes(self, block: Block, first: Node) -> None:
        if first is block.return_node:
            return
        doomed = []
        node: Node = first
        while node is not block.return_node:
            doomed.append(node)
            node = node.next                                       # type: ignore[assignment]
        for node in reversed(doomed):
            self.destroy_after_exit(node)

    def update_target_block(self, block: Block) -> None:
        owner = block.owning_node
        if owner is not None and owner.kind == "prim::Loop" and \
                self.exit_kind == "prim::LoopContinuation":
            self.target_block = block
        elif owner is None and self.exit_kind == "prim::ReturnStmt":
            self.target_block = block

    def transform_exits(self, block: Block) -> Tuple[Value, List[Value]]:
        previous = self.target_block
        self.update_target_block(block)
        pair = self.wont()
        node = block.param_node.next
        while node is not block.return_node:
            nxt = node.next
            kind = node.kind
            if kind == "prim::RaiseException":
                pair = (self.throws_val, [])
            elif kind in ("prim::ReturnStmt", "prim::LoopContinuation"):
                if kind == self.exit_kind:
                    pair = (self.true_val, list(node.inputs))
                    node.destroy()
            elif kind == "prim::If":
                pair = self.transform_if(node)
            elif kind == "prim::Loop":
                pair = self.transform_loop(node)
            status = self.status(pair)
            if status in (WILL, THROWS):
                self.delete_after_exit_nodes(block, nxt)           # type: ignore[arg-type]
                break
            if status == MIGHT:
                if nxt is not block.return_node:
                    pair = self.guard_block_nodes(block, pair, nxt)  # type: ignore[arg-type]
                break
            node = nxt                                             # type: ignore[assignment]
        if self.target_block is block:
            status = self.status(pair)
            if status == MIGHT:
                new_if = self.graph.create_node("prim::If", [pair[0]], 0)
                new_if.insert_before(block.return_node)
                new_if.add_block()
                new_if.add_block()
                self.add_if_outputs(new_if, pair[1], list(block.returns))
                self.replace_block_outputs(block, new_if.outputs)
            elif status == WILL:
                self.replace_block_outputs(block, pair[1])
            pair = self.wont()
        self.target_block = previous
        return pair


def _constant_bool(v: Value) -> Optional[bool]:
    node = v.node
    if node.kind != "prim::Constant" or "value" not in node.attrs:
        return None
    value = node.attrs["value"]
    return bool(value) if isinstance(value, (bool, int)) else None


def _inline_consecutive_if(node: Node) -> bool:
    """``if c: a else: b`` feeding ``if <its flag>: ...``: merge the second into the first."""
    nxt = node.next
    if node.kind != "prim::If" or nxt is None or nxt.kind != "prim::If":
        return False
    cond = nxt.inputs[0]
    if cond.node is not node:
        return False
    offset = cond.offset
    then_value = _constant_bool(node.blocks[0].returns[offset])
    else_value = _constant_bool(node.blocks[1].returns[offset])
    if then_value is None or else_value is None or then_value == else_value:
        return False
    for i in range(2):
        first_block = node.blocks[i]
        value = then_value if i == 0 else else_value
        second_block = nxt.blocks[0] if value else nxt.blocks[1]

        def value_map(v: Value, block: Block = first_block) -> Value:
            if v.node is not node:
                return v
            return block.returns[v.offset]

        _clone_into_existing(first_block, second_block, value_map)
    for out in nxt.outputs:
        new = node.add_output(out.type)
        if out.has_debug_name():
            new.set_debug_name(out.debug_name)
        out.replace_all_uses_with(new)
    nxt.destroy()
    return True


def _clone_into_existing(dst: Block, src: Block, value_map) -> None:
    """``Block::cloneFrom`` onto a block that already has nodes: appends ``src``'s nodes and
    its outputs after ``dst``'s own outputs (names copied twice, Note [Clones take names
    twice] in ``ssa.py``)."""
    from .ssa import clone_block_from
    clone_block_from(dst, src, value_map)


def _inline_consecutive_ifs(block: Block) -> None:
    node = block.param_node.next
    while node is not block.return_node:
        for b in node.blocks:
            _inline_consecutive_ifs(b)
        if not _inline_consecutive_if(node):
            node = node.next                                       # type: ignore[assignment]


def transform_exits(graph: Graph) -> None:
    _ExitTransformer(graph, "prim::LoopContinuation").transform_exits(graph.block)
    _ExitTransformer(graph, "prim::ReturnStmt").transform_exits(graph.block)
    _inline_consecutive_ifs(graph.block)
