"""A pickle-opcode reader for TorchScript archives that never runs anything the file names.

Python's ``pickle`` calls whatever ``module.name`` a file mentions, which is why loading an
untrusted pickle can run ``os.system``.  This reader is written from scratch instead.  It
understands the ~35 data opcodes TorchScript's pickler writes (``pickler.cpp``; reference
§3.6), and a ``GLOBAL`` can only name an entry of a fixed table (:data:`KNOWN_GLOBALS`) or a
TorchScript class ``__torch__.<...>`` that the archive's own ``code/`` defines.  Every other
global is refused *when it is read*, before anything could be called.  ``REDUCE``/``NEWOBJ``/
``BUILD`` are interpreted by the table entry: they never look up or call a Python function.

Decoding and meaning are separate: :func:`iter_opcodes` turns bytes into
``(offset, name, argument)`` triples (the tutorial prints them), and :class:`Unpickler` runs
them on a stack machine with caps on opcode count, mark depth, memo size and string length
(:class:`~.limits.Limits`).  Every problem raises :class:`~.errors.SerializationError` naming
the pickle member.

Example:
    >>> data = bytes([0x80, 2]) + b"K\\x07" + b"."        # PROTO 2, BININT1 7, STOP
    >>> [op for _, op, _ in iter_opcodes(data, "x.pkl")]
    ['PROTO', 'BININT1', 'STOP']
    >>> Unpickler(data, "x.pkl").load()
    7
"""
from __future__ import annotations

import re
import struct
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from .errors import SerializationError
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["Unpickler", "iter_opcodes", "KNOWN_GLOBALS", "ObjectRecord", "ClassRef",
           "StorageRef", "GlobalRef", "UNSUPPORTED_GLOBALS"]

_U2 = struct.Struct("<H")
_I4 = struct.Struct("<i")
_U4 = struct.Struct("<I")
_F8 = struct.Struct(">d")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")

# opcode byte -> (name, argument kind)
OPCODES: Dict[int, Tuple[str, str]] = {
    0x80: ("PROTO", "u1"), 0x2E: ("STOP", ""), 0x28: ("MARK", ""),
    0x29: ("EMPTY_TUPLE", ""), 0x5D: ("EMPTY_LIST", ""), 0x7D: ("EMPTY_DICT", ""),
    0x74: ("TUPLE", ""), 0x85: ("TUPLE1", ""), 0x86: ("TUPLE2", ""), 0x87: ("TUPLE3", ""),
    0x6C: ("LIST", ""), 0x64: ("DICT", ""), 0x61: ("APPEND", ""), 0x65: ("APPENDS", ""),
    0x73: ("SETITEM", ""), 0x75: ("SETITEMS", ""), 0x4E: ("NONE", ""),
    0x88: ("NEWTRUE", ""), 0x89: ("NEWFALSE", ""), 0x4B: ("BININT1", "u1"),
    0x4D: ("BININT2", "u2"), 0x4A: ("BININT", "i4"), 0x8A: ("LONG1", "long1"),
    0x47: ("BINFLOAT", "f8"), 0x58: ("BINUNICODE", "unicode4"), 0x71: ("BINPUT", "u1"),
    0x72: ("LONG_BINPUT", "u4"), 0x68: ("BINGET", "u1"), 0x6A: ("LONG_BINGET", "u4"),
    0x63: ("GLOBAL", "lines"), 0x81: ("NEWOBJ", ""), 0x52: ("REDUCE", ""), 0x62: ("BUILD", ""),
    0x51: ("BINPERSID", ""),
}


def _fail(member: str, offset: int, message: str) -> SerializationError:
    return SerializationError(member, f"{message} (at byte {offset})")


