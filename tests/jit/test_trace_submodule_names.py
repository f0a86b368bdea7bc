"""Names in traced module trees (Note [Trace names] in ``minijit/jit/frontend/tracer.py``).

PyTorch traces a module tree into one graph and splits it per submodule call afterwards, so a
value can be named after a Python local of *another* module (``input`` in ``Sequential``), the
``self`` of each graph gets a ``.N`` suffix, and a second call of a submodule becomes its method
``forward1``.  ``trace_programs.py`` holds the main programs (compared in ``test_trace.py``);
these tests add what that comparison does not cover, and checks that run without PyTorch.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import minijit
from minijit.jit.ir import Graph

from test_trace import _load, _normalise, _normalise_library_lines, _trace
from trace_programs import PROGRAMS

_SOURCES = {name: (source, inputs) for name, source, inputs in PROGRAMS}


def _traced(name, tmp_path):
    source, inputs = _SOURCES[name]
    fn, args = _load(minijit, source, inputs, tmp_path, name)
    return _trace(minijit, fn, args)


# ---- without PyTorch: what PyTorch 2.13 printed for these programs ----------------------------
def test_sequential_names_a_value_of_the_module_before_it(tmp_path):
    traced = _traced("nested_modules", tmp_path)
    # ``Linear.forward(self, input)`` and ``Tanh.forward(self, input)`` read the tensors as
    # ``input``: the second renames the first, which lives in another module's graph.
    assert "%input.1 : Float(3, 2" in str(traced.inner.graph)
    seq0 = getattr(traced.seq, "0")
    assert seq0.code.endswith("  input = torch.linear(argument_1, weight, bias)\n"
                              "  return input\n")
    selves = [str(m.graph).split(" :", 1)[0] for m in
              (traced, traced.inner, traced.inner.fc, traced.seq, seq0, getattr(traced.seq, "1"))]
    assert selves == ["graph(%self.1", "graph(%self.3", "graph(%self.5", "graph(%self.7",
                      "graph(%self.9", "graph(%self"]
    assert "%bias.1 : Tensor" in str(traced.inner.fc.graph)
    assert "%bias : Tensor" in str(seq0.graph)


def test_callee_input_copies_the_name_of_a_caller_value(tmp_path):
    traced = _traced("op_into_sequential", tmp_path)
    assert "%input.1 : Float(2, 3" in str(traced.graph)            # ``torch.tanh(x)``
    assert traced.seq.code.startswith("def forward(self,\n    input: Tensor)")
    # a value computed in another call arrives unnamed (PyTorch lifts it out of that call)
    assert getattr(traced.seq, "1").code.startswith("def forward(self,\n    argument_1: Tensor)")


def test_each_call_of_a_submodule_is_a_method(tmp_path):
    traced = _traced("submodule_called_twice", tmp_path)
    assert "(fc).forward1((fc).forward(x, ), )" in traced.code
    assert traced.fc.forward1.code.startswith("def forward1(self,\n    argument_1: Tensor)")
    x = minijit.rand(2, 3)
    fc = traced.fc
    expected = minijit.nn.functional.linear(
        minijit.nn.functional.linear(x, fc.weight, fc.bias), fc.weight, fc.bias)
    assert np.allclose(np.asarray(traced(x).detach()), np.asarray(expected.detach()))


def test_instances_of_one_class_have_types_of_their_own(tmp_path):
    traced = _traced("two_instances", tmp_path)
    a, b = traced.a._class_type, traced.b._class_type
    assert a is not b and a.qualified_name == b.qualified_name
    # so inlining finds each instance's own forward
    inlined = str(traced.inlined_graph)
    assert inlined.index("scope: __module.a") < inlined.index("scope: __module.b")


def test_graphs_can_share_a_name_table():
    first, second = Graph(), Graph()
    second.share_debug_names(first)
    a = first.add_input("input")
    b = second.add_input("input")
    assert (a.debug_name, b.debug_name) == ("input.1", "input")
    first.own_debug_names(keep_suffixes=True)
    second.own_debug_names(keep_suffixes=False)
    first.lint()
    second.lint()
    assert first.add_input("input").debug_name == "input"       # no longer shared
    assert a.debug_name == "input.1"


# ---- compared with PyTorch ----------------------------------------------------------------------
def _compare_modules(traced_m, traced_t, name):
    def graph_text(g):
        return _normalise_library_lines(_normalise(str(g)), name)

    assert repr(traced_m) == repr(traced_t)
    for (n_m, m_m), (n_t, m_t) in zip(traced_m.named_modules(), traced_t.named_modules()):
        assert n_m == n_t
        methods = sorted(m_m._methods)
        assert methods == sorted(m_t._c._method_names()), n_m
        for method in methods:
            got, want = m_m._methods[method], m_t._c._get_method(method)
            assert graph_text(got.graph) == graph_text(want.graph), (n_m, method)
            assert got.code == want.code, (n_m, method)


@pytest.mark.conformance
def test_forward1_matches_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    source, inputs = _SOURCES["submodule_called_twice"]
    fn_m, args_m = _load(minijit, source, inputs, tmp_path, "twice")
    fn_t, args_t = _load(torch, source, inputs, tmp_path, "twice")
    _compare_modules(_trace(minijit, fn_m, args_m), _trace(torch, fn_t, args_t), "twice")


TUPLES_AND_SCOPES = """
class Pair(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)
    def forward(self, x):
        y = self.fc(x)
        z = torch.cat([y, x * 2], 1).view(2, 6).sum(1)
        return y, torch.relu(y) + z.unsqueeze(1)
class Top(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.pair = Pair()
    def forward(self, x):
        a, c = self.pair(x)
        return c, a * x
fn = Top()
"""


@pytest.mark.conformance
def test_tuple_results_and_submodule_constants_match_pytorch(tmp_path):
    """Unpacked results keep full types, a submodule's constants and lists carry its scope."""
    torch = pytest.importorskip("torch")
    fn_m, args_m = _load(minijit, TUPLES_AND_SCOPES, "(torch.rand(2, 3),)", tmp_path, "tuples")
    fn_t, args_t = _load(torch, TUPLES_AND_SCOPES, "(torch.rand(2, 3),)", tmp_path, "tuples")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced_m, traced_t = _trace(minijit, fn_m, args_m), _trace(torch, fn_t, args_t)
    _compare_modules(traced_m, traced_t, "tuples")
