"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std, norm, logsumexp,
softmax, log_softmax, all, any.

Overloads follow PyTorch's (``sum(self, *, dtype)`` and ``sum.dim_IntList(self, dim, keepdim,
*, dtype)``); the dispatcher picks one by the call's arguments, and impls/backwards tell them
apart by the number of bound arguments.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as _dt
from .dispatch import OpError, quietly
from .registry import OpInfo, Tag, register
from .samples import no_gradcheck

R = Tag.REDUCTION


def normalize_dims(dim: Any, ndim: int) -> Tuple[int, ...]:
    """``dim`` (int, list or None) → sorted non-negative dims; PyTorch's range error."""
    if dim is None:
        return tuple(range(ndim))
    dims = [dim] if isinstance(dim, int) else list(dim)
    if not dims:
        return tuple(range(ndim))
    n = max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise OpError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                          f"but got {d})", IndexError)
        d = d + n if d < 0 else d
        if d in out:
            raise OpError(f"dim {d} appears multiple times in the list of dims")
        out.append(d)
    # A 0-dim tensor accepts dim 0 or -1, and has no dimension to reduce.
    return tuple(sorted(d for d in out if d < ndim))


def _axis(dims: Tuple[int, ...], ndim: int) -> Any:
    return dims if ndim else None


def expand_reduced(g: Any, shape: Sequence[int], dims: Tuple[int, ...], keepdim: bool) -> Any:
    """Broadcast a reduction's gradient back to the input shape."""
    if not keepdim and len(shape):
        for d in dims:
            g = g.unsqueeze(d)
    return g.expand(list(shape))


def _samples_full(make):
    return [((make((3, 4)),), {}), ((make((2, 3, 4)), 1), {}), ((make((2, 3, 4)), [0, 2], True), {}),
            ((make((5,), dtype=_dt.float64), 0), {}), ((make(()),), {}), ((make(()), 0), {}),
            ((make((2, 3, 4)), -1, True), {}), ((make((2, 3, 4)), (-1, 0)), {}),
            ((make((3, 4)),), {"dtype": _dt.float64}), ((make((3, 4)), 1), {"dtype": _dt.float64}),
            ((make((3, 4), low=-5, high=5, dtype=_dt.int64),), {}),
            ((make((3, 4), low=-5, high=5, dtype=_dt.int32), 1), {}),
            ((make((3, 4), dtype=_dt.bool_), 0), {}),
            ((make((3, 4), low=-5, high=5, dtype=_dt.int64), 1), {"dtype": _dt.float32}),
            no_gradcheck((make((0, 3)), 0)), ((make((2, 3, 4)), 3), {})]


def _sum_dtype(x_dtype: Any, dtype: Any) -> Any:
    if dtype is not None:
        return _dt.to_dtype(dtype).np
    if x_dtype.kind in "biu":
        return np.int64
    return x_dtype


def _sum_impl(xp, x, *rest):
    if len(rest) == 1:            # sum(self, *, dtype)
        dim, keepdim, dtype = None, False, rest[0]
    else:
        dim, keepdim, dtype = rest
    dims = normalize_dims(dim, x.ndim)
    return x.sum(axis=_axis(dims, x.ndim), keepdims=keepdim, dtype=_sum_dtype(x.dtype, dtype))


def _sum_backward(ctx, g):
    x = ctx.self
    if len(ctx.args) == 2:
        return (g.expand(list(x.shape)),)
    return (expand_reduced(g, x.shape, normalize_dims(ctx.dim, x.ndim), ctx.keepdim),)


def _sum_specialise(x, *rest):
    """For a compiled plan: the axis and accumulation dtype worked out once."""
    if len(rest) == 1:
        dim, keepdim, dtype = None, False, rest[0]
    else:
        dim, keepdim, dtype = rest
    axis = _axis(normalize_dims(dim, x.ndim), x.ndim)
    acc = _sum_dtype(x.dtype, dtype)
    return lambda xp, x, *rest: x.sum(axis=axis, keepdims=keepdim, dtype=acc)


register(OpInfo("sum", ["aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor",
                        "aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, "
                        "ScalarType? dtype=None) -> Tensor"],
                _sum_impl, tags=(R,), backward=_sum_backward, specialise=_sum_specialise,
                grad_fn_name=lambda b: "SumBackward0" if len(b) == 2 else "SumBackward1",
                sample_inputs=_samples_full))


