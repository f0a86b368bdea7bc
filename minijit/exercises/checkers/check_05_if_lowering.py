"""Checks for exercise 5: ``if`` → ``prim::If`` (``tutorials/exercises/05_if_lowering.py``).

Each program is compiled by the student's ``MiniScripter``, linted, and run by minijit's
interpreter on inputs that take every path; Python runs the same source (with ``torch`` being
minijit) for the expected answer.
"""
from __future__ import annotations

import numpy as np
import pytest

import minijit
from minijit.exercises.loader import load_exercise
from minijit.jit.runtime.interpreter import run_graph

ex = load_exercise(5)

IF_ELSE = '''
def f(x, y):
    if x.sum() > 0:
        z = x * y
    else:
        z = -x
    return z + 1
'''

NO_ELSE = '''
def f(x, y):
    z = x + y
    if x.sum() > 0:
        z = z * 2
    return z
'''

TWO_VARS = '''
def f(x, y):
    b = y
    a = x
    c = x * y
    if x.sum() > y.sum():
        b = x - y
        a = y * 3
    else:
        a = x * 2
        c = c
    return a, b, c
'''

NESTED = '''
def f(x, n: int):
    y = x * 2
    if n > 2:
        y = y + n
        if x.sum() > 0:
            y = y * 3
            w = 1
        else:
            w = 2
    elif n == 0:
        y = -y
        w = 5
    else:
        w = 7
    return y * w
'''

SCALARS = '''
def f(x, n: int):
    k = 1.5
    if n > 1:
        k = 2.5
    return x * k
'''

MISMATCH = '''
def f(x):
    if x.sum() > 0:
        z = x
    else:
        z = 3
    return x
'''

ONE_SIDED = '''
def f(x):
    if x.sum() > 0:
        t = x * 2
    return t
'''

ONE_SIDED_UNUSED = '''
def f(x):
    if x.sum() > 0:
        t = x * 2
        x = t + 1
    return x
'''

POSITIVE, NEGATIVE = minijit.tensor([1.0, 2.0]), minijit.tensor([-1.0, -3.0])


def _compile(source):
    graph = ex.script(source)
    graph.lint()
    return graph


def _ifs(graph):
    return [n for n in graph.all_nodes() if n.kind == "prim::If"]


def _python(source):
    namespace = {"torch": minijit}
    exec(source, namespace)
    return namespace["f"]


def _agree(source, argument_sets):
    graph, fn = _compile(source), _python(source)
    for args in argument_sets:
        got, expected = run_graph(graph, list(args)), fn(*args)
        got = got if isinstance(got, tuple) else (got,)
        expected = expected if isinstance(expected, tuple) else (expected,)
        for g, e in zip(got, expected):
            assert np.allclose(g.numpy(), e.numpy()), \
                (f"with inputs {[str(a) for a in args]} the graph computes {g}, Python {e}:\n"
                 f"{graph}")


def test_if_else_becomes_prim_if():
    """an if/else that assigns z becomes one prim::If with the output z"""
    graph = _compile(IF_ELSE)
    ifs = _ifs(graph)
    assert len(ifs) == 1, f"expected one prim::If, found {len(ifs)}:\n{graph}"
    node = ifs[0]
    assert len(node.blocks) == 2, "a prim::If has two blocks: the true branch, then the false"
    assert len(node.outputs) == 1, \
        f"z is assigned in both branches: the prim::If needs 1 output, it has {len(node.outputs)}"
    assert node.outputs[0].debug_name == "z", "name the output after the variable (self.assign)"
    assert [len(b.returns) for b in node.blocks] == [1, 1], "each block must return its z"
    assert [n.kind for n in node.blocks[0].nodes] == ["aten::mul"], \
        "the true block holds z = x * y"
    assert [n.kind for n in node.blocks[1].nodes] == ["aten::neg"], "the false block holds z = -x"
    _agree(IF_ELSE, [(POSITIVE, POSITIVE), (NEGATIVE, POSITIVE)])


def test_if_without_else():
    """an if without else returns the old value from the empty false block"""
    graph = _compile(NO_ELSE)
    node = _ifs(graph)[0]
    assert len(node.outputs) == 1, "z changes in the true branch: one output"
    assert not node.blocks[1].nodes, "the false block has no nodes"
    before = next(n for n in graph.nodes if n.kind == "aten::add").output()
    assert node.blocks[1].returns[0] is before, \
        "the false block must return z as it was before the if (the value of x + y)"
    _agree(NO_ELSE, [(POSITIVE, POSITIVE), (NEGATIVE, POSITIVE)])


def test_only_changed_variables_become_outputs():
    """only variables a branch changed become outputs, sorted by name"""
    graph = _compile(TWO_VARS)
    node = _ifs(graph)[0]
    names = [o.debug_name for o in node.outputs]
    assert names == ["a", "b"], (f"the outputs should be a and b (sorted by name; c = c "
                                 f"changes nothing), found {names}")
    _agree(TWO_VARS, [(POSITIVE, NEGATIVE), (NEGATIVE, POSITIVE)])


def test_nested_ifs_and_elif():
    """nested ifs and elif work, for every path"""
    graph = _compile(NESTED)
    assert len(_ifs(graph)) == 3, "if / nested if / elif: three prim::If nodes"
    cases = [(x, n) for n in (0, 1, 3) for x in (POSITIVE, NEGATIVE)]
    _agree(NESTED, cases)


def test_scalar_variables():
    """variables holding Python numbers are merged too"""
    graph = _compile(SCALARS)
    node = _ifs(graph)[0]
    assert [str(o.type) for o in node.outputs] == ["float"], "k is a float on both paths"
    _agree(SCALARS, [(POSITIVE, 0), (POSITIVE, 2)])


def test_type_mismatch_is_an_error():
    """a variable that is a Tensor on one path and an int on the other is refused"""
    with pytest.raises(ex.MiniScriptError) as info:
        ex.script(MISMATCH)
    assert "z" in str(info.value), f"the error should name the variable z: {info.value}"


def test_one_sided_variables_do_not_escape():
    """a variable defined in one branch only is not defined after the if"""
    with pytest.raises(ex.MiniScriptError) as info:
        ex.script(ONE_SIDED)
    assert "t" in str(info.value) and "undefined" in str(info.value), \
        f"using t after the if should be reported as an undefined name: {info.value}"
    graph = _compile(ONE_SIDED_UNUSED)
    node = _ifs(graph)[0]
    assert [o.debug_name for o in node.outputs] == ["x"], \
        "t exists in one branch only and is not used later: only x becomes an output"
    _agree(ONE_SIDED_UNUSED, [(POSITIVE,), (NEGATIVE,)])
