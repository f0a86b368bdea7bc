"""The ``.graph`` printer: graphs built with the Graph API must print as PyTorch prints them."""
from __future__ import annotations

import math

import numpy as np
import pytest

from minijit.dtypes import float32, int64
from minijit.jit.ir import (
    BoolType,
    ClassType,
    FunctionType,
    Graph,
    IntType,
    ListType,
    NoneType,
    SourceRange,
    StringType,
    TensorPlaceholder,
    TensorType,
    TupleType,
    parse_ir,
)
from minijit.jit.ir.constants import (
    format_attribute,
    format_float,
    quote_string,
    unquote_string,
)
from minijit.jit.ir.tensor_text import aten_print, parse_aten_text


def f32(*sizes: int, requires_grad: bool = False) -> TensorType:
    strides, acc = [], 1
    for s in reversed(sizes):
        strides.insert(0, acc)
        acc *= s
    return TensorType(float32, sizes, strides, requires_grad, "cpu")


def numbered(value, unique: int):
    """Give an unnamed value the id PyTorch's counter gave it (ids may have gaps)."""
    value.unique = unique
    return value


def traced_module_graph(inlined: bool) -> Graph:
    """Reference §1.1: ``relu(self.linear(x)) * 2``, traced (and optionally inlined)."""
    g = Graph()
    self_ = g.add_input("self.1", ClassType("__torch__.M"))
    x = g.add_input("x", f32(2, 4))
    linear_cls = ClassType("__torch__.torch.nn.modules.linear.Linear")
    get = g.insert_node(g.create_node("prim::GetAttr", [self_]))
    get.attrs["name"] = "linear"
    get.output().set_type(linear_cls).set_debug_name("linear")
    loc = SourceRange("g1_graphs.py", 15, 0)
    if inlined:
        params = []
        for name in ("bias", "weight"):
            n = g.insert_node(g.create_node("prim::GetAttr", [get.output()]))
            n.attrs["name"] = name
            params.append(n.output().set_debug_name(name))
        call = g.insert_node(g.create_node("aten::linear", [x, params[1], params[0]]))
        call.scope, call.source_range = "__module.linear", SourceRange("linear.py", 134, 0)
        call.output().type = f32(2, 3, requires_grad=True)
        ids = (9, 4, 5, 6)
    else:
        call = g.insert_node(g.create_node("prim::CallMethod", [get.output(), x]))
        call.attrs["name"] = "forward"
        ids = (18, 10, 11, 12)
    numbered(call.output(), ids[0])
    relu = g.insert_node(g.create_node("aten::relu", [call.output()]))
    relu.output().type, relu.source_range = f32(2, 3, requires_grad=True), loc
    two = g.insert_constant(np.array(2, dtype=np.int64),
                            TensorType(int64, (), (), False, "cpu"), source_range=loc)
    mul = g.insert_node(g.create_node("aten::mul", [relu.output(), two]))
    mul.output().type, mul.source_range = f32(2, 3, requires_grad=True), loc
    for v, i in zip((relu.output(), two, mul.output()), ids[1:]):
        numbered(v, i)
    g.register_output(mul.output())
    return g


def test_traced_module_graph() -> None:
    g = traced_module_graph(inlined=False)
    g.lint()
    assert str(g) == """graph(%self.1 : __torch__.M,
      %x : Float(2, 4, strides=[4, 1], requires_grad=0, device=cpu)):
  %linear : __torch__.torch.nn.modules.linear.Linear = prim::GetAttr[name="linear"](%self.1)
  %18 : Tensor = prim::CallMethod[name="forward"](%linear, %x)
  %10 : Float(2, 3, strides=[3, 1], requires_grad=1, device=cpu) = aten::relu(%18) # g1_graphs.py:15:0
  %11 : Long(requires_grad=0, device=cpu) = prim::Constant[value={2}]() # g1_graphs.py:15:0
  %12 : Float(2, 3, strides=[3, 1], requires_grad=1, device=cpu) = aten::mul(%10, %11) # g1_graphs.py:15:0
  return (%12)
"""


