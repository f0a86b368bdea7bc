"""minijit.jit: the TorchScript part: trace and script Python into IR, print it, run it, save it.

The pipeline (DESIGN §1): frontends (``frontend/tracer.py``, ``frontend/script.py``) produce a
:class:`~minijit.jit.ir.graph.Graph`; printers show it as ``.graph`` and ``.code``; the
interpreter (``runtime/interpreter.py``) runs it.
"""
from __future__ import annotations

import difflib
import inspect
import warnings
from typing import Any, Callable, Dict, Tuple

from .frontend.tracer import TracerWarning, TracingCheckError, trace_graph
from .ir.graph import Graph
from .modules import (RecursiveScriptModule, ScriptFunction, ScriptMethod, ScriptModule,
                      TopLevelTracedModule, TracedModule, build_traced_module)
from .naming import qualified_function_name
from .errors import Error
from .frontend.annotations import Final
from .frontend.errors import CompilationError, FrontendError, NotSupportedError, UnsupportedNodeError
from .frontend.modifiers import annotate, export, ignore, unused
from .frontend.script import script

__all__ = ["trace", "trace_module", "TracerWarning", "TracingCheckError", "ScriptModule",
           "ScriptFunction", "RecursiveScriptModule", "TracedModule", "TopLevelTracedModule",
           "Error", "parse_ir", "script", "ignore", "unused", "export", "annotate", "Final",
           "FrontendError", "NotSupportedError", "UnsupportedNodeError", "CompilationError"]


def parse_ir(text: str) -> Graph:
    from .ir.parser import parse_ir as _parse
    return _parse(text)


def _as_tuple(example_inputs: Any) -> Tuple[Any, ...]:
    from .._tensor import Tensor
    if isinstance(example_inputs, Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, tuple):
        return example_inputs
    if isinstance(example_inputs, list):
        return tuple(example_inputs)
    raise RuntimeError(f"Type '{type(example_inputs).__name__}' cannot be traced. Only Tensors "
                       "and (possibly nested) Lists, Dicts, and Tuples of Tensors can be traced")


def _arg_names(fn: Callable, count: int) -> list:
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return [None] * count
    names = [p.name for p in params[:count]]
    return names + [None] * (count - len(names))


def _normalized(graph: Graph) -> str:
    return graph.str(False)


def _check(traced: Any, fn: Callable, inputs: Tuple[Any, ...], first_graph: Graph,
           module: Any, tracer: Any) -> None:
    """``check_trace``: trace again and compare graphs, then compare outputs."""
    graph2, _, _ = trace_graph(fn, inputs, module, _arg_names(fn, len(inputs)))
    a, b = _normalized(first_graph), _normalized(graph2)
    if a != b:
        diff = "\n".join(difflib.ndiff(a.splitlines(), b.splitlines()))
        raise TracingCheckError("\tGraph diff:\n" + "\n".join("\t\t" + line
                                                              for line in diff.splitlines()))
    from ..autograd.grad_mode import no_grad
    with no_grad():
        expected = fn(*inputs)
        got = traced(*inputs)
    if tracer.nondeterministic:
        nodes = "\n".join("\t" + str(n).rstrip("\n") for n in tracer.nondeterministic)
        warnings.warn("Trace had nondeterministic nodes. Did you forget call .eval() on your "
                      f"model? Nodes:\n{nodes}\nThis may cause errors in trace checking. To "
                      "disable trace checking, pass check_trace=False to torch.jit.trace()",
                      TracerWarning, stacklevel=3)
    _compare_outputs(expected, got)


def _flatten(x: Any) -> list:
    if isinstance(x, (tuple, list)):
        return [y for item in x for y in _flatten(item)]
    return [x]


def _compare_outputs(expected: Any, got: Any) -> None:
    import numpy as np
    for i, (e, g) in enumerate(zip(_flatten(expected), _flatten(got))):
        ea, ga = np.asarray(e), np.asarray(g)
        if ea.shape != ga.shape or not np.allclose(ea, ga, rtol=1e-5, atol=1e-5, equal_nan=True):
            diff = np.abs(ea.astype(np.float64) - ga.astype(np.float64)) if ea.shape == ga.shape else None
            detail = "Tensor-likes are not close!" if diff is not None else "shapes differ"
            warnings.warn(f"Output nr {i + 1}. of the traced function does not match the "
                          f"corresponding output of the Python function. Detailed error:\n"
                          f"{detail}", TracerWarning, stacklevel=4)


