"""Tests for ``minijit._tensor_str``: tensors must print exactly as PyTorch 2.13 prints them.

Two kinds of tests, both tables:

- golden strings copied from ``shared/reference/torchscript-formats.md`` §5.1 (PyTorch's own
  output), which run without PyTorch installed;
- conformance cases (marker ``conformance``) that build the same data in PyTorch with
  ``torch.from_numpy`` and compare ``repr`` character for character. They cover the golden
  cases again plus a few hundred seeded random tensors (ranks 0-4, many dtypes and value
  ranges), sizes around the summarisation threshold, line wrapping, suffix wrapping and
  non-default print options.
"""

from __future__ import annotations

import doctest
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import minijit._tensor_str as tensor_str
from minijit._tensor_str import (
    format_float_python,
    get_printoptions,
    printoptions,
    set_printoptions,
    tensor_repr,
)

NAN, INF = float("nan"), float("inf")


@pytest.fixture(autouse=True)
def _default_printoptions() -> Iterator[None]:
    """Every test starts and ends with default print options, in minijit and in PyTorch."""

    def reset() -> None:
        set_printoptions(profile="default", sci_mode=None)
        torch = sys.modules.get("torch")  # only if a conformance test imported it
        if torch is not None:
            torch.set_printoptions(profile="default", sci_mode=None)

    reset()
    yield
    reset()


