"""Pointwise ops: one record each, with kernel, derivative and fuser templates side by side.

Templates: ``numpy_template`` is a Python expression over NumPy (names ``np`` and the helpers in
``minijit.ops.kernels``), ``cuda_template`` a CUDA C expression; ``{self}``, ``{other}`` ...
stand for the operands by schema name.  The fusers (``jit/codegen``) read only these.

Backward rules read like ``derivatives.yaml``: ``ctx.<arg>`` are the forward arguments,
``ctx.result`` the output, and each rule returns one gradient per tensor argument.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .. import dtypes as _dt
from . import kernels as K
from .dispatch import OpError, quietly
from .registry import OpInfo, Tag, register
from .samples import no_gradcheck

P = Tag.POINTWISE


# ---- dtype rules: rule(common, bound=None) -> (compute dtype, result dtype) --------------------
def _promote(common: _dt.dtype, bound: Any = None):
    return common, common


def _to_float(common: _dt.dtype, bound: Any = None):
    f = common if common.is_floating_point else _dt.get_default_dtype()
    return f, f


def _to_bool(common: _dt.dtype, bound: Any = None):
    return common, _dt.bool_


def _is_bool(x: Any) -> bool:
    return isinstance(x, bool) or (_is_tensor(x) and x.dtype is _dt.bool_)


def _sub_rule(common: _dt.dtype, bound: Any = None):
    if bound is not None:
        a, b = bound[0], bound[1]
        if _is_bool(a) and _is_bool(b):
            raise OpError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                          "Use the `^` or `logical_xor()` operator instead.")
        if _is_bool(a) or _is_bool(b):
            raise OpError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                          "If you are trying to invert a mask, use the `~` or `logical_not()` "
                          "operator instead.")
    return common, common


def _neg_rule(common: _dt.dtype, bound: Any = None):
    if common is _dt.bool_:
        raise OpError("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                      "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return common, common


def _integral_rule(kernel: str) -> Callable:
    """Bitwise ops exist for integers and bools only (PyTorch names its CPU kernel)."""
    def rule(common: _dt.dtype, bound: Any = None):
        if common.is_floating_point:
            raise OpError(f'"{kernel}" not implemented for \'{common.scalar_name}\'',
                          NotImplementedError)
        return common, common
    return rule


def _uf(name: str) -> Callable:
    """The impl that is NumPy's/CuPy's ufunc ``name``; the fast entry calls the ufunc itself."""
    def impl(xp, *args):
        return getattr(xp, name)(*args)
    impl.__name__ = name
    impl.ufunc = name
    return impl


def _int_checked(name: str) -> Callable:
    """``name``'s ufunc, refusing integer division by zero as PyTorch does."""
    def impl(xp, a, b):
        if getattr(a, "dtype", np.dtype(type(a))).kind in "iub" and \
                getattr(b, "dtype", np.dtype(type(b))).kind in "iub" and (xp.asarray(b) == 0).any():
            raise OpError("ZeroDivisionError")
        return getattr(xp, name)(a, b)
    return impl


def _quiet(kernel: Callable) -> Callable:
    """Run ``kernel`` without NumPy's floating-point warnings: PyTorch returns inf/nan silently
    (``log(0)``, ``1 / 0``).  Only kernels that meet such values in ordinary use pay for it
    (~0.1 µs: ``dispatch.quietly``, not ``np.errstate``, which costs ~2 µs)."""
    def quiet(xp, *args):
        return quietly(kernel, xp, *args)
    quiet.__name__ = getattr(kernel, "__name__", "kernel")
    return quiet


def _is_tensor(x: Any) -> bool:
    return hasattr(x, "_data")


# ---- sample inputs for the op tests: make(shape, low=, high=, dtype=) -> Tensor -------------
def _unary_samples(low: float = -2.0, high: float = 2.0, ints: bool = True) -> Callable:
    """3×4, 0-dim, float64, non-contiguous, and (``ints``) int64 inputs in ``[low, high)``."""
    def samples(make):
        out = [((make((3, 4), low=low, high=high),), {}),
               ((make((), low=low, high=high),), {}),
               ((make((5,), low=low, high=high, dtype=_dt.float64),), {}),
               ((make((4, 3), low=low, high=high).t(),), {})]
        if ints:
            out.append(((make((3, 4), low=low, high=high + 1, dtype=_dt.int64),), {}))
        return out
    return samples


def _binary_samples(low: float = -2.0, high: float = 2.0, scalar: Any = 0.5,
                    ints: bool = True) -> Callable:
    """Same shapes, broadcasting both ways, a Python number, mixed float dtypes, 0-dim
    operands (which do not promote dimensioned ones) and, with ``ints``, integer and bool
    operands (positive, so division and powers are defined)."""
    def samples(make):
        def f(shape, dtype=None):
            return make(shape, low=low, high=high, dtype=dtype)

        def i(shape, dtype=_dt.int64):
            return make(shape, low=1, high=5, dtype=dtype)
        out = [((f((3, 4)), f((3, 4))), {}),
               ((f((3, 4)), f((4,))), {}),
               ((f((2, 1, 3)), f((4, 1))), {}),
               ((f((3, 4)), scalar), {}),
               ((f((3,), _dt.float64), f((3,))), {}),
               ((f((3, 4)), f((), _dt.float64)), {}),
               ((f(()), f((3, 4))), {})]
        if ints:
            out += [((i((3, 4)), i((3, 4))), {}),
                    ((i((3, 4)), 2.5), {}),
                    ((i((3, 4)), 3), {}),
                    ((i((3, 4), _dt.int32), i((4,))), {}),
                    ((i((3, 4)), f((3, 4))), {}),
                    ((make((3, 4), dtype=_dt.bool_), i((3, 4))), {})]
        return out
    return samples


