"""
The script compiler: how Python source becomes typed SSA with control flow
============================================================================

``minijit.jit.script`` (``minijit/jit/frontend/``) is TorchScript's frontend rebuilt in
Python.  It never runs the function: it reads its source, checks that it is in the TorchScript
subset, types every value, and builds a graph in which ``if`` and loops survive as
``prim::If`` and ``prim::Loop`` nodes.  This tutorial follows one function at a time through
the pipeline and prints the graph after each step:

1. **source** (``source.py``, ``tree.py``): ``inspect`` + ``ast.parse``; unsupported syntax is
   rejected with a caret under it; every AST node gets TorchScript's source range;
2. **signature** (``script.py``, ``annotations.py``): types come from annotations, which are
   *parsed*, never evaluated; an unannotated argument is a Tensor;
3. **emission** (``emitter.py``, ``emit_expr.py``, ``sugar.py``): statements and expressions
   become nodes; variables are ``prim::Store``/``prim::Load`` by name, calls are matched
   against the op registry's schemas (``schema_match.py``);
4. **SSA** (``ssa.py``, ``exits.py``): loads and stores become ``prim::If`` outputs and
   ``prim::Loop`` carried values; ``return``/``break``/``continue`` become block outputs;
5. **cleanup** (``cleanup.py``): the few small passes TorchScript runs right away (constant
   pooling, tuple lowering, …).

Run it with ``python tutorials/02_the_script_compiler.py``.  Each ``# %%`` starts a cell.
"""
# %%
# A first function
# ----------------
# Scripting returns a ``ScriptFunction``: a graph (``.graph``), the same graph printed back as
# Python (``.code``) and an interpreter program that runs it.  Both texts are what
# ``torch.jit.script`` prints for this function in PyTorch 2.13 (value numbers aside).
import re
from typing import List, Optional

import minijit as torch
from minijit.jit.frontend.explain import compile_steps


def clip_sum(x, limit: float):
    total = x.sum()
    if bool(total > limit):
        total = total * 0 + limit
    return total


scripted = torch.jit.script(clip_sum)
print(scripted.graph)
print(scripted.code)
print(scripted(torch.ones(3), 2.0), scripted.schema)


def show(fn, wanted):
    """Print the graph after the compilation steps named in ``wanted``."""
    for step, text in compile_steps(fn):
        if step in wanted:
            print(f"--- after {step} ---")
            print(text)


# %%
# Step 1: source, syntax and source ranges
# ----------------------------------------
# The scripter reads the function's source text with ``inspect`` and parses it with ``ast``.
# Before anything is compiled, ``tree.py`` walks the AST once: constructs outside the subset
# are refused with TorchScript's message and a caret under the construct, and every node gets
# the character range TorchScript would give it (these ranges are the ``# file:line:col``
# comments in ``.graph``, and the carets of every later error).
def uses_lambda(x):
    f = lambda y: y * 2  # noqa: E731
    return f(x)


try:
    torch.jit.script(uses_lambda)
except torch.jit.FrontendError as e:
    print(re.sub(r'File ".*/', 'File "', str(e)))


# %%
# Step 2: the signature
# ---------------------
# Annotations are parsed from the source (``List[int]`` is read as text, so it needs no
# import to be meaningful); arguments without one are Tensors; defaults come from the Python
# function.  ``.schema`` prints the result in TorchScript's schema language.
def scale_all(xs: List[int], factor: float = 2.0, name: Optional[str] = None) -> List[float]:
    out: List[float] = []
    for v in xs:
        out.append(v * factor)
    return out


print(torch.jit.script(scale_all).schema)


# %%
# Step 3: emission, with variables as Loads and Stores
# ----------------------------------------------------
# The emitter walks the statements.  It does not yet know which definition of a variable
# reaches a use, so each assignment is a ``prim::Store[name=...]`` and each use a
# ``prim::Load[name=...]``; the ``if`` is a ``prim::If`` with two blocks and no outputs.  It
# does know every *type*: the environment (``environment.py``) remembers the type of each name,
# so ``total > limit`` is matched to ``aten::gt`` with a Tensor and a float, and ``return``
# is a ``prim::ReturnStmt`` placeholder.
show(clip_sum, ["emitted (variables as Loads and Stores)"])


