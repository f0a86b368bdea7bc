"""The tracer: run Python once and record every op that reaches the dispatcher.

Note [Tracing]
    While a :class:`Tracer` is installed in ``dispatch.TRACE_STATE``, every op call records one
    IR node (``Tracer.record``): its inputs are the Values already mapped to the argument
    tensors, Python numbers become ``prim::Constant`` nodes (a Python number passed where the
    schema wants a Tensor becomes a tensor constant ``{2}``, as in PyTorch), and the outputs
    are mapped to the result tensors.  Python control flow is not recorded; only the path the
    example inputs took is.  Module calls are not inlined: ``Module.__call__`` hands them to
    :meth:`Tracer.call_module`, which records ``prim::GetAttr`` + ``prim::CallMethod`` in the
    caller's graph and traces the submodule's ``forward`` into a graph of its own, so the
    module hierarchy survives (``traced.linear.graph``).
"""
from __future__ import annotations

import os
import sys
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ... import dtypes as _dt
from ..._tensor import Tensor
from ...backends import device as _device
from ...ops import dispatch as _dispatch
from ...ops.registry import OpInfo, Tag
from ..ir.graph import Graph, Node, SourceRange, Value
from ..ir.types import (DeviceType, IntType, ListType, NoneType, OptionalType, TensorType,
                        TupleType)
from ..passes.dce import eliminate_dead_code
from .tracer_frames import PYTHON_LEVEL_CODES, TRANSPARENT_CODES

__all__ = ["TracerWarning", "TracingCheckError", "Tracer", "trace_graph"]

_TAIL = ("might cause the trace to be incorrect. We can't record the data flow of Python "
         "values, so this value will be treated as a constant in the future. This means that "
         "the trace might not generalize to other inputs!")


class TracerWarning(Warning):
    """PyTorch's ``torch.jit.TracerWarning``: the trace may not generalise."""


class TracingCheckError(Exception):
    """``check_trace`` found that re-tracing gives another graph."""

    def __init__(self, graph_diff_error: Optional[str], tensor_compare_error: Optional[str] = None,
                 extra_msg: Optional[str] = None):
        self.message = "Tracing failed sanity checks!\n"
        if extra_msg is not None:
            self.message += extra_msg + "\n"
        if graph_diff_error is not None:
            self.message += "ERROR: Graphs differed across invocations!\n" + graph_diff_error
        if tensor_compare_error is not None:
            self.message += ("ERROR: Tensor-valued Constant nodes differed in value across "
                             "invocations. This often indicates that the tracer has encountered "
                             "untraceable code.\n" + tensor_compare_error)
        super().__init__(self.message)


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_LIBRARY_DIRS = (os.path.join(_PACKAGE_DIR, "nn") + os.sep,)


def _is_internal(filename: str, code: Any = None) -> bool:
    """Frames inside minijit's machinery are skipped when locating a node's source line;
    frames in ``minijit/nn`` count as library source, as ``torch/nn`` does in PyTorch, except
    functions PyTorch writes in C++ (Note in ``tracer_frames.py``)."""
    if code is not None and code in TRANSPARENT_CODES:
        return True
    if not filename.startswith(_PACKAGE_DIR):
        return False
    if filename.startswith(_LIBRARY_DIRS) and not filename.endswith("module.py"):
        return False
    return True


def user_source_range() -> Optional[SourceRange]:
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_internal(filename, frame.f_code) and not filename.startswith("<frozen"):
            return SourceRange(filename, frame.f_lineno, 0)
        frame = frame.f_back
    return None


def _scalar_type(value: Any) -> Any:
    """The IR type of a Python number or string recorded as a constant (None otherwise)."""
    if value is None or not isinstance(value, (bool, int, float, str)):
        return None
    from .annotations import infer_type
    return infer_type(value)