def test_inlined_graph_with_scope() -> None:
    g = traced_module_graph(inlined=True)
    g.lint()
    lines = str(g).splitlines()
    assert lines[5] == ("  %9 : Float(2, 3, strides=[3, 1], requires_grad=1, device=cpu) = "
                        "aten::linear(%x, %weight, %bias), scope: __module.linear # linear.py:134:0")
    assert str(g.nodes[3]) == lines[5][2:] + "\n"            # str(node) is the line at level 0
    without = g.str(print_source_locations=False).splitlines()
    assert without[5].endswith("scope: __module.linear") and "#" not in "".join(without)


def test_no_output_nodes_and_blocks() -> None:
    """Reference §1.9: ``assert`` becomes an If whose else-branch raises."""
    g = Graph()
    x = g.add_input("x")
    n = g.add_input("n.1", IntType)
    msg = numbered(g.insert_constant("AssertionError: n must be positive"), 43)
    none = numbered(g.insert_constant(None), 10)
    zero = numbered(g.insert_constant(0, source_range=SourceRange("g2_more.py", 52, 15)), 4)
    gt = g.insert_node(g.create_node("aten::gt", [n, zero]))
    gt.source_range = SourceRange("g2_more.py", 52, 11)
    numbered(gt.output().set_type(BoolType), 5)
    if_node = g.insert_node(g.create_node("prim::If", [gt.output()], num_outputs=0))
    if_node.source_range = gt.source_range._replace(col=4)
    if_node.add_block()
    raise_ = if_node.add_block().append_node(
        g.create_node("prim::RaiseException", [msg, none], num_outputs=0))
    raise_.source_range = if_node.source_range
    g.register_output(x)
    g.lint()
    assert str(g) == """graph(%x : Tensor,
      %n.1 : int):
  %43 : str = prim::Constant[value="AssertionError: n must be positive"]()
  %10 : NoneType = prim::Constant()
  %4 : int = prim::Constant[value=0]() # g2_more.py:52:15
  %5 : bool = aten::gt(%n.1, %4) # g2_more.py:52:11
   = prim::If(%5) # g2_more.py:52:4
    block0():
      -> ()
    block1():
       = prim::RaiseException(%43, %10) # g2_more.py:52:4
      -> ()
  return (%x)
"""
    nested = g.str(False).splitlines()
    assert nested[6] == "   = prim::If(%5)" and nested[10].endswith("# g2_more.py:52:4")


def test_loop_block_params_and_multiple_outputs() -> None:
    text = """graph(%x.1 : Tensor):
  %39 : bool = prim::Constant[value=1]()
  %2 : int = prim::Constant[value=9223372036854775807]()
  %x : Tensor, %i : int = prim::Loop(%2, %39, %x.1, %2)
    block0(%7 : int, %x.11 : Tensor, %i.13 : int):
      -> (%39, %x.11, %i.13)
  return (%x)
"""
    g = Graph()
    x = g.add_input("x.1")
    true = numbered(g.insert_constant(True), 39)
    big = numbered(g.insert_constant(9223372036854775807), 2)
    loop = g.insert_node(g.create_node("prim::Loop", [big, true, x, big], num_outputs=2))
    loop.outputs[0].set_debug_name("x")
    loop.outputs[1].set_type(IntType).set_debug_name("i")
    body = loop.add_block()
    numbered(body.add_input(None, IntType), 7)
    carried = [body.add_input("x.11"), body.add_input("i.13", IntType)]
    for v in [true] + carried:
        body.register_output(v)
    g.register_output(loop.outputs[0])
    g.lint()
    assert str(g) == text


@pytest.mark.parametrize("value,text", [
    (1.0, "1."), (-3.0, "-3."), (-0.0, "-0."), (100000.0, "100000."),
    (9999999999.0, "9999999999."), (1e10, "10000000000"), (12345678901.0, "12345678901"),
    (1e16, "10000000000000000"), (0.1, "0.10000000000000001"), (1e-5, "1.0000000000000001e-05"),
    (2.5, "2.5"), (123.456, "123.456"), (1e20, "1e+20"), (1.5e-10, "1.5e-10"),
    (math.inf, "inf"), (-math.inf, "-inf"), (math.nan, "nan")])
