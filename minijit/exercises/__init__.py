"""Exercises with checkers: write a piece of minijit yourself and let a test tell you what is left.

Each exercise has three files that share its number and name (``03_dead_code``):

* the stub you complete: ``tutorials/exercises/03_dead_code.py``.  Its docstring says what to
  build, in plain words, with hints; every place that needs your code raises
  ``NotImplementedError``;
* the checker: ``minijit/exercises/checkers/check_03_dead_code.py``, a pytest file that imports
  your file by path and tests what it does (not how it is written);
* a reference solution: ``minijit/exercises/solutions/03_dead_code.py``.  The test suite proves
  that every checker fails on the untouched stub and passes on the solution.

Run ``python -m minijit exercises list`` to see them and ``python -m minijit exercises check 3``
to check exercise 3 (``--solution`` checks the reference solution, ``--file`` another copy,
``-v`` adds pytest's own report).  ``python -m minijit.exercises check 3`` does the same.

Example:
    >>> from minijit.exercises import EXERCISES, get
    >>> len(EXERCISES) >= 8
    True
    >>> get(3).stem
    '03_dead_code'
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Tuple

__all__ = ["Exercise", "EXERCISES", "get", "PACKAGE_DIR", "STUB_DIR"]

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parents[1]
STUB_DIR = ROOT / "tutorials" / "exercises"


class Exercise(NamedTuple):
    """One exercise: its number, file name stem, title and what it teaches."""

    number: int
    name: str
    title: str
    topic: str

    @property
    def stem(self) -> str:
        return f"{self.number:02d}_{self.name}"

    @property
    def stub_file(self) -> Path:
        """The file the student completes (in a source checkout)."""
        return STUB_DIR / f"{self.stem}.py"

    @property
    def checker_file(self) -> Path:
        return PACKAGE_DIR / "checkers" / f"check_{self.stem}.py"

    @property
    def solution_file(self) -> Path:
        return PACKAGE_DIR / "solutions" / f"{self.stem}.py"


EXERCISES: Tuple[Exercise, ...] = (
    Exercise(1, "backward_rule", "A backward rule for a new op",
             "autograd: the registry's backward(ctx, grad), broadcasting, gradcheck"),
    Exercise(2, "fusible_op", "A new pointwise op that the fuser picks up",
             "the op registry, templates, prim::FusionGroup"),
    Exercise(3, "dead_code", "A dead-code-elimination pass",
             "IR graphs, uses, side effects, blocks"),
    Exercise(4, "constant_folding", "Constant folding",
             "running nodes at compile time, prim::Constant, constant if"),
    Exercise(5, "if_lowering", "Lowering `if` to prim::If in a small scripter",
             "ast, SSA, blocks and their outputs"),
    Exercise(6, "tracer_warning", "A TracerWarning for a tensor-to-Python conversion",
             "what tracing cannot see, warnings at the user's line"),
    Exercise(7, "kernel_template", "A fused-kernel generator from templates",
             "fusion subgraphs, numpy_template, generated code"),
    Exercise(8, "pickle_opcode", "A pickle opcode in a safe archive reader",
             "the pickle stack machine, MARK, refusing bad input"),
)


def get(number: int) -> Exercise:
    """The exercise numbered ``number`` (raises KeyError for an unknown one)."""
    for exercise in EXERCISES:
        if exercise.number == number:
            return exercise
    raise KeyError(f"there is no exercise {number}; there are {len(EXERCISES)} "
                   f"(1 to {EXERCISES[-1].number})")
