"""
Exercise 5: lowering ``if`` to ``prim::If`` in a small scripter
===============================================================

``minijit.jit.script`` reads Python source with :mod:`ast` and writes IR in SSA form: every
value is assigned once.  Straight-line code is easy: each assignment ``z = x * y`` just makes
the name ``z`` stand for a new value.  An ``if`` is the interesting part, because after it a
variable may hold *either* of two values.  TorchScript's answer is a ``prim::If`` node with
two blocks whose *outputs* are the variables the branches assigned::

    def f(x, y):                          %z : Tensor = prim::If(%6)
        if x.sum() > 0:                     block0():
            z = x * y                         %z.1 : Tensor = aten::mul(%x, %y)
        else:                                 -> (%z.1)
            z = -x                          block1():
        return z + 1                          %z.3 : Tensor = aten::neg(%x)
                                              -> (%z.3)
                                          %12 : Tensor = aten::add(%z, %10, %11)

Below is a complete small scripter, ``MiniScripter``, for a subset of Python (read its
docstring), with one method missing: ``emit_if``.  Write it.

What to build
-------------
``emit_if(self, stmt, env)`` gets an ``ast.If`` statement and ``env``, the dictionary from
variable names to the IR values they hold at this point.  It must:

1. emit the condition with ``self.emit_condition(stmt.test, env)`` (a ``bool`` value);
2. insert a ``prim::If`` node with that input and no outputs yet
   (``g.insert_node(g.create_node("prim::If", [cond], num_outputs=0))``), and give it two
   blocks (``node.add_block()``, twice: true branch first);
3. emit ``stmt.body`` into the first block and ``stmt.orelse`` (maybe empty: an ``if``
   without ``else``) into the second, each with ``self.emit_block(block, stmts, env)``, which
   returns the variables as they are at the end of that branch;
4. for every variable that either branch assigned (a value different from the one in
   ``env``), sorted by name (TorchScript keeps them in a sorted set, so graphs print the
   same every time):

   * if it is defined at the end of *both* branches, it becomes an output of the ``if``:
     register its value in each block (``block.register_output(value)``), add an output to
     the node (``node.add_output(type)``) and make the name stand for that output
     (``self.assign(name, output, env)``);
   * if its two values have different types (a Tensor on one path and an int on the other),
     raise ``MiniScriptError`` naming the variable, as TorchScript does;
   * if it is defined in one branch only (and not before the ``if``), it does not exist after
     the ``if``: leave it out of ``env`` (a later use is then reported as an undefined name).

Variables that no branch changed must *not* become outputs.  ``elif`` needs nothing special:
Python's ``ast`` already turns it into an ``if`` inside the ``else``.

The checker compiles several functions with your ``emit_if``, checks the graphs (``lint()``,
the outputs of each ``prim::If``) and runs them with minijit's interpreter on inputs that take
every path, comparing with Python running the same source.

Check your work with::

    python -m minijit exercises check 5

Hints
-----
* ``python tutorials/exercises/05_if_lowering.py`` prints the graph of the example above.
* A value's type: ``value.type``; types compare with ``==`` and print with
  ``.annotation_str()``.
* Compare with the real thing: ``minijit.jit.script(f).graph`` (``minijit/jit/frontend/`` does
  the same in ``emit_if`` of ``emitter.py``, with refinements and early returns on top).
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Callable, Dict, List, Union

from minijit.jit.ir import (
    BoolType,
    FloatType,
    Graph,
    IntType,
    IRType,
    TensorType,
    Value,
    parse_ir,  # noqa: F401
)
from minijit.ops.registry import find

Env = Dict[str, Value]


class MiniScriptError(Exception):
    """Python this small scripter does not accept, or a program that is not well typed."""


_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div"}
_COMPARE = {ast.Gt: "gt", ast.Lt: "lt", ast.GtE: "ge", ast.LtE: "le", ast.Eq: "eq",
            ast.NotEq: "ne"}
_ANNOTATIONS = {"int": IntType, "float": FloatType, "bool": BoolType}


class MiniScripter:
    """Compiles a small subset of Python into a minijit Graph.

    Accepted: ``def f(x, n: int):`` (no annotation means Tensor), ``name = expr``,
    ``name += expr``, ``if``/``elif``/``else``, ``pass``, and one ``return expr`` (or
    ``return a, b``) as the last statement.  Expressions: names, int/float/bool literals,
    ``+ - * /``, unary ``-``, one comparison (``a > b``), ``torch.op(...)`` and
    ``x.op(...)`` for any registry op (``torch.tanh(x)``, ``x.sum()``).
    """

    def __init__(self) -> None:
        self.graph = Graph()

    # -- entry points ----------------------------------------------------------------------
    def compile(self, fn_or_source: Union[Callable, str]) -> Graph:
        """The graph of a function (or of the source text of one)."""
        source = fn_or_source if isinstance(fn_or_source, str) else \
            inspect.getsource(fn_or_source)
        fn = ast.parse(textwrap.dedent(source)).body[0]
        if not isinstance(fn, ast.FunctionDef):
            raise MiniScriptError("expected a def")
        env: Env = {}
        for arg in fn.args.args:
            ann = arg.annotation.id if isinstance(arg.annotation, ast.Name) else None
            env[arg.arg] = self.graph.add_input(arg.arg, _ANNOTATIONS.get(ann, TensorType.get()))
        body = fn.body
        if not body or not isinstance(body[-1], ast.Return):
            raise MiniScriptError("the function must end with a return statement")
        self.emit_statements(body[:-1], env)
        ret = body[-1].value
        values = ret.elts if isinstance(ret, ast.Tuple) else [ret]
        for v in values:
            self.graph.register_output(self.emit_expr(v, env))
        return self.graph

    # -- statements ------------------------------------------------------------------------
    def emit_statements(self, stmts: List[ast.stmt], env: Env) -> None:
        for stmt in stmts:
            self.emit_statement(stmt, env)

    def emit_statement(self, stmt: ast.stmt, env: Env) -> None:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Name):
            self.assign(stmt.targets[0].id, self.emit_expr(stmt.value, env), env)
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            binop = ast.BinOp(ast.Name(stmt.target.id, ast.Load()), stmt.op, stmt.value)
            self.assign(stmt.target.id, self.emit_expr(binop, env), env)
        elif isinstance(stmt, ast.If):
            self.emit_if(stmt, env)
        elif isinstance(stmt, ast.Pass):
            pass
        elif isinstance(stmt, ast.Return):
            raise MiniScriptError(f"line {stmt.lineno}: return is only allowed as the last "
                                  "statement of the function")
        else:
            raise MiniScriptError(f"line {stmt.lineno}: {type(stmt).__name__} statements are "
                                  "not supported")

    def assign(self, name: str, value: Value, env: Env) -> None:
        value.set_debug_name(name)
        env[name] = value

    def emit_block(self, block, stmts: List[ast.stmt], env: Env) -> Env:
        """Emit ``stmts`` into ``block`` (a sub-block of a node) with a copy of ``env``.

        Returns the copy: the variables as they are at the end of the block.  ``env`` itself
        is not changed.
        """
        inner = dict(env)
        with self.graph.insert_point(block):
            self.emit_statements(stmts, inner)
        return inner

    # -- expressions -----------------------------------------------------------------------
    def emit_expr(self, expr: ast.expr, env: Env) -> Value:
        if isinstance(expr, ast.Name):
            if expr.id not in env:
                raise MiniScriptError(f"line {expr.lineno}: undefined name '{expr.id}' (a "
                                      "variable must be defined on every path before it is "
                                      "used)")
            return env[expr.id]
        if isinstance(expr, ast.Constant) and isinstance(expr.value, (bool, int, float)):
            return self.graph.insert_constant(expr.value)
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
            return self.emit_op("neg", [self.emit_expr(expr.operand, env)])
        if isinstance(expr, ast.BinOp) and type(expr.op) in _BINARY:
            args = [self.emit_expr(expr.left, env), self.emit_expr(expr.right, env)]
            return self.emit_op(_BINARY[type(expr.op)], args)
        if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and \
                type(expr.ops[0]) in _COMPARE:
            args = [self.emit_expr(expr.left, env), self.emit_expr(expr.comparators[0], env)]
            return self.emit_op(_COMPARE[type(expr.ops[0])], args)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and \
                not expr.keywords:
            owner = expr.func.value
            args = [self.emit_expr(a, env) for a in expr.args]
            if isinstance(owner, ast.Name) and owner.id in ("torch", "minijit"):
                return self.emit_op(expr.func.attr, args)
            return self.emit_op(expr.func.attr, [self.emit_expr(owner, env)] + args)
        raise MiniScriptError(f"line {getattr(expr, 'lineno', '?')}: this expression is not "
                              f"supported: {ast.unparse(expr)}")

    def emit_op(self, name: str, args: List[Value]) -> Value:
        """``aten::<name>`` on ``args``: the tensor op when a Tensor is involved (its other
        arguments from the schema's defaults), else the op on Python numbers."""
        g = self.graph
        if any(isinstance(a.type, TensorType) for a in args):
            op = find(name)
            if op is None:
                raise MiniScriptError(f"minijit has no operator named '{name}'")
            inputs = list(args)
            for arg in op.schemas[0].arguments[len(args):]:
                if not arg.has_default:
                    raise MiniScriptError(f"aten::{name}: argument '{arg.name}' is missing")
                inputs.append(g.insert_constant(arg.default))
            node = g.insert_node(g.create_node(op.kind, inputs))
            node.output().type = TensorType.get()
            return node.output()
        kinds = [a.type.kind for a in args]
        if name in _COMPARE.values():
            out_type: IRType = BoolType
        elif name == "div" or "float" in kinds:
            out_type = FloatType
        else:
            out_type = IntType
        node = g.insert_node(g.create_node(f"aten::{name}", args))
        node.output().type = out_type
        return node.output()

    def emit_condition(self, expr: ast.expr, env: Env) -> Value:
        """A ``bool`` value for the test of an ``if`` (``aten::Bool`` of a Tensor or number)."""
        value = self.emit_expr(expr, env)
        if value.type == BoolType:
            return value
        node = self.graph.insert_node(self.graph.create_node("aten::Bool", [value]))
        node.output().type = BoolType
        return node.output()

    # -- the exercise ----------------------------------------------------------------------
    def emit_if(self, stmt: ast.If, env: Env) -> None:
        """Emit ``if stmt.test: stmt.body else: stmt.orelse`` as a ``prim::If`` node."""
        raise NotImplementedError


def script(fn_or_source: Union[Callable, str]) -> Graph:
    """Compile with :class:`MiniScripter`."""
    return MiniScripter().compile(fn_or_source)


if __name__ == "__main__":
    print(script('''
def f(x, y):
    if x.sum() > 0:
        z = x * y
    else:
        z = -x
    return z + 1
'''))
