"""The single dispatch point: every op call in minijit passes through :func:`apply`.

Note [Dispatch]
    ``apply(op, bound_args)`` is the one place where

    1. arguments are checked and unwrapped (Tensor → array of its backend),
    2. pointwise operands are promoted to the result dtype (PyTorch's rules, ``dtypes.py``),
    3. the registry's ``impl(xp, ...)`` runs on NumPy or CuPy,
    4. results are wrapped into Tensors,
    5. a ``grad_fn`` is attached when grad mode is on and an input requires grad
       (Note [Autograd tape] in ``autograd/graph.py``; the recording is ``tape.py``),
    6. the tracer, when active, records an IR node (``jit/frontend/tracer.py``).

    Because there is exactly one such place, tracing, autograd and the backends cannot drift
    apart: the tracer sees precisely the ops that ran.

    :func:`fast_path.fast_entry` builds, per pointwise op, a shortcut for the overwhelmingly common call
    (NumPy arrays of one dtype, or a tensor and a Python number; no tracer; no gradient): it
    calls the same ``impl`` and gives the same result, and hands every other call to
    :func:`apply`.  It exists only to keep eager overhead near a raw NumPy call.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import GRAD_MODE
from .registry import OpInfo, Tag
from .schema import Schema
from .tape import attach_grad_fn, share_version, write_inplace

__all__ = ["apply", "call", "bind", "TRACE_STATE", "OpError"]

class _TraceState:
    """Holds the active tracer (``None`` when not tracing); read on every dispatch."""

    tracer: Any = None


TRACE_STATE = _TraceState()
Tensor: Any = None   # set by minijit._tensor to break the import cycle
_new = object.__new__
_ndarray = np.ndarray


def _quiet_errstate() -> Tuple[Any, Any]:
    """(context variable, value) that silence NumPy's floating-point warnings.

    PyTorch returns inf and nan silently (``log(0)``, ``inf - inf``); NumPy warns.  Setting
    NumPy's error-state context variable around a kernel costs ~0.1 µs, against ~1 µs for
    ``np.errstate``.  NumPy versions without the variable get ``np.errstate`` instead.
    """
    try:
        from numpy._core import _ufunc_config
        var = _ufunc_config._extobj_contextvar
        with np.errstate(all="ignore"):
            return var, var.get()
    except (ImportError, AttributeError):  # pragma: no cover - older NumPy
        return None, None


ERRSTATE_VAR, QUIET = _quiet_errstate()


def quietly(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` with NumPy's floating-point warnings off (see :func:`_quiet_errstate`)."""
    if ERRSTATE_VAR is None:  # pragma: no cover - older NumPy
        with np.errstate(all="ignore"):
            return fn(*args)
    token = ERRSTATE_VAR.set(QUIET)
    try:
        return fn(*args)
    finally:
        ERRSTATE_VAR.reset(token)


def run_kernel(op: OpInfo, xp: Any, values: Sequence[Any]) -> Any:
    """``op.impl(xp, *values)`` with NumPy's floating-point warnings off."""
    return quietly(op.impl, xp, *values)


# ---- binding ----------------------------------------------------------------------------------
def bind(op: OpInfo, args: Sequence[Any], kwargs: Dict[str, Any]) -> List[Any]:
    """Bind a Python call to one of the op's schemas: one value per argument, defaults filled.

    ``schemas[0]`` is tried first; the other overloads (``div(x, y, rounding_mode=...)``) are
    tried when it does not fit.  The bound length tells later layers which overload ran.
    Errors read like PyTorch's argument-parser errors, naming the op.
    """
    if not kwargs:
        tail = op.fast_bind.get(len(args))
        if tail is not None:
            return [*args, *tail]
    try:
        return _bind_schema(op, op.schema, args, dict(kwargs))
    except TypeError as first_error:
        for other in op.schemas[1:]:
            try:
                return _bind_schema(op, other, args, dict(kwargs))
            except TypeError:
                continue
        raise first_error from None


def _accepts(arg: Any, value: Any) -> bool:
    """A coarse type check, enough to choose between overloads (``max(x, 1)`` vs ``max(x, y)``)."""
    t = arg.type.rstrip("?")
    if value is None:
        return arg.type.endswith("?") or arg.has_default
    if t == "Tensor":
        return isinstance(value, (Tensor, int, float, bool))
    if t in ("int", "SymInt"):
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, Tensor) and value.ndim == 0 and not value.dtype.is_floating_point)
    if t == "bool":
        return isinstance(value, bool)
    if t.startswith("int[") or t.startswith("SymInt["):
        return isinstance(value, (int, list, tuple)) and not isinstance(value, (Tensor, bool))
    if t == "str":
        return isinstance(value, str)
    if t == "Scalar":
        return isinstance(value, (int, float, bool)) or (isinstance(value, Tensor)
                                                         and value.ndim == 0)
    return True


