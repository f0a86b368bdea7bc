"""IR types: what a :class:`~minijit.jit.ir.graph.Value` may hold.

Every type prints two ways, as TorchScript's do:

* ``str(t)`` is the graph form used by ``.graph``: ``Float(3, 4, strides=[4, 1],
  requires_grad=0, device=cpu)``, ``int[]``, ``Tensor?``, ``(Tensor, int)``, ``Dict(str, Tensor)``.
* ``t.annotation_str()`` is the Python form used by ``.code``: ``Tensor``, ``List[int]``,
  ``Optional[Tensor]``, ``Tuple[Tensor, int]``, ``Tuple[()]``, ``Dict[str, Tensor]``.

Types are immutable values compared structurally (``ListType(IntType) == ListType(IntType)``),
except :class:`ClassType`, which is nominal (one per qualified name) and carries the module's
attribute and method tables.  Leaf types are singletons (``IntType``, ``NoneType``, ...).

Every type has a ``kind`` string (TorchScript's ``TypeKind``): passes branch on
``v.type.kind == "Tensor"`` rather than on Python classes.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

__all__ = ["IRType", "TensorType", "PrimType", "IntType", "FloatType", "BoolType", "StringType",
           "NoneType", "DeviceType", "NumberType", "AnyType", "FunctionType", "ListType",
           "TupleType", "OptionalType", "DictType", "UnionType", "ClassType", "unify",
           "UnknownDtype"]

# TorchScript's TypeKind order (c10 C10_FORALL_TYPES); Union members are sorted by it.
_KIND_ORDER = {"Any": 0, "Tensor": 3, "Tuple": 5, "List": 6, "Dict": 7, "Scalar": 8, "float": 9,
               "int": 14, "NoneType": 15, "str": 16, "bool": 19, "Optional": 20, "Device": 22,
               "Function": 24, "Class": 25, "Union": 38}


class IRType:
    """Base class: structural equality through ``_key()``, two printed forms."""

    __slots__ = ()
    kind = "?"

    def _key(self) -> Tuple:
        return (self.kind,)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, IRType) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.kind

    def __repr__(self) -> str:
        return f"<IRType {self}>"

    def annotation_str(self) -> str:
        """The ``.code`` spelling (``List[int]``)."""
        return str(self)

    def contained_types(self) -> Tuple["IRType", ...]:
        return ()

    def unshaped(self) -> "IRType":
        """This type with tensor details erased (``Float(2, 3)`` → ``Tensor``), as .code prints."""
        return self

    def is_subtype_of(self, other: "IRType") -> bool:
        """TorchScript's ``isSubtypeOf``: may a value of this type go where ``other`` is needed?"""
        if self == other or other.kind == "Any":
            return True
        if isinstance(other, OptionalType):
            return self.kind == "NoneType" or self.is_subtype_of(other.elem)
        if isinstance(other, UnionType):
            return any(self.is_subtype_of(t) for t in other.types)
        if other.kind == "Scalar":
            return self.kind in ("int", "float")
        return False


class UnknownDtype:
    """A scalar type minijit has no dtype for (``BFloat16``): kept so such types still print."""

    __slots__ = ("scalar_name",)

    def __init__(self, scalar_name: str):
        self.scalar_name = scalar_name

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, UnknownDtype) and other.scalar_name == self.scalar_name

    def __hash__(self) -> int:
        return hash(self.scalar_name)

    def __repr__(self) -> str:
        return f"UnknownDtype({self.scalar_name!r})"


def _device_str(device: Any) -> Optional[str]:
    return None if device is None else str(device)


