"""The IR's building blocks: ``Value``, ``Use``, ``Node`` and ``Block`` (TorchScript's ``ir.h``).

Every mutation helper here keeps Note [IR invariants] (in :mod:`.graph`) true; their docstrings
show the IR before and after.  Build graphs through :class:`~minijit.jit.ir.graph.Graph`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

from .types import IRType, TensorType

if TYPE_CHECKING:
    from .graph import Graph

__all__ = ["Block", "Node", "Value", "Use", "SourceRange", "split_name"]


class SourceRange(NamedTuple):
    """Where a node came from; printed as the comment ``# file:line:col``."""

    filename: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}"


class Use:
    """One use of a Value: ``user.inputs[offset]``."""

    __slots__ = ("user", "offset")

    def __init__(self, user: "Node", offset: int):
        self.user = user
        self.offset = offset

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Use) and other.user is self.user and other.offset == self.offset

    def __hash__(self) -> int:
        return hash((id(self.user), self.offset))

    def __repr__(self) -> str:
        return f"Use({self.user.kind}, {self.offset})"


def _is_number(name: str) -> bool:
    return name.isascii() and name.isdigit()


def split_name(name: str) -> Tuple[str, Optional[int]]:
    """``x.12`` → (``x``, 12); ``x`` → (``x``, None)."""
    base, dot, suffix = name.rpartition(".")
    if dot and suffix and suffix.isdigit():
        return base, int(suffix)
    return name, None


class Value:
    """An SSA value: one output of a Node (or a block parameter)."""

    __slots__ = ("node", "offset", "type", "unique", "_name", "uses", "__weakref__")

    def __init__(self, node: "Node", offset: int, type_: Optional[IRType] = None):
        self.node = node              # the producer (a block's prim::Param node for params)
        self.offset = offset          # index in node.outputs
        self.type: IRType = type_ if type_ is not None else TensorType.get()
        self.unique = node.owning_graph._new_unique()
        self._name = ""
        self.uses: List[Use] = []

    # -- names -----------------------------------------------------------------------------
    @property
    def debug_name(self) -> str:
        """The printed name: the debug name if set, else the unique id (``%7``)."""
        return self._name or str(self.unique)

    @debug_name.setter
    def debug_name(self, name: Optional[str]) -> None:
        self.set_debug_name(name)

    def has_debug_name(self) -> bool:
        return bool(self._name)

    @property
    def debug_name_base(self) -> str:
        """The name without its ``.N`` uniquing suffix (``x.3`` → ``x``)."""
        return split_name(self.debug_name)[0]

    def set_debug_name(self, name: Optional[str]) -> "Value":
        """Name this value; a previous holder of ``name`` is renamed (see Note [IR invariants]).

        TorchScript's ``Value::setDebugName``: the old holder of ``x`` becomes ``x.S`` where
        ``S`` starts at the name's own suffix (or 1), is raised past the last suffix handed out
        for that base, and is bumped until free.  All-digit names are refused, because printed
        numbers mean unnamed values.  ``None``/``""`` clears the name.

        Example:
            >>> from minijit.jit.ir import Graph
            >>> g = Graph(); a = g.add_input("x"); b = g.add_input("x")
            >>> a.debug_name, b.debug_name
            ('x.1', 'x')
        """
        name = name or ""
        if name and _is_number(name):
            raise ValueError(f"Invalid name: '{name}'")
        graph = self.owning_graph
        names = graph._unique_names
        if self._name:
            if names.get(self._name) is self:
                del names[self._name]
            self._name = ""
        if not name:
            return self
        old = names.get(name)
        if old is not None and old is not self:
            base, suffix = split_name(name)
            suffix = 1 if suffix is None else suffix
            last = graph._name_base_suffix.get(base)
            if last is not None:
                suffix = max(suffix, last + 1)
            while True:
                candidate = f"{base}.{suffix}"
                suffix += 1
                if candidate not in names:
                    break
            graph._name_base_suffix[base] = suffix
            old.set_debug_name(candidate)
        names[name] = self
        self._name = name
        return self

    # -- structure -------------------------------------------------------------------------
    @property
    def owning_graph(self) -> "Graph":
        return self.node.owning_graph

    def set_type(self, type_: IRType) -> "Value":
        self.type = type_
        return self

    def replace_first_use_with(self, new: "Value") -> None:
        use = self.uses[0]
        use.user.replace_input(use.offset, new)

    def replace_all_uses_with(self, new: "Value") -> None:
        """Make every user read ``new`` instead of this value.

        Before: ``%b = f(%a); %c = g(%a, %b)``; after ``a.replace_all_uses_with(x)``:
        ``%b = f(%x); %c = g(%x, %b)`` and ``a.uses == []``.
        """
        if new is self:
            return
        for use in self.uses:
            use.user._inputs[use.offset] = new
            new.uses.append(use)
        self.uses = []

    def replace_all_uses_after_node_with(self, node: "Node", new: "Value") -> None:
        """Like :meth:`replace_all_uses_with`, only for users that come after ``node``.

        Users nested in blocks of later nodes count as after.  Before:
        ``%b = f(%a); %n = h(); %c = g(%a)``; after ``a.replace_all_uses_after_node_with(n, x)``:
        ``%b = f(%a); %n = h(); %c = g(%x)``.
        """
        keep: List[Use] = []
        for use in self.uses:
            if use.user.is_after(node):
                use.user._inputs[use.offset] = new
                new.uses.append(use)
            else:
                keep.append(use)
        self.uses = keep

    def __repr__(self) -> str:
        return f"%{self.debug_name}"


