"""Per-call time of the tutorial's MyCell: eager vs traced, minijit vs PyTorch, one run.

Two sizes: the tutorial's 3×4 cell (interpreter overhead dominates) and a batch-64,
width-256 cell (the matrix product dominates).  Gradients are on, as in training.

Run: ``python -m benchmarks.bench_trace``.
"""
from __future__ import annotations

import warnings

import minijit
from benchmarks.harness import format_rows, machine, run_cases, try_import_torch


def make_cell(lib, width):
    class MyCell(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = lib.nn.Linear(width, width)

        def forward(self, x, h):
            new_h = lib.tanh(self.linear(x) + h)
            return new_h, new_h
    return MyCell()


def cases_for(lib, name, batch, width):
    lib.manual_seed(0)
    cell = make_cell(lib, width)
    x, h = lib.rand(batch, width), lib.rand(batch, width)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = lib.jit.trace(cell, (x, h))
    return [(f"{name} eager", lambda: cell(x, h)), (f"{name} traced", lambda: traced(x, h))]


def main() -> str:
    torch = try_import_torch()
    text = ""
    for batch, width in ((3, 4), (64, 256)):
        cases = cases_for(minijit, "minijit", batch, width)
        if torch is not None:
            cases += cases_for(torch, "torch", batch, width)
        rows = run_cases(cases)
        text += format_rows(f"MyCell {batch}×{width}, per call, grad on ({machine()})", rows,
                            baseline="minijit eager") + "\n"
    print(text)
    return text


if __name__ == "__main__":
    main()
