"""Debugging aids: the JIT on/off switch (``MINIJIT_JIT=0``) and the node-by-node stepper."""
from __future__ import annotations

import doctest
import io
import os
import subprocess
import sys

import pytest

import minijit
from minijit.jit import debug, is_enabled, set_enabled
from minijit.jit.debug import passthrough_when_disabled, summarize
from minijit.jit.ir import parse_ir
from minijit.jit.runtime.interpreter import InterpreterError

debug_module = sys.modules["minijit.jit.debug"]

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


@pytest.fixture
def jit_off():
    set_enabled(False)
    try:
        yield
    finally:
        set_enabled(True)


def add_one(x):
    return x + 1


# ---- the switch -------------------------------------------------------------------------------
def test_disabled_trace_returns_the_python_objects(jit_off):
    assert not is_enabled()
    x = minijit.rand(3, 4)
    assert minijit.jit.trace(add_one, (x,)) is add_one
    cell = MyCell()
    assert minijit.jit.trace(cell, (x, x)) is cell
    assert minijit.jit.trace_module(cell, {"forward": (x, x)}) is cell
    assert minijit.jit.trace(func=add_one, example_inputs=(x,)) is add_one
    if hasattr(minijit.jit, "script"):
        assert minijit.jit.script(cell) is cell
        assert minijit.jit.script(add_one) is add_one


def test_enabled_again_compiles():
    set_enabled(False)
    set_enabled(True)
    traced = minijit.jit.trace(add_one, (minijit.ones(2),))
    assert traced is not add_one and "aten::add" in str(traced.graph)
    traced = minijit.jit.trace(func=add_one, example_inputs=(minijit.ones(2),))
    assert "aten::add" in str(traced.graph)


def test_every_public_entry_point_is_wrapped():
    """The wrapping section must stay last in jit/__init__.py: this catches one added below."""
    for name in ("trace", "trace_module", "script"):
        entry = getattr(minijit.jit, name, None)
        if entry is not None:
            assert getattr(entry, "__minijit_passthrough__", False), name
            assert entry.__wrapped__.__name__ == name


def test_wrapping_twice_is_harmless():
    once = passthrough_when_disabled(add_one)
    assert passthrough_when_disabled(once) is once


@pytest.mark.parametrize("value,expected", [("0", "True"), ("false", "True"), ("1", "False"),
                                            ("", "False")])
def test_environment_variable(value, expected):
    code = ("import minijit\n"
            "def f(x):\n    return x * 2\n"
            "print(minijit.jit.trace(f, (minijit.ones(2),)) is f)\n")
    env = dict(os.environ, MINIJIT_JIT=value)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


# ---- the stepper ------------------------------------------------------------------------------
def test_debug_module_steps_through_every_node():
    minijit.manual_seed(191009)
    cell = MyCell()
    x, h = minijit.rand(3, 4), minijit.rand(3, 4)
    out = io.StringIO()
    result = debug(cell, x, h, file=out)
    expected = cell(x, h)
    assert result[0].tolist() == expected[0].tolist() and result[1].tolist() == expected[1].tolist()
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == "debug: 8 node(s), 3 input(s)"
    assert lines[1] == "  input %self.1 : module MyCell"
    assert lines[2].startswith("  input %x : Float(3, 4)  min=")
    for kind in ("prim::GetAttr", "aten::linear", "aten::add", "aten::tanh",
                 "prim::TupleConstruct"):
        assert any(kind in line and line.startswith("[") for line in lines), kind
    assert "      out %weight : Float(4, 4)  min=" in text
    assert lines[-1] == "return %8 : (Float(3, 4), Float(3, 4))"


def test_debug_summary_matches_numpy():
    x = minijit.tensor([[1.0, -2.0], [3.0, 4.5]])
    out = io.StringIO()
    debug(parse_ir("graph(%x : Tensor):\n  %y : Tensor = aten::neg(%x)\n  return (%y)"), x,
          file=out)
    assert "out %y : Float(2, 2)  min=-4.5 max=2 mean=-1.625" in out.getvalue()


def test_debug_without_inlining_shows_call_method():
    cell = MyCell()
    x, h = minijit.rand(3, 4), minijit.rand(3, 4)
    traced = minijit.jit.trace(cell, (x, h))
    out = io.StringIO()
    debug(traced, x, h, inline=False, show_source=False, file=out)
    text = out.getvalue()
    assert 'prim::CallMethod[name="forward"](%linear, %x)' in text
    assert "aten::linear" not in text and " # " not in text


def test_debug_control_flow():
    out = io.StringIO()
    result = debug(parse_ir(LOOP_IR), minijit.ones(2), 3, file=out)
    assert result.tolist() == [3.0, 3.0]
    text = out.getvalue()
    assert text.count("iteration ") == 3
    assert text.count("takes block1") == 2 and text.count("takes block0") == 1
    assert "        [3] %c : bool = aten::gt(%i.1, %10)" in text
    assert "[12] %r : Tensor = aten::relu(%acc)" in text


def test_debug_works_with_the_jit_off(jit_off):
    out = io.StringIO()
    result = debug(add_one, minijit.ones(2), file=out)
    assert result.tolist() == [2.0, 2.0]
    assert "aten::add" in out.getvalue()


def test_debug_names_the_failing_node():
    out = io.StringIO()
    g = parse_ir("graph(%x : Tensor, %y : Tensor):\n"
                 "  %one : int = prim::Constant[value=1]()\n"
                 "  %z : Tensor = aten::add(%x, %y, %one)\n"
                 "  return (%z)")
    with pytest.raises(InterpreterError, match=r"aten::add\(%x, %y, %one\)"):
        debug(g, minijit.ones(2), minijit.ones(3), file=out)
    assert "!! failed: RuntimeError" in out.getvalue()


def test_debug_checks_argument_count():
    with pytest.raises(TypeError, match="takes 1 argument"):
        debug(parse_ir("graph(%x : Tensor):\n  return (%x)"), minijit.ones(1), minijit.ones(1),
              file=io.StringIO())


@pytest.mark.parametrize("value,expected", [
    (minijit.tensor([1, 2, 3]), "Long(3)  min=1 max=3 mean=2"),
    (minijit.zeros(0, 2), "Float(0, 2)  (empty)"),
    (minijit.tensor(-0.0), "Float()  min=0 max=0 mean=0"),
    (None, "None"),
    (3, "int 3"),
    (True, "bool True"),
    ([1, 2.0], "[int 1, float 2]"),
    ((minijit.ones(2), "s"), "(Float(2), 's')"),
])
def test_summarize(value, expected):
    assert summarize(value) == expected


def test_docstring_examples():
    assert doctest.testmod(debug_module).failed == 0
