"""The ``cuda`` backend: CuPy arrays, fused CUDA kernels, and plans replayed as CUDA graphs.

Ops need nothing from this module: every registry ``impl(xp, ...)`` runs on CuPy when handed
CuPy arrays (``backends/__init__.py``).  What lives here is what the optimiser needs on a GPU:

* the kernels (``backends/cuda_kernels.py``): :class:`CudaFusedKernel` (a fusion group as one
  ``cupy.ElementwiseKernel``), :class:`CudaFusedReduction` (a fusion group and the ``sum``
  or ``mean`` reading it as one ``cupy.ReductionKernel``) and :class:`CudaGemm` (the
  capture-safe matrix product);
* :func:`cuda_plan` turns a plan the executor built for CUDA arguments into one that runs on
  Tensors (device-generic dispatch) with those kernels, optionally replayed as a CUDA graph
  (Note [CUDA graphs]).

Nothing here imports CuPy at import time.

Note [CUDA graphs]
    A small tensor on a GPU is launch-bound: a 3×4 ``tanh`` costs the ~5 µs of a kernel launch
    plus minijit's Python, not the arithmetic.  A CUDA graph records every launch of one run
    of a plan (stream capture) and replays them with one call.  :class:`CudaGraphRunner`
    captures a plan on its first call: it copies the tensor arguments into static buffers,
    runs the plan once to compile kernels and warm a private memory pool, then captures a
    second run on a side stream.  Later calls copy their arguments into the static buffers
    and launch the graph on the current stream.  Like PyTorch's ``torch.cuda.graphs``:

    * the outputs are the same tensors every replay (overwritten by the next one: clone to
      keep them), and module parameters must keep their storage (in-place updates are fine);
    * a plan with control flow (``prim::If``, a loop left rolled) or a host read of a GPU
      value cannot be captured: one replay would take the branch the capture took.  Such
      plans, and any capture that fails, run uncaptured; ``runner.reason`` says why.

    Two things make the seed tutorial's RNN loop capturable.  Its decision gate ``if x.sum()
    > 0: return x else: return -x`` reads a GPU value on the host; on a GPU the executor
    if-converts it (``passes/if_conversion.py``) into ``where(x.sum() > 0, x, -x)``, which
    stays on the device and fuses with the ``tanh`` after it.  And its ``Linear`` runs on
    cuBLAS, which CuPy refuses to call while a stream is captured: so a plan that is going to
    be captured (``cuda_graphs`` on, no gradients, no control flow) runs ``aten::linear``,
    ``mm`` and ``matmul`` of 2-D float32/float64 operands with :class:`CudaGemm`'s own tiled
    kernel (Note [CUDA GEMM]) instead; other operands keep cuBLAS (and their capture fails,
    saying so).  A loop of ten cells then replays as one graph of a few dozen kernels.
"""
from __future__ import annotations

import functools
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .._tensor import Tensor
from ..jit.codegen.cuda_gemm import gemm_form
from ..jit.runtime.executor import GraphExecutor, Plan
from ..ops.dispatch import apply as _dispatch_apply
from . import _load_cupy
from .cuda_kernels import (CudaFusedKernel, CudaFusedReduction, CudaGemm,
                           compile_elementwise, compile_raw, compile_reduction, is_cuda_array,
                           synchronize)

__all__ = ["arguments_on_cuda", "CudaFusedKernel", "CudaFusedReduction", "CudaGemm", "cuda_plan", "CudaPlan",
           "CudaGraphRunner", "CudaGraphExecutor", "cuda_executor", "plan_for_arguments",
           "compile_elementwise", "compile_reduction", "compile_raw", "is_cuda_array",
           "synchronize"]


# ---- plans --------------------------------------------------------------------------------------
def _inline_subgraph_nodes(graph: Any, kinds: Tuple[str, ...]) -> None:
    """Replace every node of ``kinds`` (nested ones too) by its subgraph's nodes."""
    from ..jit.passes.fuse import inline_fusion_groups
    while True:
        found = [n for n in graph.all_nodes() if n.kind in kinds]
        if not found:
            return
        inline_fusion_groups(graph, None, only=found)


@functools.lru_cache(maxsize=None)
def _gemm_kinds() -> Tuple[str, ...]:
    """The node kinds of registry ops with a GEMM form (``aten::linear``, ``mm``,
    ``matmul``: read off the registry, Note [CUDA GEMM])."""
    from ..ops.registry import all_ops
    return tuple(sorted({op.kind for op in all_ops() if gemm_form(op) is not None}))


