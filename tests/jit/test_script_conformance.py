"""The scripter against PyTorch: same ``.graph`` and ``.code`` text, same values, same gradients.

Each program of ``script_programs.py`` is written to a file (the scripter reads source) and
scripted by minijit and by ``torch.jit.script``.  Graph texts are compared with value numbers
(``%12``), directories, mangled class names and line numbers *inside library files* normalised
(minijit's ``linear.py`` is not PyTorch's); everything else must match exactly.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import minijit

from script_programs import PROGRAMS

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.conformance


def _load(torch_module, name, source, directory):
    directory.mkdir(exist_ok=True)
    path = directory / f"{name}.py"
    path.write_text(source)
    # A module of its own per program: names are unique per compilation unit, and other
    # tests script functions named ``helper`` too (in one process, the later would be
    # ``__torch__.___torch_mangle_N.helper`` on one side only).
    namespace = {"torch": torch_module, "__name__": f"prog_{name}"}
    exec(compile(source, str(path), "exec", dont_inherit=True), namespace)
    torch_module.manual_seed(0)
    return namespace["fn"]


def _script(torch_module, name, source, directory):
    fn = _load(torch_module, name, source, directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch_module.jit.script(fn)


def normalise(text: str, program_file: str) -> str:
    text = re.sub(r"%(\d+)", "%N", text)
    text = re.sub(r"\.___torch_mangle_\d+", "", text)

    def location(match: "re.Match[str]") -> str:
        file = match.group(2)
        return f"# {file}:{match.group(3)}" if file == program_file else f"# {file}"
    return re.sub(r"# (\S*/)?([^/\s]+\.py):(\d+:\d+)", location, text)


@pytest.mark.parametrize("name,source,inputs", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_graph_and_code_match_pytorch(name, source, inputs, tmp_path):
    ours = _script(minijit, name, source, tmp_path / "m")
    theirs = _script(torch, name, source, tmp_path / "t")
    ours.graph.lint()
    file = f"{name}.py"
    assert normalise(str(ours.graph), file) == normalise(str(theirs.graph), file)
    assert ours.code == theirs.code


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [y for item in x for y in _flat(item)]
    if isinstance(x, dict):
        return [y for key in sorted(x) for y in _flat(x[key])]
    return [x]


def _as_numpy(x):
    if isinstance(x, minijit.Tensor):
        return np.asarray(x.detach()._data)
    if hasattr(x, "detach"):
        return x.detach().numpy()
    return x


def _inputs(torch_module, expr, grad):
    torch_module.manual_seed(1)
    values = eval(expr, {"torch": torch_module})
    if grad:
        values = tuple(v.requires_grad_() if _is_float_tensor(torch_module, v) else v
                       for v in values)
    return values


def _is_float_tensor(torch_module, v):
    return isinstance(v, torch_module.Tensor) and v.dtype in (torch_module.float32,
                                                              torch_module.float64)


@pytest.mark.parametrize("name,source,inputs", [p for p in PROGRAMS if p[2]],
                         ids=[p[0] for p in PROGRAMS if p[2]])
def test_values_and_gradients_match_pytorch(name, source, inputs, tmp_path, capsys):
    ours = _script(minijit, name, source, tmp_path / "m")
    theirs = _script(torch, name, source, tmp_path / "t")
    got = _flat(ours(*_inputs(minijit, inputs, False)))
    want = _flat(theirs(*_inputs(torch, inputs, False)))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = _as_numpy(g), _as_numpy(w)
        if isinstance(w, np.ndarray):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        else:
            assert type(g) is type(w) and g == pytest.approx(w)
    capsys.readouterr()          # (programs that print are compared in the print tests)
    # gradients of the sum of the float outputs with respect to every float input
    m_in, t_in = _inputs(minijit, inputs, True), _inputs(torch, inputs, True)
    m_out = [o for o in _flat(ours(*m_in)) if _is_float_tensor(minijit, o) and o.requires_grad]
    t_out = [o for o in _flat(theirs(*t_in)) if _is_float_tensor(torch, o) and o.requires_grad]
    assert len(m_out) == len(t_out)
    if not t_out:
        return
    sum(o.sum() for o in m_out).backward()
    sum(o.sum() for o in t_out).backward()
    for a, b in zip(m_in, t_in):
        if _is_float_tensor(torch, b):
            assert (a.grad is None) == (b.grad is None)
            if b.grad is not None:
                np.testing.assert_allclose(_as_numpy(a.grad), b.grad.numpy(), rtol=1e-5,
                                           atol=1e-6)


def test_print_matches_pytorch(tmp_path, capfd):
    source = """
from typing import List, Tuple
def fn(x, n: int, s: str, l: List[int], t: Tuple[int, float]):
    print(x, n, s, l, t, 1.5, True, None, [1.5, 2.0], -0.0, 1e20, 2.0)
    return x
"""
    for module, directory in ((minijit, "m"), (torch, "t")):
        fn = _script(module, "printing", source, tmp_path / directory)
        fn(module.tensor([[1.5, 2.0], [3.0, 4.0]]), 3, "hi", [1, 2], (1, 2.5))
        fn(module.tensor(2.5), 3, "hi", [1, 2], (1, 2.5))
    out = capfd.readouterr().out
    half = len(out) // 2
    assert out[:half] == out[half:]


def test_print_of_floats_matches_pytorch(tmp_path, capfd):
    source = """
from typing import List
def fn(l: List[float]):
    print(l)
    for v in l:
        print(v)
"""
    values = [1e10, 1e15, 123456789012.0, 2.5e-8, 1e17, -1e16, 9999999999.0, -0.0, 1e300,
              float("nan"), -float("inf"), 1.0 / 3, 3e20]
    for module, directory in ((minijit, "m"), (torch, "t")):
        _script(module, "print_floats", source, tmp_path / directory)(values)
    out = capfd.readouterr().out
    half = len(out) // 2
    assert out[:half] == out[half:]


RUNTIME_ERRORS = [
    ("raise_value_error", """
def fn(x: int) -> int:
    if x > 3:
        raise ValueError("too big: " + str(x))
    return x
""", (5,)),
    ("assert_message", """
def fn(x: int) -> int:
    assert x != 2, "two"
    return x
""", (2,)),
    ("bare_raise", """
def fn(x: int) -> int:
    raise Exception
""", (1,)),
    ("op_error_shapes", """
def fn(x, y):
    z = x * 2
    return z + y
""", "(torch.ones(2), torch.ones(3))"),
    ("list_index", """
from typing import List
def fn(l: List[int], i: int) -> int:
    return l[i + 1]
""", ([1], 3)),
    ("nested_call", """
def inner(x: int) -> int:
    if x > 1:
        raise RuntimeError("bad")
    return x
def fn(x: int) -> int:
    for i in range(2):
        x = inner(x) + 1
    return x
""", (5,)),
]


@pytest.mark.parametrize("name,source,args", RUNTIME_ERRORS, ids=[e[0] for e in RUNTIME_ERRORS])
def test_runtime_error_text_matches_pytorch(name, source, args, tmp_path):
    """Exceptions raised by compiled code: TorchScript's traceback (the raising statement with
    carets, under the name of the function called from Python) and ``<class>: message``."""
    texts = []
    for module, directory in ((minijit, "m"), (torch, "t")):
        fn = _script(module, name, source, tmp_path / directory)
        call_args = eval(args, {"torch": module}) if isinstance(args, str) else args
        with pytest.raises(Exception) as info:       # torch.jit.Error is no RuntimeError
            fn(*call_args)
        texts.append(str(info.value).replace(str(tmp_path / directory), "DIR"))
    assert texts[0] == texts[1]
