"""Constant values in the IR: their types and how both printers spell them.

A ``prim::Constant`` stores its value under ``attrs["value"]`` as a plain Python object, the
way TorchScript stores attributes:

=====================  ==============================  ==========================================
Python value           IR type                         graph text / ``.code`` text
=====================  ==============================  ==========================================
``3``, ``-1``          ``int``                         ``3``
``True``               ``bool``                        ``1`` (graph) / ``True`` (code)
``2.5``, ``1.0``       ``float``                       ``2.5``, ``1.`` (see :func:`format_float`)
``"a\\n"``             ``str``                         ``"a\\n"`` (see :func:`quote_string`)
(no attribute)         ``NoneType``                    ``prim::Constant()`` / ``None``
``"cpu"``              ``Device``                      ``"cpu"`` / ``torch.device("cpu")``
``[2, 3]``, tuples     ``int[]``, ``(int, float)``     ``[2, 3]``, ``(1, 2.)``
a tensor               ``Float(3, ...)``               ``{2}`` / ATen text / ``<Tensor>``;
                                                       ``CONSTANTS.c0`` in code
=====================  ==============================  ==========================================

dtypes are stored as their ScalarType code (``6``), as TorchScript does.  Tensors may be minijit
Tensors, NumPy arrays or :class:`TensorPlaceholder` (what the parser makes of ``<Tensor>``).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Tuple

import numpy as np

from .types import (
    BoolType,
    DeviceType,
    FloatType,
    IntType,
    IRType,
    ListType,
    NoneType,
    StringType,
    TensorType,
    TupleType,
    UnknownDtype,
)

__all__ = ["format_float", "quote_string", "unquote_string", "format_attribute", "is_tensor",
           "constant_from_python", "constant_type", "normalize_constant", "TensorPlaceholder",
           "format_tensor_attribute", "tensor_scalar_name", "code_constant", "ivalue_equal",
           "element_type_inferable", "coerce_to_type"]


# -- scalars ---------------------------------------------------------------------------------
def format_float(x: float) -> str:
    """IValue's float repr: ``1.``, ``-0.``, ``2.5``, ``0.10000000000000001``, ``1e+20``, ``inf``.

    Integral values below 1e10 print as ``N.``; everything else uses ``%.17g``, so integral
    values from 1e10 up print without a dot (``10000000000``), a TorchScript quirk.

    Example:
        >>> [format_float(v) for v in (1.0, -0.0, 0.1, 1e10, 2.5, float("inf"))]
        ['1.', '-0.', '0.10000000000000001', '10000000000', '2.5', 'inf']
    """
    x = float(x)
    if math.isfinite(x) and abs(x) < 1e10 and x == int(x):
        if x == 0 and math.copysign(1.0, x) < 0:
            return "-0."
        return f"{int(x)}."
    return "%.17g" % x


_ESCAPES = {ord("\\"): "\\\\", ord("'"): "\\'", ord('"'): '\\"', 7: "\\a", 8: "\\b", 12: "\\f",
            10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


def _c_octal(byte: int) -> str:
    """c10::printQuotedString's octal escape, on a *signed* char like the C++ code.

    Bytes ≥ 0x80 are negative there, so C's truncating ``%`` and ``/`` give "digits" below
    '0': é (C3 A9) prints as ``\\0)+\\/.)``.  We reproduce it so graph texts match.
    """
    s = byte - 256 if byte > 127 else byte
    digits = []
    for _ in range(2):
        r = int(math.fmod(s, 8))
        digits.append(chr(ord("0") + r))
        s = int(s / 8)
    digits.append(chr(ord("0") + s))
    return "\\" + "".join(reversed(digits))


def quote_string(s: str) -> str:
    r"""A double-quoted string with C escapes, byte for byte as TorchScript prints it.

    Example:
        >>> print(quote_string("it's\tcaf\u00e9"))
        "it\'s\tcaf\0)+\/.)"
    """
    out = ['"']
    for byte in s.encode("utf-8", "surrogateescape"):
        if byte in _ESCAPES:
            out.append(_ESCAPES[byte])
        elif 0x1F < byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(_c_octal(byte))
    out.append('"')
    return "".join(out)


_UNESCAPES = {"\\": 92, "'": 39, '"': 34, "a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9,
              "v": 11}


def unquote_string(text: str, pos: int) -> Tuple[str, int]:
    """Read a :func:`quote_string` literal starting at ``text[pos] == '"'``.

    Returns the string and the position after the closing quote.  The broken octal escapes of
    non-ASCII bytes are decoded back (each "digit" is ``ord(c) - ord('0')``, possibly negative).
    """
    if text[pos] != '"':
        raise ValueError(f"expected a string at {pos}")
    data = bytearray()
    i = pos + 1
    while True:
        if i >= len(text):
            raise ValueError("unterminated string")
        c = text[i]
        if c == '"':
            return data.decode("utf-8", "surrogateescape"), i + 1
        if c == "\\":
            nxt = text[i + 1]
            if nxt in _UNESCAPES:
                data.append(_UNESCAPES[nxt])
                i += 2
                continue
            d = [ord(ch) - ord("0") for ch in text[i + 1:i + 4]]
            data.append((d[0] * 64 + d[1] * 8 + d[2]) & 0xFF)
            i += 4
            continue
        data.extend(c.encode("utf-8", "surrogateescape"))
        i += 1


# -- tensors ---------------------------------------------------------------------------------
class TensorPlaceholder:
    """A tensor whose data is unknown (parsed from ``<Tensor>``): dtype and shape only."""

    __slots__ = ("dtype", "shape", "device", "requires_grad")

    def __init__(self, dtype: Any, shape: Tuple[int, ...], device: str = "cpu"):
        self.dtype = dtype
        self.shape = tuple(shape)
        self.device = device
        self.requires_grad = False

    def stride(self) -> Tuple[int, ...]:
        strides, acc = [], 1
        for s in reversed(self.shape):
            strides.append(acc)
            acc *= max(s, 1)
        return tuple(reversed(strides))

    def __repr__(self) -> str:
        return f"TensorPlaceholder({self.dtype!r}, {self.shape})"


def is_tensor(x: Any) -> bool:
    """Tensor-like: a minijit Tensor, a NumPy array or a :class:`TensorPlaceholder`."""
    return isinstance(x, (np.ndarray, TensorPlaceholder)) or (
        hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "requires_grad"))


def _minijit_dtype(t: Any) -> Any:
    d = t.dtype
    if hasattr(d, "scalar_name"):
        return d
    from minijit.dtypes import from_numpy_dtype
    return from_numpy_dtype(d)


def tensor_scalar_name(t: Any) -> str:
    """``CPUFloatType``: the ATen type name in tensor prints."""
    device = "CUDA" if str(getattr(t, "device", "cpu")).startswith("cuda") else "CPU"
    return f"{device}{_minijit_dtype(t).scalar_name}Type"


def format_tensor_attribute(t: Any) -> str:
    """A tensor attribute as the graph prints it: ``{5.5}``, ATen text, or ``<Tensor>``."""
    if isinstance(t, TensorPlaceholder):
        return "<Tensor>"
    arr = np.asarray(t)
    if arr.size == 1:
        v = arr.reshape(()).item()
        if arr.dtype.kind in "fc":
            return "{" + ("%g" % v) + "}"
        return "{" + str(int(v)) + "}"
    if arr.size <= 10:
        from .tensor_text import aten_print
        return aten_print(arr, tensor_scalar_name(t)).replace("\n", " ")
    return "<Tensor>"


# -- attributes and constants --------------------------------------------------------------
def _format_nested(v: Any) -> str:
    """IValue ``operator<<`` for values inside lists and tuples (bools print as words)."""
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float(v)
    if isinstance(v, str):
        return quote_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_format_nested(x) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + ", ".join(_format_nested(x) for x in v) + (",)" if len(v) == 1 else ")")
    if is_tensor(v):
        return format_tensor_attribute(v)
    if hasattr(v, "scalar_name") and hasattr(v, "code"):
        return str(v.code)
    return str(v)


def format_attribute(value: Any) -> str:
    """One attribute value in ``kind[name=value]`` (TorchScript's ``printAttrValue``)."""
    from .graph import Graph
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, IRType):
        return str(value)
    if isinstance(value, Graph):
        return "<Graph>"
    if isinstance(value, list) and value:
        if all(isinstance(x, IRType) for x in value):
            return "[" + ", ".join(str(x) for x in value) + "]"
        if all(isinstance(x, Graph) for x in value):
            return "[<Graphs>]"
        if all(is_tensor(x) for x in value):
            return "[<Tensors>]"
    return _format_nested(value)