def _bind_schema(op: OpInfo, schema: Schema, args: Sequence[Any],
                 kwargs: Dict[str, Any]) -> List[Any]:
    arguments = schema.arguments
    n = len(args)
    positional = [a for a in arguments if not a.kwarg_only]
    if n > len(positional):
        raise TypeError(f"{op.python_name}() takes {len(positional)} positional arguments but "
                        f"{n} were given")
    bound = list(args)
    for arg in arguments[n:]:
        if arg.name in kwargs:
            bound.append(kwargs.pop(arg.name))
        elif arg.name == "self" and "input" in kwargs:
            bound.append(kwargs.pop("input"))
        elif arg.has_default:
            default = arg.default
            bound.append(list(default) if isinstance(default, list) else default)
        else:
            raise TypeError(f"{op.python_name}() missing required argument '{arg.name}' "
                            f"(schema: {schema.text})")
    if len(op.schemas) > 1:
        for arg, value in zip(arguments, bound):
            if not _accepts(arg, value):
                raise TypeError(f"{op.python_name}(): argument '{arg.name}' must be {arg.type}, "
                                f"not {type(value).__name__}")
    if kwargs:
        name = next(iter(kwargs))
        if any(a.name == name for a in arguments[:n]):
            raise TypeError(f"{op.python_name}() got multiple values for argument '{name}'")
        raise TypeError(f"{op.python_name}() got an unexpected keyword argument '{name}'")
    return bound


def call(op: OpInfo, args: Sequence[Any], kwargs: Optional[Dict[str, Any]] = None) -> Any:
    """Bind then apply: what ``minijit.tanh(x)`` and ``x.tanh()`` run."""
    if not kwargs:
        tail = op.fast_bind.get(len(args))
        if tail is not None:
            return apply(op, [*args, *tail])
    return apply(op, bind(op, args, kwargs or {}))


# ---- unwrapping and promotion -------------------------------------------------------------------
def _devices_error(a: Any, b: Any) -> RuntimeError:
    return RuntimeError("Expected all tensors to be on the same device, but found at least two "
                        f"devices, {b} and {a}!")


def _tensor_indices(op: OpInfo, bound: List[Any]) -> Tuple[int, ...]:
    if len(op.schemas) == 1:
        return op.tensor_arg_indices
    return op.tensor_indices_for_len[len(bound)]


def _unwrap(op: OpInfo, bound: List[Any]) -> Tuple[List[Any], Any, List[Any]]:
    """Replace tensors by arrays; return (values, array module, tensors in order)."""
    values = list(bound)
    tensors: List[Any] = []
    for i in _tensor_indices(op, bound):
        v = values[i]
        if isinstance(v, Tensor):
            tensors.append(v)
            values[i] = v._data
        elif isinstance(v, (list, tuple)):
            items = []
            for item in v:
                if isinstance(item, Tensor):
                    tensors.append(item)
                    items.append(item._data)
                elif item is None or isinstance(item, (int, float, bool)):
                    items.append(item)
                else:
                    raise TypeError(f"{op.python_name}(): expected Tensor as element {len(items)} "
                                    f"in argument '{_schema_of(op, bound).arguments[i].name}', "
                                    f"but got {type(item).__name__}")
            values[i] = items
        elif v is not None and not isinstance(v, (int, float, bool)):
            arg = _schema_of(op, bound).arguments[i]
            raise TypeError(f"{op.python_name}(): argument '{arg.name}' (position {i + 1}) must "
                            f"be {arg.type}, not {type(v).__name__}")
    if not tensors:
        return values, np, tensors
    first = tensors[0]._data
    if type(first) is _ndarray:
        for t in tensors:
            if type(t._data) is not _ndarray:
                raise _devices_error(t.device, tensors[0].device)
        return values, np, tensors
    from ..backends import array_module
    xp = array_module(first)
    dev = tensors[0].device
    for t in tensors:
        if t.device != dev:
            raise _devices_error(t.device, dev)
    return values, xp, tensors


def _unwrap_mixed(op: OpInfo, bound: List[Any]) -> Tuple[List[Any], Any, List[Any]]:
    """Like PyTorch, let CPU 0-dim tensors and CPU index tensors join a CUDA computation."""
    from ..backends import to_device
    cuda = next(t for t in _tensors_of(op, bound) if type(t._data) is not _ndarray)
    moved = list(bound)
    for i in _tensor_indices(op, bound):
        v = bound[i]
        if isinstance(v, Tensor) and type(v._data) is _ndarray and v.ndim == 0:
            moved[i] = v.to(cuda.device)        # (a device copy: gradients still flow)
        elif isinstance(v, (list, tuple)) and _schema_of(op, bound).arguments[i].name == "indices":
            moved[i] = [Tensor._from_array(to_device(t._data, cuda.device))
                        if isinstance(t, Tensor) and type(t._data) is _ndarray else t for t in v]
    return moved


