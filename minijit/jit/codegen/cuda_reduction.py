"""The CUDA reduction generator: a fusion group's pointwise work fused into the ``sum`` or
``mean`` that reads it, as one ``cupy.ReductionKernel``.

Note [CUDA reductions]
    On a GPU, ``(a * b + c).sum()`` runs as two kernels: the fusion group writes its whole
    result to memory (Note [CUDA kernels] in ``cuda_kernel.py``), then ``sum`` reads it back.
    When nothing else reads that result it need never exist: a ``cupy.ReductionKernel``
    computes each element in its *map* expression and adds it straight into a running total,
    so the inputs are read once and only the sum is written.  For three float32 inputs that
    is 12 bytes of traffic per element instead of 20, and one launch instead of two.

    Where it pays (:func:`fuse_reduction_prologues` checks each): a ``prim::FusionGroup`` has
    one output, read only by one registry ``REDUCTION`` op that adds up (``sum``) or averages
    (``mean``), with the output as ``self`` and constant other arguments (``dim``,
    ``keepdim``, ``dtype``).  Then the output would be materialised only to be reduced.  An
    output that is also returned or read by another node must be written anyway; it stays.
    What a reduction computes is read off its ``impl`` on a probe (:func:`reduction_form`),
    not off its name.

    The rewrite happens in a grad-free CUDA plan's own copy of the graph (``cuda_plan`` in
    ``backends/cupy_backend.py``): the reduction moves into the group's subgraph, under the
    node kind ``prim::FusedReduction``; the host plan's graph is untouched.

    The kernel, for one set of input dtypes:

    * *map*: a ``__device__`` function in the preamble holding the group's statements, written
      by :class:`~minijit.jit.codegen.cuda_kernel.CudaExpressionBuilder` (the same C as the
      group's elementwise kernel), returning the group's output value;
    * *reduce*: ``a + b`` in the accumulator type, the C type of the result (``float`` for
      half);
    * *post_map*: ``sum`` stores the total; ``mean`` divides it by the number of elements
      reduced into each output, ``_in_ind.size() / _out_ind.size()`` (CuPy's indexers over
      the input and the output, as ``cupy.mean`` does);
    * *identity*: 0;
    * the result dtype is what the op's ``impl`` gives on a one-element NumPy probe of the
      same dtype and arguments, hence eager's: float stays float, integer and bool sums are
      int64, ``dtype=`` wins.  When the probe raises (``mean`` of an integer tensor) there is
      no kernel and the node runs op by op, raising eager's error.

    CuPy broadcasts the inputs and reduces over ``axis`` (None: everything) with
    ``keepdims``.  :func:`standalone_reduction_source` writes the same pieces into a plain
    ``__global__`` function, which the tests compile with ``nvcc -ptx`` where there is no GPU.

Example:
    >>> from minijit.jit.ir import parse_ir
    >>> import numpy as np
    >>> g = parse_ir('''graph(%a : Tensor, %b : Tensor):
    ...   %none : NoneType = prim::Constant()
    ...   %s : Tensor = aten::mul(%a, %b)
    ...   %t : Tensor = aten::tanh(%s)
    ...   %r : Tensor = aten::mean(%t, %none)
    ...   return (%r)
    ... ''')
    >>> info = ReductionInfo(g)
    >>> info.form, info.axes(2), info.keepdim
    ('mean', None, False)
    >>> f32 = np.dtype("float32")
    >>> k = generate_cuda_reduction(info, (f32, f32), (False, False), 2, "demo")
    >>> k.in_params, k.out_params, k.reduce_type, k.identity
    ('float32 a0, float32 a1', 'float32 y', 'float', '0')
    >>> print(k.map_expr.replace(k.name, "K"), "|", k.reduce_expr)
    K_map(a0, a1) | a + b
    >>> print(k.post_map_expr)
    y = static_cast<float>(a / static_cast<float>(_in_ind.size() / _out_ind.size()))
"""
from __future__ import annotations

