"""Debugging compiled code the way learners need: switch the JIT off, or watch it run.

Two tools, both exported from :mod:`minijit.jit`:

* **The switch.**  ``minijit.jit.set_enabled(False)``, or ``MINIJIT_JIT=0`` in the
  environment before ``import minijit``, makes ``trace``, ``trace_module`` and ``script``
  hand back the Python object they were given, untouched (PyTorch's ``PYTORCH_JIT=0``).  The
  program then runs as plain Python, so ``pdb``, ``print`` and breakpoints work inside
  ``forward``.  :func:`passthrough_when_disabled` is the decorator that does it; the end of
  ``minijit/jit/__init__.py`` applies it to the public entry points.
* **The stepper.**  :func:`debug` compiles a function or module to a graph, then runs the
  interpreter's instructions (Note [Interpreter] in ``runtime/interpreter.py``) one at a time,
  printing each node as its ``.graph`` line, the shapes of what went in and came out, and a
  value summary (min / max / mean of tensors).  ``prim::If`` says which block it took and
  ``prim::Loop`` numbers its iterations, and their nodes are printed indented.

(``minijit.jit.debug`` is the function; reach this module as ``sys.modules["minijit.jit.debug"]``
or with ``from minijit.jit.debug import summarize``.)

Example:
    >>> import minijit
    >>> g = minijit.jit.parse_ir('''
    ... graph(%x : Float(2, 2)):
    ...   %two : int = prim::Constant[value=2]()
    ...   %y : Float(2, 2) = aten::mul(%x, %two)
    ...   %z : Float(2, 2) = aten::tanh(%y)
    ...   return (%z)''')
    >>> out = debug(g, minijit.ones(2, 2))
    debug: 3 node(s), 1 input(s)
      input %x : Float(2, 2)  min=1 max=1 mean=1
    [0] %two : int = prim::Constant[value=2]()
          out %two : int 2
    [1] %y : Float(2, 2) = aten::mul(%x, %two)
          in  %x : Float(2, 2)  min=1 max=1 mean=1
          in  %two : int 2
          out %y : Float(2, 2)  min=2 max=2 mean=2
    [2] %z : Float(2, 2) = aten::tanh(%y)
          in  %y : Float(2, 2)  min=2 max=2 mean=2
          out %z : Float(2, 2)  min=0.964 max=0.964 mean=0.964
    return %z : Float(2, 2)  min=0.964 max=0.964 mean=0.964
"""
from __future__ import annotations

import functools
import inspect
import os
import sys
from typing import Any, Callable, List, Optional, TextIO, Tuple

__all__ = ["set_enabled", "is_enabled", "passthrough_when_disabled", "debug", "summarize"]

_FALSE_WORDS = ("0", "false", "no", "off")


def _enabled_from_environment() -> bool:
    """``MINIJIT_JIT=0`` (or ``false``/``no``/``off``) turns the JIT off; default on."""
    return os.environ.get("MINIJIT_JIT", "1").strip().lower() not in _FALSE_WORDS


class _JitState:
    """Whether ``trace``/``script`` compile (read at import, like ``PYTORCH_JIT``)."""

    enabled: bool = _enabled_from_environment()


_STATE = _JitState()


def set_enabled(enabled: bool) -> None:
    """Turn compilation on or off for later ``trace``/``trace_module``/``script`` calls.

    Objects compiled before the call stay compiled.

    Example:
        >>> import minijit
        >>> def f(x):
        ...     return x + 1
        >>> minijit.jit.set_enabled(False)
        >>> minijit.jit.trace(f, (minijit.ones(1),)) is f
        True
        >>> minijit.jit.set_enabled(True)
    """
    _STATE.enabled = bool(enabled)


def is_enabled() -> bool:
    """Whether ``trace``/``script`` currently compile (see :func:`set_enabled`)."""
    return _STATE.enabled


def passthrough_when_disabled(entry: Callable) -> Callable:
    """Wrap a compile entry point so it returns its first argument while the JIT is off.

    Applying it twice is harmless (an already wrapped function is returned as is), so the
    end of ``minijit/jit/__init__.py`` can wrap whatever entry points exist when it runs.
    """
    if getattr(entry, "__minijit_passthrough__", False):
        return entry

    first = next(iter(inspect.signature(entry).parameters), None)   # ``func``, ``mod``, ``obj``

    @functools.wraps(entry)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _STATE.enabled:
            return args[0] if args else kwargs.get(first)
        return entry(*args, **kwargs)

    wrapper.__minijit_passthrough__ = True  # type: ignore[attr-defined]
    return wrapper


