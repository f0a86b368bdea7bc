"""The optimising executor: one specialised, optimised plan per input signature.

Note [Executor]
    TorchScript's profiling executor watches the first call of a function, then compiles a
    version specialised to what it saw.  minijit's :class:`GraphExecutor` does the same: on a
    call it computes the *signature* of the arguments,

    * per tensor: dtype, shape, strides, ``requires_grad`` and device;
    * per module argument (``self``): its identity and the dtype, shape and ``requires_grad``
      of each parameter and buffer (the plan reads them through ``prim::GetAttr``);
    * per Python value: its type;
    * and the state the plan depends on: grad mode, the default dtype, the options,

    and looks the signature up in its plan cache.  The first call of a new signature runs the
    graph as written (the *profiling run*, ``options.profiling_runs``); the next builds a
    plan: a copy of the graph run through the passes (inline, shape analysis from the
    signature, constant propagation and pooling, peephole, loop unrolling, CSE, DCE, and,
    when gradients are needed, differentiable subgraphs; then fusion and differentiable
    wrappers for the fusion groups left), each followed by ``lint()``, then compiled into one
    Python function (Note [Plan steps]).  A call whose signature differs in any of these ways
    gets its own plan, so a plan specialised to one shape or dtype never sees another
    ("re-specialisation").  If optimising fails, the plan runs the graph unoptimised and the
    report says why.

    Plans needing no gradient run on raw NumPy arrays end to end; plans needing gradients run
    on Tensors and record one tape node per differentiable fused group or per op.

    Thread safety: the plan cache is read without a lock and written under one, and a plan is
    built at most once per signature (a second thread asking for the same signature waits for
    the first).  Running a plan touches only per-call registers; kernels and their caches are
    safe to share.  (minijit's grad mode is process-wide, as the rest of minijit is.)

Example:
    >>> import minijit
    >>> from minijit.jit.runtime.executor import GraphExecutor
    >>> x, y = minijit.rand(4), minijit.rand(4)
    >>> fn = minijit.jit.trace(lambda x, y: minijit.tanh(x * y + 1.0) * 2, (x, y))
    >>> ex = GraphExecutor(fn.graph)
    >>> out = ex.run((x, y))      # the profiling run
    >>> out = ex.run((x, y))      # builds the plan and runs it
    >>> "prim::FusionGroup_0" in str(ex.graph_for((minijit.rand(4), minijit.rand(4))))
    True
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ... import dtypes as _dt
from ..._tensor import Tensor
from ...autograd.grad_mode import GRAD_MODE
from ..ir.graph import Graph, Node
from ..options import DEFAULT_OPTIONS, OptimizationOptions, set_fusion_enabled
from ..passes.pass_manager import OptimizationReport, PassLog, run_pass
from . import interpreter as _interp
from .differentiable_graph import DifferentiableGraphRunner
from .kernel_cache import FusedKernel
from .plan import (StepProgram, compile_steps, failing_node, from_raw, raw_capable,
                   reraise_as_interpreter, run_steps, to_raw)

__all__ = ["GraphExecutor", "Plan", "set_fusion_enabled", "last_optimization_report",
           "last_executed_optimized_graph", "signature_of"]

_LAST: List[Any] = [None]


def last_optimization_report() -> Optional[OptimizationReport]:
    """The report of the plan that ran last (in any executor, any thread)."""
    plan = _LAST[0]
    return plan.report if plan is not None else None


def last_executed_optimized_graph() -> Optional[Graph]:
    """The optimised graph that ran last (``torch.jit.last_executed_optimized_graph``)."""
    plan = _LAST[0]
    return plan.graph if plan is not None else None


# ---- signatures ----------------------------------------------------------------------------------
def _module_key(m: Any) -> Tuple[Any, ...]:
    """dtype, shape and requires_grad of every parameter and buffer, walking the module tree
    directly (this runs on every call of a method)."""
    parts = []
    stack = [m]
    while stack:
        mod = stack.pop()
        for p in mod._parameters.values():
            if p is not None:
                d = p._data
                parts.append((d.dtype, d.shape, p.requires_grad))
        for b in mod._buffers.values():
            if b is not None:
                d = b._data
                parts.append((d.dtype, d.shape))
        for c in mod._modules.values():
            if c is not None:
                stack.append(c)
    return tuple(parts)


def _arg_key(a: Any) -> Any:
    if isinstance(a, Tensor):
        d = a._data
        return (d.dtype, d.shape, d.strides, a.requires_grad, type(d))
    t = type(a)
    if t in (list, tuple):
        return (t, tuple([_arg_key(x) for x in a]))
    if hasattr(a, "parameters") and hasattr(a, "buffers") and hasattr(a, "_modules"):
        return ("module", id(a), _module_key(a))
    return t


def signature_of(args: Sequence[Any], options: OptimizationOptions) -> Tuple[Any, ...]:
    """The plan cache key of a call (Note [Executor])."""
    return (GRAD_MODE.enabled, _dt.get_default_dtype().name, options.key(),
            tuple([_arg_key(a) for a in args]))


def _needs_grad(args: Sequence[Any]) -> bool:
    if not GRAD_MODE.enabled:
        return False
    for a in args:
        if isinstance(a, Tensor):
            if a.requires_grad:
                return True
        elif type(a) in (list, tuple):
            if _needs_grad(a):
                return True
        elif hasattr(a, "parameters") and hasattr(a, "_modules"):
            if any(len(k) == 3 and k[2] for k in _module_key(a)):
                return True
    return False


# ---- plans ---------------------------------------------------------------------------------------
class Plan:
    """One optimised, compiled graph for one signature."""

    __slots__ = ("graph", "report", "mode", "program", "interp_program", "kernels",
                 "needs_grad", "signature")

    def __init__(self) -> None:
        self.graph: Graph = Graph()
        self.report: OptimizationReport = OptimizationReport("")
        self.mode = ""
        self.program: Optional[StepProgram] = None
        self.interp_program: Any = None
        self.kernels: List[FusedKernel] = []
        self.needs_grad = False
        self.signature: Any = None

    def run(self, args: Sequence[Any], name: Optional[str] = None) -> Any:
        mode = self.mode
        if mode == "interpreter":
            return _interp.run_program(self.interp_program, args, name)
        try:
            if mode == "raw":
                inputs: Dict[int, Any] = {}
                raw = []
                for a in args:
                    if isinstance(a, Tensor):
                        inputs[id(a._data)] = a
                        raw.append(a._data)
                    else:
                        raw.append(to_raw(a))
                return from_raw(run_steps(self.program, raw), inputs)  # type: ignore[arg-type]
            return run_steps(self.program, args)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - worded by the interpreter, naming the node
            reraise_as_interpreter(exc, failing_node(exc), name)
            raise


def _fusion_special(options: OptimizationOptions, plan: Plan, mode: str) -> Dict[str, Callable]:
    """Handler factories for ``prim::FusionGroup`` / ``prim::DifferentiableGraph`` steps."""
    def fusion(node: Node) -> Tuple[Callable, bool]:
        kernel = FusedKernel(node.attrs["Subgraph"], options, f"fusion_group_{len(plan.kernels)}")
        plan.kernels.append(kernel)
        many = len(node.outputs) != 1
        if mode == "raw":
            if many:
                return kernel, True
            return (lambda *a: kernel(*a)[0]), False
        fallback: List[Any] = []

        def on_tensors(*values: Any) -> Tuple[Any, ...]:
            if GRAD_MODE.enabled:
                for v in values:
                    if v.requires_grad:
                        # Shape analysis did not expect a gradient here: run the ops eagerly.
                        if not fallback:
                            fallback.append(_interp.compile_graph(node.attrs["Subgraph"]))
                        out = _interp.run_program(fallback[0], list(values))
                        return out if many else (out,)
            outs = kernel(*[v._data for v in values])
            return tuple([Tensor._from_array(o) for o in outs])
        return on_tensors, True

    raw_special = {"prim::FusionGroup": lambda node: _raw_fusion(node, options, plan)}

    def differentiable(node: Node) -> Tuple[Callable, bool]:
        return DifferentiableGraphRunner(node, raw_special), True

    return {"prim::FusionGroup": fusion, "prim::DifferentiableGraph": differentiable}


def _raw_fusion(node: Node, options: OptimizationOptions, plan: Plan) -> Tuple[Callable, bool]:
    kernel = FusedKernel(node.attrs["Subgraph"], options, f"fusion_group_{len(plan.kernels)}")
    plan.kernels.append(kernel)
    if len(node.outputs) != 1:
        return kernel, True
    return (lambda *a: kernel(*a)[0]), False


class GraphExecutor:
    """Runs a graph with one optimised plan per input signature (Note [Executor]).

    Args:
        graph: the function's graph (methods: ``self`` is the first input, so the module is
            the first argument of :meth:`run`).  It is never modified.
        options: an :class:`~minijit.jit.options.OptimizationOptions`; by default the shared
            :data:`~minijit.jit.options.DEFAULT_OPTIONS` (read at each call, so
            ``set_fusion_enabled`` takes effect on the next call).
        name: used in reports.
    """

    def __init__(self, graph: Graph, options: Optional[OptimizationOptions] = None,
                 name: str = "forward", differentiable_graphs: bool = True):
        self.graph = graph
        self._options = options
        # PyTorch never builds DifferentiableGraphs for traced code (its outputs keep eager
        # grad_fns such as TanhBackward0, as the tutorial shows); scripted code gets them.
        self.differentiable_graphs = differentiable_graphs
        self._derived: Any = (None, None)
        self.name = name
        self._plans: Dict[Any, Plan] = {}
        self._lock = threading.Lock()
        self._building: Dict[Any, threading.Event] = {}
        self._profiled: Dict[Any, int] = {}
        self._unoptimised: Any = None
        self.plans_built = 0

    @property
    def options(self) -> OptimizationOptions:
        base = self._options if self._options is not None else DEFAULT_OPTIONS
        if self.differentiable_graphs or not base.autodiff:
            return base
        source, derived = self._derived
        if source is not base:
            derived = base.replace(autodiff=False)
            self._derived = (base, derived)
        return derived

    # -- calling --------------------------------------------------------------------------------
    def run(self, args: Sequence[Any]) -> Any:
        """Run on ``args`` (a sequence), building or reusing the plan for their signature.

        The first ``options.profiling_runs`` calls of a signature run the graph as written
        (TorchScript's profiling runs); the plan is built at the next one.
        """
        options = self.options
        key = signature_of(args, options)
        plan = self._plans.get(key)
        if plan is None:
            seen = self._profiled.get(key, 0)
            if seen < options.profiling_runs:
                self._profiled[key] = seen + 1
                return self._profiling_run(args)
            plan = self._plan(key, args, options)
        _LAST[0] = plan
        return plan.run(args, self.name)

    def _profiling_run(self, args: Sequence[Any]) -> Any:
        program = self._unoptimised
        if program is None:
            program = self._unoptimised = _interp.compile_graph(self.graph)
        return _interp.run_program(program, args, self.name)

    def __call__(self, *args: Any) -> Any:
        return self.run(args)

    def plan_for(self, args: Sequence[Any]) -> Plan:
        options = self.options
        key = signature_of(args, options)
        plan = self._plans.get(key)
        return plan if plan is not None else self._plan(key, args, options)

    def graph_for(self, args: Sequence[Any]) -> Graph:
        """The optimised graph that a call with ``args`` runs (PyTorch's ``graph_for``)."""
        return self.plan_for(args).graph

    def report_for(self, args: Sequence[Any]) -> OptimizationReport:
        return self.plan_for(args).report

    def kernels(self) -> List[FusedKernel]:
        """Every fusion kernel of every plan (``kernel.source`` shows the generated code)."""
        return [k for p in list(self._plans.values()) for k in p.kernels]

    def plans(self) -> List[Plan]:
        return list(self._plans.values())

    # -- building -------------------------------------------------------------------------------
    def _plan(self, key: Any, args: Sequence[Any], options: OptimizationOptions) -> Plan:
        while True:
            with self._lock:
                plan = self._plans.get(key)
                if plan is not None:
                    return plan
                event = self._building.get(key)
                if event is None:
                    event = self._building[key] = threading.Event()
                    break
            event.wait()
        try:
            plan = build_plan(self.graph, args, options, self.name, key)
            with self._lock:
                while len(self._plans) >= options.max_plans:
                    # Many shapes (a new batch size each call): forget the oldest plan.
                    del self._plans[next(iter(self._plans))]
                self._plans[key] = plan
                self.plans_built += 1
            return plan
        finally:
            with self._lock:
                self._building.pop(key, None)
            event.set()


def build_plan(graph: Graph, args: Sequence[Any], options: OptimizationOptions,
               name: str = "forward", key: Any = None) -> Plan:
    """Optimise a copy of ``graph`` for ``args`` and compile it (Note [Executor]); for
    arguments on a GPU, the backend turns the plan into one that runs there (its raw-array
    steps are NumPy's): ``backends.plan_for_device`` returns CPU plans unchanged."""
    from ...backends import plan_for_device
    return plan_for_device(_build_host_plan(graph, args, options, name, key), args, options)


def _build_host_plan(graph: Graph, args: Sequence[Any], options: OptimizationOptions,
                     name: str = "forward", key: Any = None) -> Plan:
    """Optimise a copy of ``graph`` for ``args`` and compile it for NumPy.

    If optimising fails (a graph a pass cannot handle, a lint error), the plan runs the graph
    as written with the interpreter, and the report says why: an optimiser problem must not
    break a program.  ``options.fallback_on_error=False`` raises instead (tests use it).
    """
    try:
        return _build_plan(graph, args, options, name, key)
    except Exception as exc:  # noqa: BLE001
        if not options.fallback_on_error:
            raise
        plan = Plan()
        plan.signature = key
        plan.mode = "interpreter"
        plan.graph = graph.copy()
        plan.interp_program = _interp.compile_graph(plan.graph)
        plan.report = OptimizationReport(name, _describe(args))
        plan.report.mode = f"interpreter (optimisation failed: {type(exc).__name__}: {exc})"
        plan.report.graph = plan.graph.str(False)
        return plan


def _build_plan(graph: Graph, args: Sequence[Any], options: OptimizationOptions,
                name: str = "forward", key: Any = None) -> Plan:
    from ..passes.differentiable_graphs import (create_autodiff_subgraphs,
                                                create_differentiable_graphs)
    from ..passes.constant_propagation import pool_constants, propagate_constants
    from ..passes.cse import eliminate_common_subexpressions
    from ..passes.dce import eliminate_dead_code
    from ..passes.fuse import fuse_pointwise
    from ..passes.if_conversion import convert_ifs
    from ..passes.inline import inline_calls
    from ..passes.loop_unroll import unroll_loops
    from ..passes.peephole import peephole
    from ..passes.shape_analysis import propagate_shapes

    start = time.perf_counter()
    plan = Plan()
    plan.signature = key
    report = OptimizationReport(name, _describe(args))
    plan.report = report
    g = graph.copy()
    needs_grad = _needs_grad(args)
    plan.needs_grad = needs_grad
    lint = options.lint

    def step(pass_name: str, fn: Callable[[Graph, PassLog], bool]) -> bool:
        return run_pass(report, pass_name, fn, g, lint).changed

    if not options.enabled:
        plan.mode = "interpreter"
        plan.interp_program = _interp.compile_graph(g)
        plan.graph = g
        report.mode = "interpreter (optimisation off)"
        report.graph = g.str(False)
        return plan

    grad = GRAD_MODE.enabled
    if options.inline:
        step("inline", lambda g, log: inline_calls(g))
    if options.shape_analysis:
        step("shape_analysis", lambda g, log: propagate_shapes(g, args, log, grad))
    if options.constant_propagation:
        step("constant_propagation", propagate_constants)
    simplified = False
    if options.peephole:
        simplified = step("peephole", peephole)
        if simplified and options.constant_propagation:
            step("constant_propagation", propagate_constants)
    unrolled = False
    if options.loop_unroll:
        unrolled = step("loop_unroll", lambda g, log: unroll_loops(g, log, options.unroll_limit))
    if options.shape_analysis and (simplified or unrolled):
        # Sizes the peephole pass made constants (``torch.zeros(xs.size(1), ...)``) and
        # unrolled bodies can now be typed.
        step("shape_analysis", lambda g, log: propagate_shapes(g, args, log, grad))
    if unrolled:
        if options.constant_propagation:
            step("constant_propagation", propagate_constants)
        if options.peephole:
            step("peephole", peephole)
    if options.constant_propagation:
        step("constant_pooling", pool_constants)
    if options.cse:
        step("cse", eliminate_common_subexpressions)
    if options.dce:
        step("dce", lambda g, log: eliminate_dead_code(g))
    if options.if_conversion and options.shape_analysis and (needs_grad or _on_gpu(args)):
        # Computing both branches pays when it keeps a differentiable graph whole or saves
        # a GPU's device-to-host read; a CPU plan without gradients computes one side only.
        # (After dead-code elimination: which values a branch differentiates decides it.)
        step("if_conversion", convert_ifs)
    if needs_grad and options.autodiff:
        step("autodiff_subgraphs", lambda g, log: create_autodiff_subgraphs(
            g, log, None, options.min_fusion_size))
    if options.fusion:
        step("fusion", lambda g, log: fuse_pointwise(g, log, options.min_fusion_size,
                                                     report.not_fused))
        if options.dce:
            step("dce", lambda g, log: eliminate_dead_code(g))
        if needs_grad:
            if options.autodiff:
                step("autodiff", lambda g, log: create_differentiable_graphs(
                    g, log, report.not_fused, options.min_fusion_size))
            else:
                from ..passes.fuse import inline_fusion_groups
                step("unfuse_for_grad", lambda g, log: inline_fusion_groups(g, log))
    for record in report.passes:
        if record.name == "fusion":
            report.fusion_groups = list(record.notes)
    plan.graph = g
    why_not_raw = raw_capable(g) if not needs_grad and options.raw_arrays else "gradients"
    if not options.raw_arrays:
        why_not_raw = "raw_arrays is off"
    if why_not_raw is None:
        plan.mode = "raw"
        plan.program = compile_steps(g, "raw", _fusion_special(options, plan, "raw"))
        report.mode = "raw arrays"
    else:
        plan.mode = "tensor"
        plan.program = compile_steps(g, "tensor", _fusion_special(options, plan, "tensor"))
        report.mode = f"tensors ({why_not_raw})"
    report.graph = g.str(False)
    report.build_seconds = time.perf_counter() - start
    return plan


def _on_gpu(args: Sequence[Any]) -> bool:
    from ...backends import on_gpu
    return on_gpu(args)


def _describe(args: Sequence[Any]) -> str:
    parts = []
    for a in args:
        if isinstance(a, Tensor):
            parts.append(f"{a.dtype.scalar_name}{list(a.shape)}"
                         f"{' requires_grad' if a.requires_grad else ''}")
        elif hasattr(a, "_modules"):
            parts.append(type(a).__name__)
        else:
            parts.append(type(a).__name__)
    return "(" + ", ".join(parts) + f"), grad {'on' if GRAD_MODE.enabled else 'off'}"


# ---- interpreter handlers for the new prim kinds -------------------------------------------------
def _interp_fusion(node: Node) -> Callable:
    kernel = FusedKernel(node.attrs["Subgraph"], DEFAULT_OPTIONS)
    program: List[Any] = []

    def run(values: List[Any]) -> Tuple[Any, ...]:
        if GRAD_MODE.enabled and any(isinstance(v, Tensor) and v.requires_grad for v in values):
            if not program:
                program.append(_interp.compile_graph(node.attrs["Subgraph"]))
            out = _interp.run_program(program[0], values)
            return out if len(node.outputs) != 1 else (out,)
        outs = kernel(*[v._data if isinstance(v, Tensor) else np.asarray(v) for v in values])
        return tuple(Tensor._from_array(o) for o in outs)
    return run


def _interp_differentiable(node: Node) -> Callable:
    raw_special = {"prim::FusionGroup": lambda n: _raw_fusion(n, DEFAULT_OPTIONS, Plan())}
    runner = DifferentiableGraphRunner(node, raw_special)
    return lambda values: runner(*values)


def _interp_subgraph(node: Node) -> Callable:
    """A node that only stands for its ``Subgraph`` (a CUDA plan's ``prim::FusedReduction``):
    the interpreter runs the subgraph's ops."""
    program: List[Any] = []

    def run(values: List[Any]) -> Tuple[Any, ...]:
        if not program:
            program.append(_interp.compile_graph(node.attrs["Subgraph"]))
        out = _interp.run_program(program[0], values)
        return out if len(node.outputs) != 1 else (out,)
    return run


_interp.HANDLERS.setdefault("prim::FusionGroup", _interp_fusion)
_interp.HANDLERS.setdefault("prim::FusedReduction", _interp_subgraph)
_interp.HANDLERS.setdefault("prim::DifferentiableGraph", _interp_differentiable)
