"""Array kernels shared by ``impl`` functions and the NumPy fusion templates (``_k.<name>``).

They take the array module ``xp`` first, like every impl, so one definition serves NumPy and
CuPy.  The ``*_grad_tensor`` helpers are derivative formulas written in minijit ops, so that
backward stays traceable and twice differentiable.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

_SQRT_HALF = 1 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def erf(xp: Any, x: Any) -> Any:
    """The error function (NumPy has none; ``math.erf`` is exact, CuPy has ``cupyx``)."""
    if xp is np:
        return _erf_scalar(x).astype(x.dtype) if x.ndim else np.asarray(math.erf(x), x.dtype)
    import cupyx.scipy.special  # type: ignore
    return cupyx.scipy.special.erf(x)


# The kernels below overflow harmlessly (``exp(-x)`` to inf for very negative x, so sigmoid
# is 0, as in PyTorch); their registrations run them with NumPy's warnings off
# (``pointwise._quiet``), which costs far less than an ``np.errstate`` block in each.
def sigmoid(xp: Any, x: Any) -> Any:
    # (``reciprocal(e + 1)`` is ``1 / (1 + e)`` to the bit, one Python-number conversion less.)
    return xp.reciprocal(xp.exp(-x) + 1).astype(x.dtype, copy=False)


def silu(xp: Any, x: Any) -> Any:
    return (x * sigmoid(xp, x)).astype(x.dtype, copy=False)


def gelu(xp: Any, x: Any, approximate: str = "none") -> Any:
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        return (0.5 * x * (1 + xp.tanh(inner))).astype(x.dtype, copy=False)
    if approximate != "none":
        raise ValueError("approximate argument must be either none or tanh.")
    return (0.5 * x * (1 + erf(xp, x * _SQRT_HALF))).astype(x.dtype, copy=False)


def softplus(xp: Any, x: Any, beta: float = 1, threshold: float = 20) -> Any:
    bx = x * beta
    soft = xp.log1p(xp.exp(bx)) / beta
    return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)


def elu(xp: Any, x: Any, alpha: float = 1, scale: float = 1, input_scale: float = 1) -> Any:
    neg = alpha * (xp.exp(x * input_scale) - 1)
    return (scale * xp.where(x > 0, x, neg)).astype(x.dtype, copy=False)


def clamp(xp: Any, x: Any, lo: Any, hi: Any) -> Any:
    if lo is not None:
        x = xp.maximum(x, lo)
    if hi is not None:
        x = xp.minimum(x, hi)
    return x


# ---- derivative formulas in minijit ops ---------------------------------------------------------
def gelu_grad_tensor(x: Any, approximate: str = "none") -> Any:
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        t = inner.tanh()
        d_inner = (1 + x * x * (3 * 0.044715)) * _SQRT_2_OVER_PI
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner
    cdf = 0.5 * (1 + (x * _SQRT_HALF).erf())
    pdf = (-0.5 * x * x).exp() * (1 / math.sqrt(2 * math.pi))
    return cdf + x * pdf


def silu_grad_tensor(x: Any) -> Any:
    s = x.sigmoid()
    return s * (1 + x * (1 - s))


def softplus_grad_tensor(x: Any, beta: float, threshold: float) -> Any:
    bx = x * beta
    z = bx.exp()
    return (z * 0 + 1).where(bx > threshold, z / (z + 1))


def elu_grad_tensor(x: Any, alpha: float, scale: float, input_scale: float) -> Any:
    neg = (x * input_scale).exp() * (alpha * scale * input_scale)
    return (x * 0 + scale).where(x > 0, neg)
