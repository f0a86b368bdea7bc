"""Loss ops, as ATen has them: ``torch._C._nn.mse_loss``, ``nll_loss_nd``, ``cross_entropy_loss``.

PyTorch's ``F.mse_loss`` / ``F.nll_loss`` / ``F.cross_entropy`` are thin Python functions
around single ATen ops, so a trace records one ``aten::mse_loss`` node (after
``aten::broadcast_tensors``), one ``aten::nll_loss_nd``, one ``aten::cross_entropy_loss``, and
scripted code calls ``torch.mse_loss(...)``.  minijit mirrors ATen's layering:

* ``mse_loss``, ``nll_loss`` (1-D/2-D inputs) and ``nll_loss2d`` (4-D) are kernels with their
  own derivatives (``MseLossBackward0``, ``NllLossBackward0``, ``NllLoss2DBackward0``), written
  in minijit ops beside them so they differentiate twice;
* ``nll_loss_nd``, ``cross_entropy_loss`` and ``broadcast_tensors`` are composites
  (``Tag.COMPOSITE``): each traces and scripts as one node while autograd sees the parts, so
  ``cross_entropy``'s grad_fn is ``NllLossBackward0`` (class indices), ``AddBackward0`` (label
  smoothing) or ``NegBackward0`` (class probabilities), as in PyTorch.  Their bodies follow
  ``aten/src/ATen/native/LossNLL.cpp`` step by step, checks and messages included.

``reduction`` is ATen's enum (``_reduction.get_enum``): 0 none, 1 mean, 2 sum.  The functions at
the bottom (``mse_loss`` ...) are what ``torch._C._nn`` offers: ``minijit.nn.functional`` calls
them, and the scripter compiles them to the ops (each carries its ``OpInfo`` as ``.op``).

``broadcast_tensors`` lives here because ``F.mse_loss`` is its only user in minijit so far; it
is a shape op and may move to ``shape.py``.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from .. import dtypes as _dt
from .dispatch import OpError, broadcast_shapes_message, call
from .registry import OpInfo, Tag, register
from .samples import no_gradcheck

__all__ = ["broadcast_tensors", "mse_loss", "nll_loss", "nll_loss2d", "nll_loss_nd",
           "cross_entropy_loss"]

NONE, MEAN, SUM = 0, 1, 2      # at::Reduction
C = (Tag.COMPOSITE,)


def _name(array: Any) -> str:
    return _dt.from_numpy_dtype(array.dtype).scalar_name


def _sizes(shape: Any) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


# ---- broadcast_tensors ---------------------------------------------------------------------------
def _broadcast_tensors(tensors: List[Any]) -> List[Any]:
    """Each tensor expanded to the common shape; one that has it already is returned itself
    (ATen's ``expand_outplace`` borrows it), so ``F.mse_loss(x, t)`` of equal shapes keeps
    ``x``'s history and the tracer names the outputs after the caller's ``input``/``target``."""
    shapes = [tuple(t.shape) for t in tensors]
    message = broadcast_shapes_message(shapes)
    if message is not None:
        raise RuntimeError(message)
    shape = list(np.broadcast_shapes(*shapes)) if shapes else []
    return [t if list(t.shape) == shape else t.expand(shape) for t in tensors]


register(OpInfo("broadcast_tensors", ["aten::broadcast_tensors(Tensor[] tensors) -> Tensor[]"],
                _broadcast_tensors, tags=C, method=False, function=False,
                sample_inputs=lambda make: [(([make((3, 1)), make((4,))],), {}),
                                            (([make((2, 3)), make((2, 3))],), {}),
                                            (([make((2, 3)), make((4,))],), {})]))


# ---- mse_loss ------------------------------------------------------------------------------------
def _mse_impl(xp: Any, a: Any, b: Any, reduction: int = MEAN) -> Any:
    """``(a - b) ** 2``, then the mean or sum (TensorIterator: broadcasting, promotion)."""
    common = _dt.promote_types(_dt.from_numpy_dtype(a.dtype), _dt.from_numpy_dtype(b.dtype))
    if not common.is_floating_point:
        raise OpError(f"\"mse_cpu\" not implemented for '{common.scalar_name}'",
                      NotImplementedError)
    message = broadcast_shapes_message([a.shape, b.shape])
    if message is not None:
        raise OpError(message)
    if reduction not in (NONE, MEAN, SUM):
        raise OpError("reduction == Reduction::Mean || reduction == Reduction::Sum INTERNAL "
                      "ASSERT FAILED: mse_loss got an invalid reduction")
    diff = xp.subtract(a.astype(common.np, copy=False), b.astype(common.np, copy=False))
    loss = diff * diff
    if reduction == MEAN:
        return xp.asarray(xp.mean(loss) if loss.size else np.nan, dtype=common.np)
    if reduction == SUM:
        return xp.asarray(xp.sum(loss), dtype=common.np)
    return loss


def _mse_backward(ctx: Any, g: Any) -> tuple:
    """derivatives.yaml: ``mse_loss_backward(grad, self, target, reduction)``, that is
    ``norm * (self - target) * grad`` with ``norm = 2 / numel`` for the mean, else 2."""
    diff = ctx.self - ctx.target
    norm = 2.0 / max(diff.numel(), 1) if ctx.reduction == MEAN else 2.0
    grad = diff * g * norm
    return (grad if ctx.needs_input_grad[0] else None,
            -grad if ctx.needs_input_grad[1] else None)


def _mse_samples(make: Callable) -> list:
    return [((make((3, 4)), make((3, 4))), {}),
            ((make((3, 4)), make((3, 4)), 0), {}),
            ((make((2, 3, 2)), make((2, 3, 2))), {"reduction": 2}),
            ((make((5,)), make((5,), dtype=_dt.float64)), {}),
            ((make((3,)), make((3,), low=-3, high=3, dtype=_dt.int64)), {}),
            no_gradcheck((make((0, 3)), make((0, 3)))),                 # nan: empty mean
            ((make((4,), dtype=_dt.int64), make((4,), dtype=_dt.int64)), {}),
            ((make((3,)), make((4,))), {})]


register(OpInfo("mse_loss",
                ["aten::mse_loss(Tensor self, Tensor target, int reduction=1) -> Tensor"],
                _mse_impl, backward=_mse_backward, saves=("self", "target"), method=False,
                function=False, sample_inputs=_mse_samples))


# ---- nll_loss and nll_loss2d: the kernels ------------------------------------------------------
def _check_weight_dtype(x: Any, weight: Any) -> None:
    if weight is not None and weight.dtype != x.dtype:
        raise OpError(f"expected scalar type {_name(x)} but found {_name(weight)}")


def _check_targets(xp: Any, flat_target: Any, n_classes: int, ignore_index: int) -> None:
    bad = (flat_target != ignore_index) & ((flat_target < 0) | (flat_target >= n_classes))
    if bool(xp.any(bad)):
        first = int(flat_target[int(xp.argmax(bad))])
        raise OpError(f"Target {first} is out of bounds.", IndexError)


def _nll_compute(xp: Any, picked: Any, flat_target: Any, weight: Any, reduction: int,
                 ignore_index: int, none_shape: Optional[tuple]) -> Any:
    """The loss from ``picked`` = ``input`` at each target (ignored ones arbitrary), flat.

    ``none_shape`` is the unreduced result's shape, or None where ATen reduces anyway (a 1-D
    input gives a scalar for every reduction).  ``mean`` divides by the total weight of the
    targets that are not ignored (0/0 = nan when all are), and an empty ``mean`` is nan.
    """
    kept = flat_target != ignore_index
    if weight is not None:
        w = xp.where(kept, weight[xp.where(kept, flat_target, 0)], 0).astype(picked.dtype)
    else:
        w = kept.astype(picked.dtype)
    losses = xp.where(kept, -picked * w, 0).astype(picked.dtype)
    if reduction == NONE and none_shape is not None:
        return losses.reshape(none_shape)
    if flat_target.size == 0:
        return xp.asarray(np.nan if reduction == MEAN else 0, dtype=picked.dtype)
    total = xp.sum(losses)
    if reduction == MEAN:
        total = total / xp.sum(w)
    return xp.asarray(total, dtype=picked.dtype)


def _nll_impl(xp: Any, x: Any, target: Any, weight: Any = None, reduction: int = MEAN,
              ignore_index: int = -100) -> Any:
    """``nll_loss_forward``'s meta checks and CPU kernel (``LossNLL.cpp``), in that order."""
    if not 0 < x.ndim <= 2:
        raise OpError("input tensor should be 1D or 2D")
    if target.ndim > 1:
        raise OpError("0D or 1D target tensor expected, multi-target not supported")
    if target.dtype not in (np.int64, np.uint8):
        raise OpError(f"expected target dtype to be Long or Byte, but got {_name(target)}")
    if x.ndim == 1 and target.ndim == 1 and target.shape[0] != 1:
        raise OpError("For 1D input, 1D target must have size 1, but got target size: "
                      f"{target.shape[0]}", ValueError)
    if x.ndim != 1:
        if target.ndim == 0:
            raise OpError("Dimension specified as 0 but tensor has no dimensions", IndexError)
        if x.shape[0] != target.shape[0]:
            raise OpError(f"size mismatch (got input: {_sizes(x.shape)}, target: "
                          f"{_sizes(target.shape)})")
    n_classes = x.shape[-1]
    if weight is not None and (weight.ndim != 1 or weight.size != n_classes):
        raise OpError(f"weight tensor should be defined either for all {n_classes} classes or "
                      f"no classes but got weight tensor of shape: {_sizes(weight.shape)}")
    if x.dtype.kind != "f":
        raise OpError(f"\"nll_loss_out_frame\" not implemented for '{_name(x)}'",
                      NotImplementedError)
    _check_weight_dtype(x, weight)
    rows = x.reshape(-1, n_classes)
    flat = target.reshape(-1).astype(np.int64)
    _check_targets(xp, flat, n_classes, ignore_index)
    safe = xp.where(flat != ignore_index, flat, 0)
    picked = xp.take_along_axis(rows, safe[:, None], axis=1)[:, 0]
    return _nll_compute(xp, picked, flat, weight, reduction, ignore_index,
                        (x.shape[0],) if x.ndim == 2 else None)


