"""Creation ops: zeros, ones, full, arange, linspace, eye, empty, the ``*_like`` family and the
random ones, plus ``tensor``/``from_numpy``/``as_tensor``.

Factories are registry ops too (``aten::zeros``), so the tracer records them and the scripter
binds them like any op.  Python's ``zeros(3, 4)`` and ``zeros((3, 4))`` both reach the
``int[] size`` argument through :func:`size_args`.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as _dt
from .. import random as _random
from ..backends import device as _device, to_device
from .._tensor import Tensor
from .dispatch import TRACE_STATE, OpError, call
from .registry import OpInfo, Tag, get, register

C = (Tag.CREATION, Tag.NONDIFF)
_FACTORY_TAIL = "ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None"


def _np_dtype(dtype: Any, default: Any = None) -> Any:
    if dtype is None:
        return (default or _dt.get_default_dtype()).np
    return _dt.to_dtype(dtype).np


def _place(array: np.ndarray, device: Any) -> Any:
    if device is None:
        return array
    d = _device(device)
    return array if d.type == "cpu" else to_device(array, d)


def _check_size(size: Sequence[int]) -> list:
    size = [int(s) for s in size]
    for s in size:
        if s < 0:
            raise OpError(f"Trying to create tensor with negative dimension {s}: {size}")
    return size


def _zeros_impl(xp, size, dtype=None, layout=None, device=None, pin_memory=None):
    if any(int(s) < 0 for s in size):
        raise OpError("zeros: Dimension size must be non-negative.")
    return _place(np.zeros(_check_size(size), _np_dtype(dtype)), device)


def _ones_impl(xp, size, dtype=None, layout=None, device=None, pin_memory=None):
    return _place(np.ones(_check_size(size), _np_dtype(dtype)), device)


def _full_impl(xp, size, fill_value, dtype=None, layout=None, device=None, pin_memory=None):
    if dtype is None:
        dtype = _dt.scalar_dtype(fill_value)
    return _place(np.full(_check_size(size), fill_value, _np_dtype(dtype)), device)


def _samples_size(make):
    return [(([2, 3],), {}), (([4],), {"dtype": _dt.float64}), (([],), {}),
            (([2, 0],), {"dtype": _dt.int64}), (([3],), {"dtype": _dt.bool_}), (([2, -1],), {})]


register(OpInfo("zeros", [f"aten::zeros(SymInt[] size, *, {_FACTORY_TAIL}) -> Tensor"], _zeros_impl,
                tags=C, method=False, sample_inputs=_samples_size))
register(OpInfo("ones", [f"aten::ones(SymInt[] size, *, {_FACTORY_TAIL}) -> Tensor"], _ones_impl,
                tags=C, method=False, sample_inputs=_samples_size))
register(OpInfo("empty", [f"aten::empty.memory_format(SymInt[] size, *, {_FACTORY_TAIL}, "
                          "MemoryFormat? memory_format=None) -> Tensor"],
                lambda xp, size, *rest: _place(np.zeros(_check_size(size), _np_dtype(rest[0])),
                                               rest[2]),
                tags=C + (Tag.UNINITIALIZED,), method=False,
                sample_inputs=_samples_size))
register(OpInfo("full", [f"aten::full(SymInt[] size, Scalar fill_value, *, {_FACTORY_TAIL}) -> Tensor"],
                _full_impl, tags=C, method=False,
                archive_version=5,     # the result dtype follows fill_value from version 5 on
                sample_inputs=lambda make: [(([2, 3], 1.5), {}), (([2], 7), {}), (([2], True), {}),
                                            (([2], 7), {"dtype": _dt.float32}),
                                            (([2], 2.5), {"dtype": _dt.int64}),
                                            (([], float("inf")), {})]))


def _like(name: str, fill: Any, extra: str = "", tags: tuple = ()) -> None:
    def impl(xp, x, *rest):
        if extra:
            value, rest = rest[0], rest[1:]
        else:
            value = fill
        dtype, device = rest[0], rest[2]          # (layout is ignored: strided only)
        np_dtype = _np_dtype(dtype, _dt.from_numpy_dtype(x.dtype))
        out = xp.full(x.shape, value, np_dtype) if device is None else \
            _place(np.full(x.shape, value, np_dtype), device)
        return out

    register(OpInfo(name, [f"aten::{name}(Tensor self, {extra}*, {_FACTORY_TAIL}, "
                           "MemoryFormat? memory_format=None) -> Tensor"],
                    impl, tags=C + tags, method=False,
                    sample_inputs=(lambda make: [((make((2, 3)), 2.5), {}),
                                                 ((make((2, 3), dtype=_dt.int64), 2.5), {}),
                                                 ((make((2, 3)), 7), {"dtype": _dt.int64}),
                                                 ((make(()), True), {})]) if extra else
                    (lambda make: [((make((2, 3)),), {}), ((make((2, 3), dtype=_dt.int64),), {}),
                                   ((make((2, 3)),), {"dtype": _dt.float64}),
                                   ((make(()),), {})])))


_like("zeros_like", 0)
_like("ones_like", 1)
_like("empty_like", 0, tags=(Tag.UNINITIALIZED,))
_like("full_like", None, "Scalar fill_value, ")


def _arange_impl(xp, *args):
    """The three overloads, told apart by length: ``arange(end, <4 factory args>)``,
    ``arange.start(start, end, ...)``, ``arange.start_step(start, end, step, ...)``."""
    numbers, (dtype, layout, device, pin_memory) = args[:-4], args[-4:]
    if len(numbers) == 1:
        start, end, step = 0, numbers[0], 1
    elif len(numbers) == 2:
        (start, end), step = numbers, 1
    else:
        start, end, step = numbers
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = values
    if step == 0:
        raise OpError("step must be nonzero")
    if (end - start) / step < 0:
        raise OpError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in values)
        dtype = _dt.get_default_dtype() if is_float else _dt.int64
    np_dtype = _np_dtype(dtype)
    n = int(np.ceil((end - start) / step))
    return _place((start + np.arange(n, dtype=np.float64) * step).astype(np_dtype)
                  if np_dtype.kind == "f" else np.arange(start, end, step, dtype=np.int64)
                  .astype(np_dtype), device)


register(OpInfo("arange", [f"aten::arange(Scalar end, *, {_FACTORY_TAIL}) -> Tensor",
                           f"aten::arange.start(Scalar start, Scalar end, *, {_FACTORY_TAIL}) -> Tensor",
                           f"aten::arange.start_step(Scalar start, Scalar end, Scalar step=1, *, "
                           f"{_FACTORY_TAIL}) -> Tensor"],
                _arange_impl, tags=C, method=False,
                sample_inputs=lambda make: [((5,), {}), ((1, 4, 0.5), {}), ((0.0, 3.0), {}),
                                            ((10, 0, -3), {}), ((0, 1, 0.1), {}), ((2.5,), {}),
                                            ((1, 4), {"dtype": _dt.float64}), ((0, 5, 2), {}),
                                            ((0, 5, 0), {}), ((5, 0, 1), {}), ((-3, 3, 1.5), {}),
                                            ((0, 1, 0.3), {"dtype": _dt.float64})]))


def _linspace_impl(xp, start, end, steps, dtype=None, layout=None, device=None, pin_memory=None):
    if steps < 0:
        raise OpError("number of steps must be non-negative")
    np_dtype = _np_dtype(dtype)
    if steps == 1:
        return _place(np.array([start], np_dtype), device)
    # PyTorch computes the first half from ``start`` and the second half from ``end``.
    step = (end - start) / (steps - 1)
    idx = np.arange(steps, dtype=np.float64)
    halfway = steps // 2
    values = np.where(idx < halfway, start + step * idx, end - step * (steps - 1 - idx))
    if np_dtype.kind == "f":
        step32 = np.asarray(step, np_dtype)
        idx_t = idx.astype(np_dtype)
        values = np.where(idx < halfway, np.asarray(start, np_dtype) + step32 * idx_t,
                          np.asarray(end, np_dtype) - step32 * (np.asarray(steps - 1, np_dtype) - idx_t))
    return _place(values.astype(np_dtype), device)


register(OpInfo("linspace", [f"aten::linspace(Scalar start, Scalar end, int steps, *, {_FACTORY_TAIL}) -> Tensor"],
                _linspace_impl, tags=C, method=False,
                archive_version=8,     # steps became required in version 8
                sample_inputs=lambda make: [((0.0, 1.0, 5), {}), ((-3, 10, 7), {}), ((1.0, 2.0, 1), {}),
                                            ((1.0, 2.0, 0), {}), ((0, 1, 101), {}),
                                            ((-1.0, 1.0, 6), {"dtype": _dt.float64}),
                                            ((0, 10, 4), {"dtype": _dt.int64}), ((0, 1, -1), {})]))


def _eye_impl(xp, n, *rest):
    if len(rest) == 5:
        m, rest = rest[0], rest[1:]
    else:
        m = n
    dtype, layout, device, pin = rest
    for name, value in (("n", n), ("m", m)):
        if value < 0:
            raise OpError(f"{name} must be greater or equal to 0, got {value}")
    return _place(np.eye(n, m, dtype=_np_dtype(dtype)), device)


register(OpInfo("eye", [f"aten::eye(SymInt n, *, {_FACTORY_TAIL}) -> Tensor",
                        f"aten::eye.m(SymInt n, SymInt m, *, {_FACTORY_TAIL}) -> Tensor"],
                _eye_impl, tags=C, method=False,
                sample_inputs=lambda make: [((3,), {}), ((2, 4), {}), ((0,), {}),
                                            ((3,), {"dtype": _dt.int64}), ((3, 1), {})]))


# ---- random -----------------------------------------------------------------------------------
R = (Tag.CREATION, Tag.NONDIFF, Tag.RANDOM)
_GEN_TAIL = f"Generator? generator, {_FACTORY_TAIL}"


def _split_generator(rest):
    """Random ops have a plain overload and a ``.generator`` one with one more argument."""
    if len(rest) == 5:
        return rest[0], rest[1:]
    return None, rest


def _check_random_dtype(np_dtype: Any, kernel: str, size: Sequence[int]) -> None:
    """PyTorch's refusal to draw floats into an integer tensor (``rand(3, dtype=long)``)."""
    if np_dtype.kind not in "fc" and (kernel == "check_uniform_bounds" or int(np.prod(size))):
        raise OpError(f'"{kernel}" not implemented for '
                      f"'{_dt.from_numpy_dtype(np_dtype).scalar_name}'", NotImplementedError)


