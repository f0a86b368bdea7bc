"""Matrix products.  ``matmul`` follows PyTorch's case analysis (dot, mv, mm, batched), and its
grad_fn is named after the case that ran (``DotBackward0``, ``MvBackward0``, ``MmBackward0``,
``BmmBackward0``/``UnsafeViewBackward0``), as PyTorch's decomposition names it."""
from __future__ import annotations

from .. import dtypes as _dt
from .dispatch import OpError
from .registry import OpInfo, Tag, register

L = Tag.LINALG


def _check_mm(a, b, name):
    if a.dtype != b.dtype:
        raise OpError(f"expected m1 and m2 to have the same dtype, but got: "
                      f"{_dt.from_numpy_dtype(a.dtype).name} != {_dt.from_numpy_dtype(b.dtype).name}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        shape_a = "x".join(map(str, a.shape[-2:] if a.ndim > 1 else (1,) + a.shape))
        shape_b = "x".join(map(str, b.shape[-2:] if b.ndim > 1 else b.shape + (1,)))
        if a.ndim == 1 and b.ndim == 1:
            raise OpError("inconsistent tensor size, expected tensor [%d] and src [%d] to have the "
                          "same number of elements, but got %d and %d elements respectively"
                          % (a.shape[0], b.shape[0], a.shape[0], b.shape[0]))
        raise OpError(f"mat1 and mat2 shapes cannot be multiplied ({shape_a} and {shape_b})")


def _matmul_impl(xp, a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise OpError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D "
                      f"and {b.ndim}D")
    _check_mm(a, b, "matmul")
    return xp.matmul(a, b)


def _matmul_backward(ctx, g):
    a, b = ctx.self, ctx.other
    ga = gb = None
    if a.ndim == 1 and b.ndim == 1:
        return (g * b if ctx.needs_input_grad[0] else None, g * a if ctx.needs_input_grad[1] else None)
    if ctx.needs_input_grad[0]:
        if b.ndim == 1:
            ga = g.unsqueeze(-1) * b
        elif a.ndim == 1:
            ga = (g.unsqueeze(-2) @ b.transpose(-1, -2)).squeeze(-2)
        else:
            ga = g @ b.transpose(-1, -2)
    if ctx.needs_input_grad[1]:
        if a.ndim == 1:
            gb = a.unsqueeze(-1) * g.unsqueeze(-2)
        elif b.ndim == 1:
            gb = (a.transpose(-1, -2) @ g.unsqueeze(-1)).squeeze(-1)
        else:
            gb = a.transpose(-1, -2) @ g
    return ga, gb


def _matmul_name(bound):
    a, b = bound
    if a.ndim == 1 and b.ndim == 1:
        return "DotBackward0"
    if a.ndim == 2 and b.ndim == 1:
        return "MvBackward0"
    if a.ndim == 1 and b.ndim == 2:
        return "SqueezeBackward4"
    if a.ndim == 2 and b.ndim == 2:
        return "MmBackward0"
    if a.ndim == 2 and b.ndim >= 3:
        # PyTorch folds this case with transposes and ends with a copy.
        return "CloneBackward0"
    # Folded into mm, or batched into bmm; either way it ends in _unsafe_view.
    return "UnsafeViewBackward0"


register(OpInfo("matmul", ["aten::matmul(Tensor self, Tensor other) -> Tensor"], _matmul_impl,
                tags=(L,), backward=_matmul_backward, saves=("self", "other"),
                grad_fn_name=_matmul_name, dunders=("__matmul__",),
                sample_inputs=lambda make: [((make((3, 4)), make((4, 5))), {}),
                                            ((make((4,)), make((4,))), {}),
                                            ((make((3, 4)), make((4,))), {}),
                                            ((make((4,)), make((4, 2))), {}),
                                            ((make((2, 3, 4)), make((2, 4, 5))), {}),
                                            ((make((2, 3, 4)), make((4, 5))), {}),
                                            ((make((5, 1, 3, 4)), make((2, 4, 3))), {}),
                                            ((make((3, 4)), make((2, 4, 5))), {}),
                                            ((make((4,)), make((2, 4, 5))), {}),
                                            ((make((2, 3, 4)), make((4,))), {}),
                                            ((make((1, 3, 4)), make((4, 5))), {}),
                                            ((make((3, 4), dtype=_dt.float64), make((4, 2), dtype=_dt.float64)), {}),
                                            ((make((3, 4), dtype=_dt.int64), make((4, 2), dtype=_dt.int64)), {}),
                                            ((make((3, 4)), make((5, 6))), {}),
                                            ((make((3, 4)), make((5,))), {}),
                                            ((make((4,)), make((5,))), {}),
                                            ((make((2, 3, 4)), make((3, 5, 6))), {}),
                                            ((make((3, 4)), make((4, 2), dtype=_dt.float64)), {}),
                                            ((make(()), make((4,))), {})]))


def _mm_impl(xp, a, b):
    if a.ndim != 2:
        raise OpError("self must be a matrix")
    if b.ndim != 2:
        raise OpError("mat2 must be a matrix")
    _check_mm(a, b, "mm")
    return xp.matmul(a, b)


def _mm_backward(ctx, g):
    a, b = ctx.self, ctx.args[1]
    return (g.mm(b.t()) if ctx.needs_input_grad[0] else None,
            a.t().mm(g) if ctx.needs_input_grad[1] else None)


register(OpInfo("mm", ["aten::mm(Tensor self, Tensor mat2) -> Tensor"], _mm_impl, tags=(L,),
                backward=_mm_backward, saves=("self", "mat2"),
                sample_inputs=lambda make: [((make((3, 4)), make((4, 5))), {}),
                                            ((make((3, 4)), make((5, 6))), {}),
                                            ((make((3, 4)), make((4,))), {}),
                                            ((make((3, 4)), make((4, 2), dtype=_dt.float64)), {}),
                                            ((make((3, 4)).t(), make((3, 2))), {})]))


def _bmm_impl(xp, a, b):
    if a.ndim != 3 or b.ndim != 3:
        raise OpError(f"batch1 must be a 3D tensor")
    if a.shape[0] != b.shape[0]:
        raise OpError(f"batch1 and batch2 must have same number of batches, got {a.shape[0]} and "
                      f"{b.shape[0]}")
    _check_mm(a, b, "bmm")
    return xp.matmul(a, b)


register(OpInfo("bmm", ["aten::bmm(Tensor self, Tensor mat2) -> Tensor"], _bmm_impl, tags=(L,),
                backward=lambda ctx, g: (g.bmm(ctx.args[1].transpose(1, 2)),
                                         ctx.self.transpose(1, 2).bmm(g)),
                saves=("self", "mat2"),
                sample_inputs=lambda make: [((make((2, 3, 4)), make((2, 4, 5))), {}),
                                            ((make((2, 3, 4)), make((3, 4, 5))), {}),
                                            ((make((2, 3, 4)), make((2, 5, 5))), {}),
                                            ((make((3, 4)), make((4, 5))), {})]))


def _linear_impl(xp, x, weight, bias=None):
    if x.ndim == 0:
        raise OpError("both arguments to linear need to be at least 1D, but they are 0D and "
                      f"{weight.ndim}D")
    if x.shape[-1] != weight.shape[-1]:
        rows = 1 if x.ndim == 1 else int(x.size // x.shape[-1])
        raise OpError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} and "
                      f"{weight.shape[-1]}x{weight.shape[0] if weight.ndim > 1 else 1})")
    if x.dtype != weight.dtype:
        raise OpError(f"mat1 and mat2 must have the same dtype, but got "
                      f"{_dt.from_numpy_dtype(x.dtype).scalar_name} and "
                      f"{_dt.from_numpy_dtype(weight.dtype).scalar_name}")
    out = xp.matmul(x, weight.T)
    if bias is not None:
        out = out + bias
    return out


