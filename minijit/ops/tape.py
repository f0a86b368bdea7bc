"""Recording an op call on the autograd tape (Note [Autograd tape] in ``autograd/graph.py``).

:func:`dispatch.apply` computes; this module remembers how to differentiate what it computed:
:func:`attach_grad_fn` builds the backward node of an out-of-place call (edges to the inputs'
histories, the values its backward formula reads), and :func:`write_inplace` handles
``x.add_(y)``: the write, the version bump, and the history rebased onto the op's node,
through ``CopySlices`` when ``x`` is a view of another tensor, as PyTorch does.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ..autograd.grad_mode import GRAD_MODE
from ..autograd.graph import BackwardContext, BackwardNode, node_class, saved_output
from .registry import OpInfo

__all__ = ["attach_grad_fn", "write_inplace", "make_node", "needed", "share_version",
           "regenerate_view_grad_fn", "ONE_OUTPUT"]

Tensor: Any = None   # set by minijit._tensor to break the import cycle
_new = object.__new__
_ndarray = np.ndarray


def share_version(out: Any, base: Any) -> None:
    if isinstance(out, Tensor):
        out._version = base._version
        out._base = base if base._base is None else base._base
        out._grad_fn_version = out._version[0]
        if not GRAD_MODE.enabled:
            out._no_grad_view = True      # PyTorch never gives these a history
    elif isinstance(out, (list, tuple)):
        for o in out:
            share_version(o, base)


# ---- autograd -----------------------------------------------------------------------------------
def _edge(t: Any) -> Tuple[Any, int]:
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    acc = t._accumulator
    return (acc if acc is not None else t._get_accumulator(), 0)


ONE_OUTPUT = (None,)   # output_meta of single-output nodes: the engine only counts it


def needed(needs: Sequence[bool], condition: Tuple[int, ...]) -> bool:
    """Whether any input at the ``condition`` positions requires grad (see ``saves_for``)."""
    for k in condition:
        if needs[k]:
            return True
    return False


def make_node(op: OpInfo, bound: List[Any], out: Any, name: Optional[str] = None) -> BackwardNode:
    """The tape node for one call of ``op`` (Note [Autograd tape]); outputs are not touched.

    Edges: one per tensor argument (one per element of a ``Tensor[]``), none for arguments
    the op declares non-differentiable; each remembers the input's shape and dtype, to which
    the engine reduces and casts the incoming gradient.
    """
    n = len(bound)
    indices = op.tensor_arg_indices if len(op.schemas) == 1 else op.tensor_indices_for_len[n]
    nondiff = op.nondiff_args
    next_functions: List[Tuple[Any, int]] = []
    input_meta: List[Any] = []
    needs: List[bool] = []
    list_sizes: Optional[List[Optional[int]]] = None
    for k, i in enumerate(indices):
        v = bound[i]
        if nondiff and i in nondiff:    # no edge at all (PyTorch: ``non_differentiable``)
            if list_sizes is None:
                list_sizes = [None] * k
            list_sizes.append(0)
            needs.append(False)
            continue
        if isinstance(v, Tensor):
            if v.requires_grad:
                next_functions.append(_edge(v))
                data = v._data
                input_meta.append((data.shape, data.dtype))
                needs.append(True)
            else:
                next_functions.append((None, 0))
                input_meta.append(None)
                needs.append(False)
            if list_sizes is not None:
                list_sizes.append(None)
            continue
        if isinstance(v, (list, tuple)):
            if list_sizes is None:
                list_sizes = [None] * k
            list_sizes.append(len(v))
            any_needs = False
            for t in v:
                if isinstance(t, Tensor) and t.requires_grad:
                    next_functions.append(_edge(t))
                    input_meta.append((t._data.shape, t._data.dtype))
                    any_needs = True
                else:
                    next_functions.append((None, 0))
                    input_meta.append(None)
            needs.append(any_needs)
            continue
        next_functions.append((None, 0))       # a Python number where a tensor may go
        input_meta.append(None)
        needs.append(False)
        if list_sizes is not None:
            list_sizes.append(None)
    schema = op.schema if len(op.schemas) == 1 else op.schema_for_len.get(n, op.schema)
    ctx = BackwardContext(schema._index, bound, None, tuple(needs))
    if list_sizes is not None:
        ctx.list_sizes = tuple(list_sizes)
    if op.saves:
        saved = []
        for index, condition in op.saved_indices_for_len.get(n, ()):
            if condition is not None and not needed(needs, condition):
                continue                # no gradient computed will read it
            value = bound[index]
            if isinstance(value, Tensor):
                saved.append((value, value._version[0], False, value._output_nr))
            elif isinstance(value, (list, tuple)):
                saved.extend((t, t._version[0], False, t._output_nr) for t in value
                             if isinstance(t, Tensor))
        condition = op.saved_conditions_for_len.get(n)
        if op.saves_result and (condition is None or needed(needs, condition)):
            if isinstance(out, Tensor):
                kept = ctx.result = saved_output(out)
                saved.append((kept, kept._vc[0], True, 0))
            else:
                ctx.result = tuple(saved_output(o, nr) if isinstance(o, Tensor) else o
                                   for nr, o in enumerate(out))
                saved.extend((o, o._vc[0], True, nr) for nr, o in enumerate(ctx.result)
                             if isinstance(o, Tensor))
        ctx.saved_versions = tuple(saved)
    if isinstance(out, Tensor):
        output_meta = ONE_OUTPUT
    else:
        output_meta = tuple((o.shape, o.dtype, o.device) if isinstance(o, Tensor) else None
                            for o in out)
    if name is None:
        cls = op.node_cls
        if cls is None:
            if not isinstance(op.grad_fn_name, str):
                cls = node_class(op.grad_fn_name(bound))
            else:
                cls = op.node_cls = node_class(op.grad_fn_name)
    else:
        cls = node_class(name)
    return cls(op, ctx, tuple(next_functions), tuple(input_meta), output_meta)


def attach_grad_fn(op: OpInfo, bound: List[Any], out: Any) -> None:
    """Record one tape node for this call and make it the outputs' ``grad_fn``."""
    node = make_node(op, bound, out)
    if op.is_view:
        share_version(out, bound[0])
    if isinstance(out, Tensor):
        if out._data.dtype.kind in "fc":
            out.requires_grad = True
            out.grad_fn = node
        return
    for nr, o in enumerate(out):
        if isinstance(o, Tensor) and o._data.dtype.kind in "fc":
            o.requires_grad = True
            o.grad_fn = node
            o._output_nr = nr


