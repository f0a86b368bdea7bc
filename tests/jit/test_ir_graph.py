"""The IR data structures: building graphs, value names, mutation helpers, lint, types."""
from __future__ import annotations

import pytest

from minijit.dtypes import float32, int64
from minijit.jit.ir import (
    AnyType,
    BoolType,
    ClassType,
    DeviceType,
    DictType,
    FloatType,
    FunctionType,
    Graph,
    IntType,
    LintError,
    ListType,
    NoneType,
    NumberType,
    OptionalType,
    StringType,
    TensorType,
    TupleType,
    UnionType,
    parse_ir,
    unify,
)
from minijit.jit.ir.types import UnknownDtype


def build_if_graph() -> Graph:
    """Reference §1.2 (scripted if/else), built with the Graph API."""
    g = Graph()
    x, flag = g.add_input("x.1"), g.add_input("flag.1", BoolType)
    one, two = g.insert_constant(1), g.insert_constant(2)
    node = g.insert_node(g.create_node("prim::If", [flag]))
    node.output().set_debug_name("y")
    for block, kind, args in ((node.add_block(), "aten::add", [x, one, one]),
                              (node.add_block(), "aten::mul", [x, two])):
        op = block.append_node(g.create_node(kind, args))
        block.register_output(op.output())
    g.register_output(node.output())
    return g


def test_build_and_print() -> None:
    g = build_if_graph()
    g.lint()
    assert str(g) == """graph(%x.1 : Tensor,
      %flag.1 : bool):
  %2 : int = prim::Constant[value=1]()
  %3 : int = prim::Constant[value=2]()
  %y : Tensor = prim::If(%flag.1)
    block0():
      %5 : Tensor = aten::add(%x.1, %2, %2)
      -> (%5)
    block1():
      %6 : Tensor = aten::mul(%x.1, %3)
      -> (%6)
  return (%y)
"""
    add = g.nodes[2].blocks[0].nodes[0]
    assert add.owning_block.owning_node is g.nodes[2] and add.owning_graph is g
    assert [u.user.kind for u in g.inputs[0].uses] == ["aten::add", "aten::mul"]


def test_debug_name_uniquing_matches_torchscript() -> None:
    """Reference §1.11: the new holder keeps the name, the old one gets ``.N``."""
    g = Graph()
    names = lambda: [v.debug_name for v in g.inputs]  # noqa: E731
    a = g.add_input()
    a.debug_name = "x"
    g.add_input().debug_name = "x"
    assert names() == ["x.1", "x"]
    g.add_input().debug_name = "x"
    assert names() == ["x.1", "x.3", "x"]
    g.add_input().debug_name = "x.1"
    assert names() == ["x.5", "x.3", "x", "x.1"]
    for name in ("y.5", "y", "y"):
        g.add_input().debug_name = name
    assert names() == ["x.5", "x.3", "x", "x.1", "y.5", "y.1", "y"]
    u = g.add_input()
    assert (u.debug_name, u.unique) == ("7", 7) and not u.has_debug_name()
    with pytest.raises(ValueError, match="Invalid name: '12'"):
        g.add_input().debug_name = "12"
    assert g.inputs[0].debug_name_base == "x"
    a.debug_name = None                      # clearing frees the name for others
    g.add_input("x.5")
    assert g.inputs[-1].debug_name == "x.5" and a.debug_name == str(a.unique)


def test_replace_uses_and_inputs() -> None:
    g = parse_ir("""graph(%a : Tensor, %b : Tensor):
  %c : Tensor = aten::mul(%a, %b)
  %d : Tensor = aten::add(%c, %a)
  %e : Tensor = aten::sub(%d, %a)
  return (%e)""")
    a, b = g.inputs
    mul, add, sub = g.nodes
    a.replace_all_uses_after_node_with(mul, b)
    assert [v.debug_name for v in add.inputs] == ["c", "b"] and mul.inputs[0] is a
    assert len(a.uses) == 1 and len(b.uses) == 3
    b.replace_all_uses_with(a)
    assert not b.uses and [v.debug_name for v in sub.inputs] == ["d", "a"]
    add.insert_input(0, b)
    assert [v.debug_name for v in add.inputs] == ["b", "c", "a"]
    add.remove_input(0)
    add.replace_input_with(a, b)
    assert [v.debug_name for v in add.inputs] == ["c", "b"]
    assert add.replace_input(1, a) is b
    g.lint()


