"""Tests for minijit.nn: Module machinery, layers, init, functional, reprs and error texts.

* Plain tests need only NumPy: registration and traversal, state dicts, modes, conversion,
  hooks, the tracer hand-off, golden reprs and error texts, golden RNG bits recorded from
  torch 2.13, and the docstring examples.
* ``conformance`` tests import torch and compare reprs, error texts, initial values (bit for
  bit) and forward values and gradients of every module and function with the same weights.
"""
import copy
import doctest
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import minijit
import minijit.nn as nn
import minijit.nn.functional as F
from minijit.nn import init


def bits(a):
    a = np.ascontiguousarray(a)
    return [f"0x{v:08x}" for v in a.view(np.uint32).ravel().tolist()]


def mj_tensor(array, requires_grad=False):
    """A minijit tensor holding a copy of ``array`` (0-d arrays stay 0-d)."""
    t = minijit.from_numpy(np.array(array))
    return t.requires_grad_() if requires_grad else t


class MyCell(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x, h):
        return minijit.tanh(self.linear(x) + h)


class MyDecisionGate(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = MyCell()
        self.gate = MyDecisionGate()
        self.scale = nn.Parameter(minijit.ones(4))
        self.register_buffer("steps", minijit.zeros([], dtype=minijit.int64))
        self.register_buffer("cache", minijit.zeros(2), persistent=False)

    def forward(self, x):
        return self.gate(self.cell(x, x)) * self.scale


# ---- registration and traversal --------------------------------------------------------------
def test_setattr_registers_by_type():
    net = Net()
    assert list(net._parameters) == ["scale"]
    assert list(net._buffers) == ["steps", "cache"]
    assert list(net._modules) == ["cell", "gate"]
    assert "scale" not in net.__dict__ and "cell" not in net.__dict__
    net.note = "plain"                       # not a tensor, parameter or module
    assert net.__dict__["note"] == "plain"
    net.tmp = minijit.zeros(1)               # plain tensors are not registered
    assert "tmp" not in net._buffers and "tmp" in net.__dict__
    net.steps = minijit.ones([], dtype=minijit.int64)   # known buffer name: stays a buffer
    assert net._buffers["steps"].item() == 1
    net.cell = None                          # a module slot may be cleared
    assert net._modules["cell"] is None and net.cell is None


def test_names_and_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "cell.linear.weight",
                                                      "cell.linear.bias"]
    assert [n for n, _ in net.named_parameters(prefix="net", recurse=False)] == ["net.scale"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache"]
    assert [n for n, _ in net.named_children()] == ["cell", "gate"]
    assert [n for n, _ in net.named_modules()] == ["", "cell", "cell.linear", "gate"]
    assert [type(m).__name__ for m in net.modules()] == ["Net", "MyCell", "Linear",
                                                         "MyDecisionGate"]
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert net.get_submodule("cell.linear") is net.cell.linear
    assert net.get_parameter("cell.linear.bias") is net.cell.linear.bias
    assert net.get_buffer("steps") is net.steps
    with pytest.raises(AttributeError, match="MyCell has no attribute `conv`"):
        net.get_submodule("cell.conv")


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert len(list(seq.modules())) == 3
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_getattr_delattr_and_dir():
    lin = nn.Linear(2, 3)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
        lin.foo  # noqa: B018
    assert not hasattr(lin, "foo")
    assert callable(getattr(lin, "forward"))  # noqa: B009 - the point of the test
    assert {"weight", "bias", "in_features", "forward"} <= set(dir(lin))
    del lin.bias
    assert "bias" not in lin._parameters
    assert "0" not in dir(nn.Sequential(nn.ReLU()))


def test_registration_errors():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter "
                                        r"'weight' \(torch.nn.Parameter or None expected\)"):
        lin.weight = minijit.zeros(2, 2)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        lin.register_buffer("weight", minijit.zeros(1))
    with pytest.raises(KeyError):
        lin.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        lin.add_module("x", 3)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(minijit.zeros(1))

    with pytest.raises(AttributeError, match=r"cannot assign parameters before "
                                             r"Module.__init__\(\) call"):
        Early()
    nonleaf = minijit.ones(2, requires_grad=True) * 2
    assert nn.Parameter(nonleaf).is_leaf            # a Parameter is always a leaf
    with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required '
                                                  '"forward" function'):
        nn.Module()(1)


# ---- Parameter -----------------------------------------------------------------------------------
def test_parameter_basics():
    data = minijit.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert isinstance(p, minijit.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p._data is data._data   # shares memory
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert repr(nn.Parameter(data, requires_grad=False)) == \
        "Parameter containing:\ntensor([1., 2.])"
    assert repr(nn.Parameter()) == "Parameter containing:\ntensor([], requires_grad=True)"
    assert type(p * 2) is minijit.Tensor                          # ops give plain tensors
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype "
                                           "can require gradients"):
        nn.Parameter(minijit.tensor([1, 2]))
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad and q._data is not p._data
    assert q.tolist() == [1.0, 2.0]
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is nn.Parameter and r.requires_grad and r.tolist() == [1.0, 2.0]


