"""``nn.functional``: activations, dropout, embedding, normalisation and losses.

Nothing here computes on arrays.  Each function is either one registered op
(``F.linear`` → ``aten::linear``, ``F.softmax`` → ``aten::softmax``) or a composite written in
minijit ops (DESIGN §10.4), so autograd, the tracer and the scripter see every step.  PyTorch
runs some of the composites as fused kernels, so their final ``grad_fn`` differs:

=================  ============================  ============================================
function           PyTorch's grad_fn             minijit's grad_fn (the last op)
=================  ============================  ============================================
``mse_loss``       ``MseLossBackward0``          ``MeanBackward0``, ``SumBackward0``,
                                                 ``PowBackward0`` (by reduction)
``nll_loss``       ``NllLossBackward0``          ``DivBackward0``, ``SumBackward0``,
                                                 ``NegBackward0`` (by reduction)
``cross_entropy``  ``NllLossBackward0``          as ``nll_loss``; probability targets match
=================  ============================  ============================================

One value differs: when every target of a ``mean`` NLL/cross-entropy is ``ignore_index``, both
return NaN, but PyTorch's gradient is zero and minijit's is NaN (0/0 in the division).

``dropout`` is PyTorch's CPU algorithm step by step (``empty_like``, ``bernoulli_(1 - p)``,
``div_(1 - p)``, ``mul``), so its mask and values are bit-identical to PyTorch's after the same
``manual_seed`` and its grad_fn is PyTorch's ``MulBackward0``.
"""
from __future__ import annotations

import warnings
from typing import List, Optional

import minijit

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad

__all__ = ["linear", "relu", "relu_", "tanh", "sigmoid", "gelu", "silu", "softplus",
           "leaky_relu", "elu", "softmax", "log_softmax", "dropout", "embedding", "layer_norm",
           "mse_loss", "l1_loss", "nll_loss", "cross_entropy", "one_hot"]


# ---- linear and activations ------------------------------------------------------------------
def _builtin(fn):
    """Mark a function that PyTorch implements in C++ (``torch._C._nn.linear``): the tracer
    skips its frame when it looks for a node's source line, so the line is the caller's
    (``linear.py:...`` in ``Linear.forward``), as in PyTorch's graphs."""
    from ..jit.frontend.tracer_frames import TRANSPARENT_CODES
    TRANSPARENT_CODES.add(fn.__code__)
    return fn


@_builtin
def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``input @ weight.T + bias`` (one ``aten::linear`` node)."""
    return minijit.linear(input, weight, bias)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``; ``inplace`` writes into ``input``."""
    if inplace:
        return input.relu_()
    return minijit.relu(input)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return input.relu_()


def tanh(input: Tensor) -> Tensor:
    """Elementwise tanh."""
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    """Elementwise logistic sigmoid."""
    return input.sigmoid()


@_builtin
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU, exact (erf) or ``approximate='tanh'``."""
    return minijit.gelu(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``."""
    if inplace:
        return input.copy_(minijit.silu(input))
    return minijit.silu(input)


