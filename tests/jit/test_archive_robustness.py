"""Hostile and broken archives: every one raises ``SerializationError`` naming the member.

``minijit.jit.load`` must never crash (no ``KeyError``/``struct.error``/``RecursionError``
escapes), hang, allocate memory an archive merely *declares*, or run anything an archive
names.  The cases follow the issue's list: truncations, every single-byte corruption of a
small archive's ``data.pkl``, 1,000+ random member corruptions (fixed seed), path traversal,
pickles naming ``os.system``/``builtins.eval``/``subprocess.Popen`` (a sentinel file proves
nothing ran), zip bombs, oversized shapes, wrong storage sizes and unknown versions.
"""
from __future__ import annotations

import io
import pickle
import random
import struct
import time
import tracemalloc
import warnings
import zipfile
import zlib

import numpy as np
import pytest

import minijit
from minijit.jit import SerializationError
from minijit.jit.serialization import DEFAULT_LIMITS

SOURCE = '''
from typing import Dict, List, Optional
class Sub(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x)
class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.sub = Sub()
        self.register_buffer("steps", torch.tensor([1, 2]))
        self.names: List[str] = ["a"]
        self.table: Dict[str, int] = {"k": 1}
        self.maybe: Optional[int] = None
        self.scale = 0.5
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sub(x) * self.scale + self.steps
'''


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory):
    """A small scripted module with a submodule, parameters, an int buffer and attributes."""
    path = tmp_path_factory.mktemp("robust") / "small_def.py"
    path.write_text(SOURCE)
    namespace = {"torch": minijit, "__name__": "robust_small"}
    exec(compile(SOURCE, str(path), "exec"), namespace)
    minijit.manual_seed(0)
    module = minijit.jit.script(namespace["Small"]())
    buf = io.BytesIO()
    minijit.jit.save(module, buf)
    return buf.getvalue()


def members_of(data: bytes) -> dict:
    z = zipfile.ZipFile(io.BytesIO(data))
    return {info.filename: z.read(info.filename) for info in z.infolist()}