class Node:
    """An operation: ``%o : T = kind[attrs](%i, ...)`` plus optional sub-blocks.

    Attributes:
        kind: ``"aten::add"``, ``"prim::If"`` ...
        attrs: ordered ``{name: value}`` (``value`` of ``prim::Constant``, ``name`` of
            ``prim::GetAttr``, a :class:`Graph` under ``Subgraph`` for fusion groups).
        source_range: a :class:`SourceRange` printed as ``# file:line:col``, or None.
        scope: the traced module path printed as ``, scope: __module.seq/__module.seq.0``.
        schema: the operator :class:`~minijit.ops.schema.Schema` this node was made from, or
            None (printers then ask the registry by ``kind`` and input count).
    """

    __slots__ = ("kind", "_inputs", "_outputs", "_blocks", "attrs", "source_range", "scope",
                 "schema", "owning_block", "owning_graph", "prev", "next", "__weakref__")

    def __init__(self, graph: "Graph", kind: str):
        self.kind = kind
        self._inputs: List[Value] = []
        self._outputs: List[Value] = []
        self._blocks: List[Block] = []
        self.attrs: Dict[str, Any] = {}
        self.source_range: Optional[SourceRange] = None
        self.scope: Optional[str] = None
        self.schema: Any = None
        self.owning_block: Optional[Block] = None
        self.owning_graph = graph
        self.prev: Optional[Node] = None
        self.next: Optional[Node] = None

    # -- read access -----------------------------------------------------------------------
    @property
    def inputs(self) -> Tuple[Value, ...]:
        return tuple(self._inputs)

    @property
    def outputs(self) -> Tuple[Value, ...]:
        return tuple(self._outputs)

    @property
    def blocks(self) -> Tuple["Block", ...]:
        return tuple(self._blocks)

    def input(self, i: int = 0) -> Value:
        return self._inputs[i]

    def output(self) -> Value:
        """The only output (an error for nodes with 0 or several)."""
        if len(self._outputs) != 1:
            raise ValueError(f"{self.kind} has {len(self._outputs)} outputs, expected 1")
        return self._outputs[0]

    def has_uses(self) -> bool:
        return any(o.uses for o in self._outputs)

    @property
    def in_block_list(self) -> bool:
        return self.next is not None

    # -- inputs ----------------------------------------------------------------------------
    def add_input(self, value: Value) -> Value:
        """Append an input: ``f(%a)`` → ``f(%a, %value)``."""
        value.uses.append(Use(self, len(self._inputs)))
        self._inputs.append(value)
        return value

    def insert_input(self, i: int, value: Value) -> Value:
        """Insert an input at position ``i``; later inputs' uses shift their offsets by one."""
        for j in range(len(self._inputs) - 1, i - 1, -1):
            self._shift_use(self._inputs[j], j, j + 1)
        self._inputs.insert(i, value)
        value.uses.append(Use(self, i))
        return value

    def replace_input(self, i: int, new: Value) -> Value:
        """``f(%a, %b)`` → ``f(%a, %new)`` for ``i == 1``; returns the old value."""
        old = self._inputs[i]
        if old is new:
            return old
        old.uses.remove(Use(self, i))
        self._inputs[i] = new
        new.uses.append(Use(self, i))
        return old

    def replace_input_with(self, old: Value, new: Value) -> None:
        """Replace every occurrence of ``old`` among this node's inputs by ``new``."""
        for i, v in enumerate(self._inputs):
            if v is old:
                self.replace_input(i, new)

    def remove_input(self, i: int) -> None:
        """``f(%a, %b, %c)`` → ``f(%a, %c)`` for ``i == 1``."""
        self._inputs[i].uses.remove(Use(self, i))
        del self._inputs[i]
        for j in range(i, len(self._inputs)):
            self._shift_use(self._inputs[j], j + 1, j)

    def remove_all_inputs(self) -> None:
        while self._inputs:
            self.remove_input(len(self._inputs) - 1)

    def _shift_use(self, value: Value, old: int, new: int) -> None:
        """Keep Note [IR invariants] #2 when an input slot moves from ``old`` to ``new``."""
        for use in value.uses:
            if use.user is self and use.offset == old:
                use.offset = new
                return

    # -- outputs ---------------------------------------------------------------------------
    def add_output(self, type_: Optional[IRType] = None) -> Value:
        """Append an output (typed ``Tensor`` unless told otherwise)."""
        value = Value(self, len(self._outputs), type_)
        self._outputs.append(value)
        return value

    def insert_output(self, i: int, type_: Optional[IRType] = None) -> Value:
        value = Value(self, i, type_)
        self._outputs.insert(i, value)
        for j, v in enumerate(self._outputs):
            v.offset = j
        return value

    def erase_output(self, i: int) -> None:
        """Remove an unused output; later outputs move down one place."""
        value = self._outputs[i]
        if value.uses:
            raise RuntimeError(f"cannot erase output %{value.debug_name} of {self.kind}: "
                               f"it still has {len(value.uses)} use(s)")
        value.set_debug_name(None)
        del self._outputs[i]
        for j, v in enumerate(self._outputs):
            v.offset = j

    # -- blocks ----------------------------------------------------------------------------
    def add_block(self) -> "Block":
        """Give this node a new empty sub-block (``prim::If`` needs two, ``prim::Loop`` one)."""
        block = Block(self.owning_graph, self)
        self._blocks.append(block)
        return block

    def erase_block(self, i: int) -> None:
        self._blocks.pop(i)._destroy()

    # -- position --------------------------------------------------------------------------
    def _link_after(self, prev: "Node") -> None:
        if self.in_block_list:
            raise RuntimeError(f"{self.kind} is already in a block; use move_before/move_after")
        if prev.owning_block is None:
            raise RuntimeError("cannot insert next to a node that is not in a block")
        nxt = prev.next
        self.prev, self.next = prev, nxt
        prev.next = self
        nxt.prev = self  # type: ignore[union-attr]
        self.owning_block = prev.owning_block

    def insert_before(self, n: "Node") -> "Node":
        """Put this (unlinked) node just before ``n``: ``a; n`` → ``a; self; n``."""
        self._link_after(n.prev)  # type: ignore[arg-type]
        return self

    def insert_after(self, n: "Node") -> "Node":
        """Put this (unlinked) node just after ``n``: ``n; b`` → ``n; self; b``."""
        self._link_after(n)
        return self

    def _unlink(self) -> None:
        self.prev.next = self.next  # type: ignore[union-attr]
        self.next.prev = self.prev  # type: ignore[union-attr]
        self.prev = self.next = None
        self.owning_block = None

    def move_before(self, n: "Node") -> None:
        """Take this node out of its place and reinsert it just before ``n``."""
        self._unlink()
        self.insert_before(n)

    def move_after(self, n: "Node") -> None:
        self._unlink()
        self.insert_after(n)

    def _chain(self) -> Iterator["Node"]:
        """This node, then the nodes owning the blocks around it, outwards."""
        n: Optional[Node] = self
        while n is not None and n.owning_block is not None:
            yield n
            n = n.owning_block.owning_node

    def _order(self, other: "Node") -> int:
        """-1 if this node runs before ``other``, 1 if after, 0 if one contains the other.

        The two nodes are first lifted to their ancestors in the innermost common block
        (TorchScript's ``isBeforeOrAfter``).
        """
        for a in self._chain():
            for b in other._chain():
                block = a.owning_block
                if block is not b.owning_block:
                    continue
                if a is b:
                    return 0
                if a is block.return_node or b is block.param_node:   # type: ignore[union-attr]
                    return 1
                if a is block.param_node or b is block.return_node:   # type: ignore[union-attr]
                    return -1
                n = a.next
                while n is not block.return_node:                      # type: ignore[union-attr]
                    if n is b:
                        return -1
                    n = n.next                                          # type: ignore[union-attr]
                return 1
        raise RuntimeError(f"{self.kind} and {other.kind} are not in the same graph")

    def is_before(self, other: "Node") -> bool:
        return self._order(other) < 0

    def is_after(self, other: "Node") -> bool:
        return self._order(other) > 0

    # -- lifetime --------------------------------------------------------------------------
    def destroy(self) -> None:
        """Remove this node: drop its inputs' uses, its blocks and its (unused) outputs.

        Before: ``%a = f(); %b = g(%a)``; after ``b_node.destroy()``: ``%a = f()`` and
        ``a.uses == []``.  Raises if an output is still used.
        """
        for out in self._outputs:
            if out.uses:
                user = out.uses[0].user
                raise RuntimeError(f"cannot destroy {self.kind}: output %{out.debug_name} is "
                                   f"still used by {user.kind}")
        self.remove_all_inputs()
        while self._blocks:
            self.erase_block(len(self._blocks) - 1)
        for out in self._outputs:
            out.set_debug_name(None)
        if self.in_block_list:
            self._unlink()

    def __str__(self) -> str:
        from .printer import print_node
        return print_node(self)

    def __repr__(self) -> str:
        outs = ", ".join(f"%{o.debug_name}" for o in self._outputs)
        return f"<Node {outs} = {self.kind}>"