# %%
# Step 4: SSA for ``if``
# ----------------------
# A variable stored in a branch and alive after it becomes an output of the ``prim::If``: each
# block returns its own last value, and the ``If``'s output is stored under the name after it.
# Then every Load is replaced by the value stored last (a walk over the blocks with a scope
# stack), and the Stores disappear.  The ``total.1``/``total.3`` names come from the debug
# names given to each new value of ``total``; ``.code`` later shows them as ``total0``.
show(clip_sum, ["control-flow loads/stores", "erase loads/stores"])


# %%
# Step 4, continued: loops
# ------------------------
# ``for i in range(n)`` becomes ``prim::Loop(%n, %true, <carried values>)``: the body block
# takes the iteration number and the current values of the variables it changes, and returns
# the condition to continue and their next values.  A ``while`` loop uses the same node with
# the largest int64 as trip count and the condition tested before the loop and at the end of
# the body; ``break`` makes the condition false (``prim::LoopContinuation``, then block
# outputs).
def count_down(x, n: int):
    acc = x
    while n > 0:
        acc = acc * 2
        n -= 1
        if n == 3:
            break
    return acc


print(torch.jit.script(count_down).graph)
print(torch.jit.script(count_down).code)


# %%
# Types join at the end of branches
# ---------------------------------
# A variable assigned in both branches must get one type; TorchScript refuses to guess.
# A variable assigned in only one branch is fine as long as nobody reads it afterwards.
def mismatch(x, flag: bool):
    if flag:
        y = 1
    else:
        y = "one"
    return y


try:
    torch.jit.script(mismatch)
except RuntimeError as e:
    print(re.sub(r'File ".*/', 'File "', str(e)))


# %%
# ``Optional`` refinement
# -----------------------
# ``if t is not None`` refines ``Optional[Tensor]`` to ``Tensor`` inside the branch: the
# compiler inserts ``prim::unchecked_cast``, which costs nothing at run time but lets
# ``x + t0`` type-check.  (Refinement applies to local names only, not to ``self.attr``.)
def add_bias(x, bias: Optional[torch.Tensor] = None):
    if bias is not None:
        x = x + bias
    return x


print(torch.jit.script(add_bias).code)


# %%
# Overloads come from the op registry
# -----------------------------------
# ``a + b`` is ``aten::add``; which overload depends on the operand types.  The scripter reads
# the schemas from the same registry the eager ops, the tracer and the interpreter use
# (``minijit/ops/registry.py``; the number overloads live in ``minijit/ops/scalar.py``), tries
# them in order and keeps the first that matches.  Each node remembers its schema.
from minijit.ops.registry import schemas_for_kind  # noqa: E402


def mixed(x, i: int, f: float, s: str):
    return x + i, i + i, i + f, s + "!"


graph = torch.jit.script(mixed).graph
for node in graph.nodes:
    if node.kind == "aten::add":
        print(node.schema.text)
print(len(schemas_for_kind("aten::add")), "aten::add overloads in the registry")


# %%
# Calls: functions, modules, traced code
# --------------------------------------
# A scripted function calling another scripted function keeps a ``prim::CallFunction`` node
# (``.inlined_graph`` shows the callee pasted in); a module calling a submodule keeps a
# ``prim::CallMethod``, which works the same whether the submodule was scripted or traced.
def helper(x, k: int):
    return x * k


def caller(x):
    return helper(x, 2) + helper(x, 3)


print(torch.jit.script(caller).graph)
print(torch.jit.script(caller).inlined_graph)


# %%
# Running: the interpreter, and its errors
# ----------------------------------------
# The graph is compiled once into a flat instruction list (``runtime/interpreter.py``).  An
# exception raised by compiled code (``raise``, a failed ``assert``, an op error) is reported
# as TorchScript does: the statement, with carets, under the name of the function called.
def checked_div(x: int, y: int) -> float:
    assert y != 0, "division by zero"
    return x / y


fn = torch.jit.script(checked_div)
print(fn(3, 2))
try:
    fn(1, 0)
except torch.jit.Error as e:
    print(re.sub(r'File ".*/', 'File "', str(e)))
