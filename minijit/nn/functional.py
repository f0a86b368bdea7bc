"""``nn.functional``: activations, dropout, embedding, normalisation and losses.

Nothing here computes on arrays.  Each function is either one registered op
(``F.linear`` → ``aten::linear``, ``F.softmax`` → ``aten::softmax``, ``F.mse_loss`` →
``aten::mse_loss``) or a composite written in minijit ops (DESIGN §10.4), so autograd, the
tracer and the scripter see every step.  The losses call the ops PyTorch's call
(``torch._C._nn.cross_entropy_loss`` ...: ``ops/loss.py``), so their grad_fns are PyTorch's
(``MseLossBackward0``, ``NllLossBackward0``).

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
from ..ops import loss as _nn
from . import _reduction as _Reduction

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
# ``mse_loss``, ``nll_loss`` and ``cross_entropy`` are PyTorch's Python source, in the typed
# subset the scripter compiles: ``_Reduction`` turns ``reduction`` into ATen's enum and one op
# of ``ops/loss.py`` (PyTorch's ``torch._C._nn``) does the work, so traces record
# ``aten::mse_loss``, ``aten::nll_loss_nd`` and ``aten::cross_entropy_loss`` and scripted
# code calls ``torch.mse_loss(...)``, as PyTorch's do.
def _legacy_get_string(size_average: Optional[bool], reduce: Optional[bool]) -> str:
    """``_Reduction.legacy_get_string`` with the warning pointing at the caller's caller
    (``l1_loss``'s user)."""
    ret = _Reduction.legacy_get_string(size_average, reduce, emit_warning=False)
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
    """Mean (or sum, or elementwise) squared error, optionally weighted per element.

    Example:
        >>> mse_loss(minijit.tensor([1.0, 2.0]), minijit.tensor([0.0, 0.0]))
        tensor(2.5000)
    """
    if target.size() != input.size():
        warnings.warn(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}). "
            "This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=2,
        )

    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)

    expanded_input, expanded_target = minijit.broadcast_tensors(input, target)

    if weight is not None:
        if weight.size() != input.size():
            raise ValueError("Weights and input must have the same size.")

        # Perform weighted MSE loss manually
        squared_errors = minijit.pow(expanded_input - expanded_target, 2)
        weighted_squared_errors = squared_errors * weight

        if reduction == "none":
            return weighted_squared_errors
        elif reduction == "sum":
            return minijit.sum(weighted_squared_errors)
        elif reduction == "mean":
            return minijit.sum(weighted_squared_errors) / minijit.sum(weight)
        else:
            raise ValueError(
                f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'."
            )
    else:
        return _nn.mse_loss(
            expanded_input,
            expanded_target,
            _Reduction.get_enum(reduction),
        )


def l1_loss(input: Tensor, target: Tensor, size_average: Optional[bool] = None,
            reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or elementwise) absolute error."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    _check_reduction(reduction)
    return _reduce((input - target).abs(), reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
             size_average: Optional[bool] = None, ignore_index: int = -100,
             reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of class-index targets given log-probabilities.

    The class dimension is 1 (0 for an unbatched ``(C,)`` input); ``mean`` divides by the
    total weight of the targets that are not ``ignore_index``.

    Example:
        >>> nll_loss(minijit.tensor([[-1.0, -2.0], [-3.0, -4.0]]), minijit.tensor([0, 1]))
        tensor(2.5000)
    """
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    return _nn.nll_loss_nd(
        input,
        target,
        weight,
        _Reduction.get_enum(reduction),
        ignore_index,
    )


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                  size_average: Optional[bool] = None, ignore_index: int = -100,
                  reduce: Optional[bool] = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits ``input`` against class indices or class probabilities.

    A ``target`` with the input's shape holds probabilities; otherwise class indices
    (``log_softmax`` then :func:`nll_loss`), optionally with label smoothing.

    Example:
        >>> cross_entropy(minijit.tensor([[0.0, 0.0]]), minijit.tensor([1]))
        tensor(0.6931)
    """
    if size_average is not None or reduce is not None:
        reduction = _Reduction.legacy_get_string(size_average, reduce)
    return _nn.cross_entropy_loss(
        input,
        target,
        weight,
        _Reduction.get_enum(reduction),
        ignore_index,
        label_smoothing,
    )


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

