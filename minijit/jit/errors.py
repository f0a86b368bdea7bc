"""Errors raised by compiled code (``prim::RaiseException``)."""
from __future__ import annotations

from typing import Optional


class JitScriptError(RuntimeError):
    """An exception raised inside TorchScript code (``torch.jit.Error`` in PyTorch)."""

    def __init__(self, message: str, qualified_name: Optional[str] = None):
        super().__init__(f"The following operation failed in the TorchScript interpreter.\n"
                         f"RuntimeError: {message}" if qualified_name is None else
                         f"The following operation failed in the TorchScript interpreter.\n"
                         f"{qualified_name.split('.')[-1]}: {message}")
        self.qualified_name = qualified_name


Error = JitScriptError
