"""Overload resolution: matching a call's arguments against operator schemas.

``torch.add(x, 1)``, ``x + 1`` and ``n + 1`` all call the kind ``aten::add``; which overload
applies depends on the argument types.  :func:`emit_builtin_call` reads every overload of a
kind from the op registry (``registry.ops_for_kind``: the tensor op's schemas, then the scalar
overloads of ``ops/scalar.py``), plus TorchScript's builtin functions written in script
(:mod:`.builtin_functions`), and tries them in order, first without implicit conversions, then
with them (TorchScript's ``matchSchemas``).  The first match emits the node; if none matches,
the error lists why each variant failed, in PyTorch's words.

Matching one schema (:func:`try_match_schema`) walks its arguments: ``self`` from a method
call, then positionals, then keywords, then defaults (inserted as constants).  A run of
trailing positionals may pack into a list argument (``torch.zeros(3, 4)`` → ``int[] size``),
a lone int fills a broadcasting list (``int[1] dim``), type variables bind (``t[]`` for any
list), and with conversions a Tensor may become an int (``aten::IntImplicit``).

minijit's registry has no ``Scalar`` overloads for tensor ops (``add.Scalar``): a Python number
passed where a tensor op wants a Tensor is accepted as a wrapped number, which is how eager
dispatch treats it too (Note [Wrapped numbers]).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ...ops.registry import Tag, ops_for_kind
from ...ops.schema import NO_DEFAULT, Schema, split_top_level
from ..ir.graph import Value
from ..ir.types import (AnyType, BoolType, DeviceType, DictType, FloatType, IntType, IRType,
                        ListType, NoneType, NumberType, OptionalType, PrimType, StringType,
                        TensorType, TupleType, unify)
from .errors import Span, error

__all__ = ["FnArg", "FnSchema", "NamedValue", "MatchedSchema", "typed_schema",
           "try_match_schema", "match_schema", "match_schemas", "VarType", "INFERRED_TENSOR",
           "try_convert_to_type", "parse_type"]

GeneratorType = PrimType("Generator")

# A parameter without annotation is a Tensor "by inference": same type, but error messages
# add a hint (``Inferred the value for argument ... to be of type 'Tensor'``).
INFERRED_TENSOR = TensorType()


class VarType(IRType):
    """A schema type variable (``t`` in ``len.t(t[] a)``), bound per call."""

    __slots__ = ("name",)
    kind = "VarType"

    def __init__(self, name: str):
        self.name = name

    def _key(self) -> Tuple:
        return (self.kind, self.name)

    def __str__(self) -> str:
        return self.name


class FnArg:
    """One formal argument: name, IR type, broadcast length ``N`` (``int[2]``), default."""

    __slots__ = ("name", "type", "N", "default", "kwarg_only")

    def __init__(self, name: str, type_: IRType, N: Optional[int] = None,
                 default: Any = NO_DEFAULT, kwarg_only: bool = False):
        self.name = name
        self.type = type_
        self.N = N
        self.default = default
        self.kwarg_only = kwarg_only

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


class FnSchema:
    """A schema with IR types: a registry op's overload, or a compiled function's signature.

    ``source`` is the registry :class:`~minijit.ops.schema.Schema` (stored on emitted nodes so
    the printers and the interpreter know the overload), ``text`` is what errors print.
    """

    __slots__ = ("name", "arguments", "returns", "text", "source", "is_aten", "builtin",
                 "is_vararg")

    def __init__(self, name: str, arguments: List[FnArg], returns: List[IRType], text: str,
                 source: Optional[Schema] = None):
        self.name = name
        self.arguments = arguments
        self.returns = returns
        self.text = text
        self.source = source
        self.is_aten = name.startswith("aten::")
        self.builtin: Any = None          # a TorchScript builtin function to inline
        self.is_vararg = False            # extra positionals allowed (``aten::format``)

    def argument_index(self, name: str) -> Optional[int]:
        for i, a in enumerate(self.arguments):
            if a.name == name:
                return i
        return None


# ---- schema type strings → IR types -------------------------------------------------------------
_BASE_TYPES = {"Tensor": TensorType.get(), "Scalar": NumberType, "int": IntType,
               "SymInt": IntType, "float": FloatType, "bool": BoolType, "str": StringType,
               "ScalarType": IntType, "Layout": IntType, "MemoryFormat": IntType,
               "Device": DeviceType, "Generator": GeneratorType, "Any": AnyType,
               "None": NoneType, "number": NumberType}
_SUFFIX = re.compile(r"(\[\d*\]|\?)$")


def parse_type(text: str) -> Tuple[IRType, Optional[int]]:
    """``"int[1]?"`` → (``Optional[List[int]]``, 1); ``"Dict(str, t)"`` → Dict(str, t)."""
    text = text.strip()
    match = _SUFFIX.search(text)
    if match:
        inner, n = parse_type(text[:match.start()])
        suffix = match.group(1)
        if suffix == "?":
            return OptionalType(inner), n
        length = suffix[1:-1]
        return ListType(inner), (int(length) if length else None)
    if text.startswith("Dict(") and text.endswith(")"):
        key, value = [part.strip() for part in text[5:-1].split(",", 1)]
        return DictType(parse_type(key)[0], parse_type(value)[0]), None
    if text in _BASE_TYPES:
        return _BASE_TYPES[text], None
    if re.fullmatch(r"t\d*", text):
        return VarType(text), None
    raise ValueError(f"minijit's scripter cannot read the schema type {text!r}")


_TYPED: Dict[int, FnSchema] = {}


_ALIAS = re.compile(r"\([a-z]+!?(?: -> \*)?\)")


def _argument_types(text: str) -> List[str]:
    """The argument type spellings of a schema text, alias annotations removed.

    Read from the text rather than from :class:`~minijit.ops.schema.Argument` because the
    scripter needs the full spelling of container types (``Dict(str, t)``).
    """
    start = text.index("(")
    depth, end = 0, start
    for i in range(start, len(text)):
        depth += text[i] == "("
        depth -= text[i] == ")"
        if depth == 0:
            end = i
            break
    types = []
    for part in split_top_level(text[start + 1:end]):
        if part == "*":
            continue
        head = part.split("=", 1)[0].strip()
        types.append(_ALIAS.sub("", head.rsplit(" ", 1)[0]))
    return types


def typed_schema(schema: Schema) -> FnSchema:
    """The :class:`FnSchema` of a registry schema (made once per schema)."""
    found = _TYPED.get(id(schema))
    if found is not None:
        return found
    args = []
    for a, spelled in zip(schema.arguments, _argument_types(schema.text)):
        type_, n = parse_type(spelled)
        default = a.default
        args.append(FnArg(a.name, type_, n, default, a.kwarg_only))
    returns = [parse_type(r)[0] for r in schema.returns]
    from ...ops.scalar import DISPLAY_TEXTS, VARARG_SCHEMAS
    fn = FnSchema(schema.kind, args, returns, DISPLAY_TEXTS.get(schema.text, schema.text), schema)
    fn.is_vararg = any(schema is s for s in VARARG_SCHEMAS)
    _TYPED[id(schema)] = fn
    return fn


# ---- values at a call site ---------------------------------------------------------------------
class NamedValue:
    """An actual argument: an IR value or a Python constant (a default, inserted on use)."""

    __slots__ = ("span", "name", "value", "constant", "has_constant")

    def __init__(self, span: Optional[Span], name: Optional[str], value: Optional[Value] = None,
                 constant: Any = NO_DEFAULT):
        self.span = span
        self.name = name
        self.value = value
        self.constant = constant
        self.has_constant = constant is not NO_DEFAULT

    def type(self) -> IRType:
        if self.value is not None:
            return self.value.type
        from ..ir.constants import constant_type
        return constant_type(self.constant)

    def get(self, emitter: Any, formal: Optional[IRType] = None) -> Value:
        if self.value is None:
            self.value = emitter.insert_constant(self.constant, None, formal)
        return self.value


class MatchedSchema:
    __slots__ = ("inputs", "return_types", "schema")

    def __init__(self, inputs: List[Value], return_types: List[IRType], schema: FnSchema):
        self.inputs = inputs
        self.return_types = return_types
        self.schema = schema


# ---- types: subtyping, type variables, conversions ----------------------------------------------
def is_subtype(actual: IRType, formal: IRType) -> bool:
    """TorchScript's ``isSubtypeOf`` (lists and dicts are invariant, tuples covariant)."""
    if isinstance(formal, OptionalType) and isinstance(actual, OptionalType):
        return is_subtype(actual.elem, formal.elem)
    if isinstance(formal, OptionalType):
        return actual.kind == "NoneType" or is_subtype(actual, formal.elem)
    if isinstance(formal, TupleType) and isinstance(actual, TupleType):
        return len(formal.elems) == len(actual.elems) and all(
            is_subtype(a, f) for a, f in zip(actual.elems, formal.elems))
    if isinstance(formal, ListType) and isinstance(actual, ListType):
        return actual.elem == formal.elem
    return actual.is_subtype_of(formal)


