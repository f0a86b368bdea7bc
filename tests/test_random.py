"""Tests for minijit.random: PyTorch's CPU generator reproduced bit for bit.

Two kinds of tests:

* plain tests need only NumPy: determinism, seeding, state round trips, shapes, ranges, rough
  statistics, the exact-FMA helpers, and golden bit patterns recorded from torch 2.13;
* ``conformance`` tests import torch and compare raw bits (``view`` as unsigned ints, so -0.0,
  NaN payloads and the last ulp all count) for many seeds, shapes, dtypes and ranges.
"""

import doctest
import math
import pickle
from fractions import Fraction

import numpy as np
import pytest

from minijit import _random_math as rmath
from minijit import random as mrandom

SEEDS = [0, 1, 191009, 2**32 + 7, 2**63 + 12345]


def bits(a):
    """The raw bit pattern of an array, for exact comparisons."""
    a = np.ascontiguousarray(a)
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def hexbits(a):
    width = 2 * np.asarray(a).dtype.itemsize
    return [f"0x{v:0{width}x}" for v in bits(a).tolist()]


def assert_same_bits(expected, actual):
    expected = np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    diff = bits(expected) != bits(actual)
    assert not diff.any(), f"{diff.sum()} of {diff.size} elements differ, first at {diff.argmax()}"


# ---------------------------------------------------------------------------------------------
# Without torch
# ---------------------------------------------------------------------------------------------


def test_docstring_examples():
    assert doctest.testmod(mrandom).failed == 0


def test_golden_bits_recorded_from_torch():
    """torch.manual_seed(191009) followed by these calls, values recorded from torch 2.13."""
    g = mrandom.Generator().manual_seed(191009)
    assert hexbits(g.uniform(4)) == ["0x3ea9b9fe", "0x3f7e8732", "0x3dda57a8", "0x3f20da1b"]
    assert hexbits(g.normal(3)) == ["0xbf9cd2bf", "0xbfbbcbc1", "0x3f2ac04e"]  # scalar path
    r = g.normal(20)  # Box-Muller blocks of 16 plus the recomputed tail
    assert hexbits(r[:3]) == ["0xbfcdbc1f", "0x3f8ebcb0", "0x3ea8c4b2"]
    assert hexbits(r[-3:]) == ["0x3fe6555a", "0xbff30b74", "0x3f92327f"]
    # The first value comes from the sin sample cached by normal(3) above.
    assert hexbits(g.normal(3, dtype=np.float64)) == [
        "0xbfe986b59f042840", "0xbff5cb723eba70c6", "0xbffb69040c3185a5"]
    assert g.randint(-50, 50, (6,)).tolist() == [13, 38, 43, 23, 15, -50]
    assert g.randperm(8).tolist() == [2, 4, 6, 5, 7, 1, 0, 3]
    assert hexbits(g.uniform(2, -2, 3, np.float64)) == ["0x3ff4eec086264d88", "0x40056eaec4f74884"]


def test_determinism_and_reseeding():
    g = mrandom.Generator()
    first = [g.manual_seed(5).uniform((7,)), g.normal((40,)), g.randint(0, 9, (3,))]
    again = [g.manual_seed(5).uniform((7,)), g.normal((40,)), g.randint(0, 9, (3,))]
    for a, b in zip(first, again):
        assert_same_bits(a, b)
    assert not np.array_equal(g.manual_seed(6).uniform((7,)), first[0])


def test_manual_seed_semantics():
    g = mrandom.Generator()
    assert g.initial_seed() == 67280421310721  # a fresh torch.Generator()
    assert g.manual_seed(-1) is g
    assert g.initial_seed() == 2**64 - 1  # negative seeds wrap like torch
    # Only the low 32 bits reach the Mersenne Twister.
    a = mrandom.Generator().manual_seed(2**32 + 3).uniform(5)
    b = mrandom.Generator().manual_seed(3).uniform(5)
    assert_same_bits(a, b)
    with pytest.raises(ValueError):
        g.manual_seed(2**64)
    with pytest.raises(ValueError):
        g.manual_seed(-(2**63) - 1)


