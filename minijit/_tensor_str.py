"""PyTorch-identical printing of tensors (``repr(tensor)``) for minijit.

This module is a port of PyTorch's ``torch/_tensor_str.py`` (PyTorch 2.13, BSD-3-Clause licence,
Copyright (c) Facebook, Inc. and its affiliates and the PyTorch contributors). The algorithm,
its order of decisions and its quirks are kept on purpose, so that a user comparing minijit
with PyTorch sees the same characters; only the parts minijit has no use for were left out
(complex, quantized, sparse, nested, meta/fake, named, functorch-wrapped and fp8 tensors).

How a tensor is printed, in four steps:

1. ``_Formatter`` looks at the values once (only the displayed ones when the tensor is
   summarised) and chooses one style for the whole tensor: integers print as ``str(v)``; floats
   print as ``1.`` (``int_mode``), ``1.0000e-05`` (``sci_mode``) or ``0.1250``, and every
   element is right-aligned to the widest one, so columns line up.
2. ``_tensor_str_with_formatter`` walks the dimensions recursively, writing brackets, ``, ``
   separators, one line per row and blank lines between 2-D slices; 1-D rows wrap at
   ``linewidth`` columns, and big tensors (``numel > threshold``) show only ``edgeitems``
   entries at each end of every dimension, with ``...`` in between.
3. ``tensor_repr`` (PyTorch's ``_str_intern``) collects the suffixes (``device=``, ``size=``,
   ``dtype=``, ``grad_fn=`` or ``requires_grad=True``), and ``_add_suffixes`` appends them,
   moving a suffix onto a new line when it would run past ``linewidth``.
4. ``tensor_repr`` is the entry point used by ``minijit.Tensor.__repr__``; it takes a plain
   array and metadata instead of a tensor, so this module imports nothing from minijit.

>>> import numpy as np
>>> print(tensor_repr(np.array([[1.0, -2.5], [10.0, 0.123456]], np.float32), "float32"))
tensor([[ 1.0000, -2.5000],
        [10.0000,  0.1235]])
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = [
    "PRINT_OPTS",
    "format_float_python",
    "get_printoptions",
    "printoptions",
    "set_printoptions",
    "tensor_repr",
]


# ---------------------------------------------------------------------------------------------
# Print options
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _PrinterOptions:
    """The global knobs of tensor printing (PyTorch's ``__PrinterOptions``).

    They live in one mutable module-level object, ``PRINT_OPTS``, because PyTorch's printing is
    configured globally too: ``set_printoptions`` changes how every tensor prints afterwards.
    """

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()

# The dtype whose tensors print without a ``dtype=`` suffix, like ``torch.get_default_dtype()``.
_DEFAULT_DTYPE = "float32"
# Dtypes that also print without a suffix: integer literals make int64 tensors and ``True`` makes
# bool tensors, so ``tensor([1, 2])`` already says what it is. (PyTorch also lists complex64.)
_DTYPES_WITHOUT_SUFFIX = (_DEFAULT_DTYPE, "int64", "bool")
# Other spellings of dtype names, mapped to the name ``str(torch.dtype)`` prints.
_DTYPE_ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set the global options for printing tensors, like ``torch.set_printoptions``.

    Arguments left as ``None`` keep their current value, except ``sci_mode``: PyTorch always
    assigns it, so every call without ``sci_mode=`` goes back to choosing it automatically.

    Args:
        precision: digits after the decimal point for floats (default 4).
        threshold: element count above which tensors are summarised with ``...`` (default 1000).
        edgeitems: items shown at each end of every dimension when summarised (default 3).
        linewidth: characters per line before 1-D rows wrap (default 80).
        profile: ``"default"``, ``"short"`` or ``"full"``: a preset applied before the other
            arguments, so they can override it.
        sci_mode: ``True``/``False`` to force scientific notation on or off; ``None`` lets the
            formatter decide from the values.

    Example:
        >>> import numpy as np
        >>> set_printoptions(precision=2)
        >>> print(tensor_repr(np.array([1 / 3, 2.0], np.float32), "float32"))
        tensor([0.33, 2.00])
        >>> set_printoptions(profile="default")
        >>> print(tensor_repr(np.array([1 / 3, 2.0], np.float32), "float32"))
        tensor([0.3333, 2.0000])
    """
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80
        elif profile == "short":
            PRINT_OPTS.precision = 2
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 2
            PRINT_OPTS.linewidth = 80
        elif profile == "full":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = math.inf
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80

    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current print options as a dict that ``set_printoptions(**d)`` accepts.

    >>> get_printoptions()
    {'precision': 4, 'threshold': 1000, 'edgeitems': 3, 'linewidth': 80, 'sci_mode': None}
    """
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Temporarily change the print options (same arguments as ``set_printoptions``).

    >>> import numpy as np
    >>> with printoptions(precision=1):
    ...     print(tensor_repr(np.array([0.25], np.float32), "float32"))
    tensor([0.2])
    """
    old_kwargs = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old_kwargs)