def match_type_variables(formal: IRType, actual: IRType, env: Dict[str, IRType]) -> Optional[str]:
    """Bind type variables of ``formal`` from ``actual``; returns an error reason or None."""
    if isinstance(formal, VarType):
        bound = env.get(formal.name)
        if bound is None:
            env[formal.name] = actual
            return None
        merged = unify(bound, actual)
        if merged is None:
            return (f"Type variable '{formal.name}' previously matched to type "
                    f"{bound.annotation_str()} is matched to type {actual.annotation_str()}")
        env[formal.name] = merged
        return None
    if isinstance(formal, ListType):
        if isinstance(actual, ListType):
            return match_type_variables(formal.elem, actual.elem, env)
        if isinstance(actual, TupleType) and actual.elems:
            for e in actual.elems:
                reason = match_type_variables(formal.elem, e, env)
                if reason:
                    return reason
            return None
        if _has_vars(formal):
            return f"Cannot match {formal.annotation_str()} to {actual.annotation_str()}"
        return None
    if isinstance(formal, DictType):
        if isinstance(actual, DictType):
            return match_type_variables(formal.key, actual.key, env) or \
                match_type_variables(formal.value, actual.value, env)
        if _has_vars(formal):
            return "Cannot match a dict to " + actual.annotation_str()
        return None
    if isinstance(formal, OptionalType):
        if isinstance(actual, OptionalType):
            return match_type_variables(formal.elem, actual.elem, env)
        if actual.kind == "NoneType":
            return None
        return match_type_variables(formal.elem, actual, env)
    if isinstance(formal, TupleType) and isinstance(actual, TupleType):
        for f, a in zip(formal.elems, actual.elems):
            reason = match_type_variables(f, a, env)
            if reason:
                return reason
    return None