def _mean_impl(xp, x, *rest):
    if len(rest) == 1:
        dim, keepdim, dtype = None, False, rest[0]
    else:
        dim, keepdim, dtype = rest
    if dtype is None and x.dtype.kind not in "fc":
        raise OpError("mean(): could not infer output dtype. Input dtype must be either a "
                      "floating point or complex dtype. Got: "
                      f"{_dt.from_numpy_dtype(x.dtype).scalar_name}")
    dims = normalize_dims(dim, x.ndim)
    out_dtype = _dt.to_dtype(dtype).np if dtype is not None else x.dtype
    total = xp.sum(x.astype(out_dtype, copy=False), axis=_axis(dims, x.ndim), keepdims=keepdim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    # The mean of nothing is nan, silently.
    return quietly(xp.true_divide, total, count).astype(out_dtype, copy=False)


def _mean_backward(ctx, g):
    x = ctx.self
    if len(ctx.args) == 2:
        return (g.expand(list(x.shape)) / max(x.numel(), 1),)
    dims = normalize_dims(ctx.dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    return (expand_reduced(g, x.shape, dims, ctx.keepdim) / max(count, 1),)


register(OpInfo("mean", ["aten::mean(Tensor self, *, ScalarType? dtype=None) -> Tensor",
                         "aten::mean.dim(Tensor self, int[1]? dim, bool keepdim=False, *, "
                         "ScalarType? dtype=None) -> Tensor"],
                _mean_impl, tags=(R,), backward=_mean_backward, saves=(),
                grad_fn_name=lambda b: "MeanBackward0" if len(b) == 2 else "MeanBackward1",
                sample_inputs=_samples_full))


def _prod_samples(make):
    one_zero = make((2, 3), low=0.5, high=1.5)
    one_zero._data[0, 1] = 0
    two_zeros = make((3, 4), low=0.5, high=1.5)
    two_zeros._data[1, 1:3] = 0
    return [((make((3, 4), low=0.5, high=1.5),), {}), ((make((2, 3), low=0.5, high=1.5), 1), {}),
            ((one_zero, 1), {}), ((one_zero,), {}), ((two_zeros, 1, True), {}), ((two_zeros,), {}),
            ((make((2, 3), low=-2, high=2), -1), {}), ((make(()),), {}),
            ((make((3, 4), low=1, high=3, dtype=_dt.int64),), {}),
            ((make((3, 4), low=0.5, high=1.5),), {"dtype": _dt.float64})]


def _prod_impl(xp, x, *rest):
    if len(rest) == 1:
        return xp.prod(x, dtype=_sum_dtype(x.dtype, rest[0]))
    dim, keepdim, dtype = rest
    dims = normalize_dims(dim, x.ndim)
    return xp.prod(x, axis=_axis(dims, x.ndim), keepdims=keepdim, dtype=_sum_dtype(x.dtype, dtype))


def _prod_backward(ctx, g):
    """d prod / d x_i is the product of the other elements, zeros included: with no zero it is
    ``result / x_i``; with one zero only that element gets a gradient (the product of the
    rest); with two or more, nothing does."""
    from .functional import where
    x = ctx.self
    if not x.ndim:
        return (g * 1,)
    is_zero = x == 0
    nonzero = where(is_zero, 1, x)
    if len(ctx.args) == 2:              # prod(self): everything
        prod_nonzero, zeros = nonzero.prod(), is_zero.sum()
        g = g.expand(list(x.shape))
    else:                               # prod(self, dim, keepdim)
        d = normalize_dims(ctx.dim, x.ndim)
        prod_nonzero, zeros = nonzero.prod(d[0], True), is_zero.sum(d[0], True)
        g = expand_reduced(g, x.shape, d, ctx.keepdim)
    others = where(zeros == 0, prod_nonzero / nonzero,
                   where(is_zero.logical_and(zeros == 1), prod_nonzero, 0))
    return (g * others,)


register(OpInfo("prod", ["aten::prod(Tensor self, *, ScalarType? dtype=None) -> Tensor",
                         "aten::prod.dim_int(Tensor self, int dim, bool keepdim=False, *, "
                         "ScalarType? dtype=None) -> Tensor"],
                _prod_impl, tags=(R,), backward=_prod_backward, saves=("self", "result"),
                grad_fn_name=lambda b: "ProdBackward0" if len(b) == 2 else "ProdBackward1",
                sample_inputs=_prod_samples))


class return_types:  # noqa: N801 - torch.return_types
    """Named multiple returns (``torch.return_types.max(values=..., indices=...)``)."""


def _structseq(name: str, fields: Sequence[str]) -> type:
    def __new__(cls, items):
        return tuple.__new__(cls, items)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"

    namespace = {"__new__": __new__, "__repr__": __repr__, "_fields": tuple(fields),
                 "__slots__": ()}
    for i, f in enumerate(fields):
        namespace[f] = property(lambda self, i=i: self[i])
    cls = type(name, (tuple,), namespace)
    setattr(return_types, name, cls)
    return cls


def _empty_check(x: Any, name: str, dim: Optional[int] = None) -> None:
    if x.size == 0 and (dim is None or x.shape[dim] == 0):
        raise OpError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                      "Specify the reduction dim with the 'dim' argument.")


def _tied(make, shape):
    """A sample whose extreme values repeat (gradients split or pick the first index)."""
    x = make(shape, low=-3, high=3)
    x._data[...] = np.round(x._data)
    return x


def _extreme_samples(make):
    return [((make((3, 4)),), {}), ((make((3, 4)), 1), {}), ((make((2, 3, 4)), 0, True), {}),
            ((make((3, 4)), make((3, 4))), {}), ((make((3, 4)), -1), {}),
            no_gradcheck((_tied(make, (3, 4)),)), no_gradcheck((_tied(make, (4, 5)), 1)),
            ((make(()), 0), {}),
            ((make(()),), {}), ((make((3, 4), low=-9, high=9, dtype=_dt.int64), 0), {}),
            ((make((3, 4), low=-9, high=9, dtype=_dt.int64),), {}),
            ((make((0, 3)),), {}), ((make((3, 4)), 2), {})]


def _extreme(name: str, pick: str, arg: str):
    def impl(xp, x, *rest):
        if not rest:
            _empty_check(x, name)
            return getattr(xp, pick)(x)
        if len(rest) == 1:            # max.other(self, other) == maximum
            return getattr(xp, "maximum" if name == "max" else "minimum")(x, rest[0])
        dim, keepdim = rest
        d = normalize_dims(dim, x.ndim)
        axis = d[0] if x.ndim else None
        values = getattr(xp, pick)(x, axis=axis, keepdims=keepdim)
        indices = getattr(xp, arg)(x, axis=axis, keepdims=keepdim).astype(np.int64)
        return values, indices

    def backward(ctx, *grads):
        x = ctx.self
        if len(ctx.args) == 1:
            g = grads[0]
            mask = x == ctx.result
            return (mask * (g / mask.sum()),)
        if len(ctx.args) == 2:
            a, b = x, ctx.args[1]
            better = (a > b) if name == "max" else (a < b)
            equal = a == b
            g = grads[0]
            half = g * 0.5
            return ((g * better).where(equal.logical_not(), half),
                    (g * better.logical_not()).where(equal.logical_not(), half))
        g = grads[0]
        values, indices = ctx.result
        dims = normalize_dims(ctx.dim, x.ndim)
        if not ctx.keepdim and x.ndim:
            g = g.unsqueeze(dims[0])
            indices = indices.unsqueeze(dims[0])
        zeros = x.new_zeros(list(x.shape)) if x.ndim else x * 0
        if not x.ndim:
            return (g,)
        return (zeros.scatter(dims[0], indices, g),)

    def grad_name(bound):
        return {1: f"{name.capitalize()}Backward1", 2: f"{name.capitalize()}imumBackward0",
                3: f"{name.capitalize()}Backward0"}[len(bound)]

    op = register(OpInfo(name, [f"aten::{name}(Tensor self) -> Tensor",
                                f"aten::{name}.dim(Tensor self, int dim, bool keepdim=False) -> "
                                "(Tensor values, Tensor indices)",
                                f"aten::{name}.other(Tensor self, Tensor other) -> Tensor"],
                         impl, tags=(R,), backward=backward, saves=("self", "result"),
                         grad_fn_name=grad_name,
                         sample_inputs=_extreme_samples))
    op.return_type = _structseq(name, ("values", "indices"))


_extreme("max", "max", "argmax")
_extreme("min", "min", "argmin")


def _amax_like(name: str, pick: str):
    def impl(xp, x, dim, keepdim):
        dims = normalize_dims(dim, x.ndim)
        if x.size == 0:
            _empty_check(x, name)
        return getattr(xp, pick)(x, axis=_axis(dims, x.ndim), keepdims=keepdim)

    def backward(ctx, g):
        x = ctx.self
        dims = normalize_dims(ctx.dim, x.ndim)
        result = expand_reduced(ctx.result, x.shape, dims, ctx.keepdim)
        mask = (x == result)
        count = expand_reduced(mask.sum(list(dims), True), x.shape, dims, True)
        return (expand_reduced(g, x.shape, dims, ctx.keepdim) * mask / count,)

    register(OpInfo(name, [f"aten::{name}(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor"],
                    impl, tags=(R,), backward=backward, saves=("self", "result"),
                    sample_inputs=lambda make: [((make((3, 4)),), {}), ((make((3, 4)), 1), {}),
                                                ((make((2, 3, 4)), [0, 2], True), {}),
                                                no_gradcheck((_tied(make, (4, 5)), 1)),
                                                no_gradcheck((_tied(make, (4, 5)),)),
                                                ((make((3, 4), dtype=_dt.int64), -1), {}),
                                                ((make(()),), {})]))


_amax_like("amax", "max")
_amax_like("amin", "min")


def _arg_extreme(name: str, pick: str):
    def impl(xp, x, dim, keepdim):
        if dim is None:
            _empty_check(x, name)
            out = getattr(xp, pick)(x.reshape(-1))
            return xp.asarray(out, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ())
        axis = normalize_dims(dim, x.ndim)
        axis = axis[0] if x.ndim else None
        return getattr(xp, pick)(x, axis=axis, keepdims=keepdim).astype(np.int64)

    register(OpInfo(name, [f"aten::{name}(Tensor self, int? dim=None, bool keepdim=False) -> Tensor"],
                    impl, tags=(R, Tag.NONDIFF),
                    sample_inputs=lambda make: [((make((3, 4)),), {}), ((make((3, 4)), 1), {}),
                                                ((make((3, 4)), 0, True), {}),
                                                ((make((3, 4)), None, True), {}),
                                                ((_tied(make, (4, 5)), 1), {}),
                                                ((_tied(make, (4, 5)),), {}),
                                                ((make(()),), {}), ((make(()), 0), {}),
                                                ((make((3, 4), dtype=_dt.int64), -1), {})]))


_arg_extreme("argmax", "argmax")
_arg_extreme("argmin", "argmin")


def _var_args(rest):
    """Unpack the three var/std overloads into (dim, correction, keepdim)."""
    if len(rest) == 1:                    # var(self, unbiased)
        return None, 1 if rest[0] else 0, False
    if len(rest) == 3 and isinstance(rest[1], bool):   # var.dim(self, dim, unbiased, keepdim)
        return rest[0], 1 if rest[1] else 0, rest[2]
    dim, correction, keepdim = rest        # var.correction(self, dim, *, correction, keepdim)
    return dim, 1 if correction is None else correction, keepdim


def _var_impl(xp, x, *rest):
    if x.dtype.kind not in "fc":
        raise OpError("std and var only support floating point and complex dtypes")
    dim, correction, keepdim = _var_args(rest)
    dims = normalize_dims(dim, x.ndim)
    return quietly(lambda: xp.var(x, axis=_axis(dims, x.ndim), ddof=correction, keepdims=keepdim))


def _var_backward(ctx, g):
    x = ctx.self
    dim, correction, keepdim = _var_args(ctx.args[1:])
    dims = normalize_dims(dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d] if x.ndim else 1
    centered = x - x.mean(list(dims), True) if x.ndim else x * 0
    return (expand_reduced(g, x.shape, dims, keepdim) * centered * (2.0 / (count - correction)),)


def _std_impl(xp, x, *rest):
    return xp.sqrt(_var_impl(xp, x, *rest))


def _std_backward(ctx, g):
    x = ctx.self
    dim, correction, keepdim = _var_args(ctx.args[1:])
    dims = normalize_dims(dim, x.ndim)
    grad_var = g / (2 * ctx.result)
    count = 1
    for d in dims:
        count *= x.shape[d] if x.ndim else 1
    centered = x - x.mean(list(dims), True) if x.ndim else x * 0
    return (expand_reduced(grad_var, x.shape, dims, keepdim) * centered * (2.0 / (count - correction)),)


def _var_schemas(name: str) -> List[str]:
    return [f"aten::{name}(Tensor self, bool unbiased=True) -> Tensor",
            f"aten::{name}.dim(Tensor self, int[1]? dim, bool unbiased=True, bool keepdim=False) -> Tensor",
            f"aten::{name}.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, "
            "bool keepdim=False) -> Tensor"]


def _var_samples(make):
    return [((make((3, 4)),), {}), ((make((3, 4)), 1), {}), ((make((2, 3, 4)), [0, 2], False, True), {}),
            ((make((3, 4)),), {"dim": 0, "correction": 0}), ((make((3, 4)), False), {}),
            ((make((3, 4)), 1, True, True), {}), ((make((3, 4)),), {"correction": 2}),
            ((make((3, 4)), -1), {"keepdim": True}), ((make((5,), dtype=_dt.float64),), {}),
            ((make((3, 4), dtype=_dt.int64),), {})]


register(OpInfo("var", _var_schemas("var"), _var_impl, tags=(R,), backward=_var_backward,
                saves=("self",), sample_inputs=_var_samples))
register(OpInfo("std", _var_schemas("std"), _std_impl, tags=(R,), backward=_std_backward,
                saves=("self", "result"), sample_inputs=_var_samples))


def _norm_impl(xp, x, ord, dim, keepdim, dtype):
    dims = normalize_dims(dim, x.ndim)
    axis = _axis(dims, x.ndim)
    a = xp.abs(x)
    if ord == 2:
        return xp.sqrt(xp.sum(a * a, axis=axis, keepdims=keepdim))
    if ord == float("inf"):
        return xp.max(a, axis=axis, keepdims=keepdim)
    if ord == 1:
        return xp.sum(a, axis=axis, keepdims=keepdim)
    if ord == 0:
        return xp.sum(a != 0, axis=axis, keepdims=keepdim).astype(x.dtype)
    return xp.power(xp.sum(a ** ord, axis=axis, keepdims=keepdim), 1.0 / ord).astype(x.dtype)


def _norm_backward(ctx, g):
    x, ord, result = ctx.self, ctx.ord, ctx.result
    dims = normalize_dims(ctx.dim, x.ndim)
    g = expand_reduced(g, x.shape, dims, ctx.keepdim)
    r = expand_reduced(result, x.shape, dims, ctx.keepdim)
    if ord == 2:
        return (g * x / r.masked_fill(r == 0, 1.0) * (r != 0),)
    if ord == 1:
        return (g * x.sgn(),)
    if ord == 0:
        return (g * 0 * x,)
    if ord == float("inf"):
        mask = x.abs() == r
        return (g * x.sgn() * mask / expand_reduced(mask.sum(list(dims), True), x.shape, dims, True),)
    return (g * x.sgn() * x.abs() ** (ord - 1) / r ** (ord - 1),)


register(OpInfo("linalg_vector_norm",
                ["aten::linalg_vector_norm(Tensor self, Scalar ord=2, int[1]? dim=None, "
                 "bool keepdim=False, *, ScalarType? dtype=None) -> Tensor"],
                _norm_impl, tags=(R,), backward=_norm_backward, saves=("self", "result"),
                method=False,
                sample_inputs=lambda make: [((make((3, 4)),), {}), ((make((3, 4)), 1, [1]), {}),
                                            ((make((3, 4)), 2, [0], True), {}),
                                            ((make((3, 4)), float("inf")), {}),
                                            no_gradcheck((_tied(make, (3, 4)), float("inf"), [1])),
                                            ((make((3, 4)), 3, -1), {}),
                                            ((make((3, 4)), 0.5), {}),
                                            ((make((3, 4)), 0), {}),
                                            no_gradcheck((make((3, 4)) * 0, 2, [1])),
                                            ((make((5,), dtype=_dt.float64), 2), {})]))


def _logsumexp_impl(xp, x, dim, keepdim):
    if x.dtype.kind not in "fc":
        x = x.astype(_dt.get_default_dtype().np)
    dims = normalize_dims(dim, x.ndim)
    axis = _axis(dims, x.ndim)
    m = xp.max(x, axis=axis, keepdims=True) if x.size else xp.zeros((1,) * x.ndim, x.dtype)
    m = xp.where(xp.isfinite(m), m, 0)
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdim and x.ndim:
        out = xp.squeeze(out, axis=dims)
    return out.astype(x.dtype, copy=False)


def _logsumexp_backward(ctx, g):
    x = ctx.self
    dims = normalize_dims(ctx.dim, x.ndim)
    r = expand_reduced(ctx.result, x.shape, dims, ctx.keepdim)
    return (expand_reduced(g, x.shape, dims, ctx.keepdim) * (x - r).exp(),)


register(OpInfo("logsumexp", ["aten::logsumexp(Tensor self, int[1] dim, bool keepdim=False) -> Tensor"],
                _logsumexp_impl, tags=(R,), backward=_logsumexp_backward, saves=("self", "result"),
                sample_inputs=lambda make: [((make((3, 4)), 1), {}), ((make((3, 4)), [0, 1], True), {}),
                                            ((make((2, 3, 4)), -1), {}), ((make(()), 0), {}),
                                            ((make((3, 4), dtype=_dt.int64), 1), {})]))


def _softmax_impl(xp, x, dim, dtype=None):
    if dtype is not None:
        x = x.astype(_dt.to_dtype(dtype).np)
    elif x.dtype.kind not in "fc":
        raise OpError(f'"softmax_lastdim_kernel_impl" not implemented for '
                      f"'{_dt.from_numpy_dtype(x.dtype).scalar_name}'", NotImplementedError)
    axis = normalize_dims(dim, x.ndim)
    axis = axis[0] if x.ndim else None
    m = xp.max(x, axis=axis, keepdims=True) if x.size else 0
    e = xp.exp(x - m)
    return (e / xp.sum(e, axis=axis, keepdims=True)).astype(x.dtype, copy=False)


def _log_softmax_impl(xp, x, dim, dtype=None):
    if dtype is not None:
        x = x.astype(_dt.to_dtype(dtype).np)
    elif x.dtype.kind not in "fc":
        raise OpError(f'"log_softmax_lastdim_kernel_impl" not implemented for '
                      f"'{_dt.from_numpy_dtype(x.dtype).scalar_name}'", NotImplementedError)
    axis = normalize_dims(dim, x.ndim)
    axis = axis[0] if x.ndim else None
    m = xp.max(x, axis=axis, keepdims=True) if x.size else 0
    shifted = x - m
    return (shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))).astype(x.dtype, copy=False)


