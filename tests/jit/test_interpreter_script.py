"""The interpreter on what scripted graphs need: numbers, lists, dicts, strings, tuples,
``print``, exceptions, ``isinstance``, ``Optional`` casts, Python calls, and graphs without
schemas (parsed text), where the overload is picked from the values.

Printed texts and error texts are TorchScript's (checked against PyTorch 2.13 once; the
conformance tests compare them live).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import pytest

import minijit
from minijit.jit.errors import JitScriptError
from minijit.jit.runtime.interpreter import InterpreterError, run_graph


@minijit.jit.script
def containers(xs: List[int], d: Dict[str, int], s: str) -> Tuple[int, List[int], str]:
    ys = [x * 2 for x in xs] if len(xs) > 0 else [0]
    ys.append(len(d))
    d["new"] = 7
    total = 0
    for k in d.keys():
        total += d[k]
    ys.insert(0, total)
    last = ys.pop()
    return last, ys[1:], s.upper() + "-" + str(total)


def test_list_dict_string_ops():
    last, ys, text = containers([1, 2], {"a": 1}, "hi")
    assert (last, ys, text) == (1, [2, 4], "HI-8")


@minijit.jit.script
def refine(x: Optional[int], y: Optional[List[int]]) -> int:
    if x is None:
        return -1
    n = x
    if y is not None and len(y) > 0:
        n += y[0]
    return n


def test_optional_refinement_and_unchecked_cast():
    assert refine(None, None) == -1
    assert refine(2, None) == 2
    assert refine(2, [5]) == 7


@minijit.jit.script
def early_exit(n: int) -> int:
    i = 0
    while True:
        if i * i > n:
            break
        i += 1
    for j in range(10):
        if j == 3:
            return i + j
    return -1


def test_while_break_and_return_in_loop():
    assert early_exit(10) == 7          # i = 4 (16 > 10), then j = 3


@minijit.jit.script
def printing(x, n: int, f: float, fs: List[float], t: Tuple[int, str], o: Optional[int]):
    print(x, n, f, fs, t, o, True, "s")
    print(1e16, -0.0, 0.1, [[1]], (1,))
    return n


def test_print_uses_torchscript_formatting(capsys):
    printing(minijit.tensor([1.5, 2.0]), 3, 2.0, [1.0, 0.5], (1, "a"), None)
    assert capsys.readouterr().out == (
        " 1.5000\n 2.0000\n[ CPUFloatType{2} ] 3 2. [1., 0.5] (1, a) None True s\n"
        "10000000000000000. 0. 0.10000000000000001 [[1]] (1,)\n")


@minijit.jit.script
def raises(x: int) -> int:
    if x > 3:
        raise ValueError("too big: " + str(x))
    assert x != 2, "two"
    return x


def test_raise_gives_torchscript_traceback():
    assert raises(1) == 1
    with pytest.raises(JitScriptError) as info:
        raises(5)
    text = str(info.value)
    assert text.startswith("The following operation failed in the TorchScript interpreter.\n"
                           "Traceback of TorchScript (most recent call last):\n  File \"")
    assert ", in raises\n" in text
    assert '        raise ValueError("too big: " + str(x))\n'\
           "        ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~ <--- HERE\n" in text
    assert text.endswith("builtins.ValueError: too big: 5\n")
    with pytest.raises(JitScriptError, match="RuntimeError: AssertionError: two\n$"):
        raises(2)


@minijit.jit.script
def shapes(x, y):
    return x * 2 + y


def test_op_errors_name_the_source_line():
    with pytest.raises(InterpreterError) as info:
        shapes(minijit.ones(2), minijit.ones(3))
    text = str(info.value)
    assert "    return x * 2 + y\n           ~~~~~~~~~ <--- HERE\n" in text
    assert text.endswith("RuntimeError: The size of tensor a (2) must match the size of tensor "
                         "b (3) at non-singleton dimension 0\n")


def test_traced_graph_errors_name_the_node():
    traced = minijit.jit.trace(lambda a, b: a + b, (minijit.ones(2), minijit.ones(2)))
    with pytest.raises(InterpreterError, match=r"while running node .*\n  %\S+ : .* = aten::add"):
        traced(minijit.ones(2), minijit.ones(3))


@minijit.jit.script
def kinds(x: Optional[int], t) -> Tuple[bool, bool, bool]:
    return isinstance(x, int), isinstance(t, minijit.Tensor), isinstance(t, int)


def test_isinstance():
    assert kinds(1, minijit.ones(1)) == (True, True, False)
    assert kinds(None, minijit.ones(1)) == (False, True, False)


@minijit.jit.ignore
def python_side(x: int) -> int:
    return x + 100


@minijit.jit.script
def calls_python(x: int) -> int:
    return python_side(x) * 2


def test_python_op_calls_back_into_python():
    assert calls_python(1) == 202
    assert "^python_side()(x)" in calls_python.code


def test_parsed_graph_picks_overload_from_values():
    graph = minijit.jit.parse_ir("""
graph(%a : int, %b : float, %s : str):
  %1 : float = aten::add(%a, %b)
  %2 : bool = aten::lt(%1, %b)
  %3 : str = aten::add(%s, %s)
  return (%1, %2, %3)
""")
    assert run_graph(graph, (1, 2.5, "ab")) == (3.5, False, "abab")


def test_tensor_conditions_and_int_casts():
    @minijit.jit.script
    def f(x) -> int:
        if bool(x.sum() > 1):
            return int(x.sum())
        return int(float(x.max()) > 0.5)
    assert f(minijit.tensor([1.0, 2.0])) == 3
    assert f(minijit.tensor([0.25])) == 0
