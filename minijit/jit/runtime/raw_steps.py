"""How a raw plan runs each node on NumPy arrays (Note [Plan steps] in ``plan.py``).

A raw plan's registers hold arrays, never Tensors.  For each node, :func:`raw_handler` gives
the function the plan's line calls: a registry op's ``impl`` with the dispatcher's dtype
promotion replayed from a memo, a module attribute read, or, for anything else, the
interpreter's handler with arrays shown to it as Tensors.  Where shape analysis knows every
operand of a small node, :func:`direct_call` lets the line call the op's kernel with no
handler at all (checked once, at plan build, on probe arrays).  :func:`raw_capable` says
whether a whole graph can run this way; :func:`to_raw` and :func:`from_raw` cross the
boundary between Tensors and arrays.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ... import dtypes as _dt
from ..._tensor import Tensor
from ...ops import dispatch as _dispatch
from ...ops.registry import OpInfo, Tag
from ..ir.graph import Block, Graph, Node
from ..passes.shape_analysis import Meta, pointwise_dtypes
from . import interpreter as _interp

__all__ = ["raw_handler", "direct_call", "scalar_read", "raw_capable", "to_raw", "from_raw",
           "tensor_op_of", "has_scalar_overloads", "DIRECT_MAX_ELEMENTS"]

_ndarray = np.ndarray
_new = object.__new__


# ---- raw-array handlers --------------------------------------------------------------------------
def _wrap(x: Any) -> Any:
    return Tensor._from_array(x) if type(x) is _ndarray else x


def _tensor_fallback(op: OpInfo, values: Sequence[Any]) -> Any:
    """Run ``op`` the eager way on Tensors: the result, or PyTorch's exact error."""
    bound = [_wrap(v) if type(v) is _ndarray else
             [_wrap(i) for i in v] if isinstance(v, list) else v for v in values]
    out = _dispatch.apply(op, bound)
    return to_raw(out)


def _convert_scalar(value: Any, compute: Any) -> Any:
    from ...ops.dispatch import scalar_operand
    return scalar_operand(value, compute)


def _raw_pointwise(op: OpInfo, node: Node) -> Callable:
    """``op`` on arrays with the dispatcher's promotion (Note [Dispatch]), memoised per
    operand dtypes so a call costs a dictionary lookup before the kernel runs."""
    impl = op.impl
    n = len(node.inputs)
    indices = op.operand_indices_for_len.get(n, ())
    schema = op.schema_for_len.get(n, op.schema)
    scalar_arg = {i for i in indices if not schema.arguments[i].is_tensor}
    memo: Dict[Tuple[Any, ...], Any] = {}
    unsupported = object()

    def prepare(values: Sequence[Any]) -> Any:
        bound = []
        for i, v in enumerate(values):
            if type(v) is _ndarray and i in indices:
                if i in scalar_arg:
                    bound.append(v.item())
                else:
                    bound.append(Meta(_dt.from_numpy_dtype(v.dtype), v.shape))
            else:
                bound.append(v)
        try:
            compute, result = pointwise_dtypes(op, bound)
        except Exception:  # noqa: BLE001 - let the eager path raise the error
            return unsupported
        convs = []
        for i in indices:
            v = values[i]
            if type(v) is _ndarray:
                if i in scalar_arg:
                    convs.append((i, "item", compute))
                elif v.dtype != compute.np:
                    convs.append((i, "cast", compute.np))
            elif isinstance(v, (bool, int, float)):
                convs.append((i, "scalar", compute))
        return tuple(convs), result.np

    def finish(r: Any, result: Any) -> Any:
        if type(r) is not _ndarray:
            r = np.asarray(r)
        if r.dtype != result:
            r = r.astype(result)
        return r

    static = _static_conversions(op, node, indices, scalar_arg)
    if static is not None:
        # Shape analysis knows every operand's dtype: the conversions are fixed, and
        # constant operands are converted once, here.
        casts, fixed, result = static
        if not casts and not fixed:
            def run_static(*values: Any) -> Any:
                try:
                    r = impl(np, *values)
                except Exception:  # noqa: BLE001 - eager raises PyTorch's message
                    return _tensor_fallback(op, values)
                return finish(r, result)
            return run_static

        def run_fixed(*values: Any) -> Any:
            args = list(values)
            for i, d, how in casts:
                v = args[i]
                args[i] = v.astype(d) if how == "cast" else _convert_scalar(
                    v.item() if how == "item" else v, d)
            for i, v in fixed:
                args[i] = v
            try:
                r = impl(np, *args)
            except Exception:  # noqa: BLE001
                return _tensor_fallback(op, values)
            return finish(r, result)
        return run_fixed

    def run(*values: Any) -> Any:
        key = tuple([(v.dtype, v.ndim) if type(v) is _ndarray else type(v)
                     for v in values])
        entry = memo.get(key)
        if entry is None:
            entry = memo[key] = prepare(values)
        if entry is unsupported:
            return _tensor_fallback(op, values)
        convs, result = entry
        args = values
        if convs:
            args = list(values)
            for i, how, d in convs:
                v = args[i]
                if how == "cast":
                    args[i] = v.astype(d)
                elif how == "item":
                    args[i] = _convert_scalar(v.item(), d)
                else:
                    args[i] = _convert_scalar(v, d)
        try:
            r = impl(np, *args)
        except Exception:  # noqa: BLE001 - eager raises PyTorch's message
            return _tensor_fallback(op, values)
        return finish(r, result)
    return run