def test_float_repr(value: float, text: str) -> None:
    assert format_float(value) == text == format_attribute(value)


STRINGS = [("sq'", r'"sq\'"'), ('dq"', r'"dq\""'), ("uni\u00e9", r'"uni\0)+\/.)"'),
           ("tab\t", r'"tab\t"'), ("ctl\x01", r'"ctl\001"'), ("cr\r", r'"cr\r"'),
           ("back\\slash", r'"back\\slash"'), ("nl\n\a\b\f\v", r'"nl\n\a\b\f\v"'),
           ("\u4e2d\x7f", r'"\0-,\//0\/.-\177"')]


@pytest.mark.parametrize("value,text", STRINGS)
def test_string_escapes_round_trip(value: str, text: str) -> None:
    assert quote_string(value) == text
    assert unquote_string(text + "]", 0) == (value, len(text))


def test_attribute_values() -> None:
    assert format_attribute(True) == "1" and format_attribute([True, 2]) == "[True, 2]"
    assert format_attribute((1, (2.0, "a"), [3, 4])) == '(1, (2., "a"), [3, 4])'
    assert format_attribute((5,)) == "(5,)" and format_attribute([]) == "[]"
    assert format_attribute([IntType, ListType(IntType)]) == "[int, int[]]"
    assert format_attribute(f32(4, 8)) == "Float(4, 8, strides=[8, 1], requires_grad=0, device=cpu)"
    assert format_attribute([np.zeros(2), np.ones(3)]) == "[<Tensors>]"
    assert format_attribute(Graph()) == "<Graph>" and format_attribute(float32) == "6"


@pytest.mark.parametrize("array,text", [
    (np.array([5.5], dtype=np.float32), "{5.5}"),
    (np.array(2, dtype=np.int64), "{2}"),
    (np.array([1 / 3]), "{0.333333}"),
    (np.array([True]), "{1}"),
    (np.array([1, 2, 3], dtype=np.int64), " 1  2  3 [ CPULongType{3} ]"),
    (np.array([1.5, 2.0], dtype=np.float32), " 1.5000  2.0000 [ CPUFloatType{2} ]"),
    (np.array([[1.0, 2.0], [3.0, 4.5]], dtype=np.float32),
     " 1.0000  2.0000  3.0000  4.5000 [ CPUFloatType{2,2} ]"),
    (np.array([1e-5, 1.0], dtype=np.float32), " 1.0000e-05  1.0000e+00 [ CPUFloatType{2} ]"),
    (np.arange(4, dtype=np.int64).reshape(2, 1, 2),
     "(1,.,.) =   0  1  (2,.,.) =   2  3 [ CPULongType{2,1,2} ]"),
    (np.array([True, False]), " 1  0 [ CPUBoolType{2} ]"),
    (np.array([150000.5, 250000.25]), "100000 *  1.5000  2.5000 [ CPUDoubleType{2} ]"),
    (np.zeros(20, dtype=np.float32), "<Tensor>"),
    (TensorPlaceholder(float32, (2,)), "<Tensor>")])
def test_tensor_attributes(array, text: str) -> None:
    assert format_attribute(array) == text


def test_aten_text_parses_back() -> None:
    arr = np.array([[1.0, -2.5, 3.25], [4.0, 5.0, 6.5]])
    text = aten_print(arr, "CPUDoubleType").replace("\n", " ")
    device, scalar, shape, values, _ = parse_aten_text(text + "]()")
    assert (device, scalar, shape) == ("cpu", "Double", (2, 3)) and np.array_equal(values, arr)
    wide = np.arange(10, dtype=np.float64).reshape(1, 10) * 1e10
    device, scalar, shape, values, _ = parse_aten_text(aten_print(wide, "CPUDoubleType"))
    assert "Columns 1 to 6" in aten_print(wide, "CPUDoubleType") and np.array_equal(values, wide)
    glued = np.full((1, 9), 61234567.0)                 # "Columns 1 to 86.12346e+07 ..."
    text = aten_print(glued, "CPUDoubleType")
    assert "Columns 1 to 86.12346e+07" in text
    assert np.allclose(parse_aten_text(text)[3], glued, rtol=1e-5)