def _rand_impl(xp, size, *rest):
    gen, (dtype, layout, device, pin) = _split_generator(rest)
    size = _check_size(size)
    _check_random_dtype(_np_dtype(dtype), "check_uniform_bounds", size)
    return _place(_random._resolve(gen).uniform(size, 0.0, 1.0, _np_dtype(dtype)), device)


def _randn_impl(xp, size, *rest):
    gen, (dtype, layout, device, pin) = _split_generator(rest)
    size = _check_size(size)
    _check_random_dtype(_np_dtype(dtype), "normal_kernel_cpu", size)
    if not int(np.prod(size)):
        return _place(np.zeros(size, _np_dtype(dtype)), device)
    return _place(_random._resolve(gen).normal(size, 0.0, 1.0, _np_dtype(dtype)), device)


register(OpInfo("rand", [f"aten::rand(SymInt[] size, *, {_FACTORY_TAIL}) -> Tensor",
                         f"aten::rand.generator(SymInt[] size, *, {_GEN_TAIL}) -> Tensor"],
                _rand_impl, tags=R, method=False, sample_inputs=_samples_size))
register(OpInfo("randn", [f"aten::randn(SymInt[] size, *, {_FACTORY_TAIL}) -> Tensor",
                          f"aten::randn.generator(SymInt[] size, *, {_GEN_TAIL}) -> Tensor"],
                _randn_impl, tags=R, method=False, sample_inputs=_samples_size))


