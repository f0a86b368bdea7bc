"""The one error every malformed or unsupported archive raises.

A :class:`SerializationError` names the archive member it is about (``data.pkl``,
``code/__torch__.py``, ``data/3``...) so that a user can tell *where* an archive is broken, and
it is raised for every failure inside :func:`minijit.jit.load`: a truncated zip, a forbidden
pickle global, a storage of the wrong size and a code file the compiler refuses alike.  The
loader never lets a ``KeyError``, ``struct.error`` or ``zlib.error`` escape.
"""
from __future__ import annotations

from typing import Optional

__all__ = ["SerializationError"]


class SerializationError(RuntimeError):
    """An archive could not be written or read.

    Args:
        member: the archive member at fault, relative to the archive's top folder
            (``"data.pkl"``), or ``None`` when the whole file is at fault.
        message: what is wrong, in words.

    Example:
        >>> str(SerializationError("data.pkl", "opcode 0x63 at byte 2 is not allowed"))
        'data.pkl: opcode 0x63 at byte 2 is not allowed'
    """

    def __init__(self, member: Optional[str], message: str):
        self.member = member
        self.message = message
        super().__init__(f"{member}: {message}" if member else message)

    def __reduce__(self):
        return (SerializationError, (self.member, self.message))
