"""
Anatomy of a TorchScript archive
================================

``module.save("my_cell.pt")`` writes a file that PyTorch's ``torch.jit.load`` opens, and that
minijit's ``minijit.jit.load`` turns back into a runnable module in a process that never saw
the Python class.  This tutorial takes such a file apart with nothing but the standard
library and minijit's own reader: it is a zip file, its code is readable TorchScript, and its
module tree is a pickle that we decode opcode by opcode, without running it.

Run it with ``python tutorials/03_anatomy_of_an_archive.py``.  Each ``# %%`` starts a cell.
"""
# %%
# Save a module
# -------------
# The first tutorial's cell: a ``Linear`` layer and a ``tanh``, traced and saved.
import io
import struct
import zipfile

import numpy as np

import minijit as torch
from minijit.jit.serialization.unpickler import Unpickler, iter_opcodes

torch.manual_seed(0)


class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h


x, h = torch.rand(3, 4), torch.rand(3, 4)
traced = torch.jit.trace(MyCell(), (x, h))
traced.save("my_cell.pt", _extra_files={"notes.txt": "saved by tutorial 03"})

# %%
# It is a zip file
# ----------------
# Every member sits in one folder named after the file.  Tensors are stored raw (method 0)
# and code is deflated (method 8).  PyTorch pads each member's local header so that its data
# starts on a 64-byte boundary, which lets a loader map tensors straight from the file; minijit
# writes the same padding (an extra field with id ``FB``).
archive = zipfile.ZipFile("my_cell.pt")
with open("my_cell.pt", "rb") as fh:
    raw = fh.read()
print(f"{'member':50} {'size':>6} method  data offset % 64")
for info in archive.infolist():
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:
                                                   info.header_offset + 30])
    data_offset = info.header_offset + 30 + name_len + extra_len
    print(f"{info.filename:50} {info.file_size:6} {info.compress_type:6}  {data_offset % 64}")

# %%
# The small members say how to read the rest: the format ``version`` (the lowest that covers
# the operators used; 3 unless ``torch.div`` or ``torch.full`` appear), the byte order of the
# raw tensors, and the extra files we asked for.
for member in ("version", "byteorder", "extra/notes.txt"):
    print(f"{member}: {archive.read('my_cell/' + member)!r}")

# %%
# The code
# --------
# Each class is written as TorchScript source, one file per Python module of its name:
# ``__torch__.MyCell`` goes to ``code/__torch__.py`` and ``nn.Linear`` to
# ``code/__torch__/torch/nn/modules/linear.py``.  A class lists which attributes are
# parameters and buffers, declares every attribute's type, and holds its methods, printed by
# the same printer as ``traced.code`` (with a typed ``self``).
print(archive.read("my_cell/code/__torch__.py").decode())
print(archive.read("my_cell/code/__torch__/torch/nn/modules/linear.py").decode())

# %%
# The module tree: ``data.pkl``
# -----------------------------
# ``data.pkl`` is a pickle (protocol 2) describing the module objects.  Python's ``pickle``
# would *execute* it: every ``GLOBAL`` names a Python callable that the unpickler imports and
# calls.  minijit never does that.  ``iter_opcodes`` only decodes the bytes; we print each
# opcode indented by the number of open ``MARK`` s, as ``pickletools.dis`` would.
data_pkl = archive.read("my_cell/data.pkl")
depth = 0
for offset, opcode, argument in iter_opcodes(data_pkl, "data.pkl"):
    if opcode in ("TUPLE", "SETITEMS", "APPENDS", "LIST", "DICT"):
        depth -= 1
    shown = "" if argument is None else " ".join(argument) if opcode == "GLOBAL" \
        else repr(argument)
    print(f"{offset:5}: {'    ' * depth}{opcode:12} {shown}")
    if opcode == "MARK":
        depth += 1

# %%
# How to read it:
#
# * ``GLOBAL '__torch__ MyCell'``, ``EMPTY_TUPLE``, ``NEWOBJ`` makes an empty ``MyCell``;
#   the dict that follows (``MARK`` name value ... ``SETITEMS``) fills its attributes by name,
#   and ``BUILD`` applies it.
# * A tensor is ``_rebuild_tensor_v2(storage, offset, sizes, strides, requires_grad, hooks)``.
#   Its storage is a *persistent id* (``BINPERSID``): the tuple ``('storage', FloatStorage,
#   '0', 'cpu', 16)`` means "16 floats, in the member ``data/0``".
# * ``BINPUT n`` remembers the top of the stack, ``BINGET n`` pushes it again: strings and
#   globals are written once.
#
# The storage is just bytes.  Read as little-endian float32, ``data/0`` is the weight:
weight = np.frombuffer(archive.read("my_cell/data/0"), dtype="<f4").reshape(4, 4)
print(weight)
print("equal to traced.linear.weight:",
      np.array_equal(weight, np.asarray(traced.linear.weight.detach())))

# %%
# Running the pickle safely
# -------------------------
# minijit's :class:`Unpickler` does run the pickle, on a stack machine of its own.  A
# ``GLOBAL`` may only name a fixed table of tensor rebuilders, storage types and list builders,
# or a ``__torch__`` class that the archive's own ``code/`` defines; anything else is refused
# when it is read, before it could be called.  A pickle that would run a shell command with
# Python's ``pickle``:
evil = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R."
try:
    Unpickler(evil, "data.pkl").load()
except torch.jit.SerializationError as error:
    print("refused:", error)

# %%
# The reader also caps what an archive could make it do: the number of opcodes, the nesting
# of marks, the memo size, string and storage sizes, the number and declared sizes of zip
# members (a "zip bomb" declares gigabytes in a few kilobytes).  Every failure is a
# ``SerializationError`` naming the member at fault.  Flipping one byte of the file is caught
# by the zip's CRC-32; re-zipping a doctored ``data.pkl`` (valid CRC) is caught by the reader:
try:
    torch.jit.load(io.BytesIO(raw.replace(b"FloatStorage", b"FloatStorbge")))
except torch.jit.SerializationError as error:
    print(f"{error.member}: {error.message}")
with zipfile.ZipFile("doctored.pt", "w") as out:
    for info in archive.infolist():
        data = archive.read(info.filename)
        if info.filename.endswith("/data.pkl"):
            data = data.replace(b"_rebuild_tensor_v2", b"_rebuild_tensor_v9")
        out.writestr(info.filename, data)
try:
    torch.jit.load("doctored.pt")
except torch.jit.SerializationError as error:
    print(f"{error.member}: {error.message}")

# %%
# Loading
# -------
# ``minijit.jit.load`` puts it together: it checks the zip, reads ``constants.pkl`` and
# ``data.pkl`` with the restricted reader, declares each ``__torch__`` class from ``code/``,
# compiles the methods with the scripter into IR, and builds ``RecursiveScriptModule`` s.  The
# loaded module prints the same code, because its graphs print back to the text they were
# compiled from, and it computes the same numbers.
files = {"notes.txt": ""}
loaded = torch.jit.load("my_cell.pt", _extra_files=files)
print(loaded)
print(loaded.code)
print("extra files:", files)
print("same outputs:", all(np.array_equal(np.asarray(a.detach()), np.asarray(b.detach()))
                           for a, b in zip(loaded(x, h), traced(x, h))))

# %%
# ``python -m minijit inspect my_cell.pt`` prints all of the above (tree, tensors, code,
# members) without compiling or running anything, so it is a safe first look at an archive
# from an unknown source.
