"""SSA construction: from Loads/Stores to block outputs and loop-carried values.

The emitter leaves variables as ``prim::Store``/``prim::Load`` pairs (Note [Loads and
stores]) and control flow with empty interfaces.  :func:`convert_to_ssa` is TorchScript's
``ConvertToSSA``, step by step:

1. **Control-flow loads/stores** (:class:`_ControlFlowLoadStores`).  For a ``prim::If``, each
   variable stored in *both* branches becomes an output: a Load at the end of each branch is
   returned, and the If's new output is stored under the variable's name right after it.  For
   a ``prim::Loop``, each variable stored in the body *and* defined before the loop becomes a
   carried value: a Load before the loop feeds a new input, a new body parameter is stored at
   the top of the body, a Load at the end of the body is returned, and the new loop output is
   stored after the loop.  Before::

       = prim::Store[name="acc"](%x)
       = prim::Loop(%n)  block0(%i): %a = prim::Load[name="acc"]() ...
                                       = prim::Store[name="acc"](%a2)

   After, roughly: ``%acc.out = prim::Loop(%n, %cond, %load_acc) block0(%i, %acc.in) ->
   (%cond, %load_acc2)``.  Variables are visited in sorted order.
2. **Loop continuations**: ``break``/``continue`` become ``prim::LoopContinuation`` nodes
   that carry the current values of the loop's variables (``break`` with condition False).
3. **Inline the loop condition**: the condition block of a ``while`` is copied before the
   loop (first test) and to the end of the body (next test).
4. **Erase loads and stores**: walking blocks in order with a scope stack, every Load is
   replaced by the value stored last under its name.
5. **Exits** (:mod:`.exits`): ``return`` and loop continuations become block outputs,
   guarding the rest of a block with ``prim::If`` when an exit may have happened.

Block copies in steps 2 and 3 copy debug names, which renames the originals; that is part of
what the final ``.graph`` shows, so the copies follow TorchScript's order exactly.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional

from ..ir.graph import Block, Graph, Node, Value
from ..ir.types import IRType, unify
from .environment import meaningful_name
from .exits import transform_exits

__all__ = ["convert_to_ssa", "clone_block_from", "inline_block_before_node"]


def _create_store(graph: Graph, name: str, value: Value) -> Node:
    node = graph.create_node("prim::Store", [value], 0)
    node.attrs["name"] = name
    return node


def _create_load(graph: Graph, name: str, type_: IRType) -> Node:
    node = graph.create_node("prim::Load", [], 1)
    node.attrs["name"] = name
    node.output().type = type_
    return node


def _copy_metadata(new: Value, old: Value) -> None:
    new.type = old.type
    if old.has_debug_name():
        new.set_debug_name(old.debug_name)


def clone_node(graph: Graph, node: Node, value_map: Callable[[Value], Value]) -> Node:
    """TorchScript's ``Graph::createClone``: outputs (names copied), attributes, inputs, then
    blocks (each copied with :func:`clone_block_from`)."""
    clone = graph.create_node(node.kind, [], 0)
    for out in node.outputs:
        _copy_metadata(clone.add_output(out.type), out)
    for key, val in node.attrs.items():
        clone.attrs[key] = list(val) if isinstance(val, list) else val
    clone.source_range, clone.scope, clone.schema = node.source_range, node.scope, node.schema
    for v in node.inputs:
        clone.add_input(value_map(v))
    for block in node.blocks:
        clone_block_from(clone.add_block(), block, value_map)
    return clone


def clone_block_from(dst: Block, src: Block, value_map: Callable[[Value], Value]) -> None:
    """TorchScript's ``Block::cloneFrom``: copy ``src``'s nodes into ``dst``.

    Note [Clones take names twice]
        ``cloneFrom`` copies each output's debug name when the clone is created *and* again
        after: the first copy renames the original ``x.5`` to ``x.13`` (Note [IR
        invariants] #5), the second gives the clone that new name and renames the original
        once more.  The original is usually destroyed soon after, so what survives is a
        clone named ``x.13``; scripted graphs print such names, so we copy twice too.
    """
    graph = dst.owning_graph
    local: Dict[int, Value] = {}

    def env(v: Value) -> Value:
        found = local.get(id(v))
        return found if found is not None else value_map(v)

    for p in src.params:
        new = dst.add_input(None, p.type)
        _copy_metadata(new, p)
        local[id(p)] = new
    for node in src.nodes:
        clone = dst.append_node(clone_node(graph, node, env))
        for old, new in zip(node.outputs, clone.outputs):
            local[id(old)] = new
            _copy_metadata(new, old)
    for r in src.returns:
        dst.register_output(env(r))


def inline_block_before_node(before: Node, block: Block) -> None:
    for node in block.nodes:
        node.move_before(before)


def _live_nodes(block: Block):
    """Iterate a block's nodes, seeing nodes inserted after the current one (C++ list walk)."""
    node = block.param_node.next
    while node is not block.return_node:
        nxt_holder = node
        yield node
        node = nxt_holder.next


class _TypeFrame:
    def __init__(self, next_frame: Optional["_TypeFrame"]):
        self.next = next_frame
        self.table: Dict[str, object] = {}

    def find_this(self, name: str) -> object:
        return self.table.get(name)

    def find_any(self, name: str) -> object:
        frame: Optional[_TypeFrame] = self
        while frame is not None:
            if name in frame.table:
                return frame.table[name]
            frame = frame.next
        return None

    def defined(self) -> List[str]:
        return sorted(self.table)


class _ControlFlowLoadStores:
    """Step 1: give If/Loop nodes their outputs and carried values."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.env: Optional[_TypeFrame] = None

    def run(self) -> None:
        self.add(self.graph.block)

    def add(self, block: Block) -> _TypeFrame:
        self.env = _TypeFrame(self.env)
        for node in _live_nodes(block):
            if node.kind == "prim::If":
                self.add_if(node)
            elif node.kind == "prim::Loop":
                self.add_loop(node)
            elif node.kind == "prim::ComprehensionScope":
                self.add(node.blocks[0])
            elif node.kind == "prim::Store":
                self.env.table[node.attrs["name"]] = node.inputs[0].type
        frame = self.env
        self.env = frame.next
        return frame

    def add_block_input(self, block: Block, type_: IRType, name: str) -> None:
        param = block.add_input(name, type_)
        _create_store(self.graph, name, param).insert_after(block.param_node)

    def add_block_output(self, block: Block, type_: IRType, name: str) -> None:
        load = _create_load(self.graph, name, type_)
        block.append_node(load)
        block.register_output(load.output())

    def add_node_output(self, node: Node, type_: IRType, name: str) -> None:
        out = node.add_output(type_)
        if meaningful_name(name):
            out.set_debug_name(name)
        _create_store(self.graph, name, out).insert_after(node)

    def add_node_input(self, node: Node, type_: IRType, name: str) -> None:
        load = _create_load(self.graph, name, type_).insert_before(node)
        node.add_input(load.output())

    def add_if(self, node: Node) -> None:
        true_block, false_block = node.blocks
        true_vars = self.add(true_block)
        false_vars = self.add(false_block)
        mutated = set()
        for v in true_vars.defined():
            if false_vars.find_any(v) is not None:
                mutated.add(v)
        for v in false_vars.defined():
            if true_vars.find_any(v) is not None:
                mutated.add(v)
        for name in sorted(mutated):
            true_type, false_type = true_vars.find_any(name), false_vars.find_any(name)
            unified = unify(true_type, false_type)                 # type: ignore[arg-type]
            if unified is None:
                continue
            self.add_block_output(true_block, true_type, name)     # type: ignore[arg-type]
            self.add_block_output(false_block, false_type, name)   # type: ignore[arg-type]
            self.add_node_output(node, unified, name)

    def add_loop(self, node: Node) -> None:
        body = node.blocks[0]
        loop_vars = self.add(body)
        for name in loop_vars.defined():
            parent_type = self.env.find_any(name)                  # type: ignore[union-attr]
            if parent_type is None:
                continue
            block_type = loop_vars.find_this(name)
            unified = unify(parent_type, block_type)               # type: ignore[arg-type]
            self.add_node_input(node, parent_type, name)           # type: ignore[arg-type]
            self.add_block_input(body, unified, name)              # type: ignore[arg-type]
            self.add_block_output(body, block_type, name)          # type: ignore[arg-type]
            self.add_node_output(node, unified, name)              # type: ignore[arg-type]


class _LoopContinuations:
    """Step 2: ``break``/``continue`` → ``prim::LoopContinuation(cond, *carried loads)``."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.current_loop: Optional[Node] = None
        first = graph.block.param_node.next
        with graph.insert_point(first):
            self.false_value = graph.insert_constant(False)

    def run(self) -> None:
        self.assign(self.graph.block)

    def add_loop_carried_outputs(self, node: Node) -> None:
        continuation = self.current_loop.blocks[0].return_node     # type: ignore[union-attr]
        for out in continuation.inputs:
            load = out.node
            clone = clone_node(self.graph, load, lambda v: v)
            clone.insert_before(node)
            node.add_input(clone.output())

    def assign(self, block: Block) -> None:
        for node in block.nodes:
            kind = node.kind
            if kind == "prim::If":
                self.assign(node.blocks[0])
                self.assign(node.blocks[1])
            elif kind == "prim::Loop":
                previous, self.current_loop = self.current_loop, node
                self.assign(node.blocks[0])
                self.current_loop = previous
            elif kind == "prim::ComprehensionScope":
                self.assign(node.blocks[0])
            elif kind == "prim::ContinueStmt":
                continuation = self.graph.create_node("prim::LoopContinuation", [], 0)
                continuation.insert_after(node)
                header = continuation.add_block()
                pre_header = self.current_loop.blocks[1]           # type: ignore[union-attr]
                clone_block_from(header, pre_header, lambda v: v)
                inline_block_before_node(node, header)
                continuation.add_input(header.returns[0])
                continuation.erase_block(0)
                self.add_loop_carried_outputs(continuation)
                node.destroy()
            elif kind == "prim::BreakStmt":
                exit_node = self.graph.create_node("prim::LoopContinuation",
                                                   [self.false_value], 0)
                exit_node.insert_after(node)
                self.add_loop_carried_outputs(exit_node)
                node.destroy()


def _inline_loop_condition(block: Block) -> None:
    """Step 3 (TorchScript's ``InlineLoopCondition``)."""
    for node in block.nodes:
        for b in node.blocks:
            _inline_loop_condition(b)
        if node.kind == "prim::Loop":
            body, pre_header = node.blocks[0], node.blocks[1]
            temp = node.add_block()
            clone_block_from(temp, pre_header, lambda v: v)
            inline_block_before_node(node, temp)
            node.insert_input(1, temp.returns[0])
            node.erase_block(2)
            inline_block_before_node(body.return_node, pre_header)
            body.return_node.insert_input(0, pre_header.returns[0])
            node.erase_block(1)


class _ValueFrame:
    def __init__(self, next_frame: Optional["_ValueFrame"]):
        self.next = next_frame
        self.table: Dict[str, Value] = {}

    def find_any(self, name: str) -> Optional[Value]:
        frame: Optional[_ValueFrame] = self
        while frame is not None:
            if name in frame.table:
                return frame.table[name]
            frame = frame.next
        return None


def _erase_load_stores(block: Block, env: Optional[_ValueFrame]) -> None:
    """Step 4: each Load becomes the value stored last under its name."""
    frame = _ValueFrame(env)
    node = block.param_node.next
    while node is not block.return_node:
        nxt = node.next
        kind = node.kind
        if kind == "prim::Store":
            frame.table[node.attrs["name"]] = node.inputs[0]
            node.destroy()
        elif kind == "prim::Load":
            var = frame.find_any(node.attrs["name"])
            if var is None:
                raise RuntimeError(f"minijit scripter: variable {node.attrs['name']!r} has no "
                                   "definition (internal error: type checking should have "
                                   "caught this)")
            node.output().replace_all_uses_with(var)
            node.destroy()
        elif kind == "prim::ComprehensionScope":
            body = node.blocks[0]
            _erase_load_stores(body, frame)
            for inner in body.nodes:
                inner.move_before(node)
            node.destroy()
        else:
            for b in node.blocks:
                _erase_load_stores(b, frame)
        node = nxt


def convert_to_ssa(graph: Graph,
                   observe: Optional[Callable[[str, Graph], None]] = None) -> None:
    """Run steps 1-5 of the module docstring on ``graph`` (in place).

    ``observe(step, graph)``, when given, sees the graph after each step (``explain.py``).
    """
    steps = [("control-flow loads/stores", lambda: _ControlFlowLoadStores(graph).run()),
             ("loop continuations", lambda: _LoopContinuations(graph).run()),
             ("inline loop conditions", lambda: _inline_loop_condition(graph.block)),
             ("erase loads/stores", lambda: _erase_load_stores(graph.block, None)),
             ("exits", lambda: transform_exits(graph))]
    for name, step in steps:
        step()
        if observe is not None:
            observe(name, graph)
