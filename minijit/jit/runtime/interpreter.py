"""The interpreter: compile a Graph once into a flat instruction list, then run it.

Note [Interpreter]
    ``compile_graph`` turns a Graph into a :class:`Program`: each node becomes one
    :class:`Instruction` holding a handler (looked up once in ``HANDLERS`` by node kind, or the
    registry op for ``aten::`` kinds), the register slots of its inputs and outputs, and the
    slots whose values die after it (freed so big intermediates don't linger).  Constants are
    loaded into their registers once per call from a prepared table.  ``prim::If`` and
    ``prim::Loop`` hold nested Programs for their blocks.  Running is then a tight loop over
    instructions with no dictionary lookups by name, and an op that fails raises an error that
    names the node and its source line.

    aten ops run through ``dispatch.apply`` with the inputs as bound arguments (every schema
    argument is an IR input), so interpreted code builds the same autograd tape, with the same
    ``grad_fn`` names, as eager code.
"""
from __future__ import annotations


from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..._tensor import Tensor
from .printing import print_values as _print
from ...ops import dispatch as _dispatch
from ...ops.registry import Tag, find, ops_for_kind
from ..ir.graph import Block, Graph, Node, Value

__all__ = ["Program", "compile_graph", "run_graph", "InterpreterError", "HANDLERS"]


class InterpreterError(RuntimeError):
    """An op failed while running a graph; the message names the node and source line.

    Note [Two error texts]: for a node the scripter made (its source range keeps the
    :class:`~minijit.jit.frontend.errors.Span`), :func:`run_program` rewrites the text into
    TorchScript's traceback (the statement with carets, then ``RuntimeError: <message>``); for
    traced or parsed graphs, which know only ``file:line``, it prints the failing node.
    """

    def __init__(self, message: str, node: Optional[Node] = None,
                 cause: Optional[Exception] = None):
        super().__init__(message)
        self.node = node
        self.cause = cause


class Instruction:
    __slots__ = ("run", "inputs", "outputs", "frees", "node", "programs")

    def __init__(self, run: Callable, inputs: Tuple[int, ...], outputs: Tuple[int, ...],
                 node: Node, programs: Tuple["Program", ...] = ()):
        self.run = run
        self.inputs = inputs
        self.outputs = outputs
        self.frees: Tuple[int, ...] = ()
        self.node = node
        self.programs = programs


class Program:
    """A compiled block: parameter slots, instructions, return slots."""

    __slots__ = ("params", "instructions", "returns", "num_slots", "constants", "template")

    def __init__(self) -> None:
        self.params: Tuple[int, ...] = ()
        self.instructions: List[Instruction] = []
        self.returns: Tuple[int, ...] = ()
        self.num_slots = 0
        self.constants: List[Tuple[int, Any]] = []
        self.template: Optional[List[Any]] = None    # registers with constants filled in


# ---- handlers: run(values) -> tuple of outputs --------------------------------------------------
def _op_handler(op: Any) -> Callable:
    """A tensor op: through the single dispatch point, so autograd records it as in eager."""
    apply = _dispatch.apply

    def run(values: List[Any]) -> Tuple[Any, ...]:
        out = apply(op, values)
        return out if len(op.schema_for_len.get(len(values), op.schema).returns) > 1 else (out,)
    return run


def _fast_op_handler(op: Any, node: Node) -> Optional[Callable]:
    """The eager shortcut of a pointwise op (``fast_path.fast_entry``) when the node's extra
    inputs are constants equal to the shortcut's defaults (``add(x, y, 1)``); it falls back to
    the full dispatch by itself for anything unusual (gradients, tracing, odd dtypes)."""
    fast = getattr(op, "fast", None)
    if not fast or node.schema is not None and not op.uniform_overloads:
        return None
    tail = op.fast_bind.get(len(op.tensor_arg_indices))
    arity = len(op.tensor_arg_indices)
    if tail is None or len(node.inputs) != arity + len(tail):
        return None
    for v, default in zip(node.inputs[arity:], tail):
        if v.node.kind != "prim::Constant" or v.node.attrs.get("value") != default or \
                type(v.node.attrs.get("value")) is not type(default):
            return None
    method = fast[1]
    slow = _op_handler(op)
    if arity == 1:
        def run(values: List[Any]) -> Tuple[Any, ...]:
            a = values[0]
            return (method(a),) if type(a) is Tensor else slow(values)
    else:
        def run(values: List[Any]) -> Tuple[Any, ...]:
            a = values[0]
            return (method(a, values[1]),) if type(a) is Tensor else slow(values)
    return run


