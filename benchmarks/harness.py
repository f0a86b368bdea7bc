"""A small benchmark harness: repeat, take min and median, compare side by side in one run.

Timings on shared machines are noisy, so every comparison is made within one run of one
script, and both the minimum (the best the machine can do) and the median (what you usually
get) are reported.
"""
from __future__ import annotations

import platform
import statistics
import time
from typing import Callable, List, Optional, Sequence, Tuple

Row = Tuple[str, float, float]


def measure(fn: Callable[[], object], repeats: int = 7, number: Optional[int] = None,
            target_seconds: float = 0.05) -> Tuple[float, float]:
    """Seconds per call: (min, median) over ``repeats`` batches of ``number`` calls."""
    fn()  # warm up (first-call compilation, caches)
    if number is None:
        number = 1
        while True:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            if time.perf_counter() - start >= target_seconds / 5 or number >= 1 << 20:
                break
            number *= 2
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return min(samples), statistics.median(samples)


def run_cases(cases: Sequence[Tuple[str, Optional[Callable[[], object]]]],
              repeats: int = 7) -> List[Row]:
    rows = []
    for name, fn in cases:
        if fn is None:
            continue
        best, median = measure(fn, repeats)
        rows.append((name, best, median))
    return rows


def machine() -> str:
    import os
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def format_rows(title: str, rows: Sequence[Row], baseline: Optional[str] = None) -> str:
    """A Markdown table in µs with a ratio column against ``baseline``."""
    base = next((r for r in rows if r[0] == baseline), None)
    lines = [f"### {title}", "", "| case | min (µs) | median (µs) | ratio (min) |",
             "|---|---:|---:|---:|"]
    for name, best, median in rows:
        ratio = f"{best / base[1]:.2f}×" if base else ""
        lines.append(f"| {name} | {best * 1e6:.2f} | {median * 1e6:.2f} | {ratio} |")
    return "\n".join(lines) + "\n"


def try_import_torch():
    try:
        import torch  # type: ignore
        torch.set_num_threads(1)
        return torch
    except ImportError:
        return None
