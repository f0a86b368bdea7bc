"""
Exercise 8: a pickle opcode in a safe archive reader
====================================================

A TorchScript archive stores its module tree and constants as *pickles*: little programs for
a stack machine.  Each opcode pushes a value (``BININT1 7``, ``BINUNICODE 'a'``), or pops
values and pushes what it built from them (``TUPLE2``), or fills a container that sits on the
stack.  ``MARK`` remembers a stack position, so that a later opcode can take "everything
pushed since the mark".  ``pickle.dumps({"a": 1, "c": "x"}, protocol=2)`` is::

    PROTO 2
    EMPTY_DICT              stack: {}
    BINPUT 0                (remember the dict as memo entry 0)
    MARK                    stack: {}  |            (mark at position 1)
    BINUNICODE 'a'          stack: {}  | 'a'
    BININT1 1               stack: {}  | 'a' 1
    BINUNICODE 'c'          stack: {}  | 'a' 1 'c'
    BINUNICODE 'x'          stack: {}  | 'a' 1 'c' 'x'
    SETITEMS                stack: {'a': 1, 'c': 'x'}
    STOP                    the result is the one value left

(``python -m pickletools`` prints this for any pickle.)  Python's own ``pickle`` module also
runs opcodes that *call* functions the file names (``GLOBAL os system`` + ``REDUCE``), which
is why loading an untrusted pickle can run anything.  minijit never uses it: its reader,
``minijit/jit/serialization/unpickler.py``, understands only the data opcodes TorchScript
writes and a fixed table of known globals.  Study its ``Unpickler.load``: one loop over the
decoded opcodes, one branch per opcode, every malformed input refused with a
``SerializationError`` that names the archive member and the byte offset.

Below is a smaller reader of the same kind, ``MiniUnpickler``, organised as a table: one
method ``op_<NAME>`` per opcode, found by name.  Two pieces are missing.

What to build
-------------
1. ``pop_mark(offset)``: take the innermost mark off ``self.marks`` (a list of stack
   positions), remove every value pushed since it from ``self.stack`` and return them as a
   list, oldest first.  With no mark open, raise ``self.error(offset, "... no MARK ...")``.
   (The given ``op_TUPLE``, ``op_LIST``, ``op_APPENDS`` and ``op_DICT`` use it too.)

2. ``op_SETITEMS(arg, offset)``: pop the values since the mark: they are
   ``key, value, key, value, ...``; the dict to fill is then on the top of the stack (it stays
   there).  Set the items in order.  Refuse, with ``self.error(offset, message)``:

   * an odd number of values (the message must contain ``odd``);
   * a top of the stack that is not a dict, or an empty stack (``not a dict``);
   * a key that is not a ``str``, ``int``, ``float`` or ``bool`` (TorchScript's dict keys;
   also refuses tuples, lists and None): the message must contain ``key``.

Check your work with::

    python -m minijit exercises check 8

Hints
-----
* A value pushed since the mark sits at ``self.stack[start:]``, where ``start`` is the mark.
* ``op_SETITEM`` (given) is the one-item version: read it.
* ``python tutorials/exercises/08_pickle_opcode.py`` reads a pickle made by ``pickle.dumps``
  and prints each opcode and the stack after it.
"""
from __future__ import annotations

from typing import Any, Dict, List

from minijit.jit.serialization.errors import SerializationError
from minijit.jit.serialization.unpickler import iter_opcodes


