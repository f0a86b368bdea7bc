"""Class files of an archive: the ``.code`` printer applied to whole classes.

An archive stores a module's code as TorchScript source, one file per Python module of the
class names (``__torch__.torch.nn.modules.linear.Linear`` → ``code/__torch__/torch/nn/modules/
linear.py``), several classes per file when they share it.  A class prints as (reference §3.1)::

    class Net(Module):
      __parameters__ = ["weight", ]
      __buffers__ = ["running_mean", ]
      weight : Tensor
      training : bool
      _is_full_backward_hook : Optional[bool]
      sub : __torch__.Sub
      eps : Final[float] = 1.0000000000000001e-05
      def forward(self: __torch__.Net,
        x: Tensor) -> Tensor:
        ...

Methods are printed by :class:`~minijit.jit.codegen.python_printer.PythonPrinter` at class
indentation with a typed ``self``.  As in ``export.cpp``, there is one printer per *file* (so
``_0``, ``_1``... names continue across the classes and methods of a file) and one CONSTANTS
table per *archive*.  Printing a class registers the classes and functions it refers to; the
archive is complete once every type reached from the root module has been printed
(:meth:`ClassFilePrinter.print_all`: the classes of the pickled objects in pickling order, then
a breadth-first walk of what they refer to; this order is also the order of the files).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..codegen.python_printer import PythonPrinter, is_valid_identifier
from ..ir.constants import constant_type
from ..ir.types import BoolType, ClassType, IRType, OptionalType
from .errors import SerializationError

__all__ = ["ClassFilePrinter", "SlotSpec", "module_slots", "qualifier_to_path"]

SlotSpec = Tuple[str, IRType, str]        # (name, type, role: param | buffer | module | attr)

HOOK_ATTRIBUTE = "_is_full_backward_hook"


def qualifier_to_path(qualifier: str) -> str:
    """``__torch__.torch.nn.modules.linear`` → ``code/__torch__/torch/nn/modules/linear.py``."""
    return "code/" + qualifier.replace(".", "/") + ".py"


def module_slots(ctype: ClassType) -> List[SlotSpec]:
    """A module class's attribute slots in TorchScript's order.

    Parameters and buffers first, then ``training`` and ``_is_full_backward_hook`` (every
    ``nn.Module`` has them; minijit's traced class types leave them implicit), then the other
    attributes in definition order (submodules last, as ``nn.Module`` keeps them apart).
    """
    params, buffers = set(ctype.parameters), set(ctype.buffers)
    first: List[SlotSpec] = []
    modules: List[SlotSpec] = []
    rest: List[SlotSpec] = []
    for name, t in ctype.attributes.items():
        if name in params:
            first.append((name, t, "param"))
        elif name in buffers:
            first.append((name, t, "buffer"))
        elif name in ("training", HOOK_ATTRIBUTE):
            continue
        elif isinstance(t, ClassType) and t.is_module:
            modules.append((name, t, "module"))
        else:
            rest.append((name, t, "attr"))
    training = ctype.attributes.get("training", BoolType)
    hook = ctype.attributes.get(HOOK_ATTRIBUTE, OptionalType(BoolType))
    if not ctype.is_module:
        return first + rest + modules
    return first + [("training", training, "attr"), (HOOK_ATTRIBUTE, hook, "attr")] + rest + \
        modules


def _method_signature(method: Any) -> Dict[str, Any]:
    """Keyword arguments for ``print_function`` that a method object may carry.

    The scripter knows argument names, defaults and declared return types that a graph alone
    does not (``def f(self, x, n: int = 2) -> Optional[Tensor]``); methods made by the tracer
    have none of these and print from their graph.
    """
    print_args = getattr(method, "_print_args", None)
    if print_args is not None:
        return print_args()
    out: Dict[str, Any] = {}
    for key in ("arg_names", "defaults", "return_type"):
        value = getattr(method, key, None)
        if value is not None:
            out[key] = value
    return out


class ClassFilePrinter:
    """Prints every class and function reachable from a root class into per-file sources.

    Args:
        constants: the archive's CONSTANTS table (filled while printing).
        type_map: qualified name → the class to print for it (the archive classes of
            :mod:`.export_types`; graphs mention the frontends' classes by the same names).

    After :meth:`print_all`, :attr:`files` maps ``code/...py`` paths to source text in the
    order PyTorch writes them, and :attr:`types` lists every class printed.
    """

    def __init__(self, constants: Optional[List[Any]] = None,
                 type_map: Optional[Dict[str, ClassType]] = None):
        self.type_map = type_map or {}
        self.constants: List[Any] = constants if constants is not None else []
        self._printers: Dict[str, PythonPrinter] = {}
        self._consumed: Dict[str, int] = {}
        self.deps: List[Any] = []
        self._names: Dict[str, Any] = {}
        self.types: List[ClassType] = []
        self.functions: List[Any] = []

    # -- the walk ------------------------------------------------------------------------------
    def print_all(self, root: ClassType, first: Sequence[ClassType] = ()) -> Dict[str, str]:
        """Print ``first`` (the classes of the pickled objects, in pickling order, as
        ``export_module.cpp`` converts them), then every class and function they refer to."""
        for t in first:
            self._add_dep(t)
        self._add_dep(root)
        i = 0
        while i < len(self.deps):
            dep = self.deps[i]
            i += 1
            if isinstance(dep, ClassType):
                self._print_class(dep)
            else:
                self._print_function(dep)
        return self.files

    @property
    def files(self) -> Dict[str, str]:
        return {qualifier_to_path(q): p.str() for q, p in self._printers.items()}

    def _add_dep(self, t: Any) -> None:
        name = getattr(t, "qualified_name", None)
        if name is None:
            return
        if isinstance(t, ClassType):
            t = self.type_map.get(name, t)
        known = self._names.get(name)
        if known is None:
            self._names[name] = t
            self.deps.append(t)
        elif known is not t:
            raise SerializationError(qualifier_to_path(name.rpartition(".")[0]),
                                     f"two different classes are both named {name}; rename "
                                     "one of the Python classes before saving")

    def _printer_for(self, qualified_name: str) -> PythonPrinter:
        qualifier = qualified_name.rpartition(".")[0]
        printer = self._printers.get(qualifier)
        if printer is None:
            printer = self._printers[qualifier] = PythonPrinter(self.constants)
            self._consumed[qualifier] = 0
        return printer

    def _collect_deps(self, qualified_name: str, printer: PythonPrinter) -> None:
        qualifier = qualified_name.rpartition(".")[0]
        start = self._consumed[qualifier]
        for t in printer.deps[start:]:
            self._add_dep(t)
        self._consumed[qualifier] = len(printer.deps)

    # -- one class ---------------------------------------------------------------------------------
    def _print_class(self, ctype: ClassType) -> None:
        self.types.append(ctype)
        printer = self._printer_for(ctype.qualified_name)
        body = printer.body
        body.append(f"class {ctype.name}" + ("(Module):\n" if ctype.is_module else ":\n"))
        slots = module_slots(ctype) if ctype.is_module else \
            [(n, t, "attr") for n, t in ctype.attributes.items()]
        if ctype.is_module:
            params = "".join(f'"{n}", ' for n, _, role in slots if role == "param")
            buffers = "".join(f'"{n}", ' for n, _, role in slots if role == "buffer")
            body.append(f"  __parameters__ = [{params}]\n")
            body.append(f"  __buffers__ = [{buffers}]\n")
        for i, (name, t, _) in enumerate(slots):
            printer.register_class_dependencies(t)
            if is_valid_identifier(name):
                body.append(f"  {name} : {t.annotation_str()}\n")
            else:
                if i == 0:
                    body.append("  __annotations__ = []\n")
                body.append(f'  __annotations__["{name}"] = {t.annotation_str()}\n')
        for name, value in ctype.constants.items():
            t = constant_type(value)
            body.append(f"  {name} : Final[{t.annotation_str()}] = "
                        f"{printer.constant_text(value, t)}\n")
        self._collect_deps(ctype.qualified_name, printer)
        for name, method in ctype.methods.items():
            graph = getattr(method, "graph", None)
            if graph is None:
                continue
            printer.level = 1
            printer.print_function(graph, name, is_method=False, **_method_signature(method))
            printer.level = 0
            self._collect_deps(ctype.qualified_name, printer)

    def _print_function(self, ftype: Any) -> None:
        fn = getattr(ftype, "function", None)
        graph = getattr(fn, "graph", None)
        if graph is None:
            raise SerializationError(qualifier_to_path(ftype.qualified_name.rpartition(".")[0]),
                                     f"function {ftype.qualified_name} has no graph to save")
        self.functions.append(ftype)
        printer = self._printer_for(ftype.qualified_name)
        printer.level = 0
        printer.print_function(graph, ftype.qualified_name.rpartition(".")[2], is_method=False,
                               **_method_signature(fn))
        self._collect_deps(ftype.qualified_name, printer)

