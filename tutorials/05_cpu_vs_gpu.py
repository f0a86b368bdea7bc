"""
CPU versus GPU: moving a model to CUDA, the fused CUDA kernel, and reading the benchmark
=========================================================================================

minijit runs on NumPy (``cpu``) and on CuPy (``cuda``).  Every op of the registry is written
once, as ``impl(xp, ...)`` over an array module, so the same op runs on either; what differs
is what the optimiser generates for a fusion group: a Python function over NumPy on the CPU,
a ``cupy.ElementwiseKernel`` in CUDA C on the GPU.

This tutorial moves the seed tutorial's cell to the GPU, prints the CUDA source generated for
a fused chain (that works without a GPU: generating source needs no device), and explains how
to read ``benchmarks/cpu_vs_gpu.py``.  On a machine without CuPy or a CUDA device it says what
it skips and runs the rest.

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
from minijit.jit.codegen.cuda_kernel import generate_cuda_kernel
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
# * **Launch-bound loops.**  The seed's 10-step RNN loop on 3×4 tensors is all launches; a
#   CUDA graph records one run and replays it with one call (Note [CUDA graphs] in
#   ``backends/cupy_backend.py``).
print("benchmark: python -m benchmarks.cpu_vs_gpu (results in benchmarks/RESULTS.md)")
