"""Fusion: grouping, TorchScript's printing, generated NumPy kernels, the kernel cache.

The kernel tests are a table over the registry: every pointwise op with a NumPy template, on
every one of its samples, runs as a one-node fusion group through the generated kernel (whole
arrays, and in tiny blocks on several threads) and must give eager's dtype and values, or
eager's error.
"""
from __future__ import annotations

import numpy as np
import pytest

import minijit
from minijit.jit.codegen.numpy_kernel import GroupInfo, fusible_reason, generate_kernel
from minijit.jit.ir import Graph, parse_ir
from minijit.jit.options import OptimizationOptions
from minijit.jit.passes.fuse import fuse_pointwise, inline_fusion_groups
from minijit.jit.passes.pass_manager import PassLog
from minijit.jit.runtime.kernel_cache import KERNEL_CACHE, FusedKernel, coalesce
from minijit.ops import dispatch, registry
from minijit.ops.registry import Tag
from minijit.ops.samples import sample_maker

F = "Float(4, 8, strides=[8, 1], requires_grad=0, device=cpu)"


def _fuse(text: str, min_size: int = 2):
    g = parse_ir(text)
    log, not_fused = PassLog(), []
    changed = fuse_pointwise(g, log, min_size, not_fused)
    g.lint()
    return g, changed, log, not_fused


# ---- grouping and printing -----------------------------------------------------------------------
def test_fusion_group_prints_as_torchscript_does():
    g, changed, log, not_fused = _fuse(f"""graph(%x.1 : {F},
      %y.1 : {F}):
  %2 : int = prim::Constant[value=1]()
  %3 : float = prim::Constant[value=1.]()
  %4 : {F} = aten::mul(%x.1, %y.1) # g3_fusion.py:14:8
  %a.2 : {F} = aten::add(%4, %3, %2) # g3_fusion.py:14:8
  %8 : {F} = aten::tanh(%a.2) # g3_fusion.py:15:8
  %6 : {F} = aten::sigmoid(%x.1) # g3_fusion.py:15:24
  %b.2 : {F} = aten::mul(%8, %6) # g3_fusion.py:15:8
  %1 : {F} = aten::relu(%b.2) # g3_fusion.py:16:11
  return (%1)
""")
    assert changed and not not_fused
    assert str(g) == f"""graph(%x.1 : {F},
      %y.1 : {F}):
  %2 : int = prim::Constant[value=1]()
  %3 : float = prim::Constant[value=1.]()
  %19 : {F} = prim::FusionGroup_0(%x.1, %y.1)
  return (%19)
with prim::FusionGroup_0 = graph(%x.1 : {F},
      %y.1 : {F}):
  %2 : float = prim::Constant[value=1.]()
  %3 : int = prim::Constant[value=1]()
  %4 : {F} = aten::mul(%x.1, %y.1) # g3_fusion.py:14:8
  %a.2 : {F} = aten::add(%4, %2, %3) # g3_fusion.py:14:8
  %6 : {F} = aten::tanh(%a.2) # g3_fusion.py:15:8
  %7 : {F} = aten::sigmoid(%x.1) # g3_fusion.py:15:24
  %b.2 : {F} = aten::mul(%6, %7) # g3_fusion.py:15:8
  %9 : {F} = aten::relu(%b.2) # g3_fusion.py:16:11
  return (%9)
"""
    assert log == ["prim::FusionGroup_0: 6 ops (aten::mul, aten::add, aten::tanh, aten::sigmoid, "
                   "aten::mul, aten::relu); 2 input(s), 1 output(s)"]
    # The printed text parses back to the same graph (the Subgraph attribute is restored).
    assert str(parse_ir(str(g))) == str(g)


