"""Checks for exercise 3: a dead-code-elimination pass (``tutorials/exercises/03_dead_code.py``).

Every graph is parsed twice: once for the student's pass and once for minijit's own
(``minijit/jit/passes/dce.py``); the printed results must be equal, and ``lint()`` must pass.
"""
from __future__ import annotations

import pytest

from minijit.exercises.loader import load_exercise
from minijit.jit.ir import parse_ir
from minijit.jit.passes import dce as reference

ex = load_exercise(3)


def _both(text: str):
    """(student's graph, changed), (minijit's graph) after dead-code elimination."""
    mine = parse_ir(text)
    changed = ex.eliminate_dead_code(mine)
    mine.lint()
    theirs = parse_ir(text)
    reference.eliminate_dead_code(theirs)
    return mine, changed, theirs


def _node(text: str, kind: str):
    return next(n for n in parse_ir(text).all_nodes() if n.kind == kind)


SIMPLE = """graph(%x : Tensor):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::tanh(%x)
  %3 : Tensor = aten::neg(%x)
  return (%2)
"""

CHAIN = """graph(%x : Tensor):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::mul(%x, %x)
  %3 : Tensor = aten::add(%2, %x, %1)
  %4 : Tensor = aten::sigmoid(%3)
  return (%x)
"""

EFFECTS = """graph(%x : Tensor):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::add_(%x, %x, %1)
  %3 : Tensor = aten::exp(%x)
   = prim::Print(%3)
  %4 : Tensor = aten::cos(%x)
  return (%x)
"""

IF_GRAPH = """graph(%x : Tensor, %c : bool):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::add(%x, %x, %1)
  %3 : Tensor, %4 : Tensor = prim::If(%c)
    block0():
      %5 : Tensor = aten::tanh(%x)
      %6 : Tensor = aten::neg(%5)
      -> (%5, %x)
    block1():
      %7 : Tensor = aten::relu(%x)
      -> (%7, %2)
  return (%3)
"""

DEAD_IF = """graph(%x : Tensor, %c : bool):
  %3 : Tensor = prim::If(%c)
    block0():
      %5 : Tensor = aten::tanh(%x)
      -> (%5)
    block1():
      -> (%x)
  %6 : Tensor = prim::If(%c)
    block0():
      %7 : Tensor = aten::sin(%x)
      -> (%7)
    block1():
       = prim::Print(%x)
      -> (%x)
  return (%x)
"""

LOOP = """graph(%x : Tensor, %n : int):
  %t : bool = prim::Constant[value=1]()
  %h : Tensor = prim::Loop(%n, %t, %x)
    block0(%i : int, %h.1 : Tensor):
      %2 : Tensor = aten::sigmoid(%h.1)
      %3 : Tensor = aten::mul(%h.1, %h.1)
      -> (%t, %3)
  %4 : Tensor = prim::Loop(%n, %t, %x)
    block0(%j : int, %g : Tensor):
      %5 : Tensor = aten::exp(%g)
      -> (%t, %5)
  return (%h)
"""

NESTED = """graph(%x : Tensor, %c : bool):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = prim::If(%c)
    block0():
      %3 : Tensor = prim::If(%c)
        block0():
          %4 : Tensor = aten::mul(%x, %x)
          %5 : Tensor = aten::add(%4, %x, %1)
          -> (%x)
        block1():
          -> (%x)
      %6 : Tensor = aten::neg(%3)
      -> (%6)
    block1():
      %7 : Tensor = aten::abs(%x)
      -> (%x)
  return (%2)
"""


def test_side_effects_are_recognised():
    """has_side_effects() knows prints, calls, list writes and in-place ops"""
    assert ex.has_side_effects(_node(EFFECTS, "prim::Print")) is True, \
        "prim::Print has side effects (it prints)"
    assert ex.has_side_effects(_node(EFFECTS, "aten::add_")) is True, \
        "aten::add_ writes into its first input: it is tagged Tag.INPLACE in the registry"
    assert not ex.has_side_effects(_node(EFFECTS, "aten::exp")), \
        "aten::exp only computes its output: no side effects"
    assert not ex.has_side_effects(_node(EFFECTS, "prim::Constant")), \
        "a constant has no side effects"


