"""Composite ops (Tag.COMPOSITE), and the neural-network ops PyTorch builds in ATen.

PyTorch implements ``dropout`` in ATen from other ops; its tracer still records one
``aten::dropout`` node and its scripter binds one schema.  minijit does the same: ``impl``
receives the bound arguments as Tensors and calls minijit ops, so autograd sees the parts
(``dropout``'s grad_fn is ``MulBackward0``, as in PyTorch), while the dispatcher records the
composite as a single node (``dispatch._apply_composite``).

``layer_norm`` and ``embedding`` are plain ops here, with their own backward rules: PyTorch
differentiates them as one node each (``NativeLayerNormBackward0``, ``EmbeddingBackward0``),
which is what a tensor's ``grad_fn`` shows.
"""
from __future__ import annotations

from typing import Any, List, Optional

from .. import dtypes as _dt
from .dispatch import OpError
from .registry import OpInfo, Tag, register

C = (Tag.COMPOSITE,)


def _dropout(input: Any, p: float, train: bool) -> Any:
    """Zero each element with probability ``p``, scale the rest by ``1 / (1 - p)``; outside
    training (or for ``p == 0``) return ``input`` itself, as ATen does."""
    import minijit
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0 or not train or input.numel() == 0:
        return input
    if p == 1:
        return input * minijit.zeros([], dtype=input.dtype, device=input.device)
    noise = minijit.empty_like(input)
    noise.bernoulli_(1 - p)
    noise.div_(1 - p)
    return input * noise


register(OpInfo("dropout", ["aten::dropout(Tensor input, float p, bool train) -> Tensor"],
                _dropout, tags=C,
                sample_inputs=lambda make: [((make((3, 4)), 0.5, True), {}),
                                            ((make((3, 4)), 0.2, False), {})]))


