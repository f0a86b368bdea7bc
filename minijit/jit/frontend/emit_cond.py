"""The IR emitter, conditions part (a mixin of :class:`~.emit_expr.ExprEmitter`).

A condition (the test of ``if``/``while``/``assert``, an operand of ``and``/``or``/``not``) is
emitted as a :class:`~.environment.CondValue`: a ``bool`` value, the ``Optional`` refinements
that hold when it is true and when it is false, and its static value when it has one.

* ``x is None`` / ``x is not None`` refine ``x`` in the branches (``prim::unchecked_cast``
  there), and are decided at compile time when ``x`` cannot be (or must be) None;
* ``isinstance(x, T)`` is decided at compile time from ``x``'s static type, except for
  ``Optional``/``Union``/``Any`` values, which get a ``prim::isinstance`` node;
* ``a and b`` / ``a or b`` become a ``prim::If`` that evaluates ``b`` only when needed, and
  their refinements combine (both for ``and`` when true, either for ``or`` when false);
* anything else is converted with ``bool(...)`` (``aten::Bool`` for a tensor).
"""
from __future__ import annotations

import ast
from typing import Callable, List, Optional

from ..ir.graph import Value
from ..ir.types import AnyType, BoolType, IRType, NoneType, OptionalType, UnionType, unify
from .annotations import type_from_ast
from .environment import CondValue, Refinement, RefinementSet, as_simple
from .errors import Span, error
from .schema_match import NamedValue, is_subtype

__all__ = ["ConditionEmitter", "ALWAYS", "MAYBE", "NEVER"]

ALWAYS, MAYBE, NEVER = range(3)


def _is_none_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _can_be_none(v: Value) -> int:
    if v.type == NoneType:
        return ALWAYS
    if isinstance(v.type, OptionalType):
        return MAYBE
    return NEVER


class ConditionEmitter:
    """Conditions, ``is``/``is not``, ``isinstance``/``hasattr``, short-circuit logic and
    ternaries: everything that produces or consumes a :class:`CondValue`."""

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
