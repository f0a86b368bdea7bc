"""The ``.code`` printer: a Graph as TorchScript's Python dialect (``python_print.cpp``).

Output is byte-for-byte what PyTorch prints (reference §2), e.g.::

    def forward(self,
        x: Tensor) -> Tensor:
      linear = self.linear
      _0 = torch.mul(torch.relu((linear).forward(x, )), CONSTANTS.c0)
      return _0

How it works, in three passes over each block:

1. **Constants** used by the body are listed (in order of first use); they are printed inline,
   except a constant whose text is long, which becomes ``_0 = "..."`` at the top.
2. **Inlining scan** (``scan_block``): a value is written inline at its single use when
   :meth:`PythonPrinter.can_inline` allows and it sits where a parser would have emitted it —
   scanning a node's inputs right to left must meet the producers going backwards through the
   block (so ``f(g(x), h(y))`` reads back in the same order).  Everything else gets a name.
3. **Printing**: statements for non-inlined nodes, ``if``/``for``/``while`` for blocks.  An
   inlined expression that gets long (``len + 2*level >= 40``) is hoisted into ``_N = expr``,
   together with the inlined siblings before it, so evaluation order is kept.

Names: a named value prints its base name (``x.3`` → ``x``), made unique with a counter
(``x0``, ``x1``); unnamed ones are ``_0``, ``_1``...; parameters are named first.

Conventions (documented choices):

* Operator schemas come from ``node.schema`` or else ``schema_resolver(kind, num_inputs)``
  (default: :func:`minijit.ops.registry.lookup_schema`).  With a schema, trailing arguments
  equal to their defaults are dropped and keyword-only ones print as ``name=value``; without
  one, every input is printed positionally.
* A ``prim::CallFunction`` callee prints as the qualified name of the function constant's
  type (``FunctionType.named("__torch__.helper")``), or, when the type carries no name,
  ``"__torch__." + attrs["name"]`` (what a parsed ``prim::Constant[name="helper"]`` gives).
* Tensor constants and strings with non-ASCII characters print as ``CONSTANTS.c<i>``, where
  ``i`` indexes the ``constants`` list passed in (new ones are appended; equal tensors reuse
  their entry).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import numpy as np

from ..ir.constants import (TensorPlaceholder, code_constant, element_type_inferable, is_tensor,
                            ivalue_equal, quote_string)
from ..ir.graph import Block, Graph, Node, Value
from ..ir.types import ClassType, IRType, TupleType

__all__ = ["PythonPrinter", "print_method", "print_function", "ModifiedLoopError"]

SchemaResolver = Callable[[str, int], Any]

INT64_MAX = 9223372036854775807
_RESERVED = frozenset((
    "_ as aten attribute CONSTANTS fork getattr inf nan infj nanj ops __torch__ uninitialized "
    "unchecked_cast "       # names the printed code itself uses; then the Python keywords:
    "and assert async await break class continue def del elif else except False finally for "
    "from global if import in is lambda None nonlocal not or pass raise return True try with "
    "while yield").split())
# The printer's syntax table (python_print.cpp's switch): kinds spelled as Python builtins
# instead of ``torch.op(...)``, and users that may evaluate an input more than once.
_BUILTIN_CALLS = {"aten::Int": "int", "aten::Float": "float", "aten::Bool": "bool",
                  "aten::str": "str", "prim::Print": "print", "aten::sorted": "sorted"}
_OP_NAME_OVERRIDES = {"aten::backward": "torch.autograd.backward",
                      "aten::grad": "torch.autograd.grad"}
_NO_INLINE_USERS = {"prim::fork", "prim::rpc_async", "prim::rpc_sync", "prim::rpc_remote"}


class ModifiedLoopError(ValueError):
    """A loop with both a real trip count and a real condition has no Python spelling."""


def _registry_lookup(kind: str, num_inputs: int) -> Any:
    try:
        from minijit.ops.registry import lookup_schema
    except ImportError:          # the op layer is optional for printing
        return None
    return lookup_schema(kind, num_inputs)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def is_valid_identifier(name: str) -> bool:
    return _IDENTIFIER.match(name) is not None


def make_valid_identifier(name: str) -> str:
    """``input.1`` → ``input_1``; a leading digit gets ``_`` (ASCII letters/digits only)."""
    out = "_" if not name or "0" <= name[0] <= "9" else ""
    return out + "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in name)


def _constant_value(v: Value) -> Tuple[bool, Any]:
    """(is a constant, its value): TorchScript's ``toIValue``."""
    n = v.node
    if n.kind != "prim::Constant":
        return False, None
    return True, n.attrs.get("value")