def _static_conversions(op: OpInfo, node: Node, indices: Sequence[int], scalar_arg: Any
                        ) -> Optional[Tuple[list, list, Any]]:
    """The operand conversions of a pointwise node whose operand types are all known from
    shape analysis: ``(casts, fixed constants, result dtype)``, or None."""
    from ..ir.types import TensorType
    from ..passes.pass_manager import constant_value
    bound: List[Any] = []
    kinds: List[Any] = []
    for i, v in enumerate(node.inputs):
        ok, value = constant_value(v)
        t = v.type
        if ok and not hasattr(value, "shape"):
            bound.append(value)
            kinds.append(("const", value))
        elif isinstance(t, TensorType):
            if t.dtype is None or not hasattr(t.dtype, "np") or t.sizes is None or ok:
                return None
            bound.append(t.dtype.np.type(0).item() if i in scalar_arg else Meta(t.dtype, t.sizes))
            kinds.append(("tensor", t.dtype.np))
        elif t.kind in ("int", "float", "bool") and i in indices:
            bound.append({"int": 1, "float": 1.0, "bool": True}[t.kind])
            kinds.append(("scalar", None))
        elif i in indices:
            return None
        else:
            bound.append(None)
            kinds.append(("other", None))
    try:
        compute, result = pointwise_dtypes(op, bound)
    except Exception:  # noqa: BLE001
        return None
    casts, fixed = [], []
    for i in indices:
        kind, info = kinds[i]
        if kind == "const":
            if isinstance(info, (bool, int, float)):
                fixed.append((i, _convert_scalar(info, compute)))
        elif kind == "tensor":
            if i in scalar_arg:
                casts.append((i, compute, "item"))
            elif info != compute.np:
                casts.append((i, compute.np, "cast"))
        elif kind == "scalar":
            casts.append((i, compute, "scalar"))
    return casts, fixed, result.np


