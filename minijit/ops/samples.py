"""Sample inputs for the table-driven op tests (DESIGN §10.8: "Tests are tables").

Every :class:`~minijit.ops.registry.OpInfo` has ``sample_inputs(make)``: a function returning a
list of ``(args, kwargs)`` calls.  ``make`` is the tensor factory defined here; the op tests, the
tracer tests, the fuser tests and the serializer tests all build their inputs with it, so a new
op is tested everywhere by writing its samples once.

Example:
    >>> from minijit.ops import registry
    >>> from minijit.ops.samples import sample_maker
    >>> make = sample_maker(seed=0)
    >>> args, kwargs = registry.get("tanh").sample_inputs(make)[0]
    >>> args[0].shape
    torch.Size([3, 4])
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .. import dtypes as _dt

__all__ = ["sample_maker", "iter_samples", "map_tensors", "Sample", "no_gradcheck"]


class Sample(tuple):
    """An ``(args, kwargs)`` pair with flags for the tests; plain tuples get the defaults.

    ``gradcheck = False`` marks a sample where finite differences cannot confirm the
    gradient although it is right: a non-differentiable point (ties of ``max``) where
    autograd returns PyTorch's choice of subgradient, a nan/inf result, a float32 step inside
    a float64 function, or a backward PyTorch itself refuses.  The conformance test still
    compares these gradients (or errors) with PyTorch's.
    """

    gradcheck = True


def no_gradcheck(args: tuple, kwargs: Optional[dict] = None) -> Sample:
    """A sample that finite differences cannot check (see :class:`Sample`)."""
    sample = Sample((tuple(args), dict(kwargs or {})))
    sample.gradcheck = False
    return sample


def sample_maker(seed: int = 0, device: Optional[str] = None) -> Callable:
    """A deterministic ``make(shape, low=-2, high=2, dtype=float32)`` tensor factory.

    Floating samples are uniform in ``[low, high)``; integral ones are the floor of such
    values (so ``make((3,), low=0, high=3.99, dtype=int64)`` gives valid indices); bool ones
    come from ``uniform > 0``.

    Args:
        seed: seed of the NumPy generator, so every run sees the same numbers.
        device: ``"cuda"`` moves the samples to the GPU; ``None`` keeps them on the CPU.
    Returns:
        The ``make`` function passed to ``OpInfo.sample_inputs``.
    """
    rng = np.random.default_rng(seed)

    def make(shape: Sequence[int] = (), low: float = -2.0, high: float = 2.0,
             dtype: Any = None) -> Any:
        from .._tensor import Tensor
        d = _dt.float32 if dtype is None else _dt.to_dtype(dtype)
        values = rng.uniform(low, high, size=tuple(shape))
        if d is _dt.bool_:
            array = np.asarray(values > 0)
        elif not d.is_floating_point:
            array = np.asarray(np.floor(values)).astype(d.np)
        else:
            array = np.asarray(values).astype(d.np)
        t = Tensor._from_array(array if array.flags.c_contiguous else array.copy())
        return t if device is None else t.to(device)

    return make


def iter_samples(op: Any, make: Callable) -> Iterator[Tuple[Tuple[Any, ...], dict]]:
    """The op's sample calls as ``(args, kwargs)``, args a tuple."""
    for args, kwargs in op.sample_inputs(make):
        yield tuple(args), dict(kwargs)


def map_tensors(value: Any, fn: Callable) -> Any:
    """Apply ``fn`` to every minijit Tensor inside nested lists/tuples/dicts of arguments."""
    from .._tensor import Tensor
    if isinstance(value, Tensor):
        return fn(value)
    if isinstance(value, list):
        return [map_tensors(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(map_tensors(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: map_tensors(v, fn) for k, v in value.items()}
    return value


def tensors_in(value: Any) -> List[Any]:
    """Every minijit Tensor inside nested arguments, in order."""
    found: List[Any] = []
    map_tensors(value, lambda t: found.append(t) or t)
    return found