import functools
import hashlib
import re
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ... import dtypes as _dt
from ...ops.registry import OpInfo, Tag
from ..ir.graph import Graph, Node, Value
from ..passes.pass_manager import PassLog, op_of
from .cuda_kernel import (HALF_PRELUDE, PRELUDE, STANDALONE_HEADER, CudaExpressionBuilder,
                          storage_type, value_type)
from .numpy_kernel import GroupInfo, KernelGenerationError

__all__ = ["REDUCTION_KIND", "reduction_form", "fuse_reduction_prologues", "ReductionInfo",
           "GeneratedCudaReduction", "generate_cuda_reduction", "reduction_key",
           "standalone_reduction_source"]

REDUCTION_KIND = "prim::FusedReduction"
_FUSION_KIND = "prim::FusionGroup"


# ---- which reductions ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def reduction_form(op: OpInfo) -> Optional[str]:
    """``"sum"`` or ``"mean"`` when the ``REDUCTION`` op ``op`` adds up or averages its
    ``self`` over ``dim`` (or everything), else None.

    Read off the op's ``impl`` on a probe (Style: tags and behaviour, never name lists): the
    full form ``impl(p, None)`` and the dim form ``impl(p, [1], False, None)`` of
    ``p = [[1, 2], [4, 8]]`` must give ``15, [3, 12]`` (sum) or ``3.75, [1.5, 6]`` (mean);
    ``prod``, ``amax``, ``norm``... give other numbers.

    Example:
        >>> from minijit.ops.registry import get
        >>> [reduction_form(get(n)) for n in ("sum", "mean", "prod", "amax", "tanh")]
        ['sum', 'mean', None, None, None]
    """
    if Tag.REDUCTION not in op.tags:
        return None
    probe = np.array([[1.0, 2.0], [4.0, 8.0]])
    try:
        full = op.impl(np, probe, None)
        rows = op.impl(np, probe, [1], False, None)
    except Exception:  # noqa: BLE001 - another signature: not a sum or mean
        return None
    for form, want_full, want_rows in (("sum", 15.0, [3.0, 12.0]),
                                       ("mean", 3.75, [1.5, 6.0])):
        if np.shape(full) == () and np.shape(rows) == (2,) and \
                np.allclose(full, want_full) and np.allclose(rows, want_rows):
            return form
    return None


def _static_value(v: Value) -> Tuple[bool, Any]:
    """``(True, value)`` for a constant or a list of constants (``sum``'s ``dim``)."""
    node = v.node
    if node.kind == "prim::Constant":
        return True, node.attrs.get("value")
    if node.kind == "prim::ListConstruct":
        values = [_static_value(i) for i in node.inputs]
        if all(ok for ok, _ in values):
            return True, [x for _, x in values]
    return False, None


def _reduction_reading(group: Node) -> Optional[Node]:
    """The sum or mean node that is the only reader of ``group``'s only output, if any."""
    if len(group.outputs) != 1 or len(group.output().uses) != 1:
        return None
    use = group.output().uses[0]
    user = use.user
    if use.offset != 0 or user.owning_block is not group.owning_block or \
            len(user.outputs) != 1:
        return None
    op = op_of(user)
    if op is None or reduction_form(op) is None:
        return None
    if not all(_static_value(v)[0] for v in user.inputs[1:]):
        return None
    return user


def _clone_static(sub: Graph, v: Value, mapping: dict) -> Value:
    if v not in mapping:
        for i in v.node.inputs:
            _clone_static(sub, i, mapping)
        clone = sub.append_node(sub.create_clone(v.node, mapping.__getitem__))
        mapping[v] = clone.output()
    return mapping[v]