class TensorType(IRType):
    """A tensor, with whatever is known about it (every field may be ``None`` = unknown).

    Args:
        dtype: a minijit dtype (prints by its ``scalar_name``: ``Float``).
        sizes: one entry per dimension, ``None`` for an unknown size (prints ``*``); ``None``
            when even the rank is unknown.
        strides: element strides (printed only when every one is known).
        requires_grad, device: printed as ``requires_grad=0`` and ``device=cpu`` when known.

    Example:
        >>> from minijit.dtypes import float32
        >>> str(TensorType(float32, (3, 4), (4, 1), False, "cpu"))
        'Float(3, 4, strides=[4, 1], requires_grad=0, device=cpu)'
        >>> str(TensorType()), str(TensorType(float32)), str(TensorType(sizes=(2, 3)))
        ('Tensor', 'FloatTensor', 'Tensor(2, 3)')
    """

    __slots__ = ("dtype", "sizes", "strides", "requires_grad", "device")
    kind = "Tensor"

    def __init__(self, dtype: Any = None, sizes: Optional[Sequence[Optional[int]]] = None,
                 strides: Optional[Sequence[Optional[int]]] = None,
                 requires_grad: Optional[bool] = None, device: Any = None):
        self.dtype = dtype
        self.sizes = None if sizes is None else tuple(sizes)
        self.strides = None if strides is None else tuple(strides)
        if self.sizes == () and self.strides is None:
            self.strides = ()                  # a 0-dim tensor's strides are trivially known
        self.requires_grad = None if requires_grad is None else bool(requires_grad)
        self.device = _device_str(device)

    @classmethod
    def get(cls) -> "TensorType":
        """The unspecialised ``Tensor`` (all scripted graphs use it)."""
        return _PLAIN_TENSOR

    @classmethod
    def from_tensor(cls, t: Any) -> "TensorType":
        """The complete type of a concrete tensor (what the tracer records).

        Accepts a minijit Tensor (``.dtype``, ``.shape``, ``.stride()``, ``.requires_grad``,
        ``.device``) or a NumPy array (byte strides are converted to element strides).
        """
        shape = tuple(int(s) for s in t.shape)
        dtype = t.dtype
        if hasattr(t, "stride") and callable(t.stride):
            strides = tuple(int(s) for s in t.stride())
        else:                                   # NumPy: strides are in bytes
            item = max(int(getattr(t, "itemsize", 1)), 1)
            strides = tuple(int(s) // item for s in t.strides)
        if not hasattr(dtype, "scalar_name"):
            from minijit.dtypes import from_numpy_dtype
            dtype = from_numpy_dtype(dtype)
        return cls(dtype, shape, strides, bool(getattr(t, "requires_grad", False)),
                   getattr(t, "device", "cpu"))

    def _key(self) -> Tuple:
        return (self.kind, self.dtype, self.sizes, self.strides, self.requires_grad, self.device)

    def _replace(self, **changes: Any) -> "TensorType":
        fields = {k: getattr(self, k) for k in self.__slots__}
        fields.update(changes)
        return TensorType(**fields)

    def with_dtype(self, dtype: Any) -> "TensorType":
        return self._replace(dtype=dtype)

    def with_sizes(self, sizes: Optional[Sequence[Optional[int]]]) -> "TensorType":
        """New sizes; strides are dropped when the rank changes."""
        strides = self.strides
        if sizes is None or strides is None or len(strides) != len(sizes):
            strides = None
        return self._replace(sizes=sizes, strides=strides)

    def with_sizes_strides(self, sizes: Sequence[Optional[int]],
                           strides: Sequence[Optional[int]]) -> "TensorType":
        return self._replace(sizes=sizes, strides=strides)

    def with_requires_grad(self, requires_grad: Optional[bool]) -> "TensorType":
        return self._replace(requires_grad=requires_grad)

    def with_device(self, device: Any) -> "TensorType":
        return self._replace(device=device)

    @property
    def dim(self) -> Optional[int]:
        return None if self.sizes is None else len(self.sizes)

    def is_complete(self) -> bool:
        """Every field known (the types the tracer produces)."""
        return (self.dtype is not None and self.sizes is not None and None not in self.sizes
                and self.strides is not None and None not in self.strides
                and self.device is not None)

    def unshaped(self) -> "TensorType":
        return _PLAIN_TENSOR

    def merge(self, other: "TensorType") -> "TensorType":
        """Keep what both agree on (TorchScript's ``TensorType::merge``, for branch joins)."""
        def same(a: Any, b: Any) -> Any:
            return a if a == b else None

        sizes = None
        if self.sizes is not None and other.sizes is not None and \
                len(self.sizes) == len(other.sizes):
            sizes = tuple(same(a, b) for a, b in zip(self.sizes, other.sizes))
        strides = None
        if self.strides is not None and other.strides is not None and \
                len(self.strides) == len(other.strides):
            strides = tuple(same(a, b) for a, b in zip(self.strides, other.strides))
        return TensorType(same(self.dtype, other.dtype), sizes, strides,
                          same(self.requires_grad, other.requires_grad),
                          same(self.device, other.device))

    def is_subtype_of(self, other: IRType) -> bool:
        if isinstance(other, TensorType):
            return all(getattr(other, f) is None or getattr(other, f) == getattr(self, f)
                       for f in self.__slots__)
        return super().is_subtype_of(other)

    def __str__(self) -> str:
        head = "Tensor" if self.dtype is None else self.dtype.scalar_name
        extras: List[str] = []
        if self.sizes is None:
            if self.dtype is not None:
                head += "Tensor"
        else:
            extras = ["*" if s is None else str(s) for s in self.sizes]
            if self.sizes and self.strides is not None and len(self.strides) == len(self.sizes) \
                    and None not in self.strides:
                extras.append("strides=[" + ", ".join(str(s) for s in self.strides) + "]")
        if self.requires_grad is not None:
            extras.append(f"requires_grad={int(self.requires_grad)}")
        if self.device is not None:
            extras.append(f"device={self.device}")
        if self.sizes is None and not extras:
            return head
        return head + "(" + ", ".join(extras) + ")"

    def annotation_str(self) -> str:
        return "Tensor"


_PLAIN_TENSOR = TensorType()


class PrimType(IRType):
    """A leaf type with no parameters (``int``, ``NoneType``, ``Device``...): one instance each."""

    __slots__ = ("_kind", "_annotation")

    def __init__(self, kind: str, annotation: Optional[str] = None):
        self._kind = kind
        self._annotation = annotation or kind

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self._kind

    def annotation_str(self) -> str:
        return self._annotation


IntType = PrimType("int")
FloatType = PrimType("float")
BoolType = PrimType("bool")
StringType = PrimType("str")
NoneType = PrimType("NoneType")
DeviceType = PrimType("Device")
NumberType = PrimType("Scalar", "number")
AnyType = PrimType("Any")


class _FunctionType(IRType):
    """The type of a ``prim::Constant[name="helper"]`` function value; prints ``Function``.

    The unnamed singleton is :data:`FunctionType`.  ``FunctionType.named(qualname, fn)`` makes
    one that knows its callee: its ``annotation_str()`` is the qualified name
    (``__torch__.helper``), which is what ``.code`` prints at a ``prim::CallFunction``.
    """

    __slots__ = ("qualified_name", "function")
    kind = "Function"

    def __init__(self, qualified_name: Optional[str] = None, function: Any = None):
        self.qualified_name = qualified_name
        self.function = function

    def named(self, qualified_name: str, function: Any = None) -> "_FunctionType":
        return _FunctionType(qualified_name, function)

    def _key(self) -> Tuple:
        return (self.kind, self.qualified_name)

    def __str__(self) -> str:
        return "Function"

    def annotation_str(self) -> str:
        return self.qualified_name or "Function"


FunctionType = _FunctionType()


class ListType(IRType):
    """``T[]`` / ``List[T]``."""

    __slots__ = ("elem",)
    kind = "List"

    def __init__(self, elem: IRType):
        self.elem = elem

    def _key(self) -> Tuple:
        return (self.kind, self.elem)

    def __str__(self) -> str:
        return f"{self.elem}[]"

    def annotation_str(self) -> str:
        return f"List[{self.elem.annotation_str()}]"

    def contained_types(self) -> Tuple[IRType, ...]:
        return (self.elem,)

    def unshaped(self) -> IRType:
        return ListType(self.elem.unshaped())


class OptionalType(IRType):
    """``T?`` / ``Optional[T]``."""

    __slots__ = ("elem",)
    kind = "Optional"

    def __init__(self, elem: IRType):
        self.elem = elem

    def _key(self) -> Tuple:
        return (self.kind, self.elem)

    def __str__(self) -> str:
        return f"{self.elem}?"

    def annotation_str(self) -> str:
        return f"Optional[{self.elem.annotation_str()}]"

    def contained_types(self) -> Tuple[IRType, ...]:
        return (self.elem,)

    def unshaped(self) -> IRType:
        return OptionalType(self.elem.unshaped())

    def is_subtype_of(self, other: IRType) -> bool:
        if isinstance(other, OptionalType):
            return self.elem.is_subtype_of(other.elem)
        if isinstance(other, UnionType):
            return NoneType.is_subtype_of(other) and self.elem.is_subtype_of(other)
        return super().is_subtype_of(other)


class TupleType(IRType):
    """``(T1, T2)`` / ``Tuple[T1, T2]``; the empty tuple is ``()`` / ``Tuple[()]``."""

    __slots__ = ("elems",)
    kind = "Tuple"

    def __init__(self, elems: Iterable[IRType]):
        self.elems = tuple(elems)

    def _key(self) -> Tuple:
        return (self.kind, self.elems)

    def __str__(self) -> str:
        return "(" + ", ".join(str(t) for t in self.elems) + ")"

    def annotation_str(self) -> str:
        if not self.elems:
            return "Tuple[()]"
        return "Tuple[" + ", ".join(t.annotation_str() for t in self.elems) + "]"

    def contained_types(self) -> Tuple[IRType, ...]:
        return self.elems

    def unshaped(self) -> IRType:
        return TupleType(t.unshaped() for t in self.elems)

    def is_subtype_of(self, other: IRType) -> bool:
        if isinstance(other, TupleType) and len(other.elems) == len(self.elems):
            return all(a.is_subtype_of(b) for a, b in zip(self.elems, other.elems))
        return super().is_subtype_of(other)


class DictType(IRType):
    """``Dict(K, V)`` / ``Dict[K, V]``."""

    __slots__ = ("key", "value")
    kind = "Dict"

    def __init__(self, key: IRType, value: IRType):
        self.key = key
        self.value = value

    def _key(self) -> Tuple:
        return (self.kind, self.key, self.value)

    def __str__(self) -> str:
        return f"Dict({self.key}, {self.value})"

    def annotation_str(self) -> str:
        return f"Dict[{self.key.annotation_str()}, {self.value.annotation_str()}]"

    def contained_types(self) -> Tuple[IRType, ...]:
        return (self.key, self.value)

    def unshaped(self) -> IRType:
        return DictType(self.key.unshaped(), self.value.unshaped())


class UnionType(IRType):
    """``Union(A, B)`` / ``Union[A, B]``, members in TorchScript's canonical order.

    Use :meth:`create` to build one from annotations: it flattens nested unions, drops members
    subsumed by others and turns ``Union[T, None]`` into ``Optional[T]``, as TorchScript does.
    """

    __slots__ = ("types",)
    kind = "Union"

    def __init__(self, types: Iterable[IRType]):
        self.types = tuple(sorted(types, key=lambda t: (_KIND_ORDER.get(t.kind, 99), str(t))))

    @classmethod
    def create(cls, types: Iterable[IRType]) -> IRType:
        flat: List[IRType] = []
        for t in types:
            members = t.types if isinstance(t, UnionType) else \
                (t.elem, NoneType) if isinstance(t, OptionalType) else (t,)
            for m in members:
                if m not in flat:
                    flat.append(m)
        flat = [t for t in flat
                if not any(o != t and t.is_subtype_of(o) for o in flat)]
        if len(flat) == 1:
            return flat[0]
        if len(flat) == 2 and NoneType in flat:
            return OptionalType(flat[0] if flat[1] == NoneType else flat[1])
        return cls(flat)

    def _key(self) -> Tuple:
        return (self.kind, self.types)

    def __str__(self) -> str:
        return "Union(" + ", ".join(str(t) for t in self.types) + ")"

    def annotation_str(self) -> str:
        return "Union[" + ", ".join(t.annotation_str() for t in self.types) + "]"

    def contained_types(self) -> Tuple[IRType, ...]:
        return self.types

    def is_subtype_of(self, other: IRType) -> bool:
        if other == self or other.kind == "Any":
            return True
        return all(t.is_subtype_of(other) for t in self.types)


class ClassType(IRType):
    """A TorchScript class, e.g. a module: ``__torch__.torch.nn.modules.linear.Linear``.

    Nominal: two ClassTypes are equal only when their qualified names are.  The modules layer
    fills the tables: ``attributes`` (name → type, in definition order, with parameter/buffer
    flags), ``constants`` (``__constants__`` values) and ``methods`` (name → an object with a
    ``.graph``, such as a ScriptFunction).
    """

    __slots__ = ("qualified_name", "attributes", "parameters", "buffers", "constants", "methods",
                 "is_module")
    kind = "Class"

    def __init__(self, qualified_name: str, attributes: Optional[Dict[str, IRType]] = None,
                 methods: Optional[Dict[str, Any]] = None, is_module: bool = True):
        self.qualified_name = qualified_name
        self.attributes: Dict[str, IRType] = dict(attributes or {})
        self.parameters: List[str] = []
        self.buffers: List[str] = []
        self.constants: Dict[str, Any] = {}
        self.methods: Dict[str, Any] = dict(methods or {})
        self.is_module = is_module

    @property
    def name(self) -> str:
        """The unqualified class name (``Linear``)."""
        return self.qualified_name.rsplit(".", 1)[-1]

    def add_attribute(self, name: str, type_: IRType, *, is_parameter: bool = False,
                      is_buffer: bool = False) -> None:
        self.attributes[name] = type_
        if is_parameter:
            self.parameters.append(name)
        if is_buffer:
            self.buffers.append(name)

    def get_attribute(self, name: str) -> IRType:
        try:
            return self.attributes[name]
        except KeyError:
            raise AttributeError(f"{self.qualified_name} has no attribute {name!r}") from None

    def has_attribute(self, name: str) -> bool:
        return name in self.attributes

    def add_method(self, name: str, fn: Any) -> None:
        self.methods[name] = fn

    def get_method(self, name: str) -> Any:
        return self.methods.get(name)

    def _key(self) -> Tuple:
        return (self.kind, self.qualified_name)

    def __str__(self) -> str:
        return self.qualified_name


def unify(a: IRType, b: IRType) -> Optional[IRType]:
    """The type of a value that is ``a`` on one path and ``b`` on another, or None if none fits.

    TorchScript's ``unifyTypes`` (used for ``prim::If`` outputs and loop-carried values):
    a supertype when one exists, merged tensor details, ``Optional[T]`` for ``T`` and ``None``,
    and element-wise tuples.

    Example:
        >>> str(unify(IntType, NoneType)), unify(IntType, StringType)
        ('int?', None)
    """
    if a.is_subtype_of(b):
        return b
    if b.is_subtype_of(a):
        return a
    if isinstance(a, TensorType) and isinstance(b, TensorType):
        return a.merge(b)
    if a.kind == "NoneType" and not isinstance(b, OptionalType):
        return OptionalType(b)
    if b.kind == "NoneType" and not isinstance(a, OptionalType):
        return OptionalType(a)
    if isinstance(a, OptionalType) or isinstance(b, OptionalType):
        ea = a.elem if isinstance(a, OptionalType) else a
        eb = b.elem if isinstance(b, OptionalType) else b
        inner = unify(ea, eb)
        return None if inner is None else OptionalType(inner)
    if isinstance(a, ListType) and isinstance(b, ListType):
        inner = unify(a.elem, b.elem)
        if inner is not None and isinstance(inner, TensorType):
            return ListType(inner)
        return None
    if isinstance(a, TupleType) and isinstance(b, TupleType) and len(a.elems) == len(b.elems):
        elems = [unify(x, y) for x, y in zip(a.elems, b.elems)]
        return None if any(e is None for e in elems) else TupleType(elems)  # type: ignore
    return None
