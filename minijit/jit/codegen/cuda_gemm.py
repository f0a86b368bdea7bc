"""A capture-safe matrix product: ``out = x @ w^T (+ bias)`` as one ``cupy.RawKernel``.

Note [CUDA GEMM]
    A plan replayed as a CUDA graph (Note [CUDA graphs] in ``backends/cupy_backend.py``) must
    launch every kernel of one run while the stream is being captured, and CuPy 14.2 refuses
    cuBLAS calls then (``NotImplementedError: calling cuBLAS API during stream capture is
    currently unsupported``).  ``aten::linear``, ``mm`` and ``matmul`` run on cuBLAS, so the
    seed tutorial's RNN cell could not be captured.  This module writes the kernel that a
    plan to be captured launches instead: the textbook tiled matrix product, one plain CUDA
    ``__global__`` function that CuPy compiles with NVRTC like any other kernel.

    Shapes (all row-major and contiguous): ``x`` is ``[M, K]``; ``w`` is ``[N, K]`` when
    ``transposed`` (``aten::linear``'s weight: ``out = x @ w^T``) or ``[K, N]`` otherwise
    (``mm``, ``matmul``: ``out = x @ w``); ``bias`` is ``[N]`` when there is one; ``out`` is
    ``[M, N]``.

    The algorithm: ``out`` is cut into ``TILE × TILE`` tiles, one thread block of
    ``TILE × TILE`` threads per tile and one thread per element.  The block walks ``K`` in
    steps of ``TILE``: its threads load one tile of ``x`` and one of ``w`` into shared memory
    (so each element is read from global memory once per block instead of ``TILE`` times),
    wait for each other (``__syncthreads``), and each thread adds ``TILE`` products to its
    accumulator.  Past the edges of the matrices the loads give zeros, so sizes need not be
    multiples of ``TILE``.  The ``w`` tile is kept k-major (``ws[k][n]``) whatever ``w``'s
    layout, so the inner loop is one loop; for a transposed ``w`` the load walks ``w`` along
    ``K`` (neighbouring threads read neighbouring addresses) and stores the tile transposed,
    into rows padded by one element so that the threads of a warp write to different
    shared-memory banks.

    Accuracy: products are accumulated with ``fma`` in the element type (float for float32,
    double for float64), the precision cuBLAS uses, in another order: results agree with
    cuBLAS to rounding.

    Speed: enough for the small matrices of launch-bound models (the seed RNN's 3×4 @ 4×4,
    and 64×256 @ 256×256); far below cuBLAS on large ones (no register blocking, no tensor
    cores).  That is why a plan uses it only when it is going to be captured.

Example:
    >>> import numpy as np
    >>> k = generate_gemm(np.float32, transposed=True, has_bias=True)
    >>> k.name
    'minijit_gemm_nt_bias_float32'
    >>> print(k.source.splitlines()[2])
    extern "C" __global__ void minijit_gemm_nt_bias_float32(
    >>> k.launch_config(3, 4)           # rows tile the grid's x, columns its y
    ((1, 1, 1), (16, 16, 1))
    >>> generate_gemm(np.float32, True, True) is k     # one source per (dtype, layout, bias)
    True
"""
from __future__ import annotations

import functools
from typing import Any, Optional, Tuple

import numpy as np

from ... import dtypes as _dt
from ...ops.registry import OpInfo, Tag

__all__ = ["TILE", "GeneratedGemm", "generate_gemm", "gemm_form", "GemmForm",
           "SUPPORTED_DTYPES", "MAX_GRID_Y"]

TILE = 16
SUPPORTED_DTYPES = ("float32", "float64")
MAX_GRID_Y = 65535            # CUDA's limit on gridDim.y (gridDim.x may reach 2**31 - 1)