def f32(values: Any) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def f64(values: Any) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def i64(values: Any) -> np.ndarray:
    return np.array(values, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Golden strings (reference §5.1), no PyTorch needed
# ---------------------------------------------------------------------------------------------

# (id, data, dtype_name or None for the array's own dtype, extra kwargs, expected repr)
GOLDEN: list[tuple[str, np.ndarray, str | None, dict[str, Any], str]] = [
    ("float ints", f32([1, 2, 3]), None, {}, "tensor([1., 2., 3.])"),
    ("float frac", f32([0.1, 0.25, 1 / 3]), None, {}, "tensor([0.1000, 0.2500, 0.3333])"),
    ("float mixed sign", f32([-1.5, 2.0, 0.125]), None, {}, "tensor([-1.5000,  2.0000,  0.1250])"),
    (
        "float 2d alignment",
        f32([[1.0, -2.5], [10.0, 0.123456]]),
        None,
        {},
        "tensor([[ 1.0000, -2.5000],\n        [10.0000,  0.1235]])",
    ),
    (
        "float 3d",
        np.arange(8, dtype=np.float32).reshape(2, 2, 2),
        None,
        {},
        "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])",
    ),
    ("sci small", f32([1e-5, 1.0]), None, {}, "tensor([1.0000e-05, 1.0000e+00])"),
    ("sci large ratio", f32([1e-3, 1e5]), None, {}, "tensor([1.0000e-03, 1.0000e+05])"),
    ("sci 1e8 and 1", f32([1e8, 1.0]), None, {}, "tensor([1.0000e+08, 1.0000e+00])"),
    ("sci 1e-4 float32", f32([1e-4, 1.0]), None, {}, "tensor([1.0000e-04, 1.0000e+00])"),
    ("1 and 999", f32([1.0, 999.0]), None, {}, "tensor([  1., 999.])"),
    ("1 and 12345678", f32([1.0, 12345678.0]), None, {}, "tensor([1.0000e+00, 1.2346e+07])"),
    ("1 and 1e9", f32([1.0, 1e9]), None, {}, "tensor([1.0000e+00, 1.0000e+09])"),
    ("nan inf", f32([NAN, INF, -INF, 1.5]), None, {}, "tensor([   nan,    inf,   -inf, 1.5000])"),
    ("nan inf ints", f32([NAN, INF, 1.0]), None, {}, "tensor([nan, inf, 1.])"),
    ("neg zero", f32([-0.0, 1.0]), None, {}, "tensor([-0., 1.])"),
    ("0-dim float", f32(3.5), None, {}, "tensor(3.5000)"),
    ("0-dim float int-valued", f32(3.0), None, {}, "tensor(3.)"),
    ("0-dim int", i64(3), None, {}, "tensor(3)"),
    ("0-dim bool", np.array(True), None, {}, "tensor(True)"),
    ("int64", i64([1, -20, 300]), None, {}, "tensor([  1, -20, 300])"),
    ("int32", np.array([1, 2], np.int32), None, {}, "tensor([1, 2], dtype=torch.int32)"),
    ("int16", np.array([1, 2], np.int16), None, {}, "tensor([1, 2], dtype=torch.int16)"),
    ("uint8", np.array([1, 2], np.uint8), None, {}, "tensor([1, 2], dtype=torch.uint8)"),
    ("int8", np.array([1, 2], np.int8), None, {}, "tensor([1, 2], dtype=torch.int8)"),
    ("float64", f64([1.5, 2.0]), None, {}, "tensor([1.5000, 2.0000], dtype=torch.float64)"),
    ("float64 0-dim", f64(1.5), None, {}, "tensor(1.5000, dtype=torch.float64)"),
    (
        "float16",
        np.array([1.5, 2.0], np.float16),
        None,
        {},
        "tensor([1.5000, 2.0000], dtype=torch.float16)",
    ),
    ("bfloat16", f32([1.5, 2.0]), "bfloat16", {}, "tensor([1.5000, 2.0000], dtype=torch.bfloat16)"),
    ("bool", np.array([True, False]), None, {}, "tensor([ True, False])"),
    ("empty float", f32([]), None, {}, "tensor([])"),
    ("empty int64", i64([]), None, {}, "tensor([], dtype=torch.int64)"),
    ("empty float64", f64([]), None, {}, "tensor([], dtype=torch.float64)"),
    ("empty (0,3)", np.zeros((0, 3), np.float32), None, {}, "tensor([], size=(0, 3))"),
    (
        "empty (2,0) int32",
        np.zeros((2, 0), np.int32),
        None,
        {},
        "tensor([], size=(2, 0), dtype=torch.int32)",
    ),
    (
        "requires_grad leaf",
        f32([1, 2]),
        None,
        {"requires_grad": True},
        "tensor([1., 2.], requires_grad=True)",
    ),
    (
        "tanh grad_fn",
        np.tanh(f32([0.5, -1.0])),
        None,
        {"grad_fn_name": "TanhBackward0", "requires_grad": True},
        "tensor([ 0.4621, -0.7616], grad_fn=<TanhBackward0>)",
    ),
    (
        "add grad_fn",
        f32([1.5, 0.0]),
        None,
        {"grad_fn_name": "AddBackward0"},
        "tensor([1.5000, 0.0000], grad_fn=<AddBackward0>)",
    ),
    (
        "mul grad_fn",
        f32([1.0, -2.0]),
        None,
        {"grad_fn_name": "MulBackward0"},
        "tensor([ 1., -2.], grad_fn=<MulBackward0>)",
    ),
    (
        "sum grad_fn 0-dim",
        f32(-1.0),
        None,
        {"grad_fn_name": "SumBackward0"},
        "tensor(-1., grad_fn=<SumBackward0>)",
    ),
    (
        "view grad_fn",
        f32([[0.5], [-1.0]]),
        None,
        {"grad_fn_name": "ViewBackward0"},
        "tensor([[ 0.5000],\n        [-1.0000]], grad_fn=<ViewBackward0>)",
    ),
    (
        "matmul grad_fn",
        f32(1.25),
        None,
        {"grad_fn_name": "DotBackward0"},
        "tensor(1.2500, grad_fn=<DotBackward0>)",
    ),
    (
        "relu grad_fn",
        f32([0.5, 0.0]),
        None,
        {"grad_fn_name": "ReluBackward0"},
        "tensor([0.5000, 0.0000], grad_fn=<ReluBackward0>)",
    ),
    (
        "float64 with grad",
        f64([2.0]),
        None,
        {"grad_fn_name": "MulBackward0"},
        "tensor([2.], dtype=torch.float64, grad_fn=<MulBackward0>)",
    ),
    (
        "Parameter",
        f32([1, 2]),
        None,
        {"is_parameter": True, "requires_grad": True},
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)",
    ),
    (
        "Parameter no grad",
        f32([1, 2]),
        None,
        {"is_parameter": True},
        "Parameter containing:\ntensor([1., 2.])",
    ),
    (
        "linewidth wrap arange(30.)",
        np.arange(30, dtype=np.float32),
        None,
        {},
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
        "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
        "        28., 29.])",
    ),
    (
        "linewidth wrap int arange(40)",
        np.arange(40),
        None,
        {},
        "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
        "        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n"
        "        36, 37, 38, 39])",
    ),
    (
        "summarize arange(1001)",
        np.arange(1001),
        None,
        {},
        "tensor([   0,    1,    2,  ...,  998,  999, 1000])",
    ),
    (
        "summarize float 2000",
        np.arange(2000, dtype=np.float32) / np.float32(7),
        None,
        {},
        "tensor([0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 2.8529e+02, 2.8543e+02,\n"
        "        2.8557e+02])",
    ),
    (
        "summarize 2d 40x40",
        np.arange(1600, dtype=np.float32).reshape(40, 40),
        None,
        {},
        "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 3.7000e+01, 3.8000e+01,\n"
        "         3.9000e+01],\n"
        "        [4.0000e+01, 4.1000e+01, 4.2000e+01,  ..., 7.7000e+01, 7.8000e+01,\n"
        "         7.9000e+01],\n"
        "        [8.0000e+01, 8.1000e+01, 8.2000e+01,  ..., 1.1700e+02, 1.1800e+02,\n"
        "         1.1900e+02],\n"
        "        ...,\n"
        "        [1.4800e+03, 1.4810e+03, 1.4820e+03,  ..., 1.5170e+03, 1.5180e+03,\n"
        "         1.5190e+03],\n"
        "        [1.5200e+03, 1.5210e+03, 1.5220e+03,  ..., 1.5570e+03, 1.5580e+03,\n"
        "         1.5590e+03],\n"
        "        [1.5600e+03, 1.5610e+03, 1.5620e+03,  ..., 1.5970e+03, 1.5980e+03,\n"
        "         1.5990e+03]])",
    ),
    (
        # torch.manual_seed(0); torch.randn(3, 4), rounded to the printed digits.
        "randn 3x4",
        f32(
            [
                [1.5410, -0.2934, -2.1788, 0.5684],
                [-1.0845, -1.3986, 0.4033, 0.8380],
                [-0.7193, -0.4033, -0.5966, 0.1820],
            ]
        ),
        None,
        {},
        "tensor([[ 1.5410, -0.2934, -2.1788,  0.5684],\n"
        "        [-1.0845, -1.3986,  0.4033,  0.8380],\n"
        "        [-0.7193, -0.4033, -0.5966,  0.1820]])",
    ),
    (
        "ones(2,3)",
        np.ones((2, 3), np.float32),
        None,
        {},
        "tensor([[1., 1., 1.],\n        [1., 1., 1.]])",
    ),
    (
        "strided non-contig",
        np.arange(6, dtype=np.float32).reshape(2, 3).T,
        None,
        {},
        "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])",
    ),
    (
        "suffix wrap grad_fn",
        np.arange(14, dtype=np.float32),
        None,
        {"grad_fn_name": "MulBackward0"},
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.],\n"
        "       grad_fn=<MulBackward0>)",
    ),
    (
        "suffix 2d float64 requires_grad",
        np.arange(12, dtype=np.float64).reshape(3, 4),
        None,
        {"requires_grad": True},
        "tensor([[ 0.,  1.,  2.,  3.],\n"
        "        [ 4.,  5.,  6.,  7.],\n"
        "        [ 8.,  9., 10., 11.]], dtype=torch.float64, requires_grad=True)",
    ),
    (
        "suffix sci float64 grad_fn",
        f64([123456.0, 2.0]),
        None,
        {"grad_fn_name": "MulBackward0"},
        "tensor([1.2346e+05, 2.0000e+00], dtype=torch.float64, grad_fn=<MulBackward0>)",
    ),
    ("float64 one", f64([1.5]), None, {}, "tensor([1.5000], dtype=torch.float64)"),
    (
        "int32 arange(9)",
        np.arange(9, dtype=np.int32),
        None,
        {},
        "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8], dtype=torch.int32)",
    ),
    (
        "3d one row",
        np.arange(3, dtype=np.float32)[None, None],
        None,
        {},
        "tensor([[[0., 1., 2.]]])",
    ),
    ("zeros", np.zeros(2, np.float32), None, {}, "tensor([0., 0.])"),
    ("all nan", f32([NAN, NAN]), None, {}, "tensor([nan, nan])"),
    ("zero and inf", f32([0.0, INF]), None, {}, "tensor([0., inf])"),
    # Not in the reference file: the device suffix follows torch's Note [Print tensor device].
    ("cuda device", f32([1, 2]), None, {"device": "cuda"}, "tensor([1., 2.], device='cuda:0')"),
    (
        "cuda device grad",
        f32([1, 2]),
        None,
        {"device": "cuda:0", "requires_grad": True},
        "tensor([1., 2.], device='cuda:0', requires_grad=True)",
    ),
]