def _gemm_handler(kernels: List[Any]) -> Callable[[Any], Tuple[Callable, bool]]:
    """The plan-step factory of a matrix-product node in a plan that is going to be
    captured: a :class:`CudaGemm` (appended to ``kernels``), or the op itself when the
    node's overload has no GEMM form."""
    def make(node: Any) -> Tuple[Callable, bool]:
        from ..jit.passes.pass_manager import op_of
        op = op_of(node)
        if op is None:
            from ..jit.runtime.interpreter import handler_for
            run = handler_for(node)
            return (lambda *values: run(list(values))), True
        form = gemm_form(op)
        if form is None or len(node.outputs) != 1:
            return (lambda *values: _dispatch_apply(op, list(values))), False
        kernel = CudaGemm(op, form, f"gemm_{len(kernels)}")
        kernels.append(kernel)
        return kernel, False
    return make


def cuda_plan(plan: Any, options: Any = None, cuda_graphs: Optional[bool] = None,
              fuse_reductions: Optional[bool] = None) -> Any:
    """The executor's ``plan`` for CUDA arguments, made to run on the GPU.

    The executor optimises a graph the same way whatever the device; what differs is how the
    plan runs.  On CUDA it runs on Tensors (each op dispatched to CuPy), with one
    :class:`CudaFusedKernel` per fusion group.  A plan that needs gradients runs its ops
    eagerly, recording the tape (its fusion and differentiable groups are inlined back).  A
    grad-free plan also gets, on its own copy of the graph:

    * a :class:`CudaFusedReduction` for each fusion group whose only reader is a sum or mean
      (Note [CUDA reductions]; ``fuse_reductions=False`` keeps them apart);
    * when it is going to be captured (``cuda_graphs``, no control flow), a
      :class:`CudaGemm` for each matrix product, which CuPy can capture where it cannot
      capture cuBLAS (Note [CUDA graphs]).

    Args:
        plan: a :class:`~minijit.jit.runtime.executor.Plan` built for CUDA arguments.
        options: the executor's options (``options.cuda_graphs`` turns on CUDA graph replay
            when ``cuda_graphs`` is not given).
        cuda_graphs: replay the plan as a CUDA graph (Note [CUDA graphs]); grad-free plans
            only.
        fuse_reductions: fuse pointwise prologues into sums and means (default:
            ``options.cuda_reductions``, on).
    Returns:
        A new :class:`CudaPlan`; ``plan.kernels`` are its CUDA kernels, ``plan.host`` the
        plan it was made from.
    """
    from ..jit.codegen.cuda_reduction import REDUCTION_KIND, fuse_reduction_prologues
    from ..jit.runtime.plan import compile_steps
    if plan.mode == "interpreter":
        return plan                                   # the interpreter is device-generic
    if cuda_graphs is None:
        cuda_graphs = bool(getattr(options, "cuda_graphs", False))
    if fuse_reductions is None:
        fuse_reductions = bool(getattr(options, "cuda_reductions", True))
    new = CudaPlan()
    new.host = plan
    new.settings = (bool(cuda_graphs), bool(fuse_reductions))
    new.signature = plan.signature
    new.report = plan.report
    new.needs_grad = plan.needs_grad
    new.kernels = []
    graph = plan.graph
    special: Dict[str, Callable] = {}
    if plan.needs_grad:
        graph = graph.copy()
        _inline_subgraph_nodes(graph, ("prim::DifferentiableGraph", "prim::FusionGroup"))
        why = "gradients: ops run eagerly, recording the tape"
    else:
        if fuse_reductions:
            copy = graph.copy()
            if fuse_reduction_prologues(copy):
                if getattr(options, "lint", True):
                    copy.lint()
                graph = copy
        if graph is not plan.graph or REDUCTION_KIND in (new.report.graph or ""):
            new.report.graph = graph.str(False)      # the graph this plan runs

        def fusion(node: Any) -> Tuple[Callable, bool]:
            kernel = CudaFusedKernel(node.attrs["Subgraph"], options,
                                     f"fusion_group_{len(new.kernels)}")
            new.kernels.append(kernel)
            wrap = Tensor._from_array

            def run(*values: Any) -> Tuple[Any, ...]:
                return tuple([wrap(o) for o in kernel(*[v._data for v in values])])
            return run, True

        def reduction(node: Any) -> Tuple[Callable, bool]:
            kernel = CudaFusedReduction(node.attrs["Subgraph"], options,
                                        f"fused_reduction_{len(new.kernels)}")
            new.kernels.append(kernel)
            wrap = Tensor._from_array

            def run(*values: Any) -> Any:
                return wrap(kernel(*[v._data for v in values])[0])
            return run, False
        special["prim::FusionGroup"] = fusion
        special[REDUCTION_KIND] = reduction
        counts = [len([n for n in graph.nodes if n.kind == k])
                  for k in ("prim::FusionGroup", REDUCTION_KIND)]
        why = f"{counts[0] + counts[1]} CUDA kernel(s)"
        if counts[1]:
            why += f", {counts[1]} of them fused reductions"
        if cuda_graphs and _control_flow(graph) is None:
            make = _gemm_handler(new.kernels)
            for kind in _gemm_kinds():
                special[kind] = make
    new.graph = graph
    new.mode = "tensor"
    new.program = compile_steps(graph, "tensor", special)
    gemms = len([k for k in new.kernels if isinstance(k, CudaGemm)])
    if gemms:
        why += f"; {gemms} matrix product(s) on the capture-safe GEMM"
    new.report.mode = f"tensors on cuda ({why})"
    if cuda_graphs:
        new.replay = CudaGraphRunner(new)
        if not new.replay.failed:
            new.report.mode += ", CUDA graph replay"
    return new


