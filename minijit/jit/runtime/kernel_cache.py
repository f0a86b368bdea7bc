"""Running fusion groups: the kernel cache, array layouts, blocks and threads.

Note [Kernel cache]
    Generating and compiling a kernel (:mod:`minijit.jit.codegen.numpy_kernel`) takes a
    millisecond or so, so kernels are cached process-wide in :data:`KERNEL_CACHE` by

    * the group's structure (``GroupInfo.key``: ops and how they connect, not value names),
    * the input dtypes and which inputs are 0-dim (type promotion depends on both),
    * the broadcast pattern: for the blocked function, which coalesced dimensions each input
      spans (``None`` for the small function, which lets NumPy broadcast).

    Shapes themselves are *not* in the key: the same kernel serves every shape with the same
    pattern (block size and inner extent are arguments).  Each :class:`FusedKernel` (one per
    fusion group in a plan) also keeps a small memo from exact ``(dtype, shape)`` tuples to a
    ready-to-call function, so a call costs one dictionary lookup before NumPy runs.

Layout: the output shape is the broadcast of the inputs' shapes.  Dimensions of size 1 are
dropped and neighbouring dimensions that every input treats alike (spans, or is broadcast
along) are merged, TensorIterator's "coalescing": a ``(64, 100, 100)`` tensor plus a ``(100,)``
bias becomes rows of a ``(6400, 100)`` layout in which the bias is broadcast along rows.  Rows
are processed ``R`` at a time, ``R × inner ≈ block_size``; large calls hand row ranges to a
thread pool.
"""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..codegen.numpy_kernel import (GeneratedKernel, GroupInfo, KernelGenerationError,
                                    generate_kernel)
from ...ops.dispatch import ERRSTATE_VAR, QUIET, quietly
from ..ir.graph import Graph

__all__ = ["KernelCache", "KERNEL_CACHE", "FusedKernel", "coalesce"]

_ndarray = np.ndarray


def _as_arrays(outs: Tuple[Any, ...], dtypes: List[Any]) -> Tuple[Any, ...]:
    """0-dim results come back from NumPy as scalars: make them arrays of the right dtype."""
    return tuple(o if type(o) is _ndarray else np.asarray(o, d) for o, d in zip(outs, dtypes))


def _refs_of_unused() -> int:
    """What ``sys.getrefcount`` reports, inside :func:`_recycled`, for an array nobody else
    holds (measured, not assumed: it depends on the Python version)."""
    probe = [[np.empty(1)]]
    outs = probe.pop()
    return min(sys.getrefcount(o) for o in outs)


def _recycled(spare: List[List[Any]]) -> Optional[List[Any]]:
    """The output arrays of an earlier call, if the caller has dropped every one of them.

    A big kernel call's output is a fresh array, and touching fresh memory costs page faults
    (about a fifth of the time of a 1e7-element chain).  So the blocked path keeps its last
    outputs and, on the next call, reuses them when their reference count shows that nothing
    outside this list still holds them or a view of them (a caching allocator, in the small).
    """
    while spare:
        try:
            outs = spare.pop()
        except IndexError:                     # another thread took it
            return None
        if min(sys.getrefcount(o) for o in outs) == _UNUSED and \
                max(sys.getrefcount(o) for o in outs) == _UNUSED:
            return outs
    return None


class KernelCache:
    """Process-wide generated kernels (Note [Kernel cache]); thread-safe."""

    def __init__(self) -> None:
        self._kernels: Dict[Tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Tuple[Any, ...], build: Callable[[], Any]) -> Any:
        found = self._kernels.get(key)
        if found is not None:
            self.hits += 1
            return found
        with self._lock:
            found = self._kernels.get(key)
            if found is None:
                self.misses += 1
                try:
                    found = build()
                except KernelGenerationError as exc:
                    found = exc              # remembered: the fallback is chosen once
                except Exception as exc:  # noqa: BLE001 - a generator bug must not break a
                    found = KernelGenerationError(f"kernel generation failed: {exc!r}")  # call
                self._kernels[key] = found
            return found

    def __len__(self) -> int:
        return len(self._kernels)

    def entries(self) -> List[Tuple[Tuple[Any, ...], Any]]:
        return list(self._kernels.items())

    def clear(self) -> None:
        with self._lock:
            self._kernels.clear()
            self.hits = self.misses = 0


KERNEL_CACHE = KernelCache()
_UNUSED = _refs_of_unused()

