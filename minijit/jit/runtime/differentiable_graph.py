"""``prim::DifferentiableGraph`` at run time: a fused forward and one tape node for its backward.

Note [Differentiable graphs]
    When a plan needs gradients, each fusion group whose inputs require grad is wrapped in a
    ``prim::DifferentiableGraph`` node (``passes/autodiff.py`` + the executor) holding

    * ``Subgraph``: the forward, a ``prim::FusionGroup`` whose outputs are the real outputs
      followed by the intermediates the backward reads;
    * ``ReverseSubgraph``: the backward graph from graph autodiff, itself fused;
    * TorchScript's bookkeeping lists ``f_real_outputs``, ``df_input_vjps``,
      ``df_input_captured_inputs``, ``df_input_captured_outputs``, ``df_output_vjps``.

    Running it computes the forward on arrays (no tape is recorded inside), wraps the real
    outputs as Tensors and gives them one ``grad_fn``, a ``DifferentiableGraphBackward`` node
    (PyTorch's name) whose edges lead to the inputs' own history.  Its backward runs the
    compiled reverse graph on arrays.  An output that received no gradient (used nowhere the
    loss reached) counts as zero, and an input whose gradient depends only on such outputs
    gets none at all, as in eager (``.grad`` stays ``None``, not zeros: :func:`grad_sources`).
    Saved input tensors are version-checked by the engine
    as eager saved tensors are, and the saved values are released after backward unless
    ``retain_graph``.  Under ``create_graph=True`` the backward instead re-runs the unfused
    forward and backward graphs on Tensors, so the gradient itself has history.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from ..._tensor import Tensor
from ...autograd.grad_mode import GRAD_MODE
from ...autograd.graph import BackwardContext, node_class, saved_output
from ..ir.graph import Graph, Node, Value
from . import interpreter as _interp
from .plan import StepProgram, compile_steps, from_raw, run_steps

__all__ = ["DifferentiableGraphRunner", "BACKWARD_NAME", "grad_sources"]

BACKWARD_NAME = "DifferentiableGraphBackward"
_ndarray = np.ndarray


def _edge(t: Tensor) -> Tuple[Any, int]:
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    return (t._get_accumulator(), 0)


def _zero_fill(grads: Sequence[Any], output_meta: Sequence[Any]) -> List[Any]:
    from ...ops.functional import zeros_for
    return [zeros_for(*output_meta[i]) if g is None else g for i, g in enumerate(grads)]


def grad_sources(backward: Graph, num_grads: int) -> List[Set[int]]:
    """Per output of a backward graph, which of its first ``num_grads`` inputs (the output
    gradients) it is computed from, following every node's inputs (and a fusion group's
    inside, output by output): an input gradient computed from no gradient that came is
    none, not zeros."""
    deps: Dict[Value, Set[int]] = {v: {i} for i, v in enumerate(backward.inputs[:num_grads])}

    def walk(graph: Graph, start: Dict[Value, Set[int]]) -> List[Set[int]]:
        found = dict(start)
        for node in graph.nodes:
            sub = node.attrs.get("Subgraph") if node.kind == "prim::FusionGroup" else None
            if sub is not None:
                inner = walk(sub, {p: found.get(v, set())
                                   for p, v in zip(sub.inputs, node.inputs)})
                for out, d in zip(node.outputs, inner):
                    found[out] = d
                continue
            d = set().union(*[found.get(v, set()) for v in node.inputs]) if node.inputs \
                else set()
            for out in node.outputs:
                found[out] = d
        return [found.get(v, set()) for v in graph.outputs]

    return walk(backward, deps)


def _as_tuple(x: Any, n: int) -> Tuple[Any, ...]:
    return (x,) if n == 1 else tuple(x)


class DifferentiableGraphRunner:
    """The handler of one ``prim::DifferentiableGraph`` node (Note [Differentiable graphs])."""

    def __init__(self, node: Node, special: Any):
        a = node.attrs
        self.forward_graph: Graph = a["Subgraph"]
        self.backward_graph: Graph = a["ReverseSubgraph"]
        self.f_real_outputs: int = a["f_real_outputs"]
        self.df_input_vjps: List[int] = list(a["df_input_vjps"])
        self.df_output_vjps: List[int] = list(a["df_output_vjps"])
        self.captured_inputs: List[int] = list(a["df_input_captured_inputs"])
        self.captured_outputs: List[int] = list(a["df_input_captured_outputs"])
        self.output_requires_grad: List[bool] = list(a["output_requires_grad"])
        self.forward: StepProgram = compile_steps(self.forward_graph, "raw", special)
        self.backward: StepProgram = compile_steps(self.backward_graph, "raw", special)
        self.num_forward_outputs = len(self.forward_graph.outputs)
        self.num_backward_outputs = len(self.backward_graph.outputs)
        self._unfused: Optional[Tuple[Any, Any]] = None
        self.node_class = node_class(BACKWARD_NAME)
        # Real output index -> its number among the outputs that carry a gradient.
        self.rank = {i: nr for nr, i in enumerate(self.df_output_vjps)}
        # Per input gradient, the output gradients it is computed from.
        self.sources = grad_sources(self.backward_graph, len(self.df_output_vjps))

    def __call__(self, *inputs: Any) -> Tuple[Any, ...]:
        arrays = [t._data if isinstance(t, Tensor) else t for t in inputs]
        outs = run_steps(self.forward, arrays)
        if self.num_forward_outputs == 1:
            outs = (outs,)
        real = [Tensor._from_array(o if type(o) is _ndarray else np.asarray(o))
                for o in outs[:self.f_real_outputs]]
        if not GRAD_MODE.enabled:
            return tuple(real)
        edges, metas, any_grad = [], [], False
        for k in self.df_input_vjps:
            t = inputs[k]
            if isinstance(t, Tensor) and t.requires_grad:
                edges.append(_edge(t))
                d = t._data
                metas.append((d.shape, t.dtype))
                any_grad = True
            else:
                edges.append((None, 0))
                metas.append(None)
        if not any_grad:
            return tuple(real)
        saved_outputs = [outs[k] for k in self.captured_outputs]
        # Per output that carries a gradient, (shape, dtype, device): to zero-fill the ones
        # that get none.
        output_meta = tuple((real[i]._data.shape, real[i].dtype, real[i].device)
                            for i in self.df_output_vjps)
        ctx = BackwardContext({}, (inputs, saved_outputs, output_meta), None)
        versions = [(inputs[k], inputs[k]._version[0], False, inputs[k]._output_nr)
                    for k in self.captured_inputs if isinstance(inputs[k], Tensor)]
        for k in self.captured_outputs:
            if k < self.f_real_outputs and k in self.rank:
                # (Its version counter, not the output itself: see ``saved_output``.)
                versions.append((saved_output(real[k], self.rank[k]), 0, True, self.rank[k]))
        if not versions and saved_outputs:
            keep = Tensor._from_array(np.asarray(saved_outputs[0]))
            versions.append((keep, keep._version[0], True, 0))
        ctx.saved_versions = tuple(versions)
        # The node's outputs are the real outputs that carry a gradient, numbered in
        # df_output_vjps order: outputs nobody differentiates (a sum only compared with 0)
        # get no grad_fn, so the engine neither waits for nor zero-fills their gradients.
        node = self.node_class(None, ctx, tuple(edges), tuple(metas), output_meta,
                               backward=self._backward)
        node.takes_missing_grads = True
        for i, nr in self.rank.items():
            t = real[i]
            t.requires_grad = True
            t.grad_fn = node
            t._output_nr = nr
        return tuple(real)

    # -- backward ------------------------------------------------------------------------------
    def _backward(self, ctx: BackwardContext, *grads: Any) -> List[Any]:
        inputs, saved_outputs, output_meta = ctx._args
        present = {i for i, g in enumerate(grads) if g is not None}
        if len(present) < len(grads):
            grads = _zero_fill(grads, output_meta)
        if GRAD_MODE.enabled:
            results = self._backward_with_history(inputs, grads)
        else:
            args = [g._data for g in grads] + \
                [inputs[k]._data if isinstance(inputs[k], Tensor) else inputs[k]
                 for k in self.captured_inputs] + list(saved_outputs)
            res = run_steps(self.backward, args)
            if self.num_backward_outputs == 1:
                res = (res,)
            results = [from_raw(r, {}) for r in res]
        # An input reached only through outputs that got no gradient gets none.
        return [r if self.sources[k] & present else None for k, r in enumerate(results)]

    def _unfused_programs(self) -> Tuple[Any, Any]:
        if self._unfused is None:
            from ..passes.fuse import inline_fusion_groups
            fwd = self.forward_graph.copy()
            inline_fusion_groups(fwd)
            bwd = self.backward_graph.copy()
            inline_fusion_groups(bwd)
            self._unfused = (_interp.compile_graph(fwd), _interp.compile_graph(bwd))
        return self._unfused

    def _backward_with_history(self, inputs: Sequence[Any], grads: Sequence[Any]) -> List[Any]:
        """``create_graph=True``: recompute on Tensors so the gradients record a tape."""
        fwd, bwd = self._unfused_programs()
        outs = _as_tuple(_interp.run_program(fwd, list(inputs)), self.num_forward_outputs)
        args = list(grads) + [inputs[k] for k in self.captured_inputs] + \
            [outs[k] for k in self.captured_outputs]
        return list(_as_tuple(_interp.run_program(bwd, args), self.num_backward_outputs))
