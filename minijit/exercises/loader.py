"""How a checker finds the file it checks: the student's stub, another copy, or the solution.

The runner (:mod:`.runner`) sets ``MINIJIT_EXERCISE_FILE`` to the file to check; without it
(``pytest minijit/exercises/checkers/check_03_dead_code.py`` by hand) checkers read the stub
in ``tutorials/exercises/``.  The file is imported by path, under a module name of its own, so
a stub and a solution never meet in ``sys.modules``.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from . import get

__all__ = ["ENV_FILE", "REPORT_ENV", "exercise_file", "load_exercise"]

ENV_FILE = "MINIJIT_EXERCISE_FILE"
REPORT_ENV = "MINIJIT_EXERCISE_REPORT"     # where the pytest plugin writes its JSON report


def exercise_file(number: int) -> Path:
    """The file the checker of exercise ``number`` should test."""
    chosen = os.environ.get(ENV_FILE)
    return Path(chosen).resolve() if chosen else get(number).stub_file


def load_exercise(number: int) -> ModuleType:
    """Import the file to check (once per process) and return it as a module."""
    path = exercise_file(number)
    name = f"minijit_exercise_{number:02d}_under_check"
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__file__", None) == str(path):
        return module
    if not path.exists():
        raise FileNotFoundError(f"no file to check at {path}")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
