"""The passes that make ``prim::DifferentiableGraph`` nodes (graph autodiff: ``autodiff.py``).

When a plan needs gradients, the executor runs

* :func:`create_autodiff_subgraphs` before fusion: connected differentiable ops of any kind
  become one ``prim::DifferentiableGraph`` each (TorchScript's ``CreateAutodiffSubgraphs``),
  whose forward runs on arrays with its pointwise parts fused and whose backward is one
  compiled, fused graph;
* :func:`create_differentiable_graphs` after fusion: each fusion group left whose inputs need
  gradients is wrapped the same way, or inlined back (its ops then record eager tape nodes)
  if its backward cannot be built.

Note [Differentiable graphs] in ``runtime/differentiable_graph.py`` says how they run.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ...ops.registry import Tag
from ..ir.graph import Graph, Node, Value
from ..ir.types import TensorType
from .autodiff import AutodiffError, GradientSpec, differentiate
from .pass_manager import op_of
from .shape_analysis import static_value

__all__ = ["create_autodiff_subgraphs", "create_differentiable_graphs", "autodiff_reason",
           "gradient_wanted"]


def gradient_wanted(v: Value) -> bool:
    """Might anything downstream of ``v`` differentiate it?  False only when every reader is
    an op that has no derivative with respect to it (``gt``, ``aten::Bool``...)."""
    for use in v.uses:
        user = use.user
        op = op_of(user) if user.kind.startswith(("aten::", "prim::")) else None
        if op is None:
            return True                      # returns, tuples, calls, subgraphs: maybe
        if Tag.SCALAR in op.tags:
            continue                         # int(t), bool(t): no gradient flows
        if op.differentiable and use.offset not in op.nondiff_args:
            return True
    return False



def _input_requires_grad(v: Value) -> bool:
    t = v.type
    if isinstance(t, TensorType):
        return t.requires_grad is not False and (t.dtype is None or
                                                 getattr(t.dtype, "is_floating_point", True))
    return False


def _optimise_backward(graph: Graph, min_size: int) -> None:
    from .constant_propagation import pool_constants, propagate_constants
    from .cse import eliminate_common_subexpressions
    from .dce import eliminate_dead_code
    from .fuse import fuse_pointwise
    propagate_constants(graph)
    pool_constants(graph)
    eliminate_common_subexpressions(graph)
    eliminate_dead_code(graph)
    fuse_pointwise(graph, min_size=min_size)


def create_differentiable_graphs(graph: Graph, log: Any = None,
                                 not_fused: Optional[List[Tuple[str, str]]] = None,
                                 min_size: int = 2) -> bool:
    """Wrap each ``prim::FusionGroup`` whose inputs may require grad in a
    ``prim::DifferentiableGraph`` (Note [Differentiable graphs] in
    ``runtime/differentiable_graph.py``); groups that cannot be differentiated are inlined
    back, so their ops record eager tape nodes.  Returns True if the graph changed.

    Before::

        %z : Float(4) = prim::FusionGroup_0(%x, %y)

    After::

        %z : Float(4) = prim::DifferentiableGraph_0(%x, %y)
        with prim::DifferentiableGraph_0 = graph(%x : Float(4), %y : Float(4)):
          %z : Float(4), %6 : Float(4) = prim::FusionGroup_0(%x, %y)
          return (%z, %6)
        with prim::FusionGroup_0 = graph(...)
    """
    from .fuse import FUSION_KIND, inline_fusion_groups
    from .pass_manager import PassLog, node_text
    log = log if log is not None else PassLog()
    changed = False
    groups: List[Node] = []

    def collect(block: Any) -> None:
        for n in block.nodes:
            for b in n.blocks:
                collect(b)
            if n.kind == FUSION_KIND:
                groups.append(n)

    collect(graph.block)
    for k, node in enumerate(groups):
        wanted = [_input_requires_grad(v) for v in node.inputs]
        if not any(wanted):
            continue
        sub = node.attrs["Subgraph"]
        try:
            spec = differentiate(sub, wanted, [gradient_wanted(o) for o in node.outputs])
        except AutodiffError as exc:
            text = node_text(node)
            inline_fusion_groups(graph, only=[node])
            log.note(f"{text}: not differentiable as a graph ({exc}); unfused")
            if not_fused is not None:
                not_fused.append((text, f"needs gradients and {exc}"))
            changed = True
            continue
        _optimise_backward(spec.backward, min_size)
        # The forward: one fusion group computing the real outputs and the captured values.
        dsub = Graph()
        mapping = {}
        for v in node.inputs:
            mapping[v] = dsub.add_input(v.debug_name if v.has_debug_name() else None, v.type)
        inner = dsub.create_node(FUSION_KIND, [mapping[v] for v in node.inputs], 0)
        inner.attrs["Subgraph"] = spec.forward
        for out in spec.forward.outputs:
            inner.add_output(out.type)
        dsub.append_node(inner)
        for out in inner.outputs:
            dsub.register_output(out)
        for old, new, ret in zip(node.outputs, inner.outputs, spec.forward.outputs):
            if old.has_debug_name():
                new.set_debug_name(old.debug_name)
        _replace_with_differentiable_graph(graph, node, dsub, spec)
        log.note(f"prim::DifferentiableGraph around a fusion group of {len(sub.nodes)} node(s): "
                 f"{len(spec.df_input_vjps)} input gradient(s), "
                 f"{len(spec.df_input_captured_inputs) + len(spec.df_input_captured_outputs)} "
                 "saved value(s); backward fused")
        changed = True
    return changed


# ---- the pass: differentiable subgraphs of any differentiable ops ------------------------------
_DIFFERENTIABLE_CACHE: Dict[Tuple[Any, ...], Optional[str]] = {}


def _single_node_graph(node: Node) -> Graph:
    """A graph computing just ``node`` (tensor inputs as inputs, static arguments copied)."""
    g = Graph()
    mapping: Dict[Value, Value] = {}

    def value(v: Value) -> Value:
        if v in mapping:
            return mapping[v]
        ok, static = static_value(v)
        if ok and not isinstance(v.type, TensorType):
            mapping[v] = g.insert_constant(static, v.type) if static is not None else \
                g.insert_constant(None)
        else:
            mapping[v] = g.add_input(None, v.type)
        return mapping[v]

    clone = g.insert_node(g.create_clone(node, value, copy_blocks=False))
    for out in clone.outputs:
        g.register_output(out)
    return g


def autodiff_reason(node: Node) -> Optional[str]:
    """None if ``node`` can join a differentiable subgraph, else why not.

    It must be a single-output tensor op with a backward rule (not random, not in place,
    not a view),
    whose result needs a gradient, whose non-tensor arguments are known at compile time,
    and whose rule records symbolically (tried once per kind of call, then remembered).
    """
    from .fuse import is_barrier
    op = op_of(node)
    if op is None or Tag.SCALAR in op.tags or node.blocks:
        return "not a tensor op"
    if not op.differentiable and not op.is_pointwise:
        return "has no derivative"
    if Tag.INPLACE in op.tags or Tag.RANDOM in op.tags or is_barrier(node):
        return "writes in place or is random"
    if Tag.VIEW in op.tags:
        # A view computed on arrays would not share its base's version counter, so autograd
        # could miss an in-place write through it: views stay eager.
        return "makes a view"
    if len(node.outputs) != 1 or not isinstance(node.output().type, TensorType):
        return "does not make one tensor"
    if not op.differentiable:
        # A comparison inside a group: computed by the forward, no gradient through it
        # (``differentiate`` skips it).  Grouping it keeps the ops around it together.
        return None
    if node.output().type.requires_grad is False:
        return "its result needs no gradient"
    key_parts: List[Any] = [node.kind, str(node.schema)]
    wanted = []
    for v in node.inputs:
        ok, value = static_value(v)
        if isinstance(v.type, TensorType) and not ok:
            key_parts.append(str(v.type))
            wanted.append(_input_requires_grad(v))
        elif ok:
            key_parts.append(repr(value) if not hasattr(value, "shape") else "tensor")
        else:
            return f"a runtime {v.type} argument"
    key = tuple(key_parts)
    if key not in _DIFFERENTIABLE_CACHE:
        try:
            g = _single_node_graph(node)
            differentiate(g, [_input_requires_grad(v) for v in g.inputs])
            _DIFFERENTIABLE_CACHE[key] = None
        except AutodiffError as exc:
            _DIFFERENTIABLE_CACHE[key] = f"its backward rule cannot be recorded ({exc})"
        except Exception as exc:  # noqa: BLE001
            _DIFFERENTIABLE_CACHE[key] = f"its backward rule cannot be recorded ({exc})"
    return _DIFFERENTIABLE_CACHE[key]


def _wrap_group(graph: Graph, node: Node, spec: GradientSpec, min_size: int) -> Node:
    """Turn a ``prim::DifferentiableGraph`` holding plain nodes into its final form: the
    forward (with captured outputs, fused) as ``Subgraph``, the fused backward beside it."""
    from .fuse import fuse_pointwise
    from .dce import eliminate_dead_code
    forward = spec.forward
    fuse_pointwise(forward, min_size=min_size)
    eliminate_dead_code(forward)
    _optimise_backward(spec.backward, min_size)
    return _replace_with_differentiable_graph(graph, node, forward, spec)


def _replace_with_differentiable_graph(graph: Graph, node: Node, forward: Graph,
                                       spec: GradientSpec) -> Node:
    """Put a ``prim::DifferentiableGraph`` (``forward`` as ``Subgraph``, ``spec``'s backward
    and bookkeeping as attributes) in place of ``node``; its outputs take over ``node``'s
    uses and debug names."""
    diff = graph.create_node("prim::DifferentiableGraph", list(node.inputs), 0)
    diff.attrs["Subgraph"] = forward
    diff.attrs["ReverseSubgraph"] = spec.backward
    diff.attrs["f_real_outputs"] = spec.f_real_outputs
    diff.attrs["df_input_vjps"] = list(spec.df_input_vjps)
    diff.attrs["df_input_captured_inputs"] = list(spec.df_input_captured_inputs)
    diff.attrs["df_input_captured_outputs"] = list(spec.df_input_captured_outputs)
    diff.attrs["df_output_vjps"] = list(spec.df_output_vjps)
    diff.attrs["output_requires_grad"] = [bool(x) for x in spec.output_requires_grad]
    diff.insert_before(node)
    names = []
    for old in node.outputs:
        new = diff.add_output(old.type)
        names.append(old.debug_name if old.has_debug_name() else None)
        old.replace_all_uses_with(new)
    node.destroy()
    for new, name in zip(diff.outputs, names):
        if name:
            new.set_debug_name(name)
    return diff


def create_autodiff_subgraphs(graph: Graph, log: Any = None,
                              not_fused: Optional[List[Tuple[str, str]]] = None,
                              min_size: int = 2) -> bool:
    """Group connected differentiable ops into ``prim::DifferentiableGraph`` nodes
    (TorchScript's ``CreateAutodiffSubgraphs``), each with a backward from graph autodiff.

    Run before fusion when a plan needs gradients: the forward of each group runs on arrays
    (its pointwise parts fused) and records one tape node; its backward is one compiled,
    fused graph.  Groups are found as fusion groups are (Note [Fusion groups]), with
    :func:`autodiff_reason` deciding membership; groups smaller than ``min_size`` stay as
    they are.  Returns True if the graph changed.
    """
    from .fuse import find_groups, inline_fusion_groups, materialise
    from .pass_manager import PassLog
    log = log if log is not None else PassLog()
    changed = False

    def visit(block: Any) -> None:
        nonlocal changed
        for n in block.nodes:
            for b in n.blocks:
                visit(b)
        reasons: List[Tuple[str, str]] = []
        for members in find_groups(block, reasons, autodiff_reason):
            if len(members) < min_size:
                continue
            kinds = ", ".join(m.kind for m in members)
            holder = materialise(graph, block, members, "prim::DifferentiableGraph")
            sub = holder.attrs["Subgraph"]
            wanted = [_input_requires_grad(v) for v in holder.inputs]
            try:
                spec = differentiate(sub, wanted, [gradient_wanted(o) for o in holder.outputs])
            except AutodiffError as exc:
                inline_fusion_groups(graph, only=[holder])
                log.note(f"not differentiable as one graph ({exc}): {kinds}")
                continue
            _wrap_group(graph, holder, spec, min_size)
            log.note(f"prim::DifferentiableGraph of {len(members)} ops ({kinds}); "
                     f"{len(spec.df_input_vjps)} input gradient(s), "
                     f"{len(spec.df_input_captured_inputs) + len(spec.df_input_captured_outputs)}"
                     " saved value(s)")
            changed = True

    visit(graph.block)
    return changed
