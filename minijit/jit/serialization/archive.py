"""The zip container of a TorchScript archive: writing it aligned and atomically, reading it safely.

An archive is an ordinary zip file whose members all live in one top folder, named after the
file (``wrapped_rnn/``) or ``archive/`` for a buffer::

    wrapped_rnn/data.pkl            the module object tree (pickle protocol 2)
    wrapped_rnn/data/0              raw little-endian bytes of storage "0"
    wrapped_rnn/code/__torch__.py   class definitions as TorchScript source
    wrapped_rnn/constants.pkl       the CONSTANTS table of the code
    wrapped_rnn/version             b"3\\n"
    wrapped_rnn/byteorder           b"little"

:class:`ArchiveWriter` writes members the way PyTorch does: each member's data starts on a
64-byte boundary (padding goes into a local-header extra field with id ``FB``), tensors are
stored uncompressed and code is deflated.  Writing to a path goes to a temporary file in the
same folder that is renamed over the target only once complete, so an interrupted save never
leaves a broken archive under the final name.

:class:`ArchiveReader` holds the whole file in memory and never extracts anything.  Before any
member is read it checks the zip's directory: member count, declared sizes and compression
ratios (zip bombs), and names (absolute paths, ``..`` components, backslashes and duplicates
are refused, and every member must sit in the one top folder).  Stored members are returned as
zero-copy views of the file buffer after their CRC-32 is checked, which is what makes loading
large models fast.
"""
from __future__ import annotations

import io
import os
import struct
import tempfile
import zipfile
import zlib
from typing import Any, BinaryIO, Dict, Iterator, List, Optional, Tuple, Union

from .errors import SerializationError
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["ArchiveWriter", "ArchiveReader", "archive_name_for", "write_atomically"]

ALIGNMENT = 64
_FB_HEADER = struct.Struct("<2sH")          # extra field id b"FB", payload length
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_EOCD_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_DATE_TIME = (1980, 1, 1, 0, 0, 0)          # fixed, so equal modules give equal archives

PathOrFile = Union[str, "os.PathLike[str]", BinaryIO]


def archive_name_for(f: PathOrFile) -> str:
    """The top folder name PyTorch uses: the file's stem, or ``archive`` for a buffer.

    Example:
        >>> archive_name_for("models/wrapped_rnn.pt"), archive_name_for(io.BytesIO())
        ('wrapped_rnn', 'archive')
    """
    if isinstance(f, (str, os.PathLike)):
        base = os.path.basename(os.fspath(f))
        stem = base[:base.rfind(".")] if "." in base else base
        return stem or "archive"
    return "archive"