def test_a_path_through_an_unfusible_node_splits_the_group():
    g, _, _, not_fused = _fuse("""graph(%x : Tensor):
  %n : NoneType = prim::Constant()
  %a1 : Tensor = aten::exp(%x)
  %a : Tensor = aten::tanh(%a1)
  %s : Tensor = aten::sum(%a, %n)
  %b : Tensor = aten::mul(%a, %s)
  %c : Tensor = aten::neg(%b)
  return (%c)
""")
    assert str(g) == """graph(%x : Tensor):
  %n : NoneType = prim::Constant()
  %a : Tensor = prim::FusionGroup_0(%x)
  %s : Tensor = aten::sum(%a, %n)
  %c : Tensor = prim::FusionGroup_1(%a, %s)
  return (%c)
with prim::FusionGroup_0 = graph(%x : Tensor):
  %a1 : Tensor = aten::exp(%x)
  %a : Tensor = aten::tanh(%a1)
  return (%a)
with prim::FusionGroup_1 = graph(%a : Tensor,
      %s : Tensor):
  %b : Tensor = aten::mul(%a, %s)
  %c : Tensor = aten::neg(%b)
  return (%c)
"""
    assert not_fused == [("%s : Tensor = aten::sum(%a, %n)", "not pointwise (tags: reduction)")]


def test_readers_of_a_member_move_after_the_group_and_results_used_outside_are_outputs():
    g, _, _, _ = _fuse("""graph(%x : Tensor):
  %n : NoneType = prim::Constant()
  %a : Tensor = aten::tanh(%x)
  %s : Tensor = aten::sum(%a, %n)
  %b : Tensor = aten::exp(%x)
  %c : Tensor = aten::mul(%a, %b)
  %r : (Tensor, Tensor) = prim::TupleConstruct(%s, %c)
  return (%r)
""")
    assert str(g) == """graph(%x : Tensor):
  %n : NoneType = prim::Constant()
  %a : Tensor, %c : Tensor = prim::FusionGroup_0(%x)
  %s : Tensor = aten::sum(%a, %n)
  %r : (Tensor, Tensor) = prim::TupleConstruct(%s, %c)
  return (%r)
with prim::FusionGroup_0 = graph(%x : Tensor):
  %a : Tensor = aten::tanh(%x)
  %b : Tensor = aten::exp(%x)
  %c : Tensor = aten::mul(%a, %b)
  return (%a, %c)
"""


def test_side_effects_randomness_and_runtime_scalars_stop_fusion():
    g, changed, _, not_fused = _fuse("""graph(%x : Tensor,
      %k : int):
  %1 : int = prim::Constant[value=1]()
  %n : NoneType = prim::Constant()
  %a : Tensor = aten::tanh(%x)
  %w : Tensor = aten::add_(%x, %x, %1)
  %b : Tensor = aten::exp(%a)
  %r : Tensor = aten::rand_like(%b, %n, %n, %n, %n, %n)
  %c : Tensor = aten::mul(%b, %r)
  %d : Tensor = aten::mul(%c, %k)
  return (%d)
""")
    assert not changed
    reasons = dict(not_fused)
    assert reasons["%d : Tensor = aten::mul(%c, %k)"] == \
        "argument 'other' is a runtime int, not a constant"
    assert reasons["%a : Tensor = aten::tanh(%x)"].startswith("no fusible neighbour")


def test_blocks_are_fused_separately_and_can_be_inlined_back():
    text = """graph(%x : Tensor,
      %c : bool):
  %r : Tensor = prim::If(%c)
    block0():
      %a : Tensor = aten::tanh(%x)
      %b : Tensor = aten::exp(%a)
      -> (%b)
    block1():
      -> (%x)
  return (%r)
"""
    g, changed, _, _ = _fuse(text)
    assert changed
    assert "prim::FusionGroup_0(%x)" in str(g)
    assert inline_fusion_groups(g)
    g.lint()
    assert str(g) == str(parse_ir(text))


def test_what_fuses_is_decided_by_tags():
    for op in registry.all_ops():
        if Tag.POINTWISE in op.tags and Tag.INPLACE not in op.tags and op.numpy_template:
            continue
        g = Graph()
        x = g.add_input("x")
        node = g.insert_node(g.create_node(op.kind, [x] * len(op.schema.arguments)))
        assert fusible_reason(node) is not None, op.kind


