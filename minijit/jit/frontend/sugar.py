"""Sugared values: what a name or expression means before it becomes an IR value.

``torch.tanh`` is not a value you can store: it is a *builtin function* that becomes a node
when called.  ``self.linear`` is a *module*: calling it emits ``prim::CallMethod``.  ``range(n)``
is an iterable that only a ``for`` loop can consume.  TorchScript models these as
``SugaredValue`` s; the emitter asks them to ``call``, take an ``attr``, ``iter`` or ``getitem``,
and only :class:`SimpleValue` wraps an actual IR :class:`~minijit.jit.ir.graph.Value`.

Every method gets the emitter (``m``, the function being compiled) and the span of the
expression, which is where errors point.  Module-related values live in
:mod:`.module_sugar`.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

from ..ir.graph import Value
from ..ir.types import (DictType, IntType, IRType, ListType, StringType, TensorType,
                        TupleType)
from .errors import Span, error
from .schema_match import NamedValue

__all__ = ["SugaredValue", "SimpleValue", "BuiltinFunction", "MagicMethod", "CastValue",
           "TensorCastValue", "PrintValue", "NoneValue", "RangeValue", "IterableTree",
           "SugaredTupleValue", "SpecialForm", "ExceptionValue", "PythonExceptionValue",
           "ExceptionMessageValue",
           "FunctionValue", "PythonFunctionValue", "PythonModuleValue"]


class SugaredValue:
    """Base: every operation fails with TorchScript's message unless a subclass supports it."""

    kind = "value"

    def as_value(self, span: Optional[Span], m: Any) -> Value:
        raise error(span, f"{self.kind} cannot be used as a value")

    def attr(self, span: Optional[Span], m: Any, field: str) -> "SugaredValue":
        raise error(span, f"attribute lookup is not defined on {self.kind}")

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> "SugaredValue":
        raise error(span, f"cannot call a {self.kind}")

    def as_tuple(self, span: Optional[Span], m: Any,
                 size_hint: Optional[int] = None) -> List["SugaredValue"]:
        raise error(span, f"{self.kind} cannot be used as a tuple")

    def iter(self, span: Optional[Span], m: Any) -> "SugaredValue":
        raise error(span, f"'{self.kind}' object is not iterable")

    def len(self, span: Optional[Span], m: Any) -> Value:
        raise error(span, f"'{self.kind}' object is not iterable")

    def getitem(self, span: Optional[Span], m: Any, idx: Value,
                type_hint: Optional[IRType] = None) -> "SugaredValue":
        raise error(span, f"'{self.kind}' object is not subscriptable")

    def set_attr(self, span: Optional[Span], m: Any, field: str, value: Value) -> None:
        raise error(span, f"attribute assignment is not defined on {self.kind}")

    def static_len(self) -> Optional[int]:
        return None

    def should_emit_unrolled(self) -> bool:
        return self.static_len() is not None


