"""Shape and dtype propagation from an input signature (TorchScript's shape analysis).

The executor knows the dtype, shape, strides, device and ``requires_grad`` of every input of
a call.  This pass writes them on the graph's inputs and pushes them through the graph, so the
optimised graph prints complete types, as ``graph_for`` does in PyTorch::

    graph(%x : Float(4, 8, strides=[8, 1], requires_grad=0, device=cpu), ...):
      %3 : Float(4, 8, strides=[8, 1], requires_grad=0, device=cpu) = aten::mul(%x, %y)

and later passes can rely on the facts (peephole ``x * 1`` needs the dtype of ``x``; graph
autodiff needs the shapes that broadcast).

How each node's type is found:

* pointwise ops (``Tag.POINTWISE``): the broadcast of the operand shapes, and the dtype from
  the very rule the dispatcher applies (:func:`pointwise_dtypes`, mirroring
  ``dispatch._promote_pointwise``: dimensioned tensors, then 0-dim tensors, then Python
  numbers, then the op's ``dtype_rule``);
* other registry ops: the op's own NumPy kernel runs once on zero-filled stand-ins of the
  input shapes (only when they are small, and never for random ops or for bool masks, whose
  result shape depends on the data), and the result's shape and dtype are recorded;
* ``prim::GetAttr`` on the module being called reads the real parameter;
* ``prim::If`` joins its branches, ``prim::Loop`` iterates its body to a fixed point;
* anything else keeps an unspecialised ``Tensor``.

Every tensor type the graph had before (a trace records the example's types) is first erased,
so nothing from another signature survives.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ... import dtypes as _dt
from ...ops.registry import Tag
from ..ir.graph import Block, Graph, Node, Value
from ..ir.types import TensorType, TupleType
from .pass_manager import PassLog, constant_value, op_of

__all__ = ["propagate_shapes", "erase_shapes", "pointwise_dtypes", "Meta", "broadcast",
           "contiguous_strides", "tensor_type_of", "type_node", "static_value"]

MAX_PROBE_ELEMENTS = 1 << 22


class _TensorMeta:
    """A tensor as an op's ``meta`` rule sees it: dtype, shape and element strides."""

    __slots__ = ("dtype", "shape", "strides")

    def __init__(self, dtype: Any, shape: Sequence[int], strides: Any):
        self.dtype, self.shape = dtype, tuple(shape)
        self.strides = None if strides is None else tuple(strides)


