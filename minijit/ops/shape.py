"""Shape, layout and indexing ops.  Most are views: NumPy returns views for them too, so writes
through a view reach the base tensor as in PyTorch, and the dispatcher shares the version
counter (Note [Dispatch])."""
from __future__ import annotations

from typing import Any, List, Sequence

import numpy as np

from .. import dtypes as _dt
from .dispatch import OpError
from .reduction import normalize_dims
from .registry import OpInfo, Tag, register
from .samples import no_gradcheck

V, S = Tag.VIEW, Tag.SHAPE


def wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise OpError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but "
                      f"got {dim})", IndexError)
    return dim + n if dim < 0 else dim


def infer_size(shape: Sequence[int], numel: int) -> List[int]:
    """Resolve one ``-1`` in a target shape, with PyTorch's error for impossible shapes."""
    shape = [int(s) for s in shape]
    known, infer = 1, None
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise OpError("only one dimension can be inferred")
            infer = i
        elif s < 0:
            raise OpError(f"invalid shape dimension {s}")
        else:
            known *= s
    if infer is not None:
        if known == 0 or numel % known:
            raise OpError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[infer] = numel // known
    elif known != numel:
        raise OpError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _view_impl(xp, x, size):
    shape = infer_size(size, x.size)
    try:
        return xp.reshape(x, shape, copy=False)
    except ValueError:
        raise OpError("view size is not compatible with input tensor's size and stride (at least "
                      "one dimension spans across two contiguous subspaces). Use .reshape(...) "
                      "instead.") from None


def _samples(*cases):
    return lambda make: [((make(shape), *rest), {}) for shape, *rest in cases]


def _reshape_back(ctx, g):
    return (g.reshape(list(ctx.self.shape)),)


register(OpInfo("view", ["aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a)"], _view_impl,
                tags=(V, S), backward=_reshape_back, function=False,
                sample_inputs=lambda make: _samples(((3, 4), [4, 3]), ((3, 4), [-1]), ((2, 3, 4), [6, -1]),
                                                    ((), [1, 1]), ((3, 4), [0, -1]), ((3, 4), [5, -1]),
                                                    ((3, 4), [-1, -1]), ((3, 4), [2, 6]))(make)
                + [((make((3, 4)).t(), [-1]), {}), ((make((3, 4)).t(), [4, 3]), {})]))
register(OpInfo("reshape", ["aten::reshape(Tensor(a) self, SymInt[] shape) -> Tensor(a)"],
                lambda xp, x, shape: xp.reshape(x, infer_size(shape, x.size)),
                tags=(V, S), backward=_reshape_back,
                grad_fn_name=lambda b: "ViewBackward0" if b[0].is_contiguous() else "UnsafeViewBackward0",
                sample_inputs=lambda make: _samples(((3, 4), [4, 3]), ((3, 4), [-1]), ((2, 3, 4), [6, -1]),
                                                    ((), [1]), ((1,), []), ((3, 4), [5, -1]))(make)
                + [((make((3, 4)).t(), [-1]), {}), ((make((3, 4), dtype=_dt.int64), [2, 6]), {})]))


def _flatten_impl(xp, x, start_dim, end_dim):
    if x.ndim == 0:
        return x.reshape(1)
    s, e = wrap_dim(start_dim, x.ndim), wrap_dim(end_dim, x.ndim)
    if s > e:
        raise OpError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return x                        # PyTorch returns the input itself
    shape = list(x.shape[:s]) + [int(np.prod(x.shape[s:e + 1]))] + list(x.shape[e + 1:])
    return xp.reshape(x, shape)


register(OpInfo("flatten", ["aten::flatten.using_ints(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)"],
                _flatten_impl, tags=(V, S), backward=_reshape_back,
                grad_fn_name=lambda b: "ViewBackward0" if b[0].is_contiguous() else "UnsafeViewBackward0",
                sample_inputs=lambda make: _samples(((2, 3, 4),), ((2, 3, 4), 1), ((2, 3, 4), 0, 1),
                                                    ((),), ((2, 3, 4), -2, -1), ((5,),),
                                                    ((2, 3, 4), 2, 1))(make)
                + [((make((3, 4)).t(),), {})]))


