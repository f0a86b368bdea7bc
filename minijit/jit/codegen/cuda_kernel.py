"""The CUDA kernel generator: one ``cupy.ElementwiseKernel`` per fusion group, from templates.

Note [CUDA kernels]
    A ``prim::FusionGroup`` holds a subgraph of pointwise ops (Note [Fusion groups] in
    ``passes/fuse.py``).  For one set of input dtypes this module writes the body of a CuPy
    ``ElementwiseKernel`` that computes the whole subgraph for one element, reading *only*
    each op's ``cuda_template`` from the registry (``({self} + {alpha} * {other})``) and its
    dtype rule.  CuPy does the rest: it broadcasts the inputs, walks strided arrays and
    launches one thread per output element, so a chain of ten ops reads its inputs once and
    writes its outputs once instead of making nine temporaries.

    Types are concrete C types from the dtype table (``dtypes.py``): every node's result is a
    ``const`` local of its result type (``const float v3 = ...``), each operand is converted
    to the node's compute type (``static_cast<double>(a1)``), comparisons give ``bool`` and
    ``int64`` stays ``long long``.  Python numbers become literals of the compute type, so
    ``x * 0.5`` on float32 is float arithmetic, as in eager code.  Half-precision values are
    computed in ``float`` and rounded to half after every op, which is what eager code does
    one op at a time.

    Templates are C expressions; some only make sense for floating-point values.  When a node
    computes in an integer or bool type and its template calls a C math function (``fabs``,
    ``floor``), divides, or inverts bools with ``~``, the kernel is not generated
    (:class:`KernelGenerationError`) and the group runs op by op, as eager CuPy would: those
    are the calls whose eager results (integer division by zero raises; ``abs`` of an int64
    is exact) a C expression would get wrong.

    The generated text is kept (``GeneratedCudaKernel.source``) and can be compiled outside
    CuPy: :func:`standalone_source` wraps the body into a complete ``__global__`` function
    over contiguous arrays, which the test suite compiles with ``nvcc -ptx`` on machines
    without a GPU.

    The statements are written by :class:`CudaExpressionBuilder`, which
    ``cuda_reduction.py`` reuses for the map function of a group fused into the sum or mean
    that reads it (Note [CUDA reductions]).

Example:
    >>> from minijit.jit.ir import parse_ir
    >>> from minijit.jit.codegen.numpy_kernel import GroupInfo
    >>> import numpy as np
    >>> g = parse_ir('''graph(%x : Tensor, %y : Tensor):
    ...   %1 : int = prim::Constant[value=1]()
    ...   %2 : Tensor = aten::add(%x, %y, %1)
    ...   %3 : Tensor = aten::tanh(%2)
    ...   %4 : Tensor = aten::gt(%3, %y)
    ...   return (%3, %4)
    ... ''')
    >>> f32 = np.dtype("float32")
    >>> k = generate_cuda_kernel(GroupInfo(g), (f32, f32), (False, False))
    >>> print(k.in_params, "->", k.out_params)
    float32 a0, float32 a1 -> float32 o0, bool o1
    >>> print(k.body, end="")
    const float v0 = static_cast<float>((a0 + static_cast<float>(1.0) * a1));
    const float v1 = static_cast<float>(tanh(v0));
    const bool v2 = static_cast<bool>((v1 > a1));
    o0 = v1;
    o1 = v2;
"""
from __future__ import annotations

import hashlib
import math
import re
import string
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ... import dtypes as _dt
from ..passes.shape_analysis import Meta, pointwise_dtypes
from .numpy_kernel import GroupInfo, KernelGenerationError

__all__ = ["GeneratedCudaKernel", "generate_cuda_kernel", "standalone_source", "PRELUDE",
           "HALF_PRELUDE", "STANDALONE_HEADER", "CudaExpressionBuilder", "cuda_template_problem",
           "kernel_key", "storage_type", "value_type", "c_literal"]

