"""The writer of ``data.pkl`` and ``constants.pkl``: TorchScript values as pickle protocol 2.

TorchScript pickles with a C++ pickler of its own (``torch/csrc/jit/serialization/pickler.cpp``)
whose output uses a small, fixed vocabulary; this module writes the same bytes.  Values are
written *by type*, because the type decides the spelling (reference §3.3, §3.7)::

    int            BININT1 / BININT2 / BININT / LONG1 (8 bytes), by magnitude
    float          BINFLOAT (big-endian double)
    str            BINUNICODE, memoised by value (a repeat is a BINGET)
    Tensor         GLOBAL torch._utils _rebuild_tensor_v2
                   (persistent id ('storage', GLOBAL torch FloatStorage, key, 'cpu', numel),
                    offset, sizes, strides, requires_grad, OrderedDict()) REDUCE
    List[int]      GLOBAL torch.jit._pickle build_intlist ((MARK ints APPENDS),) REDUCE
                   (also build_doublelist, build_boollist, build_tensorlist)
    List[str]...   GLOBAL torch.jit._pickle restore_type_tag (list, "List[str]") REDUCE
    Dict[K, V]     GLOBAL torch.jit._pickle restore_type_tag (dict, "Dict[K, V]") REDUCE
    Tuple          TUPLE1/2/3 or MARK ... TUPLE
    Device         GLOBAL torch device ("cpu",) REDUCE
    module object  GLOBAL '<qualified module> <Class>' EMPTY_TUPLE NEWOBJ
                   EMPTY_DICT MARK (name, value)* SETITEMS BUILD

Every GLOBAL, string, device, tensor, storage and object is memoised (``BINPUT``) and written
once; later references are ``BINGET``.  A storage shared by several tensors (views, tied
weights) is written once: the pickler records each distinct storage in
:attr:`Pickler.storages`, in order of first appearance, under keys ``"0"``, ``"1"``...; the
saver writes them as ``data/<key>``.

Example:
    >>> from minijit.jit.ir.types import IntType, ListType
    >>> p = Pickler()
    >>> p.dump([1, 2], ListType(IntType))
    >>> bytes(p.getvalue())[:2]
    b'\\x80\\x02'
"""
from __future__ import annotations

import struct
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..ir.types import ClassType, IRType, TensorType
from .errors import SerializationError

__all__ = ["Pickler", "PickledObject", "StorageRecord", "storage_of"]

# Opcodes (pickle protocol 2 names).
PROTO, STOP, MARK = b"\x80", b".", b"("
EMPTY_TUPLE, EMPTY_LIST, EMPTY_DICT = b")", b"]", b"}"
TUPLE, TUPLE1, TUPLE2, TUPLE3 = b"t", b"\x85", b"\x86", b"\x87"
APPENDS, SETITEMS = b"e", b"u"
NONE, NEWTRUE, NEWFALSE = b"N", b"\x88", b"\x89"
BININT1, BININT2, BININT, LONG1 = b"K", b"M", b"J", b"\x8a"
BINFLOAT, BINUNICODE = b"G", b"X"
BINPUT, LONG_BINPUT, BINGET, LONG_BINGET = b"q", b"r", b"h", b"j"
GLOBAL, REDUCE, BUILD, NEWOBJ, BINPERSID = b"c", b"R", b"b", b"\x81", b"Q"

_SPECIALIZED_LISTS = {"int": "build_intlist", "float": "build_doublelist",
                      "bool": "build_boollist", "Tensor": "build_tensorlist"}


class PickledObject:
    """A TorchScript object to pickle: its class and its attribute slots, in slot order.

    Args:
        class_type: the object's class (its qualified name gives the GLOBAL).
        slots: ``(name, value, type)`` for each attribute, as ``numAttributes`` slots.
        qualified_name: the name to write when it differs from ``class_type``'s (the saver
            renames classes that clash).
    """

    __slots__ = ("class_type", "slots", "qualified_name")

    def __init__(self, class_type: ClassType, slots: Sequence[Tuple[str, Any, IRType]],
                 qualified_name: Optional[str] = None):
        self.class_type = class_type
        self.slots = list(slots)
        self.qualified_name = qualified_name or class_type.qualified_name


class StorageRecord:
    """One storage to write: its key, location and the contiguous host array of its bytes."""

    __slots__ = ("key", "array", "location")

    def __init__(self, key: str, array: np.ndarray, location: str):
        self.key = key
        self.array = array
        self.location = location

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)


def _host(array: Any) -> np.ndarray:
    return array if isinstance(array, np.ndarray) else array.get()


def _address(array: Any) -> int:
    if isinstance(array, np.ndarray):
        return array.__array_interface__["data"][0]
    return int(array.data.ptr)


