"""``python -m minijit``: command-line tools (the code lives in :mod:`minijit.cli`).

* ``python -m minijit inspect model.pt``: what an archive holds, without running it;
* ``python -m minijit graph model.pt -o g.svg``: draw its forward graph;
* ``python -m minijit bench [--quick]``: run the benchmarks, write results and plots;
* ``python -m minijit tutorial [N]``: list the tutorials, or run tutorial N;
* ``python -m minijit exercises list`` / ``check N``: the exercises and their checkers.
"""
from __future__ import annotations

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
