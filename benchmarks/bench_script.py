"""The scripter's two speed goals, on the seed tutorial's models.

1. Compile time: ``minijit.jit.script`` of the seed's ``MyCell`` (a scripted decision gate and a
   ``Linear``), the first time (the ``Linear`` is compiled too) and for a second instance (its
   class type and compiled methods are shared).
2. Run time: the scripted ``MyRNNLoop`` (10 steps over a 3×4 state, a traced cell called from a
   scripted loop) against the same model run eagerly in minijit, and against PyTorch's
   ``torch.jit.script`` of the same source when PyTorch is installed.

Run: ``python -m benchmarks.bench_script``.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings

import minijit
from benchmarks.harness import format_rows, machine, run_cases, try_import_torch

MODELS = '''
class MyDecisionGate(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        else:
            return -x

class MyCell(torch.nn.Module):
    def __init__(self, dg):
        super(MyCell, self).__init__()
        self.dg = dg
        self.linear = torch.nn.Linear(4, 4)
    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h

class MyRNNLoop(torch.nn.Module):
    def __init__(self, cell):
        super(MyRNNLoop, self).__init__()
        self.cell = cell
    def forward(self, xs):
        h, y = torch.zeros(3, 4), torch.zeros(3, 4)
        for i in range(xs.size(0)):
            y, h = self.cell(xs[i], h)
        return y, h
'''


def _load(torch_module, directory: str, tag: str) -> dict:
    """The models defined in a real file (the scripter reads source), bound to a library."""
    path = os.path.join(directory, f"seed_models_{tag}.py")
    with open(path, "w") as f:
        f.write(MODELS)
    namespace = {"torch": torch_module, "__name__": f"seed_models_{tag}"}
    exec(compile(MODELS, path, "exec"), namespace)
    return namespace


def _rnn(torch_module, ns: dict, script: bool):
    x, h = torch_module.rand(3, 4), torch_module.rand(3, 4)
    gate = ns["MyDecisionGate"]()
    if script:
        gate = torch_module.jit.script(gate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cell = torch_module.jit.trace(ns["MyCell"](gate), (x, h)) if script else \
            ns["MyCell"](gate)
    loop = ns["MyRNNLoop"](cell)
    return torch_module.jit.script(loop) if script else loop


def compile_times(ns: dict) -> str:
    gate = minijit.jit.script(ns["MyDecisionGate"]())
    start = time.perf_counter()
    minijit.jit.script(ns["MyCell"](gate))
    first = time.perf_counter() - start
    start = time.perf_counter()
    minijit.jit.script(ns["MyCell"](gate))
    second = time.perf_counter() - start
    return (f"Scripting MyCell: {first * 1e3:.2f} ms the first time (compiles Linear too), "
            f"{second * 1e3:.2f} ms for a second instance (goal: < 20 ms)\n")


def main() -> str:
    torch = try_import_torch()
    with tempfile.TemporaryDirectory() as directory:
        sys.path.insert(0, directory)
        ns = _load(minijit, directory, "minijit")
        text = compile_times(ns)
        minijit.manual_seed(0)
        xs = minijit.rand(10, 3, 4)
        eager = _rnn(minijit, ns, script=False)
        scripted = _rnn(minijit, _load(minijit, directory, "minijit2"), script=True)
        with minijit.no_grad():
            cases = [("minijit eager MyRNNLoop", lambda: eager(xs)),
                     ("minijit scripted MyRNNLoop", lambda: scripted(xs))]
            if torch is not None:
                tns = _load(torch, directory, "torch")
                txs = torch.rand(10, 3, 4)
                t_eager = _rnn(torch, tns, script=False)
                t_scripted = _rnn(torch, tns, script=True)
                cases += [("torch eager MyRNNLoop", lambda: t_eager(txs)),
                          ("torch.jit.script MyRNNLoop", lambda: t_scripted(txs))]
            rows = run_cases(cases)
        sys.path.remove(directory)
    text += "\n" + format_rows(f"MyRNNLoop, 10 steps, 3×4, no_grad ({machine()})", rows,
                               baseline="minijit eager MyRNNLoop")
    print(text)
    return text


if __name__ == "__main__":
    main()
