"""The recurrent cells and their ATen ops (``minijit/ops/rnn_cells.py``).

PyTorch's ``nn.RNNCell``, ``nn.GRUCell`` and ``nn.LSTMCell`` call ``aten::rnn_tanh_cell``,
``rnn_relu_cell``, ``gru_cell`` and ``lstm_cell`` through ``torch._VF``: a scripted cell is one
node, while a trace shows ATen's C++ decomposition (PyTorch's tracer does not record these
four ops), unnamed, with its in-place gate updates and ``unsafe_chunk``.  The first half of
this file checks minijit alone (golden texts taken from PyTorch 2.13, a NumPy reference,
gradcheck, the executor); the second half compares with PyTorch when it is installed.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import minijit
from minijit import autograd
from minijit.jit.options import OptimizationOptions
from minijit.jit.runtime.executor import GraphExecutor

# (module constructor, input shapes: a tuple of shapes stands for an LSTM's (h, c), None for
# a missing hidden state)
CELLS = {
    "rnn_tanh": ("nn.RNNCell(4, 3)", [(2, 4), (2, 3)]),
    "rnn_relu": ("nn.RNNCell(4, 3, nonlinearity='relu')", [(2, 4), (2, 3)]),
    "gru": ("nn.GRUCell(4, 3)", [(2, 4), (2, 3)]),
    "lstm": ("nn.LSTMCell(4, 3)", [(2, 4), ((2, 3), (2, 3))]),
    "rnn_tanh_no_bias": ("nn.RNNCell(4, 3, bias=False)", [(2, 4), (2, 3)]),
    "gru_no_bias": ("nn.GRUCell(4, 3, bias=False)", [(2, 4), (2, 3)]),
    "lstm_no_bias": ("nn.LSTMCell(4, 3, bias=False)", [(2, 4), ((2, 3), (2, 3))]),
    "gru_unbatched": ("nn.GRUCell(4, 3)", [(4,), (3,)]),
    "lstm_unbatched": ("nn.LSTMCell(4, 3)", [(4,), ((3,), (3,))]),
    "rnn_relu_no_hx": ("nn.RNNCell(4, 3, nonlinearity='relu')", [(2, 4), None]),
    "gru_no_hx": ("nn.GRUCell(4, 3)", [(2, 4), None]),
    "lstm_no_hx": ("nn.LSTMCell(4, 3)", [(2, 4), None]),
}
OP_OF = {"rnn_tanh": "rnn_tanh_cell", "rnn_relu": "rnn_relu_cell", "gru": "gru_cell",
         "lstm": "lstm_cell"}


def _make(lib, name):
    lib.manual_seed(0)
    return eval(CELLS[name][0], {"nn": lib.nn})


def _inputs(lib, name, requires_grad=False, seed=1):
    """The example inputs; a missing hidden state is left out of the call."""
    lib.manual_seed(seed)

    def build(shape):
        if isinstance(shape[0], tuple):
            return tuple(build(s) for s in shape)
        return lib.rand(*shape).requires_grad_(requires_grad)
    return tuple(build(s) for s in CELLS[name][1] if s is not None)


def _leaves(args):
    return [t for a in args for t in (a if isinstance(a, tuple) else (a,))]


def _flat(out):
    return list(out) if isinstance(out, tuple) else [out]


def _trace(lib, module, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.jit.trace(module, args)


def _np(t):
    return np.asarray(t.detach()._data) if isinstance(t, minijit.Tensor) else t.detach().numpy()


# ---- a NumPy reference: the formulas of torch.nn's documentation ---------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _reference(op, x, hx, w_ih, w_hh, b_ih, b_hh):
    h = hx[0] if op == "lstm_cell" else hx
    gi = x @ w_ih.T + (0 if b_ih is None else b_ih)
    gh = h @ w_hh.T + (0 if b_hh is None else b_hh)
    if op == "rnn_tanh_cell":
        return np.tanh(gi + gh)
    if op == "rnn_relu_cell":
        return np.maximum(gi + gh, 0)
    if op == "gru_cell":
        i_r, i_z, i_n = np.split(gi, 3, axis=1)
        h_r, h_z, h_n = np.split(gh, 3, axis=1)
        r, z = _sigmoid(i_r + h_r), _sigmoid(i_z + h_z)
        n = np.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h
    i, f, g, o = np.split(gi + gh, 4, axis=1)
    c = _sigmoid(f) * hx[1] + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def _op_args(op, rng, bias=True, dtype=np.float64):
    gates = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "gru_cell": 3, "lstm_cell": 4}[op]
    arrays = [rng.uniform(-1, 1, size) for size in
              [(2, 4), (2, 3), (gates * 3, 4), (gates * 3, 3), (gates * 3,), (gates * 3,)]]
    if op == "lstm_cell":
        arrays[1] = [arrays[1], rng.uniform(-1, 1, (2, 3))]
    if not bias:
        arrays[4] = arrays[5] = None
    return [[a.astype(dtype) for a in x] if isinstance(x, list)
            else (None if x is None else x.astype(dtype)) for x in arrays]


def _tensors(arrays):
    return [[minijit.from_numpy(a.copy()) for a in x] if isinstance(x, list)
            else (None if x is None else minijit.from_numpy(x.copy())) for x in arrays]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("op", list(OP_OF.values()))
def test_ops_compute_the_documented_formulas(op, bias):
    arrays = _op_args(op, np.random.default_rng(0), bias)
    got = _flat(getattr(minijit, op)(*_tensors(arrays)))
    want = _flat(_reference(op, *arrays))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", list(OP_OF.values()))
def test_ops_gradcheck(op):
    x, hx, *weights = _tensors(_op_args(op, np.random.default_rng(1)))
    hidden = list(hx) if op == "lstm_cell" else [hx]
    leaves = [x] + hidden + weights
    for t in leaves:
        t.requires_grad_(True)

    def fn(x, *rest):
        hx = list(rest[:2]) if op == "lstm_cell" else rest[0]
        return getattr(minijit, op)(x, hx, *rest[len(hidden):])
    assert autograd.gradcheck(fn, leaves, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name,grad_fns", [
    ("rnn_tanh", ["TanhBackward0"]), ("rnn_relu", ["ReluBackward0"]),
    ("gru", ["AddBackward0"]), ("lstm", ["MulBackward0", "AddBackward0"])])
def test_grad_fn_names_are_pytorchs(name, grad_fns):
    """The in-place gate updates of RNN.cpp make the history (GRU: ``add_`` last)."""
    out = _flat(_make(minijit, name)(*_inputs(minijit, name)))
    assert [o.grad_fn.name() for o in out] == grad_fns
    if name == "gru":
        assert [f.name() for f, _ in out[0].grad_fn.next_functions] == \
            ["MulBackward0", "TanhBackward0"]


def test_unsafe_chunk_pieces_share_memory_but_are_not_views():
    """``unsafe_chunk`` is why RNN.cpp may ``sigmoid_()`` a gate: no CopySlices, no shared
    version counter; the write still lands in the chunked tensor's memory."""
    x = minijit.zeros(2, 6)
    a, b, c = x.unsafe_chunk(3, 1)
    a.add_(1)
    assert x._version[0] == 0 and a._version[0] == 1 and a._base is None
    assert x.sum().item() == 4.0
    y = minijit.rand(2, 6, requires_grad=True) * 1
    pieces = y.unsafe_chunk(3, 1)
    assert pieces[0].grad_fn.name() == "UnsafeSplitBackward0"
    pieces[0].sigmoid_()
    assert pieces[0].grad_fn.name() == "SigmoidBackward0"
    assert y.grad_fn.name() == "MulBackward0"          # (a view would have CopySlices)


