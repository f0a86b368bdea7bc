"""The capture-safe GEMM and the fused CUDA reductions on machines without a GPU: generated
source, which registry ops they apply to, the graph rewrite (its values checked by running
the rewritten graph on the CPU), how ``cuda_plan`` wires them, and ``nvcc -ptx`` on every
kernel variant (skipped when ``nvcc`` is absent).  ``tests/test_gpu_fusion.py`` runs them on
a GPU.
"""
from __future__ import annotations

import doctest
import shutil
import subprocess
import warnings
from typing import Any, List, Tuple

import numpy as np
import pytest

import minijit as torch
from minijit.jit.codegen import cuda_gemm, cuda_kernel, cuda_reduction
from minijit.jit.codegen.cuda_gemm import GemmForm, GeneratedGemm, gemm_form, generate_gemm
from minijit.jit.codegen.cuda_reduction import (
    REDUCTION_KIND,
    ReductionInfo,
    fuse_reduction_prologues,
    generate_cuda_reduction,
    reduction_form,
    standalone_reduction_source,
)
from minijit.jit.codegen.numpy_kernel import KernelGenerationError
from minijit.jit.ir import parse_ir
from minijit.jit.runtime.executor import GraphExecutor
from minijit.ops.registry import get

F16, F32, F64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
I64 = np.dtype("int64")
NVCC = pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")


def test_docstring_examples():
    for module in (cuda_gemm, cuda_reduction, cuda_kernel):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


# ---- the GEMM -----------------------------------------------------------------------------------
GEMM_VARIANTS = [(d, t, b) for d in ("float32", "float64") for t in (False, True)
                 for b in (False, True)]


def test_gemm_source_follows_the_layout_bias_and_dtype():
    k = generate_gemm(F32, transposed=True, has_bias=True)
    assert k.name == "minijit_gemm_nt_bias_float32"
    assert "const float* __restrict__ bias," in k.source
    assert "w[static_cast<long long>(col0 + ty) * K + k0 + tx]" in k.source   # w is [N, K]
    assert "= acc + bias[col];" in k.source and "__syncthreads();" in k.source
    assert [name for _, name in k.params] == ["x", "w", "bias", "out", "M", "N", "K"]
    k = generate_gemm(F64, transposed=False, has_bias=False)
    assert k.name == "minijit_gemm_nn_float64"
    assert "w[static_cast<long long>(k0 + ty) * N + col]" in k.source          # w is [K, N]
    assert "bias" not in k.source.split("\n", 2)[2] and "double acc = 0;" in k.source
    assert [name for _, name in k.params] == ["x", "w", "out", "M", "N", "K"]
    assert generate_gemm("float32", 1, 0) is generate_gemm(F32, True, False)   # cached
    with pytest.raises(ValueError, match="supports float32, float64, not float16"):
        generate_gemm(F16, True, True)


def test_gemm_launch_covers_sizes_that_are_not_multiples_of_the_tile():
    t = cuda_gemm.TILE
    assert GeneratedGemm.launch_config(3, 4) == ((1, 1, 1), (t, t, 1))
    assert GeneratedGemm.launch_config(64, 256) == ((4, 16, 1), (t, t, 1))
    assert GeneratedGemm.launch_config(t + 1, 2 * t + 1) == ((2, 3, 1), (t, t, 1))
    assert GeneratedGemm.unfit(3, 4, 4) is None and GeneratedGemm.unfit(3, 4, 0) is None
    assert "empty" in GeneratedGemm.unfit(0, 4, 4)
    assert "column tiles" in GeneratedGemm.unfit(1, t * (cuda_gemm.MAX_GRID_Y + 1), 4)


