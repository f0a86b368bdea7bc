"""Eager ops are as quiet as PyTorch about inf and nan: no NumPy RuntimeWarning."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import minijit


@pytest.mark.parametrize("expr", ["x * x", "x + x - x * 2", "x - x * x", "(x * x).exp()",
                                  "x / (x - x)", "minijit.tanh(x * x)", "-(x * x) > 0",
                                  "minijit.log(x - x)", "x.sigmoid() * x * x"])
def test_no_numpy_warning_where_pytorch_gives_inf_or_nan_silently(expr):
    x = minijit.full([3], 3e38)                  # float32: x * x overflows
    # (Recorded, not turned into errors: a kernel that raised would hand over to the full
    # dispatch path, which is quiet, and hide a warning the fast path printed.)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = eval(expr, {"x": x, "minijit": minijit})
    assert [str(w.message) for w in caught] == []
    assert isinstance(out, minijit.Tensor) and out.shape == (3,)


def test_numpy_itself_still_warns():
    # minijit silences its own kernels only: NumPy's error state is unchanged for the user.
    a = np.full(3, 3e38, np.float32)
    with pytest.warns(RuntimeWarning):
        a * a
