"""Composite ops: defined by decomposition into other registered ops (Tag.COMPOSITE).

PyTorch implements ``dropout``, ``layer_norm`` and ``embedding`` in ATen from other ops; its
tracer still records one ``aten::dropout`` node and its scripter binds one schema.  minijit
does the same: ``impl`` receives the bound arguments as Tensors and calls minijit ops, so
autograd sees the parts (``dropout``'s grad_fn is ``MulBackward0``, as in PyTorch), while the
dispatcher records the composite as a single node (``dispatch._apply_composite``).
"""
from __future__ import annotations

from typing import Any, List, Optional

from .. import dtypes as _dt
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


def _layer_norm(input: Any, normalized_shape: List[int], weight: Optional[Any] = None,
                bias: Optional[Any] = None, eps: float = 1e-5, cudnn_enable: bool = True) -> Any:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the trailing dims, with the
    biased variance, as PyTorch."""
    import minijit
    shape = list(normalized_shape)
    n = len(shape)
    if n == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    if input.dim() < n or list(input.shape[input.dim() - n:]) != shape:
        raise RuntimeError(f"Given normalized_shape={shape}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in shape)}], but got input of size"
                           f"{list(input.shape)}")
    dims = list(range(-n, 0))
    mean = input.mean(dim=dims, keepdim=True)
    var = input.var(dims, False, True)
    out = (input - mean) * minijit.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


register(OpInfo("layer_norm", ["aten::layer_norm(Tensor input, SymInt[] normalized_shape, "
                               "Tensor? weight=None, Tensor? bias=None, float eps=1e-05, "
                               "bool cudnn_enable=True) -> Tensor"],
                _layer_norm, tags=C,
                sample_inputs=lambda make: [((make((3, 4)), [4], make((4,)), make((4,))), {}),
                                            ((make((2, 3, 4)), [3, 4]), {})]))


def _embedding(weight: Any, indices: Any, padding_idx: int = -1,
               scale_grad_by_freq: bool = False, sparse: bool = False) -> Any:
    """Rows of ``weight`` picked by ``indices``; rows at ``padding_idx`` get no gradient."""
    import minijit
    if indices.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got "
                           f"{indices.type()} instead (while checking arguments for embedding)")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("minijit: embedding with scale_grad_by_freq or sparse "
                                  "gradients is not supported")
    rows = weight.index_select(0, indices.reshape([-1]))
    out = rows.view(list(indices.shape) + [weight.size(1)])
    if padding_idx is not None and padding_idx >= 0:
        # Same values, but the padding positions read a detached copy: no gradient flows there.
        pad = (indices == padding_idx).unsqueeze(-1)
        out = minijit.where(pad, out.detach(), out)
    return out


register(OpInfo("embedding", ["aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, "
                              "bool scale_grad_by_freq=False, bool sparse=False) -> Tensor"],
                _embedding, tags=C,
                sample_inputs=lambda make: [((make((5, 3)), make((2, 2), low=0, high=4.99,
                                                                  dtype=_dt.int64)), {})]))


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
