"""Saving and loading TorchScript archives (DESIGN §8).

* :func:`save` (:mod:`.saver`) writes a script module as PyTorch's zip layout: class files
  printed by the ``.code`` printer, ``data.pkl`` written by :mod:`.pickler`, raw storages.
* :func:`load` (:mod:`.loader`) reads one back through :mod:`.archive` (a validated in-memory
  zip), :mod:`.unpickler` (a pickle-opcode reader of our own with a fixed table of globals and
  caps on everything) and :mod:`.code_loader` (class files compiled back into IR).

Nothing an archive says is ever executed as Python: no ``pickle``, ``eval``, ``exec`` or
import of a name read from the file.
"""
from typing import Any

from .errors import SerializationError
from .limits import DEFAULT_LIMITS, Limits
from .saver import save

__all__ = ["save", "load", "SerializationError", "Limits", "DEFAULT_LIMITS"]


def load(f: Any, map_location: Any = None, _extra_files: Any = None, *,
         _limits: Any = None) -> Any:
    """Load a TorchScript archive; see :func:`minijit.jit.serialization.loader.load`."""
    from .loader import load as _load
    return _load(f, map_location=map_location, _extra_files=_extra_files, _limits=_limits)
