"""
Exercise 4: constant folding
============================

When every input of a node is a constant, the node computes the same thing on every call:
the compiler can run it once, now, and put a ``prim::Constant`` holding the answer in its
place.  Before::

    %1 : int = prim::Constant[value=2]()
    %2 : int = prim::Constant[value=3]()
    %3 : int = aten::mul(%1, %2)
    %4 : Tensor = aten::add(%x, %3, %1)

after::

    %1 : int = prim::Constant[value=2]()
    %5 : int = prim::Constant[value=6]()
    %4 : Tensor = aten::add(%x, %5, %1)

(``%2`` went too: once ``%3`` is folded, nobody reads it.)  Folded values feed further
folding, and a ``prim::If`` whose condition becomes a constant can be replaced by the branch
it will always take.  Scripted code is full of such things: ``x.size(0)`` once shapes are
known, flags like ``if self.training:``, loop bounds.

What to build
-------------
1. ``can_fold(node)``: True when the node may be run at compile time:

   * it has exactly one output, and that output is not a Tensor, a List or a Dict
     (``node.output().type.kind``): a folded tensor would be one object shared by every call,
     so a caller writing into it in place would change the program; lists likewise;
   * it is not itself a ``prim::Constant`` and has no blocks;
   * it is *pure*: no side effects and no randomness (use ``is_pure(node)``, imported below);
   * every input is made by a ``prim::Constant`` (``value.node.kind``).

2. ``fold_constants(graph)``: walk every block in order (top-level and nested) and

   * replace each node ``can_fold`` accepts by a constant: compute the value with
     ``run_node(node)`` (given below), insert it *just before the node*
     (``with graph.insert_point(node): c = graph.insert_constant(value)``), make every user
     read it (``node.output().replace_all_uses_with(c)``) and ``node.destroy()`` the node;
     if ``run_node`` raises, leave the node alone (the error belongs to run time);
   * replace a ``prim::If`` whose condition (``node.inputs[0]``) is a constant by the nodes of
     the branch it takes: move them before the ``If`` (``inner.move_before(node)``), make the
     users of each ``If`` output read the matching return of that branch
     (``branch.returns``), then destroy the ``If``.  Fold what the branch brought in, too;
   * at the end, when anything changed, remove what became dead (the folded nodes' constant
     inputs) with ``eliminate_dead_code(graph)`` (minijit's, imported below, or yours from
     exercise 3), and return True; return False when nothing was folded.

The checker compares your result with minijit's own pass
(``minijit/jit/passes/constant_propagation.py: propagate_constants``) and runs both graphs.

Check your work with::

    python -m minijit exercises check 4

Hints
-----
* Folding the nodes of a block in order folds chains (``(2 * 3) + 1``) in one walk, because
  a node's inputs are folded before the node is visited.
* ``block.nodes`` returns a fresh list, so you may change the block while walking it; skip a
  node that is no longer in its block (``node.in_block_list`` is False once destroyed).
* ``python tutorials/exercises/04_constant_folding.py`` prints a graph before and after.
"""
from __future__ import annotations

from typing import Any, Tuple

from minijit.jit.ir import Block, Graph, Node, Value, parse_ir  # noqa: F401
from minijit.jit.passes.dce import eliminate_dead_code  # noqa: F401
from minijit.jit.passes.pass_manager import is_pure  # noqa: F401


# ---- given -----------------------------------------------------------------------------------
def constant_of(value: Value) -> Tuple[bool, Any]:
    """``(True, v)`` for a value made by ``prim::Constant[value=v]``, else ``(False, None)``."""
    if value.node.kind != "prim::Constant":
        return False, None
    return True, value.node.attrs.get("value")


def run_node(node: Node) -> Any:
    """Run ``node`` on its constant inputs, with the interpreter's handler; its one output."""
    from minijit.jit.runtime.interpreter import handler_for
    return handler_for(node)([constant_of(v)[1] for v in node.inputs])[0]


# ---- yours -----------------------------------------------------------------------------------
def can_fold(node: Node) -> bool:
    """Whether ``node`` may be computed now and replaced by a constant."""
    raise NotImplementedError


def fold_constants(graph: Graph) -> bool:
    """Fold constant nodes and constant ``prim::If`` everywhere; True if anything changed."""
    raise NotImplementedError


if __name__ == "__main__":
    demo = parse_ir("""graph(%x : Tensor):
  %1 : int = prim::Constant[value=2]()
  %2 : int = prim::Constant[value=3]()
  %3 : int = aten::mul(%1, %2)
  %4 : bool = aten::gt(%3, %1)
  %5 : Tensor = prim::If(%4)
    block0():
      %6 : Tensor = aten::add(%x, %3, %1)
      -> (%6)
    block1():
      -> (%x)
  return (%5)
""")
    print(demo)
    print("changed:", fold_constants(demo))
    print(demo)