def _inplace_samples(samples: Callable) -> Callable:
    """The samples of an op that are valid for its in-place twin: ``self`` is not broadcast
    and has the result's dtype category (``self`` cannot grow or change type in place)."""
    def valid(make):
        out = []
        for args, kwargs in samples(make):
            self_ = args[0]
            if not _is_tensor(self_):
                continue
            shapes = [tuple(a.shape) for a in args if _is_tensor(a)]
            if tuple(np.broadcast_shapes(*shapes)) != tuple(self_.shape):
                continue
            if any(_is_tensor(a) and a.dtype.category > self_.dtype.category for a in args):
                continue
            out.append((args, kwargs))
        return out
    return valid


def unary(name: str, impl: Callable, np_t: str, cuda_t: str, backward: Optional[Callable],
          saves: Sequence[str] = ("self",), float_result: bool = True, samples: Any = None,
          extra_args: str = "", grad_fn_name: Optional[str] = None, tags: Sequence[Tag] = (),
          dunders: Sequence[str] = (), inplace: bool = False, rule: Optional[Callable] = None,
          inplace_backward: Optional[Callable] = None, inplace_saves: Optional[Sequence[str]] = None,
          inplace_grad_fn_name: Optional[str] = None) -> OpInfo:
    """Register ``aten::<name>(Tensor self) -> Tensor`` (and ``<name>_`` when ``inplace``).

    The in-place twin shares the kernel and, unless given its own (PyTorch sometimes has a
    separate formula for it, ``LeakyReluBackward1``), the derivative.
    """
    schema = f"aten::{name}(Tensor self{extra_args}) -> Tensor"
    if rule is None:
        rule = _to_float if float_result else _promote
    op = register(OpInfo(name, [schema], impl, tags=(P, *tags), dtype_rule=rule,
                         backward=backward, saves=saves if backward else (),
                         numpy_template=np_t, cuda_template=cuda_t, dunders=dunders,
                         sample_inputs=samples or _unary_samples(), grad_fn_name=grad_fn_name))
    if inplace:
        register(OpInfo(name + "_", [f"aten::{name}_(Tensor(a!) self{extra_args}) -> Tensor(a!)"],
                        impl, tags=(P, Tag.INPLACE, *tags), dtype_rule=rule,
                        backward=inplace_backward or backward,
                        saves=(inplace_saves if inplace_saves is not None else saves)
                        if backward else (), function=False, inplace_of=name,
                        grad_fn_name=inplace_grad_fn_name or op.grad_fn_name,
                        numpy_template=np_t, cuda_template=cuda_t,
                        sample_inputs=_inplace_samples(op.sample_inputs)))
    return op


def binary(name: str, schemas: Sequence[str], impl: Callable, np_t: str, cuda_t: str,
           backward: Optional[Callable], saves: Sequence[str] = ("self", "other"),
           rule: Callable = _promote, dunders: Sequence[str] = (), samples: Any = None,
           tags: Sequence[Tag] = (), inplace_schema: Any = None,
           grad_fn_name: Any = None, method: bool = True,
           saves_for: Optional[dict] = None, archive_version: int = 0) -> OpInfo:
    """Register a broadcasting binary op (and its in-place twin when given a schema)."""
    op = register(OpInfo(name, schemas, impl, tags=(P, *tags), dtype_rule=rule,
                         backward=backward, saves=saves if backward else (),
                         numpy_template=np_t, cuda_template=cuda_t, dunders=dunders,
                         sample_inputs=samples or _binary_samples(), grad_fn_name=grad_fn_name,
                         method=method, saves_for=saves_for, archive_version=archive_version))
    if inplace_schema:
        schemas_ = [inplace_schema] if isinstance(inplace_schema, str) else list(inplace_schema)
        register(OpInfo(name + "_", schemas_, impl, tags=(P, Tag.INPLACE, *tags),
                        dtype_rule=rule, backward=backward, saves=saves if backward else (),
                        saves_for=saves_for, archive_version=archive_version,
                        function=False, inplace_of=name, grad_fn_name=grad_fn_name,
                        numpy_template=np_t, cuda_template=cuda_t,
                        sample_inputs=_inplace_samples(op.sample_inputs)))
    return op


# ---- unary math -------------------------------------------------------------------------------
unary("neg", _uf("negative"), "np.negative({self})", "(-{self})",
      lambda ctx, g: (-g,), saves=(), rule=_neg_rule, dunders=("__neg__",), inplace=True,
      tags=(Tag.SPECULATABLE,))
