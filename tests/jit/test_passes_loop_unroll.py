"""Loop unrolling of short constant-trip ``for`` loops: before/after texts, lint after."""
from __future__ import annotations

from minijit.jit.ir import parse_ir
from minijit.jit.passes.loop_unroll import unroll_loops
from minijit.jit.passes.pass_manager import PassLog

LOOP = """graph(%x : Tensor):
  %t : bool = prim::Constant[value=1]()
  %3 : int = prim::Constant[value={trip}]()
  %h : Tensor = prim::Loop(%3, %t, %x)
    block0(%i : int, %h.5 : Tensor):
      %h.3 : Tensor = aten::mul(%h.5, %x)
      -> (%t, %h.3)
  return (%h)
"""


def test_three_iterations_become_three_copies_of_the_body():
    g = parse_ir(LOOP.replace("{trip}", "3"))
    log = PassLog()
    assert unroll_loops(g, log, limit=4)
    g.lint()
    assert str(g) == """graph(%x : Tensor):
  %h.3 : Tensor = aten::mul(%x, %x)
  %h.4 : Tensor = aten::mul(%h.3, %x)
  %h.6 : Tensor = aten::mul(%h.4, %x)
  return (%h.6)
"""
    assert log == ["unrolled a prim::Loop of 3 iteration(s) (1 node(s) per iteration)"]


def test_the_iteration_index_becomes_a_constant():
    g = parse_ir("""graph(%x : Tensor):
  %t : bool = prim::Constant[value=1]()
  %2 : int = prim::Constant[value=2]()
  %h : Tensor = prim::Loop(%2, %t, %x)
    block0(%i : int, %h.5 : Tensor):
      %s : Tensor = aten::select(%x, %i, %i)
      -> (%t, %s)
  return (%h)
""")
    assert unroll_loops(g)
    g.lint()
    # The first copy's result is dead (only the last iteration's is returned).
    assert str(g) == """graph(%x : Tensor):
  %12 : int = prim::Constant[value=1]()
  %s.1 : Tensor = aten::select(%x, %12, %12)
  return (%s.1)
"""


def test_long_loops_while_loops_and_unknown_trips_stay():
    for text in (LOOP.replace("{trip}", "100"),
                 LOOP.replace("%3 : int = prim::Constant[value={trip}]()",
                              "%3 : int = aten::dim(%x)"),
                 LOOP.replace("-> (%t, %h.3)", "%c : bool = aten::is_nonzero(%h.3)\n"
                              "      -> (%c, %h.3)").replace("{trip}", "3")):
        g = parse_ir(text)
        before = str(g)
        assert not unroll_loops(g, limit=16)
        g.lint()
        assert str(g) == before
