"""
CPU versus GPU: moving a model to CUDA, the fused CUDA kernel, and reading the benchmark
=========================================================================================

minijit runs on NumPy (``cpu``) and on CuPy (``cuda``).  Every op of the registry is written
once, as ``impl(xp, ...)`` over an array module, so the same op runs on either; what differs
is what the optimiser generates for a fusion group: a Python function over NumPy on the CPU,
a ``cupy.ElementwiseKernel`` in CUDA C on the GPU.

This tutorial moves the seed tutorial's cell to the GPU, prints the CUDA source generated for
a fused chain, for a chain fused into its sum, and for the matrix product a CUDA graph uses
(all of that works without a GPU: generating source needs no device), replays the seed's RNN
loop as one CUDA graph, and explains how to read ``benchmarks/cpu_vs_gpu.py``.  On a machine
without CuPy or a CUDA device it says what it skips and runs the rest.

Run it with ``python tutorials/05_cpu_vs_gpu.py``.  Each ``# %%`` starts a cell.
"""
# %%
# Is there a GPU?
# ---------------
# ``minijit.cuda.is_available()`` asks CuPy for a device; CuPy is imported only now, so
# ``import minijit`` works everywhere.
import warnings

import numpy as np

import minijit as torch
from minijit.jit.codegen.cuda_gemm import generate_gemm
from minijit.jit.codegen.cuda_kernel import generate_cuda_kernel
from minijit.jit.codegen.cuda_reduction import (REDUCTION_KIND, ReductionInfo,
                                                fuse_reduction_prologues,
                                                generate_cuda_reduction)
from minijit.jit.codegen.numpy_kernel import GroupInfo
from minijit.jit.runtime.executor import GraphExecutor

GPU = torch.cuda.is_available()
DEVICE = "cuda" if GPU else "cpu"
print("CUDA available:", GPU)
if not GPU:
    print("skipped: the GPU runs below (no CuPy or no CUDA device); they run on the CPU "
          "instead, so every cell still executes")

# %%
# Moving a model and its inputs
# -----------------------------
# ``Module.to(device)`` (or ``.cuda()``) moves every parameter and buffer; ``Tensor.to``,
# ``.cuda()`` and ``.cpu()`` move tensors.  Tracing and scripting do not care where tensors
# live: the graph records ``device=cuda:0`` in its types, and every op runs where its inputs
# are.  Mixing devices in one op raises PyTorch's error.
torch.manual_seed(0)


class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h


cell = MyCell().to(DEVICE)
x, h = torch.rand(3, 4).to(DEVICE), torch.rand(3, 4).to(DEVICE)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    traced = torch.jit.trace(cell, (x, h))
print(traced.graph.inputs[1].type)
y, _ = traced(x, h)
print("output device:", y.device)
if GPU:
    try:
        x.cpu() + x
    except RuntimeError as exc:
        print(exc)
else:
    print("skipped: the mixed-device error (needs a GPU)")

# %%
# The fused CUDA kernel
# ---------------------
# The fuser groups pointwise ops into a ``prim::FusionGroup``; on the GPU the group becomes
# one CUDA kernel, written from each op's ``cuda_template`` in the registry with concrete C
# types from the dtype table (Note [CUDA kernels] in ``jit/codegen/cuda_kernel.py``).  Here is
# the benchmark chain's kernel for float32 inputs: one ``const float`` per op, then the
# output.  CuPy wraps this body into a ``__global__`` function that handles broadcasting and
# strides, and compiles it with NVRTC on its first launch.


def chain(a, b, c):
    return torch.tanh(a * b + c) * torch.sigmoid(a) - torch.relu(b) * 0.5 + torch.exp(-c * c)


scripted = torch.jit.script(chain)
args = tuple(torch.rand(1000) for _ in range(3))
graph = GraphExecutor(scripted.graph).graph_for(args)
group = next(n for n in graph.nodes if n.kind == "prim::FusionGroup")
kernel = generate_cuda_kernel(GroupInfo(group.attrs["Subgraph"]), [np.dtype("float32")] * 3,
                              [False] * 3, "chain")
print(kernel.source)

# %%
# Running it on the GPU
# ---------------------
# Scripted functions and modules called with CUDA tensors run a CUDA plan: the optimised
# graph on Tensors, each fusion group one ``ElementwiseKernel`` launch.  The kernel's first
# launch compiles it; ``compile_seconds`` keeps that apart from run time.
if GPU:
    from minijit.backends.cupy_backend import cuda_executor

    run = cuda_executor(scripted)
    gargs = tuple(a.cuda() for a in args)
    for _ in range(3):
        out = run(*gargs)
    np.testing.assert_allclose(out.cpu().numpy(), chain(*args).numpy(), rtol=1e-5, atol=1e-6)
    k = run.executor.kernels()[0]
    print(f"fused on the GPU: {k.launches} launches, first-launch compile "
          f"{k.compile_seconds * 1e3:.1f} ms, same values as the CPU")
