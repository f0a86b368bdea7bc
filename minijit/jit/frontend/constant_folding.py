"""Running a node at compile time when all its inputs are constants.

Used in two places, as in TorchScript: the emitter folds ``-1`` into a constant as soon as it
emits ``aten::neg(1)``, and the cleanup pass "constant propagation on immutable types" folds
scalar arithmetic, tuple construction and ``if`` nodes with a constant condition (which is how
``"AssertionError: " + "msg"`` becomes one string constant).

Only values that cannot be mutated are folded: numbers, bools, strings, ``None``, devices and
tuples of those.  Tensors, lists and dicts never are (another node might change them), and
neither are ops with side effects or random results.  Scalar ops run their registry ``impl``
(``ops/scalar.py``) on the constant Python values.
"""
from __future__ import annotations

from typing import Any, List, Optional

from ...ops.registry import Tag, ops_for_kind
from ..ir.graph import Node, Value
from ..ir.types import IRType

__all__ = ["fold_node", "is_mutable_type", "constant_of"]

_NOT_FOLDED = {"prim::If", "prim::Loop", "prim::Closure", "prim::Constant",
               "prim::Uninitialized", "prim::unchecked_unwrap_optional", "prim::RaiseException",
               "prim::Print", "prim::CallFunction", "prim::CallMethod", "prim::PythonOp",
               "prim::ListConstruct", "prim::DictConstruct", "prim::GetAttr", "prim::SetAttr",
               "prim::Load", "prim::Store", "prim::isinstance", "prim::EmptyListLiteral"}
_MISSING = object()


def is_mutable_type(t: IRType) -> bool:
    """Tensors, lists, dicts and objects can change under a value; numbers cannot."""
    if t.kind in ("Tensor", "List", "Dict", "Class", "Any", "Generator"):
        return True
    return any(is_mutable_type(c) for c in t.contained_types())


def constant_of(v: Value) -> Any:
    """The Python value of a ``prim::Constant`` output (``None`` constant → None), else
    ``_MISSING``."""
    node = v.node
    if node.kind != "prim::Constant" or v.type.kind == "Function":
        return _MISSING
    return node.attrs.get("value")


def _schema_op(node: Node) -> Any:
    for op in ops_for_kind(node.kind):
        if node.schema is not None and node.schema in op.schemas:
            return op
    return None


def fold_node(node: Node) -> Optional[List[Any]]:
    """The outputs of ``node`` computed now, or None if it cannot (or must not) be folded."""
    if node.kind in _NOT_FOLDED or node.blocks:
        return None
    if any(is_mutable_type(v.type) for v in list(node.inputs) + list(node.outputs)):
        return None
    values = []
    for v in node.inputs:
        c = constant_of(v)
        if c is _MISSING:
            return None
        values.append(c)
    kind = node.kind
    if kind == "prim::TupleConstruct":
        return [tuple(values)]
    if kind == "prim::TupleUnpack":
        return list(values[0])
    if kind == "prim::TupleIndex":
        return [values[0][values[1]]]
    op = _schema_op(node)
    if op is None or Tag.SCALAR not in op.tags or not node.outputs:
        return None             # (an op with no outputs runs for its effect: ``aten::warn``)
    try:
        result = op.impl(None, *values)
    except Exception:  # noqa: BLE001 - a failing op is simply not folded (it fails at run time)
        return None
    if len(node.outputs) == 1:
        return [result]
    return list(result)