def iter_opcodes(data: Any, member: str, limits: Limits = DEFAULT_LIMITS
                 ) -> Iterator[Tuple[int, str, Any]]:
    """Decode a pickle into ``(offset, opcode name, argument)`` without interpreting it.

    Arguments are Python values: ints, floats, strings, and ``(module, name)`` for GLOBAL.
    Stops after ``STOP``.  Unknown opcodes, truncation and oversized strings raise.
    """
    buf = bytes(data) if not isinstance(data, bytes) else data
    n = len(buf)
    pos = 0
    count = 0
    while True:
        if pos >= n:
            raise _fail(member, pos, "the pickle ends without a STOP opcode (truncated?)")
        count += 1
        if count > limits.max_opcodes:
            raise _fail(member, pos, f"more than {limits.max_opcodes} opcodes")
        start = pos
        code = buf[pos]
        pos += 1
        entry = OPCODES.get(code)
        if entry is None:
            shown = chr(code) if 0x20 < code < 0x7F else ""
            raise _fail(member, start, f"opcode 0x{code:02x}{' ' + repr(shown) if shown else ''}"
                        " is not allowed in a TorchScript pickle")
        name, kind = entry
        arg: Any = None
        try:
            if kind == "u1":
                arg = buf[pos]
                pos += 1
            elif kind == "u2":
                arg = _U2.unpack_from(buf, pos)[0]
                pos += 2
            elif kind == "i4":
                arg = _I4.unpack_from(buf, pos)[0]
                pos += 4
            elif kind == "u4":
                arg = _U4.unpack_from(buf, pos)[0]
                pos += 4
            elif kind == "f8":
                arg = _F8.unpack_from(buf, pos)[0]
                pos += 8
            elif kind == "long1":
                size = buf[pos]
                if size > 8:
                    raise _fail(member, start, f"LONG1 of {size} bytes (at most 8 allowed)")
                raw = buf[pos + 1:pos + 1 + size]
                if len(raw) != size:
                    raise IndexError
                arg = int.from_bytes(raw, "little", signed=True)
                pos += 1 + size
            elif kind == "unicode4":
                size = _U4.unpack_from(buf, pos)[0]
                if size > limits.max_string_bytes:
                    raise _fail(member, start, f"string of {size} bytes exceeds the limit of "
                                f"{limits.max_string_bytes}")
                raw = buf[pos + 4:pos + 4 + size]
                if len(raw) != size:
                    raise IndexError
                arg = raw.decode("utf-8")
                pos += 4 + size
            elif kind == "lines":
                parts = []
                for _ in range(2):
                    end = buf.find(b"\n", pos, pos + 1024)
                    if end < 0:
                        raise _fail(member, start, "GLOBAL without a newline-terminated name")
                    parts.append(buf[pos:end].decode("ascii"))
                    pos = end + 1
                arg = (parts[0], parts[1])
        except (IndexError, struct.error):
            raise _fail(member, start, f"{name} runs past the end of the pickle (truncated?)") \
                from None
        except UnicodeDecodeError as exc:
            raise _fail(member, start, f"{name} holds invalid text: {exc.reason}") from None
        yield start, name, arg
        if name == "STOP":
            return


# ---- the things a GLOBAL may name ---------------------------------------------------------------
class GlobalRef:
    """A known global on the stack: ``kind`` says what REDUCE with it means."""

    __slots__ = ("module", "name", "kind", "payload")

    def __init__(self, module: str, name: str, kind: str, payload: Any = None):
        self.module, self.name, self.kind, self.payload = module, name, kind, payload

    def __repr__(self) -> str:
        return f"GlobalRef({self.module}.{self.name})"


class ClassRef:
    """``GLOBAL '__torch__.a.b C'``: a TorchScript class from the archive's ``code/``."""

    __slots__ = ("qualified_name", "decl")

    def __init__(self, qualified_name: str, decl: Any):
        self.qualified_name = qualified_name
        self.decl = decl


class ObjectRecord:
    """An object of a TorchScript class (a module, usually): its class and slot values."""

    __slots__ = ("cls", "state", "__weakref__")

    def __init__(self, cls: ClassRef):
        self.cls = cls
        self.state: Optional[Dict[str, Any]] = None

    def __repr__(self) -> str:
        return f"<{self.cls.qualified_name} object>"


class StorageRef:
    """The storage type global (``torch FloatStorage``): stands for a dtype in a persistent id."""

    __slots__ = ("scalar_name", "dtype")

    def __init__(self, scalar_name: str, dtype: Any):
        self.scalar_name = scalar_name
        self.dtype = dtype


class _Hooks:
    """What ``collections.OrderedDict()`` becomes: an empty backward-hooks placeholder."""

    __slots__ = ()


HOOKS = _Hooks()

