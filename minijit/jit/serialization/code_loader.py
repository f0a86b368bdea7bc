"""Reading an archive's ``code/``: class files → :class:`ClassType` s with compiled methods.

Class source is found by qualified name, as PyTorch's ``SourceImporter`` does: the class
``__torch__.a.b.C`` lives in ``code/__torch__/a/b.py`` (``__torch__.C`` in
``code/__torch__.py``), files are read and parsed the first time one of their classes is
needed, and a class's attribute types may name other classes, which are then loaded too.

Parsing uses :mod:`ast` on the text (nothing is evaluated or imported).  A class body may only
hold what the archive writer prints (reference §3.6):

=========================================  ====================================================
``__parameters__ = ["w", ]``               which attributes are parameters
``__buffers__ = ["b", ]``                  which are buffers
``name : Type``                            an attribute slot
``__annotations__["0"] = Type``            a slot whose name is not an identifier
``name : Final[T] = value``                a constant (``__constants__``)
``def m(self: __torch__.C, ...) -> T:``    a method
=========================================  ====================================================

Method bodies are compiled into IR graphs by the scripter's frontend
(:class:`~.script_bridge.ScripterCompiler` supplies the names archive code uses); the result is
IR, run by the interpreter like any other: there is no second execution path (DESIGN §1).
"""
from __future__ import annotations

import ast
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..ir.graph import Graph
from ..ir.types import (AnyType, BoolType, ClassType, DeviceType, DictType, FloatType, IntType,
                        IRType, ListType, NoneType, NumberType, OptionalType, StringType,
                        TensorType, TupleType, UnionType)
from .archive import ArchiveReader
from .errors import SerializationError
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["CodeLoader", "ClassDecl", "MethodDecl", "FunctionDecl", "parse_annotation",
           "qualifier_path"]

_SIMPLE_TYPES: Dict[str, IRType] = {
    "Tensor": TensorType.get(), "int": IntType, "float": FloatType, "bool": BoolType,
    "str": StringType, "NoneType": NoneType, "Device": DeviceType, "Any": AnyType,
    "number": NumberType, "Scalar": NumberType}


def qualifier_path(qualifier: str) -> str:
    """``__torch__.a.b`` → ``code/__torch__/a/b.py``."""
    return "code/" + qualifier.replace(".", "/") + ".py"


def _dotted(node: ast.expr) -> Optional[str]:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def parse_annotation(node: ast.expr, resolve_class: Callable[[str], ClassType],
                     fail: Callable[[ast.AST, str], Exception], depth: int = 0) -> IRType:
    """The IR type an annotation of a class file denotes (``Optional[List[__torch__.A]]``).

    Args:
        node: the annotation expression.
        resolve_class: loads a ``__torch__`` class by qualified name.
        fail: makes the error to raise for a node.
    """
    if depth > 64:
        raise fail(node, "type annotation nested too deeply")
    if isinstance(node, ast.Constant) and node.value is None:
        return NoneType
    if isinstance(node, ast.Name) and node.id in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[node.id]
    dotted = _dotted(node)
    if dotted is not None and dotted.startswith("__torch__."):
        return resolve_class(dotted)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        generic = node.value.id
        inner = node.slice
        args = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
        types = [parse_annotation(a, resolve_class, fail, depth + 1) for a in args] \
            if not (generic == "Tuple" and isinstance(inner, ast.Tuple) and not inner.elts) \
            else []
        if generic == "List" and len(types) == 1:
            return ListType(types[0])
        if generic == "Optional" and len(types) == 1:
            return OptionalType(types[0])
        if generic == "Tuple":
            return TupleType(types)
        if generic == "Dict" and len(types) == 2:
            return DictType(types[0], types[1])
        if generic == "Union" and types:
            return UnionType.create(types)
        if generic == "Final" and len(types) == 1:
            return types[0]
        raise fail(node, f"type {generic}[...] is not supported by minijit")
    raise fail(node, f"unknown type annotation '{ast.unparse(node)}'")


