"""Finite-difference gradient checking (``torch.autograd.gradcheck``)."""
from __future__ import annotations

from typing import Any, Callable, List, Sequence

import numpy as np

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree."""


def _outputs(fn: Callable, inputs: Sequence[Any]) -> List[Any]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if hasattr(o, "_data") and o.dtype.is_floating_point]


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, **_: Any) -> bool:
    """Compare autograd's Jacobian with central differences, column by column.

    Inputs that require grad should be float64: float32 differences are too coarse.

    Example:
        >>> import minijit
        >>> x = minijit.rand(3, dtype=minijit.float64, requires_grad=True)
        >>> gradcheck(minijit.tanh, (x,))
        True
    """
    from . import grad as autograd_grad
    from ..autograd.grad_mode import no_grad
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff_inputs = [t for t in inputs if hasattr(t, "_data") and t.requires_grad]
    outputs = _outputs(func, inputs)
    for out_index, out in enumerate(outputs):
        n_out = out.numel()
        analytical = [np.zeros((t.numel(), n_out)) for t in diff_inputs]
        for j in range(n_out):
            from ..ops.creation import zeros_like
            seed = zeros_like(out)
            seed._data.reshape(-1)[j] = 1
            outs = _outputs(func, inputs)
            grads = autograd_grad(outs[out_index], diff_inputs, seed, allow_unused=True)
            for k, g in enumerate(grads):
                if g is not None:
                    analytical[k][:, j] = np.asarray(g._data, dtype=np.float64).reshape(-1)
        for k, t in enumerate(diff_inputs):
            flat = t._data.reshape(-1)
            numerical = np.zeros((t.numel(), n_out))
            for i in range(t.numel()):
                original = flat[i].copy()
                with no_grad():
                    flat[i] = original + eps
                    plus = np.asarray(_outputs(func, inputs)[out_index]._data, np.float64).copy()
                    flat[i] = original - eps
                    minus = np.asarray(_outputs(func, inputs)[out_index]._data, np.float64).copy()
                    flat[i] = original
                numerical[i] = ((plus - minus) / (2 * eps)).reshape(-1)
            if not np.allclose(analytical[k], numerical, atol=atol, rtol=rtol, equal_nan=True):
                if raise_exception:
                    raise GradcheckError(
                        f"Jacobian mismatch for output {out_index} with respect to input {k},\n"
                        f"numerical:{numerical}\nanalytical:{analytical[k]}\n")
                return False
    return True