def _raw_other(op: OpInfo, node: Node) -> Callable:
    impl = op.impl
    schema = op.schema_for_len.get(len(node.inputs), op.schema)
    returns = schema.returns

    def convert(kind: str, r: Any) -> Any:
        if kind == "Tensor":
            return r if type(r) is _ndarray else np.asarray(r)
        if kind == "Tensor[]":
            return [x if type(x) is _ndarray else np.asarray(x) for x in r]
        return r

    if len(returns) == 1:
        kind = returns[0]

        def run(*values: Any) -> Any:
            try:
                r = impl(np, *values)
            except Exception:  # noqa: BLE001
                return _tensor_fallback(op, values)
            return convert(kind, r)
        return run

    def run_many(*values: Any) -> Any:
        try:
            rs = impl(np, *values)
        except Exception:  # noqa: BLE001
            return _tensor_fallback(op, values)
        return tuple(convert(k, r) for k, r in zip(returns, rs))
    return run_many


def _raw_op(op: OpInfo, node: Node) -> Callable:
    if Tag.POINTWISE in op.tags and len(op.schema_for_len.get(len(node.inputs),
                                                             op.schema).returns) == 1:
        return _raw_pointwise(op, node)
    return _raw_other(op, node)


# Direct calls (Note [Plan steps]): for small tensors the handler's own Python (a try, a
# dtype memo, a result check) costs as much as the NumPy call, so when shape analysis knows
# everything about a node, the checks are done once, here, by calling the op on probe arrays
# of the node's exact shapes and dtypes, and the plan's line calls the op's ``impl`` itself.
DIRECT_MAX_ELEMENTS = 1 << 16
_SCALAR_READS = {"aten::Bool": "bool", "aten::Int": "int", "aten::Float": "float"}
_NOT_DIRECT = frozenset({Tag.INPLACE, Tag.RANDOM, Tag.COMPOSITE, Tag.UNINITIALIZED, Tag.SCALAR})


def _known_small(t: Any) -> bool:
    from ..ir.types import TensorType
    if not isinstance(t, TensorType) or t.sizes is None or None in t.sizes:
        return False
    if t.dtype is None or not hasattr(t.dtype, "np"):
        return False
    return int(np.prod(t.sizes, dtype=np.int64)) <= DIRECT_MAX_ELEMENTS


def scalar_read(node: Node) -> Optional[str]:
    """``bool``/``int``/``float`` for ``aten::Bool``/``Int``/``Float`` of a 0-dim tensor of
    known type, which a raw plan writes as that Python conversion of the array."""
    conv = _SCALAR_READS.get(node.kind)
    if conv is None or len(node.inputs) != 1:
        return None
    t = node.inputs[0].type
    return conv if _known_small(t) and t.sizes == () else None


def direct_call(node: Node) -> Optional[Tuple[Callable, List[Tuple[bool, Any]], bool]]:
    """``(impl, arguments, wrap)`` when a raw plan may call the op's ``impl`` directly:
    arguments are ``(True, value)`` for a constant to pass, ``(False, None)`` for the node's
    input; ``wrap`` when the result must be made an array (NumPy gives 0-dim results as
    scalars).  None when anything is unknown, the tensors are large (then the handler's cost
    is noise), an operand is not a float or bool tensor (integer indices can be out of range
    at run time, and only the handler words that error as PyTorch does) or a dtype
    conversion is needed."""
    from ..ir.types import TensorType
    from ..passes.pass_manager import constant_value
    op = tensor_op_of(node)
    if op is None or op.tags & _NOT_DIRECT or len(node.outputs) != 1:
        return None
    if node.schema is None and has_scalar_overloads(node.kind):
        return None
    schema = op.schema_for_len.get(len(node.inputs), op.schema)
    out_t = node.output().type
    if len(schema.returns) != 1 or schema.returns[0] != "Tensor" or not _known_small(out_t):
        return None
    args: List[Tuple[bool, Any]] = []
    probes: List[Any] = []
    for v in node.inputs:
        ok, value = constant_value(v)
        if ok:
            if isinstance(value, (Tensor, _ndarray)):
                return None
            args.append((True, value))
            probes.append(value)
        elif isinstance(v.type, TensorType):
            t = v.type
            if not _known_small(t) or not (t.dtype.is_floating_point or t.dtype.name == "bool"):
                return None
            args.append((False, None))
            probes.append(_probe(t))
        else:
            return None
    if op.is_pointwise:
        n = len(node.inputs)
        indices = op.operand_indices_for_len.get(n, ())
        scalar_arg = {i for i in indices if not schema.arguments[i].is_tensor}
        static = _static_conversions(op, node, indices, scalar_arg)
        if static is None or static[0]:
            return None
        for i, value in static[1]:
            args[i] = (True, value)
            probes[i] = value
    try:
        with np.errstate(all="ignore"):
            r = op.impl(np, *probes)
    except Exception:  # noqa: BLE001 - the handler will word the error
        return None
    wrap = isinstance(r, np.generic)
    if wrap:
        r = np.asarray(r)
    elif type(r) is not _ndarray:
        return None
    if r.dtype != out_t.dtype.np or r.shape != tuple(out_t.sizes):
        return None
    return _specialised(op, probes, r, wrap), args, wrap


