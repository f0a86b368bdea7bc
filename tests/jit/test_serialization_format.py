"""The pieces of the archive format on their own: pickler, opcode reader, zip container.

Every value the pickler writes is read back by minijit's own reader and, as a cross-check, by
``pickletools`` (the standard library's disassembler, which decodes opcodes without running
anything).  The byte patterns are the ones of reference §3.3/§3.7.
"""
from __future__ import annotations

import io
import pickletools
import struct
import zipfile

import numpy as np
import pytest

import minijit
from minijit.jit.ir.types import (BoolType, DeviceType, DictType, FloatType, IntType, ListType,
                                  OptionalType, StringType, TensorType, TupleType)
from minijit.jit.serialization import SerializationError
from minijit.jit.serialization.archive import (ArchiveReader, ArchiveWriter, archive_name_for,
                                               write_atomically)
from minijit.jit.serialization.pickler import Pickler, storage_of
from minijit.jit.serialization.unpickler import Unpickler, iter_opcodes


def dumps(value, type_=None) -> bytes:
    p = Pickler()
    p.dump(value, type_)
    return bytes(p.getvalue())


def loads(data: bytes):
    return Unpickler(data, "test.pkl").load()


def ops(data: bytes):
    return [(op.name, arg) for op, arg, _ in pickletools.genops(data)]


# ---- pickler -------------------------------------------------------------------------------------
@pytest.mark.parametrize("value,opcode", [
    (0, "BININT1"), (255, "BININT1"), (256, "BININT2"), (65535, "BININT2"),
    (65536, "BININT"), (-1, "BININT"), (-2 ** 31, "BININT"), (2 ** 31, "LONG1"),
    (2 ** 40, "LONG1"), (-2 ** 63, "LONG1")])
def test_integers_use_torchscripts_opcodes(value, opcode):
    data = dumps(value, IntType)
    assert ops(data)[1] == (opcode, value)
    assert loads(data) == value


def test_scalars_strings_and_memo():
    assert ops(dumps(1.5, FloatType))[1] == ("BINFLOAT", 1.5)
    assert dumps(1.5, FloatType)[2:11] == b"G" + struct.pack(">d", 1.5)
    assert ops(dumps(True))[1] == ("NEWTRUE", None)
    assert ops(dumps(None))[1] == ("NONE", None)
    data = dumps(("héllo", "héllo"), TupleType([StringType, StringType]))
    names = [n for n, _ in ops(data)]
    assert names == ["PROTO", "BINUNICODE", "BINPUT", "BINGET", "TUPLE2", "STOP"]
    assert loads(data) == ("héllo", "héllo")
    with pytest.raises(SerializationError, match="64 bits"):
        dumps(2 ** 64, IntType)


@pytest.mark.parametrize("value,type_,builder", [
    ([1, 2], ListType(IntType), "build_intlist"),
    ([1.5], ListType(FloatType), "build_doublelist"),
    ([True, False], ListType(BoolType), "build_boollist"),
    ([], ListType(IntType), "build_intlist"),
    (["s"], ListType(StringType), "restore_type_tag"),
    ([[1], [2, 3]], ListType(ListType(IntType)), "restore_type_tag"),
    ({"a": 1}, DictType(StringType, IntType), "restore_type_tag"),
    ({}, DictType(IntType, FloatType), "restore_type_tag"),
])
def test_lists_and_dicts_as_torchscript_writes_them(value, type_, builder):
    data = dumps(value, type_)
    assert ops(data)[1] == ("GLOBAL", f"torch.jit._pickle {builder}")
    if builder == "restore_type_tag":
        assert (("BINUNICODE", type_.annotation_str()) in ops(data))
    assert loads(data) == value


def test_tuples_devices_and_optionals():
    t = TupleType([IntType, TupleType([StringType, FloatType])])
    data = dumps((1, ("a", 2.0)), t)
    assert [n for n, _ in ops(data)].count("TUPLE2") == 2
    assert loads(data) == (1, ("a", 2.0))
    five = dumps(tuple(range(5)), TupleType([IntType] * 5))
    assert [n for n, _ in ops(five)][1] == "MARK" and loads(five) == (0, 1, 2, 3, 4)
    device = dumps(minijit.device("cpu"), DeviceType)
    assert ops(device)[1] == ("GLOBAL", "torch device")
    assert str(loads(device)) == "cpu"
    assert loads(dumps(None, OptionalType(IntType))) is None
    assert loads(dumps(3, OptionalType(IntType))) == 3


