"""``@minijit.jit.ignore``, ``@unused``, ``@export`` and ``minijit.jit.annotate``.

Decorators only mark a function (an attribute on it); the scripter reads the marks:

* ``export``: compile this module method even though ``forward`` does not call it;
* ``ignore``: leave it in Python; scripted code calls back into it (``prim::PythonOp``),
  which works as long as the compiled code runs in this Python process;
* ``unused``: replace the body by ``raise RuntimeError("Cannot call @unused methods")``.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar

__all__ = ["export", "ignore", "unused", "annotate", "is_ignored", "is_unused", "is_exported"]

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "_minijit_modifier"


def export(fn: F) -> F:
    """Compile this method when its module is scripted, as an extra entry point."""
    setattr(fn, _MARK, "export")
    return fn


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """Leave a function in Python; usable as ``@ignore`` or ``@ignore(drop=True)``."""
    if callable(drop):
        setattr(drop, _MARK, "ignore")
        return drop

    def decorator(fn: F) -> F:
        setattr(fn, _MARK, "unused" if drop else "ignore")
        return fn
    return decorator


def unused(fn: F) -> F:
    """Do not compile this method; calling it from scripted code raises."""
    setattr(fn, _MARK, "unused")
    return fn


def _modifier(fn: Any) -> Optional[str]:
    fn = getattr(fn, "__func__", fn)
    return getattr(fn, _MARK, None)


def is_ignored(fn: Any) -> bool:
    return _modifier(fn) == "ignore"


def is_unused(fn: Any) -> bool:
    return _modifier(fn) == "unused"


def is_exported(fn: Any) -> bool:
    return _modifier(fn) == "export"


def annotate(the_type: Any, the_value: Any) -> Any:
    """In Python, return the value; in scripted code, give it ``the_type`` (``[]`` as
    ``List[int]``).  The scripter reads the type from the source text."""
    return the_value


annotate._minijit_special_form = "prim::annotate"  # type: ignore[attr-defined]
