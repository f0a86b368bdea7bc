"""Graph autodiff: the backward of a subgraph, built from the registry's backward rules.

Note [Graph autodiff]
    Every op's derivative is written once, in minijit ops, beside its forward
    (``backward=lambda ctx, g: (g * (1 - ctx.result * ctx.result),)`` for ``tanh``).  Eager
    autograd runs those rules on Tensors.  Graph autodiff runs the *same* rules on symbolic
    tensors (:class:`SymbolicTensor`) that record each op they are asked to do as a node of a
    new graph, so the backward of a fusion group is itself a graph, which is then fused and
    compiled like any other.  Walking the forward nodes last to first, for a node with a
    gradient ``g`` flowing into its result::

        ctx.self, ctx.other ... -> symbolic tensors standing for the forward values
        ctx.result              -> a symbolic tensor for the node's forward result
        grads = op.backward(ctx, g)

    A forward value that a rule reads is *captured*: it becomes an input of the backward
    graph, and (when it is an intermediate, not a group input) an extra output of the forward
    graph, so the forward kernel hands it over (TorchScript's ``df_input_captured_*``).
    Gradients reaching one value from several uses are added; a gradient that is broader than
    the value it belongs to (broadcasting, or ``linear``'s bias) is reduced with
    ``aten::sum_to_size`` to the value's static shape, which the executor's shape analysis
    knows.  The autograd engine casts the group inputs' gradients to their dtypes at the
    group's boundary, as it does after any eager node.

    Symbolic tensors know the static type of what they stand for, so rules that ask about
    metadata (``x.shape``, ``g.new_zeros(...)``) record too; a rule that needs something not
    known statically, or branches on a tensor's value, raises :class:`AutodiffError` and the
    executor leaves those ops to eager autograd.

    Two passes use this (when a plan needs gradients; both in ``differentiable_graphs.py``):

    * :func:`create_autodiff_subgraphs` groups connected differentiable ops of any kind
      (``linear``, ``sum``, pointwise...) into ``prim::DifferentiableGraph`` nodes, before
      fusion; their forward and backward graphs are then fused inside;
    * :func:`create_differentiable_graphs` wraps the fusion groups that are left.

    The symbolic tensor gets its methods and operators from the registry, as ``Tensor``
    does (``methods.install_methods``); the composite methods (``where``, reverse division)
    are the very functions ``Tensor`` uses, re-bound to record instead of dispatching.

Example:
    >>> from minijit.jit.ir import parse_ir
    >>> g = parse_ir('''graph(%x : Float(3, strides=[1], requires_grad=1, device=cpu)):
    ...   %y : Float(3, strides=[1], requires_grad=1, device=cpu) = aten::tanh(%x)
    ...   return (%y)
    ... ''')
    >>> spec = differentiate(g, [True])
    >>> print(spec.backward.str(False), end="")
    graph(%0 : Float(3, strides=[1], device=cpu),
          %y : Float(3, strides=[1], device=cpu)):
      %2 : Float(3, strides=[1], device=cpu) = aten::mul(%y, %y)
      %3 : int = prim::Constant[value=1]()
      %4 : int = prim::Constant[value=1]()
      %5 : Float(3, strides=[1], device=cpu) = aten::rsub(%2, %3, %4)
      %6 : Float(3, strides=[1], device=cpu) = aten::mul(%0, %5)
      return (%6)
"""
from __future__ import annotations

import types
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ...autograd.graph import BackwardContext
from ...ops.registry import OpInfo, Tag, all_ops, get
from ..ir.graph import Graph, Value
from ..ir.types import TensorType
from .pass_manager import op_of
from .shape_analysis import static_value

_STATIC_KINDS = ("prim::Constant", "prim::ListConstruct", "prim::TupleConstruct")

__all__ = ["SymbolicTensor", "differentiate", "GradientSpec", "AutodiffError"]


class AutodiffError(RuntimeError):
    """The subgraph cannot be differentiated symbolically (the executor leaves it unfused)."""