def trace(func: Any, example_inputs: Any = None, optimize: Any = None, check_trace: bool = True,
          check_inputs: Any = None, check_tolerance: float = 1e-5, strict: bool = True,
          _force_outplace: bool = False, _module_class: Any = None,
          _compilation_unit: Any = None, example_kwarg_inputs: Any = None,
          _store_inputs: bool = True) -> Any:
    """Run ``func`` once on ``example_inputs`` and record the ops it ran as a graph.

    Args:
        func: a function or an ``nn.Module`` (its ``forward`` is traced).
        example_inputs: a tensor or a tuple of tensors (nested tuples/lists allowed).
        check_trace: trace twice and compare, and compare outputs with eager, warning on
            mismatch, as PyTorch does.
    Returns:
        A ``ScriptFunction`` for functions, a ``TopLevelTracedModule`` for modules.
    """
    from ..nn.module import Module
    if isinstance(func, ScriptModule) or isinstance(func, ScriptFunction):
        warnings.warn("The input to trace is already a ScriptModule, tracing it is a no-op. "
                      "Returning the object as is.")
        return func
    if isinstance(func, Module):
        return trace_module(func, {"forward": example_inputs}, check_trace=check_trace,
                            strict=strict)
    if not callable(func):
        raise TypeError(f"minijit.jit.trace expects a function or an nn.Module, got "
                        f"{type(func).__name__}")
    inputs = _as_tuple(example_inputs)
    graph, tracer, _ = trace_graph(func, inputs, None, _arg_names(func, len(inputs)))
    qualified = qualified_function_name(func)
    fn = ScriptFunction(qualified.rsplit(".", 1)[1], qualified, graph)
    fn.traced = True
    if check_trace:
        _check(fn, func, inputs, graph, None, tracer)
    return fn


def trace_module(mod: Any, inputs: Dict[str, Any], optimize: Any = None, check_trace: bool = True,
                 check_inputs: Any = None, check_tolerance: float = 1e-5, strict: bool = True,
                 _force_outplace: bool = False, _module_class: Any = None,
                 _compilation_unit: Any = None, example_inputs_is_kwarg: bool = False,
                 _store_inputs: bool = True) -> TopLevelTracedModule:
    """Trace the methods named in ``inputs`` (``{"forward": (x, h)}``) of module ``mod``."""
    from ..nn.module import Module
    if not isinstance(mod, Module):
        raise AttributeError("expected torch.nn.Module as the first argument")
    if not isinstance(inputs, dict):
        raise AttributeError("expected a dictionary of (method_name, input) pairs")
    graphs: Dict[int, Any] = {}
    traced_graphs = {}
    checks = []
    for method_name, example in inputs.items():
        args = _as_tuple(example)
        method = getattr(mod, method_name)
        graph, tracer, _ = trace_graph(method, args, mod, _arg_names(method, len(args)))
        graphs.update(tracer.method_graphs)
        traced_graphs[method_name] = graph
        checks.append((method, args, graph, tracer))
    graphs[id(mod)] = (mod, traced_graphs.get("forward"))
    traced = build_traced_module(mod, graphs, top=True)
    for method_name, graph in traced_graphs.items():
        if method_name != "forward":
            method = ScriptMethod(traced._class_type, method_name, graph,
                                  traced._constants_table)
            method.traced = True
            traced._add_method(method)
    if check_trace:
        for method, args, graph, tracer in checks:
            _check(traced, method, args, graph, mod, tracer)
    return traced


# Saving and loading TorchScript archives (DESIGN §8; minijit/jit/serialization/).
from .serialization import SerializationError, load, save  # noqa: E402

__all__ += ["save", "load", "SerializationError"]

# The optimising executor (DESIGN §7; runtime/executor.py, passes/, codegen/numpy_kernel.py).
from .options import OptimizationOptions, set_fusion_enabled  # noqa: E402
from .runtime.executor import (last_executed_optimized_graph,  # noqa: E402
                               last_optimization_report)

__all__ += ["OptimizationOptions", "set_fusion_enabled", "last_optimization_report",
            "last_executed_optimized_graph"]

# ==== debugging switch (minijit/jit/debug.py) — keep this section LAST in the file ===========
# ``set_enabled(False)`` / ``MINIJIT_JIT=0`` make the compile entry points return the Python
# object they were given (PyTorch's ``PYTORCH_JIT=0``).  The loop wraps whichever of them exist
# by now, so entry points defined above (``script`` included) are covered; one defined below
# this section would not be (``tests/jit/test_debug.py`` checks that every one is wrapped).
from .debug import debug, is_enabled, passthrough_when_disabled, set_enabled  # noqa: E402

for _entry in ("trace", "trace_module", "script"):
    if _entry in globals():
        globals()[_entry] = passthrough_when_disabled(globals()[_entry])
del _entry
__all__ += ["debug", "set_enabled", "is_enabled"]
# ==== end of debugging switch ===============================================================