def _scalar_op_handler(op: Any, num_outputs: int) -> Callable:
    """A scalar op (``ops/scalar.py``): its impl on Python values, no dispatch."""
    impl = op.impl
    if num_outputs == 1:
        def run(values: List[Any]) -> Tuple[Any, ...]:
            return (impl(None, *values),)
    elif num_outputs == 0:
        def run(values: List[Any]) -> Tuple[Any, ...]:
            impl(None, *values)
            return ()
    else:
        def run(values: List[Any]) -> Tuple[Any, ...]:
            return tuple(impl(None, *values))
    return run


def _accepts(type_text: str, value: Any) -> bool:
    """Does a Python value fit a schema type spelling (for nodes without a schema)?"""
    t = type_text.rstrip("?")
    if type_text.endswith("?") and value is None:
        return True
    if t in ("int", "SymInt"):
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "float":
        return isinstance(value, float)
    if t == "bool":
        return isinstance(value, bool)
    if t == "str":
        return isinstance(value, str)
    if t == "Scalar":
        return isinstance(value, (int, float, bool))
    if t == "Tensor":
        return isinstance(value, Tensor)
    if t.endswith("]"):
        return isinstance(value, (list, tuple))
    if t.startswith("Dict"):
        return isinstance(value, dict)
    return True                             # type variables, Device...


def _dynamic_handler(kind: str, tensor_op: Any, scalar_ops: List[Any],
                     num_outputs: int) -> Callable:
    """A node without a schema (parsed or traced graphs): pick the overload from the values.

    Tensor inputs go to the registry's tensor op; otherwise the first scalar overload whose
    schema accepts the values runs (the choice is cached per input types).
    """
    tensor_run = _op_handler(tensor_op) if tensor_op is not None else None
    chosen: Dict[Tuple[type, ...], Callable] = {}

    def run(values: List[Any]) -> Tuple[Any, ...]:
        if tensor_run is not None and any(isinstance(v, Tensor) for v in values):
            return tensor_run(values)
        key = tuple(type(v) for v in values)
        handler = chosen.get(key)
        if handler is None:
            for op in scalar_ops:
                args = op.schema.arguments
                if len(args) == len(values) and all(_accepts(a.type, v)
                                                    for a, v in zip(args, values)):
                    handler = chosen[key] = _scalar_op_handler(op, num_outputs)
                    break
            else:
                if tensor_run is not None:
                    return tensor_run(values)
                raise InterpreterError(f"no overload of {kind} accepts {values!r}")
        return handler(values)
    return run


class _ScriptException(Exception):
    """``prim::RaiseException`` in flight.  It passes through nested programs (If/Loop bodies,
    called functions and methods) untouched; ``node`` is the raising node, recorded by the
    innermost :func:`execute`, and :func:`run_program` turns it into the user-facing
    :class:`~minijit.jit.errors.JitScriptError` with that node's source line."""

    def __init__(self, message: Any, qualified: Any):
        super().__init__(message)
        self.qualified = qualified
        self.node: Optional[Node] = None


def _raise(values: List[Any]) -> Tuple[Any, ...]:
    message = values[0] if values else "Exception"
    raise _ScriptException(message, values[1] if len(values) > 1 else None)


def _isinstance_handler(node: Node) -> Callable:
    types = list(node.attrs["types"])

    def fits(value: Any, t: Any) -> bool:
        kind = t.kind
        if kind == "Tensor":
            return isinstance(value, Tensor)
        if kind in ("int", "float", "bool", "str"):
            return _accepts(kind, value)
        if kind == "NoneType":
            return value is None
        if kind == "List":
            return isinstance(value, list)
        if kind == "Tuple":
            return isinstance(value, tuple)
        if kind == "Dict":
            return isinstance(value, dict)
        return True

    return lambda values: (any(fits(values[0], t) for t in types),)


def _call_method_handler(node: Node) -> Callable:
    """``(module).name(args)``: run the callee's compiled program directly (no Python
    ``Module.__call__``, no hooks: compiled code calls compiled code), or fall back to Python
    for modules that are not script modules."""
    name = node.attrs["name"]
    n = len(node.outputs)

    def run(values: List[Any]) -> Tuple[Any, ...]:
        module = values[0]
        methods = module.__dict__.get("_methods")
        method = methods.get(name) if methods is not None else None
        if method is None:
            return _as_outputs(getattr(module, name)(*values[1:]), n)
        result = _run_nested(method.program, values)
        return (result,) if n == 1 else _as_outputs(result, n)
    return run


_TABLES = ("_parameters", "_buffers", "_modules")


