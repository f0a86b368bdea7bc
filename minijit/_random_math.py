"""The floating-point kernels of PyTorch's CPU random sampling, reproduced to the bit.

``random.py`` draws the 32-bit numbers; this module turns them into values exactly as ATen's
compiled kernels do: an exact fused multiply-add (GCC fuses ``u * (to - from) + from`` and
steps of the Cephes polynomials into FMAs, which round once; NumPy has no fma), and the
8-lane AVX2 Box-Muller kernel for float32 normals with its ``log256_ps``/``sincos256_ps``
polynomials (``avx_mathfun.h``), in the operation order read off ``libtorch_cpu.so``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["fma32", "fma64", "box_muller16_f32", "box_muller16_f64", "TWO_PI"]

TWO_PI = 2.0 * math.pi  # c10::pi<double> * 2, one rounding, as ATen folds it


# --------------------------------------------------------------------------------------------
# Exact fused multiply-add.  ATen's AVX2 kernels are compiled with -mfma and GCC fuses
# `x * (to - from) + from` (and several steps of the Cephes polynomials) into one FMA, which
# rounds once.  NumPy has no fma ufunc, so we build a correctly rounded one from exact pieces.
# --------------------------------------------------------------------------------------------

_SPLITTER = 134217729.0  # 2**27 + 1, Veltkamp's constant for splitting a double in halves


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knuth's TwoSum: ``s + e == a + b`` exactly, with ``s = fl(a + b)``."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's TwoProduct: ``p + e == a * b`` exactly (no FMA needed, no overflow assumed)."""
    p = a * b
    t = _SPLITTER * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLITTER * b
    bh = t - (t - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _add_round_to_odd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b`` rounded to odd: if inexact, the neighbour whose last mantissa bit is 1.

    Rounding to odd keeps a sticky bit, so a later round-to-nearest to a narrower (or the same,
    see :func:`fma64`) precision gives the correctly rounded result (Boldo & Melquiond 2008).
    """
    s, e = _two_sum(a, b)
    inexact_even = (e != 0) & ((s.view(np.int64) & 1) == 0)
    if not inexact_even.any():
        return s
    toward = np.where(e > 0, np.inf, -np.inf)
    return np.where(inexact_even, np.nextafter(s, toward), s)


def fma32(a: Any, b: Any, c: Any) -> np.ndarray:
    """Single-rounding float32 ``a * b + c`` (what ``vfmadd...ps`` computes)."""
    a64, b64, c64 = (np.asarray(v, np.float32).astype(np.float64) for v in (a, b, c))
    p = a64 * b64  # a 24 x 24 bit product is exact in a double
    p, c64 = np.broadcast_arrays(p, c64)
    s = p + c64
    # Rounding s = fl64(p + c) to float32 can differ from rounding p + c only if s landed
    # exactly on a float32 tie (low 29 mantissa bits 1000...0); float32 subnormals have ties
    # elsewhere, so tiny sums are suspects too.  Redo just the suspects rounded to odd, which
    # leaves 53 - 24 >= 2 guard bits for the final rounding.
    risky = ((s.view(np.int64) & 0x1FFFFFFF) == 0x10000000) | (np.abs(s) < 2.0**-100)
    if risky.any():
        s = np.array(s)  # writable copy
        s[risky] = _add_round_to_odd(p[risky], c64[risky])
    return s.astype(np.float32)


def fma64(a: Any, b: Any, c: Any) -> np.ndarray:
    """Single-rounding float64 ``a * b + c`` (Boldo & Melquiond's emulated FMA).

    ``a * b = ph + pl`` and ``c + ph = sh + sl`` exactly; then ``fl(sh + RO(sl + pl))`` is the
    correctly rounded FMA.  Huge operands are scaled by a power of two first so the splitting
    cannot overflow; non-finite results fall back to ``a * b + c``.
    """
    a, b, c = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (a, b, c)))
    # Scaling the larger factor and c by 2**-200 is exact and changes no rounding decision.
    a_is_larger = np.abs(a) >= np.abs(b)
    huge = (np.maximum(np.abs(a), np.abs(b)) > 2.0**900) | (np.abs(c) > 2.0**900)
    scale = np.where(huge, 2.0**-200, 1.0)
    a_s = np.where(a_is_larger, a * scale, a)
    b_s = np.where(a_is_larger, b, b * scale)
    c_s = c * scale
    with np.errstate(over="ignore", invalid="ignore"):
        ph, pl = _two_prod(a_s, b_s)
        sh, sl = _two_sum(c_s, ph)
        out = (sh + _add_round_to_odd(sl, pl)) / scale
        bad = ~np.isfinite(out)
        if bad.any():
            out = np.where(bad, a * b + c, out)
    return out


# --------------------------------------------------------------------------------------------
# The AVX2 Box-Muller kernel for float32 (NormalFill16<float> in DistributionTemplates.h).
# It uses Julien Pommier's Cephes-style log256_ps and sincos256_ps from avx_mathfun.h; the
# operation order (and which mul+add pairs GCC fused into FMAs) is read off the disassembly of
# libtorch_cpu.so and confirmed by the conformance tests.
# --------------------------------------------------------------------------------------------

_f32 = np.float32
_LOG_P = [_f32(v) for v in (
    7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
    -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
)]
_LOG_Q1 = _f32(-2.12194440e-4)
_LOG_Q2 = _f32(0.693359375)
_SQRTHF = _f32(0.707106781186547524)
_FOPI = _f32(1.27323954473516)  # 4 / pi
_DP = [_f32(-0.78515625), _f32(-2.4187564849853515625e-4), _f32(-3.77489497744594108e-8)]
_SINCOF = [_f32(-1.9515295891e-4), _f32(8.3321608736e-3), _f32(-1.6666654611e-1)]
_COSCOF = [_f32(2.443315711809948e-005), _f32(-1.388731625493765e-003),
           _f32(4.166664568298827e-002)]
_AVX_TWO_PI = _f32(TWO_PI)  # _mm256_set1_ps(2.0f * c10::pi<double>)
_CHUNK_ROWS = 4096  # blocks of 16 processed per NumPy pass


def _log256_ps(x: np.ndarray) -> np.ndarray:
    """``log256_ps`` for positive float32 ``x`` (the only inputs Box-Muller gives it)."""
    one = _f32(1.0)
    bits = np.maximum(x, np.finfo(np.float32).tiny).view(np.uint32)
    e = ((bits >> 23).astype(np.int32) - 127).astype(np.float32) + one
    x = ((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(np.float32)  # [0.5, 1)
    small = x < _SQRTHF
    e = e - np.where(small, one, _f32(0.0))
    x = (x + _f32(-1.0)) + np.where(small, x, _f32(0.0))
    z = x * x
    y = fma32(_LOG_P[0], x, _LOG_P[1])
    for p in _LOG_P[2:]:
        y = fma32(y, x, p)
    y = fma32(y * x, z, e * _LOG_Q1)  # y*x*z + e*q1, the second product fused
    y = fma32(-z, _f32(0.5), y)  # y - z/2 (vfnmadd)
    return fma32(e, _LOG_Q2, x + y)


def _sincos256_ps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sincos256_ps`` for float32 ``x``: Cephes range reduction by pi/4, two polynomials."""
    sign_sin = x.view(np.uint32) & np.uint32(0x80000000)
    ax = np.abs(x)
    j = (ax * _FOPI).astype(np.int32)  # cvttps2dq truncates
    j = ((j + 1) & ~1).astype(np.int32)
    y = j.astype(np.float32)
    ju = j.view(np.uint32)
    sign_sin = sign_sin ^ ((ju & np.uint32(4)) << np.uint32(29))
    sign_cos = (~(ju - np.uint32(2)) & np.uint32(4)) << np.uint32(29)
    poly_mask = (ju & np.uint32(2)) == 0
    # "Extended precision modular arithmetic": x - y*pi/4 in three pieces, each an FMA.
    ax = fma32(y, _DP[0], ax)
    ax = fma32(y, _DP[1], ax)
    ax = fma32(y, _DP[2], ax)
    z = ax * ax
    half_z = z * _f32(0.5)
    yc = fma32(_COSCOF[0], z, _COSCOF[1])
    yc = fma32(yc, z, _COSCOF[2])
    yc = fma32(z, yc * z, -half_z) + _f32(1.0)  # cos polynomial (valid on [0, pi/4])
    ys = fma32(_SINCOF[0], z, _SINCOF[1])
    ys = fma32(ys, z, _SINCOF[2])
    ys = fma32(ax, z * ys, ax)  # sin polynomial
    zero = _f32(0.0)
    sin = np.where(poly_mask, ys, zero) + np.where(poly_mask, zero, yc)
    cos = np.where(poly_mask, zero, ys) + np.where(poly_mask, yc, zero)
    return ((sin.view(np.uint32) ^ sign_sin).view(np.float32),
            (cos.view(np.uint32) ^ sign_cos).view(np.float32))


def box_muller16_f32(data: np.ndarray, mean: np.float32, std: np.float32) -> np.ndarray:
    """NormalFill16<float> (AVX2) on each block of 16 float32 uniforms; ``len(data) % 16 == 0``.

    In a block, lanes 0-7 give the radius and lanes 8-15 the angle; cos goes to lanes 0-7 and
    sin to lanes 8-15.
    """
    if data.size > 16 * _CHUNK_ROWS:  # ~25 temporaries per element: stay in cache
        step = 16 * _CHUNK_ROWS
        return np.concatenate([box_muller16_f32(data[i:i + step], mean, std)
                               for i in range(0, data.size, step)])
    blocks = data.reshape(-1, 16)
    u1 = _f32(1.0) - blocks[:, :8]  # [0, 1) -> (0, 1] for log
    radius = np.sqrt(_log256_ps(u1) * _f32(-2.0))
    sin, cos = _sincos256_ps(_AVX_TWO_PI * blocks[:, 8:])
    out = np.empty_like(blocks)
    out[:, :8] = fma32(radius * cos, std, mean)
    out[:, 8:] = fma32(radius * sin, std, mean)
    return out.ravel()


def box_muller16_f64(data: np.ndarray, mean: float, std: float) -> np.ndarray:
    """NormalFill16<double> on each block of 16 float64 uniforms; ``len(data) % 16 == 0``.

    ATen calls libm's ``log`` and ``sincos`` here; :mod:`math` calls the same libm, while
    NumPy's own SIMD transcendental functions would differ in the last bit now and then.
    """
    blocks = data.reshape(-1, 16)
    u1 = (1.0 - blocks[:, :8]).ravel().tolist()
    theta = (TWO_PI * blocks[:, 8:]).ravel().tolist()
    radius = np.sqrt(-2.0 * np.array([math.log(v) for v in u1]))
    cos = np.array([math.cos(t) for t in theta])
    sin = np.array([math.sin(t) for t in theta])
    out = np.empty_like(blocks)
    out[:, :8] = fma64(radius * cos, std, mean).reshape(-1, 8)
    out[:, 8:] = fma64(radius * sin, std, mean).reshape(-1, 8)
    return out.ravel()
