"""Array backends: ``cpu`` runs on NumPy, ``cuda`` on CuPy (optional).

An op's ``impl(xp, ...)`` is written once against the array module ``xp``; the dispatcher
passes the module that owns the arrays.  CuPy is imported only when a CUDA tensor is made, so
``import minijit`` works on machines without it.
"""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

__all__ = ["device", "array_module", "device_of_array", "to_device", "plan_for_device"]

_cupy: Any = None


def _load_cupy():
    global _cupy
    if _cupy is None:
        try:
            import cupy  # type: ignore
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise RuntimeError("Torch not compiled with CUDA enabled: minijit needs CuPy for "
                               "'cuda' tensors (pip install minijit[gpu])") from exc
        _cupy = cupy
    return _cupy


def cuda_is_available() -> bool:
    try:
        cupy = _load_cupy()
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - any failure means "no usable GPU"
        return False


class device:  # noqa: N801 - torch spells it in lower case
    """A device: ``device('cpu')``, ``device('cuda', 0)``, ``device('cuda:0')``."""

    __slots__ = ("type", "index")

    def __init__(self, type: Union[str, "device"], index: Optional[int] = None):  # noqa: A002
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if ":" in type:
            type, _, idx = type.partition(":")
            index = int(idx)
        if type not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {type}")
        self.type = type
        self.index = index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def array_module(array: Any):
    """NumPy for NumPy arrays, CuPy for CuPy arrays."""
    if type(array) is np.ndarray:
        return np
    return _load_cupy()


def device_of_array(array: Any) -> device:
    if isinstance(array, np.ndarray):
        return CPU
    return device("cuda", int(array.device.id))


def to_device(array: Any, target: device) -> Any:
    """Move an array to ``target`` (a copy only when it changes device)."""
    if target.type == "cpu":
        return array if isinstance(array, np.ndarray) else array.get()
    cupy = _load_cupy()
    with cupy.cuda.Device(target.index or 0):
        return cupy.asarray(array)


def on_gpu(args: Any) -> bool:
    """Whether a call's arguments (tensors, modules' parameters, lists of them) live on a GPU;
    False at once when CuPy was never loaded."""
    if _cupy is None:
        return False
    from .cupy_backend import arguments_on_cuda
    return arguments_on_cuda(args)


def plan_for_device(plan: Any, args: Any, options: Any) -> Any:
    """The executor's device hook: ``plan`` unchanged for CPU arguments; for arguments on a GPU,
    the same optimised graph made to run there (``cupy_backend.cuda_plan``: Tensors dispatched
    to CuPy, one generated CUDA kernel per fusion group, CUDA graphs if
    ``options.cuda_graphs``).  Costs one type check per argument when no GPU was ever used."""
    if _cupy is None:
        return plan
    from .cupy_backend import plan_for_arguments
    return plan_for_arguments(plan, args, options)