def rezip(members: dict, compression: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def with_member(data: bytes, member: str, contents: bytes) -> bytes:
    members = members_of(data)
    members[f"archive/{member}"] = contents
    return rezip(members)


def load_or_error(data: bytes, **kwargs):
    """The loaded module or the SerializationError; any other exception fails the test."""
    try:
        return minijit.jit.load(io.BytesIO(data), **kwargs)
    except SerializationError as exc:
        return exc


def expect_error(data: bytes, member=..., match: str = "", **kwargs) -> SerializationError:
    result = load_or_error(data, **kwargs)
    assert isinstance(result, SerializationError), "the archive loaded"
    if member is not ...:
        assert result.member == member, str(result)
    assert match in str(result), str(result)
    return result


def test_the_small_archive_loads(small_archive):
    m = minijit.jit.load(io.BytesIO(small_archive))
    assert m.names == ["a"] and m.table == {"k": 1} and m.maybe is None and m.scale == 0.5


# ---- truncation ----------------------------------------------------------------------------------
def test_every_truncation_of_the_file(small_archive):
    for n in range(len(small_archive)):
        expect_error(small_archive[:n], member=None)


def test_truncated_members(small_archive):
    for name, contents in members_of(small_archive).items():
        member = name.split("/", 1)[1]
        if member in (".data/serialization_id",):
            continue
        for n in sorted({0, 1, len(contents) // 2, len(contents) - 1}):
            if n >= len(contents):
                continue
            result = load_or_error(with_member(small_archive, member, contents[:n]))
            if contents[n:].strip() == b"":
                continue                       # only a final newline went: still valid
            assert isinstance(result, SerializationError), (member, n)
            assert result.member is not None, str(result)


# ---- data.pkl corruption -------------------------------------------------------------------------
def test_every_single_byte_corruption_of_data_pkl(small_archive):
    pkl = members_of(small_archive)["archive/data.pkl"]
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(len(pkl)):
        for value in {pkl[i] ^ 0xFF, (pkl[i] + 1) % 256}:
            corrupt = pkl[:i] + bytes([value]) + pkl[i + 1:]
            result = load_or_error(with_member(small_archive, "data.pkl", corrupt))
            if isinstance(result, SerializationError):
                outcomes["refused"] += 1
                assert result.member is not None and (
                    result.member in ("data.pkl", "version") or result.member.startswith(
                        ("data/", "code/"))), str(result)
            else:
                outcomes["loaded"] += 1        # e.g. a changed float or requires_grad flag
    assert outcomes["refused"] > outcomes["loaded"] > 0


# ---- random corruption of any member -------------------------------------------------------------
MUTATIONS = ("flip", "byte", "truncate", "insert", "delete", "duplicate", "zero", "raw")


def mutate(rng: random.Random, data: bytes) -> bytes:
    members = members_of(data)
    name = rng.choice(sorted(members))
    contents = bytearray(members[name])
    kind = rng.choice(MUTATIONS)
    if kind == "raw":                          # corrupt the zip file itself, not a member
        raw = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        return bytes(raw)
    pos = rng.randrange(len(contents) + 1)
    if kind == "flip" and contents:
        contents[min(pos, len(contents) - 1)] ^= 1 << rng.randrange(8)
    elif kind == "byte" and contents:
        contents[min(pos, len(contents) - 1)] = rng.randrange(256)
    elif kind == "truncate":
        del contents[pos:]
    elif kind == "insert":
        contents[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    elif kind == "delete":
        del contents[pos:pos + rng.randint(1, 8)]
    elif kind == "duplicate":
        contents[pos:pos] = contents[max(0, pos - 16):pos]
    elif kind == "zero":
        contents[pos:pos + rng.randint(1, 16)] = bytes(len(contents[pos:pos + 16]))
    members[name] = bytes(contents)
    return rezip(members, rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)))


def test_a_thousand_random_member_corruptions(small_archive):
    rng = random.Random(20130)
    refused = 0
    slowest = 0.0
    for _ in range(1200):
        data = mutate(rng, small_archive)
        start = time.perf_counter()
        result = load_or_error(data)
        slowest = max(slowest, time.perf_counter() - start)
        if isinstance(result, SerializationError):
            refused += 1
    assert refused > 600
    assert slowest < 2.0                        # nothing hangs


# ---- names ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad_name,problem", [
    ("archive/../evil.txt", "'..'"),
    ("/archive/evil.txt", "absolute"),
    ("archive/code/../../evil.py", "'..'"),
    ("archive\\..\\evil.txt", "backslash"),
    ("C:/archive/evil.txt", "absolute"),
    ("archive//double.txt", "empty path component"),
    ("other/file.txt", "outside the top folder"),
    ("toplevel.txt", "not inside the archive's top folder"),
])
def test_unsafe_member_names_are_refused(small_archive, bad_name, problem):
    members = members_of(small_archive)
    members[bad_name] = b"x"
    expect_error(rezip(members), member=bad_name, match=problem)


def test_duplicate_member_names_are_refused(small_archive):
    members = list(members_of(small_archive).items())
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as z:
        warnings.simplefilter("ignore")                # zipfile warns about the duplicate
        for name, data in members + [("archive/data.pkl", members[0][1])]:
            z.writestr(name, data)
    expect_error(buf.getvalue(), member="archive/data.pkl", match="appears twice")


# ---- code execution attempts ---------------------------------------------------------------------
def _global_call(module: str, name: str, *args: str) -> bytes:
    """A protocol-2 pickle calling ``module.name(*args)`` the way Python's pickle would."""
    body = f"c{module}\n{name}\n".encode() + b"("
    for a in args:
        raw = a.encode()
        body += b"X" + struct.pack("<I", len(raw)) + raw
    return b"\x80\x02" + body + b"tR."


