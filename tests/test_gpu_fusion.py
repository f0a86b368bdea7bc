"""Fused CUDA kernels and CUDA-graph replay on a GPU (the ``gpu`` marker).

* Table: every pointwise op on every sample runs as a one-node fusion group through its
  generated ``cupy.ElementwiseKernel`` and gives eager CuPy's dtype, shape and values (or
  eager's error), as ``tests/jit/test_fuse.py`` does for the NumPy kernels.
* Paths: a scripted chain, a broadcast bias and a gradient plan through the executor on CUDA
  match the CPU; the seed's RNN loop (with and without its decision gate, small and large)
  is captured and replayed as one CUDA graph and equals uncaptured runs on cuBLAS.
* The capture-safe GEMM equals ``cupy.matmul`` (sizes that are not multiples of its tile
  included); fused reductions equal the group followed by CuPy's sum or mean.
"""
from __future__ import annotations

import warnings
from typing import Any, List

import numpy as np
import pytest

import minijit
import minijit as torch
from minijit.jit.options import OptimizationOptions
from minijit.ops import dispatch, registry
from minijit.ops.registry import Tag
from minijit.ops.samples import sample_maker

pytestmark = pytest.mark.gpu


def _host(a: Any) -> np.ndarray:
    if isinstance(a, minijit.Tensor):
        a = a.detach().cpu()._data
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def _close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype)
    if got.dtype.kind == "f":
        tol = 2e-3 if got.dtype == np.float16 else 1e-5
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def _pointwise_cases():
    return [(op, i) for op in registry.all_ops()
            if Tag.POINTWISE in op.tags and Tag.INPLACE not in op.tags and op.numpy_template
            for i in range(len(op.sample_inputs(sample_maker(0))))]


CASES = _pointwise_cases()
_LAUNCHED: List[bool] = []


