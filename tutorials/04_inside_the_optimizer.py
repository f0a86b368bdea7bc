"""
Inside the optimizer: passes, fusion groups, generated kernels and the speed they buy
=====================================================================================

``minijit.jit.script`` turns Python into a graph, and the interpreter can run that graph as
it is.  The *optimising executor* (``minijit/jit/runtime/executor.py``) does more: on a call
it looks at the arguments (dtypes, shapes, ``requires_grad``), builds a plan specialised to
them, and reuses that plan for every later call that looks the same.  Building a plan means
running the graph through a pipeline of passes, each a small module of
``minijit/jit/passes/``, then compiling the result.

This tutorial follows one function through that pipeline, printing the graph after each
pass, then opens a fusion group and reads the NumPy kernel generated for it, asks for
gradients to see a ``prim::DifferentiableGraph``, and finally times what it all buys.

Run it with ``python tutorials/04_inside_the_optimizer.py``.  Each ``# %%`` starts a cell.
"""
# %%
# A function with something for every pass
# ----------------------------------------
# ``a`` and ``b`` are the same product (common-subexpression elimination), ``* 1`` does
# nothing (peephole), ``x.size(0)`` is known once the shape of ``x`` is (shape analysis), the
# loop runs a known three times (loop unrolling), and everything else is pointwise (fusion).
import time

import numpy as np

import minijit as torch
from minijit.jit.options import OptimizationOptions
from minijit.jit.runtime.executor import GraphExecutor, last_optimization_report


def f(x, y):
    a = x * y
    b = x * y
    c = (a + b) * 1
    n = x.size(0)
    for i in range(3):
        c = torch.tanh(c + i) * n
    return torch.sigmoid(c) * 2.0 - y.relu()


scripted = torch.jit.script(f)
print(scripted.graph)

# %%
# One plan per signature
# ----------------------
# ``GraphExecutor`` is what runs a scripted function's graph.  Like TorchScript's profiling
# executor, it runs the first call of a new signature as written; the second call builds the
# plan for those arguments and runs it, and so does every later call that looks the same.
# ``graph_for(args)`` shows a plan's optimised graph; the report lists every pass with what
# it changed.
executor = GraphExecutor(scripted.graph, name="f")
torch.manual_seed(0)
x, y = torch.rand(4, 8), torch.rand(4, 8)
executor.run((x, y))                      # the profiling run: the graph as written
out = executor.run((x, y))                # builds the plan, then runs it
report = last_optimization_report()
print(report)

# %%
# The graph after each pass
# -------------------------
# Every pass is followed by ``graph.lint()`` (Note [Pass contract] in ``pass_manager.py``).
# Here are the graphs right after the passes that changed something, in order.  Watch
# ``aten::size`` become the constant 4, the loop disappear, the second ``aten::mul`` go, and
# finally one ``prim::FusionGroup`` swallow the arithmetic.
for record in report.passes:
    if record.changed and record.name in ("shape_analysis", "peephole", "loop_unroll", "cse",
                                          "fusion"):
        print(f"==== after {record.name} ====")
        print(record.graph_after)

# %%
# A fusion group, as TorchScript prints it
# ----------------------------------------
# The optimised graph keeps the group's ops in a subgraph, printed after the main graph with
# ``with prim::FusionGroup_0 = graph(...)``, exactly as PyTorch prints fusion groups.  The
# types are the complete ones shape analysis derived from the arguments.
print(executor.graph_for((x, y)))

# %%
# The kernel generated for it
# ---------------------------
# ``minijit/jit/codegen/numpy_kernel.py`` writes Python for the group, reading only each op's
# ``numpy_template`` from the registry (``np.add({self}, {other} * {alpha})`` ...).  ``small``
# runs on whole arrays (small tensors, like these 4×8 ones); ``blocked`` walks big ones in
# cache-sized blocks, writing every intermediate with ``out=`` into a reused buffer, and the
# runtime splits the blocks across threads.  A call with a million elements makes the
# executor generate the blocked version too.
big_x, big_y = torch.rand(1000, 1000), torch.rand(1000, 1000)
for _ in range(2):
    executor.run((big_x, big_y))
for kernel in executor.kernels():
    print(kernel.source)

# %%
# The same numbers as eager
# -------------------------
# The kernel reproduces the dispatcher's type promotion step by step, so fused and eager
# results agree (here to the last bit).
with torch.no_grad():
    print("fused == eager:", np.array_equal(executor.run((x, y)).numpy(), f(x, y).numpy()))