# ---- kernels -------------------------------------------------------------------------------------
def test_generated_source_for_a_chain():
    g = parse_ir("""graph(%a : Tensor, %b : Tensor):
  %1 : int = prim::Constant[value=1]()
  %h : float = prim::Constant[value=0.5]()
  %3 : Tensor = aten::mul(%a, %b)
  %4 : Tensor = aten::add(%3, %a, %1)
  %5 : Tensor = aten::tanh(%4)
  %6 : Tensor = aten::mul(%5, %h)
  return (%6)
""")
    f32 = np.dtype("float32")
    kernel = generate_kernel(GroupInfo(g), (f32, f32), (False, False), [(True,), (True,)])
    assert kernel.small_source == """def small(a0, a1):
    t0 = np.multiply(a0, a1)
    t1 = np.add(t0, a0)
    t2 = np.tanh(t1)
    t3 = np.multiply(t2, 0.5)
    return (t3,)
"""
    assert kernel.blocked_source == """def blocked(start, stop, R, inner, a0, a1, o0):
    _B0 = np.empty((R,), _float32)
    B0 = _B0
    for s in range(start, stop, R):
        e = s + R if s + R < stop else stop
        if e - s != R:
            B0 = _B0[:e - s]
        x0 = a0[s:e]
        x1 = a1[s:e]
        t0 = np.multiply(x0, x1, out=B0)
        t1 = np.add(t0, x0, out=B0)
        t2 = np.tanh(t1, out=B0)
        t3 = np.multiply(t2, 0.5, out=o0[s:e])
"""


def test_mixed_dtypes_cast_once_and_broadcast_inputs_are_hoisted():
    g = parse_ir("""graph(%a : Tensor, %b : Tensor):
  %1 : int = prim::Constant[value=1]()
  %3 : Tensor = aten::exp(%b)
  %4 : Tensor = aten::add(%a, %3, %1)
  return (%4)
""")
    kernel = generate_kernel(GroupInfo(g), (np.dtype("float32"), np.dtype("float64")),
                             (False, False), [(True, True), (False, True)])
    assert kernel.blocked_source == """def blocked(start, stop, R, inner, a0, a1, o0):
    t0 = np.exp(a1)
    _B0 = np.empty((R, inner[0]), _float64)
    B0 = _B0
    for s in range(start, stop, R):
        e = s + R if s + R < stop else stop
        if e - s != R:
            B0 = _B0[:e - s]
        x0 = a0[s:e]
        t1 = x0.astype(_float64) if False else B0
        np.copyto(t1, x0, casting='unsafe')
        t2 = np.add(t1, t0, out=o0[s:e])
""".replace("x0.astype(_float64) if False else B0", "B0")


def test_coalescing_merges_dimensions_treated_alike():
    assert coalesce([(64, 100, 100), (100,)], (64, 100, 100)) == \
        ((6400, 100), [(True, True), (False, True)])
    assert coalesce([(2, 1, 3), (4, 1)], (2, 4, 3)) == \
        ((2, 4, 3), [(True, False, True), (False, True, False)])
    assert coalesce([(5,), ()], (5,)) == ((5,), [(True,), (False,)])


def _pointwise_cases():
    cases = []
    for op in registry.all_ops():
        if Tag.POINTWISE not in op.tags or Tag.INPLACE in op.tags or not op.numpy_template:
            continue
        for i in range(len(op.sample_inputs(sample_maker(0)))):
            cases.append((op, i))
    return cases


def _one_node_group(op, bound):
    """A subgraph with one ``op`` node: tensors are inputs, everything else a constant."""
    g = Graph()
    inputs, arrays = [], []
    for value in bound:
        if isinstance(value, minijit.Tensor):
            v = g.add_input(None)
            arrays.append(value._data)
            inputs.append(v)
        else:
            inputs.append(g.insert_constant(value))
    node = g.insert_node(g.create_node(op.kind, inputs))
    g.register_output(node.output())
    return g, arrays


@pytest.mark.parametrize("op,index", _pointwise_cases(),
                         ids=[f"{op.name}-{i}" for op, i in _pointwise_cases()])
