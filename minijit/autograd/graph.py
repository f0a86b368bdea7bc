"""The autograd tape: one backward node per differentiable op call.

Note [Autograd tape]
    Every tensor produced by a differentiable op while grad mode is on gets ``grad_fn``, a
    :class:`BackwardNode` that remembers the op, the arguments it needs (its ``ctx``) and, in
    ``next_functions``, where each input's gradient must go next: the input's own ``grad_fn``,
    an :class:`AccumulateGrad` for a leaf that requires grad, or ``None``.  The engine walks
    these edges backwards.  Node classes are made per name (``TanhBackward0``) so that
    ``type(t.grad_fn).__name__`` and the tensor repr read exactly as in PyTorch.

    A node that needs its own output in backward (``tanh``: ``1 - result²``) keeps a
    :func:`saved_output`, never the output itself: output → node → output would be a reference
    cycle, and every op call would leave garbage for Python's cycle collector.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .grad_mode import GRAD_MODE

__all__ = ["BackwardNode", "AccumulateGrad", "node_class", "BackwardContext", "saved_output"]

SAVED_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed when "
    "you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward.")


class BackwardContext:
    """What a backward rule sees: the forward arguments by schema name, and ``result``.

    ``ctx.self``, ``ctx.other``, ``ctx.dim`` ... read the bound forward arguments, so backward
    rules read like the formulas in PyTorch's ``derivatives.yaml``.
    """

    # The fields every node sets are slots; the rest are class-level defaults that an
    # instance overrides only when it has something to say (one node per op call: cheap).
    __slots__ = ("_names", "_args", "result", "needs_input_grad", "__dict__")

    # (tensor, version at save time, is an output of this node, output_nr) per saved tensor.
    saved_versions: Tuple = ()
    released = False
    # Per tensor argument: None, or the length of a Tensor[] argument (whose gradient is a
    # list, or None for "no gradient to any element"); ``0`` marks a non-differentiable tensor
    # argument, which has no edge at all.  None here means "plain tensors only".
    list_sizes: Optional[Tuple[Optional[int], ...]] = None

    def __init__(self, names: Dict[str, int], args: Sequence[Any], result: Any,
                 needs_input_grad: Tuple[bool, ...] = ()):
        self._names = names
        self._args = args
        self.result = result
        # One flag per tensor argument in schema order (a Tensor[] argument counts once).
        self.needs_input_grad = needs_input_grad

    def __getattr__(self, name: str) -> Any:
        try:
            return self._args[self._names[name]]
        except KeyError:
            raise AttributeError(f"backward context has no argument {name!r}") from None

    @property
    def args(self) -> Sequence[Any]:
        return self._args


def saved_output(out: Any, output_nr: int = 0) -> Any:
    """What a node keeps of one of its own outputs, for ``ctx.result``: a tensor that shares
    the output's array and version counter, but not its history.

    Keeping the output itself would make a reference cycle (output → ``grad_fn`` → ctx →
    output) that only Python's cycle collector can free: about 1 µs more per op call, most of
    eager autograd's cost.  PyTorch's ``SavedVariable`` does the same for outputs; when
    backward itself is recorded (``create_graph``), :meth:`BackwardNode.apply` gives the
    saved tensor its history back, so gradients of gradients flow through this node.
    """
    kept = object.__new__(type(out))
    kept._data = out._data
    kept._vc = out._version
    if output_nr:
        kept._output_nr = output_nr
    return kept


class BackwardNode:
    """A node of the autograd graph (PyTorch's ``torch.autograd.graph.Node``)."""

    __slots__ = ("op", "ctx", "next_functions", "input_meta", "output_meta", "__weakref__",
                 "__dict__")

    # output_nr -> {handle id: hook}: tensor hooks, then retain_grad's store (run last).
    pre_hooks: Optional[Dict[int, Dict[int, Callable]]] = None
    retain_hooks: Optional[Dict[int, Callable]] = None
    _backward: Optional[Callable] = None      # a node-specific rule instead of op.backward
    # The engine zero-fills the gradients of outputs nobody used, unless the node says it
    # takes None for them (a differentiable graph: it must know which never came).
    takes_missing_grads = False

    def __init__(self, op: Any, ctx: Optional[BackwardContext],
                 next_functions: Tuple[Tuple[Optional["BackwardNode"], int], ...],
                 input_meta: Sequence[Any], output_meta: Sequence[Any],
                 backward: Optional[Callable] = None):
        self.op = op
        self.ctx = ctx
        self.next_functions = next_functions
        self.input_meta = input_meta      # (shape, dtype) per next edge: the engine reduces to it
        # (shape, dtype, device) per output, to zero-fill missing gradients; ``(None,)`` for
        # single-output nodes, which never need it.
        self.output_meta = output_meta
        if backward is not None:
            self._backward = backward

    def name(self) -> str:
        """PyTorch's C++ name: ``MulBackward0``; ``torch::autograd::CopySlices``."""
        name = type(self).__name__
        return "torch::autograd::" + name if name in _CPP_QUALIFIED else name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def prehooks_for_output(self, output_nr: int) -> Dict[int, Callable]:
        """The (ordered, removable) hooks on the gradient of output ``output_nr``."""
        if self.pre_hooks is None:
            self.pre_hooks = {}
        return self.pre_hooks.setdefault(output_nr, {})

    def register_prehook_for_output(self, output_nr: int, hook: Callable) -> None:
        hooks = self.prehooks_for_output(output_nr)
        hooks[-len(hooks) - 1] = hook

    def register_retain_hook(self, output_nr: int, hook: Callable) -> None:
        if self.retain_hooks is None:
            self.retain_hooks = {}
        self.retain_hooks[output_nr] = hook

    def apply(self, grads: Sequence[Any]) -> Sequence[Any]:
        """Run the op's backward rule on the output gradients; one result per next edge."""
        ctx = self.ctx
        if ctx is not None and ctx.released:
            raise RuntimeError(SAVED_FREED_MESSAGE)
        if ctx is not None and ctx.result is not None and GRAD_MODE.enabled:
            self._link_saved_outputs(ctx.result)
        if self._backward is not None:      # a node-specific rule returns one grad per edge
            return list(self._backward(ctx, *grads))
        result = self.op.backward(ctx, *grads)
        if not isinstance(result, (tuple, list)):
            result = (result,)
        sizes = ctx.list_sizes if ctx is not None else None
        if sizes is None:
            return list(result)
        flat: List[Any] = []
        for item, size in zip(result, sizes):
            if size is None:
                flat.append(item)
            elif size == 0:
                continue
            elif item is None:
                flat.extend([None] * size)
            else:
                flat.extend(item)
        return flat

    def _link_saved_outputs(self, result: Any) -> None:
        """Recording backward (``create_graph``): the saved outputs become this node's
        outputs again, as the outputs they stand for are (see :func:`saved_output`)."""
        for kept in (result if isinstance(result, (tuple, list)) else (result,)):
            if (getattr(kept, "_grad_fn", self) is None and kept._base is None
                    and kept._data.dtype.kind in "fc"):
                kept.requires_grad = True
                kept._grad_fn = self

    def release(self) -> None:
        """Free saved values after backward (unless ``retain_graph``); ops that save nothing
        (``add``) can run backward twice, as in PyTorch."""
        ctx = self.ctx
        if ctx is not None and ctx.saved_versions:
            ctx.released = True
            ctx._args = ()
            ctx.result = None
            ctx.saved_versions = ()


class AccumulateGrad(BackwardNode):
    """The sink for a leaf tensor: adds the incoming gradient into ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any):
        super().__init__(None, None, (), (), ((variable.shape, variable.dtype, variable.device),))
        self.variable = variable


_NODE_CLASSES: Dict[str, type] = {}
_CPP_QUALIFIED = ("CopySlices", "AccumulateGrad")


def node_class(name: str) -> type:
    """The BackwardNode subclass named ``name`` (``TanhBackward0``), made once and cached."""
    cls = _NODE_CLASSES.get(name)
    if cls is None:
        cls = type(name, (BackwardNode,), {"__slots__": ()})
        _NODE_CLASSES[name] = cls
    return cls