else:
    print("skipped: running the fused kernel (needs a GPU)")

# %%
# A chain fused into its sum
# --------------------------
# ``(a * b + c).sum()`` would write the whole ``a * b + c`` to memory for ``sum`` to read
# back.  When a fusion group's only reader is a ``sum`` or ``mean``, a GPU plan moves the
# reduction into the group (``prim::FusedReduction``) and runs both as one
# ``cupy.ReductionKernel``: the group's statements become its *map* function, ``a + b`` its
# reduction (Note [CUDA reductions] in ``jit/codegen/cuda_reduction.py``).  The plan does it
# on its own copy of the graph; here we do it by hand to see the IR and the source.


def chain_sum(a, b, c):
    return (a * b + c).sum()


graph = GraphExecutor(torch.jit.script(chain_sum).graph).graph_for(args).copy()
fuse_reduction_prologues(graph)
print(graph.str(False).split("with ")[0])
fused = next(n for n in graph.nodes if n.kind == REDUCTION_KIND)
reduction = generate_cuda_reduction(ReductionInfo(fused.attrs["Subgraph"]),
                                    [np.dtype("float32")] * 3, [False] * 3, 1, "chain_sum")
print(reduction.source)

# %%
# The seed's RNN loop as one CUDA graph
# -------------------------------------
# The seed's 10-step loop on 3×4 tensors is all kernel launches.  With ``cuda_graphs=True``
# the first call records every launch of one run (stream capture) and later calls replay them
# with one call (Note [CUDA graphs] in ``backends/cupy_backend.py``).  Two things make the
# loop capturable: on a GPU the decision gate ``if x.sum() > 0`` is if-converted into a
# ``where`` (no value leaves the device), and the ``Linear`` runs a tiled matrix product that
# minijit generates, because CuPy cannot capture cuBLAS.  This is its source for float32:
print(generate_gemm(np.float32, transposed=True, has_bias=True).source)


class MyDecisionGate(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        else:
            return -x


class GatedCell(torch.nn.Module):
    def __init__(self):
        super(GatedCell, self).__init__()
        self.dg = torch.jit.script(MyDecisionGate())
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h


class MyRNNLoop(torch.nn.Module):
    def __init__(self):
        super(MyRNNLoop, self).__init__()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.cell = torch.jit.trace(GatedCell(), (torch.rand(3, 4), torch.rand(3, 4)))

    def forward(self, xs):
        h = torch.zeros_like(xs[0])
        y = torch.zeros_like(xs[0])
        for i in range(10):
            y, h = self.cell(xs[i], h)
        return y, h


if GPU:
    from minijit.backends.cupy_backend import cuda_executor

    loop = torch.jit.script(MyRNNLoop().cuda())
    plain, graphed = cuda_executor(loop), cuda_executor(loop, cuda_graphs=True)
    with torch.no_grad():
        for _ in range(4):
            xs = torch.rand(10, 3, 4).cuda() - 0.5
            np.testing.assert_allclose(graphed(xs)[1].cpu().numpy(),
                                       plain(xs)[1].cpu().numpy(), rtol=1e-5, atol=1e-5)
    runner = graphed.executor.plans()[0].replay
    print(f"captured: {runner.captured} {runner.reason}; replays: {runner.replays}; "
          "same values as the uncaptured loop")
    print(graphed.executor.plans()[0].report.mode)
else:
    print("skipped: capturing and replaying the loop (needs a GPU)")

# %%
# Reading the benchmark
# ---------------------
# ``python -m benchmarks.cpu_vs_gpu`` times the chain from 1e3 to 1e8 elements on the CPU
# interpreter and on the GPU interpreter, unfused (one CuPy kernel per op) and fused, next to
# a plain copy and PyTorch.  Three things to look for in ``benchmarks/RESULTS.md``:
#
# * **The crossover.**  A GPU call costs a few microseconds of launch and minijit's Python
#   whatever its size, so small tensors are faster on the CPU; the plot marks the size from
#   which the GPU wins.
# * **Bandwidth.**  At 1e8 elements the fused chain reads three arrays and writes one: 16 bytes
#   per element.  Divide by the time and compare with the copy's bandwidth (8 bytes per
#   element): a fused kernel is memory-bound, so it should come close.  Unfused, every op
#   reads and writes whole arrays, about 5 times the traffic.
# * **Launch-bound loops.**  The seed's 10-step RNN loop on 3×4 tensors is all launches; the
#   CUDA graph replay (``minijit CuPy fused + CUDA graph``) against PyTorch CUDA eager, whose
#   gate reads ``x.sum()`` on the host at every step.
# * **Fused reductions.**  ``(a*b + c).sum()`` as one ReductionKernel reads 12 bytes per
#   element where the kernel and a separate sum move 20.
print("benchmark: python -m benchmarks.cpu_vs_gpu (results in benchmarks/RESULTS.md)")