def _nll2d_impl(xp: Any, x: Any, target: Any, weight: Any = None, reduction: int = MEAN,
                ignore_index: int = -100) -> Any:
    """``nll_loss2d_forward`` (``LossNLL2d.cpp``): ``(N, C, H, W)`` inputs, ``(N, H, W)``
    targets."""
    if target.dtype not in (np.int64, np.uint8):
        raise OpError(f"expected target dtype to be Long or Byte, but got {_name(target)}")
    if target.ndim != 3:
        raise OpError("only batches of spatial targets supported (3D tensors) but got targets "
                      f"of dimension: {target.ndim}")
    if x.ndim != 4:
        raise OpError("only batches of spatial inputs supported (4D tensors), but got input of "
                      f"dimension: {x.ndim}")
    if weight is not None and weight.size != x.shape[1]:
        raise OpError("weight tensor should be defined either for all or no classes")
    if (x.shape[0], x.shape[2], x.shape[3]) != tuple(target.shape):
        raise OpError(f"size mismatch (got input: {_sizes(x.shape)} , target: "
                      f"{_sizes(target.shape)}")
    if x.dtype.kind != "f":
        raise OpError(f"\"nll_loss2d_forward_out_frame\" not implemented for '{_name(x)}'",
                      NotImplementedError)
    if target.dtype != np.int64:
        raise OpError(f"expected scalar type Long but found {_name(target)}")
    _check_weight_dtype(x, weight)
    n_classes = x.shape[1]
    flat = target.reshape(-1)
    _check_targets(xp, flat, n_classes, ignore_index)
    safe = xp.where(target != ignore_index, target, 0)
    picked = xp.take_along_axis(x, safe[:, None], axis=1)[:, 0].reshape(-1)
    return _nll_compute(xp, picked, flat, weight, reduction, ignore_index, tuple(target.shape))


