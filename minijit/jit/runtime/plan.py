"""Compiled plans: an optimised graph turned into a list of steps over registers.

Note [Plan steps]
    The interpreter (``interpreter.py``) is the reference way to run a graph.  An executor
    plan is run thousands of times with one input signature, so it is compiled further, into
    one generated Python function: each node becomes one line that calls a handler resolved
    once at compile time, with the registers as local variables (``v5 = k12(v2)``);
    constants and handlers are globals of the function; ``prim::If`` and ``prim::Loop``
    become Python ``if`` and ``while``; tuple and list construction are plain Python
    expressions; a big intermediate is dropped (``v7 = None``) after its last reader.
    ``program.source`` shows the code.  Per node, the cost left is the handler call itself.

    Two modes share this machinery:

    * ``"raw"``: registers hold NumPy arrays, never Tensors (the handlers: ``raw_steps.py``).  Registry ops run their
      ``impl`` directly, with the dispatcher's dtype promotion replayed from a per-node memo;
      fusion groups call their generated kernels.  Only grad-free plans of pure ops run raw;
      the Tensors passed in are unwrapped once and the results wrapped once.  Where shape
      analysis knows every operand of a node on small tensors, the line calls the op's
      ``impl`` (or its ``specialise`` kernel, checked against ``impl`` on probe arrays when
      the plan is built) with no handler around it (``v9 = d22(np, v5, v8, v7)``), and
      ``aten::Bool`` of a 0-dim tensor is Python's ``bool(v11)``: per node, the cost left
      is NumPy's.
    * ``"tensor"``: registers hold Tensors; registry ops go through ``dispatch.apply`` (so the
      autograd tape is recorded exactly as eager), fusion groups and differentiable graphs
      through their own handlers.

    When a handler fails, the error is the interpreter's error for the failing node (the
    traceback's line number in the generated function maps back to the node, and the
    interpreter words the message: :func:`reraise_as_interpreter`).
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..._tensor import Tensor
from ...ops import dispatch as _dispatch
from ...ops.dispatch import quietly
from ...ops.registry import OpInfo
from ..ir.graph import Block, Graph, Node, Value
from . import interpreter as _interp
from .raw_steps import (direct_call, from_raw, has_scalar_overloads, raw_capable, raw_handler,
                        scalar_read, tensor_op_of, to_raw)

__all__ = ["StepProgram", "compile_steps", "run_steps", "raw_capable", "to_raw", "from_raw",
           "failing_node", "reraise_as_interpreter"]

_ndarray = np.ndarray


# ---- tensor handlers ---------------------------------------------------------------------------
def _tensor_op(op: OpInfo, node: Node) -> Callable:
    apply = _dispatch.apply
    multi = len(op.schema_for_len.get(len(node.inputs), op.schema).returns) > 1
    if multi:
        return lambda *values: tuple(apply(op, list(values)))
    return lambda *values: apply(op, list(values))


# ---- compilation --------------------------------------------------------------------------------
class StepProgram:
    """A compiled plan: a generated Python function over registers held in local variables.

    ``source`` is the generated code (``print(plan.program.source)``); ``fn(*args)`` runs it.
    """

    __slots__ = ("fn", "source", "namespace", "line_nodes", "filename", "mode", "num_outputs",
                 "__weakref__")

    def __init__(self) -> None:
        self.fn: Callable = lambda *a: None
        self.source = ""
        self.namespace: Dict[str, Any] = {}
        self.line_nodes: Dict[int, Node] = {}
        self.filename = ""
        self.mode = "tensor"
        self.num_outputs = 1


Handlers = Dict[str, Callable[[Node], Tuple[Callable, bool]]]

_COUNTER = [0]


def _truth(v: Any) -> bool:
    return bool(v.item()) if isinstance(v, Tensor) else bool(v)


class _Codegen:
    """Writes one Python function for a graph (Note [Plan steps])."""

    def __init__(self, mode: str, special: Handlers):
        self.mode = mode
        self.special = special        # kind -> factory(node) -> (fn, returns_tuple)
        self.names: Dict[Value, str] = {}
        self.namespace: Dict[str, Any] = {"_truth": _truth, "np": np, "_asarray": np.asarray}
        self.lines: List[str] = []
        self.line_nodes: Dict[int, Node] = {}

    def name(self, v: Value) -> str:
        n = self.names.get(v)
        if n is None:
            n = self.names[v] = f"v{len(self.names)}"
        return n

    def emit(self, indent: int, text: str, node: Optional[Node]) -> None:
        self.lines.append("    " * indent + text)
        if node is not None:
            self.line_nodes[len(self.lines) + 1] = node   # +1: the ``def`` line comes first

    def constant(self, node: Node) -> None:
        # The interpreter's reading of a constant: functions are their compiled callee,
        # devices are device objects.
        read = getattr(_interp, "_constant_value", None)
        value = read(node) if read is not None else node.attrs.get("value")
        if self.mode == "raw" and isinstance(value, Tensor):
            value = value._data
        elif self.mode == "tensor" and type(value) is _ndarray:
            value = Tensor._from_array(value)
        const = f"c{len(self.namespace)}"
        self.namespace[const] = value
        self.names[node.output()] = const

    def handler(self, node: Node) -> Tuple[Callable, bool]:
        kind = node.kind
        make = self.special.get(kind)
        if make is not None:
            return make(node)
        if self.mode == "raw":
            return raw_handler(node)
        op = tensor_op_of(node)
        if op is not None and kind not in _interp.HANDLERS and \
                (node.schema is not None or not has_scalar_overloads(kind)):
            multi = len(op.schema_for_len.get(len(node.inputs), op.schema).returns) > 1
            return _tensor_op(op, node), multi
        run = _interp.handler_for(node)        # values list -> tuple
        return (lambda *values: run(list(values))), True

    def node(self, node: Node, indent: int) -> None:
        kind = node.kind
        ins = ", ".join(self.name(v) for v in node.inputs)
        outs = [self.name(v) for v in node.outputs]
        # A few value-shuffling prims are plain Python expressions.
        if kind == "prim::TupleConstruct":
            self.emit(indent, f"{outs[0]} = ({ins}{',' if len(node.inputs) == 1 else ''})", node)
            return
        if kind == "prim::ListConstruct":
            self.emit(indent, f"{outs[0]} = [{ins}]", node)
            return
        if kind == "prim::unchecked_cast":
            self.emit(indent, f"{outs[0]} = {ins}", node)
            return
        if self.mode == "raw" and self.direct(node, indent, ins, outs):
            return
        fn, many = self.handler(node)
        k = f"k{len(self.namespace)}"
        self.namespace[k] = fn
        call = f"{k}({ins})"
        if not outs:
            self.emit(indent, call, node)
        elif many:
            self.emit(indent, f"{', '.join(outs)}, = {call}", node)
        else:
            self.emit(indent, f"{outs[0]} = {call}", node)

    def direct(self, node: Node, indent: int, ins: str, outs: List[str]) -> bool:
        """Write ``node`` as a direct call or conversion if it can be one (raw plans)."""
        conv = scalar_read(node)
        if conv is not None:
            self.emit(indent, f"{outs[0]} = {conv}({ins})", node)
            return True
        if node.kind in self.special:
            return False
        found = direct_call(node)
        if found is None:
            return False
        impl, args, wrap = found
        texts = []
        for (fixed, value), v in zip(args, node.inputs):
            if fixed:
                name = f"c{len(self.namespace)}"
                self.namespace[name] = value
                texts.append(name)
            else:
                texts.append(self.name(v))
        k = f"d{len(self.namespace)}"
        self.namespace[k] = impl
        call = f"{k}(np, {', '.join(texts)})"
        self.emit(indent, f"{outs[0]} = {'_asarray(' + call + ')' if wrap else call}", node)
        return True

    def truth(self, value: str) -> str:
        return value if self.mode == "raw" else f"_truth({value})"

    def if_node(self, node: Node, indent: int) -> None:
        outs = [self.name(v) for v in node.outputs]
        self.emit(indent, f"if {self.truth(self.name(node.inputs[0]))}:", node)
        for i, b in enumerate(node.blocks):
            if i == 1:
                self.emit(indent, "else:", node)
            self.block(b, indent + 1)
            rets = [self.name(v) for v in b.returns]
            if outs:
                self.emit(indent + 1, f"{', '.join(outs)}, = {', '.join(rets)},", node)
            elif not b.nodes:
                self.emit(indent + 1, "pass", node)

    def loop_node(self, node: Node, indent: int) -> None:
        body = node.blocks[0]
        trip, cond = self.name(node.inputs[0]), self.name(node.inputs[1])
        init = [self.name(v) for v in node.inputs[2:]]
        params = [self.name(v) for v in body.params]
        carried = params[1:]
        n = len(self.lines)
        i, t, c = f"i{n}", f"trip{n}", f"cond{n}"
        self.emit(indent, f"{t} = {trip}; {c} = {self.truth(cond)}; {i} = 0", node)
        if carried:
            self.emit(indent, f"{', '.join(carried)}, = {', '.join(init)},", node)
        self.emit(indent, f"while {c} and {i} < {t}:", node)
        self.emit(indent + 1, f"{params[0]} = {i}", node)
        self.block(body, indent + 1)
        rets = [self.name(v) for v in body.returns]
        self.emit(indent + 1, f"{c} = {self.truth(rets[0])}", node)
        if carried:
            self.emit(indent + 1, f"{', '.join(carried)}, = {', '.join(rets[1:])},", node)
        self.emit(indent + 1, f"{i} += 1", node)
        outs = [self.name(v) for v in node.outputs]
        if outs:
            self.emit(indent, f"{', '.join(outs)}, = {', '.join(carried)},", node)

    def block(self, block: Block, indent: int, frees: Optional[Dict[Node, List[str]]] = None
              ) -> None:
        for node in block.nodes:
            if node.kind == "prim::Constant":
                self.constant(node)
                continue
            if node.kind == "prim::If":
                self.if_node(node, indent)
            elif node.kind == "prim::Loop":
                self.loop_node(node, indent)
            else:
                self.node(node, indent)
            if frees and node in frees:
                self.emit(indent, " = ".join(frees[node]) + " = None", node)


def _frees(graph: Graph, names: Dict[Value, str]) -> Dict[Node, List[str]]:
    """Top-level tensor values to drop after their last reader (big intermediates go early)."""
    block = graph.block
    keep = set(block.returns) | set(block.params)
    last: Dict[Value, Node] = {}
    for node in block.nodes:
        for v in _reads(node):
            last[v] = node
    out: Dict[Node, List[str]] = {}
    for v, node in last.items():
        if v in keep or v.node.kind == "prim::Constant" or v.type.kind != "Tensor":
            continue
        if v.node.owning_block is not block and v.node.kind != "prim::Param":
            continue
        out.setdefault(node, []).append(names[v])
    return out


def _reads(node: Node) -> List[Value]:
    values = list(node.inputs)
    for b in node.blocks:
        for n in b.nodes:
            values.extend(_reads(n))
        values.extend(b.returns)
    return values


def compile_steps(graph: Graph, mode: str, special: Optional[Handlers] = None) -> StepProgram:
    """Compile ``graph`` into a :class:`StepProgram` (Note [Plan steps]).

    Args:
        mode: ``"raw"`` or ``"tensor"``.
        special: extra handler factories by node kind (the executor's fusion groups and
            differentiable graphs): ``factory(node) -> (fn(*inputs), returns_tuple)``.
    """
    gen = _Codegen(mode, special or {})
    params = [gen.name(v) for v in graph.inputs]
    # Name everything first so frees can be computed, then write the body.
    for node in graph.all_nodes():
        for v in node.outputs:
            if node.kind != "prim::Constant":
                gen.name(v)
        for b in node.blocks:
            for p in b.params:
                gen.name(p)
    frees = _frees(graph, gen.names)
    gen.block(graph.block, 1, frees)
    rets = [gen.name(v) for v in graph.outputs]
    if len(rets) == 1:
        gen.emit(1, f"return {rets[0]}", None)
    else:
        gen.emit(1, f"return ({', '.join(rets)}{',' if len(rets) == 1 else ''})", None)
    _COUNTER[0] += 1
    prog = StepProgram()
    prog.filename = f"<minijit plan {_COUNTER[0]}>"
    prog.source = f"def plan({', '.join(params)}):\n" + "\n".join(gen.lines) + "\n"
    prog.namespace = gen.namespace
    prog.line_nodes = gen.line_nodes
    prog.mode = mode
    prog.num_outputs = len(rets)
    _PROGRAMS[prog.filename] = prog
    scope = dict(gen.namespace)
    exec(compile(prog.source, prog.filename, "exec"), scope)  # noqa: S102 - generated above
    prog.fn = scope["plan"]
    return prog


_PROGRAMS: "weakref.WeakValueDictionary[str, StepProgram]" = weakref.WeakValueDictionary()


def failing_node(exc: BaseException) -> Optional[Node]:
    """The node whose line in a generated plan raised ``exc`` (the innermost plan's)."""
    tb = exc.__traceback__
    found = None
    while tb is not None:
        prog = _PROGRAMS.get(tb.tb_frame.f_code.co_filename)
        if prog is not None:
            found = prog.line_nodes.get(tb.tb_lineno, found)
        tb = tb.tb_next
    return found


def reraise_as_interpreter(exc: Exception, node: Optional[Node], name: Optional[str]) -> None:
    """Raise ``exc`` exactly as the interpreter would have, had ``node`` failed with it.

    The error text of compiled code (the failing node, or TorchScript's traceback with the
    source line; ``JitScriptError`` for ``raise``) belongs to the interpreter, so instead of
    copying it, a one-instruction program that raises ``exc`` at ``node`` is run by it.
    """
    if node is None:
        raise exc

    def rethrow(values: List[Any]) -> Tuple[Any, ...]:
        raise exc

    program = _interp.Program()
    program.instructions.append(_interp.Instruction(rethrow, (), (), node))
    _interp.run_program(program, [], name)
    raise exc                                                # pragma: no cover


def run_steps(prog: StepProgram, args: Sequence[Any]) -> Any:
    """Run a compiled plan on ``args`` (already unwrapped for raw plans).  Exceptions come
    out unchanged; :func:`failing_node` finds where (the executor then words them).

    A raw plan calls NumPy directly, so it runs with NumPy's floating-point warnings off, as
    every eager op does (``dispatch.run_kernel``): PyTorch gives ``inf`` for ``1e30 * 1e30``
    without a word."""
    if prog.mode == "raw":
        return quietly(prog.fn, *args)
    return prog.fn(*args)


