"""``optim.SGD``: stochastic gradient descent with momentum, dampening, Nesterov, weight decay."""
from __future__ import annotations

from typing import Any, Callable, List, Optional

from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad, no_grad
from .optimizer import Optimizer, ParamsT

__all__ = ["SGD", "sgd"]


class SGD(Optimizer):
    """PyTorch's SGD, single-tensor path (``foreach=False``), same update order.

    Per parameter ``p`` with gradient ``g`` (negated when ``maximize``)::

        g = g + weight_decay * p
        buf = g                                  (first step)
        buf = momentum * buf + (1 - dampening) * g   (later steps)
        g = g + momentum * buf  if nesterov else  buf
        p = p - lr * g

    Example:
        >>> import minijit
        >>> w = minijit.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.8000, 1.6000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if fused or differentiable:
            raise NotImplementedError("minijit's SGD has only the single-tensor path")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state: Any) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

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
                momentum_buffers: List[Optional[Tensor]] = []
                for p in group["params"]:
                    if p.grad is not None:
                        params.append(p)
                        grads.append(p.grad)
                        if group["momentum"] != 0:
                            momentum_buffers.append(self.state[p].get("momentum_buffer"))
                sgd(params, grads, momentum_buffers, weight_decay=group["weight_decay"],
                    momentum=group["momentum"], lr=group["lr"], dampening=group["dampening"],
                    nesterov=group["nesterov"], maximize=group["maximize"])
                if group["momentum"] != 0:
                    for p, buf in zip(params, momentum_buffers):
                        self.state[p]["momentum_buffer"] = buf
        return loss


def sgd(params: List[Tensor], grads: List[Tensor], momentum_buffer_list: List[Optional[Tensor]],
        *, weight_decay: float, momentum: float, lr: float, dampening: float, nesterov: bool,
        maximize: bool) -> None:
    """The functional update (``torch.optim.sgd._single_tensor_sgd``), run under ``no_grad``."""
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        if momentum != 0:
            buf = momentum_buffer_list[i]
            if buf is None:
                buf = grad.detach().clone()
                momentum_buffer_list[i] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = grad.add(buf, alpha=momentum) if nesterov else buf
        param.add_(grad, alpha=-lr)
