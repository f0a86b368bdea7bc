"""Modules saved and loaded by both minijit and PyTorch in the serialization conformance tests.

Each entry is ``(name, how, source, inputs)``: ``source`` defines ``make()`` returning an
``nn.Module`` instance, written with the name ``torch`` (the test binds it to ``minijit`` or
to ``torch``); ``how`` is ``"trace"`` or ``"script"``; ``inputs`` is an expression building the
example inputs from ``torch`` (seeded, so both libraries see the same numbers).  Module
sources live in real files so the scripter can read them.
"""

PROGRAMS = [
    ("linear_relu", "trace", """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.act = torch.nn.ReLU()
    def forward(self, x):
        return self.act(self.fc(x))
def make():
    return Net()
""", "(torch.rand(4, 3),)"),
    ("params_and_buffers", "trace", """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.register_buffer("scale", torch.full((2,), 2.0))
        self.p = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    def forward(self, x):
        return self.fc(x) * self.scale + self.p
def make():
    return Net()
""", "(torch.rand(4, 3),)"),
    ("nested", "trace", """
class Inner(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)
    def forward(self, x):
        return torch.tanh(self.lin(x))
class Middle(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Inner()
        self.b = Inner()
    def forward(self, x):
        return self.b(self.a(x)) + x
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.m = Middle()
        self.out = torch.nn.Linear(4, 1)
    def forward(self, x):
        return self.out(self.m(x))
def make():
    return Net()
""", "(torch.rand(2, 4),)"),
    ("tied_weights", "trace", """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = torch.nn.Linear(3, 3, bias=False)
        self.dec = torch.nn.Linear(3, 3, bias=False)
        self.dec.weight = self.enc.weight
    def forward(self, x):
        return self.dec(torch.relu(self.enc(x)))
def make():
    return Net()
""", "(torch.rand(2, 3),)"),
    ("buffer_views", "trace", """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        base = torch.arange(12.0)
        self.register_buffer("base", base)
        self.register_buffer("window", base[2:6])
        self.register_buffer("grid", base.view(3, 4).t())
    def forward(self, x):
        return x * self.window + self.grid.sum()
def make():
    return Net()
""", "(torch.rand(4),)"),
    ("tensor_constants", "trace", """
class Net(torch.nn.Module):
    def forward(self, x):
        return (x * 2.5 + 1) / 4
def make():
    return Net()
""", "(torch.rand(2, 3),)"),
    ("tuple_outputs", "trace", """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)
    def forward(self, x, h):
        y = torch.tanh(self.fc(x) + h)
        return y, y * 2
def make():
    return Net()
""", "(torch.rand(3, 2), torch.rand(3, 2))"),
    ("integer_buffers", "trace", """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("steps", torch.tensor([3, 1, 2]))
        self.register_buffer("mask", torch.tensor([True, False, True]))
        self.register_buffer("small", torch.tensor([1, 2, 3], dtype=torch.int32))
    def forward(self, x):
        return x * self.steps + self.small
def make():
    return Net()
""", "(torch.rand(3),)"),
    ("eval_mode_frozen", "trace", """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)
        self.fc.bias.requires_grad_(False)
    def forward(self, x):
        return torch.sigmoid(self.fc(x))
def make():
    return Net().eval()
""", "(torch.rand(2, 3),)"),
    ("my_cell", "trace", """
class MyCell(torch.nn.Module):
    def __init__(self):
        super(MyCell, self).__init__()
        self.linear = torch.nn.Linear(4, 4)
    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h
def make():
    return MyCell()
""", "(torch.rand(3, 4), torch.rand(3, 4))"),
    ("scripted_attributes", "script", """
from typing import Dict, List, Optional, Tuple
class Net(torch.nn.Module):
    __constants__ = ["eps"]
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.arange(6, dtype=torch.float32).reshape(2, 3))
        self.register_buffer("running_mean", torch.zeros(3))
        self.count = 7
        self.ratio = 0.5
        self.flag = True
        self.label = "net"
        self.names: List[str] = ["a", "b"]
        self.sizes: List[int] = [1, 2, 3]
        self.table: Dict[str, int] = {"a": 1}
        self.pair: Tuple[int, float] = (1, 2.0)
        self.maybe: Optional[int] = None
        self.present: Optional[float] = 2.5
        self.grid: List[List[int]] = [[1], [2, 3]]
        self.where = torch.device("cpu")
        self.eps = 1e-5
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = (x - self.running_mean) * self.count + self.eps
        return y.matmul(self.weight.t()) * self.ratio
def make():
    return Net()
""", "(torch.rand(2, 3),)"),
    ("scripted_control_flow", "script", """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)
    def forward(self, x: torch.Tensor, n: int) -> torch.Tensor:
        if x.sum() > 0:
            y = self.fc(x)
        else:
            y = -x
        for i in range(n):
            y = torch.tanh(y) + i
        return y
def make():
    return Net()
""", "(torch.rand(2, 3), 3)"),
    ("scripted_submodules", "script", """
class Sub(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
    def forward(self, x):
        return self.lin(x).relu()
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.sub = Sub()
        self.layers = torch.nn.ModuleList([torch.nn.ReLU(), torch.nn.Tanh()])
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.sub(x)
    @torch.jit.export
    def other(self, x: torch.Tensor) -> torch.Tensor:
        return self.sub(x) * 2
def make():
    return Net()
""", "(torch.rand(2, 3),)"),
    ("scripted_optional", "script", """
from typing import Optional
class Net(torch.nn.Module):
    def forward(self, x: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
        if bias is not None:
            x = x + bias
        return x * 2
def make():
    return Net()
""", "(torch.rand(2, 3),)"),
    ("scripted_unicode_constant", "script", """
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.s = "héllo"
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.s == "ünï":
            x = x + 1
        return x
def make():
    return Net()
""", "(torch.rand(2),)"),
    ("wrap_rnn", "script", """
class MyDecisionGate(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        else:
            return -x
class MyCell(torch.nn.Module):
    def __init__(self, dg):
        super(MyCell, self).__init__()
        self.dg = dg
        self.linear = torch.nn.Linear(4, 4)
    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h
class MyRNNLoop(torch.nn.Module):
    def __init__(self):
        super(MyRNNLoop, self).__init__()
        scripted_gate = torch.jit.script(MyDecisionGate())
        x, h = torch.rand(3, 4), torch.rand(3, 4)
        self.cell = torch.jit.trace(MyCell(scripted_gate), (x, h))
    def forward(self, xs):
        h, y = torch.zeros(3, 4), torch.zeros(3, 4)
        for i in range(xs.size(0)):
            y, h = self.cell(xs[i], h)
        return y, h
class WrapRNN(torch.nn.Module):
    def __init__(self):
        super(WrapRNN, self).__init__()
        self.loop = torch.jit.script(MyRNNLoop())
    def forward(self, xs):
        y, h = self.loop(xs)
        return torch.relu(y)
def make():
    return WrapRNN()
TRACE_WHOLE = True
""", "(torch.rand(10, 3, 4),)"),
]
"""``wrap_rnn`` is the seed tutorial's module: traced at the top (``TRACE_WHOLE``), with a
scripted loop inside."""
