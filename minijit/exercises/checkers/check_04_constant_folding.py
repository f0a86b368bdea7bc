"""Checks for exercise 4: constant folding (``tutorials/exercises/04_constant_folding.py``).

Each graph is folded by the student's pass and by minijit's ``propagate_constants``; the two
results are printed after ``Graph.copy()`` (which numbers unnamed values afresh, in order) and
must be equal.  Both graphs are also run, and must give the input graph's answer.
"""
from __future__ import annotations

import numpy as np
import pytest

import minijit
from minijit.exercises.loader import load_exercise
from minijit.jit.ir import parse_ir
from minijit.jit.passes.constant_propagation import propagate_constants
from minijit.jit.runtime.interpreter import run_graph

ex = load_exercise(4)

ARITH = """graph(%x : Tensor):
  %1 : int = prim::Constant[value=2]()
  %2 : int = prim::Constant[value=3]()
  %3 : int = aten::mul(%1, %2)
  %4 : Tensor = aten::add(%x, %3, %1)
  return (%4)
"""

CHAIN = """graph(%x : Tensor):
  %1 : int = prim::Constant[value=2]()
  %2 : int = prim::Constant[value=3]()
  %f : float = prim::Constant[value=0.5]()
  %3 : int = aten::mul(%1, %2)
  %4 : int = aten::add(%3, %1)
  %5 : float = aten::mul(%f, %4)
  %s : str = prim::Constant[value="abc"]()
  %6 : int = aten::len(%s)
  %7 : float = aten::Float(%6)
  %8 : Tensor = aten::mul(%x, %5)
  %9 : Tensor = aten::add(%8, %7, %1)
  return (%9)
"""

TENSORS = """graph(%x : Tensor):
  %0 : int = prim::Constant[value=0]()
  %1 : int = prim::Constant[value=1]()
  %3 : int = prim::Constant[value=3]()
  %n : NoneType = prim::Constant()
  %r : Tensor = aten::arange(%0, %3, %1, %n, %n, %n, %n)
  %y : Tensor = aten::add(%x, %r, %1)
  return (%y)
"""

CONST_IF = """graph(%x : Tensor):
  %1 : int = prim::Constant[value=2]()
  %2 : int = prim::Constant[value=3]()
  %3 : bool = aten::gt(%2, %1)
  %4 : Tensor = prim::If(%3)
    block0():
      %5 : int = aten::mul(%1, %2)
      %6 : Tensor = aten::mul(%x, %5)
      -> (%6)
    block1():
      %7 : Tensor = aten::neg(%x)
      -> (%7)
  return (%4)
"""

RUNTIME_IF = """graph(%x : Tensor, %c : bool):
  %1 : int = prim::Constant[value=2]()
  %2 : int = prim::Constant[value=3]()
  %4 : Tensor = prim::If(%c)
    block0():
      %5 : int = aten::sub(%2, %1)
      %6 : Tensor = aten::mul(%x, %5)
      -> (%6)
    block1():
      -> (%x)
  return (%4)
"""

NOTHING = """graph(%x : Tensor, %n : int):
  %1 : int = prim::Constant[value=2]()
  %2 : int = aten::mul(%n, %1)
  %3 : Tensor = aten::mul(%x, %2)
  return (%3)
"""

DIV_ZERO = """graph(%x : Tensor):
  %1 : int = prim::Constant[value=1]()
  %0 : int = prim::Constant[value=0]()
  %2 : int = aten::floordiv(%1, %0)
  %3 : Tensor = aten::mul(%x, %2)
  return (%3)
"""

GRAPHS = {"arithmetic": ARITH, "chain": CHAIN, "tensor results": TENSORS,
          "constant if": CONST_IF, "runtime if": RUNTIME_IF, "nothing to fold": NOTHING}
INPUTS = {"runtime if": [True], "nothing to fold": [3]}


def _fold(text):
    mine = parse_ir(text)
    changed = ex.fold_constants(mine)
    mine.lint()
    theirs = parse_ir(text)
    propagate_constants(theirs)
    return mine, changed, theirs


def _same(mine, theirs):
    a, b = str(mine.copy()), str(theirs.copy())
    assert a == b, f"expected (minijit's pass)\n{b}\ngot\n{a}"


def _node(text, kind):
    return next(n for n in parse_ir(text).all_nodes() if n.kind == kind)


