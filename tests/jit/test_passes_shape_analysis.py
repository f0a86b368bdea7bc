"""Shape/dtype propagation from an input signature."""
from __future__ import annotations

import minijit
from minijit.jit.ir import parse_ir
from minijit.jit.passes.inline import inline_calls
from minijit.jit.passes.pass_manager import PassLog
from minijit.jit.passes.shape_analysis import propagate_shapes

F = "Float({}, strides=[{}], requires_grad=0, device=cpu)"


def test_pointwise_broadcast_and_promotion_follow_the_dispatcher():
    g = parse_ir("""graph(%a : Tensor,
      %b : Tensor,
      %c : Tensor):
  %1 : int = prim::Constant[value=1]()
  %h : float = prim::Constant[value=0.5]()
  %3 : Tensor = aten::mul(%a, %b)
  %4 : Tensor = aten::add(%3, %c, %1)
  %5 : Tensor = aten::gt(%4, %h)
  %6 : Tensor = aten::mul(%b, %h)
  %7 : (Tensor, Tensor, Tensor) = prim::TupleConstruct(%4, %5, %6)
  return (%7)
""")
    a = minijit.rand(2, 3)
    b = minijit.ones(3, dtype=minijit.int64)
    c = minijit.rand((), dtype=minijit.float64)      # 0-dim: does not promote a float32 result
    log = PassLog()
    assert propagate_shapes(g, (a, b, c), log)
    g.lint()
    types = {n.output().debug_name: str(n.output().type) for n in g.nodes
             if n.kind.startswith("aten::")}
    assert types == {
        "3": F.format("2, 3", "3, 1"),
        "4": F.format("2, 3", "3, 1"),
        "5": "Bool(2, 3, strides=[3, 1], requires_grad=0, device=cpu)",
        "6": F.format("3", "1"),                     # long * 0.5 -> float32
    }
    assert log == ["typed 4 node(s) from the input signature"]


def test_types_from_another_signature_are_erased_first():
    x = minijit.rand(3, 4)
    traced = minijit.jit.trace(lambda x: (x * 2).sum(1), (x,))
    g = traced.graph.copy()
    propagate_shapes(g, (minijit.rand(5, 2, dtype=minijit.float64),))
    g.lint()
    out = g.outputs[0]
    assert str(out.type) == "Double(5, strides=[1], requires_grad=0, device=cpu)"


def test_parameters_are_read_from_the_module_and_requires_grad_flows():
    lin = minijit.nn.Linear(4, 3)
    traced = minijit.jit.trace(lin, (minijit.rand(2, 4),))
    g = traced.graph.copy()
    inline_calls(g)
    propagate_shapes(g, (traced, minijit.rand(2, 4)))
    g.lint()
    assert str(g.outputs[0].type) == \
        "Float(2, 3, strides=[3, 1], requires_grad=1, device=cpu)"
    with minijit.no_grad():
        propagate_shapes(g, (traced, minijit.rand(2, 4)), grad_enabled=False)
    assert str(g.outputs[0].type) == F.format("2, 3", "3, 1")


def test_loops_reach_a_fixed_point_and_branches_merge():
    g = parse_ir("""graph(%x : Tensor,
      %n : int,
      %c : bool):
  %t : bool = prim::Constant[value=1]()
  %h : Tensor = prim::Loop(%n, %t, %x)
    block0(%i : int, %h.5 : Tensor):
      %h.3 : Tensor = aten::tanh(%h.5)
      -> (%t, %h.3)
  %r : Tensor = prim::If(%c)
    block0():
      -> (%h)
    block1():
      %s : Tensor = aten::sum(%x, %none)
      -> (%s)
  return (%r)
""".replace("%none", "%nn").replace("  %t : bool",
                                     "  %nn : NoneType = prim::Constant()\n  %t : bool"))
    propagate_shapes(g, (minijit.rand(3, 4), 5, True))
    g.lint()
    assert str(g.nodes[2].output().type) == F.format("3, 4", "4, 1")
    # tanh(3x4) and sum() -> a 0-dim: only the dtype survives the join.
    assert str(g.outputs[0].type) == "FloatTensor(requires_grad=0, device=cpu)"


def test_an_index_known_only_at_run_time_is_typed_by_the_ops_meta_rule():
    # ``xs[i]`` inside a loop left rolled: the index is the loop counter, so running the
    # kernel on stand-ins cannot type it; select's registry ``meta`` rule can (dim drops).
    g = parse_ir("""graph(%xs : Tensor,
      %n : int):
  %t : bool = prim::Constant[value=1]()
  %zero : int = prim::Constant[value=0]()
  %one : int = prim::Constant[value=1]()
  %h : Tensor = prim::Loop(%n, %t, %xs)
    block0(%i : int, %h.5 : Tensor):
      %row : Tensor = aten::select(%xs, %zero, %i)
      %col : Tensor = aten::select(%xs, %one, %i)
      %s : Tensor = aten::tanh(%row)
      -> (%t, %h.5)
  return (%h)
""")
    propagate_shapes(g, (minijit.rand(5, 3, 4), 2))
    g.lint()
    body = g.nodes[-1].blocks[0].nodes
    assert str(body[0].output().type) == F.format("3, 4", "4, 1")
    assert str(body[1].output().type) == \
        "Float(5, 4, strides=[12, 1], requires_grad=0, device=cpu)"
    assert str(body[2].output().type) == F.format("3, 4", "4, 1")


def test_sizes_made_constant_by_the_peephole_pass_type_what_they_create():
    # ``torch.zeros(xs.size(1), xs.size(2))`` before a loop too long to unroll: the
    # executor types the graph again once the peephole pass has folded the sizes.
    from minijit.jit.options import OptimizationOptions
    from minijit.jit.runtime.executor import GraphExecutor

    @minijit.jit.script
    def loop(xs):
        h = minijit.zeros(xs.size(1), xs.size(2))
        for i in range(xs.size(0)):
            h = minijit.tanh(xs[i] + h)
        return h

    ex = GraphExecutor(loop.graph, OptimizationOptions(unroll_limit=2))
    graph = str(ex.graph_for((minijit.rand(5, 3, 4),)))
    assert "prim::Loop" in graph
    assert "Float(3, 4, strides=[4, 1], requires_grad=0, device=cpu) = aten::zeros" in graph
    assert "prim::FusionGroup" in graph          # the loop body's add and tanh, now typed