# ---------------------------------------------------------------------------------------------
# Choosing and applying a number style
# ---------------------------------------------------------------------------------------------


def format_float_python(
    value: float,
    *,
    precision: int | None = None,
    sci_mode: bool = False,
    int_mode: bool = False,
    width: int = 0,
) -> str:
    """Format one float element the way PyTorch's ``_Formatter.format`` does.

    PyTorch formats elements with *Python's* ``str.format`` on the value converted to a Python
    float (a C double), not with C's printf or NumPy's printer; that is why rounding and the
    spelling of ``nan``/``inf`` follow Python. The three styles, tried in this order:

    - ``sci_mode``: ``{:.4e}`` (``1.0000e-05``),
    - ``int_mode`` (all shown values are whole numbers): ``{:.0f}`` plus a ``.`` that marks the
      tensor as floating (``1.``, ``-0.``), except for ``nan``/``inf``, which get no dot,
    - otherwise ``{:.4f}`` (``0.1250``),

    then the text is right-aligned to ``width`` so that columns line up.

    Args:
        value: the number; NumPy scalars are converted to a Python float first.
        precision: digits after the point; ``None`` uses ``PRINT_OPTS.precision``.
        sci_mode: use scientific notation.
        int_mode: the whole-number style (ignored when ``sci_mode`` is set).
        width: minimum width; shorter results are padded with spaces on the left.

    Returns:
        The formatted element.

    >>> format_float_python(3.0, int_mode=True, width=4)
    '  3.'
    >>> format_float_python(1e-05, sci_mode=True)
    '1.0000e-05'
    >>> format_float_python(float("nan"), int_mode=True)
    'nan'
    """
    if precision is None:
        precision = PRINT_OPTS.precision
    value = float(value)
    if sci_mode:
        ret = f"{{:{width}.{precision}e}}".format(value)
    elif int_mode:
        ret = f"{value:.0f}"
        if not (math.isinf(value) or math.isnan(value)):
            ret += "."
    else:
        ret = f"{{:.{precision}f}}".format(value)
    return (width - len(ret)) * " " + ret


