"""minijit.viz: DOT text for IR graphs and autograd tapes, and the built-in SVG layout."""
from __future__ import annotations

import doctest
import importlib
import importlib.util
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import List

import pytest

import minijit
from minijit import viz
from minijit.jit.ir import Graph, parse_ir
from minijit.viz import DotGraph, autograd_graph, ir_graph, render, rendering, to_dot, to_svg
from minijit.viz.sugiyama import layout

SVG = "{http://www.w3.org/2000/svg}"

LOOP_IR = """
graph(%x.1 : Tensor, %n.1 : int):
  %6 : bool = prim::Constant[value=1]()
  %10 : int = prim::Constant[value=1]()
  %acc : Tensor = prim::Loop(%n.1, %6, %x.1)
    block0(%i.1 : int, %acc.9 : Tensor):
      %c : bool = aten::gt(%i.1, %10)
      %acc.3 : Tensor = prim::If(%c)
        block0():
          %a : Tensor = aten::add(%acc.9, %i.1, %10)
          -> (%a)
        block1():
          %b : Tensor = aten::mul(%acc.9, %x.1)
          -> (%b)
      -> (%6, %acc.3)
  %r : Tensor = aten::relu(%acc)
  return (%r)
"""


class MyCell(minijit.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = minijit.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = minijit.tanh(self.linear(x) + h)
        return new_h, new_h


def traced_cell():
    minijit.manual_seed(191009)
    cell = MyCell()
    x, h = minijit.rand(3, 4), minijit.rand(3, 4)
    return cell, minijit.jit.trace(cell, (x, h)), (x, h)


def fused_graph() -> Graph:
    """relu → FusionGroup(mul, add, tanh) → sigmoid, built by hand (no fuser needed)."""
    g = parse_ir("""
graph(%x : Float(3, 4), %y : Float(3, 4)):
  %z : Float(3, 4) = aten::relu(%x)
  return (%z)""")
    sub = parse_ir("""
graph(%a : Float(3, 4), %b : Float(3, 4)):
  %one : int = prim::Constant[value=1]()
  %c : Float(3, 4) = aten::mul(%a, %b)
  %d : Float(3, 4) = aten::add(%c, %a, %one)
  %e : Float(3, 4) = aten::tanh(%d)
  return (%e)""")
    relu = g.nodes[0]
    group = g.create_node("prim::FusionGroup", [relu.output(), g.inputs[1]])
    group.attrs["Subgraph"] = sub
    group.output().type = relu.output().type
    group.insert_after(relu)
    sig = g.create_node("aten::sigmoid", [group.output()])
    sig.insert_after(group)
    g.return_node.replace_input(0, sig.output())
    g.lint()
    return g


def svg_texts(svg: str) -> List[str]:
    """Every piece of text drawn in an SVG (parsing it proves it is well-formed XML)."""
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return [t.text for t in root.iter() if t.tag in (SVG + "tspan", SVG + "text") and t.text]


def assert_dot_well_formed(text: str) -> None:
    assert text.startswith("digraph ") and text.endswith("}\n")
    body = re.sub(r'"(\\.|[^"\\])*"', '""', text)          # blank out quoted strings
    assert body.count("{") == body.count("}")
    for line in body.splitlines()[1:-1]:
        line = line.strip()
        assert (line.endswith(";") or line.endswith("{") or line == "}"
                or line.startswith("{rank=")), line


# ---- IR graphs -----------------------------------------------------------------------------------
def test_graph_to_dot_method_and_content():
    _, traced, _ = traced_cell()
    text = traced.graph.to_dot()
    assert text == to_dot(traced.graph) == to_dot(traced)
    assert_dot_well_formed(text)
    for kind in ("prim::GetAttr", "prim::CallMethod", "aten::add", "aten::tanh",
                 "prim::TupleConstruct", "prim::Constant[value=1]"):
        assert kind in text
    # types and shapes ride on the edges, named like the .graph text
    assert '[label="%x : Float(3, 4)"]' in text
    assert "(Float(3, 4), Float(3, 4))" in text
    assert '{rank=source; n0; n1; n2;}' in text


def test_full_types_option():
    _, traced, _ = traced_cell()
    assert "strides=[4, 1]" in to_dot(traced.graph, full_types=True)
    assert "strides=" not in to_dot(traced.graph)


def test_dot_is_deterministic_across_traces():
    _, first, _ = traced_cell()
    _, second, _ = traced_cell()
    assert to_dot(first.graph) == to_dot(second.graph)
    assert to_svg(ir_graph(first.graph)) == to_svg(ir_graph(second.graph))


def test_blocks_become_clusters():
    g = parse_ir(LOOP_IR)
    dot = ir_graph(g)
    labels = [c.label for c in dot.clusters.values()]
    assert labels == ["block0", "block0", "block1"]
    outer, if0, if1 = dot.clusters
    assert dot.clusters[if0].parent == outer and dot.clusters[if1].parent == outer
    text = dot.source
    assert_dot_well_formed(text)
    assert "subgraph cluster_0 {" in text and "    subgraph cluster_1 {" in text
    assert '"block0(%i.1, %acc.9)"' in text
    # the loop's result is kept below the body: invisible edges from the body's results
    assert any(e.style == "invis" for e in dot.edges)


def test_fusion_group_is_boxed():
    dot = ir_graph(fused_graph())
    (cid,) = dot.clusters
    assert dot.clusters[cid].label == "prim::FusionGroup_0"
    inside = [n.label for n in dot.nodes.values() if n.cluster == cid]
    assert inside == ["%a", "%b", "prim::Constant[value=1]", "aten::mul", "aten::add",
                      "aten::tanh", "return (%e)"]
    outside = [n.label for n in dot.nodes.values() if n.cluster is None]
    assert "prim::FusionGroup" not in " ".join(outside)
    assert "aten::sigmoid" in outside


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("make", ["cell", "loop", "fused", "tape"])
def test_graphviz_accepts_our_dot(make):
    if make == "cell":
        dot = ir_graph(traced_cell()[1].graph)
    elif make == "loop":
        dot = ir_graph(parse_ir(LOOP_IR))
    elif make == "fused":
        dot = ir_graph(fused_graph())
    else:
        cell, _, (x, h) = traced_cell()
        dot = autograd_graph(cell(x, h)[0])
    done = subprocess.run(["dot", "-Tsvg"], input=dot.source.encode(), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    ET.fromstring(done.stdout)


# ---- the built-in SVG --------------------------------------------------------------------------
@pytest.mark.parametrize("make", ["cell", "inlined", "loop", "fused"])
def test_builtin_svg_parses_and_shows_every_node(make):
    g = {"cell": lambda: traced_cell()[1].graph, "inlined": lambda: traced_cell()[1].inlined_graph,
         "loop": lambda: parse_ir(LOOP_IR), "fused": fused_graph}[make]()
    dot = ir_graph(g)
    svg = to_svg(dot)
    texts = svg_texts(svg)
    for node in dot.nodes.values():
        for line in node.lines():
            assert line in texts, line
    for cluster in dot.clusters.values():
        assert cluster.label in texts
    for edge in dot.edges:
        if edge.label:
            assert edge.label in texts
    root = ET.fromstring(svg)
    assert len([g for g in root.iter(SVG + "g") if g.get("class") == "node"]) == len(dot.nodes)
    assert to_svg(ir_graph(g)) == svg                      # deterministic


def test_layout_points_down_and_nothing_overlaps():
    dot = ir_graph(traced_cell()[1].inlined_graph)
    lay = layout(dot)
    for e in dot.edges:
        assert lay.nodes[e.tail].cy < lay.nodes[e.head].cy
    boxes = list(lay.nodes.values())
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y)
            assert apart, (a, b)
    for box in boxes:
        assert 0 <= box.x and box.x + box.w <= lay.width
        assert 0 <= box.y and box.y + box.h <= lay.height


def test_layout_keeps_nodes_inside_their_clusters():
    dot = ir_graph(parse_ir(LOOP_IR))
    lay = layout(dot)
    for node in dot.nodes.values():
        c = node.cluster
        while c is not None:
            box, outer = lay.nodes[node.id], lay.clusters[c]
            assert outer.x <= box.x and box.x + box.w <= outer.x + outer.w
            assert outer.y <= box.y and box.y + box.h <= outer.y + outer.h
            c = dot.clusters[c].parent


def test_layout_handles_cycles_and_wide_graphs():
    g = DotGraph("cycle")
    a, b, c = g.add_node("a"), g.add_node("b"), g.add_node("c")
    g.add_edge(a, b)
    g.add_edge(b, c)
    g.add_edge(c, a, "back")
    texts = svg_texts(to_svg(g))
    assert {"a", "b", "c", "back"} <= set(texts)
    wide = DotGraph()
    top = wide.add_node("top")
    for i in range(30):
        wide.add_edge(top, wide.add_node(f"leaf{i}"), f"%{i}")
    assert len([t for t in svg_texts(to_svg(wide)) if t.startswith("leaf")]) == 30


def test_labels_are_escaped():
    g = DotGraph()
    g.add_node('a <b> & "c"\nsecond line')
    svg = to_svg(g)
    assert 'a <b> & "c"' in svg_texts(svg) and "second line" in svg_texts(svg)
    assert 'label="a <b> & \\"c\\"\\nsecond line"' in g.source


# ---- autograd pictures ---------------------------------------------------------------------------
def test_autograd_graph_of_cell():
    cell, _, (x, h) = traced_cell()
    out, _ = cell(x, h)
    dot = autograd_graph(out.sum(), params=dict(cell.named_parameters()))
    labels = [n.label for n in dot.nodes.values()]
    assert labels[0] == "output\n()"
    for name in ("SumBackward0", "TanhBackward0", "AddBackward0", "AccumulateGrad"):
        assert name in labels
    assert "linear.weight\n(4, 4)" in labels and "linear.bias\n(4)" in labels
    by_label = {n.label: n.id for n in dot.nodes.values()}
    edges = {(e.tail, e.head) for e in dot.edges}
    assert (by_label["TanhBackward0"], by_label["SumBackward0"]) in edges
    assert_dot_well_formed(dot.source)
    texts = svg_texts(to_svg(dot))
    for label in labels:
        for line in label.split("\n"):
            assert line in texts


def test_autograd_graph_follows_next_functions():
    x = minijit.rand(3, requires_grad=True)
    y = x * x                                   # one leaf used twice: one AccumulateGrad
    z = (y + y.sin()).mean()
    dot = autograd_graph(z)
    names = [n.label for n in dot.nodes.values()]
    assert names.count("AccumulateGrad") == 1
    assert names.count("(3)") == 1              # the leaf, labelled by its shape
    assert autograd_graph(z).source == dot.source


def test_autograd_graph_of_leaf_and_several_roots():
    w = minijit.ones(2, requires_grad=True)
    assert [n.label for n in autograd_graph(w).nodes.values()] == ["output\n(2)", "(2)"]
    a, b = w.exp(), w.tanh()
    dot = autograd_graph([a, b])
    labels = [n.label for n in dot.nodes.values()]
    assert labels[:2] == ["output 0\n(2)", "ExpBackward0"]
    assert "output 1\n(2)" in labels and labels.count("AccumulateGrad") == 1


# ---- render -------------------------------------------------------------------------------------
def test_render_writes_dot_and_svg(tmp_path):
    _, traced, _ = traced_cell()
    p = render(traced.graph, tmp_path / "cell.dot")
    assert p.read_text() == traced.graph.to_dot()
    p = render(traced, tmp_path / "sub" / "cell.svg", engine="builtin")
    assert p.read_text() == to_svg(ir_graph(traced.graph))
    x = minijit.rand(2, requires_grad=True)
    p = render(x.tanh(), tmp_path / "tape.svg", engine="builtin")
    assert "TanhBackward0" in svg_texts(p.read_text())
    assert not list(tmp_path.glob("**/*.tmp"))


def test_render_without_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(rendering, "graphviz_available", lambda: False)
    g = parse_ir(LOOP_IR)
    p = render(g, tmp_path / "loop.svg")                   # auto → built-in
    assert p.read_text() == to_svg(ir_graph(g))
    with pytest.raises(RuntimeError, match="needs Graphviz"):
        render(g, tmp_path / "loop.png")
    with pytest.raises(ValueError, match="engine"):
        render(g, tmp_path / "loop.svg", engine="neato")
    with pytest.raises(TypeError, match="cannot draw"):
        render(42, tmp_path / "x.svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_render_with_graphviz(tmp_path):
    p = render(parse_ir(LOOP_IR), tmp_path / "loop.svg", engine="dot")
    assert "block0" in p.read_text()


@pytest.mark.parametrize("name", ["minijit.viz", "minijit.viz.dot", "minijit.viz.sugiyama",
                                  "minijit.viz.svg", "minijit.viz.ir_dot",
                                  "minijit.viz.autograd_dot", "minijit.viz.rendering"])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


def test_docs_images_script(tmp_path, capsys):
    """``python docs/make_images.py`` (named in the README) writes parseable, stable SVGs."""
    spec = importlib.util.spec_from_file_location(
        "make_images", Path(__file__).resolve().parents[1] / "docs" / "make_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path / "a")]) == 0
    assert module.main(["--out", str(tmp_path / "b")]) == 0
    written = sorted(p.name for p in (tmp_path / "a").glob("*.svg"))
    assert {"mycell_traced.svg", "mycell_inlined.svg", "mycell_autograd.svg"} <= set(written)
    for name in written:
        text = (tmp_path / "a" / name).read_text()
        assert text == (tmp_path / "b" / name).read_text()
        svg_texts(text)
    assert "aten::tanh" in svg_texts((tmp_path / "a" / "mycell_traced.svg").read_text())
    assert "TanhBackward0" in svg_texts((tmp_path / "a" / "mycell_autograd.svg").read_text())


def test_viz_is_exported():
    assert minijit.viz is viz
    assert Graph.to_dot is to_dot
