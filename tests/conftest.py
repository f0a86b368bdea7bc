"""Shared pytest configuration: markers and the automatic skips that go with them.

* ``conformance``: compares minijit with PyTorch; skipped when ``torch`` is not installed.
* ``slow``: long fuzz/property tests; deselect with ``-m "not slow"``.
* ``gpu``: needs CuPy and a CUDA device; skipped when either is missing.
"""
from __future__ import annotations

import importlib.util

import pytest

_MARKERS = {
    "conformance": "compares minijit with PyTorch (skipped when torch is not installed)",
    "slow": "long fuzz/property tests (skip with -m \"not slow\")",
    "gpu": "needs CuPy and a CUDA device (skipped otherwise)",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, text in _MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def _have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def _have_gpu() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        from minijit.backends import cuda_is_available
        return cuda_is_available()
    except Exception:  # noqa: BLE001 - any failure means "no usable GPU"
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    checks = {"conformance": (_have_torch, "needs torch (pip install minijit[conformance])"),
              "gpu": (_have_gpu, "needs CuPy and a CUDA device")}
    available = {}
    for item in items:
        for name, (check, reason) in checks.items():
            if name in item.keywords:
                if name not in available:
                    available[name] = check()
                if not available[name]:
                    item.add_marker(pytest.mark.skip(reason=reason))
