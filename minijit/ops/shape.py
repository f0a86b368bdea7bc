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
# ``Tensor.detach`` itself is a method of its own (same array, same version counter, no
# history: ``_tensor.py``); this record is what traced and scripted graphs call
# (``aten::detach``): a new tensor on the same memory, outside autograd.
register(OpInfo("detach", ["aten::detach(Tensor(a) self) -> Tensor(a)"],
                lambda xp, x: x.view(), tags=(S, Tag.NONDIFF), method=False,
                sample_inputs=lambda make: [((make((3, 4)),), {}), ((make(()),), {})]))
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


def _to_impl(xp, x, *rest):
    """``aten::to.dtype(self, dtype, non_blocking, copy, memory_format)`` and
    ``aten::to.device(self, device, dtype, ...)``: ``self`` itself when nothing changes (the
    schema's ``Tensor(a)``), unless ``copy``."""
    if len(rest) == 5:
        device, dtype, _, copy, _ = rest
    else:
        device, (dtype, _, copy, _) = None, rest
    out = x
    if dtype is not None and _dt.to_dtype(dtype).np != x.dtype:
        out = out.astype(_dt.to_dtype(dtype).np)
    if device is not None:
        from ..backends import device as _device, to_device
        out = to_device(out, _device(device))
    return out.copy() if copy and out is x else out


# What scripted and traced code call for ``x.float()`` and ``x.to(torch.float64)`` (eager
# ``Tensor.to`` is a method of its own, which calls this op for dtypes).
register(OpInfo("to", ["aten::to.dtype(Tensor(a) self, ScalarType dtype, bool non_blocking=False, "
                       "bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)",
                       "aten::to.device(Tensor(a) self, Device device, ScalarType dtype, "
                       "bool non_blocking=False, bool copy=False, MemoryFormat? "
                       "memory_format=None) -> Tensor(a)"],
                _to_impl, tags=(S,), backward=_to_copy_backward, function=False,
                grad_fn_name="ToCopyBackward0",
                sample_inputs=lambda make: [((make((3, 4)), _dt.float64), {}),
                                            no_gradcheck((make((3, 4)), _dt.float32), {}),
                                            no_gradcheck((make((3, 4)), _dt.float32, False,
                                                          True), {}),
                                            ((make((3, 4), low=-5, high=5), _dt.int64), {}),
                                            ((make((3, 4)), "cpu", _dt.float64), {})]))


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


# The second schema is TorchScript's list overload (scripted ``torch.split(x, [1, 3])``);
# eager ``Tensor.split`` calls ``split_with_sizes`` for a list, as PyTorch's Python method does.
register(OpInfo("split", ["aten::split.Tensor(Tensor(a -> *) self, SymInt split_size, int dim=0) -> Tensor(a)[]",
                          "aten::split(Tensor(a -> *) self, int[] split_sizes, int dim=0) -> Tensor(a)[]"],
                _split_impl, tags=(V, S), backward=_split_backward,
                grad_fn_name=lambda bound: ("SplitWithSizesBackward0"
                                            if isinstance(bound[1], (list, tuple))
                                            else "SplitBackward0"),
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