def _softmax_backward(ctx, g):
    y = ctx.result
    return (y * (g - (g * y).sum(ctx.dim, True)),)


def _log_softmax_backward(ctx, g):
    y = ctx.result
    return (g - y.exp() * g.sum(ctx.dim, True),)


def _softmax_samples(make):
    return [((make((3, 4)), 1), {}), ((make((2, 3, 4)), 0), {}), ((make((3, 4)), -1), {}),
            ((make(()), 0), {}), ((make((3, 4)), 1, _dt.float64), {}),
            ((make((3, 4), low=-50, high=50), 0), {}),
            ((make((3, 4), dtype=_dt.int64), 1), {}),
            ((make((3, 4), dtype=_dt.int64), 1, _dt.float32), {})]


register(OpInfo("softmax", ["aten::softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor"],
                _softmax_impl, tags=(R,), backward=_softmax_backward, saves=("result",),
                sample_inputs=_softmax_samples))
register(OpInfo("log_softmax", ["aten::log_softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor"],
                _log_softmax_impl, tags=(R,), backward=_log_softmax_backward, saves=("result",),
                sample_inputs=_softmax_samples))


def _logical_reduce(name: str, fn: str):
    def impl(xp, x, *rest):
        if not rest:
            return getattr(xp, fn)(x)
        dim, keepdim = rest
        dims = normalize_dims(dim, x.ndim)
        return getattr(xp, fn)(x, axis=_axis(dims, x.ndim), keepdims=keepdim)

    register(OpInfo(name, [f"aten::{name}(Tensor self) -> Tensor",
                           f"aten::{name}.dim(Tensor self, int dim, bool keepdim=False) -> Tensor"],
                    impl, tags=(R, Tag.NONDIFF),
                    sample_inputs=lambda make: [((make((3, 4)) > 0,), {}),
                                                ((make((3, 4)) > 0, 1), {}),
                                                ((make((3, 4)) > 0, -1, True), {}),
                                                ((make((3, 4)),), {}),
                                                ((make((3, 4), dtype=_dt.int64), 0), {}),
                                                ((make((0,)) > 0,), {})]))