def _randint_impl(xp, low, high, size, *rest):
    gen, (dtype, layout, device, pin) = _split_generator(rest)
    if low >= high:
        raise OpError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _place(_random._resolve(gen).randint(low, high, _check_size(size),
                                                _np_dtype(dtype, _dt.int64)), device)


register(OpInfo("randint", [f"aten::randint.low(SymInt low, SymInt high, SymInt[] size, *, {_FACTORY_TAIL}) -> Tensor",
                            f"aten::randint.low_generator(SymInt low, SymInt high, SymInt[] size, *, {_GEN_TAIL}) -> Tensor"],
                _randint_impl, tags=R, method=False,
                sample_inputs=lambda make: [((0, 10, [3, 4]), {}), ((-5, 5, [7]), {}),
                                            ((0, 10, [3]), {"dtype": _dt.float32}),
                                            ((5, 5, [2]), {})]))


def _randperm_impl(xp, n, *rest):
    gen, (dtype, layout, device, pin) = _split_generator(rest)
    _check_size([n])
    return _place(_random._resolve(gen).randperm(n, _np_dtype(dtype, _dt.int64)), device)


register(OpInfo("randperm", [f"aten::randperm(SymInt n, *, {_FACTORY_TAIL}) -> Tensor",
                             f"aten::randperm.generator(SymInt n, *, {_GEN_TAIL}) -> Tensor"],
                _randperm_impl, tags=R, method=False,
                sample_inputs=lambda make: [((5,), {}), ((0,), {}), ((3,), {"dtype": _dt.float32}),
                                            ((-1,), {})]))