def _same_tensor(a: Any, b: Any) -> bool:
    """TorchScript's constant-table test: same dtype, shape and device, equal values."""
    if a is b:
        return True
    if isinstance(a, TensorPlaceholder) or isinstance(b, TensorPlaceholder):
        return False                    # no data to compare
    x, y = np.asarray(a), np.asarray(b)
    return (x.dtype == y.dtype and x.shape == y.shape and str(getattr(a, "device", "cpu"))
            == str(getattr(b, "device", "cpu")) and bool(np.array_equal(x, y)))


class PythonPrinter:
    """Prints graphs as ``.code`` functions; one instance may print several functions.

    Args:
        constants: the ``CONSTANTS`` table (a list); tensors and non-ASCII strings are appended.
        schema_resolver: ``(kind, num_inputs) -> Schema | None`` for nodes without ``.schema``.

    The ``_N`` name counters are shared by all functions printed by one instance (as in an
    archive); :func:`print_method` uses a fresh printer, so ``.code`` restarts them.
    """

    def __init__(self, constants: Optional[List[Any]] = None,
                 schema_resolver: Optional[SchemaResolver] = None):
        self.constants: List[Any] = constants if constants is not None else []
        self.resolve_schema = schema_resolver or _registry_lookup
        self.body: List[str] = []
        self.level = 0
        self.next_id: Dict[str, int] = {}
        self.deps: List[IRType] = []          # class and function types the code refers to
        self.used_names: Set[str] = set()
        self.output_inline: Set[Node] = set()
        self.visited_split: Dict[Node, int] = {}
        self.expr_table: Dict[Value, str] = {}
        self.ident_refs: Dict[Value, str] = {}
        self.annotated_unions: Set[Value] = set()   # Optional/Union values already annotated

    def str(self) -> str:
        return "".join(self.body)

    # -- names -----------------------------------------------------------------------------
    def gen_name(self, candidate: str) -> str:
        """``candidate``, or ``candidate<N>`` if taken or reserved (TorchScript's ``genName``)."""
        name = candidate
        while name in self.used_names or name in _RESERVED:
            n = self.next_id.get(name, 0)
            self.next_id[name] = n + 1
            name = candidate + str(n)
        self.used_names.add(name)
        return name

    def gen_unique_name_for(self, v: Value) -> str:
        return self.gen_name(make_valid_identifier(v.debug_name_base)
                             if v.has_debug_name() else "_")

    def assign_names(self, values: Sequence[Value]) -> None:
        for v in values:
            self.ident_refs[v] = self.gen_unique_name_for(v)

    def use_of(self, v: Value) -> str:
        """How ``v`` is written at a use: its variable name, else its inlined expression."""
        if v in self.ident_refs:
            return self.ident_refs[v]
        if v in self.expr_table:
            return self.expr_table[v]
        raise RuntimeError(f"python printer: %{v.debug_name} ({v.node.kind}) was never "
                           "defined; is the graph well formed (Graph.lint())?")

    def value_list(self, values: Sequence[Value]) -> str:
        return ", ".join(self.use_of(v) for v in values)

    # -- the inlining scan -----------------------------------------------------------------
    def can_inline(self, v: Value) -> bool:
        n = v.node
        if len(n.outputs) != 1 or len(v.uses) != 1:
            return False
        user, offset = v.uses[0].user, v.uses[0].offset
        if v.has_debug_name() and user.kind != "prim::Return":
            return False        # a named value was a variable in the source: keep it
        if n.blocks or n.kind == "prim::isinstance" or user.kind in _NO_INLINE_USERS:
            return False
        return not (user.kind == "prim::Loop" and offset >= 2)   # loop-carried input

    @staticmethod
    def previous_non_constant(n: Node) -> Node:
        n = n.prev  # type: ignore[assignment]
        while n.kind == "prim::Constant":
            n = n.prev  # type: ignore[assignment]
        return n

    def scan_value(self, block_point: Node, v: Value) -> Node:
        n = v.node
        if n is block_point and self.can_inline(v):
            block_point = self.scan_node(block_point)
            self.output_inline.add(n)
        elif n.kind == "prim::Constant":
            self.output_inline.add(n)
        return block_point

    def scan_node(self, n: Node) -> Node:
        if n in self.output_inline:
            return n
        for b in n.blocks:
            self.scan_block(b)
        block_point = self.previous_non_constant(n)
        for v in reversed(n.inputs):
            block_point = self.scan_value(block_point, v)
        return block_point

    def scan_block(self, b: Block) -> None:
        self.scan_node(b.return_node)
        for n in reversed(b.nodes):
            self.scan_node(n)

    # -- statements ------------------------------------------------------------------------
    def indent(self) -> None:
        self.body.append("  " * self.level)

    def is_long_line(self, text: str) -> bool:
        return len(text) + self.level * 2 >= 40

    def print_output_definition(self, node: Node, expr: str) -> None:
        self.assign_names(node.outputs)
        self.indent()
        if node.outputs:
            self.body.append(self.value_list(node.outputs) + " = ")
        self.body.append(expr + "\n")

    def split_long_inlines(self, v: Value) -> None:
        """Hoist ``v``'s long expression and the inlined siblings before it (in order)."""
        to_split: List[Value] = []
        use = v.uses[0]
        self.scan_long_inlines(use.user, use.offset, to_split)
        for value in reversed(to_split):
            self.print_output_definition(value.node, self.use_of(value))

    def scan_long_inlines(self, user: Node, offset: int, to_split: List[Value]) -> None:
        present = user in self.visited_split
        stop = self.visited_split[user] + 1 if present else 0
        for i in range(offset, stop - 1, -1):
            arg = user.inputs[i]
            if arg.node.kind != "prim::Constant" and arg.node in self.output_inline:
                to_split.append(arg)
        self.visited_split[user] = offset
        if not present and user in self.output_inline:
            use = user.output().uses[0]
            self.scan_long_inlines(use.user, use.offset - 1, to_split)  # -1: still printing

    def print_assignment(self, lhs: Sequence[Value], rhs: Sequence[Value]) -> None:
        """``a, b = x, y``; a lone Optional/Union target is annotated the first time."""
        if not lhs:
            return
        self.indent()
        note = ""
        if len(lhs) == 1:
            v = lhs[0]
            if v not in self.annotated_unions and v not in self.expr_table and \
                    v.type.kind in ("Union", "Optional"):
                note = f" : {v.type.annotation_str()}"
                self.annotated_unions.add(v)
        self.body.append(f"{self.value_list(lhs)}{note} = {self.value_list(rhs)}\n")

    def requires_annotation(self, lhs: Value, rhs: Value) -> bool:
        if lhs.type.kind in ("Union", "Optional"):
            first = lhs not in self.annotated_unions
            self.annotated_unions.add(lhs)
            return first
        return lhs.type != rhs.type

    def print_block(self, block: Block, has_other_statements: bool) -> None:
        nodes = block.nodes
        if not has_other_statements and not nodes:
            self.indent()
            self.body.append("pass\n")
        for n in nodes:
            self.print_node(n, print_const=False)

    def print_if(self, node: Node) -> None:
        outs = node.outputs
        self.assign_names(outs)
        self.indent()
        self.body.append(f"if {self.use_of(node.inputs[0])}:\n")
        for i, block in enumerate(node.blocks):
            if i == 1:
                self.indent()
                self.body.append("else:\n")
            self.level += 1
            self.print_block(block, len(outs) > 0)
            self.print_assignment(outs, block.returns)
            self.level -= 1

    def loop_is_for(self, node: Node) -> bool:
        """TorchScript's LoopView: a ``for`` loop, a ``while`` loop, or unprintable."""
        body = node.blocks[0]
        trip_const, trip = _constant_value(node.inputs[0])
        in_const, cond_in = _constant_value(node.inputs[1])
        next_const, cond_next = _constant_value(body.returns[0])
        always_true = in_const and bool(cond_in) and next_const and bool(cond_next)
        trip_specified = not trip_const or trip != INT64_MAX or bool(body.params[0].uses)
        if always_true:
            return trip_specified
        if trip_specified:
            raise ModifiedLoopError("loop cannot be printed as python because it has gone "
                                    "through an optimization that combined while and for loops")
        return False

    def print_loop(self, node: Node) -> None:
        is_for = self.loop_is_for(node)
        body = node.blocks[0]
        carried = node.outputs
        self.assign_names(carried)
        for param, out in zip(body.params[1:], carried):
            self.expr_table[param] = self.use_of(out)
        for lhs, rhs in zip(carried, node.inputs[2:]):       # the loop-carried copies
            self.indent()
            note = f": {lhs.type.annotation_str()}" if self.requires_annotation(lhs, rhs) else ""
            self.body.append(f"{self.use_of(lhs)}{note} = {self.use_of(rhs)}\n")
        trip = body.params[0]
        self.assign_names([trip])
        if is_for:
            self.indent()
            self.body.append(f"for {self.use_of(trip)} in range({self.use_of(node.inputs[0])}):\n")
        else:
            self.print_assignment([trip], [node.inputs[1]])
            self.indent()
            self.body.append(f"while {self.use_of(trip)}:\n")
        self.level += 1
        first = 1 if is_for else 0
        self.print_block(body, len(body.params) > first)
        self.print_assignment(body.params[first:], body.returns[first:])
        self.level -= 1

    def print_node(self, node: Node, print_const: bool) -> None:
        self.scan_type_dependencies(node)
        kind = node.kind
        if kind == "prim::Constant" and not print_const:
            return
        if kind == "prim::Return":
            if node.inputs:
                self.indent()
                self.body.append("return " + self.value_list(node.inputs) + "\n")
        elif kind == "prim::Loop":
            self.print_loop(node)
        elif kind == "prim::If":
            self.print_if(node)
        elif kind in ("prim::TupleUnpack", "prim::ListUnpack"):
            self.assign_names(node.outputs)
            self.indent()
            if node.outputs:
                self.body.append(self.value_list(node.outputs) + ", = ")
            self.body.append(self.use_of(node.inputs[0]) + "\n")
        elif kind == "prim::SetAttr":
            self.indent()
            obj, new = node.inputs
            self.body.append(f"{self.use_of(obj)}.{node.attrs['name']} = {self.use_of(new)}\n")
        else:
            rhs = self.print_rhs(node)
            if node not in self.output_inline or \
                    (kind == "prim::Constant" and self.is_long_line(rhs)):
                self.print_output_definition(node, rhs)
            else:
                self.expr_table[node.output()] = rhs
                if self.is_long_line(rhs):
                    self.split_long_inlines(node.output())

    # -- expressions -----------------------------------------------------------------------
    def get_or_add_constant(self, value: Any) -> int:
        if is_tensor(value):
            for i, c in enumerate(self.constants):
                if is_tensor(c) and _same_tensor(value, c):
                    return i
        self.constants.append(value)
        return len(self.constants) - 1

    def constant_text(self, value: Any, type_: Optional[IRType]) -> str:
        """IValue ``repr`` of a constant, with tensors and non-ASCII strings → ``CONSTANTS.cN``."""
        return code_constant(value, type_,
                             lambda v: f"CONSTANTS.c{self.get_or_add_constant(v)}")

    def op_name(self, kind: str) -> str:
        if kind in _OP_NAME_OVERRIDES:
            return _OP_NAME_OVERRIDES[kind]
        ns, _, name = kind.partition("::")
        return f"torch.{name}" if ns == "aten" else f"ops.{ns}.{name}"

    def print_call(self, node: Node) -> str:
        """``torch.op(args)``: trailing defaults dropped, kwarg-only args as ``name=value``."""
        inputs = node.inputs
        schema = node.schema or self.resolve_schema(node.kind, len(inputs))
        args = list(schema.arguments) if schema is not None else []
        if not args or len(args) > len(inputs):
            return f"{self.op_name(node.kind)}({self.value_list(inputs)})"
        idx = len(args) - 1
        while idx >= 0 and args[idx].kwarg_only and args[idx].is_write:    # out= arguments
            idx -= 1
        num_out = len(args) - idx - 1
        if len(args) < len(inputs):
            needed = len(inputs)
        else:
            needed = 0
            while idx >= 0:
                arg = args[idx]
                is_const, actual = _constant_value(inputs[idx])
                if not arg.has_default or not is_const or not ivalue_equal(arg.default, actual):
                    needed = idx + 1
                    break
                idx -= 1
        parts = []
        for i in range(needed):
            prefix = f"{args[i].name}=" if i < len(args) and args[i].kwarg_only else ""
            parts.append(prefix + self.use_of(inputs[i]))
        text = ", ".join(parts)
        for i in range(len(args) - num_out, len(args)):
            text += f", {args[i].name}={self.use_of(inputs[i])}"
        return f"{self.op_name(node.kind)}({text})"

    def print_rhs(self, node: Node) -> str:
        kind, ins = node.kind, node.inputs
        out_type = node.outputs[0].type if node.outputs else None
        if kind == "prim::Constant":
            if out_type is not None and out_type.kind == "Function":
                self.add_dep(out_type)
                qualified = getattr(out_type, "qualified_name", None)
                return qualified or "__torch__." + str(node.attrs.get("name"))
            if "value" not in node.attrs:
                return "None"
            return self.constant_text(node.attrs["value"], out_type)
        if kind == "prim::Uninitialized":
            return f"uninitialized({out_type.annotation_str()})"  # type: ignore[union-attr]
        if kind in ("aten::ScalarImplicit", "aten::FloatImplicit", "aten::IntImplicit"):
            return f"annotate({out_type.annotation_str()}, {self.use_of(ins[0])})"  # type: ignore
        if kind in _BUILTIN_CALLS:
            return f"{_BUILTIN_CALLS[kind]}({self.value_list(ins)})"
        if kind == "aten::__getitem__":
            base = self.use_of(ins[0])
            base = base if is_valid_identifier(base) else f"({base})"
            return f"{base}[{self.use_of(ins[1])}]"
        if kind == "prim::TupleConstruct":
            return "(" + self.value_list(ins) + (",)" if len(ins) == 1 else ")")
        if kind == "prim::TupleIndex":
            return f"({self.use_of(ins[0])})[{self.use_of(ins[1])}]"
        if kind == "prim::TupleSlice":
            return f"({self.use_of(ins[0])})[{node.attrs['beg']}:{node.attrs['end']}]"
        if kind == "prim::ListConstruct":
            text = "[" + self.value_list(ins) + "]"
            elem = getattr(out_type, "elem", None)
            if not ins or (elem is not None and not element_type_inferable(elem)):
                return f"annotate({out_type.annotation_str()}, {text})"  # type: ignore[union-attr]
            return text
        if kind == "prim::DictConstruct":
            pairs = ", ".join(f"{self.use_of(k)}: {self.use_of(v)}"
                              for k, v in zip(ins[::2], ins[1::2]))
            key, value = getattr(out_type, "key", None), getattr(out_type, "value", None)
            if not ins or (key is not None and not element_type_inferable(key)) or \
                    (value is not None and not element_type_inferable(value)):
                return f"annotate({out_type.annotation_str()}, {{{pairs}}})"  # type: ignore
            return "{" + pairs + "}"
        if kind == "prim::CreateObject":
            name = out_type.annotation_str()  # type: ignore[union-attr]
            return f"{name}.__new__({name})"
        if kind == "prim::GetAttr":
            field = node.attrs["name"]
            if is_valid_identifier(field):
                return f"{self.use_of(ins[0])}.{field}"
            return f"getattr({self.use_of(ins[0])}, {quote_string(field)})"
        if kind == "prim::CallFunction":
            return self.use_of(ins[0]) + "(" + "".join(self.use_of(a) + ", " for a in ins[1:]) + ")"
        if kind == "prim::PythonOp":
            return f"^{node.attrs['name']}()(" + self.value_list(ins) + ")"
        if kind == "prim::CallMethod":
            args = "".join(self.use_of(a) + ", " for a in ins[1:])
            return f"({self.use_of(ins[0])}).{node.attrs['name']}({args})"
        if kind in ("prim::unchecked_cast", "prim::unchecked_unwrap_optional"):
            return f"unchecked_cast({out_type.annotation_str()}, {self.use_of(ins[0])})"  # type: ignore
        if kind == "prim::isinstance":
            types = [t.annotation_str() for t in node.attrs["types"]]
            spelled = types[0] if len(types) == 1 else "(" + ", ".join(types) + ")"
            return f"isinstance({self.use_of(ins[0])}, {spelled})"
        if kind == "prim::tolist":
            return f"annotate({out_type.annotation_str()}, {self.use_of(ins[0])}.tolist())"  # type: ignore
        if kind == "prim::EnumValue":
            return f"({self.use_of(ins[0])}).value"
        if kind == "prim::EnumName":
            return f"({self.use_of(ins[0])}).name"
        return self.print_call(node)

    # -- dependencies ----------------------------------------------------------------------
    def add_dep(self, t: IRType) -> None:
        if t not in self.deps:
            self.deps.append(t)

    def register_class_dependencies(self, t: IRType) -> None:
        if isinstance(t, ClassType):
            self.add_dep(t)
        for c in t.contained_types():
            self.register_class_dependencies(c)

    def scan_type_dependencies(self, node: Node) -> None:
        for v in node.inputs + node.outputs:
            self.register_class_dependencies(v.type)

    # -- functions -------------------------------------------------------------------------
    def print_body(self, block: Block) -> None:
        constants: List[Node] = []
        seen: Set[Node] = set()

        def collect(b: Block) -> None:
            for n in b.nodes + [b.return_node]:
                for v in n.inputs:
                    if v.node.kind == "prim::Constant" and v.node not in seen:
                        seen.add(v.node)
                        constants.append(v.node)
                for sub in n.blocks:
                    collect(sub)

        collect(block)
        self.scan_block(block)
        self.level += 1
        for n in constants:
            self.print_node(n, print_const=True)
        self.print_block(block, len(block.returns) > 0)
        self.print_node(block.return_node, print_const=False)
        self.level -= 1

    def print_function(self, graph: Graph, name: str, *, is_method: bool = False,
                       arg_names: Optional[Sequence[str]] = None,
                       defaults: Optional[Mapping[str, Any]] = None,
                       return_type: Optional[IRType] = None) -> None:
        """Append ``def name(...) -> R:`` and the body of ``graph`` to :attr:`body`.

        ``arg_names``/``defaults``/``return_type`` come from the function's schema when the
        frontend knows it (a param named ``_`` has no debug name; a declared
        ``Optional[...]`` return type is wider than the graph's output type).
        """
        self.used_names = set()
        defaults = defaults or {}
        self.indent()
        self.body.append(f"def {name}(")
        for i, v in enumerate(graph.inputs):
            base = arg_names[i] if arg_names is not None else \
                v.debug_name_base if v.has_debug_name() else f"argument_{i}"
            self.register_class_dependencies(v.type)
            arg = self.gen_name(base)
            type_text = v.type.unshaped().annotation_str()
            if i == 0:
                self.body.append(arg if is_method else f"{arg}: {type_text}")
            else:
                self.body.append(f",\n    {arg}: {type_text}")
            if i > 0 or not is_method:
                self.annotated_unions.add(v)
            if base in defaults:
                self.body.append("=" + self.constant_text(defaults[base], v.type))
            self.ident_refs[v] = arg
        outs = graph.outputs
        if return_type is not None:
            returns = return_type.annotation_str()
        elif not outs:
            returns = "NoneType"
        elif len(outs) == 1:
            returns = outs[0].type.unshaped().annotation_str()
        else:
            returns = TupleType(o.type.unshaped() for o in outs).annotation_str()
        for o in outs:
            self.register_class_dependencies(o.type)
        self.body.append(f") -> {returns}:\n")
        self.print_body(graph.block)


