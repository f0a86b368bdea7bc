"""The backward engine: walks the tape from the outputs to the leaves.

It follows PyTorch's engine in the points a user can observe: gradients reaching an input are
summed, reduced to the input's shape when they were broadcast and cast to its dtype
(``validate_outputs`` in PyTorch), saved values are freed unless ``retain_graph``, and in-place
changes to a saved tensor are caught before its backward runs.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .. import dtypes as _dt
from .grad_mode import GRAD_MODE
from .graph import AccumulateGrad, BackwardNode

__all__ = ["run_backward"]

INPLACE_HINT = ("Hint: enable anomaly detection to find the operation that failed to compute "
                "its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")


def _type_string(tensor: Any) -> str:
    return f"torch.{tensor.dtype.scalar_name}Tensor"


def _check_versions(node: BackwardNode) -> None:
    ctx = node.ctx
    if ctx is None:
        return
    for tensor, version, is_output, output_nr in ctx.saved_versions:
        if tensor._version[0] != version:
            shape = list(tensor.shape)
            # PyTorch names the node that made the tensor: this node for its own outputs, the
            # tensor's current grad_fn for inputs (none for leaves).
            if is_output:
                origin = _display_name(node)
            else:
                fn = tensor.grad_fn
                origin = _display_name(fn) if fn is not None else None
                output_nr = tensor._output_nr
            where = f", which is output {output_nr} of {origin}," if origin else ""
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{_type_string(tensor)} {shape}]{where} is at version "
                f"{tensor._version[0]}; expected version {version} instead. {INPLACE_HINT}")


def _display_name(node: BackwardNode) -> str:
    """How PyTorch's saved-variable error names a node: ``MulBackward0`` → ``Mul``."""
    name = node.name()
    match = re.match(r"^(.*)Backward\d*$", name)
    return match.group(1) if match else name


def _reduce_to_input(grad: Any, meta: Any, node: BackwardNode, index: int) -> Any:
    """Reduce a broadcast gradient to the input's shape and cast it to the input's dtype."""
    shape, dtype = meta          # (NumPy shape and dtype, or minijit Size and dtype)
    data = grad._data
    if data.shape != tuple(shape):
        from ..ops.functional import sum_to_size
        try:
            grad = sum_to_size(grad, list(shape))
        except RuntimeError:
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {index} - got "
                f"{list(grad.shape)} but expected shape compatible with {list(shape)}") from None
        data = grad._data
    np_dtype = dtype.np if isinstance(dtype, _dt.dtype) else dtype
    if data.dtype != np_dtype:
        grad = grad.to(_dt.from_numpy_dtype(np_dtype))
    return grad