def write_inplace(op: OpInfo, bound: List[Any], out: Any, tensors: List[Any]) -> Any:
    """``x.add_(y)``: compute out of place, then write into ``x`` and bump its version.

    With gradients, the target's history is rebased onto the op's node, whose ``self`` edge
    leads to the target's previous history; the old value is copied first when the backward
    formula reads it (PyTorch's ``original_self``).  A target that is a view of another tensor
    makes the base's history a ``CopySlices`` node, as in PyTorch.
    """
    target = bound[0]
    if not isinstance(target, Tensor):
        raise TypeError(f"{op.python_name}(): the in-place target must be a Tensor")
    needs_grad = GRAD_MODE.enabled and any(t.requires_grad for t in tensors)
    base = target._base
    if needs_grad and target.requires_grad and target.grad_fn is None:
        if base is not None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if needs_grad and base is not None and base.requires_grad and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if out.dtype is not target.dtype and out.dtype.category > target.dtype.category:
        raise RuntimeError(f"result type {out.dtype.scalar_name} can't be cast to the desired "
                           f"output type {target.dtype.scalar_name}")
    if tuple(out.shape) != tuple(target.shape):
        raise RuntimeError(f"output with shape {list(target.shape)} doesn't match the broadcast "
                           f"shape {list(out.shape)}")
    # (An integer target cannot require grad, whatever it is computed from.)
    record_grad = needs_grad and op.differentiable and target._data.dtype.kind in "fc"
    previous = None
    if record_grad:
        # The value before the write, for the backward formula and as the edge to the history.
        keep = "self" in op.saves
        previous = Tensor._from_array(target._data.copy() if keep else target._data)
        if target.requires_grad:
            previous.requires_grad = True
            previous.grad_fn = target.grad_fn
            previous._output_nr = target._output_nr
        if not keep:
            previous._version = target._version
    data = out._data
    if type(data) is not type(target._data):
        # Random ops draw on the CPU generator for every device (README, "GPU"): bring the
        # values to the target's device.
        from ..backends import to_device
        data = to_device(data, target.device)
    try:
        target._data[...] = data
    except ValueError:
        if not getattr(target._data.flags, "writeable", True):
            raise RuntimeError("unsupported operation: more than one element of the written-to "
                               "tensor refers to a single memory location. Please clone() the "
                               "tensor before performing the operation.") from None
        raise
    target._version[0] += 1
    if record_grad:
        rebound = [previous] + list(bound[1:])
        if base is not None and (base.requires_grad or needs_grad):
            node = _rebase_view(op, rebound, target, base)
        else:
            node = make_node(op, rebound, target)
            target.grad_fn = node
            target._output_nr = 0
            target.requires_grad = True
        _saved_before_write(node.ctx, target._version)
    return target


def _saved_before_write(ctx: Any, counter: List[int]) -> None:
    """Inputs saved by an in-place op were saved before its write (``x.mul_(x)`` saves ``x``
    at the old version, so backward will notice the write, as PyTorch does)."""
    if ctx is not None and ctx.saved_versions:
        ctx.saved_versions = tuple(
            (t, v - 1 if not is_output and t._version is counter else v, is_output, nr)
            for t, v, is_output, nr in ctx.saved_versions)


