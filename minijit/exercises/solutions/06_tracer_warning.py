"""Reference solution of exercise 6 (``tutorials/exercises/06_tracer_warning.py``).

One more conversion, ``complex(t)``, with the TracerWarning that minijit's own conversions
(``minijit/_tensor.py``) emit through ``Tracer.warn_conversion``.
"""
from __future__ import annotations

import os
import sys
import warnings

import minijit
from minijit._tensor import Tensor
from minijit.jit import TracerWarning
from minijit.ops import dispatch

MINIJIT_DIR = os.path.dirname(os.path.abspath(minijit.__file__))
MESSAGE_TAIL = ("might cause the trace to be incorrect. We can't record the data flow of "
                "Python values, so this value will be treated as a constant in the future. "
                "This means that the trace might not generalize to other inputs!")


def is_tracing() -> bool:
    """Whether ``minijit.jit.trace`` is recording right now."""
    return dispatch.TRACE_STATE.tracer is not None


def is_internal(filename: str) -> bool:
    """Whether a frame of ``filename`` is library code (this file or minijit itself)."""
    path = os.path.abspath(filename)
    return path == os.path.abspath(__file__) or path.startswith(MINIJIT_DIR + os.sep)


def warn_conversion(what: str) -> None:
    """While tracing, warn that a tensor became a Python ``what``, at the user's line."""
    if not is_tracing():
        return
    frame = sys._getframe(1)           # our caller: stacklevel 2
    level = 2
    while frame is not None and is_internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    warnings.warn(f"Converting a tensor to a Python {what} " + MESSAGE_TAIL, TracerWarning,
                  stacklevel=level)


def complex_of(t: Tensor) -> complex:
    """``complex(t)`` of a one-element tensor, with the tracer warning."""
    if t.numel() != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")
    warn_conversion("complex")
    return complex(t._data.item())


# ---- given -----------------------------------------------------------------------------------
def _tensor_complex(self: Tensor) -> complex:
    return complex_of(self)


def install() -> None:
    """Make ``complex(t)`` work on minijit tensors, through :func:`complex_of`."""
    Tensor.__complex__ = _tensor_complex  # type: ignore[attr-defined]


def uninstall() -> None:
    if getattr(Tensor, "__complex__", None) is _tensor_complex:
        del Tensor.__complex__  # type: ignore[attr-defined]


if __name__ == "__main__":
    install()
    # The user's code, in a "file" of its own (frames of this file count as library code).
    USER_CODE = """
def f(x):
    c = complex(x.sum())          # line 3: the warning should point here
    return x * c.real
"""
    namespace = {"minijit": minijit}
    exec(compile(USER_CODE, "user_model.py", "exec"), namespace)
    traced = minijit.jit.trace(namespace["f"], (minijit.ones(3),), check_trace=False)
    print(traced.graph)
    print("traced on twos:", traced(2 * minijit.ones(3)), "(6 was baked in: 3 * 2 = 6)")
