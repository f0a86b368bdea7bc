"""Compile errors that point into the user's source, the way TorchScript prints them.

Every error the scripter raises carries a :class:`Span` (a range of characters in the source
of the function being compiled) and prints it with two lines of context and a caret line::

    undefined value undefined_function:
      File "e1_errors.py", line 62
    def unknown(x: torch.Tensor) -> torch.Tensor:
        return undefined_function(x)
               ~~~~~~~~~~~~~~~~~~ <--- HERE

Two families, as in PyTorch (reference §4.1):

* :class:`FrontendError` (and :class:`NotSupportedError`, :class:`UnsupportedNodeError`) for
  Python that the scripter cannot even read (``lambda``, ``try``, ``*args``).  The text starts
  with the message.
* :class:`CompilationError` (a ``RuntimeError``) for programs that read fine but do not type
  check.  Its text starts with a newline, and when the failing function was compiled because
  another one called it, the calls are listed (``'inner' is being compiled since it was called
  from 'outer'``) with the caller's line highlighted.

Note [Compile call stack]
    :data:`_CALLS` is the stack of functions being compiled.  Entering a function pushes
    ``[name, pending range]``; the emitter updates the pending range of the top entry at every
    statement and expression (:func:`update_pending_range`), so when a callee fails, each
    caller's entry holds the call that led to it.  An error snapshots the stack when it is
    created, as TorchScript's ``ErrorReport`` does.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from ..ir.node import SourceRange

__all__ = ["Source", "Span", "FrontendError", "NotSupportedError", "UnsupportedNodeError",
           "CompilationError", "error", "deferred_report", "compile_call",
           "update_pending_range"]

CONTEXT_LINES = 3   # TorchScript's SourceRange::CONTEXT: 2 lines of context on each side


class Source:
    """The text of one compiled function, with the file and line it starts at.

    ``text`` keeps the function's original indentation (a method starts with ``    def``), so
    carets line up with the file.  Offsets into ``text`` are what spans hold.
    """

    __slots__ = ("text", "filename", "starting_line", "_line_starts")

    def __init__(self, text: str, filename: Optional[str], starting_line: int):
        self.text = text
        self.filename = filename
        self.starting_line = starting_line
        starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                starts.append(i + 1)
        self._line_starts = starts

    def line_of(self, offset: int) -> int:
        """0-based line index of ``offset``."""
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def line_start(self, line: int) -> int:
        return self._line_starts[line]


class Span:
    """A character range ``[start, end)`` in a :class:`Source`."""

    __slots__ = ("source", "start", "end")

    def __init__(self, source: Source, start: int, end: int):
        self.source = source
        self.start = start
        self.end = end

    def merge(self, other: Optional["Span"]) -> "Span":
        """The smallest span covering both (TorchScript's ``Compound::create`` rule)."""
        if other is None:
            return self
        return Span(self.source, min(self.start, other.start), max(self.end, other.end))

    def file_line_col(self) -> Tuple[str, int, int]:
        """``(filename, 1-based line in the file, 0-based column)`` of the start."""
        line = self.source.line_of(self.start)
        col = self.start - self.source.line_start(line)
        return self.source.filename or "", line + self.source.starting_line, col

    def text(self) -> str:
        return self.source.text[self.start:self.end]

    def highlight(self, function_name: Optional[str] = None) -> str:
        """The ``File ..., line N`` header, context lines and ``~~~ <--- HERE`` carets.

        With ``function_name`` the header reads ``File ..., line N, in f``, as in the runtime
        traceback of an exception raised by compiled code.

        A port of ``SourceRange::print_with_context``: up to 2 lines of context on each side
        (clipped to the function's text); every highlighted line is followed by spaces up to
        the first highlighted non-blank column and a ``~`` per character to the range's end.
        """
        s = self.source.text
        out: List[str] = []
        range_end = min(len(s), self.end)
        begin_line = self.start
        if begin_line > len(s):
            return ""
        while begin_line > 0 and s[begin_line - 1] != "\n":
            begin_line -= 1
        end_line = range_end
        while end_line < len(s) and s[end_line] != "\n":
            end_line += 1
        begin_context = begin_line
        seen = 0
        while begin_context > 0:
            if s[begin_context - 1] == "\n":
                seen += 1
            if seen >= CONTEXT_LINES:
                break
            begin_context -= 1
        end_context = end_line
        seen = 0
        while end_context < len(s):
            if s[end_context] == "\n":
                seen += 1
            if seen >= CONTEXT_LINES:
                break
            end_context += 1
        filename, line, _ = self.file_line_col()
        where = f", in {function_name}" if function_name is not None else ""
        out.append(f'  File "{filename}", line {line}{where}\n')
        out.append(s[begin_context:self.start])
        line_start = self.start
        line_end = self.start
        while line_start < range_end:
            while line_end < len(s) and s[line_end] != "\n":
                line_end += 1
            actual = s[line_start:line_end + 1]
            out.append(actual if actual.endswith("\n") else actual + "\n")
            hl_begin = line_start
            while hl_begin > 0 and s[hl_begin - 1] != "\n":
                hl_begin -= 1
            hl_end = line_start
            while hl_end < range_end and s[hl_end] != "\n":
                hl_end += 1
            empty = 0
            for i in range(hl_begin, hl_end):
                if s[i] == " " or i < self.start:
                    empty += 1
                else:
                    break
            marked = hl_end - hl_begin - empty
            if marked > 0:
                # (C++ reads the terminating NUL at len(s), which counts as "more")
                more_lines = any((s[i] if i < len(s) else "\0") not in "\n "
                                 for i in range(line_end, range_end + 1))
                out.append(" " * empty + "~" * marked)
                out.append("\n" if more_lines and line_end != range_end else " <--- HERE\n")
            line_end += 1
            line_start = line_end
        if line_end <= len(s):
            tail = s[line_end:end_context]
            out.append(tail)
            if tail and not tail.endswith("\n"):
                out.append("\n")
        return "".join(out)

    def __repr__(self) -> str:
        return f"<Span {self.text()!r}>"


class ScriptSourceRange(SourceRange):
    """A node's ``# file:line:col`` that also remembers its :class:`Span`.

    Note [Nodes keep their spans]: the IR stores a plain ``(file, line, col)`` per node; the
    scripter's nodes carry this subclass instead (the same tuple, so printing, comparing and
    copying are unchanged) so that an exception raised at run time can show the source line
    with carets, as TorchScript's interpreter traceback does (``runtime/interpreter.py``).
    """

    span: Span
    function_name: Optional[str]

    @classmethod
    def of(cls, span: Span, function_name: Optional[str] = None) -> "ScriptSourceRange":
        result = cls(*span.file_line_col())
        result.span = span
        result.function_name = function_name
        return result


# ---- the call stack (Note [Compile call stack]) -----------------------------------------------
_CALLS: List[List] = []     # entries: [function name, pending Span or None]


@contextlib.contextmanager
def compile_call(name: str, span: Optional[Span]) -> Iterator[None]:
    """Mark ``name`` as being compiled for the duration of the ``with`` block."""
    _CALLS.append([name, span])
    try:
        yield
    finally:
        _CALLS.pop()


def update_pending_range(span: Optional[Span]) -> None:
    if _CALLS and span is not None:
        _CALLS[-1][1] = span


def _stacked_calls(stack: Sequence[Tuple[str, Optional[Span]]]) -> str:
    out = []
    for i in range(len(stack) - 1, 0, -1):
        callee, caller = stack[i], stack[i - 1]
        out.append(f"'{callee[0]}' is being compiled since it was called from '{caller[0]}'\n")
        if caller[1] is not None:
            out.append(caller[1].highlight())
    return "".join(out)


def _snapshot() -> List[Tuple[str, Optional[Span]]]:
    return [(name, span) for name, span in _CALLS]


def _report(message: str, span: Optional[Span], stack: Sequence) -> str:
    """TorchScript's ``ErrorReport::what()``: newline, message, colon, the highlighted source."""
    where = span.highlight() if span is not None else ""
    return "\n" + message + ":\n" + where + _stacked_calls(stack)


# ---- the exceptions ---------------------------------------------------------------------------
class CompilationError(RuntimeError):
    """A scripted program that does not type check (TorchScript raises ``RuntimeError``).

    Attributes:
        message: the bare message (``undefined value foo``).
        span: where it points.
    """

    def __init__(self, message: str, span: Optional[Span] = None,
                 text: Optional[str] = None):
        self.message = message
        self.span = span
        self.stack = _snapshot()
        super().__init__(text if text is not None else _report(message, span, self.stack))


def error(span: Optional[Span], message: str) -> CompilationError:
    """Make (not raise) a :class:`CompilationError`; callers write ``raise error(span, ...)``."""
    return CompilationError(message, span)


def deferred_report(span: Optional[Span], message: str) -> Callable[[], str]:
    """The text of an error that is only raised if a variable is used later (``y is not
    defined in the false branch``); the call stack is captured now, as TorchScript does."""
    stack = _snapshot()
    return lambda: _report(message, span, stack)


class FrontendError(Exception):
    """Python the scripter cannot read; ``str(e)`` starts with the message (PyTorch's
    ``torch.jit.frontend.FrontendError``)."""

    def __init__(self, span: Optional[Span], message: str):
        self.span = span
        self.msg = message
        self.stack = _snapshot()
        super().__init__(message + _report("", span, self.stack).lstrip())


class NotSupportedError(FrontendError):
    """A construct TorchScript does not support (``*args``, ``for ... else``)."""


class UnsupportedNodeError(NotSupportedError):
    """A kind of Python syntax the scripter has no rule for (``lambda``, ``try``, ``with``...).

    The message names the feature (``try blocks aren't supported``) and the caret covers the
    keyword that starts it (one character when the node has no keyword, as for ``lambda``).
    """


DeferredMessage = Callable[[], str]