_logical_reduce("all", "all")
_logical_reduce("any", "any")


# ---- scans and orderings ------------------------------------------------------------------------
def _cumsum_impl(xp, x, dim, dtype=None):
    d = normalize_dims(dim, x.ndim)
    out_dtype = _sum_dtype(x.dtype, dtype)
    if not x.ndim:
        return x.astype(out_dtype)
    return xp.cumsum(x, axis=d[0], dtype=out_dtype)


def _cumsum_backward(ctx, g):
    if not g.ndim:
        return (g * 1,)
    d = normalize_dims(ctx.dim, g.ndim)[0]
    return (g.flip([d]).cumsum(d).flip([d]),)


register(OpInfo("cumsum", ["aten::cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor"],
                _cumsum_impl, tags=(), backward=_cumsum_backward,
                sample_inputs=lambda make: [((make((3, 4)), 1), {}), ((make((3, 4)), 0), {}),
                                            ((make((2, 3, 4)), -1), {}), ((make(()), 0), {}),
                                            ((make((3, 4), dtype=_dt.int32), 1), {}),
                                            ((make((3, 4), dtype=_dt.bool_), 0), {}),
                                            ((make((3, 4)), 1), {"dtype": _dt.float64}),
                                            ((make((3, 4)), 2), {})]))