# ---- the helpers templates may call -------------------------------------------------------------
PRELUDE = r"""// minijit helpers named by the registry's CUDA templates (minijit/ops/pointwise.py)
struct minijit_none {};   // an optional Scalar argument that is None (clamp's min or max)

template <typename T> __device__ T minijit_sign(T x) {
    return x != x ? x : static_cast<T>((x > static_cast<T>(0)) - (x < static_cast<T>(0)));
}
template <typename T> __device__ T minijit_lower(T x, minijit_none) { return x; }
template <typename T, typename U> __device__ T minijit_lower(T x, U lo) {
    return x < static_cast<T>(lo) ? static_cast<T>(lo) : x;      // NaN stays NaN
}
template <typename T> __device__ T minijit_upper(T x, minijit_none) { return x; }
template <typename T, typename U> __device__ T minijit_upper(T x, U hi) {
    return x > static_cast<T>(hi) ? static_cast<T>(hi) : x;
}
template <typename T, typename L, typename H> __device__ T minijit_clamp(T x, L lo, H hi) {
    return minijit_upper(minijit_lower(x, lo), hi);
}
template <typename T> __device__ T minijit_gelu(T x) {
    const T half_sqrt2 = static_cast<T>(0.70710678118654752440);
    return static_cast<T>(0.5) * x * (static_cast<T>(1) + erf(x * half_sqrt2));
}
template <typename T, typename B, typename H>
__device__ T minijit_softplus(T x, B beta, H threshold) {
    T bx = x * static_cast<T>(beta);
    return bx > static_cast<T>(threshold) ? x : static_cast<T>(log1p(exp(bx)) / beta);
}
template <typename T, typename A, typename S, typename I>
__device__ T minijit_elu(T x, A alpha, S scale, I input_scale) {
    T neg = static_cast<T>(alpha) * (exp(x * static_cast<T>(input_scale)) - static_cast<T>(1));
    return static_cast<T>(scale) * (x > static_cast<T>(0) ? x : neg);
}
template <typename T> __device__ T minijit_remainder(T a, T b) {
    T r = fmod(a, b);                       // Python's sign convention: the divisor's sign
    const T zero = static_cast<T>(0);
    return (r != zero && ((r < zero) != (b < zero))) ? r + b : r;
}
"""

HALF_PRELUDE = r"""__device__ float minijit_round_half(float x) {   // eager rounds after every op
    return static_cast<float>(static_cast<float16>(x));
}
"""

# What CuPy's generated wrapper provides and a standalone file (``nvcc`` without CuPy) must
# declare itself: the half type CuPy calls ``float16``, then the helpers.
STANDALONE_HEADER = "#include <cuda_fp16.h>\ntypedef __half float16;\n" + PRELUDE + HALF_PRELUDE

# Helpers above that are right for integers and bools too (the others need floating point).
_INTEGER_SAFE_CALLS = frozenset({"minijit_sign", "minijit_clamp", "static_cast"})
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")


def cuda_template_problem(template: str, compute: Any) -> Optional[str]:
    """Why ``template`` cannot compute in ``compute`` (a minijit dtype), or None.

    See Note [CUDA kernels]: integer and bool arithmetic may only use operators other than
    ``/`` and ``%`` and the integer-safe helpers; ``~`` of a bool is not logical negation.

    Example:
        >>> cuda_template_problem("fabs({self})", _dt.int64)
        'calls fabs, a floating-point function, in int64 arithmetic'
        >>> cuda_template_problem("fabs({self})", _dt.float32) is None
        True
    """
    if compute.is_floating_point:
        return None
    text = template.replace("{", "").replace("}", "")
    for name in _CALL.findall(text):
        if name not in _INTEGER_SAFE_CALLS:
            return f"calls {name}, a floating-point function, in {compute.name} arithmetic"
    if "/" in text or "%" in text:
        return f"divides in {compute.name} arithmetic (eager raises on division by zero)"
    if compute is _dt.bool_ and "~" in text:
        return "applies ~ to a bool (C's ~true is -2, not false)"
    return None


# ---- C types and literals -----------------------------------------------------------------------
def storage_type(d: Any) -> str:
    """The C type of an array element (CuPy calls its half type ``float16``)."""
    return "float16" if d is _dt.float16 else d.c_type


def value_type(d: Any) -> str:
    """The C type a value of dtype ``d`` is computed in (half is computed in float)."""
    return "float" if d is _dt.float16 else d.c_type


def c_literal(value: Any, as_type: Optional[str]) -> str:
    """A Python constant as C source, converted to ``as_type`` when given.

    Example:
        >>> c_literal(0.5, "float"), c_literal(3, "long long"), c_literal(True, None)
        ('static_cast<float>(0.5)', 'static_cast<long long>(3LL)', 'true')
    """
    if value is None:
        return "minijit_none()"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = f"{value}LL"
    elif isinstance(value, float):
        if math.isnan(value):
            text = "__longlong_as_double(0x7ff8000000000000LL)"
        elif math.isinf(value):
            text = ("" if value > 0 else "-") + "__longlong_as_double(0x7ff0000000000000LL)"
        else:
            text = repr(value)
    else:
        raise KernelGenerationError(f"a {type(value).__name__} constant has no C form")
    return f"static_cast<{as_type}>({text})" if as_type is not None else text


def _scalar_for(value: Any, compute: Any) -> Any:
    """The dispatcher's conversion of a Python number for a ``compute``-typed kernel."""
    if isinstance(value, (bool, int, float)):
        if compute.is_floating_point:
            return float(value)
        if compute is _dt.bool_:
            return bool(value)
    return value


