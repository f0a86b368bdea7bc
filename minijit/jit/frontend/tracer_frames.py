"""Functions whose Python frames the tracer looks through when it picks a source line.

PyTorch implements some library functions in C++ (``torch._C._nn.linear``), so its traced
graphs point at the *caller* of those (``torch/nn/modules/linear.py:134``).  minijit writes
them in Python; registering their code objects here makes the tracer skip their frames and
print the same caller line.  Kept apart from ``tracer.py`` so ``minijit.nn`` can register
functions without importing the tracer.
"""
from __future__ import annotations

from typing import Set
from types import CodeType

TRANSPARENT_CODES: Set[CodeType] = set()

# Tensor methods PyTorch writes in Python (``torch/_tensor.py``: ``__pow__``, ``__rsub__``,
# ``split`` ...).  Its tracer names a value after the Python local holding it in the frame
# that called the op, and for these that frame is the method's own, where the tensor is
# ``self`` (never a name): so ``x = x ** 2`` leaves ``tanh(x)``'s value unnamed.  minijit
# installs these methods through one wrapper whose code is here.
PYTHON_LEVEL_CODES: Set[CodeType] = set()
