"""The single dispatch point: every op call in minijit passes through :func:`apply`.

Note [Dispatch]
    ``apply(op, bound_args)`` is the one place where

    1. arguments are checked and unwrapped (Tensor → array of its backend),
    2. pointwise operands are promoted to the result dtype (PyTorch's rules, ``dtypes.py``),
    3. the registry's ``impl(xp, ...)`` runs on NumPy or CuPy,
    4. results are wrapped into Tensors,
    5. a ``grad_fn`` is attached when grad mode is on and an input requires grad
       (Note [Autograd tape] in ``autograd/graph.py``),
    6. the tracer, when active, records an IR node (``jit/frontend/tracer.py``).

    Because there is exactly one such place, tracing, autograd and the backends cannot drift
    apart: the tracer sees precisely the ops that ran.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import GRAD_MODE
from ..autograd.graph import BackwardContext, node_class
from .registry import OpInfo, Tag
from .schema import Schema

__all__ = ["apply", "call", "bind", "TRACE_STATE"]


class _TraceState:
    """Holds the active tracer (``None`` when not tracing); read on every dispatch."""

    tracer: Any = None


TRACE_STATE = _TraceState()
Tensor: Any = None   # set by minijit._tensor to break the import cycle


def bind(op: OpInfo, args: Sequence[Any], kwargs: Dict[str, Any]) -> List[Any]:
    """Bind a Python call to one of the op's schemas: one value per argument, defaults filled.

    ``schemas[0]`` is tried first; the other overloads (``div(x, y, rounding_mode=...)``) are
    tried when it does not fit.  The bound length tells later layers which overload ran.
    Errors read like PyTorch's argument-parser errors, naming the op.
    """
    schema = op.schema
    if len(args) == len(schema.arguments) and not kwargs:
        return list(args)
    try:
        return _bind_schema(op, schema, args, dict(kwargs))
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
        return isinstance(value, int) or (isinstance(value, Tensor) and value.ndim == 0
                                          and not value.dtype.is_floating_point)
    if t.startswith("int[") or t.startswith("SymInt["):
        return isinstance(value, (int, list, tuple)) and not isinstance(value, Tensor)
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
    return apply(op, bind(op, args, kwargs or {}))


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
    xp: Any = None
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
                else:
                    items.append(item)
            values[i] = items
        elif v is not None and not isinstance(v, (int, float, bool)):
            arg = op.schema.arguments[i]
            raise TypeError(f"{op.python_name}(): argument '{arg.name}' (position {i + 1}) must "
                            f"be {arg.type}, not {type(v).__name__}")
    if tensors:
        first = tensors[0]._data
        if type(first) is np.ndarray:
            xp = np
            for t in tensors:
                if type(t._data) is not np.ndarray:
                    raise _devices_error(t.device, tensors[0].device)
        else:
            from ..backends import array_module
            xp = array_module(first)
            dev = tensors[0].device
            for t in tensors:
                if t.device != dev:
                    raise _devices_error(t.device, dev)
    else:
        xp = np
    return values, xp, tensors


def _promote_pointwise(op: OpInfo, bound: List[Any], values: List[Any]) -> Any:
    """Cast tensor operands of a pointwise op to the common dtype; return the result dtype."""
    rule = op.dtype_rule
    indices = _tensor_indices(op, bound)
    operands = [bound[i] for i in indices]
    if len(operands) == 1 and isinstance(operands[0], Tensor):
        common = operands[0].dtype
    elif (len(operands) == 2 and isinstance(operands[0], Tensor)
          and isinstance(operands[1], Tensor) and operands[0].dtype is operands[1].dtype):
        common = operands[0].dtype
    else:
        common = _dt.result_type(*operands)
    compute, result = rule(common) if rule is not None else (common, common)
    for i in indices:
        v = bound[i]
        if isinstance(v, Tensor) and v.dtype is not compute:
            values[i] = values[i].astype(compute.np)
    return result


def apply(op: OpInfo, bound: List[Any]) -> Any:
    """Run ``op`` on already-bound arguments (see Note [Dispatch])."""
    values, xp, tensors = _unwrap(op, bound)
    result_dtype = None
    if Tag.POINTWISE in op.tags:
        result_dtype = _promote_pointwise(op, bound, values)
    try:
        raw = op.impl(xp, *values)
    except _OpError as exc:
        raise RuntimeError(str(exc)) from None
    except (ValueError, TypeError, IndexError) as exc:
        raise RuntimeError(_explain_failure(op, bound, exc)) from exc

    out = _wrap(op, bound, raw, result_dtype, xp)
    if Tag.INPLACE in op.tags:
        return _write_inplace(op, bound, out, tensors)
    if (GRAD_MODE.enabled and op.differentiable and tensors
            and any(t.requires_grad for t in tensors)):
        _attach_grad_fn(op, bound, out)
    elif Tag.VIEW in op.tags and tensors:
        _share_version(out, tensors[0])
    if TRACE_STATE.tracer is not None:
        TRACE_STATE.tracer.record(op, bound, out)
    return out


class _OpError(Exception):
    """Raised by impls with a message already in PyTorch's words."""


OpError = _OpError