def _get_attr_handler(name: str) -> Callable:
    """``prim::GetAttr``: read a module's attribute from its tables directly.

    Compiled code reads ``self.linear``/``self.weight`` at every call; going through Python's
    ``getattr`` would run ``Module.__getattr__`` (and ScriptModule's) each time.  The lookup
    order is Python's for an ``nn.Module``: the instance ``__dict__``, then parameters,
    buffers and submodules; anything else (a class attribute) falls back to ``getattr``.
    """
    def run(values: List[Any]) -> Tuple[Any, ...]:
        obj = values[0]
        d = getattr(obj, "__dict__", None)
        if d is not None:
            if name in d:
                return (d[name],)
            for table in _TABLES:
                t = d.get(table)
                if t is not None and name in t:
                    return (t[name],)
        return (getattr(obj, name),)
    return run


def _call_function(fn: Any, args: Sequence[Any]) -> Any:
    """``prim::CallFunction``: a compiled callee runs its program directly."""
    program = getattr(fn, "program", None)
    if program is not None and isinstance(program, Program):
        return _run_nested(program, args)
    return fn(*args)


def _python_op(node: Node) -> Callable:
    fn = node.attrs["python_function"]
    n = len(node.outputs)
    return lambda values: _as_outputs(fn(*values), n)


HANDLERS: Dict[str, Callable[[Node], Callable]] = {
    "prim::TupleConstruct": lambda node: lambda values: (tuple(values),),
    "prim::ListConstruct": lambda node: lambda values: (list(values),),
    "prim::DictConstruct": lambda node: lambda values: (dict(zip(values[::2], values[1::2])),),
    "prim::TupleUnpack": lambda node: lambda values: tuple(values[0]),
    "prim::ListUnpack": lambda node: lambda values: _check_unpack(values[0], len(node.outputs)),
    "prim::TupleIndex": lambda node: lambda values: (values[0][values[1]],),
    "prim::TupleSlice": lambda node: (lambda beg, end: lambda values: (
        tuple(values[0][beg:end]),))(node.attrs.get("beg", 0), node.attrs.get("end")),
    "prim::GetAttr": lambda node: _get_attr_handler(node.attrs["name"]),
    "prim::SetAttr": lambda node: (lambda name: lambda values: (setattr(values[0], name, values[1]),) and ())(
        node.attrs["name"]),
    "prim::CallMethod": lambda node: _call_method_handler(node),
    "prim::CallFunction": lambda node: (lambda n: lambda values: _as_outputs(
        _call_function(values[0], values[1:]), n))(len(node.outputs)),
    "prim::PythonOp": _python_op,
    "prim::RaiseException": lambda node: _raise,
    "prim::Uninitialized": lambda node: lambda values: (None,),
    "prim::unchecked_cast": lambda node: lambda values: (values[0],),
    "prim::isinstance": _isinstance_handler,
    "prim::Print": lambda node: _print,
}


def _num_to_tensor(x: Any) -> Tensor:
    from ...ops.creation import tensor
    return tensor(x)


def _check_unpack(seq: Any, n: int) -> Tuple[Any, ...]:
    items = tuple(seq)
    if len(items) != n:
        raise ValueError(f"Expected {n} elements in a list but found {len(items)}")
    return items


def _as_outputs(result: Any, n: int) -> Tuple[Any, ...]:
    return (result,) if n == 1 else (() if n == 0 else tuple(result))


def _kind_function(kind: str, ops: List[Any]) -> Callable:
    """``f(*values)`` running the scalar overload of ``kind`` that fits the values."""
    run = _dynamic_handler(kind, None, ops, 1)
    return lambda *values: run(list(values))[0]


def _pure_scalar_kinds() -> Dict[str, Callable]:
    """Kinds whose scalar overloads are all pure, with a callable that picks the overload.

    Built from the registry (``ops/scalar.py``); the executor's raw-array plans and the pass
    manager's purity test read it.  Kinds with a mutating overload (``aten::append``) or a
    side effect are left out.
    """
    from ..passes.dce import has_side_effects_kind
    by_kind: Dict[str, List[Any]] = {}
    from ...ops.registry import scalar_ops
    for op in scalar_ops():
        by_kind.setdefault(op.kind, []).append(op)
    return {kind: _kind_function(kind, ops) for kind, ops in by_kind.items()
            if not any(Tag.INPLACE in op.tags for op in ops) and not has_side_effects_kind(kind)}


SCALAR_OPS: Dict[str, Callable] = _pure_scalar_kinds()