# ---- generation ---------------------------------------------------------------------------------
class GeneratedCudaKernel:
    """The source of one (group, dtypes) CUDA kernel; ``compile()`` lives in the backend.

    Attributes:
        name: the kernel's C name (unique per group structure and dtypes).
        in_params / out_params: CuPy parameter lists (``"float32 a0, int64 a1"``).
        body: the per-element C code.
        preamble: the helpers the body may call (:data:`PRELUDE`).
        result_dtypes: NumPy dtypes of the outputs.
        source: all of it, as it is shown to users.
    """

    __slots__ = ("name", "in_params", "out_params", "body", "preamble", "result_dtypes",
                 "input_dtypes", "source")

    def __init__(self, name: str, in_params: str, out_params: str, body: str, preamble: str,
                 input_dtypes: List[Any], result_dtypes: List[Any]):
        self.name = name
        self.in_params = in_params
        self.out_params = out_params
        self.body = body
        self.preamble = preamble
        self.input_dtypes = input_dtypes
        self.result_dtypes = result_dtypes
        self.source = (f"// {name}: cupy.ElementwiseKernel (preamble: minijit helpers)\n"
                       f"// in:  {in_params}\n// out: {out_params}\n{body}")


class CudaExpressionBuilder:
    """Lowers a group's nodes into C statements for one set of input dtypes (Note [CUDA
    kernels]); shared by the elementwise kernels here and the fused reductions of
    ``cuda_reduction.py``.

    Attributes:
        lines: one ``const <type> v<j> = <expression>;`` per node, in order.
        values: per node, ``(C name, Meta)`` of its result (``Meta.dtype`` is its dtype).
        inputs: per group input, ``(C name, Meta)``: ``a<k>``, read as the stored element.
        uses_half: some value is half precision (the kernel needs :data:`HALF_PRELUDE`).
    """

    def __init__(self, info: GroupInfo, dtypes: Sequence[Any], zero_dim: Sequence[bool]):
        self.info = info
        self.lines: List[str] = []
        self.uses_half = False
        self.inputs: List[Tuple[str, Meta]] = []
        for k, (dt, zero) in enumerate(zip(dtypes, zero_dim)):
            d = _dt.from_numpy_dtype(np.dtype(dt))
            self.uses_half |= d is _dt.float16
            self.inputs.append((f"a{k}", Meta(d, () if zero else (1,))))
        self.values: List[Tuple[str, Meta]] = []
        for node in info.nodes:
            self.lower_node(node)

    def ref(self, ref: Tuple[str, Any]) -> Tuple[Any, Optional[Tuple[str, Meta, bool]]]:
        """(bound value for the dtype rule, (C name, meta, is stored as an array element))."""
        kind, x = ref
        if kind == "in":
            name, meta = self.inputs[x]
            return meta, (name, meta, True)
        if kind == "val":
            name, meta = self.values[x]
            return meta, (name, meta, False)
        if hasattr(x, "shape") and hasattr(x, "dtype"):            # a tensor constant
            array = np.asarray(getattr(x, "_data", x))
            if array.ndim != 0:
                raise KernelGenerationError("a tensor constant with dimensions in a CUDA group")
            d = _dt.from_numpy_dtype(array.dtype)
            return Meta(d, ()), (c_literal(array.item(), value_type(d)), Meta(d, ()), False)
        return x, None

    def lower_node(self, node: Any) -> None:
        op = node.op
        if not op.cuda_template:
            raise KernelGenerationError(f"{op.kind} has no CUDA template in the registry")
        bound, operands = [], []
        for ref in node.args:
            b, o = self.ref(ref)
            bound.append(b)
            operands.append(o)
        used = frozenset(n for _, n, _, _ in string.Formatter().parse(op.cuda_template) if n)
        for arg, b, o in zip(node.schema.arguments, bound, operands):
            if arg.name not in used and o is None and \
                    not (b is None or (arg.has_default and b == arg.default)):
                raise KernelGenerationError(f"the CUDA template of {op.kind} ignores argument "
                                            f"'{arg.name}'")
        try:
            compute, result = pointwise_dtypes(op, bound)
        except Exception as exc:  # noqa: BLE001 - e.g. ``sub`` of bools: eager raises it
            raise KernelGenerationError(str(exc)) from exc
        problem = cuda_template_problem(op.cuda_template, compute)
        if problem is not None:
            raise KernelGenerationError(f"{op.kind}: {problem}")
        self.uses_half |= compute is _dt.float16 or result is _dt.float16
        operand_idx = set(op.operand_indices_for_len[len(bound)])
        compute_c = value_type(compute)
        fill: Dict[str, str] = {}
        for i, (arg, b, o) in enumerate(zip(node.schema.arguments, bound, operands)):
            if o is not None:                                        # a tensor
                name, meta, stored = o
                natural = storage_type(meta.dtype) if stored else value_type(meta.dtype)
                if i in operand_idx and natural != compute_c:
                    name = f"static_cast<{compute_c}>({name})"
                elif stored and meta.dtype is _dt.float16:
                    name = f"static_cast<float>({name})"
                fill[arg.name] = name
            elif arg.name not in used:
                continue
            elif i in operand_idx:                                   # a Python number
                fill[arg.name] = c_literal(_scalar_for(b, compute), compute_c)
            elif isinstance(b, (bool, int, float)) and not isinstance(b, bool) and \
                    compute.is_floating_point:                       # alpha, beta, slope...
                fill[arg.name] = c_literal(float(b), compute_c)
            else:
                fill[arg.name] = c_literal(b, None)
        try:
            expr = op.cuda_template.format(**fill)
        except Exception as exc:  # noqa: BLE001
            raise KernelGenerationError(f"cannot fill the CUDA template of {op.kind}: {exc}"
                                        ) from exc
        target = f"v{len(self.values)}"
        result_c = value_type(result)
        if result is _dt.float16:
            expr = f"minijit_round_half({expr})"
        self.lines.append(f"const {result_c} {target} = static_cast<{result_c}>({expr});")
        all_zero = all(not isinstance(b, Meta) or b.ndim == 0 for b in bound)
        self.values.append((target, Meta(result, () if all_zero else (1,))))