def constant_from_python(value: Any) -> Tuple[Any, IRType]:
    """The stored form and IR type of a Python constant (see the module table)."""
    if value is None:
        return None, NoneType
    if isinstance(value, bool):
        return value, BoolType
    if isinstance(value, int):
        return int(value), IntType
    if isinstance(value, float):
        return value, FloatType
    if isinstance(value, str):
        return value, StringType
    if hasattr(value, "scalar_name") and hasattr(value, "code"):       # a minijit dtype
        return value.code, IntType
    if type(value).__name__ == "device" and hasattr(value, "type"):   # a minijit device
        return str(value), DeviceType
    if is_tensor(value):
        return value, TensorType.from_tensor(value)
    if isinstance(value, tuple):
        pairs = [constant_from_python(v) for v in value]
        return tuple(p[0] for p in pairs), TupleType(p[1] for p in pairs)
    if isinstance(value, list):
        pairs = [constant_from_python(v) for v in value]
        types = {p[1].kind for p in pairs}
        if not pairs:
            elem: IRType = IntType
        elif types == {"Tensor"}:
            elem = TensorType.get()
        elif types == {"int", "float"}:
            elem = FloatType
            pairs = [(float(p[0]), FloatType) for p in pairs]
        elif len(types) == 1:
            elem = pairs[0][1]
        else:
            raise TypeError(f"list constant with mixed element types: {value!r}")
        return [p[0] for p in pairs], ListType(elem)
    raise TypeError(f"unsupported constant {value!r} of type {type(value).__name__}")


