"""Run the optimiser benchmarks and append their tables to ``benchmarks/RESULTS.md``.

Run: ``python -m benchmarks.run_optimizer`` (``--quick`` for fewer chain sizes,
``--no-write`` to print only).  Everything is measured in this one run, on this machine.
"""
from __future__ import annotations

import datetime
import os
import sys
from typing import List, Optional

from benchmarks import bench_fusion, bench_mlp, bench_rnn
from benchmarks.harness import machine

RESULTS = os.path.join(os.path.dirname(__file__), "RESULTS.md")


def main(argv: Optional[List[str]] = None) -> str:
    argv = sys.argv[1:] if argv is None else argv
    quick = ["--quick"] if "--quick" in argv else []
    parts = [f"## Optimising executor (issue 6): {datetime.date.today().isoformat()}, "
             f"{machine()}", "",
             "Each table was measured in one run, every side timed in interleaved rounds "
             "(min and median over rounds).  `python -m benchmarks.run_optimizer` reproduces it.",
             ""]
    parts.append(bench_fusion.main(quick))
    parts.append(bench_rnn.main([]))
    parts.append(bench_mlp.main([]))
    text = "\n".join(parts) + "\n"
    if "--no-write" not in argv:
        existing = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n"
        with open(RESULTS, "w") as f:
            f.write(existing.rstrip("\n") + "\n\n" + text)
    return text


if __name__ == "__main__":
    main()
