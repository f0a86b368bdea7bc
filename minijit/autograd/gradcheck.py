"""Finite-difference gradient checking (``torch.autograd.gradcheck``)."""
from __future__ import annotations

from typing import Any, Callable, List, Sequence

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree."""


def _tensors(value: Any, only_requiring_grad: bool) -> List[Any]:
    """The tensors in ``value`` (nested lists and tuples too), in order, without repeats."""
    found: List[Any] = []
    stack = [value]
    while stack:
        item = stack.pop(0)
        if hasattr(item, "_data"):
            if (not only_requiring_grad or item.requires_grad) and \
                    not any(item is t for t in found):
                found.append(item)
        elif isinstance(item, (list, tuple)):
            stack[:0] = list(item)
    return found


def _outputs(fn: Callable, inputs: Sequence[Any]) -> List[Any]:
    out = fn(*inputs)
    return [o for o in _tensors(out, False) if o.dtype.is_floating_point]


def _host(t: Any) -> np.ndarray:
    data = t._data
    return np.asarray(data if type(data) is np.ndarray else data.get(), dtype=np.float64)


def _fail(message: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(message)
    return False


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, fast_mode: bool = False,
              **_: Any) -> bool:
    """Compare autograd's gradients with central finite differences.

    Inputs that require grad (also inside lists, for ``cat``) are the variables; they should
    be float64, as float32 differences are too coarse.  The slow mode compares whole
    Jacobians, column by column; ``fast_mode`` (PyTorch's too) compares ``vᵀ J u`` for
    random ``u`` and ``v``: one backward and two forward passes per input.

    Example:
        >>> import minijit
        >>> x = minijit.rand(3, dtype=minijit.float64, requires_grad=True)
        >>> gradcheck(minijit.tanh, (x,))
        True
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    variables = _tensors(inputs, True)
    for t in variables:
        if t.dtype.name != "float64":
            import warnings
            warnings.warn(f"Input #{variables.index(t)} requires gradient and is not a double "
                          "precision floating point. This check will likely fail if all the "
                          "inputs are not of double precision floating point. ", UserWarning)
    if fast_mode:
        return _fast_check(func, inputs, variables, eps, atol, rtol, raise_exception)
    return _slow_check(func, inputs, variables, eps, atol, rtol, raise_exception)


def _perturbed(func: Callable, inputs: Sequence[Any], t: Any, index: Any, delta: float) -> List:
    # (Grad mode stays on: for gradgradcheck, ``func`` itself differentiates.)
    original = t._data[index].copy()
    try:
        t._data[index] = original + delta
        return [_host(o).copy() for o in _outputs(func, inputs)]
    finally:
        t._data[index] = original


def _slow_check(func, inputs, variables, eps, atol, rtol, raise_exception) -> bool:
    from . import grad as autograd_grad
    from ..ops.creation import zeros_like
    outputs = _outputs(func, inputs)
    for out_index, out in enumerate(outputs):
        n_out = out.numel()
        analytical = [np.zeros((t.numel(), n_out)) for t in variables]
        for j in range(n_out):
            seed = zeros_like(out)
            seed._data.reshape(-1)[j] = 1
            outs = _outputs(func, inputs)
            grads = autograd_grad(outs[out_index], variables, seed, allow_unused=True)
            for k, g in enumerate(grads):
                if g is not None:
                    var = variables[k]
                    if tuple(g.shape) != tuple(var.shape) or g.dtype is not var.dtype:
                        return _fail(f"Gradient for input {k} has shape {tuple(g.shape)} and dtype "
                                     f"{g.dtype}, expected {tuple(variables[k].shape)} and "
                                     f"{variables[k].dtype}", raise_exception)
                    analytical[k][:, j] = _host(g).reshape(-1)
        for k, t in enumerate(variables):
            numerical = np.zeros((t.numel(), n_out))
            for i in range(t.numel()):
                index = np.unravel_index(i, t.shape) if t.ndim else ()
                plus = _perturbed(func, inputs, t, index, eps)[out_index]
                minus = _perturbed(func, inputs, t, index, -eps)[out_index]
                numerical[i] = ((plus - minus) / (2 * eps)).reshape(-1)
            if not np.allclose(analytical[k], numerical, atol=atol, rtol=rtol, equal_nan=True):
                return _fail(f"Jacobian mismatch for output {out_index} with respect to input "
                             f"{k},\nnumerical:{numerical}\nanalytical:{analytical[k]}\n",
                             raise_exception)
    return True


def _fast_check(func, inputs, variables, eps, atol, rtol, raise_exception) -> bool:
    from . import grad as autograd_grad
    from ..ops.creation import tensor
    rng = np.random.default_rng(0)
    outputs = _outputs(func, inputs)
    if not outputs:
        return True
    vs = [rng.standard_normal(tuple(o.shape)) for o in outputs]
    seeds = [tensor(v, dtype=o.dtype) for v, o in zip(vs, outputs)]
    grads = autograd_grad(outputs, variables, seeds, allow_unused=True)
    for k, t in enumerate(variables):
        u = rng.standard_normal(tuple(t.shape))
        g = grads[k]
        if g is not None and (tuple(g.shape) != tuple(t.shape) or g.dtype is not t.dtype):
            return _fail(f"Gradient for input {k} has shape {tuple(g.shape)} and dtype {g.dtype},"
                         f" expected {tuple(t.shape)} and {t.dtype}", raise_exception)
        analytical = float((_host(g) * u).sum()) if g is not None else 0.0
        original = t._data.copy()
        try:
            t._data[...] = original + eps * u
            plus = _project(func, inputs, vs)
            t._data[...] = original - eps * u
            minus = _project(func, inputs, vs)
        finally:
            t._data[...] = original
        numerical = (plus - minus) / (2 * eps)
        if not np.isclose(analytical, numerical, atol=atol, rtol=rtol, equal_nan=True):
            return _fail(f"Jacobian mismatch for input {k} (fast mode): vᵀJu is {analytical} "
                         f"analytically and {numerical} numerically", raise_exception)
    return True


def _project(func: Callable, inputs: Sequence[Any], vs: Sequence[np.ndarray]) -> float:
    outs = _outputs(func, inputs)
    return float(sum((_host(o) * v).sum() for o, v in zip(outs, vs)))


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Any = None, **kwargs: Any) -> bool:
    """Check second derivatives: gradcheck of ``inputs ↦ d(func)/d(inputs) · v``."""
    from . import grad as autograd_grad
    from ..ops.creation import tensor
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    variables = _tensors(inputs, True)
    rng = np.random.default_rng(1)
    outputs = _outputs(func, inputs)
    vs = grad_outputs if grad_outputs is not None else [
        tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, requires_grad=True)
        for o in outputs]

    def first_derivative(*args: Any) -> Any:
        outs = _outputs(func, args)
        grads = autograd_grad(outs, _tensors(args, True), list(vs), create_graph=True,
                              allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, inputs, **kwargs) and bool(variables)
