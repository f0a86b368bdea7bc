"""Reading the Python AST the way TorchScript's frontend does: syntax checks and source ranges.

PyTorch first converts Python's AST into its own tree (``torch/jit/frontend.py``) and rejects
what it cannot express (``lambda``, ``try``, ``*args``...).  minijit keeps Python's AST but walks
it in the same order with the same rules, so that

* the first unsupported construct is reported with PyTorch's exact message and caret, and
* every node gets the *same source range* as its TorchScript twin.  Those ranges are what the
  ``# file:line:col`` comments and error carets show, and they follow two odd rules worth
  knowing:

  1. a node's range is its own token range merged with the ranges of all its children
     (TorchScript's ``Compound::create``): ``f(x, y)`` covers ``f(x, y`` (a call ends at its
     last argument, without the ``)``), ``if c: ...`` covers the whole statement;
  2. the token ranges are computed from the AST position and a token length: a string literal
     is ``len(value) + 1`` long, an attribute name starts one character after its base.

Use :class:`TreeRanges`: ``check_def(fdef)`` validates and records every range, then
``ranges.of(node)`` returns a :class:`~minijit.jit.frontend.errors.Span`.
"""
from __future__ import annotations

import ast
import string
from typing import Dict, List, Optional

from .errors import NotSupportedError, FrontendError, Span, UnsupportedNodeError
from .source import SourceContext

__all__ = ["TreeRanges"]

# Feature names and start tokens for unsupported statements (frontend.py's tables).
_PRETTY_NAMES = {
    ast.FunctionDef: "function definitions", ast.For: "for loops", ast.Delete: "del statements",
    ast.ClassDef: "class definitions", ast.With: "with statements",
    ast.Raise: "raise statements", ast.Assert: "assertions", ast.Import: "import statements",
    ast.ImportFrom: "import statements", ast.Global: "global variables",
    ast.Break: "break statements", ast.Continue: "continue statements",
    ast.AsyncFunctionDef: "async function definitions", ast.AsyncFor: "async for loops",
    ast.AsyncWith: "async with statements", ast.Try: "try blocks",
    ast.Nonlocal: "nonlocal variables", ast.AnnAssign: "annotated assignments",
}
_START_TOKENS = {
    ast.FunctionDef: "def", ast.For: "for", ast.Delete: "del", ast.ClassDef: "class",
    ast.With: "with", ast.Raise: "raise", ast.Assert: "assert", ast.Import: "import",
    ast.ImportFrom: "from", ast.Global: "global", ast.Break: "break",
    ast.Continue: "continue", ast.AsyncFunctionDef: "async def", ast.AsyncFor: "async for",
    ast.AsyncWith: "async with", ast.Try: "try", ast.Nonlocal: "nonlocal",
}
if hasattr(ast, "TryStar"):
    _PRETTY_NAMES[ast.TryStar] = "try blocks"
    _START_TOKENS[ast.TryStar] = "try"

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
           ast.Mod: "%", ast.FloorDiv: "//", ast.BitAnd: "&", ast.BitXor: "^", ast.BitOr: "|",
           ast.LShift: "<<", ast.RShift: ">>", ast.MatMult: "@"}
_AUGOPS = {ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.BitOr, ast.BitAnd, ast.BitXor,
           ast.LShift, ast.RShift, ast.Pow}
_UNOPS = {ast.Not: "not", ast.USub: "-", ast.Invert: "~"}
_RESERVED_PREFIX = "__jit"
VARARG_ERROR = ("Compiled functions can't take variable number of arguments or use "
                "keyword-only arguments with defaults")


