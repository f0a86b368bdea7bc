"""Ops on Python values: what compiled code runs for ``i + 1``, ``len(xs)`` or ``int(t)``.

TorchScript types every value, so ``n + 1`` on an ``int`` is a node of its own,
``aten::add.int(int a, int b) -> int``, and ``xs.append(x)`` is ``aten::append.t``.  These are
registered here, one :class:`~minijit.ops.registry.OpInfo` per overload, tagged
``Tag.SCALAR`` (Note [Scalar ops] in ``registry.py``): the scripter picks among them by
matching schemas, exactly as it does for tensor ops, and the interpreter runs their ``impl``
on plain Python values.  ``impl(xp, *args)`` ignores ``xp``: there are no arrays here.

Schemas use TorchScript's spelling, including the type variable ``t`` (``len.t(t[] a)`` works
for any list) and the overload names (``int_float``) that make the schema text match
PyTorch's error messages.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable, Dict, Iterable, List, Sequence

from .registry import OpInfo, Tag, register

__all__ = ["VARARG_SCHEMAS"]

_TAGS = (Tag.SCALAR, Tag.NONDIFF)
_MUTATING = {"append.t", "_set_item.t", "_set_item.str", "_set_item.int", "pop.t", "insert.t",
             "extend.t", "clear.t", "prim.RaiseException", "warn"}


VARARG_SCHEMAS: List[Any] = []   # schemas that take extra positional arguments (``...``)


def _def(name: str, schema: str, fn: Callable, tags: Iterable[Tag] = ()) -> OpInfo:
    """Register one overload; ``name`` is its unique registry key (``"add.int"``).

    Overloads that change their first argument (``append``) carry ``Tag.INPLACE``, so passes
    never treat them as pure.  A schema ending in ``...`` (``aten::format(str self, ...)``)
    accepts any number of extra positional arguments.
    """
    if name in _MUTATING:
        tags = tuple(tags) + (Tag.INPLACE,)
    vararg = ", ...)" in schema
    kind = schema.split("(", 1)[0].split(".", 1)[0]
    op = OpInfo(name, [schema.replace(", ...)", ")")], lambda xp, *args: fn(*args),
                tags=_TAGS + tuple(tags), method=False, function=False, kind=kind)
    if vararg:
        VARARG_SCHEMAS.append(op.schema)
    return register(op)


# ---- arithmetic and comparison on numbers -------------------------------------------------------
_NUMERIC = (("int", "int", "int"), ("float", "float", "float"),
            ("int_float", "int", "float"), ("float_int", "float", "int"))


def _binary(op: str, fn: Callable, result: str = "", mixed: bool = True) -> None:
    """``aten::<op>.int/.float/.int_float/.float_int`` and the ``Scalar`` catch-all.

    ``result`` fixes the result type (``bool`` for comparisons, ``float`` for ``div``);
    otherwise it is ``int`` for two ints and ``float`` as soon as one side is a float.
    """
    for overload, a, b in (_NUMERIC if mixed else _NUMERIC[:2]):
        out = result or ("int" if a == b == "int" else "float")
        _def(f"{op}.{overload}", f"aten::{op}.{overload}({a} a, {b} b) -> {out}", fn)
    _def(f"{op}.Scalar_Scalar", f"aten::{op}(Scalar a, Scalar b) -> {result or 'Scalar'}", fn)


def _true_div(a: Any, b: Any) -> float:
    return a / b


def _int_pow(a: Any, b: Any) -> float:
    return float(a) ** b


# (list and string ``add`` first: PyTorch registers them before the number overloads, and
# compile errors list overloads in registration order)
_def("add.t", "aten::add.t(t[] a, t[] b) -> t[]", operator.add)
_def("add.str", "aten::add.str(str a, str b) -> str", operator.add)
_binary("add", operator.add)
_binary("sub", operator.sub)
_binary("mul", operator.mul)
_binary("div", _true_div, "float", mixed=False)     # int / float goes to div(Scalar, Scalar)
_binary("floordiv", operator.floordiv)
_binary("remainder", operator.mod)
for _name, _fn in (("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt),
                   ("le", operator.le), ("gt", operator.gt), ("ge", operator.ge)):
    _binary(_name, _fn, "bool")
    _def(f"{_name}.str", f"aten::{_name}.str(str a, str b) -> bool", _fn)
_def("eq.bool", "aten::eq.bool(bool a, bool b) -> bool", operator.eq)
_def("ne.bool", "aten::ne.bool(bool a, bool b) -> bool", operator.ne)
_def("pow.int", "aten::pow.int(int a, int b) -> float", _int_pow)
_def("pow.float", "aten::pow.float(float a, float b) -> float", operator.pow)
_def("pow.int_float", "aten::pow.int_float(int a, float b) -> float", operator.pow)
_def("pow.float_int", "aten::pow.float_int(float a, int b) -> float", operator.pow)
_def("neg.int", "aten::neg.int(int a) -> int", operator.neg)
_def("neg.float", "aten::neg.float(float a) -> float", operator.neg)
for _name, _fn in (("__and__", operator.and_), ("__or__", operator.or_),
                   ("__xor__", operator.xor)):
    _def(f"{_name}.bool", f"aten::{_name}.bool(bool a, bool b) -> bool", _fn)
    _def(f"{_name}.int", f"aten::{_name}.int(int a, int b) -> int", _fn)
_def("__lshift__.int", "aten::__lshift__.int(int a, int b) -> int", operator.lshift)
_def("__rshift__.int", "aten::__rshift__.int(int a, int b) -> int", operator.rshift)
_def("__not__", "aten::__not__(bool self) -> bool", operator.not_)
_def("__is__", "aten::__is__(t1 self, t2 obj) -> bool", operator.is_)
_def("__isnot__", "aten::__isnot__(t1 self, t2 obj) -> bool", operator.is_not)
_def("floor.float", "aten::floor.float(float a) -> int", math.floor)
_def("ceil.float", "aten::ceil.float(float a) -> int", math.ceil)
for _name, _fn in (("max", max), ("min", min)):
    _def(f"prim.{_name}.int", f"prim::{_name}.int(int a, int b) -> int", _fn)
    _def(f"prim.{_name}.float", f"prim::{_name}.float(float a, float b) -> float", _fn)
    _def(f"prim.{_name}.int_float", f"prim::{_name}.int_float(int a, float b) -> float", _fn)
    _def(f"prim.{_name}.float_int", f"prim::{_name}.float_int(float a, int b) -> float", _fn)
    _def(f"prim.{_name}.self_int", f"prim::{_name}.self_int(int[] self) -> int", _fn)
_def("prim.abs.int", "prim::abs.int(int a) -> int", abs)
_def("prim.abs.float", "prim::abs.float(float a) -> float", abs)


# ---- conversions --------------------------------------------------------------------------------
def _item(x: Any) -> Any:
    """A Python number from a tensor (one element) or the number itself."""
    return x.item() if hasattr(x, "item") and not isinstance(x, (int, float, bool)) else x


_def("Bool.Tensor", "aten::Bool.Tensor(Tensor a) -> bool", lambda a: bool(_item(a)))
_def("Bool.int", "aten::Bool.int(int a) -> bool", bool)
_def("Bool.float", "aten::Bool.float(float a) -> bool", bool)
_def("Int.Tensor", "aten::Int.Tensor(Tensor a) -> int", lambda a: int(_item(a)))
_def("Int.bool", "aten::Int.bool(bool a) -> int", int)
_def("Int.float", "aten::Int.float(float a) -> int", int)
_def("Int.Scalar", "aten::Int.Scalar(Scalar a) -> int", int)
_def("Int.str", "aten::Int.str(str a) -> int", int)
_def("Float.Tensor", "aten::Float.Tensor(Tensor a) -> float", lambda a: float(_item(a)))
_def("Float.Scalar", "aten::Float.Scalar(Scalar a) -> float", float)
_def("Float.int", "aten::Float.int(int a) -> float", float)
_def("Float.bool", "aten::Float.bool(bool a) -> float", float)
_def("Float.str", "aten::Float.str(str a) -> float", float)
_def("IntImplicit", "aten::IntImplicit(Tensor a) -> int", lambda a: int(_item(a)))
_def("FloatImplicit", "aten::FloatImplicit(Tensor a) -> float", lambda a: float(_item(a)))
_def("ScalarImplicit", "aten::ScalarImplicit(Tensor a) -> Scalar", _item)
_def("item", "aten::item(Tensor self) -> Scalar", _item)      # scripted ``x.item()``


def _script_str(x: Any) -> str:
    """``str(x)`` as TorchScript spells Python values (``True``, ``1.5``, ``[1, 2]``)."""
    return str(x)


_def("str", "aten::str(t elem) -> str", _script_str)


def _num_to_tensor(x: Any) -> Any:
    from .creation import tensor
    return tensor(x)


_def("prim.NumToTensor", "prim::NumToTensor.Scalar(Scalar a) -> Tensor", _num_to_tensor)


# ---- tensor metadata ----------------------------------------------------------------------------
def _size(x: Any, dim: Any = None) -> Any:
    return list(x.shape) if dim is None else x.size(dim)


_def("size", "aten::size(Tensor self) -> int[]", _size)
_def("size.int", "aten::size.int(Tensor self, int dim) -> int", _size)
_def("dim", "aten::dim(Tensor self) -> int", lambda x: x.dim())
_def("numel", "aten::numel(Tensor self) -> int", lambda x: x.numel())
_def("prim.device", "prim::device(Tensor a) -> Device", lambda x: x.device)
_def("prim.dtype", "prim::dtype(Tensor a) -> int", lambda x: x.dtype.code)
_def("prim.requires_grad", "prim::requires_grad(Tensor a) -> bool", lambda x: x.requires_grad)
_def("prim.is_cuda", "prim::is_cuda(Tensor a) -> bool", lambda x: x.device.type == "cuda")


# ---- lists, dicts and strings -------------------------------------------------------------------
def _append(lst: list, x: Any) -> list:
    lst.append(x)
    return lst


def _set_item(container: Any, index: Any, value: Any) -> Any:
    container[index] = value
    return container


def _set_dict_item(container: dict, key: Any, value: Any) -> None:
    container[key] = value


def _pop(lst: list, index: int = -1) -> Any:
    return lst.pop(index)


def _extend(lst: list, other: Sequence) -> None:
    lst.extend(other)


def _insert(lst: list, index: int, x: Any) -> None:
    lst.insert(index, x)


def _clear(lst: list) -> None:
    lst.clear()


_def("len.t", "aten::len.t(t[] a) -> int", len)
_def("len.Tensor", "aten::len.Tensor(Tensor t) -> int", len)
_def("len.str", "aten::len.str(str s) -> int", len)
_def("len.Dict_str", "aten::len.Dict_str(Dict(str, t) self) -> int", len)
_def("len.Dict_int", "aten::len.Dict_int(Dict(int, t) self) -> int", len)
_def("append.t", "aten::append.t(t[] self, t el) -> t[]", _append)
_def("__getitem__.t", "aten::__getitem__.t(t[] list, int idx) -> t", operator.getitem)
_def("__getitem__.str", "aten::__getitem__.str(str s, int index) -> str", operator.getitem)
_def("__getitem__.Dict_str", "aten::__getitem__.Dict_str(Dict(str, t) self, str key) -> t",
     operator.getitem)
_def("__getitem__.Dict_int", "aten::__getitem__.Dict_int(Dict(int, t) self, int key) -> t",
     operator.getitem)
_def("_set_item.t", "aten::_set_item.t(t[] l, int idx, t el) -> t[]", _set_item)
_def("_set_item.str", "aten::_set_item.str(Dict(str, t) l, str idx, t v) -> ()",
     _set_dict_item)
_def("_set_item.int", "aten::_set_item.int(Dict(int, t) l, int idx, t v) -> ()",
     _set_dict_item)
_def("keys.str", "aten::keys.str(Dict(str, t) self) -> str[]", lambda d: list(d.keys()))
_def("values.str", "aten::values.str(Dict(str, t) self) -> t[]", lambda d: list(d.values()))
_def("list.t", "aten::list.t(t[] l) -> t[]", list)
_def("slice.str", "aten::slice.str(str string, int? start=None, int? end=None, int step=1) -> str",
     lambda s, start, end, step: s[start:end:step])
_def("sum.int", "aten::sum.int(int[] self) -> int", sum)
_def("sum.float", "aten::sum.float(float[] self) -> float", lambda xs: float(sum(xs)))
_def("sum.bool", "aten::sum.bool(bool[] self) -> int", lambda xs: int(sum(xs)))
_def("slice.t", "aten::slice.t(t[] l, int? start=None, int? end=None, int step=1) -> t[]",
     lambda lst, start, end, step: lst[start:end:step])
for _elem in ("int", "float", "str", "bool"):
    _def(f"eq.{_elem}_list", f"aten::eq.{_elem}_list({_elem}[] a, {_elem}[] b) -> bool",
         operator.eq)
    _def(f"ne.{_elem}_list", f"aten::ne.{_elem}_list({_elem}[] a, {_elem}[] b) -> bool",
         operator.ne)


def _format(fmt: str, *args: Any) -> str:
    """``"{} and {}".format(a, b)``: TorchScript prints each argument as ``str`` does."""
    return fmt.format(*[_script_str(a) for a in args])


def _warn(message: str, stacklevel: int = 2) -> None:
    import warnings
    warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)


_def("format", "aten::format(str self, ...) -> str", _format)
_def("warn", "aten::warn(str message, int stacklevel=2) -> ()", _warn)
_def("pop.t", "aten::pop.t(t[] self, int idx=-1) -> t", _pop)
_def("insert.t", "aten::insert.t(t[] self, int idx, t el) -> ()", _insert)
_def("extend.t", "aten::extend.t(t[] self, t[] other) -> ()", _extend)
_def("clear.t", "aten::clear.t(t[] self) -> ()", _clear)
_def("__contains__.int_list", "aten::__contains__.int_list(int[] l, int item) -> bool",
     operator.contains)
_def("__contains__.str_list", "aten::__contains__.str_list(str[] l, str item) -> bool",
     operator.contains)
_def("__contains__.str", "aten::__contains__.str(Dict(str, t) dict, str key) -> bool",
     operator.contains)


# ---- exceptions ----------------------------------------------------------------------------------
class ScriptRaise(Exception):
    """What ``prim::RaiseException`` raises inside compiled code; the interpreter turns it into
    the user-facing error (``torch.jit.Error`` in PyTorch)."""

    def __init__(self, message: str, qualified_name: Any = None):
        super().__init__(message)
        self.qualified_name = qualified_name


def _raise(message: str, qualified_name: Any = None) -> None:
    raise ScriptRaise(message, qualified_name)


_def("prim.RaiseException", "prim::RaiseException(str msg, str? cls=None) -> ()", _raise)


# ---- for-loop helpers (range with start and step) -----------------------------------------------
def _range_length(lo: int, hi: int, step: int) -> int:
    if step == 0:
        raise RuntimeError("range() arg 3 must not be zero")
    if step > 0 and lo < hi:
        return 1 + (hi - 1 - lo) // step
    if step < 0 and lo > hi:
        return 1 + (lo - 1 - hi) // (-step)
    return 0


_def("__range_length", "aten::__range_length(int lo, int hi, int step) -> int", _range_length)
_def("__derive_index", "aten::__derive_index(int index, int start, int step) -> int",
     lambda index, start, step: start + index * step)



# ---- string methods (``s.upper()`` is ``aten::upper(str self)``) ---------------------------------
def _span(s: str, start: int, end: int) -> slice:
    """TorchScript's ``start``/``end`` for string searches: negatives count from the end and
    ``end=-1`` means the end of the string (not its last character, as in Python)."""
    n = len(s)
    if start < 0:
        start = max(0, start + n)
    if end < 0:
        end = max(0, end + n + 1)
    return slice(start, end)


_WS = r" \n\t\f\v"
for _name in ("upper", "lower", "capitalize", "title", "swapcase"):
    _def(f"{_name}.str_method", f"aten::{_name}(str self) -> str", getattr(str, _name))
for _name in ("isdigit", "isalpha", "isspace", "isupper", "islower", "isalnum"):
    _def(f"{_name}.str_method", f"aten::{_name}(str self) -> bool", getattr(str, _name))
for _name in ("strip", "lstrip", "rstrip"):
    _op = _def(f"{_name}.str_method", f'aten::{_name}(str self, str chars="{_WS}") -> str',
               getattr(str, _name))
    # the schema parser keeps ``\n`` as two characters; the default is the real whitespace
    _op.schema.arguments[1].default = " \n\t\f\v"
for _name in ("startswith", "endswith"):
    _def(f"{_name}.str_method",
         f"aten::{_name}(str self, str substr, int start=0, int end=-1) -> bool",
         (lambda method: lambda s, sub, start, end: method(s[_span(s, start, end)], sub))(
             getattr(str, _name)))
for _name in ("find", "rfind", "count"):
    _def(f"{_name}.str_method",
         f"aten::{_name}(str self, str substr, int start=0, int end=-1) -> int",
         (lambda method: lambda s, sub, start, end: method(s, sub, *_span(s, start, end)
                                                           .indices(len(s))[:2]))(
             getattr(str, _name)))
_def("split.str", "aten::split.str(str self, str? separator=None, int max=-1) -> str[]",
     lambda s, sep, max_: s.split(sep, max_))
_def("join.str_method", "aten::join(str self, str[] values) -> str", lambda s, v: s.join(v))
_def("replace.str_method", "aten::replace(str self, str old, str new, int max=-1) -> str",
     lambda s, old, new, max_: s.replace(old, new, max_))
_def("zfill.str_method", "aten::zfill(str self, int width) -> str", str.zfill)


# ---- ``torch.tensor(data)`` in compiled code -------------------------------------------------------
# (a creation function that eager minijit implements in Python, ``ops/creation.py``; compiled
# code needs it as an operator with TorchScript's overloads, one per kind of data)
def _tensor(data: Any, dtype: Any, device: Any, requires_grad: bool) -> Any:
    from .creation import tensor
    return tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


_TENSOR_KWARGS = "*, ScalarType? dtype=None, Device? device=None, bool requires_grad=False"
for _overload, _data in (("bool", "bool t"), ("float", "float t"), ("int", "int t"),
                         ("t", "t[] data")):
    _def(f"tensor.{_overload}",
         f"aten::tensor{'' if _overload == 't' else '.' + _overload}({_data}, {_TENSOR_KWARGS})"
         " -> Tensor", _tensor)

# Note [Alias annotations]: PyTorch's schemas for list and dict ops carry alias annotations
# (``t[](a!) self``: the op writes its argument; ``-> t(*)``: the result may alias anything).
# minijit's schema parser has no alias syntax, so the registry holds the plain schemas above;
# compile errors that list overloads print PyTorch's annotated text from this table.
DISPLAY_TEXTS: Dict[str, str] = {
    "aten::append.t(t[] self, t el) -> t[]":
        "aten::append.t(t[](a!) self, t(c -> *) el) -> t[](a!)",
    "aten::__getitem__.t(t[] list, int idx) -> t":
        "aten::__getitem__.t(t[](a) list, int idx) -> t(*)",
    "aten::__getitem__.Dict_str(Dict(str, t) self, str key) -> t":
        "aten::__getitem__.Dict_str(Dict(str, t) self, str key) -> t(*)",
    "aten::__getitem__.Dict_int(Dict(int, t) self, int key) -> t":
        "aten::__getitem__.Dict_int(Dict(int, t) self, int key) -> t(*)",
    "aten::_set_item.t(t[] l, int idx, t el) -> t[]":
        "aten::_set_item.t(t[](a!) l, int idx, t(b -> *) el) -> t[](a!)",
    "aten::_set_item.str(Dict(str, t) l, str idx, t v) -> ()":
        "aten::_set_item.str(Dict(str, t)(a!) l, str(b -> *) idx, t(c -> *) v) -> ()",
    "aten::_set_item.int(Dict(int, t) l, int idx, t v) -> ()":
        "aten::_set_item.int(Dict(int, t)(a!) l, int(b -> *) idx, t(c -> *) v) -> ()",
    "aten::keys.str(Dict(str, t) self) -> str[]": "aten::keys.str(Dict(str, t) self) -> str[](*)",
    "aten::values.str(Dict(str, t) self) -> t[]": "aten::values.str(Dict(str, t) self) -> t[](*)",
    "aten::format(str self) -> str": "aten::format(str self, ...) -> str",
    "aten::pop.t(t[] self, int idx=-1) -> t": "aten::pop.t(t[](a!) self, int idx=-1) -> t(*)",
    "aten::insert.t(t[] self, int idx, t el) -> ()":
        "aten::insert.t(t[](a!) self, int idx, t(b -> *) el) -> ()",
    "aten::extend.t(t[] self, t[] other) -> ()": "aten::extend.t(t[](a!) self, t[] other) -> ()",
    "aten::clear.t(t[] self) -> ()": "aten::clear.t(t[](a!) self) -> ()",
}
