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
from ..autograd.graph import BackwardContext, BackwardNode, node_class
from .registry import OpInfo
from .schema import Schema

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


_ERRSTATE_VAR, _QUIET = _quiet_errstate()


def run_kernel(op: OpInfo, xp: Any, values: Sequence[Any]) -> Any:
    """``op.impl(xp, *values)`` with NumPy's floating-point warnings off."""
    if _ERRSTATE_VAR is None:  # pragma: no cover - older NumPy
        with np.errstate(all="ignore"):
            return op.impl(xp, *values)
    token = _ERRSTATE_VAR.set(_QUIET)
    try:
        return op.impl(xp, *values)
    finally:
        _ERRSTATE_VAR.reset(token)


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
        return _write_inplace(op, bound, out, tensors)
    if GRAD_MODE.enabled and op.differentiable and tensors:
        for t in tensors:
            if t.requires_grad:
                _attach_grad_fn(op, bound, out)
                break
        else:
            if op.is_view:
                _share_version(out, tensors[0])
    elif op.is_view and tensors:
        _share_version(out, tensors[0])
    if TRACE_STATE.tracer is not None:
        TRACE_STATE.tracer.record(op, bound, out)
    return out


def _apply_composite(op: OpInfo, bound: List[Any]) -> Any:
    """A composite op runs its decomposition with the tracer paused, then is recorded as one
    node: the parts build the autograd tape, the trace shows ``aten::dropout`` as PyTorch's."""
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


def _share_version(out: Any, base: Any) -> None:
    if isinstance(out, Tensor):
        out._version = base._version
        out._base = base if base._base is None else base._base
        out._grad_fn_version = out._version[0]
        if not GRAD_MODE.enabled:
            out._no_grad_view = True      # PyTorch never gives these a history
    elif isinstance(out, (list, tuple)):
        for o in out:
            _share_version(o, base)


# ---- autograd -----------------------------------------------------------------------------------
def _edge(t: Any) -> Tuple[Any, int]:
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    acc = t._accumulator
    return (acc if acc is not None else t._get_accumulator(), 0)


_ONE_OUTPUT = (None,)   # output_meta of single-output nodes: the engine only counts it


def _needed(needs: Sequence[bool], condition: Tuple[int, ...]) -> bool:
    """Whether any input at the ``condition`` positions requires grad (see ``saves_for``)."""
    for k in condition:
        if needs[k]:
            return True
    return False


def _make_node(op: OpInfo, bound: List[Any], out: Any, name: Optional[str] = None) -> BackwardNode:
    """The tape node for one call of ``op`` (Note [Autograd tape]); outputs are not touched.

    Edges: one per tensor argument (one per element of a ``Tensor[]``), none for arguments
    the op declares non-differentiable; each remembers the input's shape and dtype, to which
    the engine reduces and casts the incoming gradient.
    """
    n = len(bound)
    indices = op.tensor_arg_indices if len(op.schemas) == 1 else op.tensor_indices_for_len[n]
    nondiff = op.nondiff_args
    next_functions: List[Tuple[Any, int]] = []
    input_meta: List[Any] = []
    needs: List[bool] = []
    list_sizes: Optional[List[Optional[int]]] = None
    for k, i in enumerate(indices):
        v = bound[i]
        if nondiff and i in nondiff:    # no edge at all (PyTorch: ``non_differentiable``)
            if list_sizes is None:
                list_sizes = [None] * k
            list_sizes.append(0)
            needs.append(False)
            continue
        if isinstance(v, Tensor):
            if v.requires_grad:
                next_functions.append(_edge(v))
                data = v._data
                input_meta.append((data.shape, data.dtype))
                needs.append(True)
            else:
                next_functions.append((None, 0))
                input_meta.append(None)
                needs.append(False)
            if list_sizes is not None:
                list_sizes.append(None)
            continue
        if isinstance(v, (list, tuple)):
            if list_sizes is None:
                list_sizes = [None] * k
            list_sizes.append(len(v))
            any_needs = False
            for t in v:
                if isinstance(t, Tensor) and t.requires_grad:
                    next_functions.append(_edge(t))
                    input_meta.append((t._data.shape, t._data.dtype))
                    any_needs = True
                else:
                    next_functions.append((None, 0))
                    input_meta.append(None)
            needs.append(any_needs)
            continue
        next_functions.append((None, 0))       # a Python number where a tensor may go
        input_meta.append(None)
        needs.append(False)
        if list_sizes is not None:
            list_sizes.append(None)
    schema = op.schema if len(op.schemas) == 1 else op.schema_for_len.get(n, op.schema)
    ctx = BackwardContext(schema._index, bound, out, tuple(needs))
    if list_sizes is not None:
        ctx.list_sizes = tuple(list_sizes)
    if op.saves:
        saved = []
        for index, condition in op.saved_indices_for_len.get(n, ()):
            if condition is not None and not _needed(needs, condition):
                continue                # no gradient computed will read it
            value = bound[index]
            if isinstance(value, Tensor):
                saved.append((value, value._version[0], False, value._output_nr))
            elif isinstance(value, (list, tuple)):
                saved.extend((t, t._version[0], False, t._output_nr) for t in value
                             if isinstance(t, Tensor))
        condition = op.saved_conditions_for_len.get(n)
        if op.saves_result and (condition is None or _needed(needs, condition)):
            if isinstance(out, Tensor):
                saved.append((out, out._version[0], True, 0))
            else:
                saved.extend((o, o._version[0], True, nr) for nr, o in enumerate(out)
                             if isinstance(o, Tensor))
        ctx.saved_versions = tuple(saved)
    if isinstance(out, Tensor):
        output_meta = _ONE_OUTPUT
    else:
        output_meta = tuple((o.shape, o.dtype, o.device) if isinstance(o, Tensor) else None
                            for o in out)
    if name is None:
        cls = op.node_cls
        if cls is None:
            if not isinstance(op.grad_fn_name, str):
                cls = node_class(op.grad_fn_name(bound))
            else:
                cls = op.node_cls = node_class(op.grad_fn_name)
    else:
        cls = node_class(name)
    return cls(op, ctx, tuple(next_functions), tuple(input_meta), output_meta)


