"""The exercises: every checker fails on its untouched stub and passes on the reference solution.

All checker runs (a stub and a solution per exercise) start at once, each in its own Python
process, through the same runner that ``python -m minijit exercises check N`` uses; one
module-scoped fixture collects the results for the tests below.  The solutions' ``__main__``
demonstrations run too.
"""
from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Tuple

import pytest

import minijit.exercises as exercises_pkg
from minijit.exercises import EXERCISES, get
from minijit.exercises.runner import CheckResult, format_list, format_result, run_check

ROOT = Path(__file__).resolve().parents[1]
NUMBERS = [ex.number for ex in EXERCISES]


def _demo(path: Path) -> Tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    env.pop("MINIJIT_JIT", None)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=120, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def results() -> Dict[Tuple[int, str], object]:
    jobs = {}
    with ThreadPoolExecutor(max_workers=6) as pool:
        for ex in EXERCISES:
            jobs[(ex.number, "stub")] = pool.submit(run_check, ex, timeout=120)
            jobs[(ex.number, "solution")] = pool.submit(run_check, ex, solution=True,
                                                        timeout=120)
            jobs[(ex.number, "demo")] = pool.submit(_demo, ex.solution_file)
        return {key: job.result() for key, job in jobs.items()}


def test_at_least_eight_exercises_numbered_in_order():
    assert len(EXERCISES) >= 8
    assert NUMBERS == list(range(1, len(EXERCISES) + 1))
    with pytest.raises(KeyError, match="there is no exercise 99"):
        get(99)


@pytest.mark.parametrize("number", NUMBERS)
def test_files_exist_and_stub_reads_like_an_exercise(number):
    ex = get(number)
    for path in (ex.stub_file, ex.checker_file, ex.solution_file):
        assert path.exists(), f"missing {path}"
    text = ex.stub_file.read_text(encoding="utf-8")
    assert text.startswith('"""\n'), "the stub starts with its docstring"
    title, underline = text.splitlines()[1:3]
    assert title.startswith(f"Exercise {number}: ") and set(underline) == {"="}
    assert len(underline) >= len(title), "RST title underline"
    for section in ("What to build", "Hints", f"python -m minijit exercises check {number}"):
        assert section in text, f"the stub's docstring should have {section!r}"
    assert "raise NotImplementedError" in text
    solution = ex.solution_file.read_text(encoding="utf-8")
    assert "raise NotImplementedError" not in solution


@pytest.mark.parametrize("number", NUMBERS)
def test_checker_fails_on_the_stub(results, number):
    result: CheckResult = results[(number, "stub")]
    assert result.returncode != 0 and not result.all_passed
    assert len(result.checks) >= 5, f"exercise {number} has only {len(result.checks)} checks"
    passing = [c["check"] for c in result.checks if c["outcome"] != "failed"]
    assert not passing, f"these checks pass on the untouched stub: {passing}"
    # Failures come from the missing code (NotImplementedError, or an assertion about an
    # unfilled constant), never from an unexpected error: the stub imports, the checker works.
    crashes = [c for c in result.checks if re.match(r"\w+(Error|Exception)\b", c.get("why", ""))]
    assert not crashes, f"checks that crashed instead of failing: {crashes}"
    assert any(c.get("why", "").startswith("not written yet") for c in result.checks)


@pytest.mark.parametrize("number", NUMBERS)
def test_checker_passes_on_the_solution(results, number):
    result: CheckResult = results[(number, "solution")]
    assert result.all_passed, format_result(result, verbose=True)


@pytest.mark.parametrize("number", NUMBERS)
def test_solution_demo_runs(results, number):
    code, output = results[(number, "demo")]
    assert code == 0, output[-2000:]
    assert output.strip()


def test_report_is_plain_words(results):
    text = format_result(results[(3, "stub")])
    assert "Traceback" not in text and "_pytest" not in text
    assert "  FAIL  removes a node whose output is unused, and the constant nobody reads" in text
    assert "not written yet: `eliminate_dead_code` still raises NotImplementedError" in text
    assert "(the same reason)" in text
    assert text.rstrip().endswith("(add -v for the full tracebacks).")
    assert "0 of 15 checks pass." in text
    done = format_result(results[(3, "solution")])
    assert "All 15 checks pass." in done and "03_dead_code.py" in done


def test_half_done_work_is_explained(tmp_path):
    """A wrong answer gets the checker's own message, naming what is wrong."""
    ex = get(3)
    text = ex.solution_file.read_text(encoding="utf-8")
    broken = text.replace("    return op is not None and Tag.INPLACE in op.tags",
                          "    return False")
    assert broken != text
    path = tmp_path / "mine.py"
    path.write_text(broken, encoding="utf-8")
    result = run_check(ex, path)
    assert not result.all_passed and result.passed > 0
    report = format_result(result)
    assert "aten::add_ writes into its first input: it is tagged Tag.INPLACE" in report


def test_missing_file_and_list(tmp_path):
    result = run_check(get(1), tmp_path / "nowhere.py")
    assert result.returncode == -2 and "there is no file at" in format_result(result)
    listing = format_list()
    for ex in EXERCISES:
        assert f"{ex.number:>2}  {ex.title}" in listing


def test_docstring_examples():
    from minijit.exercises import _pytest_plugin, runner
    for module in (exercises_pkg, runner, _pytest_plugin):
        assert doctest.testmod(module).failed == 0
