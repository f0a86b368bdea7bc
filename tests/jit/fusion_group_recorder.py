"""A pytest plugin that records every kernel the NumPy fusion generator makes.

``python -m pytest -p tests.jit.fusion_group_recorder tests/jit/test_fuse.py`` with
``MINIJIT_RECORD_GROUPS=<file>`` appends one JSON line per generated kernel: the fusion
subgraph's text, its input dtypes and which inputs are 0-dim.  ``test_cuda_kernel.py`` runs the
fusion suite this way and generates, then compiles, the CUDA kernel of every recorded group.
"""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np


def pytest_configure(config: Any) -> None:
    path = os.environ.get("MINIJIT_RECORD_GROUPS")
    if not path:
        return
    from minijit.jit.codegen import numpy_kernel
    from minijit.jit.runtime import kernel_cache
    original = numpy_kernel.generate_kernel

    def recording(info: Any, dtypes: Any, zero_dim: Any, patterns: Any = None,
                  name: str = "fused") -> Any:
        kernel = original(info, dtypes, zero_dim, patterns, name)   # failures are not kernels
        with open(path, "a") as f:
            f.write(json.dumps({"graph": str(info.graph),
                                "dtypes": [np.dtype(d).str for d in dtypes],
                                "zero": [bool(z) for z in zero_dim]}) + "\n")
        return kernel

    numpy_kernel.generate_kernel = recording
    kernel_cache.generate_kernel = recording
