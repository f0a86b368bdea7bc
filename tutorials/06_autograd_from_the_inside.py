"""
Autograd from the inside: the tape, grad_fn, gradcheck and a backward rule by hand
==================================================================================

Tutorial 01 printed ``grad_fn=<TanhBackward0>`` and called ``backward()``.  This one opens
the box: what is recorded while the forward pass runs, how ``backward`` walks it, why a second
``backward`` fails, how in-place writes are caught, how to test a derivative with finite
differences, and how to give minijit a new op whose derivative you write yourself.

The code lives in ``minijit/autograd/`` (``graph.py``: the tape's nodes; ``engine.py``: the
backward walk; ``gradcheck.py``) and ``minijit/ops/`` (``registry.py``: one record per op;
``dispatch.py``: where the tape is written).

Run it with ``python tutorials/06_autograd_from_the_inside.py``.  Each ``# %%`` starts a cell.
"""
# %%
# The tape is written while the forward pass runs
# ------------------------------------------------
# A tensor made by you is a *leaf*.  Ask for gradients with ``requires_grad=True`` and every op
# that uses it gets recorded: the result carries ``grad_fn``, a node that knows which op made
# the tensor and where the gradient must go next.  Leaves have no ``grad_fn``: nothing made
# them.  All of this happens in one place, ``dispatch.apply`` in ``minijit/ops/dispatch.py``,
# right after the kernel has computed the value.
import os
import tempfile

import numpy as np

import minijit as torch
from minijit.ops.functional import make_function
from minijit.ops.registry import OpInfo, Tag, get, register

torch.manual_seed(191009)
x = torch.rand(3, requires_grad=True)
w = torch.rand(3, requires_grad=True)
y = torch.tanh(x * w)
loss = y.sum()

print("x is a leaf:", x.is_leaf, "| x.grad_fn:", x.grad_fn)
print("y.grad_fn:", y.grad_fn.name())
print("loss.grad_fn:", loss.grad_fn.name())


# %%
# ``next_functions``: the edges of the graph
# ------------------------------------------
# Each node lists, for each tensor input of its op, a pair ``(node, output number)``: the
# node that will receive that input's gradient.  Following these pairs from ``loss`` walks the
# whole history backwards.  The walk ends at ``AccumulateGrad`` nodes, one per leaf, whose
# job is to add the gradient into the leaf's ``.grad``; ``.variable`` is the leaf itself.
# An input that needs no gradient (a constant, a tensor without ``requires_grad``) shows up
# as ``None``.
def walk(fn, depth=0):
    """Print the autograd graph below ``fn`` as an indented tree."""
    text = type(fn).__name__
    if isinstance(fn, torch.autograd.AccumulateGrad):
        text += f"  (fills .grad of a leaf of shape {tuple(fn.variable.shape)})"
    print("  " * depth + text)
    for next_fn, _ in fn.next_functions:
        if next_fn is not None:
            walk(next_fn, depth + 1)


walk(loss.grad_fn)
print("the leaf behind the first AccumulateGrad is x:",
      loss.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0].variable is x)


# %%
# ``backward`` replays the tape in reverse
# ----------------------------------------
# ``loss.backward()`` starts with the gradient 1 at ``loss`` and visits the nodes in an order
# where every node runs after all nodes that feed gradients into it (``engine.py`` counts
# dependencies first).  Each node applies its op's *backward rule* to the incoming gradient
# and passes one gradient per input along its edges.  For ``y = tanh(x * w)`` the chain rule
# says ``d loss / d x = w * (1 - y**2)``; let us check that the engine agrees.
loss.backward()
expected = (w * (1 - y * y)).detach()
print("x.grad:", x.grad)
print("matches w * (1 - y**2):", np.allclose(x.grad.numpy(), expected.numpy()))


# %%
# What a node keeps: saved tensors and ``retain_graph``
# -----------------------------------------------------
# To run its rule later, a node must keep some forward values.  ``tanh`` keeps its *result*
# (its derivative is ``1 - result**2``), ``mul`` keeps both inputs.  The op registry says so in
# the op's record (``saves``), next to the rule itself.  After ``backward`` these saved values
# are freed to save memory, so a second ``backward`` through the same nodes fails, unless the
# first one was told ``retain_graph=True``.  Gradients *add up* in ``.grad`` across calls:
# reset them (``x.grad = None``, or ``optimizer.zero_grad()``) between steps.
tanh_op = get("tanh")
print("aten::tanh saves", tanh_op.saves, "and names its node", tanh_op.grad_fn_name)
try:
    loss.backward()
except RuntimeError as error:
    print("second backward:", str(error).split(".")[0])

x.grad = None
loss = torch.tanh(x * w).sum()
loss.backward(retain_graph=True)
first = x.grad.clone()
loss.backward()                      # allowed: the first call kept the saved values
print("gradients accumulate:", np.allclose(x.grad.numpy(), 2 * first.numpy()))


# %%
# In-place writes and version counters
# ------------------------------------
# What if a saved tensor is changed after it was saved?  Every tensor carries a version
# counter that each in-place op (``mul_``, ``add_``...) bumps.  A node remembers the version of
# every tensor it saved, and the engine compares before running the rule: a mismatch means
# the rule would compute with the wrong numbers, so it refuses, with PyTorch's message.
# (minijit keeps the counter in a one-element list, ``t._version[0]``, so that views of a
# tensor can share it; PyTorch shows the number itself as ``t._version``.)
a = torch.rand(3, requires_grad=True)
s = a.sigmoid()                      # SigmoidBackward0 saves its result, s
print("version of s before:", s._version[0])
s.mul_(2)                            # writes into s: version 1
print("version of s after mul_:", s._version[0])
try:
    s.sum().backward()
