"""TorchScript's qualified names for Python classes and functions.

PyTorch names a class ``__torch__.<module path>.<class>``, with ``__main__`` dropped; minijit
maps its own package name to ``torch`` so that ``minijit.nn.Linear`` prints exactly as
``torch.nn.Linear`` does (``__torch__.torch.nn.modules.linear.Linear``) and archives
interoperate.
"""
from __future__ import annotations

from typing import Any


def python_module_path(module_name: str) -> str:
    if module_name in ("__main__", "builtins", ""):
        return ""
    if module_name == "minijit" or module_name.startswith("minijit."):
        return "torch" + module_name[len("minijit"):]
    return module_name


def qualified_class_name(cls: type) -> str:
    path = python_module_path(getattr(cls, "__module__", "__main__") or "__main__")
    parts = ["__torch__"] + ([path] if path else []) + [cls.__qualname__.replace(".<locals>", "")]
    return ".".join(parts)


def qualified_function_name(fn: Any) -> str:
    path = python_module_path(getattr(fn, "__module__", "__main__") or "__main__")
    name = getattr(fn, "__qualname__", getattr(fn, "__name__", "fn")).replace(".<locals>", "")
    return ".".join(["__torch__"] + ([path] if path else []) + [name])