def normalize_constant(value: Any) -> Any:
    return constant_from_python(value)[0]


def constant_type(value: Any) -> IRType:
    return constant_from_python(value)[1]


def coerce_to_type(value: Any, type_: IRType) -> Any:
    """Turn a parsed literal into the stored form for ``type_`` (``1`` → ``True`` for bool)."""
    kind = type_.kind
    if value is None:
        return None
    if kind == "bool" and isinstance(value, int):
        return bool(value)
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "Optional":
        return coerce_to_type(value, type_.elem)  # type: ignore[attr-defined]
    if kind == "List" and isinstance(value, list):
        return [coerce_to_type(v, type_.elem) for v in value]  # type: ignore[attr-defined]
    if kind == "Tuple" and isinstance(value, tuple):
        elems = type_.elems  # type: ignore[attr-defined]
        if len(elems) == len(value):
            return tuple(coerce_to_type(v, t) for v, t in zip(value, elems))
    return value


def unknown_or_dtype(scalar_name: str) -> Any:
    """The minijit dtype called ``scalar_name`` (``Float``), or an :class:`UnknownDtype`."""
    from minijit.dtypes import from_scalar_name
    try:
        return from_scalar_name(scalar_name)
    except KeyError:
        return UnknownDtype(scalar_name)


# -- constants in .code ------------------------------------------------------------------------
def ivalue_equal(a: Any, b: Any) -> bool:
    """IValue ``==``: type-strict (``1 != 1.0``, ``True != 1``), lists element-wise.

    The ``.code`` printer drops a trailing argument only when it is *this* equal to the
    schema default, as TorchScript does.
    """
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is bool and type(b) is bool and a == b
    for kind in (int, float, str):
        if isinstance(a, kind) or isinstance(b, kind):
            return isinstance(a, kind) and isinstance(b, kind) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and \
            all(ivalue_equal(x, y) for x, y in zip(a, b))
    if hasattr(a, "code") and hasattr(a, "scalar_name"):      # a dtype is its ScalarType code
        return ivalue_equal(a.code, b)
    return False


def element_type_inferable(t: IRType) -> bool:
    """Can ``[a, b]`` / ``{k: v}`` recover this element type from the members?  If not,
    ``.code`` wraps the literal in ``annotate(List[Optional[Tensor]], [...])``."""
    return t.kind not in ("Union", "Optional", "Scalar", "Any")


def has_non_ascii(value: Any) -> bool:
    if isinstance(value, str):
        return not value.isascii()
    if isinstance(value, (list, tuple)):
        return any(has_non_ascii(v) for v in value)
    return False


def code_constant(value: Any, type_: Optional[IRType], intern: Callable[[Any], str]) -> str:
    """A constant as ``.code`` writes it (IValue ``repr``).

    ``True``, ``2.5``, ``"a\\n"``, ``torch.device("cpu")``, ``(1, (2., "a"), [3, 4])``,
    ``annotate(List[int], [])``.  Tensors and values holding non-ASCII strings are not
    spelled out: ``intern(value)`` returns their ``CONSTANTS.cN`` reference.
    """
    if is_tensor(value) or has_non_ascii(value):
        return intern(value)
    if type_ is not None and type_.kind == "Optional":
        type_ = type_.elem  # type: ignore[attr-defined]
    kind = type_.kind if type_ is not None else None
    if value is None:
        return "None"
    if kind == "Device":
        return f"torch.device({quote_string(str(value))})"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return format_float(value) if kind == "float" else str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, tuple):
        elems = type_.elems if isinstance(type_, TupleType) else (None,) * len(value)
        parts = [code_constant(v, t, intern) for v, t in zip(value, elems)]
        return "(" + ", ".join(parts) + (",)" if len(parts) == 1 else ")")
    if isinstance(value, list):
        elem = type_.elem if isinstance(type_, ListType) else None
        text = "[" + ", ".join(code_constant(v, elem, intern) for v in value) + "]"
        if not value or (elem is not None and not element_type_inferable(elem)):
            annotation = type_.annotation_str() if type_ is not None else "List[int]"
            return f"annotate({annotation}, {text})"
        return text
    if hasattr(value, "code") and hasattr(value, "scalar_name"):      # a dtype: its int code
        return str(value.code)
    return str(value)