def test_module_level_functions_use_default_generator():
    assert mrandom.manual_seed(11) is mrandom.default_generator
    assert mrandom.initial_seed() == 11
    expected = mrandom.Generator().manual_seed(11).uniform(4)
    assert_same_bits(expected, mrandom._resolve(None).uniform(4))
    g = mrandom.Generator()
    assert mrandom._resolve(g) is g
    with pytest.raises(TypeError):
        mrandom._resolve(object())
    s = mrandom.seed()
    assert 0 <= s < 2**64 and mrandom.initial_seed() == s
    assert mrandom.Generator().seed() != mrandom.Generator().seed()


def test_state_round_trip_keeps_position_and_normal_cache():
    g = mrandom.Generator().manual_seed(3)
    g.uniform(700)  # past a twist of the 624-word state
    g.normal(1, dtype=np.float64)  # leaves a cached sin sample
    state = g.get_state()
    assert state.dtype == np.uint8 and state.shape == (5056,)
    pickled = pickle.dumps(g)
    expected = [g.normal(3), g.uniform(5), g.randint(0, 2**40, (3,))]
    from_array, from_bytes = mrandom.Generator(), mrandom.Generator()
    from_array.set_state(state)
    from_bytes.set_state(bytes(state))
    for restored in (from_array, from_bytes, pickle.loads(pickled)):
        got = [restored.normal(3), restored.uniform(5), restored.randint(0, 2**40, (3,))]
        for a, b in zip(expected, got):
            assert_same_bits(a, b)
    mrandom.set_rng_state(state)
    assert_same_bits(state, mrandom.get_rng_state())


def test_state_right_after_seeding_and_after_exactly_624_draws():
    g = mrandom.Generator().manual_seed(9)
    fresh = g.get_state()
    g.uniform(624)
    full = g.get_state()
    assert (fresh.view(np.int32)[2], full.view(np.int32)[2]) == (1, 1)  # `left`
    expected = g.uniform(3)
    g.set_state(fresh)
    g.uniform(624)
    assert_same_bits(expected, g.uniform(3))
    g.set_state(full)
    assert_same_bits(expected, g.uniform(3))


def test_set_state_rejects_bad_input():
    g = mrandom.Generator()
    with pytest.raises(ValueError, match="size"):
        g.set_state(b"\x00" * 10)
    bad = g.get_state()
    bad[8:12] = np.frombuffer(np.int32(0).tobytes(), np.uint8)  # left = 0
    with pytest.raises(ValueError):
        g.set_state(bad)


@pytest.mark.parametrize("shape", [(), 0, (0,), (2, 0, 3), 5, (3, 4), [2, 3, 2]])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_shapes_dtypes_and_contiguity(shape, dtype):
    g = mrandom.Generator().manual_seed(0)
    want = mrandom._as_shape(shape)
    for out in (g.uniform(shape, dtype=dtype), g.normal(shape, dtype=dtype),
                g.bernoulli(shape, 0.3, dtype=dtype)):
        assert isinstance(out, np.ndarray)
        assert out.shape == want and out.dtype == dtype and out.flags.c_contiguous
    ints = g.randint(-3, 3, shape, dtype=np.int32)
    assert ints.shape == want and ints.dtype == np.int32 and ints.flags.c_contiguous


def test_empty_requests_draw_nothing():
    g = mrandom.Generator().manual_seed(4)
    before = g.get_state()
    g.uniform((0, 5))
    g.normal(0)
    g.randint(0, 3, 0)
    g.randperm(1)
    g.bernoulli((0,), 0.5)
    assert_same_bits(before, g.get_state())


def test_value_ranges():
    g = mrandom.Generator().manual_seed(2)
    u = g.uniform(10000, -2.5, 0.5)
    assert u.min() >= -2.5 and u.max() < 0.5
    u64 = g.uniform(10000, 1.0, 1.0 + 1e-12, np.float64)
    assert u64.min() >= 1.0 and u64.max() < 1.0 + 1e-12
    r = g.randint(-(2**40), -(2**40) + 7, (5000,))
    assert r.min() == -(2**40) and r.max() == -(2**40) + 6
    p = g.randperm(1000)
    assert sorted(p.tolist()) == list(range(1000))
    b = g.bernoulli(1000, 0.5, np.int64)
    assert set(np.unique(b).tolist()) == {0, 1}
    assert g.bernoulli(100, 0.0).sum() == 0 and g.bernoulli(100, 1.0).sum() == 100