def _rand_like(name: str, method: str):
    def impl(xp, x, dtype=None, layout=None, device=None, pin=None, memory_format=None):
        np_dtype = _np_dtype(dtype, _dt.from_numpy_dtype(x.dtype))
        _check_random_dtype(np_dtype, "check_uniform_bounds" if method == "uniform"
                            else "normal_kernel_cpu", x.shape)
        arr = getattr(_random.default_generator, method)(x.shape, 0.0, 1.0, np_dtype)
        return _place(arr, device)

    register(OpInfo(name, [f"aten::{name}(Tensor self, *, {_FACTORY_TAIL}, "
                           "MemoryFormat? memory_format=None) -> Tensor"],
                    impl, tags=R, method=False,
                    sample_inputs=lambda make: [((make((2, 3)),), {}),
                                                ((make((2, 3)),), {"dtype": _dt.float64}),
                                                ((make((2, 3), dtype=_dt.int64),), {})]))


_rand_like("rand_like", "uniform")
_rand_like("randn_like", "normal")


def _uniform_impl(xp, x, low=0.0, high=1.0, generator=None):
    _check_random_dtype(x.dtype, "check_uniform_bounds", x.shape)
    return _random._resolve(generator).uniform(x.shape, low, high, x.dtype)


def _normal_impl(xp, x, mean=0.0, std=1.0, generator=None):
    _check_random_dtype(x.dtype, "normal_kernel_cpu", x.shape)
    return _random._resolve(generator).normal(x.shape, mean, std, x.dtype)


def _bernoulli_impl(xp, x, p=0.5, generator=None):
    return _random._resolve(generator).bernoulli(x.shape, p, x.dtype)


def _zero_grad(ctx, g):
    """Overwriting ``self`` with values that do not depend on it: its gradient is zero."""
    return (g * 0,)


# In place, these have a (zero) derivative in PyTorch, so they get a grad_fn of their own.
RI = (Tag.RANDOM, Tag.INPLACE)
register(OpInfo("uniform_", ["aten::uniform_(Tensor(a!) self, float from=0, float to=1, *, Generator? generator=None) -> Tensor(a!)"],
                _uniform_impl, tags=RI, function=False, backward=_zero_grad,
                sample_inputs=lambda make: [((make((2, 3)), -1.0, 1.0), {}), ((make((2, 3)),), {}),
                                            ((make((2, 3), dtype=_dt.float64), 2, 5), {}),
                                            ((make((2, 3), dtype=_dt.int64),), {})]))
