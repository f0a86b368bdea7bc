"""If-conversion: a branch on a tensor's value becomes an ``aten::where`` of both branches.

The seed tutorial's decision gate ``if x.sum() > 0: return x else: return -x`` reads one
number of a tensor to choose a branch.  Run as written, every call stops at ``aten::Bool``
to bring that number to Python (on a GPU: a device-to-host copy and a synchronisation), and
the ``prim::If`` cuts the graph in pieces that fusion and differentiable graphs cannot cross.
When both branches are cheap and safe to compute whatever the condition, computing both and
selecting elementwise gives the same values.  Before::

    %s : Float() = aten::sum(%x, %none)
    %c : Bool() = aten::gt(%s, %zero)
    %b : bool = aten::Bool(%c)
    %y : Float(3, 4) = prim::If(%b)
      block0():
        -> (%x)
      block1():
        %n : Float(3, 4) = aten::neg(%x)
        -> (%n)

After::

    %s : Float() = aten::sum(%x, %none)
    %c : Bool() = aten::gt(%s, %zero)
    %n : Float(3, 4) = aten::neg(%x)
    %y : Float(3, 4) = aten::where(%c, %x, %n)

``where`` with a 0-dim condition picks one whole operand, and its derivative sends the
gradient to the chosen operand only, so values and gradients are the eager ones.  Now the
gate is pointwise and fuses with the ops around it, and no number leaves the device.

When it applies (each checked; types come from shape analysis of the call's signature):

* the condition is ``aten::Bool`` of a 0-dim bool tensor (a comparison's result);
* every output is a floating tensor whose dtype and sizes are known and equal in both
  branches, so ``where`` neither broadcasts nor promotes;
* the branches hold no blocks, only constants and registry ops tagged ``SPECULATABLE``
  (pointwise, never raise on floats, finite derivative wherever the inputs are
  finite: ``neg``, ``tanh``, ``add``... but not ``log``, whose untaken branch could make
  ``inf``, and whose gradient ``0 * inf`` would be NaN), at most ``MAX_SPECULATED_NODES``;
* the graph writes nothing in place, and no branch returns a graph input or a view: the
  result is a new tensor where the original might have been the same tensor as another value,
  which only a mutation could tell apart;
* both branches differentiate the same outer values (:func:`gradient_sources`): ``where``
  sends the untaken branch a zero gradient, so a tensor only that branch reads would get a
  zero ``.grad`` where eager leaves it ``None`` (``if c: y = tanh(y) else: y = tanh(x)``).
"""
from __future__ import annotations

from typing import Optional, Set

from ...ops.registry import Tag, find
from ..ir.graph import Block, Graph, Node, Value
from ..ir.types import TensorType
from .pass_manager import PassLog, op_of

__all__ = ["convert_ifs", "gradient_sources", "MAX_SPECULATED_NODES"]

MAX_SPECULATED_NODES = 8


def _float_tensor(t: object) -> bool:
    return (isinstance(t, TensorType) and t.dtype is not None and
            getattr(t.dtype, "is_floating_point", False) and t.sizes is not None and
            None not in t.sizes)


def _writes_in_place(graph: Graph) -> bool:
    for node in graph.all_nodes():
        op = op_of(node)
        if op is not None and Tag.INPLACE in op.tags:
            return True
    return False


def _condition_tensor(node: Node) -> Optional[Value]:
    producer = node.inputs[0].node
    if producer.kind != "aten::Bool" or len(producer.inputs) != 1:
        return None
    t = producer.inputs[0].type
    if not isinstance(t, TensorType) or t.sizes != () or getattr(t.dtype, "name", "") != "bool":
        return None
    return producer.inputs[0]


def gradient_sources(block: Block) -> Set[Value]:
    """The values from outside ``block`` with a differentiable path to its results: walking
    the block backwards from its returns, through the operands each op differentiates."""
    reached: Set[Value] = {r for r in block.returns if isinstance(r.type, TensorType)
                           and r.type.requires_grad is not False}
    inside = {o for n in block.nodes for o in n.outputs}
    for inner in reversed(block.nodes):
        if not any(o in reached for o in inner.outputs):
            continue
        op = op_of(inner)
        if op is None or not op.differentiable:
            continue
        for i, v in enumerate(inner.inputs):
            if i not in op.nondiff_args and isinstance(v.type, TensorType) and \
                    v.type.requires_grad is not False:
                reached.add(v)
    return {v for v in reached if v not in inside}


