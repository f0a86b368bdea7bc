"""Script module objects: what ``trace`` and ``script`` return.

``ScriptFunction`` wraps one graph.  ``ScriptModule`` is an ``nn.Module`` whose methods are
graphs run by the interpreter; it shares its parameters and buffers with the module it was
made from (the same Parameter objects), so training either one trains both, as in PyTorch.
``TracedModule``/``TopLevelTracedModule`` print with the original class name; scripted and
loaded modules print as ``RecursiveScriptModule``.
"""
from __future__ import annotations

import weakref
from typing import Any, Dict, Optional, Sequence, Tuple

from ..nn.module import Module
from .ir.graph import Graph
from .ir.types import ClassType, TensorType
from .naming import qualified_class_name
from .runtime.arguments import bind_arguments, check_argument_types, schema_string
from ..autograd.grad_mode import GRAD_MODE
from .runtime.interpreter import Program, compile_graph, run_program

__all__ = ["ScriptFunction", "ScriptMethod", "ScriptModule", "RecursiveScriptModule",
           "TracedModule", "TopLevelTracedModule", "class_type_of"]


class ConstantTable(list):
    """A module's tensor constants, printed in ``.code`` as ``CONSTANTS.c0``."""


class ScriptFunction:
    """A compiled function: a graph plus the interpreter program made from it once.

    ``fn_schema`` (a :class:`~minijit.jit.frontend.schema_match.FnSchema`) is the signature
    callers match against: argument names, types and defaults, and the return type.  Traced
    functions have none until asked; it is then read off the graph.
    """

    def __init__(self, name: str, qualified_name: str, graph: Graph, fn_schema: Any = None):
        self.name = name
        self.qualified_name = qualified_name
        self._graph = graph
        self._program: Optional[Program] = None
        self._constants = ConstantTable()
        self._fn_schema = fn_schema

    _offset = 0          # graph inputs before the user's arguments (1 for methods: self)
    traced = False       # made by the tracer (set by ``trace`` and ``build_traced_module``)

    @property
    def fn_schema(self) -> Any:
        if self._fn_schema is None:
            self._fn_schema = _schema_from_graph(self.name, self._graph, self._offset)
        return self._fn_schema

    def _print_args(self) -> Dict[str, Any]:
        """``arg_names``/``defaults``/``return_type`` for the ``.code`` printer."""
        if self._fn_schema is None:
            return {}
        schema = self._fn_schema
        names = [a.name for a in schema.arguments]
        if self._offset and (not names or names[0] != "self"):
            names = ["self"] + names
        defaults = {a.name: a.default for a in schema.arguments if a.has_default}
        ret = schema.returns[0] if schema.returns else None
        return {"arg_names": names, "defaults": defaults,
                "return_type": None if ret is None else ret.unshaped()}

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def inlined_graph(self) -> Graph:
        from .passes.inline import inline_calls
        g = self._graph.copy()
        inline_calls(g)
        return g

    @property
    def code(self) -> str:
        from .codegen.python_printer import print_method
        return print_method(self._graph, name=self.name, is_method=False,
                            constants=self._constants, **self._print_args())

    @property
    def schema(self) -> str:
        return _schema_string(self.name, self.fn_schema, self._offset)

    @property
    def program(self) -> Program:
        if self._program is None:
            self._program = compile_graph(self._graph)
        return self._program

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or (self._fn_schema is not None and len(args) != len(self._graph.inputs)):
            args = _bind(self.name, self.fn_schema, args, kwargs, 0)
        _check_arity(self.name, self._graph, args, 0)
        if self._fn_schema is not None:
            args = check_argument_types(self.name, self._fn_schema, args, 0)
        if self.traced and GRAD_MODE.enabled:     # Note [Traced code and the executor]
            return run_program(self.program, args, self.name)
        return self.executor.run(tuple(args))

    @property
    def executor(self) -> Any:
        """The optimising executor (``runtime/executor.py``): one plan per input signature."""
        from .runtime.executor import GraphExecutor
        ex = self.__dict__.get("_executor")
        if ex is None or ex.graph is not self._graph:
            ex = self.__dict__["_executor"] = GraphExecutor(
                self._graph, name=self.name, differentiable_graphs=not self.traced)
        return ex

    def graph_for(self, *args: Any) -> Graph:
        """The optimised graph that calls with these arguments run."""
        return self.executor.graph_for(tuple(args))

    def __repr__(self) -> str:
        return f"<minijit.jit.ScriptFunction object at {hex(id(self))}>"