register(OpInfo("normal_", ["aten::normal_(Tensor(a!) self, float mean=0, float std=1, *, Generator? generator=None) -> Tensor(a!)"],
                _normal_impl, tags=RI, function=False, backward=_zero_grad,
                sample_inputs=lambda make: [((make((2, 3)), 0.0, 2.0), {}), ((make((5,)),), {}),
                                            ((make((2, 3), dtype=_dt.float64), 1.0, 0.5), {}),
                                            ((make((2, 3), dtype=_dt.int64),), {})]))
register(OpInfo("bernoulli_", ["aten::bernoulli_.float(Tensor(a!) self, float p=0.5, *, Generator? generator=None) -> Tensor(a!)"],
                _bernoulli_impl, tags=RI, function=False, backward=_zero_grad,
                grad_fn_name="BernoulliBackward2",
                sample_inputs=lambda make: [((make((2, 3)), 0.3), {}), ((make((4, 5)),), {}),
                                            ((make((2, 3), dtype=_dt.float64), 0.9), {})]))


def _fill_impl(xp, x, value):
    value = value.reshape(()) if hasattr(value, "reshape") else value
    if x.dtype.kind in "iu" and isinstance(value, float):
        value = int(value)
    return xp.full(x.shape, value, x.dtype)


register(OpInfo("fill_", ["aten::fill_.Scalar(Tensor(a!) self, Scalar value) -> Tensor(a!)"],
                _fill_impl, tags=(Tag.INPLACE,), function=False, backward=_zero_grad,
                grad_fn_name="FillBackward2",
                sample_inputs=lambda make: [((make((2, 3)), 1.5), {}), ((make((2, 3)), 2), {}),
                                            ((make((2, 3), dtype=_dt.int64), 2.7), {}),
                                            ((make((2, 3), dtype=_dt.bool_), 1), {}),
                                            ((make(()), -1.0), {})]))
register(OpInfo("zero_", ["aten::zero_(Tensor(a!) self) -> Tensor(a!)"],
                lambda xp, x: xp.zeros_like(x), tags=(Tag.INPLACE,), function=False,
                backward=_zero_grad,
                sample_inputs=lambda make: [((make((2, 3)),), {}),
                                            ((make((2, 3), dtype=_dt.int64),), {})]))


def _copy_impl(xp, x, src, non_blocking=False):
    if type(src) is not type(x):
        from ..backends import device_of_array
        src = to_device(src, device_of_array(x))
    from .shape import expand_message
    target = expand_message(src.shape, x.shape) if src.ndim <= x.ndim else None
    if not isinstance(target, list):
        from .dispatch import broadcast_shapes_message
        raise OpError(broadcast_shapes_message([x.shape, src.shape]) or
                      f"output with shape {list(x.shape)} doesn't match the broadcast shape "
                      f"{list(np.broadcast_shapes(x.shape, src.shape))}")
    return xp.broadcast_to(src, x.shape).astype(x.dtype)


register(OpInfo("copy_", ["aten::copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)"],
                _copy_impl, tags=(Tag.INPLACE,), function=False, grad_fn_name="CopyBackwards",
                backward=lambda ctx, g: (g * 0, g),
                sample_inputs=lambda make: [((make((2, 3)), make((3,))), {}),
                                            ((make((2, 3)), make((2, 3), dtype=_dt.float64)), {}),
                                            ((make((2, 3), dtype=_dt.int64), make((2, 3), low=-5, high=5)), {}),
                                            ((make((2, 3)), make((2, 3), dtype=_dt.int64)), {}),
                                            ((make((2, 3)), make((2, 4))), {}),
                                            ((make((2, 3)), make((4, 2, 3))), {}),
                                            ((make((2, 3)), make(())), {})]))


# ---- Python-side constructors (not ops: they make leaves from data) -------------------------------
def size_args(size: Sequence[Any]) -> list:
    """``zeros(3, 4)``, ``zeros((3, 4))`` and ``zeros([3, 4])`` all mean size ``[3, 4]``."""
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = size[0]
    return [size_item(s) for s in size]