def test_kernel_matches_eager_on_every_pointwise_sample(op, index):
    args, kwargs = op.sample_inputs(sample_maker(index))[index]
    bound = dispatch.bind(op, args, kwargs)
    g, arrays = _one_node_group(op, bound)
    try:
        expected = dispatch.apply(op, bound)
    except Exception as exc:  # noqa: BLE001 - the kernel must raise the same
        for opts in (OptimizationOptions(), OptimizationOptions(block_size=4)):
            with pytest.raises(type(exc)) as info:
                FusedKernel(g, opts)(*arrays)
            assert str(exc) in str(info.value)
        return
    want = expected._data
    for opts in (OptimizationOptions(),
                 OptimizationOptions(block_size=4, parallel_threshold=8, num_threads=3)):
        (got,) = FusedKernel(g, opts)(*arrays)
        assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype)
        np.testing.assert_array_equal(got, want)


def test_blocked_threaded_kernel_equals_the_small_one_on_big_broadcast_inputs():
    g = parse_ir("""graph(%a : Tensor, %b : Tensor, %c : Tensor):
  %1 : int = prim::Constant[value=1]()
  %h : float = prim::Constant[value=0.5]()
  %3 : Tensor = aten::mul(%a, %b)
  %4 : Tensor = aten::add(%3, %c, %1)
  %5 : Tensor = aten::tanh(%4)
  %6 : Tensor = aten::sigmoid(%a)
  %7 : Tensor = aten::mul(%5, %6)
  %8 : Tensor = aten::gt(%7, %h)
  %9 : Tensor = aten::where(%8, %7, %b)
  return (%9, %8)
""")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((37, 50, 29)).astype(np.float32)
    b = rng.standard_normal((29,)).astype(np.float32)
    c = rng.standard_normal((37, 1, 29)).astype(np.float64)
    small = FusedKernel(g, OptimizationOptions(block_size=1 << 30))(a, b, c)
    opts = OptimizationOptions(block_size=1000, parallel_threshold=1000, num_threads=4)
    blocked = FusedKernel(g, opts)
    out = blocked(a, b, c)
    for s, o in zip(small, out):
        assert s.dtype == o.dtype and s.shape == o.shape
        np.testing.assert_array_equal(s, o)
    assert "def blocked(" in blocked.source


def test_kernels_are_shared_by_structure_dtype_and_pattern():
    text = """graph(%{x} : Tensor, %{y} : Tensor):
  %1 : int = prim::Constant[value=1]()
  %3 : Tensor = aten::sub(%{x}, %{y}, %1)
  %4 : Tensor = aten::exp(%3)
  return (%4)
"""
    KERNEL_CACHE.clear()
    k1 = FusedKernel(parse_ir(text.format(x="p", y="q")), OptimizationOptions())
    k2 = FusedKernel(parse_ir(text.format(x="u", y="v")), OptimizationOptions())
    x = np.ones((3, 4), np.float32)
    k1(x, x)
    k2(x, x)                                    # same structure and dtypes: a cache hit
    k2(np.ones((5, 6), np.float32), np.ones((5, 6), np.float32))   # other shape, same kernel
    assert len(KERNEL_CACHE) == 1 and KERNEL_CACHE.hits == 2
    k2(x.astype(np.float64), x)                 # a new dtype: a new kernel
    assert len(KERNEL_CACHE) == 2
    big = np.ones((300, 400), np.float32)
    k2(big, big)                                # blocked, same pattern as ...
    k2(big, np.ones((400,), np.float32))        # ... and a broadcast pattern
    assert len(KERNEL_CACHE) == 4


def test_errors_are_eagers_errors():
    g = parse_ir("""graph(%a : Tensor, %b : Tensor):
  %1 : int = prim::Constant[value=1]()
  %3 : Tensor = aten::sub(%a, %b, %1)
  %4 : Tensor = aten::exp(%3)
  return (%4)
""")
    k = FusedKernel(g, OptimizationOptions())
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        k(np.ones((3, 4), np.float32), np.ones((3, 5), np.float32))
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool"):
        k(np.ones((3,), bool), np.ones((3,), bool))
    assert k.fallbacks == 2
