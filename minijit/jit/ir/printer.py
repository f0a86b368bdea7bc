"""The ``.graph`` text printer: ``str(graph)`` exactly as TorchScript prints it (``ir.cpp``).

Layout (see the reference, §1.13)::

    graph(%x.1 : Tensor,
          %n.1 : int):
      %10 : int = prim::Constant[value=1]()
      %acc : Tensor = prim::Loop(%n.1, %6, %x.1) # f.py:54:4
        block0(%i.1 : int, %acc.9 : Tensor):
          %acc.3 : Tensor = aten::add(%acc.9, %i.1, %10) # f.py:55:14
          -> (%6, %acc.3)
      return (%acc)

* Two spaces per level; a node at level L prints its blocks' headers at L+1 and their bodies
  and ``-> (...)`` at L+2.  A node without outputs still prints ``" = "`` (so ``   = ...``).
* ``, scope: S`` then `` # file:line:col`` follow the inputs.  ``print_source_locations=False``
  drops the comments of top-level nodes only: nested nodes keep theirs, as in TorchScript.
* Nodes holding a ``Subgraph`` attribute print as ``kind_<k>`` (k counts such nodes in print
  order), hide that attribute (``prim::DifferentiableGraph`` hides all), and their subgraphs
  follow the graph as ``with prim::FusionGroup_0 = graph(...)``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence

from .constants import format_attribute

if TYPE_CHECKING:
    from .graph import Graph, Node, Value

__all__ = ["print_graph", "print_node", "value_list", "typed_value_list"]

_SUBGRAPH = "Subgraph"


def value_list(values: Sequence["Value"]) -> str:
    return ", ".join(f"%{v.debug_name}" for v in values)


def typed_value_list(values: Sequence["Value"], sep: str = ", ") -> str:
    return sep.join(f"%{v.debug_name} : {v.type}" for v in values)


def _attributes(node: "Node", hide_subgraph: bool) -> str:
    items = [(k, v) for k, v in node.attrs.items() if not (hide_subgraph and k == _SUBGRAPH)]
    if not items:
        return ""
    return "[" + ", ".join(f"{k}={format_attribute(v)}" for k, v in items) + "]"


def _print_node(out: List[str], node: "Node", level: int, groups: Optional[List["Node"]],
                print_source_locations: bool) -> None:
    out.append("  " * level + typed_value_list(node.outputs) + " = ")
    if _SUBGRAPH in node.attrs and groups is not None:
        out.append(f"{node.kind}_{len(groups)}")
        if len(node.attrs) > 1 and node.kind != "prim::DifferentiableGraph":
            out.append(_attributes(node, hide_subgraph=True))
        groups.append(node)
    elif node.kind == "prim::PythonOp":
        # A call back into Python (``@jit.ignore``) prints as TorchScript's ConcretePythonOp:
        # ``^name[]()`` then the inputs; the function object itself is not printable.
        out.append(f"^{node.attrs['name']}[]()")
    else:
        out.append(node.kind + _attributes(node, hide_subgraph=False))
    out.append("(" + value_list(node.inputs) + ")")
    if node.scope:
        out.append(", scope: " + node.scope)
    if print_source_locations and node.source_range is not None:
        filename, line, col = node.source_range
        out.append(f" # {filename}:{line}:{col}")
    out.append("\n")
    for i, block in enumerate(node.blocks):
        out.append("  " * (level + 1) + f"block{i}(" + typed_value_list(block.params) + "):\n")
        for nested in block.nodes:
            _print_node(out, nested, level + 2, groups, True)
        out.append("  " * (level + 2) + "-> (" + value_list(block.returns) + ")\n")


def print_graph(graph: "Graph", print_source_locations: bool = True) -> str:
    """The full ``.graph`` text of ``graph``, ending with a newline.

    Example:
        >>> from minijit.jit.ir import Graph, SourceRange
        >>> g = Graph()
        >>> c = g.insert_constant(True, source_range=SourceRange("f.py", 3, 4))
        >>> n = g.insert_node(g.create_node("prim::If", [c], num_outputs=0))
        >>> b0, b1 = n.add_block(), n.add_block()
        >>> print(print_graph(g), end="")
        graph():
          %0 : bool = prim::Constant[value=1]() # f.py:3:4
           = prim::If(%0)
            block0():
              -> ()
            block1():
              -> ()
          return ()
    """
    out = ["graph(" + typed_value_list(graph.inputs, ",\n      ") + "):\n"]
    groups: List["Node"] = []
    for node in graph.nodes:
        _print_node(out, node, 1, groups, print_source_locations)
    out.append("  return (" + value_list(graph.outputs) + ")\n")
    for i, group in enumerate(groups):
        out.append(f"with {group.kind}_{i} = " + print_graph(group.attrs[_SUBGRAPH]))
    return "".join(out)


def print_node(node: "Node") -> str:
    """One node (and its blocks) at level 0, as ``str(node)`` does; subgraphs show ``<Graph>``."""
    out: List[str] = []
    _print_node(out, node, 0, None, True)
    return "".join(out)