def _schema_op(node: Node) -> Any:
    """The registry op whose overload made ``node`` (scripted nodes record their schema)."""
    if node.schema is None:
        return None
    for op in ops_for_kind(node.kind):
        if node.schema in op.schemas:
            return op
    return None


def handler_for(node: Node) -> Callable:
    """The run function of a node: the handler table first, then the registry (one place
    for every op: a scripted node knows its overload; other nodes are resolved from the
    values at run time)."""
    kind = node.kind
    make = HANDLERS.get(kind)
    if make is not None:
        return make(node)
    op = _schema_op(node)
    if op is not None:
        if Tag.SCALAR in op.tags:
            return _scalar_op_handler(op, len(node.outputs))
        return _fast_op_handler(op, node) or _op_handler(op)
    tensor_op = find(kind)
    scalar = [o for o in ops_for_kind(kind) if Tag.SCALAR in o.tags]
    if scalar:
        return _dynamic_handler(kind, tensor_op, scalar, len(node.outputs))
    if tensor_op is not None:
        return _op_handler(tensor_op)
    raise InterpreterError(f"minijit's interpreter has no implementation for {kind} "
                           f"(node: {str(node).strip()})")


# ---- compilation ------------------------------------------------------------------------------
class _Compiler:
    def __init__(self) -> None:
        self.slots: Dict[int, int] = {}
        self.next_slot = 0

    def slot(self, value: Value) -> int:
        key = id(value)
        s = self.slots.get(key)
        if s is None:
            s = self.slots[key] = self.next_slot
            self.next_slot += 1
        return s

    def compile_block(self, block: Block, program: Program) -> None:
        program.params = tuple(self.slot(v) for v in block.params)
        for node in block.nodes:
            if node.kind == "prim::Constant":
                program.constants.append((self.slot(node.output()), _constant_value(node)))
                continue
            if node.kind in ("prim::If", "prim::Loop"):
                subs = []
                for b in node.blocks:
                    sub = Program()
                    self.compile_block(b, sub)
                    subs.append(sub)
                ins = tuple(self.slot(v) for v in node.inputs)
                outs = tuple(self.slot(v) for v in node.outputs)
                run = _run_if if node.kind == "prim::If" else _run_loop
                program.instructions.append(Instruction(run, ins, outs, node, tuple(subs)))
                continue
            ins = tuple(self.slot(v) for v in node.inputs)
            outs = tuple(self.slot(v) for v in node.outputs)
            program.instructions.append(Instruction(handler_for(node), ins, outs, node))
        program.returns = tuple(self.slot(v) for v in block.returns)


def _compute_frees(program: Program, live_out: Sequence[int]) -> None:
    """Free each register right after its last use in this block (not inside loops' bodies,
    whose registers must survive iterations)."""
    keep = set(live_out) | set(program.returns)
    seen: set = set()
    for inst in reversed(program.instructions):
        frees = []
        used = list(inst.inputs)
        for sub in inst.programs:
            used.extend(_program_reads(sub))
        for s in used:
            if s not in seen and s not in keep:
                frees.append(s)
                seen.add(s)
        inst.frees = tuple(frees)


def _program_reads(program: Program) -> List[int]:
    reads = list(program.returns)
    for inst in program.instructions:
        reads.extend(inst.inputs)
        for sub in inst.programs:
            reads.extend(_program_reads(sub))
    return reads


def compile_graph(graph: Graph) -> Program:
    """Compile ``graph`` into a :class:`Program` (Note [Interpreter])."""
    compiler = _Compiler()
    program = Program()
    compiler.compile_block(graph.block, program)
    program.num_slots = compiler.next_slot
    _compute_frees(program, ())
    # Constants of nested blocks are hoisted to the top program: they never change.
    _hoist_constants(program, program)
    return program


def _constant_value(node: Node) -> Any:
    """The run-time value of a ``prim::Constant``: functions are their compiled callee,
    devices are device objects, tensors parsed from text (``parse_ir`` keeps them as NumPy
    arrays, the IR knowing nothing of Tensors) are Tensors; everything else is stored as is."""
    out = node.output()
    kind = out.type.kind
    if kind == "Function":
        return getattr(out.type, "function", None)
    value = node.attrs.get("value")
    if kind == "Device" and isinstance(value, str):
        from ...backends import device
        return device(value)
    if kind == "Tensor" and type(value) is np.ndarray:
        return Tensor._from_array(value)
    return value


def _hoist_constants(top: Program, program: Program) -> None:
    for inst in program.instructions:
        for sub in inst.programs:
            top.constants.extend(sub.constants)
            sub.constants = []
            _hoist_constants(top, sub)


