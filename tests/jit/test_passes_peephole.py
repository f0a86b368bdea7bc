"""Peephole rules: before/after graph texts, lint after each pass."""
from __future__ import annotations

import pytest

from minijit.jit.ir import parse_ir
from minijit.jit.passes.pass_manager import PassLog
from minijit.jit.passes.peephole import peephole

F34 = "Float(3, 4, strides=[4, 1], requires_grad=0, device=cpu)"
L3 = "Long(3, strides=[1], requires_grad=0, device=cpu)"
B3 = "Bool(3, strides=[1], requires_grad=0, device=cpu)"


def _peephole(before: str):
    g = parse_ir(before)
    log = PassLog()
    changed = peephole(g, log)
    g.lint()
    return g, changed, log


def test_identities_and_double_negation_go_away():
    g, changed, log = _peephole(f"""graph(%x : {F34}):
  %1 : int = prim::Constant[value=1]()
  %0 : int = prim::Constant[value=0]()
  %3 : Tensor = aten::mul(%x, %1)
  %4 : Tensor = aten::neg(%3)
  %5 : Tensor = aten::neg(%4)
  %6 : Tensor = aten::add(%5, %0, %1)
  %7 : Tensor = aten::sub(%6, %0, %1)
  %8 : Tensor = aten::div(%7, %1)
  return (%8)
""")
    assert changed
    assert str(g) == f"graph(%x : {F34}):\n  return (%x)\n"
    assert log[0] == "%3 : Tensor = aten::mul(%x, %1)  ->  %x"


@pytest.mark.parametrize("x_type,expr", [
    (L3, "aten::mul(%x, %f)"),          # int tensor * 1. makes floats
    (B3, "aten::mul(%x, %1)"),          # bool tensor * 1 makes longs
    (L3, "aten::div(%x, %1)"),          # true division makes floats
    (F34, "aten::minimum(%x, %10)"),    # 10 is not an identity of minimum
    (F34, "aten::remainder(%x, %1)"),
    ("Tensor", "aten::mul(%x, %1)"),    # dtype unknown: nothing is assumed
])
def test_rules_respect_type_promotion_and_real_identities(x_type, expr):
    text = f"""graph(%x : {x_type}):
  %1 : int = prim::Constant[value=1]()
  %f : float = prim::Constant[value=1.]()
  %10 : float = prim::Constant[value=10.]()
  %3 : Tensor = {expr}
  return (%3)
"""
    g, changed, _ = _peephole(text)
    assert not changed
    assert str(g) == str(parse_ir(text))


def test_reciprocal_twice_is_not_an_identity_but_neg_twice_is():
    g, changed, _ = _peephole(f"""graph(%x : {F34}):
  %1 : Tensor = aten::reciprocal(%x)
  %2 : Tensor = aten::reciprocal(%1)
  return (%2)
""")
    assert not changed


def test_conversions_of_values_already_of_that_type():
    g, changed, _ = _peephole("""graph(%b : bool,
      %i : int,
      %t : Tensor):
  %1 : bool = aten::Bool(%b)
  %2 : int = aten::Int(%i)
  %3 : bool = aten::Bool(%t)
  %4 : (bool, int, bool) = prim::TupleConstruct(%1, %2, %3)
  return (%4)
""")
    assert changed
    assert str(g) == """graph(%b : bool,
      %i : int,
      %t : Tensor):
  %3 : bool = aten::Bool(%t)
  %4 : (bool, int, bool) = prim::TupleConstruct(%b, %i, %3)
  return (%4)
"""


def test_tuple_construct_then_unpack_and_index():
    g, changed, _ = _peephole("""graph(%x : Tensor,
      %y : Tensor):
  %0 : int = prim::Constant[value=1]()
  %t : (Tensor, Tensor) = prim::TupleConstruct(%x, %y)
  %a : Tensor, %b : Tensor = prim::TupleUnpack(%t)
  %c : Tensor = prim::TupleIndex(%t, %0)
  %r : (Tensor, Tensor, Tensor) = prim::TupleConstruct(%b, %a, %c)
  return (%r)
""")
    assert changed
    assert str(g) == """graph(%x : Tensor,
      %y : Tensor):
  %r : (Tensor, Tensor, Tensor) = prim::TupleConstruct(%y, %x, %y)
  return (%r)
"""


def test_shape_facts_from_complete_types_become_constants():
    g, changed, log = _peephole(f"""graph(%x : {F34}):
  %0 : int = prim::Constant[value=0]()
  %1 : int = aten::size(%x, %0)
  %2 : int = aten::dim(%x)
  %3 : int = prim::dtype(%x)
  %4 : (int, int, int) = prim::TupleConstruct(%1, %2, %3)
  return (%4)
""")
    assert changed
    assert str(g) == f"""graph(%x : {F34}):
  %11 : int = prim::Constant[value=3]()
  %12 : int = prim::Constant[value=2]()
  %13 : int = prim::Constant[value=6]()
  %4 : (int, int, int) = prim::TupleConstruct(%11, %12, %13)
  return (%4)
"""
    assert log[0] == "%1 : int = aten::size(%x, %0)  ->  3 (known from the input types)"