def _attach_grad_fn(op: OpInfo, bound: List[Any], out: Any) -> None:
    """Record one tape node for this call and make it the outputs' ``grad_fn``."""
    node = _make_node(op, bound, out)
    if op.is_view:
        _share_version(out, bound[0])
    if isinstance(out, Tensor):
        if out._data.dtype.kind in "fc":
            out.requires_grad = True
            out.grad_fn = node
        return
    for nr, o in enumerate(out):
        if isinstance(o, Tensor) and o._data.dtype.kind in "fc":
            o.requires_grad = True
            o.grad_fn = node
            o._output_nr = nr


def _write_inplace(op: OpInfo, bound: List[Any], out: Any, tensors: List[Any]) -> Any:
    """``x.add_(y)``: compute out of place, then write into ``x`` and bump its version.

    With gradients, the target's history is rebased onto the op's node, whose ``self`` edge
    leads to the target's previous history; the old value is copied first when the backward
    formula reads it (PyTorch's ``original_self``).  A target that is a view of another tensor
    makes the base's history a ``CopySlices`` node, as in PyTorch.
    """
    target = bound[0]
    if not isinstance(target, Tensor):
        raise TypeError(f"{op.python_name}(): the in-place target must be a Tensor")
    needs_grad = GRAD_MODE.enabled and any(t.requires_grad for t in tensors)
    base = target._base
    if needs_grad and target.requires_grad and target.grad_fn is None:
        if base is not None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if needs_grad and base is not None and base.requires_grad and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if out.dtype is not target.dtype and out.dtype.category > target.dtype.category:
        raise RuntimeError(f"result type {out.dtype.scalar_name} can't be cast to the desired "
                           f"output type {target.dtype.scalar_name}")
    if tuple(out.shape) != tuple(target.shape):
        raise RuntimeError(f"output with shape {list(target.shape)} doesn't match the broadcast "
                           f"shape {list(out.shape)}")
    # (An integer target cannot require grad, whatever it is computed from.)
    record_grad = needs_grad and op.differentiable and target._data.dtype.kind in "fc"
    previous = None
    if record_grad:
        # The value before the write, for the backward formula and as the edge to the history.
        keep = "self" in op.saves
        previous = Tensor._from_array(target._data.copy() if keep else target._data)
        if target.requires_grad:
            previous.requires_grad = True
            previous.grad_fn = target.grad_fn
            previous._output_nr = target._output_nr
        if not keep:
            previous._version = target._version
    data = out._data
    if type(data) is not type(target._data):
        # Random ops draw on the CPU generator for every device (README, "GPU"): bring the
        # values to the target's device.
        from ..backends import to_device
        data = to_device(data, target.device)
    try:
        target._data[...] = data
    except ValueError:
        if not getattr(target._data.flags, "writeable", True):
            raise RuntimeError("unsupported operation: more than one element of the written-to "
                               "tensor refers to a single memory location. Please clone() the "
                               "tensor before performing the operation.") from None
        raise
    target._version[0] += 1
    if record_grad:
        rebound = [previous] + list(bound[1:])
        if base is not None and (base.requires_grad or needs_grad):
            node = _rebase_view(op, rebound, target, base)
        else:
            node = _make_node(op, rebound, target)
            target.grad_fn = node
            target._output_nr = 0
            target.requires_grad = True
        _saved_before_write(node.ctx, target._version)
    if TRACE_STATE.tracer is not None:
        TRACE_STATE.tracer.record(op, bound, target)
    return target