def _squeeze_impl(xp, x, *dim):
    if not dim:
        out = xp.squeeze(x)
        return out if out is not x else x.view()
    dims = normalize_dims(dim[0], x.ndim) if x.ndim else ()
    dims = tuple(d for d in dims if x.shape[d] == 1)
    return xp.squeeze(x, axis=dims) if dims else x.view()


register(OpInfo("squeeze", ["aten::squeeze(Tensor(a) self) -> Tensor(a)",
                            "aten::squeeze.dim(Tensor(a) self, int dim) -> Tensor(a)"],
                _squeeze_impl, tags=(V, S), backward=_reshape_back,
                grad_fn_name=lambda b: "SqueezeBackward0" if len(b) == 1 else "SqueezeBackward1",
                sample_inputs=_samples(((3, 1, 4),), ((3, 1, 4), 1), ((3, 1, 4), 0), ((1, 1),),
                                       ((3, 1, 4), -2), ((),), ((), 0), ((3, 1, 4), 3))))


def _unsqueeze_impl(xp, x, dim):
    return xp.expand_dims(x, wrap_dim(dim, x.ndim + 1))


register(OpInfo("unsqueeze", ["aten::unsqueeze(Tensor(a) self, int dim) -> Tensor(a)"],
                _unsqueeze_impl, tags=(V, S), backward=lambda ctx, g: (g.squeeze(ctx.dim),),
                sample_inputs=_samples(((3, 4), 0), ((3, 4), -1), ((), 0), ((3, 4), 2), ((3, 4), -3),
                                       ((3, 4), 3))))


def _transpose_impl(xp, x, dim0, dim1):
    if x.ndim == 0:
        return x.view()
    return xp.swapaxes(x, wrap_dim(dim0, x.ndim), wrap_dim(dim1, x.ndim))


register(OpInfo("transpose", ["aten::transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)"],
                _transpose_impl, tags=(V, S),
                backward=lambda ctx, g: (g.transpose(ctx.dim0, ctx.dim1),),
                sample_inputs=_samples(((3, 4), 0, 1), ((2, 3, 4), -1, 0), ((5,), 0, 0), ((), 0, -1),
                                       ((3, 4), 1, 1), ((3, 4), 0, 2))))


def _t_impl(xp, x):
    if x.ndim > 2:
        raise OpError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return x.T


register(OpInfo("t", ["aten::t(Tensor(a) self) -> Tensor(a)"], _t_impl, tags=(V, S),
                backward=lambda ctx, g: (g.t(),),
                sample_inputs=_samples(((3, 4),), ((5,),), ((),), ((2, 3, 4),))))


def _permute_impl(xp, x, dims):
    if len(dims) != x.ndim:
        raise OpError(f"permute(sparse_coo): number of dimensions in the tensor input does not "
                      f"match the length of the desired ordering of dimensions i.e. input.dim() "
                      f"= {x.ndim} is not equal to len(dims) = {len(dims)}")
    return xp.transpose(x, [wrap_dim(d, x.ndim) for d in dims])


def _permute_backward(ctx, g):
    dims = [wrap_dim(d, ctx.self.ndim) for d in ctx.dims]
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i
    return (g.permute(inverse),)


register(OpInfo("permute", ["aten::permute(Tensor(a) self, int[] dims) -> Tensor(a)"],
                _permute_impl, tags=(V, S), backward=_permute_backward,
                sample_inputs=_samples(((2, 3, 4), [2, 0, 1]), ((3, 4), [1, 0]), ((2, 3, 4), [-1, 0, 1]),
                                       ((), []), ((3, 4), [0]))))


def expand_message(shape: Sequence[int], size: Sequence[int]) -> Any:
    """PyTorch's error for expanding ``shape`` to ``size``, or the target shape when it works."""
    size = list(size)
    lead = len(size) - len(shape)
    target = []
    for i, s in enumerate(size):
        if i < lead:
            if s < 0:
                return (f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                        f"non-existing dimension {i}")
            target.append(s)
            continue
        cur = shape[i - lead]
        if s == -1:
            target.append(cur)
        elif cur != s and cur != 1:
            return (f"The expanded size of the tensor ({s}) must match the existing size ({cur}) "
                    f"at non-singleton dimension {i}.  Target sizes: {size}.  Tensor sizes: "
                    f"{list(shape)}")
        else:
            target.append(s)
    return target


