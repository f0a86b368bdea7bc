"""Every op on every sample, on the GPU (CuPy) against the CPU (NumPy): same dtypes, same
shapes, same values, same gradients.  Needs CuPy and a CUDA device (the ``gpu`` marker)."""
from __future__ import annotations

import zlib
from typing import Any, List, Tuple

import numpy as np
import pytest

import minijit
from minijit.ops import dispatch, registry
from minijit.ops.registry import Tag
from minijit.ops.samples import map_tensors, sample_maker

pytestmark = pytest.mark.gpu


def _cases() -> List[Tuple[registry.OpInfo, int]]:
    cases = []
    for op in registry.all_ops():
        # Random ops draw on the CPU generator; CUDA generators differ (as in PyTorch).
        if Tag.RANDOM in op.tags:
            continue
        cases.extend((op, i) for i in range(len(op.sample_inputs(sample_maker(0)))))
    return cases


CASES = _cases()


def _host(value: Any) -> Any:
    if isinstance(value, minijit.Tensor):
        return ("tensor", value.dtype.name, tuple(value.shape), np.asarray(value.cpu()._data))
    if isinstance(value, (list, tuple)):
        return [_host(v) for v in value]
    return value


def _run(op: registry.OpInfo, index: int, device: str, grad: bool) -> Any:
    args, kwargs = op.sample_inputs(sample_maker(zlib.crc32(op.name.encode())))[index]
    leaves: list = []

    def move(t: Any) -> Any:
        t = t.to(device) if device != "cpu" else t
        if grad and t.dtype.is_floating_point:
            t = t.detach().requires_grad_(True)
            leaves.append(t)
        return t
    args, kwargs = map_tensors(list(args), move), map_tensors(kwargs, move)
    if Tag.INPLACE in op.tags and grad and args and isinstance(args[0], minijit.Tensor):
        args[0] = args[0].clone()
    if Tag.CREATION in op.tags and device != "cpu":
        kwargs = dict(kwargs, device=device)
    minijit.manual_seed(0)      # ops that draw (dropout): the GPU draws on the CPU generator
    out = dispatch.call(op, tuple(args), kwargs)
    grads = None
    if grad:
        outs = [o for o in (out if isinstance(out, (list, tuple)) else [out])
                if isinstance(o, minijit.Tensor) and o.requires_grad]
        if outs:
            total = outs[0].sum()
            for o in outs[1:]:
                total = total + o.sum()
            total.backward()
            grads = [_host(t.grad) for t in leaves]
    return _host(out), grads


def _same(a: Any, b: Any) -> None:
    if isinstance(a, tuple) and a and a[0] == "tensor":
        assert a[1:3] == b[1:3]
        if a[3].dtype.kind == "f":
            np.testing.assert_allclose(a[3], b[3], rtol=1e-4, atol=1e-5, equal_nan=True)
        else:
            np.testing.assert_array_equal(a[3], b[3])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("op,index", CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_op_on_gpu_matches_cpu(op: registry.OpInfo, index: int) -> None:
    grad = op.differentiable
    try:
        expected = _run(op, index, "cpu", grad)
    except Exception as exc:  # noqa: BLE001 - an error sample: the GPU must refuse it alike
        with pytest.raises(type(exc)):
            _run(op, index, "cuda", grad)
        return
    if Tag.UNINITIALIZED in op.tags:
        return
    got = _run(op, index, "cuda", grad)
    _same(expected[0], got[0])
    if expected[1] is not None:
        _same(expected[1], got[1])


def test_tensors_move_between_devices() -> None:
    x = minijit.rand(3, 4)
    y = x.cuda()
    assert y.device.type == "cuda" and y.is_cuda
    assert y.cpu().tolist() == x.tolist()
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        x + y


def _view_writes(device: str) -> list:
    x = minijit.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True).to(device)
    x.retain_grad()
    y = x * 2
    y[0] = 5.0                                   # CopySlices on the GPU
    y[:, 1] = y[:, 2] * 3
    v = y[1:]
    v.mul_(2)
    y[minijit.tensor([2]).to(device), 0] = 1.0   # advanced-index write
    w = y.t()[1]                                 # a view of a modified base
    (y.sum() + (w * w).sum()).backward()
    return [np.asarray(y.detach().cpu()._data), np.asarray(x.grad.cpu()._data),
            type(y.grad_fn).__name__]


def test_writes_into_views_with_gradients_on_gpu() -> None:
    cpu, gpu = _view_writes("cpu"), _view_writes("cuda")
    np.testing.assert_allclose(gpu[0], cpu[0], rtol=1e-6)
    np.testing.assert_allclose(gpu[1], cpu[1], rtol=1e-6)
    assert gpu[2] == cpu[2] == "CopySlices"