def _tensor_loads(data: bytes, storages):
    from minijit.jit.serialization.loader import _Loader, _Storage

    class FakeLoader(_Loader):
        def __init__(self):
            from minijit.jit.serialization.limits import DEFAULT_LIMITS
            self.limits = DEFAULT_LIMITS

    loader = FakeLoader()
    table = {}

    def persistent_load(pid, offset):
        _, stype, key, _, _ = pid
        if key not in table:
            table[key] = _Storage(stype.dtype, key, storages[key])
        return table[key]

    return Unpickler(data, "t.pkl", persistent_load=persistent_load,
                     rebuild_tensor=lambda a, o: loader._rebuild_tensor("t.pkl", a, o)).load()


def test_tensors_views_and_shared_storages():
    base = minijit.arange(10.0)
    window, grid = base[2:6], base.view(2, 5).t()
    p = Pickler()
    p.dump([base, window, grid, window], ListType(TensorType.get()))
    data = bytes(p.getvalue())
    assert [r.key for r in p.storages] == ["0"]                 # one storage, written once
    assert p.storages[0].array.tobytes() == np.arange(10, dtype="<f4").tobytes()
    names = [n for n, _ in ops(data)]
    assert names.count("BINPERSID") == 1
    got = _tensor_loads(data, {"0": np.arange(10, dtype=np.float32)})
    assert [tuple(t.shape) for t in got] == [(10,), (4,), (5, 2), (4,)]
    assert got[1] is got[3]                                        # memoised tensor
    np.testing.assert_array_equal(np.asarray(got[2]), np.asarray(grid))
    got[0]._data[3] = 100.0                                        # views share memory
    assert float(got[1]._data[1]) == 100.0 and got[1]._version is got[0]._version


def test_storage_of_views_and_copies():
    a = np.arange(12.0)
    root, offset, strides = storage_of(a.reshape(3, 4)[1:, ::2])
    assert root is a and offset == 4 and strides == (4, 2)
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    root, offset, strides = storage_of(f)
    assert root is not f and offset == 0 and strides == (3, 1)
    rev = a[::-1]
    root, offset, strides = storage_of(rev)
    assert root is not a and strides == (1,)
    np.testing.assert_array_equal(root, rev)


# ---- opcode reader -------------------------------------------------------------------------------
def test_iter_opcodes_decodes_without_running():
    data = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R."
    assert [(op, arg) for _, op, arg in iter_opcodes(data, "x.pkl")] == [
        ("PROTO", 2), ("GLOBAL", ("os", "system")), ("BINUNICODE", "ls"), ("TUPLE1", None),
        ("REDUCE", None), ("STOP", None)]
    with pytest.raises(SerializationError, match="global 'os.system' is not allowed"):
        loads(data)


@pytest.mark.parametrize("data,match", [
    (b"\x80\x03N.", "protocol 3"),
    (b"\x80\x02\x95N.", "opcode 0x95"),                     # FRAME (protocol 4)
    (b"\x80\x02c__builtin__\nobject\n.", "not allowed"),
    (b"\x80\x02N", "without a STOP"),
    (b"\x80\x02NN.", "2 values on the stack"),
    (b"\x80\x02(N.", "open MARK"),
    (b"\x80\x02h\x05.", "never stored"),
    (b"\x80\x02X\x05\x00\x00\x00ab.", "runs past the end"),
    (b"\x80\x02X\x02\x00\x00\x00\xff\xfe.", "invalid text"),
    (b"\x80\x02\x8a\x09" + b"\x00" * 9 + b".", "LONG1 of 9 bytes"),
    (b"\x80\x02Na.", "not a list"),
    (b"\x80\x02NNs.", "not a dict"),
    (b"\x80\x02}]Ns.", "dict key"),
    (b"\x80\x02)R.", "empty stack"),
    (b"\x80\x02N)R.", "only known globals"),
    (b"\x80\x02ctorch\ndevice\nN\x85R.", "one string"),
    (b"\x80\x02ctorch.jit._pickle\nbuild_intlist\n]X\x01\x00\x00\x00aa\x85R.", "holds a str"),
    (b"\x80\x02ccollections\nOrderedDict\nN\x85R.", "backward hooks"),
    (b"\x80\x02N}b.", "BUILD on None"),
    (b"\x80\x02ctorch._utils\n_rebuild_qtensor\n.", "quantized tensors"),
    (b"\x80\x02cbuiltins\ncomplex\n.", "complex numbers"),
    (b"\x80\x02ctorch\nComplexFloatStorage\n.", "ComplexFloat"),
    (b"\x80\x02X\x01\x00\x00\x00xQ.", "persistent ids are not allowed"),
])
def test_reader_refuses_what_torchscript_never_writes(data, match):
    with pytest.raises(SerializationError, match=match) as info:
        loads(data)
    assert info.value.member == "test.pkl"