def fusion_graph(kind: str, extra_attrs: dict) -> Graph:
    sub = parse_ir("""graph(%a : Tensor, %b : Tensor):
  %c : Tensor = aten::mul(%a, %b) # f.py:1:0
  return (%c)""")
    g = Graph()
    x, y = g.add_input("x"), g.add_input("y")
    outs = []
    for _ in range(2):
        n = g.insert_node(g.create_node(kind, [x, y]))
        n.attrs["Subgraph"] = sub.copy()
        n.attrs.update(extra_attrs)
        outs.append(n.output())
    g.register_output(outs[1])
    return g


def test_fusion_groups_print_numbered_with_subgraphs() -> None:
    g = fusion_graph("prim::FusionGroup", {"device": -1})
    g.lint()
    expected_sub = """graph(%a : Tensor,
      %b : Tensor):
  %c : Tensor = aten::mul(%a, %b) # f.py:1:0
  return (%c)
"""
    assert str(g) == ("""graph(%x : Tensor,
      %y : Tensor):
  %2 : Tensor = prim::FusionGroup_0[device=-1](%x, %y)
  %3 : Tensor = prim::FusionGroup_1[device=-1](%x, %y)
  return (%3)
with prim::FusionGroup_0 = """ + expected_sub + "with prim::FusionGroup_1 = " + expected_sub)
    assert str(g.nodes[0]) == \
        "%2 : Tensor = prim::FusionGroup[Subgraph=<Graph>, device=-1](%x, %y)\n"
    diff = fusion_graph("prim::DifferentiableGraph", {"unused": 1})
    assert "%2 : Tensor = prim::DifferentiableGraph_0(%x, %y)\n" in str(diff)


def test_types_and_attributes_of_special_nodes() -> None:
    g = Graph()
    x = g.add_input("x.1", ListType(TensorType()))
    fn = g.insert_node(g.create_node("prim::Constant"))
    fn.attrs["name"] = "helper"
    fn.output().set_type(FunctionType.named("__torch__.helper"))
    inst = g.insert_node(g.create_node("prim::isinstance", [x]))
    inst.attrs["types"] = [ListType(TensorType())]
    inst.output().type = BoolType
    tup = g.insert_constant((1, (2.0, "a"), [3, 4]))
    g.register_output(tup)
    assert str(g).splitlines()[1:4] == [
        '  %1 : Function = prim::Constant[name="helper"]()',
        "  %2 : bool = prim::isinstance[types=[Tensor[]]](%x.1)",
        '  %3 : (int, (float, str), int[]) = prim::Constant[value=(1, (2., "a"), [3, 4])]()']
    assert tup.type == TupleType([IntType, TupleType([BoolType.__class__("float"), StringType]),
                                  ListType(IntType)])
    assert str(g.insert_constant(None).node) == "%4 : NoneType = prim::Constant()\n"
    assert g.nodes[-1].output().type == NoneType


@pytest.mark.conformance
def test_tensor_constants_match_pytorch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    names = {np.dtype("float32"): torch.float32, np.dtype("int64"): torch.int64}
    for i in range(60):
        shape = [(2,), (3,), (2, 3), (1, 5), (2, 2, 2), (5, 1), (10,)][i % 7]
        scale = 10.0 ** rng.integers(-7, 12)
        arr = (rng.standard_normal(shape) * scale).astype(np.float32) if i % 3 else \
            rng.integers(-1000, 1000, shape).astype(np.int64)
        tg = torch._C.Graph()
        tg.registerOutput(tg.insertConstant(torch.tensor(arr, dtype=names[arr.dtype])))
        mine = Graph()
        mine.register_output(mine.insert_constant(arr))
        assert str(mine) == str(tg)
