"""ATen's C++ tensor print (``std::cout << tensor``), used for small tensor constants in graphs.

TorchScript prints a tensor attribute with 2..10 elements as this text with newlines turned
into spaces: ``prim::Constant[value= 1  2  3 [ CPULongType{3} ]]``.  It is not Python's
``repr``: one shared format per matrix (integers, ``%.4f`` or ``%.4e``, possibly scaled by a
power of ten printed as ``1e+05 *``), right-aligned columns, and slices of 3-d and larger
tensors headed ``(1,.,.) =`` with the *first* index varying fastest.

:func:`parse_aten_text` reads the text back (values are as precise as printed).
"""
from __future__ import annotations

import math
import re
from typing import List, Sequence, Tuple

import numpy as np

__all__ = ["aten_print", "parse_aten_text"]

_LINESIZE = 80


def _print_format(values: Sequence[float]) -> Tuple[float, int, str]:
    """(scale, width, printf format) for a block of values (ATen's ``__printFormat``)."""
    if not values:
        return 1.0, 0, "%g"
    int_mode = all(v == math.ceil(v) for v in values if math.isfinite(v))
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        exp_min = exp_max = 1.0
    else:
        first = values.index(finite[0])
        exp_min = exp_max = abs(values[first])
        for v in values[first:]:
            z = abs(v)
            if math.isfinite(z):
                exp_min = min(exp_min, z)
                exp_max = max(exp_max, z)
        exp_min = math.floor(math.log10(exp_min)) + 1 if exp_min != 0 else 1
        exp_max = math.floor(math.log10(exp_max)) + 1 if exp_max != 0 else 1
    if int_mode:
        if exp_max > 9:
            return 1.0, 11, "%.4e"
        return 1.0, int(exp_max) + 1, "%g"
    if exp_max - exp_min > 4:
        width = 12 if abs(exp_max) > 99 or abs(exp_min) > 99 else 11
        return 1.0, width, "%.4e"
    if exp_max > 5 or exp_max < 0:
        return 10.0 ** (exp_max - 1), 7, "%.4f"
    return 1.0, 7 if exp_max == 0 else int(exp_max) + 6, "%.4f"


def _num(fmt: str, v: float, width: int) -> str:
    if math.isnan(v):
        text = "nan"
    elif math.isinf(v):
        text = "inf" if v > 0 else "-inf"
    else:
        text = fmt % v
    return text.rjust(width)