def _order(xp, x, axis, descending):
    """Stable ordering indices along ``axis`` (PyTorch's CPU sort keeps equal keys in order)."""
    keys = x.astype(np.int8) if x.dtype == np.bool_ else x
    if descending:
        keys = -keys.astype(np.float64) if keys.dtype.kind in "iu" else -keys
    return xp.argsort(keys, axis=axis, kind="stable")


def _sort_impl(xp, x, dim=-1, descending=False):
    if not x.ndim:
        return x.copy(), xp.zeros((), np.int64)
    d = normalize_dims(dim, x.ndim)[0]
    idx = _order(xp, x, d, descending)
    return xp.take_along_axis(x, idx, axis=d), idx.astype(np.int64)


def _reorder_backward(ctx, g, _indices=None):
    x = ctx.self
    values, indices = ctx.result
    if not x.ndim:
        return (g * 1,)
    d = normalize_dims(ctx.dim, x.ndim)[0]
    return (g.new_zeros(list(x.shape)).scatter(d, indices, g),)


register(OpInfo("sort", ["aten::sort(Tensor self, int dim=-1, bool descending=False) -> "
                         "(Tensor values, Tensor indices)"],
                _sort_impl, tags=(), backward=_reorder_backward, saves=("self", "result"),
                sample_inputs=lambda make: [((make((3, 4)),), {}), ((make((3, 4)), 0), {}),
                                            ((make((3, 4)), 1, True), {}),
                                            ((make((5,)),), {"descending": True}),
                                            ((make((3, 4), low=-3, high=3, dtype=_dt.int64), 1), {}),
                                            ((make(()),), {})]))


def _topk_impl(xp, x, k, dim=-1, largest=True, sorted=True):
    d = normalize_dims(dim, x.ndim)[0] if x.ndim else None
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise OpError("selected index k out of range")
    if not x.ndim:
        return x.copy(), xp.zeros((), np.int64)
    idx = _order(xp, x, d, largest)
    idx = xp.take(idx, xp.arange(k), axis=d)
    return xp.take_along_axis(x, idx, axis=d), idx.astype(np.int64)


register(OpInfo("topk", ["aten::topk(Tensor self, SymInt k, int dim=-1, bool largest=True, "
                         "bool sorted=True) -> (Tensor values, Tensor indices)"],
                _topk_impl, tags=(), backward=_reorder_backward, saves=("self", "result"),
                sample_inputs=lambda make: [((make((3, 4)), 2), {}), ((make((3, 4)), 1, 0), {}),
                                            ((make((3, 4)), 3, 1, False), {}),
                                            ((make((5,)), 5), {}), ((make((5,)), 6), {})]))


for _name in ("sort", "topk"):
    _op = __import__("minijit.ops.registry", fromlist=["get"]).get(_name)
    _op.return_type = _structseq(_name, ("values", "indices"))