class GeneratedGemm:
    """The source of one GEMM kernel (Note [CUDA GEMM]); compiling it is the backend's job.

    Attributes:
        name: the kernel's C name (``minijit_gemm_nt_bias_float32``).
        source: a complete CUDA C++ translation unit (``extern "C" __global__``), for
            ``cupy.RawKernel(source, name)`` or ``nvcc``.
        dtype: the NumPy dtype of every operand and of the result.
        transposed: ``w`` is ``[N, K]`` (``x @ w^T``) rather than ``[K, N]`` (``x @ w``).
        has_bias: the kernel takes a ``bias`` ``[N]`` added to every row.
        params: the kernel's parameters in launch order, as ``(C type, name)``.
    """

    __slots__ = ("name", "source", "dtype", "transposed", "has_bias", "params")

    def __init__(self, name: str, source: str, dtype: np.dtype, transposed: bool,
                 has_bias: bool, params: Tuple[Tuple[str, str], ...]):
        self.name = name
        self.source = source
        self.dtype = dtype
        self.transposed = transposed
        self.has_bias = has_bias
        self.params = params

    @staticmethod
    def launch_config(m: int, n: int) -> Tuple[Tuple[int, int, int], Tuple[int, int, int]]:
        """``(grid, block)`` for an ``[m, n]`` result: one ``TILE × TILE`` block per tile,
        row tiles along the grid's x (no practical limit), column tiles along its y."""
        return ((m + TILE - 1) // TILE, (n + TILE - 1) // TILE, 1), (TILE, TILE, 1)

    @staticmethod
    def unfit(m: int, n: int, k: int) -> Optional[str]:
        """Why an ``[m, k] @ [k, n]`` product cannot be launched, or None."""
        if m == 0 or n == 0:
            return "an empty result (a grid needs at least one block)"
        if (n + TILE - 1) // TILE > MAX_GRID_Y:
            return f"{n} columns need more than {MAX_GRID_Y} column tiles"
        if max(m, n, k) >= 2 ** 31:
            return "a dimension does not fit the kernel's int sizes"
        return None

    def __repr__(self) -> str:
        return f"<GeneratedGemm {self.name}>"


_TEMPLATE = r"""// {name}: out[M, N] = x[M, K] @ {w_text}{bias_text}   (Note [CUDA GEMM])
// cupy.RawKernel; grid ((M + {T} - 1) / {T}, (N + {T} - 1) / {T}), block ({T}, {T})
extern "C" __global__ void {name}(
        const {c}* __restrict__ x, const {c}* __restrict__ w,{bias_param}
        {c}* __restrict__ out, const int M, const int N, const int K) {{
    __shared__ {c} xs[{T}][{T}];          // xs[r][k] = x[row0 + r, k0 + k]
    __shared__ {c} ws[{T}][{T} + 1];      // ws[k][c] = w as [K, N] at (k0 + k, col0 + c)
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row0 = blockIdx.x * {T}, col0 = blockIdx.y * {T};
    const int row = row0 + ty, col = col0 + tx;      // this thread's element of out
    {c} acc = 0;
    for (int k0 = 0; k0 < K; k0 += {T}) {{
        xs[ty][tx] = (row < M && k0 + tx < K)
            ? x[static_cast<long long>(row) * K + k0 + tx] : static_cast<{c}>(0);
{load_w}
        __syncthreads();
        #pragma unroll
        for (int k = 0; k < {T}; ++k) {{
            acc = fma(xs[ty][k], ws[k][tx], acc);
        }}
        __syncthreads();
    }}
    if (row < M && col < N) {{
        out[static_cast<long long>(row) * N + col] = acc{add_bias};
    }}
}}
"""

_LOAD_W_TRANSPOSED = r"""        // w is [N, K]: read along K (coalesced), store the tile transposed
        ws[tx][ty] = (col0 + ty < N && k0 + tx < K)
            ? w[static_cast<long long>(col0 + ty) * K + k0 + tx] : static_cast<{c}>(0);"""

_LOAD_W = r"""        // w is [K, N]: read along N (coalesced).
        ws[ty][tx] = (k0 + ty < K && col < N)
            ? w[static_cast<long long>(k0 + ty) * N + col] : static_cast<{c}>(0);"""


@functools.lru_cache(maxsize=None)
def _generate(dtype_name: str, transposed: bool, has_bias: bool) -> GeneratedGemm:
    if dtype_name not in SUPPORTED_DTYPES:
        raise ValueError(f"the CUDA GEMM supports {', '.join(SUPPORTED_DTYPES)}, not "
                         f"{dtype_name}")
    d = _dt.from_numpy_dtype(np.dtype(dtype_name))
    c = d.c_type
    name = f"minijit_gemm_{'nt' if transposed else 'nn'}{'_bias' if has_bias else ''}_" \
           f"{dtype_name}"
    load_w = (_LOAD_W_TRANSPOSED if transposed else _LOAD_W).format(c=c)
    source = _TEMPLATE.format(
        name=name, c=c, T=TILE, load_w=load_w,
        w_text="w[N, K]^T" if transposed else "w[K, N]",
        bias_text=" + bias[N]" if has_bias else "",
        bias_param=f"\n        const {c}* __restrict__ bias," if has_bias else "",
        add_bias=" + bias[col]" if has_bias else "")
    params = (("const " + c + "*", "x"), ("const " + c + "*", "w")) + \
        ((("const " + c + "*", "bias"),) if has_bias else ()) + \
        ((c + "*", "out"), ("int", "M"), ("int", "N"), ("int", "K"))
    return GeneratedGemm(name, source, np.dtype(dtype_name), transposed, has_bias, params)


def generate_gemm(dtype: Any, transposed: bool, has_bias: bool) -> GeneratedGemm:
    """The GEMM kernel for ``dtype`` (float32 or float64), ``w``'s layout and a bias or not
    (Note [CUDA GEMM]); generated once per combination.

    Raises:
        ValueError: for another dtype (half and integer products keep cuBLAS or CuPy).
    """
    return _generate(np.dtype(dtype).name, bool(transposed), bool(has_bias))


# ---- which registry ops are GEMMs ---------------------------------------------------------------
class GemmForm:
    """How an op's 2-D call maps onto the kernel: ``transposed`` (its second operand is
    ``[N, K]``) and ``bias`` (a third operand ``[N]`` is added)."""

    __slots__ = ("transposed", "bias")

    def __init__(self, transposed: bool, bias: bool):
        self.transposed = transposed
        self.bias = bias

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, GemmForm) and \
            (self.transposed, self.bias) == (other.transposed, other.bias)

    def __hash__(self) -> int:
        return hash((self.transposed, self.bias))

    def __repr__(self) -> str:
        return f"GemmForm(transposed={self.transposed}, bias={self.bias})"