def test_rough_statistics():
    g = mrandom.Generator().manual_seed(123)
    n = g.normal(200_000, 2.0, 3.0)
    assert abs(n.mean() - 2.0) < 0.03 and abs(n.std() - 3.0) < 0.03
    n64 = g.normal(50_000, dtype=np.float64)
    assert abs(n64.mean()) < 0.03 and abs(n64.std() - 1.0) < 0.03
    small = np.concatenate([g.normal(7) for _ in range(2000)])  # the cached scalar sampler
    assert abs(small.mean()) < 0.05 and abs(small.std() - 1.0) < 0.05
    u = g.uniform(100_000)
    assert abs(u.mean() - 0.5) < 0.005
    assert abs(g.bernoulli(100_000, 0.2).mean() - 0.2) < 0.005
    counts = np.bincount(g.randint(0, 10, (100_000,)), minlength=10)
    assert counts.min() > 9500 and counts.max() < 10500


def test_argument_errors():
    g = mrandom.Generator()
    with pytest.raises(ValueError):
        g.uniform(3, 1.0, 0.0)
    with pytest.raises(ValueError):
        g.normal(3, 0.0, -1.0)
    with pytest.raises(ValueError):
        g.randint(5, 5, (2,))
    with pytest.raises(ValueError):
        g.bernoulli(3, 1.5)
    with pytest.raises(ValueError):
        g.uniform((2, -1))
    with pytest.raises(TypeError):
        g.uniform(3, dtype=np.int32)
    with pytest.raises(NotImplementedError):
        g.randperm(2**31)


def _round_to_float32(value: Fraction) -> np.float32:
    """Correctly rounded (ties to even) float32 of an exact rational."""
    guess = np.float32(float(value))
    candidates = [np.nextafter(guess, np.float32(-np.inf)), guess,
                  np.nextafter(guess, np.float32(np.inf))]
    return min(candidates, key=lambda c: (abs(Fraction(float(c)) - value), bits(np.array(c)) & 1))


def test_exact_fma_helpers():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(3000) * 10.0 ** rng.integers(-3, 4, 3000)
    b = rng.standard_normal(3000)
    c = np.where(rng.random(3000) < 0.5, -(a * b), rng.standard_normal(3000))
    want = [float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c)]
    assert_same_bits(np.array(want), rmath.fma64(a, b, c))
    a32, b32, c32 = (v.astype(np.float32) for v in (a, b, c))
    want32 = [_round_to_float32(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)))
              for x, y, z in zip(a32, b32, c32)]
    assert_same_bits(np.array(want32, np.float32), rmath.fma32(a32, b32, c32))
    # fl64(p + c) lands exactly on the tie 1 + 2**-24 while the true sum is 2**-60 above it:
    # rounding the double to float32 would give 1.0, a real FMA gives 1 + 2**-23.
    f = np.float32
    got = rmath.fma32(f(-(2.0**-24) * (1 + 2.0**-18)), f(1 - 2.0**-18), f(1 + 2.0**-23))
    assert got == f(1 + 2.0**-23)


def test_avx_math_is_accurate():
    """The emulated avx_mathfun log/sincos agree with float64 math to a few float32 ulps."""
    x = np.linspace(2.0**-24, 1.0, 10001, dtype=np.float32)
    assert np.allclose(rmath._log256_ps(x), np.log(x.astype(np.float64)), rtol=3e-7, atol=1e-7)
    t = np.linspace(0.0, 2 * np.pi, 10001, dtype=np.float32)
    s, c = rmath._sincos256_ps(t)
    assert np.allclose(s, np.sin(t.astype(np.float64)), atol=3e-7)
    assert np.allclose(c, np.cos(t.astype(np.float64)), atol=3e-7)


# ---------------------------------------------------------------------------------------------
# Conformance with torch (bit for bit)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


TORCH_DTYPES = {np.float16: "float16", np.float32: "float32", np.float64: "float64"}


def pair(torch, seed):
    """A torch generator and a minijit generator with the same seed."""
    return torch.Generator().manual_seed(seed), mrandom.Generator().manual_seed(seed)


@pytest.mark.conformance
def test_acceptance_rand_twice_after_seed_191009(torch):
    torch.manual_seed(191009)
    mrandom.manual_seed(191009)
    assert_same_bits(torch.rand(3, 4).numpy(), mrandom.default_generator.uniform((3, 4)))
    assert_same_bits(torch.rand(3, 4).numpy(), mrandom.default_generator.uniform((3, 4)))
    assert_same_bits(torch.get_rng_state().numpy(), mrandom.get_rng_state())


