"""Scripting an ``nn.Module`` (PyTorch's ``torch/jit/_recursive.py``).

:func:`create_script_module` mirrors a module as a
:class:`~minijit.jit.modules.RecursiveScriptModule`:

1. submodules are scripted first (already scripted or traced ones are used as they are);
2. parameters and buffers are shared (the same tensors), so training one trains the other;
3. the module's *concrete type* is worked out: every remaining attribute gets a TorchScript
   type (from the class's annotations, else inferred from the value: ``3`` → ``int``), names
   in ``__constants__`` or annotated ``Final`` become constants, and values that have no
   TorchScript type are remembered with a hint for the error message;
4. modules with the same concrete type share one class type and its compiled methods (two
   ``Linear(4, 4)`` compile ``forward`` once); a different concrete type of an already used
   class name gets a mangled name (``__torch__.___torch_mangle_3.Linear``);
5. ``forward`` and ``@export`` methods are compiled; others when first called.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from ..ir.types import ClassType, IRType, NoneType, TensorType
from .annotations import InferenceError, infer_type, is_final, type_from_python
from .errors import error
from .modifiers import is_exported, is_ignored, is_unused

__all__ = ["create_script_module", "compile_method"]

_CONSTANT_TYPES = (bool, int, float, str, type(None))
_SHARED_TYPES: Dict[Tuple, ClassType] = {}
_COMPILING: set = set()


def _module_internals() -> set:
    from ...nn.module import Module
    return set(Module().__dict__) - {"training"}


def _valid_constant(owner: str, name: str, value: Any) -> Any:
    from ...backends import device
    from ... import dtypes
    if isinstance(value, _CONSTANT_TYPES) or isinstance(value, (device, dtypes.dtype)):
        return value
    if isinstance(value, (tuple, list)):
        return tuple(_valid_constant(owner, name, v) for v in value)
    raise TypeError(f"'{type(value).__name__}' object in attribute '{owner}.{name}' is not a "
                    "valid constant.\nValid constants are:\n1. a nn.ModuleList\n2. a value of "
                    "type {bool, float, int, str, NoneType, torch.device, torch.layout, "
                    "torch.dtype}\n3. a list or tuple of (2)\n")


def _annotations(cls: type) -> Dict[str, Any]:
    for klass in cls.__mro__:
        found = klass.__dict__.get("__annotations__")
        if found:
            return dict(found)
    return {}


def _concrete_type(py_module: Any, script_children: Dict[str, Any]) -> Tuple[List, Dict, Dict]:
    """(attributes [(name, type, kind)], constants {name: value}, failed {name: hint})."""
    import warnings
    cls = type(py_module)
    annotations = _annotations(cls)
    attributes: List[Tuple[str, IRType, str]] = []
    added = set()
    for name, p in py_module._parameters.items():
        attributes.append((name, NoneType if p is None else TensorType.get(), "parameter"))
        added.add(name)
    for name, b in py_module._buffers.items():
        attributes.append((name, NoneType if b is None else TensorType.get(), "buffer"))
        added.add(name)
    for name, child in script_children.items():
        attributes.append((name, NoneType if child is None else child._class_type, "module"))
        added.add(name)
    constant_names = list(getattr(py_module, "__constants__", ()))
    constant_names += [n for n, a in annotations.items() if is_final(a) and
                       n not in constant_names]
    constants: Dict[str, Any] = {}
    for name in constant_names:
        if name in added:
            warnings.warn(f"'{name}' was found in ScriptModule constants,  but it is a "
                          "non-constant submodule. Consider removing it.", stacklevel=3)
            continue
        if not hasattr(py_module, name):
            warnings.warn(f"'{name}' was found in ScriptModule constants, but was not actually "
                          "set in __init__. Consider removing it.", stacklevel=3)
            continue
        constants[name] = _valid_constant(cls.__name__, name, getattr(py_module, name))
        added.add(name)
    failed: Dict[str, str] = {}
    internals = _module_internals()
    for name, value in py_module.__dict__.items():
        if name in internals or name.startswith("__") or name in added:
            continue
        if callable(value) and not isinstance(value, type):
            failed[name] = "(function attributes are not supported by minijit's scripter)"
            continue
        try:
            if name in annotations and not is_final(annotations[name]):
                type_ = type_from_python(annotations[name])
            else:
                type_ = infer_type(value)
        except InferenceError as exc:
            failed[name] = ("(This attribute exists on the Python module, but we failed to "
                            f"convert Python type: '{type(value).__name__}' to a TorchScript "
                            f"type. {exc}. Its type was inferred; try adding a type annotation "
                            "for the attribute.)")
            continue
        attributes.append((name, type_, "attribute"))
    return attributes, constants, failed


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return (type(value).__name__, repr(value))


def _class_type_for(cls: type, attributes: List, constants: Dict) -> Tuple[ClassType, bool]:
    """The class type of this concrete type: shared if seen before (True), else new."""
    from ..modules import new_class_type
    key = (cls, tuple((n, str(t), repr(t), k) for n, t, k in attributes),
           tuple(sorted((n, _freeze(v)) for n, v in constants.items())))
    found = _SHARED_TYPES.get(key)
    if found is not None:
        return found, True
    ctype = new_class_type(cls)
    for name, type_, kind in attributes:
        ctype.add_attribute(name, type_, is_parameter=kind == "parameter",
                            is_buffer=kind == "buffer")
    ctype.constants.update(constants)
    _SHARED_TYPES[key] = ctype
    return ctype, False


def _methods_to_compile(cls: type) -> List[str]:
    from ...nn.module import Module
    names = []
    forward = getattr(cls, "forward", None)
    if forward is not None and forward is not Module.forward and not is_ignored(forward) \
            and not is_unused(forward):
        names.append("forward")
    for name in sorted(dir(cls)):
        if name != "forward" and is_exported(getattr(cls, name, None)):
            names.append(name)
    return names


def create_script_module(py_module: Any) -> Any:
    """Script ``py_module`` and its submodules (see the module docstring)."""
    from ..modules import RecursiveScriptModule, ScriptModule
    from ...nn.modules.container import ModuleList, Sequential
    if isinstance(py_module, ScriptModule):
        return py_module
    cls = type(py_module)
    children: Dict[str, Any] = {}
    for name, child in py_module._modules.items():
        children[name] = None if child is None else create_script_module(child)
    attributes, constants, failed = _concrete_type(py_module, children)
    ctype, shared = _class_type_for(cls, attributes, constants)
    sm = RecursiveScriptModule()
    object.__setattr__(sm, "original_name", cls.__name__)
    object.__setattr__(sm, "_class_type", ctype)
    object.__setattr__(sm, "_methods", ctype.methods)
    object.__setattr__(sm, "_py_class", cls)
    object.__setattr__(sm, "_failed_attributes", failed)
    object.__setattr__(sm, "_module_list", isinstance(py_module, (ModuleList, Sequential)))
    object.__setattr__(sm, "training", py_module.training)
    for name, p in py_module._parameters.items():
        sm._parameters[name] = p
    for name, b in py_module._buffers.items():
        sm._buffers[name] = b
    for name in py_module._non_persistent_buffers_set:
        sm._non_persistent_buffers_set.add(name)
    for name, child in children.items():
        sm._modules[name] = child
    for name, _, kind in attributes:
        if kind == "attribute" and name != "training":
            object.__setattr__(sm, name, getattr(py_module, name))
    for name, value in constants.items():
        object.__setattr__(sm, name, value)
    if not shared:
        for name in _methods_to_compile(cls):
            sm._ensure_method(name)
    return sm


def compile_method(sm: Any, name: str) -> Any:
    """Compile method ``name`` of a scripted module's Python class into its class type."""
    from ..modules import ScriptMethod
    from .module_sugar import ModuleValue
    from .resolver import Resolver
    from .script import _checked_ranges, compile_def, parse_schema
    from .source import parse_def
    ctype = sm._class_type
    key = (id(ctype), name)
    if key in _COMPILING:
        raise error(None, f" method '{name}' is called recursively. Recursive calls are not "
                          "supported")
    fn = getattr(sm._py_class, name)
    parsed = parse_def(fn, name)
    ranges = _checked_ranges(parsed)
    schema = parse_schema(parsed, ranges, fn, True, ctype)
    _COMPILING.add(key)
    try:
        graph, ret = compile_def(parsed, Resolver.for_function(fn), schema,
                                 f"{ctype.name}.{name}", self_type=ctype,
                                 self_sugar=lambda v: ModuleValue(v, sm), ranges=ranges)
    finally:
        _COMPILING.discard(key)
    schema.returns = [ret]
    method = ScriptMethod(ctype, name, graph, sm._constants_table, fn_schema=schema)
    sm._add_method(method)
    return method