def test_removes_a_node_nobody_reads():
    """removes a node whose output is unused, and the constant nobody reads"""
    mine, changed, theirs = _both(SIMPLE)
    assert changed is True, "eliminate_dead_code() must return True when it removed something"
    kinds = [n.kind for n in mine.nodes]
    assert "aten::neg" not in kinds, "aten::neg's output is never used: it should be gone"
    assert "prim::Constant" not in kinds, "the constant %1 is never used: it should be gone"
    assert str(mine) == str(theirs), f"expected\n{theirs}\ngot\n{mine}"


def test_removes_whole_dead_chains():
    """removes a chain of dead nodes, producers after their users"""
    mine, _, theirs = _both(CHAIN)
    left = [n.kind for n in mine.nodes]
    assert not left, (f"every node here is dead, but {left} are still there: walk the block "
                      "backwards and repeat until nothing changes")
    assert str(mine) == str(theirs)


def test_keeps_nodes_with_side_effects():
    """keeps in-place ops and prints even when their outputs are unused"""
    mine, _, theirs = _both(EFFECTS)
    kinds = [n.kind for n in mine.nodes]
    assert "aten::add_" in kinds, "aten::add_ changes %x in place: it must stay"
    assert "prim::Print" in kinds and "aten::exp" in kinds, \
        "prim::Print must stay, and so must aten::exp, whose result it prints"
    assert "aten::cos" not in kinds, "aten::cos is dead and must go"
    assert str(mine) == str(theirs), f"expected\n{theirs}\ngot\n{mine}"


def test_returns_false_when_nothing_changes():
    """returns False on a graph that has no dead code"""
    g = parse_ir(SIMPLE)
    ex.eliminate_dead_code(g)
    before = str(g)
    assert ex.eliminate_dead_code(g) is False, \
        "a second run finds nothing to remove and must return False"
    assert str(g) == before, "a second run must not change the graph"


def test_drops_unused_if_outputs():
    """drops an unused prim::If output with the matching return of both blocks"""
    mine, _, theirs = _both(IF_GRAPH)
    node = next(n for n in mine.nodes if n.kind == "prim::If")
    assert len(node.outputs) == 1, (f"prim::If has {len(node.outputs)} outputs; the unused "
                                    "%4 should have been erased (node.erase_output)")
    assert all(len(b.returns) == 1 for b in node.blocks), \
        "each block must return one value less, too (block.erase_output)"
    assert "aten::add" not in [n.kind for n in mine.nodes], \
        "%2 fed only the erased output: it is dead now"
    assert str(mine) == str(theirs), f"expected\n{theirs}\ngot\n{mine}"


def test_cleans_inside_blocks():
    """removes dead nodes inside if and loop blocks, at any depth"""
    for text in (IF_GRAPH, LOOP, NESTED):
        mine, _, theirs = _both(text)
        assert str(mine) == str(theirs), f"expected\n{theirs}\ngot\n{mine}"


def test_removes_whole_control_flow_only_without_effects():
    """removes an unused if or loop, unless something inside it has effects"""
    mine, _, theirs = _both(DEAD_IF)
    ifs = [n for n in mine.nodes if n.kind == "prim::If"]
    assert len(ifs) == 1, (f"{len(ifs)} prim::If left; the first one is dead and pure (remove "
                           "it), the second prints (keep it)")
    assert any(n.kind == "prim::Print" for b in ifs[0].blocks for n in b.nodes), \
        "the prim::If that prints must stay, print included"
    assert str(mine) == str(theirs), f"expected\n{theirs}\ngot\n{mine}"
    mine, _, theirs = _both(LOOP)
    loops = [n for n in mine.nodes if n.kind == "prim::Loop"]
    assert len(loops) == 1, "the second loop's result is unused and its body is pure: remove it"
    assert str(mine) == str(theirs), f"expected\n{theirs}\ngot\n{mine}"


GRAPHS = {"simple": SIMPLE, "chain": CHAIN, "effects": EFFECTS, "if": IF_GRAPH,
          "dead if": DEAD_IF, "loop": LOOP, "nested if": NESTED}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_same_result_as_minijit(name):
    """gives the same graph as minijit's own pass"""
    mine, _, theirs = _both(GRAPHS[name])
    assert str(mine) == str(theirs), f"expected\n{theirs}\ngot\n{mine}"
