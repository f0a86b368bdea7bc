"""``parse_ir``: every printed graph parses back and prints identically (print → parse → print).

The golden inputs are real PyTorch 2.13 prints: a few are embedded here, and every graph of
§1 of ``shared/reference/torchscript-formats.md`` is used when that file is present.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List

import numpy as np
import pytest

from minijit.dtypes import float32, int64
from minijit.jit.ir import (
    BoolType,
    FloatType,
    IRParseError,
    SourceRange,
    TensorPlaceholder,
    TensorType,
    TupleType,
    parse_ir,
    parse_type,
)


def reference_file() -> Path | None:
    here = Path(__file__).resolve()
    candidates = [os.environ.get("MINIJIT_REFERENCE", "")] + [
        str(p / "shared" / "reference" / "torchscript-formats.md") for p in here.parents[1:4]]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def reference_graphs() -> List[str]:
    """Every complete graph text in §1 (lines 14-845), with its ``with`` subgraphs."""
    path = reference_file()
    if path is None:
        return []
    lines = path.read_text(encoding="utf-8").split("\n")[13:845]
    blocks, current, inside = [], [], False
    for line in lines:
        if line.startswith("```"):
            if inside:
                blocks.append(current)
                current = []
            inside = not inside
        elif inside:
            current.append(line)
    graphs = []
    for block in blocks:
        chunk: List[str] = []
        for i, line in enumerate(block):
            if line.startswith("graph(") and not chunk:
                chunk = [line]
            elif chunk:
                chunk.append(line)
                nxt = block[i + 1] if i + 1 < len(block) else ""
                if line.startswith("  return (") and not nxt.startswith("with "):
                    graphs.append("\n".join(chunk) + "\n")
                    chunk = []
    return graphs


EMBEDDED = [
    """graph(%self.1 : __torch__.M,
      %x : Float(2, 4, strides=[4, 1], requires_grad=0, device=cpu)):
  %linear : __torch__.torch.nn.modules.linear.Linear = prim::GetAttr[name="linear"](%self.1)
  %bias : Tensor = prim::GetAttr[name="bias"](%linear)
  %weight : Tensor = prim::GetAttr[name="weight"](%linear)
  %9 : Float(2, 3, strides=[3, 1], requires_grad=1, device=cpu) = aten::linear(%x, %weight, %bias), scope: __module.linear # linear.py:134:0
  %5 : Long(requires_grad=0, device=cpu) = prim::Constant[value={2}]() # g1_graphs.py:15:0
  %6 : Float(2, 3, strides=[3, 1], requires_grad=1, device=cpu) = aten::mul(%9, %5) # g1_graphs.py:15:0
  return (%6)
""",
    """graph(%x : Float(3, strides=[1], requires_grad=0, device=cpu)):
  %3 : Float(20, strides=[1], requires_grad=0, device=cpu) = prim::Constant[value=<Tensor>]() # g2_more.py:14:0
  %8 : Float(1, strides=[1], requires_grad=0, device=cpu) = prim::Constant[value={5.5}]() # g2_more.py:14:0
  %11 : Long(3, strides=[1], requires_grad=0, device=cpu) = prim::Constant[value= 1  2  3 [ CPULongType{3} ]]() # g2_more.py:14:0
  %12 : (Tensor, Tensor, Tensor) = prim::TupleConstruct(%3, %8, %11)
  return (%12)
""",
    """graph(%x.1 : str):
  %8 : str = prim::Constant[value="sq\\'"]() # g6_consts.py:23:78
  %6 : str = prim::Constant[value="uni\\0)+\\/.)"]() # g6_consts.py:23:58
  %4 : str = prim::Constant[value="ctl\\001"]() # g6_consts.py:23:38
  %2 : float = prim::Constant[value=10000000000]() # g6_consts.py:7:12
  %62 : float = prim::Constant[value=-inf]()
  %10 : float = prim::Constant[value=-0.]() # g6_consts.py:9:12
  %13 : int[] = prim::Constant[value=[2, 3]]()
  %7 : (int, (float, str), int[]) = prim::Constant[value=(1, (2., "a"), [3, 4])]()
  %46 : Device = prim::Constant[value="cpu"]()
  %9 : str[] = prim::ListConstruct(%x.1, %8, %6, %4)
  return (%9)
