"""``minijit.jit.save``: a script module as a TorchScript archive that PyTorch can open.

The steps follow ``torch/csrc/jit/serialization/export_module.cpp`` (reference §3.7):

1. ``extra/<name>`` for each extra file;
2. ``data.pkl``: the module tree as objects whose slots are parameters, buffers, attributes
   and submodules (:mod:`.pickler`), then ``data/<key>`` for every storage it references;
3. ``code/...``: the class of every module, printed by the ``.code`` printer
   (:mod:`.class_printer`);
4. ``constants.pkl`` (+ ``constants/<key>``): the CONSTANTS table the code refers to;
5. ``version`` (the lowest format version that covers the ops used), ``byteorder`` and
   ``.data/serialization_id`` (a digest of the member names and CRCs: saving the same module
   twice gives byte-identical archives).

Example:
    >>> import io, minijit
    >>> m = minijit.jit.trace(minijit.nn.Linear(2, 2), minijit.ones(1, 2))
    >>> buf = io.BytesIO(); save(m, buf)
    >>> import zipfile; zipfile.ZipFile(buf).namelist()[:3]
    ['archive/data/0', 'archive/data/1', 'archive/data.pkl']
"""
from __future__ import annotations

from typing import Any, BinaryIO, Dict, List, Optional, Union

from ...ops.registry import archive_version_for_kind
from ..ir.graph import Block, Graph
from ..ir.types import ClassType, TupleType
from .archive import ArchiveWriter, PathOrFile, archive_name_for, write_atomically
from .class_printer import ClassFilePrinter
from .errors import SerializationError
from .export_types import export_types
from .pickler import Pickler

__all__ = ["save", "PRODUCED_VERSION"]

# Archives declare this version unless they use an op whose meaning changed later (its
# registry ``archive_version``, PyTorch's ``kind_min_version_map``; ``a4_version.py``).
PRODUCED_VERSION = 3


def save(m: Any, f: PathOrFile, _extra_files: Optional[Dict[str, Union[str, bytes]]] = None
         ) -> None:
    """Save a ScriptModule (scripted, traced or loaded) as a TorchScript archive.

    Args:
        m: the module (``minijit.jit.trace`` / ``script`` / ``load`` result).
        f: a path (written atomically) or a writable binary file object.
        _extra_files: ``{name: contents}`` stored as ``extra/<name>`` (str is UTF-8 encoded).
    """
    from ..modules import ScriptModule
    if not isinstance(m, ScriptModule):
        raise TypeError(f"minijit.jit.save expects a ScriptModule (from minijit.jit.script, "
                        f"trace or load), got {type(m).__name__}")
    contents = _build(m, _extra_files or {})
    write_atomically(f, lambda fileobj: _write(fileobj, archive_name_for(f), contents))


class _Contents:
    """Everything an archive holds, built in memory before any byte is written."""

    def __init__(self) -> None:
        self.records: List[tuple] = []            # (name, data, compress)


def _build(m: Any, extra_files: Dict[str, Union[str, bytes]]) -> _Contents:
    out = _Contents()
    for name, data in extra_files.items():
        if not isinstance(name, str) or not name or ".." in name.split("/") or \
                name.startswith("/"):
            raise SerializationError(f"extra/{name}", "invalid extra file name")
        out.records.append((f"extra/{name}", data.encode("utf-8") if isinstance(data, str)
                            else bytes(data), False))
    exported = export_types(m)
    data = Pickler()
    data.dump(exported.objects[id(m)], exported.root_type)
    for rec in data.storages:
        out.records.append((f"data/{rec.key}", rec.array, False))
    out.records.append(("data.pkl", bytes(data.getvalue()), False))

    constants: List[Any] = []
    printer = ClassFilePrinter(constants, exported.type_map)
    files = printer.print_all(exported.root_type, data.class_types)
    for path, source in files.items():
        out.records.append((path, source.encode("utf-8"), True))
    table = Pickler()
    table.dump(tuple(_as_tensor(c) for c in constants), TupleType([]) if not constants
               else None)
    for rec in table.storages:
        out.records.append((f"constants/{rec.key}", rec.array, False))
    out.records.append(("constants.pkl", bytes(table.getvalue()), False))
    version = max([PRODUCED_VERSION] + [_min_version(t) for t in printer.types] +
                  [_min_version_graph(getattr(f.function, "graph", None))
                   for f in printer.functions])
    out.records.append(("version", f"{version}\n".encode(), False))
    out.records.append(("byteorder", b"little", False))
    return out


def _as_tensor(value: Any) -> Any:
    """CONSTANTS entries are tensors or strings; a NumPy constant becomes a Tensor."""
    import numpy as np
    if isinstance(value, np.ndarray):
        from ..._tensor import Tensor
        return Tensor._from_array(value)
    return value


def _write(fileobj: BinaryIO, archive_name: str, contents: _Contents) -> None:
    with ArchiveWriter(fileobj, archive_name) as writer:
        for name, data, compress in contents.records:
            writer.write_record(name, data, compress)
        writer.write_record(".data/serialization_id", writer.serialization_id())


def _min_version(ctype: ClassType) -> int:
    return max([PRODUCED_VERSION] + [_min_version_graph(getattr(m, "graph", None))
                                     for m in ctype.methods.values()])


def _min_version_graph(graph: Optional[Graph]) -> int:
    if graph is None:
        return PRODUCED_VERSION
    version = PRODUCED_VERSION

    def walk(block: Block) -> None:
        nonlocal version
        for node in block.nodes:
            version = max(version, archive_version_for_kind(node.kind))
            for b in node.blocks:
                walk(b)

    walk(graph.block)
    return version