def _schema_from_graph(name: str, graph: Graph, offset: int) -> Any:
    """The signature of a traced graph: its inputs' names, unshaped types, one return."""
    from .frontend.schema_match import FnArg, FnSchema
    from .ir.types import TupleType
    args = []
    if offset:
        args.append(FnArg("self", graph.inputs[0].type))
    for i, v in enumerate(graph.inputs[offset:]):
        arg_name = v.debug_name_base if v.has_debug_name() else f"argument_{i + 1}"
        args.append(FnArg(arg_name, v.type.unshaped()))
    outs = graph.outputs
    ret = outs[0].type.unshaped() if len(outs) == 1 else \
        TupleType([o.type.unshaped() for o in outs])
    return FnSchema(name, args, [ret], name)


_schema_string = schema_string
_bind = bind_arguments


def _check_arity(name: str, graph: Graph, args: Sequence[Any], offset: int) -> None:
    expected = len(graph.inputs) - offset
    if len(args) != expected:
        names = [v.debug_name for v in graph.inputs[offset:]]
        raise RuntimeError(f"{name}() expected {expected} argument(s) ({', '.join(names)}) but "
                           f"got {len(args)}")


class ScriptMethod(ScriptFunction):
    """A method of a ScriptModule: ``self`` is the graph's first input."""

    _offset = 1

    def __init__(self, owner_type: ClassType, name: str, graph: Graph,
                 constants: Optional[ConstantTable] = None, fn_schema: Any = None):
        super().__init__(name, f"{owner_type.qualified_name}.{name}", graph, fn_schema)
        self.owner_type = owner_type
        if constants is not None:
            self._constants = constants

    @property
    def code(self) -> str:
        from .codegen.python_printer import print_method
        return print_method(self._graph, name=self.name, is_method=True,
                            constants=self._constants, **self._print_args())

    def bound_call(self, module: Any, args: Sequence[Any]) -> Any:
        if self._fn_schema is not None and len(args) + 1 != len(self._graph.inputs):
            args = _bind(self.name, self._fn_schema, args, {}, 1)
        _check_arity(self.name, self._graph, args, 1)
        if self._fn_schema is not None:
            args = check_argument_types(self.name, self._fn_schema, args, 1)
        if self.traced and GRAD_MODE.enabled:
            # Note [Traced code and the executor]: PyTorch builds no differentiable graphs for
            # traced code, so with grad mode on an optimised plan could only add its signature
            # checks; the interpreter runs it directly.  Under no_grad the executor's fused,
            # raw-array plans pay off and are used.
            return run_program(self.program, (module, *args), self.name)
        return self.executor.run((module, *args))


_CLASS_NAMES: Dict[type, str] = {}
_INSTANCE_TYPES: Dict[int, Tuple["weakref.ReferenceType[Any]", ClassType]] = {}
_NAMES_TAKEN: Dict[str, type] = {}
_MANGLE_COUNTER = [0]
_SCRIPTED_NAMES: Dict[str, ClassType] = {}


_FUNCTION_NAMES: Dict[str, Any] = {}   # qualified name → the Python function scripted as it


def _mangled(name: str) -> str:
    head, _, tail = name.rpartition(".")
    mangled = f"{head}.___torch_mangle_{_MANGLE_COUNTER[0]}.{tail}"
    _MANGLE_COUNTER[0] += 1
    return mangled


def unique_function_name(name: str, fn: Any) -> str:
    """The qualified name a scripted function ``fn`` is known by (``__torch__.helper``).

    A different function already scripted under that name (redefined in a notebook, or in a
    tutorial, as the seed does with its classes) makes this one
    ``__torch__.___torch_mangle_1.helper``, from the counter class names use: TorchScript
    mangles functions and types of one compilation unit with one counter.
    """
    taken = _FUNCTION_NAMES.get(name, fn)
    if taken is not fn or name in _SCRIPTED_NAMES or name in _NAMES_TAKEN:
        base, name = name, _mangled(name)
        while name in _FUNCTION_NAMES or name in _SCRIPTED_NAMES:
            name = _mangled(base)
    _FUNCTION_NAMES[name] = fn
    return name


def new_class_type(cls: type) -> ClassType:
    """A fresh class type for a scripted module of class ``cls`` (one per concrete type).

    The plain name (``__torch__.MyCell``) goes to the first type that asks for it; later
    types of the same name are mangled (``__torch__.___torch_mangle_2.MyCell``).
    """
    name = qualified_class_name(cls)
    if name in _SCRIPTED_NAMES or (name in _NAMES_TAKEN and _NAMES_TAKEN[name] is not cls):
        name = _mangled(name)
    ctype = ClassType(name)
    _SCRIPTED_NAMES[name] = ctype
    _NAMES_TAKEN.setdefault(qualified_class_name(cls), cls)
    return ctype


