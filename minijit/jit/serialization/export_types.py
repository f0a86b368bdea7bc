"""The classes an archive declares, one per distinct kind of module instance.

In an archive every module object names a class, and the class file holds that class's
attribute list and method code.  minijit's frontends give one :class:`ClassType` per Python
class, but two instances of one Python class may need different archive classes: two
``nn.Sequential`` with different contents, or two traced instances whose traced ``forward``
code differs.  PyTorch mangles such classes apart (``__torch__.torch.nn.modules.container.
___torch_mangle_3.Sequential``); so does this module, at save time only:

1. Walk the module tree bottom-up.  For each instance compute its *archive signature*: its
   slots (name, type, role) with the archive names of its submodules' classes, the ``.code``
   of its methods and the values of the tensor constants that code refers to.  A traced
   instance's signature also holds its identity: PyTorch gives every traced module a class of
   its own (``share_types=False``), and so does the archive.
2. Instances with equal signatures share one archive class.  The first signature seen for a
   qualified name keeps the name; each further one gets ``___torch_mangle_<n>`` inserted
   before the class name.
3. A method whose graph mentions a renamed class is printed from a copy of its graph with the
   ``self`` and submodule values retyped; other methods print from their own graph.

The result feeds the pickler (:class:`~.pickler.PickledObject` per instance) and the class
printer (:class:`ExportedTypes.type_map` maps the names found in graphs to archive classes).
"""
from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..codegen.python_printer import PythonPrinter
from ..ir.constants import is_tensor
from ..ir.graph import Graph, Value
from ..ir.types import ClassType, IRType, NoneType, TensorType
from .class_printer import HOOK_ATTRIBUTE, _method_signature, module_slots
from .errors import SerializationError
from .pickler import PickledObject

__all__ = ["ExportedTypes", "export_types"]


class ExportMethod:
    """A method as the archive prints it: a graph plus the scripter's signature details."""

    __slots__ = ("name", "graph", "arg_names", "defaults", "return_type")

    def __init__(self, name: str, graph: Graph, original: Any):
        self.name = name
        self.graph = graph
        sig = _method_signature(original)
        self.arg_names = sig.get("arg_names")
        self.defaults = sig.get("defaults")
        self.return_type = sig.get("return_type")


class ExportedTypes:
    """The archive classes of one module tree.

    Attributes:
        root_type: the root module's archive class.
        objects: ``id(module) -> PickledObject`` for every module instance.
        type_map: qualified name → archive class, for the names that graphs mention.
    """

    def __init__(self) -> None:
        self.root_type: Optional[ClassType] = None
        self.objects: Dict[int, PickledObject] = {}
        self.type_map: Dict[str, ClassType] = {}
        self._by_signature: Dict[Tuple, ClassType] = {}
        self._names_used: Dict[str, Tuple] = {}
        self._instance_type: Dict[int, ClassType] = {}
        self._mangle = 0
        self._keepalive: List[Any] = []


def export_types(root: Any) -> ExportedTypes:
    """Archive classes and pickled objects for the module tree under ``root``."""
    out = ExportedTypes()
    _export(root, out)
    out.root_type = out._instance_type[id(root)]
    return out


def _hook_type(module: Any) -> IRType:
    """The type PyTorch gives ``_is_full_backward_hook`` (reference §3.1).

    PyTorch reads a scripted module's attribute types from the annotations of the first class
    of its class's bases (depth first) that has any (``torch._jit_internal.get_annotations``).
    When that is ``nn.Module`` itself, whose annotations declare the hook ``Optional[bool]``,
    the slot is ``Optional[bool]``; a class with annotations of its own (``Linear`` declares
    ``in_features: int``) does not mention the hook, whose type is then inferred from its
    value, ``None``: ``NoneType``.  Traced modules always get ``Optional[bool]``.
    """
    from ...nn.module import Module
    from ..ir.types import BoolType, OptionalType
    cls = getattr(module, "_py_class", None)

    def first_annotated(c: type) -> Optional[type]:
        if c is Module or c is object:
            return None
        if c.__dict__.get("__annotations__"):
            return c
        for base in c.__bases__:
            found = first_annotated(base)
            if found is not None:
                return found
        return None

    if cls is None or first_annotated(cls) is None:
        return OptionalType(BoolType)
    return NoneType


