"""``minijit.jit.script``: compile Python functions and modules into IR, control flow kept.

The pipeline for one function (TorchScript's ``CompilationUnit::define`` + ``to_ir``):

1. :func:`~.source.parse_def`: ``inspect.getsourcelines`` + ``ast.parse``;
2. :class:`~.tree.TreeRanges`: reject unsupported syntax, compute source ranges;
3. :func:`parse_schema`: argument types from annotations (unannotated means Tensor), defaults
   from the Python function, the declared return type;
4. :class:`~.emitter.FunctionEmitter`: AST → IR with Loads/Stores;
5. :func:`~.ssa.convert_to_ssa` and :func:`~.cleanup.run_cleanup_passes`.

Modules are scripted recursively (:func:`create_script_module`, PyTorch's
``torch/jit/_recursive.py``): submodules first, then the module's class type (parameters,
buffers, submodules, attributes with inferred types, ``__constants__``/``Final`` constants),
then ``forward`` and ``@minijit.jit.export`` methods; methods they call are compiled when
first called.  Modules that are already scripted or traced are used as they are.
"""
from __future__ import annotations

import ast
import inspect
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..ir.graph import Graph, Value
from ..ir.types import IRType, TensorType
from ..naming import qualified_function_name
from .annotations import type_from_ast
from .cleanup import run_cleanup_passes
from .emitter import FunctionEmitter
from .errors import Span, compile_call, error
from .modifiers import is_ignored
from .resolver import Resolver
from .schema_match import INFERRED_TENSOR, FnArg, FnSchema
from .source import ParsedDef, parse_def, parse_source
from .ssa import convert_to_ssa
from .sugar import FunctionValue, PythonFunctionValue, SugaredValue
from .tree import TreeRanges

__all__ = ["script", "script_function", "compile_def", "parse_schema",
           "compile_builtin_source", "function_value_for", "python_function_value"]


# ---- signatures ---------------------------------------------------------------------------------
def schema_text(name: str, schema: FnSchema) -> str:
    """``helper(Tensor x, int n=1) -> Tensor`` for error messages."""
    from ..ir.constants import code_constant
    parts = []
    for a in schema.arguments:
        text = f"{a.type} {a.name}"
        if a.has_default:
            text += "=" + code_constant(a.default, a.type, lambda v: "<constant>")
        parts.append(text)
    returns = ", ".join(str(r) for r in schema.returns)
    return f"{name}({', '.join(parts)}) -> {returns or '()'}"


def parse_schema(parsed: ParsedDef, ranges: TreeRanges, fn: Any, is_method: bool,
                 self_type: Optional[IRType] = None) -> FnSchema:
    """The signature of a ``def``: types are parsed from annotations, never evaluated."""
    fdef = parsed.fdef
    params = list(fdef.args.posonlyargs) + list(fdef.args.args)
    kwonly = list(fdef.args.kwonlyargs)
    defaults: Dict[str, Any] = {}
    if fn is not None:
        try:
            signature = inspect.signature(fn)
            defaults = {k: p.default for k, p in signature.parameters.items()
                        if p.default is not inspect.Parameter.empty}
        except (TypeError, ValueError):
            defaults = {}
    args: List[FnArg] = []
    if is_method:
        params = params[1:]
        args.append(FnArg("self", self_type))                   # type: ignore[arg-type]
    for i, arg in enumerate(params + kwonly):
        if arg.annotation is not None:
            type_ = type_from_ast(arg.annotation, ranges.of)
        else:
            type_ = INFERRED_TENSOR
        fa = FnArg(arg.arg, type_, kwarg_only=i >= len(params))
        if arg.arg in defaults:
            fa.default = defaults[arg.arg]
        args.append(fa)
    returns: List[IRType] = []
    if fdef.returns is not None:
        returns = [type_from_ast(fdef.returns, ranges.of)]
    return FnSchema(fdef.name, args, returns, fdef.name)


# ---- compiling one def -------------------------------------------------------------------------
def compile_def(parsed: ParsedDef, resolver: Resolver, schema: FnSchema, call_name: str,
                self_type: Optional[IRType] = None,
                self_sugar: Optional[Callable[[Value], SugaredValue]] = None,
                ranges: Optional[TreeRanges] = None) -> Tuple[Graph, IRType]:
    """Emit, convert to SSA and clean up one function; returns (graph, return type)."""
    ranges = ranges or _checked_ranges(parsed)
    body_schema = FnSchema(schema.name, [a for a in schema.arguments if a.name != "self" or
                                         self_type is None], schema.returns, schema.text)
    with compile_call(call_name, ranges.of(parsed.fdef)):
        emitter = FunctionEmitter(parsed, ranges, resolver, body_schema, self_type, self_sugar)
        graph = emitter.emit_def()
        convert_to_ssa(graph)
        run_cleanup_passes(graph)
    return graph, emitter.merged_return                            # type: ignore[return-value]