def test_gemm_forms_are_read_off_the_registry():
    assert gemm_form(get("linear")) == GemmForm(transposed=True, bias=True)
    assert gemm_form(get("mm")) == GemmForm(transposed=False, bias=False)
    assert gemm_form(get("matmul")) == GemmForm(transposed=False, bias=False)
    assert gemm_form(get("bmm")) is None                    # refuses 2-D operands
    assert gemm_form(get("tanh")) is None and gemm_form(get("sum")) is None


@NVCC
def test_nvcc_compiles_every_gemm_variant(tmp_path):
    kernels = [generate_gemm(*v) for v in GEMM_VARIANTS]
    cu = tmp_path / "gemm.cu"
    cu.write_text("".join(k.source for k in kernels))
    ptx = _nvcc_ptx(cu, tmp_path)
    for k in kernels:
        assert f".entry {k.name}(" in ptx


def _nvcc_ptx(cu: Any, tmp_path: Any) -> str:
    out = tmp_path / (cu.stem + ".ptx")
    result = subprocess.run(["nvcc", "-ptx", "-std=c++17", "-o", str(out), str(cu)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    return out.read_text()


# ---- fused reductions: which, and the rewrite ---------------------------------------------------
def test_reduction_forms_are_read_off_the_registry():
    assert reduction_form(get("sum")) == "sum" and reduction_form(get("mean")) == "mean"
    for name in ("prod", "amax", "logsumexp", "std", "tanh", "linear"):
        assert reduction_form(get(name)) is None, name


def full_sum(a, b, c):
    return (a * b + c).sum()


def row_mean(a, b, c):
    return torch.tanh(a * b + c).mean(1, True)


def count_above(a, b, c):
    return ((a * b) > c).sum(0)


def sum_as_double(a, b, c):
    return (a * b - c).sum(dtype=torch.float64)


def also_returned(a, b, c):
    y = a * b + c
    return y.sum(), y


def runtime_dim(a, b, c, d: int):
    return (a * b + c).sum(d)


def _optimised(fn: Any, args: List[Any]) -> Any:
    with torch.no_grad():
        return GraphExecutor(torch.jit.script(fn).graph).graph_for(args).copy()


def _run_rewritten(graph: Any, args: List[Any]) -> Any:
    """The rewritten graph on CPU Tensors, each prim::FusedReduction through the interpreter
    (what CudaFusedReduction does when it has no kernel)."""
    from minijit.jit.runtime.interpreter import compile_graph, run_program
    from minijit.jit.runtime.plan import compile_steps

    def reduction(node: Any) -> Tuple[Any, bool]:
        program = compile_graph(node.attrs["Subgraph"])
        return (lambda *values: run_program(program, list(values))), False
    with torch.no_grad():
        return compile_steps(graph, "tensor", {REDUCTION_KIND: reduction}).fn(*args)


@pytest.mark.parametrize("fn", [full_sum, row_mean, count_above, sum_as_double],
                         ids=lambda f: f.__name__)
def test_a_reduction_reading_a_fusion_group_moves_into_it_and_keeps_its_values(fn):
    torch.manual_seed(0)
    args = [torch.rand(5, 7) - 0.5 for _ in range(3)]
    graph = _optimised(fn, args)
    assert fuse_reduction_prologues(graph)
    graph.lint()
    text = graph.str(False)
    assert "prim::FusionGroup" not in text and f"{REDUCTION_KIND}_0" in text
    (fused,) = [n for n in graph.nodes if n.kind == REDUCTION_KIND]
    sub = fused.attrs["Subgraph"]
    assert sub.outputs[0].node.kind in ("aten::sum", "aten::mean")
    got, want = _run_rewritten(graph, args), fn(*args)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


def test_outputs_read_elsewhere_and_runtime_dims_are_not_fused():
    args = [torch.rand(4, 5) for _ in range(3)]
    graph = _optimised(also_returned, args)
    assert not fuse_reduction_prologues(graph)
    assert "prim::FusionGroup" in graph.str(False)
    graph = _optimised(runtime_dim, args + [1])
    assert not fuse_reduction_prologues(graph)


# ---- fused reductions: generated source -------------------------------------------------------
def _info(fn: Any, args: List[Any]) -> ReductionInfo:
    graph = _optimised(fn, args)
    assert fuse_reduction_prologues(graph)
    (fused,) = [n for n in graph.nodes if n.kind == REDUCTION_KIND]
    return ReductionInfo(fused.attrs["Subgraph"])


def test_generated_reduction_source_for_a_full_sum():
    info = _info(full_sum, [torch.rand(4, 5) for _ in range(3)])
    assert (info.form, info.axes(2), info.keepdim) == ("sum", None, False)
    k = generate_cuda_reduction(info, (F32,) * 3, (False,) * 3, 2, "full sum")
    assert k.name.startswith("minijit_full_sum_")
    assert (k.in_params, k.out_params) == ("float32 a0, float32 a1, float32 a2", "float32 y")
    assert k.map_function == f"""\
__device__ __forceinline__ float {k.name}_map(const float a0, const float a1, const float a2) {{
    const float v0 = static_cast<float>((a0 * a1));
    const float v1 = static_cast<float>((v0 + static_cast<float>(1.0) * a2));
    return v1;
}}
"""
    assert k.map_expr == f"{k.name}_map(a0, a1, a2)"
    assert (k.reduce_expr, k.identity, k.reduce_type) == ("a + b", "0", "float")
    assert k.post_map_expr == "y = static_cast<float>(a)"
    assert "cupy.ReductionKernel" in k.source and k.map_function in k.source
    assert k.map_function in k.preamble and "minijit_clamp" in k.preamble


def test_reduction_dtypes_follow_eager():
    args = [torch.rand(4, 5) for _ in range(3)]
    count = generate_cuda_reduction(_info(count_above, args), (F32,) * 3, (False,) * 3, 2)
    assert count.result_dtype == I64 and count.reduce_type == "long long"
    assert "__forceinline__ bool " in count.map_function          # a bool summed as int64
    info = _info(sum_as_double, args)
    wide = generate_cuda_reduction(info, (F32,) * 3, (False,) * 3, 2)
    assert wide.result_dtype == F64 and wide.reduce_type == "double"
    half = generate_cuda_reduction(_info(row_mean, args), (F16,) * 3, (False,) * 3, 2)
    assert half.result_dtype == F16 and half.reduce_type == "float"
    assert "minijit_round_half" in half.preamble
    assert half.post_map_expr == ("y = static_cast<float16>(a / static_cast<float>("
                                  "_in_ind.size() / _out_ind.size()))")
    # Eager refuses the mean of an integer tensor: no kernel (the node then runs op by op
    # and raises eager's error).
    info = ReductionInfo(parse_ir("""graph(%a : Tensor, %b : Tensor):
  %none : NoneType = prim::Constant()
  %1 : int = prim::Constant[value=1]()
  %s : Tensor = aten::add(%a, %b, %1)
  %t : Tensor = aten::mul(%s, %b)
  %r : Tensor = aten::mean(%t, %none)
  return (%r)
"""))
    with pytest.raises(KernelGenerationError, match=r"mean\(\): could not infer output dtype"):
        generate_cuda_reduction(info, (I64, I64), (False, False), 1)
    assert ReductionInfo(parse_ir("""graph(%a : Tensor):
  %d : int[] = prim::Constant[value=[3]]()
  %k : bool = prim::Constant[value=0]()
  %none : NoneType = prim::Constant()
  %t : Tensor = aten::neg(%a)
  %r : Tensor = aten::sum(%t, %d, %k, %none)
  return (%r)
""")).axes(4) == (3,)


def _reduction_kernels() -> List[Any]:
    args = [torch.rand(4, 5) for _ in range(3)]
    out = []
    for fn, dtypes in ((full_sum, (F32,) * 3), (row_mean, (F32,) * 3), (row_mean, (F16,) * 3),
                       (count_above, (F64,) * 3), (sum_as_double, (F32,) * 3),
                       (full_sum, (I64,) * 3)):
        out.append(generate_cuda_reduction(_info(fn, args), dtypes, (False,) * 3, 2,
                                           f"r{len(out)}"))
    return out


@NVCC
def test_nvcc_compiles_standalone_fused_reductions(tmp_path):
    kernels = _reduction_kernels()
    source = standalone_reduction_source(kernels[0]) + "".join(
        standalone_reduction_source(k, header=False) for k in kernels[1:])
    assert source.count("struct minijit_extent") == 1
    cu = tmp_path / "reductions.cu"
    cu.write_text(source)
    ptx = _nvcc_ptx(cu, tmp_path)
    for k in kernels:
        assert f".entry {k.name}(" in ptx


# ---- how cuda_plan wires them (built on the CPU; running needs a GPU) ---------------------------
class Cell(torch.nn.Module):
    def __init__(self):
        super(Cell, self).__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h


class Loop(torch.nn.Module):
    def __init__(self):
        super(Loop, self).__init__()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.cell = torch.jit.trace(Cell(), (torch.rand(3, 4), torch.rand(3, 4)))

    def forward(self, xs):
        h = torch.zeros_like(xs[0])
        y = torch.zeros_like(xs[0])
        for i in range(10):
            y, h = self.cell(xs[i], h)
        return y, h


def test_cuda_plan_uses_the_gemm_only_for_a_plan_it_will_capture():
    from minijit.backends.cupy_backend import CudaFusedKernel, CudaGemm, cuda_plan
    loop = torch.jit.script(Loop())
    ex = GraphExecutor(loop._methods["forward"].graph)
    with torch.no_grad():
        plan = ex.plan_for((loop, torch.rand(10, 3, 4)))
    graphed = cuda_plan(plan, None, cuda_graphs=True)
    kinds = [type(k) for k in graphed.kernels]
    assert kinds.count(CudaGemm) == 10 and kinds.count(CudaFusedKernel) == 1
    assert all(k.form == GemmForm(True, True) for k in graphed.kernels if type(k) is CudaGemm)
    assert "10 matrix product(s) on the capture-safe GEMM" in graphed.report.mode
    assert graphed.replay is not None and not graphed.replay.failed
    assert graphed.host is plan and graphed.settings == (True, True)
    plain = cuda_plan(plan, None)
    assert [type(k) for k in plain.kernels] == [CudaFusedKernel] and plain.replay is None
    # Gradients (the Linear's parameters require them): ops run eagerly, nothing to capture.
    grad_plan = GraphExecutor(loop._methods["forward"].graph).plan_for(
        (loop, torch.rand(10, 3, 4)))
    assert grad_plan.needs_grad
    graphed = cuda_plan(grad_plan, None, cuda_graphs=True)
    assert not [k for k in graphed.kernels if type(k) is CudaGemm]
    assert graphed.replay.failed and "gradients" in graphed.replay.reason


def test_cuda_plan_fuses_reductions_in_its_own_copy_of_the_graph():
    from minijit.backends.cupy_backend import CudaFusedKernel, CudaFusedReduction, cuda_plan
    args = [torch.rand(5, 6) for _ in range(3)]
    with torch.no_grad():
        plan = GraphExecutor(torch.jit.script(row_mean).graph).plan_for(args)
    before = plan.graph.str(False)
    fused = cuda_plan(plan, None)
    assert [type(k) for k in fused.kernels] == [CudaFusedReduction]
    assert "1 of them fused reductions" in fused.report.mode
    assert plan.graph.str(False) == before and REDUCTION_KIND not in before
    assert REDUCTION_KIND in fused.graph.str(False) and REDUCTION_KIND in fused.report.graph
    apart = cuda_plan(plan, None, fuse_reductions=False)
    assert [type(k) for k in apart.kernels] == [CudaFusedKernel]
    assert REDUCTION_KIND not in apart.report.graph       # the report shows what runs
    assert fused.kernels[0].source.startswith("// not generated yet")


class GatedCell(Cell):
    """The seed's MyCell: a scripted decision gate that reads ``x.sum()``."""

    def __init__(self):
        super(GatedCell, self).__init__()
        self.dg = torch.jit.script(DecisionGate())

    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h


class DecisionGate(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        else:
            return -x


class GatedLoop(Loop):
    def __init__(self):
        super(GatedLoop, self).__init__()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.cell = torch.jit.trace(GatedCell(), (torch.rand(3, 4), torch.rand(3, 4)))


def test_the_gated_seed_loop_planned_as_for_a_gpu_is_capturable_and_keeps_its_values(
        monkeypatch):
    """The plan the executor builds for GPU arguments (if-conversion on: ``_on_gpu`` is
    faked), made a CUDA plan with capture: no control flow left, every Linear on the GEMM.
    Its program then runs here on NumPy arrays through its steps' fallbacks, as on a machine
    without CuPy (the GEMM step refuses host arrays; the fused kernel cannot be compiled), and
    gives the host plan's values."""
    from minijit.backends import cuda_kernels, cupy_backend
    from minijit.backends.cupy_backend import CudaFusedKernel, CudaGemm, cuda_plan
    from minijit.jit.runtime import executor, kernel_cache

    def no_cupy() -> None:
        raise RuntimeError("no CuPy here (the test pretends)")
    monkeypatch.setattr(cupy_backend, "_load_cupy", no_cupy)
    monkeypatch.setattr(cuda_kernels, "_load_cupy", no_cupy)
    monkeypatch.setattr(kernel_cache, "KERNEL_CACHE", kernel_cache.KernelCache())
    loop = torch.jit.script(GatedLoop())
    torch.manual_seed(2)
    xs = torch.rand(10, 3, 4) - 0.5
    with torch.no_grad():
        want = loop(xs)
        monkeypatch.setattr(executor, "_on_gpu", lambda args: True)
        plan = GraphExecutor(loop._methods["forward"].graph).plan_for((loop, xs))
    text = plan.graph.str(False)
    assert "prim::If" not in text and "aten::Bool" not in text and "aten::where" in text
    graphed = cuda_plan(plan, None, cuda_graphs=True)
    assert not graphed.replay.failed, graphed.replay.reason
    gemms = [k for k in graphed.kernels if type(k) is CudaGemm]
    assert len(gemms) == 10
    with torch.no_grad():
        got = graphed.run_uncaptured((loop, xs))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6, atol=1e-6)
    assert all(k.fallbacks == 1 and "not a CUDA array" in k.fallback_reason for k in gemms)
    (fused,) = [k for k in graphed.kernels if type(k) is CudaFusedKernel]
    assert fused.fallbacks == 1 and "no CuPy here" in fused.fallback_reason


def test_the_interpreter_runs_a_fused_reduction_node_by_its_subgraph():
    from minijit.jit.codegen.cuda_reduction import fuse_reduction_prologues
    from minijit.jit.ir import parse_ir
    from minijit.jit.passes.fuse import fuse_pointwise
    from minijit.jit.runtime.interpreter import compile_graph, run_program
    g = parse_ir('''graph(%a : Tensor, %b : Tensor):
  %none : NoneType = prim::Constant()
  %s : Tensor = aten::mul(%a, %b)
  %t : Tensor = aten::tanh(%s)
  %r : Tensor = aten::sum(%t, %none)
  return (%r)
''')
    a, b = torch.rand(3, 4), torch.rand(3, 4)
    want = run_program(compile_graph(g), [a, b])
    fuse_pointwise(g)
    assert fuse_reduction_prologues(g)
    assert "prim::FusedReduction" in str(g)
    got = run_program(compile_graph(g), [a, b])
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