@_builtin
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``."""
    return minijit.softplus(input, beta, threshold)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for positive ``x``, ``negative_slope * x`` otherwise."""
    if inplace:
        return input.leaky_relu_(negative_slope)
    return minijit.leaky_relu(input, negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for positive ``x``, ``alpha * (exp(x) - 1)`` otherwise."""
    if inplace:
        return input.copy_(minijit.elu(input, alpha))
    return minijit.elu(input, alpha)


def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """The legacy implicit dim of ``softmax(x)`` without ``dim`` (with PyTorch's warning)."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype: Optional[minijit.dtype] = None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``, computed in ``dtype`` when given."""
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    return minijit.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype: Optional[minijit.dtype] = None) -> Tensor:
    """``x - logsumexp(x, dim)``, computed in ``dtype`` when given."""
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return minijit.log_softmax(input, dim, dtype)


# ---- dropout -----------------------------------------------------------------------------------
def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Outside training (or for ``p == 0``) it returns ``input`` itself, as ATen does.

    Example:
        >>> _ = minijit.manual_seed(0)
        >>> dropout(minijit.ones(6), 0.5)
        tensor([0., 0., 2., 0., 0., 0.])
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if inplace:
        if p == 0 or not training or input.numel() == 0:
            return input
        noise = minijit.empty_like(input)
        noise.bernoulli_(1 - p)
        noise.div_(1 - p)
        return input.mul_(noise)
    return minijit.dropout(input, p, training)


# ---- embedding and normalisation ---------------------------------------------------------------
def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``: shape ``input.shape + (dim,)``.

    Rows at ``padding_idx`` are returned as stored but receive no gradient.
    """
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.size(0) + padding_idx
    else:
        padding_idx = -1
    if max_norm is not None:
        input = input.contiguous()
        _no_grad_embedding_renorm_(weight, input, max_norm, norm_type)
    return minijit.embedding(weight, input, padding_idx, scale_grad_by_freq, sparse)


def _no_grad_embedding_renorm_(weight: Tensor, input: Tensor, max_norm: float,
                               norm_type: float) -> None:
    """Rescale, in place and unrecorded by autograd, the rows ``input`` names whose norm
    exceeds ``max_norm``.  Scripted code calls the op of this name instead (``.op`` below),
    as PyTorch's does: see ``ops/composite.py``."""
    minijit.embedding_renorm_(weight.detach(), input, max_norm, norm_type)


_no_grad_embedding_renorm_.op = minijit.ops.registry.get(  # type: ignore[attr-defined]
    "aten::_no_grad_embedding_renorm_")


def layer_norm(input: Tensor, normalized_shape: List[int], weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift.

    ``(x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance, as PyTorch.
    """
    return minijit.layer_norm(input, list(normalized_shape), weight, bias, eps)


# ---- losses ------------------------------------------------------------------------------------
def _legacy_get_string(size_average: Optional[bool], reduce: Optional[bool]) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if (size_average and reduce) else ("sum" if reduce else "none")
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{ret}' instead.", stacklevel=3)
    return ret


def _check_reduction(reduction: str) -> None:
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(input: Tensor, target: Tensor, size_average: Optional[bool] = None,
             reduce: Optional[bool] = None, reduction: str = "mean",
             weight: Optional[Tensor] = None) -> Tensor:
    """Mean (or sum, or elementwise) squared error."""
    if target.size() != input.size():
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input "
                      f"size ({input.size()}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", stacklevel=2)
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    squared_errors = (input - target).pow(2)
    if weight is not None:
        if weight.size() != input.size():
            raise ValueError("Weights and input must have the same size.")
        weighted = squared_errors * weight
        if reduction == "none":
            return weighted
        if reduction == "sum":
            return weighted.sum()
        if reduction == "mean":
            return weighted.sum() / weight.sum()
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', "
                         "'mean', 'sum'.")
    _check_reduction(reduction)
    return _reduce(squared_errors, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: Optional[bool] = None,
            reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or elementwise) absolute error."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    _check_reduction(reduction)
    return _reduce((input - target).abs(), reduction)


def _nll_loss_nd(input: Tensor, target: Tensor, weight: Optional[Tensor], reduction: str,
                 ignore_index: int) -> Tensor:
    """``-input[i, target[i]] * weight[target[i]]``, reduced like ATen's ``nll_loss_nd``.

    The class dimension is 1 (0 for an unbatched ``(C,)`` input); ``mean`` divides by the
    total weight of the targets that are not ``ignore_index``.
    """
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() != 1 and input.size(0) != target.size(0):
        raise ValueError(f"Expected input batch_size ({input.size(0)}) to match target "
                         f"batch_size ({target.size(0)}).")
    _check_reduction(reduction)
    class_dim = 0 if input.dim() == 1 else 1
    ignored = target == ignore_index
    safe_target = target.masked_fill(ignored, 0)
    picked = input.gather(class_dim, safe_target.unsqueeze(class_dim)).squeeze(class_dim)
    if weight is not None:
        w = weight.index_select(0, safe_target.reshape([-1])).reshape(list(target.shape))
        w = w.masked_fill(ignored, 0.0)
    else:
        w = ignored.logical_not().to(input.dtype)
    losses = -(picked * w)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w.sum()


def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
             size_average: Optional[bool] = None, ignore_index: int = -100,
             reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of class-index targets given log-probabilities."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    return _nll_loss_nd(input, target, weight, reduction, ignore_index)


def _class_weight_view(weight: Tensor, ndim: int, class_dim: int) -> Tensor:
    """``weight`` shaped ``[1, C, 1, ...]`` to broadcast against the input."""
    shape = [1] * ndim
    shape[class_dim] = weight.size(0)
    return weight.view(shape)


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                  size_average: Optional[bool] = None, ignore_index: int = -100,
                  reduce: Optional[bool] = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits ``input`` against class indices or class probabilities.

    A ``target`` with the input's shape holds probabilities; otherwise class indices
    (``log_softmax`` then :func:`nll_loss`), optionally with label smoothing.
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    _check_reduction(reduction)
    class_dim = 0 if input.dim() == 1 else 1
    logp = minijit.log_softmax(input, class_dim)
    n_classes = input.size(class_dim)
    if input.shape == target.shape:
        if not target.is_floating_point():
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {target.dtype.scalar_name}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if label_smoothing > 0.0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        terms = logp * target
        if weight is not None:
            terms = terms * (_class_weight_view(weight, input.dim(), 1)
                             if input.dim() > 1 else weight)
        if reduction == "none":
            return -terms.sum(dim=class_dim)
        if reduction == "sum":
            return -terms.sum()
        return -terms.sum() / (input.numel() / n_classes)
    if label_smoothing <= 0.0:
        return _nll_loss_nd(logp, target, weight, reduction, ignore_index)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    nll = _nll_loss_nd(logp, target, weight, reduction, ignore_index)
    ignored = target == ignore_index
    if weight is not None:
        smooth = -(logp * _class_weight_view(weight, input.dim(), class_dim)).sum(dim=class_dim)
    else:
        smooth = -logp.sum(dim=class_dim)
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "mean":
        if weight is not None:
            safe_target = target.masked_fill(ignored, 0).reshape([-1])
            target_weight = weight.index_select(0, safe_target).masked_fill(
                ignored.reshape([-1]), 0.0)
            ret = smooth.sum() / target_weight.sum()
        else:
            ret = smooth.sum() / ignored.logical_not().sum()
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - label_smoothing) * nll + ret * (label_smoothing / n_classes)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``int64`` one-hot encoding with a new trailing dimension of size ``num_classes``.

    Example:
        >>> one_hot(minijit.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    if tensor.dtype != minijit.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel() == 0:
        if num_classes <= 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        return minijit.zeros(list(tensor.shape) + [num_classes], dtype=minijit.int64,
                             device=tensor.device)
    if num_classes == -1:
        num_classes = int(tensor.max().item()) + 1
    elif int(tensor.max().item()) >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    if int(tensor.min().item()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    index = tensor.unsqueeze(-1)
    zeros = minijit.zeros(list(tensor.shape) + [num_classes], dtype=minijit.int64,
                          device=tensor.device)
    ones = minijit.ones(list(index.shape), dtype=minijit.int64, device=tensor.device)
    return zeros.scatter(-1, index, ones)