def _has_vars(t: IRType) -> bool:
    return isinstance(t, VarType) or any(_has_vars(c) for c in t.contained_types())


def eval_type_variables(t: IRType, env: Dict[str, IRType]) -> Optional[IRType]:
    if isinstance(t, VarType):
        return env.get(t.name)
    if isinstance(t, ListType):
        e = eval_type_variables(t.elem, env)
        return None if e is None else ListType(e)
    if isinstance(t, OptionalType):
        e = eval_type_variables(t.elem, env)
        return None if e is None else OptionalType(e)
    if isinstance(t, DictType):
        k, v = eval_type_variables(t.key, env), eval_type_variables(t.value, env)
        return None if k is None or v is None else DictType(k, v)
    if isinstance(t, TupleType):
        elems = [eval_type_variables(e, env) for e in t.elems]
        return None if any(e is None for e in elems) else TupleType(elems)  # type: ignore
    return t


def _unwrap_optional(t: IRType) -> IRType:
    return t.elem if isinstance(t, OptionalType) else t


def convertible_to_list(t: IRType, list_type: IRType) -> bool:
    if not isinstance(list_type, ListType):
        return False
    if is_subtype(t, list_type):
        return True
    if isinstance(t, TupleType):
        return all(is_subtype(e, list_type.elem) for e in t.elems)
    return False


def try_convert_to_type(emitter: Any, span: Optional[Span], concrete: IRType, value: Value,
                        allow_conversions: bool) -> Value:
    """TorchScript's ``tryConvertToType``: implicit conversions a value may undergo."""
    if isinstance(concrete, OptionalType) and not isinstance(value.type, OptionalType) \
            and value.type.kind != "NoneType":
        return try_convert_to_type(emitter, span, concrete.elem, value, allow_conversions)
    if isinstance(value.type, TupleType):
        target = _unwrap_optional(concrete)
        if convertible_to_list(value.type, target):
            items = emitter.tuple_unpack(value)
            value = emitter.create_list(target.elem, items)        # type: ignore[attr-defined]
        if isinstance(concrete, TupleType) and not is_subtype(value.type, concrete) and \
                len(concrete.elems) == len(value.type.elems):     # type: ignore[attr-defined]
            items = emitter.tuple_unpack(value)
            value = emitter.create_tuple([
                try_convert_to_type(emitter, span, t, v, allow_conversions)
                for t, v in zip(concrete.elems, items)])
    if allow_conversions:
        is_tensor = isinstance(value.type, TensorType)
        is_number = value.type == NumberType
        if is_tensor or is_number:
            kind = None
            if concrete == FloatType:
                kind = "aten::FloatImplicit" if is_tensor else "aten::Float"
            elif concrete == IntType:
                kind = "aten::IntImplicit" if is_tensor else "aten::Int"
            elif concrete == NumberType and is_tensor:
                kind = "aten::ScalarImplicit"
            if kind is not None:
                value = emitter.insert_op(kind, [value], span)
        if value.type == StringType and concrete == DeviceType:
            return emitter.insert_op("aten::device", [value], span)
    return value


