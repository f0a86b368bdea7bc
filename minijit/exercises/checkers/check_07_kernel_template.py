"""Checks for exercise 7: a kernel generator (``tutorials/exercises/07_kernel_template.py``).

Each subgraph is turned into a kernel by the student's ``kernel_source`` and run on NumPy
arrays; minijit's interpreter runs the same subgraph on tensors for the expected answer.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import minijit
from minijit.exercises.loader import load_exercise
from minijit.jit.ir import parse_ir
from minijit.jit.runtime.interpreter import run_graph
from minijit.ops.registry import OpInfo, Tag, find, register

ex = load_exercise(7)

# An op the student's generator has never heard of: it must work from the registry alone.
if find("exercise7_cube_plus") is None:
    register(OpInfo("exercise7_cube_plus",
                    ["aten::exercise7_cube_plus(Tensor self, Scalar shift=1) -> Tensor"],
                    lambda xp, x, shift=1: x * x * x + shift, tags=(Tag.POINTWISE,),
                    numpy_template="({self} * {self} * {self} + {shift})",
                    cuda_template="({self} * {self} * {self} + {shift})"))

EXAMPLE = """graph(%x : Tensor, %y : Tensor):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::mul(%x, %y)
  %3 : Tensor = aten::add(%2, %x, %1)
  %4 : Tensor = aten::tanh(%3)
  return (%4)
"""

CONSTANTS = """graph(%x : Tensor, %y : Tensor):
  %two : int = prim::Constant[value=2]()
  %half : float = prim::Constant[value=0.5]()
  %slope : float = prim::Constant[value=0.1]()
  %2 : Tensor = aten::sub(%x, %y, %two)
  %3 : Tensor = aten::sigmoid(%2)
  %4 : Tensor = aten::leaky_relu(%2, %slope)
  %5 : Tensor = aten::mul(%4, %half)
  %6 : Tensor = aten::add(%3, %5, %two)
  return (%6)
"""

TWO_OUTPUTS = """graph(%x : Tensor):
  %1 : int = prim::Constant[value=1]()
  %2 : Tensor = aten::exp(%x)
  %3 : Tensor = aten::neg(%2)
  %4 : Tensor = aten::relu(%x)
  %5 : Tensor = aten::add(%3, %4, %1)
  return (%5, %2)
"""

STRINGS = """graph(%x : Tensor):
  %mode : str = prim::Constant[value="tanh"]()
  %2 : Tensor = aten::gelu(%x, %mode)
  %3 : Tensor = aten::abs(%2)
  return (%3)
"""

NEW_OP = """graph(%x : Tensor, %y : Tensor):
  %s : float = prim::Constant[value=-0.25]()
  %2 : Tensor = aten::exercise7_cube_plus(%x, %s)
  %3 : Tensor = aten::maximum(%2, %y)
  return (%3)
"""

GRAPHS = {"example": (EXAMPLE, [(3, 4), (3, 4)]),
          "constants, broadcasting": (CONSTANTS, [(2, 3, 4), (4,)]),
          "two outputs": (TWO_OUTPUTS, [(5,)]),
          "string constant": (STRINGS, [(2, 3)]),
          "an op registered by the checker": (NEW_OP, [(6,), (1,)])}


def _inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2, 2, size=s).astype(np.float32) for s in shapes]


def _source(text):
    source = ex.kernel_source(parse_ir(text))
    assert isinstance(source, str), f"kernel_source() must return a str, not {type(source)}"
    return source


def _check_numbers(name):
    text, shapes = GRAPHS[name]
    source = _source(text)
    kernel = ex.compile_kernel(source)
    arrays = _inputs(shapes)
    got = kernel(*[a.copy() for a in arrays])
    assert isinstance(got, tuple), f"the kernel must return a tuple, it returned {type(got)}"
    expected = run_graph(parse_ir(text), [minijit.from_numpy(a) for a in arrays])
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected), \
        f"the kernel returns {len(got)} values; the subgraph has {len(expected)} outputs"
    for k, (g, e) in enumerate(zip(got, expected)):
        g = np.asarray(g)
        assert g.shape == tuple(e.shape), \
            f"output {k}: shape {g.shape}, expected {tuple(e.shape)}\n{source}"
        assert np.allclose(g, e.numpy(), rtol=1e-5, atol=1e-6), \
            f"output {k} differs from the interpreter's:\n{g}\nvs\n{e.numpy()}\n{source}"


def test_example_source():
    """writes def kernel(a0, a1), one line per op, and a return of a tuple"""
    source = _source(EXAMPLE)
    lines = [line for line in source.splitlines() if line.strip()]
    assert lines[0] == "def kernel(a0, a1):", \
        f"the first line should be 'def kernel(a0, a1):', not {lines[0]!r}"
    body = [line.strip() for line in lines[1:]]
    assigned = [line for line in body if re.match(r"t\d+ = ", line)]
    assert len(assigned) == 3, (f"expected 3 lines 'tK = ...' (mul, add, tanh; constants get "
                                f"no line), found {len(assigned)}:\n{source}")
    assert body[-1].replace(" ", "") in ("return(t2,)", "returnt2,"), \
        f"the last line should return the tuple (t2,), found {body[-1]!r}"
    assert "np.multiply(a0, a1)" in source and "np.tanh(" in source, \
        f"fill the registry's templates (np.multiply(a0, a1), np.tanh(...)):\n{source}"


def test_kernels_compute_pure_numpy():
    """the generated code calls NumPy (np, _k) only, never back into minijit"""
    for name, (text, _) in GRAPHS.items():
        source = _source(text)
        assert "minijit" not in source and "aten::" not in source, \
            f"{name}: the kernel should be plain NumPy:\n{source}"
        ex.compile_kernel(source)


@pytest.mark.parametrize("name", list(GRAPHS))
def test_same_numbers_as_the_interpreter(name):
    """the kernel computes what the interpreter computes"""
    _check_numbers(name)


def test_reads_templates_from_the_registry():
    """works for an op registered after your code was written (templates, not names)"""
    source = _source(NEW_OP)
    assert "a0 * a0 * a0" in source, \
        (f"the new op's template ({{self}} * {{self}} * {{self}} + {{shift}}) should be "
         f"filled:\n{source}")
    assert "-0.25" in source, f"the constant shift -0.25 should appear as a literal:\n{source}"
