"""Sugared values for modules: ``self``, ``self.linear`` and their methods.

Inside a scripted method, ``self`` is a graph input whose type is the module's class type
(``__torch__.MyCell``).  Reading ``self.<name>`` depends on what ``name`` is:

====================================  =====================================================
submodule (``self.linear``)           ``prim::GetAttr`` → another :class:`ModuleValue`
parameter, buffer, attribute          ``prim::GetAttr`` (every read is a new node)
constant (``__constants__``/Final)    a ``prim::Constant``
compiled or compilable method         :class:`MethodValue` → ``prim::CallMethod``
``@minijit.jit.ignore`` method        a Python call (``prim::PythonOp``)
====================================  =====================================================

Calling a module calls its ``forward``.  Iterating a ``ModuleList``/``Sequential`` reads
every child first and unrolls the loop.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

from ..ir.graph import Value
from ..ir.types import IRType
from .errors import Span, error
from .schema_match import NamedValue, match_schemas
from .sugar import SimpleValue, SugaredTupleValue, SugaredValue

__all__ = ["ModuleValue", "MethodValue"]


class ModuleValue(SugaredValue):
    """A module in scripted code: the IR value of its object plus the ScriptModule behind it."""

    kind = "module"

    def __init__(self, value: Value, module: Any):
        self.value = value
        self.module = module            # a ScriptModule

    def as_value(self, span: Optional[Span], m: Any) -> Value:
        return self.value

    def _class_name(self) -> str:
        return self.module._class_type.name

    def attr(self, span: Optional[Span], m: Any, field: str) -> SugaredValue:
        module = self.module
        ctype = module._class_type
        children = module._modules
        if field in children and ctype.has_attribute(field):
            child = children[field]
            got = m.insert_get_attr(self.value, field)
            if child is None:
                return SimpleValue(got)
            return ModuleValue(got, child)
        if ctype.get_method(field) is not None or module._can_compile_method(field):
            module._ensure_method(field)
            return MethodValue(self.value, field)
        if ctype.has_attribute(field):
            return SimpleValue(m.insert_get_attr(self.value, field))
        if field in ctype.constants:
            return m.resolver.to_sugared(ctype.constants[field], span, m, is_constant=True)
        ignored = module._ignored_method(field)
        if ignored is not None:
            from .script import python_function_value
            return python_function_value(ignored, self.value)
        hint = module._failed_attributes.get(field, "")
        raise error(span, f"Module '{self._class_name()}' has no attribute '{field}' {hint}")

    def has_attr(self, span: Optional[Span], m: Any, field: str) -> bool:
        ctype = self.module._class_type
        return ctype.has_attribute(field) or ctype.get_method(field) is not None or \
            field in ctype.constants

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        return self.attr(span, m, "forward").call(span, m, args, kwargs, n_binders)

    def _items(self, span: Optional[Span], m: Any) -> List[SugaredValue]:
        if not self.module._is_module_list():
            raise error(span, "Only constant Sequential, ModueList, ModuleDict, or ParameterList "
                              "can be used as an iterable")
        return [self.attr(span, m, name) for name in self.module._modules]

    def iter(self, span: Optional[Span], m: Any) -> SugaredValue:
        return SugaredTupleValue(self._items(span, m))

    def getitem(self, span: Optional[Span], m: Any, idx: Value,
                type_hint: Optional[IRType] = None) -> SugaredValue:
        return SugaredTupleValue(self._items(span, m)).getitem(span, m, idx, type_hint)

    def len(self, span: Optional[Span], m: Any) -> Value:
        return m.insert_constant(len(self._items(span, m)), span)

    def static_len(self) -> Optional[int]:
        return len(self.module._modules) if self.module._is_module_list() else None

    def set_attr(self, span: Optional[Span], m: Any, field: str, value: Value) -> None:
        SimpleValue(self.value).set_attr(span, m, field, value)


class MethodValue(SugaredValue):
    """A method of a module value; calling it emits ``prim::CallMethod``."""

    kind = "function"

    def __init__(self, self_value: Value, name: str):
        self.self_value = self_value
        self.name = name

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        method = self.self_value.type.get_method(self.name)        # type: ignore[attr-defined]
        schema = method.fn_schema
        with_self = [NamedValue(span, None, self.self_value)] + list(args)
        _, matched = match_schemas(m, [schema], span, with_self, kwargs)
        node = m.insert_node("prim::CallMethod", matched.inputs, 1, span)
        node.attrs["name"] = self.name
        node.output().type = matched.return_types[0]
        return SimpleValue(node.output())