def test_buffer_marker():
    m = nn.Module()
    m.b = nn.Buffer(minijit.ones(2), persistent=False)
    assert "b" in m._buffers and "b" in m._non_persistent_buffers_set
    assert list(m.state_dict()) == []


# ---- state dict ----------------------------------------------------------------------------------
def test_state_dict_round_trip():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["scale", "steps", "cell.linear.weight", "cell.linear.bias"]
    assert sd._metadata == OrderedDict([("", {"version": 1}), ("cell", {"version": 1}),
                                        ("cell.linear", {"version": 1}), ("gate", {"version": 1})])
    assert all(not v.requires_grad and v.grad_fn is None for v in sd.values())
    assert sd["scale"]._data is a.scale._data                      # detached, not copied
    assert a.state_dict(keep_vars=True)["scale"] is a.scale
    assert list(a.state_dict(prefix="m.")) [0] == "m.scale"
    weight = b.cell.linear.weight
    result = b.load_state_dict(sd)
    assert repr(result) == "<All keys matched successfully>"
    assert b.cell.linear.weight is weight                          # copied in place
    assert np.array_equal(b.cell.linear.weight.detach().numpy(),
                          a.cell.linear.weight.detach().numpy())


def test_load_state_dict_errors_golden():
    lin = nn.Linear(4, 4)
    with pytest.raises(RuntimeError) as info:
        lin.load_state_dict({"weight": minijit.zeros(4, 4), "foo": minijit.zeros(1)})
    assert str(info.value) == ('Error(s) in loading state_dict for Linear:\n\tMissing key(s) in '
                               'state_dict: "bias". \n\tUnexpected key(s) in state_dict: "foo". ')
    with pytest.raises(RuntimeError) as info:
        lin.load_state_dict({"weight": minijit.zeros(3, 4), "bias": minijit.zeros(4)})
    assert str(info.value) == (
        "Error(s) in loading state_dict for Linear:\n\tsize mismatch for weight: copying a "
        "param with shape torch.Size([3, 4]) from checkpoint, the shape in current model is "
        "torch.Size([4, 4]).")
    keys = lin.load_state_dict({"weight": minijit.zeros(4, 4), "x.y": minijit.zeros(1)},
                               strict=False)
    assert repr(keys) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['x.y'])"
    assert lin.weight.abs().sum().item() == 0
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        lin.load_state_dict([1])


# ---- modes, gradients, conversion ----------------------------------------------------------------
def test_train_eval_and_dropout_mode():
    net = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    assert net.training and net[1].training
    assert net.eval() is net and not net[1].training
    x = minijit.ones(3)
    assert F.dropout(x, 0.5, training=False) is x
    assert net[1](x) is x
    net.train()
    assert net[0].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")


def test_zero_grad_and_requires_grad():
    lin = nn.Linear(3, 2)
    lin(minijit.ones(1, 3)).sum().backward()
    assert lin.weight.grad is not None
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad.abs().sum().item() == 0
    lin.zero_grad()
    assert lin.weight.grad is None
    lin.requires_grad_(False)
    assert not any(p.requires_grad for p in lin.parameters())


def test_to_double_keeps_parameter_objects():
    net = Net()
    weight = net.cell.linear.weight
    assert net.double() is net
    assert net.cell.linear.weight is weight and weight.dtype is minijit.float64
    assert net.steps.dtype is minijit.int64                # integer buffers keep their dtype
    net.to(minijit.float32)
    assert weight.dtype is minijit.float32
    net.to("cpu")
    net.to(minijit.zeros(1, dtype=minijit.float64))
    assert weight.dtype is minijit.float64
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex "
                                        "dtypes, but got desired dtype=torch.int64"):
        net.to(minijit.int64)


def test_apply_and_hooks():
    seen = []
    net = Net()
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "MyCell", "MyDecisionGate", "Net"]
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append("post") or out + 1)
    out = lin(minijit.ones(1, 2))
    assert calls == ["pre", "post"]
    assert np.allclose(out.detach().numpy(), lin.bias.detach().numpy() + 1)
    h1.remove()
    h2.remove()
    assert not lin._forward_hooks and not lin._forward_pre_hooks


