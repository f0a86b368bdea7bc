"""Script module objects: what ``trace`` and ``script`` return.

``ScriptFunction`` wraps one graph.  ``ScriptModule`` is an ``nn.Module`` whose methods are
graphs run by the interpreter; it shares its parameters and buffers with the module it was
made from (the same Parameter objects), so training either one trains both, as in PyTorch.
``TracedModule``/``TopLevelTracedModule`` print with the original class name; scripted and
loaded modules print as ``RecursiveScriptModule``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from ..nn.module import Module
from .ir.graph import Graph
from .ir.types import ClassType, TensorType
from .naming import qualified_class_name, qualified_function_name
from .runtime.interpreter import Program, compile_graph, run_program

__all__ = ["ScriptFunction", "ScriptMethod", "ScriptModule", "RecursiveScriptModule",
           "TracedModule", "TopLevelTracedModule", "class_type_of"]


class ConstantTable(list):
    """A module's tensor constants, printed in ``.code`` as ``CONSTANTS.c0``."""


class ScriptFunction:
    """A compiled function: a graph plus the interpreter program made from it once."""

    def __init__(self, name: str, qualified_name: str, graph: Graph):
        self.name = name
        self.qualified_name = qualified_name
        self._graph = graph
        self._program: Optional[Program] = None
        self._constants = ConstantTable()

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
                            constants=self._constants)

    @property
    def program(self) -> Program:
        if self._program is None:
            self._program = compile_graph(self._graph)
        return self._program

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(f"{self.name}() got unexpected keyword arguments {list(kwargs)}")
        _check_arity(self.name, self._graph, args, 0)
        return run_program(self.program, args)

    def graph_for(self, *args: Any) -> Graph:
        return self._graph

    def __repr__(self) -> str:
        return f"<minijit.jit.ScriptFunction object at {hex(id(self))}>"


def _check_arity(name: str, graph: Graph, args: Sequence[Any], offset: int) -> None:
    expected = len(graph.inputs) - offset
    if len(args) != expected:
        names = [v.debug_name for v in graph.inputs[offset:]]
        raise RuntimeError(f"{name}() expected {expected} argument(s) ({', '.join(names)}) but "
                           f"got {len(args)}")


class ScriptMethod(ScriptFunction):
    """A method of a ScriptModule: ``self`` is the graph's first input."""

    def __init__(self, owner_type: ClassType, name: str, graph: Graph,
                 constants: Optional[ConstantTable] = None):
        super().__init__(name, f"{owner_type.qualified_name}.{name}", graph)
        self.owner_type = owner_type
        if constants is not None:
            self._constants = constants

    @property
    def code(self) -> str:
        from .codegen.python_printer import print_method
        return print_method(self._graph, name=self.name, is_method=True,
                            constants=self._constants)

    def bound_call(self, module: Any, args: Sequence[Any]) -> Any:
        _check_arity(self.name, self._graph, args, 1)
        return run_program(self.program, (module, *args))


_CLASS_TYPES: Dict[type, ClassType] = {}
_NAMES_TAKEN: Dict[str, type] = {}
_MANGLE_COUNTER = [0]


def class_type_of(module: Any) -> ClassType:
    """The TorchScript class type of a module (``__torch__.MyCell``).

    Two different Python classes with one qualified name (a class redefined in a notebook, as
    the tutorial does) get TorchScript's mangled names ``__torch__.___torch_mangle_0.MyCell``.
    """
    if isinstance(module, ScriptModule):
        return module._class_type
    cls = type(module)
    found = _CLASS_TYPES.get(cls)
    if found is not None:
        return found
    name = qualified_class_name(cls)
    if name in _NAMES_TAKEN and _NAMES_TAKEN[name] is not cls:
        head, _, tail = name.rpartition(".")
        name = f"{head}.___torch_mangle_{_MANGLE_COUNTER[0]}.{tail}"
        _MANGLE_COUNTER[0] += 1
    _NAMES_TAKEN.setdefault(qualified_class_name(cls), cls)
    ctype = ClassType(name)
    _CLASS_TYPES[cls] = ctype
    return ctype


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

    def __getattr__(self, name: str) -> Any:
        methods = self.__dict__.get("_methods")
        if methods is not None and name in methods:
            method = methods[name]
            return lambda *args, **kwargs: _call_method(self, method, args, kwargs)
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
        return self.graph

    def save(self, f: Any, _extra_files: Optional[Dict[str, Any]] = None) -> None:
        from . import save
        save(self, f, _extra_files=_extra_files)

    def extra_repr(self) -> str:
        return f"original_name={self.original_name}"


def _call_method(module: ScriptModule, method: ScriptMethod, args: Sequence[Any],
                 kwargs: Dict[str, Any]) -> Any:
    if kwargs:
        names = [v.debug_name_base for v in method.graph.inputs[1:]]
        args = list(args)
        for name in names[len(args):]:
            if name in kwargs:
                args.append(kwargs.pop(name))
        if kwargs:
            raise RuntimeError(f"{method.name}() got an unexpected keyword argument "
                               f"'{next(iter(kwargs))}'")
    return method.bound_call(module, args)


class RecursiveScriptModule(ScriptModule):
    """A scripted or loaded module; prints as ``RecursiveScriptModule(original_name=...)``."""

    def _get_name(self) -> str:
        return "RecursiveScriptModule"


class TracedModule(ScriptModule):
    """A traced submodule; prints with its original class name."""

    def _get_name(self) -> str:
        return self.original_name


class TopLevelTracedModule(TracedModule):
    """The module ``minijit.jit.trace`` returns."""


def build_traced_module(module: Module, graphs: Dict[int, Any], top: bool = True) -> TracedModule:
    """Mirror ``module`` as a TracedModule tree sharing its parameters and buffers.

    ``graphs`` maps ``id(submodule)`` to ``(submodule, forward graph)`` as recorded by the
    tracer; a submodule that was never called has no ``forward``.
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
        traced._add_method(ScriptMethod(ctype, "forward", entry[1], traced._constants_table))
    return traced
