"""``python -m minijit exercises list`` and ``python -m minijit exercises check N``.

``check`` runs exercise N's checker on your file (``tutorials/exercises/NN_*.py``, or the file
given with ``--file``) and reports, one line per check, what passes and, in plain words, what
is still wrong.  ``-v`` adds pytest's own report with tracebacks; ``--solution`` checks the
reference solution instead (what the test suite does).  The exit code is 0 when every check
passes.  The work is done by :mod:`minijit.exercises.runner`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser"]


def add_parser(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("exercises", help="list the exercises, or check your answer to one",
                       description=__doc__.splitlines()[0])
    inner = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = inner.add_parser("list", help="list the exercises")
    listing.set_defaults(run=_list)
    check = inner.add_parser("check", help="run exercise N's checker and say what is left")
    check.add_argument("number", type=int, help="the exercise number (see `exercises list`)")
    which = check.add_mutually_exclusive_group()
    which.add_argument("--file", type=Path, help="check this file instead of the stub in "
                                                 "tutorials/exercises/")
    which.add_argument("--solution", action="store_true", help="check the reference solution")
    check.add_argument("-v", "--verbose", action="store_true",
                       help="also show pytest's report with tracebacks")
    check.add_argument("--timeout", type=float, default=300.0,
                       help="seconds before the checks are stopped (default 300)")
    check.set_defaults(run=_check)


def _list(args: argparse.Namespace) -> int:
    from ..exercises.runner import format_list
    sys.stdout.write(format_list())
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..exercises import get
    from ..exercises.runner import format_result, run_check
    try:
        exercise = get(args.number)
    except KeyError as exc:
        print(f"minijit exercises: {exc.args[0]}", file=sys.stderr)
        return 2
    print(f"Running the checks of exercise {exercise.number}...", flush=True)
    result = run_check(exercise, args.file, solution=args.solution, verbose=args.verbose,
                       timeout=args.timeout)
    sys.stdout.write(format_result(result, args.verbose))
    return 0 if result.all_passed else 1