def fuse_reduction_prologues(graph: Graph, log: Optional[PassLog] = None) -> bool:
    """Move every sum or mean that is the only reader of a fusion group's only output into
    the group, as a ``prim::FusedReduction`` (Note [CUDA reductions]).

    Before::

        %y : Float(1000) = prim::FusionGroup_0(%a, %b, %c)
        %s : Float() = aten::sum(%y, %none)

    After::

        %s : Float() = prim::FusedReduction_0(%a, %b, %c)
        with prim::FusedReduction_0 = graph(%a, %b, %c):
          ... the group's nodes, computing %y ...
          %none = prim::Constant()
          %s = aten::sum(%y, %none)
          return (%s)

    Returns:
        True if the graph changed.
    """
    from ..passes.dce import eliminate_dead_code
    pairs = [(n, r) for n in graph.all_nodes() if n.kind == _FUSION_KIND
             for r in [_reduction_reading(n)] if r is not None]
    for group, reduction in pairs:
        sub = group.attrs["Subgraph"].copy()
        inner = sub.outputs[0]
        mapping = {group.output(): inner}
        for v in reduction.inputs[1:]:
            _clone_static(sub, v, mapping)
        clone = sub.append_node(sub.create_clone(reduction, mapping.__getitem__))
        sub.erase_output(0)
        sub.register_output(clone.output())
        fused = graph.create_node(REDUCTION_KIND, list(group.inputs), num_outputs=0)
        fused.attrs["Subgraph"] = sub
        fused.insert_before(reduction)
        out = fused.add_output(reduction.output().type)
        if log is not None:
            log.note(f"{REDUCTION_KIND}: {reduction.kind} of a fusion group's only output "
                     f"({len(sub.nodes)} node(s) in all)")
        old = reduction.output()
        name = old.debug_name if old.has_debug_name() else None
        old.replace_all_uses_with(out)
        reduction.destroy()
        group.destroy()
        if name:
            out.set_debug_name(name)
    if pairs:
        eliminate_dead_code(graph)          # the reductions' constant arguments
    return bool(pairs)


# ---- one fused reduction, independent of dtypes ------------------------------------------------
class ReductionInfo:
    """A ``prim::FusedReduction`` subgraph read once: the pointwise prologue as a
    :class:`~minijit.jit.codegen.numpy_kernel.GroupInfo`, the reduction op and its form, and
    its constant arguments.

    Raises:
        KernelGenerationError: the subgraph is not a pointwise prologue followed by one sum
            or mean with constant arguments.
    """

    def __init__(self, subgraph: Graph):
        from ..passes.dce import eliminate_dead_code
        if len(subgraph.outputs) != 1:
            raise KernelGenerationError("a fused reduction has one output")
        reduction = subgraph.outputs[0].node
        op = op_of(reduction)
        form = reduction_form(op) if op is not None else None
        if form is None:
            raise KernelGenerationError(f"{reduction.kind} is not a sum or a mean")
        self.op = op
        self.form = form
        args = []
        for v in reduction.inputs[1:]:
            ok, value = _static_value(v)
            if not ok:
                raise KernelGenerationError(f"an argument of {reduction.kind} is not constant")
            args.append(value)
        self.args: List[Any] = args
        names = [a.name for a in reduction.schema.arguments] if reduction.schema is not None \
            else [a.name for a in op.schema_for_len[len(reduction.inputs)].arguments]
        bound = dict(zip(names[1:], args))
        self.has_dim = "dim" in bound
        self.dim = bound.get("dim")
        self.keepdim = bool(bound.get("keepdim", False))
        # The prologue: the subgraph without the reduction, returning what it reduces.
        prologue = subgraph.copy()
        last = prologue.outputs[0].node
        reduced = last.inputs[0]
        prologue.erase_output(0)
        prologue.register_output(reduced)
        last.destroy()
        eliminate_dead_code(prologue)
        self.group = GroupInfo(prologue)
        self.key = f"{self.group.key} => {form}{tuple(repr(a) for a in args)}"

    def axes(self, ndim: int) -> Optional[Tuple[int, ...]]:
        """The axes to reduce for an ``ndim``-dimensional input: None for the full form;
        eager's ``IndexError`` for a dimension out of range."""
        if not self.has_dim:
            return None
        from ...ops.reduction import normalize_dims
        return normalize_dims(self.dim, ndim)

    def result_dtype(self, dtype: Any, ndim: int) -> np.dtype:
        """The dtype eager gives when reducing an ``ndim``-dimensional ``dtype`` tensor: the
        op's ``impl`` on a one-element probe (raises eager's error when eager would)."""
        probe = np.zeros((1,) * ndim, dtype=dtype)
        with np.errstate(all="ignore"):
            return np.asarray(self.op.impl(np, probe, *self.args)).dtype


