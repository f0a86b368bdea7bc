"""
Introduction to minijit: modules, autograd and tracing
======================================================

This walk-through follows the first half of PyTorch's "Introduction to TorchScript" tutorial,
run on minijit instead.  minijit is written so that ``import minijit as torch`` is the only
change a PyTorch program needs: the same seed gives the same random numbers, and modules,
tensors, graphs and code print the same text.

Run it with ``python tutorials/01_intro_to_minijit.py``.  Each ``# %%`` starts a cell.
"""
# %%
# Modules and forward
# -------------------
# A module bundles state (parameters, submodules) with a ``forward`` function.  Our first cell
# has no parameters at all: it adds its two inputs and squashes them with ``tanh``.
import minijit as torch

print(torch.__version__)
torch.manual_seed(191009)   # minijit's generator is PyTorch's MT19937: same seed, same numbers


class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()

    def forward(self, x, h):
        new_h = torch.tanh(x + h)
        return new_h, new_h


my_cell = MyCell()
x = torch.rand(3, 4)
h = torch.rand(3, 4)
print(my_cell(x, h))


# %%
# A module inside a module
# ------------------------
# Assigning a module to an attribute registers it as a submodule: it shows up in the repr, and
# its parameters in ``my_cell.parameters()``.  ``nn.Linear`` draws its initial weights from the
# generator in exactly PyTorch's order, so the outputs below match PyTorch's to the printed
# digit.  The ``grad_fn=<TanhBackward0>`` suffix says autograd recorded how the output was made.
class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h


my_cell = MyCell()
print(my_cell)
print(my_cell(x, h))


# %%
# Control flow
# ------------
# ``forward`` is ordinary Python, so it may branch on data.  (Tracing, below, cannot see such
# branches; scripting, in the next tutorial, keeps them.)
class MyDecisionGate(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        else:
            return -x


class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()
        self.dg = MyDecisionGate()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h


my_cell = MyCell()
print(my_cell)
print(my_cell(x, h))

# %%
# Autograd
# --------
# Every op records a node on a tape; ``backward`` walks it from the output to the leaves.
new_h, _ = my_cell(x, h)
new_h.sum().backward()
print("grad_fn chain:", new_h.grad_fn.name(), "->",
      [type(f).__name__ for f, _ in new_h.grad_fn.next_functions if f is not None])
print("d(sum)/d(bias) has shape", tuple(my_cell.linear.bias.grad.shape))


# %%
# Tracing
# -------
# ``torch.jit.trace`` runs the module once on example inputs and records every op that ran as
# an IR graph.  The submodule keeps its own graph (``prim::CallMethod``), and ``.code`` prints
# the graph back as Python.  The traced module computes what the original computes.
class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h


my_cell = MyCell()
x, h = torch.rand(3, 4), torch.rand(3, 4)
traced_cell = torch.jit.trace(my_cell, (x, h))
print(traced_cell)
traced_cell(x, h)
print(traced_cell.graph)
print(traced_cell.code)
print(my_cell(x, h))
print(traced_cell(x, h))


# %%
# Why tracing loses control flow
# ------------------------------
# The tracer only sees the ops that ran.  ``MyDecisionGate`` returned its input unchanged for
# these example inputs, so its traced graph contains no op at all (PyTorch prints the quirky
# ``-> NoneType: return None``), and the ``if`` is gone: a TracerWarning says so when the tensor
# was turned into a Python bool.
class MyCell(torch.nn.Module):
    def __init__(self, dg):
        super(MyCell, self).__init__()
        self.dg = dg
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h


my_cell = MyCell(MyDecisionGate())
traced_cell = torch.jit.trace(my_cell, (x, h))
print(traced_cell.dg.code)
print(traced_cell.code)


# %%
# Scripting keeps control flow
# ----------------------------
# ``torch.jit.script`` does not run the module: it reads ``forward``'s *source* (with Python's
# ``ast``), type-checks it and compiles it, ``if`` and loops included.  The gate's ``if`` is a
# ``prim::If`` now; ``bool(torch.gt(...))`` is how a tensor condition becomes a Python bool.
# Scripting a module scripts its submodules too, so ``scripted_cell`` calls the scripted gate.
# (How the compiler works, step by step: ``tutorials/02_the_script_compiler.py``.)
scripted_gate = torch.jit.script(MyDecisionGate())
my_cell = MyCell(scripted_gate)
scripted_cell = torch.jit.script(my_cell)
print(scripted_gate.code)
print(scripted_cell.code)

x, h = torch.rand(3, 4), torch.rand(3, 4)
print(scripted_cell(x, h))


# %%
# Mixing scripting and tracing
# ----------------------------
# The two compose.  A scripted module may hold a traced one: ``MyRNNLoop`` loops over its input
# (a data-dependent ``for``, which tracing would unroll) and calls the traced cell through
# ``prim::CallMethod``.  A traced module may hold a scripted one: tracing ``WrapRNN`` records
# one call into the scripted loop, whose graph keeps its loop.
class MyRNNLoop(torch.nn.Module):
    def __init__(self):
        super(MyRNNLoop, self).__init__()
        self.cell = torch.jit.trace(MyCell(scripted_gate), (x, h))

    def forward(self, xs):
        h, y = torch.zeros(3, 4), torch.zeros(3, 4)
        for i in range(xs.size(0)):
            y, h = self.cell(xs[i], h)
        return y, h


rnn_loop = torch.jit.script(MyRNNLoop())
print(rnn_loop.code)


class WrapRNN(torch.nn.Module):
    def __init__(self):
        super(WrapRNN, self).__init__()
        self.loop = torch.jit.script(MyRNNLoop())

    def forward(self, xs):
        y, h = self.loop(xs)
        return torch.relu(y)


traced = torch.jit.trace(WrapRNN(), (torch.rand(10, 3, 4)))
print(traced.code)
xs = torch.rand(10, 3, 4)
print("traced(xs) equals relu(loop(xs)[0]):",
      bool((traced(xs) == torch.relu(traced.loop(xs)[0])).all()))


# %%
# Saving and loading
# ------------------
# ``save`` writes TorchScript's own archive format: a zip with the ``.code`` text of every
# module class under ``code/``, the module tree in ``data.pkl`` and the raw tensor bytes under
# ``data/``.  PyTorch's ``torch.jit.load`` opens it, and ``minijit.jit.load`` opens PyTorch's.
# Loading compiles the code text back into IR with the script compiler, so the loaded module
# needs none of the Python classes above: it prints as a ``RecursiveScriptModule``.
import os
import tempfile

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "wrapped_rnn.pt")
    traced.save(path)
    loaded = torch.jit.load(path)
print(loaded)
print(loaded.code)
print("loaded(xs) equals traced(xs):", bool((loaded(xs) == traced(xs)).all()))
