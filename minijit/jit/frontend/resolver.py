"""Resolving free names: what ``torch``, ``F``, ``helper`` or ``SCALE`` mean in scripted code.

A scripted function sees the names of its Python scope: its module's globals, the variables
it closes over, and Python's builtins.  :class:`Resolver` looks a name up there (looking a name
up is not evaluating the code) and :meth:`Resolver.to_sugared` turns the Python object into a
sugared value, in this order:

* numbers, strings, devices, dtypes and tuples of them → constants, but only when read as
  an attribute of a Python module (``math.pi``, ``torch.float64``, ``config.SCALE``): as in
  PyTorch, a bare global or closed-over number is an error (pass it as an argument);
* Python modules (``minijit`` imported as ``torch``, ``minijit.nn.functional``) → module values
  whose attributes resolve the same way;
* minijit's functions for registry ops (``torch.tanh``, ``torch.zeros``, and the functions
  PyTorch writes in C++ such as ``F.linear``) → builtin operators;
* already scripted functions → ``prim::CallFunction``;
* ``@minijit.jit.ignore`` functions → a Python call (``prim::PythonOp``);
* other Python functions → compiled recursively, then called;
* exception classes → raisable exceptions.
"""
from __future__ import annotations

import builtins
import inspect
import types
from typing import Any, Dict, Optional

from ...ops.registry import OpInfo, ops_for_kind
from .errors import Span, error
from .sugar import (BuiltinFunction, PythonExceptionValue, PythonModuleValue, SimpleValue,
                    SpecialForm, SugaredTupleValue, SugaredValue)

__all__ = ["Resolver", "builtin_kind"]


def _python_library_builtins() -> Dict[Any, str]:
    """Python library functions that compile to an operator, as in PyTorch's
    ``torch/jit/_builtins.py`` (``warnings.warn`` is ``aten::warn``)."""
    import math
    import warnings
    return {warnings.warn: "aten::warn", math.floor: "aten::floor", math.ceil: "aten::ceil"}


def builtin_kind(obj: Any) -> Optional[str]:
    """The IR kind of a minijit function that *is* an operator, else None.

    Three cases, none listing op names: functions made from the registry carry their
    :class:`OpInfo` (``op``); functions PyTorch implements in C++ are registered in
    ``tracer_frames.TRANSPARENT_CODES`` (``F.linear``); Python wrappers in ``minijit.ops``
    (``minijit.zeros``) are named after their op.
    """
    op = getattr(obj, "op", None)
    if isinstance(op, OpInfo):
        return op.kind
    try:
        library = _python_library_builtins().get(obj)
    except TypeError:                       # unhashable objects are no builtins
        library = None
    if library is not None:
        return library
    if not callable(obj) or not hasattr(obj, "__name__"):
        return None
    code = getattr(obj, "__code__", None)
    from .tracer_frames import TRANSPARENT_CODES
    module = getattr(obj, "__module__", "") or ""
    if (code is not None and code in TRANSPARENT_CODES) or module.startswith("minijit.ops"):
        found = ops_for_kind(f"aten::{obj.__name__}")
        if found:
            return found[0].kind
    return None


class Resolver:
    """Looks names up in a Python function's scope (closure first, then globals, builtins)."""

    def __init__(self, scope_globals: Optional[Dict[str, Any]] = None,
                 closure: Optional[Dict[str, Any]] = None):
        self.globals = scope_globals or {}
        self.closure = closure or {}

    @classmethod
    def for_function(cls, fn: Any) -> "Resolver":
        fn = inspect.unwrap(fn)
        closure: Dict[str, Any] = {}
        code = getattr(fn, "__code__", None)
        if code is not None and fn.__closure__:
            for name, cell in zip(code.co_freevars, fn.__closure__):
                try:
                    closure[name] = cell.cell_contents
                except ValueError:          # an empty cell (defined later)
                    continue
        return cls(getattr(fn, "__globals__", {}), closure)

    _MISSING = object()

    def lookup(self, name: str) -> Any:
        if name in self.closure:
            return self.closure[name]
        if name in self.globals:
            return self.globals[name]
        return getattr(builtins, name, self._MISSING)

    def resolve_value(self, name: str, span: Optional[Span], m: Any) -> Optional[SugaredValue]:
        obj = self.lookup(name)
        if obj is self._MISSING:
            return None
        return self.to_sugared(obj, span, m)

    def to_sugared(self, obj: Any, span: Optional[Span], m: Any,
                   is_constant: bool = False) -> SugaredValue:
        """The sugared value of a Python object; ``is_constant`` allows plain values (module
        attributes and module constants), which TorchScript refuses for bare globals."""
        from ..._tensor import Tensor
        from ...backends import device
        from ... import dtypes
        if obj is None or isinstance(obj, (bool, int, float, str, tuple, dtypes.dtype,
                                            device)):
            if not is_constant and obj is not None:
                raise error(span, f"python value of type '{type(obj).__name__}' cannot be used "
                                  "as a value. Perhaps it is a closed over global variable? If "
                                  "so, please consider passing it in as an argument or use a "
                                  "local variable instead.")
            if isinstance(obj, dtypes.dtype):
                return SimpleValue(m.insert_constant(obj.code, span))
            if isinstance(obj, device):
                from ..ir.types import DeviceType
                return SimpleValue(m.insert_constant(str(obj), span, DeviceType))
            if isinstance(obj, tuple):
                return SugaredTupleValue([self.to_sugared(item, span, m, True) for item in obj])
            return SimpleValue(m.insert_constant(obj, span))
        if isinstance(obj, types.ModuleType):
            return PythonModuleValue(obj)
        special = _special_form(obj)
        if special is not None:
            return special
        kind = builtin_kind(obj)
        if kind is not None:
            return BuiltinFunction(kind)
        from ..modules import ScriptFunction
        if isinstance(obj, ScriptFunction):
            from .sugar import FunctionValue
            return FunctionValue(obj)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            qualified = f"{obj.__module__}.{obj.__qualname__}"
            return PythonExceptionValue(obj.__name__, qualified)
        if isinstance(obj, types.BuiltinFunctionType) or (
                isinstance(obj, type) and obj.__module__ == "builtins"):
            raise error(span, f"Python builtin {obj} is currently not supported in Torchscript")
        if isinstance(obj, (types.FunctionType, types.MethodType)):
            from .script import function_value_for
            return function_value_for(obj, span, m)
        if isinstance(obj, Tensor):
            raise error(span, "Tensors captured from Python are not supported by minijit's "
                              "scripter; pass the tensor as an argument or make it a module "
                              "buffer")
        raise error(span, f"Python value of type '{type(obj).__name__}' cannot be used as a "
                          "value. Perhaps it is a closed over global variable? If so, please "
                          "consider passing it in as an argument or use a local varible "
                          "instead.")


def _special_form(obj: Any) -> Optional[SugaredValue]:
    """``minijit.jit.annotate`` and friends: calls the emitter handles itself."""
    form = getattr(obj, "_minijit_special_form", None)
    return SpecialForm(form) if form is not None else None
