"""Grad mode: whether ops record autograd history (``no_grad``, ``enable_grad``, ...)."""
from __future__ import annotations

import functools
from typing import Any, Callable

__all__ = ["is_grad_enabled", "set_grad_enabled", "no_grad", "enable_grad", "inference_mode"]


class _GradMode:
    """One flag, read by the dispatcher before every op (a module global read is cheapest)."""

    enabled = True


GRAD_MODE = _GradMode()


def is_grad_enabled() -> bool:
    return GRAD_MODE.enabled


class _DecoratorContextManager:
    """A context manager that also works as a decorator, like torch's grad-mode classes."""

    mode = True

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper

    def __enter__(self) -> None:
        self.prev = GRAD_MODE.enabled
        GRAD_MODE.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        GRAD_MODE.enabled = self.prev


class no_grad(_DecoratorContextManager):  # noqa: N801
    """Ops inside record no history: for evaluation and optimiser steps."""

    mode = False


class enable_grad(_DecoratorContextManager):  # noqa: N801
    """Turn recording back on inside a ``no_grad`` region."""

    mode = True


class inference_mode(no_grad):  # noqa: N801
    """minijit treats inference mode as ``no_grad``."""

    def __init__(self, mode: bool = True):
        self.mode = not mode


class set_grad_enabled:  # noqa: N801
    """``set_grad_enabled(False)`` works as a call, a context manager and a decorator."""

    def __init__(self, mode: bool):
        self.prev = GRAD_MODE.enabled
        self.mode = bool(mode)
        GRAD_MODE.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        GRAD_MODE.enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        GRAD_MODE.enabled = self.prev
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper
