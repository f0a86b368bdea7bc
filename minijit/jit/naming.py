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


def _python_name(obj: Any) -> str:
    """The name TorchScript takes: ``__name__``, not ``__qualname__`` (a class defined in a
    function is ``__torch__.module.C``; two such classes of one name are told apart by
    mangling), and ``_lambda`` for a lambda, whose ``<lambda>`` is no identifier."""
    name = getattr(obj, "__name__", None) or "fn"
    return "_lambda" if name == "<lambda>" else name


def qualified_class_name(cls: type) -> str:
    path = python_module_path(getattr(cls, "__module__", "__main__") or "__main__")
    return ".".join(["__torch__"] + ([path] if path else []) + [_python_name(cls)])


def qualified_function_name(fn: Any) -> str:
    path = python_module_path(getattr(fn, "__module__", "__main__") or "__main__")
    return ".".join(["__torch__"] + ([path] if path else []) + [_python_name(fn)])
