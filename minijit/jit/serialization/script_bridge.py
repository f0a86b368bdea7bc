"""Compiling archive code with the scripter's frontend (PyTorch's ``SourceImporter``).

An archive's methods are TorchScript source printed by the ``.code`` printer, and loading
compiles them with the very frontend that compiles user code (``minijit.jit.frontend``):
``FunctionEmitter`` → ``convert_to_ssa`` → cleanup passes, via
:func:`~minijit.jit.frontend.script.compile_def`.  The printed dialect differs from user code
only in the names it uses, so all this module adds is a *resolver* for those names, as
PyTorch's importer does (``import_source.cpp``):

===========================  =================================================================
``torch.add(...)``           the operator ``aten::add`` (``torch`` is the aten namespace)
``ops.prim.X(...)``          the operator ``prim::X`` (any namespace under ``ops``)
``CONSTANTS.c0``             entry 0 of the archive's constant table (``constants.pkl``)
``__torch__.a.f(...)``       a free function of the archive, compiled on first use
``annotate``, ``unchecked_cast``   the scripter's special forms
``uninitialized(T)``         ``prim::Uninitialized`` of type ``T``
``inf``, ``nan``             float constants
===========================  =================================================================

``self`` and other module values are plain class-typed values: ``self.weight`` is a
``prim::GetAttr`` and ``(sub).forward(x, )`` a ``prim::CallMethod`` matched against the
callee's signature, which every class of the archive declares (from its ``def`` lines) before
any body is compiled.  Whatever the frontend raises becomes a
:class:`~.errors.SerializationError` naming the code file and line.
"""
from __future__ import annotations

import ast
import textwrap
from typing import Any, Dict, List, Optional

from ..ir.graph import Graph
from ..ir.types import IRType
from .errors import SerializationError

__all__ = ["ScripterCompiler", "method_schema"]


def method_schema(method: Any, self_type: Optional[IRType]) -> Any:
    """The :class:`FnSchema` of a ``def`` of a class file (``self`` first for methods)."""
    from ..frontend.schema_match import FnArg, FnSchema
    args = []
    for i, (name, t) in enumerate(zip(method.arg_names, method.arg_types)):
        if i == 0 and self_type is not None:
            args.append(FnArg("self", self_type))
            continue
        arg = FnArg(name, t)
        if name in method.defaults:
            arg.default = method.defaults[name]
        args.append(arg)
    returns = [method.return_type] if method.return_type is not None else []
    return FnSchema(method.name, args, returns, method.name)


class _PendingMethod:
    """A declared method whose body is not compiled yet: callers only need its signature."""

    __slots__ = ("name", "fn_schema", "graph")

    def __init__(self, name: str, fn_schema: Any):
        self.name = name
        self.fn_schema = fn_schema
        self.graph = None


def _parsed_def(method: Any) -> Any:
    """A :class:`~minijit.jit.frontend.source.ParsedDef` for a ``def`` inside a class file.

    The frontend wants the function's own text (dedented) and where it sits in its file, so
    that errors and ``# file:line:col`` comments point at the class file.
    """
    from ..frontend.errors import Source
    from ..frontend.source import ParsedDef, SourceContext
    fdef = method.fdef
    lines = method.source.splitlines(keepends=True)[fdef.lineno - 1:fdef.end_lineno]
    text = "".join(lines)
    dedented = textwrap.dedent(text)
    module = ast.parse(dedented)
    leading = len(text.split("\n", 1)[0]) - len(dedented.split("\n", 1)[0])
    source = Source(text, method.path, fdef.lineno)
    ctx = SourceContext(source, dedented.split("\n"), leading, fdef.name)
    return ParsedDef(module.body[0], ctx, method.path, fdef.lineno)


def _sugar_classes() -> Dict[str, Any]:
    """Sugared values for the importer's names, built on the frontend's base classes."""
    from ..frontend.sugar import BuiltinFunction, FunctionValue, SimpleValue, SugaredValue

    class BuiltinNamespace(SugaredValue):
        """``torch`` / ``ops.<ns>``: every attribute is an operator ``<ns>::<name>``."""

        kind = "builtin module"

        def __init__(self, namespace: str):
            self.namespace = namespace

        def attr(self, span: Any, m: Any, field: str) -> Any:
            return BuiltinFunction(f"{self.namespace}::{field}")

    class OpsNamespace(SugaredValue):
        kind = "ops"

        def attr(self, span: Any, m: Any, field: str) -> Any:
            return BuiltinNamespace(field)

    class ConstantTable(SugaredValue):
        """``CONSTANTS``: ``CONSTANTS.c<i>`` is entry ``i`` of ``constants.pkl``."""

        kind = "constant table"

        def __init__(self, table: Any):
            self.table = table

        def attr(self, span: Any, m: Any, field: str) -> Any:
            from ..frontend.errors import error
            index = field[1:]
            if not (field.startswith("c") and index.isdigit()) or int(index) >= len(self.table):
                raise error(span, f"no constant {field} in the archive's CONSTANTS table "
                                  f"({len(self.table)} entries)")
            return SimpleValue(m.graph.insert_constant(self.table[int(index)]))

    class TorchNamespace(SugaredValue):
        """``__torch__.a.b``: a path of the archive's code; functions in it can be called."""

        kind = "module"

        def __init__(self, prefix: str, compiler: "ScripterCompiler"):
            self.prefix = prefix
            self.compiler = compiler

        def attr(self, span: Any, m: Any, field: str) -> Any:
            name = f"{self.prefix}.{field}"
            fn = self.compiler.function(name)
            if fn is not None:
                return FunctionValue(fn)
            return TorchNamespace(name, self.compiler)

    return {"BuiltinNamespace": BuiltinNamespace, "OpsNamespace": OpsNamespace,
            "ConstantTable": ConstantTable, "TorchNamespace": TorchNamespace}


class _ArchiveResolver:
    """Free names of archive code (see the module docstring); nothing is looked up in Python."""

    def __init__(self, compiler: "ScripterCompiler"):
        from ..frontend.sugar import SpecialForm
        sugar = compiler.sugar
        self._sugar = sugar
        self._names: Dict[str, Any] = {
            "torch": lambda: sugar["BuiltinNamespace"]("aten"),
            "ops": lambda: sugar["OpsNamespace"](),
            "CONSTANTS": lambda: sugar["ConstantTable"](compiler.loader.constants),
            "__torch__": lambda: sugar["TorchNamespace"]("__torch__", compiler),
            "annotate": lambda: SpecialForm("prim::annotate"),
            "unchecked_cast": lambda: SpecialForm("prim::unchecked_cast"),
            "uninitialized": lambda: SpecialForm("prim::Uninitialized"),
        }

    def resolve_value(self, name: str, span: Any, m: Any) -> Any:
        make = self._names.get(name)
        if make is not None:
            return make()
        if name in ("inf", "nan"):
            from ..frontend.sugar import SimpleValue
            return SimpleValue(m.insert_constant(float(name), span))
        return None

    def to_sugared(self, obj: Any, span: Any, m: Any, is_constant: bool = False) -> Any:
        from ..frontend.resolver import Resolver
        return Resolver().to_sugared(obj, span, m, is_constant)


class ScripterCompiler:
    """Compiles the methods and functions of one archive's code through the scripter.

    Args:
        loader: the :class:`~.code_loader.CodeLoader` of the archive.
    """

    def __init__(self, loader: Any):
        self.loader = loader
        self.sugar = _sugar_classes()
        self.resolver = _ArchiveResolver(self)
        self._functions: Dict[str, Any] = {}
        self._compiling: List[str] = []

    # -- declarations ------------------------------------------------------------------------
    def declare_class(self, decl: Any) -> None:
        """Give the class type a signature for every method, so calls type check before the
        bodies are compiled."""
        for name, method in decl.methods.items():
            decl.ctype.add_method(name, _PendingMethod(name, method_schema(method, decl.ctype)))

    # -- compiling ---------------------------------------------------------------------------
    def _compile(self, method: Any, qualified: str, schema: Any,
                 self_type: Optional[IRType]) -> Graph:
        from ..frontend.script import compile_def
        from ..frontend.sugar import SimpleValue
        if qualified in self._compiling:
            raise SerializationError(method.path, f"{qualified} calls itself (recursion is not "
                                     "supported)")
        self._compiling.append(qualified)
        try:
            parsed = _parsed_def(method)
            graph, _ = compile_def(parsed, self.resolver, schema, qualified.rpartition(".")[2],
                                   self_type=self_type,
                                   self_sugar=(lambda v: SimpleValue(v)) if self_type else None)
        except SerializationError:
            raise
        except Exception as exc:  # noqa: BLE001 - any frontend failure is a bad archive
            line = method.fdef.lineno
            text = str(exc).strip().splitlines()
            first = next((t for t in text if t.strip()), type(exc).__name__)
            raise SerializationError(method.path, f"line {line}: cannot compile {qualified}: "
                                     f"{first.strip()}") from exc
        finally:
            self._compiling.pop()
        return graph

    def compile_method(self, decl: Any, method: Any) -> Graph:
        schema = decl.ctype.get_method(method.name).fn_schema
        return self._compile(method, f"{decl.qualified_name}.{method.name}", schema,
                             decl.ctype)

    def method_schema(self, decl: Any, method: Any) -> Any:
        return decl.ctype.get_method(method.name).fn_schema

    def function(self, qualified: str) -> Any:
        """The ScriptFunction of a free function ``__torch__....f`` of the archive, or None
        when ``qualified`` names no function (it may be a package path)."""
        found = self._functions.get(qualified)
        if found is not None:
            return found
        try:
            decl = self.loader.function_decl(qualified)
        except SerializationError:
            return None
        from ..modules import ScriptFunction
        schema = method_schema(decl, None)
        graph = self._compile(decl, qualified, schema, None)
        fn = ScriptFunction(decl.name, qualified, graph, fn_schema=schema)
        self._functions[qualified] = fn
        return fn

