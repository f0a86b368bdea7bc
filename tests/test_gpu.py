"""Devices end to end: moving tensors and modules, the seed tutorial's models on the GPU, and
saving on the GPU then loading on the CPU.

Every test runs on ``cpu`` (so the test itself is checked everywhere) and, with the ``gpu``
marker, on ``cuda``, where it must give the CPU's numbers (float32 tolerances).
"""
from __future__ import annotations

import warnings
from typing import Any, List

import numpy as np
import pytest

import minijit
import minijit as torch

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


def _host(t: Any) -> np.ndarray:
    return np.asarray(t.detach().cpu()._data)


def _close(got: List[np.ndarray], want: List[np.ndarray]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def seed_models(device: str, tmp_path: Any) -> List[np.ndarray]:
    """The seed tutorial's cell, scripted gate, scripted loop and traced wrapper, with the
    model and inputs moved to ``device``; every value it prints, as NumPy arrays."""
    torch.manual_seed(191009)

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

    outs = []
    x, h = torch.rand(3, 4).to(device), torch.rand(3, 4).to(device)
    my_cell = MyCell(MyDecisionGate()).to(device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced_cell = torch.jit.trace(my_cell, (x, h))
    outs += [my_cell(x, h)[0], traced_cell(x, h)[0]]
    scripted_gate = torch.jit.script(MyDecisionGate())
    scripted_cell = torch.jit.script(MyCell(scripted_gate).to(device))
    outs.append(scripted_cell(x, h)[0])

    class MyRNNLoop(torch.nn.Module):
        def __init__(self):
            super(MyRNNLoop, self).__init__()
            self.cell = torch.jit.trace(MyCell(scripted_gate).to(device), (x, h))

        def forward(self, xs):
            # The seed writes torch.zeros(3, 4): on the CPU, whatever the device of xs.
            h, y = torch.zeros(3, 4, device=xs.device), torch.zeros(3, 4, device=xs.device)
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

    xs = torch.rand(10, 3, 4).to(device)
    traced = torch.jit.trace(WrapRNN(), (xs,))
    out = traced(xs)
    assert out.device.type == device
    outs.append(out)
    path = str(tmp_path / f"wrapped_rnn_{device}.pt")
    traced.save(path)
    loaded = torch.jit.load(path, map_location="cpu")          # saved on device, loaded on CPU
    outs.append(loaded(xs.cpu()))
    assert outs[-1].device.type == "cpu"
    return [_host(o) for o in outs]


@pytest.mark.parametrize("device", DEVICES)
def test_seed_tutorial_models_on_a_device_match_the_cpu(device, tmp_path):
    got = seed_models(device, tmp_path)
    want = seed_models("cpu", tmp_path)
    _close(got, want)
    np.testing.assert_allclose(got[-1], got[-2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_modules_move_and_train_on_a_device(device):
    def train(dev: str) -> List[np.ndarray]:
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(),
                                    torch.nn.Linear(16, 2)).to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x, y = torch.rand(5, 8).to(dev), torch.rand(5, 2).to(dev)
        for _ in range(3):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
        assert all(p.device.type == dev for p in model.parameters())
        return [_host(p) for p in model.parameters()] + [_host(loss)]
    _close(train(device), train("cpu"))


@pytest.mark.gpu
def test_device_spellings_and_mixing_devices():
    x = minijit.rand(2, 3)
    assert minijit.cuda.is_available() and minijit.cuda.device_count() >= 1
    for y in (x.cuda(), x.to("cuda"), x.to("cuda:0"), x.to(minijit.device("cuda", 0)),
              minijit.rand(2, 3, device="cuda"), minijit.zeros(2, 3, device="cuda:0")):
        assert y.is_cuda and str(y.device) == "cuda:0"
    assert x.cuda().cpu().tolist() == x.tolist()
    m = minijit.nn.Linear(3, 1).cuda()
    assert m.weight.device == minijit.device("cuda:0")
    assert m.cpu().weight.device.type == "cpu"
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but "
                                           "found at least two devices, cuda:0 and cpu!"):
        x.cuda() + x
    assert "device='cuda:0'" in repr(x.cuda())