""",
    """graph(%a.1 : int,
      %b.1 : int):
  %24 : bool = prim::Constant[value=1]() # g2_more.py:132:7
  %22 : bool = prim::Constant[value=0]() # g2_more.py:132:7
  %16 : bool = aten::lt(%a.1, %b.1) # g2_more.py:132:7
  %23 : bool = prim::If(%16) # g2_more.py:132:7
    block0():
      -> (%24)
    block1():
      %27 : bool = aten::ne(%a.1, %b.1) # g2_more.py:132:32
      %29 : bool = prim::If(%27)
        block0():
          -> (%22)
        block1():
           = prim::RaiseException(%a.1) # <string>:13:9
          -> (%24)
      -> (%29)
  return (%23)
""",
    """graph(%x.1 : Tensor,
      %y.1 : Tensor):
  %36 : Float(4, 8, strides=[8, 1], requires_grad=0, device=cpu), %38 : bool = prim::TypeCheck[types=[Float(4, 8, strides=[8, 1], requires_grad=0, device=cpu)]](%x.1)
  %4 : Tensor = prim::profile[profiled_type=Float(*, *, requires_grad=0, device=cpu), seen_none=0](%x.1)
  %2 : bool = prim::isinstance[types=[(int, str), Dict(str, Tensor?[]), Union(Tensor, int)]](%x.1)
  %20 : Tensor = prim::TensorExprGroup_0(%36, %4)
  %10 : Tensor = prim::DifferentiableGraph_1(%x.1, %y.1)
  return (%20)
with prim::TensorExprGroup_0 = graph(%x.1 : Float(4, 8, strides=[8, 1], requires_grad=0, device=cpu),
      %y.1 : Tensor):
  %14 : Tensor = prim::FusionGroup_0[device=-1](%x.1, %y.1) # g3_fusion.py:14:8
  return (%14)
with prim::FusionGroup_0 = graph(%a : Tensor,
      %b : Tensor):
  %1 : Tensor = aten::mul(%a, %b)
  return (%1)
with prim::DifferentiableGraph_1 = graph(%x.1 : Tensor,
      %y.1 : Tensor):
  return (%x.1)
""",
    """graph():
  return ()