def test_insert_move_destroy_and_insert_point() -> None:
    g = parse_ir("""graph(%x : Tensor):
  %1 : Tensor = aten::relu(%x)
  %2 : Tensor = aten::tanh(%1)
  return (%2)""")
    relu, tanh = g.nodes
    with g.insert_point(tanh):
        neg = g.insert_node(g.create_node("aten::neg", [relu.output()]))
    assert [n.kind for n in g.nodes] == ["aten::relu", "aten::neg", "aten::tanh"]
    assert g.get_insert_point() is g.return_node            # restored
    neg.move_after(tanh)
    assert [n.kind for n in g.nodes] == ["aten::relu", "aten::tanh", "aten::neg"]
    neg.move_before(relu)
    with pytest.raises(LintError, match=r"aten::neg\(%1\): input %1 is used before it is defined"):
        g.lint()
    neg.move_after(relu)
    sig = g.create_node("aten::sigmoid", [neg.output()]).insert_after(neg)
    assert sig.prev is neg and sig.next is tanh and relu.is_before(sig) and sig.is_after(relu)
    with pytest.raises(RuntimeError, match="still used"):
        relu.destroy()
    sig.destroy()
    neg.destroy()
    assert [n.kind for n in g.nodes] == ["aten::relu", "aten::tanh"] and len(relu.output().uses) == 1
    g.lint()


def test_copy_keeps_names_and_structure() -> None:
    g = build_if_graph()
    g.nodes[0].attrs["value"] = 1
    c = g.copy()
    c.lint()
    assert str(c) == str(g)              # ids are assigned in the same order here
    assert c.nodes[2] is not g.nodes[2] and c.inputs[0].uses[0].user.owning_graph is c


def test_order_queries_across_blocks() -> None:
    g = build_if_graph()
    const, _, if_node = g.nodes
    add = if_node.blocks[0].nodes[0]
    assert const.is_before(add) and add.is_after(const) and not if_node.is_before(add)


def test_insert_constant_types() -> None:
    g = Graph()
    values = [3, 2.5, True, "s", None, [1, 2], (1, "a"), [1.5, 2], float32]
    types = [g.insert_constant(v).type for v in values]
    assert [str(t) for t in types] == ["int", "float", "bool", "str", "NoneType", "int[]",
                                       "(int, str)", "float[]", "int"]
    assert g.nodes[-1].attrs["value"] == 6 and "value" not in g.nodes[4].attrs
    assert g.insert_constant("cpu", DeviceType).type == DeviceType


# -- lint failures -------------------------------------------------------------------------
def _broken(text: str) -> Graph:
    return parse_ir(text)


def test_lint_reports_scoping_errors() -> None:
    g = build_if_graph()
    inner = g.nodes[2].blocks[0].nodes[0].output()
    g.return_node.replace_input(0, inner)
    with pytest.raises(LintError, match=r"^return \(%5\): input %5 is out of scope"):
        g.lint()


def test_lint_reports_bad_control_flow_and_constants() -> None:
    g = build_if_graph()
    g.nodes[2].blocks[1].erase_output(0)
    with pytest.raises(LintError, match=r"prim::If\(%flag.1\): prim::If block1 returns 0"):
        g.lint()
    g = parse_ir("""graph(%n : int, %c : bool):
  %x : int = prim::Loop(%n, %c, %n)
    block0(%i : int):
      -> (%c, %i)
  return (%x)""")
    with pytest.raises(LintError, match="prim::Loop body takes 1 params, expected 1 \\+ 1"):
        g.lint()
    g = Graph()
    g.insert_constant(1).node.attrs.clear()
    with pytest.raises(LintError, match=r"prim::Constant\(\): prim::Constant has no value"):
        g.lint()


def test_lint_reports_broken_uses_and_foreign_values() -> None:
    g = build_if_graph()
    g.inputs[0].uses.pop()
    with pytest.raises(LintError, match=r"aten::mul\(%x.1, %3\): input 0 \(%x.1\) has 0"):
        g.lint()
    g, other = build_if_graph(), Graph()
    g.nodes[2].blocks[0].nodes[0].replace_input(0, other.add_input("z"))
    with pytest.raises(LintError, match="input %z belongs to another graph"):
        g.lint()
    g = build_if_graph()
    dead = g.create_node("aten::neg", [g.inputs[0]])         # created, never inserted
    with pytest.raises(LintError, match="used by aten::neg, which is not in any block"):
        g.lint()
    dead.destroy()
    g.nodes[2].blocks[1].nodes[0].replace_input(0, g.create_node("aten::rand").output())
    with pytest.raises(LintError, match="produced by a node that is not in the graph"):
        g.lint()
    g = build_if_graph()
    g.nodes[0].next.prev = None  # type: ignore[union-attr]
    with pytest.raises(LintError, match="prev link is wrong"):
        g.lint()