@pytest.mark.conformance
@pytest.mark.parametrize("in_features,out_features", [(4, 4), (3, 5), (10, 1), (128, 64)])
def test_acceptance_nn_linear_init(torch, in_features, out_features):
    """nn.Linear = kaiming_uniform_(weight, a=sqrt(5)), then uniform_ on the bias."""
    torch.manual_seed(191009)
    layer = torch.nn.Linear(in_features, out_features)
    g = mrandom.Generator().manual_seed(191009)
    fan_in = in_features
    gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))  # calculate_gain('leaky_relu', sqrt(5))
    bound = math.sqrt(3.0) * (gain / math.sqrt(fan_in))
    weight = g.uniform((out_features, in_features), -bound, bound)
    bias_bound = 1 / math.sqrt(fan_in)
    bias = g.uniform((out_features,), -bias_bound, bias_bound)
    assert_same_bits(layer.weight.detach().numpy(), weight)
    assert_same_bits(layer.bias.detach().numpy(), bias)


@pytest.mark.conformance
@pytest.mark.parametrize("seed", SEEDS)
def test_rand_float32_float64_float16(torch, seed):
    tg, g = pair(torch, seed)
    for shape in [(), (1,), (3, 4), (1000,), (0, 3)]:
        for dtype, name in TORCH_DTYPES.items():
            want = torch.rand(shape, generator=tg, dtype=getattr(torch, name)).numpy()
            assert_same_bits(want, g.uniform(shape, dtype=dtype))
    assert_same_bits(tg.get_state().numpy(), g.get_state())


@pytest.mark.conformance
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_uniform_ranges(torch, dtype):
    rng = np.random.default_rng(1)
    tg, g = pair(torch, 77)
    tdtype = getattr(torch, TORCH_DTYPES[dtype])
    for _ in range(40):
        scale = 10.0 ** rng.integers(-4, 5)
        low, high = sorted((rng.standard_normal(2) * scale).tolist())
        want = torch.empty(777, dtype=tdtype).uniform_(low, high, generator=tg).numpy()
        assert_same_bits(want, g.uniform(777, low, high, dtype))
    big = float(np.finfo(dtype).max) * 0.45  # to - from close to the largest finite value
    for low, high in [(0.0, 0.0), (-1.0, 1.0), (5.0, 5.0 + 1e-3), (-big, big), (big, big)]:
        want = torch.empty(100, dtype=tdtype).uniform_(low, high, generator=tg).numpy()
        assert_same_bits(want, g.uniform(100, low, high, dtype))
    with pytest.raises(RuntimeError):
        torch.empty(1, dtype=tdtype).uniform_(-3 * big, 3 * big)
    with pytest.raises(ValueError):
        g.uniform(1, -3 * big, 3 * big, dtype)


@pytest.mark.conformance
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_randn_sizes(torch, seed, dtype):
    tg, g = pair(torch, seed)
    tdtype = getattr(torch, TORCH_DTYPES[dtype])
    for n in [1, 2, 15, 16, 17, 31, 32, 33, 100, 1000, 3, 1]:  # also exercises the sin cache
        assert_same_bits(torch.randn(n, generator=tg, dtype=tdtype).numpy(),
                         g.normal(n, dtype=dtype))
    for shape in [(), (4, 4), (3, 5, 7), (0,)]:
        assert_same_bits(torch.randn(shape, generator=tg, dtype=tdtype).numpy(),
                         g.normal(shape, dtype=dtype))
    assert_same_bits(tg.get_state().numpy(), g.get_state())


@pytest.mark.conformance
def test_randn_large_and_half(torch):
    tg, g = pair(torch, 2024)
    assert_same_bits(torch.randn(200_003, generator=tg).numpy(), g.normal(200_003))
    assert_same_bits(torch.randn(20_001, generator=tg, dtype=torch.float64).numpy(),
                     g.normal(20_001, dtype=np.float64))
    for n in [5, 16, 40]:
        assert_same_bits(torch.randn(n, generator=tg, dtype=torch.float16).numpy(),
                         g.normal(n, dtype=np.float16))


@pytest.mark.conformance
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_mean_std(torch, dtype):
    rng = np.random.default_rng(2)
    tg, g = pair(torch, 5)
    tdtype = getattr(torch, TORCH_DTYPES[dtype])
    for n in [3, 16, 50, 333]:
        for _ in range(5):
            mean, std = float(rng.standard_normal() * 10), float(abs(rng.standard_normal()) * 3)
            want = torch.empty(n, dtype=tdtype).normal_(mean, std, generator=tg).numpy()
            assert_same_bits(want, g.normal(n, mean, std, dtype))


