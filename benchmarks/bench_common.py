"""Shared pieces of the optimiser benchmarks: interleaved timing and the executor wrapper.

On a shared machine the speed drifts while a benchmark runs, so comparing sides timed one
after the other is unfair to whichever ran in a slow moment.  :func:`measure_interleaved`
times every side once per round, round after round, and keeps each side's minimum and
median: all sides see the same moments.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple


def _calibrate(fn: Callable[[], object], target: float) -> int:
    fn()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= target or number >= 1 << 20:
            return number
        number *= 2


def measure_interleaved(cases: Sequence[Tuple[str, Callable[[], object]]], rounds: int = 7,
                        target_seconds: float = 0.02) -> Dict[str, Tuple[float, float]]:
    """Seconds per call ``{name: (min, median)}``, every case timed once per round.

    Each case first runs a few times untimed: a scripted function's first calls profile
    and build its plan."""
    for _, fn in cases:
        for _ in range(3):
            fn()
    numbers = {name: _calibrate(fn, target_seconds) for name, fn in cases}
    samples: Dict[str, List[float]] = {name: [] for name, _ in cases}
    for _ in range(rounds):
        for name, fn in cases:
            n = numbers[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - start) / n)
    return {name: (min(s), statistics.median(s)) for name, s in samples.items()}


def executor_call(module_or_fn: Any, options: Any = None) -> Callable[..., Any]:
    """Call a scripted function or module through the optimising executor.

    (Once ``ScriptFunction.__call__`` routes through the executor, calling the scripted
    object does the same; this keeps the benchmarks independent of that wiring.)
    """
    from minijit.jit.runtime.executor import GraphExecutor
    methods = getattr(module_or_fn, "_methods", None)
    if methods is not None:
        ex = GraphExecutor(methods["forward"].graph, options)
        return lambda *args: ex.run((module_or_fn,) + args)
    ex = GraphExecutor(module_or_fn.graph, options)
    return lambda *args: ex.run(args)


def table(title: str, results: Dict[str, Tuple[float, float]], baseline: str,
          unit: float = 1e-6, unit_name: str = "µs") -> str:
    base = results.get(baseline)
    lines = [f"### {title}", "", f"| case | min ({unit_name}) | median ({unit_name}) | "
             f"vs {baseline} (min) |", "|---|---:|---:|---:|"]
    for name, (best, median) in results.items():
        ratio = f"{best / base[0]:.2f}×" if base else ""
        lines.append(f"| {name} | {best / unit:.1f} | {median / unit:.1f} | {ratio} |")
    return "\n".join(lines) + "\n"