unary("abs", _uf("abs"), "np.abs({self})", "fabs({self})",
      lambda ctx, g: (g * ctx.self.sgn(),), float_result=False, dunders=("__abs__",),
      inplace=True, tags=(Tag.SPECULATABLE,))
unary("sgn", _uf("sign"), "np.sign({self})", "minijit_sign({self})",
      lambda ctx, g: (g * 0,), saves=(), float_result=False)
unary("sign", _uf("sign"), "np.sign({self})", "minijit_sign({self})",
      lambda ctx, g: (g * 0,), saves=(), float_result=False)
unary("exp", _quiet(lambda xp, x: xp.exp(x)), "np.exp({self})", "exp({self})",
      lambda ctx, g: (g * ctx.result,), saves=("result",), inplace=True)
unary("log", _quiet(lambda xp, x: xp.log(x)), "np.log({self})", "log({self})",
      lambda ctx, g: (g / ctx.self,), samples=_unary_samples(0.1, 3.0), inplace=True)
unary("log1p", _quiet(lambda xp, x: xp.log1p(x)), "np.log1p({self})", "log1p({self})",
      lambda ctx, g: (g / (ctx.self + 1),), samples=_unary_samples(-0.5, 3.0))
unary("expm1", _quiet(lambda xp, x: xp.expm1(x)), "np.expm1({self})", "expm1({self})",
      lambda ctx, g: (g * (ctx.result + 1),), saves=("result",))
unary("sqrt", _quiet(lambda xp, x: xp.sqrt(x)), "np.sqrt({self})", "sqrt({self})",
      lambda ctx, g: (g / (2 * ctx.result),), saves=("result",),
      samples=_unary_samples(0.1, 3.0), inplace=True)
unary("rsqrt", _quiet(lambda xp, x: 1 / xp.sqrt(x)), "(1 / np.sqrt({self}))", "rsqrt({self})",
      lambda ctx, g: (g * -0.5 * ctx.result ** 3,), saves=("result",),
      samples=_unary_samples(0.1, 3.0))
unary("reciprocal", _quiet(lambda xp, x: 1 / x), "(1 / {self})", "(1 / {self})",
      lambda ctx, g: (g * -(ctx.result * ctx.result),), saves=("result",),
      samples=_unary_samples(0.5, 3.0))
unary("sin", _uf("sin"), "np.sin({self})", "sin({self})",
      lambda ctx, g: (g * ctx.self.cos(),), inplace=True)
unary("cos", _uf("cos"), "np.cos({self})", "cos({self})",
      lambda ctx, g: (g * -ctx.self.sin(),), inplace=True)
unary("tanh", _uf("tanh"), "np.tanh({self})", "tanh({self})",
      lambda ctx, g: (g * (1 - ctx.result * ctx.result),), saves=("result",), inplace=True,
      tags=(Tag.SPECULATABLE,))
unary("sigmoid", _quiet(K.sigmoid), "(1 / (1 + np.exp(np.negative({self}))))", "(1 / (1 + exp(-{self})))",
      lambda ctx, g: (g * ctx.result * (1 - ctx.result),), saves=("result",), inplace=True,
      tags=(Tag.SPECULATABLE,))
unary("relu", lambda xp, x: xp.maximum(x, 0).astype(x.dtype, copy=False),
      "np.maximum({self}, 0)", "({self} > 0 ? {self} : 0)",
      lambda ctx, g: (g * (ctx.result > 0),), saves=("result",), float_result=False,
      inplace=True, tags=(Tag.SPECULATABLE,))
unary("gelu", K.gelu, "_k.gelu(np, {self}, {approximate})", "minijit_gelu({self})",
      lambda ctx, g: (g * K.gelu_grad_tensor(ctx.self, ctx.approximate),),
      extra_args=', *, str approximate="none"',
      samples=lambda make: _unary_samples(ints=False)(make) + [((make((3, 4)),),
                                                                 {"approximate": "tanh"})])
unary("silu", _quiet(K.silu), "_k.silu(np, {self})", "({self} / (1 + exp(-{self})))",
      lambda ctx, g: (g * K.silu_grad_tensor(ctx.self),), samples=_unary_samples(ints=False))
unary("softplus", _quiet(K.softplus), "_k.softplus(np, {self}, {beta}, {threshold})",
      "minijit_softplus({self}, {beta}, {threshold})",
      lambda ctx, g: (g * K.softplus_grad_tensor(ctx.self, ctx.beta, ctx.threshold),),
      extra_args=", Scalar beta=1, Scalar threshold=20",
      samples=lambda make: _unary_samples(ints=False)(make) + [
          ((make((3, 4), low=-5, high=5), 2.0, 3.0), {})])