class MiniUnpickler:
    """A table-driven reader for pickles of plain data (protocol 2).

    Args:
        data: the pickle's bytes.
        member: its archive member name, for error messages.
        trace: print each opcode and the stack after it.
    """

    def __init__(self, data: bytes, member: str = "data.pkl", trace: bool = False):
        self.data = data
        self.member = member
        self.trace = trace
        self.stack: List[Any] = []
        self.marks: List[int] = []
        self.memo: Dict[int, Any] = {}

    def error(self, offset: int, message: str) -> SerializationError:
        """The error to raise for a malformed pickle: names the member and the byte."""
        return SerializationError(self.member, f"{message} (at byte {offset})")

    def load(self) -> Any:
        """Run the pickle; its value."""
        for offset, name, arg in iter_opcodes(self.data, self.member):
            handler = getattr(self, f"op_{name}", None)
            if handler is None:
                raise self.error(offset, f"opcode {name} is not allowed in plain data")
            result = handler(arg, offset)
            if self.trace:
                shown = "" if arg is None else f" {arg!r}"
                print(f"{offset:5d}: {name + shown:<26} stack: {self.stack}")
            if name == "STOP":
                return result
        raise self.error(len(self.data), "no STOP")  # pragma: no cover (iter_opcodes checks)

    # ---- yours ---------------------------------------------------------------------------
    def pop_mark(self, offset: int) -> List[Any]:
        """Remove and return the values pushed since the innermost MARK."""
        raise NotImplementedError

    def op_SETITEMS(self, arg: Any, offset: int) -> None:
        """``dict, MARK, k1, v1, k2, v2 ... SETITEMS`` → the dict with the items added."""
        raise NotImplementedError

    # ---- given ---------------------------------------------------------------------------
    def pop(self, offset: int, name: str) -> Any:
        """Pop one value, refusing to reach below the innermost mark."""
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise self.error(offset, f"{name} on an empty stack")
        return self.stack.pop()

    def op_PROTO(self, arg: int, offset: int) -> None:
        if arg != 2:
            raise self.error(offset, f"pickle protocol {arg}; expected 2")

    def op_STOP(self, arg: Any, offset: int) -> Any:
        if self.marks:
            raise self.error(offset, "STOP with an open MARK")
        if len(self.stack) != 1:
            raise self.error(offset, f"STOP with {len(self.stack)} values on the stack")
        return self.stack[0]

    def op_MARK(self, arg: Any, offset: int) -> None:
        self.marks.append(len(self.stack))

    def _push(self, arg: Any, offset: int) -> None:
        self.stack.append(arg)

    op_BININT1 = op_BININT2 = op_BININT = op_LONG1 = op_BINFLOAT = op_BINUNICODE = _push

    def op_NONE(self, arg: Any, offset: int) -> None:
        self.stack.append(None)

    def op_NEWTRUE(self, arg: Any, offset: int) -> None:
        self.stack.append(True)

    def op_NEWFALSE(self, arg: Any, offset: int) -> None:
        self.stack.append(False)

    def op_EMPTY_TUPLE(self, arg: Any, offset: int) -> None:
        self.stack.append(())

    def op_EMPTY_LIST(self, arg: Any, offset: int) -> None:
        self.stack.append([])

    def op_EMPTY_DICT(self, arg: Any, offset: int) -> None:
        self.stack.append({})

    def op_TUPLE(self, arg: Any, offset: int) -> None:
        self.stack.append(tuple(self.pop_mark(offset)))

    def _tuple_n(self, n: int, offset: int) -> None:
        items = [self.pop(offset, f"TUPLE{n}") for _ in range(n)]
        self.stack.append(tuple(reversed(items)))

    def op_TUPLE1(self, arg: Any, offset: int) -> None:
        self._tuple_n(1, offset)

    def op_TUPLE2(self, arg: Any, offset: int) -> None:
        self._tuple_n(2, offset)

    def op_TUPLE3(self, arg: Any, offset: int) -> None:
        self._tuple_n(3, offset)

    def op_LIST(self, arg: Any, offset: int) -> None:
        self.stack.append(self.pop_mark(offset))

    def _top_list(self, offset: int) -> list:
        if not self.stack or not isinstance(self.stack[-1], list):
            raise self.error(offset, "APPEND(S) to something that is not a list")
        return self.stack[-1]

    def op_APPEND(self, arg: Any, offset: int) -> None:
        value = self.pop(offset, "APPEND")
        self._top_list(offset).append(value)

    def op_APPENDS(self, arg: Any, offset: int) -> None:
        items = self.pop_mark(offset)
        self._top_list(offset).extend(items)

    def op_SETITEM(self, arg: Any, offset: int) -> None:
        value = self.pop(offset, "SETITEM")
        key = self.pop(offset, "SETITEM")
        if not self.stack or not isinstance(self.stack[-1], dict):
            raise self.error(offset, "SETITEM on something that is not a dict")
        if not isinstance(key, (str, int, float, bool)):
            raise self.error(offset, f"dict key of type {type(key).__name__}")
        self.stack[-1][key] = value

    def op_DICT(self, arg: Any, offset: int) -> None:
        """``MARK k1 v1 ... DICT``: a new dict, filled by SETITEMS's rules."""
        items = self.pop_mark(offset)
        self.stack.append({})
        self.marks.append(len(self.stack))
        self.stack.extend(items)
        self.op_SETITEMS(arg, offset)

    def op_BINPUT(self, arg: int, offset: int) -> None:
        if not self.stack:
            raise self.error(offset, "BINPUT on an empty stack")
        self.memo[arg] = self.stack[-1]

    op_LONG_BINPUT = op_BINPUT

    def op_BINGET(self, arg: int, offset: int) -> None:
        if arg not in self.memo:
            raise self.error(offset, f"BINGET {arg} of a memo entry never stored")
        self.stack.append(self.memo[arg])

    op_LONG_BINGET = op_BINGET


def loads(data: bytes) -> Any:
    """Read a pickle of plain data with :class:`MiniUnpickler`."""
    return MiniUnpickler(data).load()


if __name__ == "__main__":
    import pickle
    data = pickle.dumps({"a": 1, "b": [1, 2, (3, 4, 5, 6)], "c": "x"}, protocol=2)
    print(MiniUnpickler(data, trace=True).load())
