"""``minijit.jit.script`` on modules and functions, without PyTorch: goldens checked once
against ``torch.jit.script`` (2.13) and pasted here.

What is covered: scripted ``nn`` modules (``Linear`` prints ``torch.linear(input, weight,
bias)``), module attributes of each kind (parameters, buffers, submodules, ``ModuleList``,
``Sequential``, ``__constants__``/``Final`` constants, ints, lists, dicts, ``Optional``),
methods reachable from ``forward``, ``@export``/``@ignore``/``@unused``, calling script
functions from Python (binding, defaults, type checks), and mixing traced and scripted code.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional

import numpy as np
import pytest

import minijit
from minijit import Tensor, nn

LINEAR_CODE = """\
def forward(self,
    input: Tensor) -> Tensor:
  weight = self.weight
  bias = self.bias
  return torch.linear(input, weight, bias)
"""


def test_linear_scripts_to_torch_linear():
    minijit.manual_seed(0)
    lin = nn.Linear(4, 3)
    scripted = minijit.jit.script(lin)
    assert scripted.code == LINEAR_CODE
    assert repr(scripted) == "RecursiveScriptModule(original_name=Linear)"
    x = minijit.rand(2, 4)
    np.testing.assert_allclose(scripted(x).detach().numpy(), lin(x).detach().numpy(), rtol=1e-6)
    # parameters are shared, not copied: training one trains both
    assert scripted.weight is lin.weight


class Attributes(nn.Module):
    __constants__ = ["scale"]
    limit: minijit.jit.Final[int]

    def __init__(self):
        super().__init__()
        self.scale = 2.0
        self.limit = 3
        self.name = "m"
        self.lin = nn.Linear(3, 3)
        self.register_buffer("buf", minijit.ones(3))
        self.items: List[int] = [1, 2]
        self.table: Dict[str, int] = {"a": 1}

    def forward(self, x):
        for i in range(self.limit):
            x = self.lin(x) * self.scale + self.buf
        return self.helper(x)

    def helper(self, x):
        return x + len(self.items) + self.table["a"]

    @minijit.jit.export
    def extra(self, y: int) -> int:
        return y * self.limit

    def never_called(self, x):
        return x.numpy()          # not TorchScript; fine, because nothing calls it


def test_module_attributes_constants_and_methods():
    minijit.manual_seed(0)
    eager = Attributes()
    m = minijit.jit.script(eager)
    assert m.code == """\
def forward(self,
    x: Tensor) -> Tensor:
  x0 = x
  for i in range(3):
    lin = self.lin
    _0 = torch.mul((lin).forward(x0, ), 2.)
    buf = self.buf
    x0 = torch.add(_0, buf)
  return (self).helper(x0, )
"""
    assert m.helper.code == """\
def helper(self,
    x: Tensor) -> Tensor:
  items = self.items
  _0 = torch.add(x, torch.len(items))
  table = self.table
  return torch.add(_0, table["a"])
"""
    assert m.extra.code == "def extra(self,\n    y: int) -> int:\n  return torch.mul(y, 3)\n"
    assert m.extra(4) == 12
    assert repr(m) == ("RecursiveScriptModule(\n  original_name=Attributes\n  (lin): "
                       "RecursiveScriptModule(original_name=Linear)\n)")
    assert m.lin.code == LINEAR_CODE
    x = minijit.rand(2, 3)
    np.testing.assert_allclose(m(x).detach().numpy(), eager(x).detach().numpy(), rtol=1e-5)
    assert "never_called" not in m._methods


class Sub(nn.Module):
    def forward(self, x):
        return x * 2


class Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([Sub(), Sub()])
        self.seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        self.opt: Optional[Tensor] = None     # typed NoneType: the ``if`` below is dropped
        self.count = 0

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        self.count += 1
        if self.opt is not None:
            x = x + self.opt
        x = self.seq(x)
        return self.py_side(x) + self.count

    @minijit.jit.ignore
    def py_side(self, x):
        return x + 1

    @minijit.jit.unused
    def not_used(self, x):
        return x.numpy()


HOLDER_CODE = """\
def forward(self,
    x: Tensor) -> Tensor:
  layers = self.layers
  _0 = getattr(layers, "0")
  _1 = getattr(layers, "1")
  x0 = (_0).forward(x, )
  x1 = (_1).forward(x0, )
  count = self.count
  self.count = torch.add(count, 1)
  seq = self.seq
  x2 = (seq).forward(x1, )
  _2 = ^py_side()(self, x2)
  count0 = self.count
  return torch.add(_2, count0)