def storage_of(array: Any) -> Tuple[Any, int, Tuple[int, ...]]:
    """The storage behind ``array``: (root array, element offset, element strides).

    A view of a larger array shares its storage with the array at the bottom of its
    ``.base`` chain, as a PyTorch view shares its base's storage; the whole root is saved and
    the view is written as an offset and strides into it.  Arrays that cannot be described
    that way (a dtype-reinterpreting view, negative strides, a Fortran-ordered array) are
    saved as a contiguous copy of their own.

    Example:
        >>> a = np.arange(10.0); root, offset, strides = storage_of(a[2:6])
        >>> root is a, offset, strides
        (True, 2, (1,))
    """
    root = array
    while root.base is not None and type(root.base) is type(array):
        root = root.base
    item = array.itemsize
    if root is not array and root.dtype == array.dtype and root.flags.c_contiguous and \
            all(s >= 0 and s % item == 0 for s in array.strides):
        delta = _address(array) - _address(root)
        if delta >= 0 and delta % item == 0:
            offset = delta // item
            strides = tuple(s // item for s in array.strides)
            last = offset + sum((n - 1) * s for n, s in zip(array.shape, strides))
            if array.size == 0 or last < root.size:
                return root, offset, strides
    if array.flags.c_contiguous:
        return array, 0, _contiguous_strides(array.shape)
    return array.copy(), 0, _contiguous_strides(array.shape)


def _contiguous_strides(shape: Sequence[int]) -> Tuple[int, ...]:
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(int(s), 1)
    return tuple(reversed(strides))


class Pickler:
    """Writes one TorchScript pickle (see the module docstring for the vocabulary)."""

    def __init__(self) -> None:
        self._out = bytearray(PROTO + b"\x02")
        self._next_memo = 0
        self._strings: Dict[str, int] = {}
        self._globals: Dict[Tuple[str, str], int] = {}
        self._objects: Dict[int, int] = {}        # id(tensor or PickledObject) -> memo
        self._storages: Dict[int, int] = {}       # id(root array) -> memo of its persistent id
        self._devices: Dict[str, int] = {}
        self._keepalive: List[Any] = []
        self.storages: List[StorageRecord] = []
        self.class_types: List[ClassType] = []    # classes of the objects, first use order

    # -- output ------------------------------------------------------------------------------
    def dump(self, value: Any, type_: Optional[IRType]) -> None:
        """Write ``value`` (of TorchScript type ``type_``) and the final ``STOP``."""
        self.push(value, type_)
        self._out += STOP

    def getvalue(self) -> bytearray:
        return self._out

    def _memoize(self) -> int:
        index = self._next_memo
        self._next_memo += 1
        self._out += BINPUT + bytes((index,)) if index < 256 else \
            LONG_BINPUT + struct.pack("<I", index)
        return index

    def _binget(self, index: int) -> None:
        self._out += BINGET + bytes((index,)) if index < 256 else \
            LONG_BINGET + struct.pack("<I", index)

    # -- scalars -----------------------------------------------------------------------------
    def push_int(self, n: int) -> None:
        out = self._out
        if 0 <= n < 256:
            out += BININT1 + bytes((n,))
        elif 0 <= n < 65536:
            out += BININT2 + struct.pack("<H", n)
        elif -(1 << 31) <= n < (1 << 31):
            out += BININT + struct.pack("<i", n)
        elif -(1 << 63) <= n < (1 << 63):
            out += LONG1 + b"\x08" + struct.pack("<q", n)
        else:
            raise SerializationError(None, f"integer {n} does not fit in 64 bits")

    def push_string(self, s: str) -> None:
        index = self._strings.get(s)
        if index is not None:
            self._binget(index)
            return
        data = s.encode("utf-8", "surrogatepass")
        self._out += BINUNICODE + struct.pack("<I", len(data)) + data
        self._strings[s] = self._memoize()

    def push_global(self, module: str, name: str) -> None:
        key = (module, name)
        index = self._globals.get(key)
        if index is not None:
            self._binget(index)
            return
        self._out += GLOBAL + f"{module}\n{name}\n".encode("utf-8")
        self._globals[key] = self._memoize()

    # -- values by type ----------------------------------------------------------------------
    def push(self, value: Any, type_: Optional[IRType]) -> None:
        """Write one value; ``type_`` picks the spelling (``None``: inferred from the value)."""
        kind = type_.kind if type_ is not None else None
        if value is None:
            self._out += NONE
        elif kind == "Optional":
            self.push(value, type_.elem)                      # type: ignore[union-attr]
        elif isinstance(value, bool):
            self._out += NEWTRUE if value else NEWFALSE
        elif isinstance(value, int) and kind != "float":
            self.push_int(value)
        elif isinstance(value, (int, float)) and not hasattr(value, "shape"):
            self._out += BINFLOAT + struct.pack(">d", float(value))
        elif isinstance(value, str) and kind != "Device":
            self.push_string(value)
        elif isinstance(value, PickledObject):
            self.push_object(value)
        elif kind == "Device" or type(value).__name__ == "device":
            self.push_device(str(value))
        elif isinstance(value, tuple):
            elems = type_.elems if type_ is not None and kind == "Tuple" else \
                (None,) * len(value)                         # type: ignore[union-attr]
            self.push_tuple(value, elems)
        elif isinstance(value, list):
            self.push_list(value, type_)
        elif isinstance(value, dict):
            self.push_dict(value, type_)
        elif hasattr(value, "_data") and hasattr(value, "requires_grad"):
            self.push_tensor(value)
        else:
            raise SerializationError(None, f"cannot pickle a value of Python type "
                                     f"{type(value).__name__} as {type_}")

    def push_tuple(self, value: Tuple[Any, ...], types: Sequence[Optional[IRType]]) -> None:
        n = len(value)
        if n == 0:
            self._out += EMPTY_TUPLE
            return
        if n > 3:
            self._out += MARK
        for item, t in zip(value, types):
            self.push(item, t)
        self._out += (TUPLE1, TUPLE2, TUPLE3)[n - 1] if n <= 3 else TUPLE

    def push_list(self, value: List[Any], type_: Optional[IRType]) -> None:
        elem = getattr(type_, "elem", None)
        if elem is None:
            elem = _infer_element_type(value)
        builder = _SPECIALIZED_LISTS.get(elem.kind) if elem is not None else None
        if builder is not None:
            self.push_global("torch.jit._pickle", builder)
            self._out += MARK + EMPTY_LIST + MARK
            for item in value:
                self.push(item, elem)
            self._out += APPENDS + TUPLE + REDUCE
            return
        self.push_global("torch.jit._pickle", "restore_type_tag")
        self._out += EMPTY_LIST + MARK
        for item in value:
            self.push(item, elem)
        self._out += APPENDS
        self.push_string(type_.annotation_str() if type_ is not None else "List[Any]")
        self._out += TUPLE2 + REDUCE

    def push_dict(self, value: Dict[Any, Any], type_: Optional[IRType]) -> None:
        key_t, value_t = getattr(type_, "key", None), getattr(type_, "value", None)
        self.push_global("torch.jit._pickle", "restore_type_tag")
        self._out += EMPTY_DICT
        if value:
            self._out += MARK
            for k, v in value.items():
                self.push(k, key_t)
                self.push(v, value_t)
            self._out += SETITEMS
        self.push_string(type_.annotation_str() if type_ is not None else "Dict[str, Any]")
        self._out += TUPLE2 + REDUCE

    def push_device(self, name: str) -> None:
        index = self._devices.get(name)
        if index is not None:
            self._binget(index)
            return
        self.push_global("torch", "device")
        self.push_string(name)
        self._out += TUPLE1 + REDUCE
        self._devices[name] = self._memoize()

    def push_object(self, obj: PickledObject) -> None:
        index = self._objects.get(id(obj))
        if index is not None:
            self._binget(index)
            return
        if not any(t is obj.class_type for t in self.class_types):
            self.class_types.append(obj.class_type)
        module, _, name = obj.qualified_name.rpartition(".")
        self.push_global(module, name)
        self._out += EMPTY_TUPLE + NEWOBJ + EMPTY_DICT + MARK
        for slot_name, value, type_ in obj.slots:
            self.push_string(slot_name)
            self.push(value, type_)
        self._out += SETITEMS + BUILD
        self._keepalive.append(obj)
        self._objects[id(obj)] = self._memoize()

    # -- tensors -----------------------------------------------------------------------------
    def push_tensor(self, tensor: Any) -> None:
        index = self._objects.get(id(tensor))
        if index is not None:
            self._binget(index)
            return
        array = tensor._data
        root, offset, strides = storage_of(array)
        self.push_global("torch._utils", "_rebuild_tensor_v2")
        self._out += MARK
        self._push_storage(tensor, root)
        self.push_int(offset)
        self._out += MARK
        for s in array.shape:
            self.push_int(int(s))
        self._out += TUPLE + MARK
        for s in strides:
            self.push_int(int(s))
        self._out += TUPLE
        self._out += NEWTRUE if tensor.requires_grad else NEWFALSE
        self.push_global("collections", "OrderedDict")
        self._out += EMPTY_TUPLE + REDUCE + TUPLE + REDUCE
        self._keepalive.append(tensor)
        self._objects[id(tensor)] = self._memoize()

    def _push_storage(self, tensor: Any, root: Any) -> None:
        index = self._storages.get(id(root))
        if index is not None:
            self._binget(index)
            return
        dtype = tensor.dtype
        key = str(len(self.storages))
        self._out += MARK
        self.push_string("storage")
        self.push_global("torch", dtype.storage_name)
        self.push_string(key)
        location = str(tensor.device)
        self.push_string(location)
        self.push_int(int(root.size))
        self._out += TUPLE + BINPERSID
        self._keepalive.append(root)
        self._storages[id(root)] = self._memoize()
        host = np.ascontiguousarray(_host(root))
        if host.dtype.byteorder == ">":
            host = host.astype(host.dtype.newbyteorder("<"))
        self.storages.append(StorageRecord(key, host, location))


def _infer_element_type(value: List[Any]) -> Optional[IRType]:
    from ..ir.types import BoolType, FloatType, IntType, StringType
    if value and all(isinstance(v, bool) for v in value):
        return BoolType
    if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return IntType
    if value and all(isinstance(v, float) for v in value):
        return FloatType
    if value and all(isinstance(v, str) for v in value):
        return StringType
    if value and all(hasattr(v, "_data") for v in value):
        return TensorType.get()
    return None
