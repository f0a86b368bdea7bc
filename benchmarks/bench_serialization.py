"""Saving and loading TorchScript archives: minijit vs PyTorch, on the same archives.

Two workloads (issue 5's speed goals):

* a traced stack of ten ``Linear(1000, 1000)`` layers: 10,010,000 float32 parameters, a
  40 MB archive.  Throughput is archive bytes per second; the goal is ≥ 200 MB/s for both save
  and load.  Files are written to and read from a temporary folder (page cache; the write
  includes the temporary-file + rename and an ``fsync``);
* the seed tutorial's ``WrapRNN`` (a traced module around a scripted loop): load time, goal
  < 50 ms.  Loading compiles the archive's code with the scripter each time.

PyTorch loads minijit's archive and its own; minijit loads both too.  Run:
``python -m benchmarks.bench_serialization``.
"""
from __future__ import annotations

import io
import os
import tempfile
import warnings

import minijit
from benchmarks.harness import machine, measure, try_import_torch

WRAP_RNN = '''
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
    def __init__(self):
        super(MyRNNLoop, self).__init__()
        scripted_gate = torch.jit.script(MyDecisionGate())
        x, h = torch.rand(3, 4), torch.rand(3, 4)
        self.cell = torch.jit.trace(MyCell(scripted_gate), (x, h))
    def forward(self, xs):
        h, y = torch.zeros(3, 4), torch.zeros(3, 4)
        for i in range(xs.size(0)):
            y, h = self.cell(xs[i], h)
        return y, h
class WrapRNN(torch.nn.Module):
    def __init__(self):
        super(WrapRNN, self).__init__()
        self.loop = torch.jit.script(MyRNNLoop())
    def forward(self, xs):
        y, h = self.loop(xs)
        return torch.relu(y)
'''


def big_model(lib):
    lib.manual_seed(0)
    layers = [lib.nn.Linear(1000, 1000) for _ in range(10)]
    model = lib.nn.Sequential(*layers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.jit.trace(model, lib.rand(2, 1000))


def wrap_rnn(lib, folder):
    path = os.path.join(folder, f"wrap_rnn_src_{lib.__name__}.py")
    with open(path, "w") as fh:
        fh.write(WRAP_RNN)
    namespace = {"torch": lib, "__name__": f"bench_wrap_rnn_{lib.__name__}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(WRAP_RNN, path, "exec"), namespace)
        lib.manual_seed(0)
        return lib.jit.trace(namespace["WrapRNN"](), (lib.rand(10, 3, 4),))


def first_load(lib: str, path: str, runs: int = 5):
    """(min, median) seconds of the first ``lib.jit.load`` in a new interpreter (imports of
    the frontend and the first compilation included, ``import lib`` excluded)."""
    import statistics
    import subprocess
    import sys
    code = (f"import time, {lib}\nt = time.perf_counter()\n{lib}.jit.load({path!r})\n"
            "print(time.perf_counter() - t)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  env=env, check=True).stdout) for _ in range(runs)]
    return min(times), statistics.median(times)


def _row(name, seconds, nbytes=None):
    best, median = seconds
    rate = f"{nbytes / best / 1e6:.0f}" if nbytes else ""
    return f"| {name} | {best * 1e3:.2f} | {median * 1e3:.2f} | {rate} |"


def main() -> str:
    torch = try_import_torch()
    folder = tempfile.mkdtemp(prefix="bench_serialization_")
    lines = [f"### Save/load, {machine()}", "",
             "| case | min (ms) | median (ms) | MB/s (min) |", "|---|---:|---:|---:|"]

    model = big_model(minijit)
    ours = os.path.join(folder, "big_minijit.pt")
    minijit.jit.save(model, ours)
    size = os.path.getsize(ours)
    lines.append(f"| *10 × Linear(1000, 1000): 10,010,000 float32, archive {size / 1e6:.1f} MB*"
                 " | | | |")
    lines.append(_row("minijit save (file)", measure(lambda: minijit.jit.save(model, ours),
                                                      repeats=5, number=1), size))
    lines.append(_row("minijit save (BytesIO)",
                      measure(lambda: minijit.jit.save(model, io.BytesIO()), repeats=5,
                              number=1), size))
    lines.append(_row("minijit load (minijit's archive)",
                      measure(lambda: minijit.jit.load(ours), repeats=5, number=1), size))
    if torch is not None:
        t_model = big_model(torch)
        theirs = os.path.join(folder, "big_torch.pt")
        torch.jit.save(t_model, theirs)
        lines.append(_row("torch save (file)", measure(lambda: torch.jit.save(t_model, theirs),
                                                       repeats=5, number=1), size))
        lines.append(_row("torch load (minijit's archive)",
                          measure(lambda: torch.jit.load(ours), repeats=5, number=1), size))
        lines.append(_row("torch load (torch's archive)",
                          measure(lambda: torch.jit.load(theirs), repeats=5, number=1), size))
        lines.append(_row("minijit load (torch's archive)",
                          measure(lambda: minijit.jit.load(theirs), repeats=5, number=1), size))

    rnn = wrap_rnn(minijit, folder)
    rnn_path = os.path.join(folder, "wrapped_rnn.pt")
    rnn.save(rnn_path)
    lines.append(f"| *WrapRNN (seed tutorial), archive {os.path.getsize(rnn_path)} bytes* | | | |")
    lines.append(_row("minijit save WrapRNN", measure(lambda: rnn.save(rnn_path))))
    lines.append(_row("minijit load WrapRNN (minijit's archive)",
                      measure(lambda: minijit.jit.load(rnn_path))))
    lines.append(_row("minijit load WrapRNN, first load in a fresh process",
                      first_load("minijit", rnn_path)))
    if torch is not None:
        t_rnn = wrap_rnn(torch, folder)
        t_rnn_path = os.path.join(folder, "wrapped_rnn_torch.pt")
        t_rnn.save(t_rnn_path)
        lines.append(_row("torch load WrapRNN (minijit's archive)",
                          measure(lambda: torch.jit.load(rnn_path))))
        lines.append(_row("torch load WrapRNN (torch's archive)",
                          measure(lambda: torch.jit.load(t_rnn_path))))
        lines.append(_row("torch load WrapRNN, first load in a fresh process",
                          first_load("torch", t_rnn_path)))
        lines.append(_row("minijit load WrapRNN (torch's archive)",
                          measure(lambda: minijit.jit.load(t_rnn_path))))
    text = "\n".join(lines) + "\n"
    print(text)
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    os.rmdir(folder)
    return text


if __name__ == "__main__":
    main()
