"""The IR emitter: one Python ``def`` → one Graph (TorchScript's ``to_ir``), statements part.

:class:`FunctionEmitter` walks the function's AST in source order.  Statements are handled
here and in :mod:`.emit_assign` (assignments), expressions in :mod:`.emit_expr`,
:mod:`.emit_cond` (conditions) and :mod:`.emit_subscript` (indexing), all mixins of it.  What it produces is not SSA yet:
variables go through ``prim::Store``/``prim::Load`` (Note [Loads and stores]), ``return``,
``break`` and ``continue`` are marker nodes, and ``prim::If``/``prim::Loop`` have no outputs.
:func:`minijit.jit.frontend.ssa.convert_to_ssa` and the cleanup passes finish the job.  The
order in which nodes and names are created here is TorchScript's, statement for statement,
because the printed graph (its ``.N`` names, its constant order) depends on it.

A few rules worth knowing when reading the code:

* Integer and float literals are *materialized* once per function at the top of the graph;
  other constants are inserted where they are used.
* Each ``if`` branch and loop body gets its own :class:`~.environment.Environment`; after
  an ``if``, the variables assigned in both branches (or in one branch when the other exits)
  are merged, in sorted order, and must unify to one type.
* Blocks that end in ``return``/``raise`` are remembered in ``exit_blocks``: statements after
  them are not emitted, and the variables of the other branch flow on.
"""
from __future__ import annotations

import ast
import contextlib
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from ..ir.graph import Block, Graph, Node, SourceRange, Value
from ..ir.types import (AnyType, BoolType, FloatType, FunctionType, IntType, IRType, ListType,
                        NoneType, StringType, TensorType, TupleType, UnionType, unify)
from .emit_assign import AssignmentEmitter
from .emit_expr import ExprEmitter
from .environment import CondValue, Environment, as_simple
from .errors import (CompilationError, NotSupportedError, ScriptSourceRange, Span, deferred_report, error,
                     update_pending_range)
from .schema_match import (FnSchema, NamedValue, builtin_schemas, is_subtype, match_schemas,
                           try_convert_to_type)
from .sugar import (BuiltinFunction, CastValue, ExceptionMessageValue, ExceptionValue,
                    MagicMethod, PrintValue, SimpleValue, SpecialForm, SugaredValue)
from .tree import TreeRanges

__all__ = ["FunctionEmitter", "INT64_MAX"]

INT64_MAX = 9223372036854775807
NOT_IN_LOOP, IN_LOOP, IN_UNROLLED_LOOP = range(3)


def _normalize_attr_name(field: str) -> str:
    return field if field.isidentifier() else "_" + field


