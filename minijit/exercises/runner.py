"""``python -m minijit exercises check N``: run exercise N's checker and say what is left.

The checker runs in a fresh Python process (``python -m pytest <checker>``), so a half-written
exercise cannot leave registered ops or patched classes behind, and a loop that never ends is
stopped after ``timeout`` seconds.  The pytest plugin :mod:`._pytest_plugin` writes every
check's outcome to a JSON file; :func:`format_result` turns it into a short plain-words report.

Example:
    ``run_check(get(3), solution=True)`` runs the checker of exercise 3 on its reference
    solution; :func:`format_result` prints what a run found:

    >>> from pathlib import Path
    >>> from minijit.exercises import get
    >>> found = CheckResult(get(3), Path("mine.py"), [
    ...     {"check": "removes dead nodes", "outcome": "passed"},
    ...     {"check": "keeps prints", "outcome": "failed", "why": "prim::Print must stay"}],
    ...     1, "")
    >>> print(format_result(found), end="")  # doctest: +ELLIPSIS
    Exercise 3: A dead-code-elimination pass
    checking mine.py
    <BLANKLINE>
      ok    removes dead nodes
      FAIL  keeps prints
              prim::Print must stay
    <BLANKLINE>
    1 of 2 checks pass.  Fix the first FAIL above, then run ... again (add -v for the full ...
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional

from . import EXERCISES, ROOT, Exercise
from .loader import ENV_FILE, REPORT_ENV

__all__ = ["CheckResult", "run_check", "format_result", "format_list"]


class CheckResult(NamedTuple):
    """What one run of a checker found."""

    exercise: Exercise
    file: Path
    checks: List[Dict[str, Any]]     # {"check", "outcome", "why"?} per test
    returncode: int                  # pytest's exit code (-1: timed out, -2: could not start)
    output: str                      # pytest's own report (shown with -v)

    @property
    def passed(self) -> int:
        return sum(c["outcome"] == "passed" for c in self.checks)

    @property
    def failed(self) -> int:
        return sum(c["outcome"] == "failed" for c in self.checks)

    @property
    def all_passed(self) -> bool:
        return self.returncode == 0 and bool(self.checks) and self.failed == 0


def _environment(file: Path, report: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env[ENV_FILE] = str(file)
    env[REPORT_ENV] = str(report)
    # The checker imports minijit; make this copy importable even without installing it.
    parts = [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.pop("MINIJIT_JIT", None)           # checkers need the JIT switched on
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"   # only the plugins we name: a faster start
    return env


def run_check(exercise: Exercise, file: Optional[Path] = None, *, solution: bool = False,
              verbose: bool = False, timeout: float = 300.0) -> CheckResult:
    """Run the checker of ``exercise`` on ``file`` (default: the stub, or the solution)."""
    target = Path(file) if file is not None else \
        (exercise.solution_file if solution else exercise.stub_file)
    target = target.resolve()
    if not target.exists():
        why = f"there is no file at {target}"
        if file is None and not solution:
            why += " (the stubs live in tutorials/exercises/ of a source checkout; pass --file)"
        return CheckResult(exercise, target, [{"check": "the file to check exists",
                                               "outcome": "failed", "why": why}], -2, "")
    try:
        import pytest  # noqa: F401
    except ImportError:
        why = "pytest is not installed: python -m pip install -e '.[test]'"
        return CheckResult(exercise, target, [{"check": "pytest is available",
                                               "outcome": "failed", "why": why}], -2, "")
    with tempfile.TemporaryDirectory(prefix="minijit_check_") as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "pytest", str(exercise.checker_file),
                   "-p", "minijit.exercises._pytest_plugin", "-p", "no:cacheprovider",
                   "--rootdir", folder, "-c", os.devnull,
                   "-v" if verbose else "-q", "--tb=short" if verbose else "--tb=no",
                   "--no-header"]
        try:
            done = subprocess.run(command, cwd=folder, env=_environment(target, report),
                                  capture_output=True, text=True, encoding="utf-8",
                                  errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout if isinstance(exc.stdout, str) else ""
            why = (f"the checker did not finish within {timeout:.0f} s: does your code loop "
                   "forever?")
            return CheckResult(exercise, target, [{"check": "the checks finish",
                                                   "outcome": "failed", "why": why}], -1, out)
        checks = json.loads(report.read_text(encoding="utf-8")) if report.exists() else []
        output = done.stdout + done.stderr
        if not checks and done.returncode != 0:
            lines = [line for line in output.strip().splitlines() if line.strip()]
            checks = [{"check": "the checker runs", "outcome": "failed",
                       "why": lines[-1] if lines else f"pytest exited with {done.returncode}"}]
        return CheckResult(exercise, target, checks, done.returncode, output)


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        try:
            return str(path.relative_to(ROOT))
        except ValueError:
            return str(path)


def format_result(result: CheckResult, verbose: bool = False) -> str:
    """The plain-words report: one line per check, why each failure failed, what to do next."""
    ex = result.exercise
    lines = [f"Exercise {ex.number}: {ex.title}", f"checking {_relative(result.file)}", ""]
    previous = None
    for check in result.checks:
        mark = {"passed": "  ok    ", "failed": "  FAIL  ", "skipped": "  skip  "}.get(
            check["outcome"], "  ?     ")
        lines.append(mark + check["check"])
        why = check.get("why")
        if why and check["outcome"] != "passed":
            if why == previous:
                lines.append("          (the same reason)")
            else:
                lines.extend("          " + line for line in str(why).splitlines()[:8])
            previous = why
    lines.append("")
    total = len(result.checks)
    if result.all_passed:
        lines.append(f"All {total} checks pass.  Well done!  Compare with the reference "
                     f"solution: {_relative(ex.solution_file)}")
    else:
        lines.append(f"{result.passed} of {total} checks pass.  Fix the first FAIL above, then "
                     f"run `python -m minijit exercises check {ex.number}` again"
                     f"{' (add -v for the full tracebacks)' if not verbose else ''}.")
    text = "\n".join(lines) + "\n"
    if verbose and result.output:
        text += "\n---- pytest's report ----\n" + result.output
    return text


def format_list() -> str:
    """The table that ``python -m minijit exercises list`` prints."""
    lines = ["The exercises (complete the file, then `python -m minijit exercises check N`):", ""]
    for ex in EXERCISES:
        lines.append(f"  {ex.number:>2}  {ex.title}")
        lines.append(f"      {_relative(ex.stub_file)}  ({ex.topic})")
    return "\n".join(lines) + "\n"