unary("leaky_relu", lambda xp, x, slope: xp.where(x > 0, x, x * slope).astype(x.dtype, copy=False),
      "np.where({self} > 0, {self}, {self} * {negative_slope})",
      "({self} > 0 ? {self} : {self} * {negative_slope})",
      lambda ctx, g: (g.where(ctx.self > 0, g * ctx.negative_slope),),
      extra_args=", Scalar negative_slope=0.01", inplace=True,
      samples=lambda make: _unary_samples(ints=False)(make) + [((make((3, 4)), 0.2), {})],
      # In place, PyTorch differentiates through the result (LeakyReluBackward1).
      inplace_backward=lambda ctx, g: (g.where(ctx.result > 0, g * ctx.negative_slope),),
      inplace_saves=("result",), inplace_grad_fn_name="LeakyReluBackward1")
unary("elu", _quiet(K.elu), "_k.elu(np, {self}, {alpha}, {scale}, {input_scale})",
      "minijit_elu({self}, {alpha}, {scale}, {input_scale})",
      lambda ctx, g: (g * K.elu_grad_tensor(ctx.self, ctx.alpha, ctx.scale, ctx.input_scale),),
      extra_args=", Scalar alpha=1, Scalar scale=1, Scalar input_scale=1",
      samples=lambda make: _unary_samples(ints=False)(make) + [((make((3, 4)), 0.5, 2.0, 1.5), {})])
unary("floor", _uf("floor"), "np.floor({self})", "floor({self})",
      lambda ctx, g: (g * 0,), saves=(), float_result=False)
unary("ceil", _uf("ceil"), "np.ceil({self})", "ceil({self})",
      lambda ctx, g: (g * 0,), saves=(), float_result=False)
unary("round", _uf("rint"), "np.round({self})", "rint({self})",
      lambda ctx, g: (g * 0,), saves=(), float_result=False)
unary("erf", K.erf, "_k.erf(np, {self})", "erf({self})",
      lambda ctx, g: (g * (2 / math.sqrt(math.pi)) * (-(ctx.self * ctx.self)).exp(),))
unary("square", _uf("square"), "np.square({self})", "({self} * {self})",
      lambda ctx, g: (g * 2 * ctx.self,), float_result=False, grad_fn_name="PowBackward0",
      inplace=True)
unary("log2", _quiet(_uf("log2")), "np.log2({self})", "log2({self})",
      lambda ctx, g: (g / (ctx.self * math.log(2.0)),), samples=_unary_samples(0.1, 3.0))
unary("log10", _quiet(_uf("log10")), "np.log10({self})", "log10({self})",
      lambda ctx, g: (g / (ctx.self * math.log(10.0)),), samples=_unary_samples(0.1, 3.0))
unary("exp2", _quiet(_uf("exp2")), "np.exp2({self})", "exp2({self})",
      lambda ctx, g: (g * ctx.result * math.log(2.0),), saves=("result",))
unary("tan", _uf("tan"), "np.tan({self})", "tan({self})",
      lambda ctx, g: (g * (1 + ctx.result * ctx.result),), saves=("result",),
      samples=_unary_samples(-1.2, 1.2))
unary("atan", _uf("arctan"), "np.arctan({self})", "atan({self})",
      lambda ctx, g: (g / (1 + ctx.self * ctx.self),))
unary("asin", _quiet(_uf("arcsin")), "np.arcsin({self})", "asin({self})",
      lambda ctx, g: (g / (1 - ctx.self * ctx.self).sqrt(),), samples=_unary_samples(-0.9, 0.9))
unary("acos", _quiet(_uf("arccos")), "np.arccos({self})", "acos({self})",
      lambda ctx, g: (-g / (1 - ctx.self * ctx.self).sqrt(),), samples=_unary_samples(-0.9, 0.9))
unary("sinh", _quiet(_uf("sinh")), "np.sinh({self})", "sinh({self})",
      lambda ctx, g: (g * ctx.self.cosh(),))
unary("cosh", _quiet(_uf("cosh")), "np.cosh({self})", "cosh({self})",
      lambda ctx, g: (g * ctx.self.sinh(),))
unary("trunc", _uf("trunc"), "np.trunc({self})", "trunc({self})",
      lambda ctx, g: (g * 0,), saves=(), float_result=False)
unary("frac", lambda xp, x: x - xp.trunc(x), "({self} - np.trunc({self}))", "({self} - trunc({self}))",
      lambda ctx, g: (g * 1,), saves=(), float_result=False, samples=_unary_samples(ints=False))
unary("logical_not", _uf("logical_not"), "np.logical_not({self})", "(!{self})",
      None, rule=_to_bool, tags=(Tag.NONDIFF,))
unary("bitwise_not", lambda xp, x: xp.invert(x), "np.invert({self})", "(~{self})", None,
      rule=_integral_rule("bitwise_not_cpu"), tags=(Tag.NONDIFF,),
      samples=lambda make: [((make((3, 4)) > 0,), {}),
                            ((make((3, 4), low=-9, high=9, dtype=_dt.int64),), {})])
unary("isnan", _uf("isnan"), "np.isnan({self})", "isnan({self})", None,
      rule=_to_bool, tags=(Tag.NONDIFF, Tag.COMPARISON))


def _clamp_impl(xp, x, lo, hi):
    if lo is None and hi is None:
        raise OpError("torch.clamp: At least one of 'min' or 'max' must not be None")
    out = x
    if lo is not None:
        out = xp.maximum(out, lo)
    if hi is not None:
        out = xp.minimum(out, hi)
    return out.astype(x.dtype, copy=False)