# ---- scripting: one node per cell ---------------------------------------------------------
_LSTM_CALL = ("  _14, _15, = hx2\n"
              "  _16, _17 = torch.lstm_cell(input0, [_14, _15], weight_ih, weight_hh, bias_ih,"
              " bias_hh)\n  ret = (_16, _17)\n")


@pytest.mark.parametrize("name", list(OP_OF))
def test_scripted_cell_calls_one_aten_op(name):
    op = OP_OF[name]
    scripted = minijit.jit.script(_make(minijit, name))
    scripted.graph.lint()
    text = str(scripted.graph)
    assert text.count(f"aten::{op}(") == 1 and "prim::CallFunction" not in text
    if name == "lstm":
        assert re.search(r"%\d+ : Tensor, %\d+ : Tensor = prim::TupleUnpack\(%hx\)", text)
        assert re.search(r"%\d+ : Tensor\[\] = prim::ListConstruct\(%\d+, %\d+\)", text)
        assert re.search(r"%\d+ : Tensor, %\d+ : Tensor = aten::lstm_cell\(%input, %\d+, "
                         r"%weight_ih, %weight_hh, %bias_ih, %bias_hh\)", text)
        assert _LSTM_CALL in scripted.code
    else:
        assert (f"  ret = torch.{op}(input0, hx4, weight_ih, weight_hh, bias_ih, bias_hh)\n"
                in scripted.code)


