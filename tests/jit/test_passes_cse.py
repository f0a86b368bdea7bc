"""Common-subexpression elimination: before/after graph texts, lint after each pass."""
from __future__ import annotations

from minijit.jit.ir import parse_ir
from minijit.jit.passes.cse import eliminate_common_subexpressions
from minijit.jit.passes.pass_manager import PassLog


def _cse(before: str):
    g = parse_ir(before)
    log = PassLog()
    changed = eliminate_common_subexpressions(g, log)
    g.lint()
    return g, changed, log


def test_repeated_expression_is_computed_once():
    g, changed, log = _cse("""graph(%x : Tensor,
      %y : Tensor):
  %1 : int = prim::Constant[value=1]()
  %a : Tensor = aten::mul(%x, %y)
  %b : Tensor = aten::mul(%x, %y)
  %c : Tensor = aten::add(%a, %b, %1)
  return (%c)
""")
    assert changed
    assert str(g) == """graph(%x : Tensor,
      %y : Tensor):
  %1 : int = prim::Constant[value=1]()
  %a : Tensor = aten::mul(%x, %y)
  %c : Tensor = aten::add(%a, %a, %1)
  return (%c)
"""
    assert log == ["%b : Tensor = aten::mul(%x, %y)  ->  reuses %a"]


def test_random_ops_lists_and_different_attributes_are_kept():
    text = """graph(%x : Tensor,
      %m : __torch__.M):
  %n : NoneType = prim::Constant()
  %d : Tensor = aten::rand_like(%x, %n, %n, %n, %n, %n)
  %e : Tensor = aten::rand_like(%x, %n, %n, %n, %n, %n)
  %l1 : Tensor[] = prim::ListConstruct(%d, %e)
  %l2 : Tensor[] = prim::ListConstruct(%d, %e)
  %w : Tensor = prim::GetAttr[name="w"](%m)
  %v : Tensor = prim::GetAttr[name="v"](%m)
  %r : (Tensor[], Tensor[], Tensor, Tensor) = prim::TupleConstruct(%l1, %l2, %w, %v)
  return (%r)
"""
    g, changed, _ = _cse(text)
    assert not changed
    assert str(g) == str(parse_ir(text))


def test_outer_expression_is_reused_inside_a_block_but_not_the_reverse():
    g, changed, _ = _cse("""graph(%x : Tensor,
      %c : bool):
  %a : Tensor = aten::tanh(%x)
  %r : Tensor = prim::If(%c)
    block0():
      %b : Tensor = aten::tanh(%x)
      %s : Tensor = aten::sigmoid(%x)
      -> (%b)
    block1():
      %s2 : Tensor = aten::sigmoid(%x)
      -> (%s2)
  %s3 : Tensor = aten::sigmoid(%x)
  %t : (Tensor, Tensor, Tensor) = prim::TupleConstruct(%a, %r, %s3)
  return (%t)
""")
    assert changed
    assert str(g) == """graph(%x : Tensor,
      %c : bool):
  %a : Tensor = aten::tanh(%x)
  %r : Tensor = prim::If(%c)
    block0():
      %s : Tensor = aten::sigmoid(%x)
      -> (%a)
    block1():
      %s2 : Tensor = aten::sigmoid(%x)
      -> (%s2)
  %s3 : Tensor = aten::sigmoid(%x)
  %t : (Tensor, Tensor, Tensor) = prim::TupleConstruct(%a, %r, %s3)
  return (%t)
"""


def test_a_write_in_place_separates_equal_expressions():
    text = """graph(%x : Tensor,
      %y : Tensor):
  %1 : int = prim::Constant[value=1]()
  %a : Tensor = aten::mul(%x, %y)
  %w : Tensor = aten::add_(%x, %y, %1)
  %b : Tensor = aten::mul(%x, %y)
  %t : (Tensor, Tensor) = prim::TupleConstruct(%a, %b)
  return (%t)
"""
    g, changed, _ = _cse(text)
    assert not changed
    assert str(g) == str(parse_ir(text))