@pytest.mark.parametrize("module,name,template", [
    ("os", "system", "touch {sentinel}"),
    ("posix", "system", "touch {sentinel}"),
    ("builtins", "eval", "open({sentinel!r}, 'w').close()"),
    ("builtins", "exec", "open({sentinel!r}, 'w').close()"),
    ("subprocess", "Popen", "touch {sentinel}"),
    ("__builtin__", "eval", "open({sentinel!r}, 'w').close()"),
])
@pytest.mark.parametrize("member", ["data.pkl", "constants.pkl"])
def test_pickles_naming_dangerous_globals_run_nothing(small_archive, tmp_path, module, name,
                                                      template, member):
    sentinel = tmp_path / "sentinel"
    payload = _global_call(module, name, template.format(sentinel=str(sentinel)))
    err = expect_error(with_member(small_archive, member, payload), member=member,
                       match=f"global '{module}.{name}' is not allowed")
    assert "at byte 2" in str(err)             # refused at the GLOBAL, before any call
    assert not sentinel.exists()


def test_the_sentinel_would_catch_a_real_unpickler(tmp_path):
    """Control: Python's own pickle *does* run the payload, so the sentinel test is real."""
    sentinel = tmp_path / "sentinel"
    payload = _global_call("builtins", "exec", f"open({str(sentinel)!r}, 'w').close()")
    pickle.loads(payload)
    assert sentinel.exists()


def test_dangerous_globals_hidden_inside_values_are_refused(small_archive, tmp_path):
    sentinel = tmp_path / "sentinel"
    pkl = members_of(small_archive)["archive/data.pkl"]
    # Replace the 'names' list builder with os.system: same shape, other global.
    evil = pkl.replace(b"ctorch.jit._pickle\nrestore_type_tag\n", b"cos\nsystem\n", 1)
    assert evil != pkl
    expect_error(with_member(small_archive, "data.pkl", evil), member="data.pkl",
                 match="global 'os.system'")
    assert not sentinel.exists()


@pytest.mark.parametrize("statement", [
    "import os",
    "os.system('touch {sentinel}')",
    "__import__('os').system('touch {sentinel}')",
    "eval(\"open('{sentinel}', 'w')\")",
    "exec(\"open('{sentinel}', 'w')\")",
    "open('{sentinel}', 'w')",
])
def test_code_files_cannot_run_python(small_archive, tmp_path, statement):
    sentinel = tmp_path / "sentinel"
    members = members_of(small_archive)
    path = next(n for n in members if n.endswith("code/__torch__/robust_small.py"))
    code = members[path].decode()
    line = statement.format(sentinel=sentinel)
    if statement.startswith("import"):
        evil = line + "\n" + code
    else:
        evil = code.replace("    sub = self.sub\n", f"    sub = self.sub\n    _x = {line}\n", 1)
        assert evil != code
    members[path] = evil.encode()
    expect_error(rezip(members), member=path.split("/", 1)[1])
    assert not sentinel.exists()