@pytest.mark.parametrize(
    "data, dtype_name, kwargs, expected", [case[1:] for case in GOLDEN], ids=[c[0] for c in GOLDEN]
)
def test_golden(data: np.ndarray, dtype_name: str | None, kwargs: dict, expected: str) -> None:
    assert tensor_repr(data, dtype_name or data.dtype.name, **kwargs) == expected


def test_golden_summarize_3d_first_lines() -> None:
    expected = """\
tensor([[[   0,    1,    2,  ...,   17,   18,   19],
         [  20,   21,   22,  ...,   37,   38,   39],
         [  40,   41,   42,  ...,   57,   58,   59],
         ...,
         [ 340,  341,  342,  ...,  357,  358,  359],
         [ 360,  361,  362,  ...,  377,  378,  379],
         [ 380,  381,  382,  ...,  397,  398,  399]],

        [[ 400,  401,  402,  ...,  417,  418,  419],
         [ 420,  421,  422,  ...,  437,  438,  439],
         [ 440,  441,  442,  ...,  457,  458,  459],
         ...,
         [ 740,  741,  742,  ...,  757,  758,  759],
         [ 760,  761,  762,  ...,  777,  778,  779],
         [ 780,  781,  782,  ...,  797,  798,  799]],

        [[ 800,  801,  802,  ...,  817,  818,  819],
         [ 820,  821,  822,  ...,  837,  838,  839],
         [ 840,  841,  842,  ...,  857,  858,  859],
         ...,"""
    text = tensor_repr(np.arange(8000).reshape(20, 20, 20), "int64")
    assert "\n".join(text.splitlines()[:20]) == expected