# ---- symbolic tensors ---------------------------------------------------------------------------
class SymbolicTensor:
    """A tensor that records ops into a graph instead of computing them.

    ``_data`` is present (always ``None``) so that backward rules that ask "is this a tensor?"
    (``hasattr(x, "_data")``) get yes.  The static type of the value it stands for (from
    shape analysis, or typed as each op is recorded) answers the metadata questions rules ask:
    ``x.shape``, ``x.ndim``, ``x.dtype``; an unknown answer stops the recording.
    """

    __slots__ = ("builder", "_value", "capture")
    _data = None

    def __init__(self, builder: "_Recorder", value: Optional[Value] = None,
                 capture: Optional[Value] = None):
        self.builder = builder
        self._value = value
        self.capture = capture      # the forward value this stands for, made an input on use

    def value(self) -> Value:
        if self._value is None:
            self._value = self.builder.capture(self.capture)  # type: ignore[arg-type]
        return self._value

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"SymbolicTensor(%{self.value().debug_name})"

    def __bool__(self) -> bool:
        raise AutodiffError("a backward rule branched on a tensor's value")

    # -- metadata from the static type --------------------------------------------------------
    def _type(self) -> TensorType:
        t = (self.capture.type if self._value is None and self.capture is not None
             else self.value().type)
        if not isinstance(t, TensorType):
            raise AutodiffError("a backward rule asked about a value that is not a tensor")
        return t

    @property
    def shape(self) -> Any:
        from ..._tensor import Size
        sizes = self._type().sizes
        if sizes is None or None in sizes:
            raise AutodiffError("a backward rule needs a shape that is not known statically")
        return Size(sizes)

    def size(self, dim: Optional[int] = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return self.shape.numel()

    @property
    def dtype(self) -> Any:
        dtype = self._type().dtype
        if dtype is None or not hasattr(dtype, "np"):
            raise AutodiffError("a backward rule needs a dtype that is not known statically")
        return dtype

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    @property
    def device(self) -> Any:
        from ...backends import device as _device
        return _device(self._type().device or "cpu")

    # -- Tensor methods that are not ops: factories shaped like this tensor ----------------------
    def _factory(self, name: str, size: Any, extra: tuple, dtype: Any) -> "SymbolicTensor":
        if len(size) == 1 and isinstance(size[0], (list, tuple)):
            size = size[0]
        dtype = dtype or self.dtype
        return self.builder.call(get(name), (list(size),) + extra,
                                 {"dtype": getattr(dtype, "code", dtype)})

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None) -> "SymbolicTensor":
        return self._factory("zeros", size, (), dtype)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None) -> "SymbolicTensor":
        return self._factory("ones", size, (), dtype)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None) -> "SymbolicTensor":
        return self._factory("zeros", size, (), dtype)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None,
                 device: Any = None) -> "SymbolicTensor":
        return self._factory("full", (size,), (fill_value,), dtype)

    def to(self, *args: Any, **kwargs: Any) -> "SymbolicTensor":
        dtype = kwargs.get("dtype")
        for a in args:
            if hasattr(a, "np") and hasattr(a, "code"):
                dtype = a
            elif isinstance(a, SymbolicTensor):
                dtype = a.dtype
        if dtype is None or dtype is self.dtype:
            return self
        return self.builder.call(get("_to_copy"), (self,), {"dtype": dtype.code})

    def type_as(self, other: Any) -> "SymbolicTensor":
        return self.to(other.dtype)

    def float(self) -> "SymbolicTensor":
        from ... import dtypes as _dt
        return self.to(_dt.float32)

    def double(self) -> "SymbolicTensor":
        from ... import dtypes as _dt
        return self.to(_dt.float64)

    def contiguous(self) -> "SymbolicTensor":
        return self

    def detach(self) -> "SymbolicTensor":
        return self


def _sym_call(op: OpInfo, args: Sequence[Any], kwargs: Optional[Dict[str, Any]] = None) -> Any:
    for a in args:
        if isinstance(a, SymbolicTensor):
            return a.builder.call(op, args, kwargs or {})
    raise AutodiffError(f"{op.kind} called without a symbolic tensor")