def _collect_dependencies(roots: Sequence[BackwardNode]) -> Dict[BackwardNode, int]:
    """How many edges point at each node reachable from the roots (Kahn's in-degrees)."""
    deps: Dict[BackwardNode, int] = {}
    seen = set()
    stack = list(roots)
    for r in roots:
        seen.add(r)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def run_backward(tensors: Sequence[Any], grad_tensors: Sequence[Any], retain_graph: bool,
                 create_graph: bool, inputs: Optional[Sequence[Any]] = None,
                 allow_unused: bool = False, accumulate: bool = True) -> Optional[List[Any]]:
    """Propagate ``grad_tensors`` from ``tensors`` back to the leaves.

    Args:
        tensors: the outputs to differentiate.
        grad_tensors: d(loss)/d(output) for each output.
        retain_graph: keep saved values so backward can run again.
        create_graph: record the backward computation itself (for higher derivatives).
        inputs: with ``accumulate=False`` (``autograd.grad``), the tensors whose gradients are
            returned instead of accumulated into ``.grad``.
    Returns:
        The gradients for ``inputs`` when ``accumulate`` is False, else None.
    """
    capture: Dict[Tuple[int, int], int] = {}
    captured: List[Any] = []
    if inputs is not None:
        captured = [None] * len(inputs)
        for i, t in enumerate(inputs):
            node = t.grad_fn if t.grad_fn is not None else t._get_accumulator()
            capture[(id(node), t._output_nr if t.grad_fn is not None else 0)] = i

    buffers: Dict[BackwardNode, List[Any]] = {}
    roots: List[BackwardNode] = []
    for position, (tensor, grad) in enumerate(zip(tensors, grad_tensors)):
        node = tensor.grad_fn
        if node is None:
            if not tensor.requires_grad:
                raise RuntimeError(f"element {position} of tensors does not require grad and "
                                   "does not have a grad_fn")
            node = tensor._get_accumulator()
            nr = 0
        else:
            nr = tensor._output_nr
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * len(node.output_meta)
            roots.append(node)
        buf[nr] = grad if buf[nr] is None else buf[nr] + grad

    deps = _collect_dependencies(roots)
    ready = [n for n in roots if deps.get(n, 0) == 0]
    prev_mode = GRAD_MODE.enabled
    GRAD_MODE.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            if node.pre_hooks:
                for nr, hooks in node.pre_hooks.items():
                    for hook in list(hooks.values()):
                        if grads[nr] is not None:
                            new = hook(grads[nr])
                            if new is not None:
                                grads[nr] = new
            if node.retain_hooks:
                for nr, hook in node.retain_hooks.items():
                    if grads[nr] is not None:
                        hook(grads[nr])
            if capture:
                for nr, g in enumerate(grads):
                    slot = capture.get((id(node), nr))
                    if slot is not None:
                        captured[slot] = g if captured[slot] is None else captured[slot] + g
            if isinstance(node, AccumulateGrad):
                if accumulate and grads[0] is not None:
                    node.variable._accumulate_grad(grads[0], create_graph)
                continue
            if not node.takes_missing_grads:
                _fill_missing(node, grads)
            _check_versions(node)
            input_grads = node.apply(grads)
            if not retain_graph:
                node.release()
            for index, ((nxt, nr), grad) in enumerate(zip(node.next_functions, input_grads)):
                if nxt is None:
                    continue
                if grad is not None:
                    grad = _reduce_to_input(grad, node.input_meta[index], node, index)
                buf = buffers.get(nxt)
                if buf is None:
                    buf = buffers[nxt] = [None] * len(nxt.output_meta)
                if grad is not None:
                    buf[nr] = grad if buf[nr] is None else buf[nr] + grad
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    if all(g is None for g in buf):
                        buffers.pop(nxt)
                        _skip(nxt, deps, ready, buffers)
                    else:
                        ready.append(nxt)
    finally:
        GRAD_MODE.enabled = prev_mode
    if inputs is None:
        return None
    for i, g in enumerate(captured):
        if g is None and not allow_unused:
            raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been "
                               "used in the graph. Set allow_unused=True if this is the desired "
                               "behavior.")
    return captured


def _skip(node: BackwardNode, deps: Dict[BackwardNode, int], ready: List[BackwardNode],
          buffers: Dict[BackwardNode, List[Any]]) -> None:
    """A node that received no gradient at all passes none on, but still releases its edges."""
    stack = [node]
    while stack:
        n = stack.pop()
        for nxt, _ in n.next_functions:
            if nxt is None:
                continue
            deps[nxt] -= 1
            if deps[nxt] == 0:
                buf = buffers.get(nxt)
                if buf is None or all(g is None for g in buf):
                    buffers.pop(nxt, None)
                    stack.append(nxt)
                else:
                    ready.append(nxt)


def _fill_missing(node: BackwardNode, grads: List[Any]) -> None:
    """Outputs that received no gradient (``values`` used, ``indices`` not) get zeros."""
    if len(grads) == 1:
        return
    from ..ops.functional import zeros_for
    for i, g in enumerate(grads):
        if g is None:
            shape, dtype, device = node.output_meta[i]
            if dtype.is_floating_point:
                grads[i] = zeros_for(shape, dtype, device)