# ---- tracing: RNN.cpp's parts, unnamed (golden texts from PyTorch 2.13) ---------------------
TRACED_CODE = {
    "rnn_tanh": """def forward(self,
    input: Tensor,
    hx: Tensor) -> Tensor:
  bias_ih = self.bias_ih
  weight_ih = self.weight_ih
  bias_hh = self.bias_hh
  weight_hh = self.weight_hh
  _0 = torch.linear(hx, weight_hh, bias_hh)
  _1 = torch.linear(input, weight_ih, bias_ih)
  return torch.tanh(torch.add_(_0, _1))
""",
    "gru": """def forward(self,
    input: Tensor,
    hx: Tensor) -> Tensor:
  bias_hh = self.bias_hh
  weight_hh = self.weight_hh
  bias_ih = self.bias_ih
  weight_ih = self.weight_ih
  _0 = torch.linear(input, weight_ih, bias_ih)
  _1, _2, _3, = torch.unsafe_chunk(_0, 3, 1)
  _4 = torch.unsafe_chunk(torch.linear(hx, weight_hh, bias_hh), 3, 1)
  _5, _6, _7, = _4
  _8 = torch.sigmoid_(torch.add_(_5, _1))
  _9 = torch.sigmoid_(torch.add_(_6, _2))
  _10 = torch.tanh_(torch.add(_3, torch.mul_(_7, _8)))
  _11 = torch.add_(torch.mul_(torch.sub(hx, _10), _9), _10)
  return _11
""",
    "lstm": """def forward(self,
    input: Tensor,
    hx: Tuple[Tensor, Tensor]) -> Tuple[Tensor, Tensor]:
  bias_ih = self.bias_ih
  weight_ih = self.weight_ih
  bias_hh = self.bias_hh
  weight_hh = self.weight_hh
  _0, value, = hx
  _1 = torch.linear(_0, weight_hh, bias_hh)
  _2 = torch.linear(input, weight_ih, bias_ih)
  _3 = torch.unsafe_chunk(torch.add_(_1, _2), 4, 1)
  _4, _5, _6, _7, = _3
  _8 = torch.sigmoid_(_4)
  _9 = torch.sigmoid_(_5)
  _10 = torch.tanh_(_6)
  _11 = torch.sigmoid_(_7)
  _12 = torch.add_(torch.mul(_9, value), torch.mul(_8, _10))
  _13 = (torch.mul(_11, torch.tanh(_12)), _12)
  return _13
""",
}


