"""``minijit.<op>`` functions, made from the registry, plus a few helpers that backward rules and
the engine use (``sum_to_size``, ``zeros_for``).

Every function here is ``dispatch.call(op, args, kwargs)``: binding by schema, then the single
dispatch point.  Nothing is computed on the side.
"""
from __future__ import annotations

import types
from typing import Any, Callable, Dict, Sequence


from .._tensor import Tensor
from .dispatch import call
from .fast_path import fast_entry
from .registry import all_ops, get

__all__ = ["make_function", "FUNCTIONS"]


def make_function(op: Any) -> Callable:
    """A Python function for ``op`` whose name and docstring come from the schema."""
    if op.fast:
        # The fast entry's method takes any first argument (a number goes to ``call``); a
        # copy of it, so that the function's name and docstring are its own.
        fast = op.fast[1]
        function = types.FunctionType(fast.__code__, fast.__globals__, op.python_name,
                                      fast.__defaults__, fast.__closure__)
    else:
        def function(*args: Any, **kwargs: Any) -> Any:
            return call(op, args, kwargs)

    function.__name__ = op.python_name
    function.__qualname__ = op.python_name
    function.__doc__ = "\n".join(s.text for s in op.schemas)
    function.op = op
    return function


for _op in all_ops():
    if _op.fast is None:
        _op.fast = fast_entry(_op)

FUNCTIONS: Dict[str, Callable] = {op.python_name: make_function(op) for op in all_ops()
                                  if op.function}
globals().update(FUNCTIONS)


def sum_to_size(t: Tensor, shape: Sequence[int]) -> Tensor:
    """Reduce a broadcast gradient back to ``shape`` (used by the autograd engine)."""
    return call(get("sum_to_size"), (t, list(shape)))


def zeros_for(shape: Sequence[int], dtype: Any, device: Any) -> Tensor:
    from .creation import zeros
    return zeros(list(shape), dtype=dtype, device=device)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    return call(get("cat"), (list(tensors), dim))


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    return call(get("stack"), (list(tensors), dim))


def einsum(equation: str, *operands: Any) -> Tensor:
    """``torch.einsum("ij,jk", a, b)``, or with the operands in one list (TorchScript's form)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return call(get("einsum"), (equation, list(operands)))


einsum.op = get("einsum")   # type: ignore[attr-defined]  (scripted: the builtin aten::einsum)


def slice_tensor(t: Tensor, dim: int, start: Any, end: Any, step: int) -> Tensor:
    return call(get("slice"), (t, dim, start, end, step))


def index_tensor(t: Tensor, indices: Sequence[Any]) -> Tensor:
    return call(get("index"), (t, list(indices)))