KNOWN_GLOBALS: Dict[Tuple[str, str], str] = {
    ("torch._utils", "_rebuild_tensor_v2"): "rebuild_tensor",
    ("torch.jit._pickle", "restore_type_tag"): "restore_type_tag",
    ("torch.jit._pickle", "build_intlist"): "build_intlist",
    ("torch.jit._pickle", "build_doublelist"): "build_doublelist",
    ("torch.jit._pickle", "build_boollist"): "build_boollist",
    ("torch.jit._pickle", "build_tensorlist"): "build_tensorlist",
    ("collections", "OrderedDict"): "ordered_dict",
    ("torch", "device"): "device",
}
"""Every global (besides storage types and ``__torch__`` classes) that a pickle may name."""

UNSUPPORTED_GLOBALS: Dict[Tuple[str, str], str] = {
    ("torch._utils", "_rebuild_qtensor"): "quantized tensors",
    ("torch._utils", "_rebuild_sparse_tensor"): "sparse tensors",
    ("torch._utils", "_rebuild_sparse_csr_tensor"): "sparse tensors",
    ("torch._tensor", "_rebuild_from_type_v2"): "tensor subclasses",
    ("torch._utils", "_rebuild_parameter"): "torch.save'd Parameters",
    ("torch.jit._pickle", "build_tensor_from_id"): "tensor tables (mobile bytecode)",
    ("torch.distributed.rpc", "rref"): "RRefs",
    ("builtins", "complex"): "complex numbers",
    ("__main__", "TensorID"): "legacy tensor tables",
    ("__main__", "IntList"): "legacy int lists",
}
"""Globals PyTorch archives may hold that minijit knowingly does not support."""


def _storage_dtypes() -> Dict[str, Any]:
    from ... import dtypes
    return {d.storage_name: d for d in dtypes.ALL_DTYPES}


# ---- the stack machine -------------------------------------------------------------------------
class _Mark:
    __slots__ = ()


