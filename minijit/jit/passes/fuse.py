"""Fusion: group maximal connected sets of pointwise ops into ``prim::FusionGroup`` nodes.

Before::

    %3 : Float(4, 8) = aten::mul(%x, %y)
    %4 : Float(4, 8) = aten::add(%3, %c, %1)
    %5 : Float(4, 8) = aten::tanh(%4)
    %6 : Float(4, 8) = aten::sum(%5, %none)
    return (%5, %6)

After (printed as TorchScript prints fusion groups)::

    %5 : Float(4, 8) = prim::FusionGroup_0(%x, %y, %c)
    %6 : Float(4, 8) = aten::sum(%5, %none)
    return (%5, %6)
    with prim::FusionGroup_0 = graph(%x : Float(4, 8), %y : Float(4, 8), %c : Float(4, 8)):
      %1 : int = prim::Constant[value=1]()
      %3 : Float(4, 8) = aten::mul(%x, %y)
      %4 : Float(4, 8) = aten::add(%3, %c, %1)
      %5 : Float(4, 8) = aten::tanh(%4)
      return (%5)

Note [Fusion groups]
    *What fuses*: a node whose registry op is POINTWISE (not in-place, not random) with a NumPy
    template, whose result is a tensor and whose non-tensor arguments are constants
    (:func:`~minijit.jit.codegen.numpy_kernel.fusible_reason` says why a node does not).
    Broadcasting, Python-number operands, type promotion, comparisons and ``where`` all fuse:
    the kernel generator reproduces the dispatcher's dtype rules.

    *How groups grow*: nodes are visited in order; a fusible node joins the groups of the
    fusible nodes that produce its inputs, merging them, unless the merge would create a
    cycle, that is, some node outside the group both reads a member's result and feeds
    another member (then the group could not be one node).  Constants used by members are
    copied into the subgraph; every other value from outside becomes a group input, and every
    member result used outside becomes a group output.

    *Order and effects*: the group node takes the place of its last member; nodes between
    the first and last member that read a member's result move after the group.  Moving is
    only safe among pure nodes, so groups never span a node with side effects or randomness
    (an in-place op, a call, ``prim::Print``, ``aten::rand``): such a node closes every open
    group.  Groups never cross block boundaries; each block of an ``If``/``Loop`` is fused
    on its own.

    Groups smaller than ``min_size`` ops are left alone (one op gains nothing from a kernel).
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Set, Tuple

from ...ops.registry import Tag
from ..codegen.numpy_kernel import fusible_reason
from ..ir.graph import Block, Graph, Node, Value
from ..ir.types import TensorType
from .pass_manager import PassLog, node_text, op_of

__all__ = ["fuse_pointwise", "inline_fusion_groups", "FUSION_KIND", "is_barrier", "find_groups",
           "materialise"]

FUSION_KIND = "prim::FusionGroup"


def is_barrier(node: Node) -> bool:
    """May moving pure nodes across ``node`` change the program? (Note [Fusion groups])"""
    from .dce import has_side_effects
    if node.blocks:
        return any(is_barrier(n) for b in node.blocks for n in b.nodes)
    op = op_of(node)
    if op is not None and Tag.RANDOM in op.tags:
        return True
    return has_side_effects(node)


class _Group:
    __slots__ = ("members", "closed")

    def __init__(self, node: Node):
        self.members: List[Node] = [node]
        self.closed = False


def _top_level(user: Node, block: Block) -> Optional[Node]:
    """The node of ``block`` that is (or contains) ``user``; None if it is outside ``block``."""
    n: Optional[Node] = user
    while n is not None and n.owning_block is not block:
        owner = n.owning_block.owning_node if n.owning_block is not None else None
        n = owner
    return n


def _creates_cycle(members: Set[Node], block: Block, position: Dict[Node, int]) -> bool:
    """Is there a path member → non-member → ... → member? (only nodes before the last
    member matter: the group will sit at the last member's place)."""
    last = max(position[m] for m in members)
    stack: List[Node] = []
    seen: Set[Node] = set()
    for m in members:
        for out in m.outputs:
            for use in out.uses:
                top = _top_level(use.user, block)
                if top is not None and top not in members and top not in seen and \
                        top.kind != "prim::Return" and position.get(top, last + 1) < last:
                    seen.add(top)
                    stack.append(top)
    while stack:
        n = stack.pop()
        for out in n.outputs:
            for use in out.uses:
                top = _top_level(use.user, block)
                if top is None or top.kind == "prim::Return":
                    continue
                if top in members:
                    return True
                if top not in seen and position.get(top, last + 1) < last:
                    seen.add(top)
                    stack.append(top)
    return False


def find_groups(block: Block, reasons: List[Tuple[str, str]],
                reason_of: Callable[[Node], Optional[str]] = fusible_reason) -> List[List[Node]]:
    """Maximal acyclic groups of the nodes of ``block`` for which ``reason_of`` says None
    (Note [Fusion groups]); ``reasons`` collects why the other tensor ops were left out."""
    position = {n: i for i, n in enumerate(block.nodes)}
    group_of: Dict[Node, _Group] = {}
    groups: List[_Group] = []
    for node in block.nodes:
        if is_barrier(node):
            for g in groups:
                g.closed = True
            continue
        reason = reason_of(node)
        if reason is not None:
            if node.kind.startswith("aten::") and any(isinstance(o.type, TensorType)
                                                      for o in node.outputs):
                reasons.append((node_text(node), reason))
            continue
        current = _Group(node)
        candidates: List[_Group] = []
        for v in node.inputs:
            g = group_of.get(v.node)
            if g is not None and not g.closed and g not in candidates and g is not current:
                candidates.append(g)
        # Largest first: keep as much of the work in one kernel as possible.
        candidates.sort(key=lambda g: -len(g.members))
        for g in candidates:
            merged = set(current.members) | set(g.members)
            if _creates_cycle(merged, block, position):
                continue
            current.members = sorted(merged, key=lambda n: position[n])
            groups.remove(g)
        for m in current.members:
            group_of[m] = current
        groups.append(current)
    return [g.members for g in groups]


def _static_producer(node: Node) -> bool:
    """Constants, and lists/tuples built only from constants (``sum``'s ``[1]``): copied
    into a subgraph rather than passed in, so the group sees their values."""
    if node.kind == "prim::Constant":
        return True
    if node.kind in ("prim::ListConstruct", "prim::TupleConstruct"):
        return all(_static_producer(v.node) for v in node.inputs)
    return False


def materialise(graph: Graph, block: Block, members: List[Node], kind: str = FUSION_KIND
                ) -> Node:
    """Replace ``members`` (in block order) by one node of ``kind`` holding them as its
    ``Subgraph`` (a fusion group, or a differentiable graph)."""
    member_set = set(members)
    first, last = members[0], members[-1]
    # Nodes between first and last that read a member's result must move after the group.
    dependents: List[Node] = []
    tainted: Set[Value] = {o for m in members for o in m.outputs}
    n = first.next
    while n is not last:
        if n not in member_set and (any(v in tainted for v in _all_inputs(n))):
            dependents.append(n)
            tainted.update(n.outputs)
        n = n.next  # type: ignore[assignment]

    sub = Graph()
    mapping: Dict[Value, Value] = {}
    inputs: List[Value] = []
    constants: List[Node] = []
    def note_static(node: Node) -> None:
        for v in node.inputs:
            if v not in mapping:
                note_static(v.node)
        if node.output() not in mapping:
            constants.append(node)
            mapping[node.output()] = node.output()    # placeholder, replaced below

    for m in members:
        for v in m.inputs:
            if v in mapping or v.node in member_set:
                continue
            if _static_producer(v.node):
                note_static(v.node)
                continue
            inputs.append(v)
            mapping[v] = sub.add_input(v.debug_name if v.has_debug_name() else None, v.type)
    for c in constants:
        clone = sub.append_node(sub.create_clone(c, lambda v: mapping[v]))
        mapping[c.output()] = clone.output()
    for m in members:
        clone = sub.append_node(sub.create_clone(m, lambda v: mapping[v]))
        for old, new in zip(m.outputs, clone.outputs):
            mapping[old] = new
    outputs: List[Value] = []
    for m in members:
        for out in m.outputs:
            if any(u.user not in member_set for u in out.uses):
                outputs.append(out)
                sub.register_output(mapping[out])
    group = graph.create_node(kind, inputs, num_outputs=0)
    group.attrs["Subgraph"] = sub
    group.insert_after(last)
    new_outputs = [group.add_output(o.type) for o in outputs]
    names = [o.debug_name if o.has_debug_name() else None for o in outputs]
    for old, new in zip(outputs, new_outputs):
        old.replace_all_uses_with(new)
    for m in reversed(members):
        m.destroy()
    for new, name in zip(new_outputs, names):
        if name:
            new.set_debug_name(name)
    anchor = group
    for d in dependents:
        d.move_after(anchor)
        anchor = d
    return group


def _all_inputs(node: Node) -> List[Value]:
    values = list(node.inputs)
    for b in node.blocks:
        for n in b.nodes:
            values.extend(_all_inputs(n))
        values.extend(b.returns)
    return values


def _fuse_block(graph: Graph, block: Block, log: PassLog, min_size: int,
                reasons: List[Tuple[str, str]], counter: List[int]) -> bool:
    changed = False
    for node in block.nodes:
        for b in node.blocks:
            changed |= _fuse_block(graph, b, log, min_size, reasons, counter)
    for members in find_groups(block, reasons):
        if len(members) < min_size:
            for m in members:
                reasons.append((node_text(m), "no fusible neighbour (a group needs "
                                              f"{min_size} ops)"))
            continue
        kinds = ", ".join(m.kind for m in members)
        group = materialise(graph, block, members)
        sub = group.attrs["Subgraph"]
        log.note(f"{FUSION_KIND}_{counter[0]}: {len(members)} ops ({kinds}); "
                 f"{len(sub.inputs)} input(s), {len(sub.outputs)} output(s)")
        counter[0] += 1
        changed = True
    return changed


def fuse_pointwise(graph: Graph, log: Optional[PassLog] = None, min_size: int = 2,
                   not_fused: Optional[List[Tuple[str, str]]] = None) -> bool:
    """Make fusion groups everywhere in ``graph`` (Note [Fusion groups]).

    Args:
        log: receives one line per group made.
        min_size: the fewest ops worth a group.
        not_fused: receives ``(node text, reason)`` for each tensor op left unfused.
    Returns:
        True if any group was made.
    """
    log = log if log is not None else PassLog()
    reasons: List[Tuple[str, str]] = []
    changed = _fuse_block(graph, graph.block, log, min_size, reasons, [0])
    if not_fused is not None:
        not_fused.extend(reasons)
    return changed


def inline_fusion_groups(graph: Graph, log: Optional[PassLog] = None,
                         only: Optional[List[Node]] = None) -> bool:
    """Undo fusion: replace ``prim::FusionGroup`` nodes (or the subgraph-holding nodes in
    ``only``) by the nodes of their subgraphs.

    Used when a group cannot be given a backward (its ops then record eager tape nodes), and
    to get the plain graph back for ``create_graph`` double backward.
    """
    changed = False

    def visit(block: Block) -> None:
        nonlocal changed
        for node in block.nodes:
            for b in node.blocks:
                visit(b)
            if (only is None and node.kind != FUSION_KIND) or \
                    (only is not None and node not in only):
                continue
            sub = node.attrs["Subgraph"]
            mapping: Dict[Value, Value] = dict(zip(sub.inputs, node.inputs))
            for inner in sub.nodes:
                clone = graph.create_clone(inner, lambda v: mapping[v])
                clone.insert_before(node)
                for old, new in zip(inner.outputs, clone.outputs):
                    mapping[old] = new
            names = [o.debug_name if o.has_debug_name() else None for o in node.outputs]
            for out, ret in zip(node.outputs, sub.outputs):
                out.replace_all_uses_with(mapping[ret])
            node.destroy()
            for ret, name in zip(sub.outputs, names):
                if name and not mapping[ret].has_debug_name():
                    mapping[ret].set_debug_name(name)
            if log is not None:
                log.note(f"inlined a {FUSION_KIND} back into {len(sub.nodes)} node(s)")
            changed = True

    visit(graph.block)
    return changed