def _why_not(node: Node) -> Optional[str]:
    """None if ``node`` (a ``prim::If``) can become ``where``s, else the reason."""
    if _condition_tensor(node) is None:
        return "the condition is not a 0-dim bool tensor read by aten::Bool"
    if not node.outputs:
        return "the If has no outputs"
    count = 0
    for block in node.blocks:
        for inner in block.nodes:
            count += 1
            if inner.blocks:
                return f"a branch holds a {inner.kind}"
            if inner.kind == "prim::Constant":
                continue
            op = op_of(inner)
            if op is None or Tag.SPECULATABLE not in op.tags:
                return f"{inner.kind} is not safe to compute on an untaken branch"
            for v in list(inner.inputs) + list(inner.outputs):
                if isinstance(v.type, TensorType) and not _float_tensor(v.type):
                    return f"{inner.kind} has an operand of unknown or non-floating type"
        for r in block.returns:
            if r.node.kind == "prim::Param":
                return "a branch returns a graph input"      # or a loop's carried value
            op = op_of(r.node)
            if op is not None and Tag.VIEW in op.tags:
                return "a branch returns a view"
    if count > MAX_SPECULATED_NODES:
        return f"the branches hold {count} nodes (more than {MAX_SPECULATED_NODES})"
    if gradient_sources(node.blocks[0]) != gradient_sources(node.blocks[1]):
        return ("the branches differentiate different values (one would get a zero gradient "
                "where eager gives none)")
    for i, out in enumerate(node.outputs):
        if not _float_tensor(out.type):
            return "an output is not a floating tensor of known sizes"
        for block in node.blocks:
            t = block.returns[i].type
            if not _float_tensor(t) or t.dtype != out.type.dtype or t.sizes != out.type.sizes:
                return "the branches' outputs differ in dtype or sizes"
    return None


def _convert(graph: Graph, node: Node) -> None:
    condition = _condition_tensor(node)
    where = find("aten::where")
    for block in node.blocks:
        for inner in list(block.nodes):
            inner.move_before(node)
    taken, untaken = node.blocks[0].returns, node.blocks[1].returns
    for out, a, b in zip(node.outputs, taken, untaken):
        if a is b:
            out.replace_all_uses_with(a)
            continue
        select = graph.create_node("aten::where", [condition, a, b], 0)
        select.schema = where.schema
        select.add_output(out.type)
        select.source_range, select.scope = node.source_range, node.scope
        select.insert_before(node)
        name = out.debug_name if out.has_debug_name() else None
        out.replace_all_uses_with(select.outputs[0])
        if name:
            select.outputs[0].set_debug_name(name)
    node.destroy()


def _visit(graph: Graph, block: Block, log: PassLog) -> bool:
    changed = False
    for node in list(block.nodes):
        for b in node.blocks:
            changed |= _visit(graph, b, log)
        if node.kind != "prim::If":
            continue
        why = _why_not(node)
        if why is not None:
            log.note(f"kept a prim::If: {why}")
            continue
        count = sum(len(b.nodes) for b in node.blocks)
        log.note(f"prim::If with {count} branch node(s) -> {len(node.outputs)} aten::where")
        _convert(graph, node)
        changed = True
    return changed


def convert_ifs(graph: Graph, log: Optional[PassLog] = None) -> bool:
    """Turn every eligible ``prim::If`` of ``graph`` into ``aten::where`` nodes."""
    from .dce import eliminate_dead_code
    log = log if log is not None else PassLog()
    if _writes_in_place(graph):
        log.note("kept every prim::If: the graph writes in place")
        return False
    changed = _visit(graph, graph.block, log)
    if changed:
        eliminate_dead_code(graph)       # the aten::Bool reads of the conditions
    return changed
