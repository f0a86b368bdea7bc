"""The IR emitter, assignments part (a mixin of :class:`~.emitter.FunctionEmitter`).

An assignment stores the value under each target name (``prim::Store``, made SSA later):

* ``a = b = e`` evaluates ``e`` once (into a temporary name) and assigns it to each target;
  ``x: T = e`` emits ``e`` with ``T`` as its type hint, so ``xs: List[int] = []`` has a type;
* ``a, b = t`` unpacks a tuple (or another sugared value that knows its items), nested
  targets recursively, and a starred target ``*rest`` collects the leftovers into a tuple;
* ``x[i] = v`` is ``aten::_set_item`` for lists and dicts (through ``__setitem__`` for
  classes) and ``aten::copy_``/``aten::index_put_`` into the indexed view for tensors;
  ``self.attr = v`` is ``prim::SetAttr``;
* ``x += y`` is the in-place op for tensors and lists (``aten::add_``), and ``x = x + y`` for
  numbers and strings; ``xs[i] += y`` reads, updates and writes back the item.
"""
from __future__ import annotations

import ast
from typing import Optional, Sequence

from ..ir.graph import Value
from ..ir.types import IRType, TensorType, TupleType
from .annotations import type_from_ast
from .errors import Span, error
from .schema_match import NamedValue
from .sugar import BuiltinFunction, MagicMethod, SugaredValue

__all__ = ["AssignmentEmitter"]


