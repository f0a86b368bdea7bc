"""Indexing ops: select, slice, narrow, the scatter/gather family, index_select, index,
index_put and masked_fill.

Basic indexing (``x[0]``, ``x[1:3]``) gives views, as in PyTorch and NumPy; ``Tensor.__getitem__``
(``methods.py``) decomposes subscripts into these ops the way PyTorch's ``applySlicing`` does, so
the tracer records the same nodes.  Their backward rules scatter the gradient back into zeros of
the input's shape.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from .dispatch import OpError
from .registry import OpInfo, Tag, register
from .samples import no_gradcheck
from .shape import S, V, _samples, wrap_dim

# ---- indexing -----------------------------------------------------------------------------------
def _select_impl(xp, x, dim, index):
    if x.ndim == 0:
        raise OpError("select() cannot be applied to a 0-dim tensor.", IndexError)
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d]
    if not -n <= index < n:
        raise OpError(f"select(): index {index} out of range for tensor of size "
                      f"{list(x.shape)} at dimension {d}", IndexError)
    return x[(slice(None),) * d + (index, Ellipsis)]


def _select_backward(ctx, g):
    x = ctx.self
    d = wrap_dim(ctx.dim, x.ndim)
    zeros = g.new_zeros(list(x.shape))
    return (zeros.select_scatter(g, d, ctx.index),)


def _select_specialise(x, dim, index):
    """For a compiled plan: constant ``dim`` and ``index`` in range make one indexing key."""
    if x.ndim == 0 or not isinstance(dim, int) or not isinstance(index, int):
        return None
    d = wrap_dim(dim, x.ndim)
    if not -x.shape[d] <= index < x.shape[d]:
        return None
    key = (slice(None),) * d + (index, Ellipsis)
    return lambda xp, x, dim, index: x[key]


def _select_meta(x, dim, index):
    """The type of ``x.select(dim, i)`` for an ``i`` known only at run time: ``dim`` goes."""
    if not isinstance(dim, int) or not x.shape:
        return None
    d = wrap_dim(dim, len(x.shape))
    strides = None if x.strides is None else x.strides[:d] + x.strides[d + 1:]
    return x.shape[:d] + x.shape[d + 1:], strides


register(OpInfo("select", ["aten::select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)"],
                _select_impl, tags=(V, S), backward=_select_backward,
                specialise=_select_specialise, meta=_select_meta,
                sample_inputs=_samples(((3, 4), 0, 1), ((3, 4), 1, -1), ((3, 4), -2, 2), ((5,), 0, 3),
                                       ((3, 4), 0, 3), ((3, 4), 0, -4), ((), 0, 0))))


def _slice_impl(xp, x, dim=0, start=None, end=None, step=1):
    d = wrap_dim(dim, x.ndim)
    if step <= 0:
        raise OpError("slice step must be positive")
    return x[(slice(None),) * d + (slice(start, end, step),)]


def _slice_backward(ctx, g):
    x = ctx.self
    d = wrap_dim(ctx.dim, x.ndim)
    zeros = g.new_zeros(list(x.shape))
    return (zeros.slice_scatter(g, d, ctx.start, ctx.end, ctx.step),)


register(OpInfo("slice", ["aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)"],
                _slice_impl, tags=(V, S), backward=_slice_backward, method=False, function=False,
                sample_inputs=_samples(((5, 4), 0, 1, 3), ((5, 4), 1, 0, 9223372036854775807, 2),
                                       ((5, 4), 0, -3, -1), ((5, 4), 0, None, None, 3),
                                       ((5, 4), -1, 1, 100), ((5, 4), 0, 4, 2), ((5, 4), 0, -10, 2))))


def _narrow_impl(xp, x, dim, start, length):
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d]
    if start < 0:
        start += n
    if start < 0 or start + length > n:
        raise OpError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return x[(slice(None),) * d + (slice(start, start + length),)]


register(OpInfo("narrow", ["aten::narrow(Tensor(a) self, int dim, SymInt start, SymInt length) -> Tensor(a)"],
                _narrow_impl, tags=(V, S), grad_fn_name="SliceBackward0",
                backward=lambda ctx, g: (g.new_zeros(list(ctx.self.shape)).slice_scatter(
                    g, wrap_dim(ctx.dim, ctx.self.ndim), ctx.start % max(ctx.self.shape[wrap_dim(ctx.dim, ctx.self.ndim)], 1) if ctx.start < 0 else ctx.start,
                    (ctx.start % max(ctx.self.shape[wrap_dim(ctx.dim, ctx.self.ndim)], 1) if ctx.start < 0 else ctx.start) + ctx.length, 1),),
                sample_inputs=_samples(((5, 4), 0, 1, 3), ((5, 4), 1, 2, 2), ((5, 4), 0, -2, 2),
                                       ((5, 4), -1, 0, 0), ((5, 4), 0, 3, 3))))


def _scatter_like(name, impl, backward, schema, samples):
    register(OpInfo(name, [schema], impl, tags=(S,), backward=backward, sample_inputs=samples))


def _select_scatter_impl(xp, x, src, dim, index):
    out = x.copy()
    out[(slice(None),) * wrap_dim(dim, x.ndim) + (index,)] = src
    return out


_scatter_like("select_scatter", _select_scatter_impl,
              lambda ctx, g: (g.select_scatter(g.select(ctx.dim, ctx.index) * 0, ctx.dim, ctx.index),
                              g.select(ctx.dim, ctx.index)),
              "aten::select_scatter(Tensor self, Tensor src, int dim, SymInt index) -> Tensor",
              lambda make: [((make((3, 4)), make((4,)), 0, 1), {}),
                            ((make((3, 4)), make((3,)), -1, -2), {}),
                            ((make((3, 4)), make((4,), dtype=_dt.float64), 0, 1), {})])


def _slice_scatter_impl(xp, x, src, dim=0, start=None, end=None, step=1):
    out = x.copy()
    out[(slice(None),) * wrap_dim(dim, x.ndim) + (slice(start, end, step),)] = src
    return out


def _slice_scatter_backward(ctx, g):
    from .functional import slice_tensor
    part = slice_tensor(g, ctx.dim, ctx.start, ctx.end, ctx.step)
    return (g.slice_scatter(part * 0, ctx.dim, ctx.start, ctx.end, ctx.step), part)


_scatter_like("slice_scatter", _slice_scatter_impl, _slice_scatter_backward,
              "aten::slice_scatter(Tensor self, Tensor src, int dim=0, SymInt? start=None, "
              "SymInt? end=None, SymInt step=1) -> Tensor",
              lambda make: [((make((5, 4)), make((2, 4)), 0, 1, 3), {}),
                            ((make((5, 4)), make((5, 2)), 1, 0, None, 2), {}),
                            ((make((5, 4)), make((2, 4)), 0, -2), {})])


def _gather_key(xp, x, dim, index, name, src=None):
    """The fancy-index key that picks ``x[i0, ..., index[i], ...]`` for every position ``i`` of
    ``index`` (PyTorch's gather/scatter addressing), with PyTorch's argument checks."""
    d = wrap_dim(dim, x.ndim)
    if index.dtype.kind not in "iu" or index.dtype == np.uint8:
        raise OpError(f"{name}(): Expected dtype int32/int64 for index")
    if index.ndim != max(x.ndim, 1) and not (index.ndim <= 1 and x.ndim <= 1):
        raise OpError("Index tensor must have the same number of dimensions as input tensor")
    if src is not None and hasattr(src, "dtype") and src.dtype != x.dtype:
        raise OpError(f"{name}(): Expected self.dtype to be equal to src.dtype")
    if x.ndim == 0:
        return None, d
    for k, n in enumerate(index.shape):
        if k != d and n > x.shape[k]:
            raise OpError(f"Size does not match at dimension {k} expected index "
                          f"{list(index.shape)} to be smaller than self {list(x.shape)} apart "
                          f"from dimension {d}")
        if src is not None and hasattr(src, "shape") and n > src.shape[k]:
            raise OpError(f"Size does not match at dimension {k} expected index "
                          f"{list(index.shape)} to be smaller than src {list(src.shape)}")
    bad = _first_outside(index, 0, x.shape[d])
    if bad is not None:
        raise OpError(f"index {bad} is out of bounds for dimension {d} with size {x.shape[d]}")
    key = [xp.arange(n).reshape((-1,) + (1,) * (index.ndim - k - 1))
           for k, n in enumerate(index.shape)]
    key[d] = index
    return tuple(key), d


def _first_outside(index, low, high):
    """The first entry of ``index`` (in memory order) outside ``[low, high)``, or None."""
    if not index.size:
        return None
    outside = (index < low) | (index >= high)
    if not outside.any():
        return None
    return int(index.reshape(-1)[int(outside.reshape(-1).argmax())])


def _src_part(src, index):
    return src[tuple(slice(0, s) for s in index.shape)] if hasattr(src, "shape") else src


def _scatter_impl(xp, x, dim, index, src):
    key, d = _gather_key(xp, x, dim, index, "scatter", src)
    out = x.copy()
    if key is None:
        out[...] = _src_part(src, index).reshape(()) if hasattr(src, "shape") else src
        return out
    out[key] = _src_part(src, index)
    return out


def _scatter_backward(ctx, g):
    idx = ctx.index
    return (g.scatter(ctx.dim, idx, g.gather(ctx.dim, idx) * 0), None, g.gather(ctx.dim, idx))


register(OpInfo("scatter", ["aten::scatter.src(Tensor self, int dim, Tensor index, Tensor src) -> Tensor"],
                _scatter_impl, tags=(S,), backward=_scatter_backward, nondiff_args=(2,),
                sample_inputs=lambda make: [((make((3, 4)), 1, make((3, 1), low=0, high=3.99, dtype=_dt.int64),
                                              make((3, 1))), {}),
                                            no_gradcheck((make((3, 4)), 0, _perm_index(make, (2, 4), 3, 0),
                                                          make((2, 5)))),
                                            ((make((3, 4)), -1, make((3, 1), low=0, high=3.99, dtype=_dt.int64),
                                              make((3, 1), dtype=_dt.float64)), {})]))


def _gather_impl(xp, x, dim, index, sparse_grad=False):
    key, d = _gather_key(xp, x, dim, index, "gather")
    if key is None:
        return x.reshape(index.shape).copy()
    return x[key]


def _gather_backward(ctx, g):
    zeros = g.new_zeros(list(ctx.self.shape))
    return (zeros.scatter_add(ctx.dim, ctx.index, g), None)


register(OpInfo("gather", ["aten::gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor"],
                _gather_impl, tags=(S,), backward=_gather_backward, nondiff_args=(2,),
                sample_inputs=lambda make: [((make((3, 4)), 1, make((3, 2), low=0, high=3.99, dtype=_dt.int64)), {}),
                                            ((make((3, 4)), 0, make((5, 4), low=0, high=2.99, dtype=_dt.int64)), {}),
                                            ((make((3, 4)), -1, make((2, 6), low=0, high=3.99, dtype=_dt.int64)), {}),
                                            ((make((3, 4)), 1, make((3, 2), low=0, high=3.99, dtype=_dt.int64)),
                                             {"sparse_grad": False})]))


def _scatter_add_impl(xp, x, dim, index, src):
    key, d = _gather_key(xp, x, dim, index, "scatter_add", src)
    out = x.copy()
    if key is None:
        out += _src_part(src, index).reshape(())
        return out
    _add_at(xp, out, key, _src_part(src, index))
    return out


def _add_at(xp, out, key, values):
    """``out[key] += values`` with repeated positions accumulated (NumPy's ``add.at``)."""
    if xp is np:
        np.add.at(out, key, values)
    else:  # pragma: no cover - GPU
        import cupyx  # type: ignore
        cupyx.scatter_add(out, key, values)


register(OpInfo("scatter_add", ["aten::scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor"],
                _scatter_add_impl, tags=(S,), nondiff_args=(2,),
                backward=lambda ctx, g: (g, None, g.gather(ctx.dim, ctx.index)),
                sample_inputs=lambda make: [((make((3, 4)), 1, make((3, 2), low=0, high=3.99, dtype=_dt.int64),
                                              make((3, 2))), {}),
                                            ((make((3, 4)), 0, make((5, 4), low=0, high=2.99, dtype=_dt.int64),
                                              make((5, 4))), {}),
                                            no_gradcheck((make((3, 4)), 1, make((3, 2), low=0, high=3.99, dtype=_dt.int64),
                                                          make((4, 5))))]))


def _index_select_impl(xp, x, dim, index):
    if index.ndim > 1:
        raise OpError("index_select(): Index is supposed to be a vector", IndexError)
    d = wrap_dim(dim, x.ndim)
    if index.size and (index.max() >= max(x.shape[d] if x.ndim else 1, 1) or index.min() < 0):
        raise OpError("index out of range in self", IndexError)
    if x.ndim == 0:
        return x.reshape(index.shape).copy() if index.ndim else x.copy()
    return xp.take(x, index.reshape(-1), axis=d)


def _index_select_backward(ctx, g):
    zeros = g.new_zeros(list(ctx.self.shape))
    return (zeros.index_add(ctx.dim, ctx.index, g), None)


register(OpInfo("index_select", ["aten::index_select(Tensor self, int dim, Tensor index) -> Tensor"],
                _index_select_impl, tags=(S,), backward=_index_select_backward, nondiff_args=(2,),
                sample_inputs=lambda make: [((make((4, 3)), 0, make((3,), low=0, high=3.99, dtype=_dt.int64)), {}),
                                            ((make((4, 3)), -1, make((5,), low=0, high=2.99, dtype=_dt.int64)), {}),
                                            ((make((4, 3)), 0, make((0,), dtype=_dt.int64)), {}),
                                            ((make((4, 3)), 0, make((3,), low=0, high=3.99, dtype=_dt.int32)), {}),
                                            ((make((4, 3)), 0, make((), low=0, high=3.99, dtype=_dt.int64)), {}),
                                            ((make((4, 3)), 0, make((2,), low=4, high=5.99, dtype=_dt.int64)), {})]))


def _index_add_impl(xp, x, dim, index, source, alpha=1):
    out = x.copy()
    d = wrap_dim(dim, x.ndim)
    idx = [slice(None)] * x.ndim
    idx[d] = index.reshape(-1)
    _add_at(xp, out, tuple(idx), source * alpha if alpha != 1 else source)
    return out


register(OpInfo("index_add", ["aten::index_add(Tensor self, int dim, Tensor index, Tensor source, *, Scalar alpha=1) -> Tensor"],
                _index_add_impl, tags=(S,), nondiff_args=(2,),
                backward=lambda ctx, g: (g, None, g.index_select(ctx.dim, ctx.index) * ctx.alpha),
                sample_inputs=lambda make: [((make((4, 3)), 0, make((2,), low=0, high=3.99, dtype=_dt.int64),
                                              make((2, 3))), {}),
                                            ((make((4, 3)), 1, make((5,), low=0, high=2.99, dtype=_dt.int64),
                                              make((4, 5))), {"alpha": 2.0}),
                                            ((make((4, 3)), -2, make((6,), low=0, high=3.99, dtype=_dt.int64),
                                              make((6, 3))), {})]))


_C_TYPE_NAMES = {"int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                 "uint8": "unsigned char", "float32": "float", "float64": "double",
                 "float16": "c10::Half"}


def _masked_fill_impl(xp, x, mask, value):
    if mask.dtype != np.bool_:
        raise OpError("masked_fill_ only supports boolean masks, but got mask with dtype "
                      f"{_C_TYPE_NAMES[_dt.from_numpy_dtype(mask.dtype).name]}")
    value = value if not hasattr(value, "shape") else value.reshape(())
    if x.dtype.kind in "iub" and isinstance(value, float):
        value = int(value) if x.dtype.kind != "b" else bool(value)
    return xp.where(mask, xp.asarray(value, dtype=x.dtype), x)


def _masked_fill_backward(ctx, g):
    return (g.masked_fill(ctx.mask, 0.0), None, None)


register(OpInfo("masked_fill", ["aten::masked_fill.Scalar(Tensor self, Tensor mask, Scalar value) -> Tensor"],
                _masked_fill_impl, tags=(S,), backward=_masked_fill_backward, nondiff_args=(1,),
                saves=("mask",),
                sample_inputs=lambda make: [((make((3, 4)), make((3, 4)) > 0, 0.5), {}),
                                            ((make((3, 4)), make((4,)) > 0, -1.0), {}),
                                            ((make((3, 4), dtype=_dt.int64), make((3, 4)) > 0, 7), {}),
                                            ((make((3, 4)), make((3, 4)) > 0, 2), {}),
                                            no_gradcheck((make((3, 4)), make((3, 4)) > 0, float("-inf"))),
                                            ((make((4,)), make((3, 4)) > 0, 0.0), {}),
                                            ((make((3, 4)), make(()) > 0, 0.0), {}),
                                            ((make((3, 4)), make((3, 4), dtype=_dt.int64), 0.0), {})]))
register(OpInfo("masked_fill_", ["aten::masked_fill_.Scalar(Tensor(a!) self, Tensor mask, Scalar value) -> Tensor(a!)"],
                _masked_fill_impl, tags=(S, Tag.INPLACE), backward=_masked_fill_backward,
                nondiff_args=(1,), saves=("mask",), function=False, inplace_of="masked_fill",
                grad_fn_name="MaskedFillBackward0",
                sample_inputs=lambda make: [((make((3, 4)), make((3, 4)) > 0, 0.5), {}),
                                            ((make((3, 4)), make((4,)) > 0, -1.0), {})]))


def _repeat_impl(xp, x, repeats):
    repeats = list(repeats)
    if len(repeats) < x.ndim:
        raise OpError("Number of dimensions of repeat dims can not be smaller than number of "
                      "dimensions of tensor")
    x = x.reshape((1,) * (len(repeats) - x.ndim) + x.shape)
    return xp.tile(x, repeats)


def _repeat_backward(ctx, g):
    x = ctx.self
    repeats = list(ctx.repeats)
    lead = len(repeats) - x.ndim
    shape = [1] * lead + list(x.shape)
    split_shape = []
    for r, s in zip(repeats, shape):
        split_shape += [r, s]
    grad = g.reshape(split_shape)
    grad = grad.sum(list(range(0, len(split_shape), 2)))
    return (grad.reshape(list(x.shape)),)


register(OpInfo("repeat", ["aten::repeat(Tensor self, SymInt[] repeats) -> Tensor"], _repeat_impl,
                tags=(S,), backward=_repeat_backward, function=False,
                sample_inputs=_samples(((2, 3), [2, 1]), ((3,), [2, 2]), ((2, 3), [1, 2, 3]), ((), [3]),
                                       ((2, 3), [2]), ((2, 3), [2, 0]))))


def _perm_index(make, shape, size, dim):
    """An int64 index of ``shape`` whose entries along ``dim`` are distinct (< ``size``), so
    that scatter, which keeps one of several writes to a place, is deterministic."""
    rng = np.random.default_rng(int(abs(make((), low=0, high=1000).item())))
    keys = rng.random((*shape[:dim], size, *shape[dim + 1:]))
    order = np.argsort(keys, axis=dim)
    index = np.take(order, np.arange(shape[dim]), axis=dim)
    from .._tensor import Tensor
    return Tensor._from_array(np.ascontiguousarray(index.astype(np.int64)))


def _index_samples(make):
    def idx(shape, high):
        return make(shape, low=0, high=high - 0.01, dtype=_dt.int64)
    return [((make((3, 4)), [make((3, 4)) > 0]), {}),
            ((make((4, 3)), [idx((2,), 4)]), {}),
            ((make((4, 3)), [idx((2,), 4), idx((2,), 3)]), {}),
            ((make((4, 3)), [None, idx((2, 2), 3)]), {}),
            ((make((4, 3, 5)), [idx((2,), 4), None, idx((2,), 5)]), {}),
            ((make((4, 3)), [make((4,)) > 0]), {}),
            ((make((4, 3)), [make((4,), low=-4, high=-0.01, dtype=_dt.int64)]), {}),
            ((make((4, 3)), [idx((), 4)]), {}),
            ((make((4, 3)), [make((3,)) > 0]), {}),
            ((make((4, 3)), [make((2,), low=4, high=5.99, dtype=_dt.int64)]), {}),
            ((make((4, 3), dtype=_dt.int64), [idx((5,), 4)]), {})]


def _check_indices(x, indices):
    """PyTorch's index errors: bool masks must match the dims they cover, integer indices
    must be in range (negative ones count from the end)."""
    dim = 0
    for i in indices:
        if i is None:
            dim += 1
            continue
        if i.dtype == np.bool_ or i.dtype == np.uint8:
            if i.ndim and tuple(i.shape) != tuple(x.shape[dim:dim + i.ndim]):
                bad = next(k for k in range(i.ndim)
                           if dim + k >= x.ndim or i.shape[k] != x.shape[dim + k])
                raise OpError(f"The shape of the mask {list(i.shape)} at index {bad} does not "
                              f"match the shape of the indexed tensor {list(x.shape)} at index "
                              f"{dim + bad}", IndexError)
            dim += i.ndim
            continue
        if dim >= x.ndim:
            raise OpError(f"too many indices for tensor of dimension {x.ndim}", IndexError)
        n = x.shape[dim]
        bad = _first_outside(i, -n, n)
        if bad is not None:
            raise OpError(f"index {bad} is out of bounds for dimension {dim} with size {n}",
                          IndexError)
        dim += 1


def _index_impl(xp, x, indices):
    _check_indices(x, indices)
    key = tuple(slice(None) if i is None else i for i in indices)
    return x[key]


def _index_backward(ctx, g):
    zeros = g.new_zeros(list(ctx.self.shape))
    return (zeros.index_put(ctx.indices, g, True), None)


register(OpInfo("index", ["aten::index.Tensor(Tensor self, Tensor?[] indices) -> Tensor"],
                _index_impl, tags=(S,), backward=_index_backward, method=False, function=False,
                sample_inputs=_index_samples))


def _index_put_impl(xp, x, indices, values, accumulate=False):
    out = x.copy()
    key = tuple(slice(None) if i is None else i for i in indices)
    if values.dtype != x.dtype:
        raise OpError("Index put requires the source and destination dtypes match, got "
                      f"{_dt.from_numpy_dtype(x.dtype).scalar_name} for the destination and "
                      f"{_dt.from_numpy_dtype(values.dtype).scalar_name} for the source.")
    _check_indices(x, indices)
    target_shape = x[key].shape
    try:
        values = xp.broadcast_to(values, target_shape)
    except ValueError:
        raise OpError(f"shape mismatch: value tensor of shape {list(values.shape)} cannot be "
                      f"broadcast to indexing result of shape {list(target_shape)}") from None
    if accumulate:
        _add_at(xp, out, key, values)
    else:
        out[key] = values
    return out


def _index_put_backward(ctx, g):
    taken = _index_impl_t(g, ctx.indices)
    grad_self = g if ctx.accumulate else g.index_put(ctx.indices, taken * 0)
    return (grad_self, None, taken)


register(OpInfo("index_put", ["aten::index_put(Tensor self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor"],
                _index_put_impl, tags=(S,), method=True, nondiff_args=(1,),
                backward=_index_put_backward,
                sample_inputs=lambda make: [
                    ((make((4, 3)), [make((2,), low=0, high=3.99, dtype=_dt.int64)], make((2, 3)), True), {}),
                    ((make((4, 3)), [make((6,), low=0, high=3.99, dtype=_dt.int64)], make((6, 3)), True), {}),
                    ((make((4, 3)), [_perm_index(make, (2,), 4, 0)], make((2, 3))), {}),
                    ((make((4, 3)), [_perm_index(make, (2,), 4, 0)], make((3,))), {}),
                    ((make((4, 3)), [make((4, 3)) > 0], make(())), {}),
                    ((make((4, 3)), [make((2,), low=0, high=3.99, dtype=_dt.int64)],
                      make((2, 3), dtype=_dt.float64)), {})]))


def _index_impl_t(g, indices):
    from .functional import index_tensor
    return index_tensor(g, indices)


register(OpInfo("index_put_", ["aten::index_put_(Tensor(a!) self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor(a!)"],
                _index_put_impl, tags=(S, Tag.INPLACE), function=False, nondiff_args=(1,),
                inplace_of="index_put", grad_fn_name="IndexPutBackward0",
                backward=_index_put_backward,
                sample_inputs=lambda make: [
                    ((make((4, 3)), [_perm_index(make, (2,), 4, 0)], make((2, 3))), {}),
                    ((make((4, 3)), [make((6,), low=0, high=3.99, dtype=_dt.int64)], make((6, 3)), True), {}),
                    ((make((4, 3)), [make((4, 3)) > 0], make(())), {})]))
register(OpInfo("alias", ["aten::alias(Tensor(a) self) -> Tensor(a)"], lambda xp, x: x.view(),
                tags=(V, S), backward=lambda ctx, g: (g,), function=False,
                sample_inputs=_samples(((3, 4),), ((),))))


# ---- reordering and masking ---------------------------------------------------------------------
def _flip_impl(xp, x, dims):
    axes = tuple(wrap_dim(d, x.ndim) for d in dims)
    for i, d in enumerate(axes):
        if d in axes[:i]:
            raise OpError(f"dim {d} appears multiple times in the list of dims")
    return xp.flip(x, axis=axes).copy() if axes else x.copy()


register(OpInfo("flip", ["aten::flip(Tensor self, int[] dims) -> Tensor"], _flip_impl,
                tags=(S,), backward=lambda ctx, g: (g.flip(ctx.dims),),
                sample_inputs=_samples(((3, 4), [0]), ((2, 3, 4), [0, 2]), ((3, 4), [-1]),
                                       ((3, 4), []), ((3, 4), [0, 0]))))


def _roll_impl(xp, x, shifts, dims=()):
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if not dims:                      # rolled as if flattened, then the shape restored
        if len(shifts) != 1:
            raise OpError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return xp.roll(x, shifts[0])
    if len(shifts) != len(dims):
        raise OpError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                      f"dims:{len(dims)}")
    return xp.roll(x, shifts, axis=tuple(wrap_dim(d, x.ndim) for d in dims))


def _roll_backward(ctx, g):
    shifts = [ctx.shifts] if isinstance(ctx.shifts, int) else list(ctx.shifts)
    return (g.roll([-s for s in shifts], ctx.dims),)


register(OpInfo("roll", ["aten::roll(Tensor self, SymInt[1] shifts, int[1] dims=[]) -> Tensor"],
                _roll_impl, tags=(S,), backward=_roll_backward,
                sample_inputs=_samples(((3, 4), [1], [0]), ((3, 4), [2, -1], [0, 1]),
                                       ((3, 4), [5]), ((2, 3, 4), [1], [-1]))))


def _tri_impl(pick: str):
    def impl(xp, x, diagonal=0):
        if x.ndim < 2:
            raise OpError(f"{pick}: input tensor must have at least 2 dimensions")
        return getattr(xp, pick)(x, k=diagonal)
    return impl


for _name in ("tril", "triu"):
    register(OpInfo(_name, [f"aten::{_name}(Tensor self, int diagonal=0) -> Tensor"],
                    _tri_impl(_name), tags=(S,),
                    backward=(lambda n: lambda ctx, g: (getattr(g, n)(ctx.diagonal),))(_name),
                    sample_inputs=_samples(((3, 4),), ((4, 3), 1), ((2, 3, 3), -1), ((3,),))))