def _nll_backward(ctx: Any, g: Any) -> tuple:
    """``nll_loss_backward``: the gradient is zero except at each kept target, where it is
    ``-weight[t] * grad`` (divided by the total weight for the mean).  Entries of ignored
    targets are never written, so they stay 0 even when the mean divided by a zero total
    weight (all targets ignored), as in ATen.  Linear in ``grad``, so twice differentiable."""
    import minijit
    x, target, weight = ctx.self, ctx.target, ctx.weight
    if x.dim() == 1 and target.dim() == 1 and x.size(0) != 1:
        # ``nll_loss_backward``'s meta check, which the forward's does not share
        raise RuntimeError(f"size mismatch (got input: {_sizes(x.shape)}, target: "
                           f"{_sizes(target.shape)})")
    class_dim = 0 if x.dim() == 1 else 1
    kept = target != ctx.ignore_index
    safe = target.masked_fill(kept.logical_not(), 0).to(minijit.int64)
    index_shape = [1] if x.dim() == 1 else [target.size(0), 1] + list(target.shape[1:])
    index = safe.reshape(index_shape)
    hit = minijit.zeros_like(x, dtype=minijit.bool).scatter(class_dim, index,
                                                               kept.reshape(index_shape))
    class_shape = [1] * x.dim()
    class_shape[class_dim] = x.size(class_dim)
    w = weight.reshape(class_shape) if weight is not None else None
    unreduced = ctx.reduction == NONE and x.dim() != 1
    if unreduced:
        scale = -g.reshape(index_shape)
    else:
        if ctx.reduction == MEAN:
            total = (minijit.where(hit, w, 0.0).sum() if w is not None
                     else kept.sum().to(x.dtype))
            g = g / total
        scale = -g
    value = scale * w if w is not None else scale.expand(list(x.shape))
    return (minijit.where(hit, value, 0.0), None, None)


