"""
Exercise 1: a backward rule for a new op
========================================

Every differentiable op in minijit's registry carries its derivative next to its kernel, as
a ``backward(ctx, grad)`` function written with minijit ops (DESIGN §3; the rules read like
PyTorch's ``derivatives.yaml``).  For ``tanh``::

    backward=lambda ctx, grad: (grad * (1 - ctx.result * ctx.result),), saves=("result",)

During ``loss.backward()`` the engine calls the rule of each node of the tape with ``grad``,
the gradient of the loss with respect to the op's *output*, and the rule returns the
gradients with respect to each tensor *input* (chain rule: ``grad`` times the local
derivative).  ``ctx.self``, ``ctx.other`` ... are the forward arguments by their schema names,
``ctx.result`` the forward result.

This exercise adds ``hypot(a, b) = sqrt(a² + b²)`` (NumPy's ``np.hypot``; PyTorch has it as
``torch.hypot``).  The forward part is written below and registered under a name of its own
(``exercise::hypot``, registry name ``exercise_hypot``); you write the backward.

What to build
-------------
1. ``hypot_backward(ctx, grad)``: return a tuple ``(grad_a, grad_b)``, one gradient per tensor
   argument in schema order.  Work out ∂hypot/∂a and ∂hypot/∂b on paper first (hint: both are
   short when written with the result).  Write the rule with minijit tensor operations
   (``*``, ``/``, ...) on ``grad``, ``ctx.self``, ``ctx.other`` and ``ctx.result``, never with
   NumPy: then the rule itself is recorded on the tape when someone asks for a gradient of a
   gradient (``create_graph=True``), and it runs on a GPU too.

   You do not need to handle broadcasting: when ``a`` is 3×4 and ``b`` has shape (4,), return
   3×4 gradients for both, and the engine sums ``b``'s down to (4,) (``_reduce_to_input`` in
   ``minijit/autograd/engine.py``).

2. ``SAVES``: the names (among ``"self"``, ``"other"``, ``"result"``) of what your rule reads.
   The engine records their version counters when the op runs, so that writing into one of
   them in place before ``backward()`` raises an error instead of silently giving a wrong
   gradient.

Check your work with::

    python -m minijit exercises check 1

Hints
-----
* ``minijit.autograd.gradcheck(fn, inputs)`` compares your rule with finite differences; use
  float64 inputs with ``requires_grad=True``.
* Tutorial 06 (``tutorials/06_autograd_from_the_inside.py``) writes a rule for ``softsign``
  step by step.
* ``python tutorials/exercises/01_backward_rule.py`` runs gradcheck on your rule.
"""
from __future__ import annotations

from typing import Any, Tuple

import minijit
from minijit.ops.functional import make_function
from minijit.ops.registry import OpInfo, Tag, find, register


def hypot_backward(ctx: Any, grad: minijit.Tensor) -> Tuple[Any, Any]:
    """Gradients of ``hypot(self, other)`` with respect to ``self`` and ``other``."""
    raise NotImplementedError


SAVES: Tuple[str, ...] = ()      # what hypot_backward reads: "self", "other", "result"


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
