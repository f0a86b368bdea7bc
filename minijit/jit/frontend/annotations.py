"""Type annotations → IR types, without evaluating them.

``def f(x: Optional[List[int]] = None)`` is read from the AST: ``Optional`` and ``List`` are
recognised by name (``typing.List``, ``List`` and ``list`` alike), so annotations referring to
names that do not exist at run time, or string annotations (``"Tensor"``), work as they do in
TorchScript.  Three entry points:

* :func:`type_from_ast` for annotations in the source being compiled,
* :func:`type_from_python` for annotations Python already evaluated (a module class's
  ``__annotations__``, ``typing.List[int]``),
* :func:`infer_type` for values (module attributes without annotations: ``3`` → ``int``).

``Final[T]`` marks a module constant; :func:`is_final` detects it, and the type is ``T``.
"""
from __future__ import annotations

import ast
import typing
from typing import Any, Callable, List, Optional

from ..ir.types import (AnyType, BoolType, DeviceType, DictType, FloatType, IntType, IRType,
                        ListType, NoneType, NumberType, OptionalType, StringType, TensorType,
                        TupleType, UnionType, unify)
from .errors import Span, error

__all__ = ["type_from_ast", "type_from_python", "infer_type", "is_final", "Final",
           "InferenceError"]

Final = typing.Final

_SIMPLE = {"Tensor": TensorType.get(), "int": IntType, "float": FloatType, "bool": BoolType,
           "str": StringType, "None": NoneType, "NoneType": NoneType, "Any": AnyType,
           "device": DeviceType, "Device": DeviceType, "number": NumberType,
           "dtype": IntType, "Scalar": NumberType}
_GENERIC = {"List": "List", "list": "List", "Tuple": "Tuple", "tuple": "Tuple",
            "Dict": "Dict", "dict": "Dict", "Optional": "Optional", "Union": "Union",
            "Final": "Final"}


class InferenceError(TypeError):
    """A Python value whose TorchScript type cannot be inferred (``[]``, an arbitrary object)."""


def _dotted_name(node: ast.expr) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def type_from_ast(node: ast.expr, span_of: Callable[[ast.AST], Span]) -> IRType:
    """The IR type an annotation expression denotes; ``span_of`` locates errors."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        inner = ast.parse(node.value, mode="eval").body
        return type_from_ast(inner, lambda _: span_of(node))
    if isinstance(node, ast.Subscript):
        base = _dotted_name(node.value)
        generic = _GENERIC.get(base or "")
        if generic is None:
            raise error(span_of(node.value), f"Unknown type constructor {base}")
        index = node.slice
        items = list(index.elts) if isinstance(index, ast.Tuple) else [index]
        if generic == "Tuple" and isinstance(index, ast.Tuple) and not index.elts:
            return TupleType([])
        args = [type_from_ast(item, span_of) for item in items]
        return _apply_generic(generic, args, lambda: span_of(node))
    name = _dotted_name(node)
    if name is not None and name in _SIMPLE:
        return _SIMPLE[name]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):       # int | None
        return UnionType.create([type_from_ast(node.left, span_of),
                                 type_from_ast(node.right, span_of)])
    shown = name if name is not None else ast.unparse(node)
    raise error(span_of(node), f"Unknown type name '{shown}'")


def _apply_generic(generic: str, args: List[IRType], span: Callable[[], Span]) -> IRType:
    if generic == "List":
        return ListType(args[0])
    if generic == "Tuple":
        return TupleType(args)
    if generic == "Dict":
        if len(args) != 2:
            raise error(span(), "Dict type annotation expects exactly two arguments")
        return DictType(args[0], args[1])
    if generic == "Optional":
        return OptionalType(args[0])
    if generic == "Union":
        return UnionType.create(args)
    return args[0]                                         # Final[T] is T


def is_final(annotation: Any) -> bool:
    """Whether a class annotation (evaluated or a string) is ``Final`` / ``Final[T]``."""
    if annotation is typing.Final:
        return True
    if typing.get_origin(annotation) is typing.Final:
        return True
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        head = text.split("[", 1)[0]
        return head == "Final" or head.endswith(".Final")
    return False


def type_from_python(annotation: Any) -> IRType:
    """The IR type of an evaluated annotation (``typing.List[int]``, ``torch.Tensor``...)."""
    if isinstance(annotation, str):
        return type_from_ast(ast.parse(annotation, mode="eval").body, lambda _: None)
    if annotation is None or annotation is type(None):
        return NoneType
    origin = typing.get_origin(annotation)
    if origin is not None:
        args = [type_from_python(a) for a in typing.get_args(annotation)]
        if origin is typing.Final:
            return args[0] if args else AnyType
        if origin is typing.Union:
            return UnionType.create(args)
        if origin in (list, List):
            return ListType(args[0])
        if origin is tuple:
            return TupleType([] if args == [TupleType([])] else args)
        if origin is dict:
            return DictType(args[0], args[1])
    name = getattr(annotation, "__name__", None)
    if name in _SIMPLE:
        return _SIMPLE[name]
    raise InferenceError(f"Unknown type annotation: '{annotation}'")


def infer_type(value: Any) -> IRType:
    """The IR type of a Python value, as TorchScript infers module attribute types."""
    from ..._tensor import Tensor
    from ...backends import device
    from ... import dtypes
    if isinstance(value, Tensor):
        return TensorType.get()
    if isinstance(value, bool):
        return BoolType
    if isinstance(value, int):
        return IntType
    if isinstance(value, float):
        return FloatType
    if isinstance(value, str):
        return StringType
    if value is None:
        return NoneType
    if isinstance(value, device):
        return DeviceType
    if isinstance(value, dtypes.dtype):
        return IntType
    if isinstance(value, tuple):
        return TupleType([infer_type(v) for v in value])
    if isinstance(value, list):
        if not value:
            raise InferenceError("List trace inputs must have elements")
        elem = infer_type(value[0])
        for v in value[1:]:
            merged = unify(elem, infer_type(v))
            if merged is None:
                raise InferenceError("List inputs to traced functions must have consistent "
                                     "element type")
            elem = merged
        return ListType(elem)
    if isinstance(value, dict):
        if not value:
            raise InferenceError("Dictionary inputs must have entries")
        key, item = next(iter(value.items()))
        return DictType(infer_type(key), infer_type(item))
    raise InferenceError(f"Cannot infer type of {type(value).__name__}")
