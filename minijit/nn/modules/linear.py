"""``nn.Linear`` and ``nn.Identity``."""
from __future__ import annotations

import math
from typing import Any

import minijit

from ..._tensor import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = ["Identity", "Linear"]


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x A^T + b``, with weight ``(out_features, in_features)``.

    Both tensors start as U(-1/sqrt(in_features), 1/sqrt(in_features)), drawn exactly as
    PyTorch draws them: ``kaiming_uniform_(weight, a=sqrt(5))`` then ``uniform_(bias)``.

    Example:
        >>> _ = minijit.manual_seed(191009)
        >>> Linear(4, 4).weight[0]
        tensor([-0.1685,  0.4943, -0.3934,  0.1283], grad_fn=<SelectBackward0>)
    """

    __constants__ = ["in_features", "out_features"]
    in_features: int
    out_features: int
    weight: Tensor

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(minijit.empty((out_features, in_features), **factory_kwargs))
        if bias:
            self.bias = Parameter(minijit.empty(out_features, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw weight and bias (same draws, same order as PyTorch)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
