"""``parse_ir``: graph text → :class:`~minijit.jit.ir.graph.Graph` (the inverse of the printer).

It reads everything :mod:`~minijit.jit.ir.printer` writes, so pass tests can be written as
text and every printed graph survives ``print → parse → print`` unchanged:

* value names become debug names, and all-digit names (``%7``) become unnamed values whose
  ``unique`` id is that number, so they print the same;
* types in both tensor forms (``Float(2, 4, strides=[4, 1], requires_grad=0, device=cpu)``,
  ``Tensor``), containers, ``Dict(str, Tensor)``, ``Union(...)`` and ``__torch__`` classes;
* attributes: ints, floats, strings (with TorchScript's escapes), lists, tuples, types and
  tensors (``{2}``, ATen text, ``<Tensor>``); a ``prim::Constant`` value is converted to its
  output type (``value=1`` of a ``bool`` is ``True``);
* blocks, ``, scope: ...``, ``# file:line:col`` comments, and ``with kind_<k> = graph(...)``
  subgraphs, which become the ``Subgraph`` attribute of the node printed as ``kind_<k>``.

Example:
    >>> g = parse_ir('''graph(%x.1 : Tensor):
    ...   %2 : int = prim::Constant[value=1]()
    ...   %y : Tensor = aten::add(%x.1, %x.1, %2) # f.py:3:4
    ...   return (%y)
    ... ''')
    >>> [n.kind for n in g.nodes], g.nodes[1].source_range.line
    (['prim::Constant', 'aten::add'], 3)
"""
from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .constants import (
    TensorPlaceholder,
    coerce_to_type,
    unknown_or_dtype,
    unquote_string,
)
from .graph import Block, Graph, Node, SourceRange, Value
from .tensor_text import parse_aten_text
from .types import (
    AnyType,
    BoolType,
    ClassType,
    DeviceType,
    DictType,
    FloatType,
    FunctionType,
    IntType,
    IRType,
    ListType,
    NoneType,
    NumberType,
    OptionalType,
    StringType,
    TensorType,
    TupleType,
    UnionType,
)

__all__ = ["parse_ir", "parse_type", "IRParseError", "OpaqueAttribute"]

_LEAF_TYPES = {t.kind: t for t in (IntType, FloatType, BoolType, StringType, NoneType,
                                   DeviceType, NumberType, AnyType, FunctionType)}
_IDENT = re.compile(r"[A-Za-z_][\w.]*")
_KIND = re.compile(r"[\w:.]+")
_NAME = re.compile(r"[\w.]+")
_NUMBER = re.compile(r"-?(?:inf|nan|\d+(?:\.\d*)?(?:e[+-]?\d+)?)(?![\w.])")
_ATEN_TENSOR = re.compile(r'[^\[\]"\n]*?\[ (?:CPU|CUDA)\w+?Type\{[\d,]*\} \]')
_GROUP_KIND = re.compile(r"^(.*)_(\d+)$")

TensorFactory = Callable[[np.ndarray, Any, str], Any]


class IRParseError(ValueError):
    """Malformed graph text; the message gives the line, column and the line itself."""


class OpaqueAttribute:
    """An attribute printed only as a placeholder (``<Graph>``, ``[<Tensors>]``): kept verbatim."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


class _TensorLiteral:
    """A parsed tensor attribute, finished once the node's output type is known."""

    __slots__ = ("values", "scalar_name", "shape", "device")

    def __init__(self, values: Optional[np.ndarray], scalar_name: Optional[str],
                 shape: Optional[Tuple[int, ...]], device: str = "cpu"):
        self.values, self.scalar_name, self.shape, self.device = values, scalar_name, shape, device


def _default_tensor_factory(values: np.ndarray, dtype: Any, device: str) -> Any:
    """Parsed tensor constants are NumPy arrays of the dtype unless a factory is given."""
    return values.astype(getattr(dtype, "np", np.float64))