class FunctionEmitter(AssignmentEmitter, ExprEmitter):
    """Emits the body of one function or method into ``graph``.

    Args:
        parsed: the :class:`~.source.ParsedDef` of the function.
        ranges: its :class:`~.tree.TreeRanges` (already checked).
        resolver: resolves free names (globals, closures) to sugared values.
        self_sugar: for methods, ``make(value) -> SugaredValue`` for ``self`` and its type.
        schema: the parsed signature (:class:`FnSchema`, without ``self``).
    """

    def __init__(self, parsed: Any, ranges: TreeRanges, resolver: Any, schema: FnSchema,
                 self_type: Optional[IRType] = None,
                 self_sugar: Optional[Callable[[Value], SugaredValue]] = None):
        self.parsed = parsed
        self.ranges = ranges
        self.resolver = resolver
        self.schema = schema
        self.self_type = self_type
        self.self_sugar = self_sugar
        self.graph = Graph()
        self.integral_constants: Dict[Any, Value] = {}
        self.fp_constants: Dict[Any, Value] = {}
        self.exit_blocks: set = set()
        self.loop_status = NOT_IN_LOOP
        self.env: Optional[Environment] = None
        self.declared_return: Optional[IRType] = schema.returns[0] if schema.returns else None
        self.merged_return: Optional[IRType] = None
        self.temp_count = 0

    # ---- spans and nodes ----------------------------------------------------------------------
    def span(self, node: ast.AST) -> Span:
        return self.ranges.of(node)

    def source_range(self, span: Optional[Span]) -> Optional[SourceRange]:
        if span is None:
            return None
        return ScriptSourceRange.of(span, self.schema.name)

    def insert_node(self, kind: str, inputs: Sequence[Value], n_outputs: int,
                    span: Optional[Span] = None) -> Node:
        node = self.graph.create_node(kind, inputs, n_outputs)
        node.source_range = self.source_range(span)
        self.graph.insert_node(node)
        return node

    def insert_constant(self, value: Any, span: Optional[Span],
                        type_: Optional[IRType] = None) -> Value:
        if value is None and type_ is not None and type_.kind != "Optional":
            type_ = None
        if type_ is not None and not isinstance(value, (list, tuple)) and \
                type_.kind not in ("str", "Device", "Optional"):
            type_ = None
        return self.graph.insert_constant(value, type_, source_range=self.source_range(span))

    def materialize_constant(self, value: Any, span: Optional[Span]) -> Value:
        """An int/float literal: one constant per value, at the top of the graph."""
        table = self.fp_constants if isinstance(value, float) else self.integral_constants
        key = (type(value), value, str(value))
        found = table.get(key)
        if found is not None:
            return found
        first = self.graph.block.param_node.next
        with self.graph.insert_point(first):
            found = self.insert_constant(value, span)
        table[key] = found
        return found

    @contextlib.contextmanager
    def at(self, point: Any) -> Iterator[None]:
        with self.graph.insert_point(point):
            yield

    def constant_value(self, value: Value) -> Any:
        node = value.node
        if node.kind != "prim::Constant":
            return None
        return node.attrs.get("value")

    # ---- building blocks for sugared values --------------------------------------------------
    def create_list(self, elem: IRType, values: Sequence[Value]) -> Value:
        node = self.insert_node("prim::ListConstruct", values, 1)
        node.output().type = ListType(elem)
        return node.output()

    def create_tuple(self, values: Sequence[Value]) -> Value:
        node = self.insert_node("prim::TupleConstruct", values, 1)
        node.output().type = TupleType([v.type for v in values])
        return node.output()

    def tuple_unpack(self, value: Value) -> List[Value]:
        if value.node.kind == "prim::TupleConstruct":
            return list(value.node.inputs)
        elems = value.type.elems                                   # type: ignore[attr-defined]
        node = self.insert_node("prim::TupleUnpack", [value], len(elems))
        for out, t in zip(node.outputs, elems):
            out.type = t
        return list(node.outputs)

    def insert_get_attr(self, obj: Value, field: str) -> Value:
        node = self.insert_node("prim::GetAttr", [obj], 1)
        node.attrs["name"] = field
        out = node.output()
        out.type = obj.type.get_attribute(field)                  # type: ignore[attr-defined]
        out.set_debug_name(_normalize_attr_name(field))
        return out

    def insert_unchecked_cast(self, value: Value, type_: IRType) -> Value:
        node = self.insert_node("prim::unchecked_cast", [value], 1)
        node.output().type = type_
        return node.output()

    def insert_function_constant(self, fn: Any) -> Value:
        node = self.insert_node("prim::Constant", [], 1)
        node.attrs["name"] = fn.name
        node.output().type = FunctionType.named(fn.qualified_name, fn)
        return node.output()

    def insert_op(self, kind: str, inputs: Sequence[Value], span: Optional[Span]) -> Value:
        return self.emit_builtin_call(kind, [NamedValue(span, None, v) for v in inputs], [], span)

    def emit_builtin_call(self, kind: str, args: Sequence[NamedValue],
                          kwargs: Sequence[NamedValue], span: Optional[Span],
                          self_value: Optional[NamedValue] = None,
                          range_for_nodes: bool = True) -> Value:
        """Pick the overload of ``kind`` the arguments fit and emit it (see
        :mod:`.schema_match`); a TorchScript builtin function is inlined instead."""
        from .builtin_functions import builtin_function_schemas, inline_builtin_function
        schemas = builtin_schemas(kind)
        functions = builtin_function_schemas(kind)
        if not schemas and not functions:
            raise error(span, f"Unknown builtin op: {kind}.\nCould not find any similar ops to "
                              f"{kind}. This op may not exist or may not be currently supported "
                              "in TorchScript.\n")
        index, matched = match_schemas(self, schemas + functions, span, args, kwargs,
                                       self_value)
        if index >= len(schemas):
            return inline_builtin_function(self, matched)
        node = self.insert_node(kind, matched.inputs, len(matched.return_types),
                                span if range_for_nodes else None)
        node.schema = matched.schema.source
        for out, t in zip(node.outputs, matched.return_types):
            out.type = t
        if len(node.outputs) == 1:
            return node.output()
        return self.create_tuple(node.outputs)

    # ---- globals that are not Python names (TorchScript's builtin table) ---------------------
    def builtin_global(self, name: str) -> Optional[SugaredValue]:
        maker = _GLOBALS.get(name)
        return maker() if maker is not None else None

    # ---- frames --------------------------------------------------------------------------------
    def push_frame(self, block: Block) -> None:
        self.env = Environment(self, block, self.env)

    def pop_frame(self) -> Environment:
        env = self.env
        self.env = env.next                                        # type: ignore[union-attr]
        return env                                                 # type: ignore[return-value]

    # ---- the function ------------------------------------------------------------------------
    def emit_def(self) -> Graph:
        """Emit the whole function; returns the (pre-SSA) graph."""
        fdef = self.parsed.fdef
        block = self.graph.block
        self.push_frame(block)
        args = list(fdef.args.posonlyargs) + list(fdef.args.args) + list(fdef.args.kwonlyargs)
        if self.self_type is not None:
            if not args:
                raise error(self.span(fdef), "methods must have a self argument")
            self_arg = args.pop(0)
            value = self.graph.add_input(self_arg.arg, self.self_type)
            self.env.set_sugared_var(self.span(self_arg), self_arg.arg,  # type: ignore
                                     self.self_sugar(value), None)     # type: ignore[misc]
        for arg, formal in zip(args, self.schema.arguments):
            value = self.graph.add_input(None, formal.type)
            if _meaningful(arg.arg):
                value.set_debug_name(arg.arg)
            self.env.set_var(self.span(arg), arg.arg, value)       # type: ignore[union-attr]
        self.emit_statements(fdef.body)
        self.handle_maybe_no_return(fdef, block)
        placeholder = self.insert_node("prim::Uninitialized", [], 1)
        placeholder.output().type = self.merged_return              # type: ignore[assignment]
        block.register_output(placeholder.output())
        self.pop_frame()
        return self.graph

    def handle_maybe_no_return(self, fdef: ast.FunctionDef, block: Block) -> None:
        if block not in self.exit_blocks:
            declared = self.declared_return
            if declared is not None and declared != NoneType:
                raise error(self.span(fdef), "Function was not annotated as having type None, "
                                             "but does not return along all paths")
            with self.at(block):
                self.emit_return_value(None, self.span(fdef), self.span(fdef))
        elif self.merged_return is None:
            self.merged_return = self.declared_return or NoneType

    # ---- statements ----------------------------------------------------------------------------
    def emit_statements(self, stmts: Sequence[ast.stmt]) -> None:
        for stmt in stmts:
            update_pending_range(self.span(stmt))
            method = getattr(self, "stmt_" + type(stmt).__name__)
            method(stmt)
            if self.env.block in self.exit_blocks:                 # type: ignore[union-attr]
                return

    def stmt_Pass(self, stmt: ast.Pass) -> None:
        pass

    def stmt_Expr(self, stmt: ast.Expr) -> None:
        self.emit_sugared_expr(stmt.value, 0)

    def stmt_Return(self, stmt: ast.Return) -> None:
        value_span = self.span(stmt.value) if stmt.value is not None else \
            self.ranges.token(stmt, len("return"))
        self.emit_return_value(stmt.value, value_span, self.span(stmt))

    def emit_return_value(self, node: Optional[ast.expr], value_span: Span, span: Span) -> None:
        result_type = self.declared_return
        if node is None:
            result = self.insert_constant(None, value_span)
        else:
            result = self.emit_expr(node, result_type)
        if result_type is not None:
            if not (isinstance(result_type, TensorType) and result.type == NoneType):
                result = try_convert_to_type(self, span, result_type, result, True)
            if not is_subtype(result.type, result_type):
                raise error(span, f"Return value was annotated as having type "
                                  f"{result_type.annotation_str()} but is actually of type "
                                  f"{result.type.annotation_str()}")
        else:
            result_type = self.merged_return or result.type
            merged = unify(result_type, result.type)
            if merged is None:
                raise error(span, f"Previous return statement returned a value of type "
                                  f"{result_type.annotation_str()} but this return statement "
                                  f"returns a value of type {result.type.annotation_str()}")
            result_type = merged
        self.merged_return = result_type
        if result_type == AnyType and result.type != AnyType:
            result = self.insert_unchecked_cast(result, result_type)
        self.insert_node("prim::ReturnStmt", [result], 0)
        self.exit_blocks.add(self.env.block)                       # type: ignore[union-attr]

    def _check_break_continue(self, span: Span, name: str) -> None:
        if self.loop_status == NOT_IN_LOOP:
            raise error(span, f"SyntaxError: '{name}' outside loop")
        if self.loop_status == IN_UNROLLED_LOOP:
            raise error(span, "Because we emit iteration over modulelists or tuples as unrolled "
                              "loops, we do not support break or continue inside the body of "
                              "these loops")

    def stmt_Break(self, stmt: ast.Break) -> None:
        self._check_break_continue(self.span(stmt), "break")
        self.insert_node("prim::BreakStmt", [], 0, self.span(stmt))

    def stmt_Continue(self, stmt: ast.Continue) -> None:
        self._check_break_continue(self.span(stmt), "continue")
        self.insert_node("prim::ContinueStmt", [], 0, self.span(stmt))

    def stmt_Raise(self, stmt: ast.Raise) -> None:
        span = self.span(stmt)
        if stmt.exc is None:
            raise error(span, "exceptions must derive from BaseException")
        sugared = self.emit_sugared_expr(stmt.exc, 1)
        qualified: Optional[Value] = None
        if isinstance(sugared, ExceptionMessageValue):
            message, qualified = sugared.message, sugared.qualified_name
        elif isinstance(sugared, ExceptionValue):
            message = self.insert_constant("", span)
        else:
            raise error(span, "exceptions must derive from BaseException")
        if message.type != StringType:
            message = self.insert_op("aten::str", [message], None)
        args = [NamedValue(span, None, message),
                NamedValue(span, None, qualified) if qualified is not None
                else NamedValue(None, None, constant=None)]
        self.emit_builtin_call("prim::RaiseException", args, [], span)
        self.exit_blocks.add(self.env.block)                       # type: ignore[union-attr]

    def stmt_Assert(self, stmt: ast.Assert) -> None:
        span = self.span(stmt)
        cond = self.emit_cond_expr(stmt.test)
        message = stmt.msg if stmt.msg is not None else ast.Constant(value="")
        call = ast.Call(func=ast.Name(id="AssertionError"), args=[message], keywords=[])
        raise_stmt = ast.Raise(exc=call, cause=None)
        for synthetic in (call, call.func, raise_stmt) + ((message,) if stmt.msg is None else ()):
            self.ranges.set(synthetic, span)
        self.emit_if_else_blocks(span, cond, [], [raise_stmt])

    def stmt_With(self, stmt: ast.With) -> None:
        # TorchScript compiles ``with`` over objects of scripted classes (``torch.no_grad()``
        # is one, through ``prim::Enter``/``prim::Exit``); minijit does not compile classes.
        # The items are emitted first, so that errors in them (``open(...)``) read as
        # PyTorch's; a Python class there (``torch.no_grad``) is what this error is about.
        for item in stmt.items:
            try:
                self.emit_expr(item.context_expr)
            except CompilationError as e:
                if not e.message.startswith("Python value of type 'type'"):
                    raise
        raise NotSupportedError(self.ranges.token(stmt, len("with")),
                                "with statements are not supported by minijit's scripter "
                                "(TorchScript compiles context managers that are scripted "
                                "classes, such as torch.no_grad(); minijit compiles no classes)")

    def stmt_Delete(self, stmt: ast.Delete) -> None:
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                self.env.remove_var(target.id, self.span(target), True)  # type: ignore
            elif isinstance(target, ast.Subscript) and not isinstance(target.slice, ast.Slice):
                container = self.emit_expr(target.value)
                index = self.emit_expr(target.slice)
                self.insert_node("aten::Delete", [container, index], 0, self.span(target))
            else:
                raise error(self.span(target), "del statements are only supported for deleting "
                                               "list and dict items and variables")

    # ---- if --------------------------------------------------------------------------------------
    def stmt_If(self, stmt: ast.If) -> None:
        cond = self.emit_cond_expr(stmt.test)
        self.emit_if_else_blocks(self.span(stmt), cond, stmt.body, stmt.orelse)

    def insert_refinements(self, span: Span, refinements: Any) -> None:
        for r in refinements.active():
            value = self.env.get_var(r.name, span)                 # type: ignore[union-attr]
            cast = self.insert_unchecked_cast(value, r.type)
            self.env.set_var(span, r.name, cast)                   # type: ignore[union-attr]

    def emit_single_if_branch(self, block: Block, stmts: Sequence[ast.stmt],
                              refinements: Any, span: Span) -> Environment:
        self.push_frame(block)
        with self.at(block):
            self.insert_refinements(span, refinements)
            self.emit_statements(stmts)
        return self.pop_frame()

    def emit_if_else_blocks(self, span: Span, cond: CondValue, true_stmts: Sequence[ast.stmt],
                            false_stmts: Sequence[ast.stmt]) -> None:
        """``if``/``else``: emit both branches, then merge the variables they assign."""
        if cond.static_if is not None:
            if cond.static_if:
                self.insert_refinements(span, cond.refinements)
                self.emit_statements(true_stmts)
            else:
                self.insert_refinements(span, cond.refinements.Not())
                self.emit_statements(false_stmts)
            return
        node = self.insert_node("prim::If", [cond.value], 0, span)
        true_block, false_block = node.add_block(), node.add_block()
        save_true = self.emit_single_if_branch(true_block, true_stmts, cond.refinements, span)
        save_false = self.emit_single_if_branch(false_block, false_stmts,
                                                cond.refinements.Not(), span)
        true_exits = true_block in self.exit_blocks
        false_exits = false_block in self.exit_blocks
        if true_exits and false_exits:
            self.exit_blocks.add(node.owning_block)
        env = self.env
        mutated = set()
        for v in save_true.defined_variables():
            with self.at(false_block):
                if save_false.find_in_any_frame(v) is not None or false_exits:
                    mutated.add(v)
                else:
                    env.set_variable_type_error(                    # type: ignore[union-attr]
                        v, deferred_report(span, f"{v} is not defined in the false branch"))
        for v in save_false.defined_variables():
            with self.at(true_block):
                if save_true.find_in_any_frame(v) is not None or true_exits:
                    mutated.add(v)
                else:
                    env.set_variable_type_error(                    # type: ignore[union-attr]
                        v, deferred_report(span, f"{v} is not defined in the true branch"))
        for x in sorted(mutated):
            tv = fv = None
            if not true_exits:
                with self.at(true_block):
                    tv = save_true.get_var(x, span)
            if not false_exits:
                with self.at(false_block):
                    fv = save_false.get_var(x, span)
            if true_exits and false_exits:
                continue
            if true_exits:
                tv = self._uninitialized_store(true_block, x, fv.type)  # type: ignore
            elif false_exits:
                fv = self._uninitialized_store(false_block, x, tv.type)  # type: ignore
            # TorchScript looks the variable up once more here (a Load after the If): an
            # annotated Optional/Union variable may take either branch's type.
            outer = env.find_in_any_frame(x)                       # type: ignore[union-attr]
            outer_value = as_simple(outer)
            lenient = outer_value is not None and \
                outer_value.type.kind in ("Union", "Optional", "Scalar")
            unified = unify(tv.type, fv.type)                      # type: ignore[union-attr]
            if unified is None and lenient:
                unified = UnionType.create([tv.type, fv.type])     # type: ignore[union-attr]
            if unified is None:
                message = (f"Type mismatch: {x} is set to type {tv.type.annotation_str()} in "
                           f"the true branch and type {fv.type.annotation_str()} in the false "
                           "branch")
                if save_true.find_in_parent_frame(x) is not None or \
                        save_false.find_in_parent_frame(x) is not None:
                    raise error(span, message)
                env.set_variable_type_error(x, deferred_report(span, message))  # type: ignore
                continue
            env.set_type(x, unified)                               # type: ignore[union-attr]

    def _uninitialized_store(self, block: Block, name: str, type_: IRType) -> Value:
        uninit = self.graph.create_node("prim::Uninitialized", [], 1)
        uninit.output().type = type_
        uninit.insert_before(block.return_node)
        store = self.graph.create_node("prim::Store", [uninit.output()], 0)
        store.attrs["name"] = name
        store.insert_before(block.return_node)
        return uninit.output()

    # ---- loops ---------------------------------------------------------------------------------
    def stmt_While(self, stmt: ast.While) -> None:
        self.emit_loop_common(self.span(stmt), lambda: self.emit_statements(stmt.body), None,
                              None, stmt.test)

    def stmt_For(self, stmt: ast.For) -> None:
        self.emit_for(stmt.target, stmt.iter, self.span(stmt),
                      lambda: self.emit_statements(stmt.body))

    def emit_for(self, target: ast.expr, iterable_expr: ast.expr, span: Span,
                 emit_body: Callable[[], None]) -> None:
        sugared = self.emit_sugared_expr(iterable_expr, 1)
        iterable = sugared.iter(span, self)
        if not iterable.should_emit_unrolled():
            self.emit_loop_common(span, emit_body, iterable, [target], None)
        else:
            self.emit_unrolled_loop(span, emit_body, iterable, [target])

    def emit_loop_common(self, span: Span, emit_body: Callable[[], None],
                         iterable: Optional[SugaredValue], targets: Optional[List[ast.expr]],
                         cond: Optional[ast.expr]) -> None:
        """A ``prim::Loop`` with a body block and (until SSA) a condition block."""
        if iterable is not None:
            max_trip = iterable.len(span, self)
        else:
            max_trip = self.materialize_constant(INT64_MAX, span)
        node = self.insert_node("prim::Loop", [], 0, span)
        body = node.add_block()
        cond_block = node.add_block()
        self.push_frame(cond_block)
        if cond is not None:
            with self.at(cond_block):
                out = self.emit_to_bool(self.span(cond), self.emit_expr(cond))
        else:
            with self.at(node):
                out = self.insert_constant(True, span)
        cond_block.register_output(out)
        self.pop_frame()
        node.add_input(max_trip)
        saved_status, self.loop_status = self.loop_status, IN_LOOP
        try:
            trip_count = body.add_input(None, IntType)
            self.push_frame(body)
            with self.at(body):
                if iterable is not None and targets:
                    element = iterable.getitem(span, self, trip_count).as_value(span, self)
                    self.validate_assign_lhs(targets, span)
                    self.emit_exprs_assign(targets, [SimpleValue(element)], span, 1)
                emit_body()
            self.pop_frame()
        finally:
            self.loop_status = saved_status

    def emit_unrolled_loop(self, span: Span, emit_body: Callable[[], None],
                           iterable: SugaredValue, targets: List[ast.expr]) -> None:
        length = iterable.static_len()
        saved_status, self.loop_status = self.loop_status, IN_UNROLLED_LOOP
        try:
            for i in range(length or 0):
                index = self.materialize_constant(i, span)
                item = iterable.getitem(span, self, index)
                self.emit_exprs_assign(targets, [item], self.span(targets[0]), 1)
                emit_body()
        finally:
            self.loop_status = saved_status

    # ---- assignment ----------------------------------------------------------------------------