class _Formatter:
    """Decides one number style and one column width for all elements of a tensor.

    Built once per printed tensor from the values that will be shown, then called per element.
    For floating tensors only the *nonzero finite* values take part in the decision: zeros,
    ``nan`` and ``inf`` print the same in every style, so they must not force one. If there
    are no such values the defaults stay (``int_mode``, width 1): ``tensor([0., nan])``.

    Attributes:
        floating_dtype: whether the tensor's dtype is a floating dtype.
        int_mode: every shown float is a whole number, so print ``1.`` instead of ``1.0000``.
        sci_mode: use ``1.0000e+05``: chosen when the largest/smallest magnitude ratio exceeds
            1000, the largest exceeds 1e8 or the smallest is below 1e-4 (unless forced by
            ``PRINT_OPTS.sci_mode``).
        max_width: width of the widest formatted nonzero finite value (or integer).
    """

    def __init__(self, values: np.ndarray, floating_dtype: bool) -> None:
        self.floating_dtype = floating_dtype
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        tensor_view = values.reshape(-1)

        if not self.floating_dtype:
            # Integers and bools print as Python prints them: ``-20``, ``True``.
            for value in tensor_view.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return

        nonzero_finite_vals = tensor_view[np.isfinite(tensor_view) & (tensor_view != 0)]
        if nonzero_finite_vals.size == 0:
            # No valid number: keep the defaults.
            return

        # Compare in double precision, as PyTorch does (half would overflow at 1e8). The
        # float32 value nearest 1e-4 is slightly below 1e-4, so ``[1e-4, 1.]`` goes to sci mode.
        nonzero_finite_abs = np.abs(nonzero_finite_vals).astype(np.float64)
        nonzero_finite_min = float(nonzero_finite_abs.min())
        nonzero_finite_max = float(nonzero_finite_abs.max())
        finite_values = nonzero_finite_vals.tolist()  # Python floats (exact doubles)

        for value in finite_values:
            if value != math.ceil(value):
                self.int_mode = False
                break

        self.sci_mode = (
            nonzero_finite_max / nonzero_finite_min > 1000.0
            or nonzero_finite_max > 1.0e8
            or nonzero_finite_min < 1.0e-4
            if PRINT_OPTS.sci_mode is None
            else PRINT_OPTS.sci_mode
        )

        precision = PRINT_OPTS.precision
        if self.sci_mode:
            spec = f"{{:.{precision}e}}"
            for value in finite_values:
                self.max_width = max(self.max_width, len(spec.format(value)))
        elif self.int_mode:
            # All numbers are integers: ``format`` appends a ``.`` to finite values to show the
            # tensor is floating, so count one more character for it.
            for value in finite_values:
                self.max_width = max(self.max_width, len(f"{value:.0f}") + 1)
        else:
            spec = f"{{:.{precision}f}}"
            for value in finite_values:
                self.max_width = max(self.max_width, len(spec.format(value)))

    def width(self) -> int:
        """The width every element is padded to."""
        return self.max_width

    def format(self, value: Any) -> str:
        """Format one element (a Python float, int or bool) right-aligned to ``max_width``."""
        if self.floating_dtype:
            return format_float_python(
                value, sci_mode=self.sci_mode, int_mode=self.int_mode, width=self.max_width
            )
        ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


# ---------------------------------------------------------------------------------------------
# Laying out the elements
# ---------------------------------------------------------------------------------------------


def _scalar_str(self: np.ndarray, formatter: _Formatter) -> str:
    """A 0-dim tensor is just its one formatted element: ``tensor(3.5000)``."""
    return formatter.format(self.item())


def _vector_str(self: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    """Lay out a 1-D tensor as ``[a, b, c]``, wrapping rows at ``PRINT_OPTS.linewidth``.

    ``indent`` is the column where the ``[`` stands; continuation lines start one column to the
    right of it, under the first element. Every element has the same width, so the number per
    line is fixed: ``(linewidth - indent) // (width + 2)`` (the 2 is ``", "``), at least one.
    """
    # length includes spaces and comma between elements
    element_length = formatter.width() + 2
    elements_per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))

    edgeitems = PRINT_OPTS.edgeitems
    if summarize and not edgeitems:
        data = ["..."]
    elif summarize and self.shape[0] > 2 * edgeitems:
        # The leading space makes ``...`` line up as ``  ...,`` between the elements.
        data = (
            [formatter.format(val) for val in self[:edgeitems].tolist()]
            + [" ..."]
            + [formatter.format(val) for val in self[-edgeitems:].tolist()]
        )
    else:
        data = [formatter.format(val) for val in self.tolist()]

    data_lines = [data[i : i + elements_per_line] for i in range(0, len(data), elements_per_line)]
    lines = [", ".join(line) for line in data_lines]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(
    self: np.ndarray, indent: int, summarize: bool, formatter: _Formatter
) -> str:
    """Lay out a tensor of any rank recursively, one sub-tensor per dimension-0 index.

    Sub-tensors are separated by ``,``, then ``dim - 1`` newlines (so 3-D slices get a blank
    line between them, 4-D slices two), then spaces up to the column after this ``[``. When
    summarising, rows beyond the first and last ``edgeitems`` become a single ``...`` row.
    """
    dim = self.ndim

    if dim == 0:
        return _scalar_str(self, formatter)

    if dim == 1:
        return _vector_str(self, indent, summarize, formatter)

    edgeitems = PRINT_OPTS.edgeitems
    size = self.shape[0]
    if summarize and size > 2 * edgeitems:
        slices = (
            [
                _tensor_str_with_formatter(self[i], indent + 1, summarize, formatter)
                for i in range(edgeitems)
            ]
            + ["..."]
            + [
                _tensor_str_with_formatter(self[i], indent + 1, summarize, formatter)
                for i in range(size - edgeitems, size)
            ]
        )
    else:
        slices = [
            _tensor_str_with_formatter(self[i], indent + 1, summarize, formatter)
            for i in range(size)
        ]

    tensor_str = ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices)
    return "[" + tensor_str + "]"