def shortest(x: float) -> str:
    """fmt's ``{}`` for a double: the shortest round-trip digits, ``1e-05``, ``1000000000``."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _scale_line(scale: float) -> str:
    return shortest(scale) + " *\n"


def _print_matrix(m: np.ndarray, indent: int) -> str:
    rows, cols = m.shape
    scale, width, fmt = _print_format([float(x) for x in m.reshape(-1)])
    out = []
    per_line = (_LINESIZE - indent) // (width + 1)
    first = 0
    while first < cols:
        last = first + per_line - 1 if first + per_line <= cols else cols - 1
        if per_line < cols:
            if first != 0:
                out.append("\n")
            out.append(f"Columns {first + 1} to {last + 1}" + " " * indent)
        if scale != 1:
            out.append(_scale_line(scale) + " " * indent)
        for r in range(rows):
            for c in range(first, last + 1):
                out.append(_num(fmt, float(m[r, c]) / scale, width))
                if c == last:
                    out.append("\n")
                    if r != rows - 1:
                        out.append(" " * indent + (" " if scale != 1 else ""))
                else:
                    out.append(" ")
        first = last + 1
    return "".join(out)


def aten_print(arr: np.ndarray, type_name: str) -> str:
    """``arr`` printed the way ``std::cout << tensor`` does (``type_name``: ``CPUFloatType``).

    Example:
        >>> aten_print(np.array([1, 2, 3]), "CPULongType")
        ' 1\\n 2\\n 3\\n[ CPULongType{3} ]'
    """
    arr = np.asarray(arr, dtype=np.float64) if arr.dtype.kind != "c" else arr
    dims = ",".join(str(s) for s in arr.shape)
    out: List[str] = []
    if arr.ndim == 0:
        out.append(shortest(float(arr)) + "\n")
    elif arr.ndim == 1:
        values = [float(x) for x in arr]
        if values:
            scale, width, fmt = _print_format(values)
            if scale != 1:
                out.append(_scale_line(scale))
            out.extend(_num(fmt, v / scale, width) + "\n" for v in values)
    elif arr.ndim == 2:
        if arr.size:
            out.append(_print_matrix(arr, 0))
    elif arr.size:
        lead = arr.shape[:-2]
        counter = [0] * len(lead)
        counter[0] = -1
        start = True
        while True:
            i, finished = 0, False
            while True:
                counter[i] += 1
                if counter[i] >= lead[i]:
                    if i == len(lead) - 1:
                        finished = True
                        break
                    counter[i] = 0
                    i += 1
                else:
                    break
            if finished:
                break
            if not start:
                out.append("\n")
            start = False
            out.append("(" + "".join(f"{c + 1}," for c in counter) + ".,.) = \n")
            out.append(_print_matrix(arr[tuple(counter)], 1))
    out.append(f"[ {type_name}{{{dims}}} ]")
    return "".join(out)


_TAIL = re.compile(r"\[ (CPU|CUDA)(\w+?)Type\{([\d,]*)\} \]")
_NUMBER = re.compile(r"-?(?:inf|nan|\d+(?:\.\d*)?(?:e[+-]?\d+)?)")


def _read_numbers(text: str) -> List[float]:
    """Values of one printed block, multiplied by its scale (a ``1e+05 *`` prefix) if any."""
    scale = 1.0
    m = re.search(r"(\S+) \*", text)
    if m:
        scale = float(m.group(1))
        text = text[:m.start()] + text[m.end():]
    return [float(x) * scale for x in _NUMBER.findall(text)]


def _read_matrix(text: str, rows: int, cols: int) -> np.ndarray:
    """A 2-d block, possibly split into ``Columns a to b`` chunks.

    ATen writes no separator after ``b``, so an unpadded first value runs into it
    (``Columns 1 to 86.12346e+07``): ``b`` is the longest digit prefix that is a valid column.
    """
    out = np.zeros((rows, cols))
    heads = list(re.finditer(r"Columns (\d+) to (\d+)", text))
    if not heads:
        values = _read_numbers(text)
        return np.array(values).reshape(rows, cols) if rows * cols else out
    for k, m in enumerate(heads):
        first, digits = int(m.group(1)), m.group(2)
        n = max(i for i in range(1, len(digits) + 1) if first <= int(digits[:i]) <= cols)
        end = heads[k + 1].start() if k + 1 < len(heads) else len(text)
        values = _read_numbers(digits[n:] + text[m.end():end])
        last = int(digits[:n])
        out[:, first - 1:last] = np.array(values).reshape(rows, last - first + 1)
    return out


def parse_aten_text(text: str) -> Tuple[str, str, Tuple[int, ...], np.ndarray, int]:
    """Read :func:`aten_print` text (newlines may be spaces) at the start of ``text``.

    Returns ``(device, scalar_name, shape, float64 values, length consumed)``.
    """
    m = _TAIL.search(text)
    if m is None:
        raise ValueError(f"not a tensor print: {text[:40]!r}")
    device, scalar_name = m.group(1), m.group(2)
    shape = tuple(int(s) for s in m.group(3).split(",") if s)
    body = text[:m.start()]
    if len(shape) <= 1:
        arr = np.array(_read_numbers(body), dtype=np.float64).reshape(shape)
    elif len(shape) == 2:
        arr = _read_matrix(body, shape[0], shape[1])
    else:
        arr = np.zeros(shape)
        parts = re.split(r"\(((?:\d+,)+)\.,\.\) =", body)
        for idx_text, chunk in zip(parts[1::2], parts[2::2]):
            index = tuple(int(s) - 1 for s in idx_text.split(",") if s)
            arr[index] = _read_matrix(chunk, shape[-2], shape[-1])
    return device.lower(), scalar_name, shape, arr, m.end()