def test_call_hands_over_to_tracer():
    from minijit.ops import dispatch

    class FakeTracer:
        def call_module(self, module, args, kwargs):
            return ("traced", type(module).__name__, args, kwargs)

    lin = nn.Linear(2, 2)
    dispatch.TRACE_STATE.tracer = FakeTracer()
    try:
        assert lin(1, k=2) == ("traced", "Linear", (1,), {"k": 2})
    finally:
        dispatch.TRACE_STATE.tracer = None
    assert nn.Module.__call__ is nn.Module._call_impl


def test_deepcopy_and_pickle_module():
    net = Net()
    clone = copy.deepcopy(net)
    assert clone.cell.linear.weight is not net.cell.linear.weight
    assert isinstance(clone.cell.linear.weight, nn.Parameter)
    assert np.array_equal(clone.cell.linear.weight.detach().numpy(),
                          net.cell.linear.weight.detach().numpy())
    again = pickle.loads(pickle.dumps(net))
    assert list(again.state_dict()) == list(net.state_dict())


# ---- containers ----------------------------------------------------------------------------------
def test_sequential():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]._modules) == ["1", "2"]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    seq.append(nn.Tanh())
    assert list(seq._modules) == ["0", "1", "2", "3"]
    del seq[0]
    assert list(seq._modules) == ["0", "1", "2"] and isinstance(seq[0], nn.ReLU)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    x = minijit.ones(4, 2)
    assert np.allclose(named(x).detach().numpy(), named.act(named.fc(x)).detach().numpy())
    with pytest.raises(IndexError, match="index 5 is out of range"):
        named[5]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.ReLU()])
    ml.append(nn.Tanh())
    ml.extend([nn.Sigmoid()])
    ml += [nn.GELU()]
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "ReLU", "Tanh", "Sigmoid", "GELU"]
    assert len(ml) == 5 and isinstance(ml[-1], nn.GELU) and len(ml[1:3]) == 2
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    md.update([("c", nn.Tanh())])
    assert list(md) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    assert isinstance(md.pop("a"), nn.Linear) and list(md.keys()) == ["b", "c"]


# ---- reprs (golden, recorded from torch 2.13) ---------------------------------------------------
def test_repr_golden():
    assert repr(MyCell()) == ("MyCell(\n  (linear): Linear(in_features=4, out_features=4, "
                              "bias=True)\n)")
    assert repr(MyDecisionGate()) == "MyDecisionGate()"
    assert repr(Net()) == (
        "Net(\n  (cell): MyCell(\n    (linear): Linear(in_features=4, out_features=4, "
        "bias=True)\n  )\n  (gate): MyDecisionGate()\n)")
    assert repr(nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])) == (
        "ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n"
        "  (3): ReLU()\n)")
    assert [repr(m) for m in (nn.Dropout(), nn.Softmax(1), nn.GELU(), nn.LayerNorm(4),
                              nn.RNNCell(3, 4), nn.LSTMCell(3, 4, bias=False),
                              nn.Embedding(5, 2, padding_idx=0), nn.CrossEntropyLoss())] == [
        "Dropout(p=0.5, inplace=False)", "Softmax(dim=1)", "GELU(approximate='none')",
        "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)", "RNNCell(3, 4)",
        "LSTMCell(3, 4, bias=False)", "Embedding(5, 2, padding_idx=0)", "CrossEntropyLoss()"]


# ---- RNG-exact initialisation (golden bits recorded from torch 2.13) ----------------------------
def test_linear_init_golden_bits():
    minijit.manual_seed(191009)
    lin = nn.Linear(4, 4)
    assert bits(lin.weight.detach().numpy()) == [
        "0xbe2c8c04", "0x3efd0e64", "0xbec96a16", "0x3e03686c", "0xbe971646", "0xbe1d5be0",
        "0x3ef5b360", "0xbdc68218", "0xbec8e812", "0x3ead9940", "0xbee54606", "0xbef8555a",
        "0x3ea97da2", "0xbce12fc0", "0x3e4b8e68", "0x3d567130"]
    assert bits(lin.bias.detach().numpy()) == ["0xbe07122c", "0xbed76338", "0xbe546a04",
                                               "0x3d08bfa0"]
    minijit.manual_seed(0)
    cell = nn.GRUCell(2, 2)
    assert bits(cell.weight_hh.detach().numpy()) == [
        "0xbf2cefc2", "0xbeefc590", "0xbe953d9f", "0x3cd6944c", "0x3e8f206b", "0x3ed93b40",
        "0xbef570de", "0xbe9da786", "0x3e837fa7", "0x3f1650f7", "0xbe1503e7", "0x3f07757a"]


def test_dropout_golden_mask():
    minijit.manual_seed(0)
    assert F.dropout(minijit.ones(8), 0.5).tolist() == [0, 0, 2, 0, 0, 0, 2, 2]


