"""The IR emitter, expressions part (a mixin of :class:`~.emitter.FunctionEmitter`).

Every expression is emitted through :meth:`ExprEmitter.emit_sugared_expr`, which returns a
:class:`~.sugar.SugaredValue`; :meth:`ExprEmitter.emit_expr` then asks it for an IR value.
Names, attributes, calls and subscripts can be sugared (``torch.tanh``, ``self.linear``,
``range(3)``); everything else is a plain value.

Operators follow Python's data model as TorchScript does: ``a + b`` calls the magic method
``__add__`` of a class, and otherwise the builtin ``aten::add``, whose overload is chosen by
:mod:`.schema_match`.  ``and``/``or`` short-circuit into nested ``prim::If`` nodes, and
conditions (``if`` tests) are :class:`~.environment.CondValue` s that carry ``Optional``
refinements (``x is not None``) into the branches.
"""
from __future__ import annotations

import ast
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ...ops.registry import Tag, ops_for_kind
from ..ir.graph import Node, Value
from ..ir.types import (AnyType, BoolType, DictType, IntType, IRType, ListType, NoneType,
                        OptionalType, StringType, TensorType, TupleType, UnionType, unify)
from .annotations import type_from_ast
from .environment import CondValue, Refinement, RefinementSet, as_simple
from .errors import Span, error, update_pending_range
from .schema_match import NamedValue, is_subtype, try_convert_to_type
from .sugar import (BuiltinFunction, IterableTree, MagicMethod, RangeValue, SimpleValue,
                    SpecialForm, SugaredValue)

__all__ = ["ExprEmitter"]

_BINARY = {ast.Add: ("aten::add", "__add__"), ast.Sub: ("aten::sub", "__sub__"),
           ast.Mult: ("aten::mul", "__mul__"), ast.Div: ("aten::div", "__truediv__"),
           ast.Mod: ("aten::remainder", "__mod__"), ast.Pow: ("aten::pow", "__pow__"),
           ast.BitAnd: ("aten::__and__", "__and__"), ast.BitOr: ("aten::__or__", "__or__"),
           ast.BitXor: ("aten::__xor__", "__xor__"),
           ast.LShift: ("aten::__lshift__", "__lshift__"),
           ast.RShift: ("aten::__rshift__", "__rshift__")}
_DIRECT = {ast.FloorDiv: "aten::floordiv", ast.MatMult: "aten::matmul"}
_COMPARE = {ast.Eq: ("aten::eq", "__eq__"), ast.NotEq: ("aten::ne", "__ne__"),
            ast.Lt: ("aten::lt", "__lt__"), ast.Gt: ("aten::gt", "__gt__"),
            ast.LtE: ("aten::le", "__le__"), ast.GtE: ("aten::ge", "__ge__"),
            ast.In: ("aten::__contains__", "__contains__")}
ALWAYS, MAYBE, NEVER = range(3)


def _is_none_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _can_be_none(v: Value) -> int:
    if v.type == NoneType:
        return ALWAYS
    if isinstance(v.type, OptionalType):
        return MAYBE
    return NEVER