def _get_summarized_data(self: np.ndarray) -> np.ndarray:
    """The elements a summarised tensor will display, for ``_Formatter`` to measure.

    Measuring only these keeps a huge tensor from being scanned in full, and means hidden
    values never widen the columns or switch on sci mode. Quirks kept from PyTorch: with
    ``edgeitems=0`` a 1-D tensor keeps all of its values (``self[-0:]`` is the whole tensor)
    while higher ranks keep none.
    """
    dim = self.ndim
    edgeitems = PRINT_OPTS.edgeitems
    if dim == 0:
        return self
    if dim == 1:
        if self.shape[0] > 2 * edgeitems:
            return np.concatenate((self[:edgeitems], self[-edgeitems:]))
        return self
    if not edgeitems:
        return np.empty([0] * dim, dtype=self.dtype)
    if self.shape[0] > 2 * edgeitems:
        start = [self[i] for i in range(edgeitems)]
        end = [self[i] for i in range(len(self) - edgeitems, len(self))]
        return np.stack([_get_summarized_data(x) for x in start + end])
    return np.stack([_get_summarized_data(x) for x in self])


def _tensor_str(self: np.ndarray, indent: int, floating_dtype: bool) -> str:
    """The bracketed contents of a tensor whose ``tensor(`` prefix ends at column ``indent``."""
    if self.size == 0:
        return "[]"

    summarize = self.size > PRINT_OPTS.threshold
    formatter = _Formatter(
        _get_summarized_data(self) if summarize else self, floating_dtype=floating_dtype
    )
    return _tensor_str_with_formatter(self, indent, summarize, formatter)


def _add_suffixes(tensor_str: str, suffixes: list[str], indent: int, force_newline: bool) -> str:
    """Append ``, suffix`` items and the closing ``)``, wrapping a suffix that would not fit.

    A suffix moves to its own line, indented under the first ``[``, when the current last line
    plus ``", " + suffix`` would exceed ``linewidth``. PyTorch measures the last line as
    ``len - rfind("\\n") + 1``, which is two more than the characters on it (the first line
    included, as ``rfind`` then gives -1); the port keeps that arithmetic so that suffixes wrap
    at exactly the same lengths as in PyTorch.
    """
    tensor_strs = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        suffix_len = len(suffix)
        if force_newline or last_line_len + suffix_len + 2 > PRINT_OPTS.linewidth:
            tensor_strs.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
            force_newline = False
        else:
            tensor_strs.append(", " + suffix)
            last_line_len += suffix_len + 2
    tensor_strs.append(")")
    return "".join(tensor_strs)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _to_numpy(data: Any) -> np.ndarray:
    """Accept a NumPy array, a CuPy array (copied to the host with ``.get()``) or array-like."""
    if hasattr(data, "get") and not isinstance(data, np.ndarray):
        data = data.get()
    return np.asarray(data)


def _is_floating(dtype_name: str, data: np.ndarray) -> bool:
    """Floating dtypes choose a float style; integers and bools print with ``str(value)``.

    The dtype name decides (a bfloat16 tensor may arrive as float32 data); an unknown name
    falls back to the kind of the array.
    """
    if dtype_name.startswith(("float", "bfloat")):
        return True
    if dtype_name == "bool" or "int" in dtype_name:
        return False
    return data.dtype.kind == "f"