def _install() -> None:
    """Give SymbolicTensor the registry's methods and dunders, and Tensor's composites."""
    from ...ops.methods import COMPOSITE_METHODS

    def method(op: OpInfo) -> Any:
        def m(self: SymbolicTensor, *args: Any, **kwargs: Any) -> Any:
            return self.builder.call(op, (self,) + args, kwargs)
        m.__name__ = op.python_name
        return m

    def dunder(op: OpInfo, name: str) -> Any:
        unary = name in ("__neg__", "__abs__", "__invert__")

        def d(self: SymbolicTensor, *other: Any) -> Any:
            return self.builder.call(op, (self,) if unary else (self, other[0]), {})
        d.__name__ = name
        return d

    for op in all_ops():
        if Tag.INPLACE in op.tags:
            continue
        if op.method and not hasattr(SymbolicTensor, op.python_name):
            setattr(SymbolicTensor, op.python_name, method(op))
        for name in op.dunders:
            setattr(SymbolicTensor, name, dunder(op, name))
    for name, fn in COMPOSITE_METHODS.items():
        if name.startswith("__i") or name in ("__getitem__", "__setitem__"):
            continue
        scope = dict(fn.__globals__)
        scope["call"] = _sym_call
        rebound = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__,
                                     fn.__closure__)
        setattr(SymbolicTensor, name, rebound)


# ---- the recorder -------------------------------------------------------------------------------
def _bind(op: OpInfo, args: Sequence[Any], kwargs: Dict[str, Any]) -> List[Any]:
    """Bind a call to one of the op's schemas by position, name and default (no type checks:
    symbolic tensors have no dtype to check)."""
    if not kwargs:
        tail = op.fast_bind.get(len(args))
        if tail is not None:
            return [*args, *tail]
    for schema in op.schemas:
        positional = [a for a in schema.arguments if not a.kwarg_only]
        if len(args) > len(positional):
            continue
        bound = list(args)
        rest = dict(kwargs)
        ok = True
        for arg in schema.arguments[len(args):]:
            if arg.name in rest:
                bound.append(rest.pop(arg.name))
            elif arg.has_default:
                bound.append(list(arg.default) if isinstance(arg.default, list) else arg.default)
            else:
                ok = False
                break
        if ok and not rest:
            return bound
    raise AutodiffError(f"cannot bind {op.kind}{tuple(args)!r} {kwargs!r}")