def _clamp_backward(ctx, g):
    x = ctx.self
    mask = None
    if ctx.min is not None:
        mask = x >= ctx.min
    if ctx.max is not None:
        upper = x <= ctx.max
        mask = upper if mask is None else mask.logical_and(upper)
    return (g * mask,)


register(OpInfo("clamp", ["aten::clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor"],
                _clamp_impl, tags=(P,), dtype_rule=_promote, backward=_clamp_backward,
                saves=("self",), grad_fn_name="ClampBackward1",
                numpy_template="_k.clamp(np, {self}, {min}, {max})",
                cuda_template="minijit_clamp({self}, {min}, {max})",
                sample_inputs=lambda make: [((make((3, 4)), -0.5, 0.5), {}),
                                            ((make((3, 4)),), {"min": 0.1}),
                                            ((make((5,)),), {"max": 0.2}),
                                            ((make((3, 4), dtype=_dt.int64, low=-5, high=5), -2, 3), {}),
                                            ((make((3, 4), dtype=_dt.int64, low=-5, high=5), -0.5, 0.5), {}),
                                            ((make((3, 4)), 0.5, -0.5), {})]))
register(OpInfo("clamp_", ["aten::clamp_(Tensor(a!) self, Scalar? min=None, Scalar? max=None) -> Tensor(a!)"],
                _clamp_impl, tags=(P, Tag.INPLACE), dtype_rule=_promote, backward=_clamp_backward,
                saves=("self",), grad_fn_name="ClampBackward1", function=False,
                inplace_of="clamp", numpy_template="_k.clamp(np, {self}, {min}, {max})",
                cuda_template="minijit_clamp({self}, {min}, {max})",
                sample_inputs=lambda make: [((make((3, 4)), -0.5, 0.5), {}),
                                            ((make((3, 4)),), {"min": 0.1}),
                                            ((make((3, 4), dtype=_dt.int64, low=-5, high=5), -2, 3), {})]))


# ---- binary arithmetic -----------------------------------------------------------------------
def _add_impl(xp, a, b, alpha=1):
    return xp.add(a, b) if alpha == 1 else xp.add(a, xp.multiply(b, alpha))


def _sub_impl(xp, a, b, alpha=1):
    return xp.subtract(a, b) if alpha == 1 else xp.subtract(a, xp.multiply(b, alpha))


_add_impl.ufunc = "add"           # with alpha=1 (the fast entry only uses defaults)
_sub_impl.ufunc = "subtract"


def _alpha_grad(g: Any, alpha: Any) -> Any:
    return g if alpha == 1 else g * alpha


def _check_alpha(rule):
    return rule


binary("add", ["aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor"],
       _add_impl, "np.add({self}, {other} * {alpha})", "({self} + {alpha} * {other})",
       lambda ctx, g: (g, _alpha_grad(g, ctx.alpha)), saves=(),
       dunders=("__add__", "__radd__"), tags=(Tag.SPECULATABLE,),
       inplace_schema="aten::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)")
binary("sub", ["aten::sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor"],
       _sub_impl, "np.subtract({self}, {other} * {alpha})", "({self} - {alpha} * {other})",
       lambda ctx, g: (g, -_alpha_grad(g, ctx.alpha)), saves=(), dunders=("__sub__",),
       rule=_sub_rule, tags=(Tag.SPECULATABLE,),
       inplace_schema="aten::sub_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)")
binary("rsub", ["aten::rsub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor"],
       lambda xp, a, b, alpha=1: xp.subtract(b, a if alpha == 1 else xp.multiply(a, alpha)),
       "np.subtract({other}, {self} * {alpha})", "({other} - {alpha} * {self})",
       lambda ctx, g: (-_alpha_grad(g, ctx.alpha),), saves=(), dunders=("__rsub__",),
       rule=_sub_rule, tags=(Tag.SPECULATABLE,),
       grad_fn_name="RsubBackward1", method=False,
       samples=lambda make: [((make((3, 4)), 2.0), {}), ((make((3, 4)), 2), {}),
                             ((make((3, 4), dtype=_dt.int64), 2), {}),
                             ((make((3, 4), dtype=_dt.int64), 1.5), {}),
                             ((make((3, 4)), 2.0), {"alpha": 3})])
binary("mul", ["aten::mul.Tensor(Tensor self, Tensor other) -> Tensor"],
       _uf("multiply"), "np.multiply({self}, {other})", "({self} * {other})",
       lambda ctx, g: (g * ctx.other if ctx.needs_input_grad[0] else None,
                       g * ctx.self if ctx.needs_input_grad[1] else None),
       dunders=("__mul__", "__rmul__"), tags=(Tag.SPECULATABLE,), saves_for={"self": ("other",), "other": ("self",)},
       inplace_schema="aten::mul_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)")