# Note [Wrapped numbers]
#     PyTorch registers ``add.Scalar(Tensor self, Scalar other)`` next to
#     ``add.Tensor(Tensor self, Tensor other)``; minijit registers one overload per tensor op
#     and lets eager dispatch wrap Python numbers.  The matcher mirrors that: a number may stand
#     for a Tensor argument of a registry tensor op.  Without conversions this is allowed only
#     after the first argument (``x + 1`` matches ``add``, ``1 + x`` goes on to the script
#     builtin ``add(Scalar a, Tensor b)``, as in PyTorch); with conversions, anywhere.
def _wrapped_number(fn: FnSchema, index: int, actual: IRType, formal: IRType,
                    allow_conversions: bool) -> bool:
    if fn.source is None or not isinstance(_unwrap_optional(formal), TensorType):
        return False
    if actual.kind not in ("int", "float", "bool", "Scalar"):
        return False
    if index == 0 and not allow_conversions:
        return False
    return any(Tag.SCALAR not in op.tags and fn.source in op.schemas
               for op in ops_for_kind(fn.name))


def _type_mismatch(arg: FnArg, actual: IRType) -> str:
    return (f"Expected a value of type '{arg.type.annotation_str()}' for argument '{arg.name}' "
            f"but instead found type '{actual.annotation_str()}'.\n")


def _try_match_argument(emitter: Any, fn: FnSchema, index: int, arg: FnArg, span: Optional[Span],
                        actual: NamedValue, failures: Optional[List[str]], err: Callable,
                        allow_conversions: bool, env: Dict[str, IRType]) -> Optional[Value]:
    value = actual.get(emitter, _unwrap_optional(arg.type))
    unwrapped = _unwrap_optional(arg.type)
    if value.type in (IntType, FloatType) and isinstance(unwrapped, ListType) and \
            unwrapped.elem == value.type and arg.N:
        value = emitter.create_list(value.type, [value] * arg.N)
    reason = match_type_variables(arg.type, value.type, env)
    if reason is not None:
        if failures is not None:
            err(f"Could not match type {value.type.annotation_str()} to "
                f"{arg.type.annotation_str()} in argument '{arg.name}': {reason}.\n")
        return None
    concrete = eval_type_variables(arg.type, env)
    if concrete is None:
        if failures is not None:
            err(f"Type variables in type {arg.type.annotation_str()} could not be inferred from "
                f"actual type {value.type.annotation_str()}")
        return None
    value = try_convert_to_type(emitter, span, concrete, value, allow_conversions)
    if is_subtype(value.type, concrete) or \
            _wrapped_number(fn, index, value.type, concrete, allow_conversions):
        return value
    if failures is not None:
        text = _type_mismatch(arg, value.type)
        if value.type is INFERRED_TENSOR:
            text += (f"Inferred the value for argument '{arg.name}' to be of type 'Tensor' "
                     "because it was not annotated with an explicit type.\n")
        if isinstance(value.type, ListType) and isinstance(value.type.elem, TensorType):
            text += ("Empty lists default to List[Tensor]. Add a variable annotation to the "
                     "assignment to create an empty list of another type "
                     "(torch.jit.annotate(List[T, []]) where T is the type of elements in the "
                     "list for Python 2)\n")
        err(text)
    return None


def _varargs_can_be_list(fn: FnSchema, i: int, arg: FnArg) -> bool:
    is_last = i + 1 == len(fn.arguments) or fn.arguments[i + 1].kwarg_only
    t = arg.type
    is_list = isinstance(t, ListType)
    typevar_list = is_list and isinstance(t.elem, VarType)          # type: ignore[attr-defined]
    return is_last and is_list and not arg.N and not typevar_list