@pytest.mark.parametrize("name", list(TRACED_CODE))
def test_trace_records_the_aten_decomposition(name):
    module = _make(minijit, name)
    traced = _trace(minijit, module, _inputs(minijit, name))
    traced.graph.lint()
    assert traced.code == TRACED_CODE[name]
    # The gates keep the strides the in-place ops leave: views into the (2, 3 * gates) buffer.
    if name == "gru":
        text = str(traced.graph)
        assert re.search(r"= aten::sigmoid_\(%\d+\)", text)
        assert text.count("Float(2, 3, strides=[9, 1], requires_grad=1, device=cpu) = "
                          "aten::sigmoid_(") == 2


def test_trace_names_values_only_after_forward_locals():
    """The decomposition runs in ``minijit/ops``, whose locals never name a value: only the
    inputs, the parameters and ``forward``'s own ``value`` (the loop over ``hx``) are named."""
    traced = _trace(minijit, _make(minijit, "lstm"), _inputs(minijit, "lstm"))
    named = [v.debug_name for n in traced.graph.block.nodes for v in n.outputs
             if v.has_debug_name()]
    assert sorted(named) == ["bias_hh", "bias_ih", "value", "weight_hh", "weight_ih"]


# ---- running: eager, the scripted module and the trace agree ------------------------------
def _run_all(module, scripted, traced, name, grad):
    results = []
    for runner in (module, scripted, traced):
        args = _inputs(minijit, name, requires_grad=grad)
        for p in module.parameters():
            p.grad = None
        out = _flat(runner(*args))
        values = [_np(o).copy() for o in out]
        grads = None
        if grad:
            sum(((k + 1) * o).sum() for k, o in enumerate(out)).backward()
            grads = [_np(t.grad).copy() for t in _leaves(args) + list(module.parameters())]
        results.append((values, grads, [o.grad_fn and o.grad_fn.name() for o in out]))
    return results


@pytest.mark.parametrize("name", list(CELLS))
def test_scripted_and_traced_cells_agree_with_eager(name):
    module = _make(minijit, name)
    scripted = minijit.jit.script(module)
    traced = _trace(minijit, module, _inputs(minijit, name))
    for call in range(3):          # the first call profiles, later ones run the optimised plan
        for grad in (False, True):
            (ev, eg, en), *others = _run_all(module, scripted, traced, name, grad)
            for values, grads, names in others:
                for a, b in zip(values, ev):
                    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
                if grad:
                    assert names == en
                    for a, b in zip(grads, eg):
                        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["gru", "rnn_relu", "lstm", "gru_no_hx"])
def test_the_optimised_plan_runs_the_scripted_cell(name):
    """No fallback: the executor's passes handle the cell's graph (its ``uninitialized``
    ``Optional[Tensor]`` included) and give eager's values and gradients."""
    module = _make(minijit, name)
    scripted = minijit.jit.script(module)
    ex = GraphExecutor(scripted._methods["forward"].graph,
                       OptimizationOptions(profiling_runs=0, fallback_on_error=False))
    for grad in (False, True):
        args = _inputs(minijit, name, requires_grad=grad)
        eager_args = _inputs(minijit, name, requires_grad=grad)
        missing = (None,) * (2 - len(args))           # (the executor takes every input)
        got, want = _flat(ex.run((scripted,) + args + missing)), _flat(module(*eager_args))
        for g, w in zip(got, want):
            np.testing.assert_allclose(_np(g), _np(w), rtol=1e-6, atol=1e-7)
        if grad:
            sum(o.sum() for o in got).backward()
            sum(o.sum() for o in want).backward()
            for a, b in zip(_leaves(args), _leaves(eager_args)):
                np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call,message", [
    ("nn.GRUCell(4, 3)(torch.rand(2, 5), torch.rand(2, 3))",
     "input has inconsistent input_size: got 5 expected 4"),
    ("nn.GRUCell(4, 3)(torch.rand(2, 4), torch.rand(3, 3))",
     "Input batch size 2 doesn't match hidden0 batch size 3"),
    ("nn.LSTMCell(4, 3)(torch.rand(2, 4), (torch.rand(2, 3), torch.rand(2, 4)))",
     "hidden1 has inconsistent hidden_size: got 4, expected 3"),
    ("torch.lstm_cell(torch.rand(2, 4), [torch.rand(2, 3)], torch.rand(12, 4), torch.rand(12, 3))",
     "lstm_cell expects two hidden states"),
    ("nn.RNNCell(4, 3, nonlinearity='foo')(torch.rand(2, 4))", "Unknown nonlinearity: foo"),
])
def test_errors_are_atens(call, message):
    with pytest.raises(RuntimeError) as info:
        eval(call, {"torch": minijit, "nn": minijit.nn})
    assert str(info.value) == message