class AssignmentEmitter:
    """Assignment statements: plain, annotated, tuple-unpacking, subscripted, augmented."""

    def stmt_Assign(self, stmt: ast.Assign) -> None:
        if len(stmt.targets) == 1:
            self.emit_single_assignment(stmt, stmt.targets[0], stmt.value, None)
            return
        tmp = f"$tmp_assign_{self.temp_count}"
        self.temp_count += 1
        rhs_span = self.span(stmt.value)
        self.env.set_sugared_var(rhs_span, tmp,                    # type: ignore[union-attr]
                                 self.emit_sugared_expr(stmt.value, 1), None)
        for target in stmt.targets:
            name = ast.Name(id=tmp, ctx=ast.Load())
            self.ranges.set(name, rhs_span)
            self.emit_single_assignment(stmt, target, name, None)

    def stmt_AnnAssign(self, stmt: ast.AnnAssign) -> None:
        self.emit_single_assignment(stmt, stmt.target, stmt.value, stmt.annotation)

    def emit_single_assignment(self, stmt: ast.stmt, lhs: ast.expr, rhs: ast.expr,
                               annotation: Optional[ast.expr]) -> None:
        if isinstance(lhs, ast.Name):
            type_ = type_from_ast(annotation, self.span) if annotation is not None else None
            value = self.emit_sugared_expr(rhs, 1, type_)
            self.env.set_sugared_var(self.span(lhs), lhs.id, value, type_)  # type: ignore
        elif isinstance(lhs, ast.Tuple):
            self.emit_tuple_assign(lhs, rhs)
        elif isinstance(lhs, ast.Attribute):
            type_ = type_from_ast(annotation, self.span) if annotation is not None else None
            target = self.emit_sugared_expr(lhs.value, 1)
            value = self.emit_sugared_expr(rhs, 1, type_).as_value(self.span(rhs), self)
            target.set_attr(self.span(stmt), self, lhs.attr, value)
        elif isinstance(lhs, ast.Subscript):
            value = NamedValue(self.span(rhs), None, self.emit_expr(rhs))
            self.emit_subscript_assign(self.span(stmt), lhs, value)
        else:
            raise error(self.span(lhs), "unexpected expression on left-hand side of assignment")

    def validate_assign_lhs(self, targets: Sequence[ast.expr], span: Span) -> bool:
        normal = starred = 0
        for t in targets:
            if isinstance(t, (ast.Name, ast.Subscript, ast.Tuple)):
                normal += 1
            elif isinstance(t, ast.Starred):
                starred += 1
            else:
                raise error(self.span(t), "lhs of assignment must be a variable, subscript, or "
                                          "starred expression")
        if starred > 1:
            raise error(span, "Only one starred expression is allowed on the lhs")
        if starred and not normal:
            raise error(span, "A Starred expression may only appear on the lhs within the "
                              "presence of another non-starred expression")
        return starred > 0

    def emit_tuple_assign(self, target: ast.Tuple, rhs: ast.expr) -> None:
        n_binders = len(target.elts)
        starred = self.validate_assign_lhs(target.elts, self.span(target))
        if starred:
            n_binders -= 1
        output = self.emit_sugared_expr(rhs, n_binders)
        self.emit_tuple_assign_values(target, output, self.span(rhs), n_binders, starred)

    def emit_tuple_assign_values(self, target: ast.Tuple, rhs: SugaredValue, rhs_span: Span,
                                 n_binders: int, starred: bool) -> None:
        outputs = rhs.as_tuple(rhs_span, self, None if starred else n_binders)
        if len(outputs) < n_binders:
            raise error(self.span(target), f"need {'at least ' if starred else ''}{n_binders} "
                                           f"values to unpack but found only {len(outputs)}")
        if len(outputs) > n_binders and not starred:
            raise error(self.span(target), f"too many values to unpack: need {n_binders} but "
                                           f"found {len(outputs)}")
        self.emit_exprs_assign(target.elts, outputs, rhs_span, n_binders)

    def emit_exprs_assign(self, targets: Sequence[ast.expr], outputs: Sequence[SugaredValue],
                          rhs_span: Span, n_binders: int) -> None:
        i = 0
        for target in targets:
            if isinstance(target, ast.Subscript):
                value = NamedValue(rhs_span, None, outputs[i].as_value(rhs_span, self))
                self.emit_subscript_assign(rhs_span, target, value)
                i += 1
            elif isinstance(target, ast.Name):
                self.env.set_sugared_var(self.span(target), target.id,  # type: ignore
                                         outputs[i], None)
                i += 1
            elif isinstance(target, ast.Starred):
                if not isinstance(target.value, ast.Name):
                    raise error(self.span(target.value), "Cannot pack a tuple into a "
                                                         "non-variable")
                n_matched = len(outputs) - n_binders
                values = [o.as_value(self.span(target), self) for o in outputs[i:i + n_matched]]
                packed = self.create_tuple(values)
                self.env.set_var(self.span(target.value), target.value.id,  # type: ignore
                                 packed)
                i += n_matched
            elif isinstance(target, ast.Tuple):
                sub_binders = len(target.elts)
                sub_starred = self.validate_assign_lhs(target.elts, self.span(target))
                if sub_starred:
                    sub_binders -= 1
                self.emit_tuple_assign_values(target, outputs[i], rhs_span, sub_binders,
                                              sub_starred)
                i += 1
            else:
                raise error(self.span(target), "unexpected expression on the left-hand side")

    def stmt_AugAssign(self, stmt: ast.AugAssign) -> None:
        target = stmt.target
        if isinstance(target, ast.Name):
            lhs = self.emit_expr(target)
            result = self.emit_aug_assignment_helper(stmt, lhs)
            self.env.set_var(self.span(target), target.id, result)  # type: ignore[union-attr]
        elif isinstance(target, ast.Attribute):
            obj = self.emit_sugared_expr(target.value, 1)
            lhs = obj.attr(self.span(target), self, target.attr).as_value(self.span(target),
                                                                           self)
            result = self.emit_aug_assignment_helper(stmt, lhs)
            obj.set_attr(self.span(stmt), self, target.attr, result)
        elif isinstance(target, ast.Subscript):
            self.emit_aug_assignment_to_subscript(stmt)
        else:
            raise error(self.span(target), "unexpected expression on left-hand side of "
                                           "augmented assignment")

    def aug_op(self, stmt: ast.AugAssign, type_: IRType) -> str:
        inplace = isinstance(type_, TensorType) or type_.kind == "List"
        op = type(stmt.op)
        table = {ast.Add: ("add_", "add"), ast.Sub: ("sub_", "sub"), ast.Div: ("div_", "div"),
                 ast.Mult: ("mul_", "mul"), ast.Mod: ("fmod_", "fmod"),
                 ast.BitOr: ("bitwise_or", "__or__"), ast.BitAnd: ("bitwise_and", "__and__"),
                 ast.BitXor: ("bitwise_xor", "__xor__"),
                 ast.LShift: ("__lshift__", "__lshift__"),
                 ast.RShift: ("__irshift__", "__rshift__"), ast.Pow: ("pow", "pow")}
        pair = table[op]
        return "aten::" + (pair[0] if inplace else pair[1])

    def emit_aug_assignment_helper(self, stmt: ast.AugAssign, lhs: Value) -> Value:
        if lhs.type.kind == "Class":
            raise error(self.span(stmt), "augmented assignment on objects is not supported by "
                                         "minijit's scripter")
        rhs = self.emit_expr(stmt.value)
        return self.emit_builtin_call(self.aug_op(stmt, lhs.type),
                                      [NamedValue(None, None, lhs),
                                       NamedValue(self.span(stmt.value), None, rhs)], [],
                                      self.span(stmt))

    def emit_aug_assignment_to_subscript(self, stmt: ast.AugAssign) -> None:
        target: ast.Subscript = stmt.target                        # type: ignore[assignment]
        sliceable = self.emit_expr(target.value)
        if isinstance(sliceable.type, TensorType):
            sliced, tensor_indices = self.emit_int_and_slice_indexing(
                self.span(target), sliceable, self.subscript_exprs(target))
            if tensor_indices:
                raise error(self.span(target), "advanced indexing in augmented assignment is "
                                               "not supported by minijit's scripter")
            rhs = NamedValue(self.span(stmt.value), None, self.emit_expr(stmt.value))
            self.emit_builtin_call(self.aug_op(stmt, sliceable.type), [rhs], [],
                                   self.span(stmt), NamedValue(self.span(target), "self",
                                                               sliced))
            return
        exprs = self.subscript_exprs(target)
        if len(exprs) != 1:
            raise error(self.span(target), f"Sliced expression not yet supported for "
                                           f"{sliceable.type.annotation_str()} augmented "
                                           "assignment. File a bug if you want this")
        t = sliceable.type
        elem = t.elem if t.kind == "List" else t.value if t.kind == "Dict" else None  # type: ignore
        if elem is None:
            raise error(self.span(target), f"{t.annotation_str()} does not support augmented "
                                           "assignment.")
        index = self.emit_expr(exprs[0])
        value = self.emit_expr(stmt.value)
        span = self.span(stmt)
        item = self.insert_op("aten::__getitem__", [sliceable, index], span)
        augmented = self.insert_op(self.aug_op(stmt, elem), [item, value], span)
        self.insert_op("aten::_set_item", [sliceable, index, augmented], span)

    def emit_subscript_assign(self, span: Span, target: ast.Subscript, rhs: NamedValue) -> None:
        sliceable = self.emit_expr(target.value)
        exprs = self.subscript_exprs(target)
        if isinstance(sliceable.type, TensorType):
            sliced, tensor_indices = self.emit_int_and_slice_indexing(self.span(target),
                                                                      sliceable, exprs)
            value = rhs.get(self)
            if value.type.kind in ("int", "float", "bool", "Scalar"):
                raise error(span, "assigning a Python number into a tensor slice is not "
                                  "supported by minijit's scripter; assign a tensor")
            if tensor_indices:
                indices = self.create_list_optional_tensor(tensor_indices)
                self.insert_op("aten::index_put_", [sliced, indices, value], span)
            else:
                self.insert_op("aten::copy_", [sliced, value], span)
            return
        if len(exprs) != 1 or isinstance(exprs[0], ast.Slice):
            raise error(self.span(target), "Sliced expression not yet supported for subscripted "
                                           "assignment. File a bug if you want this")
        if isinstance(sliceable.type, TupleType):
            raise error(self.span(target), f"{sliceable.type.annotation_str()} does not support "
                                           "subscripted assignment")
        args = [NamedValue(self.span(target.value), "self", sliceable),
                NamedValue(self.span(exprs[0]), "idx", self.emit_expr(exprs[0])), rhs]
        MagicMethod("__setitem__", BuiltinFunction("aten::_set_item")).call(span, self, args,
                                                                            [], 0)
