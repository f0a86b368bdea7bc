"""TorchScript's builtin functions: small operators defined in TorchScript itself.

Some operator overloads are not kernels but script functions that PyTorch compiles from the
source below and inlines at the call site (``torch/csrc/jit/frontend/builtin_functions.cpp``):
``1 + x`` has no ``aten::add(Scalar, Tensor)`` kernel, so it matches the builtin function
``add(a: int, b: Tensor)``, whose body ``b + a`` is inlined.  The inlined nodes keep their
source ranges in this text, which is why such nodes print ``# <string>:5:9``.  The texts are
kept exactly as PyTorch's (line numbers matter) and compiled lazily by minijit's own scripter.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ..ir.graph import Value
from .schema_match import FnSchema, MatchedSchema

__all__ = ["builtin_function_schemas", "inline_builtin_function"]

_SCALAR_OPERATORS = """
def mul(a : ${Scalar}, b : Tensor) -> Tensor:
  return b * a
def add(a : ${Scalar}, b : Tensor) -> Tensor:
  return b + a
def ne(a : ${Scalar}, b : Tensor) -> Tensor:
  return b != a
def eq(a : ${Scalar}, b : Tensor) -> Tensor:
  return b == a
def sub(a : ${Scalar}, b : Tensor) -> Tensor:
  return torch.neg(b) + a
def div(a : ${Scalar}, b : Tensor) -> Tensor:
  return torch.reciprocal(b) * a
"""

_TENSOR_PROPERTIES = """
def ndim(a : Tensor) -> int:
  return a.dim()
def T(a : Tensor):
  return a.numpy_T()
def H(a : Tensor):
  return a.matrix_H()
def mT(a : Tensor):
  return a.mT
def mH(a : Tensor):
  return a.mH
def shape(a : Tensor) -> List[int]:
  return a.size()
"""

# (source, namespace): PyTorch loads the scalar operators for float, then int.
_SOURCES: List[Tuple[str, str]] = [
    (_SCALAR_OPERATORS.replace("${Scalar}", "float"), "aten"),
    (_SCALAR_OPERATORS.replace("${Scalar}", "int"), "aten"),
    (_TENSOR_PROPERTIES, "prim"),
]


class _BuiltinFunction:
    """One compiled builtin: its schema and graph."""

    def __init__(self, schema: FnSchema, graph: Any):
        self.schema = schema
        self.graph = graph


_INDEX: Optional[Dict[str, List[Tuple[str, str]]]] = None
_COMPILED: Dict[Tuple[int, str], _BuiltinFunction] = {}
_IN_PROGRESS: set = set()   # a builtin's own body (``b + a`` in ``add``) must not match itself


def _index() -> Dict[str, List[Tuple[str, str]]]:
    """kind → [(source, function name)], without compiling anything."""
    global _INDEX
    if _INDEX is None:
        import ast
        _INDEX = {}
        for source, namespace in _SOURCES:
            for node in ast.parse(source).body:
                if isinstance(node, ast.FunctionDef):
                    _INDEX.setdefault(f"{namespace}::{node.name}", []).append(
                        (source, node.name))
    return _INDEX


def _compile(source: str, name: str) -> _BuiltinFunction:
    key = (id(source), name)
    found = _COMPILED.get(key)
    if found is None:
        from .script import compile_builtin_source
        _IN_PROGRESS.add(key)
        try:
            schema, graph = compile_builtin_source(source, name)
        finally:
            _IN_PROGRESS.discard(key)
        found = _COMPILED[key] = _BuiltinFunction(schema, graph)
    return found


def builtin_function_schemas(kind: str) -> List[FnSchema]:
    """Schemas of the builtin functions of ``kind`` (compiled on first use)."""
    entries = _index().get(kind)
    if not entries:
        return []
    schemas = []
    for source, name in entries:
        if (id(source), name) in _IN_PROGRESS:
            continue
        try:
            fn = _compile(source, name)
        except Exception:  # noqa: BLE001 - e.g. ``T`` needs ops minijit lacks; skip it
            continue
        fn.schema.builtin = fn                                     # type: ignore[attr-defined]
        schemas.append(fn.schema)
    return schemas


def inline_builtin_function(m: Any, matched: MatchedSchema) -> Value:
    """Copy the builtin's graph into ``m``'s graph at the insertion point (``insertGraph``)."""
    callee = matched.schema.builtin.graph                          # type: ignore[attr-defined]
    graph = m.graph
    value_map: Dict[int, Value] = {id(p): a for p, a in zip(callee.inputs, matched.inputs)}
    for node in callee.nodes:
        clone = graph.create_clone(node, lambda v: value_map[id(v)])
        graph.insert_node(clone)
        for old, new in zip(node.outputs, clone.outputs):
            value_map[id(old)] = new
    return value_map[id(callee.outputs[0])]