class SimpleValue(SugaredValue):
    """An IR value: a tensor, number, list... (TorchScript's ``SimpleValue``)."""

    kind = "value"

    def __init__(self, value: Value):
        self.value = value

    def as_value(self, span: Optional[Span], m: Any) -> Value:
        return self.value

    def attr(self, span: Optional[Span], m: Any, field: str) -> SugaredValue:
        t = self.value.type
        if isinstance(t, TensorType):
            if field in _CAST_METHODS:
                return TensorCastValue(_CAST_METHODS[field], NamedValue(span, "self", self.value))
            if field in _TENSOR_PROPERTIES:
                namespace = _TENSOR_PROPERTIES[field]
                return SimpleValue(m.emit_builtin_call(f"{namespace}::{field}",
                                                       [NamedValue(span, None, self.value)], [],
                                                       None, range_for_nodes=False))
        if t.kind == "Class":
            method = t.get_method(field)
            if method is not None:
                from .module_sugar import MethodValue
                return MethodValue(self.value, field)
            if t.has_attribute(field):
                return SimpleValue(m.insert_get_attr(self.value, field))
        builtin = BuiltinFunction.try_create(f"aten::{field}", NamedValue(span, "self",
                                                                          self.value))
        if builtin is not None:
            return builtin
        if isinstance(t, TensorType) and field == "tolist":
            return SpecialForm("prim::tolist", self.value)
        if isinstance(t, TensorType):
            raise error(span, f"'Tensor' object has no attribute or method '{field}'.")
        text = (f"Tried to access nonexistent attribute or method '{field}' of type "
                f"'{t.annotation_str()}'.")
        if t.kind == "Class":
            text += " Did you forget to initialize an attribute in __init__()?"
        raise error(span, text)

    def as_tuple(self, span: Optional[Span], m: Any,
                 size_hint: Optional[int] = None) -> List[SugaredValue]:
        t = self.value.type
        if isinstance(t, TupleType):
            return [SimpleValue(v) for v in m.tuple_unpack(self.value)]
        if isinstance(t, ListType):
            if size_hint is None:
                raise error(span, "cannot statically infer the expected size of a list in "
                                  "this context")
            node = m.insert_node("prim::ListUnpack", [self.value], size_hint)
            for out in node.outputs:
                out.type = t.elem
            return [SimpleValue(v) for v in node.outputs]
        raise error(span, f"{t.annotation_str()} cannot be used as a tuple")

    def len(self, span: Optional[Span], m: Any) -> Value:
        t = self.value.type
        if isinstance(t, (ListType, TensorType)) or t == StringType:
            return m.emit_builtin_call("aten::len", [NamedValue(span, None, self.value)], [],
                                       span)
        raise error(span, f"'{t.annotation_str()}' object is not iterable")

    def getitem(self, span: Optional[Span], m: Any, idx: Value,
                type_hint: Optional[IRType] = None) -> SugaredValue:
        t = self.value.type
        if isinstance(t, (ListType, DictType)) or t == StringType:
            return SimpleValue(m.emit_builtin_call(
                "aten::__getitem__", [NamedValue(span, None, self.value),
                                      NamedValue(span, None, idx)], [], span))
        if isinstance(t, TensorType):
            zero = m.insert_constant(0, None)
            return SimpleValue(m.emit_builtin_call(
                "aten::select", [NamedValue(span, None, self.value), NamedValue(span, None, zero),
                                 NamedValue(span, None, idx)], [], span))
        raise error(span, f"'{t.annotation_str()}' object is not subscriptable")

    def iter(self, span: Optional[Span], m: Any) -> SugaredValue:
        t = self.value.type
        if isinstance(t, (ListType, TensorType)) or t == StringType:
            return self
        if isinstance(t, DictType):
            return SimpleValue(m.emit_builtin_call("aten::keys",
                                                   [NamedValue(span, None, self.value)], [],
                                                   span))
        if isinstance(t, TupleType):
            return SugaredTupleValue([SimpleValue(v) for v in m.tuple_unpack(self.value)])
        raise error(span, f"'{t.annotation_str()}' object is not iterable")

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        if self.value.type.kind == "Class":
            return self.attr(span, m, "__call__").call(span, m, args, kwargs, n_binders)
        return super().call(span, m, args, kwargs, n_binders)

    def set_attr(self, span: Optional[Span], m: Any, field: str, value: Value) -> None:
        t = self.value.type
        if t.kind != "Class":
            raise error(span, f"Tried to set an attribute: {field} on a non-class: "
                              f"{t.annotation_str()}")
        if not t.has_attribute(field):
            raise error(span, f"Tried to set nonexistent attribute: {field}. Did you forget to "
                              "initialize it in __init__()?")
        expected = t.get_attribute(field)
        if not value.type.is_subtype_of(expected):
            raise error(span, f"Wrong type for attribute assignment. Expected "
                              f"{expected.annotation_str()} but got "
                              f"{value.type.annotation_str()}")
        node = m.insert_node("prim::SetAttr", [self.value, value], 0)
        node.attrs["name"] = field


# x.int(), x.float() ... are casts to these ScalarType codes (aten::to(Tensor, int dtype)).
_CAST_METHODS = {"byte": 0, "char": 1, "short": 2, "int": 3, "long": 4, "half": 5, "float": 6,
                 "double": 7}