class _Recorder:
    """Builds the backward graph: captures forward values, records ops."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.captures: List[Value] = []          # forward values, in backward-input order
        self._captured: Dict[Value, Value] = {}

    def capture(self, forward_value: Value) -> Value:
        v = self._captured.get(forward_value)
        if v is None:
            name = forward_value.debug_name if forward_value.has_debug_name() else None
            v = self.graph.add_input(name, _plain(forward_value.type))
            self._captured[forward_value] = v
            self.captures.append(forward_value)
        return v

    def ir_value(self, x: Any) -> Value:
        if isinstance(x, SymbolicTensor):
            return x.value()
        if isinstance(x, Value):
            return x
        if type(x).__name__ == "ndarray":
            from ..._tensor import Tensor
            x = Tensor._from_array(x)
        return self.graph.insert_constant(x)

    def call(self, op: OpInfo, args: Sequence[Any], kwargs: Dict[str, Any]) -> Any:
        if Tag.INPLACE in op.tags or Tag.RANDOM in op.tags:
            raise AutodiffError(f"a backward rule used {op.kind}")
        bound = _bind(op, args, kwargs)
        inputs = [self.ir_value(b) for b in bound]
        schema = op.schema_for_len.get(len(bound), op.schema)
        node = self.graph.insert_node(self.graph.create_node(op.kind, inputs, 0))
        node.schema = schema
        for r in schema.returns:
            node.add_output(TensorType.get() if r == "Tensor" else None)
        from .shape_analysis import type_node
        type_node(node)
        for out in node.outputs:
            out.type = _plain(out.type)
        outs = [SymbolicTensor(self, o) for o in node.outputs]
        return outs[0] if len(outs) == 1 else tuple(outs)


# ---- differentiation --------------------------------------------------------------------------
class GradientSpec:
    """The result of :func:`differentiate` (TorchScript's ``Gradient``).

    Attributes:
        forward: the subgraph with extra outputs appended: the intermediates the backward reads.
        backward: inputs ``[grad of each output in df_output_vjps] + captured values``;
            outputs: the gradient of each input in ``df_input_vjps``.
        f_real_outputs: how many of ``forward``'s outputs are the subgraph's own.
        df_output_vjps: indices of the outputs whose gradient the backward takes.
        df_input_vjps: indices of the inputs whose gradient the backward returns.
        df_input_captured_inputs: forward input indices captured by the backward.
        df_input_captured_outputs: forward output indices captured (real or extra).
        output_requires_grad: per real output, whether it carries a gradient.
    """

    def __init__(self) -> None:
        self.forward: Graph = Graph()
        self.backward: Graph = Graph()
        self.f_real_outputs = 0
        self.df_output_vjps: List[int] = []
        self.df_input_vjps: List[int] = []
        self.df_input_captured_inputs: List[int] = []
        self.df_input_captured_outputs: List[int] = []
        self.output_requires_grad: List[bool] = []


def _plain(t: Any) -> Any:
    """A type without ``requires_grad`` (backward graphs do not record gradients)."""
    return t.with_requires_grad(None) if isinstance(t, TensorType) else t


def _static_shape(v: Value) -> Optional[Tuple[int, ...]]:
    t = v.type
    if isinstance(t, TensorType) and t.sizes is not None and None not in t.sizes:
        return tuple(t.sizes)  # type: ignore[arg-type]
    return None


def _is_float(v: Value) -> Optional[bool]:
    t = v.type
    if isinstance(t, TensorType) and t.dtype is not None and hasattr(t.dtype, "is_floating_point"):
        return t.dtype.is_floating_point
    return None


def differentiate(subgraph: Graph, requires_grad: Sequence[bool],
                  outputs_wanted: Optional[Sequence[bool]] = None) -> GradientSpec:
    """Build forward and backward graphs for ``subgraph`` (Note [Graph autodiff]).

    Args:
        subgraph: a graph of pointwise registry ops (a fusion group's subgraph), typed by
            shape analysis (static shapes are needed where broadcasting happens).
        requires_grad: per subgraph input, whether its gradient is wanted.
        outputs_wanted: per output, whether anything downstream differentiates it (default:
            all); an output nobody differentiates takes no gradient and carries no grad_fn.
    Raises:
        AutodiffError: an op has no backward rule, a rule does something that cannot be
            recorded, or a broadcast shape is unknown.
    """
    _install_once()
    forward = subgraph.copy()
    rec = _Recorder()
    needs: Dict[Value, bool] = {}
    for v, flag in zip(forward.inputs, requires_grad):
        needs[v] = bool(flag) and _is_float(v) is not False
    nodes = [n for n in forward.nodes if n.kind not in _STATIC_KINDS]
    for node in nodes:
        op = op_of(node)
        if op is None or Tag.SCALAR in op.tags:
            raise AutodiffError(f"{node.kind} is not a tensor op of the registry")
        if len(node.outputs) != 1:
            raise AutodiffError(f"{node.kind} has {len(node.outputs)} outputs")
        schema = op.schema_for_len.get(len(node.inputs), op.schema)
        flag = False
        if op.differentiable and _is_float(node.output()) is not False:
            for i, (arg, v) in enumerate(zip(schema.arguments, node.inputs)):
                if arg.is_tensor and i not in op.nondiff_args and needs.get(v, False):
                    flag = True
        needs[node.output()] = flag
    spec = GradientSpec()
    spec.f_real_outputs = len(forward.outputs)
    grads: Dict[Value, Any] = {}
    out_syms: List[Optional[SymbolicTensor]] = []
    for i, out in enumerate(forward.outputs):
        wanted = needs.get(out, False) and (outputs_wanted is None or bool(outputs_wanted[i]))
        spec.output_requires_grad.append(wanted)
        if wanted and i not in spec.df_output_vjps:
            spec.df_output_vjps.append(i)
    # One backward input per wanted output gradient (an output listed twice adds up).
    grad_inputs = [rec.graph.add_input(None, _plain(forward.outputs[i].type))
                   for i in spec.df_output_vjps]
    for gi, i in zip(grad_inputs, spec.df_output_vjps):
        out = forward.outputs[i]
        sym = SymbolicTensor(rec, gi)
        grads[out] = grads[out] + sym if out in grads else sym
    del out_syms

    for node in reversed(nodes):
        out = node.output()
        g = grads.get(out)
        if g is None or not needs.get(out, False):
            continue
        op = op_of(node)
        if op is None or op.backward is None:
            raise AutodiffError(f"{node.kind} has no backward rule")
        schema = op.schema_for_len.get(len(node.inputs), op.schema)
        bound: List[Any] = []
        tensor_args: List[int] = []
        for i, (arg, v) in enumerate(zip(schema.arguments, node.inputs)):
            ok, value = static_value(v)
            if ok:
                bound.append(value)
            elif isinstance(v.type, TensorType):
                bound.append(SymbolicTensor(rec, capture=v))
            else:
                raise AutodiffError(f"{node.kind} has a runtime non-tensor argument "
                                    f"'{arg.name}'")
            if arg.is_tensor or arg.is_tensor_list:
                tensor_args.append(i)
        ctx = BackwardContext(schema._index, bound, SymbolicTensor(rec, capture=out))
        ctx.needs_input_grad = tuple(
            isinstance(bound[i], SymbolicTensor) and i not in op.nondiff_args
            and needs.get(node.inputs[i], False) for i in tensor_args)
        try:
            results = op.backward(ctx, g)
        except AutodiffError:
            raise
        except Exception as exc:  # noqa: BLE001 - a rule doing something we cannot record
            raise AutodiffError(f"the backward rule of {node.kind} could not be recorded: "
                                f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(results, (tuple, list)):
            results = (results,)
        for i, gi in zip(tensor_args, results):
            v = node.inputs[i]
            if gi is None or not needs.get(v, False) or not isinstance(bound[i], SymbolicTensor):
                continue
            if not isinstance(gi, SymbolicTensor):
                raise AutodiffError(f"the backward rule of {node.kind} returned {gi!r}")
            # Broadcasting: a pointwise op's gradient has the result's shape, and some rules
            # return one broader than the input (linear's bias): reduce to the input's shape,
            # as the engine would between two eager nodes.
            in_shape = _static_shape(v)
            g_shape = _static_shape(gi.value())
            if Tag.POINTWISE in op.tags and (in_shape is None or g_shape is None):
                raise AutodiffError(f"the shapes around {node.kind} are unknown")
            if in_shape is not None and g_shape is not None and in_shape != g_shape:
                gi = rec.call(get("sum_to_size"), (gi, list(in_shape)), {})
            grads[v] = grads[v] + gi if v in grads else gi

    for k, v in enumerate(forward.inputs):
        if not needs.get(v, False):
            continue
        g = grads.get(v)
        spec.df_input_vjps.append(k)
        if g is None:                       # wanted but unreachable: a zero gradient
            raise AutodiffError(f"input %{v.debug_name} gets no gradient")
        rec.graph.register_output(rec.ir_value(g))
    if not spec.df_input_vjps:
        raise AutodiffError("no input of the group needs a gradient")

    # Captured forward values: inputs stay inputs; intermediates become extra outputs.
    inputs_index = {v: k for k, v in enumerate(forward.inputs)}
    outputs_index = {v: k for k, v in enumerate(forward.outputs)}
    for v in rec.captures:
        if v in inputs_index:
            spec.df_input_captured_inputs.append(inputs_index[v])
        else:
            k = outputs_index.get(v)
            if k is None:
                k = forward.register_output(v)
                outputs_index[v] = k
            spec.df_input_captured_outputs.append(k)
    spec.df_input_captured_inputs.sort()
    spec.df_input_captured_outputs.sort()
    # Reorder the backward inputs: grads, then captured inputs, then captured outputs.
    captured_inputs = [rec._captured[forward.inputs[k]] for k in spec.df_input_captured_inputs]
    captured_outputs = [rec._captured[forward.outputs[k]] for k in spec.df_input_captured_outputs]
    spec.backward = _reorder_inputs(rec.graph, grad_inputs + captured_inputs + captured_outputs)
    spec.forward = forward
    return spec


def _reorder_inputs(graph: Graph, order: List[Value]) -> Graph:
    """A copy of ``graph`` whose inputs come in ``order`` (all of them, permuted)."""
    new = Graph()
    mapping: Dict[Value, Value] = {}
    for v in order:
        mapping[v] = new.add_input(v.debug_name if v.has_debug_name() else None, v.type)
    for n in graph.nodes:
        clone = new.append_node(new.create_clone(n, lambda x: mapping[x]))
        for old, nv in zip(n.outputs, clone.outputs):
            mapping[old] = nv
    for r in graph.outputs:
        new.register_output(mapping[r])
    return new


_INSTALLED = [False]


def _install_once() -> None:
    if not _INSTALLED[0]:
        _install()
        _INSTALLED[0] = True
