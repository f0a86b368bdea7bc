"""``Graph.lint()``: check Note [IR invariants] (in ``graph.py``) and say which node breaks it.

Tests run it after every pass.  Each failure raises :class:`LintError` whose message starts
with the offending node as the graph printer shows it, e.g.::

    LintError: %3 : Tensor = aten::mul(%2, %x): input %2 is used before it is defined
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Set

from .types import IRType

if TYPE_CHECKING:
    from .graph import Block, Graph, Node

__all__ = ["LintError", "lint_graph"]

INT64_MAX = 9223372036854775807


class LintError(Exception):
    """The graph breaks an IR invariant; the message names the node."""


def _where(node: "Node") -> str:
    if node.kind == "prim::Return":
        return "return (" + ", ".join(f"%{v.debug_name}" for v in node.inputs) + ")"
    if node.kind == "prim::Param":
        return "block params (" + ", ".join(f"%{v.debug_name}" for v in node.outputs) + ")"
    return str(node).split("\n", 1)[0]


def _fail(node: "Node", message: str) -> None:
    raise LintError(f"{_where(node)}: {message}")


class _Linter:
    def __init__(self, graph: "Graph"):
        self.graph = graph
        self.seen_nodes: Set[int] = set()
        self.seen_values: Set[int] = set()

    def check_outputs(self, node: "Node") -> None:
        for i, v in enumerate(node.outputs):
            if v.node is not node or v.offset != i:
                _fail(node, f"output %{v.debug_name} records producer {v.node.kind} at "
                            f"offset {v.offset}, expected this node at {i}")
            if id(v) in self.seen_values:
                _fail(node, f"%{v.debug_name} is defined more than once")
            self.seen_values.add(id(v))
            if not isinstance(v.type, IRType):
                _fail(node, f"%{v.debug_name} has no IR type (got {v.type!r})")
            if v.has_debug_name() and self.graph._unique_names.get(v.debug_name) is not v:
                _fail(node, f"%{v.debug_name} is missing from the graph's name table")
            for use in v.uses:
                user = use.user
                if use.offset >= len(user.inputs) or user.inputs[use.offset] is not v:
                    _fail(node, f"%{v.debug_name} lists a use by {user.kind} at input "
                                f"{use.offset}, but that input is not %{v.debug_name}")
                if user.owning_block is None:
                    _fail(node, f"%{v.debug_name} is used by {user.kind}, which is not in "
                                "any block (destroyed or never inserted)")

    def check_inputs(self, node: "Node", scope: Set[int]) -> None:
        for i, v in enumerate(node.inputs):
            if id(v) not in scope:
                if id(v) in self.seen_values:
                    problem = "is out of scope here (defined inside another block)"
                elif v.node.owning_graph is not self.graph:
                    problem = "belongs to another graph"
                elif v.node.owning_block is None:
                    problem = "is produced by a node that is not in the graph"
                else:
                    problem = "is used before it is defined"
                _fail(node, f"input %{v.debug_name} {problem}")
            uses = [u for u in v.uses if u.user is node and u.offset == i]
            if len(uses) != 1:
                _fail(node, f"input {i} (%{v.debug_name}) has {len(uses)} matching entries "
                            "in its uses list, expected 1")

    def check_block(self, block: "Block", outer: Set[int]) -> None:
        scope = set(outer)
        p, r = block.param_node, block.return_node
        if p.owning_block is not block or r.owning_block is not block:
            _fail(p, "block's param/return node belongs to another block")
        self.check_outputs(p)
        scope.update(id(v) for v in block.params)
        prev = p
        node = p.next
        while node is not r:
            if node is None:
                _fail(prev, "node list is broken (next is None)")
            assert node is not None
            if node.prev is not prev:
                _fail(node, "node list is broken (prev link is wrong)")
            if node.owning_block is not block:
                _fail(node, "node's owning_block is not the block that lists it")
            if node.owning_graph is not self.graph:
                _fail(node, "node belongs to another graph")
            if id(node) in self.seen_nodes:
                _fail(node, "node appears twice")
            self.seen_nodes.add(id(node))
            self.check_inputs(node, scope)
            for b in node.blocks:
                if b.owning_node is not node:
                    _fail(node, "sub-block's owning_node is not this node")
                self.check_block(b, scope)
            self.check_kind(node)
            self.check_outputs(node)
            scope.update(id(v) for v in node.outputs)
            prev, node = node, node.next
        if r.prev is not prev:
            _fail(r, "node list is broken before the return node")
        self.check_inputs(r, scope)

    def check_kind(self, node: "Node") -> None:
        kind, blocks = node.kind, node.blocks
        if kind == "prim::If":
            if len(blocks) != 2 or len(node.inputs) != 1:
                _fail(node, f"prim::If needs 1 input and 2 blocks, has {len(node.inputs)} "
                            f"and {len(blocks)}")
            for i, b in enumerate(blocks):
                if b.params:
                    _fail(node, f"prim::If block{i} must not have parameters")
                if len(b.returns) != len(node.outputs):
                    _fail(node, f"prim::If block{i} returns {len(b.returns)} values for "
                                f"{len(node.outputs)} outputs")
        elif kind == "prim::Loop":
            carried = len(node.inputs) - 2
            if len(blocks) != 1 or carried < 0:
                _fail(node, "prim::Loop needs (max_trip, cond, *carried) inputs and 1 block")
            body = blocks[0]
            if len(body.params) != 1 + carried:
                _fail(node, f"prim::Loop body takes {len(body.params)} params, expected "
                            f"1 + {carried} carried")
            if len(body.returns) != 1 + carried:
                _fail(node, f"prim::Loop body returns {len(body.returns)} values, expected "
                            f"1 + {carried} carried")
            if len(node.outputs) != carried:
                _fail(node, f"prim::Loop has {len(node.outputs)} outputs for {carried} "
                            "carried values")
        elif kind == "prim::Constant":
            if node.inputs or len(node.outputs) != 1:
                _fail(node, "prim::Constant takes no inputs and has exactly 1 output")
            kind_of = node.output().type.kind
            if "value" not in node.attrs and kind_of != "NoneType" and \
                    not (kind_of == "Function" and "name" in node.attrs):
                _fail(node, "prim::Constant has no value attribute and is not None")
        sub = node.attrs.get("Subgraph")
        if sub is not None:
            try:
                lint_graph(sub)
            except LintError as e:
                _fail(node, f"in its Subgraph: {e}")


def lint_graph(graph: "Graph") -> None:
    """Raise :class:`LintError` if ``graph`` breaks Note [IR invariants]."""
    linter = _Linter(graph)
    linter.check_block(graph.block, set())
    for name, v in graph._unique_names.items():
        if v.node.owning_block is None and v.node.kind != "prim::Param":
            continue                              # a created but not-yet-inserted node
        if v._name != name:
            _fail(v.node, f"name table maps {name!r} to a value named {v._name!r}")
