"""``reduction=`` strings to ATen's enum (PyTorch's ``torch/nn/_reduction.py``, kept in step).

The loss functions in ``functional.py`` call these as PyTorch's do, in the typed subset the
scripter compiles, so scripted losses call ``__torch__.torch.nn._reduction.get_enum`` as
PyTorch's compiled ones do.

Example:
    >>> get_enum("sum")
    2
"""
from __future__ import annotations

import warnings
from typing import Optional

# NB: Keep this file in sync with enums in aten/src/ATen/core/Reduction.h


def get_enum(reduction: str) -> int:
    """``"none"`` → 0, ``"mean"`` → 1, ``"sum"`` → 2; anything else raises ``ValueError``."""
    if reduction == "none":
        ret = 0
    elif reduction == "mean":
        ret = 1
    elif reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. "
                      "Please use reduction='mean' instead.", stacklevel=2)
        ret = 1
    elif reduction == "sum":
        ret = 2
    else:
        ret = -1  # TODO: remove once JIT exceptions support control flow
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return ret


# In order to support previous versions, accept boolean size_average and reduce
# and convert them into the new constants for now


# We use these functions in torch/legacy as well, in which case we'll silence the warning
def legacy_get_string(size_average: Optional[bool], reduce: Optional[bool],
                      emit_warning: bool = True) -> str:
    """The ``reduction`` string meant by the deprecated ``size_average``/``reduce`` flags."""
    warning = "size_average and reduce args will be deprecated, please use reduction='{}' instead."

    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True

    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warnings.warn(warning.format(ret), stacklevel=2)
    return ret


def legacy_get_enum(size_average: Optional[bool], reduce: Optional[bool],
                    emit_warning: bool = True) -> int:
    """:func:`get_enum` of :func:`legacy_get_string`."""
    return get_enum(legacy_get_string(size_average, reduce, emit_warning))