def _div_impl(xp, a, b, rounding_mode=None):
    if rounding_mode is None:
        return xp.true_divide(a, b)
    if rounding_mode not in ("trunc", "floor"):
        raise OpError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                      f"found '{rounding_mode}'")
    integral = xp.asarray(a).dtype.kind in "iub" and xp.asarray(b).dtype.kind in "iub"
    if integral and (xp.asarray(b) == 0).any():
        raise OpError("ZeroDivisionError")
    if rounding_mode == "floor":
        return xp.floor_divide(a, b)
    if not integral:
        return xp.trunc(xp.true_divide(a, b))
    # Exact integer division rounding toward zero (no detour through floats).
    q = xp.floor_divide(a, b)
    inexact = (a - q * b) != 0
    return q + (inexact & ((xp.asarray(a) < 0) != (xp.asarray(b) < 0)))


def _div_rule(common, bound=None):
    if bound is not None and len(bound) == 3 and bound[2] is not None:
        return common, common           # floor/trunc division keeps integers integral
    return _to_float(common)


def _div_backward(ctx, g):
    if len(ctx.args) == 3 and ctx.args[2] is not None:
        return (g * 0, g * 0 if _is_tensor(ctx.other) else None)
    a, b = ctx.self, ctx.other
    grad_a = g / b if ctx.needs_input_grad[0] else None
    grad_b = -g * a / (b * b) if ctx.needs_input_grad[1] else None
    return grad_a, grad_b


binary("div", ["aten::div.Tensor(Tensor self, Tensor other) -> Tensor",
               "aten::div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode) -> Tensor"],
       _quiet(_div_impl), "np.true_divide({self}, {other})", "({self} / {other})", _div_backward,
       rule=_div_rule, dunders=("__truediv__",), saves_for={"self": ("other",)},
       archive_version=4,      # true division of integers from version 4 on
       inplace_schema=["aten::div_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)",
                       "aten::div_.Tensor_mode(Tensor(a!) self, Tensor other, *, str? rounding_mode) "
                       "-> Tensor(a!)"],
       grad_fn_name=lambda bound: "DivBackward2" if len(bound) == 3 and bound[2] else "DivBackward0",
       samples=lambda make: _binary_samples(0.5, 2.0)(make) + [
           ((make((3, 4), low=-5, high=5), make((3, 4), low=0.5, high=2)), {"rounding_mode": "floor"}),
           ((make((3, 4), low=-5, high=5), make((4,), low=0.5, high=2)), {"rounding_mode": "trunc"}),
           ((make((3, 4), low=-5, high=5), 2.0), {"rounding_mode": "floor"}),
           ((make((3, 4), low=-9, high=9, dtype=_dt.int64), make((3, 4), low=1, high=4, dtype=_dt.int64)),
            {"rounding_mode": "floor"}),
           ((make((3, 4), low=-9, high=9, dtype=_dt.int64), make((3, 4), low=1, high=4, dtype=_dt.int64)),
            {"rounding_mode": "trunc"})])


def _pow_impl(xp, a, b):
    integral = getattr(a, "dtype", None) is not None and a.dtype.kind in "iu" or \
        getattr(b, "dtype", None) is not None and b.dtype.kind in "iu"
    if not integral:
        return xp.power(a, b)
    if isinstance(b, int) and b < 0:
        raise OpError("Integers to negative integer powers are not allowed.")
    b_arr = xp.asarray(b)
    if not (b_arr < 0).any():
        return xp.power(a, b)
    # Integer powers with negative exponents: 1 ** -n = 1, (-1) ** -n = ±1, otherwise 0.
    a_arr = xp.asarray(a)
    safe = xp.power(a_arr, xp.abs(b_arr))
    negative = xp.where(a_arr == 1, 1, xp.where(a_arr == -1, 1 - 2 * (b_arr % 2), 0))
    return xp.where(b_arr < 0, negative, safe).astype(safe.dtype)


def _pow_rule(common, bound=None):
    return common, common


def _pow_backward(ctx, g):
    a, b = ctx.self, ctx.exponent
    grad_a = grad_b = None
    if _is_tensor(a) and ctx.needs_input_grad[0]:
        if _is_tensor(b):
            grad_a = g * b * a ** (b - 1)
        else:
            grad_a = g * 0 if b == 0 else g * b * a ** (b - 1)
    if _is_tensor(b) and len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
        base = a if _is_tensor(a) else math.log(a) if a > 0 else float("nan")
        if _is_tensor(a):
            grad_b = g * ctx.result * a.log()
        else:
            grad_b = g * ctx.result * base
    return grad_a, grad_b


def _pow_name(bound):
    a, b = bound
    if _is_tensor(a) and _is_tensor(b):
        return "PowBackward1"
    return "PowBackward0" if _is_tensor(a) else "PowBackward2"