class CudaPlan(Plan):
    """A :class:`~minijit.jit.runtime.executor.Plan` for CUDA arguments (see
    :func:`cuda_plan`), with an optional :class:`CudaGraphRunner` in ``plan.replay``,
    the plan it was made from in ``plan.host`` and its ``(cuda_graphs, fuse_reductions)``
    in ``plan.settings``."""

    __slots__ = ("replay", "host", "settings")

    def __init__(self) -> None:
        super().__init__()
        self.replay: Optional[CudaGraphRunner] = None
        self.host: Any = None
        self.settings: Tuple[bool, bool] = (False, True)

    def run(self, args: Sequence[Any], name: Optional[str] = None) -> Any:
        if self.replay is not None:
            return self.replay(args, name)
        return Plan.run(self, args, name)

    def run_uncaptured(self, args: Sequence[Any], name: Optional[str] = None) -> Any:
        return Plan.run(self, args, name)


# ---- CUDA graphs -------------------------------------------------------------------------------
def _control_flow(graph: Any) -> Optional[str]:
    for node in graph.all_nodes():
        if node.kind in ("prim::If", "prim::Loop"):
            return f"the plan has a {node.kind} (a replay would repeat one path)"
    return None


def _module_storages(args: Sequence[Any]) -> List[Tuple[Any, Any]]:
    """(tensor, its array) for every parameter and buffer of module arguments."""
    found = []
    for a in args:
        if hasattr(a, "_modules") and hasattr(a, "_parameters"):
            stack = [a]
            while stack:
                m = stack.pop()
                for t in list(m._parameters.values()) + list(m._buffers.values()):
                    if t is not None:
                        found.append((t, t._data))
                stack.extend(c for c in m._modules.values() if c is not None)
    return found


class CudaGraphRunner:
    """Captures a grad-free CUDA plan once and replays it (Note [CUDA graphs]).

    ``runner(args)`` returns the plan's outputs; ``runner.captured`` says whether replays
    are in use, ``runner.reason`` why not, ``runner.replays`` how many calls replayed.
    """

    def __init__(self, plan: Any):
        self.plan = plan
        self.graph: Any = None
        self.captured = False
        self.reason = ("the plan records gradients (capture grad-free calls, under no_grad)"
                       if plan.needs_grad else _control_flow(plan.graph) or "")
        self.failed = bool(self.reason)
        self.replays = 0
        self.capture_seconds = 0.0
        self._static: List[Tuple[int, Any]] = []     # (argument index, static copy)
        self._scalars: List[Tuple[int, Any]] = []
        self._storages: List[Tuple[Any, Any]] = []
        self._outputs: Any = None
        self._pool: Any = None
        self._lock = threading.Lock()

    def __call__(self, args: Sequence[Any], name: Optional[str] = None) -> Any:
        if self.failed:
            return self.plan.run_uncaptured(args, name)
        if not self.captured:
            with self._lock:
                if not self.captured and not self.failed:
                    return self._capture(args, name)
            return self.plan.run_uncaptured(args, name)
        if not self._same_statics(args):
            return self.plan.run_uncaptured(args, name)
        cupy = _load_cupy()
        for i, static in self._static:
            cupy.copyto(static._data, args[i]._data)     # queued on the current stream
        self.graph.launch(cupy.cuda.get_current_stream())
        self.replays += 1
        return self._outputs

    def _same_statics(self, args: Sequence[Any]) -> bool:
        for i, value in self._scalars:
            if args[i] is not value and args[i] != value:
                return False
        for t, data in self._storages:
            if t._data is not data:
                return False
        for i, static in self._static:
            if args[i]._data.strides != static._data.strides:
                return False
        return True

    def _capture(self, args: Sequence[Any], name: Optional[str]) -> Any:
        cupy = _load_cupy()
        start = time.perf_counter()
        result = self.plan.run_uncaptured(args, name)     # compiles every kernel
        static_args: List[Any] = []
        self._static, self._scalars = [], []
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                copy = Tensor._from_array(a._data.copy())
                self._static.append((i, copy))
                static_args.append(copy)
            else:
                if not (hasattr(a, "_modules") or isinstance(a, (bool, int, float, str))
                        or a is None):
                    self._give_up(f"argument {i} is a {type(a).__name__}")
                    return result
                if not hasattr(a, "_modules"):
                    self._scalars.append((i, a))
                static_args.append(a)
        self._storages = _module_storages(args)
        stream = cupy.cuda.Stream(non_blocking=True)
        pool = cupy.cuda.MemoryPool()
        graph = None
        try:
            cupy.cuda.get_current_stream().synchronize()
            with cupy.cuda.using_allocator(pool.malloc), stream:
                self.plan.run_uncaptured(static_args, name)   # warm the private pool
                stream.synchronize()
                stream.begin_capture()    # relaxed: the private pool may grow
                try:
                    outputs = self.plan.run_uncaptured(static_args, name)
                finally:
                    graph = stream.end_capture()
                stream.synchronize()
        except Exception as exc:  # noqa: BLE001 - anything a capture refuses: run uncaptured
            self._give_up(f"capture failed: {type(exc).__name__}: {exc}")
            return result
        self.graph, self._pool, self._outputs = graph, pool, outputs
        self.captured = True
        self.capture_seconds = time.perf_counter() - start
        return result

    def _give_up(self, reason: str) -> None:
        self.failed = True
        self.reason = reason