def _linear_backward(ctx, g):
    x, w, b = ctx.input, ctx.weight, ctx.bias
    gx = g @ w if ctx.needs_input_grad[0] else None
    gw = None
    if ctx.needs_input_grad[1]:
        if x.ndim == 1:
            gw = g.unsqueeze(-1) * x
        else:
            g2 = g.reshape([-1, g.shape[-1]])
            gw = g2.t().mm(x.reshape([-1, x.shape[-1]]))
    gb = g if b is not None and ctx.needs_input_grad[2] else None
    return gx, gw, gb


def _linear_name(bound):
    x, _, bias = bound
    if x.ndim == 2:
        return "AddmmBackward0" if bias is not None else "MmBackward0"
    if x.ndim == 1:
        return "AddBackward0" if bias is not None else "SqueezeBackward4"
    return "ViewBackward0"


register(OpInfo("linear", ["aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor"],
                _linear_impl, tags=(L,), backward=_linear_backward, saves=("input", "weight"),
                grad_fn_name=_linear_name, method=False,
                sample_inputs=lambda make: [((make((3, 4)), make((5, 4)), make((5,))), {}),
                                            ((make((4,)), make((5, 4))), {}),
                                            ((make((2, 3, 4)), make((5, 4)), make((5,))), {}),
                                            ((make((3, 4)), make((5, 4))), {}),
                                            ((make((2, 3, 4)), make((5, 4))), {}),
                                            ((make((4,)), make((5, 4)), make((5,))), {}),
                                            ((make((3, 4)), make((5, 4)), make(())), {}),
                                            ((make((3, 4)), make((5, 3))), {}),
                                            ((make((3, 4)), make((4,))), {})]))
