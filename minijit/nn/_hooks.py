"""``RemovableHandle``: what ``register_forward_hook`` and friends return.

A handle remembers which ordered dicts hold its hook under its id, so ``handle.remove()`` (or
leaving a ``with handle:`` block) unregisters it.  Ids come from one global counter, so hooks
run in registration order (PyTorch's ``torch.utils.hooks.RemovableHandle``).
"""
from __future__ import annotations

import itertools
import weakref
from typing import Any, Dict, Tuple

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """A handle that removes a hook from its dictionaries when asked.

    Args:
        hooks_dict: the dict the hook is stored in (held weakly, like PyTorch).
        extra_dict: more dicts keyed by the same id (the ``with_kwargs`` flags).
    """

    _ids = itertools.count()

    def __init__(self, hooks_dict: Dict[int, Any], *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(RemovableHandle._ids)
        extras = extra_dict if isinstance(extra_dict, (list, tuple)) else \
            ([extra_dict] if extra_dict is not None else [])
        self.extra_dict_ref: Tuple[Any, ...] = tuple(weakref.ref(d) for d in extras)

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref,) + self.extra_dict_ref:
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()
