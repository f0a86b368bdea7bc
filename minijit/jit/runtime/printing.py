"""How TorchScript's ``print`` shows values (``prim::Print``).

Compiled code prints IValues, not Python objects, so the text differs from Python's ``print``:
tensors print as ATen does (``[ CPUFloatType{2} ]`` under the values), integral floats that
fit an int64 print in full with a dot (``2.``, ``10000000000000000.``, where a ``.graph``
constant prints ``10000000000000000``), ``-0.0`` prints ``0.``, strings inside containers are
unquoted (``[a, b]``), dict keys too (``{a: 1.}``), and ``None``/``True`` as in Python.
"""
from __future__ import annotations

import math
from typing import Any, List, Tuple

from ..._tensor import Tensor

__all__ = ["script_repr", "print_values"]


def script_repr(value: Any) -> str:
    """How TorchScript's ``print`` shows a value (IValue printing, not Python's ``repr``)."""
    if isinstance(value, Tensor):
        from ..ir.tensor_text import aten_print
        from ..ir.constants import tensor_scalar_name
        return aten_print(_numpy(value), tensor_scalar_name(value)).rstrip("\n")
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return _print_float(value)
    if isinstance(value, list):
        return "[" + ", ".join(script_repr(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(script_repr(v) for v in value) + ("," if len(value) == 1
                                                                  else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{script_repr(k)}: {script_repr(v)}"
                               for k, v in value.items()) + "}"
    return str(value)


def _print_float(x: float) -> str:
    """``print``'s float: integral values that fit an int64 print as ``N.`` (``-0.`` as ``0.``);
    the rest as ``%.17g`` (unlike ``.graph`` constants, whose cut-off is 1e10)."""
    if math.isfinite(x) and x == int(x) and abs(x) < 2.0 ** 63:
        return f"{int(x)}."
    return "%.17g" % x


def _numpy(t: Tensor) -> Any:
    import numpy as np
    data = t._data
    return data.get() if hasattr(data, "get") else np.asarray(data)


def print_values(values: List[Any]) -> Tuple[Any, ...]:
    """``prim::Print``: the values separated by spaces, strings as they are."""
    print(" ".join(script_repr(v) if not isinstance(v, str) else v for v in values))
    return ()