def kernel_key(info: GroupInfo, dtypes: Sequence[Any], zero_dim: Sequence[bool]) -> Tuple:
    """The kernel cache key: structure, input dtypes, 0-dim flags and the backend
    (Note [Kernel cache]; CuPy broadcasts, so there is no layout pattern)."""
    return (info.key, tuple(np.dtype(d).str for d in dtypes), tuple(bool(z) for z in zero_dim),
            "cuda")


def generate_cuda_kernel(info: GroupInfo, dtypes: Sequence[Any], zero_dim: Sequence[bool],
                         name: str = "fused") -> GeneratedCudaKernel:
    """The CUDA kernel of ``info`` for input ``dtypes`` (Note [CUDA kernels]).

    Raises :class:`KernelGenerationError` when a template cannot compute in these dtypes or
    the dtype rule refuses them (the group then runs op by op, raising eager's error).
    """
    builder = CudaExpressionBuilder(info, dtypes, zero_dim)
    lines = list(builder.lines)
    out_params, result_dtypes = [], []
    for j, (kind, x) in enumerate(info.outputs):
        value, meta = builder.values[x]
        result_dtypes.append(meta.dtype.np)
        out_params.append(f"{meta.dtype.np.name} o{j}")
        if meta.dtype is _dt.float16:
            value = f"static_cast<float16>({value})"
        lines.append(f"o{j} = {value};")
    in_params = ", ".join(f"{np.dtype(d).name} a{k}" for k, d in enumerate(dtypes))
    digest = hashlib.sha1(repr(kernel_key(info, dtypes, zero_dim)).encode()).hexdigest()[:12]
    safe = re.sub(r"\W", "_", name)
    preamble = PRELUDE + (HALF_PRELUDE if builder.uses_half else "")
    return GeneratedCudaKernel(f"minijit_{safe}_{digest}", in_params, ", ".join(out_params),
                               "\n".join(lines) + "\n", preamble,
                               [np.dtype(d) for d in dtypes], result_dtypes)


def standalone_source(kernel: GeneratedCudaKernel, header: bool = True) -> str:
    """``kernel`` as a complete CUDA C++ ``__global__`` function over contiguous arrays of one
    shape, for compiling with ``nvcc`` where CuPy is absent (CuPy writes its own wrapper with
    strides and broadcasting around the same body and preamble).

    ``header``: include ``cuda_fp16.h``, the half type CuPy calls ``float16``, and the
    preamble (once per file when several kernels are compiled together).
    """
    params, loads = [], []
    for k, d in enumerate(kernel.input_dtypes):
        c = storage_type(_dt.from_numpy_dtype(d))
        params.append(f"const {c}* __restrict__ a{k}_")
        loads.append(f"    const {c} a{k} = a{k}_[i];")
    for j, d in enumerate(kernel.result_dtypes):
        c = storage_type(_dt.from_numpy_dtype(d))
        params.append(f"{c}* __restrict__ o{j}_")
        loads.append(f"    {c}& o{j} = o{j}_[i];")
    body = "\n".join("    " + line for line in kernel.body.splitlines())
    text = (f'extern "C" __global__ void {kernel.name}({", ".join(params)}, long long n) {{\n'
            "    long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;\n"
            "    if (i >= n) return;\n" + "\n".join(loads) + "\n" + body + "\n}\n")
    if header:
        text = STANDALONE_HEADER + "\n" + text
    return text
