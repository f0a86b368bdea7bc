"""
Exercise 3: a dead-code-elimination pass
========================================

A compiler pass is a function that takes a graph and changes it in place.  The simplest useful
one removes *dead code*: nodes whose results nobody reads.  Tracing and scripting leave a lot of
it behind (a value computed only to feed a Python ``if`` that tracing did not record, a
constant whose user was folded away), and every later pass is faster on a smaller graph.

What to build
-------------
Two functions, on minijit's IR (``minijit/jit/ir/``, Note [IR invariants] in ``graph.py``):

1. ``has_side_effects(node)``: True when running the node does something besides computing
   its outputs, so it must stay even if nobody reads them.  That is:

   * the node kinds in ``EFFECT_KINDS`` below (printing, raising, calls into other code,
     writing a module attribute, changing a list);
   * any registry op tagged ``Tag.INPLACE`` (``aten::add_`` writes into its first input).
     Look the op up with ``minijit.ops.registry.find(node.kind)``, which answers None for
     kinds that are not ops.

2. ``eliminate_dead_code(graph)``: remove every node that has no side effects and whose
   outputs have no uses, until none is left, and return True if anything was removed.

   * Removing a node can make its inputs' producers dead too (``%2 = aten::mul(%1, %1)`` read
     only by a dead ``aten::add``): walk each block from its last node to its first, so that
     users are visited before producers, and repeat the whole walk until nothing changes.
   * ``prim::If`` and ``prim::Loop`` hold blocks: clean the nodes inside them too.
   * An output of a ``prim::If`` that nobody reads can go, together with the matching return
     value of *both* blocks (``node.erase_output(i)``, ``block.erase_output(i)``).
   * A ``prim::If`` or ``prim::Loop`` whose outputs are all unused can itself go, but only
     when no node inside its blocks (at any depth) has side effects.  (A loop that prints must
     stay even if it computes nothing that is used.)

Your pass should give the same graphs as minijit's own, ``minijit/jit/passes/dce.py``, on
graphs without dead loop-carried values (minijit's also removes those; you don't have to).

Check your work with::

    python -m minijit exercises check 3

Hints
-----
* ``node.outputs``, ``value.uses`` (a list of ``Use(user, offset)``), ``node.blocks``,
  ``block.nodes`` (a fresh list each time, so you may delete while looping over it).
* ``node.destroy()`` removes a node whose outputs are unused (it raises otherwise).
* ``reversed(block.nodes)`` walks backwards.
* Try ``python tutorials/exercises/03_dead_code.py``: it prints a graph before and after.
"""
from __future__ import annotations

from minijit.jit.ir import Block, Graph, Node, parse_ir  # noqa: F401  (Block: for your helpers)

# Kinds that always have effects (TorchScript's ``hasSideEffects`` list, trimmed).
EFFECT_KINDS = frozenset({
    "prim::Print", "prim::RaiseException", "prim::SetAttr", "prim::CallMethod",
    "prim::CallFunction", "prim::PythonOp", "aten::append", "aten::_set_item", "aten::insert",
    "aten::pop", "aten::clear", "aten::extend", "aten::warn", "aten::Delete",
})


def has_side_effects(node: Node) -> bool:
    """Whether ``node`` must be kept even when nobody reads its outputs."""
    raise NotImplementedError


def eliminate_dead_code(graph: Graph) -> bool:
    """Remove dead nodes (see the module docstring); True if anything was removed."""
    raise NotImplementedError


if __name__ == "__main__":
    demo = parse_ir("""graph(%x : Tensor):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::mul(%x, %x)
  %3 : Tensor = aten::add(%2, %x, %1)
  %4 : Tensor = aten::tanh(%x)
  return (%4)
""")
    print(demo)
    print("changed:", eliminate_dead_code(demo))
    print(demo)
