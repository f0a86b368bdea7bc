"""Matrix products.  ``matmul`` follows PyTorch's case analysis (dot, mv, mm, batched), and its
grad_fn is named after the case that ran (``DotBackward0``, ``MvBackward0``, ``MmBackward0``,
``BmmBackward0``/``UnsafeViewBackward0``), as PyTorch's decomposition names it."""
from __future__ import annotations

from .. import dtypes as _dt
from .dispatch import OpError
from .registry import OpInfo, Tag, register

L = Tag.LINALG


def _cpp(array) -> str:
    return _dt.from_numpy_dtype(array.dtype).cpp_name


def _mm_error(rows: int, k: int, k2: int, cols: int) -> OpError:
    return OpError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{k} and {k2}x{cols})")


def _check_same_dtype(a, b) -> None:
    if a.dtype != b.dtype:
        raise OpError(f"expected m1 and m2 to have the same dtype, but got: {_cpp(a)} != {_cpp(b)}")


def _check_mm(a, b, name):
    """PyTorch's checks for ``mm`` (2-D @ 2-D)."""
    _check_same_dtype(a, b)
    if a.shape[1] != b.shape[0]:
        raise _mm_error(a.shape[0], a.shape[1], b.shape[0], b.shape[1])


def _batch_product(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _check_matmul(a, b) -> None:
    """The errors of PyTorch's ``matmul``, which come from the op each case runs: dot, mv, mm,
    mm on the folded batch (3-D+ @ 1-D/2-D), or bmm on the broadcast batch."""
    from .dispatch import broadcast_shapes_message
    d1, d2 = a.ndim, b.ndim
    if d1 == 0 or d2 == 0:
        raise OpError(f"both arguments to matmul need to be at least 1D, but they are {d1}D "
                      f"and {d2}D")
    if d1 == 1 and d2 == 1:
        if a.dtype != b.dtype:
            raise OpError(f"dot : expected both vectors to have same dtype, but found "
                          f"{_dt.from_numpy_dtype(a.dtype).scalar_name} and "
                          f"{_dt.from_numpy_dtype(b.dtype).scalar_name}")
        if a.shape[0] != b.shape[0]:
            raise OpError("inconsistent tensor size, expected tensor [%d] and src [%d] to have "
                          "the same number of elements, but got %d and %d elements respectively"
                          % (a.shape[0], b.shape[0], a.shape[0], b.shape[0]))
        return
    if d2 == 1 and d1 >= 2:             # mv, possibly on the folded batch
        _check_same_dtype(a, b)
        rows = _batch_product(a.shape[:-1])
        if a.shape[-1] != b.shape[0]:
            raise OpError(f"size mismatch, got input ({rows}), mat ({rows}x{a.shape[-1]}), "
                          f"vec ({b.shape[0]})")
        return
    if d2 == 2 and d1 <= 2 or (d1 >= 3 and d2 == 2):   # mm (1-D is a 1×k matrix), or folded
        _check_same_dtype(a, b)
        rows = 1 if d1 == 1 else _batch_product(a.shape[:-1])
        if a.shape[-1] != b.shape[0]:
            raise _mm_error(rows, a.shape[-1], b.shape[0], b.shape[1])
        return
    # Batched: broadcast the batch dimensions, then bmm.
    message = broadcast_shapes_message([a.shape[:max(d1 - 2, 0)], b.shape[:max(d2 - 2, 0)]])
    if message is not None:
        raise OpError(message)
    if a.dtype != b.dtype:
        raise OpError(f"expected scalar type {_dt.from_numpy_dtype(a.dtype).scalar_name} but "
                      f"found {_dt.from_numpy_dtype(b.dtype).scalar_name}")
    m1 = a.shape[-1]
    m2 = b.shape[-2] if d2 > 1 else b.shape[0]
    if m1 != m2:
        import numpy as np
        batch = int(np.prod(np.broadcast_shapes(a.shape[:max(d1 - 2, 0)], b.shape[:max(d2 - 2, 0)])))
        raise OpError(f"Expected size for first two dimensions of batch2 tensor to be: "
                      f"[{batch}, {m1}] but got: [{batch}, {m2}].")


def _matmul_impl(xp, a, b):
    _check_matmul(a, b)
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
    if a.ndim == 2 and b.ndim >= 3 and a.requires_grad:
        # PyTorch folds this case (when self requires grad) with transposes and ends with a
        # copy (``should_fold`` in LinearAlgebra.cpp).
        return "CloneBackward0"
    # Folded into mm, or batched into bmm; either way it ends in _unsafe_view.
    return "UnsafeViewBackward0"


register(OpInfo("matmul", ["aten::matmul(Tensor self, Tensor other) -> Tensor"], _matmul_impl,
                tags=(L,), backward=_matmul_backward, saves=("self", "other"),
                saves_for={"self": ("other",), "other": ("self",)},
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
                saves_for={"self": ("mat2",), "mat2": ("self",)},
                sample_inputs=lambda make: [((make((3, 4)), make((4, 5))), {}),
                                            ((make((3, 4)), make((5, 6))), {}),
                                            ((make((3, 4)), make((4,))), {}),
                                            ((make((3, 4)), make((4, 2), dtype=_dt.float64)), {}),
                                            ((make((3, 4)).t(), make((3, 2))), {})]))


def _bmm_impl(xp, a, b):
    if a.ndim != 3:
        raise OpError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise OpError("batch2 must be a 3D tensor")
    if a.dtype != b.dtype:
        raise OpError(f"expected scalar type {_dt.from_numpy_dtype(a.dtype).scalar_name} but "
                      f"found {_dt.from_numpy_dtype(b.dtype).scalar_name}")
    if b.shape[0] != a.shape[0] or b.shape[1] != a.shape[2]:
        raise OpError(f"Expected size for first two dimensions of batch2 tensor to be: "
                      f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
    return xp.matmul(a, b)


register(OpInfo("bmm", ["aten::bmm(Tensor self, Tensor mat2) -> Tensor"], _bmm_impl, tags=(L,),
                backward=lambda ctx, g: (g.bmm(ctx.args[1].transpose(1, 2)),
                                         ctx.self.transpose(1, 2).bmm(g)),
                saves=("self", "mat2"), saves_for={"self": ("mat2",), "mat2": ("self",)},
                sample_inputs=lambda make: [((make((2, 3, 4)), make((2, 4, 5))), {}),
                                            ((make((2, 3, 4)), make((3, 4, 5))), {}),
                                            ((make((2, 3, 4)), make((2, 5, 5))), {}),
                                            ((make((3, 4)), make((4, 5))), {})]))


def _linear_impl(xp, x, weight, bias=None):
    if x.ndim == 0:
        raise OpError("both arguments to linear need to be at least 1D, but they are 0D and "
                      f"{weight.ndim}D")
    if weight.ndim == 1:
        if bias is not None:
            raise OpError("mat2 must be a matrix, got 1-D tensor")
        _check_matmul(x, weight)
        return xp.matmul(x, weight)
    if x.shape[-1] != weight.shape[-1]:
        rows = 1 if x.ndim == 1 else int(x.size // x.shape[-1])
        raise _mm_error(rows, x.shape[-1], weight.shape[-1], weight.shape[0])
    _check_same_dtype(x, weight)
    out = xp.matmul(x, weight.T)
    if bias is not None:
        if bias.ndim == 1 and bias.shape[0] == out.shape[-1] and bias.dtype == out.dtype:
            out += bias          # the common case: ``out`` is fresh, so add in place
            return out
        try:
            out = out + xp.broadcast_to(bias, out.shape)
        except ValueError:
            from .shape import expand_message
            raise OpError(expand_message(list(bias.shape), list(out.shape))) from None
    return out


def _linear_backward(ctx, g):
    x, w, b = ctx.input, ctx.weight, ctx.bias
    if w.ndim == 1:                     # x @ w: a matrix-vector product
        gx = g.unsqueeze(-1) * w if ctx.needs_input_grad[0] else None
        gw = (x * g.unsqueeze(-1)).reshape([-1, w.shape[0]]).sum(0) \
            if ctx.needs_input_grad[1] else None
        return gx, gw, None
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
    """PyTorch's ``linear`` decomposition: addmm for 2-D input with bias, addmm on the
    flattened input then a view for other contiguous inputs with bias, matmul (+ add)
    otherwise."""
    x, w, bias = bound
    if bias is None:
        if w.ndim == 1:
            return _matmul_name([x, w])
        return {1: "SqueezeBackward4", 2: "MmBackward0"}.get(x.ndim, "UnsafeViewBackward0")
    if x.ndim == 2:
        return "AddmmBackward0"
    if x.ndim == 1 or x.is_contiguous():
        return "ViewBackward0"
    return "AddBackward0"


def _linear_specialise(x, weight, bias=None):
    """For a compiled plan: shapes and dtypes checked once; the bias added in place."""
    if x.ndim == 0 or weight.ndim != 2 or x.shape[-1] != weight.shape[-1] or \
            x.dtype != weight.dtype:
        return None
    if bias is None:
        return lambda xp, x, weight, bias=None: xp.matmul(x, weight.T)
    if bias.ndim != 1 or bias.shape[0] != weight.shape[0] or bias.dtype != x.dtype:
        return None

    def linear(xp, x, weight, bias):
        out = xp.matmul(x, weight.T)
        out += bias
        return out
    return linear


register(OpInfo("linear", ["aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor"],
                _linear_impl, tags=(L,), backward=_linear_backward, saves=("input", "weight"),
                specialise=_linear_specialise,
                saves_for={"input": ("weight",), "weight": ("input",)},
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


# ---- einsum ------------------------------------------------------------------------------------
def _einsum_letters(equation: str, count: int) -> tuple:
    """(letters of each operand, letters of the output) of an equation without ``...``; the
    implicit output is the letters used once, in alphabetical order (NumPy's and PyTorch's)."""
    equation = equation.replace(" ", "")
    if "." in equation:
        raise NotImplementedError("minijit: einsum with '...' (ellipsis) is not supported")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != count:
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation" if count > len(inputs) else
                           "einsum(): fewer operands were provided than specified in the "
                           "equation")
    if not arrow:
        once = [c for c in sorted(set(lhs) - {","}) if lhs.count(c) == 1]
        rhs = "".join(once)
    for subs in inputs:
        if len(set(subs)) != len(subs):
            raise NotImplementedError("minijit: einsum with a subscript repeated within one "
                                      "operand (a diagonal) is not supported")
    return inputs, rhs


def _einsum(equation: str, tensors: list, path: object = None) -> object:
    """PyTorch's decomposition: operands are folded left to right, each pair as one ``bmm``
    over its shared letters (letters no later operand or the output needs are summed out
    first), so gradients are those of ``sum``, ``permute``, ``bmm`` and ``view``, as in
    PyTorch (``ViewBackward0`` for ``"bij,bkj->bik"``, ``SumBackward1`` for ``"ij->i"``)."""
    inputs, out = _einsum_letters(equation, len(tensors))
    for subs, t in zip(inputs, tensors):
        if len(subs) != t.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({len(subs)}) does not match the number of dimensions "
                               f"({t.dim()}) for operand {inputs.index(subs)} and no "
                               "ellipsis was given")
    size = {}
    for subs, t in zip(inputs, tensors):
        for c, n in zip(subs, t.shape):
            size.setdefault(c, n)

    def needed_after(k: int) -> set:
        return set(out).union(*[set(s) for s in inputs[k + 1:]])

    def sum_out(t: object, subs: str, keep: set) -> tuple:
        dims = [i for i, c in enumerate(subs) if c not in keep]
        if dims:
            t = t.sum(dims)
            subs = "".join(c for c in subs if c in keep)
        return t, subs

    acc, acc_subs = sum_out(tensors[0], inputs[0], needed_after(0) | set("".join(inputs[1:])))
    for k in range(1, len(tensors)):
        later = needed_after(k)
        b, b_subs = sum_out(tensors[k], inputs[k], later | set(acc_subs))
        acc, acc_subs = sum_out(acc, acc_subs, later | set(b_subs))
        batch = [c for c in acc_subs if c in b_subs and c in later]
        contracted = [c for c in acc_subs if c in b_subs and c not in later]
        a_only = [c for c in acc_subs if c not in b_subs]
        b_only = [c for c in b_subs if c not in acc_subs]

        def prod(letters: list) -> int:
            n = 1
            for c in letters:
                n *= size[c]
            return n
        if not contracted:        # nothing to sum over: a broadcast product, as PyTorch's ``mul``
            left = acc.permute([acc_subs.index(c) for c in batch + a_only])
            right = b.permute([b_subs.index(c) for c in batch + b_only])
            for _ in b_only:
                left = left.unsqueeze(-1)
            for _ in a_only:
                right = right.unsqueeze(len(batch))
            acc, acc_subs = left * right, "".join(batch + a_only + b_only)
            continue
        left = acc.permute([acc_subs.index(c) for c in batch + a_only + contracted]).reshape(
            [prod(batch), prod(a_only), prod(contracted)])
        right = b.permute([b_subs.index(c) for c in batch + contracted + b_only]).reshape(
            [prod(batch), prod(contracted), prod(b_only)])
        acc = left.bmm(right).view([size[c] for c in batch + a_only + b_only])
        acc_subs = "".join(batch + a_only + b_only)
    acc, acc_subs = sum_out(acc, acc_subs, set(out))
    if acc_subs != out:
        acc = acc.permute([acc_subs.index(c) for c in out])
    return acc


register(OpInfo("einsum", ["aten::einsum(str equation, Tensor[] tensors, *, int[]? path=None) -> Tensor"],
                _einsum, tags=(Tag.COMPOSITE,), method=False, function=False,
                sample_inputs=lambda make: [(("bij,bkj->bik", [make((2, 3, 4)), make((2, 5, 4))]), {}),
                                            (("ij,jk", [make((3, 4)), make((4, 2))]), {}),
                                            (("ij->i", [make((3, 4))]), {}),
                                            (("ij->ji", [make((3, 4))]), {}),
                                            (("i,i->", [make((4,)), make((4,))]), {}),
                                            (("i,j->ij", [make((3,)), make((2,))]), {}),
                                            (("bij,jk,bk->bi", [make((2, 3, 4)), make((4, 5)),
                                                                make((2, 5))]), {})]))