def test_init_functions_basic():
    assert init.calculate_gain("relu") == 2 ** 0.5 and init.calculate_gain("tanh") == 5.0 / 3
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    w = minijit.empty(3, 5, requires_grad=True)
    assert init.constant_(w, 0.5) is w and w.tolist() == [[0.5] * 5] * 3
    assert w.requires_grad and w.grad_fn is None
    assert init.eye_(minijit.empty(2, 3)).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert init.zeros_(w).abs().sum().item() == 0
    assert init._calculate_fan_in_and_fan_out(minijit.empty(4, 3, 2, 2)) == (12, 16)
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        init.xavier_uniform_(minijit.empty(3))
    t = init.trunc_normal_(minijit.empty(1000), std=2.0, a=-1.0, b=1.5)
    assert -1.0 <= t.min().item() and t.max().item() <= 1.5
    with warnings.catch_warnings(record=True) as w_list:
        warnings.simplefilter("always")
        init.kaiming_uniform_(minijit.empty(0, 3))
    assert "Initializing zero-element tensors is a no-op" in str(w_list[0].message)


# ---- functional (no torch) -----------------------------------------------------------------------
def test_functional_shapes_and_errors():
    x = minijit.randn(2, 3, 4)
    assert F.layer_norm(x, [3, 4]).shape == (2, 3, 4)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[5\], expected input with "
                                           r"shape \[\*, 5\], but got input of size"
                                           r"\[2, 3, 4\]"):
        F.layer_norm(x, [5])
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but "
                                         "got 1.5"):
        F.dropout(x, 1.5)
    assert F.dropout(x, 1.0).abs().sum().item() == 0
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        F.softmax(minijit.ones(2, 3))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target "
                                         r"batch_size \(2\)."):
        F.nll_loss(minijit.randn(3, 4), minijit.tensor([0, 1]))
    emb = F.embedding(minijit.tensor([[0, 2]]), minijit.randn(3, 5))
    assert emb.shape == (1, 2, 5)
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices'"):
        F.embedding(minijit.tensor([0.0]), minijit.randn(3, 5))
    assert F.one_hot(minijit.tensor([0, 2])).tolist() == [[1, 0, 0], [0, 0, 1]]


def test_embedding_padding_gets_no_grad():
    emb = nn.Embedding(4, 2, padding_idx=1)
    assert emb.weight[1].tolist() == [0.0, 0.0]
    emb(minijit.tensor([1, 2, 1])).sum().backward()
    assert emb.weight.grad[1].tolist() == [0.0, 0.0]
    assert emb.weight.grad[2].tolist() == [1.0, 1.0]


def test_cells_unbatched_and_errors():
    cell = nn.LSTMCell(3, 4)
    h, c = cell(minijit.randn(3))
    assert h.shape == (4,) and c.shape == (4,)
    assert nn.GRUCell(3, 4)(minijit.randn(2, 3), minijit.randn(2, 4)).shape == (2, 4)
    assert nn.RNNCell(3, 4, nonlinearity="relu")(minijit.randn(3)).min().item() >= 0
    with pytest.raises(ValueError, match="RNNCell: Expected input to be 1D or 2D, got 3D "
                                         "instead"):
        nn.RNNCell(3, 4)(minijit.randn(1, 2, 3))
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 2 expected 3"):
        nn.GRUCell(3, 4)(minijit.randn(2, 2))


@pytest.mark.parametrize("module", ["parameter", "init", "functional", "module",
                                    "modules.linear", "modules.container"])
def test_docstring_examples(module):
    import importlib
    mod = importlib.import_module(f"minijit.nn.{module}")
    assert doctest.testmod(mod).failed == 0


# --------------------------------------------------------------------------------------------------
# Conformance with torch 2.13
# --------------------------------------------------------------------------------------------------
def _to_torch(t, requires_grad=False):
    torch = pytest.importorskip("torch")
    out = torch.from_numpy(np.array(t.detach().numpy()))
    return out.requires_grad_(requires_grad)


def _copy_weights(mod, tmod):
    torch = pytest.importorskip("torch")
    tmod.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                          for k, v in mod.state_dict().items()})


def _both(fn):
    """``fn(lib)`` for minijit and torch, as repr text or ``'Type: message'``."""
    torch = pytest.importorskip("torch")
    out = []
    for lib in (minijit, torch):
        try:
            out.append(repr(fn(lib)))
        except Exception as exc:  # noqa: BLE001 - the error itself is compared
            out.append(f"{type(exc).__name__}: {exc}")
    return out