def test_golden_arange_1000_not_summarized() -> None:
    text = tensor_repr(np.arange(1000), "int64")
    assert "..." not in text
    assert text.startswith("tensor([  0,   1,   2,")
    assert text.endswith(" 999])")


def test_golden_printoptions() -> None:
    assert get_printoptions() == {
        "precision": 4,
        "threshold": 1000,
        "edgeitems": 3,
        "linewidth": 80,
        "sci_mode": None,
    }
    values = f32([1 / 3, 2.0])
    set_printoptions(precision=2)
    assert tensor_repr(values, "float32") == "tensor([0.33, 2.00])"
    set_printoptions(profile="default")
    assert tensor_repr(values, "float32") == "tensor([0.3333, 2.0000])"
    set_printoptions(sci_mode=False)
    assert tensor_repr(f32([1e-5, 1e5]), "float32") == "tensor([     0.0000, 100000.0000])"


def test_set_printoptions_round_trip() -> None:
    set_printoptions(precision=6, threshold=10, edgeitems=1, linewidth=40, sci_mode=True)
    saved = get_printoptions()
    assert saved == {
        "precision": 6,
        "threshold": 10,
        "edgeitems": 1,
        "linewidth": 40,
        "sci_mode": True,
    }
    set_printoptions(profile="full")
    assert get_printoptions()["threshold"] == float("inf")
    assert get_printoptions()["sci_mode"] is None  # every call assigns sci_mode
    set_printoptions(**saved)
    assert get_printoptions() == saved
    set_printoptions(profile="short", precision=3)
    assert get_printoptions() == {
        "precision": 3,
        "threshold": 1000,
        "edgeitems": 2,
        "linewidth": 80,
        "sci_mode": None,
    }


def test_printoptions_context_manager_restores() -> None:
    before = get_printoptions()
    with printoptions(threshold=5, edgeitems=2):
        assert tensor_repr(np.arange(10), "int64") == "tensor([0, 1,  ..., 8, 9])"
    assert get_printoptions() == before
    assert tensor_repr(np.arange(10), "int64") == "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"


def test_print_opts_is_module_level_state() -> None:
    set_printoptions(linewidth=100)
    assert tensor_str.PRINT_OPTS.linewidth == 100


def test_format_float_python() -> None:
    assert format_float_python(np.float32(0.1)) == "0.1000"
    assert format_float_python(-0.0, int_mode=True) == "-0."
    assert format_float_python(INF, int_mode=True, width=4) == " inf"
    assert format_float_python(12345678.0, sci_mode=True, width=12) == "  1.2346e+07"
    assert format_float_python(2.0, precision=2) == "2.00"


def test_tensor_contents_replaces_values() -> None:
    text = tensor_repr(f64([1.0]), "float64", tensor_contents="[...]", requires_grad=True)
    assert text == "tensor([...], dtype=torch.float64, requires_grad=True)"


def test_accepts_objects_with_get() -> None:
    """CuPy arrays are copied to the host with ``.get()`` before printing."""

    class FakeDeviceArray:
        def get(self) -> np.ndarray:
            return f32([1, 2])

    text = tensor_repr(FakeDeviceArray(), "float32", device="cuda:0")
    assert text == "tensor([1., 2.], device='cuda:0')"


