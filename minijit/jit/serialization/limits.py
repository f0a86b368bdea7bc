"""Caps that keep a hostile archive from making the loader hang or eat memory.

Every quantity an archive controls is bounded before it is acted on: the number and sizes of
zip members (zip bombs declare huge uncompressed sizes), the number of pickle opcodes, the
nesting depth of marks and values, the memo size, string lengths and storage sizes.  The
defaults admit any realistic TorchScript model (they are far above what ``torch.jit.save``
writes for models of several GiB) while bounding the work a crafted file can cause.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Limits", "DEFAULT_LIMITS"]

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@dataclass(frozen=True)
class Limits:
    """Upper bounds applied while reading an archive (all inclusive).

    Attributes:
        max_members: zip entries (a model has one per storage plus a dozen files).
        max_member_bytes: declared uncompressed size of one member.
        max_total_bytes: sum of the declared uncompressed sizes of all members.
        max_compression_ratio: uncompressed/compressed size of a deflated member larger than
            ``ratio_free_bytes`` (deflate cannot beat ~1032:1; text compresses ~5:1).
        max_pickle_bytes: size of ``data.pkl`` / ``constants.pkl``.
        max_code_bytes: size of one ``code/...py`` file.
        max_opcodes: pickle opcodes executed per pickle.
        max_depth: open MARKs at once, and nesting of containers inside values.
        max_memo: memo entries (``BINPUT``) per pickle.
        max_string_bytes: one pickled string.
        max_tensor_elements: elements of one tensor (its shape's product).
        max_dims: dimensions of one tensor.
    """

    max_members: int = 100_000
    max_member_bytes: int = 64 * GiB
    max_total_bytes: int = 256 * GiB
    max_compression_ratio: int = 200
    ratio_free_bytes: int = 1 * MiB
    max_pickle_bytes: int = 256 * MiB
    max_code_bytes: int = 64 * MiB
    max_opcodes: int = 20_000_000
    max_depth: int = 200
    max_memo: int = 2_000_000
    max_string_bytes: int = 64 * MiB
    max_tensor_elements: int = 1 << 40
    max_dims: int = 64

    def with_(self, **changes: int) -> "Limits":
        """A copy with some caps changed (``DEFAULT_LIMITS.with_(max_opcodes=100)``)."""
        return replace(self, **changes)


DEFAULT_LIMITS = Limits()
