"""The elementwise chain ``tanh(a*b + c) * sigmoid(a) - relu(b) * 0.5 + exp(-c*c)``, fused.

Run: ``python -m benchmarks.bench_fusion`` (add ``--quick`` for fewer sizes).

Sides, all in one run on float32 vectors of 1e3 … 1e7 elements:

* NumPy written naively (one temporary per op),
* NumPy written by hand the way the generated kernel works (blocks of 64K elements, ``out=``
  buffers, the blocks split across threads),
* minijit eager (Tensor ops),
* minijit fused: the function scripted by ``minijit.jit.script`` and run by the optimising
  executor (one ``prim::FusionGroup``, one generated kernel),
* torch eager, ``torch.jit.script`` (this CPU build has no LLVM, so TorchScript cannot fuse
  on the CPU and runs op by op), and ``torch.compile`` returning a new tensor and writing
  into a preallocated output.

Every side may use the same number of threads (``THREADS``: the machine's CPUs, or
``MINIJIT_BENCH_THREADS``); times are reported per element.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import minijit
from benchmarks.bench_common import measure_interleaved
from benchmarks.harness import machine
from minijit.jit.options import OptimizationOptions

THREADS = int(os.environ.get("MINIJIT_BENCH_THREADS", 0)) or os.cpu_count() or 1
SIZES = [10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7]


def chain(a, b, c):
    return minijit.tanh(a * b + c) * minijit.sigmoid(a) - minijit.relu(b) * 0.5 + \
        minijit.exp(-c * c)


def numpy_naive(a, b, c):
    return np.tanh(a * b + c) * (1 / (1 + np.exp(-a))) - np.maximum(b, 0) * 0.5 + np.exp(-c * c)


_POOL = ThreadPoolExecutor(max_workers=THREADS)


def numpy_blocked(a, b, c, out=None, block=1 << 16):
    """Hand-written: cache-sized blocks, two reused buffers, blocks split across threads."""
    n = a.shape[0]
    out = np.empty_like(a) if out is None else out

    def part(start, stop):
        t0 = np.empty(block, a.dtype)
        t1 = np.empty(block, a.dtype)
        for s in range(start, stop, block):
            e = min(s + block, stop)
            x, y, z = a[s:e], b[s:e], c[s:e]
            u, v = t0[:e - s], t1[:e - s]
            np.multiply(x, y, out=u)
            np.add(u, z, out=u)
            np.tanh(u, out=u)
            np.negative(x, out=v)
            np.exp(v, out=v)
            np.add(v, 1, out=v)
            np.divide(u, v, out=u)
            np.maximum(y, 0, out=v)
            np.multiply(v, 0.5, out=v)
            np.subtract(u, v, out=u)
            np.multiply(z, z, out=v)
            np.negative(v, out=v)
            np.exp(v, out=v)
            np.add(u, v, out=out[s:e])

    if n < (1 << 18) or THREADS == 1:
        part(0, n)
        return out
    per = -(-n // (THREADS * block)) * block
    futures = [_POOL.submit(part, s, min(s + per, n)) for s in range(per, n, per)]
    part(0, min(per, n))
    for f in futures:
        f.result()
    return out


def _torch_sides(torch: Any, arrays: List[np.ndarray], compile_ok: bool) -> List[Tuple[str, Any]]:
    ta, tb, tc = [torch.from_numpy(x) for x in arrays]
    out = torch.empty_like(ta)

    def tchain(a, b, c):
        return torch.tanh(a * b + c) * torch.sigmoid(a) - torch.relu(b) * 0.5 + torch.exp(-c * c)

    def tchain_out(a, b, c, out):
        out.copy_(torch.tanh(a * b + c) * torch.sigmoid(a) - torch.relu(b) * 0.5 +
                  torch.exp(-c * c))
        return out

    sides = [("torch eager", lambda: tchain(ta, tb, tc))]
    scripted = torch.jit.script(tchain)
    sides.append(("torch.jit.script", lambda: scripted(ta, tb, tc)))
    if compile_ok:
        compiled = _COMPILED.setdefault("new", torch.compile(tchain, dynamic=True))
        compiled_out = _COMPILED.setdefault("out", torch.compile(tchain_out, dynamic=True))
        sides.append(("torch.compile", lambda: compiled(ta, tb, tc)))
        sides.append(("torch.compile, preallocated out",
                      lambda: compiled_out(ta, tb, tc, out)))
    return sides


_COMPILED: Dict[str, Any] = {}


def torch_compile_works(torch: Any) -> Optional[str]:
    """None if ``torch.compile`` runs here, else why not."""
    try:
        f = torch.compile(lambda x: torch.tanh(x) * 2)
        f(torch.ones(8))
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


def run(sizes: List[int] = SIZES) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    try:
        import torch  # type: ignore
        torch.set_num_threads(THREADS)
        compile_problem = torch_compile_works(torch)
    except ImportError:
        torch, compile_problem = None, "torch is not installed"
    scripted = minijit.jit.script(chain)
    from minijit.jit.runtime.executor import GraphExecutor
    executor = GraphExecutor(scripted.graph, OptimizationOptions(num_threads=THREADS,
                                                                 profiling_runs=0))
    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        arrays = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
        a, b, c = arrays
        x, y, z = [minijit.from_numpy(v) for v in arrays]
        with minijit.no_grad():
            fused = executor.run((x, y, z))
        np.testing.assert_allclose(fused.numpy(), numpy_naive(a, b, c), rtol=1e-5, atol=1e-6)
        out = np.empty_like(a)
        sides: List[Tuple[str, Callable[[], Any]]] = [
            ("NumPy naive", lambda: numpy_naive(a, b, c)),
            ("NumPy hand-blocked, preallocated out", lambda: numpy_blocked(a, b, c, out)),
            ("minijit eager", lambda: chain(x, y, z)),
            ("minijit fused (script + executor)", lambda: executor.run((x, y, z))),
        ]
        if torch is not None:
            sides += _torch_sides(torch, arrays, compile_problem is None)
        with minijit.no_grad():
            results = measure_interleaved(sides, rounds=7 if n < 10 ** 7 else 5,
                                          target_seconds=0.02 if n < 10 ** 6 else 0.1)
        for name, (best, median) in results.items():
            rows.append({"n": n, "side": name, "best": best, "median": median})
    meta = {"machine": machine(), "threads": THREADS, "compile": compile_problem,
            "graph": str(executor.graph_for((x, y, z))),
            "source": executor.kernels()[0].source if executor.kernels() else ""}
    return rows, meta


def table(rows: List[Dict[str, Any]]) -> str:
    sizes = sorted({r["n"] for r in rows})
    sides = list(dict.fromkeys(r["side"] for r in rows))
    cell = {(r["side"], r["n"]): r["best"] / r["n"] * 1e9 for r in rows}
    lines = ["| ns per element (min over rounds) | " + " | ".join(f"{n:.0e}" for n in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for side in sides:
        lines.append(f"| {side} | " + " | ".join(
            f"{cell[(side, n)]:.2f}" if (side, n) in cell else "" for n in sizes) + " |")
    return "\n".join(lines) + "\n"


def ratios(rows: List[Dict[str, Any]]) -> str:
    """Speed-up of the fused call over each other side: (other's time) / (fused time)."""
    cell = {(r["side"], r["n"]): r["best"] for r in rows}
    fused = "minijit fused (script + executor)"
    others = ("NumPy naive", "NumPy hand-blocked, preallocated out", "torch.compile",
              "torch.compile, preallocated out", "torch eager", "torch.jit.script")
    lines = ["Speed-up of the fused call, time of the other side ÷ time of the fused call "
             "(above 1: fused is faster):", "",
             "| side | " + " | ".join(f"{n:.0e}" for n in sorted({r['n'] for r in rows})) + " |",
             "|---|" + "---:|" * len({r["n"] for r in rows})]
    for other in others:
        values = []
        for n in sorted({r["n"] for r in rows}):
            if (other, n) in cell and (fused, n) in cell:
                values.append(f"{cell[(other, n)] / cell[(fused, n)]:.2f}×")
            else:
                values.append("")
        if any(values):
            lines.append(f"| {other} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: List[Dict[str, Any]], path: str) -> Optional[str]:
    try:
        import matplotlib  # type: ignore
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for side in dict.fromkeys(r["side"] for r in rows):
        pts = sorted((r["n"], r["best"] / r["n"] * 1e9) for r in rows if r["side"] == side)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=side,
                linewidth=2.5 if side.startswith("minijit fused") else 1.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("elements (float32)")
    ax.set_ylabel("ns per element (lower is better)")
    ax.set_title("tanh(a*b + c) * sigmoid(a) - relu(b) * 0.5 + exp(-c*c)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def main(argv: Optional[List[str]] = None) -> str:
    argv = sys.argv[1:] if argv is None else argv
    sizes = [10 ** 3, 10 ** 5, 10 ** 7] if "--quick" in argv else SIZES
    rows, meta = run(sizes)
    text = [f"### Elementwise chain ({meta['machine']}, {meta['threads']} threads for every side)",
            "", table(rows), ratios(rows)]
    if meta["compile"]:
        text.append(f"torch.compile did not run here: {meta['compile']}\n")
    path = plot(rows, os.path.join(os.path.dirname(__file__), "fusion_chain.png"))
    if path:
        text.append("![elementwise chain](fusion_chain.png)\n")
    out = "\n".join(text)
    print(out)
    return out


if __name__ == "__main__":
    main()