def _tensors_of(op: OpInfo, bound: List[Any]) -> List[Any]:
    found = []
    for i in _tensor_indices(op, bound):
        v = bound[i]
        if isinstance(v, Tensor):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found.extend(t for t in v if isinstance(t, Tensor))
    return found


def _schema_of(op: OpInfo, bound: Sequence[Any]) -> Schema:
    return op.schema_for_len.get(len(bound), op.schema)


def _promote_pointwise(op: OpInfo, bound: List[Any], values: List[Any]) -> Any:
    """Cast tensor operands of a pointwise op to the common dtype; return the result dtype.

    Python numbers stay Python numbers: NumPy treats them as "weak" (NEP 50), exactly as
    PyTorch treats wrapped numbers, once the tensor operands have the computation dtype.
    """
    rule = op.dtype_rule
    indices = op.operand_indices_for_len[len(bound)]
    operands = [bound[i] for i in indices]
    first = operands[0]
    if len(operands) == 1 and isinstance(first, Tensor):
        common = first.dtype
    elif (len(operands) == 2 and isinstance(first, Tensor) and isinstance(operands[1], Tensor)
          and first._data.dtype == operands[1]._data.dtype):
        common = first.dtype
    else:
        common = _dt.result_type(*operands)
    compute, result = rule(common, bound) if rule is not None else (common, common)
    np_compute = compute.np
    for i in indices:
        v = values[i]
        if isinstance(v, Tensor):          # a 0-dim tensor given for a Scalar argument
            v = v.item()
        elif not isinstance(v, (bool, int, float)):
            if v is not None and v.dtype != np_compute:
                values[i] = v.astype(np_compute)
            continue
        values[i] = scalar_operand(v, compute)
    return result


def scalar_operand(value: Any, compute: Any) -> Any:
    """A Python number as an operand of a ``compute``-typed kernel (PyTorch's wrapped number);
    anything else is returned as it is.  The fused kernels convert their constants with it too,
    so they compute exactly what the dispatcher computes."""
    if not isinstance(value, (bool, int, float)):
        return value
    if compute.is_floating_point:
        return float(value) if not isinstance(value, float) else value
    if compute is _dt.bool_:
        return bool(value)
    if isinstance(value, float):
        return value
    return int(value)


# ---- apply --------------------------------------------------------------------------------------
def apply(op: OpInfo, bound: List[Any]) -> Any:
    """Run ``op`` on already-bound arguments (see Note [Dispatch])."""
    if op.is_composite:
        return _apply_composite(op, bound)
    try:
        values, xp, tensors = _unwrap(op, bound)
    except RuntimeError as exc:
        if not str(exc).startswith("Expected all tensors to be on the same device"):
            raise
        moved = _unwrap_mixed(op, bound)
        values, xp, tensors = _unwrap(op, moved)   # raises again if still mixed
        bound[:] = moved
    if TRACE_STATE.tracer is not None:
        _plain_numbers(op, bound, values)
    result_dtype = None
    try:
        if op.is_pointwise:
            result_dtype = _promote_pointwise(op, bound, values)
        raw = run_kernel(op, xp, values)
    except _OpError as exc:
        raise exc.kind(str(exc)) from None
    except (ValueError, TypeError, IndexError) as exc:
        message = _broadcast_message(op, bound) if op.is_pointwise else None
        if message is not None:
            raise RuntimeError(message) from None
        raise RuntimeError(_explain_failure(op, bound, exc)) from exc

    if tensors and raw is values[0] and raw is tensors[0]._data and not op.is_inplace:
        # The kernel gave its input back (contiguous() of a contiguous tensor, flatten of one
        # dim, to() the same device): like PyTorch, return the input tensor itself.
        if TRACE_STATE.tracer is not None:
            TRACE_STATE.tracer.record(op, bound, tensors[0])
        return tensors[0]
    out = _wrap(op, bound, raw, result_dtype, xp)
    if op.is_inplace:
        out = write_inplace(op, bound, out, tensors)
        if TRACE_STATE.tracer is not None:
            TRACE_STATE.tracer.record(op, bound, out)
        return out
    if GRAD_MODE.enabled and op.differentiable and tensors:
        for t in tensors:
            if t.requires_grad:
                attach_grad_fn(op, bound, out)
                break
        else:
            if op.is_view:
                share_version(out, tensors[0])
    elif op.is_view and tensors:
        share_version(out, tensors[0])
    if TRACE_STATE.tracer is not None:
        TRACE_STATE.tracer.record(op, bound, out)
    return out