def size_item(s: Any) -> Any:
    """One entry of a size: an int; while tracing, a traced size (a 0-dim integer tensor from
    ``x.size(0)``, ``Tracer.traced_size``) stays a tensor, so the trace records where the
    number came from, as PyTorch's does."""
    if isinstance(s, Tensor) and TRACE_STATE.tracer is not None and s.ndim == 0 \
            and not s.dtype.is_floating_point:
        return s
    return int(s)


def _is_sequence(x: Any) -> bool:
    return isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.ndim > 0)


def _leaf_dtype(x: Any) -> _dt.dtype:
    """The dtype one element contributes (PyTorch's ``infer_scalar_type``)."""
    if isinstance(x, (np.generic, np.ndarray)):      # (np.float64 is also a Python float)
        return _dt.from_numpy_dtype(x.dtype)
    if isinstance(x, bool):
        return _dt.bool_
    if isinstance(x, int):
        return _dt.int64
    if isinstance(x, float):
        return _dt.get_default_dtype()
    if isinstance(x, Tensor):
        if x.numel() != 1 or x.ndim:
            if x.numel() != 1:
                raise ValueError("only one element tensors can be converted to Python scalars")
        return x.dtype
    if isinstance(x, str):
        raise ValueError("too many dimensions 'str'")
    raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")


def _flatten_data(data: Any) -> Tuple[List[int], List[Any], _dt.dtype]:
    """Shape, flat values and dtype of nested sequences, with PyTorch's errors.

    The shape comes from the first element at each depth; every other sequence must match
    it ("expected sequence of length 2 at dim 1 (got 1)").  The dtype promotes over all
    elements: Python numbers count as bool/int64/default float, NumPy scalars and 0-dim
    tensors as their own dtype.
    """
    shape: List[int] = []
    item = data
    while _is_sequence(item):
        shape.append(len(item))
        if not len(item):
            break
        item = item[0]
    values: List[Any] = []
    dtype: Optional[_dt.dtype] = None
    stack = [(data, 0)]
    while stack:
        x, dim = stack.pop()
        if dim < len(shape):
            if not _is_sequence(x):
                raise TypeError("not a sequence")
            if len(x) != shape[dim]:
                raise ValueError(f"expected sequence of length {shape[dim]} at dim {dim} "
                                 f"(got {len(x)})")
            stack.extend((y, dim + 1) for y in reversed(list(x)))
            continue
        if _is_sequence(x):
            raise TypeError(f"'{type(x).__name__}' object cannot be interpreted as an integer")
        d = _leaf_dtype(x)
        dtype = d if dtype is None else _dt.promote_types(dtype, d)
        values.append(x.item() if isinstance(x, Tensor) else x)
    return shape, values, dtype if dtype is not None else _dt.get_default_dtype()


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Copy ``data`` (numbers, nested lists, arrays, tensors) into a new leaf tensor."""
    if isinstance(data, Tensor):
        array = np.array(data.detach().cpu()._data)
        target = _dt.to_dtype(dtype) if dtype is not None else data.dtype
    elif isinstance(data, np.ndarray):
        target = _dt.to_dtype(dtype) if dtype is not None else _dt.from_numpy_dtype(data.dtype)
        array = np.array(data)
    elif isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    else:
        shape, values, inferred = _flatten_data(data)
        target = _dt.to_dtype(dtype) if dtype is not None else inferred
        staging = np.float64 if target.is_floating_point else \
            np.bool_ if target is _dt.bool_ else np.int64
        array = np.array(values, dtype=staging).reshape(shape)
    array = array.astype(target.np, copy=False)
    if not array.flags.c_contiguous:
        array = array.copy()   # (np.ascontiguousarray would turn 0-dim into 1-dim)
    t = Tensor._from_array(_place(array, device))
    tracer = _tracer()
    if tracer is not None:
        tracer.record_constant_tensor(t)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _factory_kwargs(dtype: Any, device: Any) -> dict:
    """What PyTorch's Python argument parser passes to a factory: the default device is filled
    in and ``pin_memory`` is False (visible as constants in traced graphs)."""
    return {"dtype": dtype, "device": "cpu" if device is None else str(_device(device)),
            "pin_memory": False}


def _tracer():
    from .dispatch import TRACE_STATE
    return TRACE_STATE.tracer


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or _dt.to_dtype(dtype) is data.dtype) \
            and (device is None or _device(device) == data.device):
        return data
    if isinstance(data, np.ndarray) and dtype is None and device is None:
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """Share memory with a NumPy array, as ``torch.from_numpy`` does."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dt.from_numpy_dtype(array.dtype)
    return Tensor._from_array(array)


