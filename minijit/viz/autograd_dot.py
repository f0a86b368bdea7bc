"""The backward tape as a picture, like the ``torchviz`` package's ``make_dot``.

Start from a tensor's ``grad_fn`` and follow ``next_functions`` (Note [Autograd tape] in
``autograd/graph.py``): every :class:`~minijit.autograd.graph.BackwardNode` becomes a grey
box named by its class, as PyTorch names it (``TanhBackward0``); an ``AccumulateGrad`` sink
gets a blue box above it for the leaf tensor it fills (its name if you pass ``params``, and
its shape); the tensor you started from is the green box at the bottom.  Arrows point the
way the forward pass ran (from inputs to outputs), so the backward pass walks them upwards.

Example:
    >>> import minijit
    >>> w = minijit.ones(2, 3, requires_grad=True)
    >>> y = (w * 2).tanh().sum()
    >>> g = autograd_graph(y, params={"w": w})
    >>> [n.label for n in g.nodes.values()]
    ['output\\n()', 'SumBackward0', 'TanhBackward0', 'MulBackward0', 'AccumulateGrad', 'w\\n(2, 3)']
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..autograd.graph import AccumulateGrad
from .dot import DotGraph

__all__ = ["autograd_graph", "shape_text"]

OUTPUT_FILL = "#c5e1a5"     # torchviz's "darkolivegreen1", softened
LEAF_FILL = "#add8e6"       # torchviz's "lightblue"
FUNCTION_FILL = "#e8e8e8"


def shape_text(t: Any) -> str:
    """``(3, 4)`` for a 3×4 tensor, ``(3)`` for a vector, ``()`` for a 0-dim one (torchviz's
    way of printing sizes)."""
    return "(" + ", ".join(str(int(d)) for d in t.shape) + ")"


def autograd_graph(tensors: Any, params: Optional[Mapping[str, Any]] = None, *,
                   name: str = "autograd") -> DotGraph:
    """Draw the autograd graph that produced ``tensors`` (a tensor or a sequence of them).

    Args:
        tensors: the result(s) whose history to draw (their ``grad_fn`` graphs).
        params: optional ``{name: tensor}`` (``dict(model.named_parameters())``) to label the
            leaves; unnamed leaves show only their shape.
        name: the DOT graph's name.
    Returns:
        A :class:`~minijit.viz.dot.DotGraph`; ``render(g, "tape.svg")`` draws it.
    """
    roots: List[Any] = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    names: Dict[int, str] = {id(t): n for n, t in (params or {}).items()}
    dot = DotGraph(name)
    seen: Dict[int, str] = {}                  # id(BackwardNode) -> picture node
    leaves: Dict[int, str] = {}                # id(leaf tensor) -> picture node
    edges: List[Tuple[str, str]] = []

    def leaf_box(t: Any) -> str:
        if id(t) not in leaves:
            label = f"{names[id(t)]}\n{shape_text(t)}" if id(t) in names else shape_text(t)
            leaves[id(t)] = dot.add_node(label, style="filled", fillcolor=LEAF_FILL)
        return leaves[id(t)]

    def visit(fn: Any) -> str:
        """Add ``fn`` and everything behind it, depth first in ``next_functions`` order."""
        if id(fn) in seen:
            return seen[id(fn)]
        stack: List[Tuple[Any, int]] = [(fn, 0)]
        seen[id(fn)] = dot.add_node(_name(fn), style="filled", fillcolor=FUNCTION_FILL)
        while stack:
            node, i = stack.pop()
            if isinstance(node, AccumulateGrad) and i == 0:
                edges.append((leaf_box(node.variable), seen[id(node)]))
            nexts = node.next_functions
            if i >= len(nexts):
                continue
            stack.append((node, i + 1))
            nxt, _ = nexts[i]
            if nxt is None:
                continue
            if id(nxt) not in seen:
                seen[id(nxt)] = dot.add_node(_name(nxt), style="filled", fillcolor=FUNCTION_FILL)
                stack.append((nxt, 0))
            edges.append((seen[id(nxt)], seen[id(node)]))
        return seen[id(fn)]

    for k, t in enumerate(roots):
        label = names.get(id(t), "output" if len(roots) == 1 else f"output {k}")
        out = dot.add_node(f"{label}\n{shape_text(t)}", style="filled", fillcolor=OUTPUT_FILL,
                           rank="sink")
        if t.grad_fn is not None:
            dot.add_edge(visit(t.grad_fn), out)
        elif t.requires_grad:                  # a leaf: the picture is the leaf itself
            dot.add_edge(leaf_box(t), out, style="dashed")
    for tail, head in _unique(edges):
        dot.add_edge(tail, head)
    return dot


def _name(fn: Any) -> str:
    """The node's class name, as torchviz shows it: ``TanhBackward0``, ``AccumulateGrad``
    (``fn.name()`` gives PyTorch's C++-qualified ``torch::autograd::AccumulateGrad``)."""
    return type(fn).__name__


def _unique(edges: Sequence[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """Edges in first-seen order, each once (a tensor used twice still draws one arrow)."""
    out: List[Tuple[str, str]] = []
    seen = set()
    for e in edges:
        if e not in seen:
            seen.add(e)
            out.append(e)
    return out
