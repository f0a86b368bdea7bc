"""``minijit.cuda``: what ``torch.cuda`` answers, for the CuPy backend.

Example:
    >>> import minijit
    >>> isinstance(minijit.cuda.is_available(), bool)
    True
"""
from __future__ import annotations

from typing import Any

from .backends import _load_cupy, cuda_is_available

__all__ = ["is_available", "device_count", "current_device", "synchronize", "get_device_name",
           "manual_seed", "manual_seed_all"]


def is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return cuda_is_available()


def device_count() -> int:
    if not cuda_is_available():
        return 0
    return int(_load_cupy().cuda.runtime.getDeviceCount())


def current_device() -> int:
    return int(_load_cupy().cuda.Device().id)


def synchronize(device: Any = None) -> None:
    """Wait until all queued work on the GPU has finished (timings need it)."""
    cupy = _load_cupy()
    with cupy.cuda.Device(0 if device is None else int(str(device).split(":")[-1])):
        cupy.cuda.Device().synchronize()


def get_device_name(device: Any = None) -> str:
    cupy = _load_cupy()
    index = 0 if device is None else int(str(device).split(":")[-1])
    props = cupy.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def manual_seed(seed: int) -> None:
    """Seed the generator that CUDA tensors draw from.

    minijit draws random numbers for every device on its CPU generator (PyTorch's CPU
    MT19937 stream) and copies them to the GPU, so this is ``minijit.manual_seed``.  PyTorch's
    CUDA generator is a Philox stream: the same seed gives other numbers on a PyTorch GPU.
    """
    from . import manual_seed as _seed
    _seed(seed)


manual_seed_all = manual_seed
