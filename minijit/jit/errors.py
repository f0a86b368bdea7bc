"""Errors raised by compiled code (``prim::RaiseException``)."""
from __future__ import annotations

from typing import Optional


class JitScriptError(RuntimeError):
    """An exception raised inside TorchScript code (``torch.jit.Error`` in PyTorch).

    The text is TorchScript's: a header, the raising statement with carets when its source is
    known (``traceback``, made by the interpreter), then ``<class>: <message>`` where the class
    is the raised one's qualified name (``builtins.ValueError``) or ``RuntimeError``.
    """

    def __init__(self, message: str, qualified_name: Optional[str] = None,
                 traceback: Optional[str] = None):
        text = "The following operation failed in the TorchScript interpreter.\n"
        if traceback:
            text += "Traceback of TorchScript (most recent call last):\n" + traceback
        text += f"{qualified_name or 'RuntimeError'}: {message}"
        if traceback:
            text += "\n"
        super().__init__(text)
        self.qualified_name = qualified_name
        self.message = message


Error = JitScriptError