REPR_CASES = {
    "linear": lambda t: t.nn.Linear(3, 2, bias=False),
    "sequential": lambda t: t.nn.Sequential(t.nn.Linear(2, 3), t.nn.ReLU(),
                                            t.nn.Sequential(t.nn.Tanh(), t.nn.Linear(3, 1))),
    "modulelist": lambda t: t.nn.ModuleList([t.nn.Linear(2, 2), t.nn.Linear(2, 2),
                                             t.nn.ReLU(), t.nn.Linear(2, 2)]),
    "modulelist_empty": lambda t: t.nn.ModuleList(),
    "moduledict": lambda t: t.nn.ModuleDict({"a": t.nn.GELU(), "b": t.nn.GELU("tanh")}),
    "leaves": lambda t: [t.nn.Dropout(0.2, True), t.nn.Softmax(-1), t.nn.LogSoftmax(),
                         t.nn.LayerNorm([2, 3], elementwise_affine=False),
                         t.nn.LayerNorm(4, eps=1e-3, bias=False), t.nn.RNNCell(3, 4),
                         t.nn.RNNCell(3, 4, bias=False, nonlinearity="relu"),
                         t.nn.LSTMCell(3, 4), t.nn.GRUCell(3, 4), t.nn.MSELoss(),
                         t.nn.CrossEntropyLoss(), t.nn.NLLLoss(), t.nn.Identity(),
                         t.nn.Embedding(5, 2), t.nn.Embedding(5, 2, padding_idx=-1),
                         t.nn.ReLU(True), t.nn.LeakyReLU(0.2), t.nn.ELU(), t.nn.Softplus(),
                         t.nn.SiLU(), t.nn.L1Loss(), t.nn.Tanh(), t.nn.Sigmoid()],
    "parameter": lambda t: t.nn.Parameter(t.tensor([[1.0, 2.5], [3.0, 4.0]])),
    "parameter_nograd": lambda t: t.nn.Parameter(t.tensor([1.0]), requires_grad=False),
    "parameter_int": lambda t: t.nn.Parameter(t.tensor([1, 2])),
    "incompatible": lambda t: t.nn.Linear(2, 2).load_state_dict({"weight": t.zeros(2, 2)},
                                                                  strict=False),
}


@pytest.mark.conformance
@pytest.mark.parametrize("case", list(REPR_CASES))
def test_repr_matches_torch(case):
    mine, theirs = _both(REPR_CASES[case])
    assert mine == theirs


def _set_param(t):
    t.nn.Linear(2, 2).weight = t.zeros(2, 2)


def _set_child(t):
    setattr(t.nn.Sequential(t.nn.Linear(2, 2)), "0", 3)


def _assign_buffer(t):
    m = t.nn.Module()
    m.register_buffer("b", None)
    m.b = 3


ERROR_CASES = {
    "missing_unexpected": lambda t: t.nn.Linear(4, 4).load_state_dict(
        {"weight": t.zeros(4, 4), "foo": t.zeros(1), "bar.baz": t.zeros(1)}),
    "size_mismatch": lambda t: t.nn.Sequential(t.nn.Linear(4, 4)).load_state_dict(
        {"0.weight": t.zeros(3, 4), "0.bias": t.zeros(5)}),
    "not_tensor": lambda t: t.nn.Linear(4, 4).load_state_dict({"weight": 3, "bias": t.zeros(4)}),
    "no_attr": lambda t: t.nn.Linear(4, 4).foo,
    "set_param": _set_param,
    "set_child": _set_child,
    "assign_buffer": _assign_buffer,
    "buffer_exists": lambda t: t.nn.Linear(2, 2).register_buffer("weight", t.zeros(1)),
    "buffer_dot": lambda t: t.nn.Linear(2, 2).register_buffer("a.b", t.zeros(1)),
    "buffer_type": lambda t: t.nn.Linear(2, 2).register_buffer("x", 3),
    "param_type": lambda t: t.nn.Linear(2, 2).register_parameter("x", t.zeros(1)),
    "module_type": lambda t: t.nn.Linear(2, 2).add_module("x", 3),
    "module_empty_name": lambda t: t.nn.Linear(2, 2).add_module("", t.nn.ReLU()),
    "train_mode": lambda t: t.nn.Linear(2, 2).train("a"),
    "no_forward": lambda t: t.nn.Module()(1),
    "init_args": lambda t: t.nn.Module(3),
    "to_int": lambda t: t.nn.Linear(2, 2).to(t.int64),
    "dropout_p": lambda t: t.nn.Dropout(1.5),
    "seq_index": lambda t: t.nn.Sequential(t.nn.ReLU())[3],
    "ml_index": lambda t: t.nn.ModuleList([t.nn.ReLU()])[-2],
    "layer_norm_shape": lambda t: t.nn.functional.layer_norm(t.zeros(3, 4), [5]),
    "nll_batch": lambda t: t.nn.functional.nll_loss(t.zeros(3, 4), t.tensor([0, 1])),
    "nll_reduction": lambda t: t.nn.functional.nll_loss(t.zeros(2, 4), t.tensor([0, 1]),
                                                        reduction="avg"),
    "embedding_float": lambda t: t.nn.functional.embedding(t.tensor([0.0]), t.zeros(3, 2)),
    "one_hot_dtype": lambda t: t.nn.functional.one_hot(t.tensor([0, 1], dtype=t.int32)),
    "one_hot_range": lambda t: t.nn.functional.one_hot(t.tensor([0, 3]), 2),
    "rnn_input_dim": lambda t: t.nn.RNNCell(3, 4)(t.zeros(1, 2, 3)),
    "rnn_input_size": lambda t: t.nn.RNNCell(3, 4)(t.zeros(2, 2)),
    "gru_hidden_batch": lambda t: t.nn.GRUCell(3, 4)(t.zeros(2, 3), t.zeros(3, 4)),
    "lstm_hidden_size": lambda t: t.nn.LSTMCell(3, 4)(t.zeros(2, 3), (t.zeros(2, 4),
                                                                     t.zeros(2, 5))),
    "gain": lambda t: t.nn.init.calculate_gain("foo"),
    "fan": lambda t: t.nn.init.xavier_uniform_(t.zeros(3)),
    "kaiming_mode": lambda t: t.nn.init.kaiming_uniform_(t.zeros(3, 3), mode="fan"),
}