# -- types -----------------------------------------------------------------------------------
TYPE_TABLE = [  # reference §1.12: (type, graph form, annotation form)
    (TensorType(), "Tensor", "Tensor"),
    (TensorType(float32, (2, 3), (3, 1), False, "cpu"),
     "Float(2, 3, strides=[3, 1], requires_grad=0, device=cpu)", "Tensor"),
    (TensorType(int64, (), (), False, "cpu"), "Long(requires_grad=0, device=cpu)", "Tensor"),
    (TensorType(int64, (), (), None, "cpu"), "Long(device=cpu)", "Tensor"),
    (TensorType(float32, (None, 3), (3, 1), False, "cpu"),
     "Float(*, 3, strides=[3, 1], requires_grad=0, device=cpu)", "Tensor"),
    (TensorType(float32, (None, None), None, False, "cpu"),
     "Float(*, *, requires_grad=0, device=cpu)", "Tensor"),
    (TensorType(float32), "FloatTensor", "Tensor"),
    (TensorType(sizes=(2, 3)), "Tensor(2, 3)", "Tensor"),
    (TensorType(UnknownDtype("BFloat16"), (2,), (1,), False, "cpu"),
     "BFloat16(2, strides=[1], requires_grad=0, device=cpu)", "Tensor"),
    (IntType, "int", "int"), (FloatType, "float", "float"), (BoolType, "bool", "bool"),
    (StringType, "str", "str"), (NoneType, "NoneType", "NoneType"),
    (DeviceType, "Device", "Device"), (NumberType, "Scalar", "number"), (AnyType, "Any", "Any"),
    (ListType(IntType), "int[]", "List[int]"),
    (ListType(OptionalType(TensorType())), "Tensor?[]", "List[Optional[Tensor]]"),
    (ListType(ListType(IntType)), "int[][]", "List[List[int]]"),
    (OptionalType(ListType(IntType)), "int[]?", "Optional[List[int]]"),
    (TupleType([TensorType(), IntType]), "(Tensor, int)", "Tuple[Tensor, int]"),
    (TupleType([TensorType()]), "(Tensor)", "Tuple[Tensor]"),
    (TupleType([]), "()", "Tuple[()]"),
    (DictType(StringType, TupleType([IntType, FloatType])), "Dict(str, (int, float))",
     "Dict[str, Tuple[int, float]]"),
    (UnionType([StringType, IntType]), "Union(int, str)", "Union[int, str]"),
    (UnionType([IntType, TensorType()]), "Union(Tensor, int)", "Union[Tensor, int]"),
    (ClassType("__torch__.M"), "__torch__.M", "__torch__.M"),
    (FunctionType, "Function", "Function"),
    (FunctionType.named("__torch__.helper"), "Function", "__torch__.helper"),
]


@pytest.mark.parametrize("type_,graph_form,annotation", TYPE_TABLE,
                         ids=[row[1] for row in TYPE_TABLE])
def test_type_printing(type_, graph_form: str, annotation: str) -> None:
    from minijit.jit.ir import parse_type
    assert (str(type_), type_.annotation_str()) == (graph_form, annotation)
    if type_.kind != "Function" or type_ == FunctionType:
        assert parse_type(graph_form) == type_


def test_type_relations() -> None:
    t = TensorType(float32, (2, 3), (3, 1), False, "cpu")
    assert t.is_subtype_of(TensorType()) and not TensorType().is_subtype_of(t)
    assert IntType.is_subtype_of(OptionalType(IntType)) and NoneType.is_subtype_of(
        OptionalType(IntType)) and IntType.is_subtype_of(NumberType)
    assert not ListType(IntType).is_subtype_of(ListType(NumberType))
    assert unify(IntType, NoneType) == OptionalType(IntType)
    assert unify(t, t.with_sizes_strides((4, 3), (3, 1))) == \
        TensorType(float32, (None, 3), (3, 1), False, "cpu")
    assert unify(TupleType([IntType, NoneType]), TupleType([IntType, FloatType])) == \
        TupleType([IntType, OptionalType(FloatType)])
    assert unify(IntType, StringType) is None
    assert UnionType.create([IntType, NoneType]) == OptionalType(IntType)
    assert str(UnionType.create([IntType, NumberType, StringType])) == "Union(Scalar, str)"
    assert ListType(TensorType()) == ListType(TensorType()) and \
        len({ListType(IntType), ListType(IntType)}) == 1
    assert t.unshaped() == TensorType() and str(ListType(t).unshaped()) == "Tensor[]"


def test_from_tensor_accepts_numpy_and_tensor_like() -> None:
    import numpy as np
    arr = np.zeros((2, 3), dtype=np.float32).T
    assert str(TensorType.from_tensor(arr)) == \
        "Float(3, 2, strides=[1, 3], requires_grad=0, device=cpu)"

    class FakeTensor:
        dtype, shape, requires_grad, device = int64, (4,), True, "cpu"

        def stride(self) -> tuple:
            return (1,)

    assert str(TensorType.from_tensor(FakeTensor())) == \
        "Long(4, strides=[1], requires_grad=1, device=cpu)"


@pytest.mark.parametrize("module", ["types", "node", "graph", "parser", "printer", "constants",
                                    "tensor_text", "lint"])
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib
    mod = importlib.import_module(f"minijit.jit.ir.{module}")
    assert doctest.testmod(mod, optionflags=doctest.ELLIPSIS).failed == 0


def test_class_type_tables() -> None:
    cls = ClassType("__torch__.torch.nn.modules.linear.Linear")
    cls.add_attribute("weight", TensorType(), is_parameter=True)
    cls.add_method("forward", object())
    assert cls.name == "Linear" and cls.parameters == ["weight"]
    assert cls.get_attribute("weight") == TensorType() and cls.get_method("forward") is not None
    with pytest.raises(AttributeError, match="has no attribute 'bias'"):
        cls.get_attribute("bias")