""",
]


def _round_trip(text: str) -> None:
    g = parse_ir(text)
    assert str(g) == text
    g.lint()
    assert str(parse_ir(str(g.copy()))) == str(g.copy())


@pytest.mark.parametrize("text", EMBEDDED, ids=[f"embedded{i}" for i in range(len(EMBEDDED))])
def test_round_trip_embedded(text: str) -> None:
    _round_trip(text)


REFERENCE = reference_graphs()


@pytest.mark.skipif(not REFERENCE, reason="shared/reference/torchscript-formats.md not found")
@pytest.mark.parametrize("index", range(len(REFERENCE) or 1))
def test_round_trip_reference_section_1(index: int) -> None:
    _round_trip(REFERENCE[index])


def test_reference_extraction_finds_all_graphs() -> None:
    if not REFERENCE:
        pytest.skip("reference file not found")
    assert len(REFERENCE) >= 35
    assert any("with prim::TensorExprGroup_0" in t for t in REFERENCE)


def test_names_ids_and_locations() -> None:
    g = parse_ir(EMBEDDED[0])
    x = g.inputs[1]
    assert x.debug_name == "x" and x.has_debug_name()
    linear = g.nodes[3]
    assert linear.output().unique == 9 and not linear.output().has_debug_name()
    assert linear.scope == "__module.linear"
    assert linear.source_range == SourceRange("linear.py", 134, 0)
    assert g.nodes[0].attrs == {"name": "linear"}
    assert str(g.inputs[0].type) == "__torch__.M" and g.inputs[0].type.kind == "Class"
    named = g.nodes[0].output()
    assert named.unique not in (5, 6, 9)              # named values never reuse printed ids


def test_constant_values_take_their_output_types() -> None:
    g = parse_ir(EMBEDDED[2] + "\n")
    values = {n.output().debug_name: n.attrs.get("value") for n in g.nodes[:-1]}
    assert values["8"] == "sq'" and values["6"] == "uni\u00e9" and values["4"] == "ctl\x01"
    assert values["2"] == 1e10 and isinstance(values["2"], float)
    assert values["10"] == 0.0 and str(values["10"]) == "-0.0"
    assert values["7"] == (1, (2.0, "a"), [3, 4]) and isinstance(values["7"][1][0], float)
    assert g.nodes[8].output().type.kind == "Device" and values["46"] == "cpu"
    g = parse_ir("""graph():
  %1 : bool = prim::Constant[value=1]()
  %2 : bool[] = prim::Constant[value=[True, False]]()
  %3 : float[] = prim::Constant[value=[1, 2.5]]()
  return (%1, %2, %3)""")
    assert [n.attrs["value"] for n in g.nodes] == [True, [True, False], [1.0, 2.5]]
    assert type(g.nodes[0].attrs["value"]) is bool


def test_tensor_constants() -> None:
    g = parse_ir(EMBEDDED[1])
    big, single, small = (n.attrs["value"] for n in g.nodes[:3])
    assert isinstance(big, TensorPlaceholder) and big.shape == (20,) and big.dtype is float32
    assert single.dtype == np.float32 and single.shape == (1,) and single[0] == 5.5
    assert small.dtype == np.int64 and small.tolist() == [1, 2, 3]
    seen = []
    g = parse_ir(EMBEDDED[1], tensor_factory=lambda arr, dtype, device: seen.append(
        (arr.shape, dtype, device)) or arr)
    assert seen == [((1,), float32, "cpu"), ((3,), int64, "cpu")]


def test_subgraphs_become_attributes() -> None:
    g = parse_ir(EMBEDDED[4])
    texpr, diff = g.nodes[3], g.nodes[4]
    assert texpr.kind == "prim::TensorExprGroup" and diff.kind == "prim::DifferentiableGraph"
    inner = texpr.attrs["Subgraph"].nodes[0]
    assert inner.kind == "prim::FusionGroup" and inner.attrs["device"] == -1
    assert inner.attrs["Subgraph"].nodes[0].kind == "aten::mul"
    assert g.nodes[2].attrs["types"][2] == parse_type("Union(Tensor, int)")
    profiled = g.nodes[1].attrs["profiled_type"]
    assert profiled == TensorType(float32, (None, None), None, False, "cpu")
    plain = parse_ir("""graph(%x : Tensor):
  %1 : Tensor = aten::foo_0(%x)
  return (%1)""")
    assert plain.nodes[0].kind == "aten::foo_0" and not plain.nodes[0].attrs


def test_parse_type_forms() -> None:
    assert parse_type("Tensor?[]") == parse_type("Tensor?[]") and \
        str(parse_type("Tensor?[]")) == "Tensor?[]"
    assert parse_type("(Tensor, (float, str), int[])") == TupleType(
        [TensorType(), TupleType([FloatType, parse_type("str")]), parse_type("int[]")])
    assert parse_type("Long()") == TensorType(int64, ())
    assert parse_type("Tensor(requires_grad=1)") == TensorType(requires_grad=True)
    assert parse_type("bool") is BoolType


@pytest.mark.parametrize("text,message", [
    ("graph(%x : Tensor):\n  %1 : Tensor = aten::relu(%y)\n  return (%1)\n",
     "undefined value %y at line 2, column 28"),
    ("graph(%x : Tensr):\n  return (%x)\n", "unknown type 'Tensr' at line 1, column 12"),
    ("graph(%x : Tensor):\n  return (%x)\ngarbage\n", "unexpected text after the graph"),
    ("graph(%x : Tensor):\n  %1 : Tensor = aten::relu(%x\n  return (%1)\n",
     "expected ', ' or ')' at line 2, column 30"),
    ("graph(%x : Tensor):\n  %1 : Tensor = prim::Constant[value=\"abc]()\n",
     "bad string literal"),
])
def test_parse_errors_point_at_the_problem(text: str, message: str) -> None:
    with pytest.raises(IRParseError) as info:
        parse_ir(text)
    assert message in str(info.value)
    assert "^" in str(info.value)


def test_parsed_tensor_constants_run_in_the_interpreter_and_the_executor():
    import minijit
    from minijit.jit.runtime.executor import GraphExecutor
    from minijit.jit.runtime.interpreter import compile_graph, run_program
    g = parse_ir("""graph(%x : Tensor):
  %c : Float(2, strides=[1], requires_grad=0, device=cpu) = prim::Constant[value= 1  2 [ CPUFloatType{2} ]]()
  %y : Tensor = aten::mul(%x, %c)
  return (%y)
""")
    x = minijit.full([2], 3.0)
    assert run_program(compile_graph(g), [x]).tolist() == [3.0, 6.0]
    ex = GraphExecutor(g)
    for grad in (False, True):
        with minijit.set_grad_enabled(grad):
            for _ in range(3):
                assert ex.run((x,)).tolist() == [3.0, 6.0]
