"""Write a picture to a file: Graphviz when it is installed, minijit's own layout when not.

``render(obj, "g.svg")`` accepts anything minijit knows how to draw (see :func:`as_dot`) and
picks the drawing engine:

* ``.dot`` / ``.gv``: the DOT text itself (no drawing);
* ``.svg`` with ``engine="auto"``: Graphviz's ``dot -Tsvg`` if the ``dot`` program is on
  ``PATH``, otherwise the built-in layered layout (``sugiyama.py``, ``svg.py``), so pictures work
  with NumPy alone;
* other formats (``.png``, ``.pdf``): Graphviz only.

Pass ``engine="builtin"`` for output that is identical on every machine (tests and the
committed ``docs/img`` pictures use it), or ``engine="dot"`` to insist on Graphviz.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Union

from .dot import DotGraph

__all__ = ["render", "as_dot", "graphviz_available"]

ENGINES = ("auto", "builtin", "dot")


def graphviz_available() -> bool:
    """Whether Graphviz's ``dot`` program is on ``PATH``."""
    return shutil.which("dot") is not None


def as_dot(obj: Any) -> DotGraph:
    """The picture of ``obj``: a DotGraph as is, an IR Graph, anything with a ``.graph``
    (ScriptModule, ScriptFunction), or a Tensor (its autograd graph)."""
    from ..jit.ir.graph import Graph
    from .autograd_dot import autograd_graph
    from .ir_dot import ir_graph
    if isinstance(obj, DotGraph):
        return obj
    if isinstance(obj, Graph):
        return ir_graph(obj)
    if hasattr(obj, "grad_fn") and hasattr(obj, "shape"):
        return autograd_graph(obj)
    graph = getattr(obj, "graph", None)
    if isinstance(graph, Graph):
        return ir_graph(graph)
    raise TypeError(f"minijit.viz cannot draw a {type(obj).__name__}: pass an IR Graph, a "
                    "ScriptModule/ScriptFunction, a Tensor or a DotGraph")


def render(obj: Any, path: Union[str, "os.PathLike[str]"], *, engine: str = "auto") -> Path:
    """Draw ``obj`` into ``path`` (``.svg``, ``.dot``/``.gv``, or Graphviz formats).

    Args:
        obj: what to draw (see :func:`as_dot`).
        path: the file to write; its suffix picks the format.
        engine: ``"auto"`` (Graphviz if installed, else built-in), ``"builtin"`` or ``"dot"``.
    Returns:
        The path written.

    Example:
        >>> import minijit, tempfile, os
        >>> x = minijit.rand(3, requires_grad=True)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = render(x.tanh(), os.path.join(d, "tape.svg"), engine="builtin")
        ...     print(p.name, p.read_text().count("<g class=\\"node\\""))
        tape.svg 4
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    dot = as_dot(obj)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".dot", ".gv"):
        _write(path, dot.source.encode("utf-8"))
        return path
    use_graphviz = engine == "dot" or (engine == "auto" and graphviz_available())
    if suffix == ".svg" and not use_graphviz:
        from .svg import to_svg
        _write(path, to_svg(dot).encode("utf-8"))
        return path
    if not graphviz_available():
        raise RuntimeError(f"writing {suffix or 'this format'} needs Graphviz's 'dot' program, "
                           "which is not on PATH; write .svg (built-in layout) or .dot instead")
    fmt = suffix.lstrip(".") or "svg"
    done = subprocess.run(["dot", f"-T{fmt}"], input=dot.source.encode("utf-8"),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed: {done.stderr.decode(errors='replace')}")
    _write(path, done.stdout)
    return path


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so a reader never sees half a picture."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