def _probe(t: Any) -> Any:
    """An array of type ``t`` holding varied values (not all ones: a specialised kernel that
    mixed up two arguments would still agree with the general one on ones)."""
    values = np.random.default_rng(len(t.sizes)).standard_normal(t.sizes)
    return values > 0 if t.dtype.name == "bool" else np.asarray(values, t.dtype.np)


def _specialised(op: OpInfo, probes: List[Any], expected: Any, wrap: bool) -> Callable:
    """``op.specialise`` for these arguments if it gives exactly what ``op.impl`` gave on
    the probes, else ``op.impl``: a specialisation is checked before it is trusted."""
    if op.specialise is None:
        return op.impl
    try:
        fast = op.specialise(*probes)
        if fast is None:
            return op.impl
        with np.errstate(all="ignore"):
            r = fast(np, *probes)
    except Exception:  # noqa: BLE001 - the general kernel then
        return op.impl
    if wrap != isinstance(r, np.generic):
        return op.impl
    r = np.asarray(r)
    if r.dtype != expected.dtype or r.shape != expected.shape or \
            not np.array_equal(r, expected, equal_nan=r.dtype.kind in "fc"):
        return op.impl
    return fast


_MISSING = object()


def _raw_getattr(node: Node) -> Callable:
    """``getattr`` for a plan: a module's parameters, buffers and submodules are read from
    its dictionaries (``nn.Module.__getattr__`` costs a microsecond per attribute; a plan
    reads the module tree on every call)."""
    name = node.attrs["name"]

    def run(obj: Any) -> Any:
        d = getattr(obj, "__dict__", None)
        v = _MISSING if d is None else d.get(name, _MISSING)
        if v is _MISSING and d is not None:
            for store in ("_parameters", "_buffers", "_modules"):
                table = d.get(store)
                if table is not None and name in table:
                    v = table[name]
                    break
        if v is _MISSING:
            v = getattr(obj, name)
        return v._data if isinstance(v, Tensor) else v
    return run


def _bridge(node: Node) -> Tuple[Callable, bool]:
    """Any other node on raw values: its interpreter handler, with arrays shown to it as
    Tensors and Tensors it returns unwrapped (``aten::size``, ``aten::Int``, list ops...).

    Many of these handlers work on arrays as they are (``bool(t)``, ``len(t)``), and wrapping
    costs a microsecond or two per call.  So the first call with arrays runs both ways; if
    the handler gives the same Python number either way, later calls skip the wrapping.
    (Not when it differs: NumPy arrays have a ``.device`` that is a string, not a device.)
    """
    run = _interp.handler_for(node)
    if len(node.outputs) == 1:
        direct: List[Optional[bool]] = [None]

        def one(*values: Any) -> Any:
            if direct[0]:
                return run(list(values))[0]
            out = to_raw(run([_new_tensor(v) if type(v) is _ndarray else v
                              for v in values])[0])
            if direct[0] is None and any(type(v) is _ndarray for v in values):
                direct[0] = False
                if type(out) in (bool, int, float, str):
                    try:
                        plain = run(list(values))[0]
                        direct[0] = type(plain) is type(out) and plain == out
                    except Exception:  # noqa: BLE001 - then it needs Tensors
                        pass
            return out
        return one, False

    def many(*values: Any) -> Tuple[Any, ...]:
        outs = run([_new_tensor(v) if type(v) is _ndarray else v for v in values])
        return tuple(to_raw(o) for o in outs)
    return many, True


