"""Compiling archive code with the scripter's frontend (placeholder until its hooks exist)."""
from __future__ import annotations

from typing import Any

from .errors import SerializationError


class ScripterCompiler:
    """Compiles one method of a class file into a Graph through the scripter."""

    def __init__(self, loader: Any):
        self.loader = loader

    def compile_method(self, decl: Any, method: Any) -> Any:
        raise SerializationError(method.path, "compiling archive code needs the scripter's "
                                 "frontend, which is not available yet")