class MethodDecl:
    """A ``def`` of a class file: its AST, the file it came from and its parsed signature."""

    def __init__(self, fdef: ast.FunctionDef, path: str, source: str):
        self.fdef = fdef
        self.path = path
        self.source = source
        self.name = fdef.name
        self.arg_names: List[str] = [a.arg for a in fdef.args.args]
        self.arg_types: List[IRType] = []
        self.defaults: Dict[str, Any] = {}
        self.return_type: Optional[IRType] = None


FunctionDecl = MethodDecl


class ClassDecl:
    """What a class file says about one class, and the :class:`ClassType` made from it."""

    def __init__(self, qualified_name: str, path: str, node: ast.ClassDef):
        self.qualified_name = qualified_name
        self.path = path
        self.node = node
        self.is_module = any(isinstance(b, ast.Name) and b.id == "Module" for b in node.bases)
        self.ctype = ClassType(qualified_name, is_module=self.is_module)
        self.methods: Dict[str, MethodDecl] = {}
        self.script_methods: Optional[Dict[str, Any]] = None


class CodeLoader:
    """Loads classes from the ``code/`` folder of one archive on demand.

    Args:
        reader: the archive.
        constants: the CONSTANTS table (``constants.pkl``), for ``CONSTANTS.cN``.
        compiler: turns a :class:`MethodDecl` into a Graph (default: the scripter, through
            :class:`~.script_bridge.ScripterCompiler`).
        limits: caps on code file sizes.
    """

    def __init__(self, reader: ArchiveReader, constants: Tuple[Any, ...] = (),
                 compiler: Any = None, limits: Limits = DEFAULT_LIMITS, version: int = 3):
        self.reader = reader
        self.constants = constants
        self.limits = limits
        self.version = version
        self._files: Dict[str, Dict[str, Any]] = {}
        self._classes: Dict[str, ClassDecl] = {}
        self._functions: Dict[str, MethodDecl] = {}
        self._loading: List[str] = []
        if compiler is None:
            from .script_bridge import ScripterCompiler
            compiler = ScripterCompiler(self)
        self.compiler = compiler

    # -- files ---------------------------------------------------------------------------------
    def _file(self, qualifier: str, wanted: str) -> Dict[str, Any]:
        path = qualifier_path(qualifier)
        parsed = self._files.get(path)
        if parsed is not None:
            return parsed
        if not self.reader.has(path):
            raise SerializationError(path, f"the archive has no code for {wanted}")
        source = self.reader.read_text(path, self.limits.max_code_bytes)
        try:
            module = ast.parse(source, filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            line = getattr(exc, "lineno", None)
            raise SerializationError(path, f"not valid TorchScript source"
                                     f"{f' (line {line})' if line else ''}: "
                                     f"{getattr(exc, 'msg', exc)}") from None
        entries: Dict[str, Any] = {}
        for node in module.body:
            if getattr(node, "name", None) in entries:
                raise self.error(path, node, f"'{node.name}' is defined twice")  # type: ignore
            if isinstance(node, ast.ClassDef):
                if node.decorator_list or node.keywords or \
                        any(not isinstance(b, ast.Name) or b.id not in ("Module", "Enum",
                                                                         "Interface")
                            for b in node.bases):
                    raise self.error(path, node, f"class {node.name}: unsupported base classes "
                                     "or decorators")
                entries[node.name] = ("class", node, source)
            elif isinstance(node, ast.FunctionDef):
                if node.decorator_list:
                    raise self.error(path, node, f"function {node.name}: decorators are not "
                                     "supported")
                entries[node.name] = ("def", node, source)
            else:
                raise self.error(path, node, f"unexpected top-level statement "
                                 f"'{type(node).__name__}' (only classes and functions)")
        self._files[path] = entries
        return entries

    @staticmethod
    def error(path: str, node: Optional[ast.AST], message: str) -> SerializationError:
        line = getattr(node, "lineno", None)
        return SerializationError(path, f"line {line}: {message}" if line else message)

    # -- classes -------------------------------------------------------------------------------
    def class_type(self, qualified_name: str) -> ClassType:
        return self.class_decl(qualified_name).ctype

    def class_decl(self, qualified_name: str) -> ClassDecl:
        """The declaration of ``__torch__....C`` (parsing its file on first use)."""
        decl = self._classes.get(qualified_name)
        if decl is not None:
            return decl
        qualifier, _, name = qualified_name.rpartition(".")
        if not qualifier.startswith("__torch__") or not name.isidentifier():
            raise SerializationError(qualifier_path(qualifier or "__torch__"),
                                     f"bad class name {qualified_name!r}")
        entry = self._file(qualifier, qualified_name).get(name)
        path = qualifier_path(qualifier)
        if entry is None or entry[0] != "class":
            raise SerializationError(path, f"class {name} is not defined in this file "
                                     f"(needed for {qualified_name})")
        if len(self._classes) > self.limits.max_members:
            raise SerializationError(path, "too many classes")
        decl = ClassDecl(qualified_name, path, entry[1])
        self._classes[qualified_name] = decl      # before the body: classes may refer to
        self._declare_body(decl, entry[2])        # each other (and to themselves)
        return decl

    def _type(self, path: str, node: ast.expr) -> IRType:
        return parse_annotation(node, self.class_type,
                                lambda n, msg: self.error(path, n, msg))

    def _declare_body(self, decl: ClassDecl, source: str) -> None:
        ctype, path = decl.ctype, decl.path
        params: List[str] = []
        buffers: List[str] = []
        for stmt in decl.node.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
                if isinstance(target, ast.Name) and target.id in ("__parameters__",
                                                                   "__buffers__"):
                    names = self._string_list(path, stmt.value)
                    (params if target.id == "__parameters__" else buffers).extend(names)
                    continue
                if isinstance(target, ast.Name) and target.id == "__annotations__":
                    continue
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                        and target.value.id == "__annotations__" and \
                        isinstance(target.slice, ast.Constant) and \
                        isinstance(target.slice.value, str):
                    self._add_attribute(decl, target.slice.value, self._type(path, stmt.value),
                                        stmt)
                    continue
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                name = stmt.target.id
                ann = stmt.annotation
                is_final = isinstance(ann, ast.Subscript) and isinstance(ann.value, ast.Name) \
                    and ann.value.id == "Final"
                if stmt.value is None and not is_final:
                    self._add_attribute(decl, name, self._type(path, ann), stmt)
                    continue
                if stmt.value is not None and is_final:
                    t = self._type(path, ann)
                    ctype.constants[name] = self._literal(path, stmt.value, t)
                    continue
            elif isinstance(stmt, ast.FunctionDef):
                if stmt.name in decl.methods:
                    raise self.error(path, stmt, f"method {stmt.name} is defined twice")
                if stmt.decorator_list:
                    raise self.error(path, stmt, f"method {stmt.name}: decorators are not "
                                     "supported")
                decl.methods[stmt.name] = MethodDecl(stmt, path, source)
                continue
            elif isinstance(stmt, ast.Pass):
                continue
            raise self.error(path, stmt, f"class {decl.node.name}: unsupported statement in a "
                             f"class body: {ast.unparse(stmt)[:80]!r}")
        for name in params + buffers:
            if name not in ctype.attributes:
                raise self.error(path, decl.node, f"class {decl.node.name}: '{name}' is listed "
                                 "as a parameter or buffer but has no attribute slot")
        ctype.parameters.extend(params)
        ctype.buffers.extend(buffers)
        for method in decl.methods.values():
            self._signature(method)
        declare = getattr(self.compiler, "declare_class", None)
        if declare is not None:
            declare(decl)

    def _add_attribute(self, decl: ClassDecl, name: str, t: IRType, stmt: ast.AST) -> None:
        if name in decl.ctype.attributes:
            raise self.error(decl.path, stmt, f"attribute '{name}' declared twice")
        decl.ctype.add_attribute(name, t)

    def _string_list(self, path: str, node: ast.expr) -> List[str]:
        if not isinstance(node, ast.List) or not all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            raise self.error(path, node, "__parameters__/__buffers__ must be a list of strings")
        return [e.value for e in node.elts]                       # type: ignore[attr-defined]

    def _literal(self, path: str, node: ast.expr, t: IRType) -> Any:
        """A constant's value from its literal (numbers, strings, None, tuples, lists)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool,
                                                                      type(None))):
            value = node.value
            if t.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            return value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            value = self._literal(path, node.operand, t)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value
        if isinstance(node, ast.Name) and node.id in ("inf", "nan"):
            return float(node.id)
        if isinstance(node, (ast.Tuple, ast.List)):
            elems = getattr(t, "elems", None) or [getattr(t, "elem", AnyType)] * len(node.elts)
            items = [self._literal(path, e, et) for e, et in zip(node.elts, elems)]
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.Call) and _dotted(node.func) == "torch.device" and \
                len(node.args) == 1 and isinstance(node.args[0], ast.Constant):
            from ...backends import device
            return device(node.args[0].value)
        raise self.error(path, node, f"unsupported constant {ast.unparse(node)[:60]!r}")

    def _signature(self, method: MethodDecl) -> None:
        fdef, path = method.fdef, method.path
        args = fdef.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
            raise self.error(path, fdef, f"def {fdef.name}: *args, **kwargs and keyword-only "
                             "arguments are not supported")
        for a in args.args:
            if a.annotation is None:
                raise self.error(path, a, f"def {fdef.name}: argument '{a.arg}' has no type")
            method.arg_types.append(self._type(path, a.annotation))
        for a, d in zip(args.args[len(args.args) - len(args.defaults):], args.defaults):
            method.defaults[a.arg] = self._literal(path, d, method.arg_types[
                method.arg_names.index(a.arg)])
        if fdef.returns is None:
            raise self.error(path, fdef, f"def {fdef.name}: no return type")
        method.return_type = self._type(path, fdef.returns)

    # -- free functions ------------------------------------------------------------------------
    def function_decl(self, qualified_name: str) -> MethodDecl:
        decl = self._functions.get(qualified_name)
        if decl is not None:
            return decl
        qualifier, _, name = qualified_name.rpartition(".")
        entry = self._file(qualifier, qualified_name).get(name)
        path = qualifier_path(qualifier)
        if entry is None or entry[0] != "def":
            raise SerializationError(path, f"function {name} is not defined in this file")
        decl = MethodDecl(entry[1], path, entry[2])
        self._functions[qualified_name] = decl
        self._signature(decl)
        return decl

    # -- compiling -----------------------------------------------------------------------------
    def script_methods(self, decl: ClassDecl) -> Dict[str, Any]:
        """The class's methods as ``ScriptMethod`` s, compiled once per class.

        Each keeps the signature its ``def`` line declared (argument names, defaults, return
        type), so ``.code`` and a second save print the same ``def`` line.
        """
        if decl.script_methods is None:
            from ..modules import ConstantTable, ScriptMethod
            table = ConstantTable()
            methods: Dict[str, Any] = {}
            for name, method in decl.methods.items():
                graph = self.compiler.compile_method(decl, method)
                self._check_upgraders(method.path, graph)
                schema = self.compiler.method_schema(decl, method)
                methods[name] = ScriptMethod(decl.ctype, name, graph, table, fn_schema=schema)
            decl.script_methods = methods
        return decl.script_methods

    def _check_upgraders(self, path: str, graph: Graph) -> None:
        """Refuse ops whose meaning changed after the archive's format version.

        PyTorch rewrites them with "upgraders" (``aten::div`` on integers truncated before
        version 4); minijit has none, so computing them the new way would be silently wrong.
        """
        from ...ops.registry import archive_version_for_kind
        for node in graph.all_nodes():
            needed = archive_version_for_kind(node.kind)
            if self.version < needed:
                raise SerializationError(path, f"{node.kind} in an archive of version "
                                         f"{self.version} needs an operator upgrader (its "
                                         f"meaning changed in version {needed}); minijit has "
                                         "none")