def print_function(graph: Graph, name: str, *, constants: Optional[List[Any]] = None,
                   schema_resolver: Optional[SchemaResolver] = None,
                   arg_names: Optional[Sequence[str]] = None,
                   defaults: Optional[Mapping[str, Any]] = None,
                   return_type: Optional[IRType] = None,
                   is_method: bool = False) -> str:
    """The ``.code`` of a free function (every argument typed).

    Args:
        graph: the function body.
        name: printed after ``def`` (the unqualified name, e.g. ``helper``).
        constants: the ``CONSTANTS`` table to use and extend.
        schema_resolver: overrides the registry lookup (tests use a local table).
        arg_names: argument names (default: each input's base name, or ``argument_<i>``).
        defaults: ``{arg name: default value}`` printed as ``a: int=2``.
        return_type: the declared return type (default: the graph output's type, unshaped).
    """
    printer = PythonPrinter(constants, schema_resolver)
    printer.print_function(graph, name, is_method=is_method, arg_names=arg_names,
                           defaults=defaults, return_type=return_type)
    return printer.str()


def print_method(graph: Graph, name: str = "forward", *, is_method: bool = True,
                 constants: Optional[List[Any]] = None,
                 schema_resolver: Optional[SchemaResolver] = None,
                 arg_names: Optional[Sequence[str]] = None,
                 defaults: Optional[Mapping[str, Any]] = None,
                 return_type: Optional[IRType] = None) -> str:
    """The ``.code`` of a method: the first input is ``self`` and prints without a type.

    Example:
        >>> from minijit.jit.ir.parser import parse_ir
        >>> g = parse_ir('''graph(%self : __torch__.M, %x.1 : Tensor):
        ...   %2 : Tensor = aten::relu(%x.1)
        ...   return (%2)''')
        >>> print(print_method(g, schema_resolver=lambda kind, n: None), end="")
        def forward(self,
            x: Tensor) -> Tensor:
          return torch.relu(x)
    """
    return print_function(graph, name, constants=constants, schema_resolver=schema_resolver,
                          arg_names=arg_names, defaults=defaults, return_type=return_type,
                          is_method=is_method)
