"""Property test: random small programs compute the same values scripted and eager.

Hypothesis builds straight-line and branching programs over tensors ``x``, ``y`` and an int
``n`` (assignments with pointwise ops and arithmetic, ``if``/``else`` on tensor and int
conditions, ``for`` loops over ``range``, early ``return``), writes each to a file (the
scripter reads source), scripts it, and checks the scripted function against the plain Python
function on random inputs.  Every scripted graph must also pass ``lint``.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

import minijit  # noqa: E402

TENSORS = ["x", "y"]
UNARY = ["torch.tanh({a})", "torch.sigmoid({a})", "torch.relu({a})", "-{a}", "{a}.abs()",
         "{a} * 0.5"]
BINARY = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "torch.maximum({a}, {b})", "{a} + {n}",
          "{a} * {n}", "{n} * {a}", "1.5 - {a}"]
CONDITIONS = ["{a}.sum() > 0", "{n} > {k}", "{n} % 2 == 0", "{a}.mean() < {b}.mean()",
              "{n} > {k} and {a}.sum() < 3", "not {n} == {k}"]

_names = itertools.count()


@st.composite
def expression(draw):
    a = draw(st.sampled_from(TENSORS))
    b = draw(st.sampled_from(TENSORS))
    template = draw(st.sampled_from(UNARY + BINARY))
    return template.format(a=a, b=b, n="n")


@st.composite
def statements(draw, depth=0):
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["assign", "assign", "if", "for", "int", "return"]
                                    if depth < 2 else ["assign", "int"]))
        target = draw(st.sampled_from(TENSORS))
        if kind == "assign":
            lines.append(f"{target} = {draw(expression())}")
        elif kind == "int":
            lines.append(f"n = n {draw(st.sampled_from(['+', '-', '*']))} "
                         f"{draw(st.integers(1, 3))}")
        elif kind == "if":
            cond = draw(st.sampled_from(CONDITIONS)).format(
                a=draw(st.sampled_from(TENSORS)), b=draw(st.sampled_from(TENSORS)), n="n",
                k=draw(st.integers(0, 4)))
            body = draw(statements(depth + 1))
            orelse = draw(st.one_of(st.just([]), statements(depth + 1)))
            lines.append(f"if {cond}:")
            lines += ["    " + line for line in body]
            if orelse:
                lines.append("else:")
                lines += ["    " + line for line in orelse]
        elif kind == "for":
            var = f"i{next(_names) % 3}"
            lines.append(f"for {var} in range({draw(st.integers(0, 3))}):")
            body = draw(statements(depth + 1))
            lines += ["    " + line.replace("return", "pass  #") for line in body]
            lines.append(f"    {target} = {target} + {var}")
        else:
            lines.append(f"return {draw(expression())}, n")
            break
    return lines


def _program(lines):
    body = "\n".join("    " + line for line in lines + ["return x + y, n"])
    return f"def fn(x, y, n: int):\n{body}\n"


@settings(max_examples=60, deadline=None, database=None)
@given(lines=statements(), seed=st.integers(0, 2 ** 16), n=st.integers(-3, 6))
def test_scripted_equals_eager(tmp_path_factory, lines, seed, n):
    source = _program(lines)
    path = tmp_path_factory.mktemp("prog") / "prog.py"
    path.write_text(source)
    namespace = {"torch": minijit, "__name__": "prog"}
    exec(compile(source, str(path), "exec", dont_inherit=True), namespace)
    fn = namespace["fn"]
    scripted = minijit.jit.script(fn)
    scripted.graph.lint()
    minijit.manual_seed(seed)
    x, y = minijit.randn(2, 3), minijit.randn(2, 3)
    want = fn(x, y, n)
    got = scripted(x, y, n)
    np.testing.assert_allclose(np.asarray(got[0]._data), np.asarray(want[0]._data),
                               rtol=1e-5, atol=1e-6, err_msg=source)
    assert got[1] == want[1], source
