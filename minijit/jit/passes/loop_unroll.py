"""Loop unrolling: replace a short ``for`` loop with a constant trip count by copies of its body.

A ``for i in range(3)`` loop whose trip count is a constant (often only after shape analysis
and constant propagation turned ``xs.size(0)`` into ``3``) becomes three copies of the body,
each with ``%i`` replaced by its constant and the carried values threaded through.  Before::

    %h : Tensor = prim::Loop(%3, %true, %h.1)
      block0(%i : int, %h.5 : Tensor):
        %h.3 : Tensor = aten::mul(%h.5, %x)
        -> (%true, %h.3)

After::

    %h.3 : Tensor = aten::mul(%h.1, %x)
    %h.7 : Tensor = aten::mul(%h.3, %x)
    %h.9 : Tensor = aten::mul(%h.7, %x)

This removes the loop's per-iteration bookkeeping and lets fusion and CSE see across
iterations.  Only loops whose condition is the constant ``True`` on entry and at the end of
every iteration (that is, ``for`` loops without ``break``) with at most ``limit`` iterations
and at most ``MAX_UNROLLED_NODES`` nodes after unrolling are unrolled.
"""
from __future__ import annotations

from typing import Dict, Optional

from ..ir.graph import Block, Graph, Node, Value
from .pass_manager import PassLog, constant_value

__all__ = ["unroll_loops"]


MAX_UNROLLED_NODES = 512


def _count(block: Block) -> int:
    return sum(1 + sum(_count(b) for b in n.blocks) for n in block.nodes)


def _unrollable(node: Node, limit: int) -> Optional[int]:
    ok, trip = constant_value(node.inputs[0])
    if not ok or not isinstance(trip, int) or isinstance(trip, bool) or not 0 <= trip <= limit:
        return None
    if trip * _count(node.blocks[0]) > MAX_UNROLLED_NODES:
        return None
    ok, cond = constant_value(node.inputs[1])
    if not ok or cond is not True:
        return None
    ok, again = constant_value(node.blocks[0].returns[0])
    if not ok or again is not True:
        return None
    return trip


def _unroll(graph: Graph, node: Node, trip: int) -> None:
    body = node.blocks[0]
    carried = list(node.inputs[2:])
    for i in range(trip):
        with graph.insert_point(node):
            index = graph.insert_constant(i)
        mapping: Dict[int, Value] = {id(body.params[0]): index}
        for p, v in zip(body.params[1:], carried):
            mapping[id(p)] = v

        def lookup(v: Value) -> Value:
            return mapping.get(id(v), v)

        for inner in body.nodes:
            clone = graph.create_clone(inner, lookup)
            clone.insert_before(node)
            for old, new in zip(inner.outputs, clone.outputs):
                mapping[id(old)] = new
        carried = [lookup(r) for r in body.returns[1:]]
    for out, value in zip(node.outputs, carried):
        out.replace_all_uses_with(value)
    node.destroy()


def _visit(graph: Graph, block: Block, limit: int, log: PassLog) -> bool:
    changed = False
    for node in block.nodes:
        for b in node.blocks:
            changed |= _visit(graph, b, limit, log)
        if node.kind != "prim::Loop":
            continue
        trip = _unrollable(node, limit)
        if trip is None:
            continue
        log.note(f"unrolled a prim::Loop of {trip} iteration(s) "
                 f"({len(node.blocks[0].nodes)} node(s) per iteration)")
        _unroll(graph, node, trip)
        changed = True
    return changed


def unroll_loops(graph: Graph, log: Optional[PassLog] = None, limit: int = 16) -> bool:
    """Unroll every constant-trip ``for`` loop of at most ``limit`` iterations."""
    from .dce import eliminate_dead_code
    log = log if log is not None else PassLog()
    changed = _visit(graph, graph.block, limit, log)
    if changed:
        eliminate_dead_code(graph)       # the loops' trip counts and unused indices
    return changed