def _expand_impl(xp, x, size, implicit=False):
    size = list(size)
    if len(size) < x.ndim:
        raise OpError(f"expand(torch.{_dt.from_numpy_dtype(x.dtype).scalar_name}Tensor{{"
                      f"{list(x.shape)}}}, size={size}): the number of sizes provided "
                      f"({len(size)}) must be greater or equal to the number of dimensions in "
                      f"the tensor ({x.ndim})")
    target = expand_message(x.shape, size)
    if isinstance(target, str):
        raise OpError(target)
    return xp.broadcast_to(x, target)


register(OpInfo("expand", ["aten::expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)"],
                _expand_impl, tags=(V, S), function=False,
                backward=lambda ctx, g: (g,),   # the engine reduces broadcast gradients
                sample_inputs=_samples(((3, 1), [3, 4]), ((4,), [2, 3, 4]), ((3, 1), [-1, 5]),
                                       ((), [2, 3]), ((3, 4), [3, 4]), ((3, 1), [3, 4, 5]),
                                       ((3, 1), [4]), ((3, 1), [2, 3, 4]), ((3, 1), [-1, 3, 4]))))


def _sum_to_size_impl(xp, x, size):
    size = list(size)
    lead = x.ndim - len(size)
    if lead < 0:
        raise OpError(f"size {size} is not expandable to size {list(x.shape)}")
    axes = list(range(lead))
    for i, s in enumerate(size):
        if s == 1 and x.shape[lead + i] != 1:
            axes.append(lead + i)
        elif s != x.shape[lead + i]:
            raise OpError(f"size {size} is not expandable to size {list(x.shape)}")
    out = xp.sum(x, axis=tuple(axes), keepdims=True) if axes else x
    return xp.reshape(out, size)


def _sum_to_size_name(bound):
    # PyTorch decomposes sum_to_size into sum(dims, keepdim=True) and, when leading dims go
    # away, a view; the grad_fn is the last of those.
    return "ViewBackward0" if bound[0].ndim > len(bound[1]) else "SumBackward1"


register(OpInfo("sum_to_size", ["aten::sum_to_size(Tensor self, SymInt[] size) -> Tensor"],
                _sum_to_size_impl, tags=(S,), function=False,
                backward=lambda ctx, g: (g.expand(list(ctx.self.shape)),),
                grad_fn_name=_sum_to_size_name,
                sample_inputs=_samples(((3, 4), [1, 4]), ((2, 3, 4), [3, 1]), ((2, 3, 4), [1, 1, 1]),
                                       ((2, 3, 4), [4]))))


register(OpInfo("contiguous", ["aten::contiguous(Tensor(a) self, *, MemoryFormat memory_format=contiguous_format) -> Tensor(a)"],
                lambda xp, x, fmt=None: x if x.flags.c_contiguous else x.copy(), tags=(S,), function=False,
                backward=lambda ctx, g: (g,), grad_fn_name="CloneBackward0",
                sample_inputs=lambda make: [((make((3, 4)).t(),), {}), ((make((2, 3, 4))[:, 1],), {})]))
register(OpInfo("clone", ["aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor"],
                lambda xp, x, fmt=None: x.copy(), tags=(S,), backward=lambda ctx, g: (g,),
                sample_inputs=lambda make: [((make((3, 4)),), {}), ((make(()),), {}),
                                            ((make((3, 4)).t(),), {}),
                                            ((make((3, 4), dtype=_dt.int64),), {})]))


def _to_copy_impl(xp, x, dtype=None, layout=None, device=None, pin_memory=None,
                  non_blocking=False, memory_format=None):
    if dtype is not None:
        return x.astype(_dt.to_dtype(dtype).np)
    return x.copy()


def _to_copy_backward(ctx, g):
    return (g.to(ctx.self.dtype),)


