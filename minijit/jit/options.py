"""Switches for the optimising executor: one options object instead of environment globals.

Every :class:`~minijit.jit.runtime.executor.GraphExecutor` reads an :class:`OptimizationOptions`
(its own, or the process-wide :data:`DEFAULT_OPTIONS`).  The options are part of each plan's
cache key, so changing them makes the next call build a fresh plan instead of reusing one made
under other settings.

Example:
    >>> from minijit.jit.options import OptimizationOptions
    >>> opts = OptimizationOptions(fusion=False)
    >>> opts.fusion, opts.constant_propagation
    (False, True)
    >>> opts.replace(cse=False).cse
    False
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Tuple

__all__ = ["OptimizationOptions", "DEFAULT_OPTIONS", "set_fusion_enabled", "fusion_enabled"]


@dataclasses.dataclass
class OptimizationOptions:
    """What the executor may do when it builds a plan for an input signature.

    Attributes:
        enabled: optimise at all; ``False`` runs the graph as written (the plain interpreter).
        inline: inline ``prim::CallMethod``/``prim::CallFunction`` callees first.
        shape_analysis: propagate dtypes, shapes and ``requires_grad`` from the signature.
        constant_propagation: fold nodes whose inputs are all constants.
        loop_unroll: unroll ``prim::Loop`` with a constant trip count up to ``unroll_limit``.
        peephole: algebraic clean-ups (``x * 1``, ``x + 0``, ``-(-x)``, redundant ``aten::Bool``).
        if_conversion: turn a ``prim::If`` on a tensor's value whose branches are cheap and
            safe to compute into ``aten::where`` (``passes/if_conversion.py``) when the plan
            needs gradients (the differentiable graph stays whole) or runs on a GPU (no
            device-to-host read per branch); a CPU plan without gradients keeps its branches.
        cse: common-subexpression elimination.
        dce: dead-code elimination.
        fusion: group pointwise ops into ``prim::FusionGroup`` nodes run by generated kernels.
        autodiff: when inputs need gradients, wrap fusion groups in ``prim::DifferentiableGraph``
            with a backward built by graph autodiff (else the fused nodes stay unfused).
        raw_arrays: run grad-free plans on NumPy arrays end to end (no Tensor per node).
        min_fusion_size: smallest number of ops worth a fusion group.
        unroll_limit: largest constant trip count that ``loop_unroll`` unrolls.
        block_size: elements per block in generated kernels (cache-sized, about 64K).
        num_threads: threads a large kernel call may use (``0``: one per CPU).
        parallel_threshold: elements from which a kernel call splits across threads.
        lint: run ``Graph.lint()`` after every pass while building a plan.
        fallback_on_error: if building a plan fails, run the graph unoptimised (and say why
            in the report) instead of raising.
        profiling_runs: how many calls of a new signature run the graph as written before the
            optimised plan is built and used (TorchScript's profiling executor runs one: the
            first call's outputs carry eager ``grad_fn``s such as ``MulBackward0``, later ones
            ``DifferentiableGraphBackward``).
        cuda_graphs: on a GPU, capture a grad-free plan once as a CUDA graph and replay it
            (``backends/cupy_backend.py``, Note [CUDA graphs]); off by default.
        cuda_reductions: on a GPU, run a fusion group and the ``sum``/``mean`` that is its only
            reader as one ``cupy.ReductionKernel`` (Note [CUDA reductions]).
        max_plans: plans an executor keeps; beyond that the oldest is dropped (a program
            called with a new shape every time would otherwise keep them all).
    """

    enabled: bool = True
    inline: bool = True
    shape_analysis: bool = True
    constant_propagation: bool = True
    loop_unroll: bool = True
    peephole: bool = True
    if_conversion: bool = True
    cse: bool = True
    dce: bool = True
    fusion: bool = True
    autodiff: bool = True
    raw_arrays: bool = True
    min_fusion_size: int = 2
    unroll_limit: int = 16
    block_size: int = 1 << 16
    num_threads: int = 0
    parallel_threshold: int = 1 << 18
    lint: bool = True
    fallback_on_error: bool = True
    profiling_runs: int = 1
    max_plans: int = 64
    cuda_graphs: bool = False
    cuda_reductions: bool = True

    def replace(self, **changes: Any) -> "OptimizationOptions":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def key(self) -> Tuple[Any, ...]:
        """The options as a tuple: part of every plan's cache key (cached until a field
        changes, because the executor asks on every call)."""
        cached = self.__dict__.get("_key")
        if cached is None:
            cached = tuple(getattr(self, f.name) for f in dataclasses.fields(self))
            object.__setattr__(self, "_key", cached)
        return cached

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        self.__dict__.pop("_key", None)

    def threads(self) -> int:
        """How many threads a large kernel call may use."""
        return self.num_threads if self.num_threads > 0 else (os.cpu_count() or 1)


DEFAULT_OPTIONS = OptimizationOptions()
"""The options of every executor not given its own (``set_fusion_enabled`` changes them)."""


def set_fusion_enabled(enabled: bool) -> None:
    """Turn fusion on or off for executors using :data:`DEFAULT_OPTIONS`.

    Like ``torch._C._jit_set_texpr_fuser_enabled``: plans built afterwards follow the new
    setting (the setting is part of the plan key, so old plans are not reused).
    """
    DEFAULT_OPTIONS.fusion = bool(enabled)


def fusion_enabled() -> bool:
    return DEFAULT_OPTIONS.fusion
