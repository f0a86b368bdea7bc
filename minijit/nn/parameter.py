"""``nn.Parameter`` and ``nn.Buffer``: tensors that a Module registers when assigned.

A :class:`Parameter` is a :class:`~minijit.Tensor` subclass that shares the array of the tensor
it was made from (PyTorch's ``Tensor._make_subclass``), is always a leaf, and requires grad by
default.  Being a distinct type is its whole point: ``Module.__setattr__`` registers it in
``_parameters``, while plain tensors stay ordinary attributes (a cached hidden state must not
become a parameter).  Ops on a Parameter return plain Tensors, because the dispatcher always
wraps results as ``Tensor``.

:class:`Buffer` marks a tensor that ``Module.__setattr__`` should register as a buffer; like
PyTorch's, the object it returns is a plain Tensor carrying a flag.
"""
from __future__ import annotations

from typing import Any, Optional

from .._tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A tensor that is a module parameter.

    Args:
        data: the values; the Parameter shares its array (no copy). ``None`` gives an empty
            float tensor, as in PyTorch.
        requires_grad: whether the parameter requires grad (not affected by ``no_grad``).

    Example:
        >>> import minijit
        >>> p = Parameter(minijit.tensor([1.0, 2.0]))
        >>> print(p)
        Parameter containing:
        tensor([1., 2.], requires_grad=True)
    """

    def __new__(cls, data: Optional[Tensor] = None, requires_grad: bool = True) -> "Parameter":
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not "
                            f"{type(data).__name__}")
        param = cls._from_array(data._data)
        param._version = data._version   # the same storage, so the same version counter
        if requires_grad:
            if not data.dtype.is_floating_point:
                raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                                   "gradients")
            param.requires_grad = True
        return param

    def __init__(self, data: Optional[Tensor] = None, requires_grad: bool = True) -> None:
        # ``Tensor.__init__`` refuses direct construction; everything happened in __new__.
        pass

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        from .._tensor_str import tensor_repr
        return tensor_repr(self._data, self.dtype.name, device=str(self.device),
                           requires_grad=self.requires_grad, is_parameter=True,
                           tensor_contents=tensor_contents)

    def __deepcopy__(self, memo: dict) -> "Parameter":
        """Copy the values, keep ``requires_grad``; like PyTorch, ``.grad`` is not copied."""
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(Tensor._from_array(self._data.copy()), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto: int) -> Any:
        from .._tensor import _host
        return (_rebuild_parameter, (_host(self._data).copy(), self.requires_grad))


def _rebuild_parameter(data: Any, requires_grad: bool) -> Parameter:
    """Unpickling entry point (``torch._utils._rebuild_parameter``)."""
    return Parameter(Tensor._from_array(data), requires_grad)


class _BufferMeta(type):
    """``isinstance(t, Buffer)`` is true for the flagged plain tensors that ``Buffer`` returns."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)


class Buffer(metaclass=_BufferMeta):
    """Mark a tensor to be registered as a buffer when assigned to a Module attribute.

    Args:
        data: the buffer's values (detached, sharing the array).
        persistent: whether the buffer goes into ``state_dict``.
    """

    def __new__(cls, data: Optional[Tensor] = None, *, persistent: bool = True) -> Tensor:  # type: ignore[misc]
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t