# ---- generation ---------------------------------------------------------------------------------
class GeneratedCudaReduction:
    """The source of one (fused reduction, dtypes) ``cupy.ReductionKernel``.

    Attributes:
        name: the kernel's C name; ``name + "_map"`` is its map function.
        in_params / out_params: CuPy parameter lists (``"float32 a0, float32 a1"``,
            ``"float32 y"``).
        map_expr / reduce_expr / post_map_expr / identity / reduce_type: the
            ``ReductionKernel`` arguments (Note [CUDA reductions]).
        map_function: the ``__device__`` function the map expression calls.
        preamble: the helpers and the map function.
        input_dtypes / result_dtype: NumPy dtypes.
        source: all of it, as shown to users.
    """

    __slots__ = ("name", "in_params", "out_params", "map_expr", "reduce_expr",
                 "post_map_expr", "identity", "reduce_type", "map_function", "preamble",
                 "input_dtypes", "result_dtype", "source")

    def __init__(self, name: str, in_params: str, out_params: str, map_expr: str,
                 post_map_expr: str, reduce_type: str, map_function: str, preamble: str,
                 input_dtypes: List[np.dtype], result_dtype: np.dtype):
        self.name = name
        self.in_params = in_params
        self.out_params = out_params
        self.map_expr = map_expr
        self.reduce_expr = "a + b"
        self.post_map_expr = post_map_expr
        self.identity = "0"
        self.reduce_type = reduce_type
        self.map_function = map_function
        self.preamble = preamble
        self.input_dtypes = input_dtypes
        self.result_dtype = result_dtype
        self.source = (f"// {name}: cupy.ReductionKernel (preamble: minijit helpers and the "
                       f"map function)\n// in:  {in_params}\n// out: {out_params}\n"
                       f"{map_function}"
                       f"// map:      {map_expr}\n// reduce:   {self.reduce_expr}   "
                       f"(reduce_type {reduce_type}, identity {self.identity})\n"
                       f"// post_map: {post_map_expr}\n")


def reduction_key(info: ReductionInfo, dtypes: Sequence[Any], zero_dim: Sequence[bool],
                  ndim: int) -> Tuple:
    """The kernel cache key: structure (prologue, form, constant arguments), input dtypes,
    0-dim flags, the input's rank and the backend (Note [Kernel cache])."""
    return (info.key, tuple(np.dtype(d).str for d in dtypes), tuple(bool(z) for z in zero_dim),
            int(ndim), "cuda-reduction")