def _error(inst: Instruction, exc: Exception) -> InterpreterError:
    node = inst.node
    where = f" ({node.source_range})" if node.source_range is not None else ""
    text = str(node).strip()
    return InterpreterError(f"{exc}\nThe above operation failed in interpreter, while running "
                            f"node{where}:\n  {text}", node, exc)


def execute(program: Program, registers: List[Any]) -> None:
    """The interpreter loop: read input registers, run, write outputs, free dead registers."""
    inst = None
    try:
        for inst in program.instructions:
            if inst.programs:
                inst.run(inst, registers)
            else:
                outs = inst.run([registers[i] for i in inst.inputs])
                slots = inst.outputs
                if len(slots) == 1:
                    registers[slots[0]] = outs[0]
                else:
                    for slot, value in zip(slots, outs):
                        registers[slot] = value
            for slot in inst.frees:
                registers[slot] = None
    except _ScriptException as exc:
        if exc.node is None:
            exc.node = inst.node                                   # type: ignore[union-attr]
        raise
    except InterpreterError:
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised with the node named
        raise _error(inst, exc) from exc                           # type: ignore[arg-type]


def _truth(value: Any) -> bool:
    return bool(value.item()) if isinstance(value, Tensor) else bool(value)


def _run_if(inst: Instruction, registers: List[Any]) -> None:
    branch = inst.programs[0] if _truth(registers[inst.inputs[0]]) else inst.programs[1]
    execute(branch, registers)
    for slot, ret in zip(inst.outputs, branch.returns):
        registers[slot] = registers[ret]


def _run_loop(inst: Instruction, registers: List[Any]) -> None:
    body = inst.programs[0]
    max_trip = registers[inst.inputs[0]]
    cond = _truth(registers[inst.inputs[1]])
    carried = [registers[i] for i in inst.inputs[2:]]
    i = 0
    while cond and i < max_trip:
        registers[body.params[0]] = i
        for slot, v in zip(body.params[1:], carried):
            registers[slot] = v
        execute(body, registers)
        cond = _truth(registers[body.returns[0]])
        carried = [registers[s] for s in body.returns[1:]]
        i += 1
    for slot, v in zip(inst.outputs, carried):
        registers[slot] = v


def run_program(program: Program, args: Sequence[Any], name: Optional[str] = None) -> Any:
    """Run a compiled graph on ``args`` (``self`` first for methods); return its outputs.

    An exception raised by the compiled code comes out as ``JitScriptError`` whose traceback
    names ``name`` (the function called from Python), as TorchScript's does.
    """
    try:
        return _run_nested(program, args)
    except _ScriptException as exc:
        raise _script_error(exc, name) from None
    except InterpreterError as exc:
        frame = _frame(exc.node, name)
        if frame is None or exc.cause is None:
            raise
        raise InterpreterError("The following operation failed in the TorchScript interpreter.\n"
                               "Traceback of TorchScript (most recent call last):\n"
                               f"{frame}RuntimeError: {exc.cause}\n", exc.node,
                               exc.cause) from exc.cause


def _frame(node: Optional[Node], name: Optional[str]) -> Optional[str]:
    """The source lines of ``node`` with carets, headed ``File ..., line N, in name``."""
    source_range = node.source_range if node is not None else None
    span = getattr(source_range, "span", None)
    if span is None:
        return None
    return span.highlight(name or getattr(source_range, "function_name", "<unknown>"))


def _run_nested(program: Program, args: Sequence[Any]) -> Any:
    """Run a program called from compiled code: script exceptions pass through unchanged."""
    if len(args) != len(program.params):
        raise TypeError(f"forward() expected {len(program.params)} arguments but got {len(args)}")
    template = program.template
    if template is None:
        template = [None] * program.num_slots
        for slot, value in program.constants:
            template[slot] = value
        program.template = template
    registers = template.copy()
    for slot, value in zip(program.params, args):
        registers[slot] = value
    execute(program, registers)
    returns = program.returns
    if len(returns) == 1:
        return registers[returns[0]]
    return tuple(registers[s] for s in returns)


def _script_error(exc: _ScriptException, name: Optional[str]) -> Exception:
    """The user-facing error: TorchScript shows one frame, the raising statement, under the
    name of the function called from Python (its graph executor has inlined the calls)."""
    from ..errors import JitScriptError
    return JitScriptError(str(exc.args[0]), exc.qualified, _frame(exc.node, name))


def run_graph(graph: Graph, args: Sequence[Any]) -> Any:
    return run_program(compile_graph(graph), args)