class ExprEmitter:
    """Expression emission (mixed into :class:`~.emitter.FunctionEmitter`)."""

    # provided by FunctionEmitter
    env: Any
    graph: Any
    resolver: Any

    # ---- entry points --------------------------------------------------------------------------
    def emit_expr(self, node: ast.expr, type_hint: Optional[IRType] = None) -> Value:
        span = self.span(node)                                     # type: ignore[attr-defined]
        update_pending_range(span)
        value = self.emit_sugared_expr(node, 1, type_hint).as_value(span, self)
        if type_hint == AnyType and value.type != AnyType:
            value = self.insert_unchecked_cast(value, type_hint)   # type: ignore[attr-defined]
        return value

    def emit_sugared_expr(self, node: ast.expr, n_binders: int,
                          type_hint: Optional[IRType] = None) -> SugaredValue:
        if isinstance(node, ast.Name):
            return self.env.get_sugared_var(node.id, self.span(node))  # type: ignore
        if isinstance(node, ast.Attribute):
            base = self.emit_sugared_expr(node.value, 1)
            return base.attr(self.span(node), self, node.attr)     # type: ignore[attr-defined]
        if isinstance(node, ast.Call):
            return self.emit_apply_expr(node, n_binders, type_hint)
        if isinstance(node, ast.Subscript):
            return self.emit_subscript(node, type_hint)
        return SimpleValue(self.emit_simple_expr(node, type_hint))

    def get_named_values(self, nodes: Sequence[ast.expr], maybe_unpack: bool) -> List[NamedValue]:
        values = []
        for node in nodes:
            if maybe_unpack and isinstance(node, ast.Starred):
                span = self.span(node)                             # type: ignore[attr-defined]
                entries = self.emit_sugared_expr(node.value, 1).as_tuple(span, self)
                values.extend(NamedValue(span, None, e.as_value(span, self)) for e in entries)
            else:
                values.append(NamedValue(self.span(node), None,    # type: ignore[attr-defined]
                                         self.emit_expr(node)))
        return values

    def get_values(self, nodes: Sequence[ast.expr], maybe_unpack: bool) -> List[Value]:
        return [nv.get(self) for nv in self.get_named_values(nodes, maybe_unpack)]

    # ---- calls -----------------------------------------------------------------------------------
    def emit_apply_expr(self, call: ast.Call, n_binders: int,
                        type_hint: Optional[IRType] = None) -> SugaredValue:
        sugared = self.emit_sugared_expr(call.func, 1)
        span = self.span(call.func)                                # type: ignore[attr-defined]
        if isinstance(sugared, SpecialForm):
            return self.emit_apply_special_form(sugared, call, type_hint)
        args = self.get_named_values(call.args, True)
        kwargs = [NamedValue(self.span(kw), kw.arg, self.emit_expr(kw.value))  # type: ignore
                  for kw in call.keywords]
        return sugared.call(span, self, args, kwargs, n_binders)

    def _check_num_inputs(self, call: ast.Call, expected: int) -> None:
        name = call.func.id if isinstance(call.func, ast.Name) else \
            call.func.attr if isinstance(call.func, ast.Attribute) else "call"
        span = self.span(call)                                     # type: ignore[attr-defined]
        if len(call.args) != expected:
            raise error(span, f"{name} expected exactly {expected} arguments but found "
                              f"{len(call.args)}")
        if call.keywords:
            raise error(span, f"{name} takes no keyword arguments")

    def emit_apply_special_form(self, form: SpecialForm, call: ast.Call,
                                type_hint: Optional[IRType]) -> SugaredValue:
        kind = form.form
        span = self.span(call)                                     # type: ignore[attr-defined]
        if kind == "prim::annotate":
            self._check_num_inputs(call, 2)
            type_ = type_from_ast(call.args[0], self.span)         # type: ignore[attr-defined]
            value = try_convert_to_type(self, span, type_, self.emit_expr(call.args[1], type_),
                                        True)
            if not is_subtype(value.type, type_):
                args_span = self.span(call.args[0]).merge(self.span(call.args[1]))  # type: ignore
                raise error(args_span, f"expected an expression of type "
                                       f"{type_.annotation_str()} but found "
                                       f"{value.type.annotation_str()}\n")
            if isinstance(type_, OptionalType) and value.type == NoneType:
                value = self.insert_constant(None, None, type_)    # type: ignore[attr-defined]
            return SimpleValue(value)
        if kind == "prim::unchecked_cast":
            self._check_num_inputs(call, 2)
            type_ = type_from_ast(call.args[0], self.span)         # type: ignore[attr-defined]
            value = self.emit_expr(call.args[1])
            if value.node.kind != "prim::unchecked_cast" or value.type != type_:
                value = self.insert_unchecked_cast(value, type_)   # type: ignore[attr-defined]
            return SimpleValue(value)
        if kind == "prim::GetAttr":
            self._check_num_inputs(call, 2)
            obj = self.emit_sugared_expr(call.args[0], 1)
            selector = call.args[1]
            if not (isinstance(selector, ast.Constant) and isinstance(selector.value, str)):
                raise error(span, "getattr's second argument must be a string literal")
            return obj.attr(span, self, selector.value)
        if kind == "prim::HasAttr":
            self._check_num_inputs(call, 2)
            return SimpleValue(self.emit_has_attr(call.args[0], call.args[1]).value)
        if kind == "prim::isinstance":
            self._check_num_inputs(call, 2)
            return SimpleValue(self.emit_is_instance(call.args[0], call.args[1]).value)
        if kind == "prim::TupleConstruct":
            self._check_num_inputs(call, 1)
            arg = self.emit_sugared_expr(call.args[0], 1)
            values = [v.as_value(span, self) for v in arg.as_tuple(span, self)]
            return SimpleValue(self.create_tuple(values))          # type: ignore[attr-defined]
        if kind == "prim::range":
            return RangeValue(span, self, self.get_values(call.args, True))
        if kind in ("prim::enumerate", "prim::zip"):
            return self.emit_iterable_tree(kind, call)
        if kind == "prim::list":
            return self.emit_list_call(call, type_hint)
        if kind == "prim::dict":
            if call.args or call.keywords:
                raise error(span, "dict() with arguments is not supported by minijit's scripter")
            t = type_hint if isinstance(type_hint, DictType) else \
                DictType(StringType, TensorType.get())
            node = self.insert_node("prim::DictConstruct", [], 1)  # type: ignore[attr-defined]
            node.output().type = t
            return SimpleValue(node.output())
        if kind == "prim::tolist":
            raise error(span, "Expected type hint for result of tolist()")
        raise error(span, f"{kind} is not supported by minijit's scripter")

    def emit_iterable_tree(self, kind: str, call: ast.Call) -> SugaredValue:
        span = self.span(call)                                     # type: ignore[attr-defined]
        tree = IterableTree()
        if kind == "prim::zip":
            if not call.args:
                raise error(span, "zip expected at least 1 arguments, got 0")
            for arg in call.args:
                tree.add_child(span, self, self.emit_sugared_expr(arg, 1).iter(span, self))
            return tree
        if not call.args:
            raise error(span, "enumerate expected at least 1 arguments, got 0")
        if len(call.args) > 2:
            raise error(span, f"enumerate expected at most 2 arguments, got {len(call.args)}")
        inputs = []
        if len(call.args) == 2:
            inputs.append(self.emit_sugared_expr(call.args[1], 1).as_value(span, self))
        from .emitter import INT64_MAX
        inputs.append(self.materialize_constant(INT64_MAX, span))  # type: ignore[attr-defined]
        iterable = self.emit_sugared_expr(call.args[0], 1).iter(span, self)
        tree.add_child(span, self, RangeValue(span, self, inputs, iterable.static_len()))
        tree.add_child(span, self, iterable)
        return tree

    def emit_list_call(self, call: ast.Call, type_hint: Optional[IRType]) -> SugaredValue:
        span = self.span(call)                                     # type: ignore[attr-defined]
        if not call.args:
            t = type_hint if type_hint is not None else ListType(TensorType.get())
            if not isinstance(t, ListType):
                raise error(span, f"Expected list type annotation for list(), found "
                                  f"{t.annotation_str()}")
            return SimpleValue(self.create_list(t.elem, []))       # type: ignore[attr-defined]
        self._check_num_inputs(call, 1)
        source = self.emit_sugared_expr(call.args[0], 1)
        simple = as_simple(source)
        if simple is not None and (isinstance(simple.type, ListType) or
                                   simple.type == StringType):
            return SimpleValue(self.insert_op("aten::list", [simple], span))  # type: ignore
        raise error(span, "list() of this iterable is not supported by minijit's scripter")

    # ---- simple expressions --------------------------------------------------------------------
    def emit_simple_expr(self, node: ast.expr, type_hint: Optional[IRType] = None) -> Value:
        span = self.span(node)                                     # type: ignore[attr-defined]
        if isinstance(node, ast.BinOp):
            op = type(node.op)
            if op in _DIRECT:
                args = self.get_named_values([node.left, node.right], False)
                return self.emit_builtin_call(_DIRECT[op], args, [], span)  # type: ignore
            if op is ast.Mod:
                left = self.emit_sugared_expr(node.left, 0).as_value(self.span(node.left), self)
                if left.type == StringType:
                    raise error(span, "%-formatting of strings is not supported by minijit's "
                                      "scripter")
            kind, magic = _BINARY[op]
            return self.emit_binary_op(node, kind, magic, [node.left, node.right])
        if isinstance(node, ast.Compare):
            desugared = self.desugar_compare(node)
            if desugared is not node:
                return self.emit_simple_expr(desugared, type_hint)
            op = type(node.ops[0])
            if op in (ast.Is, ast.IsNot):
                return self.emit_cond_expr(node).value
            kind, magic = _COMPARE[op]
            return self.emit_binary_op(node, kind, magic, [node.left, node.comparators[0]],
                                       swap=op is ast.In)
        if isinstance(node, ast.BoolOp):
            return self.emit_cond_expr(node).value
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return self.emit_cond_expr(node).value
            if isinstance(node.op, ast.USub):
                return self.emit_unary_op(node, "__neg__", "aten::neg")
            return self.emit_unary_op(node, "__invert__", "aten::bitwise_not")
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or value is None or isinstance(value, str):
                return self.insert_constant(value, span)           # type: ignore[attr-defined]
            if isinstance(value, (int, float)):
                return self.materialize_constant(value, span)      # type: ignore[attr-defined]
            raise error(span, f"Cannot emit expr for: {ast.unparse(node)}")
        if isinstance(node, ast.IfExp):
            return self.emit_ternary_if(node, type_hint)
        if isinstance(node, ast.List):
            return self.emit_list_literal(node, type_hint)
        if isinstance(node, ast.Tuple):
            return self.create_tuple(self.get_values(node.elts, True))  # type: ignore
        if isinstance(node, ast.Dict):
            return self.emit_dict_literal(node, type_hint)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self.emit_list_comprehension(node, type_hint)
        if isinstance(node, ast.JoinedStr):
            return self.emit_f_string(node)
        if isinstance(node, ast.Starred):
            raise error(span, "Unexpected starred expansion. File a bug report")
        raise error(span, f"{type(node).__name__} expressions are not supported by minijit's "
                          "scripter")

    def emit_f_string(self, node: ast.JoinedStr) -> Value:
        """``f"a{x}b"`` is ``"a{}b".format(x)`` (TorchScript's frontend rewrites it so)."""
        span = self.ranges.token(node, 1)                          # type: ignore[attr-defined]
        text, args = "", []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                text += "{}"
                args.append(part.value)
            else:
                text += part.value                                 # type: ignore[attr-defined]
        fmt = self.insert_constant(text, span)                     # type: ignore[attr-defined]
        values = self.get_named_values(args, False)
        return self.emit_builtin_call("aten::format", values, [], span,  # type: ignore
                                      NamedValue(span, "self", fmt))

    def desugar_compare(self, node: ast.Compare) -> ast.expr:
        """``a < b < c`` → ``(a < b) and (b < c)``; ``a not in b`` → ``not (a in b)``.

        TorchScript builds exactly these trees (``b`` is emitted twice); the new nodes get the
        ranges TorchScript gives them.
        """
        if len(node.ops) == 1 and not isinstance(node.ops[0], ast.NotIn):
            return node
        cache: Dict[int, ast.expr] = self.__dict__.setdefault("_compare_cache", {})
        found = cache.get(id(node))
        if found is not None:
            return found
        operands = [node.left] + list(node.comparators)
        result: Optional[ast.expr] = None
        for lhs, op, rhs in zip(operands, node.ops, operands[1:]):
            span = self.span(lhs).merge(self.span(rhs))            # type: ignore[attr-defined]
            if isinstance(op, ast.NotIn):
                inner = ast.Compare(left=lhs, ops=[ast.In()], comparators=[rhs])
                self.ranges.set(inner, span)                       # type: ignore[attr-defined]
                cmp: ast.expr = ast.UnaryOp(op=ast.Not(), operand=inner)
            else:
                cmp = ast.Compare(left=lhs, ops=[op], comparators=[rhs])
            self.ranges.set(cmp, span)                             # type: ignore[attr-defined]
            if result is None:
                result = cmp
            else:
                joined = ast.BoolOp(op=ast.And(), values=[result, cmp])
                self.ranges.set(joined, self.span(result).merge(span))  # type: ignore
                result = joined
        cache[id(node)] = result                                   # type: ignore[assignment]
        self.__dict__.setdefault("_keep_alive", []).append(node)
        return result                                              # type: ignore[return-value]

    def _pairwise(self, node: ast.BoolOp) -> Tuple[ast.expr, ast.expr]:
        """``a and b and c`` is ``(a and b) and c`` in TorchScript's tree."""
        if len(node.values) == 2:
            return node.values[0], node.values[1]
        left = ast.BoolOp(op=node.op, values=node.values[:-1])
        span = self.span(node.values[0])                           # type: ignore[attr-defined]
        for v in node.values[1:-1]:
            span = span.merge(self.span(v))                        # type: ignore[attr-defined]
        self.ranges.set(left, span)                                # type: ignore[attr-defined]
        self.__dict__.setdefault("_keep_alive", []).append(left)
        return left, node.values[-1]

    def emit_binary_op(self, node: ast.expr, kind: str, magic: str, operands: List[ast.expr],
                       swap: bool = False) -> Value:
        span = self.span(node)                                     # type: ignore[attr-defined]
        args = self.get_named_values(operands, False)
        if swap:
            args[0], args[1] = args[1], args[0]
        if kind == "aten::add" and all(isinstance(a.get(self).type, TupleType) for a in args):
            items = self.tuple_unpack(args[0].get(self)) + \
                self.tuple_unpack(args[1].get(self))               # type: ignore[attr-defined]
            return self.create_tuple(items)                        # type: ignore[attr-defined]
        result = MagicMethod(magic, BuiltinFunction(kind)).call(span, self, args, [], 0)
        return result.as_value(span, self)

    def emit_unary_op(self, node: ast.UnaryOp, magic: str, kind: str) -> Value:
        span = self.span(node)                                     # type: ignore[attr-defined]
        args = self.get_named_values([node.operand], False)
        value = MagicMethod(magic, BuiltinFunction(kind)).call(span, self, args, [], 0) \
            .as_value(span, self)
        if value.node.kind != kind:
            return value
        folded = self.run_node_if_inputs_constant(value.node)
        if folded is None:
            return value
        return self.insert_constant(folded, span)                  # type: ignore[attr-defined]

    def run_node_if_inputs_constant(self, node: Node) -> Any:
        """Run a scalar op whose inputs are all constants (TorchScript folds ``-1``)."""
        from .constant_folding import fold_node
        results = fold_node(node)
        return results[0] if results is not None and len(results) == 1 else None

    # ---- conditions ------------------------------------------------------------------------------
    def emit_to_bool(self, span: Span, value: Value) -> Value:
        try:
            cast = self.env.get_sugared_var("bool", span)
            out = as_simple(cast.call(span, self, [NamedValue(span, None, value)], [], 0))
        except Exception:  # noqa: BLE001 - TorchScript reports any failure the same way
            raise error(span, f"Could not cast value of type {value.type.annotation_str()} to "
                              "bool") from None
        if out is None or not is_subtype(out.type, BoolType):
            found = out.type.annotation_str() if out is not None else "None"
            raise error(span, f"expected a bool expression for condition but found {found}")
        return out

    def emit_cond_expr(self, node: ast.expr) -> CondValue:
        span = self.span(node)                                     # type: ignore[attr-defined]
        if isinstance(node, ast.Compare):
            desugared = self.desugar_compare(node)
            if desugared is not node:
                return self.emit_cond_expr(desugared)
        if isinstance(node, ast.BoolOp):
            first, second = self._pairwise(node)
            return self.emit_short_circuit_logical(span, first, second,
                                                   isinstance(node.op, ast.Or))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.emit_cond_expr(node.operand)
            result = self.emit_builtin_call("aten::__not__",       # type: ignore[attr-defined]
                                            [NamedValue(span, None, inner.value)], [], span)
            static = None if inner.static_if is None else not inner.static_if
            return CondValue(result, inner.refinements.Not(), static)
        if isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.Is, ast.IsNot)):
            return self.emit_is_expr(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "isinstance":
                self._check_num_inputs(node, 2)
                return self.emit_is_instance(node.args[0], node.args[1])
            if node.func.id == "hasattr":
                self._check_num_inputs(node, 2)
                return self.emit_has_attr(node.args[0], node.args[1])
        out = self.emit_to_bool(span, self.emit_expr(node))
        static: Optional[bool] = None
        if out.node.kind == "prim::Constant" and "value" in out.node.attrs:
            static = bool(out.node.attrs["value"])
        return CondValue(out, RefinementSet(), static)

    def emit_is_expr(self, node: ast.Compare) -> CondValue:
        span = self.span(node)                                     # type: ignore[attr-defined]
        is_is = isinstance(node.ops[0], ast.Is)
        lhs_node, rhs_node = node.left, node.comparators[0]
        lhs = self.emit_expr(lhs_node)
        rhs = self.emit_expr(rhs_node)
        lhs_none, rhs_none = _can_be_none(lhs), _can_be_none(rhs)
        if lhs_none == ALWAYS and rhs_none == ALWAYS:
            return CondValue(self.insert_constant(is_is, span), RefinementSet(), is_is)  # type: ignore
        if (lhs_none == ALWAYS and rhs_none == NEVER) or (lhs_none == NEVER and
                                                          rhs_none == ALWAYS):
            return CondValue(self.insert_constant(not is_is, span),  # type: ignore
                             RefinementSet(), not is_is)
        kind = "aten::__is__" if is_is else "aten::__isnot__"
        value = self.emit_builtin_call(kind, [NamedValue(span, None, lhs),  # type: ignore
                                              NamedValue(span, None, rhs)], [], span)
        if not _is_none_literal(rhs_node) and _is_none_literal(lhs_node):
            lhs_node, rhs_node, lhs, rhs = rhs_node, lhs_node, rhs, lhs
        refinements = RefinementSet()
        if _is_none_literal(rhs_node) and isinstance(lhs_node, ast.Name) and \
                isinstance(lhs.type, OptionalType):
            present = Refinement(lhs_node.id, lhs.type.elem)
            refinements = RefinementSet([], [present]) if is_is else RefinementSet([present], [])
        return CondValue(value, refinements, None)

    def emit_short_circuit_logical(self, span: Span, first: ast.expr, second: ast.expr,
                                   is_or: bool) -> CondValue:
        lhs = self.emit_cond_expr(first)
        rhs_box: List[CondValue] = []

        def const() -> Value:
            return self.insert_constant(is_or, span)               # type: ignore[attr-defined]

        def cont() -> Value:
            rhs_box.append(self.emit_cond_expr(second))
            return rhs_box[0].value

        if is_or:
            result = self.emit_if_expr(span, lhs, const, cont)
            rhs = rhs_box[0]
            refinements = lhs.refinements.Or(rhs.refinements)
            static = None
            if lhs.static_if is True or rhs.static_if is True:
                static = True
            elif lhs.static_if is not None and rhs.static_if is not None:
                static = lhs.static_if or rhs.static_if
        else:
            result = self.emit_if_expr(span, lhs, cont, const)
            rhs = rhs_box[0]
            refinements = lhs.refinements.And(rhs.refinements)
            static = None
            if lhs.static_if is False or rhs.static_if is False:
                static = False
            elif lhs.static_if is not None and rhs.static_if is not None:
                static = lhs.static_if and rhs.static_if
        return CondValue(result, refinements, static)

    def emit_if_expr(self, span: Span, cond: CondValue, true_fn: Callable[[], Value],
                     false_fn: Callable[[], Value]) -> Value:
        node = self.insert_node("prim::If", [cond.value], 0, span)  # type: ignore[attr-defined]
        true_block, false_block = node.add_block(), node.add_block()
        for block, refinements, fn in ((true_block, cond.refinements, true_fn),
                                       (false_block, cond.refinements.Not(), false_fn)):
            self.push_frame(block)                                 # type: ignore[attr-defined]
            with self.at(block):                                   # type: ignore[attr-defined]
                self.insert_refinements(span, refinements)         # type: ignore[attr-defined]
                block.register_output(fn())
            self.pop_frame()                                       # type: ignore[attr-defined]
        true_type, false_type = true_block.returns[0].type, false_block.returns[0].type
        unified = unify(true_type, false_type)
        if unified is None:
            raise error(span, f"if-expression's true branch has type "
                              f"{true_type.annotation_str()} but false branch has type "
                              f"{false_type.annotation_str()}")
        return node.add_output(unified)

    def emit_ternary_if(self, node: ast.IfExp, type_hint: Optional[IRType]) -> Value:
        cond = self.emit_cond_expr(node.test)
        if cond.static_if is not None:
            return self.emit_expr(node.body if cond.static_if else node.orelse, type_hint)
        return self.emit_if_expr(self.span(node), cond,            # type: ignore[attr-defined]
                                 lambda: self.emit_expr(node.body, type_hint),
                                 lambda: self.emit_expr(node.orelse, type_hint))

    def _gather_types(self, classinfo: ast.expr, out: List[IRType]) -> None:
        if isinstance(classinfo, ast.Tuple):
            for e in classinfo.elts:
                self._gather_types(e, out)
            return
        out.append(type_from_ast(classinfo, self.span))            # type: ignore[attr-defined]

    @staticmethod
    def _union_members(types: List[IRType]) -> List[IRType]:
        out: List[IRType] = []
        for t in types:
            members = t.types if isinstance(t, UnionType) else \
                [t.elem, NoneType] if isinstance(t, OptionalType) else [t]
            for m in members:
                if m not in out:
                    out.append(m)
        return out

    def emit_is_instance(self, obj: ast.expr, classinfo: ast.expr) -> CondValue:
        """``isinstance(x, T)``: statically true/false when the types decide it, else a
        ``prim::isinstance`` node; refines ``x`` in both branches."""
        value = self.emit_expr(obj)
        rhs: List[IRType] = []
        self._gather_types(classinfo, rhs)
        lhs_types = self._union_members([value.type])
        rhs_types = self._union_members(rhs)
        true_types: List[IRType] = []
        false_types: List[IRType] = []
        all_subtype = True
        for lhs in lhs_types:
            if lhs == AnyType:
                true_types.extend(rhs_types)
                false_types.append(AnyType)
                if true_types != [AnyType]:
                    all_subtype = False
                break
            found: Optional[IRType] = None
            for r in rhs_types:
                smaller = lhs if is_subtype(lhs, r) else r if is_subtype(r, lhs) else None
                if smaller is None:
                    continue
                if smaller == lhs:
                    found = lhs
                elif smaller == r:
                    found = r if found is None else (unify(found, r) or r)
            if found is not None:
                true_types.append(found)
            else:
                false_types.append(lhs)
                all_subtype = False
        true_refs: List[Refinement] = []
        false_refs: List[Refinement] = []
        if isinstance(obj, ast.Name) and true_types:
            true_refs = [Refinement(obj.id, UnionType.create(true_types))]
        if isinstance(obj, ast.Name) and false_types:
            false_refs = [Refinement(obj.id, UnionType.create(false_types))]
        refinements = RefinementSet(true_refs, false_refs)
        span = self.span(obj)                                      # type: ignore[attr-defined]
        if all_subtype:
            return CondValue(self.insert_constant(True, span), refinements, True)  # type: ignore
        if not true_types:
            return CondValue(self.insert_constant(False, span), refinements, False)  # type: ignore
        node = self.insert_node("prim::isinstance", [value], 1)    # type: ignore[attr-defined]
        node.attrs["types"] = rhs_types
        node.output().type = BoolType
        return CondValue(node.output(), refinements, None)

    def emit_has_attr(self, obj: ast.expr, attr: ast.expr) -> CondValue:
        sugared = self.emit_sugared_expr(obj, 1)
        if not (isinstance(attr, ast.Constant) and isinstance(attr.value, str)):
            raise error(self.span(attr), "hasattr's second argument must be a string literal")
        has = sugared.has_attr(self.span(obj), self, attr.value) \
            if hasattr(sugared, "has_attr") else False
        return CondValue(self.insert_constant(has, self.span(obj)),  # type: ignore
                         RefinementSet(), has)

    # ---- literals --------------------------------------------------------------------------------
    def emit_list_literal(self, node: ast.List, type_hint: Optional[IRType]) -> Value:
        values = self.get_values(node.elts, True)
        span = self.span(node)                                     # type: ignore[attr-defined]
        if not values and type_hint is None:
            empty = self.insert_node("prim::EmptyListLiteral", [], 1)  # type: ignore
            empty.output().type = ListType(TensorType.get())
            return empty.output()
        elem: IRType = TensorType.get()
        if type_hint is not None:
            if not isinstance(type_hint, ListType):
                raise error(span, f"Expected a List type hint but instead got "
                                  f"{type_hint.annotation_str()}")
            elem = type_hint.elem
        if values:
            unified: Optional[IRType] = values[0].type.unshaped()
            for v in values[1:]:
                unified = unify(unified, v.type.unshaped())         # type: ignore[arg-type]
                if unified is None:
                    break
            if unified is None:
                unified = UnionType.create([v.type for v in values])
            if type_hint is not None and not is_subtype(unified, elem):
                raise error(span, f"List type annotation `{type_hint.annotation_str()}` did not "
                                  "match the types of the given list elements, which were "
                                  f"unified to {unified.annotation_str()}")
            if type_hint is None:
                elem = unified
        return self.create_list(elem, values)                      # type: ignore[attr-defined]

    def emit_dict_literal(self, node: ast.Dict, type_hint: Optional[IRType]) -> Value:
        keys: List[Value] = []
        values: List[Value] = []
        value_type: Optional[IRType] = None
        for i, (k, v) in enumerate(zip(node.keys, node.values)):
            keys.append(self.emit_expr(k))
            values.append(self.emit_expr(v))
            if i == 0:
                value_type = values[0].type
            else:
                if keys[i - 1].type.kind != keys[i].type.kind:
                    raise error(self.span(k), f"Dict keys must contain only a single type. "  # type: ignore
                                              f"Expected: {keys[i - 1].type.annotation_str()} "
                                              f"but found {keys[i].type.annotation_str()} "
                                              "instead")
                merged = unify(value_type, values[i].type)          # type: ignore[arg-type]
                value_type = merged if merged is not None else \
                    UnionType.create([value_type, values[i].type])  # type: ignore[list-item]
        if isinstance(type_hint, DictType):
            dict_type = type_hint
        elif not keys:
            dict_type = DictType(StringType, TensorType.get())
        else:
            dict_type = DictType(keys[0].type, value_type)         # type: ignore[arg-type]
        inputs = [x for pair in zip(keys, values) for x in pair]
        out = self.insert_node("prim::DictConstruct", inputs, 1)   # type: ignore[attr-defined]
        out.output().type = dict_type
        return out.output()

    def emit_list_comprehension(self, node: ast.expr, type_hint: Optional[IRType]) -> Value:
        span = self.span(node)                                     # type: ignore[attr-defined]
        lst = self.insert_node("prim::ListConstruct", [], 1)       # type: ignore[attr-defined]
        lst.output().type = type_hint if isinstance(type_hint, ListType) else \
            ListType(TensorType.get())
        type_set = [type_hint is not None]
        scope = self.insert_node("prim::ComprehensionScope", [], 0, span)  # type: ignore
        block = scope.add_block()
        self.push_frame(block)                                     # type: ignore[attr-defined]
        gen = node.generators[0]                                   # type: ignore[attr-defined]

        def body() -> None:
            out = self.emit_expr(node.elt)                         # type: ignore[attr-defined]
            if not type_set[0]:
                lst.output().type = ListType(out.type)
                type_set[0] = True
            self.emit_builtin_call("aten::append", [NamedValue(span, None, out)], [],  # type: ignore
                                   span, NamedValue(span, "self", lst.output()))

        with self.at(block):                                       # type: ignore[attr-defined]
            self.emit_for(gen.target, gen.iter, span, body)        # type: ignore[attr-defined]
        self.pop_frame()                                           # type: ignore[attr-defined]
        return lst.output()

    # ---- subscripts --------------------------------------------------------------------------------
    @staticmethod
    def subscript_exprs(node: ast.Subscript) -> List[ast.expr]:
        index = node.slice
        if isinstance(index, ast.Tuple):
            return list(index.elts) if index.elts else [index]
        return [index]

    def emit_subscript(self, node: ast.Subscript, type_hint: Optional[IRType]) -> SugaredValue:
        sugared = self.emit_sugared_expr(node.value, 1)
        exprs = self.subscript_exprs(node)
        span = self.span(node)                                     # type: ignore[attr-defined]
        val_span = self.span(node.value)                           # type: ignore[attr-defined]
        if len(exprs) != 1:
            return SimpleValue(self.emit_multidim_slicing(span, sugared.as_value(val_span, self),
                                                          exprs))
        if isinstance(exprs[0], ast.Slice):
            if sugared.kind == "module":
                raise error(span, "slicing a module list is not supported by minijit's scripter")
            return SimpleValue(self.emit_basic_slice(span, sugared.as_value(val_span, self),
                                                     exprs))
        sliceable = sugared.as_value(val_span, self)
        index_sugar = self.emit_sugared_expr(exprs[0], 1)
        idx = index_sugar.as_value(val_span, self)
        if isinstance(sliceable.type, TupleType):
            return SimpleValue(self.emit_tuple_index(span, sugared.as_value(val_span, self), idx))
        if isinstance(sliceable.type, TensorType):
            return SimpleValue(self.emit_multidim_slicing(span, sliceable, exprs))
        return sugared.getitem(span, self, idx, type_hint)

    def emit_multidim_slicing(self, span: Span, sliceable: Value, exprs: List[ast.expr]) -> Value:
        if not isinstance(sliceable.type, TensorType):
            raise error(span, "Unsupported operation: attempted to use multidimensional indexing "
                              "on a non-tensor type")
        sliced, tensor_indices = self.emit_int_and_slice_indexing(span, sliceable, exprs)
        if not tensor_indices:
            return sliced
        indices = self.create_list_optional_tensor(tensor_indices)
        return self.emit_builtin_call("aten::index", [NamedValue(span, None, sliced),  # type: ignore
                                                      NamedValue(span, None, indices)], [], span)

    def create_list_optional_tensor(self, values: Sequence[Value]) -> Value:
        return self.create_list(OptionalType(TensorType.get()), values)  # type: ignore

    def emit_int_and_slice_indexing(self, span: Span, sliceable: Value,
                                    exprs: List[ast.expr]) -> Tuple[Value, List[Value]]:
        """``x[1:3, None, i]`` → slice/unsqueeze/select nodes; tensor indices are returned."""
        dims = [0] * len(exprs)
        values: List[Optional[Value]] = [None] * len(exprs)

        def is_dots(e: ast.expr) -> bool:
            return isinstance(e, ast.Constant) and e.value is Ellipsis

        def handle(expr: ast.expr, i: int, dim: int, reverse: bool) -> int:
            dims[i] = dim
            if isinstance(expr, ast.Slice):
                return dim - 1 if reverse else dim + 1
            self.emit_sugared_expr(expr, 1)      # TorchScript looks for slice objects first
            hint = NoneType if _is_none_literal(expr) else None
            index = self.emit_expr(expr, hint)
            if isinstance(index.type, ListType):
                raise error(span, "indexing a tensor with a list is not supported by minijit's "
                                  "scripter")
            values[i] = index
            if index.type == NoneType:
                return dim if reverse else dim + 1
            if index.type == IntType:
                return dim - 1 if reverse else dim
            if is_subtype(index.type, OptionalType(TensorType.get())):
                if reverse:
                    raise error(span, "Ellipses followed by tensor indexing is currently not "
                                      "supported")
                return dim + 1
            raise error(span, f"Unsupported operation: indexing tensor with unsupported index "
                              f"type '{index.type.annotation_str()}'. Only ints, slices, lists "
                              "and tensors are supported")

        idx, dim = 0, 0
        while idx < len(exprs):
            if is_dots(exprs[idx]):
                break
            dim = handle(exprs[idx], idx, dim, False)
            idx += 1
        rdim = -1
        for rev in range(len(exprs) - 1, idx, -1):
            if is_dots(exprs[rev]):
                raise error(span, "An index can only have a single ellipsis ('...')")
            rdim = handle(exprs[rev], rev, rdim, True)
        tensor_indices: List[Optional[Value]] = []
        for i, expr in enumerate(exprs):
            value = values[i]
            if value is None:
                if isinstance(expr, ast.Slice):
                    dim_value = self.insert_constant(dims[i], span)  # type: ignore[attr-defined]
                    sliceable = self.emit_slice(span, sliceable, dim_value, expr)
                continue
            if value.type == NoneType:
                dim_value = self.insert_constant(dims[i], span)    # type: ignore[attr-defined]
                sliceable = self.emit_builtin_call("aten::unsqueeze", [  # type: ignore
                    NamedValue(span, None, sliceable), NamedValue(span, None, dim_value)], [],
                    span)
            elif value.type == IntType:
                dim_value = self.insert_constant(dims[i], span)    # type: ignore[attr-defined]
                sliceable = self.emit_builtin_call("aten::select", [  # type: ignore
                    NamedValue(span, None, sliceable), NamedValue(span, None, dim_value),
                    NamedValue(span, None, value)], [], span)
            else:
                while len(tensor_indices) <= dims[i]:
                    tensor_indices.append(None)
                tensor_indices[dims[i]] = value
        result = []
        for t in tensor_indices:
            result.append(t if t is not None else self.insert_constant(None, None))  # type: ignore
        return sliceable, result

    def emit_basic_slice(self, span: Span, sliceable: Value, exprs: List[ast.expr]) -> Value:
        dim = self.insert_constant(0, span) if isinstance(sliceable.type, TensorType) \
            else None                                              # type: ignore[attr-defined]
        return self.emit_slice(span, sliceable, dim, exprs[0])     # type: ignore[arg-type]

    def emit_slice(self, span: Span, sliceable: Value, dim: Optional[Value],
                   node: ast.Slice) -> Value:
        start = self.emit_expr(node.lower) if node.lower is not None else None
        end = self.emit_expr(node.upper) if node.upper is not None else None
        step = self.emit_expr(node.step) if node.step is not None else None
        return self.emit_slice_op(span, sliceable, dim, start, end, step)

    def emit_slice_op(self, span: Span, sliceable: Value, dim: Optional[Value],
                      start: Optional[Value], end: Optional[Value],
                      step: Optional[Value]) -> Value:
        args = [NamedValue(span, "self", sliceable)]
        if dim is not None:
            args.append(NamedValue(None, None, dim))
        if isinstance(sliceable.type, TupleType):
            return self.emit_tuple_slice(span, sliceable, start, end, step)
        if step is None:
            step = self.insert_constant(1, span)                   # type: ignore[attr-defined]
        for name, value in (("start", start), ("end", end)):
            args.append(NamedValue(span, name, value) if value is not None
                        else NamedValue(span, name, constant=None))
        args.append(NamedValue(span, "step", step))
        return self.emit_builtin_call("aten::slice", args, [], span)  # type: ignore

    def emit_tuple_slice(self, span: Span, value: Value, start: Optional[Value],
                         end: Optional[Value], step: Optional[Value]) -> Value:
        elems = value.type.elems                                   # type: ignore[attr-defined]

        def const(v: Optional[Value], default: Any) -> Any:
            if v is None:
                return default
            c = self.constant_value(v)                             # type: ignore[attr-defined]
            if not isinstance(c, int):
                raise error(span, "tuple slice indices must be integer constants")
            return c

        items = self.tuple_unpack(value)                           # type: ignore[attr-defined]
        picked = items[slice(const(start, None), const(end, None), const(step, 1))]
        _ = elems
        return self.create_tuple(picked)                           # type: ignore[attr-defined]

    def emit_tuple_index(self, span: Span, value: Value, idx: Value) -> Value:
        elems = value.type.elems                                   # type: ignore[attr-defined]
        if idx.type != IntType:
            raise error(span, "tuple index must be an integer")
        index = self.constant_value(idx)                           # type: ignore[attr-defined]
        if index is None:
            if not elems or any(e != elems[0] for e in elems):
                raise error(span, f"Cannot index into a {value.type.annotation_str()} with a "
                                  "non-integer literal because we cannot resolve the output type")
            out_type = elems[0]
        else:
            adjusted = index + len(elems) if index < 0 else index
            if not 0 <= adjusted < len(elems):
                raise error(span, f"Tuple index out of range. Tuple is length {len(elems)} and "
                                  f"index is {index}")
            out_type = elems[adjusted]
        node = self.insert_node("prim::TupleIndex", [value, idx], 1)  # type: ignore
        node.output().type = out_type
        return node.output()


_ = (Tag, ops_for_kind, Refinement)