_POOL: Optional[ThreadPoolExecutor] = None
_POOL_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None or _POOL._max_workers < threads - 1:  # type: ignore[attr-defined]
        with _POOL_LOCK:
            if _POOL is None or _POOL._max_workers < threads - 1:  # type: ignore[attr-defined]
                _POOL = ThreadPoolExecutor(max_workers=max(threads - 1, 1),
                                           thread_name_prefix="minijit-kernel")
    return _POOL


def coalesce(shapes: Sequence[Tuple[int, ...]], out: Tuple[int, ...]
             ) -> Tuple[Tuple[int, ...], List[Tuple[bool, ...]]]:
    """The coalesced layout of ``out`` and, per input, which of its dimensions it spans.

    Example:
        >>> coalesce([(64, 100, 100), (100,)], (64, 100, 100))
        ((6400, 100), [(True, True), (False, True)])
    """
    ndim = len(out)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    dims = [d for d in range(ndim) if out[d] != 1]
    layout: List[int] = []
    columns: List[Tuple[bool, ...]] = []
    for d in dims:
        column = tuple(p[d] == out[d] for p in padded)
        if columns and columns[-1] == column:
            layout[-1] *= out[d]
        else:
            layout.append(out[d])
            columns.append(column)
    patterns = [tuple(col[k] for col in columns) for k in range(len(shapes))]
    return tuple(layout), patterns


