"""Reverse-mode automatic differentiation on a tape (Note [Autograd tape] in ``graph.py``)."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from .engine import run_backward
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                        set_grad_enabled)
from .graph import AccumulateGrad, BackwardNode

__all__ = ["backward", "grad", "gradcheck", "gradgradcheck", "GradcheckError", "no_grad",
           "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "inference_mode", "AccumulateGrad", "BackwardNode"]


def _as_list(x: Any) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _make_grads(outputs: Sequence[Any], grads: Sequence[Any]) -> list:
    from ..ops.creation import ones_like
    result = []
    for i, out in enumerate(outputs):
        g = grads[i] if i < len(grads) else None
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out.dtype.is_floating_point:
                raise RuntimeError("grad can be implicitly created only for real scalar outputs "
                                   f"but got {out.dtype}")
            g = ones_like(out)
        elif not hasattr(g, "_data"):
            from ..ops.creation import tensor
            g = tensor(g, dtype=out.dtype)
        elif tuple(g.shape) != tuple(out.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{g.shape} and output[{i}] has a shape of {out.shape}.")
        result.append(g)
    return result


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: Optional[bool] = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves."""
    outputs = _as_list(tensors)
    grads = _make_grads(outputs, _as_list(grad_tensors))
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        run_backward(outputs, grads, retain_graph, create_graph)
        return
    # ``inputs=``: accumulate into these tensors' ``.grad`` only (leaves or not).
    ins = _as_list(inputs)
    if not ins:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    result = run_backward(outputs, grads, retain_graph, create_graph, inputs=ins,
                          allow_unused=True, accumulate=False)
    for t, g in zip(ins, result):
        if g is not None:
            t._accumulate_grad(g, create_graph)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, allow_unused: Optional[bool] = None,
         materialize_grads: bool = False) -> tuple:
    """Return d(outputs)/d(inputs) without touching ``.grad``."""
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _make_grads(outs, _as_list(grad_outputs))
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outs, grads, retain_graph, create_graph, inputs=ins,
                          allow_unused=bool(allow_unused) or materialize_grads, accumulate=False)
    if materialize_grads:
        from ..ops.creation import zeros_like
        result = [zeros_like(t) if g is None else g for g, t in zip(result, ins)]
    return tuple(result)


# Bound after the submodule is imported, so that ``autograd.gradcheck`` is the function even
# once ``minijit.autograd.gradcheck`` (the module) has been imported by name.
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