@pytest.mark.parametrize("op,index", CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_cuda_kernel_matches_eager_on_every_pointwise_sample(op, index):
    from minijit.backends.cupy_backend import CudaFusedKernel
    from minijit.jit.ir import Graph
    args, kwargs = op.sample_inputs(sample_maker(index))[index]
    bound = [v.cuda() if isinstance(v, minijit.Tensor) else v
             for v in dispatch.bind(op, args, kwargs)]
    g = Graph()
    inputs, arrays = [], []
    for value in bound:
        if isinstance(value, minijit.Tensor):
            inputs.append(g.add_input(None))
            arrays.append(value._data)
        else:
            inputs.append(g.insert_constant(value))
    node = g.insert_node(g.create_node(op.kind, inputs))
    g.register_output(node.output())
    kernel = CudaFusedKernel(g, None, f"{op.name}_{index}")
    try:
        expected = dispatch.apply(op, list(bound))
    except Exception as exc:  # noqa: BLE001 - the kernel must raise the same
        with pytest.raises(type(exc)):
            kernel(*arrays)
        return
    (got,) = kernel(*arrays)
    _close(_host(got), _host(expected))
    _LAUNCHED.append(kernel.launches > 0)
    if kernel.launches:
        assert kernel.fallbacks == 0 and "ElementwiseKernel" in kernel.source


def test_most_samples_ran_as_cuda_kernels():
    if len(_LAUNCHED) < len(CASES) // 2:
        pytest.skip("run together with the table above")
    assert sum(_LAUNCHED) > 0.8 * len(_LAUNCHED)


# ---- the optimiser's paths on CUDA ------------------------------------------------------------
def chain(a, b, c):
    return torch.tanh(a * b + c) * torch.sigmoid(a) - torch.relu(b) * 0.5 + torch.exp(-c * c)


def bias_gelu(x, w, bias):
    return torch.tanh(torch.matmul(x, w) + bias) * 2.0 + x.sum()


def test_a_scripted_chain_runs_as_one_cuda_kernel_and_matches_the_cpu():
    from minijit.backends.cupy_backend import cuda_executor
    from minijit.jit.runtime.kernel_cache import KERNEL_CACHE
    KERNEL_CACHE.clear()                       # so that this test's first call compiles
    scripted = torch.jit.script(chain)
    run = cuda_executor(scripted)
    torch.manual_seed(0)
    cpu = [torch.rand(1000) for _ in range(3)]
    gpu = [t.cuda() for t in cpu]
    for _ in range(3):
        out = run(*gpu)
    assert out.is_cuda
    _close(_host(out), _host(chain(*cpu)))
    kernels = run.executor.kernels()
    assert len(kernels) == 1 and kernels[0].launches >= 2 and kernels[0].fallbacks == 0
    assert kernels[0].compile_seconds > 0 and "tanh(" in kernels[0].source
    report = run.executor.plans()[0].report
    assert "cuda" in report.mode, report.mode


def test_broadcasting_matmul_and_reductions_around_a_cuda_group():
    from minijit.backends.cupy_backend import cuda_executor
    scripted = torch.jit.script(bias_gelu)
    run = cuda_executor(scripted)
    torch.manual_seed(1)
    cpu = [torch.rand(8, 16), torch.rand(16, 16), torch.rand(16)]
    gpu = [t.cuda() for t in cpu]
    for _ in range(3):
        out = run(*gpu)
    _close(_host(out), _host(bias_gelu(*cpu)))
    assert sum(k.launches for k in run.executor.kernels()) >= 2


def test_a_plan_needing_gradients_runs_on_cuda_and_gives_the_cpus_gradients():
    from minijit.backends.cupy_backend import cuda_executor
    scripted = torch.jit.script(chain)

    def grads(device: str) -> List[np.ndarray]:
        torch.manual_seed(2)
        xs = [torch.rand(64).to(device).requires_grad_(True) for _ in range(3)]
        run = cuda_executor(scripted) if device == "cuda" else scripted
        for _ in range(3):
            for x in xs:
                x.grad = None
            run(*xs).sum().backward()
        return [_host(x.grad) for x in xs]
    for g, c in zip(grads("cuda"), grads("cpu")):
        _close(g, c)


# ---- CUDA graphs ------------------------------------------------------------------------------
class Cell(torch.nn.Module):
    """The seed's MyCell without the decision gate."""

    def __init__(self, width: int):
        super(Cell, self).__init__()
        self.linear = torch.nn.Linear(width, width)

    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h


def rnn_loop(width: int, batch: int, gate: bool = False) -> Any:
    """The seed's MyRNNLoop (10 steps; ``gate=True`` keeps the data-dependent gate, which
    the executor if-converts on a GPU)."""
    class MyDecisionGate(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            else:
                return -x

    class GatedCell(Cell):
        def __init__(self, width: int):
            super(GatedCell, self).__init__(width)
            self.dg = torch.jit.script(MyDecisionGate())

        def forward(self, x, h):
            new_h = torch.tanh(self.dg(self.linear(x)) + h)
            return new_h, new_h

    x, h = torch.rand(batch, width), torch.rand(batch, width)
    cell = (GatedCell if gate else Cell)(width)

    class MyRNNLoop(torch.nn.Module):
        def __init__(self):
            super(MyRNNLoop, self).__init__()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.cell = torch.jit.trace(cell, (x, h))

        def forward(self, xs):
            h = torch.zeros_like(xs[0])
            y = torch.zeros_like(xs[0])
            for i in range(10):
                y, h = self.cell(xs[i], h)
            return y, h

    return torch.jit.script(MyRNNLoop().cuda())


@pytest.mark.parametrize("gate", [False, True], ids=["no_gate", "gate"])
@pytest.mark.parametrize("width,batch", [(4, 3), (256, 64)], ids=["small", "large"])
def test_the_seed_rnn_loop_replayed_as_a_cuda_graph_equals_uncaptured_runs(gate, width, batch):
    from minijit.backends.cupy_backend import CudaGemm, cuda_executor
    torch.manual_seed(3)
    loop = rnn_loop(width, batch, gate)
    plain = cuda_executor(loop)                          # uncaptured: cuBLAS
    graphed = cuda_executor(loop, cuda_graphs=True)      # captured: the tiled GEMM
    with torch.no_grad():
        for step in range(4):
            xs = (torch.rand(10, batch, width) - 0.5).cuda()
            want = [_host(t) for t in plain(xs)]
            got = [_host(t) for t in graphed(xs)]
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    plan = graphed.executor.plans()[0]
    runner = plan.replay
    assert runner.captured, runner.reason
    assert runner.replays == 2                           # calls 3 and 4 (1: profiling, 2: capture)
    assert "prim::If" not in str(plan.graph) and "aten::Bool" not in str(plan.graph)
    gemms = [k for k in graphed.executor.kernels() if isinstance(k, CudaGemm)]
    assert len(gemms) == 10 and all(k.launches >= 2 and k.fallbacks == 0 for k in gemms)
    assert "minijit_gemm_nt_bias_float32" in gemms[0].source and gemms[0].compile_seconds >= 0
    with torch.no_grad():                                # replays give fresh inputs' values
        xs = torch.rand(10, batch, width).cuda()
        first = _host(graphed(xs)[1])
        np.testing.assert_allclose(first, _host(plain(xs)[1]), rtol=1e-5, atol=1e-5)
        assert runner.replays == 3


def test_cuda_graphs_through_the_options_and_a_captured_fused_reduction():
    """``OptimizationOptions(cuda_graphs=True)`` turns capture on too; a plan holding a fused
    reduction and a matmul is captured whole."""
    from minijit.backends.cupy_backend import CudaFusedReduction, CudaGemm, cuda_executor

    def score(x, w, h):
        for i in range(4):
            h = torch.tanh(torch.matmul(x[i], w) + h)
        return (h * h + 1.0).mean()
    scripted = torch.jit.script(score)
    plain = cuda_executor(scripted)
    graphed = cuda_executor(scripted, OptimizationOptions(cuda_graphs=True))
    with torch.no_grad():
        for _ in range(4):
            x, w, h = torch.rand(4, 5, 17).cuda(), torch.rand(17, 17).cuda(), \
                torch.rand(5, 17).cuda()
            np.testing.assert_allclose(_host(graphed(x, w, h)), _host(plain(x, w, h)),
                                       rtol=1e-5, atol=1e-6)
    runner = graphed.executor.plans()[0].replay
    assert runner.captured and runner.replays == 2, runner.reason
    kinds = [type(k) for k in graphed.executor.kernels()]
    assert CudaFusedReduction in kinds and kinds.count(CudaGemm) == 4


def test_a_plan_of_fused_kernels_is_replayed_as_one_cuda_graph():
    """A 10-step loop of pointwise work only (no matrix product): captured once, replayed."""
    from minijit.backends.cupy_backend import cuda_executor

    def steps(x, h):
        for i in range(10):
            h = torch.tanh(x[i] * 0.5 + h) * torch.sigmoid(h)
        return h
    scripted = torch.jit.script(steps)
    plain = cuda_executor(scripted)
    graphed = cuda_executor(scripted, cuda_graphs=True)
    with torch.no_grad():
        for _ in range(4):
            x, h = torch.rand(10, 3, 4).cuda(), torch.rand(3, 4).cuda()
            _close(_host(graphed(x, h)), _host(plain(x, h)))
    runner = graphed.executor.plans()[0].replay
    assert runner.captured, runner.reason
    assert runner.replays >= 2


def test_options_are_honoured_on_cuda():
    from minijit.backends.cupy_backend import cuda_executor
    run = cuda_executor(torch.jit.script(chain), OptimizationOptions(fusion=False))
    xs = [torch.rand(100).cuda() for _ in range(3)]
    for _ in range(3):
        out = run(*xs)
    assert not run.executor.kernels()
    _close(_host(out), _host(chain(*[x.cpu() for x in xs])))


# ---- the capture-safe GEMM ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 4, 4), (17, 33, 5), (64, 256, 256),
                                   (100, 70, 130)])