def _plain_numbers(op: OpInfo, bound: List[Any], values: List[Any]) -> None:
    """While tracing, ``x.size(0)`` is a 0-dim tensor (``Tracer.traced_size``) that may stand
    where an op takes a number (``x.view(x.size(0), -1)``): the kernel gets the number."""
    tensor_positions = _tensor_indices(op, bound)
    for i, v in enumerate(values):
        if i in tensor_positions:
            continue
        if isinstance(v, Tensor):
            values[i] = v._data.item()
        elif isinstance(v, (list, tuple)) and any(isinstance(e, Tensor) for e in v):
            values[i] = [e._data.item() if isinstance(e, Tensor) else e for e in v]


def _apply_composite(op: OpInfo, bound: List[Any]) -> Any:
    """A composite op runs its decomposition with the tracer paused, then is recorded as one
    node: the parts build the autograd tape, the trace shows ``aten::dropout`` as PyTorch's.
    A ``Tag.TRACE_PARTS`` op runs its decomposition with the tracer on instead, so the trace
    shows the parts (``aten::gru_cell``'s ``linear``, ``unsafe_chunk``, ``sigmoid_`` ...)."""
    if Tag.TRACE_PARTS in op.tags:
        return op.impl(*bound)
    tracer = TRACE_STATE.tracer
    TRACE_STATE.tracer = None
    try:
        out = op.impl(*bound)
    finally:
        TRACE_STATE.tracer = tracer
    if tracer is not None:
        tracer.record(op, bound, out)
    return out


class _OpError(Exception):
    """Raised by impls with a message already in PyTorch's words.

    ``kind`` is the exception type the user sees: RuntimeError unless PyTorch raises another
    (IndexError for dimensions out of range).
    """

    def __init__(self, message: str, kind: type = RuntimeError):
        super().__init__(message)
        self.kind = kind


OpError = _OpError


def broadcast_shapes_message(shapes: Sequence[Sequence[int]]) -> Optional[str]:
    """PyTorch's error for shapes that do not broadcast, or None when they do.

    Shapes are combined left to right, as TensorIterator does; within one pair the trailing
    dimensions are compared first, and the message names the first mismatch it meets.

    Example:
        >>> broadcast_shapes_message([(3, 3), (3, 4)])
        'The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1'
    """
    if not shapes:
        return None
    acc = list(shapes[0])
    for shape in shapes[1:]:
        ndim = max(len(acc), len(shape))
        out = [1] * ndim
        for i in range(ndim - 1, -1, -1):
            offset = ndim - 1 - i
            da, db = len(acc) - 1 - offset, len(shape) - 1 - offset
            sa = acc[da] if da >= 0 else 1
            sb = shape[db] if db >= 0 else 1
            if sa != sb and sa != 1 and sb != 1:
                return (f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                        f"non-singleton dimension {i}")
            out[i] = sa if sb == 1 else sb
        acc = out
    return None


def _broadcast_message(op: OpInfo, bound: List[Any]) -> Optional[str]:
    shapes = [tuple(bound[i].shape) for i in _tensor_indices(op, bound)
              if isinstance(bound[i], Tensor)]
    return broadcast_shapes_message(shapes)


def _explain_failure(op: OpInfo, bound: List[Any], exc: Exception) -> str:
    parts = []
    for arg, value in zip(_schema_of(op, bound).arguments, bound):
        if isinstance(value, Tensor):
            parts.append(f"{arg.name}: Tensor{list(value.shape)} {value.dtype}")
        else:
            parts.append(f"{arg.name}={value!r}")
    return f"{op.kind} failed: {exc} (arguments: {', '.join(parts)})"


def _wrap(op: OpInfo, bound: List[Any], raw: Any, result_dtype: Any, xp: Any) -> Any:
    returns = op.schema_for_len[len(bound)].returns if len(op.schemas) > 1 else op.schema.returns
    if len(returns) == 1:
        kind = returns[0]
        if kind == "Tensor":
            return _make_tensor(raw, result_dtype, xp)
        if kind == "Tensor[]":
            return [_make_tensor(r, None, xp) for r in raw]
        return raw
    items = [_make_tensor(r, None, xp) if k == "Tensor" else r for k, r in zip(returns, raw)]
    if op.return_type is not None:
        return op.return_type(items)
    return tuple(items)


def _make_tensor(raw: Any, dtype: Any, xp: Any) -> Any:
    if type(raw) is not _ndarray and not hasattr(raw, "__cuda_array_interface__"):
        raw = xp.asarray(raw)           # a NumPy scalar or Python number from the kernel
    if dtype is not None and raw.dtype != dtype.np:
        raw = raw.astype(dtype.np)
    t = _new(Tensor)
    t._data = raw
    return t