class TreeRanges:
    """Source ranges of a function's AST nodes, computed as TorchScript's frontend does."""

    def __init__(self, ctx: SourceContext):
        self.ctx = ctx
        self._ranges: Dict[int, Span] = {}
        self._keep: List[ast.AST] = []     # ids are only unique while the nodes live

    def of(self, node: ast.AST) -> Span:
        span = self._ranges.get(id(node))
        if span is None:                   # nodes built by the emitter itself
            return self.token(node, 1)
        return span

    def set(self, node: ast.AST, span: Span) -> Span:
        self._ranges[id(node)] = span
        self._keep.append(node)
        return span

    def token(self, node: ast.AST, length: int, offset: int = 0) -> Span:
        col = node.col_offset + offset
        return self.ctx.make_range(node.lineno, col, col + length)

    def unsupported(self, node: ast.AST, reason: str = "") -> UnsupportedNodeError:
        kind = type(node)
        span = self.token(node, len(_START_TOKENS.get(kind, " ")))
        name = _PRETTY_NAMES.get(kind, kind.__name__)
        return UnsupportedNodeError(span, f"{name} {reason + ' ' if reason else ''}aren't supported")

    # ---- definitions ------------------------------------------------------------------------
    def check_def(self, fdef: ast.FunctionDef) -> Span:
        """Validate a ``def`` and record ranges; returns the range of the whole definition."""
        head = self.token(fdef, 3)
        args = fdef.args
        if args.kwarg is not None:
            raise NotSupportedError(self._star_range(args.kwarg), VARARG_ERROR)
        if args.vararg is not None:
            raise NotSupportedError(self._star_range(args.vararg), VARARG_ERROR)
        for default in args.kw_defaults:
            if default is not None:
                raise NotSupportedError(self.expr(default), VARARG_ERROR)
        span = head
        for arg in list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs):
            arg_span = self.set(arg, self.token(arg, len(arg.arg)))
            if arg.annotation is not None:
                arg_span = arg_span.merge(self.expr(arg.annotation))
            span = span.merge(arg_span)
        if fdef.returns is not None:
            span = span.merge(self.expr(fdef.returns))
        for stmt in self.stmts(fdef.body):
            span = span.merge(stmt)
        return self.set(fdef, span)

    def _star_range(self, arg: ast.arg) -> Span:
        return self.ctx.make_range(arg.lineno, arg.col_offset - 1, arg.col_offset + len(arg.arg))

    # ---- statements -------------------------------------------------------------------------
    def stmts(self, body: List[ast.stmt]) -> List[Span]:
        return [self.stmt(s) for s in body]

    def stmt(self, node: ast.stmt) -> Span:
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is None:
            raise self.unsupported(node)
        return self.set(node, method(node))

    def _merge(self, span: Span, *children: Optional[Span]) -> Span:
        for child in children:
            span = span.merge(child)
        return span

    def stmt_Expr(self, node: ast.Expr) -> Span:
        return self.expr(node.value)

    def stmt_Assign(self, node: ast.Assign) -> Span:
        rhs = self.expr(node.value)
        lhs = [self.expr(t) for t in node.targets]
        return self._merge(rhs, *lhs)

    def stmt_AnnAssign(self, node: ast.AnnAssign) -> Span:
        if node.value is None:
            raise self.unsupported(node, "without assigned value")
        rhs = self.expr(node.value)
        lhs = self.expr(node.target)
        ann = self.expr(node.annotation)
        return self._merge(rhs, lhs, ann)

    def stmt_Delete(self, node: ast.Delete) -> Span:
        return self._merge(self.token(node, 3), *[self.expr(t) for t in node.targets])

    def stmt_Return(self, node: ast.Return) -> Span:
        head = self.token(node, len("return"))
        return head if node.value is None else head.merge(self.expr(node.value))

    def stmt_Raise(self, node: ast.Raise) -> Span:
        head = self.token(node, len("raise"))
        return head if node.exc is None else head.merge(self.expr(node.exc))

    def stmt_Assert(self, node: ast.Assert) -> Span:
        head = self.token(node, len("assert"))
        test = self.expr(node.test)
        msg = self.expr(node.msg) if node.msg is not None else None
        return self._merge(head, test, msg)

    def stmt_AugAssign(self, node: ast.AugAssign) -> Span:
        lhs = self.expr(node.target)
        rhs = self.expr(node.value)
        if type(node.op) not in _AUGOPS:
            text = self.ctx.source.text
            pos = text[:rhs.start].rindex("=")
            raise NotSupportedError(self.ctx.make_raw_range(pos - 1, pos + 1),
                                    "unsupported kind of augmented assignment: "
                                    + type(node.op).__name__)
        return lhs.merge(rhs)

    def stmt_While(self, node: ast.While) -> Span:
        head = self.token(node, len("while"))
        if node.orelse:
            raise NotSupportedError(head, "else branches of while loops aren't supported")
        return self._merge(head, self.expr(node.test), *self.stmts(node.body))

    def stmt_For(self, node: ast.For) -> Span:
        head = self.token(node, len("for"))
        if node.orelse:
            raise NotSupportedError(head, "else branches of for loops aren't supported")
        target = self.expr(node.target)
        it = self.expr(node.iter)
        return self._merge(head, target, it, *self.stmts(node.body))

    def stmt_If(self, node: ast.If) -> Span:
        head = self.token(node, len("if"))
        test = self.expr(node.test)
        body = self.stmts(node.body)
        orelse = self.stmts(node.orelse)
        return self._merge(head, test, *body, *orelse)

    def stmt_Pass(self, node: ast.Pass) -> Span:
        return self.token(node, len("pass"))

    def stmt_Break(self, node: ast.Break) -> Span:
        return self.token(node, len("break"))

    def stmt_Continue(self, node: ast.Continue) -> Span:
        return self.token(node, len("continue"))

    def stmt_With(self, node: ast.With) -> Span:
        head = self.token(node, len("with"))
        items = []
        for item in node.items:
            ctx_expr = item.context_expr
            span = self.ctx.make_range(ctx_expr.lineno, ctx_expr.col_offset,
                                       ctx_expr.col_offset + len("with statements"))
            span = span.merge(self.expr(ctx_expr))
            if item.optional_vars is not None:
                span = span.merge(self.expr(item.optional_vars))
            items.append(self.set(item, span))
        return self._merge(head, *items, *self.stmts(node.body))

    # ---- expressions ------------------------------------------------------------------------
    def expr(self, node: ast.expr) -> Span:
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            raise self.unsupported(node)
        return self.set(node, method(node))

    def expr_Name(self, node: ast.Name) -> Span:
        span = self.token(node, len(node.id))
        if node.id.startswith(_RESERVED_PREFIX):
            raise NotSupportedError(span, "names of variables used in JIT-ed functions can't "
                                          "start with " + _RESERVED_PREFIX)
        return span

    def expr_Constant(self, node: ast.Constant) -> Span:
        value = node.value
        if value is None or isinstance(value, bool):
            return self.token(node, len(str(value)))
        if isinstance(value, (int, float, complex)):
            return self.token(node, len(str(value)))
        if isinstance(value, str):
            return self.token(node, len(value) + 1)
        if value is Ellipsis:
            return self.token(node, 3)
        raise FrontendError(self.token(node, len(str(value))), "Unknown Constant expression type")

    def expr_Attribute(self, node: ast.Attribute) -> Span:
        base = self.expr(node.value)
        text = self.ctx.source.text
        start = base.end + 1
        while start < len(text) and text[start] in string.whitespace:
            start += 1
        return base.merge(self.ctx.make_raw_range(start, start + len(node.attr)))

    def expr_Call(self, node: ast.Call) -> Span:
        span = self.expr(node.func)
        for arg in node.args:
            span = span.merge(self.expr(arg))
        for kw in node.keywords:
            kw_span = self.expr(kw.value)
            if not kw.arg:
                raise NotSupportedError(kw_span, "keyword-arg expansion is not supported")
            span = span.merge(self.set(kw, kw_span))
        return span

    def expr_BinOp(self, node: ast.BinOp) -> Span:
        lhs = self.expr(node.left)
        rhs = self.expr(node.right)
        if type(node.op) not in _BINOPS:
            raise NotSupportedError(self.ctx.make_raw_range(lhs.end, rhs.start),
                                    "unsupported binary operator: " + type(node.op).__name__)
        return lhs.merge(rhs)

    def expr_UnaryOp(self, node: ast.UnaryOp) -> Span:
        sub = self.expr(node.operand)
        token = _UNOPS.get(type(node.op))
        if token is None:
            raise NotSupportedError(self.token(node, 1).merge(sub),
                                    "unsupported unary operator: " + type(node.op).__name__)
        return self.token(node, len(token)).merge(sub)

    def expr_BoolOp(self, node: ast.BoolOp) -> Span:
        subs = [self.expr(v) for v in node.values]
        return self._merge(subs[0], *subs[1:])

    def expr_IfExp(self, node: ast.IfExp) -> Span:
        test = self.expr(node.test)
        body = self.expr(node.body)
        orelse = self.expr(node.orelse)
        return self._merge(test, body, orelse)

    def expr_Compare(self, node: ast.Compare) -> Span:
        spans = [self.expr(e) for e in [node.left] + list(node.comparators)]
        return self._merge(spans[0], *spans[1:])

    def expr_Subscript(self, node: ast.Subscript) -> Span:
        # TorchScript's ``Subscript`` range runs one character past its last index, so that
        # carets cover the closing ``]`` (``x[i]``, not ``x[i``).
        span = self._subscript(node)
        return Span(span.source, span.start, span.end + 1)

    def _subscript(self, node: ast.Subscript) -> Span:
        base = self.expr(node.value)
        index = node.slice
        if isinstance(index, ast.Slice):
            return base.merge(self.set(index, self._slice(base, index)))
        if isinstance(index, ast.Tuple):
            span = base
            for elt in index.elts:
                elt_span = self._slice(base, elt) if isinstance(elt, ast.Slice) \
                    else self.expr(elt)
                span = span.merge(self.set(elt, elt_span))
            if not index.elts:
                span = span.merge(self.set(index, self.token(index, 2)))
            return span
        return base.merge(self.expr(index))

    def _slice(self, base: Span, node: ast.Slice) -> Span:
        span = base
        for part in (node.lower, node.upper, node.step):
            if part is not None:
                span = span.merge(self.expr(part))
        return span

    def _sequence(self, node: ast.expr, elts: List[ast.expr]) -> Span:
        return self._merge(self.token(node, 1), *[self.expr(e) for e in elts])

    def expr_List(self, node: ast.List) -> Span:
        return self._sequence(node, node.elts)

    def expr_Tuple(self, node: ast.Tuple) -> Span:
        return self._sequence(node, node.elts)

    def expr_Dict(self, node: ast.Dict) -> Span:
        head = self.token(node, 1)
        if node.keys and node.keys[0] is None:
            raise NotSupportedError(head, "Dict expansion (e.g. `{**dict}`) is not supported")
        keys = [self.expr(k) for k in node.keys]
        values = [self.expr(v) for v in node.values]
        return self._merge(head, *keys, *values)

    def expr_Starred(self, node: ast.Starred) -> Span:
        return self.token(node, 1).merge(self.expr(node.value))

    def _comprehension(self, node: ast.expr, parts: List[ast.expr]) -> Span:
        head = self.token(node, 0)
        if len(node.generators) != 1:
            raise NotSupportedError(head, "Only a single generator is currently supported")
        if node.generators[0].ifs:
            raise NotSupportedError(head, "Comprehension ifs are not supported yet")
        gen = node.generators[0]
        return self._merge(head, *[self.expr(p) for p in parts + [gen.target, gen.iter]])

    def expr_ListComp(self, node: ast.ListComp) -> Span:
        return self._comprehension(node, [node.elt])

    expr_GeneratorExp = expr_ListComp

    def expr_DictComp(self, node: ast.DictComp) -> Span:
        return self._comprehension(node, [node.key, node.value])

    def expr_JoinedStr(self, node: ast.JoinedStr) -> Span:
        span = self.token(node, 1)
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                part = self.token(value, 1)
                if value.conversion != -1:
                    raise NotSupportedError(part, "Don't support conversion in JoinedStr")
                if value.format_spec is not None:
                    raise NotSupportedError(part, "Don't support formatting in JoinedStr")
                span = span.merge(self.expr(value.value))
            elif not isinstance(value, ast.Constant):
                raise NotSupportedError(self.token(value, 1), "Unsupported value in JoinedStr")
        return span