def _check_weight_needs_no_grad(weight: Any, function: str) -> None:
    """PyTorch's autograd codegen refuses a ``weight`` that requires grad, at the forward call
    (``check_no_requires_grad``): it has no derivative formula."""
    from ..autograd.grad_mode import GRAD_MODE
    if GRAD_MODE.enabled and weight is not None and getattr(weight, "requires_grad", False):
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to "
                           "argument 'weight'. This input cannot have requires_grad True.")


def _nll_grad_fn_name(name: str, function: str) -> Callable:
    """The grad_fn name, after :func:`_check_weight_needs_no_grad`: the tape asks a callable
    for the name exactly when it records a node, which is when PyTorch makes that check.
    (PyTorch checks before the kernel's own checks; ``nll_loss_nd`` does so too.)"""
    def grad_fn_name(bound: List[Any]) -> str:
        _check_weight_needs_no_grad(bound[2] if len(bound) > 2 else None, function)
        return name
    return grad_fn_name


_NLL_ARGS = ("Tensor self, Tensor target, Tensor? weight=None, int reduction=1, "
             "SymInt ignore_index=-100) -> Tensor")


def _nll_samples(make: Callable) -> list:
    def target(shape: tuple, classes: int) -> Any:
        return make(shape, low=0, high=classes - 0.01, dtype=_dt.int64)

    ignored = target((4,), 5)
    ignored._data[1] = -100
    all_ignored = target((2,), 3)
    all_ignored._data[:] = 7
    out_of_range = target((3,), 5)
    out_of_range._data[2] = 5
    weight = make((5,), low=0.5, high=1.5)
    return [((make((3, 5)), target((3,), 5)), {}),
            ((make((3, 5)), target((3,), 5), None, 0), {}),
            ((make((3, 5)), target((3,), 5)), {"reduction": 2}),
            ((make((4, 5)), ignored), {}),
            ((make((4, 5)), ignored, None, 0), {}),
            no_gradcheck((make((2, 3)), all_ignored, None, 1, 7)),     # nan: 0 / 0
            ((make((5,)), target((), 5)), {}),
            # (PyTorch's backward refuses a 1-D target for a 1-D input)
            no_gradcheck((make((5,)), target((1,), 5), None, 0)),
            ((make((3, 5), dtype=_dt.float64), target((3,), 5)), {}),
            no_gradcheck((make((0, 5)), target((0,), 5))),             # nan: empty mean
            ((make((0, 5)), target((0,), 5), None, 0), {}),
            ((make((3, 5)), target((3,), 5).to(_dt.uint8)), {}),
            # weight cannot require grad (PyTorch raises): gradcheck cannot run these
            no_gradcheck((make((3, 5)), target((3,), 5), weight)),
            no_gradcheck((make((4, 5)), ignored, weight, 0)),
            # errors, compared with PyTorch's
            ((make((3, 5)), out_of_range), {}),
            ((make((3, 5)), target((3,), 5).to(_dt.int32)), {}),
            ((make((2, 3, 4)), target((2, 4), 3)), {}),
            ((make((3, 5)), target((3, 1), 5)), {}),
            ((make((3, 5)), target((2,), 5)), {}),
            no_gradcheck((make((5,)), target((3,), 5))),               # (a ValueError)
            ((make((3, 5), dtype=_dt.int64), target((3,), 5)), {})]
    # (Bad weights are refused for requiring grad first: tests/test_losses.py checks them.)