def class_type_of(module: Any) -> ClassType:
    """The TorchScript class type of a traced module instance (``__torch__.MyCell``).

    As in PyTorch, which traces with ``share_types=False``, every instance has a type of its
    own, holding that instance's traced methods: the inliner finds ``a``'s ``forward`` through
    ``a``'s type, not ``b``'s.  The name is the class's.  Two different Python classes with
    one qualified name (a class redefined in a notebook, as the tutorial does) get
    TorchScript's mangled names ``__torch__.___torch_mangle_0.MyCell``; a second instance of
    one class keeps the class name, where PyTorch would mangle it too (minijit mangles such
    classes apart when saving: ``serialization/export_types.py``).  A module traced again
    keeps its type.
    """
    if isinstance(module, ScriptModule):
        return module._class_type
    # Keyed by id, not by the module (which may define ``__eq__`` and so not be hashable),
    # with a weak reference to tell a reused id.  Dead modules' entries go when a new one
    # comes (not in a weakref callback, which would free graphs in the middle of a gc run).
    entry = _INSTANCE_TYPES.get(id(module))
    if entry is None or entry[0]() is not module:
        for key in [k for k, (ref, _) in _INSTANCE_TYPES.items() if ref() is None]:
            del _INSTANCE_TYPES[key]
        ctype = ClassType(_traced_class_name(type(module)))
        entry = _INSTANCE_TYPES[id(module)] = (weakref.ref(module), ctype)
    return entry[1]


def _traced_class_name(cls: type) -> str:
    name = _CLASS_NAMES.get(cls)
    if name is not None:
        return name
    name = qualified_class_name(cls)
    if (name in _NAMES_TAKEN and _NAMES_TAKEN[name] is not cls) or name in _SCRIPTED_NAMES:
        name = _mangled(name)
    _NAMES_TAKEN.setdefault(qualified_class_name(cls), cls)
    _CLASS_NAMES[cls] = name
    return name