@functools.lru_cache(maxsize=None)
def gemm_form(op: OpInfo) -> Optional[GemmForm]:
    """The :class:`GemmForm` of a ``LINALG`` registry op on 2-D operands, or None.

    What an op computes is read off its own ``impl`` on small NumPy probes, not from its
    name (Style: classify by tags, never by name lists): an op is a GEMM when
    ``impl(x[2, 3], w[3, 4])`` is ``x @ w``, or ``impl(x[2, 3], w[4, 3])`` is ``x @ w^T``;
    it takes a bias when a third argument ``b[4]`` gives that plus ``b``.  ``bmm`` refuses
    2-D operands, so it has no form and keeps its CuPy handler.

    Example:
        >>> from minijit.ops.registry import get
        >>> gemm_form(get("linear")), gemm_form(get("mm")), gemm_form(get("bmm"))
        (GemmForm(transposed=True, bias=True), GemmForm(transposed=False, bias=False), None)
    """
    if Tag.LINALG not in op.tags:
        return None
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3))
    for transposed, w in ((False, rng.standard_normal((3, 4))),
                          (True, rng.standard_normal((4, 3)))):
        want = x @ (w.T if transposed else w)
        if not _same(_try(op, x, w), want):
            continue
        bias = rng.standard_normal(4)
        takes_bias = len(op.schema.arguments) == 3 and _same(_try(op, x, w, bias), want + bias)
        return GemmForm(transposed, takes_bias)
    return None


def _try(op: OpInfo, *args: Any) -> Any:
    try:
        return op.impl(np, *args)
    except Exception:  # noqa: BLE001 - the op refuses these operands: not this form
        return None


def _same(got: Any, want: np.ndarray) -> bool:
    return isinstance(got, np.ndarray) and got.shape == want.shape and \
        bool(np.allclose(got, want, rtol=1e-12, atol=1e-12))