def _layer_norm_impl(xp: Any, x: Any, normalized_shape: List[int], weight: Any = None,
                     bias: Any = None, eps: float = 1e-5, cudnn_enable: bool = True) -> Any:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the trailing dims, with the
    biased variance, as PyTorch."""
    shape = list(normalized_shape)
    n = len(shape)
    if n == 0:
        raise OpError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                      "containing at least one element, but got normalized_shape = []")
    if x.ndim < n or list(x.shape[x.ndim - n:]) != shape:
        raise OpError(f"Given normalized_shape={shape}, expected input with shape "
                      f"[*, {', '.join(str(s) for s in shape)}], but got input of size"
                      f"{list(x.shape)}")
    axes = tuple(range(x.ndim - n, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    out = centred / xp.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out.astype(x.dtype, copy=False)


def _layer_norm_backward(ctx: Any, g: Any) -> Any:
    """``native_layer_norm_backward``, in minijit ops (so twice differentiable): with
    ``x̂ = (x - mean) * rstd``, ``dx = rstd * (dx̂ - mean(dx̂) - x̂ * mean(dx̂ * x̂))`` over
    the normalised dims, ``dweight = g * x̂`` and ``dbias = g`` (the engine sums them to the
    parameters' shapes)."""
    x, weight = ctx.input, ctx.weight
    dims = list(range(-len(ctx.normalized_shape), 0))
    mean = x.mean(dims, keepdim=True)
    rstd = (x.var(dims, False, True) + ctx.eps).rsqrt()
    xhat = (x - mean) * rstd
    needs = ctx.needs_input_grad
    gx = gw = gb = None
    if needs[0]:
        gxhat = g * weight if weight is not None else g
        gx = rstd * (gxhat - gxhat.mean(dims, keepdim=True)
                     - xhat * (gxhat * xhat).mean(dims, keepdim=True))
    if weight is not None and needs[1]:
        gw = g * xhat
    if ctx.bias is not None and needs[2]:
        gb = g
    return gx, gw, gb


# PyTorch's ``layer_norm`` is a composite of ``native_layer_norm``, whose derivative is its
# own (grad_fn ``NativeLayerNormBackward0``); minijit has the one op, with that derivative.
register(OpInfo("layer_norm", ["aten::layer_norm(Tensor input, SymInt[] normalized_shape, "
                               "Tensor? weight=None, Tensor? bias=None, float eps=1e-05, "
                               "bool cudnn_enable=True) -> Tensor"],
                _layer_norm_impl, backward=_layer_norm_backward,
                grad_fn_name="NativeLayerNormBackward0", saves=("input", "weight", "bias"),
                method=False,
                sample_inputs=lambda make: [((make((3, 4)), [4], make((4,)), make((4,))), {}),
                                            ((make((2, 3, 4)), [3, 4]), {}),
                                            ((make((4,)), [4], make((4,)), None), {})]))


def _embedding_impl(xp: Any, weight: Any, indices: Any, padding_idx: int = -1,
                    scale_grad_by_freq: bool = False, sparse: bool = False) -> Any:
    """Rows of ``weight`` picked by ``indices``: shape ``indices.shape + (dim,)``."""
    if indices.dtype.kind not in "iu" or indices.dtype.itemsize not in (4, 8):
        name = _dt.from_numpy_dtype(indices.dtype).scalar_name
        raise OpError("Expected tensor for argument #1 'indices' to have one of the following "
                      f"scalar types: Long, Int; but got torch.{name}Tensor instead (while "
                      "checking arguments for embedding)")
    if scale_grad_by_freq or sparse:
        raise OpError("minijit: embedding with scale_grad_by_freq or sparse gradients is not "
                      "supported", NotImplementedError)
    return xp.take(weight, indices, axis=0)


def _embedding_backward(ctx: Any, g: Any) -> Any:
    """``embedding_dense_backward``: each row's gradient is the sum of the gradients of the
    positions that picked it; the row at ``padding_idx`` gets none.  (In minijit ops: twice
    differentiable.)"""
    import minijit
    weight, indices = ctx.weight, ctx.indices
    flat = indices.reshape([-1])
    rows = g.reshape([-1, weight.shape[1]])
    if ctx.padding_idx >= 0:
        rows = rows * (flat != ctx.padding_idx).unsqueeze(1).to(rows.dtype)
    grad = minijit.zeros(list(weight.shape), dtype=g.dtype).index_add(0, flat, rows)
    return grad, None


# PyTorch differentiates ``embedding`` as one op (grad_fn ``EmbeddingBackward0``).
register(OpInfo("embedding", ["aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, "
                              "bool scale_grad_by_freq=False, bool sparse=False) -> Tensor"],
                _embedding_impl, backward=_embedding_backward, nondiff_args=(1,),
                saves=("indices",), grad_fn_name="EmbeddingBackward0", method=False,
                sample_inputs=lambda make: [((make((5, 3)), make((2, 2), low=0, high=4.99,
                                                                  dtype=_dt.int64)), {}),
                                            ((make((5, 3)), make((4,), low=0, high=4.99,
                                                                  dtype=_dt.int64), 2), {})]))


# ---- max_norm: rows of an embedding rescaled in place ------------------------------------
def _renormed(xp: Any, weight: Any, indices: Any, max_norm: float, norm_type: float) -> Any:
    """``weight`` with each row ``indices`` names scaled down to norm ``max_norm`` where it is
    larger (PyTorch's ``embedding_renorm_cpu_``: rows in sorted order, once each, the scale
    ``max_norm / (norm + 1e-7)`` computed in double)."""
    from .reduction import _norm_impl
    out = weight.copy()
    for idx in sorted(set(int(i) for i in indices.reshape(-1).tolist())):
        norm = float(_norm_impl(xp, out[idx], norm_type, None, False, None))
        if norm > max_norm:
            out[idx] = out[idx] * (max_norm / (norm + 1e-7))
    return out


def _renorm_samples(make: Any) -> list:
    weight = make((5, 3), low=-3.0, high=3.0)
    return [((weight, make((2, 2), low=0, high=4.99, dtype=_dt.int64), 1.0, 2.0), {})]


register(OpInfo("embedding_renorm_", ["aten::embedding_renorm_(Tensor(a!) self, Tensor indices, "
                                      "float max_norm, float norm_type) -> Tensor(a!)"],
                _renormed, tags=(Tag.INPLACE, Tag.NONDIFF), method=False,
                sample_inputs=_renorm_samples))


def _no_grad_renorm(xp: Any, weight: Any, indices: Any, max_norm: float,
                    norm_type: float) -> Any:
    weight[...] = _renormed(xp, weight, indices, max_norm, norm_type)
    return weight


# What ``F.embedding`` calls under ``max_norm`` (PyTorch: ``torch/jit/_builtins.py`` maps the
# Python function ``F._no_grad_embedding_renorm_`` to this op).  Its schema declares no write,
# so TorchScript's dead code elimination drops the unused call, and scripted ``F.embedding``
# does not renormalise: PyTorch's behaviour, kept.  The kernel writes ``weight``'s array and
# hands it back, so eager calls return ``weight`` itself, as PyTorch does.
register(OpInfo("_no_grad_embedding_renorm_",
                ["aten::_no_grad_embedding_renorm_(Tensor weight, Tensor input, float max_norm, "
                 "float norm_type) -> Tensor"],
                _no_grad_renorm, tags=(Tag.NONDIFF,), method=False,
                sample_inputs=_renorm_samples))