def _nll2d_samples(make: Callable) -> list:
    def target(shape: tuple, classes: int) -> Any:
        return make(shape, low=0, high=classes - 0.01, dtype=_dt.int64)

    ignored = target((2, 2, 3), 4)
    ignored._data[0, 1, 2] = -100
    return [((make((2, 4, 2, 3)), target((2, 2, 3), 4)), {}),
            ((make((2, 4, 2, 3)), ignored, None, 0), {}),
            ((make((2, 4, 2, 3)), ignored, None, 2), {}),
            no_gradcheck((make((2, 4, 2, 3)), ignored, make((4,), low=0.5, high=1.5))),
            no_gradcheck((make((0, 4, 2, 3)), target((0, 2, 3), 4))),  # nan: empty mean
            ((make((2, 4, 2, 3)), target((2, 2, 3), 4).to(_dt.uint8)), {}),
            ((make((2, 4, 3)), target((2, 2, 3), 4)), {}),
            ((make((2, 4, 2, 3)), target((2, 3, 3), 4)), {})]


register(OpInfo("nll_loss", ["aten::nll_loss(" + _NLL_ARGS], _nll_impl, backward=_nll_backward,
                saves=("self", "target", "weight"), method=False, function=False,
                nondiff_args=(1, 2),
                grad_fn_name=_nll_grad_fn_name("NllLossBackward0", "nll_loss_forward"),
                sample_inputs=_nll_samples))
register(OpInfo("nll_loss2d", ["aten::nll_loss2d(" + _NLL_ARGS], _nll2d_impl,
                backward=_nll_backward, saves=("self", "target", "weight"), method=False,
                function=False, nondiff_args=(1, 2),
                grad_fn_name=_nll_grad_fn_name("NllLoss2DBackward0", "nll_loss2d_forward"),
                sample_inputs=_nll2d_samples))


