"""PyTorch's CPU random number generator, reproduced bit for bit with NumPy.

``minijit.manual_seed(s)`` followed by the same calls must give the numbers PyTorch gives (DESIGN
§4), so this module copies ATen's CPU generator (``aten/src/ATen/CPUGeneratorImpl.cpp``) and the
way each kernel consumes it (``aten/src/ATen/core/DistributionsHelper.h``,
``TransformationHelper.h``, ``native/cpu/DistributionTemplates.h``, ``native/cpu/avx_mathfun.h``).
Only the *engine* is borrowed from NumPy: ``numpy.random.MT19937`` is the same Mersenne Twister,
and we load it with PyTorch's seeding so its ``random_raw()`` yields PyTorch's 32-bit draws.

How PyTorch consumes draws (every statement here is checked against torch 2.13 by
``tests/test_random.py``)::

    seed         s -> init_genrand(s & 0xffffffff); initial_seed() keeps the full s (mod 2**64)
    random()     one 32-bit draw
    random64()   two draws, the FIRST is the high word: (d0 << 32) | d1
    float32 U    (random() & (2**24 - 1)) * 2**-24
    float64 U    (random64() & (2**53 - 1)) * 2**-53
    uniform_     fma(U, to - from, from) in the dtype's own precision (float for float32); a value
                 that rounds up to `to` is replaced by `from`
    normal_      numel >= 16: draw numel uniforms, Box-Muller them in blocks of 16 (u[0:8] give
                 the radius, u[8:16] the angle; cos -> first half, sin -> second half); if
                 numel % 16 != 0, draw 16 more uniforms and recompute the LAST 16 outputs.
                 float32 uses the 8-lane AVX2 kernel (Cephes polynomials of avx_mathfun.h with
                 the FMAs GCC fused in); float64 uses libm log and sincos.
                 numel < 16: per element at::normal_distribution<double>: u1, u2 from random64,
                 r = sqrt(-2 log1p(-u2)), returns r cos(2 pi u1) and CACHES r sin(2 pi u1) in the
                 generator for the next such element (the cache survives between calls and is
                 cleared by manual_seed).
    randint      (d % range) + low, d = random() if range < 2**28 else random64()
    randperm     n < 2**32 / 20: swap i with i + random() % (n - i) for i = 0 .. n-2
    bernoulli_   scalar p: U64 < p per element (this is what dropout uses: bernoulli_(1 - p))

Bit-exact (``tests/test_random.py`` compares bits with torch 2.13, CPU, x86-64):
``uniform`` (rand, uniform_, hence nn.init / nn.Linear) for float32, float64 and float16;
``normal`` (randn, normal_) for every size, float32/float64/float16, any mean/std;
``randint``; ``randperm`` for n < 214748364; ``bernoulli`` with scalar or tensor p, and so the
dropout mask; ``get_state`` bytes (the same 5056-byte layout as ``torch.get_rng_state()``, so
states can be passed between the two libraries).

Not exact, by design or by platform:

* CPU flavour.  ATen picks kernels by CPU capability.  We reproduce the AVX2 build, which runs on
  every x86-64 CPU with AVX2 (AVX-512 machines use it too: ``normal_stub`` is never dispatched to
  AVX-512, and the distribution kernels have no AVX-512 build).  On a pre-AVX2 CPU, under
  ``ATEN_CPU_CAPABILITY=default``, or on ARM, PyTorch uses plain ``a * b + c`` (no FMA) and libm
  ``logf``/``cosf``/``sinf`` for float32 normals, so the last bit of some uniforms with
  ``from != 0`` and most large float32 randn values would differ.
* float64 normals call the C library's ``log``/``log1p``/``sin``/``cos`` through :mod:`math`,
  exactly as ATen does, so they match PyTorch when both use the same libm (true on one machine).
* ``randperm`` for n >= 214748364 (ATen switches to a random64 inside-out shuffle) is not
  implemented; CUDA generators (Philox) are not emulated: every Generator is the CPU one.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._random_math import TWO_PI, box_muller16_f32, box_muller16_f64, fma32, fma64

__all__ = [
    "Generator",
    "default_generator",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]

ShapeLike = int | Sequence[int]

# c10::detail::default_rng_seed_val: the seed of a freshly constructed torch.Generator().
_DEFAULT_SEED = 67280421310721
_MT_N = 624  # words in the Mersenne Twister state
_U64_MASK = (1 << 64) - 1
_F32_MASK = (1 << 24) - 1  # std::numeric_limits<float>::digits == 24
_F64_MASK = (1 << 53) - 1  # std::numeric_limits<double>::digits == 53
_RANDPERM_SMALL_N = 0xFFFFFFFF // 20  # randperm_cpu keeps the 32-bit shuffle below this
_RANDINT_64BIT_RANGE = 1 << 28  # uniform_int_from_to_distribution uses random64() from here

# The byte layout of torch.get_rng_state(): CPUGeneratorImplState in CPUGeneratorImpl.cpp
# (legacy THGeneratorState, then the float normal cache), with C struct padding spelled out.
_STATE_DTYPE = np.dtype(
    [
        ("the_initial_seed", "<u8"),
        ("left", "<i4"),
        ("seeded", "<i4"),
        ("next", "<u8"),
        ("state", "<u8", (_MT_N,)),
        ("normal_x", "<f8"),
        ("normal_y", "<f8"),
        ("normal_rho", "<f8"),
        ("normal_is_valid", "<i4"),
        ("_pad0", "V4"),
        ("next_float_normal_sample", "<f4"),
        ("is_next_float_normal_sample_valid", "u1"),
        ("_pad1", "V3"),
    ]
)
assert _STATE_DTYPE.itemsize == 5056
_f32 = np.float32


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _as_shape(shape: ShapeLike) -> tuple[int, ...]:
    """Normalise ``3``, ``(3, 4)``, ``[3, 4]`` or ``()`` to a tuple of non-negative ints."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    dims = tuple(int(d) for d in shape)
    if any(d < 0 for d in dims):
        raise ValueError(f"negative dimension in shape {dims}")
    return dims


