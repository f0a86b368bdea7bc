"""Programs scripted by both minijit and PyTorch in the script conformance tests.

Each entry is ``(name, source, inputs)``: ``source`` defines ``fn`` (a function, or an
``nn.Module`` instance) using the name ``torch``, which the test binds to ``minijit`` or to
``torch``; ``inputs`` is an expression building the example inputs (seeded, so both libraries
see the same numbers), or ``None`` for programs only compared as text.  Together they cover
every construct of the language table in ``tutorials/02_the_script_compiler.py``.
"""

PROGRAMS = [
    # ---- straight-line code, operators, calls ---------------------------------------------------
    ("tanh_add", """
def fn(x, h):
    return torch.tanh(x + h)
""", "(torch.rand(3, 4), torch.rand(3, 4))"),
    ("arith_mix", """
def fn(x, n: int):
    a = 1 + x
    b = 1 - x
    c = x ** 2
    d = 2 * x
    e = -x
    g = -1
    h = 2.5 / x
    k = n + 1
    m = n / 2
    p = n // 2
    q = x / 2
    s = n * 1.5
    return a, b, c, d, e, g, h, k, m, p, q, s
""", "(torch.rand(2, 3) + 0.5, 3)"),
    ("int_float_ops", """
def fn(a: int, b: int, f: float):
    c = a // b + a % b - a * a
    d = f * a - f / 2.0
    e = a < b and b != 3
    g = not (a == 1)
    return c, d, e, g, max(a, c), min(a, b)
""", "(7, 2, 1.5)"),
    ("method_calls", """
def fn(x):
    y = x.sum(1)
    z = x.mean()
    w = x.t().matmul(x)
    return y.relu() + z, w.sigmoid()
""", "(torch.rand(3, 4),)"),
    ("torch_functions_kwargs", """
def fn(x):
    a = torch.sum(x, dim=1, keepdim=True)
    b = torch.zeros(3, 4)
    c = torch.ones([2, 2], dtype=torch.float64)
    d = torch.cat([x, x], 0)
    return a + x, b, c, d
""", "(torch.rand(3, 4),)"),
    ("defaults", """
def fn(x, a: int = 2, b: float = 0.5, flag: bool = False):
    if flag:
        return x * a
    return x * b
""", "(torch.rand(2, 2), 3, 1.5, True)"),
    ("annotated_types", """
from typing import List, Optional, Tuple
def fn(x: torch.Tensor, n: int, xs: List[int], t: Tuple[int, float]) -> torch.Tensor:
    k = len(xs) + n
    a, b = t
    return x * k + a * b
""", "(torch.rand(2), 2, [1, 2, 3], (2, 0.5))"),
    # ---- assignment forms ----------------------------------------------------------------------
    ("tuple_unpack_swap", """
def fn(x, y):
    a, b = x, y
    a, b = b, a
    return a - b
""", "(torch.rand(3), torch.rand(3))"),
    ("aug_assign", """
def fn(x, n: int):
    y = x.clone()
    y += 1
    y *= 2
    n += 1
    n -= 3
    z = x * 1.0
    z = z + n
    return y, z, n
""", "(torch.rand(2, 2), 4)"),
    ("multi_target_assign", """
def fn(x):
    a = b = x + 1
    return a * b
""", "(torch.rand(2),)"),
    ("var_annotation", """
from typing import List
def fn(x):
    n: int = 3
    ys: List[int] = []
    ys.append(n)
    return x * n, ys
""", "(torch.rand(2),)"),
    # ---- if / else / elif / ternary -----------------------------------------------------------
    ("if_else", """
def fn(x, flag: bool):
    if flag:
        y = x + 1
    else:
        y = x * 2
    return y
""", "(torch.rand(3), True)"),
    ("if_tensor_condition", """
def fn(x):
    if x.sum() > 0:
        x = x + 1
    return x
""", "(torch.rand(3),)"),
    ("elif_chain", """
def fn(x, n: int):
    if n == 0:
        y = x
    elif n == 1:
        y = x * 2
    elif n > 5:
        y = x * 3
    else:
        y = -x
    return y
""", "(torch.rand(3), 1)"),
    ("ternary", """
def fn(x, n: int):
    k = 2 if n > 3 else 5
    y = x * k if n != 0 else x
    return y, k
""", "(torch.rand(3), 4)"),
    ("bool_ops", """
def fn(x, a: int, b: int):
    if a < b and b > 0 or a == 7:
        x = x + 1
    if not (a > 2):
        x = x * 2
    return x
""", "(torch.rand(3), 1, 2)"),
    ("chained_compare", """
def fn(a: int, b: int, c: int):
    return a < b < c, a <= b > c
""", "(1, 2, 3)"),
    ("early_return", """
def fn(x, n: int):
    if n > 2:
        return x * 2
    return x + 1
""", "(torch.rand(3), 3)"),
    ("return_both_branches", """
def fn(x, flag: bool):
    if flag:
        return x + 1
    else:
        return x - 1
""", "(torch.rand(3), False)"),
    # ---- loops -------------------------------------------------------------------------------------
    ("for_range", """
def fn(x, n: int):
    acc = x
    for i in range(n):
        acc = acc + i
    return acc
""", "(torch.rand(3), 4)"),
    ("for_range_start_step", """
def fn(x, n: int):
    for i in range(1, n, 2):
        x = x * i
    return x
""", "(torch.rand(3), 7)"),
    ("while_loop", """
def fn(x):
    i = 0
    while i < 10:
        x = x * 2
        i += 1
    return x, i
""", "(torch.rand(3),)"),
    ("for_list", """
from typing import List
def fn(xs: List[torch.Tensor]):
    out = torch.zeros([3])
    for t in xs:
        out = out + t
    return out
""", "([torch.rand(3), torch.rand(3)],)"),
    ("for_break", """
def fn(x, n: int):
    for i in range(n):
        if i > 3:
            break
        x = x + 1
    return x
""", "(torch.rand(3), 10)"),
    ("for_continue", """
def fn(x, n: int):
    for i in range(n):
        if i % 2 == 0:
            continue
        x = x * i
    return x
""", "(torch.rand(3), 6)"),
    ("while_break", """
def fn(x):
    i = 0
    while True:
        i += 1
        if i >= 5:
            break
        x = x + i
    return x, i
""", "(torch.rand(2),)"),
    ("return_in_loop", """
def fn(x, n: int):
    for i in range(n):
        if i == 2:
            return x * i
        x = x + 1
    return x
""", "(torch.rand(3), 5)"),
    ("nested_loops", """
def fn(x, n: int, m: int):
    total = 0
    for i in range(n):
        for j in range(m):
            total += i * j
            x = x + j
    return x, total
""", "(torch.rand(2), 3, 4)"),
    ("loop_carried_order", """
def fn(xs):
    h, y = torch.zeros(3, 4), torch.zeros(3, 4)
    for i in range(xs.size(0)):
        y, h = torch.tanh(xs[i] + h), y
    return y, h
""", "(torch.rand(5, 3, 4),)"),
    # ---- Optional, None, refinement --------------------------------------------------------------
    ("optional_refine", """
from typing import Optional
def fn(x, b: Optional[torch.Tensor] = None):
    if b is not None:
        return x + b
    return x
""", "(torch.rand(3), torch.rand(3))"),
    ("optional_int", """
from typing import Optional
def fn(x, n: Optional[int] = None):
    if n is None:
        k = 1
    else:
        k = n
    return x * k
""", "(torch.rand(3), 4)"),
    ("is_none_static", """
def fn(x):
    y = None
    if y is None:
        x = x + 1
    return x
""", "(torch.rand(3),)"),
    # ---- lists, tuples, dicts, strings ----------------------------------------------------------
    ("list_ops", """
from typing import List
def fn(x, y):
    l = [x, y]
    l.append(x)
    n = len(l)
    return torch.cat(l, 0), l[1], n
""", "(torch.rand(2), torch.rand(2))"),
    ("int_list_ops", """
from typing import List
def fn(xs: List[int]):
    out: List[int] = []
    for v in xs:
        out.append(v * 2)
    out[0] = 7
    return out, out[-1], len(out)
""", "([1, 2, 3],)"),
    ("tuple_index", """
from typing import Tuple
def fn(t: Tuple[torch.Tensor, int]):
    a = t[0]
    n = t[1]
    return a * n
""", "((torch.rand(3), 2),)"),
    ("single_tuple_return", """
def fn(x):
    return (x,)
""", "(torch.rand(2),)"),
    ("dict_ops", """
from typing import Dict
def fn(x, d: Dict[str, int]):
    e = {"a": x, "b": x + 1}
    e["c"] = x * len(d)
    total = 0
    for k in d:
        total += d[k]
    return e["c"] + total
""", "(torch.rand(2), {'p': 1, 'q': 2})"),
    ("strings", """
def fn(s: str, x):
    t = s + "!"
    if t == "hi!":
        x = x + 1
    return x, t
""", "('hi', torch.rand(2))"),
    ("list_comprehension", """
from typing import List
def fn(xs: List[int]):
    return [v * 2 for v in xs]
""", "([1, 2, 3],)"),
    # ---- indexing and slicing ---------------------------------------------------------------------
    ("indexing", """
def fn(x, i: int):
    a = x[1:3]
    b = x[:, 0]
    c = x[::2]
    d = x[i]
    g = x[0, 1]
    k = x[..., 1]
    m = x[:, None]
    return a, b, c, d, g, k, m
""", "(torch.rand(4, 3), 2)"),
    ("size_dims", """
def fn(x):
    n = x.size(0)
    s = x.size()
    d = x.dim()
    return x * n, s[1], d
""", "(torch.rand(3, 4),)"),
    # ---- conversions, asserts, raises -----------------------------------------------------------
    ("conversions", """
def fn(x, n: int, f: float):
    a = int(f)
    b = float(n)
    c = bool(n)
    d = int(x.sum())
    e = float(x.mean())
    return a, b, c, d, e
""", "(torch.rand(3), 3, 2.5)"),
    ("assert_raise", """
def fn(x, n: int):
    assert n > 0, "n must be positive"
    if n > 5:
        raise ValueError("too big")
    return x * n
""", "(torch.rand(3), 2)"),
    ("print_stmt", """
def fn(x):
    print("value", x.sum() > 10, 3)
    return x
""", "(torch.rand(2),)"),
    # ---- calls between scripted code ------------------------------------------------------------
    ("call_helper", """
def helper(x, n: int):
    return torch.tanh(x) * n
def fn(x):
    return helper(x, 3) + helper(x, 1)
""", "(torch.rand(3),)"),
    ("module_constant", """
import math
def fn(x):
    return x * math.pi + torch.float64
""", "(torch.rand(3),)"),
    # ---- modules -----------------------------------------------------------------------------------
    ("module_linear", """
fn = torch.nn.Linear(4, 3)
""", "(torch.rand(2, 4),)"),
    # The recurrent cells call ATen ops through ``_VF``: one ``aten::gru_cell`` node each.
    ("module_gru_cell", """
fn = torch.nn.GRUCell(4, 3)
""", "(torch.rand(2, 4), torch.rand(2, 3))"),
    ("module_lstm_cell", """
fn = torch.nn.LSTMCell(4, 3)
""", "(torch.rand(2, 4), (torch.rand(2, 3), torch.rand(2, 3)))"),
    ("module_rnn_relu_cell_unbatched", """
fn = torch.nn.RNNCell(4, 3, nonlinearity="relu")
""", "(torch.rand(4) - 0.5, torch.rand(3))"),
    # PyTorch's scripted F.embedding drops its renorm call (dead code: the op declares no
    # write), so the scripted module does not renormalise; minijit keeps that.
    ("module_embedding_max_norm", """
fn = torch.nn.Embedding(10, 3, max_norm=1.0)
""", "(torch.tensor([[1, 2], [3, 4]]),)"),
    ("detach", """
def fn(x):
    return x.detach() * 2 + x
""", "(torch.rand(3),)"),
    ("einsum", """
def fn(x, y):
    return torch.einsum("bij,bkj->bik", [x, y]) + torch.einsum("bij->bi", [x]).unsqueeze(-1)
""", "(torch.rand(2, 3, 4), torch.rand(2, 5, 4))"),
    ("item", """
def fn(x):
    return int(x.sum().item() > 0) + float(x.size(0)) / 2
""", "(torch.rand(3, 4),)"),
    ("casts", """
def fn(x):
    v, i = x.max(dim=1)
    return v * i.float() + x.double().float() + x.to(torch.float64).float() + x.int() + x.to(x.dtype)
""", "(torch.rand(4, 4),)"),
    ("split_list_roll_arange", """
def fn(x):
    a = torch.split(x, [1, 3], dim=-1)[1] + x.split(2, -1)[0].sum()
    return a.roll(1, 0) + torch.arange(3) + torch.arange(1, 4) + torch.arange(0, 3, 1)
""", "(torch.rand(4, 4),)"),
    ("module_attrs", """
from typing import Final
class Sub(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.rand(3))
    def forward(self, x):
        return x * self.w
class M(torch.nn.Module):
    limit: Final[int]
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)
        self.sub = Sub()
        self.n = 2
        self.scale = 0.5
        self.flag = True
        self.limit = 7
        self.register_buffer("running", torch.zeros(3))
    def forward(self, x):
        y = self.linear(x)
        y = self.sub(y)
        for _ in range(self.n):
            y = y * self.scale
        if self.flag:
            y = y + self.running
        return y * self.limit
fn = M()
""", "(torch.rand(2, 4),)"),
    ("module_method_call", """
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 3)
    def helper(self, x, k: int):
        return self.linear(x) * k
    def forward(self, x):
        return self.helper(x, 2) + self.helper(x, 3)
fn = M()
""", "(torch.rand(2, 3),)"),
    ("module_list", """
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)])
    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x
fn = M()
""", "(torch.rand(2, 3),)"),
    ("module_constants", """
class M(torch.nn.Module):
    __constants__ = ["k", "names"]
    def __init__(self):
        super().__init__()
        self.k = 3
        self.names = ["a", "b"]
    def forward(self, x):
        return x * self.k, self.names[1]
fn = M()
""", "(torch.rand(2),)"),
    ("module_setattr_ignore", """
from typing import Optional
class Sub(torch.nn.Module):
    def forward(self, x):
        return x * 2
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([Sub(), Sub()])
        self.seq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
        self.count = 0
        self.table = {"a": 1.5}
    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        self.count += 1
        x = self.seq(x) * self.table["a"]
        return self.py_side(x) + self.count
    @torch.jit.ignore
    def py_side(self, x):
        return x + 1
    @torch.jit.unused
    def not_used(self, x):
        return x.numpy()
fn = M()
""", "(torch.rand(3, 2),)"),
    ("module_final_export", """
from typing import List
class M(torch.nn.Module):
    limit: torch.jit.Final[int]
    def __init__(self):
        super().__init__()
        self.limit = 2
        self.register_buffer("buf", torch.ones(3))
        self.sizes: List[int] = [1, 2]
    def forward(self, x):
        for i in range(self.limit):
            x = x + self.buf * len(self.sizes)
        return self.extra(x.dim()) * x
    @torch.jit.export
    def extra(self, y: int) -> int:
        return y * self.limit
fn = M()
""", "(torch.rand(2, 3),)"),
    ("module_calls_traced", """
class Cell(torch.nn.Module):
    def forward(self, x, h):
        return torch.tanh(x + h)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = torch.jit.trace(Cell(), (torch.ones(2), torch.ones(2)))
    def forward(self, xs):
        h = torch.zeros(2)
        for i in range(xs.size(0)):
            h = self.cell(xs[i], h)
        return h
fn = M()
""", "(torch.rand(4, 2),)"),
    ("string_methods", """
from typing import Dict, List, Tuple
def fn(s: str, d: Dict[str, int]) -> Tuple[str, List[str], bool, int, str]:
    total = 0
    for k in d.keys():
        total += d[k]
    words = s.strip().split(" ")
    return s.upper() + "-" + str(total), words, s.startswith("a", 1), s.find("b"), ",".join(words)
""", "(' abc b ', {'x': 1, 'y': 2})"),
    ("comprehensions_and_slices", """
from typing import Dict, List, Tuple
def fn(xs: List[int], s: str) -> Tuple[Dict[str, int], int, float, str, List[int]]:
    d = {str(v): v * 2 for v in xs}
    fs = [float(v) / 2 for v in xs]
    return d, sum(v for v in xs), sum(fs), s[1:] + s[:-1:2], xs[::2]
""", "([3, 1, 4, 1, 5], 'hello')"),
    ("iteration_forms", """
import math
from typing import Dict, List, Tuple
def fn(x, xs: List[int], s: str, d: Dict[str, int]) -> Tuple[int, torch.Tensor, torch.Tensor, float, str]:
    n = 0
    for c in s:
        n += len(c)
    for k in d:
        n += d[k]
    for a, b in zip(xs, xs):
        n += a * b
    for i, v in enumerate(xs):
        n += i + v
    for i in range(1, 10, 3):
        n += i
    y = x[..., None]
    z = x[torch.tensor([0, 1])] * torch.tensor(2.5)
    return n, y, z, math.floor(2.5) + math.pi, "{} {}".format(n, s)
""", "(torch.rand(3), [1, 2], 'ab', {'a': 3})"),
    # ---- losses: calls of the compiled ``F.mse_loss`` ..., whose bodies call the ATen ops ------
    ("losses", """
def fn(x, t, i):
    F = torch.nn.functional
    a = F.mse_loss(x, t)
    b = F.mse_loss(x, t[0], reduction="none")
    c = F.cross_entropy(x, i, weight=torch.ones(4), label_smoothing=0.2)
    d = F.cross_entropy(x, t.softmax(1), reduction="sum")
    e = F.nll_loss(F.log_softmax(x, 1), i, ignore_index=1)
    return a, b, c, d, e
""", "(torch.rand(3, 4), torch.rand(3, 4), torch.tensor([1, 3, 0]))"),
    ("cross_entropy_module", """
fn = torch.nn.CrossEntropyLoss(weight=torch.rand(4), label_smoothing=0.1)
""", "(torch.rand(3, 4), torch.tensor([1, 3, 0]))"),
    ("nll_loss_module", """
fn = torch.nn.NLLLoss(reduction="sum")
""", "(torch.rand(2, 4, 3), torch.tensor([[1, 3, 0], [2, 2, 2]]))"),
    ("mse_loss_module", """
fn = torch.nn.MSELoss()
""", "(torch.rand(3, 4), torch.rand(3, 4))"),
]
