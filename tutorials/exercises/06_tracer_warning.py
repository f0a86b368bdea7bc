"""
Exercise 6: a TracerWarning for a tensor-to-Python conversion
=============================================================

``minijit.jit.trace`` runs your function once and records every tensor op it dispatches.  It
cannot see what happens to Python values: once a tensor becomes a Python number
(``float(t)``, ``t.item()``, ``bool(t)`` in an ``if``), the number is baked into the graph
as a constant, and the trace will use that same number for every later input.  PyTorch (and
minijit) warn when that happens::

    model.py:12: TracerWarning: Converting a tensor to a Python float might cause the trace
    to be incorrect. We can't record the data flow of Python values, so this value will be
    treated as a constant in the future. This means that the trace might not generalize to
    other inputs!
      scale = float(x.max())

Note where the warning points: at the *user's* line (``model.py:12``), not at the line inside
the library that called ``warnings.warn``.  In this exercise you add the conversion
``complex(t)``, which minijit's ``Tensor`` does not have yet, with its warning.

What to build
-------------
1. ``is_tracing()``: True while a trace is being recorded.  The tracer announces itself in one
   place, the dispatcher's trace state: ``minijit.ops.dispatch.TRACE_STATE.tracer`` is the
   active ``Tracer`` during ``minijit.jit.trace``, and None otherwise.

2. ``is_internal(filename)``: True for this exercise file and for every file inside the
   ``minijit`` package folder (``MINIJIT_DIR`` below); False for anything else (the user's
   code).

3. ``warn_conversion(what)``: when tracing, and only then, call
   ``warnings.warn(message, TracerWarning, stacklevel=level)`` with the message
   ``f"Converting a tensor to a Python {what} " + MESSAGE_TAIL`` and the ``stacklevel`` that
   makes Python report the first frame *outside* (see ``is_internal``) on the way out from
   ``warn_conversion`` to its callers.  ``stacklevel=1`` means the line that calls
   ``warnings.warn``, ``2`` the caller of ``warn_conversion``, and so on; walk the frames with
   ``sys._getframe(1)`` (the caller) and ``frame.f_back``, reading
   ``frame.f_code.co_filename``.

4. ``complex_of(t)``: ``complex(t)`` for a tensor of exactly one element (any dtype): warn
   with ``warn_conversion("complex")``, then return ``complex(t.item())``.  A tensor with any
   other number of elements raises ``ValueError("only one element tensors can be converted
   to Python scalars")``, as ``float(t)`` does, before any warning.

``install()`` (given) makes ``complex(t)`` call your ``complex_of`` for every minijit tensor.

Check your work with::

    python -m minijit exercises check 6

Hints
-----
* ``t.numel()`` counts elements.  Read the real thing in ``minijit/_tensor.py``
  (``Tensor.__float__`` and ``_warn_trace``) and ``Tracer._warn`` in
  ``minijit/jit/frontend/tracer.py``.  (Careful: ``t.item()`` itself warns while tracing,
  with "a Python number".  Read the value without the warning: ``complex(t._data.item())``
  or ``complex(t.detach().numpy().item())`` do not dispatch anything and do not warn.)
* ``python tutorials/exercises/06_tracer_warning.py`` traces a small function that calls
  ``complex(t)`` and shows the warning.
"""
from __future__ import annotations

import os
import sys  # noqa: F401
import warnings  # noqa: F401

import minijit
from minijit._tensor import Tensor
from minijit.jit import TracerWarning  # noqa: F401
from minijit.ops import dispatch  # noqa: F401

MINIJIT_DIR = os.path.dirname(os.path.abspath(minijit.__file__))
MESSAGE_TAIL = ("might cause the trace to be incorrect. We can't record the data flow of "
                "Python values, so this value will be treated as a constant in the future. "
                "This means that the trace might not generalize to other inputs!")


def is_tracing() -> bool:
    """Whether ``minijit.jit.trace`` is recording right now."""
    raise NotImplementedError


def is_internal(filename: str) -> bool:
    """Whether a frame of ``filename`` is library code (this file or minijit itself)."""
    raise NotImplementedError


def warn_conversion(what: str) -> None:
    """While tracing, warn that a tensor became a Python ``what``, at the user's line."""
    raise NotImplementedError


def complex_of(t: Tensor) -> complex:
    """``complex(t)`` of a one-element tensor, with the tracer warning."""
    raise NotImplementedError


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