class FusedKernel:
    """Runs one fusion group on NumPy arrays (Note [Kernel cache]).

    ``kernel(*arrays)`` returns a tuple of output arrays.  ``kernel.source`` is the generated
    source last used (``kernel.sources()`` lists all of them); ``kernel.fallbacks`` counts
    calls that ran op by op because no kernel could be made (the reason is in
    ``kernel.fallback_reason``).
    """

    def __init__(self, subgraph: Graph, options: Any, name: str = "fused"):
        self.subgraph = subgraph
        self.options = options
        self.fallback_reason = ""
        try:
            self.info: Optional[GroupInfo] = GroupInfo(subgraph)
        except KernelGenerationError as exc:
            self.info = None                     # every call runs the ops one by one
            self.fallback_reason = str(exc)
        self.name = name
        self._memo: Dict[Tuple[Any, ...], Callable[..., Tuple[Any, ...]]] = {}
        self._last: Optional[GeneratedKernel] = None
        self._used: Dict[Tuple[Any, ...], GeneratedKernel] = {}
        self.fallbacks = 0
        self._fallback_program: Any = None

    # -- inspection --------------------------------------------------------------------------
    @property
    def source(self) -> str:
        if self._last is None:
            return "# not generated yet: call the function once\n"
        return self._last.source

    def sources(self) -> List[str]:
        return [k.source for k in self._used.values()]

    # -- calling ------------------------------------------------------------------------------
    def __call__(self, *arrays: Any) -> Tuple[Any, ...]:
        key = tuple([(a.dtype, a.shape) for a in arrays])
        fn = self._memo.get(key)
        if fn is None:
            fn = self._prepare(arrays, key)
        return fn(*arrays)

    def _kernel(self, dtypes: Tuple[Any, ...], zero: Tuple[bool, ...],
                patterns: Optional[Tuple[Tuple[bool, ...], ...]]) -> Any:
        key = (self.info.key, dtypes, zero, patterns)
        found = KERNEL_CACHE.get(key, lambda: generate_kernel(self.info, dtypes, zero,
                                                               patterns, self.name))
        if isinstance(found, GeneratedKernel):
            self._last = found
            self._used[(dtypes, zero, patterns)] = found
        return found

    def _prepare(self, arrays: Sequence[Any], key: Tuple[Any, ...]) -> Callable:
        if self.info is None:
            return self._fallback
        dtypes = tuple(a.dtype for a in arrays)
        zero = tuple(a.ndim == 0 for a in arrays)
        shapes = [a.shape for a in arrays]
        try:
            out_shape = tuple(int(s) for s in np.broadcast_shapes(*shapes))
        except ValueError:
            fn = self._fallback
        else:
            numel = int(np.prod(out_shape)) if out_shape else 1
            out_shapes = [tuple(np.broadcast_shapes(*[shapes[k] for k in deps])) if deps else ()
                          for deps in self.info.output_inputs]
            blocked = numel > self.options.block_size and \
                all(s == out_shape for s in out_shapes)
            if blocked:
                layout, patterns = coalesce(shapes, out_shape)
                kernel = self._kernel(dtypes, zero, tuple(patterns))
                fn = self._blocked_call(kernel, layout, patterns, out_shape, numel) \
                    if isinstance(kernel, GeneratedKernel) else self._note_fallback(kernel)
            else:
                kernel = self._kernel(dtypes, zero, None)
                fn = self._small_call(kernel) if isinstance(kernel, GeneratedKernel) \
                    else self._note_fallback(kernel)
            if fn != self._fallback and not getattr(fn, "is_small", False):
                fn = self._guarded(fn)
        if len(self._memo) > 256:
            self._memo.clear()
        self._memo[key] = fn
        return fn

    def _small_call(self, kernel: GeneratedKernel) -> Callable:
        """Whole arrays, NumPy broadcasting; warnings off; a failure hands over to the ops
        one by one (the body of :func:`quietly` and :meth:`_guarded`, inlined: this path runs
        for every small call, so every microsecond shows)."""
        small = kernel.small
        dtypes = kernel.result_dtypes
        fallback = self._fallback
        var, ignore = ERRSTATE_VAR, QUIET
        if var is None:
            return self._guarded(lambda *arrays: _as_arrays(quietly(small, *arrays), dtypes))

        def run(*arrays: Any) -> Tuple[Any, ...]:
            token = var.set(ignore)
            try:
                outs = small(*arrays)
            except Exception:  # noqa: BLE001 - eager's error, or eager's result
                outs = None
            finally:
                var.reset(token)
            if outs is None:
                return fallback(*arrays)
            for r in outs:
                if type(r) is not _ndarray:
                    return _as_arrays(outs, dtypes)
            return outs
        run.is_small = True  # type: ignore[attr-defined]
        return run

    def _blocked_call(self, kernel: GeneratedKernel, layout: Tuple[int, ...],
                      patterns: List[Tuple[bool, ...]], out_shape: Tuple[int, ...],
                      numel: int) -> Callable:
        blocked = kernel.blocked
        dtypes = kernel.result_dtypes
        rows = layout[0]
        inner = tuple(layout[1:])
        inner_size = int(np.prod(inner)) if inner else 1
        R = max(1, self.options.block_size // inner_size)
        in_shapes = [tuple(n if p else 1 for n, p in zip(layout, pat)) for pat in patterns]
        threads = self.options.threads()
        chunks: List[Tuple[int, int]] = [(0, rows)]
        if threads > 1 and numel >= self.options.parallel_threshold and rows > R:
            nblocks = -(-rows // R)
            per = -(-nblocks // threads)
            chunks = [(i * per * R, min((i + 1) * per * R, rows))
                      for i in range(threads) if i * per * R < rows]

        spare: List[List[Any]] = []

        def run(*arrays: Any) -> Tuple[Any, ...]:
            ins = [a.reshape(s) for a, s in zip(arrays, in_shapes)]
            outs = _recycled(spare)
            if outs is None:
                outs = [np.empty(layout, d) for d in dtypes]
            if len(chunks) == 1:
                quietly(blocked, 0, rows, R, inner, *ins, *outs)
            else:
                pool = _pool(threads)
                futures = [pool.submit(quietly, blocked, s, e, R, inner, *ins, *outs)
                           for s, e in chunks[1:]]
                s, e = chunks[0]
                quietly(blocked, s, e, R, inner, *ins, *outs)
                for f in futures:
                    f.result()
            result = tuple(o.reshape(out_shape) for o in outs)
            if len(spare) < 2:
                spare.append(outs)
            return result
        return run

    def _guarded(self, fn: Callable) -> Callable:
        """A kernel that fails at run time (``int ** -1``) hands over to the ops one by one,
        which raise eager's error (or, if they succeed, give eager's result)."""
        fallback = self._fallback

        def run(*arrays: Any) -> Tuple[Any, ...]:
            try:
                return fn(*arrays)
            except Exception:  # noqa: BLE001
                return fallback(*arrays)
        return run

    # -- when no kernel can be made: run the ops one by one --------------------------------------
    def _note_fallback(self, error: Exception) -> Callable:
        self.fallback_reason = str(error)
        return self._fallback

    def _fallback(self, *arrays: Any) -> Tuple[Any, ...]:
        """Run the subgraph through the interpreter on Tensors: same results, and the same
        errors (broadcasting, dtype refusals) that eager code raises."""
        from ..._tensor import Tensor
        from .interpreter import compile_graph, run_program
        self.fallbacks += 1
        if self._fallback_program is None:
            self._fallback_program = compile_graph(self.subgraph)
        result = run_program(self._fallback_program,
                             [Tensor._from_array(np.asarray(a)) for a in arrays])
        outs = result if len(self.subgraph.outputs) != 1 else (result,)
        return tuple(o._data for o in outs)