def _saved_before_write(ctx: Any, counter: List[int]) -> None:
    """Inputs saved by an in-place op were saved before its write (``x.mul_(x)`` saves ``x``
    at the old version, so backward will notice the write, as PyTorch does)."""
    if ctx is not None and ctx.saved_versions:
        ctx.saved_versions = tuple(
            (t, v - 1 if not is_output and t._version is counter else v, is_output, nr)
            for t, v, is_output, nr in ctx.saved_versions)


def _view_positions(base: Any, view: Any) -> np.ndarray:
    """For each element of ``view`` (an array viewing ``base``'s memory), its flat index in base.

    Works from the arrays' addresses and strides alone (NumPy or CuPy), on the host.
    """
    def pointer(a: Any) -> int:
        return a.ctypes.data if type(a) is _ndarray else a.data.ptr

    def offsets(shape: Sequence[int], strides: Sequence[int], start: int) -> np.ndarray:
        off = np.full(tuple(shape), start, np.int64)
        for d, (n, step) in enumerate(zip(shape, strides)):
            off = off + (np.arange(n, dtype=np.int64) * step).reshape(
                (-1,) + (1,) * (len(shape) - d - 1))
        return off

    flat = offsets(base.shape, base.strides, 0).reshape(-1)
    wanted = offsets(view.shape, view.strides, pointer(view) - pointer(base)).reshape(-1)
    order = np.argsort(flat, kind="stable")
    pos = np.searchsorted(flat[order], wanted)
    return order[pos].reshape(view.shape).astype(np.int64)


def _positions_tensor(base: Any, view: Any) -> Any:
    """:func:`_view_positions` as an int64 tensor on the base's device."""
    positions = _view_positions(base._data, view._data)
    if type(base._data) is not _ndarray:
        from ..backends import to_device
        positions = to_device(positions, base.device)
    return Tensor._from_array(positions)


def _rebase_view(op: OpInfo, rebound: List[Any], target: Any, base: Any) -> BackwardNode:
    """History for an in-place write into a view: ``CopySlices`` on the base (PyTorch's name).

    The op's own node computes the gradients for the view region; CopySlices takes the base's
    gradient, hands the view region to that node, and writes the node's gradient for the old
    view values back into that region.  The view itself gets an ``AsStridedBackward0`` node
    that reads its region out of the base's new history.
    """
    from .functional import index_tensor
    positions = _positions_tensor(base, target)
    inner = _make_node(op, rebound, target)
    if base.requires_grad:
        base_edge = _edge(base)
        base_meta = (base.shape, base.dtype)
    else:
        base_edge, base_meta = (None, 0), None
    base_shape = list(base.shape)

    def copy_slices_backward(ctx: Any, g: Any) -> list:
        flat = g.reshape([-1])
        grads = inner.apply([index_tensor(flat, [positions])])
        self_grad = grads[0] if grads else None
        if self_grad is None:
            self_grad = positions * 0.0
        self_grad = self_grad.to(g.dtype).expand(list(positions.shape))
        new = flat.index_put([positions], self_grad).reshape(base_shape)
        return [new] + list(grads[1:])

    copy_node = node_class("CopySlices")(
        None, inner.ctx, (base_edge,) + inner.next_functions[1:],
        (base_meta,) + tuple(inner.input_meta[1:]),
        ((base.shape, base.dtype, base.device),), backward=copy_slices_backward)
    base.grad_fn = copy_node
    base._output_nr = 0
    base.requires_grad = True

    target.grad_fn = _as_strided_node(target, base, positions)
    target._output_nr = 0
    target.requires_grad = True
    return inner


def _as_strided_node(view: Any, base: Any, positions: Any) -> BackwardNode:
    """``AsStridedBackward0``: the gradient of a view, scattered into a zero base."""
    base_shape = list(base.shape)

    def as_strided_backward(ctx: Any, g: Any) -> list:
        zeros = g.new_zeros([base.numel()])
        return [zeros.index_put([positions], g, True).reshape(base_shape)]

    return node_class("AsStridedBackward0")(
        None, None, (_edge(base),), ((base.shape, base.dtype),),
        ((view.shape, view.dtype, view.device),), backward=as_strided_backward)


def regenerate_view_grad_fn(view: Any) -> Any:
    """Note [View + inplace]
        A view shares its base's memory and version counter.  When the base (or another
        view of it) is written in place, the view's values now come from the base's new
        history, so its old ``grad_fn`` is stale.  Like PyTorch, the view's ``grad_fn`` is
        rebuilt the next time it is read: an ``AsStridedBackward0`` node into the base's
        current history.  ``Tensor.grad_fn`` calls this when the shared version moved past
        the one its ``grad_fn`` was made at.
    """
    base = view._base
    version = view._version[0]
    fn = view._grad_fn
    if base.requires_grad and not view._no_grad_view:
        fn = _as_strided_node(view, base, _positions_tensor(base, view))
        view._grad_fn = fn
        view._output_nr = 0
        view.requires_grad = True
    view._grad_fn_version = version
    return fn
