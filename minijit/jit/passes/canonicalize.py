"""Canonical order for the outputs of ``prim::If`` and ``prim::Loop`` nodes.

The SSA pass adds outputs to control-flow nodes in alphabetical order of the variables they
stand for.  TorchScript then sorts them by *first use* (``CanonicalizeOutputs``), so that a
graph does not change when a variable is renamed.  Example: a loop carrying ``h`` and ``y``,
followed by ``return y, h``, ends up with outputs ``%y, %h``.

"First use" compares uses in printing order: the earlier node wins; a node inside a block
comes after the node owning the block and before everything after it; for two uses by one node
the lower input index wins.  Outputs without uses keep their relative order, after the used
ones.  Nodes are visited last to first, and a node's outputs are ordered before its blocks'.
"""
from __future__ import annotations

import functools
from typing import List, Optional

from ..ir.graph import Block, Graph, Node, Use, Value

__all__ = ["canonicalize_outputs", "permute_if_outputs", "permute_loop_carried"]


def _depth(node: Node) -> int:
    depth = 0
    block = node.owning_block
    while block is not None and block.owning_node is not None:
        depth += 1
        block = block.owning_node.owning_block
    return depth


def _block_index(block: Block) -> int:
    return list(block.owning_node.blocks).index(block)             # type: ignore[union-attr]


def _node_before(n1: Node, n2: Node) -> bool:
    d1, d2 = _depth(n1), _depth(n2)
    while d1 > d2:
        n1 = n1.owning_block.owning_node                           # type: ignore[union-attr]
        d1 -= 1
        if n1 is n2:
            return False
    while d2 > d1:
        n2 = n2.owning_block.owning_node                           # type: ignore[union-attr]
        d2 -= 1
        if n2 is n1:
            return True
    while True:
        if n1.owning_block is n2.owning_block:
            return n1.is_before(n2)
        p1 = n1.owning_block.owning_node                           # type: ignore[union-attr]
        p2 = n2.owning_block.owning_node                           # type: ignore[union-attr]
        if p1 is p2:
            return _block_index(n1.owning_block) < _block_index(n2.owning_block)  # type: ignore
        n1, n2 = p1, p2                                            # type: ignore[assignment]


def _use_before(a: Use, b: Use) -> bool:
    if a.user is b.user:
        return a.offset < b.offset
    return _node_before(a.user, b.user)


def _first_use(v: Value) -> Optional[Use]:
    if not v.uses:
        return None
    best = v.uses[0]
    for use in v.uses[1:]:
        if not _use_before(best, use):
            best = use
    return best


def _sorted_indexes(values: List[Value]) -> List[int]:
    firsts = [_first_use(v) for v in values]

    def compare(i: int, j: int) -> int:
        a, b = firsts[i], firsts[j]
        if a is None and b is None:
            return -1 if i < j else (1 if i > j else 0)
        if a is None:
            return 1
        if b is None:
            return -1
        if a.user is b.user and a.offset == b.offset:
            return 0
        return -1 if _use_before(a, b) else 1

    return sorted(range(len(values)), key=functools.cmp_to_key(compare))


def permute_if_outputs(node: Node, order: List[int]) -> None:
    """Reorder an If's outputs (and both blocks' returns) to ``order``."""
    if order == list(range(len(order))):
        return
    for block in node.blocks:
        returns = list(block.returns)
        while block.returns:
            block.erase_output(0)
        for i in order:
            block.register_output(returns[i])
    node._outputs[:] = [node._outputs[i] for i in order]
    for j, v in enumerate(node._outputs):
        v.offset = j


def permute_loop_carried(node: Node, order: List[int]) -> None:
    """Reorder a Loop's carried values: inputs, body params and returns, and outputs."""
    if order == list(range(len(order))):
        return
    body = node.blocks[0]
    carried_inputs = list(node.inputs[2:])
    for _ in carried_inputs:
        node.remove_input(2)
    for i in order:
        node.add_input(carried_inputs[i])
    params = body.param_node._outputs
    head, rest = params[:1], params[1:]
    params[:] = head + [rest[i] for i in order]
    for j, v in enumerate(params):
        v.offset = j
    returns = list(body.returns)
    while body.returns:
        body.erase_output(0)
    body.register_output(returns[0])
    for i in order:
        body.register_output(returns[1 + i])
    node._outputs[:] = [node._outputs[i] for i in order]
    for j, v in enumerate(node._outputs):
        v.offset = j


def _canonicalize(block: Block) -> None:
    for node in reversed(block.nodes):
        if node.kind == "prim::Loop":
            permute_loop_carried(node, _sorted_indexes(list(node.outputs)))
        elif node.kind == "prim::If":
            permute_if_outputs(node, _sorted_indexes(list(node.outputs)))
        for b in node.blocks:
            _canonicalize(b)


def canonicalize_outputs(graph: Graph) -> None:
    """Order control-flow outputs by first use (TorchScript's ``CanonicalizeOutputs``)."""
    _canonicalize(graph.block)
