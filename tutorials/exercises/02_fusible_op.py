"""
Exercise 2: a new pointwise op that the fuser picks up
======================================================

In minijit an operator is *one record* in the op registry (``minijit/ops/registry.py``,
``OpInfo``), and every layer reads that record instead of keeping its own list of ops: the
dispatcher runs its kernel, autograd its backward rule, the tracer and the scripter its
schema, and the fuser its tags and templates.  So adding an op that works everywhere,
fusion included, means writing one good record.  Open ``minijit/ops/pointwise.py`` and look
at ``tanh`` or ``relu``: kernel, derivative and two expression templates side by side.

Your op is *hardswish* (from MobileNetV3), a cheap smooth-ish ReLU::

    hardswish(x) = x * clamp(x + 3, 0, 6) / 6
                 = 0              for x <= -3
                 = x              for x >= 3
                 = x * (x + 3) / 6  in between

What to build
-------------
``make_op()`` returns (does not register) an ``OpInfo`` with

* the name ``NAME`` and the one schema ``SCHEMA`` below.  (The schema is in the ``aten``
  namespace because minijit's fuser, like TorchScript's, fuses only ``aten`` ops: ops of
  other namespaces are opaque calls to it.  The name is unusual so that it can never clash
  with a real op);
* ``impl(xp, x)``: the kernel on arrays, written with ``xp`` (NumPy, or CuPy on a GPU):
  ``xp.clip``, ``xp.where`` ... Keep the input's dtype (float32 in, float32 out): Python
  numbers like ``3`` or ``6.0`` do not change NumPy's result dtype, NumPy arrays of float64
  would;
* ``tags=(Tag.POINTWISE,)``: elementwise with broadcasting, so the fuser may fuse it;
* ``numpy_template``: the same computation as a Python *expression* over ``np``, with
  ``{self}`` where the input goes (``relu``'s is ``"np.maximum({self}, 0)"``).  The kernel
  generator pastes it into generated code;
* ``cuda_template``: the same as a CUDA C expression (``fminf``/``fmaxf`` or ``? :``), for
  the GPU kernel generator;
* ``backward`` (and ``saves``): the derivative, with minijit ops: ``0`` below -3, ``1``
  above 3, ``(2x + 3) / 6`` in between.  ``minijit.where(cond, a, b)`` picks per element;
  comparisons like ``ctx.self < -3`` give bool tensors.

The given code registers the record the first time ``get_op()`` is called, and
``exercise_hardswish(x)`` calls it like any minijit function.

The checker runs the op eagerly, checks the template against the kernel, runs gradcheck,
then traces ``exercise_hardswish(x * y + 1.0) * 2.0 - y``, runs it through the optimising
executor and checks that the op landed inside one ``prim::FusionGroup`` together with its
neighbours, that the generated kernel contains your template, and that the fused results
and gradients equal the eager ones.  It also has the CUDA generator
(``minijit/jit/codegen/cuda_kernel.py``) write a kernel from your ``cuda_template``: writing
the source needs no GPU.

Check your work with::

    python -m minijit exercises check 2

Hints
-----
* ``minijit.jit.codegen.numpy_kernel.fusible_reason(node)`` says why a node would not fuse.
* Tutorial 04 (``tutorials/04_inside_the_optimizer.py``) shows a fusion group and its kernel;
  ``python tutorials/exercises/02_fusible_op.py`` prints the optimised graph of the function
  above.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import minijit
from minijit.ops.functional import make_function
from minijit.ops.registry import OpInfo, Tag, find, register  # noqa: F401

NAME = "exercise_hardswish"
SCHEMA = "aten::exercise_hardswish(Tensor self) -> Tensor"


def make_op() -> OpInfo:
    """The registry record of ``aten::exercise_hardswish`` (not registered yet)."""
    raise NotImplementedError


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