# ---- against PyTorch ------------------------------------------------------------------------
def _normalise(text):
    text = re.sub(r"%\d+", "%N", text)
    text = re.sub(r"\.___torch_mangle_\d+", "", text)
    return re.sub(r"# (\S*/)?([^/\s]+\.py):\d+:\d+", r"# \2", text)   # library lines


def _pair(name):
    """The module in both libraries, with minijit's parameters copied into PyTorch's."""
    torch = pytest.importorskip("torch")
    ours, theirs = _make(minijit, name), _make(torch, name)
    with torch.no_grad():
        for (n, p), (m, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert n == m
            q.copy_(torch.from_numpy(_np(p).copy()))
    return torch, ours, theirs


@pytest.mark.conformance
@pytest.mark.parametrize("name", list(CELLS))
def test_scripted_graph_and_code_match_pytorch(name):
    torch, ours, theirs = _pair(name)
    s_m, s_t = minijit.jit.script(ours), torch.jit.script(theirs)
    assert _normalise(str(s_m.graph)) == _normalise(str(s_t.graph))
    assert s_m.code == s_t.code


# (The ``no_hx`` cells make their hidden state with ``torch.zeros(input.size(0), ...)``: the
# trace records ``aten::size`` + ``prim::NumToTensor`` + ``aten::Int``, as PyTorch's.)
@pytest.mark.conformance
@pytest.mark.parametrize("name", list(CELLS))
def test_traced_graph_and_code_match_pytorch(name):
    torch, ours, theirs = _pair(name)
    t_m = _trace(minijit, ours, _inputs(minijit, name))
    t_t = _trace(torch, theirs, _inputs(torch, name))
    assert _normalise(str(t_m.graph)) == _normalise(str(t_t.graph))
    assert t_m.code == t_t.code


@pytest.mark.conformance
@pytest.mark.parametrize("name", list(CELLS))
def test_values_gradients_and_grad_fns_match_pytorch(name):
    torch, ours, theirs = _pair(name)
    runners = [(ours, minijit.jit.script(ours), _trace(minijit, ours, _inputs(minijit, name))),
               (theirs, torch.jit.script(theirs), _trace(torch, theirs, _inputs(torch, name)))]
    for call in range(3):
        for which in range(3):              # eager, scripted, traced
            results = []
            for lib, (module, *compiled) in zip((minijit, torch), runners):
                runner = (module, *compiled)[which]
                args = _inputs(lib, name, requires_grad=True, seed=10 + call)
                for p in module.parameters():
                    p.grad = None
                out = _flat(runner(*args))
                sum(((k + 1) * o).sum() for k, o in enumerate(out)).backward()
                results.append((out, _leaves(args) + list(module.parameters())))
            (out_m, leaves_m), (out_t, leaves_t) = results
            for a, b in zip(out_m, out_t):
                np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-6)
                if which == 0 or call == 0:      # (PyTorch's optimised plans differ in names)
                    assert a.grad_fn.name() == type(b.grad_fn).__name__
            for a, b in zip(leaves_m, leaves_t):
                np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-5, atol=1e-6)
