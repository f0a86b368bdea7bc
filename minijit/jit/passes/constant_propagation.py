"""Constant propagation and folding, then constant pooling.

Folding runs a node at compile time when every input is a ``prim::Constant`` and the node is
pure (:func:`~minijit.jit.passes.pass_manager.is_pure`), and replaces it by a constant.
Before::

    %1 : int = prim::Constant[value=2]()
    %2 : int = prim::Constant[value=3]()
    %3 : int = aten::mul(%1, %2)
    %4 : Tensor = aten::add(%x, %3, %1)

After::

    %1 : int = prim::Constant[value=2]()
    %5 : int = prim::Constant[value=6]()
    %4 : Tensor = aten::add(%x, %5, %1)

Also:

* ``prim::If`` on a constant condition is replaced by the body of the branch taken;
* ``prim::Loop`` that never runs (trip count 0, or a constant ``False`` condition) is replaced
  by its initial carried values;
* what folding left dead (the folded nodes' constant inputs) is removed.

Results that are tensors are *not* folded: a folded tensor would be one object handed to every
call, so a caller writing into it in place would change the program.  (TorchScript folds
them; minijit prefers the safe rule.)  Lists are not folded for the same reason.

:func:`pool_constants` then moves every constant to the top of the graph and merges equal
ones, as TorchScript's ConstantPooling does, so later passes (CSE, fusion) see one value per
constant.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ..ir.graph import Block, Graph, Node, Value
from .pass_manager import PassLog, constant_value, is_pure, node_text

__all__ = ["propagate_constants", "pool_constants", "fold_node"]

_NOT_FOLDED = object()


def _foldable_result(value: Any) -> bool:
    """Python values that may live in a ``prim::Constant`` shared by every call."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, tuple):
        return all(_foldable_result(v) for v in value)
    return False


def fold_node(node: Node) -> Any:
    """Run a pure node whose inputs are all constants; its output value, or ``_NOT_FOLDED``."""
    from ..runtime.interpreter import handler_for
    # (``prim::Uninitialized`` stands for no value at all, not for None: PyTorch's pass skips
    # it too, and a None constant of its ``Tensor?`` type would not be a valid constant.)
    if len(node.outputs) != 1 or not is_pure(node) or node.kind in ("prim::Constant",
                                                                     "prim::Uninitialized"):
        return _NOT_FOLDED
    values = []
    for v in node.inputs:
        ok, value = constant_value(v)
        if not ok or not _foldable_result(value):
            return _NOT_FOLDED
        values.append(value)
    if node.output().type.kind in ("Tensor", "List", "Dict"):
        return _NOT_FOLDED
    try:
        result = handler_for(node)(values)[0]
    except Exception:  # noqa: BLE001 - the error will happen (and be reported) at run time
        return _NOT_FOLDED
    return result if _foldable_result(result) else _NOT_FOLDED


def _replace_with_constant(graph: Graph, node: Node, value: Any) -> Value:
    out = node.output()
    with graph.insert_point(node):
        const = graph.insert_constant(value, out.type if out.type.kind != "Scalar" else None)
    out.replace_all_uses_with(const)
    node.destroy()
    return const


def _inline_branch(node: Node, block: Block) -> None:
    """Replace ``node`` (a ``prim::If``) by the nodes of ``block``."""
    for inner in block.nodes:
        inner.move_before(node)
    for out, ret in zip(node.outputs, block.returns):
        out.replace_all_uses_with(ret)
    node.destroy()


def _fold_block(graph: Graph, block: Block, log: PassLog) -> bool:
    changed = False
    for node in block.nodes:
        if node.kind == "prim::If":
            ok, cond = constant_value(node.inputs[0])
            if ok and isinstance(cond, (bool, int)):
                taken = node.blocks[0] if cond else node.blocks[1]
                log.note(f"prim::If on constant {bool(cond)}: kept block{0 if cond else 1}")
                first = taken.nodes
                _inline_branch(node, taken)
                for inner in first:           # fold what the branch brought in
                    changed |= _fold_one(graph, inner, log)
                changed = True
                continue
        if node.kind == "prim::Loop":
            ok_trip, trip = constant_value(node.inputs[0])
            ok_cond, cond = constant_value(node.inputs[1])
            if (ok_trip and trip == 0) or (ok_cond and cond is False):
                log.note("prim::Loop never runs: replaced by its initial values")
                for out, init in zip(node.outputs, node.inputs[2:]):
                    out.replace_all_uses_with(init)
                node.destroy()
                changed = True
                continue
        for b in node.blocks:
            changed |= _fold_block(graph, b, log)
        changed |= _fold_one(graph, node, log)
    return changed


def _fold_one(graph: Graph, node: Node, log: PassLog) -> bool:
    if not node.in_block_list or node.blocks:
        return False
    value = fold_node(node)
    if value is _NOT_FOLDED:
        return False
    text = node_text(node)
    const = _replace_with_constant(graph, node, value)
    log.note(f"folded {text}  ->  {node_text(const.node)}")
    return True


def propagate_constants(graph: Graph, log: Optional[PassLog] = None) -> bool:
    """Fold constant expressions and constant control flow until nothing changes."""
    from .dce import eliminate_dead_code
    log = log if log is not None else PassLog()
    changed = False
    while _fold_block(graph, graph.block, log):
        changed = True
    if changed:
        eliminate_dead_code(graph)         # the inputs of folded nodes, as TorchScript does
    return changed


def _constant_key(node: Node) -> Optional[Tuple[Any, ...]]:
    """Constants are equal when type and value are (``1`` ≠ ``1.`` ≠ ``True``); tensors by
    identity; ``prim::Constant[name=...]`` function constants are left alone."""
    if set(node.attrs) - {"value"}:
        return None
    value = node.attrs.get("value")
    if value is not None and not _foldable_result(value) and not isinstance(value, list):
        return (str(node.output().type), "id", id(value))
    try:
        return (str(node.output().type), type(value).__name__, repr(value))
    except Exception:  # noqa: BLE001
        return None


def pool_constants(graph: Graph, log: Optional[PassLog] = None) -> bool:
    """Hoist every constant to the top of the graph, merging equal ones.

    Before::

        %y : Tensor = aten::add(%x, %c1, %c1)
        %c1.2 : int = prim::Constant[value=1]()   (inside a loop body, say)

    After: one ``%c1 : int = prim::Constant[value=1]()`` at the top, used by both.
    """
    log = log if log is not None else PassLog()
    seen: Dict[Tuple[Any, ...], Value] = {}
    changed = False
    first = graph.block.param_node.next
    anchor: Node = first  # type: ignore[assignment]
    pooled: List[Node] = []

    def visit(block: Block) -> None:
        nonlocal changed
        for node in block.nodes:
            for b in node.blocks:
                visit(b)
            if node.kind != "prim::Constant":
                continue
            key = _constant_key(node)
            if key is None:
                continue
            existing = seen.get(key)
            if existing is not None:
                node.output().replace_all_uses_with(existing)
                node.destroy()
                changed = True
                continue
            seen[key] = node.output()
            pooled.append(node)

    visit(graph.block)
    # Move the survivors, in first-seen order, to the top of the graph.
    position = graph.block.param_node
    for node in pooled:
        if node.prev is not position:
            node.move_after(position)
            changed = True
        position = node
    if changed:
        log.note(f"{len(pooled)} distinct constants at the top of the graph")
    del anchor
    return changed
