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
    module hierarchy survives (``traced.linear.graph``).  A submodule called again gets
    another graph, its method ``forward1`` (then ``forward2``...), as in PyTorch.

Note [Trace names]
    PyTorch traces a module tree into *one* graph, a block per submodule call, and splits it
    into one graph per call afterwards (``FixupTraceScopeBlocks``); minijit records each call
    into a graph of its own at once.  The names still come out as PyTorch's:

    1. All graphs of one trace share one debug-name table (``Graph.share_debug_names``), so
       a second ``input`` renames the first ``input.1`` even in another module's graph.
    2. An unnamed value read as an op input is named after the Python local that holds the
       tensor in the frame that called the op (``_local_name_of``), which may be a frame of
       ``minijit.nn`` (``input`` in ``Linear.forward``) where PyTorch runs Python too.
    3. Each tensor has one *defining* Value, in the graph of the call that computed it.  A
       callee's graph input and the caller's ``prim::CallMethod`` output that carry it into
       another graph are stand-ins (``Tracer.defining``); naming a stand-in names its
       defining Value, wherever that is (``Sequential``'s ``input`` names ``Inner``'s relu).
    4. When the trace ends (``Tracer.finish``), names are given in the order PyTorch's pass
       gives them: every callee's ``self`` (calls in pre-order, so the callers' become
       ``self.1``, ``self.3``...), then the ``prim::GetAttr`` values (a callee's before the
       caller's GetAttr of the callee).  Dead code goes, each graph takes a name table of
       its own, and a callee's graph input copies the name of the Value it stands for, if
       that Value lives in a caller's graph.  A value computed in another call reaches the
       callee unnamed (PyTorch lifts it out of that call's block as a new value), so it
       prints ``argument_1``.
"""
from __future__ import annotations

import os
import sys
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import numpy as np

from ... import dtypes as _dt
from ..._tensor import Tensor
from ...backends import device as _device
from ...ops import dispatch as _dispatch
from ...ops.registry import OpInfo, Tag
from ..ir.graph import Graph, Node, SourceRange, Value
from ..ir.types import (DeviceType, FloatType, IntType, ListType, NoneType, OptionalType,
                        TensorType, TupleType)
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


# Argument types an op takes as a number, where a traced size may be passed (``aten::Int``).
_NUMBER_TYPES = ("int", "SymInt", "float")


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
                 scope: Optional[str] = None, path: Sequence[str] = (),
                 parent: Optional["_Frame"] = None):
        self.graph = graph
        self.scope = scope          # printed as ``, scope: __module.linear`` on recorded nodes
        self.path = list(path)      # dotted path of this module from the traced root
        self.module = module
        self.self_value = self_value
        self.parent = parent
        self.values: Dict[int, Value] = {}
        self.keepalive: List[Any] = []
        self.attr_values: Dict[int, Value] = {}
        # Note [Trace names]: what ``Tracer.finish`` names, in PyTorch's order.
        self.calls: List["_Frame"] = []                     # traced submodule calls
        self.getattrs: List[Tuple[Optional["_Frame"], List[Value]]] = []   # (call, GetAttrs)
        self.stand_in_inputs: List[Value] = []

    def bind(self, tensor: Any, value: Value) -> None:
        self.values[id(tensor)] = value
        self.keepalive.append(tensor)

    def walk(self) -> Iterator["_Frame"]:
        """This frame and its calls' frames, in pre-order."""
        yield self
        for call in self.calls:
            yield from call.walk()


class Tracer:
    """Records dispatched ops into IR graphs (Note [Tracing])."""

    def __init__(self, root_module: Any = None):
        graph = Graph()
        self_value = None
        if root_module is not None:
            self_value = graph.add_input("self", _attribute_type(root_module))
        self.root = _Frame(graph, root_module, self_value)
        self.frames: List[_Frame] = [self.root]
        self.root_module = root_module
        # id(module) → (module, forward graph, [("forward1", graph), ...])
        self.method_graphs: Dict[int, Tuple[Any, Graph, List[Tuple[str, Graph]]]] = {}
        # id(stand-in Value) → the Value defining its tensor (Note [Trace names])
        self.defining: Dict[int, Value] = {}
        self.warned: List[str] = []
        self.nondeterministic: List[Node] = []
        self._numbers: List[Value] = []     # ``aten::Int`` of traced sizes, for ``record``

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
            if name_from_locals:
                self._name_from_locals(tensor, value)
            return value
        if frame.module is not None:
            path = _find_attribute_path(frame.module, tensor)
            if path is not None:
                value, created = self._get_attr_chain(path)
                frame.getattrs.append((None, created))
                frame.bind(tensor, value)
                return value
        # A tensor from outside the trace (a global, a closure) becomes a constant.  Detach it
        # without going through ``Tensor.detach``, which would itself be recorded.
        constant = Tensor._from_array(tensor._data)
        value = self._insert(lambda g: g.insert_constant(constant, TensorType.from_tensor(tensor)))
        frame.bind(tensor, value)
        return value

    def _name_from_locals(self, tensor: Tensor, value: Value) -> None:
        """Name the Value defining ``tensor`` after a Python local (Note [Trace names]).

        Graph inputs keep their argument names; GetAttr values get theirs when the trace ends.
        """
        target = self.defining.get(id(value), value)
        if target.has_debug_name() or target.node.kind in ("prim::Param", "prim::GetAttr"):
            return
        name = _local_name_of(tensor)
        if name:
            target.set_debug_name(name)

    def _new_graph(self) -> Graph:
        graph = Graph()
        graph.share_debug_names(self.root.graph)
        return graph

    def _insert(self, make: Callable[[Graph], Value], source: Any = "auto") -> Value:
        value = make(self.frame.graph)
        if source == "auto":
            source = user_source_range()
        value.node.source_range = source
        value.node.scope = self.frame.scope
        return value

    def _get_attr_chain(self, path: Sequence[str]) -> Tuple[Value, List[Value]]:
        """``self.linear.weight`` → one ``prim::GetAttr`` per step.

        Like PyTorch's trace fixup, each new chain is put at the very start of the graph, so
        the attribute read last comes first (``%bias`` before ``%weight`` in ``Linear``'s
        graph), and a graph reuses a chain only for the same final attribute: ``self.b.a``
        after ``self.b`` reads ``b`` again (PyTorch remaps each attribute, not its prefixes).
        Returns the last value and the GetAttr values made, which ``finish`` names.
        """
        frame = self.frame
        target = frame.module
        for name in path:
            target = getattr(target, name)
        cached = frame.attr_values.get(id(target))
        if cached is not None:
            return cached, []
        current = frame.self_value
        obj = frame.module
        anchor = frame.graph.param_node.next
        created: List[Value] = []
        for name in path:
            obj = getattr(obj, name)
            node = frame.graph.create_node("prim::GetAttr", [current])
            node.attrs["name"] = name
            out = node.output()
            out.type = _attribute_type(obj)
            node.insert_before(anchor)
            created.append(out)
            current = out
        frame.attr_values[id(target)] = current
        frame.keepalive.append(target)
        return current, created

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
        # PyTorch's tracer gives None constants no source location.  Every node made while a
        # submodule runs is in its scope, constants included.
        v.node.source_range = source if value is not None else None
        v.node.scope = self.frame.scope
        return v

    def _input_value(self, value: Any, arg_type: str, source: Optional[SourceRange]) -> Value:
        if isinstance(value, Tensor):
            if not arg_type.startswith("Tensor") and arg_type.rstrip("?") in _NUMBER_TYPES:
                return self._number_of(value, arg_type)
            return self.value_of(value, name_from_locals=True)
        if isinstance(value, int) and not isinstance(value, bool) and "[" in arg_type \
                and not arg_type.startswith("Tensor"):
            value = [value]     # ``sum(x, 1)`` passes ``int[1] dim`` as the list ``[1]``
        if isinstance(value, (list, tuple)) and (arg_type.endswith("[]") or arg_type.endswith("[]?")
                                                 or "[" in arg_type):
            elem_type = arg_type.rstrip("?")
            elem_type = elem_type[:elem_type.index("[")]
            if elem_type not in _NUMBER_TYPES and (any(isinstance(v, Tensor) for v in value)
                                                   or elem_type.startswith("Tensor")):
                items = [self._input_value(v, "Tensor?" if elem_type.endswith("?") else "Tensor",
                                           source) if v is not None else
                         self._constant(None, "None", source) for v in value]
                list_type = ListType(OptionalType(TensorType.get()) if elem_type.endswith("?")
                                     else TensorType.get())
            else:               # numbers; a traced size among them is ``aten::Int`` of it
                items = [self._number_of(v, elem_type) if isinstance(v, Tensor)
                         else self._constant(int(v), "int", source) for v in value]
                list_type = ListType(IntType)
            node = self.frame.graph.create_node("prim::ListConstruct", items)
            node.output().type = list_type
            node.scope = self.frame.scope
            self.frame.graph.insert_node(node)
            return node.output()
        return self._constant(value, arg_type, source)

    # ---- hooks called by the dispatcher and Tensor -------------------------------------------------
    def record(self, op: OpInfo, bound: Sequence[Any], out: Any) -> None:
        """Record ``op(*bound) -> out`` as one node (Note [Tracing])."""
        source = user_source_range()
        schema = op.schema if len(op.schemas) == 1 else _schema_for_trace(op, bound)
        # PyTorch's argument parser turns traced sizes into numbers (``aten::Int``) before the
        # op's other arguments become constants: made first, taken in order by ``_number_of``.
        self._numbers = [self._new_number(t, a.type) for v, a in zip(bound, schema.arguments)
                         if a.type.rstrip("?").split("[")[0] in _NUMBER_TYPES
                         for t in (v if isinstance(v, (list, tuple)) else (v,))
                         if isinstance(t, Tensor)]
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
            unpack.scope = self.frame.scope       # (in a submodule's scope, as PyTorch's)
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

    # ---- sizes as traced values ------------------------------------------------------------
    def wants_traced_sizes(self, caller: Any) -> bool:
        """Whether ``x.size(0)`` called from the frame ``caller`` gives a traced value: in
        PyTorch every Python caller gets one, so here user code and ``minijit.nn`` do, while
        minijit's own machinery (C++ in PyTorch) reads plain ints."""
        code = caller.f_code
        return not _is_internal(code.co_filename, code)

    def traced_size(self, tensor: Tensor, dim: int) -> Tensor:
        """``x.size(dim)`` while tracing, as PyTorch's ``getSizeOf``: a 0-dim int64 tensor whose
        value is ``%n = aten::size(%x, dim)`` then ``prim::NumToTensor(%n)``, so code like
        ``x.view(x.size(0), -1)`` is traced for any batch size (an op taking the tensor as an
        int records ``aten::Int`` of it: ``_input_value``)."""
        source = user_source_range()
        x = self.value_of(tensor, name_from_locals=True)
        dim_value = self._constant(dim, "int", source)
        size = self.frame.graph.create_node("aten::size", [x, dim_value])
        size.output().type = IntType
        size.source_range = source
        size.scope = self.frame.scope
        self.frame.graph.insert_node(size)
        as_tensor = self.frame.graph.create_node("prim::NumToTensor", [size.output()])
        as_tensor.output().type = TensorType(_dt.int64, [], [], None, _device("cpu"))
        as_tensor.scope = self.frame.scope
        self.frame.graph.insert_node(as_tensor)
        result = Tensor._from_array(np.array(tensor._data.shape[dim], dtype=np.int64))
        self.frame.bind(result, as_tensor.output())
        return result

    def _number_of(self, tensor: Tensor, arg_type: str) -> Value:
        """A traced 0-dim tensor passed where the op takes a number: ``aten::Int(%t)`` (made
        ahead by ``record``)."""
        if self._numbers:
            return self._numbers.pop(0)
        return self._new_number(tensor, arg_type)

    def _new_number(self, tensor: Tensor, arg_type: str) -> Value:
        kind, out_type = (("aten::Float", FloatType) if arg_type.startswith("float")
                          else ("aten::Int", IntType))
        node = self.frame.graph.create_node(kind, [self.value_of(tensor, name_from_locals=True)])
        node.output().type = out_type
        node.scope = self.frame.scope
        self.frame.graph.insert_node(node)
        return node.output()

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
        module_value, created = self._get_attr_chain(path) if path else (parent.self_value, [])
        arg_values = [self._arg_value(a) for a in args]
        if isinstance(module, ScriptModule):
            parent.getattrs.append((None, created))
            _dispatch.TRACE_STATE.tracer = None
            try:
                result = module(*args)
            finally:
                _dispatch.TRACE_STATE.tracer = self
            return self._emit_call(module_value, arg_values, result, None, "forward", None)
        graph = self._new_graph()
        self_value = graph.add_input(None, _attribute_type(module))   # named by ``finish``
        full_path = parent.path + path
        scope = (parent.scope + "/" if parent.scope else "") + "__module." + ".".join(full_path)
        frame = _Frame(graph, module, self_value, scope, full_path, parent)
        parent.calls.append(frame)
        self.frames.append(frame)
        try:
            for a, v in zip(args, arg_values):
                self._bind_graph_input(frame, a, None, stands_for=v)
            result = module.forward(*args)
            returned = self._register_outputs(frame, result, submodule=True)
        finally:
            self.frames.pop()
        parent.getattrs.append((frame, created))
        name = self._add_method_graph(module, graph)
        return self._emit_call(module_value, arg_values, result, returned, name, frame)

    def _add_method_graph(self, module: Any, graph: Graph) -> str:
        """Keep a call's graph as a method of ``module``: ``forward``, then ``forward1``...

        (PyTorch makes every call of a submodule a method of its own: ``mangleMethodName``.)
        """
        entry = self.method_graphs.get(id(module))
        if entry is None:
            self.method_graphs[id(module)] = (module, graph, [])
            return "forward"
        name = f"forward{len(entry[2]) + 1}"
        entry[2].append((name, graph))
        return name

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
                   returned: Optional[Value], name: str, callee: Optional[_Frame]) -> Any:
        graph = self.frame.graph
        node = graph.create_node("prim::CallMethod", [module_value] + arg_values)
        node.attrs["name"] = name
        graph.insert_node(node)
        out = node.output()
        if returned is not None and returned.type == NoneType:
            out.type = NoneType
            return result
        out.type = _plain_type(result)
        self._bind_result(out, result, callee)
        return result

    def _bind_result(self, value: Value, result: Any, callee: Optional[_Frame]) -> None:
        if isinstance(result, Tensor):
            self.frame.bind(result, value)
            inner = callee.values.get(id(result)) if callee is not None else None
            if inner is not None:       # a stand-in for the callee's value (Note [Trace names])
                self.defining[id(value)] = self.defining.get(id(inner), inner)
            return
        if isinstance(result, (tuple, list)):
            graph = self.frame.graph
            kind = "prim::TupleUnpack" if isinstance(result, tuple) else "prim::ListUnpack"
            unpack = graph.create_node(kind, [value], num_outputs=len(result))
            graph.insert_node(unpack)
            for v, r in zip(unpack.outputs, result):
                v.type = _plain_type(r)
                self._bind_result(v, r, callee)
                if id(v) in self.defining:      # unpacked, PyTorch's values keep full types
                    v.type = self.defining[id(v)].type

    def _bind_graph_input(self, frame: _Frame, arg: Any, name: Optional[str],
                          stands_for: Optional[Value] = None) -> None:
        """Add a graph input for ``arg``; in a callee it stands for the caller's Value
        ``stands_for`` (Note [Trace names])."""
        graph = frame.graph
        if isinstance(arg, Tensor):
            v = graph.add_input(name, TensorType.from_tensor(arg))
            frame.bind(arg, v)
            if stands_for is not None:
                self.defining[id(v)] = self.defining.get(id(stands_for), stands_for)
                frame.stand_in_inputs.append(v)
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
            # PyTorch built the tuple from the defining values (Note [Trace names]), whose
            # types are complete (``Float(2, 3...)``, not a CallMethod's ``Tensor``).
            node.output().type = (TupleType([self.defining.get(id(v), v).type for v in items])
                                  if isinstance(result, tuple) else ListType(TensorType.get()))
            frame.graph.insert_node(node)
            return node.output()
        raise RuntimeError(f"Only tensors, lists, tuples of tensors, or dictionary of tensors can "
                           f"be output from traced functions (got {type(result).__name__})")

    # ---- the end of a trace ---------------------------------------------------------------
    def finish(self) -> None:
        """Name values as PyTorch's trace fixup does, then drop dead code (Note [Trace names])."""
        _name_selves(self.root)
        _name_getattrs(self.root)
        for frame in self.root.walk():
            eliminate_dead_code(frame.graph)
            frame.graph.own_debug_names(keep_suffixes=frame is self.root)
        self._name_stand_in_inputs(self.root, set())

    def _name_stand_in_inputs(self, frame: _Frame, caller_graphs: Set[int]) -> None:
        """A callee's input copies the name of its defining Value if that lives in a caller."""
        for v in frame.stand_in_inputs:
            defining = self.defining[id(v)]
            if defining.has_debug_name() and id(defining.owning_graph) in caller_graphs:
                v.set_debug_name(defining.debug_name)
        for call in frame.calls:
            self._name_stand_in_inputs(call, caller_graphs | {id(frame.graph)})


def _name_selves(frame: _Frame) -> None:
    """Each call's ``self``, in pre-order: naming one renames the last holder (``self.1``)."""
    for call in frame.calls:
        call.self_value.set_debug_name("self")
        _name_selves(call)


def _name_getattrs(frame: _Frame) -> None:
    """GetAttr values in the order they were made, a call's own before its GetAttr's."""
    for call, values in frame.getattrs:
        if call is not None:
            _name_getattrs(call)
        for v in values:
            name = v.node.attrs["name"]
            v.set_debug_name(name if name.isidentifier() else "_" + name)


def _schema_for_trace(op: OpInfo, bound: Sequence[Any]) -> Any:
    """Among overloads with as many arguments as were bound, prefer the one that takes Python
    numbers as Scalars (``pow.Tensor_Scalar`` for ``x ** 2``); otherwise numbers are wrapped
    into tensor constants, as PyTorch's ``mul.Tensor`` does for ``x * 2``."""
    candidates = [s for s in op.schemas if len(s.arguments) == len(bound)]
    if len(candidates) == 1:
        return candidates[0]
    # Overloads whose argument types the values fit first: ``std(x, [1], correction=2)`` is
    # ``std.correction``, not ``std.dim`` with ``unbiased=2``.
    fitting = [s for s in candidates if all(_fits(a, v) for a, v in zip(s.arguments, bound))]
    candidates = fitting or candidates

    def score(schema: Any) -> int:
        return sum(1 for a, v in zip(schema.arguments, bound)
                   if isinstance(v, (int, float)) and not a.type.startswith("Tensor"))
    return max(candidates, key=score) if candidates else op.schema_for_len[len(bound)]


def _fits(arg: Any, value: Any) -> bool:
    """Whether a bound value can be this schema argument: the dispatcher's overload test
    (``dispatch._accepts``: bools are not numbers), except that None fits optionals only."""
    if value is None:
        return arg.type.endswith("?") or arg.type == "None"
    return _dispatch._accepts(arg, value)


def _local_name_of(tensor: Tensor) -> Optional[str]:
    """The name of a local holding ``tensor`` in the Python frame that called the op.

    That is the frame PyTorch's ``_create_interpreter_name_lookup_fn`` looks in: the innermost
    one running Python in PyTorch, so minijit skips its own machinery and the functions
    PyTorch writes in C++ (``_is_internal``), but not ``minijit.nn`` (``Linear.forward`` holds
    ``input``).  In a Tensor method PyTorch writes in Python the tensor is ``self``: no name.
    """
    frame = sys._getframe(1)
    while frame is not None and (_is_internal(frame.f_code.co_filename, frame.f_code)
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
    frame = tracer.root
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
    tracer.finish()
    return frame.graph, tracer, result
