"""Watch the scripter work: the graph of a function after each compilation step.

:func:`compile_steps` runs the same pipeline as :func:`~.script.script_function` (parse, check,
emit, SSA, cleanup) on a fresh graph and records its text after every step, so a reader can
see where each piece of the final ``.graph`` comes from::

    for step, text in compile_steps(f):
        print("==", step); print(text)

The first graph is the emitter's: variables are ``prim::Store``/``prim::Load`` by name and
``prim::If``/``prim::Loop`` have no outputs yet; the SSA steps turn them into block outputs
and loop-carried values; the cleanup steps are the small passes TorchScript runs right after
(constant pooling gives the constants their final place).  It does not register or cache
anything: ``minijit.jit.script(f)`` afterwards compiles ``f`` again as usual.
"""
from __future__ import annotations

import re
from typing import Any, List, Tuple

from ..ir.graph import Graph
from .cleanup import run_cleanup_passes
from .emitter import FunctionEmitter
from .errors import compile_call
from .resolver import Resolver
from .source import parse_def
from .ssa import convert_to_ssa

__all__ = ["compile_steps"]


def compile_steps(fn: Any, source_ranges: bool = False) -> List[Tuple[str, str]]:
    """``[(step name, graph text after it), ...]`` for compiling the function ``fn``.

    ``source_ranges=False`` drops the ``# file:line:col`` comments, to keep the texts short.
    """
    from .script import _checked_ranges, parse_schema
    parsed = parse_def(fn, None)
    ranges = _checked_ranges(parsed)
    schema = parse_schema(parsed, ranges, fn, False)
    steps: List[Tuple[str, str]] = []

    def observe(name: str, graph: Graph) -> None:
        text = str(graph)
        if not source_ranges:
            text = re.sub(r" # \S+:\d+:\d+$", "", text, flags=re.M)
        steps.append((name, text))

    with compile_call(fn.__name__, ranges.of(parsed.fdef)):
        emitter = FunctionEmitter(parsed, ranges, Resolver.for_function(fn), schema)
        graph = emitter.emit_def()
        observe("emitted (variables as Loads and Stores)", graph)
        convert_to_ssa(graph, observe)
        run_cleanup_passes(graph, observe)
    return steps
