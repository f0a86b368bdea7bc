"""Run one benchmark script: ``python -m minijit.cli._bench_child MODULE [--quick]``.

``python -m minijit bench`` starts one of these per script, so that each benchmark gets a
fresh interpreter.  ``--quick`` makes the timing loops of ``benchmarks/harness.py`` and
``benchmarks/bench_common.py`` as short as possible (two rounds, tiny batches) before the
script is imported, and passes ``--quick`` to scripts whose ``main`` takes arguments: a smoke
run that proves every script still works, with numbers not worth keeping.  ``--no-torch``
hides PyTorch, so only the minijit and NumPy sides run.
"""
from __future__ import annotations

import importlib
import inspect
import sys
from typing import List, Optional


def _make_quick() -> None:
    from benchmarks import harness
    original = harness.measure

    def measure(fn, repeats=7, number=None, target_seconds=0.05):
        return original(fn, repeats=2, number=1 if number is not None else None,
                        target_seconds=0.002)
    harness.measure = measure
    try:
        from benchmarks import bench_common
    except ImportError:
        return
    interleaved = bench_common.measure_interleaved

    def measure_interleaved(cases, rounds=7, target_seconds=0.02):
        return interleaved(cases, rounds=2, target_seconds=0.001)
    bench_common.measure_interleaved = measure_interleaved


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    module_name = argv[0]
    quick = "--quick" in argv[1:]
    if "--no-torch" in argv[1:]:
        sys.modules["torch"] = None     # type: ignore[assignment]  # makes `import torch` fail
    if quick:
        _make_quick()
    module = importlib.import_module(module_name)
    entry = module.main
    if inspect.signature(entry).parameters:
        entry(["--quick"] if quick else [])
    else:
        entry()
    return 0


if __name__ == "__main__":
    sys.exit(main())