@pytest.mark.conformance
@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_error_text_matches_torch(case):
    mine, theirs = _both(ERROR_CASES[case])
    assert mine == theirs


INIT_CASES = {
    "linear": lambda t: t.nn.Linear(7, 5),
    "linear_nobias": lambda t: t.nn.Linear(3, 9, bias=False),
    "linear_double": lambda t: t.nn.Linear(4, 3, dtype=t.float64),
    "rnn": lambda t: t.nn.RNNCell(3, 5),
    "gru": lambda t: t.nn.GRUCell(4, 6),
    "lstm": lambda t: t.nn.LSTMCell(5, 3, bias=False),
    "embedding": lambda t: t.nn.Embedding(11, 3, padding_idx=2),
    "layer_norm": lambda t: t.nn.LayerNorm([2, 3]),
    "sequential": lambda t: t.nn.Sequential(t.nn.Linear(3, 4), t.nn.ReLU(), t.nn.Linear(4, 2)),
}


@pytest.mark.conformance
@pytest.mark.parametrize("case", list(INIT_CASES))
@pytest.mark.parametrize("seed", [0, 191009])
def test_init_bit_exact(case, seed):
    torch = pytest.importorskip("torch")
    minijit.manual_seed(seed)
    mine = INIT_CASES[case](minijit)
    torch.manual_seed(seed)
    theirs = INIT_CASES[case](torch)
    mine_sd, theirs_sd = mine.state_dict(), theirs.state_dict()
    assert list(mine_sd) == list(theirs_sd)
    for k in mine_sd:
        a, b = mine_sd[k].numpy(), theirs_sd[k].numpy()
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes(), k
    assert minijit.rand(3).tolist() == torch.rand(3).tolist()   # same generator position


INIT_FN_CASES = {
    "uniform": lambda t, w: t.nn.init.uniform_(w, -0.3, 0.7),
    "normal": lambda t, w: t.nn.init.normal_(w, 0.5, 2.0),
    "xavier_uniform": lambda t, w: t.nn.init.xavier_uniform_(w, gain=1.5),
    "xavier_normal": lambda t, w: t.nn.init.xavier_normal_(w),
    "kaiming_uniform": lambda t, w: t.nn.init.kaiming_uniform_(w, mode="fan_out",
                                                               nonlinearity="relu"),
    "kaiming_normal": lambda t, w: t.nn.init.kaiming_normal_(w, a=0.1),
    "trunc_normal_wide": lambda t, w: t.nn.init.trunc_normal_(w, 0.0, 1.0, -2.0, 2.0),
    "trunc_normal_narrow": lambda t, w: t.nn.init.trunc_normal_(w, 0.0, 1.0, 0.5, 0.9),
    "eye": lambda t, w: t.nn.init.eye_(w),
    "constant": lambda t, w: t.nn.init.constant_(w, 0.25),
}


@pytest.mark.conformance
@pytest.mark.parametrize("case", list(INIT_FN_CASES))
@pytest.mark.parametrize("shape", [(5, 7), (16, 3)])
def test_init_functions_bit_exact(case, shape):
    torch = pytest.importorskip("torch")
    minijit.manual_seed(1234)
    mine = INIT_FN_CASES[case](minijit, minijit.empty(*shape, requires_grad=True))
    torch.manual_seed(1234)
    theirs = INIT_FN_CASES[case](torch, torch.empty(*shape, requires_grad=True))
    assert mine.requires_grad and mine.grad_fn is None
    assert mine.detach().numpy().tobytes() == theirs.detach().numpy().tobytes()


