"""Programs traced by both minijit and PyTorch in the trace conformance tests.

Each entry is (name, source, inputs): ``source`` defines ``fn`` (a function or an nn.Module
instance) using the name ``torch``, which the test binds to ``minijit`` or to ``torch``;
``inputs(torch)`` builds the example inputs (seeded, so both libraries see the same numbers).
"""

PROGRAMS = [
    ("tanh_add", """
def fn(x, h):
    return torch.tanh(x + h)
""", "(torch.rand(3, 4), torch.rand(3, 4))"),
    ("scalar_mul", """
def fn(x):
    return x * 2
""", "(torch.rand(2, 3),)"),
    ("scalar_float_add", """
def fn(x):
    return x + 1.5
""", "(torch.rand(2, 3),)"),
    ("rsub", """
def fn(x):
    return 1 - x
""", "(torch.rand(2, 3),)"),
    ("chain", """
def fn(x, y):
    z = torch.sigmoid(x) * torch.relu(y) - x / 2
    return z.exp()
""", "(torch.rand(4), torch.rand(4))"),
    ("tuple_out", """
def fn(x):
    y = torch.tanh(x)
    return y, y + 1
""", "(torch.rand(2, 2),)"),
    ("reduction", """
def fn(x):
    return x.sum(1), x.mean(), x.max(dim=0)[0]
""", "(torch.rand(3, 4),)"),
    ("matmul", """
def fn(a, b):
    return torch.matmul(a, b).relu()
""", "(torch.rand(3, 4), torch.rand(4, 5))"),
    ("view_transpose", """
def fn(x):
    return x.view(4, 3).transpose(0, 1).contiguous()
""", "(torch.rand(3, 4),)"),
    ("permute_reshape", """
def fn(x):
    return x.permute(2, 0, 1).reshape(-1, 2)
""", "(torch.rand(2, 3, 4),)"),
    ("indexing", """
def fn(x):
    return x[0], x[:, 1], x[1:3]
""", "(torch.rand(4, 5),)"),
    ("unsqueeze_expand", """
def fn(x):
    return x.unsqueeze(0).expand(3, 4)
""", "(torch.rand(4),)"),
    ("cat_stack", """
def fn(x, y):
    return torch.cat([x, y], 1), torch.stack([x, y])
""", "(torch.rand(2, 3), torch.rand(2, 3))"),
    ("softmax", """
def fn(x):
    return torch.softmax(x, 1), torch.log_softmax(x, -1)
""", "(torch.rand(2, 5),)"),
    ("where_compare", """
def fn(x, y):
    return torch.where(x > y, x, y)
""", "(torch.rand(3, 3), torch.rand(3, 3))"),
    ("clamp_pow", """
def fn(x):
    return torch.clamp(x, 0.2, 0.8) ** 2
""", "(torch.rand(5),)"),
    ("linear_module", """
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)
    def forward(self, x):
        return torch.relu(self.linear(x)) * 2
fn = M()
""", "(torch.rand(2, 4),)"),
    ("nested_modules", """
class Inner(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)
    def forward(self, x):
        return torch.relu(self.fc(x))
class Outer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Inner()
        self.seq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh())
    def forward(self, x):
        return self.seq(self.inner(x))
fn = Outer()
""", "(torch.rand(3, 2),)"),
    # Note [Trace names] in minijit/jit/frontend/tracer.py: names given across submodules.
    ("two_instances", """
class Two(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(3, 3)
        self.b = torch.nn.Linear(3, 3)
    def forward(self, x):
        return self.b(self.a(x))
fn = Two()
""", "(torch.rand(2, 3),)"),
    ("sequential_mlp", """
fn = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
""", "(torch.rand(2, 3),)"),
    ("submodule_called_twice", """
class Twice(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)
    def forward(self, x):
        return self.fc(self.fc(x))
fn = Twice()
""", "(torch.rand(2, 3),)"),
    ("submodule_output_used", """
class UseOut(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)
        self.act = torch.nn.ReLU()
    def forward(self, x):
        h = self.fc(x)
        y = torch.tanh(h) + h
        return self.act(y), torch.nn.functional.relu(h)
fn = UseOut()
""", "(torch.rand(2, 3),)"),
    ("op_into_sequential", """
class Pre(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh())
    def forward(self, x):
        return self.seq(torch.tanh(x)) * 2
fn = Pre()
""", "(torch.rand(2, 3),)"),
    ("grandchild_called_directly", """
class A(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(2, 2)
    def forward(self, x):
        return self.l(x)
class B(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = A()
    def forward(self, x):
        return self.a(x) * 2
class C(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.b = B()
    def forward(self, x):
        z = self.b(x)
        return self.b.a(z) + self.b.a.l.bias
fn = C()
""", "(torch.rand(3, 2),)"),
    ("cell_tuple", """
class Cell(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)
    def forward(self, x, h):
        new_h = torch.tanh(self.linear(x) + h)
        return new_h, new_h
fn = Cell()
""", "(torch.rand(3, 4), torch.rand(3, 4))"),
    ("parameter_direct", """
class Scale(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.rand(4))
    def forward(self, x):
        return x * self.weight + self.weight
fn = Scale()
""", "(torch.rand(3, 4),)"),
    ("neg_abs", """
def fn(x):
    return -x.abs() + x.neg()
""", "(torch.rand(3),)"),
    ("split_chunk", """
def fn(x):
    a, b = x.split(2, 1)
    return a * b
""", "(torch.rand(3, 4),)"),
    ("zeros_like_add", """
def fn(x):
    return torch.zeros_like(x) + x.sum()
""", "(torch.rand(3, 4),)"),
    ("detach", """
def fn(x):
    return x.detach() * 2 + x
""", "(torch.rand(3),)"),
    ("casts", """
def fn(x):
    return x.to(torch.float64).double().half().float() + x.int() + x.long()
""", "(torch.rand(3, 4),)"),
    ("std_correction", """
def fn(x):
    return x.std(dim=1, correction=2) + x.var(1, unbiased=False) + x.std(0, keepdim=True).sum()
""", "(torch.rand(3, 4),)"),
    ("roll_arange", """
def fn(x):
    return x.roll(1, 0) + torch.arange(4) + torch.arange(1, 5) + torch.arange(0, 4, 1)
""", "(torch.rand(4, 4),)"),
    # Sizes read while tracing are traced values (aten::size, prim::NumToTensor, aten::Int).
    ("size_view", """
def fn(x):
    return x.view(x.size(0), -1) * 2
""", "(torch.rand(2, 3, 4),)"),
    ("shape_zeros", """
def fn(x):
    return torch.zeros(x.shape[0], 3) + x.sum()
""", "(torch.rand(2, 3, 4),)"),
    ("size_arithmetic", """
def fn(x):
    n = x.size(1)
    b, c, d = x.size()
    return x.reshape(-1, n * 2) + b
""", "(torch.rand(2, 3, 4),)"),
    ("embedding_max_norm", """
fn = torch.nn.Embedding(10, 3, max_norm=1.0)
""", "(torch.tensor([[1, 2], [3, 4]]),)"),
    # PyTorch's tracer does not record the cell ops (``aten::gru_cell``...): their traces show
    # ATen's decomposition, unnamed, with its in-place ops and ``unsafe_chunk``.
    ("gru_cell", """
fn = torch.nn.GRUCell(4, 3)
""", "(torch.rand(2, 4), torch.rand(2, 3))"),
    ("rnn_tanh_cell", """
fn = torch.nn.RNNCell(4, 3)
""", "(torch.rand(2, 4), torch.rand(2, 3))"),
    # (An LSTMCell takes a tuple, which ``test_traced_matches_eager`` cannot remake: it is
    # compared in test_rnn_cells.py.)
    # Losses are single ATen ops (``ops/loss.py``): ``mse_loss`` after ``broadcast_tensors``,
    # whose outputs take the names ``input``/``target`` of ``F.mse_loss``'s frame.
    ("mse_loss", """
def fn(x, t):
    return torch.nn.functional.mse_loss(x, t)
""", "(torch.rand(2, 4), torch.rand(2, 4))"),
    ("mse_loss_broadcast_sum", """
def fn(x, t):
    return torch.nn.functional.mse_loss(x, t, reduction="sum")
""", "(torch.rand(2, 4), torch.rand(4))"),
    ("cross_entropy", """
def fn(x, i):
    return torch.nn.functional.cross_entropy(x, i, label_smoothing=0.1)
""", "(torch.rand(3, 5), torch.tensor([1, 4, 0]))"),
    ("nll_loss_nd", """
def fn(x, i):
    return torch.nn.functional.nll_loss(torch.log_softmax(x, 1), i, reduction="none")
""", "(torch.rand(2, 3, 4), torch.tensor([[0, 2, 1, 1], [2, 2, 0, 1]]))"),
    ("cross_entropy_module", """
fn = torch.nn.CrossEntropyLoss(weight=torch.rand(5), ignore_index=2)
""", "(torch.rand(3, 5), torch.tensor([1, 2, 4]))"),
    ("mse_loss_module", """
fn = torch.nn.MSELoss(reduction="none")
""", "(torch.rand(3, 2), torch.rand(3, 2))"),
]
