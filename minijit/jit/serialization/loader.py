"""``minijit.jit.load``: a TorchScript archive back into a runnable ``RecursiveScriptModule``.

The order is PyTorch's (``import.cpp``; reference §3.6):

1. open the zip in memory and check its directory (:class:`~.archive.ArchiveReader`);
2. ``version`` (1 ≤ v ≤ 10) and ``byteorder``;
3. ``extra/<name>`` for each name the caller asked for;
4. ``constants.pkl`` → the CONSTANTS table (tensors from ``constants/<key>``);
5. ``data.pkl`` → the object tree (tensors from ``data/<key>``); each ``__torch__`` class the
   pickle names is declared from ``code/`` on first sight (:class:`~.code_loader.CodeLoader`);
6. every object becomes a module: slots are checked against the class's declaration (names
   and types), then set as parameters, buffers, submodules or attributes; each class's
   methods are compiled once, into IR, and attached.

Tensors are views of the archive buffer (no copy) unless ``map_location`` moves them, the
archive is big-endian, or the data is misaligned.  Storages shared in the archive are shared
in memory, with one version counter, as in PyTorch.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..ir.types import (IRType)
from .archive import ArchiveReader, PathOrFile
from .code_loader import ClassDecl, CodeLoader
from .errors import SerializationError
from .limits import DEFAULT_LIMITS, Limits
from .unpickler import ClassRef, ObjectRecord, StorageRef, Unpickler

__all__ = ["load", "MAX_SUPPORTED_VERSION", "MIN_SUPPORTED_VERSION"]

MIN_SUPPORTED_VERSION = 1
MAX_SUPPORTED_VERSION = 10


def load(f: PathOrFile, map_location: Any = None,
         _extra_files: Optional[Dict[str, Any]] = None, *,
         _limits: Optional[Limits] = None) -> Any:
    """Load a module saved by ``minijit.jit.save`` or ``torch.jit.save``.

    Args:
        f: a path or a readable binary file object.
        map_location: ``None`` (where it was saved), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a
            ``minijit.device``: where to put every tensor.
        _extra_files: ``{name: anything}``; the values of names found under ``extra/`` are
            replaced by their contents (bytes), as ``torch.jit.load`` does.
    Returns:
        A ``RecursiveScriptModule``.
    Raises:
        SerializationError: for any malformed, hostile or unsupported archive, naming the
            member at fault.
    """
    limits = _limits or DEFAULT_LIMITS
    reader = ArchiveReader(f, limits)
    return _Loader(reader, _parse_map_location(map_location), limits).run(_extra_files)


def _parse_map_location(map_location: Any) -> Optional[Any]:
    if map_location is None:
        return None
    from ...backends import device
    if isinstance(map_location, (str, device)):
        try:
            return device(map_location)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"map_location: {exc}") from None
    raise TypeError("map_location should be a string or a minijit.device, got "
                    f"{type(map_location).__name__}")


class _Storage:
    """One storage of a pickle: its dtype, key and the 1-D array of its elements."""

    __slots__ = ("dtype", "key", "array", "version")

    def __init__(self, dtype: Any, key: str, array: Any):
        self.dtype = dtype
        self.key = key
        self.array = array
        self.version = [0]


class _Loader:
    def __init__(self, reader: ArchiveReader, device: Any, limits: Limits):
        self.reader = reader
        self.device = device
        self.limits = limits
        self.version = self._read_version()
        self.big_endian = self._read_byteorder()
        self.code: Optional[CodeLoader] = None

    # -- small members ------------------------------------------------------------------------
    def _read_version(self) -> int:
        text = bytes(self.reader.read("version", max_bytes=64))
        try:
            version = int(text.strip().decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise SerializationError("version", f"not a version number: {text[:20]!r}") from None
        if not MIN_SUPPORTED_VERSION <= version <= MAX_SUPPORTED_VERSION:
            raise SerializationError("version", f"archive format version {version} is not "
                                     f"supported (minijit reads {MIN_SUPPORTED_VERSION} to "
                                     f"{MAX_SUPPORTED_VERSION}, as PyTorch 2.13 does)")
        return version

    def _read_byteorder(self) -> bool:
        if not self.reader.has("byteorder"):
            return False
        text = bytes(self.reader.read("byteorder", max_bytes=16)).strip()
        if text not in (b"little", b"big"):
            raise SerializationError("byteorder", f"unknown byte order {text[:16]!r}")
        return text == b"big"

    def _extra_files(self, wanted: Optional[Dict[str, Any]]) -> None:
        if wanted is None:
            return
        for name in list(wanted):
            member = f"extra/{name}"
            if self.reader.has(member):
                wanted[name] = bytes(self.reader.read(member))

    # -- pickles ------------------------------------------------------------------------------
    def _unpickle(self, member: str, tensor_dir: str, classes: bool) -> Any:
        storages: Dict[str, _Storage] = {}
        data = self.reader.read(member, max_bytes=self.limits.max_pickle_bytes)

        def persistent_load(pid: Any, offset: int) -> _Storage:
            return self._storage(member, tensor_dir, storages, pid, offset)

        def rebuild(args: Tuple[Any, ...], offset: int) -> Any:
            return self._rebuild_tensor(member, args, offset)

        resolve = (lambda name: self.code.class_decl(name)) if classes else None  # type: ignore
        return Unpickler(data, member, resolve_class=resolve, persistent_load=persistent_load,
                         rebuild_tensor=rebuild, limits=self.limits).load()

    def _storage(self, member: str, tensor_dir: str, storages: Dict[str, _Storage], pid: Any,
                 offset: int) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and
                isinstance(pid[1], StorageRef) and isinstance(pid[2], str) and
                isinstance(pid[3], str) and isinstance(pid[4], int) and
                not isinstance(pid[4], bool)):
            raise SerializationError(member, f"persistent id must be ('storage', <storage "
                                     f"type>, key, location, numel) (at byte {offset})")
        _, stype, key, location, numel = pid
        dtype = stype.dtype
        found = storages.get(key)
        if found is not None:
            if found.dtype is not dtype or found.array.size != numel:
                raise SerializationError(member, f"storage '{key}' is used with two different "
                                         f"dtypes or sizes (at byte {offset})")
            return found
        name = tensor_dir + key
        if numel < 0 or numel > self.limits.max_tensor_elements:
            raise SerializationError(name, f"storage of {numel} elements is out of range")
        nbytes = numel * dtype.itemsize
        if numel == 0:
            array = np.zeros(0, dtype=dtype.np)
        else:
            if not self.reader.has(name):
                raise SerializationError(name, "storage referenced by the pickle is missing")
            size = self.reader.size(name)
            if size != nbytes:
                raise SerializationError(name, f"storage holds {size} bytes but the pickle "
                                         f"needs {numel} x {dtype.itemsize} = {nbytes}")
            raw = self.reader.read(name)
            array = np.frombuffer(raw, dtype=dtype.np.newbyteorder(">") if self.big_endian
                                  else dtype.np)
            if self.big_endian:
                array = array.astype(dtype.np)
            elif not array.flags.aligned or not array.flags.writeable:
                array = array.copy()              # (a deflated member comes back as bytes)
        array = self._place(array, location, name)
        storage = _Storage(dtype, key, array)
        storages[key] = storage
        return storage

    def _place(self, array: np.ndarray, location: str, member: str) -> Any:
        from ...backends import device, to_device
        try:
            saved = device(location)
        except (RuntimeError, ValueError):
            raise SerializationError(member, f"unknown storage location {location!r}") from None
        target = self.device if self.device is not None else saved
        if target.type == "cpu":
            return array
        from ...backends import cuda_is_available
        if not cuda_is_available():
            raise SerializationError(member, "Attempting to deserialize object on a CUDA device "
                                     "but CUDA is not available (minijit needs CuPy and a GPU). "
                                     "Use minijit.jit.load with map_location='cpu' to map your "
                                     "storages to the CPU.")
        return to_device(array, target)

    def _rebuild_tensor(self, member: str, args: Tuple[Any, ...], offset: int) -> Any:
        from ..._tensor import Tensor
        if len(args) not in (6, 7):
            raise SerializationError(member, f"_rebuild_tensor_v2 takes 6 or 7 arguments, got "
                                     f"{len(args)} (at byte {offset})")
        storage, storage_offset, size, stride, requires_grad = args[:5]
        if len(args) == 7 and args[6] not in (None, {}) and any(args[6].values()):
            raise SerializationError(member, f"tensors with conjugate/negative bits are not "
                                     f"supported (at byte {offset})")
        if not isinstance(storage, _Storage):
            raise SerializationError(member, f"tensor without a storage (at byte {offset})")
        limits = self.limits
        ints = (isinstance(storage_offset, int) and not isinstance(storage_offset, bool) and
                isinstance(size, tuple) and isinstance(stride, tuple) and
                all(isinstance(s, int) and not isinstance(s, bool) for s in size + stride))
        if not ints or len(size) != len(stride) or not isinstance(requires_grad, bool):
            raise SerializationError(member, f"bad tensor metadata (offset, sizes, strides, "
                                     f"requires_grad) (at byte {offset})")
        if len(size) > limits.max_dims:
            raise SerializationError(member, f"tensor with {len(size)} dimensions (at byte "
                                     f"{offset})")
        if storage_offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
            raise SerializationError(member, f"negative tensor offset, size or stride (at byte "
                                     f"{offset})")
        numel = 1
        for s in size:
            numel *= s
        if numel > limits.max_tensor_elements:
            raise SerializationError(member, f"tensor of {numel} elements exceeds the limit "
                                     f"(at byte {offset})")
        extent = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 \
            if numel else 0
        base = storage.array
        if numel and extent > base.size:
            raise SerializationError(f"{member}", f"tensor of size {list(size)} with strides "
                                     f"{list(stride)} at offset {storage_offset} does not fit "
                                     f"in storage '{storage.key}' of {base.size} elements (at "
                                     f"byte {offset})")
        if requires_grad and not storage.dtype.is_floating_point:
            raise SerializationError(member, f"an integer tensor cannot require grad (at byte "
                                     f"{offset})")
        item = base.itemsize
        if numel == 0:
            array = base[:0].reshape(size)
        elif isinstance(base, np.ndarray):
            array = np.ndarray(size, dtype=base.dtype, buffer=base,
                               offset=storage_offset * item,
                               strides=tuple(s * item for s in stride))
        else:                                              # CuPy
            import cupy  # type: ignore
            array = cupy.ndarray(size, dtype=base.dtype, memptr=base.data + storage_offset * item,
                                 strides=tuple(s * item for s in stride))
        tensor = Tensor._from_array(array, requires_grad)
        tensor._version = storage.version
        return tensor

    # -- the whole archive ----------------------------------------------------------------------
    def run(self, extra_files: Optional[Dict[str, Any]]) -> Any:
        self._extra_files(extra_files)
        constants = self._unpickle("constants.pkl", "constants/", classes=False)
        if not isinstance(constants, tuple):
            raise SerializationError("constants.pkl", "the CONSTANTS table must be a tuple")
        self.code = CodeLoader(self.reader, constants, limits=self.limits,
                               version=self.version)
        root = self._unpickle("data.pkl", "data/", classes=True)
        if not isinstance(root, ObjectRecord) or not root.cls.decl.is_module:
            raise SerializationError("data.pkl", "the archive's root object is not a module")
        return _ModuleBuilder(self.code, self.limits).build(root)


class _ModuleBuilder:
    """ObjectRecords → RecursiveScriptModules (shared objects stay shared; cycles refused)."""

    def __init__(self, code: CodeLoader, limits: Limits):
        self.code = code
        self.limits = limits
        self.built: Dict[int, Any] = {}
        self.in_progress: set = set()
        self.methods: Dict[str, Dict[str, Any]] = {}

    def build(self, record: ObjectRecord) -> Any:
        from ..modules import RecursiveScriptModule
        key = id(record)
        if key in self.built:
            return self.built[key]
        if key in self.in_progress:
            raise SerializationError("data.pkl", f"the module tree has a cycle through "
                                     f"{record.cls.qualified_name}")
        if len(self.in_progress) > self.limits.max_depth:
            raise SerializationError("data.pkl", "modules nested too deeply")
        self.in_progress.add(key)
        decl: ClassDecl = record.cls.decl
        ctype = decl.ctype
        if not decl.is_module:
            raise SerializationError(decl.path, f"objects of non-module class "
                                     f"{decl.qualified_name} are not supported by minijit")
        state = record.state
        if state is None:
            raise SerializationError("data.pkl", f"{decl.qualified_name} object without a "
                                     "state (no BUILD)")
        missing = [n for n in ctype.attributes if n not in state]
        if missing:
            raise SerializationError("data.pkl", f"{decl.qualified_name} object lacks "
                                     f"attribute '{missing[0]}' declared in {decl.path}")
        extra = [n for n in state if n not in ctype.attributes]
        if extra:
            raise SerializationError("data.pkl", f"{decl.qualified_name} object has attribute "
                                     f"'{extra[0]}' that {decl.path} does not declare")
        module = RecursiveScriptModule()
        object.__setattr__(module, "_class_type", ctype)
        object.__setattr__(module, "original_name", ctype.name)
        if decl.qualified_name.startswith("__torch__.torch.nn.modules.container.") and \
                ctype.name in ("ModuleList", "Sequential"):
            object.__setattr__(module, "_module_list", True)   # iterable in scripted code
        params, buffers = set(ctype.parameters), set(ctype.buffers)
        for name, t in ctype.attributes.items():
            value = self._convert(state[name], t, f"{decl.qualified_name}.{name}", 0)
            if name in params:
                if value is not None and not hasattr(value, "_data"):
                    raise SerializationError("data.pkl", f"parameter {decl.qualified_name}."
                                             f"{name} is not a tensor")
                module._parameters[name] = value
            elif name in buffers:
                module._buffers[name] = value
            elif isinstance(value, RecursiveScriptModule):
                module._modules[name] = value
            elif name == "training":
                object.__setattr__(module, "training", bool(value))
            else:
                object.__setattr__(module, name, value)
        self.in_progress.discard(key)
        self.built[key] = module
        for method in self._methods(decl):
            module._add_method(method)
        return module

    def _methods(self, decl: ClassDecl) -> List[Any]:
        found = self.methods.get(decl.qualified_name)
        if found is None:
            found = self.methods[decl.qualified_name] = self.code.script_methods(decl)
        return list(found.values())

    def _convert(self, value: Any, t: IRType, where: str, depth: int) -> Any:
        """Check ``value`` against the declared type ``t`` (and build nested modules)."""
        if depth > self.limits.max_depth:
            raise SerializationError("data.pkl", f"value of {where} nested too deeply")
        kind = t.kind

        def bad() -> SerializationError:
            return SerializationError("data.pkl", f"{where} is declared "
                                      f"{t.annotation_str()} but holds {_describe(value)}")

        if kind == "Any":
            return self._convert_any(value, where, depth)
        if value is None:
            if kind in ("NoneType", "Optional") or (kind == "Union" and any(
                    m.kind == "NoneType" for m in t.types)):           # type: ignore[attr-defined]
                return None
            raise bad()
        if kind == "Optional":
            return self._convert(value, t.elem, where, depth + 1)  # type: ignore[attr-defined]
        if kind == "Union":
            for member in t.types:                                  # type: ignore[attr-defined]
                try:
                    return self._convert(value, member, where, depth + 1)
                except SerializationError:
                    continue
            raise bad()
        if kind == "Tensor":
            if not hasattr(value, "_data") or not hasattr(value, "requires_grad"):
                raise bad()
            return value
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad()
            return value
        if kind == "float":
            if not isinstance(value, float):
                raise bad()
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise bad()
            return value
        if kind == "str":
            if not isinstance(value, str):
                raise bad()
            return value
        if kind == "Scalar":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad()
            return value
        if kind == "Device":
            if type(value).__name__ != "device":
                raise bad()
            return value
        if kind == "List":
            if not isinstance(value, list):
                raise bad()
            elem = t.elem                                           # type: ignore[attr-defined]
            return [self._convert(v, elem, where, depth + 1) for v in value]
        if kind == "Tuple":
            elems = t.elems                                         # type: ignore[attr-defined]
            if not isinstance(value, tuple) or len(value) != len(elems):
                raise bad()
            return tuple(self._convert(v, e, where, depth + 1) for v, e in zip(value, elems))
        if kind == "Dict":
            if not isinstance(value, dict):
                raise bad()
            return {self._convert(k, t.key, where, depth + 1):      # type: ignore[attr-defined]
                    self._convert(v, t.value, where, depth + 1)     # type: ignore[attr-defined]
                    for k, v in value.items()}
        if kind == "Class":
            if not isinstance(value, ObjectRecord) or \
                    value.cls.qualified_name != t.qualified_name:   # type: ignore[attr-defined]
                raise bad()
            return self.build(value)
        if kind == "NoneType":
            raise bad()
        raise SerializationError("data.pkl", f"{where}: attributes of type "
                                 f"{t.annotation_str()} are not supported by minijit")

    def _convert_any(self, value: Any, where: str, depth: int) -> Any:
        if depth > self.limits.max_depth:
            raise SerializationError("data.pkl", f"value of {where} nested too deeply")
        if isinstance(value, ObjectRecord):
            return self.build(value)
        if isinstance(value, list):
            return [self._convert_any(v, where, depth + 1) for v in value]
        if isinstance(value, tuple):
            return tuple(self._convert_any(v, where, depth + 1) for v in value)
        if isinstance(value, dict):
            return {k: self._convert_any(v, where, depth + 1) for k, v in value.items()}
        if isinstance(value, (ClassRef, StorageRef)):
            raise SerializationError("data.pkl", f"{where} holds {_describe(value)}")
        return value


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, ObjectRecord):
        return f"a {value.cls.qualified_name} object"
    if hasattr(value, "_data"):
        return "a Tensor"
    return f"a value of type {type(value).__name__}"
