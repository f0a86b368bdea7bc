"""minijit's TorchScript IR: types, Graph/Block/Node/Value, lint, the graph printer and parser.

Read Note [IR invariants] in :mod:`.graph` first.  ``str(graph)`` prints TorchScript's
``.graph`` text and :func:`parse_ir` reads it back; the ``.code`` printer lives in
:mod:`minijit.jit.codegen.python_printer`.
"""
from .constants import TensorPlaceholder, format_float, quote_string
from .graph import Block, Graph, Node, SourceRange, Use, Value
from .lint import LintError
from .parser import IRParseError, parse_ir, parse_type
from .printer import print_graph, print_node
from .types import (
                    AnyType,
                    BoolType,
                    ClassType,
                    DeviceType,
                    DictType,
                    FloatType,
                    FunctionType,
                    IntType,
                    IRType,
                    ListType,
                    NoneType,
                    NumberType,
                    OptionalType,
                    StringType,
                    TensorType,
                    TupleType,
                    UnionType,
                    unify,
)

__all__ = ["Graph", "Block", "Node", "Value", "Use", "SourceRange", "LintError", "parse_ir",
           "parse_type", "IRParseError", "print_graph", "print_node", "TensorPlaceholder",
           "format_float", "quote_string", "IRType", "TensorType", "IntType", "FloatType",
           "BoolType", "StringType", "NoneType", "DeviceType", "NumberType", "AnyType",
           "FunctionType", "ListType", "TupleType", "OptionalType", "DictType", "UnionType",
           "ClassType", "unify"]