def _instance_slots(module: Any, ctype: ClassType,
                    out: ExportedTypes) -> List[Tuple[str, IRType, str, Any]]:
    """(name, type, role, value) for each slot of one instance, in archive order.

    A ``None`` parameter or buffer is a ``NoneType`` slot still listed in ``__parameters__``
    for scripted modules, and left out for traced ones (what PyTorch writes).
    """
    from ..modules import ScriptModule, TracedModule
    traced = isinstance(module, TracedModule)
    rows: List[Tuple[str, IRType, str, Any]] = []
    for registry, role in ((module._parameters, "param"), (module._buffers, "buffer")):
        for name, value in registry.items():
            if value is None and traced:
                continue
            rows.append((name, TensorType.get() if value is not None else NoneType, role,
                         value))
    taken = {r[0] for r in rows}
    for name, t, role in module_slots(ctype):
        if name in taken or role in ("param", "buffer", "module"):
            continue
        if name == "training":
            rows.append((name, t, "attr", bool(module.training)))
        elif name == HOOK_ATTRIBUTE:
            hook = t if HOOK_ATTRIBUTE in ctype.attributes or traced else _hook_type(module)
            rows.append((name, hook, "attr", None))
        elif name in module.__dict__:
            rows.append((name, t, "attr", module.__dict__[name]))
        else:
            rows.append((name, t, "attr", getattr(module, name, None)))
    for name, child in module._modules.items():
        if child is None:
            if not traced:
                rows.append((name, NoneType, "attr", None))
            continue
        if not isinstance(child, ScriptModule):
            raise SerializationError("data.pkl", f"submodule '{name}' of "
                                     f"{ctype.qualified_name} is a plain nn.Module; script or "
                                     "trace it before saving")
        rows.append((name, out._instance_type[id(child)], "module", out.objects[id(child)]))
    return rows


def _constant_key(value: Any) -> Tuple:
    if is_tensor(value):
        arr = np.ascontiguousarray(np.asarray(value))
        return ("tensor", str(arr.dtype), arr.shape, hashlib.sha1(arr.tobytes()).hexdigest())
    return ("value", repr(value))


def _method_codes(module: Any, ctype: ClassType) -> Tuple[Tuple[str, str, Tuple], ...]:
    methods = getattr(module, "_methods", None) or ctype.methods
    codes = []
    for name, method in methods.items():
        graph = getattr(method, "graph", None)
        if graph is None:
            continue
        constants: List[Any] = []
        printer = PythonPrinter(constants)
        printer.print_function(graph, name, is_method=False, **_method_signature(method))
        codes.append((name, printer.str(), tuple(_constant_key(c) for c in constants)))
    return tuple(codes)


def _export(module: Any, out: ExportedTypes) -> None:
    from ..modules import ScriptModule, TracedModule
    if id(module) in out.objects:
        return
    for child in module._modules.values():
        if isinstance(child, ScriptModule):
            _export(child, out)
    ctype: ClassType = module._class_type
    if ctype is None:
        raise SerializationError("data.pkl", f"{type(module).__name__} has no class type; "
                                 "only modules made by minijit.jit can be saved")
    rows = _instance_slots(module, ctype, out)
    codes = _method_codes(module, ctype)
    slot_key = tuple((n, t.annotation_str(), role) for n, t, role, _ in rows)
    const_key = tuple((k, repr(v)) for k, v in ctype.constants.items())
    signature: Tuple = (ctype.qualified_name, ctype.is_module, slot_key, codes, const_key)
    if isinstance(module, TracedModule):
        signature += (id(module),)       # PyTorch traces with share_types=False
    etype = out._by_signature.get(signature)
    if etype is None:
        etype = _new_type(module, ctype, rows, signature, out)
    out._instance_type[id(module)] = etype
    obj = PickledObject(etype, [(n, v, t) for n, t, _, v in rows])
    out.objects[id(module)] = obj
    out._keepalive.append(module)


def _unique_name(qualified_name: str, signature: Tuple, out: ExportedTypes) -> str:
    if qualified_name not in out._names_used:
        return qualified_name
    head, _, tail = qualified_name.rpartition(".")
    while True:
        name = f"{head}.___torch_mangle_{out._mangle}.{tail}"
        out._mangle += 1
        if name not in out._names_used:
            return name


def _new_type(module: Any, ctype: ClassType, rows: List[Tuple[str, IRType, str, Any]],
              signature: Tuple, out: ExportedTypes) -> ClassType:
    name = _unique_name(ctype.qualified_name, signature, out)
    out._names_used[name] = signature
    etype = ClassType(name, is_module=ctype.is_module)
    for slot_name, t, role, _ in rows:
        etype.add_attribute(slot_name, t, is_parameter=role == "param",
                            is_buffer=role == "buffer")
    etype.constants = dict(ctype.constants)
    retype: Dict[str, ClassType] = {}
    for slot_name, t, role, _ in rows:
        if role == "module":
            original = ctype.attributes.get(slot_name)
            if original is None or getattr(original, "qualified_name", None) != \
                    t.qualified_name:          # type: ignore[attr-defined]
                retype[slot_name] = t          # type: ignore[assignment]
    methods = getattr(module, "_methods", None) or ctype.methods
    for method_name, method in methods.items():
        graph = getattr(method, "graph", None)
        if graph is None:
            continue
        if retype or name != ctype.qualified_name:
            graph = _retyped_copy(graph, etype, retype)
        etype.add_method(method_name, ExportMethod(method_name, graph, method))
    out._by_signature[signature] = etype
    out.type_map[name] = etype
    return etype


def _retyped_copy(graph: Graph, etype: ClassType, retype: Dict[str, ClassType]) -> Graph:
    """A copy of ``graph`` where ``self`` and ``self.<child>`` values carry archive classes."""
    copy = graph.copy()
    self_value: Value = copy.inputs[0]
    self_value.type = etype
    for node in copy.all_nodes():
        if node.kind == "prim::GetAttr" and node.inputs[0] is self_value:
            child = retype.get(node.attrs.get("name"))
            if child is not None:
                node.output().type = child
    return copy
