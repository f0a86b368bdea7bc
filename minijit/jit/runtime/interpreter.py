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

import math
import operator
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..._tensor import Tensor
from ...ops import dispatch as _dispatch
from ...ops.registry import find
from ..ir.graph import Block, Graph, Node, Value

__all__ = ["Program", "compile_graph", "run_graph", "InterpreterError", "HANDLERS"]


class InterpreterError(RuntimeError):
    """An op failed while running a graph; the message names the node and source line."""


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

    __slots__ = ("params", "instructions", "returns", "num_slots", "constants")

    def __init__(self) -> None:
        self.params: Tuple[int, ...] = ()
        self.instructions: List[Instruction] = []
        self.returns: Tuple[int, ...] = ()
        self.num_slots = 0
        self.constants: List[Tuple[int, Any]] = []


# ---- handlers: run(instruction, registers) -> tuple of outputs ---------------------------------
def _op_handler(op: Any) -> Callable:
    apply = _dispatch.apply

    def run(values: List[Any]) -> Tuple[Any, ...]:
        out = apply(op, values)
        return out if len(op.schema_for_len.get(len(values), op.schema).returns) > 1 else (out,)
    return run


def _scalar_handler(fn: Callable) -> Callable:
    def run(values: List[Any]) -> Tuple[Any, ...]:
        return (fn(*values),)
    return run


def _raise(values: List[Any]) -> Tuple[Any, ...]:
    message = values[0] if values else "Exception"
    raise _ScriptException(message, values[1] if len(values) > 1 else None)


class _ScriptException(Exception):
    def __init__(self, message: Any, qualified: Any):
        super().__init__(message)
        self.qualified = qualified


def _getitem(container: Any, index: Any) -> Any:
    return container[index]


def _size(x: Any, dim: Any = None) -> Any:
    return list(x.shape) if dim is None else x.size(dim)


def _list_append(lst: list, x: Any) -> list:
    lst.append(x)
    return lst


HANDLERS: Dict[str, Callable[[Node], Callable]] = {
    "prim::TupleConstruct": lambda node: lambda values: (tuple(values),),
    "prim::ListConstruct": lambda node: lambda values: (list(values),),
    "prim::DictConstruct": lambda node: lambda values: (dict(zip(values[::2], values[1::2])),),
    "prim::TupleUnpack": lambda node: lambda values: tuple(values[0]),
    "prim::ListUnpack": lambda node: lambda values: _check_unpack(values[0], len(node.outputs)),
    "prim::TupleIndex": lambda node: lambda values: (values[0][values[1]],),
    "prim::GetAttr": lambda node: (lambda name: lambda values: (getattr(values[0], name),))(
        node.attrs["name"]),
    "prim::SetAttr": lambda node: (lambda name: lambda values: (setattr(values[0], name, values[1]),) and ())(
        node.attrs["name"]),
    "prim::CallMethod": lambda node: (lambda name: lambda values: _as_outputs(
        getattr(values[0], name)(*values[1:]), len(node.outputs)))(node.attrs["name"]),
    "prim::CallFunction": lambda node: lambda values: _as_outputs(values[0](*values[1:]),
                                                                  len(node.outputs)),
    "prim::RaiseException": lambda node: _raise,
    "prim::Uninitialized": lambda node: lambda values: (None,),
    "prim::unchecked_cast": lambda node: lambda values: (values[0],),
    "prim::NumToTensor": lambda node: lambda values: (_num_to_tensor(values[0]),),
    "prim::device": lambda node: lambda values: (values[0].device,),
    "prim::dtype": lambda node: lambda values: (values[0].dtype.code,),
    "prim::Print": lambda node: lambda values: print(*values) or (),
    "aten::__getitem__": lambda node: _scalar_handler(_getitem),
    "aten::len": lambda node: _scalar_handler(len),
    "aten::append": lambda node: _scalar_handler(_list_append),
    "aten::Int": lambda node: _scalar_handler(lambda x: int(x.item() if isinstance(x, Tensor) else x)),
    "aten::Float": lambda node: _scalar_handler(lambda x: float(x.item() if isinstance(x, Tensor) else x)),
    "aten::Bool": lambda node: _scalar_handler(lambda x: bool(x.item() if isinstance(x, Tensor) else x)),
    "aten::ScalarImplicit": lambda node: _scalar_handler(lambda x: x.item()),
    "aten::IntImplicit": lambda node: _scalar_handler(lambda x: int(x.item())),
    "aten::FloatImplicit": lambda node: _scalar_handler(lambda x: float(x.item())),
    "aten::__is__": lambda node: _scalar_handler(operator.is_),
    "aten::__isnot__": lambda node: _scalar_handler(operator.is_not),
    "aten::__not__": lambda node: _scalar_handler(operator.not_),
    "aten::dim": lambda node: _scalar_handler(lambda x: x.dim()),
}