except RuntimeError as error:
    print("backward refused:", str(error).split(":")[0])


# %%
# gradcheck: testing a derivative with finite differences
# -------------------------------------------------------
# A backward rule is a claim about a derivative, and claims need checking.
# ``torch.autograd.gradcheck`` builds the Jacobian twice: once with autograd (one backward
# per output element) and once numerically, nudging each input element by ``±eps`` and
# taking central differences ``(f(x + eps) - f(x - eps)) / 2 eps``.  The two must agree.  Use
# float64: in float32, rounding noise swamps the differences.
xd = torch.rand(2, 3, dtype=torch.float64, requires_grad=True)
wd = torch.rand(2, 3, dtype=torch.float64, requires_grad=True)
print("gradcheck(tanh(x * w)):",
      torch.autograd.gradcheck(lambda a, b: torch.tanh(a * b), (xd, wd)))


# %%
# A new op with a backward rule written by hand
# ---------------------------------------------
# Every op in minijit is one :class:`OpInfo` record in the registry (``minijit/ops/
# registry.py``), and every layer reads that record: dispatch runs ``impl``, autograd runs
# ``backward``, the tracer records the schema's name, the interpreter finds the op by that
# name.  So adding an op means writing one record.  Ours is *softsign*,
# ``f(x) = x / (1 + |x|)``, whose derivative is ``f'(x) = 1 / (1 + |x|)**2``.
#
# * ``impl(xp, x)`` computes on arrays; ``xp`` is NumPy (or CuPy on a GPU).
# * ``backward(ctx, grad)`` returns one gradient per tensor input.  It is written with minijit
#   ops, so it runs on tensors and could itself be differentiated.  ``ctx.self`` is the forward
#   argument named ``self`` in the schema; ``saves=("self",)`` asks for it to be kept.
# * ``tags`` classify the op (``POINTWISE``: elementwise, so the fuser may fuse it, reading the
#   two expression templates).
#
# The name must be unique in the registry, so we use a tutorial-only one, in our own
# ``tutorial::`` namespace.  ``make_function`` turns the record into a Python function, the
# same way ``minijit.tanh`` was made.
def softsign_backward(ctx, grad):
    return (grad / (1 + ctx.self.abs()) ** 2,)


softsign_op = register(OpInfo(
    "softsign_by_hand", ["tutorial::softsign_by_hand(Tensor self) -> Tensor"],
    lambda xp, x: x / (1 + xp.abs(x)),
    tags=(Tag.POINTWISE,), backward=softsign_backward, saves=("self",),
    numpy_template="({self} / (1 + np.abs({self})))",
    cuda_template="({self} / (1 + fabs({self})))"))
softsign = make_function(softsign_op)

v = torch.tensor([-2.0, 0.0, 3.0], requires_grad=True)
out = softsign(v)
print(out)
out.sum().backward()
print("by hand:", v.grad)
print("expected:", torch.tensor([1 / 9, 1.0, 1 / 16]))
print("gradcheck(softsign_by_hand):",
      torch.autograd.gradcheck(softsign, (torch.rand(4, dtype=torch.float64,
                                                      requires_grad=True),)))


# %%
# gradcheck catches a wrong rule
# ------------------------------
# A classic slip is to forget the square.  Register the mistake as a second op and let
# gradcheck judge it (``raise_exception=False`` makes it answer ``False`` instead of raising
# an error that prints both Jacobians).
wrong_op = register(OpInfo(
    "softsign_wrong", ["tutorial::softsign_wrong(Tensor self) -> Tensor"],
    lambda xp, x: x / (1 + xp.abs(x)), tags=(Tag.POINTWISE,),
    backward=lambda ctx, grad: (grad / (1 + ctx.self.abs()),), saves=("self",)))
xw = torch.rand(4, dtype=torch.float64, requires_grad=True)
print("gradcheck caught the wrong rule:",
      not torch.autograd.gradcheck(make_function(wrong_op), (xw,), raise_exception=False))


# %%
# The new op in the JIT
# ---------------------
# Nothing else needs to change for the tracer and the interpreter: the tracer records the op
# under its schema name, the printers show it as TorchScript shows custom ops
# (``ops.tutorial.softsign_by_hand``), and the interpreter finds the record by name.
traced = torch.jit.trace(lambda t: softsign(t) + t, (torch.rand(2, 3),))
print(traced.code)
probe = torch.tensor([[-1.0, 0.5, 2.0]])
print("traced == eager:", traced(probe).tolist() == (softsign(probe) + probe).tolist())


# %%
# A picture of the tape
# ---------------------
# ``minijit.viz.autograd_graph`` draws what ``walk`` printed, the way the ``torchviz`` package
# does: grey boxes for the backward nodes, blue boxes for the leaves (named through
# ``params``), green for the result.  ``minijit.viz.render`` writes an SVG with Graphviz when it
# is installed, and with minijit's own small layered layout when it is not.
model = torch.nn.Linear(3, 2)
picture = torch.viz.autograd_graph(softsign(model(torch.rand(4, 3))).sum(),
                                   params=dict(model.named_parameters()))
print("boxes:", [label.replace("\n", " ") for label in (n.label for n in picture.nodes.values())])
with tempfile.TemporaryDirectory() as folder:
    path = torch.viz.render(picture, os.path.join(folder, "tape.svg"))
    print("wrote", path.name, "| shows our node:", "SoftsignByHandBackward0" in path.read_text())