class Unpickler:
    """Runs one TorchScript pickle.

    Args:
        data: the pickle's bytes.
        member: its archive member name, for errors.
        resolve_class: ``qualified_name -> class declaration`` for ``__torch__`` globals
            (raises SerializationError for unknown classes); None refuses them all.
        persistent_load: ``(pid tuple, offset) -> storage`` for BINPERSID; None refuses.
        rebuild_tensor: ``(args tuple, offset) -> tensor`` for ``_rebuild_tensor_v2``.
        limits: the caps.
    """

    def __init__(self, data: Any, member: str, *,
                 resolve_class: Optional[Callable[[str], Any]] = None,
                 persistent_load: Optional[Callable[[tuple, int], Any]] = None,
                 rebuild_tensor: Optional[Callable[[tuple, int], Any]] = None,
                 limits: Limits = DEFAULT_LIMITS):
        self.data = data
        self.member = member
        self.resolve_class = resolve_class
        self.persistent_load = persistent_load
        self.rebuild_tensor = rebuild_tensor
        self.limits = limits
        self._storage_types = _storage_dtypes()

    def _error(self, offset: int, message: str) -> SerializationError:
        return _fail(self.member, offset, message)

    def resolve_global(self, module: str, name: str, offset: int) -> Any:
        """The stack value for ``GLOBAL module name``; anything unknown is refused here."""
        key = (module, name)
        kind = KNOWN_GLOBALS.get(key)
        if kind is not None:
            return GlobalRef(module, name, kind)
        if key in UNSUPPORTED_GLOBALS:
            raise self._error(offset, f"global '{module}.{name}': {UNSUPPORTED_GLOBALS[key]} "
                              "are not supported by minijit")
        if module == "torch" and name.endswith("Storage"):
            dtype = self._storage_types.get(name)
            if dtype is None:
                raise self._error(offset, f"global 'torch.{name}': dtype "
                                  f"{name[:-len('Storage')]} is not supported by minijit")
            return StorageRef(name[:-len("Storage")], dtype)
        if (module == "__torch__" or module.startswith("__torch__.")) and \
                _NAME.match(module) and _NAME.match(name) and self.resolve_class is not None:
            qualified = f"{module}.{name}"
            return ClassRef(qualified, self.resolve_class(qualified))
        raise self._error(offset, f"global '{module}.{name}' is not allowed (a TorchScript "
                          "pickle may only name tensor rebuilders, storage types, list "
                          "builders and __torch__ classes)")

    def load(self) -> Any:
        """Run the pickle and return its value."""
        limits = self.limits
        stack: List[Any] = []
        marks: List[int] = []
        memo: Dict[int, Any] = {}
        error = self._error

        def pop_mark(offset: int) -> List[Any]:
            if not marks:
                raise error(offset, "no MARK to pop to")
            start = marks.pop()
            items = stack[start:]
            del stack[start:]
            return items

        def pop(offset: int, name: str) -> Any:
            if len(stack) <= (marks[-1] if marks else 0):
                raise error(offset, f"{name} on an empty stack")
            return stack.pop()

        for offset, op, arg in iter_opcodes(self.data, self.member, limits):
            if op == "BINUNICODE" or op in ("BININT1", "BININT2", "BININT", "LONG1",
                                            "BINFLOAT"):
                stack.append(arg)
            elif op == "BINPUT" or op == "LONG_BINPUT":
                if len(stack) <= (marks[-1] if marks else 0):
                    raise error(offset, "BINPUT on an empty stack")
                if arg not in memo and len(memo) >= limits.max_memo:
                    raise error(offset, f"more than {limits.max_memo} memo entries")
                memo[arg] = stack[-1]
            elif op == "BINGET" or op == "LONG_BINGET":
                if arg not in memo:
                    raise error(offset, f"{op} {arg} of a memo entry never stored")
                stack.append(memo[arg])
            elif op == "MARK":
                if len(marks) >= limits.max_depth:
                    raise error(offset, f"MARKs nested deeper than {limits.max_depth}")
                marks.append(len(stack))
            elif op == "NONE":
                stack.append(None)
            elif op == "NEWTRUE":
                stack.append(True)
            elif op == "NEWFALSE":
                stack.append(False)
            elif op == "EMPTY_TUPLE":
                stack.append(())
            elif op == "EMPTY_LIST":
                stack.append([])
            elif op == "EMPTY_DICT":
                stack.append({})
            elif op == "TUPLE":
                stack.append(tuple(pop_mark(offset)))
            elif op in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(op[-1])
                if len(stack) - (marks[-1] if marks else 0) < n:
                    raise error(offset, f"{op} needs {n} values on the stack")
                items = tuple(stack[-n:])
                del stack[-n:]
                stack.append(items)
            elif op == "LIST":
                stack.append(pop_mark(offset))
            elif op == "DICT":
                items = pop_mark(offset)
                stack.append(self._dict_from(items, offset))
            elif op == "APPEND":
                value = pop(offset, op)
                self._list_target(stack, marks, offset).append(value)
            elif op == "APPENDS":
                items = pop_mark(offset)
                self._list_target(stack, marks, offset).extend(items)
            elif op == "SETITEM":
                value = pop(offset, op)
                key = pop(offset, op)
                self._set_items(self._dict_target(stack, marks, offset), [key, value], offset)
            elif op == "SETITEMS":
                items = pop_mark(offset)
                self._set_items(self._dict_target(stack, marks, offset), items, offset)
            elif op == "GLOBAL":
                module, name = arg
                stack.append(self.resolve_global(module, name, offset))
            elif op == "REDUCE":
                args = pop(offset, op)
                fn = pop(offset, op)
                stack.append(self._reduce(fn, args, offset))
            elif op == "NEWOBJ":
                args = pop(offset, op)
                cls = pop(offset, op)
                if not isinstance(cls, ClassRef):
                    raise error(offset, f"NEWOBJ of {_describe(cls)}; only __torch__ classes "
                                "can be instantiated")
                if args != ():
                    raise error(offset, "NEWOBJ with constructor arguments")
                stack.append(ObjectRecord(cls))
            elif op == "BUILD":
                state = pop(offset, op)
                target = stack[-1] if len(stack) > (marks[-1] if marks else 0) else None
                if not isinstance(target, ObjectRecord):
                    raise error(offset, f"BUILD on {_describe(target)}; only objects of "
                                "__torch__ classes take a state")
                if target.state is not None:
                    raise error(offset, "BUILD twice on one object")
                if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
                    raise error(offset, f"the state of {target.cls.qualified_name} must be a "
                                "dict of attribute names (classes with __setstate__ are not "
                                "supported)")
                target.state = state
            elif op == "BINPERSID":
                pid = pop(offset, op)
                if self.persistent_load is None:
                    raise error(offset, "persistent ids are not allowed here")
                stack.append(self.persistent_load(pid, offset))
            elif op == "PROTO":
                if arg != 2:
                    raise error(offset, f"pickle protocol {arg}; TorchScript writes protocol 2")
            elif op == "STOP":
                if marks:
                    raise error(offset, "STOP with an open MARK")
                if len(stack) != 1:
                    raise error(offset, f"STOP with {len(stack)} values on the stack "
                                "(expected 1)")
                return stack[0]
        raise error(len(self.data), "the pickle ends without a STOP opcode")  # pragma: no cover

    # -- helpers -----------------------------------------------------------------------------
    def _list_target(self, stack: List[Any], marks: List[int], offset: int) -> list:
        floor = marks[-1] if marks else 0
        if len(stack) <= floor or not isinstance(stack[-1], list):
            raise self._error(offset, "APPEND(S) to something that is not a list")
        return stack[-1]

    def _dict_target(self, stack: List[Any], marks: List[int], offset: int) -> dict:
        floor = marks[-1] if marks else 0
        if len(stack) <= floor or not isinstance(stack[-1], dict):
            raise self._error(offset, "SETITEM(S) on something that is not a dict")
        return stack[-1]

    def _set_items(self, target: dict, items: List[Any], offset: int) -> None:
        if len(items) % 2:
            raise self._error(offset, "SETITEMS with an odd number of values")
        for k, v in zip(items[::2], items[1::2]):
            if not isinstance(k, (str, int, float, bool)) and not hasattr(k, "_data"):
                raise self._error(offset, f"dict key of type {_describe(k)} (TorchScript keys "
                                  "are str, int, float, bool or Tensor)")
            target[k] = v

    def _dict_from(self, items: List[Any], offset: int) -> dict:
        out: dict = {}
        self._set_items(out, items, offset)
        return out

    def _reduce(self, fn: Any, args: Any, offset: int) -> Any:
        if not isinstance(fn, GlobalRef):
            raise self._error(offset, f"REDUCE calls {_describe(fn)}; only known globals can "
                              "be called")
        if not isinstance(args, tuple):
            raise self._error(offset, f"REDUCE arguments must be a tuple, got {_describe(args)}")
        kind = fn.kind
        if kind == "ordered_dict":
            if args not in ((), ([],)):
                raise self._error(offset, "OrderedDict with contents (backward hooks are not "
                                  "supported)")
            return HOOKS
        if kind == "restore_type_tag":
            if len(args) != 2 or not isinstance(args[0], (list, dict)) or \
                    not isinstance(args[1], str):
                raise self._error(offset, "restore_type_tag takes (list or dict, type string)")
            return args[0]
        if kind.startswith("build_") and kind.endswith("list"):
            return self._build_list(kind, args, offset)
        if kind == "device":
            if len(args) != 1 or not isinstance(args[0], str):
                raise self._error(offset, "torch.device takes one string")
            from ...backends import device
            try:
                return device(args[0])
            except (RuntimeError, ValueError) as exc:
                raise self._error(offset, f"bad device {args[0]!r}: {exc}") from None
        if kind == "rebuild_tensor":
            if self.rebuild_tensor is None:
                raise self._error(offset, "tensors are not allowed here")
            return self.rebuild_tensor(args, offset)
        raise self._error(offset, f"REDUCE of {fn.module}.{fn.name}")   # pragma: no cover

    def _build_list(self, kind: str, args: tuple, offset: int) -> list:
        if len(args) != 1 or not isinstance(args[0], list):
            raise self._error(offset, f"{kind} takes one list")
        items = args[0]
        ok: Callable[[Any], bool]
        if kind == "build_intlist":
            ok = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
        elif kind == "build_doublelist":
            ok = lambda v: isinstance(v, float)  # noqa: E731
        elif kind == "build_boollist":
            ok = lambda v: isinstance(v, bool)  # noqa: E731
        else:
            ok = lambda v: hasattr(v, "_data")  # noqa: E731
        for v in items:
            if not ok(v):
                raise self._error(offset, f"{kind} holds a {_describe(v)}")
        return items


def _describe(value: Any) -> str:
    if isinstance(value, GlobalRef):
        return f"global {value.module}.{value.name}"
    if isinstance(value, ClassRef):
        return f"class {value.qualified_name}"
    if isinstance(value, ObjectRecord):
        return f"a {value.cls.qualified_name} object"
    if isinstance(value, StorageRef):
        return f"storage type {value.scalar_name}"
    if value is None:
        return "None"
    return type(value).__name__