# ---- zip bombs and declared sizes ----------------------------------------------------------------
def _deflated_member(name: str, size: int) -> bytes:
    """A zip whose only member inflates ``size`` zero bytes from a tiny stream."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    body = b"".join(comp.compress(chunk) for _ in range(size >> 20)) + comp.flush()
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(chunk, crc)
    fname = name.encode()                      # local header + data + central directory

    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), size,
                        len(fname), 0) + fname
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(body),
                          size, len(fname), 0, 0, 0, 0, 0, 0) + fname
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central),
                      len(local) + len(body), 0)
    return local + body + central + end


def test_zip_bomb_is_refused_without_inflating(small_archive):
    bomb = _deflated_member("archive/data.pkl", 256 << 20)
    assert len(bomb) < 512 << 10
    tracemalloc.start()
    expect_error(bomb, member="data.pkl", match="compression ratio")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 << 20


def test_member_larger_than_declared_or_limits(small_archive):
    members = members_of(small_archive)
    members["archive/data.pkl"] = members["archive/data.pkl"] + b"\x00" * 64
    data = rezip(members, zipfile.ZIP_DEFLATED)
    limits = DEFAULT_LIMITS.with_(max_pickle_bytes=100)
    expect_error(data, member="data.pkl", match="limit", _limits=limits)
    expect_error(small_archive, match="members, more than",
                 _limits=DEFAULT_LIMITS.with_(max_members=3))
    expect_error(small_archive, match="exceeds the limit",
                 _limits=DEFAULT_LIMITS.with_(max_member_bytes=10))


def test_directory_announcing_millions_of_members_is_refused_cheaply(small_archive):
    raw = bytearray(small_archive)
    eocd = raw.rfind(b"PK\x05\x06")
    raw[eocd + 8:eocd + 12] = struct.pack("<HH", 0xFFFE, 0xFFFE)
    start = time.perf_counter()
    expect_error(bytes(raw), member=None,
                 _limits=DEFAULT_LIMITS.with_(max_members=1000))
    assert time.perf_counter() - start < 0.5


def _central_entry(raw: bytes, name: str) -> int:
    """Offset of ``name``'s central-directory header."""
    pos = raw.rfind(b"PK\x05\x06")
    offset = struct.unpack_from("<L", raw, pos + 16)[0]
    while raw[offset:offset + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack_from("<3H", raw, offset + 28)
        if raw[offset + 46:offset + 46 + n] == name.encode():
            return offset
        offset += 46 + n + m + k
    raise KeyError(name)


def test_lying_deflate_stream_is_caught(small_archive):
    """A deflated member that inflates to more than its header says stops at the header."""
    raw = bytearray(rezip(members_of(small_archive), zipfile.ZIP_DEFLATED))
    entry = _central_entry(bytes(raw), "archive/data.pkl")
    size = struct.unpack_from("<L", raw, entry + 24)[0]
    struct.pack_into("<L", raw, entry + 24, size // 2)
    expect_error(bytes(raw), member="data.pkl")


# ---- tensors -------------------------------------------------------------------------------------
def _tensor_pickle(sizes, strides, offset=0, numel=4, dtype="FloatStorage", key="0",
                   requires_grad=False) -> bytes:
    """data.pkl for a module ``T`` whose only slot ``t`` is one tensor."""
    def ints(values):
        out = b""
        for v in values:
            out += b"J" + struct.pack("<i", v) if -2 ** 31 <= v < 2 ** 31 else \
                b"\x8a\x08" + struct.pack("<q", v)
        return out

    def s(text):
        raw = text.encode()
        return b"X" + struct.pack("<I", len(raw)) + raw

    return (b"\x80\x02c__torch__\nT\n)\x81}(" + s("t") +
            b"ctorch._utils\n_rebuild_tensor_v2\n(" +
            b"(" + s("storage") + f"ctorch\n{dtype}\n".encode() + s(key) + s("cpu") +
            ints([numel]) + b"tQ" + ints([offset]) + b"(" + ints(sizes) + b"t(" +
            ints(strides) + b"t" + (b"\x88" if requires_grad else b"\x89") +
            b"ccollections\nOrderedDict\n)RtR" + s("training") + b"\x88" +
            s("_is_full_backward_hook") + b"Nub.")


T_CODE = (b"class T(Module):\n  __parameters__ = []\n  __buffers__ = [\"t\", ]\n"
          b"  t : Tensor\n  training : bool\n  _is_full_backward_hook : Optional[bool]\n")


def tensor_archive(pkl: bytes, storage: bytes = bytes(16), version: bytes = b"3\n") -> bytes:
    return rezip({"archive/data/0": storage, "archive/data.pkl": pkl,
                  "archive/code/__torch__.py": T_CODE,
                  "archive/constants.pkl": b"\x80\x02).", "archive/version": version,
                  "archive/byteorder": b"little"})


def test_hand_made_tensor_archive_loads():
    m = minijit.jit.load(io.BytesIO(tensor_archive(_tensor_pickle((2, 2), (2, 1)))))
    assert tuple(m.t.shape) == (2, 2)


@pytest.mark.parametrize("sizes,strides,offset,numel,match", [
    ((2 ** 40, 2 ** 40), (1, 1), 0, 4, "exceeds the limit"),
    ((2 ** 20, 2 ** 20), (2 ** 20, 1), 0, 4, "does not fit"),
    ((4,), (1,), 1, 4, "does not fit"),
    ((2, 2), (4, 1), 0, 4, "does not fit"),
    ((-1,), (1,), 0, 4, "negative"),
    ((4,), (-1,), 0, 4, "negative"),
    ((2,), (1,), -3, 4, "negative"),
    ((1,) * 100, (1,) * 100, 0, 4, "dimensions"),
    ((2,), (1, 1), 0, 4, "bad tensor metadata"),
])
def test_oversized_or_inconsistent_shapes(sizes, strides, offset, numel, match):
    expect_error(tensor_archive(_tensor_pickle(sizes, strides, offset, numel)),
                 member="data.pkl", match=match)


@pytest.mark.parametrize("numel,stored", [(4, 15), (4, 17), (4, 0), (2 ** 50, 16), (-1, 16)])
def test_wrong_storage_sizes(numel, stored):
    pkl = _tensor_pickle((1,), (1,), numel=numel)
    err = expect_error(tensor_archive(pkl, storage=bytes(stored)))
    assert err.member in ("data/0", "data.pkl"), str(err)


def test_missing_storage_and_bad_dtypes():
    pkl = _tensor_pickle((2,), (1,), key="7")
    expect_error(tensor_archive(pkl), member="data/7", match="missing")
    expect_error(tensor_archive(_tensor_pickle((2,), (1,), dtype="BFloat16Storage")),
                 member="data.pkl", match="BFloat16")
    expect_error(tensor_archive(_tensor_pickle((2,), (1,), dtype="QInt8Storage")),
                 member="data.pkl", match="not supported")
    expect_error(tensor_archive(_tensor_pickle((2,), (1,), dtype="LongStorage",
                                               numel=2, requires_grad=True)),
                 member="data.pkl", match="integer tensor cannot require grad")


# ---- versions and small members ------------------------------------------------------------------
@pytest.mark.parametrize("version", [b"0\n", b"11\n", b"99\n", b"abc", b"", b"-3\n",
                                     b"9" * 40])
def test_unknown_versions(version):
    expect_error(tensor_archive(_tensor_pickle((2,), (1,)), version=version), member="version")


def test_missing_required_members(small_archive):
    for required in ("version", "data.pkl", "constants.pkl"):
        members = {k: v for k, v in members_of(small_archive).items()
                   if not k.endswith("/" + required)}
        expect_error(rezip(members), member=required, match="missing")
    members = members_of(small_archive)
    members["archive/byteorder"] = b"middle"
    expect_error(rezip(members), member="byteorder")


# ---- pickle machine limits -----------------------------------------------------------------------
def test_deep_nesting_memo_and_opcode_bombs(small_archive):
    deep_marks = b"\x80\x02" + b"(" * 100_000 + b"."
    expect_error(with_member(small_archive, "data.pkl", deep_marks), member="data.pkl",
                 match="MARKs nested deeper")
    nested = b"\x80\x02]" + b"]q\x00" * 1 + b"]a" * 50_000 + b"."
    result = load_or_error(with_member(small_archive, "data.pkl", nested))
    assert isinstance(result, SerializationError)
    memo = b"\x80\x02N" + b"".join(b"r" + struct.pack("<I", i) for i in range(2000)) + b"."
    expect_error(with_member(small_archive, "data.pkl", memo), member="data.pkl",
                 match="memo entries", _limits=DEFAULT_LIMITS.with_(max_memo=1000))
    many = b"\x80\x02" + b"N0" * 5000 + b"N."
    expect_error(with_member(small_archive, "data.pkl", many), member="data.pkl",
                 match="opcode", _limits=DEFAULT_LIMITS.with_(max_opcodes=1000))
    huge_string = b"\x80\x02X" + struct.pack("<I", 2 ** 31) + b"abc."
    expect_error(with_member(small_archive, "data.pkl", huge_string), member="data.pkl",
                 match="string of")


def test_self_referencing_values_and_modules(small_archive):
    pkl = members_of(small_archive)["archive/data.pkl"]
    # names = [names]: a list containing itself (through the memo).
    cyclic = b"\x80\x02]q\x00h\x00a."
    result = load_or_error(with_member(small_archive, "data.pkl", cyclic))
    assert isinstance(result, SerializationError)
    # A module whose submodule slot holds the module itself.
    start = pkl.index(b"X\x03\x00\x00\x00sub")
    loop = pkl[:start] + b"X\x03\x00\x00\x00subh\x00" + b"u" + b"b."
    result = load_or_error(with_member(small_archive, "data.pkl", loop))
    assert isinstance(result, SerializationError) and result.member == "data.pkl"


@pytest.mark.parametrize("replacement,match", [
    (b"X\x01\x00\x00\x00s", "declared float but holds a value of type str"),
    (b"N", "declared float but holds None"),
    (b"\x88", "declared float but holds a value of type bool"),
])
def test_type_confusion_in_slots(small_archive, replacement, match):
    import re
    pkl = members_of(small_archive)["archive/data.pkl"]
    wrong, n = re.subn(rb"(X\x05\x00\x00\x00scale(?:q.)?)G.{8}", lambda m: m.group(1) +
                       replacement, pkl, count=1, flags=re.S)
    assert n == 1
    expect_error(with_member(small_archive, "data.pkl", wrong), member="data.pkl", match=match)


def test_pytorch_pickle_file_is_recognised():
    expect_error(b"\x80\x02}q\x00.", member=None, match="torch.save")


# ---- what PyTorch tolerates (reference §3.5), minijit tolerates too ---------------------------
@pytest.mark.parametrize("variant", ["stored", "deflated", "no debug_pkl", "no byteorder",
                                     "no serialization_id", "renamed folder", "version 1",
                                     "version 9"])
def test_variants_pytorch_accepts_load(small_archive, variant):
    members = members_of(small_archive)
    compression = zipfile.ZIP_DEFLATED if variant == "deflated" else zipfile.ZIP_STORED
    if variant == "no byteorder":
        del members["archive/byteorder"]
    elif variant == "no serialization_id":
        del members["archive/.data/serialization_id"]
    elif variant == "renamed folder":
        members = {"anything/" + k.split("/", 1)[1]: v for k, v in members.items()}
    elif variant.startswith("version"):
        members["archive/version"] = variant.split()[1].encode() + b"\n"
    m = minijit.jit.load(io.BytesIO(rezip(members, compression)))
    reference = minijit.jit.load(io.BytesIO(small_archive))
    x = minijit.ones(2, 2)
    np.testing.assert_array_equal(np.asarray(m(x).detach()), np.asarray(reference(x).detach()))


def test_big_endian_storages_are_swapped():
    """``byteorder`` ``big`` means big-endian storages (``torch.load``'s reading; PyTorch's
    ``jit.load`` ignores the member)."""
    members = members_of(tensor_archive(_tensor_pickle((4,), (1,)),
                                        storage=np.arange(4, dtype=">f4").tobytes()))
    members["archive/byteorder"] = b"big"
    m = minijit.jit.load(io.BytesIO(rezip(members)))
    assert m.t.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_deflated_storages_are_writable(small_archive):
    m = minijit.jit.load(io.BytesIO(rezip(members_of(small_archive), zipfile.ZIP_DEFLATED)))
    assert m.sub.lin.weight._data.flags.writeable
    optimizer = minijit.optim.SGD(m.parameters(), lr=0.1)
    m(minijit.ones(2, 2)).sum().backward()
    optimizer.step()