def _new_tensor(a: Any) -> Tensor:
    t = _new(Tensor)
    t._data = a
    return t


def has_scalar_overloads(kind: str) -> bool:
    from ...ops.registry import ops_for_kind
    return any(Tag.SCALAR in op.tags for op in ops_for_kind(kind))


def tensor_op_of(node: Node) -> Optional[OpInfo]:
    """The tensor (non-scalar) registry op a node runs, when that is certain."""
    from ..passes.pass_manager import op_of
    op = op_of(node)
    if op is None or Tag.SCALAR in op.tags:
        return None
    return op


def raw_handler(node: Node) -> Tuple[Callable, bool]:
    """How a node runs in a raw plan (Note [Plan steps])."""
    if node.kind == "prim::GetAttr":
        return _raw_getattr(node), False
    op = tensor_op_of(node)
    if op is None:
        return _bridge(node)
    multi = len(op.schema_for_len.get(len(node.inputs), op.schema).returns) > 1
    run = _raw_op(op, node)
    if node.schema is None and has_scalar_overloads(node.kind):
        # ``aten::add`` of a traced or parsed graph may be tensor or int arithmetic: decide
        # from the values, as the interpreter does.
        fallback, _ = _bridge(node)

        def either(*values: Any) -> Any:
            for v in values:
                if type(v) is _ndarray:
                    return run(*values)
            return fallback(*values)
        return either, multi
    return run, multi


_NOT_RAW = frozenset({"prim::SetAttr", "prim::CallMethod", "prim::CallFunction",
                      "prim::PythonOp"})


def raw_capable(graph: Graph) -> Optional[str]:
    """None if every node of ``graph`` can run on raw arrays, else the first reason not.

    In-place tensor ops must bump version counters, and calls and ``SetAttr`` hand values to
    code that expects Tensors, so those need a tensor plan.
    """
    from ...ops.registry import ops_for_kind

    def check(block: Block) -> Optional[str]:
        for node in block.nodes:
            kind = node.kind
            for b in node.blocks:
                why = check(b)
                if why:
                    return why
            if kind in _NOT_RAW:
                return f"{kind} needs Tensors"
            op = tensor_op_of(node)
            if op is not None and Tag.INPLACE in op.tags:
                return f"{kind} writes in place"
            if kind in ("prim::Constant", "prim::If", "prim::Loop", "prim::FusionGroup"):
                continue
            if kind not in _interp.HANDLERS and not ops_for_kind(kind):
                return f"{kind} is unknown"
        return None
    return check(graph.block)


# ---- crossing the raw boundary -------------------------------------------------------------------
def to_raw(x: Any) -> Any:
    """Tensors → arrays, recursively through lists and tuples."""
    if isinstance(x, Tensor):
        return x._data
    if type(x) in (list, tuple):
        return type(x)(to_raw(v) for v in x)
    return x


def from_raw(x: Any, inputs: Dict[int, Any]) -> Any:
    """Arrays → Tensors (an input's own array gives back the input Tensor itself)."""
    if type(x) is _ndarray:
        t = inputs.get(id(x))
        if t is not None:
            return t
        t = _new(Tensor)
        t._data = x
        return t
    if isinstance(x, np.generic):
        t = _new(Tensor)
        t._data = np.asarray(x)
        return t
    if type(x) in (list, tuple):
        return type(x)(from_raw(v, inputs) for v in x)
    return x
