"""One training step of a small MLP: Linear(64, 128) – tanh – Linear(128, 10), batch 32.

Run: ``python -m benchmarks.bench_mlp``.

A step is ``zero_grad``, forward, MSE loss, ``backward``, SGD ``step``.  Sides: NumPy written
by hand (forward, backward and update), minijit eager, the module scripted and run by the
optimising executor (the whole forward becomes one ``prim::DifferentiableGraph``: forward on
arrays, one tape node, a compiled backward), torch eager, ``torch.jit.script`` and
``torch.compile``.  The loss and the optimiser stay eager on every side, as in a real loop.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from benchmarks.bench_common import measure_interleaved, table
from benchmarks.harness import machine


def build(torch: Any) -> Tuple[Any, Any, Any, Any]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.Tanh(),
                                torch.nn.Linear(128, 10))
    x, y = torch.rand(32, 64), torch.rand(32, 10)
    return model, x, y, torch.optim.SGD(model.parameters(), lr=0.01)


def step_fn(torch: Any, forward: Callable[[Any], Any], x: Any, y: Any, opt: Any
            ) -> Callable[[], Any]:
    def step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(forward(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


class NumpyMLP:
    """The same step by hand: forward, backward of the mean squared error, SGD."""

    def __init__(self, params: List[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float = 0.01):
        self.w1, self.b1, self.w2, self.b2 = [p.copy() for p in params]
        self.x, self.y, self.lr = x, y, lr

    def step(self) -> float:
        x, y = self.x, self.y
        a = x @ self.w1.T + self.b1
        h = np.tanh(a)
        out = h @ self.w2.T + self.b2
        diff = out - y
        loss = float((diff * diff).mean())
        g_out = diff * (2.0 / diff.size)
        g_w2 = g_out.T @ h
        g_b2 = g_out.sum(0)
        g_h = g_out @ self.w2
        g_a = g_h * (1 - h * h)
        g_w1 = g_a.T @ x
        g_b1 = g_a.sum(0)
        for p, g in ((self.w1, g_w1), (self.b1, g_b1), (self.w2, g_w2), (self.b2, g_b2)):
            p -= self.lr * g
        return loss


def run() -> Dict[str, Tuple[float, float]]:
    import minijit
    model, x, y, opt = build(minijit)
    params = [p._data for p in model.parameters()]
    scripted = minijit.jit.script(model)
    fast = scripted                      # calling a scripted module runs the optimising executor
    by_hand = NumpyMLP(params, x._data, y._data)
    cases: List[Tuple[str, Callable[[], Any]]] = [
        ("NumPy by hand", by_hand.step),
        ("minijit eager", step_fn(minijit, model, x, y, opt)),
        ("minijit script, optimising executor", step_fn(minijit, fast, x, y, opt)),
    ]
    try:
        import torch  # type: ignore
        torch.set_num_threads(1)
        t_model, tx, ty, t_opt = build(torch)
        t_scripted = torch.jit.script(t_model)
        cases += [("torch eager", step_fn(torch, t_model, tx, ty, t_opt)),
                  ("torch.jit.script", step_fn(torch, t_scripted, tx, ty, t_opt))]
        try:
            compiled = torch.compile(t_model)
            step = step_fn(torch, compiled, tx, ty, t_opt)
            step()
            cases.append(("torch.compile (module)", step))
        except Exception:  # noqa: BLE001
            pass
    except ImportError:
        pass
    return measure_interleaved(cases, rounds=9)


def main(argv: Optional[List[str]] = None) -> str:
    text = table(f"MLP training step, batch 32 ({machine()}, 1 thread)", run(), "torch eager")
    print(text)
    return text


if __name__ == "__main__":
    main()