"""


def test_module_list_sequential_setattr_ignore_unused():
    minijit.manual_seed(0)
    h = minijit.jit.script(Holder())
    assert h.code == HOLDER_CODE
    assert h.seq.code == """\
def forward(self,
    input: Tensor) -> Tensor:
  _0 = getattr(self, "0")
  _1 = getattr(self, "1")
  input0 = (_0).forward(input, )
  return (_1).forward(input0, )
"""
    assert repr(h) == """\
RecursiveScriptModule(
  original_name=Holder
  (layers): RecursiveScriptModule(
    original_name=ModuleList
    (0): RecursiveScriptModule(original_name=Sub)
    (1): RecursiveScriptModule(original_name=Sub)
  )
  (seq): RecursiveScriptModule(
    original_name=Sequential
    (0): RecursiveScriptModule(original_name=Linear)
    (1): RecursiveScriptModule(original_name=ReLU)
  )
)"""
    x = minijit.ones(1, 2)
    np.testing.assert_allclose(h(x).detach().numpy(), [[3.2238, 2.0]], atol=1e-4)
    assert h.count == 1
    np.testing.assert_allclose(h(x).detach().numpy(), [[4.2238, 3.0]], atol=1e-4)
    assert h.count == 2
    # @ignore and @unused methods stay Python methods of the scripted module
    assert h.py_side(x).numpy().tolist() == [[2.0, 2.0]]
    assert h.not_used(x).tolist() == [[1.0, 1.0]]
    assert re.search(r"= \^py_side\[\]\(\)\(%self, %x\.\d+\) # ", str(h.graph))


@minijit.jit.script
def with_defaults(x, n: int = 2, s: str = "hi", t: Optional[Tensor] = None) -> Tensor:
    if t is not None:
        x = x + t
    return x * n


def test_script_function_signature_and_binding():
    f = with_defaults
    assert f.schema == 'with_defaults(Tensor x, int n=2, str s="hi", Tensor? t=None) -> Tensor'
    assert f.code == """\
def with_defaults(x: Tensor,
    n: int=2,
    s: str="hi",
    t: Optional[Tensor]=None) -> Tensor:
  if torch.__isnot__(t, None):
    t0 = unchecked_cast(Tensor, t)
    x0 = torch.add(x, t0)
  else:
    x0 = x
  return torch.mul(x0, n)
