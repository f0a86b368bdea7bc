"""Constant propagation and constant pooling: before/after graph texts, lint after each pass."""
from __future__ import annotations

from minijit.jit.ir import parse_ir
from minijit.jit.passes.constant_propagation import pool_constants, propagate_constants
from minijit.jit.passes.pass_manager import PassLog


def _run(fn, before: str):
    g = parse_ir(before)
    log = PassLog()
    changed = fn(g, log)
    g.lint()
    return g, changed, log


def test_folds_scalar_arithmetic_and_constant_if():
    g, changed, log = _run(propagate_constants, """graph(%x : Tensor):
  %1 : int = prim::Constant[value=2]()
  %2 : int = prim::Constant[value=3]()
  %3 : int = aten::mul(%1, %2)
  %4 : Tensor = aten::add(%x, %3, %1)
  %5 : bool = aten::gt(%3, %1)
  %6 : Tensor = prim::If(%5)
    block0():
      %7 : Tensor = aten::neg(%4)
      -> (%7)
    block1():
      -> (%4)
  return (%6)
""")
    assert changed
    assert str(g) == """graph(%x : Tensor):
  %1 : int = prim::Constant[value=2]()
  %16 : int = prim::Constant[value=6]()
  %4 : Tensor = aten::add(%x, %16, %1)
  %7 : Tensor = aten::neg(%4)
  return (%7)
"""
    assert log[0] == \
        "folded %3 : int = aten::mul(%1, %2)  ->  %16 : int = prim::Constant[value=6]()"
    assert "prim::If on constant True: kept block0" in log


def test_loop_that_never_runs_is_replaced_by_its_initial_values():
    g, changed, _ = _run(propagate_constants, """graph(%x : Tensor):
  %t : bool = prim::Constant[value=1]()
  %0 : int = prim::Constant[value=0]()
  %h : Tensor = prim::Loop(%0, %t, %x)
    block0(%i : int, %h.5 : Tensor):
      %h.3 : Tensor = aten::mul(%h.5, %x)
      -> (%t, %h.3)
  return (%h)
""")
    assert changed
    assert str(g) == "graph(%x : Tensor):\n  return (%x)\n"


def test_tensor_results_random_ops_and_lists_are_not_folded():
    text = """graph():
  %1 : int = prim::Constant[value=3]()
  %n : NoneType = prim::Constant()
  %2 : int[] = prim::ListConstruct(%1, %1)
  %3 : Tensor = aten::zeros(%2, %n, %n, %n, %n)
  %4 : Tensor = aten::rand(%2, %n, %n, %n, %n)
  %5 : (Tensor, Tensor) = prim::TupleConstruct(%3, %4)
  return (%5)
"""
    g, changed, _ = _run(propagate_constants, text)
    assert not changed
    assert str(g) == str(parse_ir(text))


def test_errors_are_left_for_run_time():
    text = """graph():
  %1 : int = prim::Constant[value=1]()
  %0 : int = prim::Constant[value=0]()
  %2 : int = aten::floordiv(%1, %0)
  return (%2)
"""
    g, changed, _ = _run(propagate_constants, text)
    assert not changed


def test_tuple_of_constants_folds():
    g, changed, _ = _run(propagate_constants, """graph():
  %1 : int = prim::Constant[value=1]()
  %2 : float = prim::Constant[value=2.5]()
  %3 : (int, float) = prim::TupleConstruct(%1, %2)
  return (%3)
""")
    assert changed
    assert str(g) == """graph():
  %7 : (int, float) = prim::Constant[value=(1, 2.5)]()
  return (%7)
"""


def test_pooling_hoists_and_merges_equal_constants_only():
    g, changed, log = _run(pool_constants, """graph(%x : Tensor,
      %c : bool):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::add(%x, %x, %1)
  %3 : Tensor = prim::If(%c)
    block0():
      %4 : int = prim::Constant[value=1]()
      %5 : Tensor = aten::add(%2, %2, %4)
      -> (%5)
    block1():
      %6 : float = prim::Constant[value=1.]()
      %7 : Tensor = aten::add(%2, %6, %1)
      -> (%7)
  return (%3)
""")
    assert changed
    assert str(g) == """graph(%x : Tensor,
      %c : bool):
  %1 : int = prim::Constant[value=1]()
  %6 : float = prim::Constant[value=1.]()
  %2 : Tensor = aten::add(%x, %x, %1)
  %3 : Tensor = prim::If(%c)
    block0():
      %5 : Tensor = aten::add(%2, %2, %1)
      -> (%5)
    block1():
      %7 : Tensor = aten::add(%2, %6, %1)
      -> (%7)
  return (%3)
"""
    assert log == ["2 distinct constants at the top of the graph"]