def _view_positions(base: Any, view: Any) -> np.ndarray:
    """For each element of ``view`` (an array viewing ``base``'s memory), its flat index in base.

    Works from the arrays' addresses and strides alone (NumPy or CuPy), on the host.
    """
    def pointer(a: Any) -> int:
        return a.ctypes.data if type(a) is _ndarray else a.data.ptr

    def offsets(shape: Sequence[int], strides: Sequence[int], start: int) -> np.ndarray:
        off = np.full(tuple(shape), start, np.int64)
        for d, (n, step) in enumerate(zip(shape, strides)):
            off = off + (np.arange(n, dtype=np.int64) * step).reshape(
                (-1,) + (1,) * (len(shape) - d - 1))
        return off

    flat = offsets(base.shape, base.strides, 0).reshape(-1)
    wanted = offsets(view.shape, view.strides, pointer(view) - pointer(base)).reshape(-1)
    order = np.argsort(flat, kind="stable")
    pos = np.searchsorted(flat[order], wanted)
    return order[pos].reshape(view.shape).astype(np.int64)


def _positions_tensor(base: Any, view: Any) -> Any:
    """:func:`_view_positions` as an int64 tensor on the base's device."""
    positions = _view_positions(base._data, view._data)
    if type(base._data) is not _ndarray:
        from ..backends import to_device
        positions = to_device(positions, base.device)
    return Tensor._from_array(positions)


def _rebase_view(op: OpInfo, rebound: List[Any], target: Any, base: Any) -> BackwardNode:
    """History for an in-place write into a view: ``CopySlices`` on the base (PyTorch's name).

    The op's own node computes the gradients for the view region; CopySlices takes the base's
    gradient, hands the view region to that node, and writes the node's gradient for the old
    view values back into that region.  The view itself gets an ``AsStridedBackward0`` node
    that reads its region out of the base's new history.
    """
    from .functional import index_tensor
    positions = _positions_tensor(base, target)
    inner = make_node(op, rebound, target)
    if base.requires_grad:
        base_edge = _edge(base)
        base_meta = (base.shape, base.dtype)
    else:
        base_edge, base_meta = (None, 0), None
    base_shape = list(base.shape)

    def copy_slices_backward(ctx: Any, g: Any) -> list:
        flat = g.reshape([-1])
        grads = inner.apply([index_tensor(flat, [positions])])
        self_grad = grads[0] if grads else None
        if self_grad is None:
            self_grad = positions * 0.0
        self_grad = self_grad.to(g.dtype).expand(list(positions.shape))
        new = flat.index_put([positions], self_grad).reshape(base_shape)
        return [new] + list(grads[1:])

    copy_node = node_class("CopySlices")(
        None, inner.ctx, (base_edge,) + inner.next_functions[1:],
        (base_meta,) + tuple(inner.input_meta[1:]),
        ((base.shape, base.dtype, base.device),), backward=copy_slices_backward)
    base.grad_fn = copy_node
    base._output_nr = 0
    base.requires_grad = True

    target.grad_fn = _as_strided_node(target, base, positions)
    target._output_nr = 0
    target.requires_grad = True
    return inner


def _as_strided_node(view: Any, base: Any, positions: Any) -> BackwardNode:
    """``AsStridedBackward0``: the gradient of a view, scattered into a zero base."""
    base_shape = list(base.shape)

    def as_strided_backward(ctx: Any, g: Any) -> list:
        zeros = g.new_zeros([base.numel()])
        return [zeros.index_put([positions], g, True).reshape(base_shape)]

    return node_class("AsStridedBackward0")(
        None, None, (_edge(base),), ((base.shape, base.dtype),),
        ((view.shape, view.dtype, view.device),), backward=as_strided_backward)


def regenerate_view_grad_fn(view: Any) -> Any:
    """Note [View + inplace]
        A view shares its base's memory and version counter.  When the base (or another
        view of it) is written in place, the view's values now come from the base's new
        history, so its old ``grad_fn`` is stale.  Like PyTorch, the view's ``grad_fn`` is
        rebuilt the next time it is read: an ``AsStridedBackward0`` node into the base's
        current history.  ``Tensor.grad_fn`` calls this when the shared version moved past
        the one its ``grad_fn`` was made at.
    """
    base = view._base
    version = view._version[0]
    fn = view._grad_fn
    if base.requires_grad and not view._no_grad_view:
        fn = _as_strided_node(view, base, _positions_tensor(base, view))
        view._grad_fn = fn
        view._output_nr = 0
        view.requires_grad = True
    view._grad_fn_version = version
    return fn
