"""``optim.Adam``: adaptive moment estimation (with optional AMSGrad and weight decay)."""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

import minijit

from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad, no_grad
from .optimizer import Optimizer, ParamsT

__all__ = ["Adam", "adam"]


class Adam(Optimizer):
    """PyTorch's Adam, single-tensor path (``foreach=False``), same update order.

    Per parameter, with step count ``t`` (a float32 scalar tensor in ``state["step"]``)::

        g = g + weight_decay * p                 (decoupled: p *= 1 - lr * weight_decay)
        m = lerp(m, g, 1 - beta1)
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                    (amsgrad; used instead of v below)
        denom = sqrt(v) / sqrt(1 - beta2 ** t) + eps
        p = p - lr / (1 - beta1 ** t) * m / denom
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, decoupled_weight_decay: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (isinstance(betas[0], float) and isinstance(betas[1], float)):
            raise ValueError("betas must be either both floats or both Tensors")
        if fused or differentiable or capturable:
            raise NotImplementedError("minijit's Adam has only the single-tensor path")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def __setstate__(self, state: Any) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("fused", None)

    def _init_group(self, group: dict, params: List[Tensor], grads: List[Tensor],
                    exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor],
                    max_exp_avg_sqs: List[Tensor], state_steps: List[Tensor]) -> None:
        """Collect the parameters that have gradients, creating their state on first use."""
        for p in group["params"]:
            if p.grad is None:
                continue
            params.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                # A 0-d float tensor, float64 only under a float64 default dtype (PyTorch's
                # ``_get_scalar_dtype``); ``.item()`` reads it at every step.
                scalar_dtype = minijit.float64 if minijit.get_default_dtype() is \
                    minijit.float64 else minijit.float32
                state["step"] = minijit.zeros([], dtype=scalar_dtype)
                state["exp_avg"] = minijit.zeros_like(p)
                state["exp_avg_sq"] = minijit.zeros_like(p)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = minijit.zeros_like(p)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            if group["amsgrad"]:
                max_exp_avg_sqs.append(state["max_exp_avg_sq"])
            state_steps.append(state["step"])

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                params: List[Tensor] = []
                grads: List[Tensor] = []
                exp_avgs: List[Tensor] = []
                exp_avg_sqs: List[Tensor] = []
                max_exp_avg_sqs: List[Tensor] = []
                state_steps: List[Tensor] = []
                beta1, beta2 = group["betas"]
                self._init_group(group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                                 state_steps)
                adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps,
                     amsgrad=group["amsgrad"], beta1=beta1, beta2=beta2, lr=group["lr"],
                     weight_decay=group["weight_decay"], eps=group["eps"],
                     maximize=group["maximize"],
                     decoupled_weight_decay=group["decoupled_weight_decay"])
        return loss


def _lerp_(start: Tensor, end: Tensor, weight: float) -> Tensor:
    """In-place ``start + weight * (end - start)`` with ATen's two-sided formula.

    ATen evaluates from the nearer end (``end - (end - start) * (1 - weight)`` for
    ``weight >= 0.5``) so that ``weight == 1`` gives ``end`` exactly.  ATen fuses the final
    multiply-add; minijit rounds twice, so results can differ in the last bit.
    """
    diff = end - start
    if abs(weight) < 0.5:
        return start.add_(diff * weight)
    return start.copy_(end - diff * (1 - weight))


def adam(params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor],
         exp_avg_sqs: List[Tensor], max_exp_avg_sqs: List[Tensor], state_steps: List[Tensor],
         *, amsgrad: bool, beta1: float, beta2: float, lr: float, weight_decay: float,
         eps: float, maximize: bool, decoupled_weight_decay: bool = False) -> None:
    """The functional update (``torch.optim.adam._single_tensor_adam``), run under ``no_grad``.

    ``addcmul_``/``addcdiv_`` are spelled with their ATen evaluation order:
    ``self + (value * t1) * t2`` and ``self + (value * t1) / t2``.
    """
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg = exp_avgs[i]
        exp_avg_sq = exp_avg_sqs[i]
        step_t = state_steps[i]
        step_t += 1
        if weight_decay != 0:
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).add_(grad * (1 - beta2) * grad)
        step = step_t.item()
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        if amsgrad:
            max_exp_avg_sqs[i].copy_(minijit.maximum(max_exp_avg_sqs[i], exp_avg_sq))
            denom = (max_exp_avg_sqs[i].sqrt() / bias_correction2_sqrt).add_(eps)
        else:
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        param.add_(exp_avg * (-step_size) / denom)