def generate_cuda_reduction(info: ReductionInfo, dtypes: Sequence[Any],
                            zero_dim: Sequence[bool], ndim: int,
                            name: str = "fused_reduction") -> GeneratedCudaReduction:
    """The ``cupy.ReductionKernel`` of ``info`` for input ``dtypes`` and an input of rank
    ``ndim`` (Note [CUDA reductions]).

    Raises:
        KernelGenerationError: the prologue has no CUDA kernel for these dtypes, or eager
            would raise for this reduction (the node then runs op by op).
    """
    builder = CudaExpressionBuilder(info.group, dtypes, zero_dim)
    (_, j), = info.group.outputs
    value, meta = builder.values[j]
    try:
        out = info.result_dtype(meta.dtype.np, ndim)
    except Exception as exc:  # noqa: BLE001 - eager's error, raised again by the fallback
        raise KernelGenerationError(f"{info.op.kind}: {exc}") from exc
    out_d = _dt.from_numpy_dtype(out)
    if out_d is _dt.bool_ or not (out_d.is_floating_point or out.kind in "iu") or \
            (info.form == "mean" and not out_d.is_floating_point):
        raise KernelGenerationError(f"{info.op.kind} to {out_d.name} has no CUDA reduction")
    digest = hashlib.sha1(repr(reduction_key(info, dtypes, zero_dim, ndim)).encode()
                          ).hexdigest()[:12]
    kname = f"minijit_{re.sub(r'[^0-9A-Za-z_]', '_', name)}_{digest}"
    acc = value_type(out_d)
    params = ", ".join(f"const {storage_type(_dt.from_numpy_dtype(np.dtype(d)))} a{k}"
                       for k, d in enumerate(dtypes))
    body = "".join(f"    {line}\n" for line in builder.lines)
    map_function = (f"__device__ __forceinline__ {value_type(meta.dtype)} {kname}_map("
                    f"{params}) {{\n{body}    return {value};\n}}\n")
    map_expr = f"{kname}_map({', '.join(f'a{k}' for k in range(len(dtypes)))})"
    total = "a" if info.form == "sum" else \
        f"a / static_cast<{acc}>(_in_ind.size() / _out_ind.size())"
    post_map = f"y = static_cast<{storage_type(out_d)}>({total})"
    preamble = PRELUDE + (HALF_PRELUDE if builder.uses_half else "") + map_function
    in_params = ", ".join(f"{np.dtype(d).name} a{k}" for k, d in enumerate(dtypes))
    return GeneratedCudaReduction(kname, in_params, f"{out.name} y", map_expr, post_map, acc,
                                  map_function, preamble, [np.dtype(d) for d in dtypes], out)


_EXTENT = ("struct minijit_extent {   // what CuPy's _in_ind / _out_ind answer to size()\n"
           "    long long n;\n    __device__ long long size() const { return n; }\n};\n")


def standalone_reduction_source(kernel: GeneratedCudaReduction, header: bool = True) -> str:
    """``kernel`` as a complete CUDA C++ ``__global__`` function, for ``nvcc`` where CuPy is
    absent: one thread per output element of a contiguous input viewed as ``[outer, reduced,
    inner]``, looping over ``reduced`` with the kernel's own map, reduce and post-map text
    (CuPy's wrapper instead splits each output's work over a block of threads).

    ``header``: include the half type, the helpers and ``_in_ind``'s stand-in (once per file
    when several kernels are compiled together).
    """
    params, loads = [], []
    for k, d in enumerate(kernel.input_dtypes):
        c = storage_type(_dt.from_numpy_dtype(d))
        params.append(f"const {c}* __restrict__ a{k}_")
        loads.append(f"        const {c} a{k} = a{k}_[k];")
    out_c = storage_type(_dt.from_numpy_dtype(kernel.result_dtype))
    acc = kernel.reduce_type
    text = (f'extern "C" __global__ void {kernel.name}({", ".join(params)}, '
            f"{out_c}* __restrict__ y_,\n        long long outer, long long reduced, "
            "long long inner) {\n"
            "    const long long j = blockIdx.x * static_cast<long long>(blockDim.x) + "
            "threadIdx.x;\n"
            "    if (j >= outer * inner) return;\n"
            "    const long long o = j / inner, i = j % inner;\n"
            "    const minijit_extent _in_ind = {outer * reduced * inner}, "
            "_out_ind = {outer * inner};\n"
            f"    {acc} a = static_cast<{acc}>({kernel.identity});\n"
            "    for (long long r = 0; r < reduced; ++r) {\n"
            "        const long long k = (o * reduced + r) * inner + i;\n"
            + "\n".join(loads) + "\n"
            f"        const {acc} b = static_cast<{acc}>({kernel.map_expr});\n"
            f"        a = ({kernel.reduce_expr});\n"
            "    }\n"
            f"    {out_c}& y = y_[j];\n"
            f"    {kernel.post_map_expr};\n"
            "}\n")
    text = kernel.map_function + text
    if header:
        text = STANDALONE_HEADER + _EXTENT + "\n" + text
    return text
