"""``python -m minijit.exercises list`` / ``check N``, as ``python -m minijit exercises``."""
from __future__ import annotations

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["exercises"] + sys.argv[1:]))