# %%
# Gradients: a differentiable graph
# ---------------------------------
# When an input requires grad the signature changes, so a new plan is built.  Its fused ops
# sit inside a ``prim::DifferentiableGraph`` whose backward was made by *graph autodiff*:
# the registry's backward rules (written in minijit ops) were run on symbolic tensors that
# record a graph instead of computing.  The output's ``grad_fn`` reads as PyTorch's does
# after optimisation, and the gradients equal eager's.
xg = x.detach().requires_grad_()
print("first call (profiling run):", type(executor.run((xg, y)).grad_fn).__name__)
out = executor.run((xg, y))
print("grad_fn:", type(out.grad_fn).__name__)
print(executor.graph_for((xg, y)).str(False).split("with ")[0])
out.sum().backward()
fused_grad = xg.grad.numpy().copy()
xg.grad = None
f(xg, y).sum().backward()
print("gradient == eager:", np.allclose(fused_grad, xg.grad.numpy(), rtol=1e-6))
print("plans built so far:", executor.plans_built)

# %%
# A branch on a tensor's value becomes a select
# ---------------------------------------------
# The seed tutorial's decision gate, ``if x.sum() > 0: return x else: return -x``, reads a
# number out of a tensor to pick a branch: a ``prim::If`` that cuts the graph in pieces.  When
# gradients are needed (or on a GPU), the ``if_conversion`` pass computes both cheap, safe
# branches and picks elementwise with ``aten::where``, so the comparison, the select and the
# ops around them stay in one differentiable graph (``passes/if_conversion.py`` lists when
# this is allowed: not when ``log`` is in a branch, nor when a branch returns the function's
# own argument, which the result would then no longer be).
@torch.jit.script
def gate(x, h):
    z = x * 2.0
    if z.sum() > 0:
        y = z
    else:
        y = -z
    return torch.tanh(y + h)


gate_ex = GraphExecutor(gate.graph)
xg, hg = torch.randn(3, 4).requires_grad_(), torch.randn(3, 4)
print(gate_ex.graph_for((xg, hg)).str(False).split("with ")[1])
print(gate_ex.report_for((xg, hg)).record("if_conversion").notes)

# %%
# Re-specialisation instead of stale plans
# ----------------------------------------
# The plan above folded ``x.size(0)`` to 4.  A call with 6 rows has another signature, so it
# gets its own plan with 6 folded in: a plan is never reused for arguments it was not built
# for.
x6, y6 = torch.rand(6, 8), torch.rand(6, 8)
with torch.no_grad():
    executor.run((x6, y6))
    print("6 rows agree:", np.allclose(executor.run((x6, y6)).numpy(), f(x6, y6).numpy()))
print("plans built so far:", executor.plans_built)

# %%
# The plan itself is Python
# -------------------------
# Finally the optimised graph is compiled once more, into one Python function: each node is
# a line calling a handler resolved when the plan was built.  Calls that need no gradient
# run it on NumPy arrays end to end, without making a Tensor per op; where shape analysis
# knows every operand of a small op, the line calls the op's kernel itself (``dNN(np, ...)``,
# ``runtime/raw_steps.py``), so what is left per op is NumPy's own cost.
plan = executor.plan_for((x, y))
print(plan.mode)
print(plan.program.source)

# %%
# What it buys
# ------------
# The same function on nine million elements: unfused, every op reads and writes a 36 MB
# array, so the time goes to memory traffic; the fused kernel streams through the inputs
# once, block by block, keeping intermediates in the cache, on every core.  (On small inputs
# NumPy's ufuncs are compute-bound and fusion saves little; ``benchmarks/bench_fusion.py``
# compares sizes from 1e3 to 1e7 with NumPy and PyTorch, see ``benchmarks/RESULTS.md``.)
big_x, big_y = torch.rand(3000, 3000), torch.rand(3000, 3000)


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


with torch.no_grad():
    eager_t = best_of(lambda: f(big_x, big_y))
    fused_t = best_of(lambda: executor.run((big_x, big_y)))
    unfused = GraphExecutor(scripted.graph, OptimizationOptions(fusion=False))
    for _ in range(2):
        unfused.run((big_x, big_y))
    unfused_t = best_of(lambda: unfused.run((big_x, big_y)))
print(f"eager {eager_t * 1e3:.1f} ms, optimised without fusion {unfused_t * 1e3:.1f} ms, "
      f"fused {fused_t * 1e3:.1f} ms")
print("fused is faster than eager:", fused_t < eager_t)