class _Frame:
    """One graph under construction: a module's ``forward`` or the traced function."""

    def __init__(self, graph: Graph, module: Any = None, self_value: Optional[Value] = None,
                 scope: Optional[str] = None, path: Sequence[str] = ()):
        self.graph = graph
        self.scope = scope          # printed as ``, scope: __module.linear`` on recorded nodes
        self.path = list(path)      # dotted path of this module from the traced root
        self.module = module
        self.self_value = self_value
        self.values: Dict[int, Value] = {}
        self.keepalive: List[Any] = []
        self.attr_values: Dict[int, Value] = {}

    def bind(self, tensor: Any, value: Value) -> None:
        self.values[id(tensor)] = value
        self.keepalive.append(tensor)


class Tracer:
    """Records dispatched ops into IR graphs (Note [Tracing])."""

    def __init__(self, root_module: Any = None):
        self.frames: List[_Frame] = []
        self.root_module = root_module
        self.method_graphs: Dict[int, Tuple[Any, Graph]] = {}   # id(module) → (module, graph)
        self.warned: List[str] = []
        self.nondeterministic: List[Node] = []

    @property
    def frame(self) -> _Frame:
        return self.frames[-1]

    # ---- values ---------------------------------------------------------------------------------
    def value_of(self, tensor: Tensor, name_from_locals: bool = False) -> Value:
        """The Value for a tensor: mapped, a module attribute (GetAttr), or a constant.

        Like PyTorch's tracer, an unnamed value read as an op input takes the name of a Python
        local that holds the tensor in the calling frame (``y = x.tanh(); y + 1`` → ``%y``).
        """
        frame = self.frame
        value = frame.values.get(id(tensor))
        if value is not None:
            if name_from_locals and not value.has_debug_name() and value.node.kind != "prim::Param":
                name = _local_name_of(tensor)
                if name:
                    value.set_debug_name(name)
            return value
        if frame.module is not None:
            path = _find_attribute_path(frame.module, tensor)
            if path is not None:
                value = self._get_attr_chain(path)
                frame.bind(tensor, value)
                return value
        # A tensor from outside the trace (a global, a closure) becomes a constant.  Detach it
        # without going through ``Tensor.detach``, which would itself be recorded.
        constant = Tensor._from_array(tensor._data)
        value = self._insert(lambda g: g.insert_constant(constant, TensorType.from_tensor(tensor)))
        frame.bind(tensor, value)
        return value

    def _insert(self, make: Callable[[Graph], Value], source: Any = "auto") -> Value:
        value = make(self.frame.graph)
        if source == "auto":
            source = user_source_range()
        value.node.source_range = source
        return value

    def _get_attr_chain(self, path: Sequence[str]) -> Value:
        """``self.linear.weight`` → one ``prim::GetAttr`` per step (reused within a graph).

        Like PyTorch's tracer, each new chain is put at the very start of the graph, so the
        attribute read last comes first (``%bias`` before ``%weight`` in ``Linear``'s graph).
        """
        frame = self.frame
        current = frame.self_value
        obj = frame.module
        anchor = frame.graph.param_node.next
        for name in path:
            obj = getattr(obj, name)
            cached = frame.attr_values.get(id(obj))
            if cached is not None:
                current = cached
                continue
            node = frame.graph.create_node("prim::GetAttr", [current])
            node.attrs["name"] = name
            out = node.output()
            out.type = _attribute_type(obj)
            out.set_debug_name(name if name.isidentifier() else "_" + name)
            node.insert_before(anchor)
            frame.attr_values[id(obj)] = out
            frame.keepalive.append(obj)
            current = out
        return current

    def _constant(self, value: Any, arg_type: str, source: Optional[SourceRange]) -> Value:
        graph = self.frame.graph
        if arg_type in ("Tensor", "Tensor?") and isinstance(value, (bool, int, float)):
            # A Python number where a Tensor is expected is "wrapped": a 0-dim tensor constant.
            from ...ops.creation import tensor as make_tensor
            saved = _dispatch.TRACE_STATE.tracer
            _dispatch.TRACE_STATE.tracer = None
            try:
                # PyTorch wraps a Python float as a Double tensor, an int as a Long one.
                t = make_tensor(value, dtype=_dt.float64 if isinstance(value, float) else None)
            finally:
                _dispatch.TRACE_STATE.tracer = saved
            v = graph.insert_constant(t, TensorType.from_tensor(t))
        elif isinstance(value, _dt.dtype):
            v = graph.insert_constant(value.code, IntType)
        elif isinstance(value, _device):
            v = graph.insert_constant(str(value), DeviceType)
        elif arg_type.startswith("Device") and isinstance(value, str):
            v = graph.insert_constant(value, DeviceType)
        else:
            v = graph.insert_constant(value)
        # PyTorch's tracer gives None constants no source location.
        v.node.source_range = source if value is not None else None
        return v

    def _input_value(self, value: Any, arg_type: str, source: Optional[SourceRange]) -> Value:
        if isinstance(value, Tensor):
            return self.value_of(value, name_from_locals=True)
        if isinstance(value, int) and not isinstance(value, bool) and "[" in arg_type \
                and not arg_type.startswith("Tensor"):
            value = [value]     # ``sum(x, 1)`` passes ``int[1] dim`` as the list ``[1]``
        if isinstance(value, (list, tuple)) and (arg_type.endswith("[]") or arg_type.endswith("[]?")
                                                 or "[" in arg_type):
            elem_type = arg_type.rstrip("?")
            elem_type = elem_type[:elem_type.index("[")]
            if any(isinstance(v, Tensor) for v in value) or elem_type.startswith("Tensor"):
                items = [self._input_value(v, "Tensor?" if elem_type.endswith("?") else "Tensor",
                                           source) if v is not None else
                         self._constant(None, "None", source) for v in value]
                list_type = ListType(OptionalType(TensorType.get()) if elem_type.endswith("?")
                                     else TensorType.get())
            else:
                items = [self._constant(int(v), "int", source) for v in value]
                list_type = ListType(IntType)
            node = self.frame.graph.create_node("prim::ListConstruct", items)
            node.output().type = list_type
            self.frame.graph.insert_node(node)
            return node.output()
        return self._constant(value, arg_type, source)

    # ---- hooks called by the dispatcher and Tensor -------------------------------------------------
    def record(self, op: OpInfo, bound: Sequence[Any], out: Any) -> None:
        """Record ``op(*bound) -> out`` as one node (Note [Tracing])."""
        source = user_source_range()
        schema = op.schema if len(op.schemas) == 1 else _schema_for_trace(op, bound)
        inputs = [self._input_value(v, a.type, source) for v, a in zip(bound, schema.arguments)]
        graph = self.frame.graph
        kind = op.kind if op.namespace != "prim" else op.kind
        returns = schema.returns
        node = graph.create_node(kind, inputs, num_outputs=len(returns))
        node.schema = schema
        node.source_range = source
        node.scope = self.frame.scope
        graph.insert_node(node)
        if Tag.RANDOM in op.tags:
            self.nondeterministic.append(node)
        if len(returns) == 1 and returns[0] == "Tensor[]":
            node.output().type = ListType(TensorType.get())
            unpack = graph.create_node("prim::ListUnpack", [node.output()], num_outputs=len(out))
            graph.insert_node(unpack)
            for v, t in zip(unpack.outputs, out):
                v.type = TensorType.from_tensor(t)
                self.frame.bind(t, v)
            return
        outs = out if len(returns) > 1 else (out,)
        for v, t, kind_ in zip(node.outputs, outs, returns):
            if isinstance(t, Tensor):
                v.type = TensorType.from_tensor(t)
                self.frame.bind(t, v)
            else:
                v.type = _scalar_type(t) or IntType

    def record_alias(self, src: Tensor, out: Tensor, kind: str) -> None:
        from ...ops.registry import find
        op = find(kind)
        if op is not None:
            self.record(op, [src], out)
        else:
            value = self.value_of(src)
            node = self.frame.graph.create_node(kind, [value])
            node.source_range = user_source_range()
            node.output().type = TensorType.from_tensor(out)
            self.frame.graph.insert_node(node)
            self.frame.bind(out, node.output())

    def record_constant_tensor(self, t: Tensor) -> None:
        self._warn("torch.tensor results are registered as constants in the trace. You can safely "
                   "ignore this warning if you use this function to create tensors out of "
                   "constant variables that would be the same every time you call this function. "
                   "In any other case, this might cause the trace to be incorrect.")

    def warn_conversion(self, tensor: Tensor, what: str) -> None:
        # PyTorch's wording: "to a Python integer", "to a NumPy array" (always "a").
        self._warn(f"Converting a tensor to a {'Python ' if what != 'NumPy array' else ''}"
                   f"{what} {_TAIL}")

    def warn_len(self) -> None:
        self._warn("Using len to get tensor shape might cause the trace to be incorrect. "
                   "Recommended usage would be tensor.shape[0]. Passing a tensor of different "
                   "shape might lead to errors or silently give incorrect results.")

    def _warn(self, message: str) -> None:
        """Warn at the user's line, as PyTorch does, not inside minijit."""
        frame = sys._getframe(0)
        level = 1
        while frame is not None and _is_internal(frame.f_code.co_filename):
            frame = frame.f_back
            level += 1
        warnings.warn(message, TracerWarning, stacklevel=level)

    # ---- module calls -------------------------------------------------------------------------
    def call_module(self, module: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        """Record ``self.sub(x)`` as GetAttr + CallMethod and trace ``sub.forward`` apart."""
        from ..modules import ScriptModule
        if kwargs:
            raise RuntimeError("minijit.jit.trace: keyword arguments to submodules are not "
                               "supported while tracing; pass them positionally")
        parent = self.frame
        path = _find_module_path(parent.module, module) if parent.module is not None else None
        if path is None:
            # A module that is not an attribute of the traced module: run it inline.
            return module.forward(*args)
        module_value = self._get_attr_chain(path) if path else parent.self_value
        arg_values = [self._arg_value(a) for a in args]
        if isinstance(module, ScriptModule):
            _dispatch.TRACE_STATE.tracer = None
            try:
                result = module(*args)
            finally:
                _dispatch.TRACE_STATE.tracer = self
            return self._emit_call(module_value, arg_values, result, None, module)
        if parent.self_value is not None and parent.self_value.debug_name == "self":
            # PyTorch traces into one graph and splits it per module afterwards: the caller's
            # ``self`` was renamed ``self.1`` when the callee's ``self`` appeared.
            parent.self_value.set_debug_name("self.1")
        graph = Graph()
        self_value = graph.add_input("self", _attribute_type(module))
        full_path = parent.path + path
        scope = (parent.scope + "/" if parent.scope else "") + "__module." + ".".join(full_path)
        frame = _Frame(graph, module, self_value, scope, full_path)
        parent_inputs = set(id(v) for v in parent.graph.inputs)
        self.frames.append(frame)
        try:
            for a, v in zip(args, arg_values):
                # An argument that is a graph input of the caller keeps its name (``%x``).
                name = v.debug_name if id(v) in parent_inputs and v.has_debug_name() else None
                self._bind_graph_input(frame, a, name)
            result = module.forward(*args)
            returned = self._register_outputs(frame, result, submodule=True)
        finally:
            self.frames.pop()
        eliminate_dead_code(graph)
        self.method_graphs[id(module)] = (module, graph)
        return self._emit_call(module_value, arg_values, result, returned, module)

    def _arg_value(self, arg: Any) -> Value:
        if isinstance(arg, Tensor):
            return self.value_of(arg)
        if isinstance(arg, (tuple, list)):
            items = [self._arg_value(a) for a in arg]
            kind = "prim::TupleConstruct" if isinstance(arg, tuple) else "prim::ListConstruct"
            node = self.frame.graph.create_node(kind, items)
            node.output().type = (TupleType([v.type for v in items]) if isinstance(arg, tuple)
                                  else ListType(TensorType.get()))
            self.frame.graph.insert_node(node)
            return node.output()
        return self._constant(arg, "Any", None)

    def _emit_call(self, module_value: Value, arg_values: List[Value], result: Any,
                   returned: Optional[Value], module: Any) -> Any:
        graph = self.frame.graph
        node = graph.create_node("prim::CallMethod", [module_value] + arg_values)
        node.attrs["name"] = "forward"
        graph.insert_node(node)
        out = node.output()
        if returned is not None and returned.type == NoneType:
            out.type = NoneType
            return result
        out.type = _plain_type(result)
        self._bind_result(out, result)
        return result

    def _bind_result(self, value: Value, result: Any) -> None:
        if isinstance(result, Tensor):
            self.frame.bind(result, value)
            return
        if isinstance(result, (tuple, list)):
            graph = self.frame.graph
            kind = "prim::TupleUnpack" if isinstance(result, tuple) else "prim::ListUnpack"
            unpack = graph.create_node(kind, [value], num_outputs=len(result))
            graph.insert_node(unpack)
            for v, r in zip(unpack.outputs, result):
                v.type = _plain_type(r)
                self._bind_result(v, r)

    def _bind_graph_input(self, frame: _Frame, arg: Any, name: Optional[str]) -> None:
        graph = frame.graph
        if isinstance(arg, Tensor):
            v = graph.add_input(name, TensorType.from_tensor(arg))
            frame.bind(arg, v)
        elif isinstance(arg, (tuple, list)):
            v = graph.add_input(name, _full_type(arg))
            self._unpack_input(frame, v, arg)
        else:
            raise _untraceable(arg)

    def _unpack_input(self, frame: _Frame, value: Value, arg: Any) -> None:
        graph = frame.graph
        kind = "prim::TupleUnpack" if isinstance(arg, tuple) else "prim::ListUnpack"
        node = graph.create_node(kind, [value], num_outputs=len(arg))
        graph.insert_node(node)
        for v, a in zip(node.outputs, arg):
            v.type = _full_type(a)
            if isinstance(a, Tensor):
                frame.bind(a, v)
            else:
                self._unpack_input(frame, v, a)

    def _register_outputs(self, frame: _Frame, result: Any, submodule: bool = False) -> Value:
        graph = frame.graph
        params = set(id(v) for v in graph.inputs)
        if submodule and isinstance(result, Tensor) and id(frame.values.get(id(result))) in params:
            # PyTorch's quirk, visible in the tutorial: a submodule that returns its input
            # unchanged gets ``-> NoneType: return None`` and the caller keeps the input value.
            none = graph.insert_constant(None)
            graph.register_output(none)
            return none
        value = self._output_value(frame, result)
        graph.register_output(value)
        return value

    def _output_value(self, frame: _Frame, result: Any) -> Value:
        if isinstance(result, Tensor):
            return self.value_of(result)
        if isinstance(result, (tuple, list)):
            items = [self._output_value(frame, r) for r in result]
            kind = "prim::TupleConstruct" if isinstance(result, tuple) else "prim::ListConstruct"
            node = frame.graph.create_node(kind, items)
            node.output().type = (TupleType([v.type for v in items]) if isinstance(result, tuple)
                                  else ListType(TensorType.get()))
            frame.graph.insert_node(node)
            return node.output()
        raise RuntimeError(f"Only tensors, lists, tuples of tensors, or dictionary of tensors can "
                           f"be output from traced functions (got {type(result).__name__})")


def _schema_for_trace(op: OpInfo, bound: Sequence[Any]) -> Any:
    """Among overloads with as many arguments as were bound, prefer the one that takes Python
    numbers as Scalars (``pow.Tensor_Scalar`` for ``x ** 2``); otherwise numbers are wrapped
    into tensor constants, as PyTorch's ``mul.Tensor`` does for ``x * 2``."""
    candidates = [s for s in op.schemas if len(s.arguments) == len(bound)]
    if len(candidates) == 1:
        return candidates[0]

    def score(schema: Any) -> int:
        return sum(1 for a, v in zip(schema.arguments, bound)
                   if isinstance(v, (int, float)) and not a.type.startswith("Tensor"))
    return max(candidates, key=score) if candidates else op.schema_for_len[len(bound)]


def _local_name_of(tensor: Tensor) -> Optional[str]:
    frame = sys._getframe(1)
    while frame is not None and (_is_internal(frame.f_code.co_filename)
                                 or frame.f_code.co_filename.startswith("<frozen")):
        if frame.f_code in PYTHON_LEVEL_CODES:
            return None                   # PyTorch looks in that method's frame: ``self``
        frame = frame.f_back
    if frame is None:
        return None
    for name, value in frame.f_locals.items():
        if value is tensor and name != "self":
            return name
    return None


def _untraceable(arg: Any) -> RuntimeError:
    return RuntimeError(f"Type '{type(arg).__name__}' cannot be traced. Only Tensors and "
                        "(possibly nested) Lists, Dicts, and Tuples of Tensors can be traced")


def _full_type(x: Any) -> Any:
    if isinstance(x, Tensor):
        return TensorType.from_tensor(x)
    if isinstance(x, tuple):
        return TupleType([_full_type(a) for a in x])
    if isinstance(x, list):
        return ListType(TensorType.get())
    raise _untraceable(x)


def _plain_type(x: Any) -> Any:
    if isinstance(x, Tensor):
        return TensorType.get()
    if isinstance(x, tuple):
        return TupleType([_plain_type(a) for a in x])
    if isinstance(x, list):
        return ListType(TensorType.get())
    return _scalar_type(x) or NoneType


def _attribute_type(obj: Any) -> Any:
    from ..modules import class_type_of
    if isinstance(obj, Tensor):
        return TensorType.get()
    return class_type_of(obj)


def _find_attribute_path(module: Any, tensor: Tensor) -> Optional[List[str]]:
    for name, p in module.named_parameters(remove_duplicate=False):
        if p is tensor:
            return name.split(".")
    for name, b in module.named_buffers(remove_duplicate=False):
        if b is tensor:
            return name.split(".")
    return None


def _find_module_path(root: Any, target: Any) -> Optional[List[str]]:
    if root is target:
        return []
    for name, child in root.named_modules(remove_duplicate=False):
        if child is target:
            return name.split(".") if name else []
    return None


def trace_graph(fn: Callable, inputs: Tuple[Any, ...], module: Any = None,
                arg_names: Optional[Sequence[Optional[str]]] = None) -> Tuple[Graph, Tracer, Any]:
    """Trace ``fn(*inputs)`` (a module's ``forward`` when ``module`` is given).

    Returns:
        The graph, the tracer (with the submodule graphs it traced) and the eager outputs.
    """
    if _dispatch.TRACE_STATE.tracer is not None:
        raise RuntimeError("minijit.jit.trace cannot be nested inside another trace")
    tracer = Tracer(module)
    graph = Graph()
    self_value = None
    if module is not None:
        self_value = graph.add_input("self", _attribute_type(module))
    frame = _Frame(graph, module, self_value)
    tracer.frames.append(frame)
    names = list(arg_names or [])
    for i, a in enumerate(inputs):
        tracer._bind_graph_input(frame, a, names[i] if i < len(names) else None)
    _dispatch.TRACE_STATE.tracer = tracer
    try:
        result = fn(*inputs)
        if result is None or not isinstance(result, (Tensor, tuple, list)):
            raise RuntimeError("Only tensors, lists, tuples of tensors, or dictionary of tensors "
                               "can be output from traced functions (the traced function "
                               f"returned {type(result).__name__})")
        tracer._register_outputs(frame, result)
    finally:
        _dispatch.TRACE_STATE.tracer = None
    eliminate_dead_code(graph)
    return graph, tracer, result