def _device_str(device: str) -> str:
    """``str(torch.device)``: a CUDA device always shows its index (``cuda`` → ``cuda:0``)."""
    device = str(device)
    if device == "cuda":
        return "cuda:0"
    return device


def tensor_repr(
    data: Any,
    dtype_name: str,
    *,
    device: str = "cpu",
    grad_fn_name: str | None = None,
    requires_grad: bool = False,
    is_parameter: bool = False,
    tensor_contents: str | None = None,
) -> str:
    """Return the text PyTorch's ``repr(tensor)`` (and ``str(tensor)``) gives for this tensor.

    This is ``torch._tensor_str._str_intern`` for dense strided tensors, taking the tensor's
    parts instead of a tensor so that it stays independent of ``minijit.Tensor``.

    Args:
        data: the values, a NumPy array (a CuPy array is copied to the host first).
        dtype_name: minijit's dtype name (``"float32"``, ``"int64"``, ``"bool"`` ...); it
            decides the number style and is printed as ``dtype=torch.<name>`` unless it is one
            of the dtypes that need no suffix (float32, int64, bool; any non-float32 dtype when
            the tensor is empty, since then no element shows the type).
        device: ``"cpu"`` prints nothing; any other device adds ``device='cuda:0'``.
        grad_fn_name: the autograd node's class name, added as ``grad_fn=<TanhBackward0>``.
        requires_grad: for a leaf (no ``grad_fn``) adds ``requires_grad=True``.
        is_parameter: print the ``Parameter containing:`` line that ``nn.Parameter`` adds.
        tensor_contents: use this text instead of the formatted values (PyTorch's hook for
            subclasses); the suffixes are still added.

    Returns:
        The full representation, e.g. ``tensor([ 0.4621, -0.7616], grad_fn=<TanhBackward0>)``.

    >>> import numpy as np
    >>> print(tensor_repr(np.arange(3.0), "float64", requires_grad=True))
    tensor([0., 1., 2.], dtype=torch.float64, requires_grad=True)
    >>> print(tensor_repr(np.zeros((0, 3), np.float32), "float32"))
    tensor([], size=(0, 3))
    """
    self = _to_numpy(data)
    dtype_name = _DTYPE_ALIASES.get(dtype_name, dtype_name)
    if self.dtype.kind == "c" or dtype_name.startswith("complex"):
        # PyTorch prints real and imaginary parts with two formatters; minijit has no complex.
        raise TypeError(f"printing {dtype_name} tensors is not supported")
    prefix = "tensor("
    indent = len(prefix)
    suffixes: list[str] = []

    # Note [Print tensor device] (PyTorch): the device shows only when it is not the default.
    device = _device_str(device)
    if device != "cpu":
        suffixes.append("device='" + device + "'")

    has_default_dtype = dtype_name in _DTYPES_WITHOUT_SUFFIX
    dtype_str = "torch." + dtype_name
    if self.size == 0:
        # Explicitly print the shape if it is not (0,), to match NumPy behaviour.
        if self.ndim != 1:
            suffixes.append("size=" + str(tuple(self.shape)))
        # An empty tensor has no elements to suggest int64, so any non-default dtype shows.
        if dtype_name != _DEFAULT_DTYPE:
            suffixes.append("dtype=" + dtype_str)
        tensor_str = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            # With no edge items nothing of the shape is visible, so print it.
            suffixes.append("size=" + str(tuple(self.shape)))
        if not has_default_dtype:
            suffixes.append("dtype=" + dtype_str)
        if tensor_contents is None:
            tensor_str = _tensor_str(self, indent, _is_floating(dtype_name, self))
    if tensor_contents is not None:
        tensor_str = tensor_contents

    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")

    string_repr = _add_suffixes(prefix + tensor_str, suffixes, indent, force_newline=False)
    if is_parameter:
        # ``nn.Parameter.__repr__`` is ``"Parameter containing:\n" + Tensor.__repr__``.
        string_repr = "Parameter containing:\n" + string_repr
    return string_repr
