"""minijit's CPU interpreter against its GPU interpreter, with PyTorch CUDA for reference.

Run: ``python -m benchmarks.cpu_vs_gpu`` (``--quick``: fewer sizes and rounds, for the
prepared device check; ``--out DIR``: where the Markdown, JSON and SVG go; ``--append``: add
the Markdown to ``benchmarks/RESULTS.md``; ``--no-compile``: skip ``torch.compile``;
``--compile-only``: only the chain at 1e8 against ``torch.compile``, whose first compile
takes about a minute, so the device check runs it as a separate step with its own timeout
and its results go to ``cpu_vs_gpu_compile.*``).

Workloads, each timed on every side that can run here:

* the elementwise chain of ``bench_fusion`` (``tanh(a*b + c) * sigmoid(a) - relu(b) * 0.5 +
  exp(-c*c)``) on float32 vectors of 1e3 … 1e8 elements: minijit on NumPy (the fused CPU
  executor), minijit on CuPy unfused (one CuPy kernel per op) and fused (one generated
  ``ElementwiseKernel``), a plain CuPy copy (the bandwidth reference: 8 bytes per element),
  PyTorch CUDA eager and ``torch.compile``;
* a pointwise prologue and its sum, ``(a*b + c).sum()``, at 1e6 and 1e8: one fused
  ``cupy.ReductionKernel`` (12 bytes per element) against the fused elementwise kernel
  followed by CuPy's sum (20 bytes per element), and PyTorch CUDA eager;
* the seed tutorial's 10-step RNN loop, small (3×4) and large (64×256), *with* the cell's
  decision gate (``if x.sum() > 0: return x else: return -x``; on a GPU the executor
  if-converts it to ``where``, so no value leaves the device): NumPy, CuPy unfused, fused,
  fused and replayed as one CUDA graph (``cuda_graphs=True``: the Linear runs the
  capture-safe GEMM), PyTorch CUDA eager (whose gate reads the sum on the host every step);
* the MLP training step of ``bench_mlp`` (forward, MSE, backward, SGD).

GPU times are wall-clock over many calls followed by one device synchronisation, so they
include minijit's Python and the launch costs: what a user of the interpreter gets.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import minijit
from benchmarks.harness import machine
from minijit.jit.options import OptimizationOptions

HERE = os.path.dirname(os.path.abspath(__file__))
CHAIN_SIZES = [10 ** k for k in range(3, 9)]
FUSED = "minijit CuPy fused"
CPU = "minijit NumPy (fused CPU executor)"


def chain(a, b, c):
    return minijit.tanh(a * b + c) * minijit.sigmoid(a) - minijit.relu(b) * 0.5 + \
        minijit.exp(-c * c)


# ---- timing -----------------------------------------------------------------------------------
def measure(fn: Callable[[], Any], sync: Callable[[], None], rounds: int = 5,
            target: float = 0.02) -> Tuple[float, float]:
    """Seconds per call (min, median over ``rounds``): each round runs ``fn`` enough times to
    last about ``target`` seconds, then waits for the device."""
    fn()
    sync()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= target or number >= 1 << 16:
            break
        number *= 2 if elapsed < target / 8 else 1 + int(target / max(elapsed, 1e-9))
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        samples.append((time.perf_counter() - start) / number)
    return min(samples), statistics.median(samples)


def _nothing() -> None:
    return None


def _env() -> Dict[str, Any]:
    """What can run here: CuPy and a GPU, torch with CUDA, torch.compile."""
    env: Dict[str, Any] = {"gpu": minijit.cuda.is_available(), "torch": None, "device": "none"}
    if env["gpu"]:
        env["device"] = minijit.cuda.get_device_name()
        import cupy  # type: ignore
        env["cupy"] = cupy
        env["sync"] = minijit.cuda.synchronize
    try:
        import torch  # type: ignore
        if torch.cuda.is_available():
            env["torch"] = torch
            env["torch_sync"] = torch.cuda.synchronize
    except ImportError:
        pass
    return env


# ---- workloads --------------------------------------------------------------------------------
def bench_chain(env: Dict[str, Any], sizes: Sequence[int], quick: bool, compile_ok: bool,
                cpu_side: bool = True) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    from minijit.backends.cupy_backend import cuda_executor
    from minijit.jit.runtime.executor import GraphExecutor
    scripted = minijit.jit.script(chain)
    cpu = GraphExecutor(scripted.graph, OptimizationOptions(profiling_runs=0))
    rows: List[Dict[str, Any]] = []
    info: Dict[str, Any] = {}
    fused = unfused = None
    if env["gpu"]:
        fused = cuda_executor(scripted, OptimizationOptions(profiling_runs=0))
        unfused = cuda_executor(scripted, OptimizationOptions(profiling_runs=0, fusion=False))
    torch = env["torch"]
    compiled = None
    if torch is not None and compile_ok:
        def tchain(a, b, c):
            return torch.tanh(a * b + c) * torch.sigmoid(a) - torch.relu(b) * 0.5 + \
                torch.exp(-c * c)
        try:
            compiled = torch.compile(tchain, dynamic=True)
        except Exception as exc:  # noqa: BLE001
            info["compile"] = f"{type(exc).__name__}: {exc}"
    rounds = 3 if quick else 7
    for n in sizes:
        sides: List[Tuple[str, Callable[[], Any], Callable[[], None]]] = []
        rng = np.random.default_rng(0)
        if cpu_side and n <= (10 ** 7 if quick else 10 ** 8):
            host = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
            xs = [minijit.from_numpy(h) for h in host]
            with minijit.no_grad():
                cpu.run(xs)
            sides.append((CPU, lambda xs=xs: cpu.run(xs), _nothing))
        if env["gpu"]:
            cupy = env["cupy"]
            dev = [cupy.random.standard_normal(n, dtype=cupy.float32) for _ in range(3)]
            gs = [minijit.Tensor._from_array(d) for d in dev]
            dst = cupy.empty_like(dev[0])
            sync = env["sync"]
            with minijit.no_grad():
                start = time.perf_counter()
                fused(*gs)
                fused(*gs)
                sync()
                first = time.perf_counter() - start
                got = fused(*gs)
                want = unfused(*gs)
                unfused(*gs)
            np.testing.assert_allclose(cupy.asnumpy(got._data), cupy.asnumpy(want._data),
                                       rtol=1e-5, atol=1e-5)
            kernels = fused.executor.kernels()
            if kernels:
                info["compile_seconds"] = sum(k.compile_seconds for k in kernels)
                info["source"] = kernels[0].source
                info.setdefault("first_calls_seconds", first)
            sides += [("CuPy copy (8 bytes/element)",
                       lambda d=dev, o=dst, cp=cupy: cp.copyto(o, d[0]), sync),
                      ("minijit CuPy unfused", lambda gs=gs: unfused(*gs), sync),
                      (FUSED, lambda gs=gs: fused(*gs), sync)]
            if torch is not None:
                ts = [torch.as_tensor(d, device="cuda") for d in dev]
                tsync = env["torch_sync"]

                def teager(ts=ts):
                    a, b, c = ts
                    return torch.tanh(a * b + c) * torch.sigmoid(a) - torch.relu(b) * 0.5 + \
                        torch.exp(-c * c)
                sides.append(("torch CUDA eager", teager, tsync))
                if compiled is not None:
                    try:
                        start = time.perf_counter()
                        compiled(*ts)
                        tsync()
                        info.setdefault("torch_compile_first_call_seconds",
                                        time.perf_counter() - start)
                        sides.append(("torch.compile (CUDA)",
                                      lambda ts=ts, f=compiled: f(*ts), tsync))
                    except Exception as exc:  # noqa: BLE001
                        info["compile"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                        compiled = None
        target = 0.01 if quick else 0.05
        with minijit.no_grad():
            for name, fn, sync in sides:
                best, median = measure(fn, sync, rounds, target)
                rows.append({"workload": "chain", "n": n, "side": name, "best": best,
                             "median": median})
    return rows, info


def make_loop(torch: Any, width: int, batch: int) -> Any:
    """The seed's ``MyRNNLoop`` (10 steps) around its gated cell, for ``torch`` = minijit
    (cell traced, gate scripted, loop to be scripted) or PyTorch (eager)."""
    class MyDecisionGate(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            else:
                return -x

    class MyCell(torch.nn.Module):
        def __init__(self):
            super(MyCell, self).__init__()
            gate = MyDecisionGate()
            self.dg = torch.jit.script(gate) if torch is minijit else gate
            self.linear = torch.nn.Linear(width, width)

        def forward(self, x, h):
            new_h = torch.tanh(self.dg(self.linear(x)) + h)
            return new_h, new_h

    x, h = torch.rand(batch, width), torch.rand(batch, width)

    class MyRNNLoop(torch.nn.Module):
        def __init__(self):
            super(MyRNNLoop, self).__init__()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.cell = torch.jit.trace(MyCell(), (x, h)) if torch is minijit else MyCell()

        def forward(self, xs):
            h = torch.zeros_like(xs[0])
            y = torch.zeros_like(xs[0])
            for i in range(10):
                y, h = self.cell(xs[i], h)
            return y, h

    return MyRNNLoop()


GRAPHED = "minijit CuPy fused + CUDA graph"


def bench_rnn(env: Dict[str, Any], quick: bool) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    from minijit.backends.cupy_backend import CudaGemm, cuda_executor
    from minijit.jit.runtime.executor import GraphExecutor
    rows: List[Dict[str, Any]] = []
    info: Dict[str, Any] = {}
    for label, batch, width in (("small 10×3×4", 3, 4), ("large 10×64×256", 64, 256)):
        minijit.manual_seed(0)
        loop = make_loop(minijit, width, batch)
        scripted = minijit.jit.script(loop)
        xs = minijit.rand(10, batch, width) - 0.5
        cpu = GraphExecutor(scripted._methods["forward"].graph, OptimizationOptions())
        sides: List[Tuple[str, Callable[[], Any], Callable[[], None]]] = [
            (CPU, lambda cpu=cpu, s=scripted, xs=xs: cpu.run((s, xs)), _nothing)]
        if env["gpu"]:
            minijit.manual_seed(0)
            gloop = minijit.jit.script(make_loop(minijit, width, batch).cuda())
            gxs = xs.cuda()
            sync = env["sync"]
            unfused = cuda_executor(gloop, OptimizationOptions(fusion=False))
            fused = cuda_executor(gloop)
            graphed = cuda_executor(gloop, cuda_graphs=True)
            with minijit.no_grad():
                for f in (unfused, fused, graphed, graphed, graphed):
                    out = f(gxs)
                got = [t.cpu().numpy() for t in out]
                ref = [t.cpu().numpy() for t in unfused(gxs)]
            for g, r in zip(got, ref):
                np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)
            sides += [("minijit CuPy unfused", lambda f=unfused, a=gxs: f(a), sync),
                      (FUSED, lambda f=fused, a=gxs: f(a), sync),
                      (GRAPHED, lambda f=graphed, a=gxs: f(a), sync)]
            plan = graphed.executor.plans()[0]
            runner = plan.replay
            gemms = [k for k in graphed.executor.kernels() if isinstance(k, CudaGemm)]
            note = (f"captured in {runner.capture_seconds * 1e3:.0f} ms "
                    f"({len(gemms)} GEMM launches per run, "
                    f"{sum(k.fallbacks for k in gemms)} fell back to cuBLAS)"
                    if runner.captured else
                    "not captured: " + (runner.reason.splitlines() or [""])[0])
            rows.append({"workload": f"rnn {label}", "n": batch * width, "side": "note",
                         "best": 0.0, "median": 0.0, "note": note, "runner": runner})
            if gemms and "gemm_source" not in info:
                info["gemm_source"] = gemms[0].source
                info["gemm_compile_seconds"] = gemms[0].compile_seconds
            info[f"rnn {label} plan"] = plan.report.mode
            torch = env["torch"]
            if torch is not None:
                torch.manual_seed(0)
                tloop = make_loop(torch, width, batch).cuda()
                txs = torch.rand(10, batch, width, device="cuda") - 0.5
                sides.append(("torch CUDA eager", lambda f=tloop, a=txs: f(a), env["torch_sync"]))
        with minijit.no_grad():
            for name, fn, sync in sides:
                if env.get("torch") is not None and name.startswith("torch"):
                    with env["torch"].no_grad():
                        best, median = measure(fn, sync, 3 if quick else 7)
                else:
                    best, median = measure(fn, sync, 3 if quick else 7)
                rows.append({"workload": f"rnn {label}", "n": batch * width, "side": name,
                             "best": best, "median": median})
    for r in rows:                       # the replay count after timing, then drop the object
        runner = r.pop("runner", None)
        if runner is not None and runner.captured:
            r["note"] += f"; {runner.replays} replays"
    return rows, info


def prologue_sum(a, b, c):
    return (a * b + c).sum()


REDUCED = "minijit CuPy fused reduction"
UNREDUCED = "minijit CuPy fused + sum"


def bench_reduction(env: Dict[str, Any], sizes: Sequence[int], quick: bool
                    ) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    """``(a*b + c).sum()``: one ReductionKernel against the elementwise kernel then a sum."""
    from minijit.backends.cupy_backend import CudaFusedReduction, cuda_executor
    rows: List[Dict[str, Any]] = []
    info: Dict[str, Any] = {}
    if not env["gpu"]:
        return rows, info
    cupy, sync, torch = env["cupy"], env["sync"], env["torch"]
    scripted = minijit.jit.script(prologue_sum)
    opts = OptimizationOptions(profiling_runs=0)
    fused = cuda_executor(scripted, opts)
    apart = cuda_executor(scripted, opts, fuse_reductions=False)
    for n in sizes:
        dev = [cupy.random.standard_normal(n, dtype=cupy.float32) for _ in range(3)]
        gs = [minijit.Tensor._from_array(d) for d in dev]
        with minijit.no_grad():
            got = float(fused(*gs).item())
            want = float(apart(*gs).item())
        assert abs(got - want) <= 1e-3 * (abs(want) + n ** 0.5), (n, got, want)
        kernels = [k for k in fused.executor.kernels() if isinstance(k, CudaFusedReduction)]
        if kernels and kernels[0].launches:
            info["source"] = kernels[0].source
            info["compile_seconds"] = kernels[0].compile_seconds
        sides = [("CuPy copy (8 bytes/element)",
                  lambda d=dev, o=cupy.empty_like(dev[0]), cp=cupy: cp.copyto(o, d[0]), sync),
                 (UNREDUCED, lambda gs=gs: apart(*gs), sync),
                 (REDUCED, lambda gs=gs: fused(*gs), sync)]
        if torch is not None:
            ts = [torch.as_tensor(d, device="cuda") for d in dev]
            sides.append(("torch CUDA eager",
                          lambda ts=ts: (ts[0] * ts[1] + ts[2]).sum(), env["torch_sync"]))
        with minijit.no_grad():
            for name, fn, s in sides:
                best, median = measure(fn, s, 3 if quick else 7, 0.01 if quick else 0.05)
                rows.append({"workload": "prologue sum", "n": n, "side": name, "best": best,
                             "median": median})
    return rows, info


def bench_mlp(env: Dict[str, Any], quick: bool) -> List[Dict[str, Any]]:
    from benchmarks.bench_mlp import build, step_fn
    from minijit.backends.cupy_backend import cuda_executor
    from minijit.jit.runtime.executor import GraphExecutor
    rows = []
    model, x, y, opt = build(minijit)
    scripted = minijit.jit.script(model)
    cpu = GraphExecutor(scripted._methods["forward"].graph)
    sides: List[Tuple[str, Callable[[], Any], Callable[[], None]]] = [
        (CPU, step_fn(minijit, lambda v: cpu.run((scripted, v)), x, y, opt), _nothing)]
    if env["gpu"]:
        gmodel, gx, gy, _ = build(minijit)
        gmodel = gmodel.cuda()
        gx, gy = gx.cuda(), gy.cuda()
        gopt = minijit.optim.SGD(gmodel.parameters(), lr=0.01)
        gscripted = minijit.jit.script(gmodel)
        run = cuda_executor(gscripted)
        sides += [("minijit CuPy eager", step_fn(minijit, gmodel, gx, gy, gopt), env["sync"]),
                  ("minijit CuPy script + executor", step_fn(minijit, run, gx, gy, gopt),
                   env["sync"])]
        torch = env["torch"]
        if torch is not None:
            tmodel, tx, ty, _ = build(torch)
            tmodel = tmodel.cuda()
            topt = torch.optim.SGD(tmodel.parameters(), lr=0.01)
            sides.append(("torch CUDA eager", step_fn(torch, tmodel, tx.cuda(), ty.cuda(), topt),
                          env["torch_sync"]))
    for name, fn, sync in sides:
        best, median = measure(fn, sync, 3 if quick else 7)
        rows.append({"workload": "mlp step", "n": 32, "side": name, "best": best,
                     "median": median})
    return rows


# ---- reading the results ----------------------------------------------------------------------
def crossover(rows: List[Dict[str, Any]], cpu: str = CPU, gpu: str = FUSED) -> Optional[float]:
    """The chain size from which the GPU side is faster (log-linear interpolation)."""
    t_cpu = {r["n"]: r["best"] for r in rows if r["side"] == cpu and r["workload"] == "chain"}
    t_gpu = {r["n"]: r["best"] for r in rows if r["side"] == gpu and r["workload"] == "chain"}
    sizes = sorted(set(t_cpu) & set(t_gpu))
    prev = None
    for n in sizes:
        ratio = np.log(t_gpu[n] / t_cpu[n])
        if ratio <= 0:
            if prev is None:
                return float(n)
            (n0, r0) = prev
            frac = r0 / (r0 - ratio)
            return float(np.exp(np.log(n0) + frac * (np.log(n) - np.log(n0))))
        prev = (n, ratio)
    return None


def chain_table(rows: List[Dict[str, Any]], workload: str = "chain") -> str:
    """µs per call (min), one row per side and one column per size of ``workload``."""
    rows = [r for r in rows if r["workload"] == workload]
    sizes = sorted({r["n"] for r in rows})
    sides = list(dict.fromkeys(r["side"] for r in rows))
    cell = {(r["side"], r["n"]): r["best"] for r in rows}
    lines = ["| µs per call (min) | " + " | ".join(f"{n:.0e}" for n in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for side in sides:
        lines.append(f"| {side} | " + " | ".join(
            f"{cell[(side, n)] * 1e6:.1f}" if (side, n) in cell else "" for n in sizes) + " |")
    return "\n".join(lines) + "\n"


def goals(rows: List[Dict[str, Any]]) -> List[str]:
    """The issue's speed goals, read off the chain and the prologue sum at their largest
    sizes and the RNN loops."""
    out = []
    chain_rows = [r for r in rows if r["workload"] == "chain"]
    n = max((r["n"] for r in chain_rows), default=0)
    t = {r["side"]: r["best"] for r in chain_rows if r["n"] == n}
    copy = "CuPy copy (8 bytes/element)"
    if FUSED in t and copy in t:
        fused_bw = 16 * n / t[FUSED] / 1e9
        copy_bw = 8 * n / t[copy] / 1e9
        out.append(f"- chain at {n:.0e}: fused {fused_bw:.0f} GB/s (16 bytes/element) = "
                   f"{fused_bw / copy_bw:.0%} of the copy's {copy_bw:.0f} GB/s (goal ≥ 80%)")
    if FUSED in t and "minijit CuPy unfused" in t:
        out.append(f"- fused vs unfused CuPy at {n:.0e}: "
                   f"{t['minijit CuPy unfused'] / t[FUSED]:.1f}× faster (goal ≥ 5×)")
    if FUSED in t and "torch.compile (CUDA)" in t:
        ratio = t[FUSED] / t["torch.compile (CUDA)"]
        out.append(f"- fused vs torch.compile at {n:.0e}: {ratio:.2f}× its time (goal ≤ 1.2×)")
    sum_rows = [r for r in rows if r["workload"] == "prologue sum"]
    n = max((r["n"] for r in sum_rows), default=0)
    t = {r["side"]: r["best"] for r in sum_rows if r["n"] == n}
    if REDUCED in t and UNREDUCED in t:
        line = (f"- (a*b + c).sum() at {n:.0e}: fused reduction {t[REDUCED] * 1e6:.0f} µs vs "
                f"fused kernel + sum {t[UNREDUCED] * 1e6:.0f} µs "
                f"({t[UNREDUCED] / t[REDUCED]:.2f}× faster; traffic 12 vs 20 bytes/element)")
        if copy in t:
            line += (f"; {12 * n / t[REDUCED] / 1e9:.0f} GB/s against the copy's "
                     f"{8 * n / t[copy] / 1e9:.0f} GB/s")
        if "torch CUDA eager" in t:
            line += f"; torch eager {t['torch CUDA eager'] * 1e6:.0f} µs"
        out.append(line)
    for label in ("small 10×3×4", "large 10×64×256"):
        r = {x["side"]: x for x in rows if x["workload"] == f"rnn {label}"}
        g, e = r.get(GRAPHED), r.get("torch CUDA eager")
        if g and e:
            out.append(f"- RNN loop {label} (gate included): CUDA graph replay "
                       f"{g['best'] * 1e6:.0f} µs vs torch CUDA eager {e['best'] * 1e6:.0f} µs "
                       f"({e['best'] / g['best']:.2f}×; goal > 1×)")
        if r.get("note"):
            out.append(f"- RNN loop {label}: {r['note']['note']}")
    return out


def svg_plot(rows: List[Dict[str, Any]], cross: Optional[float], title: str) -> str:
    """A log-log plot of µs per call against size, one line per side, the crossover marked
    (a few lines of SVG: no plotting library needed)."""
    rows = [r for r in rows if r["workload"] == "chain"]
    w, h, left, right, top, bottom = 760, 420, 70, 250, 40, 50
    xs = [r["n"] for r in rows]
    ys = [r["best"] * 1e6 for r in rows]
    if not rows:
        return ""
    x0, x1 = np.log10(min(xs)), np.log10(max(xs))
    y0, y1 = np.floor(np.log10(min(ys))), np.ceil(np.log10(max(ys)))
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def px(n: float) -> float:
        return left + (np.log10(n) - x0) / (x1 - x0) * (w - left - right)

    def py(us: float) -> float:
        return top + (y1 - np.log10(us)) / (y1 - y0) * (h - top - bottom)

    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{left}" y="22" font-size="13">{title}</text>']
    for k in range(int(y0), int(y1) + 1):
        y = py(10.0 ** k)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">1e{k}</text>')
    for k in range(int(x0), int(np.ceil(x1)) + 1):
        x = px(10.0 ** k)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{h - bottom}" '
                     'stroke="#eee"/>')
        parts.append(f'<text x="{x:.1f}" y="{h - bottom + 16}" text-anchor="middle">1e{k}</text>')
    parts.append(f'<text x="{(left + w - right) / 2}" y="{h - 12}" text-anchor="middle">'
                 'elements (float32)</text>')
    parts.append(f'<text x="16" y="{(top + h - bottom) / 2}" transform="rotate(-90 16 '
                 f'{(top + h - bottom) / 2})" text-anchor="middle">µs per call (min)</text>')
    for i, side in enumerate(dict.fromkeys(r["side"] for r in rows)):
        pts = sorted((r["n"], r["best"] * 1e6) for r in rows if r["side"] == side)
        colour = colours[i % len(colours)]
        width = 3 if side == FUSED else 1.5
        path = " ".join(f"{px(n):.1f},{py(us):.1f}" for n, us in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="{width}"/>')
        for n, us in pts:
            parts.append(f'<circle cx="{px(n):.1f}" cy="{py(us):.1f}" r="2.5" fill="{colour}"/>')
        ly = top + 14 * i
        parts.append(f'<line x1="{w - right + 10}" y1="{ly}" x2="{w - right + 30}" y2="{ly}" '
                     f'stroke="{colour}" stroke-width="{width}"/>')
        parts.append(f'<text x="{w - right + 35}" y="{ly + 4}">{side}</text>')
    if cross is not None:
        x = px(cross)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{h - bottom}" '
                     'stroke="black" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x + 4:.1f}" y="{top + 12}">GPU faster from ≈{cross:.1e}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def report(rows: List[Dict[str, Any]], info: Dict[str, Any], env: Dict[str, Any]) -> str:
    cross = crossover(rows)
    lines = [f"### CPU vs GPU interpreter (device: {env['device']}; host: {machine()})", "",
             "Elementwise chain `tanh(a*b + c) * sigmoid(a) - relu(b) * 0.5 + exp(-c*c)`:", "",
             chain_table(rows)]
    smallest = min((r["n"] for r in rows if r["workload"] == "chain"), default=None)
    if cross is not None and cross == smallest:
        lines.append(f"Crossover: the fused GPU call already beats the fused CPU call at the "
                     f"smallest size measured ({cross:.0e} elements).\n")
    elif cross is not None:
        lines.append(f"Crossover: the fused GPU call beats the fused CPU call from about "
                     f"{cross:.1e} elements.\n")
    if "compile_seconds" in info:
        lines.append(f"First-call compile time of the fused CUDA kernel(s), measured apart from "
                     f"run time: {info['compile_seconds'] * 1e3:.1f} ms.\n")
    if "torch_compile_first_call_seconds" in info:
        lines.append(f"torch.compile's first call (compilation): "
                     f"{info['torch_compile_first_call_seconds']:.1f} s.\n")
    if info.get("compile"):
        lines.append(f"torch.compile: {info['compile']}\n")
    if any(r["workload"] == "prologue sum" for r in rows):
        lines += ["Pointwise prologue and its sum, `(a*b + c).sum()`:", "",
                  chain_table(rows, "prologue sum")]
        if "reduction_compile_seconds" in info:
            lines.append(f"First-launch compile time of the fused reduction kernel: "
                         f"{info['reduction_compile_seconds'] * 1e3:.1f} ms.\n")
    other = [r for r in rows if r["workload"] not in ("chain", "prologue sum") and
             r["side"] != "note"]
    if other:
        lines += ["| workload | side | min (µs) | median (µs) |", "|---|---|---:|---:|"]
        for r in other:
            lines.append(f"| {r['workload']} | {r['side']} | {r['best'] * 1e6:.1f} | "
                         f"{r['median'] * 1e6:.1f} |")
        lines.append("")
    if "gemm_compile_seconds" in info:
        lines.append(f"First-launch compile time of the capture-safe GEMM kernel: "
                     f"{info['gemm_compile_seconds'] * 1e3:.1f} ms.\n")
    for key in sorted(k for k in info if k.endswith(" plan")):
        lines.append(f"- {key}: {info[key]}")
    lines += goals(rows)
    return "\n".join(lines) + "\n"


def _write(out_dir: str, stem: str, text: str, rows: List[Dict[str, Any]],
           info: Dict[str, Any], env: Dict[str, Any]) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{stem}.md"), "w") as f:
        f.write(text)
    sources = {k: v for k, v in info.items() if k.endswith("source")}
    with open(os.path.join(out_dir, f"{stem}.json"), "w") as f:
        json.dump({"device": env["device"], "rows": rows,
                   "info": {k: v for k, v in info.items() if k not in sources},
                   "sources": sources}, f, indent=1)
    svg = svg_plot(rows, crossover(rows), f"elementwise chain, {env['device']}")
    if svg:
        with open(os.path.join(out_dir, f"{stem}.svg"), "w") as f:
            f.write(svg)


def main(argv: Optional[List[str]] = None) -> str:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    out_dir = argv[argv.index("--out") + 1] if "--out" in argv else None
    env = _env()
    if "--compile-only" in argv:
        # The chain at 1e8 only, fused against torch.compile (its own step in the device
        # check: the first compile takes about a minute).
        rows, info = bench_chain(env, [10 ** 8] if env["gpu"] else [10 ** 5], quick, True,
                                 cpu_side=False)
        text = report(rows, info, env)
        if not env["gpu"]:
            text += "\n(No CUDA device here: nothing measured.)\n"
        elif env["torch"] is None:
            text += "\n(No PyTorch with CUDA here: torch.compile skipped.)\n"
        print(text)
        if out_dir:
            _write(out_dir, "cpu_vs_gpu_compile", text, rows, info, env)
        return text
    sizes = [10 ** 3, 10 ** 5, 10 ** 6, 10 ** 7, 10 ** 8] if quick else CHAIN_SIZES
    sum_sizes = [10 ** 6, 10 ** 8] if quick else [10 ** 4, 10 ** 6, 10 ** 7, 10 ** 8]
    if not env["gpu"]:
        sizes = [s for s in sizes if s <= 10 ** 6]
    compile_ok = "--no-compile" not in argv
    rows, info = bench_chain(env, sizes, quick, compile_ok)
    print(chain_table(rows), flush=True)
    sum_rows, sum_info = bench_reduction(env, sum_sizes, quick)
    rows += sum_rows
    if "compile_seconds" in sum_info:
        info["reduction_compile_seconds"] = sum_info["compile_seconds"]
    if "source" in sum_info:
        info["reduction_source"] = sum_info["source"]
    rnn_rows, rnn_info = bench_rnn(env, quick)
    rows += rnn_rows
    info.update(rnn_info)
    rows += bench_mlp(env, quick)
    text = report(rows, info, env)
    if not env["gpu"]:
        text += "\n(No CUDA device here: GPU sides skipped.)\n"
    print(text)
    if out_dir:
        _write(out_dir, "cpu_vs_gpu", text, rows, info, env)
    if "--append" in argv:
        with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
            f.write("\n" + text)
    return text


if __name__ == "__main__":
    main()