@pytest.mark.conformance
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_bit_exact(p, dtype):
    torch = pytest.importorskip("torch")
    minijit.manual_seed(7)
    x = minijit.randn(33, 5, dtype=getattr(minijit, dtype), requires_grad=True)
    out = nn.Dropout(p)(x)
    torch.manual_seed(7)
    xt = torch.randn(33, 5, dtype=getattr(torch, dtype), requires_grad=True)
    out_t = torch.nn.Dropout(p)(xt)
    assert out.detach().numpy().tobytes() == out_t.detach().numpy().tobytes()
    assert out.grad_fn.name() == out_t.grad_fn.name() == "MulBackward0"
    out.sum().backward()
    out_t.sum().backward()
    assert x.grad.numpy().tobytes() == xt.grad.numpy().tobytes()


def _module_inputs(lib, arrays):
    return [lib.from_numpy(np.array(a)).requires_grad_(a.dtype.kind == "f")
            if isinstance(a, np.ndarray) else a for a in arrays]


_RNG = np.random.default_rng(2024)


def _f32(*shape):
    return _RNG.standard_normal(shape).astype(np.float32)


def _module_cases():
    x, h = _f32(3, 4), _f32(3, 5)
    probs = np.abs(_f32(3, 5))
    probs /= probs.sum(1, keepdims=True)
    weight = np.abs(_f32(5)) + 0.1
    return {
        "linear": (lambda t: t.nn.Linear(4, 5), [x]),
        "linear_3d": (lambda t: t.nn.Linear(4, 2, bias=False), [_f32(2, 3, 4)]),
        "sequential": (lambda t: t.nn.Sequential(t.nn.Linear(4, 6), t.nn.GELU(), t.nn.Linear(6, 2),
                                                 t.nn.Tanh(), t.nn.Sigmoid()), [x]),
        "activations": (lambda t: t.nn.Sequential(t.nn.ReLU(), t.nn.LeakyReLU(0.3), t.nn.ELU(0.7),
                                                  t.nn.Softplus(2.0, 1.0), t.nn.SiLU(),
                                                  t.nn.GELU("tanh"), t.nn.Softmax(-1)), [x]),
        "log_softmax": (lambda t: t.nn.LogSoftmax(0), [x]),
        "identity": (lambda t: t.nn.Sequential(t.nn.Identity(), t.nn.Linear(4, 4)), [x]),
        "layer_norm": (lambda t: t.nn.LayerNorm(4), [x * 3 + 1]),
        "layer_norm_2d": (lambda t: t.nn.LayerNorm([3, 4], eps=1e-3), [_f32(2, 3, 4)]),
        "rnn_tanh": (lambda t: t.nn.RNNCell(4, 5), [x, h]),
        "rnn_relu": (lambda t: t.nn.RNNCell(4, 5, nonlinearity="relu"), [x, h]),
        "rnn_nohx": (lambda t: t.nn.RNNCell(4, 5, bias=False), [x]),
        "gru": (lambda t: t.nn.GRUCell(4, 5), [x, h]),
        "gru_unbatched": (lambda t: t.nn.GRUCell(4, 5), [x[0], h[0]]),
        "lstm": (lambda t: t.nn.LSTMCell(4, 5), [x, (h, _f32(3, 5))]),
        "lstm_nohx": (lambda t: t.nn.LSTMCell(4, 5), [x]),
        "embedding": (lambda t: t.nn.Embedding(7, 3), [np.array([[0, 6, 2], [2, 2, 1]])]),
        "embedding_pad": (lambda t: t.nn.Embedding(7, 3, padding_idx=2),
                          [np.array([0, 6, 2, 2, 1])]),
        "mse": (lambda t: t.nn.MSELoss(), [x, _f32(3, 4)]),
        "mse_sum": (lambda t: t.nn.MSELoss(reduction="sum"), [x, _f32(3, 4)]),
        "mse_none": (lambda t: t.nn.MSELoss(reduction="none"), [x, _f32(3, 4)]),
        "l1": (lambda t: t.nn.L1Loss(), [x, _f32(3, 4)]),
        "ce": (lambda t: t.nn.CrossEntropyLoss(), [h, np.array([0, 4, 2])]),
        "ce_weight_ignore": (lambda t: t.nn.CrossEntropyLoss(weight=t.from_numpy(weight),
                                                             ignore_index=4),
                             [h, np.array([0, 4, 2])]),
        "ce_sum_smooth": (lambda t: t.nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.2),
                          [h, np.array([1, 3, -100])]),
        "ce_none_smooth_weight": (lambda t: t.nn.CrossEntropyLoss(
            weight=t.from_numpy(weight), reduction="none", label_smoothing=0.1),
            [h, np.array([1, 3, -100])]),
        "ce_mean_smooth_weight": (lambda t: t.nn.CrossEntropyLoss(
            weight=t.from_numpy(weight), label_smoothing=0.1), [h, np.array([1, 3, -100])]),
        "ce_probs": (lambda t: t.nn.CrossEntropyLoss(label_smoothing=0.1), [h, probs]),
        "ce_probs_weight_none": (lambda t: t.nn.CrossEntropyLoss(weight=t.from_numpy(weight),
                                                                 reduction="none"), [h, probs]),
        "ce_nd": (lambda t: t.nn.CrossEntropyLoss(), [_f32(2, 5, 3),
                                                      np.array([[0, 4, 1], [2, -100, 3]])]),
        "ce_unbatched": (lambda t: t.nn.CrossEntropyLoss(), [h[0], np.array(3)]),
        "nll": (lambda t: t.nn.Sequential(t.nn.LogSoftmax(1), t.nn.NLLLoss(reduction="sum")),
                [h, np.array([0, 4, 2])]),
        "dropout_eval": (lambda t: t.nn.Dropout(0.5).eval(), [x]),
    }


