"""The dtype table and PyTorch's promotion rules (``minijit/dtypes.py``)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import minijit
from minijit import dtypes as dt

NAMES = [d.name for d in dt.ALL_DTYPES]


def test_table_is_consistent() -> None:
    for d in dt.ALL_DTYPES:
        assert dt.from_numpy_dtype(d.np) is d
        assert dt.to_dtype(d.name) is d and dt.to_dtype("torch." + d.name) is d
        assert dt.to_dtype(d.code) is d and dt.from_scalar_name(d.scalar_name) is d
        assert repr(d) == f"torch.{d.name}"
        assert getattr(minijit, d.name if d.name != "bool" else "bool") is d
    assert dt.to_dtype(float) is dt.float64 and dt.to_dtype(int) is dt.int64
    assert minijit.float is dt.float32 and minijit.long is dt.int64 and minijit.double is dt.float64
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.complex128"):
        dt.from_numpy_dtype(np.complex128)


def test_default_dtype_round_trip() -> None:
    assert dt.get_default_dtype() is dt.float32
    dt.set_default_dtype(dt.float64)
    try:
        assert minijit.tensor([1.5]).dtype is dt.float64
        assert (minijit.tensor([1, 2]) * 0.5).dtype is dt.float64
    finally:
        dt.set_default_dtype(dt.float32)
    with pytest.raises(TypeError):
        dt.set_default_dtype(dt.int64)


@pytest.mark.conformance
@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_promote_types_like_torch(a: str, b: str) -> None:
    torch = pytest.importorskip("torch")
    ours = dt.promote_types(dt.to_dtype(a), dt.to_dtype(b))
    theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert str(ours) == str(theirs)


_OPERANDS = {
    "f32[2]": lambda T: T.ones(2), "f64[2]": lambda T: T.ones(2, dtype=T.float64),
    "i64[2]": lambda T: T.ones(2, dtype=T.int64), "i32[2]": lambda T: T.ones(2, dtype=T.int32),
    "u8[2]": lambda T: T.ones(2, dtype=T.uint8), "b[2]": lambda T: T.ones(2, dtype=T.bool),
    "f16[2]": lambda T: T.ones(2, dtype=T.float16),
    "f64[]": lambda T: T.tensor(1.0, dtype=T.float64), "i64[]": lambda T: T.tensor(1),
    "b[]": lambda T: T.tensor(True), "f32[]": lambda T: T.tensor(1.0),
    "1.5": lambda T: 1.5, "2": lambda T: 2, "True": lambda T: True,
}


@pytest.mark.conformance
@pytest.mark.parametrize("a,b", [(a, b) for a, b in itertools.product(_OPERANDS, _OPERANDS)
                                 if not (a[0].isdigit() or a == "True")
                                 or not (b[0].isdigit() or b == "True")])
def test_result_type_like_torch(a: str, b: str) -> None:
    torch = pytest.importorskip("torch")
    ours = dt.result_type(_OPERANDS[a](minijit), _OPERANDS[b](minijit))
    theirs = torch.result_type(_OPERANDS[a](torch), _OPERANDS[b](torch))
    assert str(ours) == str(theirs)