def test_the_gemm_kernel_equals_cupy_matmul(m, k, n, dtype):
    import cupy
    from minijit.backends.cupy_backend import CudaGemm
    from minijit.jit.codegen.cuda_gemm import gemm_form
    from minijit.ops.registry import get
    rng = cupy.random.default_rng(m * 1000 + n)
    x = rng.standard_normal((m, k)).astype(dtype)
    w_nk = rng.standard_normal((n, k)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12
    linear = CudaGemm(get("linear"), gemm_form(get("linear")))
    for b in (None, bias):
        assert linear.unfit(x, w_nk, b) is None
        got = linear.gemm(x, w_nk, b)
        want = cupy.matmul(x, w_nk.T) + (0 if b is None else b)
        assert got.dtype == want.dtype and got.shape == (m, n)
        cupy.testing.assert_allclose(got, want, rtol=tol, atol=tol * k)
    mm = CudaGemm(get("mm"), gemm_form(get("mm")))
    w_kn = cupy.ascontiguousarray(w_nk.T)
    cupy.testing.assert_allclose(mm.gemm(x, w_kn), cupy.matmul(x, w_kn), rtol=tol,
                                 atol=tol * k)
    # A transposed view is made contiguous first.
    cupy.testing.assert_allclose(mm.gemm(x, w_nk.T), cupy.matmul(x, w_nk.T), rtol=tol,
                                 atol=tol * k)
    assert linear.launches == 2 and mm.launches == 2 and "__shared__" in mm.source


def test_the_gemm_step_falls_back_to_the_op_for_what_it_does_not_take():
    from minijit.backends.cupy_backend import CudaGemm
    from minijit.jit.codegen.cuda_gemm import gemm_form
    from minijit.ops.registry import get
    linear = CudaGemm(get("linear"), gemm_form(get("linear")))
    x3 = torch.rand(2, 3, 4).cuda()
    w, b = torch.rand(5, 4).cuda(), torch.rand(5).cuda()
    _close(_host(linear(x3, w, b)), _host(torch.nn.functional.linear(x3, w, b)))
    assert linear.fallbacks == 1 and "2-D" in linear.fallback_reason
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        linear(torch.rand(3, 6).cuda(), w, b)
    half = linear(torch.rand(3, 4).cuda().half(), w.half(), b.half())
    assert half.dtype == torch.float16 and "float32 or float64" in linear.fallback_reason


# ---- fused reductions ---------------------------------------------------------------------------
def full_sum(a, b, c):
    return (a * b + c).sum()


def row_mean(a, b, c):
    return torch.tanh(a * b + c).mean(1, True)


def count_above(a, b, c):
    return ((a * b) > c).sum(0)


def sum_as_double(a, b, c):
    return (a * b - c).sum(dtype=torch.float64)


def broadcast_mean(a, b, c):
    return torch.sigmoid(a * b[0] + c).mean([0, 1])


@pytest.mark.parametrize("fn", [full_sum, row_mean, count_above, sum_as_double, broadcast_mean],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_a_fused_reduction_equals_the_group_then_the_reduction(fn, dtype):
    from minijit.backends.cupy_backend import CudaFusedReduction, cuda_executor
    scripted = torch.jit.script(fn)
    fused = cuda_executor(scripted)
    apart = cuda_executor(scripted, fuse_reductions=False)
    torch.manual_seed(5)
    args = [(torch.rand(3, 40, 50) - 0.5).to(getattr(torch, dtype)).cuda() for _ in range(3)]
    with torch.no_grad():
        for _ in range(3):
            got, want = fused(*args), apart(*args)
    g, w = _host(got), _host(want)
    assert g.dtype == w.dtype and g.shape == w.shape
    tol = {"float16": 2e-2, "float32": 1e-4, "float64": 1e-10}[dtype]
    np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=tol, atol=tol)
    kernels = [k for k in fused.executor.kernels() if isinstance(k, CudaFusedReduction)]
    assert len(kernels) == 1 and kernels[0].launches >= 2 and kernels[0].fallbacks == 0, \
        kernels[0].fallback_reason
    assert "cupy.ReductionKernel" in kernels[0].source and kernels[0].compile_seconds > 0
    assert not [k for k in apart.executor.kernels() if isinstance(k, CudaFusedReduction)]


def test_a_fused_reduction_eager_refuses_raises_eagers_error():
    from minijit.backends.cupy_backend import CudaFusedReduction, cuda_executor

    def int_mean(a, b):
        return (a * b + a).mean()
    fused = cuda_executor(torch.jit.script(int_mean))
    a = torch.arange(12).reshape(3, 4).cuda()
    with torch.no_grad():
        for _ in range(3):
            with pytest.raises(RuntimeError, match="could not infer output dtype"):
                fused(a, a)
    (kernel,) = [k for k in fused.executor.kernels() if isinstance(k, CudaFusedReduction)]
    assert kernel.launches == 0 and kernel.fallbacks >= 1