# ---- value summaries ----------------------------------------------------------------------------
def _number(v: float) -> str:
    """Four significant digits, ``-0`` shown as ``0`` (deterministic across platforms)."""
    text = f"{v:.4g}"
    return "0" if text == "-0" else text


def _tensor_type(t: Any) -> str:
    return f"{t.dtype.scalar_name}(" + ", ".join(str(int(s)) for s in t.shape) + ")"


def summarize(value: Any) -> str:
    """A one-line description of a runtime value: type and shape, and for tensors their
    min, max and mean.

    Example:
        >>> import minijit
        >>> summarize(minijit.tensor([[1.0, 2.0], [3.0, 6.0]]))
        'Float(2, 2)  min=1 max=6 mean=3'
        >>> summarize((minijit.ones(3), 2))
        '(Float(3), int 2)'
    """
    import numpy as np

    from .._tensor import Tensor
    if isinstance(value, Tensor):
        head = _tensor_type(value)
        if value.numel() == 0:
            return head + "  (empty)"
        data = np.asarray(value.detach().cpu()._data).astype(np.float64)   # GPU: copy to host
        return (f"{head}  min={_number(data.min())} max={_number(data.max())} "
                f"mean={_number(data.mean())}")
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    if isinstance(value, list):
        more = ", ..." if len(value) > 8 else ""
        return "[" + ", ".join(_short(v) for v in value[:8]) + more + "]"
    return _short(value)


def _short(value: Any) -> str:
    """Like :func:`summarize` but without statistics (for items inside tuples and lists)."""
    from .._tensor import Tensor
    from ..nn.module import Module
    if isinstance(value, Tensor):
        return _tensor_type(value)
    if value is None:
        return "None"
    if isinstance(value, (bool, int, float)):
        return f"{type(value).__name__} {_number(value) if isinstance(value, float) else value}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return summarize(value)
    if isinstance(value, Module):
        name = getattr(value, "original_name", None) or type(value).__name__
        return f"module {name}"
    return type(value).__name__


# ---- the stepper ---------------------------------------------------------------------------------
def _resolve(target: Any, inputs: Tuple[Any, ...], inline: bool) -> Tuple[Any, Tuple[Any, ...]]:
    """(graph, arguments) for a compiled or plain function/module; plain ones are traced."""
    from ..nn.module import Module
    from .ir.graph import Graph
    from .modules import ScriptFunction, ScriptModule
    if isinstance(target, Graph):
        return target, inputs
    if isinstance(target, ScriptModule):
        return (target.inlined_graph if inline else target.graph), (target, *inputs)
    if isinstance(target, ScriptFunction):
        return (target.inlined_graph if inline else target.graph), inputs
    if isinstance(target, Module) or callable(target):
        from . import trace
        compile_ = getattr(trace, "__wrapped__", trace)      # compile even with the JIT off
        return _resolve(compile_(target, inputs, check_trace=False), inputs, inline)
    raise TypeError(f"minijit.jit.debug expects a function, a module or a Graph, not "
                    f"{type(target).__name__}")


def _first_line(node: Any, show_source: bool) -> str:
    line = str(node).split("\n", 1)[0]
    if not show_source and node.source_range is not None:
        line = line.rsplit(" # ", 1)[0]
    return line


