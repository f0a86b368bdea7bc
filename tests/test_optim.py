"""Tests for minijit.optim: SGD and Adam updates, param groups, state dicts.

Plain tests check hand-computed updates and bookkeeping; ``conformance`` tests run the same
training loop (or the same fixed gradients) in minijit and torch 2.13 (``foreach=False``) and
compare the parameter trajectories step by step.
"""
import copy

import numpy as np
import pytest

import minijit
import minijit.nn as nn
from minijit import optim


def _tensor(array, requires_grad=True):
    t = minijit.from_numpy(np.array(array, dtype=np.float32))
    return t.requires_grad_(requires_grad)


# ---- without torch -------------------------------------------------------------------------------
def test_sgd_plain_and_momentum_by_hand():
    w = _tensor([1.0, -2.0])
    opt = optim.SGD([w], lr=0.1, momentum=0.5)
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()     # grad = 2 w
        opt.step()
    # step 1: buf = 2w0, w1 = w0 - 0.1 * 2 w0 = 0.8 w0
    # step 2: buf = 0.5 * 2w0 + 2w1 = 2.6 w0, w2 = 0.8 w0 - 0.26 w0 = 0.54 w0
    np.testing.assert_allclose(w.detach().numpy(), [0.54, -1.08], rtol=1e-6)
    assert set(opt.state[w]) == {"momentum_buffer"}
    assert w.requires_grad and w.grad_fn is None


def test_adam_first_step_is_lr_times_sign():
    w = _tensor([3.0, -0.5, 0.0])
    opt = optim.Adam([w], lr=0.01)
    w.grad = _tensor([0.2, -4.0, 0.0], requires_grad=False)
    opt.step()
    # m_hat = g, v_hat = g^2: the first step is lr * g / (|g| + eps).
    np.testing.assert_allclose(w.detach().numpy(), [2.99, -0.49, 0.0], rtol=1e-6, atol=1e-7)
    state = opt.state[w]
    assert state["step"].item() == 1.0 and state["step"].dtype is minijit.float32
    assert state["step"].shape == ()


def test_params_without_grad_are_skipped():
    a, b = _tensor([1.0]), _tensor([2.0])
    opt = optim.SGD([a, b], lr=1.0)
    a.grad = _tensor([1.0], requires_grad=False)
    opt.step()
    assert a.item() == 0.0 and b.item() == 2.0


def test_param_groups_and_errors():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    opt = optim.SGD([{"params": model[0].parameters()},
                     {"params": model[1].parameters(), "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        opt.add_param_group({"params": [model[0].weight]})
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an "
                                        "iterable of Tensors or dicts, but got "
                                        "torch.FloatTensor"):
        optim.SGD(minijit.zeros(2), lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([minijit.ones(2, requires_grad=True) * 2])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.Adam(model.parameters(), lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero "
                                         "dampening"):
        optim.SGD(model.parameters(), nesterov=True)


def test_zero_grad():
    w = _tensor([1.0])
    opt = optim.Adam([w])
    w.grad = _tensor([3.0], requires_grad=False)
    opt.zero_grad(set_to_none=False)
    assert w.grad.item() == 0.0
    opt.zero_grad()
    assert w.grad is None


def test_state_dict_round_trip_continues_identically():
    def run(opt, w, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((w - 3) ** 2).sum().backward()
            opt.step()

    w1 = _tensor([0.0, 1.0])
    opt1 = optim.Adam([w1], lr=0.1, amsgrad=True)
    run(opt1, w1, 3)
    sd = opt1.state_dict()
    assert list(sd) == ["state", "param_groups"] and list(sd["state"]) == [0]
    assert sd["param_groups"][0]["params"] == [0]
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]

    w2 = _tensor(w1.detach().numpy())
    opt2 = optim.Adam([w2], lr=0.5)
    opt2.load_state_dict(copy.deepcopy(sd))
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["params"][0] is w2
    run(opt1, w1, 2)
    run(opt2, w2, 2)
    assert w1.detach().numpy().tobytes() == w2.detach().numpy().tobytes()
    with pytest.raises(ValueError, match="loaded state dict has a different number of "
                                         "parameter groups"):
        opt2.load_state_dict({"state": {}, "param_groups": []})


def test_repr_golden():
    opt = optim.SGD([_tensor([1.0])], lr=0.1)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n"
                         "    foreach: None\n    fused: None\n    lr: 0.1\n    maximize: False\n"
                         "    momentum: 0\n    nesterov: False\n    weight_decay: 0\n)")


def test_training_reduces_loss():
    minijit.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    x = minijit.randn(32, 2)
    y = (x[:, 0:1] * x[:, 1:2]).detach()
    opt = optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.MSELoss()
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first


# ---- conformance with torch 2.13 -----------------------------------------------------------------
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), maximize=True)),
    ("Adam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.003, betas=(0.6, 0.99), eps=1e-6)),
]


def _trajectory(lib, name, kwargs, steps=8, fixed_grads=False):
    """Parameters after each step of a small regression loop (or of fixed random grads)."""
    rng = np.random.default_rng(11)
    w0 = rng.standard_normal((4, 3)).astype(np.float32)
    b0 = rng.standard_normal(3).astype(np.float32)
    x = lib.from_numpy(rng.standard_normal((6, 4)).astype(np.float32))
    y = lib.from_numpy(rng.standard_normal((6, 3)).astype(np.float32))
    grads = [(rng.standard_normal((4, 3)).astype(np.float32),
              rng.standard_normal(3).astype(np.float32)) for _ in range(steps)]
    w = lib.from_numpy(w0).requires_grad_()
    b = lib.from_numpy(b0).requires_grad_()
    opt = getattr(lib.optim, name)([w, b], **kwargs)
    out = []
    for step in range(steps):
        opt.zero_grad()
        if fixed_grads:
            w.grad = lib.from_numpy(grads[step][0].copy())
            b.grad = lib.from_numpy(grads[step][1].copy())
        else:
            ((x @ w + b).tanh() - y).pow(2).mean().backward()
        opt.step()
        out.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    return np.array(out)


@pytest.mark.conformance
@pytest.mark.parametrize("fixed_grads", [False, True])
@pytest.mark.parametrize("name,kwargs", CASES)
def test_trajectory_matches_torch(name, kwargs, fixed_grads):
    pytest.importorskip("torch")
    import torch
    mine = _trajectory(minijit, name, kwargs, fixed_grads=fixed_grads)
    theirs = _trajectory(torch, name, dict(kwargs, foreach=False), fixed_grads=fixed_grads)
    np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.conformance
@pytest.mark.parametrize("name,kwargs", [CASES[2], CASES[5]])
def test_repr_and_state_dict_layout_match_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    mine = getattr(optim, name)([_tensor([1.0, 2.0])], **kwargs)
    theirs = getattr(torch.optim, name)([torch.tensor([1.0, 2.0], requires_grad=True)], **kwargs)
    assert repr(mine) == repr(theirs)
    for opt, lib in ((mine, minijit), (theirs, torch)):
        p = opt.param_groups[0]["params"][0]
        p.grad = lib.ones(2)
        opt.step()
    sd, sd_t = mine.state_dict(), theirs.state_dict()
    assert sd["param_groups"] == sd_t["param_groups"]
    assert list(sd["state"]) == list(sd_t["state"])
    for key, value in sd["state"][0].items():
        value_t = sd_t["state"][0][key]
        assert tuple(value.shape) == tuple(value_t.shape), key
        assert value.dtype.name == str(value_t.dtype)[6:], key
        np.testing.assert_allclose(value.numpy(), value_t.numpy(), rtol=1e-6)