def _factory(name: str):
    op = get(name)

    def factory(*size: Any, out: Any = None, dtype: Any = None, layout: Any = None,
                device: Any = None, requires_grad: bool = False, pin_memory: bool = False,
                generator: Any = None) -> Tensor:
        kwargs = _factory_kwargs(dtype, device)
        if generator is not None:
            kwargs["generator"] = generator
        t = call(op, (size_args(size),), kwargs)
        if requires_grad:
            t.requires_grad_(True)
        return t

    factory.__name__ = name
    factory.__doc__ = f"``{op.schema.text}``; size given as varargs or one sequence."
    return factory


zeros = _factory("zeros")
ones = _factory("ones")
empty = _factory("empty")
rand = _factory("rand")
randn = _factory("randn")


def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, layout: Any = None) -> Tensor:
    t = call(get("full"), (size_args((size,)), fill_value),
             _factory_kwargs(dtype, device))
    return t.requires_grad_(True) if requires_grad else t


def randint(low: int, high: Any = None, size: Any = None, *, generator: Any = None,
            dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    if size is None:
        low, high, size = 0, low, high
    kwargs = _factory_kwargs(dtype, device)
    if generator is not None:
        kwargs["generator"] = generator
    return call(get("randint"), (low, high, size_args((size,))), kwargs)


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None) -> Tensor:
    kwargs = _factory_kwargs(dtype, device)
    if generator is not None:
        kwargs["generator"] = generator
    return call(get("randperm"), (n,), kwargs)


def _like_factory(name: str):
    op = get(name)

    def factory(input: Tensor, *args: Any, dtype: Any = None, layout: Any = None,
                device: Any = None, requires_grad: bool = False,
                memory_format: Any = None) -> Tensor:
        t = call(op, (input, *args), {"dtype": dtype, "pin_memory": False,
                                      "device": None if device is None else str(_device(device))})
        return t.requires_grad_(True) if requires_grad else t

    factory.__name__ = name
    return factory


zeros_like = _like_factory("zeros_like")
ones_like = _like_factory("ones_like")
empty_like = _like_factory("empty_like")
full_like = _like_factory("full_like")
rand_like = _like_factory("rand_like")
randn_like = _like_factory("randn_like")


def randint_like(input: Tensor, low: int, high: Any = None, *, dtype: Any = None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, list(input.shape), dtype=dtype or input.dtype)


def arange(start: Any, end: Any = None, step: Any = None, *, dtype: Any = None,
           device: Any = None, requires_grad: bool = False, layout: Any = None) -> Tensor:
    # The overload follows the arguments given, as PyTorch's parser picks it (a trace shows it).
    numbers = (start,) if end is None else (start, end) if step is None else (start, end, step)
    t = call(get("arange"), numbers, _factory_kwargs(dtype, device))
    return t.requires_grad_(True) if requires_grad else t


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False, layout: Any = None) -> Tensor:
    t = call(get("linspace"), (start, end, steps),
             _factory_kwargs(dtype, device))
    return t.requires_grad_(True) if requires_grad else t


def eye(n: int, m: Optional[int] = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False, layout: Any = None) -> Tensor:
    args = (n,) if m is None else (n, m)
    t = call(get("eye"), args, _factory_kwargs(dtype, device))
    return t.requires_grad_(True) if requires_grad else t
