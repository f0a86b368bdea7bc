"""Finding and parsing the source of a Python function (``inspect`` + ``ast``).

The scripter compiles source text, never bytecode: ``inspect.getsourcelines`` gives the lines
of the ``def`` (decorators included) and the line it starts on; the text is dedented so that
``ast.parse`` accepts a method, and a :class:`SourceContext` maps the AST's (line, column)
positions back to offsets in the original, indented text, which is what error carets and the
``# file:line:col`` comments of the graph print.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any, List, NamedTuple, Optional

from .errors import Source, Span

__all__ = ["SourceContext", "ParsedDef", "parse_def", "SourceUnavailableError"]


class SourceUnavailableError(OSError):
    """The function has no source file (defined in a REPL, ``exec`` or a lambda)."""


class SourceContext:
    """Turns AST positions of the dedented text into :class:`Span` s of the original text.

    ``make_range(lineno, col_start, col_end)`` takes ``ast`` coordinates (1-based line, byte
    column in the dedented line) like TorchScript's ``SourceRangeFactory``.
    """

    def __init__(self, source: Source, dedented_lines: List[str], leading_whitespace: int,
                 funcname: Optional[str]):
        self.source = source
        self.lines = dedented_lines
        self.leading_whitespace = leading_whitespace
        self.funcname = funcname

    def _char_col(self, lineno: int, byte_col: int) -> int:
        line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        if line.isascii():
            return byte_col
        return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    def make_range(self, lineno: int, col_start: int, col_end: int) -> Span:
        base = self.source.line_start(lineno - 1) + self.leading_whitespace
        start = base + self._char_col(lineno, col_start)
        end = base + self._char_col(lineno, col_end)
        return Span(self.source, start, end)

    def make_raw_range(self, start: int, end: int) -> Span:
        return Span(self.source, start, end)


class ParsedDef(NamedTuple):
    """A function's AST (``fdef``) with the context that locates it in its file."""

    fdef: ast.FunctionDef
    ctx: SourceContext
    filename: Optional[str]
    file_lineno: int


def _normalize_lines(lines: List[str]) -> List[str]:
    """Indent lines before/after the ``def`` at least as much as the ``def`` (comments and
    continued strings may stick out to the left), as ``torch._sources`` does."""
    idx = next((i for i, line in enumerate(lines) if line.lstrip().startswith("def")), None)
    if idx is None:
        return lines
    whitespace = lines[idx].split("def")[0]

    def fix(line: str) -> str:
        return whitespace + (line[len(whitespace):] if line.startswith(whitespace) else line)

    return [fix(line) for line in lines[:idx]] + [lines[idx]] + \
        [fix(line) for line in lines[idx + 1:]]


def get_source_lines(obj: Any) -> tuple:
    """``(lines, first line number, filename)``; a clear error when there is no source."""
    try:
        filename = inspect.getsourcefile(obj)
        lines, lineno = inspect.getsourcelines(obj)
    except (OSError, TypeError) as exc:
        raise SourceUnavailableError(
            f"Can't get source for {obj}. TorchScript requires source access in order to carry "
            "out compilation, make sure original .py files are available. (minijit compiles "
            "Python source text: define the function in a file and import it, or in a "
            "notebook cell, not in a REPL or through exec().)") from exc
    return lines, lineno, filename


def parse_def(fn: Any, name: Optional[str] = None) -> ParsedDef:
    """Parse the source of ``fn`` (a function or method) into a :class:`ParsedDef`."""
    lines, file_lineno, filename = get_source_lines(fn)
    lines = _normalize_lines(list(lines))
    text = "".join(lines)
    dedented = textwrap.dedent(text)
    module = ast.parse(dedented)
    if len(module.body) != 1 or not isinstance(module.body[0], ast.FunctionDef):
        raise RuntimeError(f"Expected a single top-level function: {filename}:{file_lineno}")
    leading = len(text.split("\n", 1)[0]) - len(dedented.split("\n", 1)[0])
    source = Source(text, filename, file_lineno)
    ctx = SourceContext(source, dedented.split("\n"), leading, name or fn.__name__)
    return ParsedDef(module.body[0], ctx, filename, file_lineno)


def parse_source(text: str, filename: str, funcname: Optional[str] = None) -> ParsedDef:
    """Parse a function given as text (TorchScript's builtin functions, ``<string>``)."""
    source = Source(text, filename, 1)
    module = ast.parse(text)
    fdef = next(node for node in module.body if isinstance(node, ast.FunctionDef))
    ctx = SourceContext(source, text.split("\n"), 0, funcname or fdef.name)
    return ParsedDef(fdef, ctx, filename, 1)
