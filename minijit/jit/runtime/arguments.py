"""Calling compiled code from Python: bind the arguments, check their types.

A scripted function has a declared signature (``f(Tensor x, int n=2) -> Tensor``); a Python
call ``f(t, n=3)`` is matched against it the way TorchScript's pybind layer does
(``torch/csrc/jit/python/pybind_utils.h``): positionals, then keywords, then defaults, and each
value must be convertible to its declared type, else a ``RuntimeError`` with PyTorch's text:

    f() Expected a value of type 'int' for argument 'n' but instead found type 'float'.
    Position: 1
    Value: 2.5
    Declaration: f(Tensor x, int n=2) -> Tensor
    Cast error details: Unable to cast Python instance of type <class 'float'> to C++ type '?' ...

Note [Python values that convert]: the conversion is looser than ``isinstance``: an ``int``
(or a ``bool``) is a fine ``float``, a ``bool`` a fine ``int``, a tuple a fine ``List``, and a
0-dim tensor converts to ``int``/``float``.  The checker accepts exactly what pybind accepts
for the types scripted code declares; anything it does not know it lets through.
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from ..._tensor import Tensor as _Tensor

__all__ = ["bind_arguments", "check_argument_types", "schema_string"]


def schema_string(name: str, schema: Any, offset: int = 0) -> str:
    """``f(Tensor x, int n=2) -> Tensor``, TorchScript's ``str(fn.schema)``."""
    from ..ir.constants import code_constant
    parts = []
    for a in schema.arguments:
        text = f"{a.type} {a.name}"
        if a.has_default:
            text += "=" + code_constant(a.default, a.type, lambda v: "<Tensor>")
        parts.append(text)
    ret = schema.returns[0] if schema.returns else None
    if ret is not None and ret.kind == "Tuple":
        return f"{name}({', '.join(parts)}) -> ({ret})"
    return f"{name}({', '.join(parts)}) -> {ret}"


def _formals(schema: Any, offset: int) -> list:
    formals = list(schema.arguments)[offset:]
    if offset and formals and formals[0].name == "self":
        formals = formals[1:]
    return formals


def bind_arguments(name: str, schema: Any, args: Sequence[Any], kwargs: Dict[str, Any],
                   offset: int) -> List[Any]:
    """Python-call binding against a script signature: positionals, keywords, defaults."""
    formals = _formals(schema, offset)
    if len(args) > len(formals):
        raise RuntimeError(f"{name}() expected at most {len(formals)} argument(s) but received "
                           f"{len(args)} argument(s). Declaration: "
                           f"{schema_string(name, schema, offset)}")
    bound = list(args)
    kwargs = dict(kwargs)
    for formal in formals[len(args):]:
        if formal.name in kwargs:
            bound.append(kwargs.pop(formal.name))
        elif formal.has_default:
            bound.append(formal.default)
        else:
            raise RuntimeError(f"{name}() is missing value for argument '{formal.name}'. "
                               f"Declaration: {schema_string(name, schema, offset)}")
    if kwargs:
        raise RuntimeError(f"{name}() got an unexpected keyword argument "
                           f"'{next(iter(kwargs))}'")
    return bound


# ---- type checks ----------------------------------------------------------------------------------
def _is_tensor(value: Any) -> bool:
    from ..._tensor import Tensor
    return isinstance(value, Tensor)


def _converts(value: Any, type_: Any) -> bool:
    """Whether pybind would convert ``value`` to ``type_`` (Note [Python values that convert])."""
    kind = type_.kind
    if kind == "Tensor":
        return _is_tensor(value)
    if kind == "int":
        return isinstance(value, int) or (_is_tensor(value) and value.dim() == 0)
    if kind == "float":
        return isinstance(value, (int, float)) or (_is_tensor(value) and value.dim() == 0)
    if kind == "bool":
        return isinstance(value, bool) or (_is_tensor(value) and value.dim() == 0)
    if kind == "str":
        return isinstance(value, str)
    if kind == "Optional":
        return value is None or _converts(value, type_.elem)
    if kind == "List":
        return isinstance(value, (list, tuple)) and all(_converts(v, type_.elem) for v in value)
    if kind == "Tuple":
        elems = type_.elems
        return isinstance(value, tuple) and len(value) == len(elems) and \
            all(_converts(v, t) for v, t in zip(value, elems))
    if kind == "Dict":
        return isinstance(value, dict) and all(
            _converts(k, type_.key) and _converts(v, type_.value) for k, v in value.items())
    return True


def _python_type_name(value: Any) -> str:
    if _is_tensor(value):
        return "Tensor"
    return type(value).__name__


def _convert(value: Any, type_: Any) -> Any:
    """The value pybind hands the interpreter: ``True`` for an ``int`` is ``1``, ``2`` for a
    ``float`` is ``2.0``, a 0-dim tensor for an ``int`` is its item, a tuple for a list a list."""
    kind = type_.kind
    if kind in ("int", "float", "bool"):
        if _is_tensor(value):
            value = value.item()
        return {"int": int, "float": float, "bool": bool}[kind](value)
    if kind == "Optional":
        return None if value is None else _convert(value, type_.elem)
    if kind == "List":
        return [_convert(v, type_.elem) for v in value]
    return value


_ALL_TENSOR_FORMALS: Dict[Tuple[int, int], Tuple[Any, bool]] = {}


def check_argument_types(name: str, schema: Any, args: Sequence[Any], offset: int) -> Sequence[Any]:
    """Return ``args`` converted to their declared types, or raise PyTorch's ``Expected a
    value of type ...`` error for the first one that does not convert."""
    from ..frontend.schema_match import INFERRED_TENSOR
    key = (id(schema), offset)
    all_tensors = _ALL_TENSOR_FORMALS.get(key)
    if all_tensors is None:
        all_tensors = _ALL_TENSOR_FORMALS[key] = (
            schema, all(f.type.kind == "Tensor" for f in _formals(schema, offset)))
    if all_tensors[1] and all_tensors[0] is schema:
        # The common call, tensors for tensors: nothing to convert (checked per value).
        for value in args:
            if not isinstance(value, _Tensor):
                break
        else:
            return args
    converted = None
    for position, (formal, value) in enumerate(zip(_formals(schema, offset), args)):
        if _converts(value, formal.type):
            if formal.type.kind != "Tensor":
                new = _convert(value, formal.type)
                if new is not value and (type(new) is not type(value) or new != value):
                    converted = converted or list(args)
                    converted[position] = new
            continue
        inferred = formal.type is INFERRED_TENSOR
        type_text = "Tensor (inferred)" if inferred else formal.type.annotation_str()
        lines = [f"{name}() Expected a value of type '{type_text}' for argument "
                 f"'{formal.name}' but instead found type '{_python_type_name(value)}'."]
        if inferred:
            lines.append(f"Inferred '{formal.name}' to be of type 'Tensor' because it was not "
                         "annotated with an explicit type.")
        lines += [f"Position: {position}", f"Value: {value!r}",
                  f"Declaration: {schema_string(name, schema, offset)}"]
        if formal.type.kind == "Tensor":
            lines.append(f"Cast error details: Unable to cast {value!r} to Tensor")
        else:
            lines.append(f"Cast error details: Unable to cast Python instance of type "
                         f"{type(value)!r} to C++ type '?' (#define "
                         "PYBIND11_DETAILED_ERROR_MESSAGES or compile in debug mode for details)")
        raise RuntimeError("\n".join(lines))
    return args if converted is None else converted
