"""The seed tutorial's RNN loop, scripted, against NumPy by hand and PyTorch.

Run: ``python -m benchmarks.bench_rnn``.

``MyRNNLoop`` runs a traced ``MyCell`` (Linear, a scripted data-dependent gate, tanh) over
the first dimension of ``xs``.  Two sizes: the seed's 10×3×4 with ``Linear(4, 4)``, and a
large variant, 100×64×256 with ``Linear(256, 256)``.  Each is timed without gradients
(forward under ``no_grad``) and with gradients (forward, then ``backward`` of ``h.sum()``).
"""
from __future__ import annotations

import sys
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from benchmarks.bench_common import executor_call, measure_interleaved, table
from benchmarks.harness import machine


def make_classes(torch: Any) -> Tuple[type, type]:
    class MyDecisionGate(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            else:
                return -x

    class MyCell(torch.nn.Module):
        def __init__(self, dg, width):
            super(MyCell, self).__init__()
            self.dg = dg
            self.linear = torch.nn.Linear(width, width)

        def forward(self, x, h):
            new_h = torch.tanh(self.dg(self.linear(x)) + h)
            return new_h, new_h

    return MyDecisionGate, MyCell


def make_loop(torch: Any, steps: int, batch: int, width: int) -> Tuple[Any, Any, Any]:
    """(eager module, scripted module, xs) built exactly as the seed tutorial builds them."""
    MyDecisionGate, MyCell = make_classes(torch)
    torch.manual_seed(0)
    x, h = torch.rand(batch, width), torch.rand(batch, width)
    scripted_gate = torch.jit.script(MyDecisionGate())

    class MyRNNLoop(torch.nn.Module):
        def __init__(self):
            super(MyRNNLoop, self).__init__()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.cell = torch.jit.trace(MyCell(scripted_gate, width), (x, h))

        def forward(self, xs):
            # The seed writes torch.zeros(3, 4); the sizes come from xs so that one class
            # serves both sizes (TorchScript refuses closed-over ints).
            h, y = torch.zeros(xs.size(1), xs.size(2)), torch.zeros(xs.size(1), xs.size(2))
            for i in range(xs.size(0)):
                y, h = self.cell(xs[i], h)
            return y, h

    eager = MyRNNLoop()
    scripted = torch.jit.script(eager)
    xs = torch.rand(steps, batch, width)
    return eager, scripted, xs


def numpy_loop(weight: np.ndarray, bias: np.ndarray, xs: np.ndarray) -> np.ndarray:
    h = np.zeros(xs.shape[1:], xs.dtype)
    wt = weight.T
    for i in range(xs.shape[0]):
        a = xs[i] @ wt + bias
        if a.sum() <= 0:
            a = -a
        h = np.tanh(a + h)
    return h


def _grad_step(torch: Any, fn: Callable[[Any], Any], xs: Any) -> Callable[[], Any]:
    def step():
        y, h = fn(xs)
        h.sum().backward()
        return h
    return step


def run_size(steps: int, batch: int, width: int, with_compile: bool) -> Dict[str, Any]:
    import minijit
    eager, scripted, xs = make_loop(minijit, steps, batch, width)
    from minijit.jit.options import OptimizationOptions
    fast = scripted                      # calling a scripted module runs the optimising executor
    interpreted = executor_call(scripted, OptimizationOptions(enabled=False))
    w = eager.cell.linear.weight._data
    b = eager.cell.linear.bias._data
    xs_np = xs._data
    with minijit.no_grad():
        np.testing.assert_allclose(fast(xs)[1].numpy(), numpy_loop(w, b, xs_np), rtol=1e-4,
                                   atol=1e-5)
    no_grad: List[Tuple[str, Callable[[], Any]]] = [
        ("NumPy by hand", lambda: numpy_loop(w, b, xs_np)),
        ("minijit eager", lambda: eager(xs)),
        ("minijit script, interpreter", lambda: interpreted(xs)),
        ("minijit script, optimising executor", lambda: fast(xs)),
    ]
    grad: List[Tuple[str, Callable[[], Any]]] = [
        ("minijit eager", _grad_step(minijit, eager, xs)),
        ("minijit script, interpreter", _grad_step(minijit, interpreted, xs)),
        ("minijit script, optimising executor", _grad_step(minijit, fast, xs)),
    ]
    compile_note = None
    try:
        import torch  # type: ignore
        torch.set_num_threads(1)
        t_eager, t_scripted, t_xs = make_loop(torch, steps, batch, width)
        with torch.no_grad():
            t_eager.cell.linear.weight.copy_(torch.from_numpy(w))
            t_eager.cell.linear.bias.copy_(torch.from_numpy(b))
        t_xs = torch.from_numpy(xs_np.copy())
        no_grad += [("torch eager", lambda: t_eager(t_xs)),
                    ("torch.jit.script", lambda: t_scripted(t_xs))]
        grad += [("torch eager", _grad_step(torch, t_eager, t_xs)),
                 ("torch.jit.script", _grad_step(torch, t_scripted, t_xs))]
        if with_compile:
            try:
                compiled = torch.compile(t_eager)
                with torch.no_grad():
                    compiled(t_xs)
                no_grad.append(("torch.compile", lambda: compiled(t_xs)))
            except Exception as exc:  # noqa: BLE001
                compile_note = f"torch.compile failed: {type(exc).__name__}"
        else:
            compile_note = "torch.compile not timed at this size (100 graph breaks to compile)"
    except ImportError:
        compile_note = "torch is not installed"
    rounds = 7 if steps * width < 10000 else 3
    with minijit.no_grad():
        import contextlib
        torch_mod = sys.modules.get("torch")           # None when torch is not installed
        ctx = torch_mod.no_grad() if torch_mod is not None else contextlib.nullcontext()
        with ctx:
            r_no = measure_interleaved(no_grad, rounds=rounds)
    r_grad = measure_interleaved(grad, rounds=rounds)
    return {"no_grad": r_no, "grad": r_grad, "note": compile_note}


def main(argv: Optional[List[str]] = None) -> str:
    out = []
    for steps, batch, width, comp in ((10, 3, 4, True), (100, 64, 256, False)):
        res = run_size(steps, batch, width, comp)
        label = f"{steps}×{batch}×{width}"
        out.append(table(f"RNN loop {label}, no grad ({machine()}, 1 thread)", res["no_grad"],
                         "torch.jit.script"))
        out.append(table(f"RNN loop {label}, forward + backward", res["grad"],
                         "torch.jit.script"))
        if res["note"]:
            out.append(res["note"] + "\n")
    text = "\n".join(out)
    print(text)
    return text


if __name__ == "__main__":
    main()
