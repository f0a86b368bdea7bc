"""Install Tensor methods and operators by looping over the registry.

``Tensor.tanh``, ``Tensor.__add__`` and friends are not written by hand: each registered op
says whether it is a method and which dunders it provides, and this module turns that into
attributes of :class:`~minijit._tensor.Tensor`.  The few composite methods below (indexing,
reverse division, ``norm``) decompose into registered ops, so tracing them records the same
nodes PyTorch records.
"""
from __future__ import annotations

from typing import Any, Callable, List

from .._tensor import Tensor
from .creation import size_item
from .dispatch import TRACE_STATE, call
from .fast_path import fast_entry
from .registry import OpInfo, all_ops, get

INT64_MAX = 9223372036854775807
_UNARY_DUNDERS = ("__neg__", "__abs__", "__invert__")


def _takes_size_varargs(op: OpInfo) -> bool:
    """``x.view(3, 4)`` packs its ints into the ``int[] size`` argument."""
    args = op.schema.arguments
    return len(args) >= 2 and args[1].type in ("int[]", "SymInt[]")


def make_method(op: OpInfo) -> Callable:
    if _takes_size_varargs(op):
        def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
            if args and not isinstance(args[0], (list, tuple)):
                count = sum(1 for a in args if isinstance(a, int) or hasattr(a, "__index__"))
                if count == len(args):
                    args = ([size_item(a) for a in args],)
            elif args and isinstance(args[0], tuple):
                args = (list(args[0]),) + args[1:]
            return call(op, (self,) + args, kwargs)
    else:
        def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
            return call(op, (self,) + args, kwargs)
    method.__name__ = op.python_name
    method.__doc__ = "\n".join(s.text for s in op.schemas)
    return method


def make_dunder(op: OpInfo, name: str) -> Callable:
    def dunder(self: Tensor, other: Any) -> Any:
        if not isinstance(other, (Tensor, int, float, bool)):
            return NotImplemented
        return call(op, (self, other), None)
    dunder.__name__ = name
    return dunder


def install_methods() -> None:
    """Put every op's method and dunders on Tensor (pointwise ops get the fast entry)."""
    for op in all_ops():
        if op.fast is None:
            op.fast = fast_entry(op)
        fast = op.fast
        if op.method and op.python_name not in Tensor.__dict__:
            setattr(Tensor, op.python_name, fast[1] if fast else make_method(op))
        for name in op.dunders:
            if name in _UNARY_DUNDERS:
                setattr(Tensor, name, fast[1] if fast else make_method(op))
            else:
                setattr(Tensor, name, fast[0] if fast else make_dunder(op, name))
    for name, fn in COMPOSITE_METHODS.items():
        setattr(Tensor, name, fn)
    for name in PYTORCH_PYTHON_LEVEL_METHODS:
        fn = Tensor.__dict__.get(name)
        if fn is not None:
            setattr(Tensor, name, _python_level(fn))


# Tensor methods that ``torch/_tensor.py`` defines in Python (see ``PYTHON_LEVEL_CODES`` in
# ``jit/frontend/tracer_frames.py``: it changes how a trace names values).
PYTORCH_PYTHON_LEVEL_METHODS = (
    "__floordiv__", "__pow__", "__rdiv__", "__rfloordiv__", "__rlshift__", "__rmatmul__",
    "__rmod__", "__rpow__", "__rrshift__", "__rsub__", "__rtruediv__", "__ipow__", "split",
    "norm", "unique", "unflatten")


def _python_level(fn: Any) -> Any:
    def method(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)
    method.__name__ = getattr(fn, "__name__", "method")
    method.__doc__ = getattr(fn, "__doc__", None)
    return method


def _register_python_level_code() -> None:
    from ..jit.frontend.tracer_frames import PYTHON_LEVEL_CODES
    PYTHON_LEVEL_CODES.add(_python_level(len).__code__)


_register_python_level_code()


# ---- composite methods ---------------------------------------------------------------------------
def _rtruediv(self: Tensor, other: Any) -> Tensor:
    return self.reciprocal() * other


def _rpow(self: Tensor, other: Any) -> Tensor:
    return call(get("pow"), (other, self))


def _rfloordiv(self: Tensor, other: Any) -> Tensor:
    if not isinstance(other, (Tensor, int, float, bool)):
        return NotImplemented
    return call(get("floor_divide"), (other, self))