register(OpInfo("_to_copy", ["aten::_to_copy(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, "
                             "Device? device=None, bool? pin_memory=None, bool non_blocking=False, "
                             "MemoryFormat? memory_format=None) -> Tensor"],
                _to_copy_impl, tags=(S,), backward=_to_copy_backward, method=False, function=False,
                grad_fn_name="ToCopyBackward0",
                sample_inputs=lambda make: [((make((3, 4)),), {"dtype": _dt.float64}),
                                            no_gradcheck((make((3, 4), dtype=_dt.float64),),
                                                         {"dtype": _dt.float32}),
                                            ((make((3, 4), low=-5, high=5),), {"dtype": _dt.int64}),
                                            ((make((3, 4), dtype=_dt.int64),), {"dtype": _dt.float32}),
                                            ((make((3, 4)),), {"dtype": _dt.bool_}),
                                            ((make((3, 4)),), {})]))


def _to_device_impl(xp, x, device):
    from ..backends import device as _device, to_device
    out = to_device(x, _device(device))
    return out.copy() if out is x else out      # a device copy is always a new tensor


register(OpInfo("_to_device", ["prim::device_copy(Tensor self, str device) -> Tensor"],
                _to_device_impl, tags=(S,), method=False, function=False,
                backward=lambda ctx, g: (g.to(ctx.self.device),), grad_fn_name="ToCopyBackward0",
                sample_inputs=lambda make: [((make((3, 4)), "cpu"), {})]))


# ---- joining and splitting ---------------------------------------------------------------------
def _cat_impl(xp, tensors, dim):
    if not tensors:
        raise OpError("torch.cat(): expected a non-empty list of Tensors")
    ref = next((t for t in tensors if t.ndim), tensors[0])
    d = wrap_dim(dim, ref.ndim)
    arrays = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or list(tensors)
    for i, t in enumerate(arrays):
        if t.ndim != ref.ndim:
            raise OpError("Tensors must have same number of dimensions: got "
                          f"{ref.ndim} and {t.ndim}")
        for k in range(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise OpError(f"Sizes of tensors must match except in dimension {d}. Expected "
                              f"size {ref.shape[k]} but got size {t.shape[k]} for tensor number "
                              f"{i} in the list.")
    dtype = arrays[0].dtype
    for a in arrays[1:]:
        dtype = _dt.promote_types(_dt.from_numpy_dtype(dtype), _dt.from_numpy_dtype(a.dtype)).np
    return xp.concatenate([a.astype(dtype, copy=False) for a in arrays], axis=d)


def _cat_backward(ctx, g):
    grads, offset = [], 0
    d = wrap_dim(ctx.dim, g.ndim)
    for t in ctx.tensors:
        if t.ndim == 1 and t.shape[0] == 0:         # legacy empty tensors are skipped by cat
            grads.append(g.new_zeros([0]))
            continue
        n = t.shape[d] if t.ndim else 0
        grads.append(g.narrow(d, offset, n) if t.ndim else None)
        offset += n
    return (grads,)


register(OpInfo("cat", ["aten::cat(Tensor[] tensors, int dim=0) -> Tensor"], _cat_impl,
                tags=(S,), backward=_cat_backward, method=False,
                sample_inputs=lambda make: [(([make((2, 3)), make((4, 3))],), {}),
                                            (([make((2, 3)), make((2, 1))], 1), {}),
                                            (([make((2, 3)), make((2, 3), dtype=_dt.float64)], -1), {}),
                                            (([make((2, 3)), make((0,))],), {}),
                                            (([make((2, 3))],), {}),
                                            (([make((2, 3), dtype=_dt.int64), make((1, 3))],), {}),
                                            (([make((2, 3)), make((2, 4))],), {}),
                                            (([make((2, 3)), make((3,))],), {}),
                                            (([make((2, 3)), make((2, 3))], 2), {})]))


def _stack_impl(xp, tensors, dim):
    if not tensors:
        raise OpError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise OpError(f"stack expects each tensor to be equal size, but got "
                          f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at entry {i}")
    d = wrap_dim(dim, tensors[0].ndim + 1)
    return xp.stack(tensors, axis=d)


register(OpInfo("stack", ["aten::stack(Tensor[] tensors, int dim=0) -> Tensor"], _stack_impl,
                tags=(S,), method=False,
                backward=lambda ctx, g: (list(g.unbind(wrap_dim(ctx.dim, g.ndim))),),
                sample_inputs=lambda make: [(([make((2, 3)), make((2, 3))],), {}),
                                            (([make((2, 3)), make((2, 3))], -1), {}),
                                            (([make((2, 3)), make((2, 3)), make((2, 3))], 1), {}),
                                            (([make(()), make(())],), {}),
                                            (([make((2, 3)), make((3, 2))],), {}),
                                            (([make((2, 3)), make((2, 3), dtype=_dt.float64)],), {})]))


def _split_impl(xp, x, split_size, dim):
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size, (list, tuple)):
        if sum(split_size) != n:
            raise OpError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                          f"tensor's size at dimension {d}), but got split_sizes={list(split_size)}")
        bounds = np.cumsum([0] + list(split_size))
    else:
        if split_size <= 0 and n:
            raise OpError(f"split expects split_size be non-negative, but got split_size={split_size}")
        bounds = list(range(0, n, split_size)) + [n] if n else [0, 0]
    index = [slice(None)] * x.ndim
    pieces = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        index[d] = slice(int(start), int(stop))
        pieces.append(x[tuple(index)])
    return pieces


