"""The passes every scripted graph goes through after SSA (TorchScript's order).

1. :func:`canonicalize_modified_loops`: a ``for`` loop that may ``break`` has both a trip count
   and a condition, which Python cannot spell; it becomes a ``while`` loop with an explicit
   counter (``aten::add``, ``aten::lt``, ``aten::__and__``).
2. :func:`erase_list_literals`: ``[]`` was kept as ``prim::EmptyListLiteral`` so that it could
   match any list type during overload resolution; what is left becomes ``List[Tensor]``.
3. :func:`~minijit.jit.passes.lower_tuples.lower_simple_tuples` and dead-code elimination.
4. :func:`constant_propagation_immutable`: fold scalar arithmetic, tuples of constants and
   ``if`` nodes whose condition is constant (:mod:`.constant_folding`).
5. :func:`~minijit.jit.passes.constant_pooling.constant_pooling`.
6. :func:`~minijit.jit.passes.canonicalize.canonicalize_outputs`.

(TorchScript's ``NormalizeOps`` is not needed: aliases such as ``torch.absolute`` already
resolve to the registry op they alias.)
"""
from __future__ import annotations

from typing import Callable, Optional

from ..ir.graph import Block, Graph, Node
from ..ir.types import IntType, ListType, TensorType
from ..passes.canonicalize import canonicalize_outputs
from ..passes.constant_pooling import constant_pooling
from ..passes.dce import eliminate_dead_code
from ..passes.lower_tuples import lower_simple_tuples
from .constant_folding import constant_of, fold_node

__all__ = ["run_cleanup_passes", "canonicalize_modified_loops"]

INT64_MAX = 9223372036854775807


def _insert_scalar_op(graph: Graph, kind: str, inputs: list) -> Node:
    from ...ops.registry import ops_for_kind
    node = graph.create_node(kind, inputs, 1)
    types = [v.type for v in inputs]
    for op in ops_for_kind(kind):
        schema = op.schema
        from .schema_match import parse_type
        formals = [parse_type(a.type)[0] for a in schema.arguments]
        if len(formals) == len(types) and all(f == t for f, t in zip(formals, types)):
            node.schema = schema
            node.output().type = parse_type(schema.returns[0])[0]
            break
    graph.insert_node(node)
    return node


def _loop_type(node: Node) -> str:
    body = node.blocks[0]
    trip = constant_of(node.inputs[0])
    cond_in = constant_of(node.inputs[1])
    cond_next = constant_of(body.returns[0])
    always_true = cond_in is True and cond_next is True
    trip_specified = not isinstance(trip, int) or trip != INT64_MAX or bool(body.params[0].uses)
    if always_true:
        return "For" if trip_specified else "While"
    return "ModifiedLoop" if trip_specified else "While"


def _canonicalize_modified_loop(node: Node) -> None:
    if _loop_type(node) != "ModifiedLoop":
        return
    graph = node.owning_graph
    body = node.blocks[0]
    with graph.insert_point(node):
        zero = graph.insert_constant(0)
        one = graph.insert_constant(1)
        max_trip = node.inputs[0]
        condition = _insert_scalar_op(graph, "aten::gt", [max_trip, zero]).output()
        node.replace_input(0, graph.insert_constant(INT64_MAX))
        input_cond = constant_of(node.inputs[1])
        if input_cond is not True:
            condition = _insert_scalar_op(graph, "aten::__and__",
                                          [condition, node.inputs[1]]).output()
        node.replace_input(1, condition)
    node.add_output(IntType)
    node.add_input(zero)
    new_iter = body.add_input(None, IntType)
    old_iter = body.params[0]
    old_iter.set_debug_name(None)
    old_iter.replace_all_uses_with(new_iter)
    with graph.insert_point(body):
        inc = _insert_scalar_op(graph, "aten::add", [new_iter, one]).output()
        body.register_output(inc)
        less = _insert_scalar_op(graph, "aten::lt", [inc, max_trip]).output()
        new_cond = _insert_scalar_op(graph, "aten::__and__", [less, body.returns[0]]).output()
    body.erase_output(0)
    body.return_node.insert_input(0, new_cond)


def canonicalize_modified_loops(block: Block) -> None:
    for node in block.nodes:
        for b in node.blocks:
            canonicalize_modified_loops(b)
        if node.kind == "prim::Loop":
            _canonicalize_modified_loop(node)


def erase_list_literals(graph: Graph) -> None:
    for node in list(graph.all_nodes()):
        if node.kind != "prim::EmptyListLiteral":
            continue
        if node.output().uses:
            lst = graph.create_node("prim::ListConstruct", [], 1)
            lst.output().type = ListType(TensorType.get())
            lst.insert_before(node)
            node.output().replace_all_uses_with(lst.output())
        node.destroy()