class Block:
    """A list of nodes with parameters and results (a branch or loop body, or a graph body)."""

    __slots__ = ("owning_graph", "owning_node", "param_node", "return_node", "__weakref__")

    def __init__(self, graph: "Graph", owning_node: Optional[Node]):
        self.owning_graph = graph
        self.owning_node = owning_node
        self.param_node = Node(graph, "prim::Param")
        self.return_node = Node(graph, "prim::Return")
        p, r = self.param_node, self.return_node
        p.owning_block = r.owning_block = self
        p.next, r.prev, r.next, p.prev = r, p, p, r

    @property
    def params(self) -> Tuple[Value, ...]:
        return self.param_node.outputs

    inputs = params

    @property
    def returns(self) -> Tuple[Value, ...]:
        return self.return_node.inputs

    outputs = returns

    @property
    def nodes(self) -> List[Node]:
        """The nodes in order (a snapshot list: safe to mutate the block while looping)."""
        out: List[Node] = []
        n = self.param_node.next
        while n is not self.return_node:
            out.append(n)  # type: ignore[arg-type]
            n = n.next  # type: ignore[union-attr]
        return out

    def add_input(self, name: Optional[str] = None, type_: Optional[IRType] = None) -> Value:
        """Append a block parameter."""
        v = self.param_node.add_output(type_)
        if name:
            v.set_debug_name(name)
        return v

    def insert_input(self, i: int, name: Optional[str] = None,
                     type_: Optional[IRType] = None) -> Value:
        v = self.param_node.insert_output(i, type_)
        if name:
            v.set_debug_name(name)
        return v

    def erase_input(self, i: int) -> None:
        self.param_node.erase_output(i)

    def register_output(self, value: Value) -> int:
        """Append ``value`` to the block's results (``-> (..., %value)``); returns its index."""
        self.return_node.add_input(value)
        return len(self.return_node._inputs) - 1

    def erase_output(self, i: int) -> None:
        self.return_node.remove_input(i)

    def append_node(self, node: Node) -> Node:
        return node.insert_before(self.return_node)

    def prepend_node(self, node: Node) -> Node:
        return node.insert_after(self.param_node)

    def _destroy(self) -> None:
        """Destroy every node, last first, so that each one's users are gone before it."""
        self.return_node.remove_all_inputs()
        for n in reversed(self.nodes):
            n.destroy()
        for p in self.param_node._outputs:
            p.set_debug_name(None)

    def __repr__(self) -> str:
        return f"<Block of {self.owning_node.kind if self.owning_node else 'graph'}>"