# ---- nll_loss_nd and cross_entropy_loss: the composites -----------------------------------------
def _nll_loss_nd(self: Any, target: Any, weight: Any = None, reduction: int = MEAN,
                 ignore_index: int = -100) -> Any:
    """``nll_loss`` for 1-D and 2-D inputs, ``nll_loss2d`` for 4-D ones, and other ranks
    viewed as ``(N, C, 1, -1)`` for ``nll_loss2d`` (the unreduced result viewed back)."""
    if self.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {self.dim()})")
    if self.dim() != 1:
        # (ATen reads a 0-dim target's missing size 0 as 0.)
        batch = target.size(0) if target.dim() > 0 else 0
        if self.size(0) != batch:
            raise ValueError(f"Expected input batch_size ({self.size(0)}) to match target "
                             f"batch_size ({batch}).")
    if self.dim() in (1, 2):
        _check_weight_needs_no_grad(weight, "nll_loss_forward")
        return nll_loss(self, target, weight, reduction, ignore_index)
    if self.dim() == 4:
        _check_weight_needs_no_grad(weight, "nll_loss2d_forward")
        return nll_loss2d(self, target, weight, reduction, ignore_index)
    n, c = self.size(0), self.size(1)
    out_size = [n] + list(self.shape[2:])
    if list(target.shape[1:]) != list(self.shape[2:]):
        raise RuntimeError(f"Expected target size {_sizes(out_size)}, got "
                           f"{_sizes(target.shape)}")
    input_ = self.contiguous()
    target_ = target.contiguous()
    input_ = input_.view([n, c, 1, -1] if input_.numel() > 0 else [n, c, 0, 0])
    target_ = target_.view([n, 1, -1] if target_.numel() > 0 else [n, 0, 0])
    _check_weight_needs_no_grad(weight, "nll_loss2d_forward")
    out = nll_loss2d(input_, target_, weight, reduction, ignore_index)
    return out if reduction != NONE else out.view(out_size)


def _log_softmax(self: Any, class_dim: int) -> Any:
    """``at::log_softmax(self, class_dim, self.scalar_type())``, whose kernels take floats."""
    import minijit
    if not self.is_floating_point():
        kernel = ("log_softmax_lastdim_kernel_impl" if class_dim == self.dim() - 1
                  else "log_softmax_kernel_impl")
        raise NotImplementedError(f"\"{kernel}\" not implemented for "
                                  f"'{self.dtype.scalar_name}'")
    return minijit.log_softmax(self, class_dim, self.dtype)


def _invalid_reduction(reduction: int) -> RuntimeError:
    return RuntimeError(f"Invalid reduction type encountered in cross_entropy: {reduction}")


def _check_label_smoothing(label_smoothing: float) -> None:
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{_float_text(label_smoothing)}")


def _float_text(value: float) -> str:
    """A double as C++ streams print it (``1.5``, ``2``)."""
    return f"{value:g}"


