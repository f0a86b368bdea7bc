"""Reference solution of exercise 2 (``tutorials/exercises/02_fusible_op.py``).

Compare with the records in ``minijit/ops/pointwise.py`` (``relu``, ``leaky_relu``).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import minijit
from minijit.ops.functional import make_function
from minijit.ops.registry import OpInfo, Tag, find, register

NAME = "exercise_hardswish"
SCHEMA = "aten::exercise_hardswish(Tensor self) -> Tensor"


def _impl(xp: Any, x: Any) -> Any:
    return x * xp.clip(x + 3, 0, 6) / 6


def _backward(ctx: Any, grad: Any) -> Any:
    x = ctx.self
    inside = (x * 2 + 3) / 6
    local = minijit.where(x < -3, minijit.zeros_like(x),
                          minijit.where(x > 3, minijit.ones_like(x), inside))
    return (grad * local,)


def make_op() -> OpInfo:
    """The registry record of ``aten::exercise_hardswish`` (not registered yet)."""
    return OpInfo(NAME, [SCHEMA], _impl, tags=(Tag.POINTWISE,),
                  backward=_backward, saves=("self",),
                  numpy_template="({self} * np.clip({self} + 3, 0, 6) / 6)",
                  cuda_template="({self} * fminf(fmaxf({self} + 3.0f, 0.0f), 6.0f) / 6.0f)")


# ---- given -----------------------------------------------------------------------------------
_FUNCTION: Optional[Callable] = None


def get_op() -> OpInfo:
    """Register ``make_op()``'s record (once) and return it."""
    return find(NAME) or register(make_op())


def exercise_hardswish(x: Any) -> Any:
    """``hardswish`` through the dispatcher, like ``minijit.tanh``."""
    global _FUNCTION
    if _FUNCTION is None:
        _FUNCTION = make_function(get_op())
    return _FUNCTION(x)


if __name__ == "__main__":
    from minijit.jit.runtime.executor import GraphExecutor

    def f(x, y):
        return exercise_hardswish(x * y + 1.0) * 2.0 - y

    x, y = minijit.rand(4, 5) * 8 - 4, minijit.rand(4, 5)
    traced = minijit.jit.trace(f, (x, y))
    executor = GraphExecutor(traced.graph)
    for _ in range(2):                   # the first call profiles, the second builds the plan
        executor.run((x, y))
    print(executor.graph_for((x, y)))
    print("fused == eager:", executor.run((x, y)).tolist() == f(x, y).tolist())
