"""Peephole rules: small local rewrites that make the graph simpler without changing results.

Each rule looks at one node (and the node producing its input) and replaces the node's output
by a simpler value; dead-code elimination removes what is left.  Before::

    %2 : int = prim::Constant[value=1]()
    %3 : Float(3, 4) = aten::mul(%x, %2)
    %4 : Float(3, 4) = aten::neg(%3)
    %5 : Float(3, 4) = aten::neg(%4)
    return (%5)

After::

    return (%x)

The rules, each guarded so that the result is exactly what the original computes:

* ``x * 1``, ``x + 0`` (any ``alpha``), ``x - 0``, ``x / 1``: only when the number is a
  constant (a Python number, or the 0-dim tensor a trace records) and the dtype of ``x``
  is known and unchanged by the op (``int_tensor * 1.``
  would make floats, ``bool_tensor * 1`` longs), so the type promotion rules are respected;
* ``-(-x)``: when ``x`` is known not to be a bool tensor (negating bools raises);
* ``aten::Bool(b)`` of a ``bool``, ``aten::Int(i)`` of an ``int``, ``aten::Float(f)`` of a
  ``float``: the conversion is the identity;
* ``prim::TupleUnpack(prim::TupleConstruct(a, b))`` → ``a, b``, and ``prim::TupleIndex`` of a
  ``TupleConstruct`` by a constant index;
* shape facts known from the signature (run shape analysis first): ``aten::size(x, d)``,
  ``aten::dim(x)``, ``prim::dtype(x)`` and ``prim::device(x)`` become constants, which is what
  lets constant propagation and loop unrolling see ``for i in range(xs.size(0))``.

Operators are recognised by their registry schema (argument names and the POINTWISE tag), not
by name: "an argument called ``other`` that is 0 in an op whose result equals ``self``" is
described through the op's *identity element*, read from how the op treats ``(self, c)``.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ... import dtypes as _dt
from ...ops.registry import Tag
from ..ir.graph import Graph, Block, Node, Value
from ..ir.types import TensorType
from .pass_manager import PassLog, constant_value, node_text, op_of

__all__ = ["peephole", "identity_operand"]


class _Operand:
    """A stand-in for a tensor of known dtype and rank, for ``dtypes.result_type``."""

    def __init__(self, dtype: Any, ndim: int):
        self.dtype, self.ndim = dtype, ndim


_FLOAT_SAMPLES = [0.0, -0.0, 1.5, -2.25, 3.0, 7.0, 1e-30, 1e30, -1e30, float("inf"),
                  float("-inf"), float("nan")]
_INT_SAMPLES = [0, 1, 2, 5, 7, -3, 1 << 40, -(1 << 40)]


def _probe(op: Any, dtype: Any, args: list) -> bool:
    """Does ``op(x, *args)`` give back ``x`` for probe arrays of ``dtype``?

    The op's own NumPy kernel runs on sample values that include extremes (±inf, nan, huge
    numbers), so ``minimum(x, 10)`` or ``remainder(x, inf)`` are caught; the answer is yes only
    when the dtype and every element come back equal (``-0.`` may become ``0.``).
    """
    values = _FLOAT_SAMPLES if dtype.is_floating_point else _INT_SAMPLES
    if dtype.category == _dt.BOOL:
        return False
    with np.errstate(all="ignore"):
        sample = np.array(values, dtype=np.float64).astype(dtype.np)
        try:
            out = np.asarray(op.impl(np, sample, *args))
        except Exception:  # noqa: BLE001
            return False
    if out.dtype != sample.dtype or out.shape != sample.shape:
        return False
    return bool(np.array_equal(out, sample, equal_nan=dtype.is_floating_point))


def identity_operand(node: Node) -> Optional[Value]:
    """The input ``x`` if ``node`` computes ``op(x, c)`` and ``c`` is an identity for ``op``.

    ``c`` must be a Python number constant, ``x`` a tensor of known dtype, and the registry
    op's kernel must return ``x`` unchanged for ``c`` (probed once on sample values), with the
    promoted dtype equal to ``x``'s (so ``int_tensor * 1.`` is left alone).
    """
    op = op_of(node)
    if op is None or Tag.POINTWISE not in op.tags or len(node.inputs) < 2:
        return None
    schema = op.schema_for_len.get(len(node.inputs))
    if schema is None or [a.name for a in schema.arguments[:2]] != ["self", "other"]:
        return None
    x, c = node.inputs[0], node.inputs[1]
    ok, number = constant_value(c)
    operand: Any = number
    if ok and hasattr(number, "shape") and tuple(number.shape) == ():
        # A traced ``x + 0`` holds a 0-dim tensor constant (``{0}``): it promotes as a 0-dim
        # tensor of its dtype, and its value is the number.
        arr = np.asarray(getattr(number, "_data", number))
        operand = _Operand(_dt.from_numpy_dtype(arr.dtype), 0)
        number = arr.item()
    if not ok or isinstance(number, bool) or not isinstance(number, (int, float)):
        return None
    t = x.type
    if not isinstance(t, TensorType) or t.dtype is None or not hasattr(t.dtype, "np") \
            or t.dim is None:
        return None
    args = [number]
    for extra in node.inputs[2:]:            # alpha and friends must be constants too
        ok, value = constant_value(extra)
        if not ok:
            return None
        args.append(value)
    common = _dt.result_type(_Operand(t.dtype, t.dim), operand)
    rule = op.dtype_rule
    try:
        _, result = rule(common, None) if rule is not None else (common, common)
    except Exception:  # noqa: BLE001
        return None
    if result is not t.dtype or common is not t.dtype:
        return None
    if not _probe(op, t.dtype, args):
        return None
    return x


def _is_self_inverse_pair(node: Node) -> Optional[Value]:
    """``f(f(x))`` with ``f`` a unary op whose kernel undoes itself (``neg``): returns ``x``."""
    op = op_of(node)
    if op is None or Tag.POINTWISE not in op.tags or len(node.inputs) != 1:
        return None
    inner = node.inputs[0].node
    if inner.kind != node.kind or len(inner.inputs) != 1:
        return None
    x = inner.inputs[0]
    t = x.type
    if not isinstance(t, TensorType) or t.dtype is None or not hasattr(t, "dtype") \
            or not getattr(t.dtype, "is_floating_point", False):
        return None
    sample = _inverse_samples(t.dtype.np)
    try:
        with np.errstate(all="ignore"):
            once = np.asarray(op.impl(np, sample))
            twice = np.asarray(op.impl(np, once))
    except Exception:  # noqa: BLE001
        return None
    if twice.dtype == sample.dtype and bool(np.array_equal(twice, sample, equal_nan=True)) \
            and not bool(np.array_equal(once, sample, equal_nan=True)):
        return x
    return None


def _inverse_samples(np_dtype: Any) -> np.ndarray:
    """Many values across magnitudes and signs (fixed seed): an op that is its own inverse on
    all of them *exactly* (``neg``) passes, rounding ones (``reciprocal``) do not."""
    rng = np.random.default_rng(0)
    mags = 10.0 ** rng.uniform(-30, 30, 512)
    signs = np.where(rng.random(512) < 0.5, -1.0, 1.0)
    extra = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1.0, 3.0, 0.1]
    return np.concatenate([mags * signs, extra]).astype(np_dtype)


def _conversion_identity(node: Node) -> Optional[Value]:
    """``aten::Bool(b : bool)``, ``aten::Int(i : int)``, ``aten::Float(f : float)``."""
    if len(node.inputs) != 1 or len(node.outputs) != 1 or node.kind.startswith("prim::"):
        return None
    src = node.inputs[0]
    out_kind = node.output().type.kind
    if out_kind in ("bool", "int", "float") and src.type.kind == out_kind and \
            node.kind.rsplit("::", 1)[1].lower() == out_kind:
        return src
    return None


def _tuple_rewrite(node: Node) -> bool:
    if node.kind == "prim::TupleUnpack":
        src = node.inputs[0].node
        if src.kind == "prim::TupleConstruct" and len(src.inputs) == len(node.outputs):
            for out, v in zip(node.outputs, src.inputs):
                out.replace_all_uses_with(v)
            return True
    if node.kind == "prim::TupleIndex":
        src = node.inputs[0].node
        ok, index = constant_value(node.inputs[1])
        if src.kind == "prim::TupleConstruct" and ok and isinstance(index, int) and \
                -len(src.inputs) <= index < len(src.inputs):
            node.output().replace_all_uses_with(src.inputs[index])
            return True
    return False


def _shape_fact(node: Node) -> Any:
    """A constant that ``node`` must produce given the tensor type of its first input."""
    if not node.inputs:
        return None
    t = node.inputs[0].type
    if not isinstance(t, TensorType):
        return None
    kind = node.kind
    if kind == "aten::dim" and t.dim is not None and len(node.inputs) == 1:
        return ("int", t.dim)
    if kind == "aten::size" and len(node.inputs) == 2 and t.sizes is not None:
        ok, d = constant_value(node.inputs[1])
        if ok and isinstance(d, int) and -len(t.sizes) <= d < len(t.sizes) and \
                t.sizes[d] is not None:
            return ("int", t.sizes[d])
    if kind == "prim::dtype" and t.dtype is not None and hasattr(t.dtype, "code"):
        return ("int", t.dtype.code)
    return None


def _rewrite_block(graph: Graph, block: Block, log: PassLog) -> bool:
    changed = False
    for node in block.nodes:
        for b in node.blocks:
            changed |= _rewrite_block(graph, b, log)
        if not node.outputs or not any(o.uses for o in node.outputs):
            continue
        if _tuple_rewrite(node):
            log.note(f"{node_text(node)}: took the values from prim::TupleConstruct")
            changed = True
            continue
        fact = _shape_fact(node)
        if fact is not None:
            with graph.insert_point(node):
                const = graph.insert_constant(fact[1])
            log.note(f"{node_text(node)}  ->  {fact[1]} (known from the input types)")
            node.output().replace_all_uses_with(const)
            changed = True
            continue
        replacement = (_conversion_identity(node) or identity_operand(node)
                       or _is_self_inverse_pair(node))
        if replacement is not None and len(node.outputs) == 1:
            out = node.output()
            if isinstance(out.type, TensorType) and not isinstance(replacement.type, TensorType):
                continue
            log.note(f"{node_text(node)}  ->  %{replacement.debug_name}")
            out.replace_all_uses_with(replacement)
            changed = True
    return changed


def peephole(graph: Graph, log: Optional[PassLog] = None) -> bool:
    """Apply the rules (module docstring) everywhere until nothing changes; then drop the
    nodes they made dead.  Returns True if anything changed."""
    from .dce import eliminate_dead_code
    log = log if log is not None else PassLog()
    changed = False
    while _rewrite_block(graph, graph.block, log):
        changed = True
    if changed:
        eliminate_dead_code(graph)
    return changed