class _Stepper:
    """Walks a block's nodes and its compiled Program side by side, printing as it goes.

    The compiled program has one instruction per node *except* constants, which it loads into
    their registers before running (Note [Interpreter]).  Walking the block's node list and
    the instruction list together lets the printout follow the ``.graph`` text exactly:
    a constant shows its value, every other node runs its instruction.
    """

    def __init__(self, out: TextIO, show_source: bool):
        self.out = out
        self.show_source = show_source
        self.count = 0

    def say(self, depth: int, text: str) -> None:
        self.out.write("  " * depth + text + "\n")

    def header(self, node: Any, depth: int) -> None:
        self.say(depth, f"[{self.count}] {_first_line(node, self.show_source)}")
        self.count += 1

    def run_block(self, block: Any, program: Any, registers: List[Any], depth: int) -> None:
        instructions = iter(program.instructions)
        for node in block.nodes:
            self.header(node, depth)
            if node.kind == "prim::Constant":
                value = node.attrs.get("value")
                self.say(depth + 3, f"out %{node.output().debug_name} : {summarize(value)}")
                continue
            inst = next(instructions)
            assert inst.node is node, "the program's instructions follow the block's nodes"
            self.step(inst, registers, depth)

    def step(self, inst: Any, registers: List[Any], depth: int) -> None:
        from .runtime import interpreter as interp
        node = inst.node
        for v, slot in zip(node.inputs, inst.inputs):
            self.say(depth + 3, f"in  %{v.debug_name} : {summarize(registers[slot])}")
        try:
            if node.kind == "prim::If":
                self.run_if(inst, registers, depth)
            elif node.kind == "prim::Loop":
                self.run_loop(inst, registers, depth)
            else:
                outs = inst.run([registers[i] for i in inst.inputs])
                for slot, value in zip(inst.outputs, outs):
                    registers[slot] = value
        except interp.InterpreterError:
            raise
        except Exception as exc:  # noqa: BLE001 - re-raised naming the node, as the interpreter does
            if type(exc).__name__ == "_ScriptException":     # ``raise`` in scripted code
                raise
            self.say(depth + 3, f"!! failed: {type(exc).__name__}: {exc}")
            raise interp._error(inst, exc) from exc
        for v, slot in zip(node.outputs, inst.outputs):
            self.say(depth + 3, f"out %{v.debug_name} : {summarize(registers[slot])}")

    def run_if(self, inst: Any, registers: List[Any], depth: int) -> None:
        from .runtime.interpreter import _truth
        taken = 0 if _truth(registers[inst.inputs[0]]) else 1
        self.say(depth + 3, f"takes block{taken}")
        branch = inst.programs[taken]
        self.run_block(inst.node.blocks[taken], branch, registers, depth + 4)
        for slot, ret in zip(inst.outputs, branch.returns):
            registers[slot] = registers[ret]

    def run_loop(self, inst: Any, registers: List[Any], depth: int) -> None:
        from .runtime.interpreter import _truth
        body = inst.programs[0]
        max_trip = registers[inst.inputs[0]]
        cond = _truth(registers[inst.inputs[1]])
        carried = [registers[i] for i in inst.inputs[2:]]
        i = 0
        while cond and i < max_trip:
            self.say(depth + 3, f"iteration {i}")
            registers[body.params[0]] = i
            for slot, v in zip(body.params[1:], carried):
                registers[slot] = v
            self.run_block(inst.node.blocks[0], body, registers, depth + 4)
            cond = _truth(registers[body.returns[0]])
            carried = [registers[s] for s in body.returns[1:]]
            i += 1
        for slot, v in zip(inst.outputs, carried):
            registers[slot] = v


def debug(fn_or_module: Any, *inputs: Any, inline: bool = True, show_source: bool = True,
          file: Optional[TextIO] = None) -> Any:
    """Run ``fn_or_module`` on ``inputs`` one IR node at a time, printing what happens.

    Args:
        fn_or_module: a traced/scripted function or module, a plain Python function or
            ``nn.Module`` (traced first on ``inputs``), or an IR Graph.
        inputs: the arguments (not ``self``: modules supply it).
        inline: step through submodules' code too (the inlined graph) instead of showing
            each ``prim::CallMethod`` as one step.
        show_source: keep the ``# file:line:col`` comments on node lines.
        file: where to print (default: ``sys.stdout``).
    Returns:
        What the compiled code returns (a tuple for several outputs).
    """
    from .runtime.interpreter import compile_graph
    out = file if file is not None else sys.stdout
    graph, args = _resolve(fn_or_module, tuple(inputs), inline)
    program = compile_graph(graph)
    if len(args) != len(program.params):
        raise TypeError(f"debug: the graph takes {len(program.params)} argument(s) but "
                        f"{len(args)} were given")
    registers: List[Any] = [None] * program.num_slots
    for slot, value in program.constants:
        registers[slot] = value
    for slot, value in zip(program.params, args):
        registers[slot] = value
    stepper = _Stepper(out, show_source)
    count = sum(1 for _ in graph.all_nodes())
    stepper.say(0, f"debug: {count} node(s), {len(args)} input(s)")
    for v, value in zip(graph.inputs, args):
        stepper.say(1, f"input %{v.debug_name} : {summarize(value)}")
    stepper.run_block(graph.block, program, registers, 0)
    results = [registers[s] for s in program.returns]
    for v, value in zip(graph.outputs, results):
        stepper.say(0, f"return %{v.debug_name} : {summarize(value)}")
    return results[0] if len(results) == 1 else tuple(results)
