"""Per-op dispatch overhead on a 3×4 tensor: minijit vs raw NumPy vs torch eager.

Run: ``python -m benchmarks.bench_dispatch``.
"""
from __future__ import annotations

import numpy as np

import minijit
from benchmarks.harness import format_rows, machine, run_cases, try_import_torch


def main() -> str:
    torch = try_import_torch()
    a = np.random.rand(3, 4).astype(np.float32)
    b = np.random.rand(3, 4).astype(np.float32)
    x, y = minijit.from_numpy(a.copy()), minijit.from_numpy(b.copy())
    xg = minijit.from_numpy(a.copy()).requires_grad_()
    cases = [
        ("numpy np.tanh(a)", lambda: np.tanh(a)),
        ("numpy np.add(a, b)", lambda: np.add(a, b)),
        ("minijit tanh(x)", lambda: minijit.tanh(x)),
        ("minijit x + y", lambda: x + y),
        ("minijit tanh(x), requires_grad", lambda: minijit.tanh(xg)),
        ("minijit x + y, requires_grad", lambda: xg + y),
    ]
    if torch is not None:
        tx, ty = torch.from_numpy(a.copy()), torch.from_numpy(b.copy())
        txg = torch.from_numpy(a.copy()).requires_grad_()
        cases += [
            ("torch tanh(x)", lambda: torch.tanh(tx)),
            ("torch x + y", lambda: tx + ty),
            ("torch tanh(x), requires_grad", lambda: torch.tanh(txg)),
            ("torch x + y, requires_grad", lambda: txg + ty),
        ]
    rows = run_cases(cases)
    text = format_rows(f"Dispatch overhead, 3×4 float32 ({machine()})", rows,
                       baseline="numpy np.tanh(a)")
    print(text)
    return text


if __name__ == "__main__":
    main()