def _checked_ranges(parsed: ParsedDef) -> TreeRanges:
    ranges = TreeRanges(parsed.ctx)
    ranges.check_def(parsed.fdef)
    return ranges


def compile_builtin_source(source: str, name: str) -> Tuple[FnSchema, Graph]:
    """Compile one of TorchScript's builtin functions (``<string>`` source)."""
    import minijit
    module = ast.parse(source)
    fdef = next(n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == name)
    parsed = parse_source(source, "<string>", name)
    parsed = ParsedDef(fdef, parsed.ctx, "<string>", 1)
    ranges = _checked_ranges(parsed)
    schema = parse_schema(parsed, ranges, None, False)
    resolver = Resolver({"torch": minijit})
    graph, ret = compile_def(parsed, resolver, schema, name, ranges=ranges)
    schema.returns = [ret]
    schema.text = schema_text(name, schema)          # ``add(float a, Tensor b) -> Tensor``
    return schema, graph


# ---- functions -------------------------------------------------------------------------------------
_FUNCTIONS: Dict[Any, Any] = {}
_IN_PROGRESS: set = set()


def script_function(fn: Any, name: Optional[str] = None) -> Any:
    """Compile a Python function into a :class:`~minijit.jit.modules.ScriptFunction`."""
    from ..modules import ScriptFunction, unique_function_name
    fn = inspect.unwrap(fn)
    found = _FUNCTIONS.get(fn)
    if found is not None:
        return found
    if fn in _IN_PROGRESS:
        raise RuntimeError(f"function '{fn.__qualname__}' is called recursively. Recursive calls "
                           "are not supported")
    parsed = parse_def(fn, name)
    ranges = _checked_ranges(parsed)
    schema = parse_schema(parsed, ranges, fn, False)
    # Named before its body is compiled, as TorchScript does: a callee that needs mangling
    # takes the next number after its caller's.
    qualified_name = unique_function_name(qualified_function_name(fn), fn)
    _IN_PROGRESS.add(fn)
    try:
        graph, ret = compile_def(parsed, Resolver.for_function(fn), schema, fn.__name__,
                                 ranges=ranges)
    finally:
        _IN_PROGRESS.discard(fn)
    schema.returns = [ret]
    compiled = ScriptFunction(name or fn.__name__, qualified_name, graph, fn_schema=schema)
    compiled.__wrapped__ = fn
    compiled.__doc__ = fn.__doc__
    _FUNCTIONS[fn] = compiled
    return compiled


def _python_schema(fn: Any, skip_self: bool) -> FnSchema:
    """The signature of a function left in Python (``@ignore``), from its annotations."""
    from .annotations import type_from_python
    signature = inspect.signature(fn)
    args = []
    for i, (name, p) in enumerate(signature.parameters.items()):
        if skip_self and i == 0:
            continue
        t = type_from_python(p.annotation) if p.annotation is not inspect.Parameter.empty \
            else TensorType.get()
        fa = FnArg(name, t)
        if p.default is not inspect.Parameter.empty:
            fa.default = p.default
        args.append(fa)
    ret = signature.return_annotation
    returns = [type_from_python(ret) if ret is not inspect.Signature.empty else TensorType.get()]
    return FnSchema(fn.__name__, args, returns, fn.__name__)


def python_function_value(fn: Any, bound_self: Optional[Value] = None) -> SugaredValue:
    """An ``@ignore``d function or method: called back into Python at run time."""
    return PythonFunctionValue(fn, _python_schema(fn, bound_self is not None), bound_self)


def function_value_for(fn: Any, span: Optional[Span], m: Any) -> SugaredValue:
    """The sugared value of a Python function referenced from scripted code."""
    if inspect.ismethod(fn):
        raise error(span, f"bound method {fn.__qualname__} cannot be called from scripted code "
                          "(call it on a module attribute instead)")
    if is_ignored(fn):
        return python_function_value(fn)
    return FunctionValue(script_function(fn))


# ---- the entry point -------------------------------------------------------------------------------
def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    """Compile ``obj`` (a function or an ``nn.Module``) into TorchScript IR.

    Example:
        >>> import minijit
        >>> def f(x, n: int):
        ...     for i in range(n):
        ...         x = x * 2
        ...     return x
        >>> print(script(f).code, end="")   # doctest: +SKIP
    """
    from ...nn.module import Module
    from ..modules import ScriptFunction, ScriptModule
    if isinstance(obj, (ScriptModule, ScriptFunction)):
        return obj
    if isinstance(obj, Module):
        from .module_script import create_script_module
        return create_script_module(obj)
    if isinstance(obj, type):
        raise NotImplementedError("minijit.jit.script does not compile classes; script a "
                                  "function or an nn.Module instance")
    if callable(obj):
        return script_function(obj)
    raise RuntimeError(f"Type '{type(obj).__name__}' cannot be compiled since it is not a "
                       "function or an nn.Module")