# Python-number versions of arithmetic and comparison ops (``aten::add.int``): used when no input
# is a Tensor.  Tensor versions go through the registry.
SCALAR_OPS: Dict[str, Callable] = {
    "aten::add": operator.add, "aten::sub": operator.sub, "aten::mul": operator.mul,
    "aten::div": operator.truediv, "aten::floordiv": operator.floordiv,
    "aten::remainder": operator.mod, "aten::pow": operator.pow, "aten::neg": operator.neg,
    "aten::eq": operator.eq, "aten::ne": operator.ne, "aten::lt": operator.lt,
    "aten::le": operator.le, "aten::gt": operator.gt, "aten::ge": operator.ge,
    "aten::__and__": operator.and_, "aten::__or__": operator.or_, "aten::__xor__": operator.xor,
    "aten::abs": abs, "aten::min": min, "aten::max": max, "aten::sqrt": math.sqrt,
    "aten::floor": math.floor, "aten::ceil": math.ceil, "aten::size": _size,
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


def _mixed_handler(kind: str, op: Any) -> Callable:
    """An aten kind that may run on tensors (registry) or on Python numbers (SCALAR_OPS)."""
    tensor_run = _op_handler(op) if op is not None else None
    scalar = SCALAR_OPS.get(kind)

    def run(values: List[Any]) -> Tuple[Any, ...]:
        for v in values:
            if isinstance(v, Tensor):
                if tensor_run is None:
                    break
                return tensor_run(values)
        if scalar is None:
            if tensor_run is not None:
                return tensor_run(values)
            raise InterpreterError(f"no implementation for {kind} on {values!r}")
        return (scalar(*[v for v in values if v is not None][:_arity(scalar, values)]),)
    return run


def _arity(fn: Callable, values: List[Any]) -> int:
    return len(values)


def handler_for(node: Node) -> Callable:
    kind = node.kind
    make = HANDLERS.get(kind)
    if make is not None:
        return make(node)
    op = find(kind)
    if kind in SCALAR_OPS:
        return _mixed_handler(kind, op)
    if op is not None:
        return _op_handler(op)
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
                value = node.attrs.get("value")
                program.constants.append((self.slot(node.output()), value))
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
    for slot, value in program.constants:
        if isinstance(value, Tensor) or value is None or isinstance(value, (int, float, bool, str)):
            continue
    return program


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
                            f"node{where}:\n  {text}")


def execute(program: Program, registers: List[Any]) -> None:
    for inst in program.instructions:
        run = inst.run
        try:
            if inst.programs:
                run(inst, registers)
            else:
                outs = run([registers[i] for i in inst.inputs])
                for slot, value in zip(inst.outputs, outs):
                    registers[slot] = value
        except (InterpreterError, _ScriptException):
            raise
        except Exception as exc:  # noqa: BLE001 - re-raised with the node named
            raise _error(inst, exc) from exc
        for slot in inst.frees:
            registers[slot] = None


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


def run_program(program: Program, args: Sequence[Any]) -> Any:
    """Run a compiled graph on ``args`` (``self`` first for methods); return its outputs."""
    registers: List[Any] = [None] * program.num_slots
    if len(args) != len(program.params):
        raise TypeError(f"forward() expected {len(program.params)} arguments but got {len(args)}")
    for slot, value in program.constants:
        registers[slot] = value
    for slot, value in zip(program.params, args):
        registers[slot] = value
    try:
        execute(program, registers)
    except _ScriptException as exc:
        raise _script_error(exc) from None
    returns = program.returns
    if len(returns) == 1:
        return registers[returns[0]]
    return tuple(registers[s] for s in returns)


def _script_error(exc: _ScriptException) -> Exception:
    from ..errors import JitScriptError
    return JitScriptError(str(exc.args[0]), exc.qualified)


def run_graph(graph: Graph, args: Sequence[Any]) -> Any:
    return run_program(compile_graph(graph), args)