class Meta:
    """What is known of a tensor without its data: dtype and shape.

    It answers the questions type promotion and the backward rules ask of a tensor
    (``.dtype``, ``.ndim``, and ``_data`` for "is this a tensor").
    """

    __slots__ = ("dtype", "shape")
    _data = None

    def __init__(self, dtype: Any, shape: Sequence[int]):
        self.dtype = dtype
        self.shape = tuple(shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"Meta({self.dtype}, {self.shape})"


def pointwise_dtypes(op: Any, bound: Sequence[Any]) -> Tuple[Any, Any]:
    """``(compute dtype, result dtype)`` of a pointwise op on ``bound`` arguments.

    ``bound`` holds :class:`Meta` (or Tensors) for tensor arguments and Python values for the
    rest, one per schema argument.  This is ``dispatch._promote_pointwise`` without the data.
    May raise ``OpError`` (``sub`` of bools), exactly where the dispatcher would.
    """
    indices = op.operand_indices_for_len[len(bound)]
    operands = [bound[i] for i in indices]
    first = operands[0] if operands else None
    is_t = [hasattr(o, "_data") for o in operands]
    if len(operands) == 1 and is_t[0]:
        common = first.dtype
    elif len(operands) == 2 and all(is_t) and first.dtype is operands[1].dtype:
        common = first.dtype
    else:
        common = _dt.result_type(*operands)
    rule = op.dtype_rule
    return rule(common, list(bound)) if rule is not None else (common, common)


def broadcast(shapes: Sequence[Sequence[int]]) -> Optional[Tuple[int, ...]]:
    """NumPy/PyTorch broadcasting of ``shapes``; None when they do not broadcast."""
    try:
        return tuple(int(s) for s in np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        return None


def contiguous_strides(shape: Sequence[int]) -> Tuple[int, ...]:
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(strides))


def tensor_type_of(t: Any) -> TensorType:
    """The complete type of a Tensor (or NumPy array) value."""
    return TensorType.from_tensor(t)


def _complete(t: Any) -> bool:
    return isinstance(t, TensorType) and t.dtype is not None and hasattr(t.dtype, "np") and \
        t.sizes is not None and None not in t.sizes


def _static_value(v: Value) -> Tuple[bool, Any]:
    """A constant, or a list/tuple built from constants (``[1]`` for ``dim``)."""
    node = v.node
    if node.kind in ("prim::ListConstruct", "prim::TupleConstruct"):
        items = []
        for i in node.inputs:
            ok, item = _static_value(i)
            if not ok:
                return False, None
            items.append(item)
        return True, (items if node.kind == "prim::ListConstruct" else tuple(items))
    return constant_value(v)


def erase_shapes(graph: Graph) -> None:
    """Forget every tensor type in the graph (inputs included), except tensor constants'."""
    def visit(block: Block) -> None:
        for p in block.params:
            if isinstance(p.type, TensorType):
                p.type = TensorType.get()
        for node in block.nodes:
            for b in node.blocks:
                visit(b)
            if node.kind == "prim::Constant":
                continue
            for out in node.outputs:
                if isinstance(out.type, TensorType):
                    out.type = TensorType.get()
    visit(graph.block)


class _Propagator:
    def __init__(self, graph: Graph, grad_enabled: bool, objects: Dict[int, Any],
                 log: PassLog):
        self.graph = graph
        self.grad_enabled = grad_enabled
        self.objects = objects          # id(Value) -> the Python object it holds (self, params)
        self.log = log
        self.known = 0

    # ---- one node --------------------------------------------------------------------------
    def operand(self, v: Value) -> Any:
        """A Meta for a tensor input, the Python value of a constant, a representative value
        of a scalar type, or None when nothing useful is known."""
        ok, value = constant_value(v)
        if ok and not hasattr(value, "shape"):
            return value
        t = v.type
        if isinstance(t, TensorType):
            return Meta(t.dtype, t.sizes) if _complete(t) else None
        return {"int": 1, "float": 1.0, "bool": True}.get(t.kind)

    def requires_grad(self, op: Any, node: Node, result_dtype: Any) -> Optional[bool]:
        if not self.grad_enabled or not op.differentiable:
            return False
        if result_dtype is not None and not result_dtype.is_floating_point:
            return False
        schema = op.schema_for_len.get(len(node.inputs), op.schema)
        answer: Optional[bool] = False
        for i, (arg, v) in enumerate(zip(schema.arguments, node.inputs)):
            if not arg.is_tensor or not isinstance(v.type, TensorType) or i in op.nondiff_args:
                continue
            if v.type.requires_grad is None:
                answer = None if answer is False else answer
            elif v.type.requires_grad:
                return True
        return answer

    def pointwise(self, op: Any, node: Node) -> Optional[TensorType]:
        bound = [self.operand(v) for v in node.inputs]
        schema = op.schema_for_len.get(len(node.inputs))
        if schema is None:
            return None
        shapes, devices, contiguous = [], set(), True
        for arg, v, b in zip(schema.arguments, node.inputs, bound):
            if isinstance(v.type, TensorType) and not isinstance(b, Meta):
                return None                         # a tensor we know nothing about
            if isinstance(b, Meta):
                shapes.append(b.shape)
                devices.add(v.type.device)
                strides = v.type.strides
                if strides is not None and strides != contiguous_strides(b.shape):
                    contiguous = False
            elif b is None and arg.type.rstrip("?") in ("Tensor", "Scalar") and \
                    not (v.node.kind == "prim::Constant" and "value" not in v.node.attrs):
                return None
        try:
            _, result = pointwise_dtypes(op, bound)
        except Exception:  # noqa: BLE001 - the call will raise at run time; type unknown
            return None
        shape = broadcast(shapes) if shapes else ()
        if shape is None:
            return None
        device = devices.pop() if len(devices) == 1 else None
        return TensorType(result, shape, contiguous_strides(shape) if contiguous else None,
                          self.requires_grad(op, node, result), device)

    def probe(self, op: Any, node: Node) -> Optional[List[TensorType]]:
        """Run the op's kernel on zero-filled stand-ins and read the result types."""
        if Tag.RANDOM in op.tags or Tag.INPLACE in op.tags:
            return None
        args, total, devices, contiguous = [], 0, set(), True
        for v in node.inputs:
            ok, value = _static_value(v)
            t = v.type
            if isinstance(t, TensorType):
                if not _complete(t) or t.dtype is _dt.bool_ and Tag.SHAPE in op.tags:
                    return None
                total += int(np.prod(t.sizes)) if t.sizes else 1
                devices.add(t.device)
                if t.strides is None or t.strides != contiguous_strides(t.sizes):
                    contiguous = False
                args.append(np.zeros(t.sizes, t.dtype.np))
            elif ok:
                if hasattr(value, "shape"):
                    return None
                args.append(value)
            else:
                return None                         # a runtime scalar may change the shape
        if total > MAX_PROBE_ELEMENTS:
            return None
        try:
            with np.errstate(all="ignore"):
                raw = op.impl(np, *args)
        except Exception:  # noqa: BLE001
            return None
        schema = op.schema_for_len.get(len(node.inputs), op.schema)
        outs = raw if len(schema.returns) > 1 else (raw,)
        device = devices.pop() if len(devices) == 1 else "cpu"
        types: List[TensorType] = []
        for kind, r, out in zip(schema.returns, outs, node.outputs):
            if kind != "Tensor" or not isinstance(out.type, TensorType):
                types.append(out.type)
                continue
            a = np.asarray(r)
            try:
                dtype = _dt.from_numpy_dtype(a.dtype)
            except Exception:  # noqa: BLE001
                return None
            if Tag.VIEW in op.tags and contiguous:
                strides = tuple(s // max(a.itemsize, 1) for s in a.strides) if a.size else \
                    contiguous_strides(a.shape)
            elif Tag.VIEW in op.tags:
                strides = None
            else:
                strides = contiguous_strides(a.shape)
            types.append(TensorType(dtype, a.shape, strides,
                                    self.requires_grad(op, node, dtype), device))
        return types

    def meta(self, op: Any, node: Node) -> Optional[List[TensorType]]:
        """The op's ``meta`` rule for a call with run-time scalars (one tensor result)."""
        args, dtypes, devices = [], [], set()
        for v in node.inputs:
            ok, value = _static_value(v)
            t = v.type
            if isinstance(t, TensorType):
                if not _complete(t):
                    return None
                args.append(_TensorMeta(t.dtype, t.sizes, t.strides))
                dtypes.append(t.dtype)
                devices.add(t.device)
            elif ok and not hasattr(value, "shape"):
                args.append(value)
            elif t.kind in ("int", "float", "bool"):
                args.append(None)
            else:
                return None
        if len(node.outputs) != 1 or len(set(dtypes)) != 1:
            return None
        try:
            found = op.meta(*args)
        except Exception:  # noqa: BLE001 - the call will raise at run time
            return None
        if found is None:
            return None
        sizes, strides = found
        device = devices.pop() if len(devices) == 1 else None
        return [TensorType(dtypes[0], sizes, strides,
                           self.requires_grad(op, node, dtypes[0]), device)]

    def node(self, node: Node) -> None:
        kind = node.kind
        if kind == "prim::GetAttr":
            owner = self.objects.get(id(node.inputs[0]))
            if owner is not None:
                value = getattr(owner, node.attrs["name"], None)
                if value is not None:
                    self.objects[id(node.output())] = value
                    if hasattr(value, "_data") and hasattr(value, "requires_grad"):
                        t = tensor_type_of(value)
                        if not self.grad_enabled:
                            t = t.with_requires_grad(False)
                        node.output().type = t
                        self.known += 1
            return
        if kind == "prim::If":
            for b in node.blocks:
                self.block(b)
            for i, out in enumerate(node.outputs):
                a, b = node.blocks[0].returns[i].type, node.blocks[1].returns[i].type
                if isinstance(out.type, TensorType) and isinstance(a, TensorType) and \
                        isinstance(b, TensorType):
                    out.type = a.merge(b)
            return
        if kind == "prim::Loop":
            self.loop(node)
            return
        if kind == "prim::TupleConstruct":
            node.output().type = TupleType([v.type for v in node.inputs])
            return
        if kind == "prim::TupleUnpack":
            t = node.inputs[0].type
            if isinstance(t, TupleType) and len(t.elems) == len(node.outputs):
                for out, et in zip(node.outputs, t.elems):
                    out.type = et
            return
        if kind in ("prim::FusionGroup", "prim::DifferentiableGraph"):
            return
        op = op_of(node)
        if op is None or not node.outputs or Tag.SCALAR in op.tags:
            return
        if Tag.POINTWISE in op.tags and Tag.INPLACE not in op.tags and \
                len(node.outputs) == 1 and isinstance(node.output().type, TensorType):
            t = self.pointwise(op, node)
            if t is not None:
                node.output().type = t
                self.known += 1
            return
        if any(isinstance(o.type, TensorType) for o in node.outputs):
            types = self.probe(op, node)
            if types is None and op.meta is not None:
                types = self.meta(op, node)
            if types is not None:
                for out, t in zip(node.outputs, types):
                    out.type = t
                self.known += 1

    def loop(self, node: Node) -> None:
        body = node.blocks[0]
        carried_in = [v.type for v in node.inputs[2:]]
        types = list(carried_in)
        for _ in range(6):
            for p, t in zip(body.params[1:], types):
                p.type = t
            self.block(body)
            new = []
            for t, r in zip(types, body.returns[1:]):
                rt = r.type
                new.append(t.merge(rt) if isinstance(t, TensorType) and isinstance(rt, TensorType)
                           else t)
            if new == types:
                break
            types = new
        else:
            types = [TensorType.get() if isinstance(t, TensorType) else t for t in types]
            for p, t in zip(body.params[1:], types):
                p.type = t
            self.block(body)
        for out, t in zip(node.outputs, types):
            out.type = t

    def block(self, block: Block) -> None:
        for node in block.nodes:
            self.node(node)


def type_node(node: Node) -> None:
    """Give one node's outputs the types its (already typed) inputs imply, as the pass
    would; used by graph autodiff while it records a backward graph."""
    _Propagator(node.owning_graph, False, {}, PassLog()).node(node)


def static_value(v: Value) -> Tuple[bool, Any]:
    """``(True, value)`` for a constant or a list/tuple of constants, else ``(False, None)``."""
    return _static_value(v)


def propagate_shapes(graph: Graph, inputs: Sequence[Any], log: Optional[PassLog] = None,
                     grad_enabled: bool = True) -> bool:
    """Type the graph for one call: ``inputs`` are the call's arguments (Tensors, modules,
    numbers).  Returns True if any type was made more precise."""
    log = log if log is not None else PassLog()
    erase_shapes(graph)
    objects: Dict[int, Any] = {}
    for v, arg in zip(graph.inputs, inputs):
        if hasattr(arg, "_data") and hasattr(arg, "requires_grad"):
            t = tensor_type_of(arg)
            v.type = t if grad_enabled else t.with_requires_grad(False)
        elif not isinstance(arg, (int, float, bool, str, list, tuple, dict)) and arg is not None:
            objects[id(v)] = arg
    prop = _Propagator(graph, grad_enabled, objects, log)
    prop.block(graph.block)
    log.note(f"typed {prop.known} node(s) from the input signature")
    return prop.known > 0
