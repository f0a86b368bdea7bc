"""The IR: ``Graph`` → ``Block`` → ``Node`` → ``Value`` (TorchScript's ``ir.h``, in Python).

Note [IR invariants]
~~~~~~~~~~~~~~~~~~~~
Every mutation helper below keeps these true, and :meth:`Graph.lint` checks them:

1. SSA: each Value is produced by exactly one Node (``value.node``, at ``value.offset``).
   Block parameters are the outputs of the block's ``prim::Param`` node; block results are
   the inputs of its ``prim::Return`` node.
2. Uses mirror inputs: ``Use(user, i) in v.uses`` exactly when ``user.inputs[i] is v``.
3. Scoping: a Node may use a Value only if it is defined earlier in the same block or earlier
   in an enclosing block (before the node that owns the block).  Values never escape a block
   except through its ``-> (...)`` returns.
4. Order: each Block is a circular doubly linked list
   ``param_node ⇄ n1 ⇄ ... ⇄ nk ⇄ return_node ⇄ param_node`` (``node.prev`` / ``node.next``),
   so inserting and removing a node is O(1) and ``prev`` walks backwards, as the ``.code``
   printer's inlining scan needs.
5. Names: a debug name belongs to at most one Value of a Graph.  Naming a new Value ``x``
   renames the old holder (``x.1``, ``x.3``...), see :meth:`Value.set_debug_name`.
6. Control flow: ``prim::If`` has 2 blocks without params whose returns match its outputs;
   ``prim::Loop(max_trip, cond, *carried)`` has 1 block with params ``(i, *carried)`` and
   returns ``(next_cond, *carried)``; its outputs are the carried values.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .node import Block, Node, SourceRange, Use, Value
from .types import IRType

__all__ = ["Graph", "Block", "Node", "Value", "Use", "SourceRange"]


InsertPoint = Union[Node, Block]


class Graph:
    """A function body in SSA form: inputs, a top :class:`Block` of nodes, outputs.

    Example:
        >>> g = Graph()
        >>> x = g.add_input("x")
        >>> n = g.insert_node(g.create_node("aten::tanh", [x]))
        >>> _ = g.register_output(n.output())
        >>> print(g, end="")
        graph(%x : Tensor):
          %1 : Tensor = aten::tanh(%x)
          return (%1)
    """

    __slots__ = ("block", "_next_unique", "_unique_names", "_name_base_suffix", "_insert_before",
                 "__weakref__")

    def __init__(self) -> None:
        self._next_unique = 0
        self._unique_names: Dict[str, Value] = {}
        self._name_base_suffix: Dict[str, int] = {}
        self.block = Block(self, None)
        self._insert_before: Node = self.block.return_node

    def _new_unique(self) -> int:
        u = self._next_unique
        self._next_unique += 1
        return u

    # -- signature -------------------------------------------------------------------------
    @property
    def inputs(self) -> Tuple[Value, ...]:
        return self.block.params

    @property
    def outputs(self) -> Tuple[Value, ...]:
        return self.block.returns

    @property
    def param_node(self) -> Node:
        return self.block.param_node

    @property
    def return_node(self) -> Node:
        return self.block.return_node

    def add_input(self, name: Optional[str] = None, type_: Optional[IRType] = None) -> Value:
        return self.block.add_input(name, type_)

    def insert_input(self, i: int, name: Optional[str] = None,
                     type_: Optional[IRType] = None) -> Value:
        return self.block.insert_input(i, name, type_)

    def erase_input(self, i: int) -> None:
        self.block.erase_input(i)

    def register_output(self, value: Value) -> int:
        return self.block.register_output(value)

    def erase_output(self, i: int) -> None:
        self.block.erase_output(i)

    # -- nodes -----------------------------------------------------------------------------
    @property
    def nodes(self) -> List[Node]:
        """Top-level nodes in order (nested ones: :meth:`all_nodes`)."""
        return self.block.nodes

    def all_nodes(self) -> Iterator[Node]:
        """Every node, depth first in program order (a node before its blocks' nodes)."""
        def walk(block: Block) -> Iterator[Node]:
            for n in block.nodes:
                yield n
                for b in n._blocks:
                    yield from walk(b)
        return walk(self.block)

    def create_node(self, kind: str, inputs: Sequence[Value] = (), num_outputs: int = 1) -> Node:
        """A new node owned by this graph but not yet in any block (see :meth:`insert_node`)."""
        node = Node(self, kind)
        for v in inputs:
            node.add_input(v)
        for _ in range(num_outputs):
            node.add_output()
        return node

    def insert_node(self, node: Node) -> Node:
        """Insert ``node`` at the insertion point (the end of the graph unless changed)."""
        return node.insert_before(self._insert_before)

    def append_node(self, node: Node) -> Node:
        return self.block.append_node(node)

    def prepend_node(self, node: Node) -> Node:
        return self.block.prepend_node(node)

    def insert_constant(self, value: Any, type_: Optional[IRType] = None, *,
                        source_range: Optional[SourceRange] = None,
                        scope: Optional[str] = None) -> Value:
        """Insert ``prim::Constant[value=...]`` at the insertion point and return its output.

        The type is inferred from ``value`` (int, float, bool, str, None, lists, tuples,
        tensors, devices, dtypes → their int code) unless ``type_`` is given.
        """
        from .constants import constant_type, normalize_constant
        value = normalize_constant(value)
        node = self.create_node("prim::Constant")
        if value is not None:
            node.attrs["value"] = value
        node.output().type = type_ if type_ is not None else constant_type(value)
        node.source_range = source_range
        node.scope = scope
        self.insert_node(node)
        return node.output()

    def set_insert_point(self, point: InsertPoint) -> None:
        """New nodes go before ``point`` (a Node) or at the end of ``point`` (a Block)."""
        self._insert_before = point.return_node if isinstance(point, Block) else point

    def get_insert_point(self) -> Node:
        return self._insert_before

    @contextlib.contextmanager
    def insert_point(self, point: InsertPoint) -> Iterator[None]:
        """``with g.insert_point(node): ...`` inserts before ``node``, then restores the point."""
        saved = self._insert_before
        self.set_insert_point(point)
        try:
            yield
        finally:
            self._insert_before = saved

    # -- debug-name tables -----------------------------------------------------------------
    def share_debug_names(self, other: "Graph") -> None:
        """Use ``other``'s debug-name table: names become unique across both graphs.

        The tracer records each submodule call into a graph of its own, where PyTorch records
        one graph for the whole trace and splits it afterwards.  One shared table reproduces
        the renaming in that single graph: a second ``input`` makes the first one ``input.1``
        in whichever graph it lives.  :meth:`own_debug_names` ends the sharing.
        """
        self._unique_names = other._unique_names
        self._name_base_suffix = other._name_base_suffix

    def own_debug_names(self, keep_suffixes: bool) -> None:
        """Take a table of this graph's own named values again (after :meth:`share_debug_names`).

        ``keep_suffixes`` keeps the shared ``.N`` counters (the graph the names came from);
        otherwise the graph starts afresh, as a graph copied from another one does.
        """
        def values(block: Block) -> Iterator[Value]:
            yield from block.params
            for n in block.nodes:
                yield from n.outputs
                for b in n.blocks:
                    yield from values(b)
        self._unique_names = {v.debug_name: v for v in values(self.block) if v.has_debug_name()}
        self._name_base_suffix = dict(self._name_base_suffix) if keep_suffixes else {}

    # -- whole-graph operations -----------------------------------------------------------
    def create_clone(self, node: Node, value_map: Callable[[Value], Value],
                     copy_blocks: bool = True) -> Node:
        """A copy of ``node`` (from any graph) owned by this graph, inputs mapped by ``value_map``.

        Outputs copy their types and debug names; attributes are copied (subgraphs deeply).
        """
        clone = self.create_node(node.kind, [value_map(v) for v in node._inputs], 0)
        for out in node._outputs:
            new = clone.add_output(out.type)
            if out.has_debug_name():
                new.set_debug_name(out.debug_name)
        for key, val in node.attrs.items():
            clone.attrs[key] = val.copy() if isinstance(val, Graph) else \
                list(val) if isinstance(val, list) else val
        clone.source_range, clone.scope, clone.schema = node.source_range, node.scope, node.schema
        if copy_blocks:
            for block in node._blocks:
                self._clone_block_into(block, clone.add_block(), value_map)
        return clone

    def _clone_block_into(self, src: Block, dst: Block,
                          outer: Callable[[Value], Value]) -> None:
        local: Dict[int, Value] = {}

        def lookup(v: Value) -> Value:
            return local[id(v)] if id(v) in local else outer(v)

        for p in src.params:
            local[id(p)] = dst.add_input(p.debug_name if p.has_debug_name() else None, p.type)
        for n in src.nodes:
            clone = dst.append_node(self.create_clone(n, lookup, copy_blocks=False))
            for old, new in zip(n._outputs, clone._outputs):
                local[id(old)] = new
            for block in n._blocks:
                self._clone_block_into(block, clone.add_block(), lookup)
        for r in src.returns:
            dst.register_output(lookup(r))

    def copy(self) -> "Graph":
        """A deep copy: names are kept; unnamed values get fresh ids in order (as TorchScript)."""
        new = Graph()

        def missing(v: Value) -> Value:
            raise KeyError(f"%{v.debug_name} is not defined in the copied graph")

        new._clone_block_into(self.block, new.block, missing)
        return new

    def lint(self) -> None:
        """Check Note [IR invariants]; raises :class:`~minijit.jit.ir.lint.LintError`."""
        from .lint import lint_graph
        lint_graph(self)

    def str(self, print_source_locations: bool = True) -> str:
        """The ``.graph`` text; ``str(False)`` drops top-level ``# file:line:col`` comments."""
        from .printer import print_graph
        return print_graph(self, print_source_locations)

    def __str__(self) -> str:
        return self.str(True)

    def __repr__(self) -> str:
        return f"<Graph with {len(self.inputs)} inputs, {len(self.nodes)} nodes>"
