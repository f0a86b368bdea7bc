"""Pictures of graphs: the IR (``graph.to_dot()``) and the autograd tape (``autograd_graph``).

Three steps, one module each (Note [Pictures] in ``dot.py``):

1. *what to draw*: :func:`ir_graph` / :func:`to_dot` for IR graphs (``ir_dot.py``) and
   :func:`autograd_graph` for the backward tape (``autograd_dot.py``) build a :class:`DotGraph`;
2. *where it goes*: Graphviz's ``dot`` if installed, else our layered layout (``sugiyama.py``);
3. *writing it*: :func:`render` (``rendering.py``) writes ``.svg`` or ``.dot``; :func:`to_svg`
   returns the built-in SVG text (``svg.py``).

Example:
    >>> import minijit
    >>> traced = minijit.jit.trace(lambda x: minijit.tanh(x) * 2, (minijit.rand(3),))
    >>> text = traced.graph.to_dot()          # the method this package adds to Graph
    >>> text.startswith("digraph ir {") and "aten::tanh" in text
    True
"""
from __future__ import annotations

from ..jit.ir.graph import Graph
from .autograd_dot import autograd_graph
from .dot import DotCluster, DotEdge, DotGraph, DotNode
from .ir_dot import ir_graph, short_type, to_dot
from .rendering import as_dot, graphviz_available, render
from .sugiyama import layout
from .svg import to_svg

__all__ = ["to_dot", "ir_graph", "autograd_graph", "render", "to_svg", "as_dot", "layout",
           "graphviz_available", "short_type", "DotGraph", "DotNode", "DotEdge", "DotCluster"]

# ``graph.to_dot()``: one method added to the IR's Graph from here, so the IR files stay free
# of drawing code (the IR does not import this package; this package reads the IR).
Graph.to_dot = to_dot  # type: ignore[attr-defined]