binary("pow", ["aten::pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor",
               # Listed so that the tracer records ``x ** 2`` with a Scalar exponent, as PyTorch.
               "aten::pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor"],
       _quiet(_pow_impl), "np.power({self}, {exponent})", "pow({self}, {exponent})", _pow_backward,
       saves=("self", "exponent", "result"), rule=_pow_rule, dunders=("__pow__",),
       saves_for={"exponent": ("self", "exponent"), "result": ("exponent",)},
       inplace_schema="aten::pow_.Tensor(Tensor(a!) self, Tensor exponent) -> Tensor(a!)",
       grad_fn_name=_pow_name,
       samples=lambda make: [((make((3, 4), low=0.5, high=2.0), 2), {}),
                             ((make((3, 4), low=0.5, high=2.0), 0.5), {}),
                             ((make((3, 4), low=-2.0, high=2.0), 3), {}),
                             ((make((3, 4), low=0.5, high=2.0), 0), {}),
                             ((make((3, 4), low=0.5, high=2.0), make((4,), low=0.5, high=2.0)), {}),
                             ((make((3, 4), low=0.5, high=2.0, dtype=_dt.float64),
                               make((3, 4), low=0.5, high=2.0)), {}),
                             ((2.0, make((3, 4), low=0.5, high=2.0)), {}),
                             ((make((3, 4), low=0, high=4, dtype=_dt.int64), 2), {}),
                             ((make((3, 4), low=0, high=4, dtype=_dt.int64),
                               make((3, 4), low=0, high=3, dtype=_dt.int64)), {}),
                             ((make((3, 4), low=0, high=4, dtype=_dt.int64), 0.5), {}),
                             ((make((3, 4), low=-3, high=3, dtype=_dt.int64),
                               make((3, 4), low=-3, high=3, dtype=_dt.int64)), {}),
                             ((make((3, 4), low=-3, high=3, dtype=_dt.int64), -1), {})])
binary("remainder", ["aten::remainder.Tensor(Tensor self, Tensor other) -> Tensor"],
       _quiet(_int_checked("remainder")), "np.remainder({self}, {other})",
       "minijit_remainder({self}, {other})",
       lambda ctx, g: (g, -g * (ctx.self / ctx.other).floor() if _is_tensor(ctx.other) else None),
       dunders=("__mod__",), samples=_binary_samples(0.5, 3.0),
       saves_for={"self": ("other",), "other": ("other",)},
       # PyTorch lists remainder.Scalar first in derivatives.yaml.
       grad_fn_name=lambda b: "RemainderBackward1" if _is_tensor(b[1]) else "RemainderBackward0")
binary("fmod", ["aten::fmod.Tensor(Tensor self, Tensor other) -> Tensor"],
       _quiet(_int_checked("fmod")), "np.fmod({self}, {other})", "fmod({self}, {other})",
       lambda ctx, g: (g, -g * ctx.self.div(ctx.other, rounding_mode="trunc")
                       if _is_tensor(ctx.other) else None),
       samples=_binary_samples(0.5, 3.0), saves_for={"self": ("other",), "other": ("other",)},
       grad_fn_name=lambda b: "FmodBackward1" if _is_tensor(b[1]) else "FmodBackward0")


def _floor_divide_impl(xp, a, b):
    if getattr(a, "dtype", np.dtype(float)).kind in "iub" and \
            getattr(b, "dtype", np.dtype(type(b))).kind in "iub":
        if (xp.asarray(b) == 0).any():
            raise OpError("ZeroDivisionError")
        return xp.floor_divide(a, b)
    return quietly(xp.floor_divide, a, b)   # Python's //, as PyTorch's div_floor computes it


def _floor_divide_backward(ctx, g):
    raise RuntimeError("derivative for aten::floor_divide is not implemented")


binary("floor_divide", ["aten::floor_divide(Tensor self, Tensor other) -> Tensor"],
       _floor_divide_impl, "np.floor_divide({self}, {other})", "floor({self} / {other})",
       _floor_divide_backward, saves=(), dunders=("__floordiv__",),
       # PyTorch has no derivative: the node exists and fails when backward reaches it.
       grad_fn_name="NotImplemented",
       samples=lambda make: [no_gradcheck(args, kwargs) for args, kwargs in
                             _binary_samples(0.5, 3.0)(make)])


def _minmax_samples(make):
    x = make((3, 4))
    tied = make((3, 4))
    tied._data[0] = x._data[0]          # ties split the gradient evenly
    return [((make((3, 4)), make((3, 4))), {}), ((make((3, 4)), make((4,))), {}),
            no_gradcheck((x, tied)),
            ((make((3, 4), dtype=_dt.int64), make((3, 4), dtype=_dt.int64)), {}),
            ((make((3,), dtype=_dt.float64), make((3,))), {})]


def _minmax_backward(pick_self_when):
    def rule(ctx, g):
        a, b = ctx.self, ctx.other
        mask = pick_self_when(a, b)
        equal = (a == b)
        half = g * 0.5
        ga = (g * mask).where(equal.logical_not(), half)
        gb = (g * mask.logical_not()).where(equal.logical_not(), half)
        return ga, gb
    return rule


binary("maximum", ["aten::maximum(Tensor self, Tensor other) -> Tensor"],
       _uf("maximum"), "np.maximum({self}, {other})", "fmax({self}, {other})",
       _minmax_backward(lambda a, b: a > b), samples=_minmax_samples)
binary("minimum", ["aten::minimum(Tensor self, Tensor other) -> Tensor"],
       _uf("minimum"), "np.minimum({self}, {other})", "fmin({self}, {other})",
       _minmax_backward(lambda a, b: a < b), samples=_minmax_samples)