"""
    assert f(minijit.ones(2), 3).tolist() == [3.0, 3.0]
    assert f(minijit.ones(2), t=minijit.ones(2)).tolist() == [4.0, 4.0]
    assert f(x=minijit.ones(1), n=4).tolist() == [4.0]
    assert f(minijit.ones(1), True).tolist() == [1.0]          # a bool is an int
    assert f(minijit.ones(1), minijit.tensor(3)).tolist() == [3.0]   # so is a 0-dim tensor


@pytest.mark.parametrize("args,message", [
    ((minijit.ones(2), "a"),
     "with_defaults() Expected a value of type 'int' for argument 'n' but instead found type "
     "'str'.\nPosition: 1\nValue: 'a'\nDeclaration: with_defaults(Tensor x, int n=2, "
     "str s=\"hi\", Tensor? t=None) -> Tensor\nCast error details: Unable to cast Python "
     "instance of type <class 'str'> to C++ type '?' (#define PYBIND11_DETAILED_ERROR_MESSAGES "
     "or compile in debug mode for details)"),
    ((1,),
     "with_defaults() Expected a value of type 'Tensor (inferred)' for argument 'x' but instead "
     "found type 'int'.\nInferred 'x' to be of type 'Tensor' because it was not annotated with "
     "an explicit type.\nPosition: 0\nValue: 1\nDeclaration: with_defaults(Tensor x, int n=2, "
     "str s=\"hi\", Tensor? t=None) -> Tensor\nCast error details: Unable to cast 1 to Tensor"),
    ((), "with_defaults() is missing value for argument 'x'. Declaration: with_defaults("
         "Tensor x, int n=2, str s=\"hi\", Tensor? t=None) -> Tensor"),
    ((minijit.ones(2), 1, "a", None, 5),
     "with_defaults() expected at most 4 argument(s) but received 5 argument(s). Declaration: "
     "with_defaults(Tensor x, int n=2, str s=\"hi\", Tensor? t=None) -> Tensor"),
])
def test_call_errors_have_pytorch_text(args, message):
    with pytest.raises(RuntimeError) as info:
        with_defaults(*args)
    assert str(info.value) == message


class TracedCell(nn.Module):
    def forward(self, x, h):
        return minijit.tanh(x + h)


class LoopOverTraced(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x):
        h = minijit.zeros(2)
        for i in range(x.size(0)):
            h = self.cell(x[i], h)
        return h


class WrapScripted(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x).relu()


LOOP_CODE = """\
def forward(self,
    x: Tensor) -> Tensor:
  h = torch.zeros([2])
  h0 = h
  for i in range(torch.size(x, 0)):
    cell = self.cell
    h1 = (cell).forward(torch.select(x, 0, i), h0, )
    h0 = h1
  return h0
"""


def test_scripted_calls_traced_and_traced_calls_scripted():
    traced = minijit.jit.trace(TracedCell(), (minijit.ones(2), minijit.ones(2)))
    loop = minijit.jit.script(LoopOverTraced(traced))
    assert loop.code == LOOP_CODE
    np.testing.assert_allclose(loop(minijit.ones(3, 2)).numpy(), [0.9597, 0.9597], atol=1e-4)
    wrapped = minijit.jit.trace(WrapScripted(loop), (minijit.ones(3, 2),))
    assert wrapped.code == """\
def forward(self,
    x: Tensor) -> Tensor:
  inner = self.inner
  return torch.relu((inner).forward(x, ))
"""
    assert wrapped.inner is loop or wrapped.inner.code == loop.code


def test_script_returns_compiled_objects_unchanged():
    traced = minijit.jit.trace(TracedCell(), (minijit.ones(2), minijit.ones(2)))
    assert minijit.jit.script(traced) is traced
    assert minijit.jit.script(with_defaults) is with_defaults


def test_script_function_cache_and_decorator_keep_python_name():
    def double(x):
        return x * 2
    first = minijit.jit.script(double)
    assert first.name == "double"
    assert minijit.jit.script(double) is first        # compiled once per function


def test_source_must_be_available():
    namespace: dict = {}
    exec("def f(x):\n    return x\n", namespace)
    with pytest.raises(OSError, match="Can't get source for"):
        minijit.jit.script(namespace["f"])


def test_classes_are_not_scripted():
    with pytest.raises(NotImplementedError):
        minijit.jit.script(Sub)


@pytest.mark.parametrize("make", [nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Identity, nn.GELU,
                                  lambda: nn.Softmax(dim=1), nn.MSELoss,
                                  lambda: nn.Sequential(nn.Linear(3, 3), nn.Tanh())])
def test_minijit_nn_modules_script_and_compute_like_eager(make):
    minijit.manual_seed(0)
    module = make()
    scripted = minijit.jit.script(module)
    x = minijit.rand(2, 3)
    args = (x, minijit.rand(2, 3)) if isinstance(module, nn.MSELoss) else (x,)
    np.testing.assert_allclose(scripted(*args).detach().numpy(),
                               module(*args).detach().numpy(), rtol=1e-6)