# Tensor properties that are operators (``x.dtype`` is ``prim::dtype(x)``); ``shape`` and
# ``ndim`` are TorchScript builtin functions (``.builtin_functions``).
_TENSOR_PROPERTIES = {"dtype": "prim", "device": "prim", "shape": "prim", "ndim": "prim",
                      "requires_grad": "prim", "is_cuda": "prim", "grad": "prim",
                      "data": "prim", "is_leaf": "aten"}


class BuiltinFunction(SugaredValue):
    """An operator (``aten::tanh``), possibly bound to a ``self`` (``x.tanh``)."""

    kind = "builtin"

    def __init__(self, symbol: str, self_value: Optional[NamedValue] = None):
        self.symbol = symbol
        self.self_value = self_value

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        return SimpleValue(m.emit_builtin_call(self.symbol, args, kwargs, span, self.self_value))

    @staticmethod
    def try_create(symbol: str, self_value: Optional[NamedValue]) -> Optional["BuiltinFunction"]:
        """A method ``x.<name>`` exists if some overload has a ``self`` of x's type."""
        from .builtin_functions import builtin_function_schemas
        from .schema_match import _has_vars, builtin_schemas, is_subtype, match_type_variables
        schemas = builtin_schemas(symbol) + builtin_function_schemas(symbol)
        for fn in schemas:
            if self_value is None:
                return BuiltinFunction(symbol, None)
            index = fn.argument_index("self")
            if index is None:
                continue
            formal = fn.arguments[index].type
            actual = self_value.type()
            # (TorchScript's tryCreate: the self type matches, type variables bound freely)
            if formal.kind == "VarType" or is_subtype(actual, formal) or (
                    _has_vars(formal) and match_type_variables(formal, actual, {}) is None):
                return BuiltinFunction(symbol, self_value)
        return None


class MagicMethod(SugaredValue):
    """``a + b``: ``__add__`` of a class, else the builtin ``aten::add``."""

    kind = "builtin"

    def __init__(self, desugared_name: str, base: SugaredValue):
        self.desugared_name = desugared_name
        self.base = base

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        if args:
            first = args[0].get(m)
            if first.type.kind == "Class":
                return SimpleValue(first).attr(span, m, self.desugared_name).call(
                    span, m, args[1:], kwargs, n_binders)
        return self.base.call(span, m, args, kwargs, n_binders)


class CastValue(BuiltinFunction):
    """``int(x)``, ``float(x)``, ``bool(x)``, ``str(x)``: no-op on the right type already."""

    def __init__(self, type_: IRType, symbol: str):
        super().__init__(symbol)
        self.type = type_

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        if len(args) == 1 and not kwargs:
            zero = m.insert_constant(0, None)       # TorchScript makes it either way (DCE'd)
            value = args[0].get(m)
            if value.type.is_subtype_of(self.type) and value.type.kind == self.type.kind:
                return SimpleValue(value)
            if self.type.kind == "bool" and (value.type.kind in ("List", "Dict") or
                                             value.type == StringType):
                length = m.emit_builtin_call("aten::len", [NamedValue(span, None, value)], [],
                                             span)
                return SimpleValue(m.emit_builtin_call(
                    "aten::gt", [NamedValue(span, None, length), NamedValue(span, None, zero)],
                    [], span))
        return super().call(span, m, args, kwargs, n_binders)


class TensorCastValue(SugaredValue):
    """``x.float()`` → ``aten::to(x, 6, False, False, None)``."""

    kind = "builtin"

    def __init__(self, dtype_code: int, self_value: NamedValue):
        self.dtype_code = dtype_code
        self.self_value = self_value

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        dtype = m.insert_constant(self.dtype_code, span)
        return SimpleValue(m.emit_builtin_call("aten::to", [NamedValue(span, None, dtype)],
                                               list(kwargs), span, self.self_value))


class NoneValue(SugaredValue):
    kind = "None"


class PrintValue(SugaredValue):
    """``print(a, b)`` → ``prim::Print(%a, %b)``."""

    kind = "print"

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        if kwargs:
            raise error(span, "print doesn't accept any keyword arguments")
        m.insert_node("prim::Print", [a.get(m) for a in args], 0, span)
        return NoneValue()


