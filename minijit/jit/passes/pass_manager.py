"""Running passes and recording what they did: the optimisation report.

Note [Pass contract]
    A pass is ``pass_fn(graph, log) -> bool``: it rewrites ``graph`` in place, writes one line
    to ``log`` (a :class:`PassLog`) for each change it made, and returns whether anything
    changed.  It must leave Note [IR invariants] true, so :func:`run_pass` can ``lint()`` the
    graph after it.  A pass never lists op names: it asks the registry (tags, schemas) or the
    helpers below (:func:`is_pure`, :func:`constant_value`).

The executor collects one :class:`PassRecord` per pass into an :class:`OptimizationReport`,
which is what ``minijit.jit.last_optimization_report()`` returns.

Example:
    >>> from minijit.jit.ir import parse_ir
    >>> from minijit.jit.passes.dce import eliminate_dead_code
    >>> g = parse_ir('''graph(%x : Tensor):
    ...   %1 : Tensor = aten::tanh(%x)
    ...   return (%x)
    ... ''')
    >>> report = OptimizationReport("f")
    >>> run_pass(report, "dce", lambda g, log: eliminate_dead_code(g), g).changed
    True
"""
from __future__ import annotations

import time
from typing import Any, Callable, List, Optional, Tuple

from ..ir.graph import Graph, Node, Value

__all__ = ["PassLog", "PassRecord", "OptimizationReport", "run_pass", "constant_value",
           "is_constant", "is_pure", "node_text", "op_of"]


class PassLog(list):
    """The lines a pass writes about its changes (a list with a ``note`` verb)."""

    def note(self, text: str) -> None:
        self.append(text)


class PassRecord:
    """One pass in a report: its name, whether it changed the graph, its notes and time."""

    __slots__ = ("name", "changed", "notes", "seconds", "graph_after")

    def __init__(self, name: str, changed: bool, notes: List[str], seconds: float,
                 graph_after: str):
        self.name = name
        self.changed = changed
        self.notes = notes
        self.seconds = seconds
        self.graph_after = graph_after

    def __repr__(self) -> str:
        return f"<PassRecord {self.name} changed={self.changed} notes={len(self.notes)}>"


class OptimizationReport:
    """What the executor did for one input signature: passes, fusion groups, what did not fuse.

    ``str(report)`` is a readable summary; ``report.passes`` the :class:`PassRecord` list;
    ``report.not_fused`` pairs of (node text, reason); ``report.graph`` the final graph text.
    """

    def __init__(self, name: str, signature: Any = None):
        self.name = name
        self.signature = signature
        self.passes: List[PassRecord] = []
        self.not_fused: List[Tuple[str, str]] = []
        self.fusion_groups: List[str] = []
        self.mode = ""
        self.graph = ""
        self.build_seconds = 0.0

    def record(self, name: str) -> Optional[PassRecord]:
        for p in self.passes:
            if p.name == name:
                return p
        return None

    def __str__(self) -> str:
        lines = [f"Optimization report for {self.name}",
                 f"  signature: {self.signature}",
                 f"  plan: {self.mode}, built in {self.build_seconds * 1e3:.1f} ms"]
        for p in self.passes:
            state = "changed" if p.changed else "no change"
            lines.append(f"  {p.name:<22} {state:<10} ({p.seconds * 1e3:.2f} ms)")
            lines.extend(f"      {n}" for n in p.notes)
        if self.fusion_groups:
            lines.append("  fusion groups:")
            lines.extend(f"      {g}" for g in self.fusion_groups)
        if self.not_fused:
            lines.append("  not fused:")
            lines.extend(f"      {text}  <- {why}" for text, why in self.not_fused)
        return "\n".join(lines) + "\n"

    __repr__ = __str__


def run_pass(report: OptimizationReport, name: str, fn: Callable[[Graph, PassLog], bool],
             graph: Graph, lint: bool = True) -> PassRecord:
    """Run one pass (Note [Pass contract]), lint the result, and add its record to ``report``."""
    log = PassLog()
    start = time.perf_counter()
    changed = bool(fn(graph, log))
    seconds = time.perf_counter() - start
    if lint:
        graph.lint()
    record = PassRecord(name, changed, list(log), seconds, graph.str(False) if changed else "")
    report.passes.append(record)
    return record


# ---- helpers shared by the passes ----------------------------------------------------------
def constant_value(v: Value) -> Tuple[bool, Any]:
    """``(True, value)`` if ``v`` is made by ``prim::Constant``, else ``(False, None)``."""
    node = v.node
    if node.kind != "prim::Constant":
        return False, None
    return True, node.attrs.get("value")


def is_constant(v: Value) -> bool:
    return v.node.kind == "prim::Constant"


def op_of(node: Node) -> Any:
    """The registry OpInfo a node runs: the overload its recorded schema names (scripted
    nodes), else the tensor op of its kind (traced and parsed nodes); None for prim kinds
    without an op."""
    from ...ops.registry import find, ops_for_kind
    schema = node.schema
    if schema is not None:
        for op in ops_for_kind(node.kind):
            if schema in op.schemas:
                return op
    return find(node.kind)


# Prim kinds that only read their inputs and build a new value.  (Registry ops, scalar ones
# included, are classified by their tags instead; these are IR-level kinds, not operators.)
_PURE_PRIMS = frozenset({
    "prim::Constant", "prim::TupleConstruct", "prim::TupleUnpack", "prim::TupleIndex",
    "prim::TupleSlice", "prim::ListConstruct", "prim::ListUnpack", "prim::DictConstruct",
    "prim::GetAttr", "prim::unchecked_cast", "prim::Uninitialized", "prim::isinstance",
})


def is_pure(node: Node) -> bool:
    """No side effects and the same inputs give the same output (safe to fold, merge, move).

    Registry ops (tensor and scalar overloads alike) are pure unless tagged RANDOM (they
    consume the generator) or INPLACE (they write: ``add_``, a list's ``append``); when a
    node does not record which overload it is, every overload of its kind must be pure.
    Nodes with blocks are not.
    """
    from ...ops.registry import Tag, ops_for_kind
    from .dce import has_side_effects
    if node.blocks:
        return False
    if node.kind in _PURE_PRIMS:
        return True
    if has_side_effects(node):
        return False
    op = op_of(node) if node.schema is not None else None
    candidates = [op] if op is not None else ops_for_kind(node.kind)
    if not candidates:
        return False
    return all(Tag.RANDOM not in o.tags and Tag.INPLACE not in o.tags for o in candidates)


def node_text(node: Node) -> str:
    """One node as the graph printer shows it, without its source comment."""
    text = str(node).split("\n", 1)[0]
    return text.split(" # ", 1)[0].strip()
