"""Reference solution of exercise 1 (``tutorials/exercises/01_backward_rule.py``).

PyTorch's ``derivatives.yaml`` has the same rule: ``self: grad * self / result``,
``other: grad * other / result``.
"""
from __future__ import annotations

from typing import Any, Tuple

import minijit
from minijit.ops.functional import make_function
from minijit.ops.registry import OpInfo, Tag, find, register


def hypot_backward(ctx: Any, grad: minijit.Tensor) -> Tuple[Any, Any]:
    """Gradients of ``hypot(self, other)`` with respect to ``self`` and ``other``.

    ``d sqrt(a² + b²) / da = a / sqrt(a² + b²) = a / result``, and the same for ``b``.
    """
    return grad * ctx.self / ctx.result, grad * ctx.other / ctx.result


SAVES: Tuple[str, ...] = ("self", "other", "result")


# ---- given: the op's record and its Python function ------------------------------------------
NAME = "exercise_hypot"


def _register() -> OpInfo:
    existing = find(NAME)
    if existing is not None:        # imported twice in one process: keep the first record
        return existing
    return register(OpInfo(
        NAME, ["exercise::hypot(Tensor self, Tensor other) -> Tensor"],
        lambda xp, a, b: xp.hypot(a, b),
        tags=(Tag.POINTWISE,), backward=hypot_backward, saves=SAVES,
        grad_fn_name="HypotBackward0",
        numpy_template="np.hypot({self}, {other})", cuda_template="hypot({self}, {other})"))


OP = _register()
hypot = make_function(OP)            # hypot(a, b), like minijit.tanh(x)


if __name__ == "__main__":
    a = minijit.tensor([3.0, -1.0], requires_grad=True)
    b = minijit.tensor([4.0, 2.0], requires_grad=True)
    out = hypot(a, b)
    print(out)
    out.sum().backward()
    print("grad a:", a.grad, " grad b:", b.grad)
    x = minijit.rand(3, 4, dtype=minijit.float64, requires_grad=True)
    y = minijit.rand(4, dtype=minijit.float64, requires_grad=True)
    print("gradcheck:", minijit.autograd.gradcheck(hypot, (x, y)))