def _meaningful(name: str) -> bool:
    from .environment import meaningful_name
    return meaningful_name(name)


def _magic_cast(name: str, type_: IRType, kind: str) -> Callable[[], SugaredValue]:
    return lambda: MagicMethod(name, CastValue(type_, kind))


# TorchScript's table of globals that are resolved before Python names (ir_emitter.cpp).
_GLOBALS: Dict[str, Callable[[], SugaredValue]] = {
    "print": PrintValue,
    "tuple": lambda: SpecialForm("prim::TupleConstruct"),
    "float": _magic_cast("__float__", FloatType, "aten::Float"),
    "int": _magic_cast("__int__", IntType, "aten::Int"),
    "bool": _magic_cast("__bool__", BoolType, "aten::Bool"),
    "str": _magic_cast("__str__", StringType, "aten::str"),
    "getattr": lambda: SpecialForm("prim::GetAttr"),
    "hasattr": lambda: SpecialForm("prim::HasAttr"),
    "isinstance": lambda: SpecialForm("prim::isinstance"),
    "len": lambda: MagicMethod("__len__", BuiltinFunction("aten::len")),
    "min": lambda: BuiltinFunction("prim::min"),
    "max": lambda: BuiltinFunction("prim::max"),
    "abs": lambda: BuiltinFunction("prim::abs"),
    "all": lambda: BuiltinFunction("aten::all"),
    "any": lambda: BuiltinFunction("aten::any"),
    "sum": lambda: BuiltinFunction("aten::sum"),
    "pow": lambda: BuiltinFunction("aten::pow"),
    "round": lambda: MagicMethod("__round__", BuiltinFunction("aten::round")),
    "list": lambda: SpecialForm("prim::list"),
    "dict": lambda: SpecialForm("prim::dict"),
    "range": lambda: SpecialForm("prim::range"),
    "zip": lambda: SpecialForm("prim::zip"),
    "enumerate": lambda: SpecialForm("prim::enumerate"),
    "sorted": lambda: BuiltinFunction("aten::sorted"),
    "AssertionError": lambda: ExceptionValue("AssertionError"),
}