def _explain_failure(op: OpInfo, bound: List[Any], exc: Exception) -> str:
    parts = []
    for arg, value in zip(op.schema.arguments, bound):
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
        if kind in ("Tensor[]",):
            return [_make_tensor(r, None, xp) for r in raw]
        return raw
    items = [_make_tensor(r, None, xp) if k == "Tensor" else r for k, r in zip(returns, raw)]
    if op.return_type is not None:
        return op.return_type(items)
    return tuple(items)


def _make_tensor(raw: Any, dtype: Any, xp: Any) -> Any:
    if type(raw) is not np.ndarray:
        raw = xp.asarray(raw)
    if dtype is not None and raw.dtype != dtype.np:
        raw = raw.astype(dtype.np)
    return Tensor._from_array(raw)


def _share_version(out: Any, base: Any) -> None:
    if isinstance(out, Tensor):
        out._version = base._version
        out._base = base if base._base is None else base._base
    elif isinstance(out, (list, tuple)):
        for o in out:
            _share_version(o, base)


def _attach_grad_fn(op: OpInfo, bound: List[Any], out: Any) -> None:
    """Record one tape node for this call (Note [Autograd tape])."""
    inputs: List[Any] = []
    for i in _tensor_indices(op, bound):
        v = bound[i]
        if isinstance(v, (list, tuple)):
            inputs.extend(v)
        elif i not in op.nondiff_args:
            inputs.append(v)
        else:
            inputs.append(None)
    next_functions = []
    input_meta = []
    needs = []
    for t in inputs:
        if isinstance(t, Tensor) and t.requires_grad:
            edge = (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._get_accumulator(), 0)
            next_functions.append(edge)
            input_meta.append((t.shape, t.dtype))
            needs.append(True)
        else:
            next_functions.append((None, 0))
            input_meta.append(None)
            needs.append(False)
    outputs = out if isinstance(out, (tuple, list)) else (out,)
    ctx = BackwardContext(op.schema_for_len[len(bound)]._index, bound, out)
    ctx.needs_input_grad = tuple(needs)
    if op.saves:
        saved = []
        for name in op.saves:
            if name != "result" and name not in ctx._names:
                continue
            value = out if name == "result" else bound[ctx._names[name]]
            if isinstance(value, Tensor):
                origin = value.grad_fn.name() if value.grad_fn is not None else None
                if name == "result":
                    origin = "result"
                saved.append((value, value._version[0], origin))
        ctx.saved_versions = tuple(saved)
    output_meta = tuple((o.shape, o.dtype, o.device) for o in outputs if isinstance(o, Tensor))
    name = op.grad_fn_name if isinstance(op.grad_fn_name, str) else op.grad_fn_name(bound)
    if ctx.saved_versions:
        ctx.saved_versions = tuple((t, v, name if o == "result" else o)
                                   for t, v, o in ctx.saved_versions)
    node = node_class(name)(op, ctx, tuple(next_functions), tuple(input_meta),
                                       output_meta)
    if Tag.VIEW in op.tags:
        _share_version(out, bound[0])
    nr = 0
    for o in outputs:
        if isinstance(o, Tensor) and o.dtype.is_floating_point:
            o.requires_grad = True
            o.grad_fn = node
            o._output_nr = nr
        nr += 1


def _write_inplace(op: OpInfo, bound: List[Any], out: Any, tensors: List[Any]) -> Any:
    """``x.add_(y)``: compute out of place, then write into ``x`` and bump its version."""
    target = bound[0]
    if not isinstance(target, Tensor):
        raise TypeError(f"{op.python_name}(): the in-place target must be a Tensor")
    needs_grad = GRAD_MODE.enabled and any(t.requires_grad for t in tensors)
    if needs_grad and target.grad_fn is None and target.requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if out.dtype is not target.dtype:
        if out.dtype.category > target.dtype.category:
            raise RuntimeError(f"result type {out.dtype.scalar_name} can't be cast to the desired "
                               f"output type {target.dtype.scalar_name}")
    if tuple(out.shape) != tuple(target.shape):
        raise RuntimeError(f"output with shape {list(target.shape)} doesn't match the broadcast "
                           f"shape {list(out.shape)}")
    if needs_grad and target._base is not None and target._base.requires_grad:
        raise RuntimeError(f"minijit does not support in-place {op.python_name} on a view of a "
                           "tensor that requires grad; use the out-of-place op instead")
    target._data[...] = out._data
    target._version[0] += 1
    if needs_grad and op.differentiable:
        # Rebase history: the target now holds the op's result, so its grad_fn is the op's node,
        # whose edge for ``self`` points at the target's previous history.
        previous = Tensor._from_array(target._data)
        previous.requires_grad = target.requires_grad
        previous.grad_fn = target.grad_fn
        previous._output_nr = target._output_nr
        previous._version = target._version
        rebound = [previous] + list(bound[1:])
        out.requires_grad = False
        out.grad_fn = None
        _attach_grad_fn(op, rebound, out)
        target.grad_fn = out.grad_fn
        target._output_nr = 0
        target.requires_grad = True
    if TRACE_STATE.tracer is not None:
        TRACE_STATE.tracer.record(op, bound, target)
    return target