def _rmod(self: Tensor, other: Any) -> Tensor:
    if not isinstance(other, (Tensor, int, float, bool)):
        return NotImplemented
    return call(get("remainder"), (other, self))


def _rmatmul(self: Tensor, other: Any) -> Tensor:
    return call(get("matmul"), (other, self))


def _inplace(name: str) -> Callable:
    def method(self: Tensor, other: Any) -> Tensor:
        return call(get(name), (self, other))
    return method


def _where(self: Tensor, condition: Tensor, other: Any) -> Tensor:
    return call(get("where"), (condition, self, other))


def _norm(self: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,
          dtype: Any = None) -> Tensor:
    ord_ = 2 if p in ("fro", None) else p
    if isinstance(dim, int):
        dim = [dim]
    return call(get("linalg_vector_norm"), (self, ord_, dim, keepdim), {"dtype": dtype})


def _split(self: Tensor, split_size_or_sections: Any, dim: int = 0) -> List[Tensor]:
    if isinstance(split_size_or_sections, (list, tuple)):
        return call(get("split_with_sizes"), (self, list(split_size_or_sections), dim))
    return call(get("split"), (self, split_size_or_sections, dim))


_split.op = get("split")   # scripted ``torch.split`` is the builtin ``aten::split`` (resolver)


def _expand_as(self: Tensor, other: Tensor) -> Tensor:
    return self.expand(list(other.shape))


def _view_as(self: Tensor, other: Tensor) -> Tensor:
    return self.view(list(other.shape))


def _reshape_as(self: Tensor, other: Tensor) -> Tensor:
    return self.reshape(list(other.shape))


def _type_as(self: Tensor, other: Tensor) -> Tensor:
    return self.to(other.dtype)


def _pos(self: Tensor) -> Tensor:
    return self


def _invert(self: Tensor) -> Tensor:
    if self.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return call(get("bitwise_not"), (self,))


def _normalize_index(index: Any) -> tuple:
    """The index as a tuple, and how many tensor dimensions it consumes (for ``...``)."""
    if not isinstance(index, tuple):
        index = (index,)
    consumed = 0
    for i in index:
        if i is None or i is Ellipsis or isinstance(i, bool):
            continue
        if isinstance(i, Tensor) and i.dtype.name in ("bool", "uint8"):
            consumed += i.ndim
        else:
            consumed += 1
    return index, consumed


def _basic_indexing(self: Tensor, index: Any) -> tuple:
    """Apply the basic part of an index, as PyTorch's ``applySlicing`` does.

    ints → ``aten::select``, slices → ``aten::slice`` (a full ``:`` inside a tuple is skipped
    unless tracing), ``None`` → ``aten::unsqueeze``.  Tensors, lists and bools are advanced
    indices: they are collected, one per remaining dimension (``None`` = all), for one
    ``aten::index`` or ``aten::index_put_``.  Returns (view, advanced indices or None).
    """
    if isinstance(index, slice):                 # a lone slice is always applied
        return _apply_slice(self, 0, index, True), None
    index, consumed = _normalize_index(index)
    if consumed > self.ndim:
        raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
    result = self
    dim = 0
    advanced: List[Any] = []
    has_advanced = False
    tracing = TRACE_STATE.tracer is not None
    for item in index:
        if item is Ellipsis:
            skip = self.ndim - consumed
            advanced.extend([None] * skip)
            dim += skip
        elif item is None:
            result = result.unsqueeze(dim)
            advanced.append(None)
            dim += 1
        elif isinstance(item, bool):
            # PyTorch: a new dimension of size 1, indexed by [0] (True) or [] (False).
            from .creation import tensor
            from .. import dtypes as _dt
            result = result.unsqueeze(dim)
            advanced.append(tensor([0] if item else [], dtype=_dt.int64))
            has_advanced = True
            dim += 1
        elif isinstance(item, int) or (isinstance(item, Tensor) and item.ndim == 0
                                       and not tracing
                                       and item.dtype.name not in ("bool", "uint8")
                                       and not item.dtype.is_floating_point):
            value = int(item)
            size = result.shape[dim]
            if not -size <= value < size:
                raise IndexError(f"index {value} is out of bounds for dimension {dim} with size "
                                 f"{size}")
            result = call(get("select"), (result, dim, value))
        elif isinstance(item, slice):
            result = _apply_slice(result, dim, item, tracing)
            advanced.append(None)
            dim += 1
        elif isinstance(item, (Tensor, list, tuple)):
            if not isinstance(item, Tensor):
                from .creation import tensor
                item = tensor(item)
            advanced.append(item)
            dim += item.ndim if item.dtype.name in ("bool", "uint8") else 1
            has_advanced = True
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             "byte Variables are valid indices (got "
                             f"{type(item).__name__})")
    if not has_advanced:
        return result, None
    while advanced and advanced[-1] is None:
        advanced.pop()
    return result, advanced