# ---- an executor that adapts its plans ---------------------------------------------------------
def arguments_on_cuda(args: Sequence[Any]) -> bool:
    """Whether any argument is a CUDA tensor, a module with a CUDA parameter or buffer, or a
    list or tuple holding one (``backends.on_gpu``)."""
    for a in args:
        data = getattr(a, "_data", None)
        if data is not None and is_cuda_array(data):
            return True
        if hasattr(a, "_modules") and hasattr(a, "_parameters") and \
                any(is_cuda_array(t._data) for t, _ in _module_storages([a])):
            return True
        if type(a) in (list, tuple) and arguments_on_cuda(a):
            return True
    return False


def plan_for_arguments(plan: Any, args: Sequence[Any], options: Any) -> Any:
    """The plan to run for ``args``: :func:`cuda_plan` of it when they live on a GPU, else
    ``plan`` itself.  This is the executor's device hook (called from
    ``executor.build_plan`` through ``backends.plan_for_device``).
    """
    if isinstance(plan, CudaPlan) or not arguments_on_cuda(args):
        return plan
    return cuda_plan(plan, options)


class CudaGraphExecutor(GraphExecutor):
    """A :class:`~minijit.jit.runtime.executor.GraphExecutor` whose plans for CUDA arguments
    are :func:`cuda_plan` plans, replayed as CUDA graphs when ``cuda_graphs=True`` (or
    ``options.cuda_graphs``; Note [CUDA graphs]), with fused reductions unless
    ``fuse_reductions=False`` (Note [CUDA reductions]).  Plans for CPU arguments are the
    executor's own.
    """

    def __init__(self, graph: Any, options: Any = None, name: str = "forward",
                 cuda_graphs: bool = False, fuse_reductions: bool = True):
        super().__init__(graph, options, name)
        self.cuda_graphs = cuda_graphs
        self.fuse_reductions = fuse_reductions

    def _plan(self, key: Any, args: Sequence[Any], options: Any) -> Any:
        plan = super()._plan(key, args, options)
        if not isinstance(plan, CudaPlan) and not arguments_on_cuda(args):
            return plan
        want = (bool(self.cuda_graphs or options.cuda_graphs),
                bool(self.fuse_reductions and options.cuda_reductions))
        with self._lock:
            current = self._plans.get(key, plan)
            if isinstance(current, CudaPlan) and current.settings == want:
                return current
            # The build hook made its plan with the options' settings: remake it with this
            # executor's from the host plan (cheap: no pass runs again).
            host = current.host if isinstance(current, CudaPlan) else current
            rebuilt = cuda_plan(host, options, *want)
            if isinstance(rebuilt, CudaPlan):
                self._plans[key] = rebuilt
        return rebuilt


def cuda_executor(fn_or_module: Any, options: Any = None, cuda_graphs: bool = False,
                  fuse_reductions: bool = True) -> Callable[..., Any]:
    """Call a scripted or traced function or module through a :class:`CudaGraphExecutor`.

    Returns ``call(*args)``; ``call.executor`` is the executor (``.kernels()``, ``.plans()``).
    """
    methods = getattr(fn_or_module, "_methods", None)
    graph = methods["forward"].graph if methods is not None else fn_or_module.graph
    ex = CudaGraphExecutor(graph, options, cuda_graphs=cuda_graphs,
                           fuse_reductions=fuse_reductions)
    if methods is not None:
        def call(*args: Any) -> Any:
            return ex.run((fn_or_module,) + args)
    else:
        def call(*args: Any) -> Any:
            return ex.run(args)
    call.executor = ex  # type: ignore[attr-defined]
    return call