@pytest.mark.conformance
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_randint(torch, seed):
    tg, g = pair(torch, seed)
    spans = [1, 2, 10, 1000, 2**28 - 1, 2**28, 2**32 - 1, 2**32, 2**32 + 1, 2**62, 2**64 - 1]
    for span in spans:
        for low in [0, -7, -(2**63)]:
            high = low + span
            if high > 2**63 - 1:
                continue
            want = torch.randint(low, high, (37,), generator=tg).numpy()
            assert_same_bits(want, g.randint(low, high, (37,)))
    for dtype in [np.int32, np.int16, np.uint8, np.float32, np.float64]:
        tdtype = getattr(torch, np.dtype(dtype).name)
        want = torch.randint(0, 100, (2, 9), generator=tg, dtype=tdtype).numpy()
        assert_same_bits(want, g.randint(0, 100, (2, 9), dtype=dtype))


@pytest.mark.conformance
def test_randperm(torch):
    tg, g = pair(torch, 31)
    for n in [0, 1, 2, 3, 10, 1000, 50_000]:
        assert_same_bits(torch.randperm(n, generator=tg).numpy(), g.randperm(n))
    assert_same_bits(torch.randperm(12, generator=tg, dtype=torch.int32).numpy(),
                     g.randperm(12, dtype=np.int32))


@pytest.mark.conformance
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_bernoulli_scalar_p(torch, dtype):
    tg, g = pair(torch, 8)
    tdtype = getattr(torch, {np.bool_: "bool"}.get(dtype, np.dtype(dtype).name))
    for p in [0.0, 0.1, 0.5, 0.8, 1.0]:
        want = torch.empty(300, dtype=tdtype).bernoulli_(p, generator=tg).numpy()
        assert_same_bits(want, g.bernoulli(300, p, dtype))


@pytest.mark.conformance
@pytest.mark.parametrize("pdtype", [np.float32, np.float64])
def test_bernoulli_tensor_p(torch, pdtype):
    tg, g = pair(torch, 9)
    probs = np.random.default_rng(0).random((4, 50)).astype(pdtype)
    want = torch.bernoulli(torch.from_numpy(probs), generator=tg).numpy()
    assert_same_bits(want, g.bernoulli(probs.shape, probs, pdtype))
    row = probs[0]  # broadcast p over a larger output
    want = torch.empty(3, 50, dtype=torch.float32).bernoulli_(torch.from_numpy(row), generator=tg)
    assert_same_bits(want.numpy(), g.bernoulli((3, 50), row, np.float32))


@pytest.mark.conformance
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_mask(torch, p):
    torch.manual_seed(42)
    x = torch.randn(64, 33)
    out = torch.nn.functional.dropout(x, p=p, training=True)
    g = mrandom.Generator().manual_seed(42)
    g.normal((64, 33))
    mask = g.bernoulli((64, 33), 1 - p, np.float32)
    noise = mask / np.float32(1 - p)
    assert_same_bits(out.numpy(), x.numpy() * noise)


@pytest.mark.conformance
def test_state_interchange_with_torch(torch):
    torch.manual_seed(99)
    torch.rand(1000)
    torch.randn(1, dtype=torch.float64)  # leaves a cached normal in the state
    g = mrandom.Generator()
    g.set_state(torch.get_rng_state())
    assert_same_bits(torch.get_rng_state().numpy(), g.get_state())
    assert g.initial_seed() == torch.initial_seed() == 99
    assert_same_bits(torch.randn(5).numpy(), g.normal(5))
    g.uniform(10)
    torch.set_rng_state(torch.from_numpy(g.get_state()))
    assert_same_bits(g.normal(3, dtype=np.float64), torch.randn(3, dtype=torch.float64).numpy())
    assert_same_bits(torch.get_rng_state().numpy(), g.get_state())


@pytest.mark.conformance
def test_default_seed_and_fresh_generator_state(torch):
    assert mrandom.Generator().initial_seed() == torch.Generator().initial_seed()
    assert_same_bits(torch.Generator().get_state().numpy(), mrandom.Generator().get_state())
    for seed in SEEDS:
        assert_same_bits(torch.Generator().manual_seed(seed).get_state().numpy(),
                         mrandom.Generator().manual_seed(seed).get_state())