def _as_float_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float16, np.float32, np.float64):
        raise TypeError(f"expected a floating point dtype (float16/32/64), got {dt}")
    return dt


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


class Generator:
    """A PyTorch-compatible CPU generator (``torch.Generator``): MT19937 plus a normal cache.

    Args:
        device: kept for the Tensor layer (``torch.Generator(device=...)``); the numbers are
            always those of PyTorch's CPU generator.

    Example:
        >>> g = Generator().manual_seed(0)
        >>> g.uniform((3,)).tolist()  # torch.rand(3, generator=torch.Generator().manual_seed(0))
        [0.49625658988952637, 0.7682217955589294, 0.08847743272781372]
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = str(device)
        self._lock = threading.Lock()
        self._engine = np.random.MT19937()
        self.manual_seed(_DEFAULT_SEED)

    # ---- seeding and state ------------------------------------------------------------------

    def manual_seed(self, seed: int) -> Generator:
        """Seed like ``torch.Generator.manual_seed``; returns ``self`` so calls can chain.

        PyTorch keeps the full 64-bit seed (negative seeds wrap modulo 2**64) for
        ``initial_seed()`` but feeds only its low 32 bits to MT19937's ``init_genrand``.
        """
        seed = int(seed)
        if not -(1 << 63) <= seed <= _U64_MASK:
            raise ValueError("Overflow when unpacking long long")
        seed &= _U64_MASK
        key = np.empty(_MT_N, dtype=np.uint32)
        x = seed & 0xFFFFFFFF
        key[0] = x
        for i in range(1, _MT_N):  # init_genrand, Matsumoto & Nishimura 2002
            x = (1812433253 * (x ^ (x >> 30)) + i) & 0xFFFFFFFF
            key[i] = x
        with self._lock:
            self._set_engine(key, pos=_MT_N)
            self._initial_seed = seed
            self._next_after_seed: int | None = 0  # ATen's `next_` before the first draw
            self._next_double_normal: float | None = None
            self._next_float_normal: float | None = None
        return self

    def seed(self) -> int:
        """Reseed from the OS entropy pool (64 bits, like ATen's /dev/urandom read)."""
        value = secrets.randbits(64)
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        """The seed given to the last ``manual_seed``/``seed``, as an unsigned 64-bit int."""
        return self._initial_seed

    def get_state(self) -> np.ndarray:
        """The state as 5056 ``uint8`` bytes, laid out exactly like ``torch.get_rng_state()``.

        The array is a copy (picklable, hashable via ``.tobytes()``); ``torch.set_rng_state(
        torch.from_numpy(g.get_state()))`` continues PyTorch from where this generator stands.
        """
        with self._lock:
            st = self._engine.state["state"]
            pos = int(st["pos"])
            rec = np.zeros((), dtype=_STATE_DTYPE)
            rec["the_initial_seed"] = self._initial_seed
            # ATen's engine pre-decrements `left` and twists when it reaches 0, so a NumPy
            # position `pos` (words used in this block) is left = 625 - pos, next = pos.
            rec["left"] = _MT_N + 1 - pos
            rec["seeded"] = 1
            stale = self._next_after_seed
            rec["next"] = stale if (pos == _MT_N and stale is not None) else pos
            rec["state"] = st["key"].astype(np.uint64)
            if self._next_double_normal is not None:
                rec["normal_is_valid"] = 1
                rec["normal_y"] = self._next_double_normal
            if self._next_float_normal is not None:
                rec["is_next_float_normal_sample_valid"] = 1
                rec["next_float_normal_sample"] = self._next_float_normal
        return np.frombuffer(rec.tobytes(), dtype=np.uint8).copy()

    def set_state(self, state: Any) -> None:
        """Restore a state from :meth:`get_state` or ``torch.get_rng_state()``.

        Args:
            state: 5056 bytes: ``bytes``, a ``uint8`` array, or anything ``np.asarray`` accepts
                (a torch ``ByteTensor`` or a minijit tensor).
        """
        if isinstance(state, (bytes, bytearray, memoryview)):
            raw = np.frombuffer(bytes(state), dtype=np.uint8)
        else:
            raw = np.ascontiguousarray(np.asarray(state)).view(np.uint8).ravel()
        if raw.size != _STATE_DTYPE.itemsize:
            raise ValueError(
                f"Expected a CPUGeneratorImplState of size {_STATE_DTYPE.itemsize} but found the "
                f"input RNG state size to be {raw.size}"
            )
        rec = np.frombuffer(raw.tobytes(), dtype=_STATE_DTYPE)[0]
        left, nxt = int(rec["left"]), int(rec["next"])
        if not (rec["seeded"] and 1 <= left <= _MT_N and nxt <= _MT_N):
            raise ValueError("Invalid mt19937 state")
        if left > 1 and nxt != _MT_N + 1 - left:
            # ATen would read state[next] for left-1 draws; NumPy's engine has one position.
            raise ValueError(f"unsupported mt19937 state: left={left} with next={nxt}")
        key = (rec["state"] & 0xFFFFFFFF).astype(np.uint32)
        with self._lock:
            self._set_engine(key, pos=_MT_N + 1 - left)
            self._initial_seed = int(rec["the_initial_seed"])
            self._next_after_seed = nxt if left == 1 else None
            self._next_double_normal = float(rec["normal_y"]) if rec["normal_is_valid"] else None
            self._next_float_normal = (
                float(rec["next_float_normal_sample"])
                if rec["is_next_float_normal_sample_valid"]
                else None
            )

    def __getstate__(self) -> dict:
        return {"device": self.device, "state": self.get_state()}

    def __setstate__(self, d: dict) -> None:
        self.__init__(d["device"])
        self.set_state(d["state"])

    def __repr__(self) -> str:
        return f"<minijit.random.Generator device={self.device!r} seed={self._initial_seed}>"

    # ---- raw draws (call with self._lock held) ----------------------------------------------

    def _set_engine(self, key: np.ndarray, pos: int) -> None:
        self._engine.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}

    def _random(self, n: int) -> np.ndarray:
        """``n`` successive ``random()`` draws as uint64 (each < 2**32)."""
        if n == 0:
            return np.empty(0, dtype=np.uint64)
        self._next_after_seed = None
        return self._engine.random_raw(n)

    def _random64(self, n: int) -> np.ndarray:
        """``n`` successive ``random64()`` draws: pairs of draws, first one high."""
        pairs = self._random(2 * n).reshape(n, 2)
        return (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]

    def _unit_f32(self, n: int) -> np.ndarray:
        """``n`` float32 uniforms on [0, 1) as ``uniform_real_distribution<float>(0, 1)``."""
        return (self._random(n) & np.uint64(_F32_MASK)).astype(np.float32) * _f32(2.0**-24)

    def _unit_f64(self, n: int) -> np.ndarray:
        """``n`` float64 uniforms on [0, 1) as ``uniform_real_distribution<double>(0, 1)``."""
        return (self._random64(n) & np.uint64(_F64_MASK)).astype(np.float64) * 2.0**-53

    # ---- distributions ----------------------------------------------------------------------

    def uniform(
        self, shape: ShapeLike, low: float = 0.0, high: float = 1.0, dtype: Any = np.float32
    ) -> np.ndarray:
        """Samples on ``[low, high)``: ``torch.rand`` / ``Tensor.uniform_(low, high)``.

        Args:
            shape: output shape (``()`` and zero-sized shapes are fine).
            low, high: the bounds; ``low <= high``.
            dtype: float16, float32 or float64.

        Returns:
            A C-contiguous array; float32/float16 draw one word per element, float64 two.

        Example:
            >>> Generator().manual_seed(191009).uniform((2,), -1.0, 1.0).tolist()
            [-0.33700573444366455, 0.9885008335113525]
        """
        dims = _as_shape(shape)
        dt = _as_float_dtype(dtype)
        finfo = np.finfo(dt)
        for name, bound in (("from", low), ("to", high)):
            if not float(finfo.min) <= bound <= float(finfo.max):
                raise ValueError(f"{name} is out of bounds for {dt}")
        if not low <= high:
            raise ValueError(
                f"uniform_ expects to return a [from, to) range, but found from={low} > to={high}"
            )
        if not float(high) - float(low) <= float(finfo.max):
            raise ValueError(f"uniform_ expects to-from <= {dt}'s max, but found to={high} and "
                             f"from={low} which result in to-from to exceed the limit")
        n = math.prod(dims)
        with self._lock:
            if dt == np.float64:
                lo, hi = np.float64(low), np.float64(high)
                value = fma64(self._unit_f64(n), hi - lo, lo)
            else:  # float32, and float16 whose opmath type is float
                lo, hi = _f32(low), _f32(high)
                value = fma32(self._unit_f32(n), hi - lo, lo)
        value = value.astype(dt)
        # "Clamp if the float -> scalar_t cast rounded up to the upper bound."
        value[value == dt.type(high)] = dt.type(low)
        return value.reshape(dims)

    def normal(
        self, shape: ShapeLike, mean: float = 0.0, std: float = 1.0, dtype: Any = np.float32
    ) -> np.ndarray:
        """Gaussian samples: ``torch.randn`` / ``Tensor.normal_(mean, std)``.

        The algorithm depends on the number of elements exactly as in ATen (see the module
        docstring): Box-Muller in blocks of 16 from numel 16 on, the cached scalar sampler below.

        Example:
            >>> Generator().manual_seed(0).normal((2, 8))[0, :3].tolist()  # torch.randn(2, 8)
            [-1.1258398294448853, -1.152360200881958, -0.2505785822868347]
        """
        dims = _as_shape(shape)
        dt = _as_float_dtype(dtype)
        if not std >= 0.0:
            raise ValueError(f"normal expects std >= 0.0, but found std {std}")
        n = math.prod(dims)
        with self._lock:
            if n >= 16:
                flat = self._normal_fill(n, mean, std, dt)
            else:
                flat = self._normal_scalar(n, mean, std, dt)
        return flat.reshape(dims)

    def _normal_fill(self, n: int, mean: float, std: float, dt: np.dtype) -> np.ndarray:
        """``normal_fill``: contiguous outputs with at least 16 elements."""
        full = 16 * (n // 16)  # elements covered by whole blocks of 16
        tail = n % 16 != 0
        if dt == np.float64:
            data = self._unit_f64(n)
            data[:full] = box_muller16_f64(data[:full], mean, std)
            if tail:  # recompute the last 16 values from 16 fresh uniforms
                data[n - 16:] = box_muller16_f64(self._unit_f64(16), mean, std)
            return data
        m32, s32 = _f32(mean), _f32(std)
        if dt == np.float32:
            # Uniforms go straight into the output, so the partial block's draws are wasted.
            data = self._unit_f32(n)
            data[:full] = box_muller16_f32(data[:full], m32, s32)
            if tail:
                data[n - 16:] = box_muller16_f32(self._unit_f32(16), m32, s32)
            return data
        # float16: ATen fills a 16-float stack buffer per block, then casts; no wasted draws.
        out = np.empty(n, dtype=np.float16)
        out[:full] = box_muller16_f32(self._unit_f32(full), m32, s32)
        if tail:
            out[n - 16:] = box_muller16_f32(self._unit_f32(16), m32, s32)
        return out

    def _normal_scalar(self, n: int, mean: float, std: float, dt: np.dtype) -> np.ndarray:
        """``at::normal_distribution<double>`` per element, with the generator's sin cache."""
        mean, std = float(mean), float(std)
        values = np.empty(n, dtype=np.float64)
        for i in range(n):
            if self._next_double_normal is not None:
                ret = self._next_double_normal
                self._next_double_normal = None
            else:
                u1, u2 = self._unit_f64(2).tolist()
                r = math.sqrt(-2.0 * math.log1p(-u2))
                theta = TWO_PI * u1
                self._next_double_normal = r * math.sin(theta)
                ret = r * math.cos(theta)
            values[i] = ret
        values = fma64(values, std, mean)  # transformation::normal, fused by GCC
        if dt == np.float16:
            return values.astype(np.float32).astype(np.float16)  # double -> float -> Half
        return values.astype(dt)

    def randint(
        self, low: int, high: int, shape: ShapeLike, dtype: Any = np.int64
    ) -> np.ndarray:
        """Integers on ``[low, high)``: ``torch.randint(low, high, shape)``, ``random_(low, high)``.

        Example:
            >>> Generator().manual_seed(0).randint(0, 10, (5,)).tolist()
            [4, 9, 3, 0, 3]
        """
        dims = _as_shape(shape)
        low, high = int(low), int(high)
        if not low < high:
            raise ValueError(
                f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
            )
        span = high - low
        if span > _U64_MASK:
            raise ValueError(f"randint range [{low}, {high}) does not fit in 64 bits")
        n = math.prod(dims)
        with self._lock:
            draws = self._random64(n) if span >= _RANDINT_64BIT_RANGE else self._random(n)
        # (val % range) + base in uint64 arithmetic, then reinterpreted as int64.
        value = (draws % np.uint64(span)) + np.uint64(low & _U64_MASK)
        return value.view(np.int64).astype(np.dtype(dtype)).reshape(dims)

    def randperm(self, n: int, dtype: Any = np.int64) -> np.ndarray:
        """A random permutation of ``0 .. n-1``: ``torch.randperm(n)`` (n < 214748364).

        Example:
            >>> Generator().manual_seed(0).randperm(5).tolist()
            [4, 0, 1, 3, 2]
        """
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be non-negative, got {n}")
        if n >= _RANDPERM_SMALL_N:
            raise NotImplementedError("randperm for n >= 214748364 (ATen's random64 shuffle)")
        with self._lock:
            draws = self._random(max(n - 1, 0)).tolist()
        perm = list(range(n))
        for i, d in enumerate(draws):  # randperm_cpu: a forward Fisher-Yates with modulo
            z = i + d % (n - i)
            perm[i], perm[z] = perm[z], perm[i]
        return np.array(perm, dtype=np.int64).astype(np.dtype(dtype))

    def bernoulli(self, shape: ShapeLike, p: Any = 0.5, dtype: Any = np.float32) -> np.ndarray:
        """0/1 samples with success probability ``p``: ``Tensor.bernoulli_(p)``.

        A Python/NumPy scalar ``p`` follows ``bernoulli_(float)``: one float64 uniform (two words)
        per element, ``U < p``.  An array ``p`` (broadcast to ``shape``) follows
        ``torch.bernoulli(p_tensor)``: float64 ``p`` uses float64 uniforms, float32/16 ``p`` one
        float32 uniform per element.

        Dropout in training mode on CPU is ``x * (bernoulli(x.shape, 1 - p) / float32(1 - p))``
        (``noise.bernoulli_(1 - p); noise.div_(1 - p); input * noise`` in ATen's Dropout.cpp).

        Example:
            >>> Generator().manual_seed(0).bernoulli((4,), 0.5).tolist()
            [0.0, 0.0, 1.0, 0.0]
        """
        dims = _as_shape(shape)
        n = math.prod(dims)
        dt = np.dtype(dtype)
        if np.ndim(p) == 0 and not isinstance(p, np.ndarray):
            p = float(p)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
            with self._lock:
                hit = self._unit_f64(n) < p
            return hit.astype(dt).reshape(dims)
        p_arr = np.broadcast_to(np.asarray(p), dims).ravel()
        if not ((p_arr >= 0) & (p_arr <= 1)).all():
            raise ValueError("bernoulli expects all elements of p to be in [0, 1]")
        with self._lock:
            if p_arr.dtype == np.float64:
                hit = self._unit_f64(n) < p_arr
            else:
                hit = self._unit_f32(n) < p_arr.astype(np.float32)
        return hit.astype(dt).reshape(dims)


def _resolve(generator: Generator | None) -> Generator:
    """The generator an op should use: ``generator`` itself, or the default one for ``None``."""
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"expected a minijit Generator, got {type(generator).__name__}")
    return generator


# Like torch's default CPU generator: created once, seeded nondeterministically.
default_generator = Generator()
default_generator.seed()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (``torch.manual_seed``) and return it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator nondeterministically and return the seed (``torch.seed``)."""
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's initial seed (``torch.initial_seed``)."""
    return default_generator.initial_seed()


def get_rng_state() -> np.ndarray:
    """The default generator's state as 5056 uint8 bytes (``torch.get_rng_state``)."""
    return default_generator.get_state()


def set_rng_state(state: Any) -> None:
    """Restore the default generator's state (``torch.set_rng_state``)."""
    default_generator.set_state(state)
