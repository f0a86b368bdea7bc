"""
Exercise 7: a fused-kernel generator from templates
===================================================

The fuser (``minijit/jit/passes/fuse.py``) gathers neighbouring pointwise ops into one
``prim::FusionGroup`` node that holds them as a *subgraph*, such as::

    graph(%x : Tensor, %y : Tensor):
      %1 : int = prim::Constant[value=1]()
      %2 : Tensor = aten::mul(%x, %y)
      %3 : Tensor = aten::add(%2, %x, %1)
      %4 : Tensor = aten::tanh(%3)
      return (%4)

Then a *kernel generator* writes one Python function for the whole group, so that it runs as
a single call.  It does not know any op by name: every pointwise op's registry record
(``minijit/ops/pointwise.py``) carries a ``numpy_template``, a Python expression with a
placeholder per schema argument::

    aten::add(Tensor self, Tensor other, *, Scalar alpha=1)  →  np.add({self}, {other} * {alpha})
    aten::tanh(Tensor self)                                  →  np.tanh({self})

and the generator fills the placeholders in.  For the subgraph above it writes::

    def kernel(a0, a1):
        t0 = np.multiply(a0, a1)
        t1 = np.add(t0, a0 * 1)
        t2 = np.tanh(t1)
        return (t2,)

(minijit's real generator, ``minijit/jit/codegen/numpy_kernel.py``, starts exactly like this,
then also follows the dispatcher's type promotion, removes ``* 1``, walks big tensors in
cache-sized blocks and writes into reused buffers.  Yours only needs the first step.)

What to build
-------------
``kernel_source(subgraph)`` returns the source text of ``def kernel(a0, a1, ...):``:

* one parameter per subgraph input, named ``a0``, ``a1``, ... in order (the kernel receives
  NumPy arrays);
* ``prim::Constant`` nodes produce no line: where a constant is used, write its value as a
  Python literal (``repr(value)``: ``1``, ``0.5``, ``'tanh'``, ``None``);
* every other node becomes one line ``tK = <its template, filled in>``, numbered ``t0``,
  ``t1``, ... in order: look the op up with ``find(node.kind)``, pick the schema that matches
  the node's number of inputs (``op.schema_for_len[len(node.inputs)]``: every schema argument
  is an IR input, defaults included), and fill ``op.numpy_template`` with
  ``str.format(**{argument name: text of the matching input})``;
* it ends with ``return (...,)``, a tuple of the subgraph's outputs in order.

``compile_kernel`` (given) runs that text with ``np`` and ``_k`` (``minijit.ops.kernels``,
which some templates call: ``_k.sigmoid(np, {self})``) defined, and returns the function.

The checker compiles several subgraphs (broadcasting, constants, several outputs, and an op
it registers itself, which your generator has never heard of) and compares the kernels'
results with minijit's interpreter running the same subgraphs.

Check your work with::

    python -m minijit exercises check 7

Hints
-----
* Keep a dict from IR values to the text that stands for them: ``a0`` for inputs, ``tK``
  for node results, the literal for constants.
* ``op.schema_for_len`` maps an argument count to a schema; ``schema.arguments`` lists
  arguments with ``.name``.
* ``python tutorials/exercises/07_kernel_template.py`` prints the source for the subgraph
  above and runs it.
"""
from __future__ import annotations

from typing import Callable, Dict  # noqa: F401

import numpy as np

from minijit.jit.ir import Graph, Value, parse_ir  # noqa: F401
from minijit.ops import kernels
from minijit.ops.registry import find  # noqa: F401


def kernel_source(subgraph: Graph) -> str:
    """The Python source of ``def kernel(a0, ...)`` computing ``subgraph`` on arrays."""
    raise NotImplementedError


# ---- given -----------------------------------------------------------------------------------
def compile_kernel(source: str) -> Callable:
    """Run the generated source and return its ``kernel`` function."""
    namespace = {"np": np, "_k": kernels}
    exec(compile(source, "<generated kernel>", "exec"), namespace)
    return namespace["kernel"]


EXAMPLE = """graph(%x : Tensor, %y : Tensor):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::mul(%x, %y)
  %3 : Tensor = aten::add(%2, %x, %1)
  %4 : Tensor = aten::tanh(%3)
  return (%4)
"""

if __name__ == "__main__":
    source = kernel_source(parse_ir(EXAMPLE))
    print(source)
    kernel = compile_kernel(source)
    x, y = np.array([0.5, -1.0], np.float32), np.array([2.0, 3.0], np.float32)
    print(kernel(x, y), "expected", np.tanh(x * y + x))