class RangeValue(SugaredValue):
    """``range(...)``: the loop gets a trip count and derives the index from the counter."""

    kind = "range"

    def __init__(self, span: Optional[Span], m: Any, inputs: List[Value],
                 static_len: Optional[int] = None):
        for i, v in enumerate(inputs):
            if v.type != IntType:
                raise error(span, f"all inputs of range must be ints, found "
                                  f"{v.type.annotation_str()} in argument {i}")
        if not inputs:
            raise error(span, "range expected at least 1 arguments, got 0")
        if len(inputs) > 3:
            raise error(span, f"range expected at most 3 arguments, got {len(inputs)}")
        if len(inputs) == 1:
            self.end = inputs[0]
            self.start = m.insert_constant(0, span)
            self.step = m.insert_constant(1, span)
            self.has_only_end = True
        else:
            self.start, self.end = inputs[0], inputs[1]
            self.step = inputs[2] if len(inputs) == 3 else m.insert_constant(1, span)
            self.has_only_end = False
        self._static_len = static_len

    def iter(self, span: Optional[Span], m: Any) -> SugaredValue:
        return self

    def static_len(self) -> Optional[int]:
        return self._static_len

    def len(self, span: Optional[Span], m: Any) -> Value:
        if self._static_len is not None:
            return m.insert_constant(self._static_len, span)
        if self.has_only_end:
            return self.end
        return m.emit_builtin_call("aten::__range_length", [
            NamedValue(span, None, v) for v in (self.start, self.end, self.step)], [], span)

    def getitem(self, span: Optional[Span], m: Any, idx: Value,
                type_hint: Optional[IRType] = None) -> SugaredValue:
        if self.has_only_end:
            return SimpleValue(idx)
        return SimpleValue(m.emit_builtin_call("aten::__derive_index", [
            NamedValue(span, None, v) for v in (idx, self.start, self.step)], [], span))


class SugaredTupleValue(SugaredValue):
    """A tuple of sugared values (a module list, ``zip`` items): loops over it are unrolled."""

    kind = "Tuple"

    def __init__(self, items: List[SugaredValue]):
        self.items = items

    def as_tuple(self, span: Optional[Span], m: Any,
                 size_hint: Optional[int] = None) -> List[SugaredValue]:
        return list(self.items)

    def as_value(self, span: Optional[Span], m: Any) -> Value:
        return m.create_tuple([item.as_value(span, m) for item in self.items])

    def getitem(self, span: Optional[Span], m: Any, idx: Value,
                type_hint: Optional[IRType] = None) -> SugaredValue:
        index = m.constant_value(idx)
        if not isinstance(index, int) or isinstance(index, bool):
            raise error(span, "Expected integer literal for index. ModuleList/Sequential "
                              "indexing is only supported with integer literals.")
        if index < 0:
            index += len(self.items)
        if not 0 <= index < len(self.items):
            raise error(span, f"Index {index} out of range of length {len(self.items)}")
        return self.items[index]

    def iter(self, span: Optional[Span], m: Any) -> SugaredValue:
        return self

    def static_len(self) -> Optional[int]:
        return len(self.items)


class IterableTree(SugaredValue):
    """``zip(a, b)`` / ``enumerate(a)``: several iterables walked together."""

    kind = "iterabletree"

    def __init__(self) -> None:
        self.children: List[SugaredValue] = []
        self.unroll_length: Optional[int] = None

    def add_child(self, span: Optional[Span], m: Any, child: SugaredValue) -> None:
        length = child.static_len()
        if not self.children:
            self.unroll_length = length
        else:
            if (self.unroll_length is None) != (length is None):
                raise error(span, "Can not iterate over a module list or tuple with a value "
                                  "that does not have a statically determinable length\n")
            if self.unroll_length is not None and length is not None:
                self.unroll_length = min(length, self.unroll_length)
        self.children.append(child)

    def iter(self, span: Optional[Span], m: Any) -> SugaredValue:
        return self

    def static_len(self) -> Optional[int]:
        return self.unroll_length

    def _base_iterables(self) -> List[SugaredValue]:
        out: List[SugaredValue] = []
        for child in self.children:
            out.extend(child._base_iterables() if isinstance(child, IterableTree) else [child])
        return out

    def len(self, span: Optional[Span], m: Any) -> Value:
        lengths = [it.len(span, m) for it in self._base_iterables()]
        lst = m.create_list(IntType, lengths)
        return m.emit_builtin_call("prim::min", [NamedValue(span, None, lst)], [], span)

    def getitem(self, span: Optional[Span], m: Any, idx: Value,
                type_hint: Optional[IRType] = None) -> SugaredValue:
        return SugaredTupleValue([c.getitem(span, m, idx) for c in self.children])


