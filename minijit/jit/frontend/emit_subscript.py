"""The IR emitter, subscripts part (a mixin of :class:`~.emit_expr.ExprEmitter`).

``x[...]`` means different things by the type of ``x``, as in TorchScript's
``emitSubscript``:

* a **Tensor** index mixes ints (``aten::select``), slices (``aten::slice``), ``None``
  (``aten::unsqueeze``), ``...`` and tensors (advanced indexing, ``aten::index`` with a list of
  optional tensors), one dimension per entry, ``...`` counting dimensions from the end;
* a **tuple** index must be a constant int (``prim::TupleIndex``; a slice is
  ``prim::TupleSlice`` with constant bounds);
* a **list**, **str** or **dict** index is ``aten::__getitem__`` and a list slice
  ``aten::slice``;
* a **module** (``ModuleList``/``Sequential``) or a class with ``__getitem__`` is sugared.
"""
from __future__ import annotations

import ast
from typing import Any, List, Optional, Sequence, Tuple

from ..ir.graph import Value
from ..ir.types import IntType, IRType, ListType, NoneType, OptionalType, TensorType, TupleType
from .emit_cond import _is_none_literal
from .errors import Span, error
from .schema_match import NamedValue, is_subtype
from .sugar import SimpleValue, SugaredValue

__all__ = ["SubscriptEmitter"]


class SubscriptEmitter:
    """Subscripts and slices of tensors, tuples, lists, strings, dicts and modules."""

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