def test_can_fold_decides_right():
    """can_fold() accepts pure nodes on constants with a non-tensor result, and only those"""
    assert ex.can_fold(_node(ARITH, "aten::mul")) is True, \
        "aten::mul(2, 3) has constant inputs and an int result: it can be folded"
    assert not ex.can_fold(_node(ARITH, "aten::add")), \
        "aten::add(%x, ...) reads the graph input %x, which is not a constant"
    assert not ex.can_fold(_node(TENSORS, "aten::arange")), \
        "aten::arange(0, 3, 1) gives a Tensor: tensor results are not folded"
    assert not ex.can_fold(_node(ARITH, "prim::Constant")), "a constant is already folded"
    assert not ex.can_fold(_node(RUNTIME_IF, "prim::If")), \
        "a node with blocks is not folded by can_fold (constant ifs are handled separately)"
    assert not ex.can_fold(_node(NOTHING, "aten::mul")), \
        "aten::mul(%n, 2) reads the graph input %n"


def test_folds_arithmetic():
    """folds 2 * 3 into the constant 6 and removes what is left unused"""
    mine, changed, theirs = _fold(ARITH)
    assert changed is True, "fold_constants() must return True when it folded something"
    kinds = [n.kind for n in mine.nodes]
    assert "aten::mul" not in kinds, "aten::mul(2, 3) should have become a constant"
    values = [n.attrs.get("value") for n in mine.nodes if n.kind == "prim::Constant"]
    assert 6 in values, f"expected a constant 6 in the graph, found constants {values}"
    assert 3 not in values, "the constant 3 is not used any more: remove dead code at the end"
    _same(mine, theirs)


def test_folds_chains():
    """folds chains of ints, floats and strings in one call"""
    mine, _, theirs = _fold(CHAIN)
    left = [n.kind for n in mine.nodes if n.kind != "prim::Constant"]
    assert left == ["aten::mul", "aten::add"], \
        f"only the two tensor ops should be left, found {left}"
    _same(mine, theirs)


def test_leaves_tensor_results_alone():
    """does not fold nodes whose result is a tensor"""
    mine, _, theirs = _fold(TENSORS)
    assert "aten::arange" in [n.kind for n in mine.nodes], \
        "aten::arange must stay (a folded tensor would be one object shared by every call)"
    _same(mine, theirs)


def test_folds_constant_if():
    """replaces a prim::If on a constant condition by the branch it takes"""
    mine, _, theirs = _fold(CONST_IF)
    kinds = [n.kind for n in mine.all_nodes()]
    assert "prim::If" not in kinds, "3 > 2 is always true: the prim::If should be gone"
    assert "aten::neg" not in kinds, "the false branch is never taken: its nodes must go"
    assert kinds.count("aten::mul") == 1, \
        "fold what the branch brought in, too: aten::mul(2, 3) becomes 6"
    _same(mine, theirs)


def test_folds_inside_blocks():
    """folds inside the blocks of an if whose condition is not known"""
    mine, _, theirs = _fold(RUNTIME_IF)
    assert "aten::sub" not in [n.kind for n in mine.all_nodes()], \
        "aten::sub(3, 2) inside the if's block should have become 1"
    _same(mine, theirs)


def test_returns_false_when_nothing_folds():
    """returns False and leaves the graph alone when nothing can be folded"""
    g = parse_ir(NOTHING)
    before = str(g)
    assert ex.fold_constants(g) is False, "nothing here can be folded: return False"
    assert str(g) == before, "the graph must not change"


def test_leaves_failing_nodes_for_run_time():
    """leaves a node alone when computing it raises (1 // 0)"""
    g = parse_ir(DIV_ZERO)
    ex.fold_constants(g)
    assert "aten::floordiv" in [n.kind for n in g.nodes], \
        "1 // 0 raises: keep the node, so the error happens when the program runs"


@pytest.mark.parametrize("name", list(GRAPHS))
def test_same_graph_and_numbers_as_minijit(name):
    """gives minijit's graph, and the same numbers as before folding"""
    mine, _, theirs = _fold(GRAPHS[name])
    _same(mine, theirs)
    x = minijit.tensor([1.0, -2.0, 3.5])
    extra = INPUTS.get(name, [])
    expected = run_graph(parse_ir(GRAPHS[name]), [x] + extra)
    got = run_graph(mine, [x] + extra)
    assert np.allclose(got.numpy(), expected.numpy()), \
        f"the folded graph computes {got}, the original {expected}"