class SpecialForm(SugaredValue):
    """A call with its own evaluation rules (``isinstance``, ``range``, ``annotate``...);
    the emitter handles it by ``form`` name."""

    kind = "special form"

    def __init__(self, form: str, operand: Optional[Value] = None):
        self.form = form
        self.operand = operand


class ExceptionValue(SugaredValue):
    """TorchScript's own ``AssertionError`` (used by ``assert``): the message becomes
    ``"AssertionError: " + str(arg)``, which constant propagation folds for literals."""

    kind = "exception"

    def __init__(self, name: str):
        self.name = name

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        message = m.insert_constant(self.name + ": ", span)
        for arg in args:
            text = arg.get(m)
            if text.type != StringType:
                text = m.insert_op("aten::str", [text], span)
            message = m.insert_op("aten::add", [message, text], span)
        return ExceptionMessageValue(message, None)


class PythonExceptionValue(ExceptionValue):
    """A Python exception class (``ValueError``): the message is the argument as given and
    the class travels as its qualified name (``"builtins.ValueError"``)."""

    def __init__(self, name: str, qualified_name: str):
        super().__init__(name)
        self.qualified_name = qualified_name

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        if not args:
            message = m.insert_constant("", span)
        elif len(args) == 1:
            message = args[0].get(m)
        else:
            message = m.create_tuple([a.get(m) for a in list(args) + list(kwargs)])
        qualified = m.insert_constant(self.qualified_name, span)
        return ExceptionMessageValue(message, qualified)


class ExceptionMessageValue(SugaredValue):
    kind = "exception message"

    def __init__(self, message: Value, qualified_name: Optional[Value]):
        self.message = message
        self.qualified_name = qualified_name


class FunctionValue(SugaredValue):
    """A compiled script function: calls become ``prim::CallFunction``."""

    kind = "function"

    def __init__(self, function: Any):
        self.function = function

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        from .schema_match import match_schema
        fn = self.function
        schema = fn.fn_schema
        matched = match_schema(m, schema, span, args, kwargs)
        callee = m.insert_function_constant(fn)
        node = m.insert_node("prim::CallFunction", [callee] + matched.inputs, 1, span)
        node.output().type = matched.return_types[0]
        return SimpleValue(node.output())


class PythonFunctionValue(SugaredValue):
    """A function left in Python (``@minijit.jit.ignore``): called through ``prim::PythonOp``.

    The signature comes from its annotations (arguments default to Tensor, as in script).
    """

    kind = "python function"

    def __init__(self, fn: Any, schema: Any, bound_self: Optional[Value] = None):
        self.fn = fn
        self.schema = schema
        self.bound_self = bound_self

    def call(self, span: Optional[Span], m: Any, args: Sequence[NamedValue],
             kwargs: Sequence[NamedValue], n_binders: int) -> SugaredValue:
        from .schema_match import match_schema
        matched = match_schema(m, self.schema, span, args, kwargs)
        inputs = ([self.bound_self] if self.bound_self is not None else []) + matched.inputs
        node = m.insert_node("prim::PythonOp", inputs, 1, span)
        node.attrs["name"] = getattr(self.fn, "__name__", "fn")
        node.attrs["python_function"] = self.fn
        node.output().type = matched.return_types[0]
        return SimpleValue(node.output())


class PythonModuleValue(SugaredValue):
    """A Python module (``torch``/``minijit``, ``math``, ``nn.functional``): attributes resolve
    through the resolver, like names in the function's globals."""

    kind = "python module"

    def __init__(self, module: Any):
        self.module = module

    def attr(self, span: Optional[Span], m: Any, field: str) -> SugaredValue:
        try:
            member = getattr(self.module, field)
        except AttributeError:
            raise error(span, f"object has no attribute {field}") from None
        return m.resolver.to_sugared(member, span, m, is_constant=True)