class ScriptModule(Module):
    """Base of compiled modules: methods are graphs run by the interpreter."""

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_methods", {})
        object.__setattr__(self, "_class_type", None)
        object.__setattr__(self, "_constants_table", ConstantTable())
        object.__setattr__(self, "original_name", "ScriptModule")

    def _add_method(self, method: ScriptMethod) -> None:
        self._methods[method.name] = method
        self._class_type.add_method(method.name, method)

    # What the scripter asks a module it meets in scripted code (see frontend/module_sugar);
    # traced modules have only what tracing recorded.
    _failed_attributes: Dict[str, str] = {}

    def _can_compile_method(self, name: str) -> bool:
        return False

    def _ignored_method(self, name: str) -> Any:
        return None

    def _ensure_method(self, name: str) -> ScriptMethod:
        return self._class_type.get_method(name)

    def _is_module_list(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        methods = self.__dict__.get("_methods")
        if methods is not None and name in methods:
            return BoundScriptMethod(self, methods[name])
        return super().__getattr__(name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        method = self._methods.get("forward")
        if method is None:
            raise RuntimeError(f"{self.original_name} has no forward method (it was not called "
                               "while tracing)")
        return _call_method(self, method, args, kwargs)

    # ---- views of the compiled code ---------------------------------------------------------------
    def _forward_method(self) -> ScriptMethod:
        method = self._methods.get("forward")
        if method is None:
            raise AttributeError(f"'{self.original_name}' has no compiled forward method")
        return method

    @property
    def graph(self) -> Graph:
        return self._forward_method().graph

    @property
    def inlined_graph(self) -> Graph:
        return self._forward_method().inlined_graph

    @property
    def code(self) -> str:
        return self._forward_method().code

    @property
    def original_name_(self) -> str:
        return self.original_name

    def graph_for(self, *args: Any) -> Graph:
        return self._forward_method().executor.graph_for((self, *args))

    def save(self, f: Any, _extra_files: Optional[Dict[str, Any]] = None) -> None:
        from . import save
        save(self, f, _extra_files=_extra_files)

    def extra_repr(self) -> str:
        return f"original_name={self.original_name}"


def _call_method(module: ScriptModule, method: ScriptMethod, args: Sequence[Any],
                 kwargs: Dict[str, Any]) -> Any:
    if kwargs:
        args = _bind(method.name, method.fn_schema, args, kwargs, 1)
    return method.bound_call(module, args)


class BoundScriptMethod:
    """``module.method``: a compiled method bound to its module (``torch._C.ScriptMethod``).

    Calling it runs the graph with ``self`` = the module; ``.graph``, ``.code`` and
    ``.schema`` show the method, as on the module itself for ``forward``.
    """

    __slots__ = ("owner", "method")

    def __init__(self, owner: ScriptModule, method: ScriptMethod) -> None:
        self.owner = owner
        self.method = method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _call_method(self.owner, self.method, args, kwargs)

    @property
    def name(self) -> str:
        return self.method.name

    @property
    def graph(self) -> Graph:
        return self.method.graph

    @property
    def inlined_graph(self) -> Graph:
        return self.method.inlined_graph

    @property
    def code(self) -> str:
        return self.method.code

    @property
    def schema(self) -> str:
        return self.method.schema

    def __repr__(self) -> str:
        return f"<minijit.jit.ScriptMethod {self.owner.original_name}.{self.method.name}>"


class RecursiveScriptModule(ScriptModule):
    """A scripted or loaded module; prints as ``RecursiveScriptModule(original_name=...)``.

    Besides the parameters, buffers and submodules it shares with the original module, it
    keeps the Python class (``_py_class``) so that methods called from compiled code can be
    compiled on first use, and the attributes that could not be given a TorchScript type
    (``_failed_attributes``) to explain errors about them.
    """

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_py_class", None)
        object.__setattr__(self, "_failed_attributes", {})
        object.__setattr__(self, "_module_list", False)

    def _get_name(self) -> str:
        return "RecursiveScriptModule"

    def _python_function(self, name: str) -> Any:
        import inspect
        cls = self.__dict__.get("_py_class")
        if cls is None:
            return None
        fn = inspect.getattr_static(cls, name, None)
        return fn if inspect.isfunction(fn) else None

    def _can_compile_method(self, name: str) -> bool:
        from .frontend.modifiers import is_ignored, is_unused
        fn = self._python_function(name)
        return fn is not None and not is_ignored(fn) and not is_unused(fn) and \
            not self._class_type.has_attribute(name)

    def _ignored_method(self, name: str) -> Any:
        from .frontend.modifiers import is_ignored, is_unused
        fn = self._python_function(name)
        if fn is not None and is_unused(fn):
            def unused(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("Cannot call @unused methods")
            return unused
        return fn if fn is not None and is_ignored(fn) else None

    def _ensure_method(self, name: str) -> ScriptMethod:
        method = self._class_type.get_method(name)
        if method is None:
            from .frontend.module_script import compile_method
            method = compile_method(self, name)
        return method

    def _is_module_list(self) -> bool:
        return self.__dict__.get("_module_list", False)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            # ``@ignore``/``@unused`` methods stay Python, bound to the scripted module (as
            # PyTorch copies them onto the RecursiveScriptModule).
            from .frontend.modifiers import is_ignored, is_unused
            fn = self._python_function(name) if not name.startswith("__") else None
            if fn is not None and (is_ignored(fn) or is_unused(fn)):
                import types
                return types.MethodType(fn, self)
            raise


class TracedModule(ScriptModule):
    """A traced submodule; prints with its original class name."""

    def _get_name(self) -> str:
        return self.original_name


class TopLevelTracedModule(TracedModule):
    """The module ``minijit.jit.trace`` returns."""


def build_traced_module(module: Module, graphs: Dict[int, Any], top: bool = True) -> TracedModule:
    """Mirror ``module`` as a TracedModule tree sharing its parameters and buffers.

    ``graphs`` maps ``id(submodule)`` to ``(submodule, forward graph)`` as recorded by the
    tracer, followed by a list of ``(name, graph)`` for the calls after the first
    (``forward1``...); a submodule that was never called has no ``forward``.
    """
    if isinstance(module, ScriptModule):
        return module
    cls = TopLevelTracedModule if top else TracedModule
    traced = cls()
    object.__setattr__(traced, "original_name", type(module).__name__)
    object.__setattr__(traced, "_class_type", class_type_of(module))
    object.__setattr__(traced, "training", module.training)
    for name, p in module._parameters.items():
        traced._parameters[name] = p
    for name, b in module._buffers.items():
        traced._buffers[name] = b
    for name, child in module._modules.items():
        if child is None:
            traced._modules[name] = None
            continue
        traced._modules[name] = build_traced_module(child, graphs, top=False)
    ctype = traced._class_type
    for name, p in module._parameters.items():
        if not ctype.has_attribute(name):
            ctype.add_attribute(name, TensorType.get(), is_parameter=True)
    for name, b in module._buffers.items():
        if not ctype.has_attribute(name):
            ctype.add_attribute(name, TensorType.get(), is_buffer=True)
    for name, child in traced._modules.items():
        if child is not None and not ctype.has_attribute(name):
            ctype.add_attribute(name, child._class_type)
    entry = graphs.get(id(module))
    if entry is not None:
        more = entry[2] if len(entry) > 2 else []
        for name, graph in [("forward", entry[1])] + list(more):
            method = ScriptMethod(ctype, name, graph, traced._constants_table)
            method.traced = True
            traced._add_method(method)
    return traced
