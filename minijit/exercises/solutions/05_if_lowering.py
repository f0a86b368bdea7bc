"""Reference solution of exercise 5 (``tutorials/exercises/05_if_lowering.py``): ``prim::If``."""
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
        cond = self.emit_condition(stmt.test, env)
        node = self.graph.insert_node(self.graph.create_node("prim::If", [cond], num_outputs=0))
        then_block, else_block = node.add_block(), node.add_block()
        then_env = self.emit_block(then_block, stmt.body, env)
        else_env = self.emit_block(else_block, stmt.orelse, env)
        # Every variable that either branch (re)defined, sorted by name (as TorchScript).
        changed = {n for n, v in then_env.items() if v is not env.get(n)}
        changed |= {n for n, v in else_env.items() if v is not env.get(n)}
        for name in sorted(changed):
            if name not in then_env or name not in else_env:
                continue            # defined on one path only: not visible after the if
            a, b = then_env[name], else_env[name]
            if a.type != b.type:
                raise MiniScriptError(
                    f"line {stmt.lineno}: '{name}' is {a.type.annotation_str()} in the true "
                    f"branch and {b.type.annotation_str()} in the false branch")
            then_block.register_output(a)
            else_block.register_output(b)
            out = node.add_output(a.type)
            self.assign(name, out, env)


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
