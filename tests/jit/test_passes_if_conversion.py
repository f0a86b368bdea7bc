"""If-conversion: a data-dependent ``prim::If`` with cheap, safe branches becomes ``where``."""
from __future__ import annotations

import numpy as np
import pytest

import minijit
from minijit.jit.ir import parse_ir
from minijit.jit.options import OptimizationOptions
from minijit.jit.passes.if_conversion import convert_ifs
from minijit.jit.passes.pass_manager import PassLog
from minijit.jit.runtime.executor import GraphExecutor

F = "Float(3, 4, strides=[4, 1], requires_grad=0, device=cpu)"
B = "Bool(requires_grad=0, device=cpu)"
S = "Float(requires_grad=0, device=cpu)"

GATE = f"""graph(%x : {F}):
  %none : NoneType = prim::Constant()
  %zero : int = prim::Constant[value=0]()
  %s : {S} = aten::sum(%x, %none)
  %c : {B} = aten::gt(%s, %zero)
  %b : bool = aten::Bool(%c)
  %y : {F} = prim::If(%b)
    block0():
      %t : {F} = aten::tanh(%x)
      -> (%t)
    block1():
      %n : {F} = aten::neg(%x)
      -> (%n)
  return (%y)
"""


def test_the_seed_gate_becomes_a_where_of_both_branches():
    g = parse_ir(GATE)
    log = PassLog()
    assert convert_ifs(g, log)
    g.lint()
    assert str(g) == f"""graph(%x : {F}):
  %none : NoneType = prim::Constant()
  %zero : int = prim::Constant[value=0]()
  %s : {S} = aten::sum(%x, %none)
  %c : {B} = aten::gt(%s, %zero)
  %t : {F} = aten::tanh(%x)
  %n : {F} = aten::neg(%x)
  %y : {F} = aten::where(%c, %t, %n)
  return (%y)
"""
    assert log == ["prim::If with 2 branch node(s) -> 1 aten::where"]


@pytest.mark.parametrize("change, reason", [
    # log may make inf on the branch not taken, and its gradient 0 * inf = NaN
    (("aten::tanh(%x)", "aten::log(%x)"), "aten::log is not safe to compute"),
    # an int condition read by Bool is not a comparison's bool
    ((f"%c : {B} = aten::gt(%s, %zero)", "%c : Long(requires_grad=0, device=cpu) = "
      "aten::gt(%s, %zero)"), "the condition is not a 0-dim bool tensor"),
    # sizes unknown: where could broadcast
    ((f"%n : {F} = aten::neg(%x)", "%n : Tensor = aten::neg(%x)"), "unknown or non-floating"),
    # returning the graph input: the result would no longer be the same tensor
    (("-> (%t)", "-> (%x)"), "a branch returns a graph input"),
])
def test_what_is_not_converted_and_why(change, reason):
    g = parse_ir(GATE.replace(*change))
    before = str(g)
    log = PassLog()
    assert not convert_ifs(g, log)
    assert str(g) == before
    assert len(log) == 1 and reason in log[0]


def test_graphs_that_write_in_place_keep_their_ifs():
    text = GATE.replace("%t : {F} = aten::tanh(%x)".format(F=F),
                        f"%t : {F} = aten::tanh_(%x)")
    g = parse_ir(text)
    log = PassLog()
    assert not convert_ifs(g, log)
    assert log == ["kept every prim::If: the graph writes in place"]


class Gate(minijit.nn.Module):
    def forward(self, x, h):
        y = x * 2.0
        if y.sum() > 0:
            z = y
        else:
            z = -y
        return minijit.tanh(z + h)


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("grad", [False, True])
def test_converted_plans_compute_eager_values_and_gradients(sign, grad):
    scripted = minijit.jit.script(Gate())
    ex = GraphExecutor(scripted._methods["forward"].graph,
                       OptimizationOptions(fallback_on_error=False))
    x = (minijit.rand(3, 4) * sign).requires_grad_(grad)
    h = minijit.rand(3, 4).requires_grad_(grad)
    ex.run((scripted, x, h))                      # profiling run
    got = ex.run((scripted, x, h))
    graph = str(ex.graph_for((scripted, x, h)))
    # Without gradients, a CPU plan keeps the branch (it computes one side only).
    assert ("prim::If" not in graph and "aten::where" in graph) == grad
    want = Gate()(x, h)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    if grad:
        assert type(got.grad_fn).__name__ == "DifferentiableGraphBackward"
        gx, gh = minijit.autograd.grad(got.sum(), (x, h))
        ex_, eh = minijit.autograd.grad(want.sum(), (x, h))
        np.testing.assert_allclose(gx.numpy(), ex_.numpy(), rtol=1e-6)
        np.testing.assert_allclose(gh.numpy(), eh.numpy(), rtol=1e-6)


def test_the_option_switches_it_off():
    scripted = minijit.jit.script(Gate())
    x, h = minijit.rand(3, 4).requires_grad_(), minijit.rand(3, 4)
    ex = GraphExecutor(scripted._methods["forward"].graph,
                       OptimizationOptions(if_conversion=False))
    assert "prim::If" in str(ex.graph_for((scripted, x, h)))


def test_with_gradients_the_gate_and_its_comparison_join_one_differentiable_graph():
    # The comparison has no derivative, but it sits inside the group (computed by the
    # forward, skipped by autodiff), so sum -> gt -> where does not cut the graph in three.
    scripted = minijit.jit.script(Gate())
    x = minijit.rand(3, 4).requires_grad_()
    h = minijit.rand(3, 4)
    ex = GraphExecutor(scripted._methods["forward"].graph,
                       OptimizationOptions(fallback_on_error=False))
    graph = str(ex.graph_for((scripted, x, h)))
    top = graph.split("with prim::")[0]
    assert top.count("prim::DifferentiableGraph_") == 1
    assert "aten::gt" not in top and "aten::gt" in graph


def test_branches_that_differentiate_different_values_are_kept():
    # ``if c: y = tanh(a) else: y = tanh(b)`` as where(c, tanh(a), tanh(b)) would give ``b`` a
    # zero gradient when the first branch runs, where eager leaves ``b.grad`` None.
    G = "Float(3, 4, strides=[4, 1], requires_grad=1, device=cpu)"
    text = f"""graph(%a : {G}, %b : {G}):
  %none : NoneType = prim::Constant()
  %zero : int = prim::Constant[value=0]()
  %s : Float(requires_grad=1, device=cpu) = aten::sum(%a, %none)
  %c : {B} = aten::gt(%s, %zero)
  %bc : bool = aten::Bool(%c)
  %y : {G} = prim::If(%bc)
    block0():
      %t : {G} = aten::tanh(%a)
      -> (%t)
    block1():
      %u : {G} = aten::tanh(%b)
      -> (%u)
  return (%y)
"""
    g = parse_ir(text)
    log = PassLog()
    assert not convert_ifs(g, log)
    assert "differentiate different values" in log[0]
    # The same branches on one value convert.
    g = parse_ir(text.replace("aten::tanh(%b)", "aten::neg(%a)"))
    assert convert_ifs(g)