def try_match_schema(emitter: Any, fn: FnSchema, span: Optional[Span], args: Sequence[NamedValue],
                     kwargs: Sequence[NamedValue], self_value: Optional[NamedValue],
                     failures: Optional[List[str]],
                     allow_conversions: bool) -> Optional[MatchedSchema]:
    """Match one schema; on failure return None and (if given) append the reason."""
    def err(message: str) -> None:
        failures.append(f"\n{fn.text}:\n{message}")                  # type: ignore[union-attr]

    env: Dict[str, IRType] = {}
    inputs: List[Value] = []
    used_kwargs = [False] * len(kwargs)
    used_args = 0
    for i, arg in enumerate(fn.arguments):
        actual: Optional[NamedValue] = None
        if arg.name == "self" and self_value is not None:
            actual, self_value = self_value, None
        elif not arg.kwarg_only and used_args < len(args):
            if allow_conversions and _varargs_can_be_list(fn, i, arg):
                first = args[used_args].get(emitter)
                if not isinstance(first.type, ListType) and \
                        not convertible_to_list(first.type, _unwrap_optional(arg.type)):
                    elem = arg.type.elem                               # type: ignore
                    items = []
                    for nv in args[used_args:]:
                        v = _try_match_argument(emitter, fn, -1, FnArg("<varargs>", elem), span,
                                                nv, failures, err, allow_conversions, env)
                        if v is None:
                            return None
                        items.append(v)
                    used_args = len(args)
                    inputs.append(emitter.create_list(elem, items))
                    continue
            actual = args[used_args]
            used_args += 1
        else:
            found = _find_kwarg(arg.name, kwargs, fn.is_aten)
            if found is not None:
                if used_kwargs[found]:
                    if failures is not None:
                        err(f"Argument {kwargs[found].name} specified twice in schema, submit "
                            "a bug report!\n")
                    return None
                used_kwargs[found] = True
                actual = kwargs[found]
            elif arg.has_default:
                default = arg.default
                actual = NamedValue(None, None, constant=list(default)
                                    if isinstance(default, list) else default)
            else:
                if failures is not None:
                    err(f"Argument {arg.name} not provided.\n")
                return None
        value = _try_match_argument(emitter, fn, i, arg, span, actual, failures, err,
                                    allow_conversions, env)
        if value is None:
            return None
        inputs.append(value)
    if self_value is not None and failures is not None:
        err("Provided self argument not used in schema.\n")
    if fn.is_vararg:
        inputs.extend(nv.get(emitter) for nv in args[used_args:])
        used_args = len(args)
    if used_args < len(args):
        if failures is not None:
            err(f"Expected at most {used_args} arguments but found {len(args)} positional "
                "arguments.\n")
        return None
    for i, nv in enumerate(kwargs):
        if not used_kwargs[i]:
            if failures is not None:
                if fn.argument_index(nv.name) is None:                 # type: ignore[arg-type]
                    err(f"Keyword argument {nv.name} unknown.\n")
                else:
                    err(f"Keyword argument {nv.name} specified twice.\n")
            return None
    returns = []
    for r in fn.returns:
        t = eval_type_variables(r, env)
        returns.append(t if t is not None else TensorType.get())
    return MatchedSchema(inputs, returns, fn)


def _find_kwarg(name: str, kwargs: Sequence[NamedValue], is_aten: bool) -> Optional[int]:
    for i, nv in enumerate(kwargs):
        if is_aten and name == "self" and nv.name == "input":
            return i
        if nv.name == name:
            return i
    return None


def match_schema(emitter: Any, fn: FnSchema, span: Optional[Span], args: Sequence[NamedValue],
                 kwargs: Sequence[NamedValue],
                 self_value: Optional[NamedValue] = None) -> MatchedSchema:
    """Match a single schema (conversions allowed) or raise with the reason."""
    failures: List[str] = []
    matched = try_match_schema(emitter, fn, span, args, kwargs, self_value, failures, True)
    if matched is None:
        raise error(span, "".join(failures))
    return matched


def _prefix_lines(text: str, prefix: str) -> str:
    out, was_newline = [], True
    for ch in text:
        if was_newline:
            out.append(prefix)
        out.append(ch)
        was_newline = ch == "\n"
    return "".join(out)


def match_schemas(emitter: Any, schemas: Sequence[FnSchema], span: Optional[Span],
                  args: Sequence[NamedValue], kwargs: Sequence[NamedValue],
                  self_value: Optional[NamedValue] = None) -> Tuple[int, MatchedSchema]:
    """Try every schema without conversions, then with; raise listing all failures."""
    if len(schemas) == 1:
        return 0, match_schema(emitter, schemas[0], span, args, kwargs, self_value)
    for allow in (False, True):
        for i, fn in enumerate(schemas):
            matched = try_match_schema(emitter, fn, span, args, kwargs, self_value, None, allow)
            if matched is not None:
                return i, matched
    failures: List[str] = []
    for allow in (False, True):
        failures = []
        for fn in schemas:
            try_match_schema(emitter, fn, span, args, kwargs, self_value, failures, allow)
    raise error(span, "Arguments for call are not valid.\nThe following variants are available:\n"
                + _prefix_lines("".join(failures), "  ") + "\nThe original call is")


def builtin_schemas(kind: str) -> List[FnSchema]:
    """Every registry overload of ``kind`` as typed schemas (tensor ops first)."""
    return [typed_schema(s) for op in ops_for_kind(kind) for s in op.schemas]