def _prob_target(self: Any, target: Any, weight: Any, reduction: int,
                 label_smoothing: float) -> Any:
    """``cross_entropy_loss_prob_target``: ``-(log_softmax(x) * target [* weight])``, summed
    over classes and reduced; the mean divides by the number of samples."""
    class_dim = 0 if self.dim() == 1 else 1
    n_classes = self.size(class_dim)
    if weight is not None and (weight.dim() != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all "
                           f"{n_classes} classes or no classes but got weight tensor of shape: "
                           f"{_sizes(weight.shape)}")
    input = _log_softmax(self, class_dim)
    if label_smoothing > 0.0:
        _check_label_smoothing(label_smoothing)
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    terms = input * target
    if weight is not None:
        if input.dim() > 1:
            shape = [1] * input.dim()
            shape[1] = weight.size(0)
            weight = weight.view(shape)
        terms = terms * weight
    if reduction == MEAN:
        if input.numel() == 0:
            return -terms.sum().fill_(float("nan"))
        # PyTorch divides by an int (``aten::div.Scalar``: DivBackward1); minijit has only
        # ``div.Tensor`` (DivBackward0): same values, another node name.
        return -terms.sum() / (input.numel() // n_classes)
    if reduction == SUM:
        return -terms.sum()
    if reduction == NONE:
        return -terms.sum(class_dim)
    raise _invalid_reduction(reduction)


def _label_smoothing(self: Any, target: Any, weight: Any, reduction: int, ignore_index: int,
                     label_smoothing: float) -> Any:
    """``cross_entropy_loss_label_smoothing``: ``(1 - ε) * nll + ε / C * smooth`` where
    ``smooth`` is the (weighted) sum of ``-log_softmax`` over classes, zero at ignored
    targets, reduced like the NLL (the mean by the total weight of kept targets)."""
    class_dim = 0 if self.dim() == 1 else 1
    input = _log_softmax(self, class_dim)
    nllloss = _nll_loss_nd(input, target, weight, reduction, ignore_index)
    n_classes = input.size(class_dim)
    if weight is not None:
        shape = [1] * input.dim()
        shape[class_dim] = weight.size(0)
        smooth_loss = -(input * weight.view(shape)).sum(class_dim)
    else:
        smooth_loss = -input.sum(class_dim)
    ignore_mask = target == ignore_index
    smooth_loss.masked_fill_(ignore_mask, 0.0)
    if reduction == MEAN:
        if weight is not None:
            # (ATen sums ``weight.gather(0, target.masked_select(~ignore_mask))``: the same.)
            filtered_target = target.masked_fill(ignore_mask, 0)
            target_weights = weight.gather(0, filtered_target.flatten())
            ret = smooth_loss.sum() / target_weights.masked_fill_(ignore_mask.flatten(),
                                                                  0).sum()
        else:
            ret = smooth_loss.sum() / ignore_mask.logical_not().sum()
    elif reduction == SUM:
        ret = smooth_loss.sum()
    elif reduction == NONE:
        ret = smooth_loss
    else:
        raise _invalid_reduction(reduction)
    return (1 - label_smoothing) * nllloss + ret * (label_smoothing / n_classes)


def _cross_entropy_loss(self: Any, target: Any, weight: Any = None, reduction: int = MEAN,
                        ignore_index: int = -100, label_smoothing: float = 0.0) -> Any:
    """A target of the input's shape holds class probabilities; otherwise class indices:
    ``nll_loss_nd(log_softmax(x))``, or with label smoothing."""
    if list(self.shape) == list(target.shape):
        if not target.is_floating_point():
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {target.dtype.scalar_name}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _prob_target(self, target, weight, reduction, label_smoothing)
    if label_smoothing > 0.0:
        _check_label_smoothing(label_smoothing)
        return _label_smoothing(self, target, weight, reduction, ignore_index, label_smoothing)
    class_dim = 0 if self.dim() == 1 else 1
    return _nll_loss_nd(_log_softmax(self, class_dim), target, weight, reduction, ignore_index)


def _index_target(make: Callable, shape: tuple, classes: int) -> Any:
    return make(shape, low=0, high=classes - 0.01, dtype=_dt.int64)


def _nll_nd_samples(make: Callable) -> list:
    t = _index_target
    return [((make((3, 5)), t(make, (3,), 5)), {}),
            ((make((5,)), t(make, (), 5)), {}),
            ((make((2, 3, 4)), t(make, (2, 4), 3)), {}),
            ((make((2, 3, 4)), t(make, (2, 4), 3), None, 0), {}),
            ((make((2, 3, 2, 2)), t(make, (2, 2, 2), 3), None, 2), {}),
            ((make((2, 3, 2, 2, 2)), t(make, (2, 2, 2, 2), 3), None, 0), {}),
            ((make((2, 3, 4)), t(make, (2, 4), 3), make((3,), low=0.5, high=1.5)), {}),
            ((make((0, 3, 4)), t(make, (0, 4), 3), None, 0), {}),
            ((make(()), t(make, (), 3)), {}),
            ((make((2, 3, 4)), t(make, (3, 4), 3)), {}),
            ((make((2, 3, 4)), t(make, (2, 5), 3)), {})]


def _cross_entropy_samples(make: Callable) -> list:
    t = _index_target
    ignored = t(make, (4,), 5)
    ignored._data[2] = -100

    def probs(shape: tuple) -> Any:
        return make(shape, low=0.0, high=1.0)

    weight = make((5,), low=0.5, high=1.5)
    return [((make((3, 5)), t(make, (3,), 5)), {}),
            ((make((3, 5)), t(make, (3,), 5), None, 0), {}),
            ((make((5,)), t(make, (), 5)), {}),
            ((make((2, 3, 4)), t(make, (2, 4), 3)), {}),
            ((make((4, 5)), ignored, weight), {}),
            ((make((4, 5)), ignored, None, 1, -100, 0.2), {}),
            ((make((4, 5)), ignored, weight, 1, -100, 0.2), {}),
            ((make((4, 5)), ignored, weight, 0, -100, 0.2), {}),
            ((make((4, 5)), ignored, None, 2, -100, 0.2), {}),
            ((make((2, 3, 4)), t(make, (2, 4), 3), make((3,)), 0, -100, 0.3), {}),
            ((make((5,)), t(make, (), 5), None, 1, -100, 0.1), {}),
            ((make((3, 5)), probs((3, 5)), None, 2), {}),
            ((make((3, 5)), probs((3, 5)), weight, 0), {}),
            ((make((2, 3, 4)), probs((2, 3, 4)), None, 0, -100, 0.25), {}),
            ((make((3, 5)), probs((3, 5)).double(), None, 2), {}),
            # errors, compared with PyTorch's
            ((make((3, 5)), t(make, (3, 5), 5)), {}),
            ((make((3, 5)), probs((3, 5)), None, 1, 1), {}),
            ((make((3, 5)), probs((3, 5)), make((4,))), {}),
            ((make((3, 5)), t(make, (3,), 5), None, 1, -100, 1.5), {}),
            ((make((3, 5)), probs((3, 5)), None, 4), {}),
            ((make((3, 5)), t(make, (3,), 5), None, 4, -100, 0.1), {}),
            ((make((3, 5), dtype=_dt.int64), t(make, (3,), 5)), {}),
            ((make((2, 3, 4)), t(make, (2, 5), 3)), {})]


register(OpInfo("nll_loss_nd", ["aten::nll_loss_nd(" + _NLL_ARGS], _nll_loss_nd, tags=C,
                method=False, function=False, sample_inputs=_nll_nd_samples))
register(OpInfo("cross_entropy_loss",
                [("aten::cross_entropy_loss(Tensor self, Tensor target, Tensor? weight=None, "
                  "int reduction=1, SymInt ignore_index=-100, float label_smoothing=0.) -> "
                  "Tensor")],
                _cross_entropy_loss, tags=C, method=False, function=False,
                sample_inputs=_cross_entropy_samples))


# ---- the Python entry points (``torch._C._nn``) ------------------------------------------------
def _entry(name: str) -> Callable:
    """``name(*args, **kwargs)`` calling the registered op; ``.op`` makes the scripter compile
    a call to it into the op's node."""
    from .registry import get
    op = get(name)

    def function(*args: Any, **kwargs: Any) -> Any:
        return call(op, args, kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = "\n".join(s.text for s in op.schemas)
    function.op = op            # type: ignore[attr-defined]
    return function


mse_loss = _entry("mse_loss")
nll_loss = _entry("nll_loss")
nll_loss2d = _entry("nll_loss2d")
nll_loss_nd = _entry("nll_loss_nd")
cross_entropy_loss = _entry("cross_entropy_loss")
_broadcast_op = _entry("broadcast_tensors")


def broadcast_tensors(*tensors: Any) -> Tuple[Any, ...]:
    """``torch.broadcast_tensors(*tensors)``: the tensors expanded to one shape.

    Example:
        >>> import minijit
        >>> a, b = broadcast_tensors(minijit.zeros(2, 1), minijit.zeros(3))
        >>> list(a.shape), list(b.shape)
        ([2, 3], [2, 3])
    """
    return tuple(_broadcast_op(list(tensors)))


broadcast_tensors.op = _broadcast_op.op   # type: ignore[attr-defined]