# ---- comparisons and logic --------------------------------------------------------------------
def _compare_samples(make):
    x = make((3, 4))
    return [((x, make((3, 4))), {}), ((make((3, 4)), 0.0), {}),
            ((make((3, 4)), make((4,))), {}), ((x, x), {}),
            ((make((3, 4), low=-3, high=3, dtype=_dt.int64), 0.5), {}),
            ((make((3, 4), low=-3, high=3, dtype=_dt.int64), 1), {}),
            ((make((3, 4), low=-3, high=3, dtype=_dt.int64), make((3, 4))), {}),
            ((make((3, 4), dtype=_dt.bool_), make((3, 4), dtype=_dt.bool_)), {}),
            ((make((3, 4)), make((), dtype=_dt.float64)), {})]


for _name, _ufunc, _sym, _dunder in (("eq", "equal", "==", "__eq__"), ("ne", "not_equal", "!=", "__ne__"),
                                     ("lt", "less", "<", "__lt__"), ("le", "less_equal", "<=", "__le__"),
                                     ("gt", "greater", ">", "__gt__"), ("ge", "greater_equal", ">=", "__ge__")):
    # The Scalar overload is what a trace records for ``x > 0`` (an int constant, where
    # ``x + 1`` records a wrapped tensor: PyTorch's ``add`` has no such overload to pick).
    binary(_name, [f"aten::{_name}.Tensor(Tensor self, Tensor other) -> Tensor",
                   f"aten::{_name}.Scalar(Tensor self, Scalar other) -> Tensor"],
           _uf(_ufunc),
           f"np.{_ufunc}({{self}}, {{other}})", f"({{self}} {_sym} {{other}})", None,
           rule=_to_bool, dunders=(_dunder,),
           tags=(Tag.NONDIFF, Tag.COMPARISON, Tag.SPECULATABLE),
           samples=_compare_samples)

# (CUDA templates: logical_xor compares truth values, ``!a != !b``: ``0.5 != 1.0`` is not xor.)
for _name, _ufunc, _cuda, _dunder in (
        ("logical_and", "logical_and", "({self} && {other})", None),
        ("logical_or", "logical_or", "({self} || {other})", None),
        ("logical_xor", "logical_xor", "(!{self} != !{other})", None),
        ("__and__", "bitwise_and", "({self} & {other})", ("__and__", "__rand__")),
        ("__or__", "bitwise_or", "({self} | {other})", ("__or__", "__ror__")),
        ("__xor__", "bitwise_xor", "({self} ^ {other})", ("__xor__", "__rxor__"))):
    bitwise = _name.startswith("__")
    binary(_name, [f"aten::{_name}.Tensor(Tensor self, Tensor other) -> Tensor"],
           (lambda f: lambda xp, a, b: getattr(xp, f)(a, b))(_ufunc),
           f"np.{_ufunc}({{self}}, {{other}})", _cuda, None,
           rule=_integral_rule(_ufunc + "_cpu") if bitwise else _to_bool, dunders=_dunder or (),
           tags=(Tag.NONDIFF,), method=not bitwise,
           samples=(lambda make: [((make((3, 4)) > 0, make((3, 4)) > 0), {}),
                                  ((make((3, 4), low=-3, high=3, dtype=_dt.int64),
                                    make((4,), low=-3, high=3, dtype=_dt.int64)), {}),
                                  ((make((3, 4), dtype=_dt.bool_), True), {})]) if bitwise else
           (lambda make: [((make((3, 4)) > 0, make((3, 4)) > 0), {}),
                          ((make((3, 4)), make((4,), dtype=_dt.int64)), {}),
                          ((make((3, 4), dtype=_dt.bool_), make((3, 4), dtype=_dt.bool_)), {})]))


def _where_impl(xp, cond, a, b):
    result = xp.where(cond, a, b)
    return result


def _where_backward(ctx, g):
    cond = ctx.condition
    zero = g * 0
    return (None, g.where(cond, zero) if ctx.needs_input_grad[1] else None,
            zero.where(cond, g) if ctx.needs_input_grad[2] else None)


def _where_rule(common, bound=None):
    return common, common


register(OpInfo("where", ["aten::where.self(Tensor condition, Tensor self, Tensor other) -> Tensor"],
                _where_impl, tags=(P, Tag.SPECULATABLE), dtype_rule=None, backward=_where_backward,
                saves=("condition",), numpy_template="np.where({condition}, {self}, {other})",
                cuda_template="({condition} ? {self} : {other})", nondiff_args=(0,),
                sample_inputs=lambda make: [((make((3, 4)) > 0, make((3, 4)), make((3, 4))), {}),
                                            ((make((3, 1)) > 0, make((4,)), make((3, 4))), {}),
                                            ((make((3, 4)) > 0, make((3, 4)), 0.0), {}),
                                            ((make((3, 4)) > 0, make((3, 4), dtype=_dt.float64),
                                              make((3, 4))), {}),
                                            ((make((3, 4)) > 0, make((3, 4), dtype=_dt.int64),
                                              make((3, 4), dtype=_dt.int64)), {})],
                method=False))
