"""A pytest plugin that writes each check's outcome, in plain words, to a JSON file.

The runner loads it with ``-p minijit.exercises._pytest_plugin`` and names the file in
``MINIJIT_EXERCISE_REPORT``.  For every test it records the check's description (the first
line of the test's docstring), whether it passed, and for a failure a short explanation made
from the exception (:func:`explain`): the assertion's own message, or "not written yet" for a
``NotImplementedError`` raised by the student's file, or the error and the line of the
student's file it came from.  Errors while importing the file (a typo, a syntax error) are
recorded the same way.
"""
from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from .loader import ENV_FILE, REPORT_ENV

_RESULTS: List[Dict[str, Any]] = []


def _student_file() -> Optional[str]:
    chosen = os.environ.get(ENV_FILE)
    return str(Path(chosen).resolve()) if chosen else None


def _student_frames(exc: BaseException) -> List[traceback.FrameSummary]:
    student = _student_file()
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if student and str(Path(f.filename).resolve()) == student]


def _assertion_text(exc: BaseException) -> str:
    """The message of ``assert cond, "message"`` without pytest's rewritten explanation."""
    text = str(exc).strip()
    if not text:
        return "an assertion failed"
    message = text.split("\nassert ", 1)[0].strip()
    if message.startswith("assert "):      # no message given: keep pytest's first line only
        message = "this assertion failed: " + message.splitlines()[0]
    return message


def explain(exc: BaseException) -> str:
    """A few plain lines saying what went wrong.

    Example:
        >>> explain(AssertionError("the constant %1 is never used"))
        'the constant %1 is never used'
        >>> explain(KeyError("x"))
        "KeyError: 'x'"
    """
    frames = _student_frames(exc)
    where = ""
    if frames:
        last = frames[-1]
        where = f" (your `{last.name}`, line {last.lineno})"
    if isinstance(exc, NotImplementedError):
        func = frames[-1].name if frames else "a function"
        line = f", line {frames[-1].lineno}" if frames else ""
        return f"not written yet: `{func}` still raises NotImplementedError{line}"
    if isinstance(exc, AssertionError):
        return _assertion_text(exc)
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    kind = type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f"your file does not compile: {exc.msg} (line {exc.lineno})"
    return f"{kind}: {first}{where}" if first else f"{kind}{where}"


def _description(item: Any) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    name = item.name.split("[")[0]
    if doc and doc.strip():
        text = doc.strip().splitlines()[0].rstrip(".")
    else:
        text = name[len("test_"):].replace("_", " ") if name.startswith("test_") else name
    callspec = getattr(item, "callspec", None)
    return f"{text} [{callspec.id}]" if callspec is not None else text


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and not report.passed):
        entry: Dict[str, Any] = {"check": _description(item), "id": item.nodeid,
                                 "outcome": report.outcome}
        if report.failed and call.excinfo is not None:
            entry["why"] = explain(call.excinfo.value)
        elif report.skipped:
            entry["why"] = str(getattr(report, "longrepr", ("", "", ""))[-1])
        _RESULTS.append(entry)


_COLLECTION_ERRORS: Dict[str, str] = {}


def pytest_exception_interact(node: Any, call: Any, report: Any) -> None:
    """Collection errors (the student's file does not import) reach us here with the
    exception itself; test failures are handled by the report hook above."""
    if report.when == "collect" and call.excinfo is not None:
        exc = call.excinfo.value
        while type(exc).__name__ == "CollectError" and exc.__cause__ is not None:
            exc = exc.__cause__           # pytest wraps import errors; show the real one
        _COLLECTION_ERRORS[report.nodeid] = explain(exc)


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        why = _COLLECTION_ERRORS.get(report.nodeid)
        if why is None:
            # The last line of a collection error is "E   SomeError: message".
            text = str(report.longrepr).strip().splitlines()
            why = next((line[1:].strip() for line in reversed(text) if line.startswith("E ")),
                       text[-1] if text else "")
        _RESULTS.append({"check": "your file can be imported", "id": report.nodeid,
                         "outcome": "failed", "why": why, "collection": True})


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get(REPORT_ENV)
    if path:
        Path(path).write_text(json.dumps(_RESULTS, indent=1), encoding="utf-8")
