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
