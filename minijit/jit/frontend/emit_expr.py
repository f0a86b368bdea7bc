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
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..ir.graph import Node, Value
from ..ir.types import (AnyType, DictType, IRType, ListType, NoneType,
                        OptionalType, StringType, TensorType, TupleType, UnionType, unify)
from .annotations import type_from_ast
from .emit_cond import ConditionEmitter
from .emit_subscript import SubscriptEmitter
from .environment import as_simple
from .errors import error, update_pending_range
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


class ExprEmitter(ConditionEmitter, SubscriptEmitter):
    """Expression emission (mixed into :class:`~.emitter.FunctionEmitter`); conditions and
    subscripts are in their own mixins (``emit_cond.py``, ``emit_subscript.py``)."""

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
        if kind == "prim::Uninitialized":
            # Only in archive code (``uninitialized(Optional[Tensor])``, printed for a value
            # no path defines: see ``serialization/script_bridge.py``); the type is a type
            # expression, as ``annotate``'s.
            self._check_num_inputs(call, 1)
            type_ = type_from_ast(call.args[0], self.span)         # type: ignore[attr-defined]
            node = self.insert_node("prim::Uninitialized", [], 1)  # type: ignore[attr-defined]
            node.output().type = type_
            return SimpleValue(node.output())
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
        if isinstance(node, ast.DictComp):
            return self.emit_dict_comprehension(node, type_hint)
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

    def emit_dict_comprehension(self, node: ast.DictComp, type_hint: Optional[IRType]) -> Value:
        """``{k: v for x in xs}``: an empty dict filled by ``aten::_set_item`` in a loop, in a
        ``prim::ComprehensionScope`` so that ``x`` does not leak (``Dict[str, Tensor]`` until
        the first key and value give the types, unless annotated)."""
        span = self.span(node)                                     # type: ignore[attr-defined]
        dct = self.insert_node("prim::DictConstruct", [], 1)       # type: ignore[attr-defined]
        dct.output().type = DictType(StringType, TensorType.get())
        type_set = [False]
        if type_hint is not None:
            if not isinstance(type_hint, DictType):
                raise error(span, "Expected an annotation of type Dict but got "
                                  f"{type_hint.annotation_str()}")
            dct.output().type = type_hint
            type_set[0] = True
        scope = self.insert_node("prim::ComprehensionScope", [], 0, span)  # type: ignore
        block = scope.add_block()
        self.push_frame(block)                                     # type: ignore[attr-defined]
        gen = node.generators[0]

        def body() -> None:
            key = self.emit_expr(node.key)
            value = self.emit_expr(node.value)
            if not type_set[0]:
                dct.output().type = DictType(key.type, value.type)
                type_set[0] = True
            self.emit_builtin_call("aten::_set_item", [NamedValue(span, "self", dct.output()),  # type: ignore
                                                       NamedValue(span, None, key),
                                                       NamedValue(span, None, value)], [], span)

        with self.at(block):                                       # type: ignore[attr-defined]
            self.emit_for(gen.target, gen.iter, span, body)        # type: ignore[attr-defined]
        self.pop_frame()                                           # type: ignore[attr-defined]
        return dct.output()

    # ---- subscripts --------------------------------------------------------------------------------
