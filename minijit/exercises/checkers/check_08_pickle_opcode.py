"""Checks for exercise 8: SETITEMS in a pickle reader (``tutorials/exercises/08_pickle_opcode.py``).

Pickles made by Python's ``pickle.dumps(..., protocol=2)`` must read back as the same value,
and as minijit's own reader reads them; hand-made broken pickles must be refused with a
``SerializationError``.
"""
from __future__ import annotations

import pickle

import pytest

from minijit.exercises.loader import load_exercise
from minijit.jit.serialization.errors import SerializationError
from minijit.jit.serialization.unpickler import Unpickler

ex = load_exercise(8)

PROTO, STOP, MARK = b"\x80\x02", b".", b"("
EMPTY_DICT, EMPTY_LIST, SETITEMS, NONE = b"}", b"]", b"u", b"N"


def _int(n):
    return b"K" + bytes([n])


def _str(s):
    raw = s.encode()
    return b"X" + len(raw).to_bytes(4, "little") + raw


_SHARED = [1, 2, 3]
VALUES = {
    "flat dict": {"a": 1, "b": 2.5, "c": "three", "d": None, "e": True},
    "nested": {"layers": [{"w": 1, "b": 2}, {"w": 3, "b": 4}], "name": "net",
               "shape": (2, 3, 4, 5), "big": 2 ** 40, "neg": -7},
    "int and float keys": {1: "one", 2.5: "two and a half", False: "no"},
    "shared list (memo)": {"x": _SHARED, "y": _SHARED, "z": []},
    "dict in a list": [{"k": i, "v": [i, i * 2]} for i in range(4)],
    "one item and empty dicts": [{"only": [1, 2, 3]}, {}, {"a": {}, "b": {}}],
}


def _load(data, member="data.pkl"):
    return ex.MiniUnpickler(data, member).load()


def test_pop_mark():
    """pop_mark() returns the values since the innermost mark and removes them"""
    u = ex.MiniUnpickler(b"", "x.pkl")
    u.stack = ["a", "b", "c", "d", "e"]
    u.marks = [1, 3]
    assert u.pop_mark(0) == ["d", "e"], "the innermost mark is at 3: values 'd', 'e'"
    assert u.stack == ["a", "b", "c"] and u.marks == [1], \
        "the values and the mark must be removed"
    assert u.pop_mark(0) == ["b", "c"]
    assert u.stack == ["a"] and u.marks == []
    with pytest.raises(SerializationError, match="MARK"):
        u.pop_mark(7)


@pytest.mark.parametrize("name", list(VALUES))
def test_reads_what_pickle_writes(name):
    """reads what pickle.dumps(protocol=2) writes, as minijit's reader does"""
    value = VALUES[name]
    data = pickle.dumps(value, protocol=2)
    got = _load(data)
    assert got == value, f"read {got!r}, expected {value!r}"
    assert got == Unpickler(data, "data.pkl").load()


def test_keeps_shared_objects_shared():
    """a list stored once and fetched from the memo is one object"""
    got = _load(pickle.dumps(VALUES["shared list (memo)"], protocol=2))
    assert got["x"] is got["y"], "x and y were the same list when pickled"


def test_refuses_setitems_without_mark():
    """SETITEMS without a MARK is refused"""
    data = PROTO + EMPTY_DICT + _str("a") + _int(1) + SETITEMS + STOP
    with pytest.raises(SerializationError, match="MARK") as info:
        _load(data, "constants.pkl")
    assert "constants.pkl" in str(info.value), "the error must name the pickle member"


def test_refuses_an_odd_number_of_values():
    """a key without a value is refused"""
    data = PROTO + EMPTY_DICT + MARK + _str("a") + _int(1) + _str("b") + SETITEMS + STOP
    with pytest.raises(SerializationError, match="odd"):
        _load(data)


def test_refuses_filling_something_that_is_not_a_dict():
    """SETITEMS on a list, or on nothing, is refused"""
    data = PROTO + EMPTY_LIST + MARK + _str("a") + _int(1) + SETITEMS + STOP
    with pytest.raises(SerializationError, match="not a dict"):
        _load(data)
    data = PROTO + MARK + _str("a") + _int(1) + SETITEMS + STOP
    with pytest.raises(SerializationError, match="not a dict"):
        _load(data)


def test_refuses_keys_torchscript_cannot_have():
    """keys that are tuples or None are refused"""
    data = PROTO + EMPTY_DICT + MARK + NONE + _int(1) + SETITEMS + STOP
    with pytest.raises(SerializationError, match="key"):
        _load(data)
    key_tuple = pickle.dumps({(1, 2): "pair", "x": 1}, protocol=2)
    with pytest.raises(SerializationError, match="key"):
        _load(key_tuple)


def test_errors_name_the_byte():
    """errors say at which byte the bad opcode is"""
    data = PROTO + EMPTY_DICT + MARK + _str("a") + SETITEMS + STOP
    offset = data.index(SETITEMS, len(PROTO) + 2 + len(_str("a")))
    with pytest.raises(SerializationError) as info:
        _load(data)
    assert f"at byte {offset}" in str(info.value), \
        f"use self.error(offset, ...) so the message ends with '(at byte {offset})': {info.value}"