def _apply_slice(result: Tensor, dim: int, item: slice, always: bool) -> Tensor:
    start = 0 if item.start is None else int(item.start)
    stop = INT64_MAX if item.stop is None else int(item.stop)
    step = 1 if item.step is None else int(item.step)
    if step == 0:
        raise ValueError("slice step cannot be zero")
    if step < 0:
        raise ValueError("step must be greater than zero")
    full = start == 0 and stop >= result.shape[dim] and step == 1
    if full and not always:
        return result
    return call(get("slice"), (result, dim, start, stop, step))


def _getitem(self: Tensor, index: Any) -> Tensor:
    """``x[index]``: basic indexing as views, then at most one ``aten::index``; an index that
    changes nothing gives ``aten::alias`` (Note in :func:`_basic_indexing`)."""
    result, advanced = _basic_indexing(self, index)
    if advanced is not None:
        return call(get("index"), (result, advanced))
    if result is self:
        return call(get("alias"), (self,))
    return result


def _setitem(self: Tensor, index: Any, value: Any) -> None:
    """``x[index] = value``: write into the basic-indexed view with ``copy_``/``fill_``, or
    with ``index_put_`` for advanced indices; views share ``x``'s memory and version."""
    target, advanced = _basic_indexing(self, index)
    if advanced is not None:
        if not isinstance(value, Tensor):
            from .creation import tensor
            value = tensor(value, dtype=self.dtype, device=self.device)
        elif value.dtype is not self.dtype:
            value = value.to(self.dtype)
        call(get("index_put_"), (target, advanced, value))
    elif isinstance(value, Tensor):
        if tuple(value.shape) != tuple(target.shape):
            # PyTorch's copy_to: drop leading 1s of the value, then expand it ("setitem").
            from .shape import expand_message
            shape = list(value.shape)
            while shape and shape[0] == 1:
                shape.pop(0)
            message = expand_message(shape, list(target.shape))
            if isinstance(message, str) or len(shape) > target.ndim:
                raise RuntimeError(message if isinstance(message, str) else
                                   f"expand(torch.{value.dtype.scalar_name}Tensor{{{shape}}}, "
                                   f"size={list(target.shape)}): the number of sizes provided "
                                   f"({target.ndim}) must be greater or equal to the number of "
                                   f"dimensions in the tensor ({len(shape)})")
        call(get("copy_"), (target, value))
    else:
        call(get("fill_"), (target, value))


COMPOSITE_METHODS = {
    "__rtruediv__": _rtruediv, "__rdiv__": _rtruediv, "__rpow__": _rpow,
    "__rfloordiv__": _rfloordiv, "__rmod__": _rmod,
    "__rmatmul__": _rmatmul, "__pos__": _pos, "__invert__": _invert,
    "__iadd__": _inplace("add_"), "__isub__": _inplace("sub_"), "__imul__": _inplace("mul_"),
    "__itruediv__": _inplace("div_"),
    "__getitem__": _getitem, "__setitem__": _setitem,
    "where": _where, "norm": _norm, "split": _split, "expand_as": _expand_as,
    # PyTorch's method aliases
    "clip": lambda self, *a, **k: self.clamp(*a, **k),
    "clip_": lambda self, *a, **k: self.clamp_(*a, **k),
    "absolute": lambda self: self.abs(), "negative": lambda self: self.neg(),
    "multiply": lambda self, other: self.mul(other),
    "subtract": lambda self, other, alpha=1: self.sub(other, alpha=alpha),
    "divide": lambda self, other, rounding_mode=None: call(
        get("div"), (self, other),
        {} if rounding_mode is None else {"rounding_mode": rounding_mode}),
    "true_divide": lambda self, other: self.div(other),
    "greater": lambda self, other: self.gt(other), "less": lambda self, other: self.lt(other),
    "view_as": _view_as, "reshape_as": _reshape_as, "type_as": _type_as,
}