def _split_backward(ctx, *grads):
    x = ctx.self
    d = wrap_dim(ctx.dim, x.ndim)
    return (_cat_grads(list(grads), d),)


def _cat_grads(grads, d):
    from .functional import cat
    return cat(grads, d)


register(OpInfo("split", ["aten::split.Tensor(Tensor(a -> *) self, SymInt split_size, int dim=0) -> Tensor(a)[]"],
                _split_impl, tags=(V, S), backward=_split_backward,
                sample_inputs=_samples(((5, 3), 2), ((3, 6), 4, 1), ((5, 3), 5), ((5, 3), 7),
                                       ((3, 6), 2, -1))))
register(OpInfo("split_with_sizes", ["aten::split_with_sizes(Tensor(a -> *) self, SymInt[] split_sizes, int dim=0) -> Tensor(a)[]"],
                _split_impl, tags=(V, S), backward=_split_backward,
                grad_fn_name="SplitWithSizesBackward0",
                sample_inputs=_samples(((5, 3), [2, 3]), ((3, 6), [1, 5], 1), ((5, 3), [0, 5]),
                                       ((5, 3), [2, 2]))))


def _chunk_impl(xp, x, chunks, dim):
    d = wrap_dim(dim, x.ndim)
    if chunks <= 0:
        raise OpError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    size = -(-x.shape[d] // chunks) if x.shape[d] else 1
    return _split_impl(xp, x, size, d)


def _chunk_backward(ctx, *grads):
    return (_cat_grads(list(grads), wrap_dim(ctx.dim, ctx.self.ndim)),)


register(OpInfo("chunk", ["aten::chunk(Tensor(a -> *) self, int chunks, int dim=0) -> Tensor(a)[]"],
                _chunk_impl, tags=(V, S), backward=_chunk_backward, grad_fn_name="SplitBackward0",
                sample_inputs=_samples(((5, 3), 2), ((3, 6), 3, 1), ((5, 3), 3), ((6, 3), 4),
                                       ((2, 3), 5, 0), ((3, 6), 2, -1))))


def _unbind_impl(xp, x, dim):
    d = wrap_dim(dim, x.ndim)
    return [x[(slice(None),) * d + (i, Ellipsis)]
            for i in range(x.shape[d])]


def _unbind_backward(ctx, *grads):
    from .functional import stack
    return (stack(list(grads), wrap_dim(ctx.dim, ctx.self.ndim)),)


register(OpInfo("unbind", ["aten::unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]"],
                _unbind_impl, tags=(V, S), backward=_unbind_backward,
                sample_inputs=_samples(((3, 4),), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), 1))))


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


register(OpInfo("select", ["aten::select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)"],
                _select_impl, tags=(V, S), backward=_select_backward,
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