def test_reader_builds_containers_with_every_allowed_opcode():
    data = (b"\x80\x02(" + b"(K\x01K\x02l" + b"]K\x03a(K\x04e" + b"(X\x01\x00\x00\x00aK\x05d" +
            b"M\x00\x01J\xff\xff\xff\xff" + b"\x88\x89N\x87" + b"t.")
    assert loads(data) == ([1, 2], [3, 4], {"a": 5}, 256, -1, (True, False, None))


# ---- the zip container ---------------------------------------------------------------------------
def test_writer_aligns_members_and_reader_returns_views():
    buf = io.BytesIO()
    with ArchiveWriter(buf, "m") as w:
        w.write_record("a", b"x" * 3)
        w.write_record("b", np.arange(4, dtype=np.float32))
        w.write_record("code/x.py", b"def f():\n  pass\n" * 20, compress=True)
        with pytest.raises(SerializationError, match="twice"):
            w.write_record("a", b"")
    reader = ArchiveReader(buf.getvalue())
    assert reader.prefix == "m" and reader.names() == ["a", "b", "code/x.py"]
    view = reader.read("b")
    assert isinstance(view, memoryview) and view.obj is reader._buffer     # zero copy
    assert np.frombuffer(view, np.float32).tolist() == [0, 1, 2, 3]
    assert reader.read_text("code/x.py").startswith("def f()")
    assert reader.info("code/x.py").compress_type == zipfile.ZIP_DEFLATED
    with pytest.raises(SerializationError, match="missing") as info:
        reader.read("nope")
    assert info.value.member == "nope"


def test_archive_names_and_atomic_buffers(tmp_path):
    assert archive_name_for("dir/model.v2.pt") == "model.v2"
    assert archive_name_for(str(tmp_path / "noext")) == "noext"
    assert archive_name_for(io.BytesIO()) == "archive"
    out = io.BytesIO()
    write_atomically(out, lambda f: f.write(b"abc"))
    assert out.getvalue() == b"abc"
    path = tmp_path / "f.bin"
    write_atomically(str(path), lambda f: f.write(b"abc"))
    assert path.read_bytes() == b"abc" and sorted(p.name for p in tmp_path.iterdir()) == \
        ["f.bin"]


def test_crc_mismatch_names_the_member():
    buf = io.BytesIO()
    with ArchiveWriter(buf, "m") as w:
        w.write_record("data/0", b"\x01" * 64)
    raw = bytearray(buf.getvalue())
    raw[raw.index(b"\x01" * 64)] = 2
    with pytest.raises(SerializationError, match="CRC-32") as info:
        ArchiveReader(bytes(raw)).read("data/0")
    assert info.value.member == "data/0"


def test_docstring_examples_run():
    import doctest
    import importlib
    for name in ("archive", "errors", "pickler", "unpickler", "saver", "describe", "limits",
                 "class_printer", "code_loader", "loader", "export_types", "script_bridge"):
        module = importlib.import_module(f"minijit.jit.serialization.{name}")
        failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failed == 0, name


# ---- archive versions of ops whose meaning changed (OpInfo.archive_version) ----------------
class _Divides(minijit.nn.Module):
    def forward(self, x, y):
        return x / y


class _Adds(minijit.nn.Module):
    def forward(self, x, y):
        return x + y


class _Fills(minijit.nn.Module):
    def forward(self, x):
        return x + minijit.full([2], 3)


def _archive_version(module) -> str:
    buf = io.BytesIO()
    minijit.jit.save(minijit.jit.script(module), buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        name = [n for n in z.namelist() if n.endswith("/version")][0]
        return z.read(name).decode().strip()


@pytest.mark.parametrize("module, version", [(_Adds(), "3"), (_Divides(), "4"), (_Fills(), "5")])
def test_archives_declare_the_version_their_ops_need(module, version):
    assert _archive_version(module) == version


@pytest.mark.conformance
@pytest.mark.parametrize("cls", [_Adds, _Divides])
def test_archive_versions_match_pytorch(cls):
    torch = pytest.importorskip("torch")

    class Same(torch.nn.Module):
        forward = cls.forward

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(Same()), buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        name = [n for n in z.namelist() if n.endswith("/version")][0]
        want = z.read(name).decode().strip()
    assert _archive_version(cls()) == want


def test_an_old_archive_using_a_changed_op_is_refused():
    buf = io.BytesIO()
    minijit.jit.save(minijit.jit.script(_Divides()), buf)
    old = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(old, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("/version"):
                data = b"3\n"
            dst.writestr(info.filename, data)
    old.seek(0)
    with pytest.raises(SerializationError, match=r"aten::div in an archive of version 3 needs an "
                                                 r"operator upgrader"):
        minijit.jit.load(old)