def test_complex_is_rejected() -> None:
    with pytest.raises(TypeError, match="complex64"):
        tensor_repr(np.array([1 + 2j], np.complex64), "complex64")


def test_docstring_examples() -> None:
    set_printoptions(profile="default", sci_mode=None)
    result = doctest.testmod(tensor_str, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# ---------------------------------------------------------------------------------------------
# Conformance with PyTorch
# ---------------------------------------------------------------------------------------------


def _torch() -> Any:
    return pytest.importorskip("torch")


def _torch_dtype_name(t: Any) -> str:
    return str(t.dtype).removeprefix("torch.")


def _assert_same_repr(data: np.ndarray, **kwargs: Any) -> None:
    """Compare ``repr(torch.from_numpy(data))`` with ``tensor_repr(data, ...)``."""
    torch = _torch()
    t = torch.from_numpy(np.array(data))
    expected = repr(t)
    assert tensor_repr(data, _torch_dtype_name(t), **kwargs) == expected


def _random_values(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    """Seeded values of one ``kind``; every kind exercises a different formatter decision."""
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "scaled":  # a random magnitude: fixed, sci by max > 1e8 or min < 1e-4
        return rng.standard_normal(shape) * 10.0 ** rng.integers(-7, 11)
    if kind == "wide":  # magnitudes spread over many decades: sci by ratio
        return rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(-6, 10, shape)
    if kind == "whole":  # int_mode
        return rng.integers(-1000, 1000, shape).astype(np.float64)
    if kind == "whole_big":  # int_mode + sci (> 1e8) or wide int_mode
        return rng.integers(-(10**10), 10**10, shape).astype(np.float64)
    if kind == "special":  # nan/inf/-0 mixed into normal values
        values = rng.standard_normal(shape).reshape(-1)
        picks = rng.integers(0, 5, values.size)
        values[picks == 0] = np.nan
        values[picks == 1] = np.inf
        values[picks == 2] = -0.0
        return values.reshape(shape)
    if kind == "special_whole":
        values = rng.integers(-50, 50, shape).astype(np.float64).reshape(-1)
        picks = rng.integers(0, 4, values.size)
        values[picks == 0] = -np.inf
        values[picks == 1] = np.nan
        return values.reshape(shape)
    if kind == "tiny":
        return rng.standard_normal(shape) * 1e-6
    raise ValueError(kind)


_FLOAT_KINDS = [
    "normal", "scaled", "wide", "whole", "whole_big", "special", "special_whole", "tiny"
]
_FLOAT_DTYPES = [np.float32, np.float64, np.float16]
_INT_DTYPES = [np.int64, np.int32, np.int16, np.int8, np.uint8]


def _random_cases(count: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """``count`` seeded tensors of rank 0-4 with small dims, over all dtypes and value kinds."""
    rng = np.random.default_rng(seed)
    cases = []
    for index in range(count):
        rank = int(rng.integers(0, 5))
        shape = tuple(int(n) for n in rng.integers(1, [12, 7, 5, 4][:rank])) if rank else ()
        choice = rng.integers(0, 10)
        if choice < 7:
            kind = _FLOAT_KINDS[int(rng.integers(0, len(_FLOAT_KINDS)))]
            dtype = _FLOAT_DTYPES[int(rng.integers(0, 3))]
            with np.errstate(over="ignore"):
                data = _random_values(rng, shape, kind).astype(dtype)
            label = f"{index}-{kind}-{np.dtype(dtype).name}-{shape}"
        elif choice < 9:
            dtype = _INT_DTYPES[int(rng.integers(0, len(_INT_DTYPES)))]
            info = np.iinfo(dtype)
            high = min(int(info.max), 10 ** int(rng.integers(1, 12)))
            low = max(int(info.min), -high)
            data = rng.integers(low, high, shape, endpoint=True).astype(dtype)
            label = f"{index}-int-{np.dtype(dtype).name}-{shape}"
        else:
            data = rng.random(shape) < 0.5
            label = f"{index}-bool-{shape}"
        cases.append((label, np.asarray(data)))
    return cases


RANDOM_CASES = _random_cases(260, seed=1234)


@pytest.mark.conformance
@pytest.mark.parametrize("data", [c[1] for c in RANDOM_CASES], ids=[c[0] for c in RANDOM_CASES])
def test_conformance_random(data: np.ndarray) -> None:
    _assert_same_repr(data)


@pytest.mark.conformance
@pytest.mark.parametrize(
    "data, dtype_name, kwargs",
    [(c[1], c[2], c[3]) for c in GOLDEN if c[2] is None and "device" not in c[3]],
    ids=[c[0] for c in GOLDEN if c[2] is None and "device" not in c[3]],
)
def test_conformance_golden_inputs(data: np.ndarray, dtype_name: None, kwargs: dict) -> None:
    """The golden inputs again, against the installed PyTorch, with the same flags."""
    torch = _torch()
    t = torch.from_numpy(np.array(data))
    if kwargs.get("is_parameter"):
        t = torch.nn.Parameter(t, requires_grad=kwargs.get("requires_grad", False))
        expected = repr(t)
    elif "grad_fn_name" in kwargs:
        expected = repr(t)  # values only; the suffix is checked by test_conformance_suffixes
        kwargs = {}
    else:
        expected = repr(t.requires_grad_(kwargs.get("requires_grad", False)))
    assert tensor_repr(data, data.dtype.name, **kwargs) == expected


def _threshold_shapes() -> list[tuple[int, ...]]:
    """Shapes with numel just below, at and above ``threshold=1000``, and large ranks."""
    return [
        (999,),
        (1000,),
        (1001,),
        (10, 100),
        (10, 101),
        (1001, 1),
        (1, 1001),
        (7, 143),
        (6, 200),
        (4, 5, 50),
        (2, 3, 167),
        (3, 3, 3, 38),
        (2, 2, 2, 126),
        (7, 7, 7, 7),
    ]


THRESHOLD_CASES = [
    (f"{kind}-{shape}", shape, kind)
    for shape in _threshold_shapes()
    for kind in ("normal", "whole", "wide", "int")
]


@pytest.mark.conformance
@pytest.mark.parametrize(
    "shape, kind", [c[1:] for c in THRESHOLD_CASES], ids=[c[0] for c in THRESHOLD_CASES]
)
def test_conformance_threshold(shape: tuple[int, ...], kind: str) -> None:
    """Around 1000 elements: the summarised values alone must decide widths and modes."""
    rng = np.random.default_rng(sum(shape) * 7 + len(kind))
    if kind == "int":
        data = rng.integers(-(10**6), 10**6, shape)
    else:
        data = _random_values(rng, shape, kind).astype(np.float32)
        # A huge value hidden in the middle must not switch sci mode on.
        data.reshape(-1)[data.size // 2] = 1e12
    _assert_same_repr(data)


LINE_CASES = [
    ("arange", np.arange(n, dtype=dtype) * scale)
    for n in (12, 13, 14, 15, 17, 19, 20, 26, 27, 28, 40, 79, 80, 81)
    for dtype, scale in ((np.float32, 1), (np.float32, 0.5), (np.int64, 1), (np.float64, 1e6))
] + [
    ("rows", np.arange(n * 3, dtype=np.float32).reshape(3, n) / 3) for n in (6, 7, 8, 9, 10, 20)
] + [
    ("3d-rows", np.arange(2 * 2 * n, dtype=np.float32).reshape(2, 2, n) - n) for n in (8, 9, 12, 30)
] + [
    ("4d", np.arange(2 * 3 * 2 * n, dtype=np.int64).reshape(2, 3, 2, n) * 1000) for n in (5, 11, 20)
]


@pytest.mark.conformance
@pytest.mark.parametrize(
    "data",
    [c[1] for c in LINE_CASES],
    ids=[f"{c[0]}-{c[1].dtype}-{c[1].shape}" for c in LINE_CASES],
)
def test_conformance_line_wrapping(data: np.ndarray) -> None:
    _assert_same_repr(data)


SPECIAL_CASES: list[tuple[str, np.ndarray]] = [
    ("0d nan", f32(NAN)),
    ("0d -inf", f32(-INF)),
    ("0d -0", f32(-0.0)),
    ("0d 0", f32(0.0)),
    ("0d tiny", f32(1e-30)),
    ("0d huge", f64(1e300)),
    ("0d float16", np.array(0.1, np.float16)),
    ("0d uint8", np.array(255, np.uint8)),
    ("0d bool False", np.array(False)),
    ("0d negative int", i64(-7)),
    ("int64 extremes", i64([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max])),
    ("int8 extremes", np.array([-128, 0, 127], np.int8)),
    ("float16 extremes", np.array([65504, -65504, 6e-8, 1], np.float16)),
    ("float32 subnormal", f32([1e-45, 1.0])),
    ("float64 precise", f64([1 / 3, 2 / 3, 1e-3])),
    ("neg zeros only", f32([-0.0, -0.0])),
    ("neg zero with frac", f32([-0.0, 0.5])),
    ("inf only", f32([INF, -INF])),
    ("nan with ints wide", f32([NAN, 1000.0])),
    ("rounding to 10", f32([9.99996, 1.0])),
    ("rounding 0.99995", f64([0.99995, 0.5])),
    ("exact 1000 ratio", f32([1.0, 1000.0])),
    ("1e8 exactly", f32([1e8, 1.0])),
    ("ratio just above", f64([1.0, 1000.0001])),
    ("min exactly 1e-4 float64", f64([1e-4, 0.05])),
    ("min just below 1e-4 float64", f64([0.99999e-4, 0.05])),
    ("max exactly 1e8", f32([1e8, 1e6])),
    ("max just above 1e8", f64([100000000.5, 1e6])),
    ("bool 2d", np.array([[True, False, True], [False, False, True]])),
    ("bool 3d", np.ones((2, 1, 3), bool)),
    ("empty (0,)", f32([])),
    ("empty (2,0,3) float64", np.zeros((2, 0, 3))),
    ("empty (0,) bool", np.zeros(0, bool)),
    ("empty (0,0) int64", np.zeros((0, 0), np.int64)),
    ("empty (3,0) float16", np.zeros((3, 0), np.float16)),
    ("size-1 dims", np.full((1, 1, 1, 1), 2.5, np.float32)),
    ("transposed 3d", np.arange(24, dtype=np.float32).reshape(2, 3, 4).transpose(2, 0, 1)),
    ("negative stride copy", np.arange(10, dtype=np.float32)[::-1].copy()),
]


@pytest.mark.conformance
@pytest.mark.parametrize("data", [c[1] for c in SPECIAL_CASES], ids=[c[0] for c in SPECIAL_CASES])
def test_conformance_special_values(data: np.ndarray) -> None:
    _assert_same_repr(data)


OPTION_SETS: list[dict[str, Any]] = [
    {"precision": 2},
    {"precision": 0},
    {"precision": 8},
    {"threshold": 5},
    {"threshold": 5, "edgeitems": 1},
    {"threshold": 5, "edgeitems": 0},
    {"threshold": 10, "edgeitems": 2, "linewidth": 40},
    {"linewidth": 30},
    {"linewidth": 120},
    {"linewidth": 5},
    {"sci_mode": True},
    {"sci_mode": False},
    {"sci_mode": True, "precision": 1},
    {"profile": "short"},
    {"profile": "full"},
    {"profile": "full", "linewidth": 200},
]

OPTION_DATA: list[tuple[str, np.ndarray]] = [
    ("frac", f32([0.1, 0.25, 1 / 3, 12.5, -7.125])),
    ("wide", f32([1e-5, 3.0, 2e6])),
    ("ints float", np.arange(30, dtype=np.float32).reshape(5, 6)),
    ("ints", np.arange(-12, 12).reshape(2, 3, 4)),
    ("bool", np.arange(20) % 3 == 0),
    ("zeros nan", f32([0.0, NAN, 0.0])),
    ("0d", f64(2.5)),
    ("big 1d", np.linspace(-3, 3, 1200).astype(np.float32)),
    ("big 2d", np.arange(1500, dtype=np.float64).reshape(30, 50) / 9),
    ("big 3d int", np.arange(1200).reshape(10, 12, 10)),
    ("empty", np.zeros((0, 2), np.float32)),
]


@pytest.mark.conformance
@pytest.mark.parametrize("options", OPTION_SETS, ids=[repr(o) for o in OPTION_SETS])
@pytest.mark.parametrize("data", [c[1] for c in OPTION_DATA], ids=[c[0] for c in OPTION_DATA])
def test_conformance_printoptions(options: dict[str, Any], data: np.ndarray) -> None:
    torch = _torch()
    torch.set_printoptions(**options)
    set_printoptions(**options)
    assert get_printoptions() == torch._tensor_str.PRINT_OPTS.__dict__
    _assert_same_repr(data)


@pytest.mark.conformance
def test_conformance_printoptions_state() -> None:
    """Sequences of calls leave the same options as in PyTorch (sci_mode resets, presets)."""
    torch = _torch()
    calls: list[dict[str, Any]] = [
        {},
        {"precision": 7},
        {"sci_mode": True},
        {"threshold": 3},
        {"profile": "short", "linewidth": 50},
        {"profile": "full"},
        {"edgeitems": 5, "sci_mode": False},
        {"profile": "default"},
    ]
    assert get_printoptions() == torch._tensor_str.get_printoptions()
    for kwargs in calls:
        torch.set_printoptions(**kwargs)
        set_printoptions(**kwargs)
        assert get_printoptions() == torch._tensor_str.get_printoptions(), kwargs


def _grad_cases() -> list[tuple[str, np.ndarray, str]]:
    """Float tensors whose suffixes land right at the 80-column wrapping boundary."""
    cases = []
    for n in range(1, 22):
        cases.append((f"arange{n}-f32", np.arange(n, dtype=np.float32), "mul"))
        cases.append((f"arange{n}-f64", np.arange(n, dtype=np.float64), "mul"))
        cases.append((f"frac{n}-f64", np.arange(n, dtype=np.float64) / 3, "tanh"))
        cases.append((f"frac{n}-f16", (np.arange(n) / 3).astype(np.float16), "leaf"))
    for rows, cols in ((3, 4), (3, 5), (2, 6), (3, 7), (4, 3), (2, 9)):
        data = np.arange(rows * cols, dtype=np.float64).reshape(rows, cols)
        cases.append((f"2d{rows}x{cols}-f64-leaf", data, "leaf"))
        cases.append((f"2d{rows}x{cols}-f32-view", data.astype(np.float32), "view"))
    cases.append(("0d-f64", f64(3.25), "sum"))
    cases.append(("summarized-f64", np.arange(1200, dtype=np.float64), "tanh"))
    cases.append(("empty-f64", f64([]), "leaf"))
    cases.append(("empty2d-f32", np.zeros((0, 4), np.float32), "mul"))
    return cases


GRAD_CASES = _grad_cases()


@pytest.mark.conformance
@pytest.mark.parametrize("data, op", [c[1:] for c in GRAD_CASES], ids=[c[0] for c in GRAD_CASES])
def test_conformance_suffixes(data: np.ndarray, op: str) -> None:
    """``grad_fn=``/``requires_grad=True`` after ``dtype=``, wrapped onto a new line as needed.

    The printed values are taken from PyTorch's result, so only formatting is compared.
    """
    torch = _torch()
    t = torch.from_numpy(np.array(data)).requires_grad_()
    ops: dict[str, Callable[[Any], Any]] = {
        "leaf": lambda x: x,
        "mul": lambda x: x * 1,
        "tanh": torch.tanh,
        "view": lambda x: x.view(x.shape),
        "sum": lambda x: x.sum(),
    }
    out = ops[op](t)
    grad_fn = None if out.grad_fn is None else type(out.grad_fn).__name__
    expected = repr(out)
    values = out.detach().numpy()
    text = tensor_repr(values, _torch_dtype_name(out), grad_fn_name=grad_fn, requires_grad=True)
    assert text == expected


@pytest.mark.conformance
def test_conformance_tanh_grad_fn_numpy_values() -> None:
    torch = _torch()
    x = np.array([0.5, -1.0, 2.0, -0.25], np.float32)
    expected = repr(torch.tanh(torch.from_numpy(x.copy()).requires_grad_()))
    assert tensor_repr(np.tanh(x), "float32", grad_fn_name="TanhBackward0") == expected


@pytest.mark.conformance
@pytest.mark.parametrize("requires_grad", [True, False])
@pytest.mark.parametrize(
    "data",
    [f32([1, 2]), np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7, f32([])],
    ids=["small", "3d-f64", "empty"],
)
def test_conformance_parameter(data: np.ndarray, requires_grad: bool) -> None:
    torch = _torch()
    param = torch.nn.Parameter(torch.from_numpy(data.copy()), requires_grad=requires_grad)
    text = tensor_repr(
        data, _torch_dtype_name(param), is_parameter=True, requires_grad=requires_grad
    )
    assert text == repr(param)


@pytest.mark.conformance
@pytest.mark.parametrize("data", [f64([1.0, 2.0]), f32([]), np.ones((2, 2), np.int32)])
def test_conformance_tensor_contents(data: np.ndarray) -> None:
    torch = _torch()
    t = torch.from_numpy(data.copy()).requires_grad_(data.dtype.kind == "f")
    expected = torch._tensor_str._str(t, tensor_contents="[custom]")
    text = tensor_repr(
        data, _torch_dtype_name(t), requires_grad=t.requires_grad, tensor_contents="[custom]"
    )
    assert text == expected


@pytest.mark.conformance
def test_conformance_str_equals_repr() -> None:
    torch = _torch()
    t = torch.from_numpy(f32([1.0]))
    assert str(t) == repr(t) == tensor_repr(f32([1.0]), "float32")