MODULE_CASES = _module_cases()


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in _flatten(item)]
    return [out]


def _run(lib, make, arrays):
    mod = make(lib)
    inputs = []
    for a in arrays:
        if isinstance(a, tuple):
            inputs.append(tuple(_module_inputs(lib, list(a))))
        else:
            inputs.append(_module_inputs(lib, [a])[0])
    return mod, inputs


@pytest.mark.conformance
@pytest.mark.parametrize("case", list(MODULE_CASES))
def test_module_forward_and_grads_match_torch(case):
    torch = pytest.importorskip("torch")
    make, arrays = MODULE_CASES[case]
    mod, inputs = _run(minijit, make, arrays)
    tmod, tinputs = _run(torch, make, arrays)
    if len(mod.state_dict()):
        _copy_weights(mod, tmod)
    if case.startswith("nll"):
        inputs = [inputs[0], inputs[1]]
    if case == "nll":
        out = mod[1](mod[0](inputs[0]), inputs[1])
        out_t = tmod[1](tmod[0](tinputs[0]), tinputs[1])
    else:
        out, out_t = mod(*inputs), tmod(*tinputs)
    outs, outs_t = _flatten(out), _flatten(out_t)
    assert len(outs) == len(outs_t)
    for a, b in zip(outs, outs_t):
        assert tuple(a.shape) == tuple(b.shape) and a.dtype.name == str(b.dtype)[6:]
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    total = sum((o * (i + 1)).sum() for i, o in enumerate(outs))
    total_t = sum((o * (i + 1)).sum() for i, o in enumerate(outs_t))
    total.backward()
    total_t.backward()
    for (name, p), (name_t, p_t) in zip(mod.named_parameters(), tmod.named_parameters()):
        assert name == name_t
        np.testing.assert_allclose(p.grad.numpy(), p_t.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    for a, b in zip(_flatten(inputs), _flatten(tinputs)):
        if isinstance(a, minijit.Tensor) and a.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.conformance
def test_grad_fn_names_of_single_op_functions_match_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    w = np.ones((5, 4), np.float32)
    cases = {
        "linear": lambda t, F, a: F.linear(a, t.from_numpy(w)),
        "relu": lambda t, F, a: F.relu(a), "gelu": lambda t, F, a: F.gelu(a),
        "silu": lambda t, F, a: F.silu(a), "softplus": lambda t, F, a: F.softplus(a),
        "elu": lambda t, F, a: F.elu(a), "leaky": lambda t, F, a: F.leaky_relu(a),
        "tanh": lambda t, F, a: F.tanh(a), "sigmoid": lambda t, F, a: F.sigmoid(a),
        "softmax": lambda t, F, a: F.softmax(a, 1),
        "log_softmax": lambda t, F, a: F.log_softmax(a, 0),
    }
    for name, fn in cases.items():
        a = fn(minijit, F, mj_tensor(x, True))
        b = fn(torch, torch.nn.functional, torch.from_numpy(x.copy()).requires_grad_())
        assert a.grad_fn.name() == b.grad_fn.name(), name
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.conformance
def test_state_dict_interoperates_with_torch():
    torch = pytest.importorskip("torch")
    minijit.manual_seed(3)
    mine = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4),
                                 torch.nn.Linear(4, 2))
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert mine.state_dict()._metadata == theirs.state_dict()._metadata
    back = {k: mj_tensor(v.numpy()) for k, v in theirs.state_dict().items()}
    assert repr(mine.load_state_dict(back)) == "<All keys matched successfully>"
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(mine(mj_tensor(x)).detach().numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
