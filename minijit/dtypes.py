"""minijit's dtypes and PyTorch's type-promotion rules, in one table.

Every layer asks this module about dtypes: the Tensor for its ``dtype``, the op registry for
result types, the IR printer for ``Float``/``Long`` names, the serializer for storage types and
the CUDA kernel generator for C types.  Keeping them in one table means adding a dtype is one
row, not a hunt through the code.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

__all__ = ["dtype", "float32", "float64", "float16", "int64", "int32", "int16", "int8",
           "uint8", "bool_", "get_default_dtype", "set_default_dtype", "promote_types",
           "result_type", "from_numpy_dtype", "to_dtype"]

_CPP_NAMES = {"int64": "long int", "int16": "short int", "float16": "c10::Half"}

# Categories order the promotion lattice: bool < integral < floating.
BOOL, INTEGRAL, FLOATING = 0, 1, 2


class dtype:  # noqa: N801 - PyTorch spells it in lower case
    """A tensor element type (``minijit.float32`` prints as ``torch.float32``).

    The repr says ``torch.`` on purpose: programs written for PyTorch print the same text.
    """

    __slots__ = ("name", "np", "scalar_name", "code", "c_type", "storage_name", "category",
                 "itemsize", "is_floating_point", "is_signed", "cpp_name")

    def __init__(self, name: str, np_dtype: Any, scalar_name: str, code: int, c_type: str,
                 storage_name: str, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.scalar_name = scalar_name      # graph printer: Float(3, 4, ...)
        self.code = code                    # TorchScript ScalarType number (dtype=6 in .code)
        self.c_type = c_type                # CUDA kernel generator
        self.storage_name = storage_name    # archive writer: torch.FloatStorage
        self.category = category
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == FLOATING
        self.is_signed = name not in ("uint8", "bool")
        # The C++ type name PyTorch's error messages print ("got: float != double").
        self.cpp_name = _CPP_NAMES.get(name, c_type)

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self):
        return (to_dtype, (self.name,))


float32 = dtype("float32", np.float32, "Float", 6, "float", "FloatStorage", FLOATING)
float64 = dtype("float64", np.float64, "Double", 7, "double", "DoubleStorage", FLOATING)
float16 = dtype("float16", np.float16, "Half", 5, "__half", "HalfStorage", FLOATING)
int64 = dtype("int64", np.int64, "Long", 4, "long long", "LongStorage", INTEGRAL)
int32 = dtype("int32", np.int32, "Int", 3, "int", "IntStorage", INTEGRAL)
int16 = dtype("int16", np.int16, "Short", 2, "short", "ShortStorage", INTEGRAL)
int8 = dtype("int8", np.int8, "Char", 1, "signed char", "CharStorage", INTEGRAL)
uint8 = dtype("uint8", np.uint8, "Byte", 0, "unsigned char", "ByteStorage", INTEGRAL)
bool_ = dtype("bool", np.bool_, "Bool", 11, "bool", "BoolStorage", BOOL)

ALL_DTYPES = (float32, float64, float16, int64, int32, int16, int8, uint8, bool_)
_BY_NP: Dict[Any, dtype] = {d.np: d for d in ALL_DTYPES}
_BY_NAME: Dict[str, dtype] = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "long": int64,
                 "int": int32, "short": int16})
_BY_CODE: Dict[int, dtype] = {d.code: d for d in ALL_DTYPES}
_BY_SCALAR_NAME: Dict[str, dtype] = {d.scalar_name: d for d in ALL_DTYPES}

_default_dtype = float32


def get_default_dtype() -> dtype:
    """The dtype of float tensors made from Python floats (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype, as ``torch.set_default_dtype`` does."""
    global _default_dtype
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default_dtype = d


def from_numpy_dtype(np_dtype: Any) -> dtype:
    """The minijit dtype of a NumPy dtype; a clear error for the ones minijit lacks."""
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        pass
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).type.__name__}"
                        ". The only supported types are: float64, float32, float16, int64, "
                        "int32, int16, int8, uint8, and bool.") from None


def to_dtype(value: Any) -> dtype:
    """Accept a minijit dtype, a name ('float32'), a ScalarType code (6) or a NumPy dtype."""
    if isinstance(value, dtype):
        return value
    if isinstance(value, str):
        name = value[6:] if value.startswith("torch.") else value
        if name in _BY_NAME:
            return _BY_NAME[name]
        raise TypeError(f"unknown dtype {value!r}")
    if isinstance(value, int) and not isinstance(value, bool):
        if value in _BY_CODE:
            return _BY_CODE[value]
        raise TypeError(f"unknown ScalarType code {value}")
    if value is float:
        return float64
    if value is int:
        return int64
    if value is bool:
        return bool_
    return from_numpy_dtype(value)


def from_scalar_name(name: str) -> dtype:
    """``Float`` → float32: used by the graph parser."""
    return _BY_SCALAR_NAME[name]


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's ``promote_types`` for the dtypes minijit has.

    NumPy agrees with PyTorch on these pairs except int/uint8 corners, which we fix by hand.
    """
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    return _BY_NP[np.promote_types(a.np, b.np)]


def scalar_dtype(value: Any) -> dtype:
    """The dtype a Python number gets when it becomes a tensor (``torch.tensor(1.5)``)."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return _default_dtype
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _category_of_scalar(value: Any) -> int:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INTEGRAL
    return FLOATING


def result_type(*operands: Any) -> dtype:
    """The dtype of ``op(*operands)`` under PyTorch's three-tier promotion.

    Tensors with dimensions decide first; zero-dimensional tensors only matter when their
    category (bool < int < float) is higher; Python numbers matter last, and when they do they
    bring the default dtype of their category (float32, int64), never float64.  That is why
    ``int64_tensor + 1.5`` is float32 and ``float32_tensor * 2.0`` stays float32.

    Args:
        operands: tensors (anything with ``.dtype`` and ``.ndim``) and Python numbers.
    """
    dim_result: Optional[dtype] = None
    zero_result: Optional[dtype] = None
    scalar_category = -1
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim > 0:
                dim_result = d if dim_result is None else promote_types(dim_result, d)
            else:
                zero_result = d if zero_result is None else promote_types(zero_result, d)
        elif x is not None:
            scalar_category = max(scalar_category, _category_of_scalar(x))
    result = dim_result
    if zero_result is not None:
        if result is None or zero_result.category > result.category:
            result = zero_result
    if scalar_category >= 0 and (result is None or scalar_category > result.category):
        result = (bool_, int64, _default_dtype)[scalar_category]
    return result if result is not None else _default_dtype