class _Parser:
    def __init__(self, text: str, tensor_factory: Optional[TensorFactory]):
        self.s = text
        self.pos = 0
        self.tensor_factory = tensor_factory or _default_tensor_factory
        self.classes: Dict[str, ClassType] = {}
        numbers = [int(m) for m in re.findall(r"%(\d+)\b", text)]
        self.first_unique = max(numbers) + 1 if numbers else 0

    # -- low level -------------------------------------------------------------------------
    def error(self, message: str) -> IRParseError:
        line_no = self.s.count("\n", 0, self.pos) + 1
        start = self.s.rfind("\n", 0, self.pos) + 1
        end = self.s.find("\n", self.pos)
        line = self.s[start:end if end >= 0 else len(self.s)]
        col = self.pos - start
        return IRParseError(f"{message} at line {line_no}, column {col + 1}:\n{line}\n"
                            f"{' ' * col}^")

    def at(self, literal: str) -> bool:
        return self.s.startswith(literal, self.pos)

    def expect(self, literal: str) -> None:
        if not self.at(literal):
            raise self.error(f"expected {literal!r}")
        self.pos += len(literal)

    def match(self, pattern: "re.Pattern[str]", what: str) -> str:
        m = pattern.match(self.s, self.pos)
        if not m:
            raise self.error(f"expected {what}")
        self.pos = m.end()
        return m.group(0)

    def skip_spaces(self, newlines: bool = False) -> None:
        chars = " \t\n\r" if newlines else " \t"
        while self.pos < len(self.s) and self.s[self.pos] in chars:
            self.pos += 1

    def end_line(self) -> None:
        if self.pos < len(self.s):
            self.expect("\n")

    # -- types -----------------------------------------------------------------------------
    def parse_type(self) -> IRType:
        t = self.parse_base_type()
        while True:
            if self.at("[]"):
                self.pos += 2
                t = ListType(t)
            elif self.at("?"):
                self.pos += 1
                t = OptionalType(t)
            else:
                return t

    def type_list(self, close: str) -> List[IRType]:
        items: List[IRType] = []
        while not self.at(close):
            items.append(self.parse_type())
            self.separator(close)
        self.expect(close)
        return items

    def parse_base_type(self) -> IRType:
        if self.at("("):
            self.pos += 1
            return TupleType(self.type_list(")"))
        name = self.match(_IDENT, "a type")
        if name in _LEAF_TYPES:
            return _LEAF_TYPES[name]
        if name in ("Dict", "Union"):
            self.expect("(")
            items = self.type_list(")")
            if name == "Dict":
                if len(items) != 2:
                    raise self.error("Dict(K, V) needs two types")
                return DictType(items[0], items[1])
            return UnionType(items)
        if "." in name:
            return self.classes.setdefault(name, ClassType(name))
        if name[0].isupper() and (name.endswith("Tensor") or self.at("(")):
            return self.parse_tensor_type(name)          # Tensor, FloatTensor, Float(...)
        self.pos -= len(name)
        raise self.error(f"unknown type {name!r}")

    def parse_tensor_type(self, name: str) -> TensorType:
        rank_known = not name.endswith("Tensor")
        scalar = name[:-len("Tensor")] if name.endswith("Tensor") else name
        dtype = unknown_or_dtype(scalar) if scalar else None
        sizes: Optional[List[Optional[int]]] = [] if rank_known else None
        strides = requires_grad = device = None
        if self.at("("):
            self.pos += 1
            items: List[Optional[int]] = []
            while not self.at(")"):
                if self.at("strides=["):
                    self.pos += len("strides=[")
                    strides = [int(x) for x in self.until("]").split(", ") if x]
                    self.pos += 1
                elif self.at("requires_grad="):
                    self.pos += len("requires_grad=")
                    requires_grad = self.match(re.compile(r"[01]"), "0 or 1") == "1"
                elif self.at("device="):
                    self.pos += len("device=")
                    device = self.match(re.compile(r"[\w:]+"), "a device")
                elif self.at("*"):
                    self.pos += 1
                    items.append(None)
                else:
                    items.append(int(self.match(re.compile(r"\d+"), "a size")))
                if self.at(", "):
                    self.pos += 2
            self.pos += 1
            if items or rank_known:
                sizes = items
        return TensorType(dtype, sizes, strides, requires_grad, device)

    def until(self, stop: str) -> str:
        end = self.s.find(stop, self.pos)
        if end < 0:
            raise self.error(f"missing {stop!r}")
        text, self.pos = self.s[self.pos:end], end
        return text

    # -- attributes ------------------------------------------------------------------------
    def parse_attributes(self) -> Dict[str, Any]:
        self.expect("[")
        attrs: Dict[str, Any] = {}
        while True:
            name = self.match(re.compile(r"\w+"), "an attribute name")
            self.expect("=")
            attrs[name] = self.parse_attribute_value()
            if self.at(", "):
                self.pos += 2
                continue
            self.expect("]")
            return attrs

    def parse_attribute_value(self) -> Any:
        for marker in ("<Tensor>", "[<Tensors>]", "<Graph>", "[<Graphs>]"):
            if self.at(marker):
                self.pos += len(marker)
                return _TensorLiteral(None, None, None) if marker == "<Tensor>" \
                    else OpaqueAttribute(marker)
        m = _ATEN_TENSOR.match(self.s, self.pos)
        if m:
            device, scalar, shape, values, _ = parse_aten_text(m.group(0))
            self.pos = m.end()
            return _TensorLiteral(values, scalar, shape, device)
        if self.at("{"):
            self.pos += 1
            number = self.parse_literal()
            self.expect("}")
            return _TensorLiteral(np.array(number, dtype=np.float64), None, None)
        if self.at('"'):
            return self.parse_literal()
        start = self.pos
        try:
            return self.parse_literal()
        except IRParseError:
            self.pos = start
        if self.at("["):
            self.pos += 1
            return self.type_list("]")
        return self.parse_type()

    def parse_literal(self) -> Any:
        """Numbers, strings, True/False/None and (nested) lists and tuples."""
        if self.at('"'):
            try:
                value, self.pos = unquote_string(self.s, self.pos)
            except (ValueError, IndexError):
                raise self.error("bad string literal") from None
            return value
        if self.at("[") or self.at("("):
            close = "]" if self.at("[") else ")"
            self.pos += 1
            items = []
            while not self.at(close):
                items.append(self.parse_literal())
                if self.at(","):
                    self.pos += 1
                    self.skip_spaces()
                elif not self.at(close):
                    raise self.error(f"expected ',' or {close!r}")
            self.pos += 1
            return items if close == "]" else tuple(items)
        for word, value in (("True", True), ("False", False), ("None", None)):
            if self.at(word):
                self.pos += len(word)
                return value
        text = self.match(_NUMBER, "a literal")
        if any(c in text for c in ".e") or text.lstrip("-") in ("inf", "nan"):
            return float(text)
        return int(text)

    # -- graph structure -------------------------------------------------------------------
    def define(self, env: Dict[str, Value], name: str, value: Value) -> None:
        if name.isdigit():
            value.unique = int(name)
        else:
            value.set_debug_name(name)
        env[name] = value

    def ref(self, env: Dict[str, Value]) -> Value:
        self.expect("%")
        name = self.match(_NAME, "a value name")
        if name not in env:
            self.pos -= len(name) + 1
            raise self.error(f"undefined value %{name}")
        return env[name]

    def refs(self, env: Dict[str, Value], close: str) -> List[Value]:
        values = []
        while not self.at(close):
            values.append(self.ref(env))
            self.separator(close)
        self.expect(close)
        return values

    def separator(self, close: str) -> None:
        if self.at(", "):
            self.pos += 2
        elif not self.at(close):
            raise self.error(f"expected ', ' or {close!r}")

    def params(self, block: Block, env: Dict[str, Value], multiline: bool) -> None:
        while not self.at(")"):
            self.expect("%")
            name = self.match(_NAME, "a parameter name")
            self.expect(" : ")
            self.define(env, name, block.add_input(None, self.parse_type()))
            if self.at(","):
                self.pos += 1
                self.skip_spaces(newlines=multiline)
        self.expect(")")

    def parse_graph(self) -> Graph:
        graph = Graph()
        graph._next_unique = self.first_unique
        env: Dict[str, Value] = {}
        self.skip_spaces(newlines=True)
        self.expect("graph(")
        self.params(graph.block, env, multiline=True)
        self.expect(":")
        self.end_line()
        groups: List[Tuple[Node, str]] = []
        self.parse_nodes(graph, graph.block, 2, env, groups, "return (")
        self.expect("  return (")
        for v in self.refs(env, ")"):
            graph.register_output(v)
        self.end_line()
        for i, (node, _) in enumerate(groups):
            header = f"with {node.kind}_{i} = "
            if not self.at(header):
                for later, literal in groups[i:]:
                    del later.attrs["Subgraph"]
                    later.kind = literal
                break
            self.pos += len(header)
            node.attrs["Subgraph"] = self.parse_graph()
        return graph

    def parse_nodes(self, graph: Graph, block: Block, indent: int, env: Dict[str, Value],
                    groups: List[Tuple[Node, str]], terminator: str) -> None:
        pad = " " * indent
        while not self.at(pad + terminator):
            if self.pos >= len(self.s):
                raise self.error(f"expected {terminator!r} (end of text)")
            node = block.append_node(self.parse_node(graph, pad, env, groups))
            while self.at(pad + "  block"):
                self.parse_block(graph, node.add_block(), indent + 2, env, groups)

    def parse_block(self, graph: Graph, block: Block, indent: int, env: Dict[str, Value],
                    groups: List[Tuple[Node, str]]) -> None:
        self.expect(" " * indent + "block")
        self.match(re.compile(r"\d+"), "a block number")
        self.expect("(")
        self.params(block, env, multiline=False)
        self.expect(":")
        self.end_line()
        self.parse_nodes(graph, block, indent + 2, env, groups, "-> (")
        self.expect(" " * (indent + 2) + "-> (")
        for v in self.refs(env, ")"):
            block.register_output(v)
        self.end_line()

    def parse_node(self, graph: Graph, pad: str, env: Dict[str, Value],
                   groups: List[Tuple[Node, str]]) -> Node:
        self.expect(pad)
        outputs: List[Tuple[str, IRType]] = []
        while self.at("%"):
            self.pos += 1
            name = self.match(_NAME, "an output name")
            self.expect(" : ")
            outputs.append((name, self.parse_type()))
            if self.at(", %"):
                self.pos += 2
        self.expect(" = ")
        kind = self.match(_KIND, "a node kind")
        attrs = self.parse_attributes() if self.at("[") else {}
        self.expect("(")
        node = graph.create_node(kind, self.refs(env, ")"), 0)
        for name, type_ in outputs:
            self.define(env, name, node.add_output(type_))
        m = _GROUP_KIND.match(kind)
        if m and int(m.group(2)) == len(groups):
            node.kind = m.group(1)
            node.attrs["Subgraph"] = None        # filled by the ``with`` section
            groups.append((node, kind))
        for key, value in attrs.items():
            node.attrs[key] = self.finish_attribute(node, key, value)
        if self.at(", scope: "):
            self.pos += len(", scope: ")
            end = self.s.find("\n", self.pos)
            end = len(self.s) if end < 0 else end
            hash_at = self.s.find(" # ", self.pos, end)
            stop = hash_at if hash_at >= 0 else end
            node.scope, self.pos = self.s[self.pos:stop], stop
        if self.at(" # "):
            self.pos += 3
            end = self.s.find("\n", self.pos)
            end = len(self.s) if end < 0 else end
            text, self.pos = self.s[self.pos:end], end
            try:
                filename, line, col = text.rsplit(":", 2)
                node.source_range = SourceRange(filename, int(line), int(col))
            except ValueError:
                raise self.error(f"bad source location {text!r}") from None
        self.end_line()
        return node

    def finish_attribute(self, node: Node, key: str, value: Any) -> Any:
        out_type = node.outputs[0].type if len(node.outputs) == 1 else None
        if isinstance(value, _TensorLiteral):
            return self.make_tensor(value, out_type)
        if node.kind == "prim::Constant" and key == "value" and out_type is not None:
            return coerce_to_type(value, out_type)
        return value

    def make_tensor(self, lit: _TensorLiteral, type_: Optional[IRType]) -> Any:
        known = type_ if isinstance(type_, TensorType) else TensorType()
        shape = lit.shape
        if shape is None and known.sizes is not None and None not in known.sizes:
            shape = tuple(known.sizes)  # type: ignore[arg-type]
        device = known.device or lit.device
        if lit.scalar_name is not None:
            dtype = unknown_or_dtype(lit.scalar_name)
        elif known.dtype is not None:
            dtype = known.dtype
        elif lit.values is not None and float(lit.values) != int(float(lit.values)):
            dtype = unknown_or_dtype("Float")
        else:
            dtype = unknown_or_dtype("Long")
        if lit.values is None:
            return TensorPlaceholder(dtype, shape or (), device)
        return self.tensor_factory(lit.values.reshape(shape or ()), dtype, device)


def parse_ir(text: str, *, tensor_factory: Optional[TensorFactory] = None) -> Graph:
    """Parse graph text (as printed by ``str(graph)``) into a new :class:`Graph`.

    Args:
        text: the graph, optionally followed by its ``with ... = graph(...)`` subgraphs.
        tensor_factory: ``f(float64 ndarray, dtype, device) -> tensor`` for tensor constants;
            by default they become NumPy arrays (``<Tensor>`` becomes a TensorPlaceholder).
    """
    parser = _Parser(text, tensor_factory)
    graph = parser.parse_graph()
    parser.skip_spaces(newlines=True)
    if parser.pos != len(text):
        raise parser.error("unexpected text after the graph")
    return graph


def parse_type(text: str) -> IRType:
    """Parse one type in graph form: ``parse_type("Tensor?[]") == ListType(OptionalType(...))``."""
    parser = _Parser(text, None)
    t = parser.parse_type()
    if parser.pos != len(text):
        raise parser.error("unexpected text after the type")
    return t