# ---- writing ---------------------------------------------------------------------------------
class ArchiveWriter:
    """Writes members into ``<archive_name>/`` of a zip opened on a binary file object.

    Args:
        fileobj: a writable binary file (seekable or not).
        archive_name: the top folder.

    Example:
        >>> buf = io.BytesIO()
        >>> with ArchiveWriter(buf, "archive") as w:
        ...     w.write_record("version", b"3\\n")
        >>> zipfile.ZipFile(buf).namelist()
        ['archive/version']
    """

    def __init__(self, fileobj: BinaryIO, archive_name: str):
        self.archive_name = archive_name
        self._zip = zipfile.ZipFile(fileobj, "w", zipfile.ZIP_STORED, allowZip64=True)
        self.written: List[str] = []

    def write_record(self, name: str, data: Any, compress: bool = False) -> None:
        """Add ``<archive_name>/<name>`` holding ``data`` (bytes or any C-contiguous buffer)."""
        if name in self.written:
            raise SerializationError(name, "written twice")
        view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        info = zipfile.ZipInfo(f"{self.archive_name}/{name}", date_time=_DATE_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED if compress and len(view) else zipfile.ZIP_STORED
        info.file_size = len(view)
        info.external_attr = 0o600 << 16
        info.extra = self._alignment_padding(info)
        self._zip.writestr(info, view)
        self.written.append(name)

    def serialization_id(self) -> bytes:
        """40 digits identifying the contents written so far (``.data/serialization_id``).

        As in PyTorch, 20 digits come from the member names and 20 from the CRC-32s of their
        data (which zipfile has already computed), so equal archives get equal ids and no
        clock or randomness is involved.
        """
        infos = self._zip.infolist()
        names = zlib.crc32("\n".join(i.filename for i in infos).encode())
        crcs = zlib.crc32(b"".join(struct.pack("<L", i.CRC) for i in infos))
        digest = (names << 32 | crcs) * 0x9E3779B97F4A7C15 % (1 << 64)
        return f"{digest:020d}{names << 32 | crcs:020d}".encode()

    def _alignment_padding(self, info: zipfile.ZipInfo) -> bytes:
        """The ``FB`` extra field that makes this member's data start at a multiple of 64."""
        offset = self._zip.start_dir                 # where zipfile puts the local header
        zip64 = info.file_size * 1.05 > zipfile.ZIP64_LIMIT     # zipfile's own rule
        header = 30 + len(info.filename.encode("utf-8")) + (20 if zip64 else 0) + _FB_HEADER.size
        pad = -(offset + header) % ALIGNMENT
        return _FB_HEADER.pack(b"FB", pad) + b"Z" * pad

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "ArchiveWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def write_atomically(f: PathOrFile, write: Any) -> None:
    """Call ``write(fileobj)``; for a path, through a temporary file renamed into place.

    The temporary file sits in the target's folder (so the rename is atomic on POSIX and
    Windows) and is removed if ``write`` raises, leaving any previous file untouched.
    """
    if not isinstance(f, (str, os.PathLike)):
        write(f)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---- reading ---------------------------------------------------------------------------------
class _BufferFile(io.RawIOBase):
    """A read-only, seekable file over a memoryview that copies only what is read."""

    def __init__(self, view: memoryview):
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, len(self._view))[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n is None or n < 0 else min(len(self._view), self._pos + n)
        data = bytes(self._view[self._pos:end])
        self._pos = max(self._pos, end)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


def _read_all(f: PathOrFile) -> Any:
    """The whole file in one writable buffer (one copy from the OS; tensors become views).

    A file is read straight into an uninitialised NumPy byte array (``bytearray(n)`` would
    first zero-fill it, which costs as much as the read).
    """
    if isinstance(f, (str, os.PathLike)):
        import numpy as np
        with open(os.fspath(f), "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            buf = np.empty(size, dtype=np.uint8)
            got = fh.readinto(memoryview(buf)) if size else 0
            return buf[:got] if got != size else buf
    if isinstance(f, (bytes, bytearray, memoryview)):
        return bytearray(f)
    data = f.read()
    if not isinstance(data, (bytes, bytearray)):
        raise SerializationError(None, f"expected a binary file, read {type(data).__name__}")
    return bytearray(data)


def _directory_entry_count(view: memoryview) -> Optional[int]:
    """Entries announced by the end-of-central-directory record, read before zipfile parses
    the directory (so a file announcing millions of entries is refused cheaply)."""
    tail_start = max(0, len(view) - (22 + 65535))
    tail = bytes(view[tail_start:])
    pos = tail.rfind(_EOCD_SIGNATURE)
    if pos < 0 or pos + 22 > len(tail):
        return None
    count = struct.unpack_from("<H", tail, pos + 10)[0]
    if count == 0xFFFF and pos >= 20 and tail[pos - 20:pos - 16] == _ZIP64_LOCATOR_SIGNATURE:
        record_offset = struct.unpack_from("<Q", tail, pos - 12)[0]
        if record_offset + 56 <= len(view):
            count = struct.unpack_from("<Q", bytes(view[record_offset:record_offset + 56]), 32)[0]
    return count


def _check_name(name: str) -> Optional[str]:
    """Why a member name is unsafe, or None."""
    if "\x00" in name:
        return "contains a NUL character"
    if "\\" in name:
        return "contains a backslash"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    parts = name.rstrip("/").split("/")
    if any(p in ("..", ".") for p in parts):
        return "contains a '..' or '.' component"
    if any(p == "" for p in parts):
        return "contains an empty path component"
    return None


class ArchiveReader:
    """A validated, in-memory view of a TorchScript archive.

    Args:
        f: a path, a binary file object or a bytes-like object.
        limits: the caps to apply (see :class:`~minijit.jit.serialization.limits.Limits`).

    Members are named relative to the top folder (``"data.pkl"``).  Every failure raises
    :class:`SerializationError` naming the member.

    Example:
        >>> buf = io.BytesIO()
        >>> with ArchiveWriter(buf, "m") as w:
        ...     w.write_record("version", b"3\\n")
        >>> r = ArchiveReader(buf.getvalue())
        >>> r.prefix, r.names(), bytes(r.read("version"))
        ('m', ['version'], b'3\\n')
    """

    def __init__(self, f: PathOrFile, limits: Limits = DEFAULT_LIMITS):
        self.limits = limits
        try:
            self._buffer = _read_all(f)
        except OSError as exc:
            raise SerializationError(None, f"cannot read the file: {exc}") from None
        self._view = memoryview(self._buffer)
        if bytes(self._view[:2]) == b"\x80\x02":
            raise SerializationError(None, "this is a pickle written by torch.save, not a "
                                     "TorchScript archive (torch.jit.save writes a zip file)")
        count = _directory_entry_count(self._view)
        if count is None:
            raise SerializationError(None, "not a zip archive (no end-of-central-directory "
                                     "record; is the file truncated?)")
        if count > limits.max_members:
            raise SerializationError(None, f"the zip directory announces {count} members, "
                                     f"more than the limit of {limits.max_members}")
        try:
            self._zip = zipfile.ZipFile(_BufferFile(self._view))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
                struct.error, UnicodeDecodeError, NotImplementedError, OverflowError) as exc:
            raise SerializationError(None, f"not a valid zip archive: {exc}") from None
        self._members: Dict[str, zipfile.ZipInfo] = {}
        self.prefix = self._validate(infos)

    # -- directory checks -------------------------------------------------------------------
    def _validate(self, infos: List[zipfile.ZipInfo]) -> str:
        limits = self.limits
        if not infos:
            raise SerializationError(None, "the archive has no members")
        if len(infos) > limits.max_members:
            raise SerializationError(None, f"{len(infos)} members, more than the limit of "
                                     f"{limits.max_members}")
        prefix: Optional[str] = None
        seen = set()
        total = 0
        for info in infos:
            name = info.filename
            problem = _check_name(name)
            if problem is not None:
                raise SerializationError(name, f"unsafe member name: {problem}")
            if name in seen:
                raise SerializationError(name, "the member name appears twice")
            seen.add(name)
            top, slash, rest = name.partition("/")
            if not slash:
                raise SerializationError(name, "member is not inside the archive's top folder")
            if prefix is None:
                prefix = top
            elif top != prefix:
                raise SerializationError(name, f"member is outside the top folder '{prefix}/'")
            if name.endswith("/"):
                continue                            # a directory entry: nothing to read
            if info.flag_bits & 0x1:
                raise SerializationError(rest, "encrypted members are not supported")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise SerializationError(rest, f"compression method {info.compress_type} is "
                                         "not supported (only stored and deflated)")
            if info.file_size > limits.max_member_bytes:
                raise SerializationError(rest, f"declared size {info.file_size} bytes exceeds "
                                         f"the limit of {limits.max_member_bytes}")
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise SerializationError(rest, "stored member whose compressed and uncompressed "
                                         "sizes differ")
            if info.compress_type == zipfile.ZIP_DEFLATED and \
                    info.file_size > limits.ratio_free_bytes and \
                    info.file_size > limits.max_compression_ratio * max(info.compress_size, 1):
                raise SerializationError(rest, f"compression ratio above "
                                         f"{limits.max_compression_ratio}:1 (a zip bomb?)")
            if info.header_offset + info.compress_size > len(self._buffer):
                raise SerializationError(rest, "member data runs past the end of the file "
                                         "(truncated archive?)")
            total += info.file_size
            if total > limits.max_total_bytes:
                raise SerializationError(rest, f"members add up to more than "
                                         f"{limits.max_total_bytes} bytes")
            self._members[rest] = info
        assert prefix is not None
        return prefix

    # -- access ------------------------------------------------------------------------------
    def names(self) -> List[str]:
        """Member names relative to the top folder, in archive order."""
        return list(self._members)

    def has(self, name: str) -> bool:
        return name in self._members

    def info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self._members[name]
        except KeyError:
            raise SerializationError(name, "required member is missing from the archive") \
                from None

    def size(self, name: str) -> int:
        return self.info(name).file_size

    def read(self, name: str, max_bytes: Optional[int] = None) -> memoryview:
        """The member's bytes: a zero-copy view for stored members, CRC-checked.

        Args:
            name: member name relative to the top folder.
            max_bytes: refuse members declaring more than this.
        """
        info = self.info(name)
        if max_bytes is not None and info.file_size > max_bytes:
            raise SerializationError(name, f"{info.file_size} bytes, more than the limit of "
                                     f"{max_bytes} for this member")
        if info.compress_type == zipfile.ZIP_STORED:
            return self._read_stored(name, info)
        try:
            with self._zip.open(info) as fh:
                data = fh.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, struct.error,
                NotImplementedError, OverflowError) as exc:
            raise SerializationError(name, f"cannot decompress: {exc}") from None
        if len(data) != info.file_size:
            raise SerializationError(name, f"decompressed to {len(data)} bytes, the directory "
                                     f"says {info.file_size}")
        return memoryview(data)

    def _read_stored(self, name: str, info: zipfile.ZipInfo) -> memoryview:
        start = info.header_offset
        header = bytes(self._view[start:start + _LOCAL_HEADER.size])
        if len(header) < _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
            raise SerializationError(name, "bad local file header")
        fields = _LOCAL_HEADER.unpack(header)
        name_len, extra_len = fields[-2], fields[-1]
        stored_name = bytes(self._view[start + 30:start + 30 + name_len])
        if stored_name.decode("utf-8", "replace") != info.filename and \
                stored_name.decode("cp437", "replace") != info.filename:
            raise SerializationError(name, "local header names another member")
        begin = start + 30 + name_len + extra_len
        end = begin + info.file_size
        if end > len(self._buffer):
            raise SerializationError(name, "member data runs past the end of the file "
                                     "(truncated archive?)")
        data = self._view[begin:end]
        if zlib.crc32(data) != info.CRC:
            raise SerializationError(name, "CRC-32 mismatch: the member's bytes are corrupt")
        return data

    def read_text(self, name: str, max_bytes: Optional[int] = None) -> str:
        data = self.read(name, max_bytes)
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializationError(name, f"not valid UTF-8 text: {exc}") from None

    def members(self) -> Iterator[Tuple[str, zipfile.ZipInfo]]:
        return iter(self._members.items())
