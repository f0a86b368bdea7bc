"""A readable report of an archive's contents, made without compiling or running anything.

``python -m minijit inspect model.pt`` prints this.  It reads the archive the way
:func:`~minijit.jit.load` does (same checks, same restricted unpickler), but stops before
compiling: the module tree and tensors come from ``data.pkl``, the code is the text of the
``code/`` files, so even an archive whose code minijit cannot compile can be inspected.

Example:
    >>> import io, minijit
    >>> m = minijit.jit.trace(minijit.nn.Linear(2, 3), minijit.ones(1, 2))
    >>> buf = io.BytesIO(); minijit.jit.save(m, buf)
    >>> print(describe_archive(buf.getvalue(), sections=("tree",)), end="")  # doctest: +ELLIPSIS
    module tree:
      Linear  (__torch__.torch.nn.modules.linear...Linear)
        weight  parameter  float32 (3, 2), requires_grad  24 B
        bias  parameter  float32 (3,), requires_grad  12 B
        training = True
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from .archive import ArchiveReader, PathOrFile
from .code_loader import CodeLoader
from .errors import SerializationError
from .limits import DEFAULT_LIMITS, Limits
from .loader import _Loader
from .unpickler import ObjectRecord

__all__ = ["describe_archive", "SECTIONS"]

SECTIONS = ("summary", "tree", "code", "members")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024                                            # type: ignore[assignment]
    return f"{n} B"                                          # pragma: no cover


def _tensor_text(t: Any) -> str:
    shape = tuple(int(s) for s in t._data.shape)
    grad = ", requires_grad" if t.requires_grad else ""
    return f"{t.dtype.name} {shape}{grad}  {_size(int(t._data.nbytes))}"


def _value_text(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Totals:
    def __init__(self) -> None:
        self.counts: Dict[str, List[int]] = {"parameter": [0, 0, 0], "buffer": [0, 0, 0]}
        self.seen: set = set()

    def add(self, role: str, t: Any) -> None:
        if id(t) in self.seen:
            return
        self.seen.add(id(t))
        row = self.counts[role]
        row[0] += 1
        row[1] += int(t._data.size)
        row[2] += int(t._data.nbytes)


def _tree(record: ObjectRecord, name: str, depth: int, out: List[str], totals: _Totals,
          visiting: set) -> None:
    decl = record.cls.decl
    pad = "  " * (depth + 1)
    label = f"{name}: " if name else ""
    out.append(f"{pad}{label}{decl.ctype.name}  ({decl.qualified_name})")
    if id(record) in visiting:
        out.append(f"{pad}  (cycle)")
        return
    visiting.add(id(record))
    state = record.state or {}
    params, buffers = set(decl.ctype.parameters), set(decl.ctype.buffers)
    children = []
    for attr, value in state.items():
        if isinstance(value, ObjectRecord):
            children.append((attr, value))
        elif attr in params or attr in buffers:
            role = "parameter" if attr in params else "buffer"
            if value is None:
                out.append(f"{pad}  {attr}  {role}  None")
            else:
                totals.add(role, value)
                out.append(f"{pad}  {attr}  {role}  {_tensor_text(value)}")
        elif attr == "_is_full_backward_hook":
            continue
        elif hasattr(value, "_data"):
            out.append(f"{pad}  {attr}  tensor  {_tensor_text(value)}")
        else:
            out.append(f"{pad}  {attr} = {_value_text(value)}")
    for constant, value in decl.ctype.constants.items():
        out.append(f"{pad}  {constant} = {_value_text(value)}  (constant)")
    for attr, child in children:
        _tree(child, attr, depth + 1, out, totals, visiting)
    visiting.discard(id(record))


def describe_archive(f: PathOrFile, sections: Sequence[str] = SECTIONS,
                     limits: Limits = DEFAULT_LIMITS) -> str:
    """The report for the archive ``f`` (a path, file object or bytes).

    Args:
        sections: any of ``summary``, ``tree`` (modules, tensors and attributes), ``code``
            (the class files) and ``members`` (the zip directory), in that order.
    Raises:
        SerializationError: as :func:`~minijit.jit.load` would.
    """
    reader = ArchiveReader(f, limits)
    loader = _Loader(reader, None, limits)
    loader.code = CodeLoader(reader, (), limits=limits, version=loader.version)
    root = loader._unpickle("data.pkl", "data/", classes=True)
    if not isinstance(root, ObjectRecord):
        raise SerializationError("data.pkl", "the archive's root object is not a module")
    out: List[str] = []
    totals = _Totals()
    tree: List[str] = []
    _tree(root, "", 0, tree, totals, set())
    if "summary" in sections:
        total = sum(info.file_size for _, info in reader.members())
        out.append(f"archive: top folder '{reader.prefix}/', format version {loader.version}, "
                   f"{'big' if loader.big_endian else 'little'}-endian, "
                   f"{len(reader.names())} members, {_size(total)} uncompressed")
        for role, (n, elements, nbytes) in totals.counts.items():
            out.append(f"{role}s: {n} tensors, {elements} elements, {_size(nbytes)}")
        extras = [n[len("extra/"):] for n in reader.names() if n.startswith("extra/")]
        if extras:
            out.append("extra files: " + ", ".join(extras))
        out.append("")
    if "tree" in sections:
        out.append("module tree:")
        out.extend(tree)
        out.append("")
    if "code" in sections:
        out.append("code:")
        for name in reader.names():
            if name.startswith("code/") and name.endswith(".py"):
                out.append(f"--- {name} ---")
                out.append(reader.read_text(name, limits.max_code_bytes).rstrip("\n"))
        out.append("")
    if "members" in sections:
        out.append("members:")
        rows: List[Tuple[str, str, str, str]] = [("name", "size", "stored", "method")]
        for name, info in reader.members():
            rows.append((name, str(info.file_size), str(info.compress_size),
                         "deflated" if info.compress_type == 8 else "stored"))
        width = max(len(r[0]) for r in rows)
        for r in rows:
            out.append(f"  {r[0]:<{width}}  {r[1]:>10}  {r[2]:>10}  {r[3]}")
        out.append("")
    return "\n".join(out[:-1] if out and out[-1] == "" else out) + "\n"