class _ConstantPropagator:
    """Constant propagation limited to immutable values (no alias analysis needed)."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.changed = False

    def run_block(self, block: Block) -> None:
        node = block.param_node.next
        while node is not block.return_node:
            nxt = node.next
            self.run_node(node)
            node = nxt

    def run_node(self, node: Node) -> None:
        all_constant = all(v.node.kind == "prim::Constant" for v in node.inputs)
        if node.kind == "prim::If":
            if all_constant:
                self.inline_if(node)
            else:
                for b in node.blocks:
                    self.run_block(b)
                self.remove_extra_if_outputs(node)
        elif node.kind == "prim::Loop":
            if self.loop_will_not_run(node):
                for out, init in zip(node.outputs, node.inputs[2:]):
                    out.replace_all_uses_with(init)
                node.destroy()
                self.changed = True
            else:
                for b in node.blocks:
                    self.run_block(b)
                self.remove_extra_loop_outputs(node)
        elif all_constant and node.kind != "prim::Constant":
            self.propagate(node)
        else:
            for b in node.blocks:
                self.run_block(b)

    def propagate(self, node: Node) -> None:
        results = fold_node(node)
        if results is None:
            return
        with self.graph.insert_point(node):
            for out, value in zip(node.outputs, results):
                new = self.graph.insert_constant(value)
                if value is None:
                    new.type = out.type
                elif isinstance(value, tuple):
                    new.type = out.type
                out.replace_all_uses_with(new)
                self.changed = True

    def inline_if(self, node: Node) -> None:
        taken = node.blocks[0 if constant_of(node.inputs[0]) else 1]
        self.run_block(taken)
        for inner in taken.nodes:
            inner.move_before(node)
        for out, ret in zip(node.outputs, taken.returns):
            out.replace_all_uses_with(ret)
        node.destroy()
        self.changed = True

    def remove_extra_if_outputs(self, node: Node) -> None:
        true_block, false_block = node.blocks
        before = len(true_block.returns)
        i = 0
        while i < len(true_block.returns):
            t_out, f_out = true_block.returns[i], false_block.returns[i]
            replacement = None
            if t_out is f_out:
                replacement = t_out
            else:
                tc, fc = constant_of(t_out), constant_of(f_out)
                from .constant_folding import _MISSING
                if tc is not _MISSING and fc is not _MISSING and type(tc) is type(fc) and \
                        tc == fc and t_out.type == f_out.type:
                    with self.graph.insert_point(node):
                        replacement = self.graph.insert_constant(tc, t_out.type
                                                                 if tc is None else None)
            if replacement is None:
                i += 1
                continue
            node.outputs[i].replace_all_uses_with(replacement)
            node.erase_output(i)
            true_block.erase_output(i)
            false_block.erase_output(i)
        self.changed |= before != len(true_block.returns)

    def remove_extra_loop_outputs(self, node: Node) -> None:
        body = node.blocks[0]
        before = len(node.outputs)
        for i in range(len(node.outputs) - 1, -1, -1):
            if body.params[1 + i] is body.returns[1 + i]:
                init = node.inputs[2 + i]
                node.outputs[i].replace_all_uses_with(init)
                body.params[1 + i].replace_all_uses_with(init)
                node.erase_output(i)
                node.remove_input(2 + i)
                body.erase_input(1 + i)
                body.erase_output(1 + i)
        self.changed |= before != len(node.outputs)

    @staticmethod
    def loop_will_not_run(node: Node) -> bool:
        trip = constant_of(node.inputs[0])
        cond = constant_of(node.inputs[1])
        trip_len = trip if isinstance(trip, int) and not isinstance(trip, bool) else 1
        cond_value = cond if isinstance(cond, bool) else True
        return not (cond_value and trip_len > 0)


def constant_propagation_immutable(graph: Graph) -> bool:
    propagator = _ConstantPropagator(graph)
    propagator.run_block(graph.block)
    if propagator.changed:
        eliminate_dead_code(graph, like_torchscript=True)
    return propagator.changed


def run_cleanup_passes(graph: Graph,
                       observe: Optional[Callable[[str, Graph], None]] = None) -> None:
    """Steps 1-6 of the module docstring, in place (``observe`` as in ``convert_to_ssa``)."""
    steps = [("canonicalize modified loops", lambda: canonicalize_modified_loops(graph.block)),
             ("erase list literals", lambda: erase_list_literals(graph)),
             ("lower simple tuples", lambda: lower_simple_tuples(graph)),
             ("constant propagation", lambda: constant_propagation_immutable(graph)),
             ("constant pooling", lambda: constant_pooling(graph)),
             ("canonicalize outputs", lambda: canonicalize_outputs(graph))]
    for name, step in steps:
        step()
        if observe is not None:
            observe(name, graph)
